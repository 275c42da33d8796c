/*
 * library.c - where the image library keeps its files (config image_dir):
 * each ready image is one qcow2 file, image_dir/<import op id>.qcow2
 * (the Nth disk of an OVA, N > 1: <import op id>.dN.qcow2); uploads and
 * conversions under way live in image_dir/.staging/, named by the id of
 * the operation that owns them (<id>.upload, <id>.qcow2, <id>.dN.qcow2,
 * <id>.export).  Nothing outside this layout is ever written, so what an
 * aborted upload or a crashed import left is found by name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/imgprobe.h"
#include "../common/log.h"
#include "../common/shapipe.h"
#include "app.h"

static int
library_fmt(char *buf, size_t len, const char *fmt, const char *a,
    const char *b, const char *c)
{
	int n = snprintf(buf, len, fmt, a, b, c);

	if (n < 0 || (size_t)n >= len)
		return err_set(ERR_INTERNAL, "image_dir '%s' is too long", a);
	return 0;
}

int
library_staged(const struct app *app, const char *id, const char *ext,
    char *buf, size_t len)
{
	return library_fmt(buf, len, "%s/.staging/%s.%s", app->cfg.image_dir,
	    id, ext);
}

/* The name after "<id>." of disk n's qcow2: "qcow2", "d2.qcow2", ... */
static void
library_disk_ext(int n, char *ext, size_t len)
{
	if (n <= 1)
		snprintf(ext, len, "qcow2");
	else
		snprintf(ext, len, "d%d.qcow2", n);
}

int
library_staged_disk(const struct app *app, const char *id, int n,
    char *buf, size_t len)
{
	char ext[32];

	library_disk_ext(n, ext, sizeof(ext));
	return library_staged(app, id, ext, buf, len);
}

int
library_file(const struct app *app, const char *id, int n, char *buf,
    size_t len)
{
	char ext[32];

	library_disk_ext(n, ext, sizeof(ext));
	return library_fmt(buf, len, "%s/%s.%s", app->cfg.image_dir, id, ext);
}

int
library_mkdirs(const struct app *app)
{
	char path[CONFIG_STR_MAX + 16];

	snprintf(path, sizeof(path), "%s/.staging", app->cfg.image_dir);
	if ((mkdir(app->cfg.image_dir, 0750) < 0 && errno != EEXIST) ||
	    (mkdir(path, 0750) < 0 && errno != EEXIST))
		return err_set(ERR_UNAVAILABLE, "cannot create '%s': %s", path,
		    strerror(errno));
	return 0;
}

/* Remove the files of operation id (staged and its library files). */
void
library_remove(const struct app *app, const char *id)
{
	static const char *const ext[] = { "upload", "export" };
	char path[CONFIG_STR_MAX + 64];

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (library_staged(app, id, ext[i], path, sizeof(path)) == 0)
			(void)unlink(path);
	for (int n = 1; n <= OVA_DISKS_MAX; n++) {
		if (library_staged_disk(app, id, n, path, sizeof(path)) == 0)
			(void)unlink(path);
		if (library_file(app, id, n, path, sizeof(path)) == 0)
			(void)unlink(path);
	}
}

/* Remove one image's file (the other disks of its OVA keep theirs). */
void
library_remove_image(const struct app *app, const struct image_rec *im)
{
	char dir[CONFIG_STR_MAX + 2];
	size_t n;

	n = (size_t)snprintf(dir, sizeof(dir), "%s/", app->cfg.image_dir);
	if (im->path[0] == '\0' || n >= sizeof(dir) ||
	    strncmp(im->path, dir, n) != 0 || strstr(im->path, "/..") != NULL)
		return;          /* not a file of the library's */
	(void)unlink(im->path);
}

/*
 * A file of staging directory dir whose operation (named by the first
 * 36 characters of its name) is not queued or running was left by an
 * upload cut short by a crash (or an export): remove it.
 */
static void
library_sweep_dir(struct app *app, const char *dir)
{
	char id[UUID_STR_LEN], path[CONFIG_STR_MAX + 300];
	struct dirent *de;
	struct op_rec op;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct store_conn *c;
		bool live;

		if (de->d_name[0] == '.')
			continue;
		/* "<op id>.upload", "<op id>-<dev>.qcow2", ... */
		snprintf(id, sizeof(id), "%.36s", de->d_name);
		c = store_read_begin(app->store);
		live = store_op_get(c, id, &op) == 0 &&
		    (op.status == OP_QUEUED || op.status == OP_RUNNING);
		store_read_end(c);
		if (live)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		log_info("library: removing '%s', left by an upload that did "
		    "not finish", path);
		(void)unlink(path);
	}
	closedir(d);
	err_clear();
}

/* At start: image_dir's staged files, and backup_dir's (an archive
 * being imported, the disks of an import or a restore). */
void
library_sweep(struct app *app)
{
	char dir[CONFIG_STR_MAX + 16];

	snprintf(dir, sizeof(dir), "%s/.staging", app->cfg.image_dir);
	library_sweep_dir(app, dir);
	snprintf(dir, sizeof(dir), "%s/.staging", app->cfg.backup_dir);
	library_sweep_dir(app, dir);
}

/*
 * Read in 1 MiB blocks, hashed on another thread while the next is read.
 * The file's writeback is started first (sync_file_range, not waited
 * for), so that the disk writes it while it is hashed and an fsync
 * after the hash finds less left.
 */
int
library_sha256_fd(int fd, char out[IMAGE_SHA256_LEN])
{
	struct shapipe *p = shapipe_start();
	unsigned char dig[32];

	if (p == NULL)
		return -1;
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		struct shapipe_buf *b = shapipe_buf(p);
		ssize_t n = read(fd, b->data + b->len, b->cap - b->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			shapipe_abort(p);
			return err_set(ERR_UNAVAILABLE, "cannot read the image: "
			    "%s", strerror(errno));
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (b->len == b->cap)
			shapipe_push(p);
	}
	shapipe_finish(p, dig);
	library_hex(dig, out);
	return 0;
}

void
library_hex(const unsigned char dig[32], char out[IMAGE_SHA256_LEN])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", dig[i]);
}
