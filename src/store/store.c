/*
 * store.c - opening the database, running its schema migrations
 * (store_schema.c), the connection pool, reads, the wait for new events
 * and the statement cache.
 *
 * Threads: one writer connection guarded by s->writer.mu; readers come
 * from a fixed pool, each guarded by its own mutex.  SQLite is opened in
 * multi-thread mode (each connection used by one thread at a time).
 *
 * Writes go through store_tx.c (group commit and the syncer).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/types.h"
#include "store_engine.h"

/* checkpoint the WAL once it holds this many frames (SQLite's default) */
#define STORE_WAL_CHECKPOINT 1000



int
store_fail(struct store_conn *c, int rc, const char *what)
{
	const char *m = c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		/* a taken name is the client's conflict; any other broken
		 * rule (foreign key, check) is our bug */
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return err_set(ERR_CONFLICT, "%s: %s", what, m);
		return err_set(ERR_INTERNAL, "%s: %s", what, m);
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_CANTOPEN:
	case SQLITE_NOMEM:
		return err_set(ERR_UNAVAILABLE,
		    "the database cannot be written (%s): %s", what, m);
	default:
		return err_set(ERR_INTERNAL, "database error (%s): %s", what, m);
	}
}

sqlite3_stmt *
store_stmt(struct store_conn *c, const char *sql)
{
	sqlite3_stmt *st;
	int i, rc;

	for (i = 0; i < STORE_STMT_CACHE && c->cache[i].sql; i++) {
		if (c->cache[i].sql == sql) {
			st = c->cache[i].stmt;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	rc = sqlite3_prepare_v3(c->db, sql, -1,
	    i < STORE_STMT_CACHE ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL);
	if (rc != SQLITE_OK) {
		store_fail(c, rc, "prepare");
		return NULL;
	}
	if (i == STORE_STMT_CACHE) {
		/* A full cache is a programming error: grow STORE_STMT_CACHE. */
		sqlite3_finalize(st);
		err_set(ERR_INTERNAL, "statement cache full");
		return NULL;
	}
	c->cache[i].sql = sql;
	c->cache[i].stmt = st;
	return st;
}

int
store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || *s == '\0')
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

void
store_col_text(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(buf, len, "%s", t ? (const char *)t : "");
}

int
store_unique_broken(struct store_conn *c, const char *column)
{
	return c->last_rc == SQLITE_CONSTRAINT_UNIQUE &&
	    strstr(c->last_msg, column) != NULL;
}

int
store_fk_broken(struct store_conn *c)
{
	/* ON DELETE RESTRICT reports SQLITE_CONSTRAINT_TRIGGER, not _FOREIGNKEY */
	return (c->last_rc & 0xff) == SQLITE_CONSTRAINT &&
	    strstr(c->last_msg, "FOREIGN KEY") != NULL;
}

int
store_exec_stmt(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		/* keep what failed: reset may change the connection's view */
		c->last_rc = sqlite3_extended_errcode(c->db);
		snprintf(c->last_msg, sizeof(c->last_msg), "%s",
		    sqlite3_errmsg(c->db));
		sqlite3_reset(st);
		return store_fail(c, c->last_rc, what);
	}
	sqlite3_reset(st);
	return 0;
}

int
store_changed(struct store_conn *c, const char *what)
{
	if (sqlite3_changes(c->db) == 0)
		return err_set(ERR_NOT_FOUND, "%s not found", what);
	return 0;
}

static int
store_exec(struct store_conn *c, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		store_fail(c, rc, msg ? msg : sql);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
store_conn_open(struct store_conn *c, const char *path, int flags)
{
	int rc;

	pthread_mutex_init(&c->mu, NULL);
	rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err_set(ERR_UNAVAILABLE, "cannot open database '%s': %s", path,
		    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		return -1;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, 5000);
	if (store_exec(c, "PRAGMA foreign_keys = ON;"
	    "PRAGMA synchronous = FULL;") < 0)
		return -1;
	/* prepared now, so beginning and ending a transaction never has to
	 * prepare (or fail to prepare) anything */
	if (store_stmt(c, store_sql_begin) == NULL ||
	    store_stmt(c, store_sql_commit) == NULL ||
	    store_stmt(c, store_sql_rollback) == NULL)
		return -1;
	if ((flags & SQLITE_OPEN_READWRITE) &&
	    (store_stmt(c, store_sql_begin_immediate) == NULL ||
	    store_stmt(c, store_sql_savepoint) == NULL ||
	    store_stmt(c, store_sql_release) == NULL ||
	    store_stmt(c, store_sql_rollback_to) == NULL ||
	    store_stmt(c, store_sql_sync_full) == NULL ||
	    store_stmt(c, store_sql_sync_normal) == NULL))
		return -1;
	return 0;
}

/*
 * The writer's WAL hook, called after each commit that wrote to the WAL:
 * note that it wrote, and checkpoint as SQLite's own hook would (setting
 * a hook replaces SQLite's wal_autocheckpoint).
 */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int nframes)
{
	struct store_conn *c = arg;

	c->wal_wrote = true;
	if (nframes >= STORE_WAL_CHECKPOINT)
		sqlite3_wal_checkpoint(db, name);
	return SQLITE_OK;
}

static void
store_conn_close(struct store_conn *c)
{
	for (int i = 0; i < STORE_STMT_CACHE && c->cache[i].sql; i++)
		sqlite3_finalize(c->cache[i].stmt);
	memset(c->cache, 0, sizeof(c->cache));
	if (c->db)
		sqlite3_close(c->db);
	c->db = NULL;
	pthread_mutex_destroy(&c->mu);
}

