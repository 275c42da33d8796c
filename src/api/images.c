/*
 * images.c - the image library: GET /v1/images, GET /v1/images/{name},
 * DELETE /v1/images/{name} (and an image_prune operation of the hosts'
 * copies of it), POST /v1/images/prune, and GET
 * /v1/images/{name}/file?format=F (the image streamed out: the stored
 * qcow2 as it is, or converted by qemu-img into a staged file that is
 * unlinked before it is served from its open descriptor).  Uploads are
 * images_upload.c.
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
#include "../daemon/qimg.h"
#include "req.h"

#define IMAGES_EXPORT_TIMEOUT_S 3600

static json_t *
images_json(const struct image_rec *im)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}",
	    "name", im->name, "state", im->state, "source_format",
	    im->source_format, "sha256_upload", im->sha256_upload, "sha256",
	    im->sha256, "virtual_size", (json_int_t)im->virtual_size,
	    "actual_size", (json_int_t)im->actual_size, "os", im->os,
	    "operation", im->op_id);

	if (j == NULL)
		return NULL;
	json_object_set_new(j, "ova_spec", im->ova_spec[0] ?
	    json_loads(im->ova_spec, 0, NULL) : json_null());
	json_object_set_new(j, "created_at", req_time(im->created_at));
	return j;
}

static int
images_add(const struct image_rec *im, void *arg)
{
	json_array_append_new(arg, images_json(im));
	return 0;
}

int
images_list(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	json_t *arr = json_array();
	int rc = store_image_each(c, images_add, arr);

	store_read_end(c);
	if (rc < 0) {
		json_decref(arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "images", arr));
}

static int
images_load(struct req *r, struct image_rec *im)
{
	struct store_conn *c = store_read_begin(r->app->store);
	int rc = store_image_get(c, r->params[0], im);

	store_read_end(c);
	return rc;
}

int
images_get(struct req *r)
{
	struct image_rec im;

	if (images_load(r, &im) < 0)
		return -1;
	return req_reply(r, 200, images_json(&im));
}

struct images_delete_tx {
	const char *name;
	struct image_rec im;
	struct op_rec op;          /* the prune of its copies (id "": none) */
};

/* In the delete's transaction: hosts holding a copy of the image get an
 * image_prune of it, tried until each has been reached. */
