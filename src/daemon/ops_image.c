/*
 * ops_image.c - the image_import operation: an upload that images_upload.c
 * staged (image_dir/.staging/<op id>.upload) becomes a ready image.
 *
 *	inspect (imgprobe: what it really is, claimed format, refusals;
 *	   an OVA: each of its disks, and its OVF's VM as the suggested spec)
 *	-> the client's sha256, if given, against the upload's
 *	-> an OVA of N disks: rows NAME-disk2 .. NAME-diskN (importing)
 *	-> for each disk:
 *	   qemu-img convert -f <found> -O qcow2 (bounded child, qimg.c)
 *	   -> qemu-img info -f qcow2 on the result: qcow2, no backing file,
 *	      no data file, the virtual size found
 *	   -> sha256 of the stored qcow2 -> image_dir/<op id>.qcow2 (disk
 *	      N > 1: <op id>.dN.qcow2, recorded on its importing row)
 *	-> closing transaction: every row of the import ready (or, on
 *	   failure, every one removed)
 *	-> after: the staged upload (and, on failure, every file) removed.
 *
 * A refusal is a 422 on the operation naming the reason.  An import
 * found running after a crash is failed as interrupted and cleaned: no
 * row, no file, of any of its disks.
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

/* What is converted: the upload, or one disk inside an OVA upload. */
struct ops_image_src {
	struct img_info ii;
	bool member;               /* [off, off + len) of the upload */
	uint64_t off, len;
};

/* One import: its disks (one, or an OVA's), each made an image. */
struct ops_image_job {
	int n;
	struct ops_image_src src[OVA_DISKS_MAX];
	char name[OVA_DISKS_MAX][NAME_MAX_LEN];  /* [0]: x->image.name */
	int cur;                   /* the disk being converted */
	uint64_t done;             /* bytes converted by the disks before */
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
 * What the OVF says of the VM, as the first image's suggested spec:
 * {"vcpus","memory_mib","os","firmware","disks":[{"image","file","bus"}]}.
 */
static int
ops_image_spec(struct op_ctx *x, const struct ova_info *oi,
    const struct ops_image_job *j)
{
	json_t *disks = json_array(), *spec;
	char *text = NULL;
	int rc = -1;

	for (int k = 0; disks != NULL && k < oi->ndisks; k++)
		if (json_array_append_new(disks, json_pack("{s:s, s:s, s:s}",
		    "image", j->name[k], "file", oi->disks[k].file, "bus",
		    oi->disks[k].bus)) < 0)
			break;
	spec = json_pack("{s:i, s:I, s:s, s:s, s:o}", "vcpus", oi->vcpus,
	    "memory_mib", (json_int_t)oi->memory_mib, "os", oi->os,
	    "firmware", oi->firmware, "disks", disks);
	if (spec == NULL || (text = json_dumps(spec, JSON_COMPACT)) == NULL)
		err_set(ERR_INTERNAL, "out of memory");
	else if (strlen(text) >= sizeof(x->image.ova_spec))
		err_set_field(ERR_UNPROCESSABLE, "file", "what the OVF says "
		    "of its %d disks is over %zu bytes: too long to keep",
		    oi->ndisks, sizeof(x->image.ova_spec) - 1);
	else {
		snprintf(x->image.ova_spec, sizeof(x->image.ova_spec), "%s",
		    text);
		rc = 0;
	}
	json_decref(spec);
	free(text);
	return rc;
}

/*
 * An OVA: each of its disks becomes an image (probed and accepted as
 * any upload), the first named as asked, disk k > 1 NAME-diskk; what
 * its OVF says of the VM is kept as the first image's suggested spec.
 */
static int
ops_image_ova(struct op_ctx *x, int fd, uint64_t size,
    struct ops_image_job *j)
{
	struct ova_info *oi = calloc(1, sizeof(*oi));
	int rc = -1, k;

