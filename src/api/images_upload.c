/*
 * images_upload.c - POST /v1/images?name=N&format=F[&sha256=H][&os=O]:
 * the body is the image file itself (application/octet-stream, with a
 * Content-Length or chunked), streamed to a staging file as it comes and
 * never held in memory.  The route streams its body (ROUTE_STREAM in
 * router.c): server.c calls this file's sink for each chunk, on the
 * connection's pool thread, and the handler once the body is all in, on
 * a thread of its own.
 *
 * Everything the query says is checked before the first byte is written
 * (400 naming the parameter, 409 when the name is taken, 413 when the
 * Content-Length passes image_max_gib); the SHA-256 of the upload is
 * computed while it streams, on a thread of its own (common/shapipe.c)
 * over 1 MiB blocks, each written to the staged file as it fills, so
 * that hashing overlaps receiving and writing.  A full image store (ENOSPC,
 * EDQUOT) is a 507 and the partial file is removed at once.  Once the
 * body is in, one transaction records the image (importing) and its
 * import operation (daemon/ops_image.c), which then owns the staged
 * file.  A request that ends any other way (refused, cut short by the
 * client) leaves nothing: the sink's close removes the staged file.
 *
 * The staged file is fdatasync'ed once it is all in.  Recovery does not
 * need that (an import found running after a crash is failed and its
 * files removed), but qemu-img converting a file the kernel is still
 * writing back took 2-5x longer here, and so did the uploads whose
 * writeback was started as they came (sync_file_range every 8 MiB, which
 * waits when the disk is busy); and a write error is the upload's reply.
 *
 * The blocks are written IMAGES_UPLOAD_WRITE bytes at a time: on this
 * kernel (6.18, ext4) a file written 1 MiB at a time is cached in large
 * folios that qemu-img then reads 2-3x slower (convert of 2 GiB raw:
 * 2.0-2.8 s against 0.7-1.1 s for 16-256 KiB writes, dd then convert).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/imgprobe.h"
#include "../common/log.h"
#include "../common/shapipe.h"
#include "req.h"
#include "spool.h"

struct images_upload {
	struct app *app;
	char name[NAME_MAX_LEN];
	enum img_format format;
	char sha_claim[IMAGE_SHA256_LEN];   /* "" when not given */
	char os[16];
	char id[UUID_STR_LEN];     /* the import's id: names the staged file */
	struct spool sp;           /* the staged file; path "" once taken */
	uint64_t len, max;
	struct shapipe *pipe;      /* hashes what is written; NULL once done */
	int64_t t0_ms;             /* the first byte */
	size_t chunks;             /* how the network handed it in */
	char sha[IMAGE_SHA256_LEN];         /* of the upload, once all in */
};

/* An image name: 1-63 of [a-z0-9._-], starting with a letter or digit. */
int
images_check_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= NAME_MAX_LEN ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n ||
	    strchr("._-", name[0]) != NULL)
		return err_set_field(ERR_INVALID, "name", "an image name is 1 "
		    "to 63 of a-z 0-9 . _ -, starting with a letter or digit");
	return 0;
}

/* The query: name, format, sha256, os into u; 0 or -1 + 400. */
static int
images_upload_query(struct req *r, struct images_upload *u)
{
	const char *name = req_query(r, "name"), *fmt = req_query(r, "format");
	const char *sha = req_query(r, "sha256"), *os = req_query(r, "os");

	if (images_check_name(name) < 0)
		return -1;
	snprintf(u->name, sizeof(u->name), "%s", name);
	if (fmt == NULL)
		return err_set_field(ERR_INVALID, "format", "format is required:"
		    " raw, qcow2, vmdk, vhd, vhdx, ova or auto");
	if (img_format_parse(fmt, &u->format) < 0)
		return -1;
	if (sha != NULL) {
		if (strlen(sha) != 64 || strspn(sha, "0123456789abcdefABCDEF")
		    != 64)
			return err_set_field(ERR_INVALID, "sha256", "sha256 must "
			    "be 64 hexadecimal digits");
		for (int i = 0; i < 64; i++)
			u->sha_claim[i] = (char)(sha[i] | 0x20);
		u->sha_claim[64] = '\0';
	}
	if (os != NULL && strcmp(os, "linux") != 0 &&
	    strcmp(os, "windows") != 0 && strcmp(os, "other") != 0)
		return err_set_field(ERR_INVALID, "os", "os must be linux, "
		    "windows or other");
	snprintf(u->os, sizeof(u->os), "%s", os ? os : "other");
	return 0;
}

