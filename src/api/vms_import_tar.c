/*
 * vms_import_tar.c - the body of POST /v1/vms/import: an archive
 * (application/x-tar, as GET .../backups/{id}/archive makes it) streamed
 * to backup_dir/.staging/<op id>.tar as it comes, never held in memory,
 * or a small JSON body ({"backup": id}).  The route streams its body
 * (ROUTE_STREAM); this is its sink, as images_upload.c is an image's.
 *
 * The archive is hostile input.  Before the handler trusts a byte of it:
 * the tar is read in place by the OVA importer's reader (common/ova_tar.c:
 * checksummed headers; no absolute name, "..", link or device; no name
 * twice), its manifest.json (at most BKM_TEXT_MAX bytes) by a strict
 * reader of its own (common/bkmanifest.c), every member's name must be
 * one the manifest lists and every listed one present, and each disk's
 * qcow2 header is probed (common/imgprobe.c: no backing or data file, a
 * sane virtual size) before it is copied out to a staged file of its own
 * with its SHA-256 computed as it goes (common/shapipe.c) and compared.
 * Every refusal is a 4xx naming what was wrong; whatever the request
 * ends with, the sink's close removes the tar and any disk it took out
 * that the import operation did not take over.
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
#include "vms_import.h"

/* Is content type ct want (with parameters or not)? */
static bool
vmi_ctype(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The query's name: a VM name not taken (409 before a byte is read). */
static int
vmi_name_free(struct req *r)
{
	const char *name = req_query(r, "name");
	struct store_conn *c;
	struct vm_rec v;
	int rc;

	if (name == NULL)
		return err_set_field(ERR_INVALID, "name", "query parameter "
		    "'name' is required: the new VM's name");
	if (req_check_name("name", name) < 0)
		return -1;
	c = store_read_begin(r->app->store);
	rc = store_vm_get(c, name, &v);
	store_read_end(c);
	if (rc == 0)
		return err_set_field(ERR_CONFLICT, "name", "a vm named '%s' "
		    "already exists", name);
	if (err_last()->code != ERR_NOT_FOUND)
		return -1;
	err_clear();
	return 0;
}

static int
vmi_open_tar(struct req *r, struct vmi_up *u)
{
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	char dir[CONFIG_STR_MAX + 128];

	u->tar = true;
	u->max = ((uint64_t)r->app->cfg.image_max_gib << 30) * 4;
	if (cl != NULL && strtoull(cl, NULL, 10) > u->max)
		return err_set(ERR_TOO_LARGE, "the archive is larger than 4 "
		    "times image_max_gib (%d GiB)", r->app->cfg.image_max_gib);
	/* makes backup_dir/.staging */
	if (backups_staged(r->app, u->id, dir, sizeof(dir)) < 0)
		return -1;
	if ((size_t)snprintf(u->sp.path, sizeof(u->sp.path),
	    "%s/.staging/%s.tar", r->app->cfg.backup_dir, u->id) >=
	    sizeof(u->sp.path)) {
		u->sp.path[0] = '\0';
		return err_set(ERR_INTERNAL, "backup_dir is too long");
	}
	return spool_create(&u->sp);
}

static int
vmi_open(struct req *r, void **state)
{
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	struct vmi_up *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	*state = u;
	u->app = r->app;
	u->sp.fd = -1;
	u->sp.store = "backup_dir";
	u->sp.what = "the archive";
	req_new_id(u->id);
	if (!vmi_ctype(ct, "application/x-tar") &&
	    !vmi_ctype(ct, "application/json"))
		return err_set(ERR_MEDIA_TYPE, "an import takes an archive "
		    "(application/x-tar) or {\"backup\": id} "
		    "(application/json), not '%.64s'", ct ? ct : "(none)");
	if (vmi_name_free(r) < 0)
		return -1;
	if (vmi_ctype(ct, "application/json")) {
		u->max = VMI_JSON_MAX;
		return 0;
	}
	return vmi_open_tar(r, u);
}

static int
vmi_write(void *state, const char *buf, size_t len)
{
	struct vmi_up *u = state;
	char *j;

	if (u->len + len > u->max) {
		if (u->tar)
			spool_fail(&u->sp, EFBIG, u->len);
		return err_set(ERR_TOO_LARGE, u->tar ? "the archive is larger "
		    "than 4 times image_max_gib" : "an import's JSON body is "
		    "at most 16 KiB");
	}
	u->len += len;
	if (!u->tar) {
		if ((j = realloc(u->json, u->jlen + len)) == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		memcpy(j + u->jlen, buf, len);
		u->json = j;
		u->jlen += len;
		return 0;
	}
	if (u->sp.fd < 0)
		return err_set(ERR_INTERNAL, "the archive was already refused");
	return spool_write(&u->sp, buf, len, 0, u->len);
}

static json_t *
vmi_end(void *state)
{
	struct vmi_up *u = state;
	json_error_t je;
	json_t *j;

	if (!u->tar) {
		j = json_loadb(u->json ? u->json : "", u->jlen,
		    JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(j)) {
			json_decref(j);
			err_set(ERR_INVALID, "the body is not a JSON object: "
			    "%s", je.text);
		}
		return json_is_object(j) ? j : NULL;
	}
	if (u->sp.fd < 0) {
		err_set(ERR_INTERNAL, "the archive was already refused");
		return NULL;
	}
	close(u->sp.fd);
	u->sp.fd = -1;
	if (u->len == 0) {
		err_set_field(ERR_UNPROCESSABLE, "archive", "the archive is "
		    "empty");
		return NULL;
	}
	return json_pack("{s:s, s:I}", "archive", u->id, "bytes",
	    (json_int_t)u->len);
}

static void
vmi_close(void *state)
{
	struct vmi_up *u = state;

	if (u == NULL)
		return;
	spool_discard(&u->sp);
	for (int i = 0; i < u->nstaged; i++)
		unlink(u->staged[i]);
	free(u->json);
	free(u);
}

const struct req_sink vms_import_sink = {
	.open = vmi_open,
	.write = vmi_write,
	.end = vmi_end,
	.close = vmi_close,
};

/* An error of the tar reader (written for OVAs), said of the archive. */
static int
vmi_tar_refused(void)
{
	struct err e;

	err_save(&e);
	if (e.code != ERR_UNPROCESSABLE)
		return err_set_field(e.code, "archive", "%s", e.msg);
	/* its sentences begin "the OVA ..." */
	if (strncmp(e.msg, "the OVA ", 8) == 0)
		return err_set_field(ERR_UNPROCESSABLE, "archive", "the archive "
		    "%s", e.msg + 8);
	return err_set_field(ERR_UNPROCESSABLE, "archive", "the archive is not "
	    "a tar hangar accepts: %s", e.msg);
}

int
vmi_manifest(struct vmi_up *u, struct bkm *m)
{
	const char *names[OVA_MEMBERS_MAX];
	const struct tar_member *t;
	char *text;
	int fd, r;

	memset(m, 0, sizeof(*m));
	if ((fd = open(u->sp.path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(ERR_UNAVAILABLE, "cannot open '%s': %s",
		    u->sp.path, strerror(errno));
	if (ova_tar_scan(fd, u->len, &u->tl) < 0) {
		close(fd);
		return vmi_tar_refused();
	}
	if ((t = ova_tar_find(&u->tl, "manifest.json")) == NULL) {
		close(fd);
		return err_set_field(ERR_UNPROCESSABLE, "archive", "the archive "
		    "has no manifest.json");
	}
	if (t->size > BKM_TEXT_MAX) {
		close(fd);
		return err_set_field(ERR_UNPROCESSABLE, "archive", "manifest.json"
		    ": it is larger than %u bytes", BKM_TEXT_MAX);
	}
	if ((text = malloc(t->size + 1)) == NULL) {
		close(fd);
		return err_set(ERR_INTERNAL, "out of memory");
	}
	r = ova_read(fd, u->len, text, t->size, t->off, "manifest.json");
	close(fd);
	if (r < 0)
		r = vmi_tar_refused();
	else
		r = bkm_parse(text, t->size, m);
	free(text);
	for (int i = 0; i < u->tl.n; i++)
		names[i] = u->tl.m[i].name;
	if (r == 0 && bkm_members(m, names, u->tl.n) < 0) {
		bkm_free(m);
		return -1;
	}
	return r;
}

/* An error about member file, said of the archive. */
static int
vmi_member_refused(const char *file)
{
	struct err e;

	err_save(&e);
	return err_set_field(e.code, e.code == ERR_UNPROCESSABLE ? "archive" :
	    e.field, "%s: %s", file, e.msg);
}

/* Copy [off, off + len) of the tar at in into out, hashing as it goes:
 * its SHA-256 (hex) into sha. */
static int
vmi_copy(int in, uint64_t off, uint64_t len, int out,
    char sha[IMAGE_SHA256_LEN])
{
	struct shapipe *p = shapipe_start();
	unsigned char dig[32];
	struct shapipe_buf *b;

	if (p == NULL)
		return -1;
	while (len > 0) {
		size_t k;
		ssize_t n;

		b = shapipe_buf(p);
		k = b->cap - b->len < len ? b->cap - b->len : (size_t)len;
		n = pread(in, b->data + b->len, k, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			shapipe_abort(p);
			return err_set(ERR_UNAVAILABLE, "cannot read the staged "
			    "archive: %s", n < 0 ? strerror(errno) : "cut short");
		}
		b->len += (size_t)n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
		if (b->len < b->cap && len > 0)
			continue;
		for (size_t w = 0; w < b->len;) {
			ssize_t m = write(out, b->data + w, b->len - w);

			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0) {
				int e = errno;

				shapipe_abort(p);
				return err_set(e == ENOSPC || e == EDQUOT ?
				    ERR_INSUFFICIENT_STORAGE : ERR_UNAVAILABLE,
				    "cannot write a disk of the archive: %s",
				    strerror(e));
			}
			w += (size_t)m;
		}
		shapipe_push(p);
	}
	shapipe_finish(p, dig);
	library_hex(dig, sha);
	return 0;
}

/* The disk row of device dev in d[n], or NULL. */
static const struct disk_rec *
vmi_row(const struct disk_rec *d, int n, const char *dev)
{
	for (int i = 0; i < n; i++)
		if (strcmp(d[i].dev, dev) == 0 && strcmp(d[i].device, "disk") ==
		    0)
			return &d[i];
	return NULL;
}

/* Disk k of m: checked in place, then taken out with its digest. */
static int
vmi_disk(struct vmi_up *u, int fd, const struct bkm *m, int k,
    const struct disk_rec *row)
{
	const struct bkm_disk *bd = &m->disks[k];
	const struct tar_member *t = ova_tar_find(&u->tl, bd->file);
	char *dst = u->staged[u->nstaged], name[96], sha[IMAGE_SHA256_LEN];
	struct img_info ii;
	int out, r;

	if (t == NULL || t->size != bd->bytes)
		return err_set_field(ERR_UNPROCESSABLE, "archive", "manifest.json"
		    ": disks[%d].bytes is %llu, but member %s holds %llu", k,
		    (unsigned long long)bd->bytes, bd->file,
		    (unsigned long long)(t ? t->size : 0));
	if (img_probe_fd(fd, t->off, t->size, &ii) < 0 ||
	    img_accept(&ii, IMG_FMT_QCOW2, (uint64_t)row->size_gib << 30) < 0)
		return vmi_member_refused(bd->file);
	snprintf(name, sizeof(name), "%s-%s", u->id, bd->dev);
	if (backups_staged(u->app, name, dst, sizeof(u->staged[0])) < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out < 0)
		return err_set(ERR_UNAVAILABLE, "cannot create '%s': %s", dst,
		    strerror(errno));
	u->nstaged++;
	r = vmi_copy(fd, t->off, t->size, out, sha);
	if (close(out) < 0 && r == 0)
		r = err_set(ERR_UNAVAILABLE, "cannot write '%s': %s", dst,
		    strerror(errno));
	if (r == 0 && strcmp(sha, bd->sha256) != 0)
		r = err_set_field(ERR_UNPROCESSABLE, "archive", "manifest.json: "
		    "disks[%d].sha256 mismatch for %s: the member's is %s", k,
		    bd->file, sha);
	return r;
}

int
vmi_disks(struct vmi_up *u, const struct bkm *m, const struct disk_rec *d,
    int n)
{
	int fd, r = 0, want = 0;

	for (int i = 0; i < n; i++)
		if (strcmp(d[i].device, "disk") == 0)
			want++;
	for (int k = 0; k < m->ndisks; k++)
		if (vmi_row(d, n, m->disks[k].dev) == NULL)
			return err_set_field(ERR_UNPROCESSABLE, "archive",
			    "manifest.json: disks[%d].dev '%s' is not a disk of "
			    "the vm's spec", k, m->disks[k].dev);
	if (want != m->ndisks)
		return err_set_field(ERR_UNPROCESSABLE, "archive", "manifest.json"
		    ": the vm's spec has %d disks, the archive %d", want,
		    m->ndisks);
	if ((fd = open(u->sp.path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(ERR_UNAVAILABLE, "cannot open '%s': %s",
		    u->sp.path, strerror(errno));
	for (int k = 0; r == 0 && k < m->ndisks; k++)
		r = vmi_disk(u, fd, m, k, vmi_row(d, n, m->disks[k].dev));
	close(fd);
	if (r == 0) {
		/* all of it is out: its space back before the copies */
		unlink(u->sp.path);
		u->sp.path[0] = '\0';
	}
	return r;
}