static int
images_delete_prune(struct store_conn *c, struct images_delete_tx *t)
{
	int64_t n;

	if (t->im.sha256[0] == '\0')
		return 0;           /* never ready: no host has a copy */
	if (store_host_image_count(c, t->im.sha256, &n) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (prune_op_make(NULL, t->im.sha256, t->name, true, &t->op) < 0)
		return -1;
	return store_op_insert(c, &t->op);
}

static int
images_delete_tx(struct store_conn *c, void *arg)
{
	struct images_delete_tx *t = arg;
	int64_t n;

	if (store_image_get(c, t->name, &t->im) < 0)
		return -1;
	if (strcmp(t->im.state, "importing") == 0)
		return err_set(ERR_CONFLICT, "image '%s' is being imported "
		    "(operation %s); wait for it to finish", t->name,
		    t->im.op_id);
	/* in the same transaction as the delete: no create slips between */
	if (store_disk_count_image(c, t->name, &n) < 0)
		return -1;
	if (n > 0)
		return err_set(ERR_CONFLICT, "image '%s' backs %lld VM disk%s "
		    "(linked clones); delete them first", t->name,
		    (long long)n, n == 1 ? "" : "s");
	/* a full copy being made reads the hosts' copy: not from under it */
	if (store_disk_image_op(c, t->name, t->op.id) < 0)
		return -1;
	if (t->op.id[0])
		return err_set(ERR_CONFLICT, "image '%s' is being copied into a "
		    "VM's disk (operation %s); wait for it to finish", t->name,
		    t->op.id);
	if (store_image_delete(c, t->name) < 0)
		return -1;
	return images_delete_prune(c, t);
}

int
images_delete(struct req *r)
{
	struct images_delete_tx t;
	json_t *j;

	memset(&t, 0, sizeof(t));
	t.name = r->params[0];
	if (images_load(r, &t.im) < 0 ||
	    store_tx(r->app->store, images_delete_tx, &t) < 0)
		return -1;
	/* the row is gone: the file is nobody's */
	library_remove_image(r->app, &t.im);
	log_info("images: '%s' deleted", t.name);
	j = images_json(&t.im);
	if (t.op.id[0])
		ops_submit(r->app->ops, t.op.id);
	if (j)
		json_object_set_new(j, "prune_operation", t.op.id[0] ?
		    json_string(t.op.id) : json_null());
	return req_reply(r, 200, j);
}

static const struct body_field images_prune_fields[] = {
	{ "host", BODY_STRING, false, 0, NAME_MAX_LEN - 1 },
	{ "image", BODY_STRING, false, 0, NAME_MAX_LEN - 1 },
};

/* The prune's body: {"host":NAME, "image":NAME}, each optional. */
static int
images_prune_parse(struct req *r, struct prune_request *rq)
{
	static const char *const f[] = { "host", "image" };
	const char *v;

	memset(rq, 0, sizeof(*rq));
	if (body_check(r, images_prune_fields, sizeof(images_prune_fields) /
	    sizeof(images_prune_fields[0])) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if ((v = body_string(r, f[i])) != NULL && v[0] == '\0')
			return err_set_field(ERR_INVALID, f[i], "%s must name "
			    "one, or be left out", f[i]);
	rq->host = body_string(r, "host");
	rq->image = body_string(r, "image");
	rq->idem_key = r->idem_key[0] ? r->idem_key : NULL;
	return 0;
}

int
images_prune(struct req *r)
{
	struct prune_request rq;
	struct op_rec op;
	int64_t wait;

	if (images_prune_parse(r, &rq) < 0 ||
	    req_query_int(r, "wait", 0, 3600, 0, &wait) < 0)
		return -1;
	if (prune_request(r->app, &rq, &op) < 0)
		return -1;
	return operations_reply(r, &op, wait);
}

/* qemu-img's output format and options for an export format. */
static int
images_export_args(const char *fmt, const char **qfmt, const char **opts)
{
	enum img_format f;

	*opts = NULL;
	if (img_format_parse(fmt, &f) < 0)
		return -1;
	if (f == IMG_FMT_UNKNOWN || f == IMG_FMT_OVA)
		return err_set_field(ERR_INVALID, "format", "an image can be "
		    "exported as qcow2, raw, vmdk, vhd or vhdx");
	*qfmt = img_format_qemu(f);
	if (f == IMG_FMT_VPC)
		*opts = "subformat=fixed,force_size=on";
	return 0;
}

/* Convert the stored qcow2 into a staged file of qfmt, opened into *fd. */
static int
images_convert(struct req *r, const struct image_rec *im, const char *qfmt,
    const char *opts, int *fd)
{
	char path[CONFIG_STR_MAX + 64], id[UUID_STR_LEN];
	const char *argv[12];
	struct qimg_run q;
	size_t n = 0;
	int rc;

	req_new_id(id);
	if (library_staged(r->app, id, "export", path, sizeof(path)) < 0)
		return -1;
	argv[n++] = "convert";
	argv[n++] = "-f";
	argv[n++] = "qcow2";
	argv[n++] = "-O";
	argv[n++] = qfmt;
	if (opts) {
		argv[n++] = "-o";
		argv[n++] = opts;
	}
	argv[n++] = im->path;
	argv[n++] = path;
	argv[n] = NULL;
	memset(&q, 0, sizeof(q));
	q.argv = argv;
	q.cpu_s = qimg_cpu_for((uint64_t)im->virtual_size);
	q.timeout_s = IMAGES_EXPORT_TIMEOUT_S;
	rc = qimg_run(&q);
	if (rc == 0 && (*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		rc = err_set(ERR_UNAVAILABLE, "cannot open '%s': %s", path,
		    strerror(errno));
	/* served from the descriptor: the name is not needed any more */
	unlink(path);
	if (rc < 0 && err_last()->code == ERR_UNPROCESSABLE) {
		/* our own stored image: its failure is ours, or a full disk */
		bool full = strstr(err_last()->msg, "No space left") != NULL;

		log_warnx("images: export of '%s' as %s: %s", im->name, qfmt,
		    err_last()->msg);
		rc = err_set(full ? ERR_INSUFFICIENT_STORAGE : ERR_INTERNAL,
		    "image '%s' could not be converted to %s%s", im->name,
		    qfmt, full ? ": the image store is full" : "");
	}
	return rc;
}

int
images_file(struct req *r)
{
	const char *fmt = req_query(r, "format");
	const char *qfmt = NULL, *opts = NULL;
	struct image_rec im;
	struct stat st;
	int fd = -1;

	if (images_export_args(fmt ? fmt : "qcow2", &qfmt, &opts) < 0 ||
	    images_load(r, &im) < 0)
		return -1;
	if (strcmp(im.state, "ready") != 0)
		return err_set(ERR_CONFLICT, "image '%s' is %s, not ready",
		    im.name, im.state);
	if (strcmp(qfmt, "qcow2") == 0) {
		if ((fd = open(im.path, O_RDONLY | O_CLOEXEC)) < 0)
			return err_set(ERR_UNAVAILABLE, "cannot open image "
			    "'%s': %s", im.name, strerror(errno));
	} else if (images_convert(r, &im, qfmt, opts, &fd) < 0) {
		return -1;
	}
	if (fstat(fd, &st) < 0 ||
	    (r->raw = MHD_create_response_from_fd((uint64_t)st.st_size,
	    fd)) == NULL) {
		close(fd);
		return err_set(ERR_INTERNAL, "cannot serve image '%s'",
		    im.name);
	}
	MHD_add_response_header(r->raw, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/octet-stream");
	r->status = 200;
	return 0;
}