static int
store_migrate(struct store_conn *c)
{
	sqlite3_stmt *st;
	int version;
	char sql[64];

	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK)
		return store_fail(c, sqlite3_errcode(c->db), "user_version");
	version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (version > store_nmigrations)
		return err_set(ERR_UNAVAILABLE, "database schema version %d is "
		    "newer than this hangard knows (%d)", version,
		    store_nmigrations);
	for (; version < store_nmigrations; version++) {
		log_info("store: migrating schema to version %d", version + 1);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;",
		    version + 1);
		if (store_exec(c, "BEGIN IMMEDIATE") < 0)
			return -1;
		if (store_exec(c, store_migrations[version]) < 0 ||
		    store_exec(c, sql) < 0) {
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (store_exec(c, "COMMIT") < 0)
			return -1;
	}
	return 0;
}

struct store *
store_open(const char *path)
{
	struct store *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;
	int i;

	if (s == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->sync_full = true;
	if (store_conn_open(&s->writer, path,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) < 0)
		goto fail;
	pthread_mutex_init(&s->ev_mu, NULL);
	pthread_cond_init(&s->ev_cond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->sync_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->q_mu, NULL);
	s->ev_init = s->q_init = true;
	if (store_exec(&s->writer, "PRAGMA journal_mode = WAL;") < 0 ||
	    store_migrate(&s->writer) < 0 ||
	    store_event_max(&s->writer, &s->last_event) < 0)
		goto fail;
	sqlite3_wal_hook(s->writer.db, store_wal_hook, &s->writer);
	for (i = 0; i < STORE_READERS; i++) {
		if (store_conn_open(&s->readers[i], path,
		    SQLITE_OPEN_READONLY) < 0)
			goto fail;
		s->readers[i].store = s;
		/* a reader's page cache is a luxury (the OS caches the file
		 * too): 256 KiB each, not SQLite's 2 MiB, keeps hangard with
		 * 100,000 VMs under 64 MiB (bench P5) */
		if (store_exec(&s->readers[i], "PRAGMA cache_size = -256;") < 0)
			goto fail;
	}
	if (store_conn_open(&s->probe, path, SQLITE_OPEN_READONLY) < 0 ||
	    store_exec(&s->probe, "PRAGMA cache_size = -16;") < 0)
		goto fail;
	if (pthread_create(&s->syncer, NULL, store_syncer, s) != 0) {
		err_set(ERR_INTERNAL, "cannot start the store's syncer thread");
		goto fail;
	}
	s->syncer_up = true;
	return s;
fail:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->syncer_up) {
		pthread_mutex_lock(&s->ev_mu);
		s->sync_stop = true;
		pthread_cond_signal(&s->sync_cond);
		pthread_mutex_unlock(&s->ev_mu);
		pthread_join(s->syncer, NULL);
		/* closing the last connection checkpoints (and syncs) the
		 * WAL; sync first all the same, so a failing close loses no
		 * lazy commit */
		if (s->unsynced && store_sync(s) < 0)
			log_warnx("store: cannot sync the database: %s",
			    err_last()->msg);
	}
	for (int i = 0; i < STORE_READERS; i++)
		if (s->readers[i].db)
			store_conn_close(&s->readers[i]);
	if (s->probe.db)
		store_conn_close(&s->probe);
	if (s->writer.db)
		store_conn_close(&s->writer);
	if (s->ev_init) {
		pthread_cond_destroy(&s->ev_cond);
		pthread_cond_destroy(&s->sync_cond);
		pthread_mutex_destroy(&s->ev_mu);
	}
	if (s->q_init)
		pthread_mutex_destroy(&s->q_mu);
	free(s);
}

int64_t
store_event_last(struct store *s)
{
	int64_t id;

	pthread_mutex_lock(&s->ev_mu);
	id = s->last_event;
	pthread_mutex_unlock(&s->ev_mu);
	return id;
}

int64_t
store_event_wait(struct store *s, int64_t after_id, int timeout_ms)
{
	struct timespec ts;
	int64_t id;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->ev_mu);
	while (s->last_event <= after_id &&
	    pthread_cond_timedwait(&s->ev_cond, &s->ev_mu, &ts) == 0)
		;
	id = s->last_event;
	pthread_mutex_unlock(&s->ev_mu);
	return id;
}

struct store_conn *
store_read_begin(struct store *s)
{
	unsigned start = __atomic_fetch_add(&s->next_reader, 1,
	    __ATOMIC_RELAXED);
	struct store_conn *c = NULL;

	for (unsigned i = 0; i < STORE_READERS; i++) {
		struct store_conn *t = &s->readers[(start + i) % STORE_READERS];

		if (pthread_mutex_trylock(&t->mu) == 0) {
			c = t;
			break;
		}
	}
	if (c == NULL) {
		c = &s->readers[start % STORE_READERS];
		pthread_mutex_lock(&c->mu);
	}
	/* prepared when the connection was opened: this cannot fail to
	 * prepare, and a failed BEGIN only means reads without a snapshot */
	store_run(c, store_sql_begin);
	return c;
}

void
store_read_end(struct store_conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		store_run(c, store_sql_commit);
	pthread_mutex_unlock(&c->mu);
}

int64_t
store_data_version(struct store *s)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	pthread_mutex_lock(&s->probe.mu);
	if ((st = store_stmt(&s->probe, "PRAGMA data_version")) != NULL) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	pthread_mutex_unlock(&s->probe.mu);
	return v;
}
