/*
 * ops_image.c - the image_import operation: an upload that images_upload.c
 * staged (image_dir/.staging/<op id>.upload) becomes a ready image.
 *
 *	inspect (imgprobe: what it really is, claimed format, refusals;
 *	   an OVA: its one disk, and its OVF's VM as the suggested spec)
 *	-> the client's sha256, if given, against the upload's
 *	-> qemu-img convert -f <found> -O qcow2 (bounded child, qimg.c)
 *	-> qemu-img info -f qcow2 on the result: qcow2, no backing file,
 *	   no data file, the virtual size found
 *	-> sha256 of the stored qcow2 -> image_dir/<op id>.qcow2
 *	-> closing transaction: the row ready (or, on failure, removed)
 *	-> after: the staged upload (and, on failure, every file) removed.
 *
 * A refusal is a 422 on the operation naming the reason.  An import
 * found running after a crash is failed as interrupted and cleaned: no
 * row, no file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/imgprobe.h"
#include "../common/log.h"
#include "ops_int.h"
#include "qimg.h"

#define OPS_IMAGE_TIMEOUT_MIN_S 600
#define OPS_IMAGE_INFO_MAX 16384

/* What is converted: the upload, or the one disk inside an OVA upload. */
struct ops_image_src {
	struct img_info ii;
	bool member;               /* [off, off + len) of the upload */
	uint64_t off, len;
};

/* The image's name from the operation's params (into x->image). */
static int
ops_image_name(struct op_ctx *x)
{
	json_t *p = x->params ? json_incref(x->params) :
	    json_loads(x->op.params, 0, NULL);
	const char *name = json_string_value(json_object_get(p, "name"));

	if (name)
		snprintf(x->image.name, sizeof(x->image.name), "%s", name);
	json_decref(p);
	if (name == NULL)
		return err_set(ERR_INTERNAL, "operation %s names no image",
		    x->op.id);
	return 0;
}

/*
 * An OVA: its one disk is the image (probed and accepted as any upload),
 * and what its OVF says of the VM is kept as the image's suggested spec.
 */