	if (oi == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (ova_probe_fd(fd, size, oi) < 0)
		goto done;
	if (oi->ndisks < 1 || oi->ndisks > OVA_DISKS_MAX) {
		err_set_field(ERR_UNPROCESSABLE, "file", "the OVA holds %d "
		    "disks; 1 to %d can be imported", oi->ndisks,
		    OVA_DISKS_MAX);
		goto done;
	}
	for (k = 0; k < oi->ndisks; k++) {
		const struct ova_disk *d = &oi->disks[k];
		int w = k == 0 ? snprintf(j->name[k], NAME_MAX_LEN, "%s",
		    x->image.name) : snprintf(j->name[k], NAME_MAX_LEN,
		    "%s-disk%d", x->image.name, k + 1);

		if (w < 0 || w >= NAME_MAX_LEN) {
			err_set_field(ERR_UNPROCESSABLE, "name", "the OVA's "
			    "disk %d would be image '%s-disk%d', longer than "
			    "%d characters; import it under a shorter name",
			    k + 1, x->image.name, k + 1, NAME_MAX_LEN - 1);
			goto done;
		}
		if (img_accept(&d->info, IMG_FMT_UNKNOWN,
		    (uint64_t)x->app->cfg.image_max_gib << 30) < 0)
			goto done;
		j->src[k].ii = d->info;
		j->src[k].member = true;
		j->src[k].off = d->offset;
		j->src[k].len = d->size;
	}
	j->n = oi->ndisks;
	rc = ops_image_spec(x, oi, j);
done:
	free(oi);
	return rc;
}

/* What the upload is; refused unless it is what was claimed. */
static int
ops_image_inspect(struct op_ctx *x, int fd, uint64_t size,
    struct ops_image_job *j)
{
	const char *claim = json_string_value(json_object_get(x->params,
	    "format"));
	const char *sha = json_string_value(json_object_get(x->params,
	    "sha256_claimed"));
	struct ops_image_src *src = &j->src[0];
	enum img_format claimed;

