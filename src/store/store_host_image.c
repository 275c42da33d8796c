/*
 * store_host_image.c - the host_images table: which image each host
 * holds a cached base volume of, and whether that copy is whole.  The
 * daemon's image cache (src/daemon/imgcache.c) is its only writer.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

int
store_host_image_get(struct store_conn *c, int64_t host_id,
    const char *sha256, struct host_image_rec *out)
{
	static const char sql[] = "SELECT volume, state, created_at"
	    " FROM host_images WHERE host_id = ?1 AND sha256 = ?2";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	sqlite3_bind_text(st, 2, sha256, -1, SQLITE_TRANSIENT);
	memset(out, 0, sizeof(*out));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->host_id = host_id;
		snprintf(out->sha256, sizeof(out->sha256), "%s", sha256);
		store_col_text(st, 0, out->volume, sizeof(out->volume));
		store_col_text(st, 1, out->state, sizeof(out->state));
		out->created_at = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return err_set(ERR_NOT_FOUND, "host #%lld holds no copy of image "
		    "%.12s", (long long)host_id, sha256);
	return store_fail(c, rc, "get host image");
}

int
store_host_image_put(struct store_conn *c, const struct host_image_rec *h)
{
	static const char sql[] = "INSERT OR REPLACE INTO host_images"
	    " (host_id, sha256, volume, state, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, h->host_id);
	sqlite3_bind_text(st, 2, h->sha256, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, h->volume, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, h->state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, time_now_ms());
	return store_exec_stmt(c, st, "put host image");
}

int
store_host_image_delete(struct store_conn *c, int64_t host_id,
    const char *sha256)
{
	static const char sql[] = "DELETE FROM host_images"
	    " WHERE host_id = ?1 AND sha256 = ?2";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	sqlite3_bind_text(st, 2, sha256, -1, SQLITE_TRANSIENT);
	return store_exec_stmt(c, st, "delete host image");
}

/* Disks of VMs on host_id other than vm_id made over base volume vol. */
static int
host_image_disks(struct store_conn *c, int64_t host_id, const char *vol,
    int64_t vm_id, int64_t *out)
{
	static const char sql[] = "SELECT COUNT(*) FROM vm_disks d"
	    " JOIN vms v ON v.id = d.vm_id"
	    " WHERE v.host_id = ?1 AND d.base_volume = ?2 AND d.vm_id <> ?3";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	sqlite3_bind_text(st, 2, vol, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, vm_id);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_fail(c, rc, "count base users");
	return 0;
}

/*
 * An operation queued or running on a VM (other than vm_id) that has a
 * disk made from the image of sha256 (over base volume vol, or a full
 * copy of it), where the VM is on host_id or is being moved there (a
 * migration's "to_id"): a create, a disk add, a revert, a migration...
 * Its id into out ("" for none).
 */
static int
host_image_pending(struct store_conn *c, int64_t host_id, const char *vol,
    const char *sha256, int64_t vm_id, char *out, size_t len)
{
	static const char sql[] = "SELECT o.id FROM operations o"
	    " JOIN vms v ON v.id = o.vm_id"
	    " WHERE o.status IN ('queued','running') AND v.id <> ?3"
	    " AND (v.host_id = ?1 OR json_extract(o.params, '$.to_id') = ?1)"
	    " AND EXISTS (SELECT 1 FROM vm_disks d WHERE d.vm_id = v.id"
	    "   AND (d.base_volume = ?2 OR d.image IN"
	    "     (SELECT name FROM images WHERE sha256 = ?4)))"
	    " ORDER BY o.created_at LIMIT 1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	sqlite3_bind_text(st, 2, vol, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, vm_id);
	sqlite3_bind_text(st, 4, sha256, -1, SQLITE_TRANSIENT);
	out[0] = '\0';
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		store_col_text(st, 0, out, len);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(c, rc, "find operations placing an image");
	return 0;
}

int
store_host_image_use(struct store_conn *c, int64_t host_id,
    const char *sha256, int64_t vm_id, struct host_image_use *out)
{
	char vol[DISK_VOLUME_LEN];

	memset(out, 0, sizeof(*out));
	snprintf(vol, sizeof(vol), "base-%s.qcow2", sha256);
	if (host_image_disks(c, host_id, vol, vm_id, &out->disks) < 0)
		return -1;
	return host_image_pending(c, host_id, vol, sha256, vm_id, out->op_id,
	    sizeof(out->op_id));
}

int
store_host_image_each(struct store_conn *c, int64_t host_id,
    const char *sha256, store_host_image_fn fn, void *arg)
{
	static const char sql[] = "SELECT host_id, sha256, volume, state,"
	    " created_at FROM host_images"
	    " WHERE host_id = ?1 AND (?2 IS NULL OR sha256 = ?2)"
	    " ORDER BY sha256";
	sqlite3_stmt *st = store_stmt(c, sql);
	struct host_image_rec h;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	store_bind_text(st, 2, sha256);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&h, 0, sizeof(h));
		h.host_id = sqlite3_column_int64(st, 0);
		store_col_text(st, 1, h.sha256, sizeof(h.sha256));
		store_col_text(st, 2, h.volume, sizeof(h.volume));
		store_col_text(st, 3, h.state, sizeof(h.state));
		h.created_at = sqlite3_column_int64(st, 4);
		if ((r = fn(&h, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)             /* fn's -1 (and its error) is ours */
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list a host's images");
	return 0;
}

int
store_host_image_count(struct store_conn *c, const char *sha256,
    int64_t *out)
{
	static const char sql[] = "SELECT COUNT(*) FROM host_images"
	    " WHERE sha256 = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_fail(c, rc, "count image copies");
	return 0;
}

int
store_host_image_holders(struct store_conn *c, const char *sha256,
    store_host_id_fn fn, void *arg)
{
	static const char sql[] = "SELECT host_id FROM host_images"
	    " WHERE sha256 = ?1 AND state = 'ready'";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(sqlite3_column_int64(st, 0), arg) != 0)
			break;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(c, rc, "list image holders");
	return 0;
}