static int
ops_image_ova(struct op_ctx *x, int fd, uint64_t size, struct ops_image_src *src)
{
	struct ova_info *oi = calloc(1, sizeof(*oi));
	const struct ova_disk *d;
	char *spec = NULL;
	json_t *j;
	int rc = -1;

	if (oi == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (ova_probe_fd(fd, size, oi) < 0)
		goto done;
	if (oi->ndisks != 1) {
		err_set_field(ERR_UNPROCESSABLE, "file", "the OVA holds %d "
		    "disks; an image is one disk, so import OVAs of one disk",
		    oi->ndisks);
		goto done;
	}
	d = &oi->disks[0];
	if (img_accept(&d->info, IMG_FMT_UNKNOWN,
	    (uint64_t)x->app->cfg.image_max_gib << 30) < 0)
		goto done;
	src->ii = d->info;
	src->member = true;
	src->off = d->offset;
	src->len = d->size;
	j = json_pack("{s:i, s:I, s:s, s:s, s:[{s:s, s:s}]}", "vcpus",
	    oi->vcpus, "memory_mib", (json_int_t)oi->memory_mib, "os", oi->os,
	    "firmware", oi->firmware, "disks", "file", d->file, "bus", d->bus);
	if (j == NULL || (spec = json_dumps(j, JSON_COMPACT)) == NULL ||
	    strlen(spec) >= sizeof(x->image.ova_spec))
		err_set(ERR_INTERNAL, "the OVA's spec does not fit");
	else {
		snprintf(x->image.ova_spec, sizeof(x->image.ova_spec), "%s",
		    spec);
		rc = 0;
	}
	json_decref(j);
	free(spec);
done:
	free(oi);
	return rc;
}

/* What the upload is; refused unless it is what was claimed. */
static int
ops_image_inspect(struct op_ctx *x, int fd, uint64_t size,
    struct ops_image_src *src)
{
	const char *claim = json_string_value(json_object_get(x->params,
	    "format"));
	const char *sha = json_string_value(json_object_get(x->params,
	    "sha256_claimed"));
	enum img_format claimed;

	ops_step(x, "inspecting");
	memset(src, 0, sizeof(*src));
	src->len = size;
	if (img_format_parse(claim ? claim : "auto", &claimed) < 0 ||
	    img_probe_fd(fd, 0, size, &src->ii) < 0 ||
	    img_accept(&src->ii, claimed, (uint64_t)x->app->cfg.image_max_gib
	    << 30) < 0)
		return -1;
	if (sha && sha[0] && strcmp(sha, x->image.sha256_upload) != 0)
		return err_set_field(ERR_UNPROCESSABLE, "sha256", "the upload's "
		    "SHA-256 is %s, not %s as the request said",
		    x->image.sha256_upload, sha);
	if (src->ii.format == IMG_FMT_OVA)
		return ops_image_ova(x, fd, size, src);
	if (img_format_qemu(src->ii.format) == NULL)
		return err_set_field(ERR_UNPROCESSABLE, "format", "a %s upload "
		    "cannot be imported", img_format_name(src->ii.format));
	return 0;
}

/* Progress: what was uploaded, and how much qcow2 there is so far. */
static void
ops_image_progress(struct op_ctx *x, uint64_t converted)
{
	json_t *p = json_pack("{s:I, s:I}", "bytes_received",
	    json_integer_value(json_object_get(x->params, "bytes")),
	    "bytes_converted", (json_int_t)converted);

	if (p != NULL)
		ops_progress(x, p);
	json_decref(p);
}

struct ops_image_tick {
	struct op_ctx *x;
	const char *out;
	int64_t next_ms;
};

/* While qemu-img converts: progress from the output's size; cancel. */
static bool
ops_image_tick(void *arg)
{
	struct ops_image_tick *t = arg;
	struct stat st;

	if (ops_cancelled(t->x))
		return true;
	if (time_mono_ms() < t->next_ms)
		return false;
	t->next_ms = time_mono_ms() + 1000;
	if (stat(t->out, &st) == 0)
		ops_image_progress(t->x, (uint64_t)st.st_blocks * 512);
	return false;
}

/*
 * The input of qemu-img convert, always with its format named: "-f F
 * PATH", or for an OVA's disk an --image-opts string reading only its
 * byte range of the upload (commas in the path doubled, as qemu wants).
 */
static int
ops_image_input(const struct ops_image_src *src, const char *in,
    char *opts, size_t len)
{
	size_t n = 0;
	int w;

	w = snprintf(opts, len, "driver=%s,file.driver=raw,file.offset=%llu,"
	    "file.size=%llu,file.file.driver=file,file.file.filename=",
	    img_format_qemu(src->ii.format), (unsigned long long)src->off,
	    (unsigned long long)src->len);
	if (w < 0 || (size_t)w >= len)
		return err_set(ERR_INTERNAL, "the upload's path is too long");
	n = (size_t)w;
	for (; *in && n + 2 < len; in++) {
		opts[n++] = *in;
		if (*in == ',')
			opts[n++] = ',';
	}
	opts[n] = '\0';
	if (*in != '\0')
		return err_set(ERR_INTERNAL, "the upload's path is too long");
	return 0;
}

static int
ops_image_convert(struct op_ctx *x, const struct ops_image_src *src,
    const char *in, const char *out)
{
	char opts[2 * CONFIG_STR_MAX + 256];
	const char *argv[] = { "convert", "-f", img_format_qemu(src->ii.format),
	    "-O", "qcow2", in, out, NULL };
	const char *argv_opts[] = { "convert", "--image-opts", opts, "-O",
	    "qcow2", out, NULL };
	struct ops_image_tick t = { x, out, 0 };
	struct qimg_run q;
	uint64_t work = src->ii.virtual_size > src->len ?
	    src->ii.virtual_size : src->len;

	ops_step(x, "converting");
	if (src->member && ops_image_input(src, in, opts, sizeof(opts)) < 0)
		return -1;
	memset(&q, 0, sizeof(q));
	q.argv = src->member ? argv_opts : argv;
	q.cpu_s = qimg_cpu_for(work);
	q.timeout_s = 2 * q.cpu_s > OPS_IMAGE_TIMEOUT_MIN_S ? 2 * q.cpu_s :
	    OPS_IMAGE_TIMEOUT_MIN_S;
	q.tick = ops_image_tick;
	q.arg = &t;
	if (qimg_run(&q) < 0)
		return err_last()->code == ERR_CONFLICT ?
		    ops_cancel_now(x, "while converting") : -1;
	return 0;
}

/* The converted file must be a plain qcow2 of the size found. */
static int
ops_image_check(struct op_ctx *x, const struct img_info *ii, const char *out)
{
	const char *argv[] = { "info", "-f", "qcow2", "--output=json", out,
	    NULL };
	char *text = malloc(OPS_IMAGE_INFO_MAX);
	struct qimg_run q;
	json_t *j = NULL, *data;
	json_int_t vsize;
	int rc = -1;

	ops_step(x, "checking");
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	memset(&q, 0, sizeof(q));
	q.argv = argv;
	q.cpu_s = 60;
	q.timeout_s = 120;
	q.out = text;
	q.outlen = OPS_IMAGE_INFO_MAX;
	if (qimg_run(&q) < 0)
		goto done;
	if ((j = json_loads(text, 0, NULL)) == NULL) {
		err_set(ERR_INTERNAL, "qemu-img info said no JSON");
		goto done;
	}
	vsize = json_integer_value(json_object_get(j, "virtual-size"));
	data = json_object_get(json_object_get(json_object_get(j,
	    "format-specific"), "data"), "data-file");
	if (json_object_get(j, "backing-filename") != NULL || data != NULL ||
	    strcmp(json_string_value(json_object_get(j, "format")) ?
	    json_string_value(json_object_get(j, "format")) : "", "qcow2") != 0)
		err_set_field(ERR_UNPROCESSABLE, "file", "the converted image "
		    "is not a plain qcow2 (a backing or data file)");
	else if (vsize < (json_int_t)ii->virtual_size ||
	    vsize > (json_int_t)ii->virtual_size + 511)
		err_set_field(ERR_UNPROCESSABLE, "file", "the converted image "
		    "has %lld bytes, not %llu as its header said",
		    (long long)vsize, (unsigned long long)ii->virtual_size);
	else {
		x->image.virtual_size = vsize;
		rc = 0;
	}
done:
	json_decref(j);
	free(text);
	return rc;
}

/* sha256 and size of the stored file; it is renamed into the library. */
static int
ops_image_store(struct op_ctx *x, const char *out)
{
	struct stat st;
	int fd;

	ops_step(x, "storing");
	if (library_file(x->app, x->op.id, x->image.path,
	    sizeof(x->image.path)) < 0)
		return -1;
	if ((fd = open(out, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(ERR_UNAVAILABLE, "cannot open '%s': %s", out,
		    strerror(errno));
	if (fstat(fd, &st) < 0 || library_sha256_fd(fd, x->image.sha256) < 0 ||
	    fsync(fd) < 0) {
		if (err_last()->code == ERR_NONE)
			err_set(ERR_UNAVAILABLE, "cannot read '%s': %s", out,
			    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	x->image.actual_size = (int64_t)st.st_blocks * 512;
	ops_image_progress(x, (uint64_t)x->image.actual_size);
	if (rename(out, x->image.path) < 0)
		return err_set(ERR_UNAVAILABLE, "cannot move '%s' into the "
		    "library: %s", out, strerror(errno));
	return 0;
}

int
ops_image_run(struct op_ctx *x)
{
	char in[CONFIG_STR_MAX + 64], out[CONFIG_STR_MAX + 64];
	struct ops_image_src src;
	struct store_conn *c;
	struct stat st;
	int fd, rc;

	if (ops_image_name(x) < 0)
		return -1;
	c = store_read_begin(x->app->store);
	rc = store_image_get(c, x->image.name, &x->image);
	store_read_end(c);
	if (rc < 0 || library_staged(x->app, x->op.id, "upload", in,
	    sizeof(in)) < 0 || library_staged(x->app, x->op.id, "qcow2", out,
	    sizeof(out)) < 0)
		return -1;
	if ((fd = open(in, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		rc = err_set(ERR_UNAVAILABLE, "the upload '%s' cannot be read: "
		    "%s", in, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = ops_image_inspect(x, fd, (uint64_t)st.st_size, &src);
	close(fd);
	if (rc < 0 || ops_image_convert(x, &src, in, out) < 0 ||
	    ops_image_check(x, &src.ii, out) < 0 ||
	    ops_image_store(x, out) < 0) {
		if (strstr(err_last()->msg, "No space left") != NULL ||
		    strstr(err_last()->msg, "quota exceeded") != NULL)
			err_set(ERR_INSUFFICIENT_STORAGE, "the image store is "
			    "full; nothing of image '%s' was kept",
			    x->image.name);
		return -1;
	}
	return 0;
}

int
ops_image_recover(struct op_ctx *x)
{
	(void)ops_image_name(x);
	return err_set(ERR_INTERRUPTED, "the daemon stopped while image "
	    "'%s' was being imported; upload it again", x->image.name);
}

int
ops_image_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	if (x->image.name[0] == '\0' && ops_image_name(x) < 0)
		return -1;
	if (ok)
		return store_image_set_ready(c, &x->image);
	/* nothing of a failed import stays (none other than its own row:
	 * a later upload of that name is another operation's) */
	if (store_image_delete_op(c, x->image.name, x->op.id) < 0 &&
	    err_last()->code != ERR_NOT_FOUND)
		return -1;
	return 0;
}

void
ops_image_after(struct op_ctx *x, bool ok)
{
	char in[CONFIG_STR_MAX + 64];

	if (!ok) {
		library_remove(x->app, x->op.id);
		return;
	}
	if (library_staged(x->app, x->op.id, "upload", in, sizeof(in)) == 0)
		(void)unlink(in);
}
