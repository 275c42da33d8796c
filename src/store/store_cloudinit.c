/*
 * store_cloudinit.c - the vm_cloud_init table: a VM's cloud-init
 * settings as the JSON text the API checked, one row per VM that has
 * them, gone with the VM (ON DELETE CASCADE).  The daemon builds the
 * VM's NoCloud seed from it wherever the VM's disks are made.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

int
store_cloudinit_put(struct store_conn *c, int64_t vm_id, const char *spec)
{
	static const char sql[] = "INSERT OR REPLACE INTO vm_cloud_init"
	    " (vm_id, spec, created_at) VALUES (?1, ?2, ?3)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, spec, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, time_now_ms());
	return store_exec_stmt(c, st, "insert cloud-init settings");
}

int
store_cloudinit_get(struct store_conn *c, int64_t vm_id, char **spec)
{
	static const char sql[] = "SELECT spec FROM vm_cloud_init"
	    " WHERE vm_id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	const unsigned char *t;
	int rc;

	*spec = NULL;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (t = sqlite3_column_text(st, 0)) != NULL &&
	    (*spec = strdup((const char *)t)) == NULL)
		rc = SQLITE_NOMEM;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW && *spec)
		return 0;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return err_set(ERR_NOT_FOUND, "the vm has no cloud-init "
		    "settings");
	return store_fail(c, rc, "get cloud-init settings");
}
