/*
 * backups_archive.c - GET /v1/vms/{vm}/backups/{id}/archive: one backup
 * as a self-contained tar, streamed:
 *
 *	manifest.json       {"format": "hangar-backup", "version": 1,
 *	                     "backup": {...}, "vm": {the VM's spec},
 *	                     "disks": [{"dev", "file", "format", "sha256",
 *	                                "bytes"}]}
 *	disks/<dev>.qcow2   each disk whole (an incremental backup's chain
 *	                    flattened), as the VM was at that backup
 *
 * Each disk is flattened first (qemu-img convert into backup_dir/.staging,
 * unlinked at once), so the manifest can carry the SHA-256 of exactly
 * the bytes that follow it; then the tar is read straight from those
 * files as the client takes it (common/tarw.c): nothing is held in
 * memory but the manifest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/tarw.h"
#include "req.h"

#define ARCHIVE_CHUNK (256 * 1024)

struct archive {
	struct tarw t;
	char *manifest;
};

static ssize_t
archive_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct archive *a = cls;
	ssize_t n = tarw_read(&a->t, pos, buf, max);

	if (n < 0) {
		log_warnx("archive: %s", err_last()->msg);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void
archive_free(void *cls)
{
	struct archive *a = cls;

	tarw_free(&a->t);
	free(a->manifest);
	free(a);
}

/* The manifest's "backup" member. */
static json_t *
archive_backup_json(const struct backup_rec *b)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "id", b->id, "mode",
	    b->mode, "vm_uuid", b->vm_uuid, "vm_name", b->vm_name);

	if (j) {
		json_object_set_new(j, "parent", b->parent[0] ?
		    json_string(b->parent) : json_null());
		json_object_set_new(j, "created_at", req_time(b->created_at));
	}
	return j;
}

/* The flattened disks, before they go into the tar. */
struct archive_disks {
	int fd[TARW_MEMBERS_MAX];
	uint64_t len[TARW_MEMBERS_MAX];
	char name[TARW_MEMBERS_MAX][64];
	int n;
};

/* Each disk of b flattened into k, listed in disks. */
static int
archive_disks(struct req *r, const struct backup_rec *b,
    struct archive_disks *k, json_t *disks)
{
	size_t i;
	json_t *d;

	json_array_foreach(b->disks, i, d) {
		const char *dev = json_string_value(json_object_get(d, "dev"));
		char sha[IMAGE_SHA256_LEN];
		struct stat st;
		int fd;

		if (dev == NULL || strlen(dev) > 16 ||
		    k->n == TARW_MEMBERS_MAX - 1)
			return err_set(ERR_INTERNAL, "backup '%s' lists a disk "
			    "hangar cannot name", b->id);
		if (backups_flatten(r->app, b, dev, &fd, sha) < 0)
			return -1;
		if (fstat(fd, &st) < 0) {
			close(fd);
			return err_set(ERR_UNAVAILABLE, "cannot read the flattened "
			    "disk %s", dev);
		}
		snprintf(k->name[k->n], sizeof(k->name[k->n]),
		    "disks/%s.qcow2", dev);
		k->fd[k->n] = fd;
		k->len[k->n++] = (uint64_t)st.st_size;
		json_array_append_new(disks, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:I}", "dev", dev, "file", k->name[k->n - 1], "format",
		    "qcow2", "sha256", sha, "bytes", (json_int_t)st.st_size));
	}
	return 0;
}

/*
 * The archive's members into a: manifest.json first, carrying the
 * digests of the disks that follow it (so they are flattened first).
 */
static int
archive_build(struct req *r, const struct backup_rec *b, struct archive *a)
{
	struct archive_disks k;
	int64_t mtime = b->created_at / 1000;
	json_t *disks = json_array(), *m;
	int i = 0, rc;

	memset(&k, 0, sizeof(k));
	tarw_init(&a->t);
	rc = archive_disks(r, b, &k, disks);
	m = rc < 0 ? NULL : json_pack("{s:s, s:i, s:o, s:O, s:O}", "format",
	    "hangar-backup", "version", 1, "backup", archive_backup_json(b),
	    "vm", b->spec ? b->spec : json_null(), "disks", disks);
	json_decref(disks);
	a->manifest = m ? json_dumps(m, JSON_INDENT(2)) : NULL;
	json_decref(m);
	if (rc == 0 && a->manifest == NULL)
		rc = err_set(ERR_INTERNAL, "out of memory");
	if (rc == 0)
		rc = tarw_add_mem(&a->t, "manifest.json", a->manifest,
		    strlen(a->manifest), mtime);
	/* every descriptor is handed over (to be closed), even after a
	 * failure */
	for (; i < k.n; i++)
		if (rc < 0)
			close(k.fd[i]);
		else
			rc = tarw_add_fd(&a->t, k.name[i], k.fd[i], k.len[i],
			    mtime);
	return rc;
}

int
backups_archive(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	struct archive *a;
	struct backup_rec b;
	struct vm_rec v;
	char disp[128];
	int rc = backups_load(c, r->params[0], r->params[1], &v, &b);

	store_read_end(c);
	if (rc == 0 && strcmp(b.status, "ready") != 0)
		rc = err_set(ERR_CONFLICT, "backup '%s' of vm '%s' is still being "
		    "made", b.id, v.name);
	if (rc < 0 || (a = calloc(1, sizeof(*a))) == NULL) {
		store_backup_clear(&b);
		return rc < 0 ? -1 : err_set(ERR_INTERNAL, "out of memory");
	}
	rc = archive_build(r, &b, a);
	store_backup_clear(&b);
	if (rc < 0) {
		archive_free(a);
		return -1;
	}
	r->raw = MHD_create_response_from_callback(tarw_size(&a->t),
	    ARCHIVE_CHUNK, archive_read, a, archive_free);
	if (r->raw == NULL) {
		archive_free(a);
		return err_set(ERR_INTERNAL, "cannot serve the archive");
	}
	MHD_add_response_header(r->raw, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/x-tar");
	snprintf(disp, sizeof(disp), "attachment; filename=\"%.63s-%.36s.tar\"",
	    v.name, r->params[1]);
	MHD_add_response_header(r->raw, "Content-Disposition", disp);
	r->status = 200;
	return 0;
}