	ops_step(x, "inspecting");
	memset(j, 0, sizeof(*j));
	j->n = 1;
	snprintf(j->name[0], NAME_MAX_LEN, "%s", x->image.name);
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
		return ops_image_ova(x, fd, size, j);
	if (img_format_qemu(src->ii.format) == NULL)
		return err_set_field(ERR_UNPROCESSABLE, "format", "a %s upload "
		    "cannot be imported", img_format_name(src->ii.format));
	return 0;
}

struct ops_image_reserve {
	struct op_ctx *x;
	const struct ops_image_job *j;
};

/* The rows of an OVA's other disks, importing, in one transaction. */
static int
ops_image_reserve_tx(struct store_conn *c, void *arg)
{
	const struct ops_image_reserve *r = arg;
	const struct op_ctx *x = r->x;
	const struct ops_image_job *j = r->j;
	struct image_rec im;

	for (int k = 1; k < j->n; k++) {
		memset(&im, 0, sizeof(im));
		snprintf(im.name, sizeof(im.name), "%s", j->name[k]);
		snprintf(im.source_format, sizeof(im.source_format), "%s",
		    x->image.source_format);
		snprintf(im.sha256_upload, sizeof(im.sha256_upload), "%s",
		    x->image.sha256_upload);
		snprintf(im.os, sizeof(im.os), "%s", x->image.os);
		snprintf(im.op_id, sizeof(im.op_id), "%s", x->op.id);
		if (store_image_insert(c, &im) < 0)
			return -1;
	}
	return 0;
}

/* Progress: what was uploaded, how much qcow2 so far (and which disk). */
static void
ops_image_progress(struct op_ctx *x, const struct ops_image_job *j,
    uint64_t converted)
{
	json_t *p = json_pack("{s:I, s:I}", "bytes_received",
	    json_integer_value(json_object_get(x->params, "bytes")),
	    "bytes_converted", (json_int_t)(j->done + converted));

	if (p != NULL && j->n > 1) {
		json_object_set_new(p, "disk", json_integer(j->cur + 1));
		json_object_set_new(p, "disks", json_integer(j->n));
	}
	if (p != NULL)
		ops_progress(x, p);
	json_decref(p);
}

struct ops_image_tick {
	struct op_ctx *x;
	const struct ops_image_job *j;
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
		ops_image_progress(t->x, t->j, (uint64_t)st.st_blocks * 512);
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
ops_image_convert(struct op_ctx *x, const struct ops_image_job *j,
    const char *in, const char *out)
{
	const struct ops_image_src *src = &j->src[j->cur];
	char opts[2 * CONFIG_STR_MAX + 256];
	const char *argv[] = { "convert", "-f", img_format_qemu(src->ii.format),
	    "-O", "qcow2", in, out, NULL };
	const char *argv_opts[] = { "convert", "--image-opts", opts, "-O",
	    "qcow2", out, NULL };
	struct ops_image_tick t = { x, j, out, 0 };
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
ops_image_check(struct op_ctx *x, const struct img_info *ii, const char *out,
    struct image_rec *im)
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
		im->virtual_size = vsize;
		rc = 0;
	}
done:
	json_decref(j);
	free(text);
	return rc;
}

/* sha256 and size of the stored file; it is renamed into the library. */
static int
ops_image_store(struct op_ctx *x, const struct ops_image_job *j,
    const char *out, struct image_rec *im)
{
	struct stat st;
	int fd;

	ops_step(x, "storing");
	if (library_file(x->app, x->op.id, j->cur + 1, im->path,
	    sizeof(im->path)) < 0)
		return -1;
	if ((fd = open(out, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(ERR_UNAVAILABLE, "cannot open '%s': %s", out,
		    strerror(errno));
	if (fstat(fd, &st) < 0 || library_sha256_fd(fd, im->sha256) < 0 ||
	    fsync(fd) < 0) {
		if (err_last()->code == ERR_NONE)
			err_set(ERR_UNAVAILABLE, "cannot read '%s': %s", out,
			    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	im->actual_size = (int64_t)st.st_blocks * 512;
	ops_image_progress(x, j, (uint64_t)im->actual_size);
	if (rename(out, im->path) < 0)
		return err_set(ERR_UNAVAILABLE, "cannot move '%s' into the "
		    "library: %s", out, strerror(errno));
	return 0;
}

static int
ops_image_stored_tx(struct store_conn *c, void *arg)
{
	return store_image_set_stored(c, arg);
}

/*
 * Disk j->cur of the upload in: converted, checked, stored.  The first
 * is x->image (set ready by the closing transaction); the results of
 * any other are recorded on its importing row at once.
 */
static int
ops_image_disk(struct op_ctx *x, struct ops_image_job *j, const char *in)
{
	char out[CONFIG_STR_MAX + 64];
	struct image_rec one, *im = &x->image;

	if (j->cur > 0) {
		im = &one;
		memset(im, 0, sizeof(*im));
		snprintf(im->name, sizeof(im->name), "%s", j->name[j->cur]);
	}
	if (library_staged_disk(x->app, x->op.id, j->cur + 1, out,
	    sizeof(out)) < 0 || ops_image_convert(x, j, in, out) < 0 ||
	    ops_image_check(x, &j->src[j->cur].ii, out, im) < 0 ||
	    ops_image_store(x, j, out, im) < 0)
		return -1;
	j->done += (uint64_t)im->actual_size;
	if (j->cur > 0 && store_tx(x->app->store, ops_image_stored_tx, im) < 0)
		return -1;
	return 0;
}

/* The upload, inspected into j; the other disks' rows reserved. */
static int
ops_image_open(struct op_ctx *x, struct ops_image_job *j, const char *in)
{
	struct ops_image_reserve r = { x, j };
	struct stat st;
	int fd, rc;

	if ((fd = open(in, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		rc = err_set(ERR_UNAVAILABLE, "the upload '%s' cannot be read: "
		    "%s", in, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = ops_image_inspect(x, fd, (uint64_t)st.st_size, j);
	close(fd);
	if (rc == 0 && j->n > 1)
		rc = store_tx(x->app->store, ops_image_reserve_tx, &r);
	return rc;
}

int
ops_image_run(struct op_ctx *x)
{
	char in[CONFIG_STR_MAX + 64];
	struct ops_image_job *j;
	struct store_conn *c;
	int rc;

	if (ops_image_name(x) < 0)
		return -1;
	c = store_read_begin(x->app->store);
	rc = store_image_get(c, x->image.name, &x->image);
	store_read_end(c);
	if (rc < 0 || library_staged(x->app, x->op.id, "upload", in,
	    sizeof(in)) < 0)
		return -1;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	rc = ops_image_open(x, j, in);
	for (j->cur = 0; rc == 0 && j->cur < j->n; j->cur++)
		rc = ops_image_disk(x, j, in);
	free(j);
	if (rc < 0 && (strstr(err_last()->msg, "No space left") != NULL ||
	    strstr(err_last()->msg, "quota exceeded") != NULL))
		err_set(ERR_INSUFFICIENT_STORAGE, "the image store is full; "
		    "nothing of image '%s' was kept", x->image.name);
	return rc;
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
	/* all of an OVA's images, or none (only this import's rows: a
	 * later upload of one of their names is another operation's) */
	if (ok)
		return store_image_set_ready(c, &x->image) < 0 ? -1 :
		    store_image_ready_op(c, x->op.id);
	return store_image_delete_import(c, x->op.id);
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