/* Content-Type, Content-Length and the name's freedom; 0 or -1. */
static int
images_upload_headers(struct req *r, struct images_upload *u)
{
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *key = MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, "Idempotency-Key");
	static const char want[] = "application/octet-stream";
	struct image_rec im;
	struct op_rec op;
	struct store_conn *c;
	bool retry;
	int rc;

	if (ct == NULL || strncasecmp(ct, want, sizeof(want) - 1) != 0 ||
	    (ct[sizeof(want) - 1] != '\0' && ct[sizeof(want) - 1] != ';'))
		return err_set(ERR_MEDIA_TYPE, "an image upload must be "
		    "application/octet-stream, not '%.64s'", ct ? ct : "(none)");
	if (cl != NULL && strtoull(cl, NULL, 10) > u->max)
		return err_set(ERR_TOO_LARGE, "the upload is larger than "
		    "image_max_gib (%d GiB)", r->app->cfg.image_max_gib);
	c = store_read_begin(r->app->store);
	rc = store_image_get(c, u->name, &im);
	/* the same Idempotency-Key as the upload that made it: a retry,
	 * answered (idem.c) with the first reply once the body is in */
	retry = rc == 0 && key != NULL && store_op_get(c, im.op_id, &op) == 0 &&
	    strcmp(op.idem_key, key) == 0;
	store_read_end(c);
	if (retry)
		return 0;
	if (rc == 0)
		return err_set_field(ERR_CONFLICT, "name", "image '%s' already "
		    "exists", u->name);
	if (err_last()->code != ERR_NOT_FOUND)
		return -1;
	err_clear();
	return 0;
}

static int
images_upload_open(struct req *r, void **state)
{
	struct images_upload *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	*state = u;
	u->app = r->app;
	u->sp.fd = -1;
	u->sp.store = "the image store";
	u->sp.what = "the upload";
	u->max = (uint64_t)r->app->cfg.image_max_gib << 30;
	req_new_id(u->id);
	if (images_upload_query(r, u) < 0 || images_upload_headers(r, u) < 0 ||
	    library_mkdirs(r->app) < 0 ||
	    library_staged(r->app, u->id, "upload", u->sp.path,
	    sizeof(u->sp.path)) < 0)
		return -1;
	if ((u->pipe = shapipe_start()) == NULL)
		return -1;
	return spool_create(&u->sp);
}

#define IMAGES_UPLOAD_WRITE (256U << 10)

/* The block being filled to the staged file, then to the hash. */
static int
images_upload_flush(struct images_upload *u, const struct shapipe_buf *b)
{
	if (spool_write(&u->sp, (const char *)b->data, b->len,
	    IMAGES_UPLOAD_WRITE, u->len) < 0)
		return -1;
	shapipe_push(u->pipe);
	return 0;
}

static int
images_upload_write(void *state, const char *buf, size_t len)
{
	struct images_upload *u = state;

	if (u->sp.fd < 0)
		return err_set(ERR_INTERNAL, "the upload was already refused");
	if (u->len + len > u->max) {
		spool_fail(&u->sp, EFBIG, u->len);
		return err_set(ERR_TOO_LARGE, "the upload is larger than "
		    "image_max_gib (%d GiB)", u->app->cfg.image_max_gib);
	}
	if (u->len == 0)
		u->t0_ms = time_mono_ms();
	u->chunks++;
	while (len > 0) {
		struct shapipe_buf *b = shapipe_buf(u->pipe);
		size_t k = len < b->cap - b->len ? len : b->cap - b->len;

		memcpy(b->data + b->len, buf, k);
		b->len += k;
		buf += k;
		len -= k;
		u->len += k;
		if (b->len == b->cap && images_upload_flush(u, b) < 0)
			return -1;
	}
	return 0;
}

