/*
 * store.c - opening the database, the schema migrations, the connection
 * pool, the transaction helper and the statement cache.
 *
 * Threads: one writer connection guarded by s->writer.mu; readers come
 * from a fixed pool, each guarded by its own mutex.  SQLite is opened in
 * multi-thread mode (each connection used by one thread at a time).
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
#include "store_int.h"

#define STORE_READERS 8
#define STORE_BUSY_RETRIES 50

/* Statements the transaction helpers run, prepared once per connection. */
static const char sql_begin[] = "BEGIN";
static const char sql_begin_immediate[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

struct store {
	char path[4096];
	struct store_conn writer;
	struct store_conn readers[STORE_READERS];
	unsigned next_reader;
	/* the newest committed event, and a wake-up for those waiting */
	pthread_mutex_t ev_mu;
	pthread_cond_t ev_cond;
	int64_t last_event;
	bool ev_init;
};

/*
 * Numbered migrations: migration i brings user_version from i to i + 1.
 * Never edit one that has shipped; add a new one.
 */
static const char *const store_migrations[] = {
	/* 1: hosts, vms, operations */
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  uri TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'ready',"
	"  arch TEXT NOT NULL DEFAULT '',"
	"  domain_type TEXT NOT NULL DEFAULT '',"
	"  cpus INTEGER NOT NULL DEFAULT 0,"
	"  memory_mib INTEGER NOT NULL DEFAULT 0,"
	"  free_memory_mib INTEGER NOT NULL DEFAULT 0,"
	"  cpu_model TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE vms ("
	"  id INTEGER PRIMARY KEY,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE,"
	"  vcpus INTEGER NOT NULL CHECK (vcpus > 0),"
	"  memory_mib INTEGER NOT NULL CHECK (memory_mib > 0),"
	"  disk_gib INTEGER NOT NULL CHECK (disk_gib > 0),"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE RESTRICT,"
	"  desired_state TEXT NOT NULL,"
	"  observed_state TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX vms_host ON vms(host_id);"
	"CREATE TABLE operations ("
	"  id TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  vm_id INTEGER REFERENCES vms(id) ON DELETE SET NULL,"
	"  vm_uuid TEXT NOT NULL,"
	"  vm_name TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  step TEXT NOT NULL DEFAULT '',"
	"  params TEXT NOT NULL DEFAULT '{}',"
	"  err_code TEXT, err_field TEXT, err_msg TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER, finished_at INTEGER);"
	/* at most one queued or running operation per VM */
	"CREATE UNIQUE INDEX operations_active_vm ON operations(vm_id)"
	"  WHERE status IN ('queued','running');"
	"CREATE INDEX operations_created ON operations(created_at);",

	/* 2: host settings and capacity, placement groups */
	"ALTER TABLE hosts ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';"
	"ALTER TABLE hosts ADD COLUMN cpu_ratio REAL NOT NULL DEFAULT 4.0;"
	"ALTER TABLE hosts ADD COLUMN ram_ratio REAL NOT NULL DEFAULT 1.0;"
	"ALTER TABLE hosts ADD COLUMN disk_ratio REAL NOT NULL DEFAULT 1.0;"
	"ALTER TABLE hosts ADD COLUMN reserved_vcpus INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE hosts ADD COLUMN reserved_memory_mib INTEGER NOT NULL"
	"  DEFAULT 512;"
	"ALTER TABLE hosts ADD COLUMN reserved_disk_gib INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN domain_types TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE hosts ADD COLUMN disk_gib INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN disk_free_gib INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE groups ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  policy TEXT NOT NULL CHECK (policy IN ('affinity','anti-affinity')),"
	"  strict INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"ALTER TABLE vms ADD COLUMN group_id INTEGER"
	"  REFERENCES groups(id) ON DELETE RESTRICT;"
	"CREATE INDEX vms_group ON vms(group_id);",

	/* 3: events, snapshots, idempotency keys, snapshot schedules */
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  ts INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  vm_uuid TEXT, vm_name TEXT, host TEXT, op_id TEXT,"
	"  data TEXT NOT NULL DEFAULT '{}');"
	"CREATE INDEX events_ts ON events(ts);"
	"CREATE TABLE snapshots ("
	"  id INTEGER PRIMARY KEY,"
	"  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  memory INTEGER NOT NULL,"
	"  vm_state TEXT NOT NULL DEFAULT '',"
	"  parent TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL DEFAULT 'creating'"
	"    CHECK (status IN ('creating','ready')),"
	"  scheduled INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (vm_id, name));"
	"CREATE TABLE idempotency ("
	"  key TEXT PRIMARY KEY,"
	"  request TEXT NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  location TEXT NOT NULL DEFAULT '',"
	"  body TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX idempotency_created ON idempotency(created_at);"
	"ALTER TABLE operations ADD COLUMN idem_key TEXT;"
	"CREATE INDEX operations_idem ON operations(idem_key)"
	"  WHERE idem_key IS NOT NULL;"
	"CREATE INDEX operations_finished ON operations(finished_at)"
	"  WHERE finished_at IS NOT NULL;"
	"ALTER TABLE vms ADD COLUMN snapshot_schedule TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE vms ADD COLUMN snapshot_keep INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vms ADD COLUMN snapshot_max_age_ms INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE vms ADD COLUMN snapshot_last_at INTEGER NOT NULL DEFAULT 0;",

	/* 4: per-host storage, operation progress and parents, plans */
	"ALTER TABLE hosts ADD COLUMN pool_path TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE hosts ADD COLUMN storage TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE operations ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';"
	"ALTER TABLE operations ADD COLUMN parent_id TEXT;"
	"ALTER TABLE operations ADD COLUMN host_id INTEGER"
	"  REFERENCES hosts(id) ON DELETE SET NULL;"
	"CREATE INDEX operations_parent ON operations(parent_id)"
	"  WHERE parent_id IS NOT NULL;"
	/* one queued or running host-level operation (drain) per host */
	"CREATE UNIQUE INDEX operations_active_host ON operations(host_id)"
	"  WHERE status IN ('queued','running') AND host_id IS NOT NULL;"
	"CREATE TABLE plans ("
	"  id TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('consolidation','rebalance')),"
	"  body TEXT NOT NULL,"
	"  op_id TEXT,"
	"  created_at INTEGER NOT NULL);",

	/* 5: drift policy and reason, API tokens */
	"ALTER TABLE vms ADD COLUMN on_drift TEXT NOT NULL DEFAULT 'record'"
	"  CHECK (on_drift IN ('record','enforce','alert'));"
	"CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  role TEXT NOT NULL CHECK (role IN ('reader','operator','admin')),"
	"  hash TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  revoked_at INTEGER);",
};

#define STORE_NMIGRATIONS \
	((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

int
store_schema_version(void)
{
	return STORE_NMIGRATIONS;
}

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
	if (store_stmt(c, sql_begin) == NULL ||
	    store_stmt(c, sql_commit) == NULL ||
	    store_stmt(c, sql_rollback) == NULL ||
	    ((flags & SQLITE_OPEN_READWRITE) &&
	    store_stmt(c, sql_begin_immediate) == NULL))
		return -1;
	return 0;
}

/* Step one of the statements above; the SQLite result code. */
static int
store_run(struct store_conn *c, const char *sql)
{
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return SQLITE_ERROR;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
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
	if (version > STORE_NMIGRATIONS)
		return err_set(ERR_UNAVAILABLE, "database schema version %d is "
		    "newer than this hangard knows (%d)", version,
		    STORE_NMIGRATIONS);
	for (; version < STORE_NMIGRATIONS; version++) {
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
	int i;

	if (s == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (store_conn_open(&s->writer, path,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) < 0)
		goto fail;
	pthread_mutex_init(&s->ev_mu, NULL);
	pthread_cond_init(&s->ev_cond, NULL);
	s->ev_init = true;
	if (store_exec(&s->writer, "PRAGMA journal_mode = WAL;") < 0 ||
	    store_migrate(&s->writer) < 0 ||
	    store_event_max(&s->writer, &s->last_event) < 0)
		goto fail;
	for (i = 0; i < STORE_READERS; i++)
		if (store_conn_open(&s->readers[i], path,
		    SQLITE_OPEN_READONLY) < 0)
			goto fail;
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
	for (int i = 0; i < STORE_READERS; i++)
		if (s->readers[i].db)
			store_conn_close(&s->readers[i]);
	if (s->writer.db)
		store_conn_close(&s->writer);
	if (s->ev_init) {
		pthread_cond_destroy(&s->ev_cond);
		pthread_mutex_destroy(&s->ev_mu);
	}
	free(s);
}

static void
store_backoff(int attempt)
{
	struct timespec ts = { 0, (long)(1 + attempt) * 2000000L };

	nanosleep(&ts, NULL);
}

/* Tell waiters that events up to id are committed. */
static void
store_event_committed(struct store *s, int64_t id)
{
	pthread_mutex_lock(&s->ev_mu);
	if (id > s->last_event)
		s->last_event = id;
	pthread_cond_broadcast(&s->ev_cond);
	pthread_mutex_unlock(&s->ev_mu);
}

int
store_tx(struct store *s, store_tx_fn fn, void *arg)
{
	struct store_conn *c = &s->writer;
	int attempt, rc, r = -1;

	pthread_mutex_lock(&c->mu);
	for (attempt = 0; attempt < STORE_BUSY_RETRIES; attempt++) {
		bool busy;

		rc = store_run(c, sql_begin_immediate);
		if ((rc & 0xff) == SQLITE_BUSY) {
			store_backoff(attempt);
			continue;
		}
		if (rc != SQLITE_OK) {
			store_fail(c, rc, "begin");
			break;
		}
		err_clear();
		c->ev_max = 0;
		r = fn(c, arg);
		if (r == 0) {
			rc = store_run(c, sql_commit);
			if (rc == SQLITE_OK) {
				if (c->ev_max > 0)
					store_event_committed(s, c->ev_max);
				break;
			}
			r = store_fail(c, rc, "commit");
		}
		/* read before ROLLBACK resets it */
		busy = (sqlite3_extended_errcode(c->db) & 0xff) == SQLITE_BUSY;
		if (!sqlite3_get_autocommit(c->db))
			store_run(c, sql_rollback);
		/* Retry the whole transaction only when SQLite was busy. */
		if (!busy || err_last()->code != ERR_UNAVAILABLE)
			break;
		store_backoff(attempt);
	}
	if (attempt == STORE_BUSY_RETRIES)
		err_set(ERR_UNAVAILABLE, "the database stayed busy");
	pthread_mutex_unlock(&c->mu);
	return r;
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
	store_run(c, sql_begin);
	return c;
}

void
store_read_end(struct store_conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		store_run(c, sql_commit);
	pthread_mutex_unlock(&c->mu);
}
