/*
 * store_version.c - the version of a resource (migration 23: bumped by
 * triggers in the transaction of every change), which the API shows as
 * its ETag, and the check that closes If-Match's check-then-act race: a
 * thread names the version it expects, and its next write transaction
 * compares it inside the transaction, before its fn runs.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

/* Where each kind's version is, by key (and key2 for a VM's part). */
static const struct {
	const char *noun;        /* for messages */
	const char *sql;         /* ?1 key, ?2 key2 */
} store_version_sql[STORE_KIND__COUNT] = {
	[STORE_KIND_VM] = { "vm",
	    "SELECT version FROM vms WHERE uuid = ?1 OR name = ?1" },
	[STORE_KIND_HOST] = { "host",
	    "SELECT version FROM hosts WHERE name = ?1" },
	[STORE_KIND_GROUP] = { "group",
	    "SELECT version FROM groups WHERE name = ?1" },
	[STORE_KIND_NETWORK] = { "network",
	    "SELECT version FROM networks WHERE name = ?1" },
	[STORE_KIND_ENV] = { "environment",
	    "SELECT version FROM environments WHERE name = ?1" },
	[STORE_KIND_IMAGE] = { "image",
	    "SELECT version FROM images WHERE name = ?1" },
	[STORE_KIND_SNAPSHOT] = { "snapshot",
	    "SELECT s.version FROM snapshots s JOIN vms v ON v.id = s.vm_id"
	    " WHERE (v.uuid = ?1 OR v.name = ?1) AND s.name = ?2" },
	[STORE_KIND_BACKUP] = { "backup",
	    "SELECT version FROM backups WHERE id = ?2"
	    " AND (vm_uuid = ?1 OR vm_name = ?1)" },
	[STORE_KIND_OPERATION] = { "operation",
	    "SELECT version FROM operations WHERE id = ?1" },
	[STORE_KIND_TOKEN] = { "token",
	    "SELECT version FROM tokens WHERE name = ?1" },
};

int
store_version_get(struct store_conn *c, enum store_kind k, const char *key,
    const char *key2, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	if (k <= STORE_KIND_NONE || k >= STORE_KIND__COUNT)
		return err_set(ERR_INTERNAL, "no version for kind %d", (int)k);
	if ((st = store_stmt(c, store_version_sql[k].sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, key2 ? key2 : "", -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	/* a statement left stepping would hold this snapshot past the
	 * read (or write) transaction */
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get version");
	return err_set(ERR_NOT_FOUND, "%s '%s' not found",
	    store_version_sql[k].noun, key2 && key2[0] ? key2 : key);
}

/* What this thread's next write transaction must find first. */
static __thread struct store_expect store_expect_tls;

void
store_expect_version(enum store_kind k, const char *key, const char *key2,
    int64_t version)
{
	struct store_expect *x = &store_expect_tls;

	x->kind = k;
	x->version = version;
	snprintf(x->key, sizeof(x->key), "%s", key);
	snprintf(x->key2, sizeof(x->key2), "%s", key2 ? key2 : "");
}

void
store_expect_clear(void)
{
	store_expect_tls.kind = STORE_KIND_NONE;
}

void
store_expect_take(struct store_expect *out)
{
	*out = store_expect_tls;
	store_expect_tls.kind = STORE_KIND_NONE;
}

int
store_expect_check(struct store_conn *c, const struct store_expect *x)
{
	int64_t now;

	if (x->kind == STORE_KIND_NONE)
		return 0;
	if (store_version_get(c, x->kind, x->key, x->key2, &now) < 0)
		return -1;
	if (now != x->version)
		return err_set_field(ERR_PRECONDITION, "If-Match", "%s '%s' "
		    "has changed since the version If-Match names: its ETag is "
		    "now \"%lld\"", store_version_sql[x->kind].noun,
		    x->key2[0] ? x->key2 : x->key, (long long)now);
	return 0;
}