static void
images_upload_close(void *state)
{
	struct images_upload *u = state;

	if (u == NULL)
		return;
	if (u->sp.path[0])
		log_debug("images: upload of '%s' did not finish: removing "
		    "'%s'", u->name, u->sp.path);
	spool_discard(&u->sp);
	shapipe_abort(u->pipe);
	free(u);
}

/*
 * The body is all in (on the request's own thread): the last block
 * written, the SHA-256, and what the request asks as an object (the
 * handler's r->body, and what an Idempotency-Key compares).
 */
static json_t *
images_upload_end(void *state)
{
	struct images_upload *u = state;
	unsigned char dig[32];
	int64_t t1_ms;

	if (u->sp.fd < 0) {
		err_set(ERR_INTERNAL, "the upload was already refused");
		return NULL;
	}
	if (images_upload_flush(u, shapipe_buf(u->pipe)) < 0)
		return NULL;
	t1_ms = time_mono_ms();
	shapipe_finish(u->pipe, dig);
	u->pipe = NULL;
	library_hex(dig, u->sha);
	if (fdatasync(u->sp.fd) < 0) {
		spool_fail(&u->sp, errno, u->len);
		return NULL;
	}
	close(u->sp.fd);
	u->sp.fd = -1;
	log_debug("images: upload of '%s': %llu bytes in %zu chunks received "
	    "and written in %lld ms, then %lld ms for the hash and the "
	    "fdatasync", u->name, (unsigned long long)u->len, u->chunks,
	    (long long)(t1_ms - u->t0_ms), (long long)(time_mono_ms() - t1_ms));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "name", u->name,
	    "format", img_format_name(u->format), "os", u->os, "sha256",
	    u->sha, "sha256_claimed", u->sha_claim, "bytes",
	    (json_int_t)u->len);
}

const struct req_sink images_upload_sink = {
	.open = images_upload_open,
	.write = images_upload_write,
	.end = images_upload_end,
	.close = images_upload_close,
};

struct images_create_tx {
	struct image_rec im;
	struct op_rec op;
};

static int
images_create_tx(struct store_conn *c, void *arg)
{
	struct images_create_tx *t = arg;

	if (store_image_insert(c, &t->im) < 0)
		return -1;
	return store_op_insert(c, &t->op);
}

int
images_create(struct req *r)
{
	struct images_upload *u = r->sink_state;
	struct images_create_tx t;
	int64_t wait;
	char *params;

	if (req_query_int(r, "wait", 0, 3600, 0, &wait) < 0)
		return -1;
	if (u->len == 0)
		return err_set_field(ERR_UNPROCESSABLE, "file", "the upload is "
		    "empty");
	memset(&t, 0, sizeof(t));
	snprintf(t.im.name, sizeof(t.im.name), "%s", u->name);
	snprintf(t.im.source_format, sizeof(t.im.source_format), "%s",
	    img_format_name(u->format));
	snprintf(t.im.sha256_upload, sizeof(t.im.sha256_upload), "%s", u->sha);
	snprintf(t.im.os, sizeof(t.im.os), "%s", u->os);
	snprintf(t.im.op_id, sizeof(t.im.op_id), "%s", u->id);
	snprintf(t.op.id, sizeof(t.op.id), "%s", u->id);
	t.op.kind = OP_IMAGE_IMPORT;
	snprintf(t.op.idem_key, sizeof(t.op.idem_key), "%s", r->idem_key);
	params = json_dumps(r->body, JSON_COMPACT | JSON_SORT_KEYS);
	if (params == NULL || strlen(params) >= sizeof(t.op.params)) {
		free(params);
		return err_set(ERR_INTERNAL, "out of memory");
	}
	snprintf(t.op.params, sizeof(t.op.params), "%s", params);
	free(params);
	if (store_tx(r->app->store, images_create_tx, &t) < 0)
		return -1;
	u->sp.path[0] = '\0';          /* the operation's now */
	log_info("images: '%s' uploaded (%llu bytes, sha256 %s), import %s "
	    "queued", u->name, (unsigned long long)u->len, u->sha, u->id);
	ops_submit(r->app->ops, t.op.id);
	return operations_reply(r, &t.op, wait);
}
