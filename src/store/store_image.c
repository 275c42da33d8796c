/*
 * store_image.c - the image library's rows: disk images uploaded to
 * hangard, each converted to one qcow2 file under image_dir.  A row is
 * inserted (importing) in the transaction that records its import
 * operation, and set ready (or removed) when that operation ends; the
 * file itself is the import's (daemon/ops_image.c).  An OVA of several
 * disks is one import of several rows: the first inserted with the
 * operation, the others once the import has read the OVA, all with the
 * operation's id, all set ready or removed together.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

#define IMAGE_COLS \
	"SELECT id, name, state, source_format, sha256_upload, sha256," \
	" virtual_size, actual_size, os, ova_spec, path, op_id, created_at" \
	" FROM images "

static void
image_row(sqlite3_stmt *st, struct image_rec *im)
{
	memset(im, 0, sizeof(*im));
	im->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, im->name, sizeof(im->name));
	store_col_text(st, 2, im->state, sizeof(im->state));
	store_col_text(st, 3, im->source_format, sizeof(im->source_format));
	store_col_text(st, 4, im->sha256_upload, sizeof(im->sha256_upload));
	store_col_text(st, 5, im->sha256, sizeof(im->sha256));
	im->virtual_size = sqlite3_column_int64(st, 6);
	im->actual_size = sqlite3_column_int64(st, 7);
	store_col_text(st, 8, im->os, sizeof(im->os));
	store_col_text(st, 9, im->ova_spec, sizeof(im->ova_spec));
	store_col_text(st, 10, im->path, sizeof(im->path));
	store_col_text(st, 11, im->op_id, sizeof(im->op_id));
	im->created_at = sqlite3_column_int64(st, 12);
}

int
store_image_insert(struct store_conn *c, struct image_rec *im)
{
	static const char sql[] = "INSERT INTO images (name, state,"
	    " source_format, sha256_upload, virtual_size, actual_size, os,"
	    " ova_spec, path, op_id, created_at)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	if (im->state[0] == '\0')
		snprintf(im->state, sizeof(im->state), "importing");
	if (im->os[0] == '\0')
		snprintf(im->os, sizeof(im->os), "other");
	im->created_at = time_now_ms();
	sqlite3_bind_text(st, 1, im->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, im->state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, im->source_format, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, im->sha256_upload, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, im->virtual_size);
	sqlite3_bind_int64(st, 6, im->actual_size);
	sqlite3_bind_text(st, 7, im->os, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, im->ova_spec, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 9, im->path, -1, SQLITE_TRANSIENT);
	store_bind_text(st, 10, im->op_id);
	sqlite3_bind_int64(st, 11, im->created_at);
	if (store_exec_stmt(c, st, "insert image") < 0) {
		if (store_unique_broken(c, "images.name"))
			err_set_field(ERR_CONFLICT, "name",
			    "image '%s' already exists", im->name);
		return -1;
	}
	im->id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

int
store_image_get(struct store_conn *c, const char *name, struct image_rec *out)
{
	static const char sql[] = IMAGE_COLS "WHERE name = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		image_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get image");
	return err_set(ERR_NOT_FOUND, "image '%s' not found", name);
}

int
store_image_set_ready(struct store_conn *c, const struct image_rec *im)
{
	static const char sql[] = "UPDATE images SET state='ready', sha256=?2,"
	    " virtual_size=?3, actual_size=?4, ova_spec=?5, path=?6"
	    " WHERE name=?1 AND state='importing'";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, im->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, im->sha256, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, im->virtual_size);
	sqlite3_bind_int64(st, 4, im->actual_size);
	sqlite3_bind_text(st, 5, im->ova_spec, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, im->path, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "set image ready") < 0)
		return -1;
	return store_changed(c, "importing image");
}

int
store_image_delete(struct store_conn *c, const char *name)
{
	static const char sql[] = "DELETE FROM images WHERE name=?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "delete image") < 0)
		return -1;
	if (sqlite3_changes(c->db) == 0)
		return err_set(ERR_NOT_FOUND, "image '%s' not found", name);
	return 0;
}

int
store_image_set_stored(struct store_conn *c, const struct image_rec *im)
{
	static const char sql[] = "UPDATE images SET sha256=?2,"
	    " virtual_size=?3, actual_size=?4, path=?5"
	    " WHERE name=?1 AND state='importing'";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, im->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, im->sha256, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, im->virtual_size);
	sqlite3_bind_int64(st, 4, im->actual_size);
	sqlite3_bind_text(st, 5, im->path, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "record an imported disk") < 0)
		return -1;
	return store_changed(c, "importing image");
}

int
store_image_ready_op(struct store_conn *c, const char *op_id)
{
	static const char sql[] = "UPDATE images SET state='ready'"
	    " WHERE op_id=?1 AND state='importing' AND sha256 != ''";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, op_id, -1, SQLITE_TRANSIENT);
	return store_exec_stmt(c, st, "set images ready");
}

int
store_image_delete_import(struct store_conn *c, const char *op_id)
{
	static const char sql[] = "DELETE FROM images WHERE op_id=?1 AND"
	    " state='importing'";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, op_id, -1, SQLITE_TRANSIENT);
	return store_exec_stmt(c, st, "delete images");
}

int
store_image_each(struct store_conn *c, store_image_fn fn, void *arg)
{
	static const char sql[] = IMAGE_COLS "ORDER BY name";
	sqlite3_stmt *st = store_stmt(c, sql);
	struct image_rec im;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		image_row(st, &im);
		if ((r = fn(&im, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)             /* fn's -1 (and its error) is ours */
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list images");
	return 0;
}
