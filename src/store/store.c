/*
 * store.c - opening the database, running its schema migrations
 * (store_schema.c), the connection pool, the transaction helper (group
 * commit) and the statement cache.
 *
 * Threads: one writer connection guarded by s->writer.mu; readers come
 * from a fixed pool, each guarded by its own mutex.  SQLite is opened in
 * multi-thread mode (each connection used by one thread at a time).
 *
 * Writes: every store_tx() caller queues a request; the first caller to
 * find no leader becomes the leader, takes the whole queue as one batch
 * and runs it on the writer in one transaction, each request inside its
 * own savepoint, so one fsync serves the batch.  Each caller sleeps until
 * the leader has committed (and synced) and hands it its own result and
 * error.  Lazy requests (store_tx_lazy, store_tx_async) ride along with
 * durable ones; a batch of lazy ones only is committed with
 * synchronous=NORMAL: no fsync, made durable by the next durable commit
 * or, at the latest, STORE_SYNC_MS later by the syncer thread (which
 * takes the writer to fsync the WAL).  Events appended by a lazy
 * transaction are announced (store_event_last, store_event_wait) and
 * shown to readers of the log (store_event_each on a reader) only once
 * they are durable, so no client ever sees an event that a power failure
 * could take back.
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
#include "../common/metrics.h"
#include "../common/types.h"
#include "store_int.h"

#define STORE_READERS 8
#define STORE_BUSY_RETRIES 50
/* requests run in one transaction at most */
#define STORE_BATCH_MAX 64
/* lazy commits are synced at the latest this long after the first */
#define STORE_SYNC_MS 10
/* and again this long after a failed sync */
#define STORE_SYNC_RETRY_MS 1000
/* checkpoint the WAL once it holds this many frames (SQLite's default) */
#define STORE_WAL_CHECKPOINT 1000

/*
 * One store_tx() caller waiting for its transaction.  It lives on the
 * caller's stack; the leader fills in r and e, then sets done and signals
 * cond, all under s->q_mu, and never touches it again.  A posted one
 * (store_tx_post) is the same on the heap, with nobody waiting until
 * store_tx_wait.  An asynchronous one (store_tx_async) has no caller at
 * all: it is on the heap, and the leader calls then(arg, r) and frees it.
 */
struct store_req {
	store_tx_fn fn;            /* NULL: only make what is committed durable */
	void *arg;
	bool durable;
	bool waiting;              /* a thread waits for it (could lead) */
	bool done;
	int r;                     /* fn's result, or -1 */
	struct err e;              /* the error state fn (or the commit) left */
	pthread_cond_t cond;       /* not for an asynchronous one */
	void (*then)(void *arg, int r);     /* an asynchronous one's */
	struct store_req *next;
};

/* What store_tx_post hands out. */
struct store_ticket {
	struct store *s;
	struct store_req q;
};

struct store {
	char path[4096];
	struct store_conn writer;
	struct store_conn readers[STORE_READERS];
	unsigned next_reader;
	/* the newest durable event (what waiters and readers of the log are
	 * shown), and a wake-up for those waiting; also guards the unsynced
	 * state below, which only the leader changes */
	pthread_mutex_t ev_mu;
	pthread_cond_t ev_cond;
	int64_t last_event;
	bool ev_init;
	/* lazy commits not yet durable: since when (CLOCK_MONOTONIC ms), and
	 * the newest event they appended */
	bool unsynced;
	int64_t unsynced_at;
	int64_t ev_unsynced;
	/* the syncer thread, woken through sync_cond (with ev_mu) */
	pthread_cond_t sync_cond;
	pthread_t syncer;
	bool syncer_up, sync_stop;
	/* the group-commit queue and whether a leader is running a batch */
	pthread_mutex_t q_mu;
	struct store_req *q_head, *q_tail;
	bool leading;
	bool q_init;
	/* the writer's synchronous level: FULL (true) or NORMAL */
	bool sync_full;
	/* a read-only connection that never holds a transaction, only for
	 * store_data_version() (guarded by probe.mu) */
	struct store_conn probe;
};

/* Statements the transaction helpers run on every connection. */
static const char sql_begin[] = "BEGIN";
static const char sql_begin_immediate[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_savepoint[] = "SAVEPOINT store_tx";
static const char sql_release[] = "RELEASE store_tx";
static const char sql_rollback_to[] = "ROLLBACK TO store_tx";
static const char sql_sync_full[] = "PRAGMA synchronous=FULL";
static const char sql_sync_normal[] = "PRAGMA synchronous=NORMAL";

static void *store_syncer(void *arg);


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
	    store_stmt(c, sql_rollback) == NULL)
		return -1;
	if ((flags & SQLITE_OPEN_READWRITE) &&
	    (store_stmt(c, sql_begin_immediate) == NULL ||
	    store_stmt(c, sql_savepoint) == NULL ||
	    store_stmt(c, sql_release) == NULL ||
	    store_stmt(c, sql_rollback_to) == NULL ||
	    store_stmt(c, sql_sync_full) == NULL ||
	    store_stmt(c, sql_sync_normal) == NULL))
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

static void
store_backoff(int attempt)
{
	struct timespec ts = { 0, (long)(1 + attempt) * 2000000L };

	nanosleep(&ts, NULL);
}

/* Step one of the cached statements above; the SQLite result code. */
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

/* Tell waiters that events up to id are durable (s->ev_mu held). */
static void
store_event_publish(struct store *s, int64_t id)
{
	if (id > s->last_event)
		s->last_event = id;
	pthread_cond_broadcast(&s->ev_cond);
}

/*
 * Make every commit so far durable: fsync the WAL, through SQLite's own
 * file object (the writer held).  Publishes the lazy commits' events.
 * 0, or -1 with err_last() set.
 */
static int
store_sync_wal(struct store *s)
{
	struct store_conn *c = &s->writer;
	sqlite3_file *f = NULL;
	int rc;

	rc = sqlite3_file_control(c->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
	    &f);
	if (rc != SQLITE_OK || f == NULL || f->pMethods == NULL)
		return err_set(ERR_UNAVAILABLE, "the database cannot be written "
		    "(sync): no write-ahead log is open");
	rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK)
		return store_fail(c, rc, "sync");
	pthread_mutex_lock(&s->ev_mu);
	s->unsynced = false;
	store_event_publish(s, s->ev_unsynced);
	pthread_mutex_unlock(&s->ev_mu);
	return 0;
}

/*
 * After a commit on the writer (durable: with synchronous=FULL) whose
 * transaction appended events up to ev_max.  A durable commit that wrote
 * to the WAL synced it, and with it every lazy commit before it.  One
 * that wrote nothing synced nothing and has nothing of its own to make
 * durable: lazy commits before it stay with the syncer.
 */
static void
store_committed(struct store *s, bool durable, int64_t ev_max)
{
	struct store_conn *c = &s->writer;
	bool wrote = c->wal_wrote;

	c->wal_wrote = false;
	if (!wrote)
		return;
	if (!durable) {
		pthread_mutex_lock(&s->ev_mu);
		if (!s->unsynced) {
			s->unsynced = true;
			s->unsynced_at = time_mono_ms();
			pthread_cond_signal(&s->sync_cond);
		}
		if (ev_max > s->ev_unsynced)
			s->ev_unsynced = ev_max;
		pthread_mutex_unlock(&s->ev_mu);
		return;
	}
	pthread_mutex_lock(&s->ev_mu);
	s->unsynced = false;
	store_event_publish(s, ev_max > s->ev_unsynced ? ev_max :
	    s->ev_unsynced);
	pthread_mutex_unlock(&s->ev_mu);
}

/*
 * BEGIN IMMEDIATE on the writer, with synchronous set for a durable or a
 * lazy commit (it cannot change inside a transaction).  SQLite result.
 */
static int
store_begin(struct store *s, bool durable)
{
	struct store_conn *c = &s->writer;
	int rc;

	if (s->sync_full != durable) {
		rc = store_run(c, durable ? sql_sync_full : sql_sync_normal);
		if (rc != SQLITE_OK)
			return rc;
		s->sync_full = durable;
	}
	c->wal_wrote = false;
	c->ev_max = 0;
	return store_run(c, sql_begin_immediate);
}

/*
 * One request in a transaction of its own (the writer held): BEGIN
 * IMMEDIATE, fn, COMMIT, retried with backoff while SQLite is busy.
 * Sets q->r and q->e.
 */
static void
store_solo(struct store *s, struct store_req *q, bool durable)
{
	struct store_conn *c = &s->writer;
	int attempt, rc;

	q->r = -1;
	for (attempt = 0; attempt < STORE_BUSY_RETRIES; attempt++) {
		bool busy;

		rc = store_begin(s, durable);
		if ((rc & 0xff) == SQLITE_BUSY) {
			store_backoff(attempt);
			continue;
		}
		if (rc != SQLITE_OK) {
			store_fail(c, rc, "begin");
			break;
		}
		err_clear();
		q->r = q->fn(c, q->arg);
		if (q->r == 0) {
			rc = store_run(c, sql_commit);
			if (rc == SQLITE_OK) {
				store_committed(s, durable, c->ev_max);
				break;
			}
			q->r = store_fail(c, rc, "commit");
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
	if (attempt == STORE_BUSY_RETRIES) {
		q->r = -1;
		err_set(ERR_UNAVAILABLE, "the database stayed busy");
	}
	err_save(&q->e);
}

/*
 * Requests q[0..n) in one transaction, each in a savepoint of its own (the
 * writer held): a request whose fn fails has only its own changes rolled
 * back.  Returns 0 when committed, with every q[i]->r and ->e set; -1
 * when the batch cannot be trusted as a whole (BEGIN, a savepoint or
 * COMMIT failed, a fn met a database error, or SQLite rolled the whole
 * transaction back): then nothing of it is committed and the caller runs
 * each request alone.
 */
static int
store_batch(struct store *s, struct store_req **q, int n, bool durable)
{
	struct store_conn *c = &s->writer;
	int64_t ev_before;
	int i;

	if (store_begin(s, durable) != SQLITE_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		if (store_run(c, sql_savepoint) != SQLITE_OK)
			goto fail;
		ev_before = c->ev_max;
		err_clear();
		q[i]->r = q[i]->fn(c, q[i]->arg);
		err_save(&q[i]->e);
		if (sqlite3_get_autocommit(c->db))
			goto fail;      /* the transaction is gone */
		if (q[i]->r == 0) {
			if (store_run(c, sql_release) != SQLITE_OK)
				goto fail;
			continue;
		}
		q[i]->r = -1;
		/* a full disk, an I/O error, a busy database: every request
		 * meets it alone, as it would without the batch */
		if (q[i]->e.code == ERR_UNAVAILABLE)
			goto fail;
		/* an event id rolled back here will be given out again */
		c->ev_max = ev_before;
		if (store_run(c, sql_rollback_to) != SQLITE_OK ||
		    store_run(c, sql_release) != SQLITE_OK)
			goto fail;
	}
	if (store_run(c, sql_commit) != SQLITE_OK)
		goto fail;
	store_committed(s, durable, c->ev_max);
	return 0;
fail:
	if (!sqlite3_get_autocommit(c->db))
		store_run(c, sql_rollback);
	c->wal_wrote = false;
	return -1;
}

/* Requests q[0..n) committed as one batch, or else each alone. */
static void
store_group(struct store *s, struct store_req **q, int n, bool durable)
{
	if (n == 0)
		return;
	if (n > 1 && store_batch(s, q, n, durable) == 0)
		return;
	for (int i = 0; i < n; i++)
		store_solo(s, q[i], durable);
}

/* Hand q[0..n) (none asynchronous) their results (s->q_mu held). */
static void
store_wake(struct store_req **q, int n)
{
	for (int i = 0; i < n; i++) {
		q[i]->done = true;
		pthread_cond_signal(&q[i]->cond);
	}
}

/* Finish the asynchronous requests q[0..n) (no lock held). */
static void
store_then(struct store_req **q, int n)
{
	for (int i = 0; i < n; i++) {
		err_restore(&q[i]->e);
		q[i]->then(q[i]->arg, q[i]->r);
		free(q[i]);
	}
}

/*
 * Lead one batch: take the queue (up to STORE_BATCH_MAX) and run it on
 * the writer, in queue order, as one transaction: synchronous=FULL when
 * any request in it is durable (lazy ones then ride along), NORMAL when
 * all are lazy.  Then the syncs.  Called and returns with s->q_mu held.
 */
static void
store_lead_one(struct store *s)
{
	struct store_req *q, *work[STORE_BATCH_MAX], *wake[STORE_BATCH_MAX],
	    *async[STORE_BATCH_MAX];
	int nw = 0, nk = 0, na = 0, ns = 0, i, r = 0;
	bool durable = false;
	struct err e;

	s->leading = true;
	while ((q = s->q_head) != NULL && nk + na < STORE_BATCH_MAX) {
		s->q_head = q->next;
		q->next = NULL;
		/* sorted now: a woken caller's request is gone at once, an
		 * asynchronous one once then() is done with it */
		if (q->then)
			async[na++] = q;
		else
			wake[nk++] = q;
		if (q->fn == NULL) {
			ns++;           /* a sync: after the work */
			continue;
		}
		work[nw++] = q;
		durable |= q->durable;
	}
	if (s->q_head == NULL)
		s->q_tail = NULL;
	pthread_mutex_unlock(&s->q_mu);

	pthread_mutex_lock(&s->writer.mu);
	store_group(s, work, nw, durable);
	if (ns > 0) {
		/* every commit so far made durable */
		err_clear();
		if (s->unsynced)
			r = store_sync_wal(s);
		err_save(&e);
		for (i = 0; i < nk; i++) {
			if (wake[i]->fn == NULL) {
				wake[i]->r = r;
				wake[i]->e = e;
			}
		}
	}
	pthread_mutex_unlock(&s->writer.mu);
	store_then(async, na);

	pthread_mutex_lock(&s->q_mu);
	store_wake(wake, nk);
	s->leading = false;
}

/*
 * Lead until a waiting caller can take over: the first one still queued
 * is woken to lead next; asynchronous and posted requests may have
 * nobody to lead them, so while only they are queued, this caller goes
 * on.  s->q_mu held.
 */
static void
store_lead(struct store *s)
{
	struct store_req *q;

	do {
		store_lead_one(s);
		for (q = s->q_head; q && !q->waiting; q = q->next)
			;
		if (q) {
			pthread_cond_signal(&q->cond);
			return;
		}
	} while (s->q_head);
}

/* Queue q (s->q_mu held). */
static void
store_enqueue(struct store *s, struct store_req *q)
{
	if (s->q_tail)
		s->q_tail->next = q;
	else
		s->q_head = q;
	s->q_tail = q;
}

/*
 * Wait for queued request q, leading whenever nobody does; its result,
 * with this thread's error set to what it left.  s->q_mu held.
 */
static int
store_await(struct store *s, struct store_req *q)
{
	q->waiting = true;
	while (!q->done) {
		if (s->leading)
			pthread_cond_wait(&q->cond, &s->q_mu);
		else
			store_lead(s);
	}
	/* this thread's error is what fn left (a leader ran others' too) */
	err_restore(&q->e);
	return q->r;
}

/* Queue a request and wait for its result (see store_tx). */
static int
store_submit(struct store *s, store_tx_fn fn, void *arg, bool durable)
{
	struct store_req q;
	int64_t t0 = metrics_now_ns();
	int r;

	memset(&q, 0, sizeof(q));
	q.fn = fn;
	q.arg = arg;
	q.durable = durable;
	q.r = -1;
	pthread_cond_init(&q.cond, NULL);
	pthread_mutex_lock(&s->q_mu);
	store_enqueue(s, &q);
	r = store_await(s, &q);
	pthread_mutex_unlock(&s->q_mu);
	pthread_cond_destroy(&q.cond);
	metrics_store_commit(durable, t0);
	return r;
}

struct store_ticket *
store_tx_post(struct store *s, store_tx_fn fn, void *arg)
{
	struct store_ticket *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	t->s = s;
	t->q.fn = fn;
	t->q.arg = arg;
	t->q.durable = true;
	t->q.r = -1;
	pthread_cond_init(&t->q.cond, NULL);
	pthread_mutex_lock(&s->q_mu);
	store_enqueue(s, &t->q);
	pthread_mutex_unlock(&s->q_mu);
	return t;
}

int
store_tx_wait(struct store_ticket *t)
{
	struct store *s = t->s;
	int r;

	pthread_mutex_lock(&s->q_mu);
	r = store_await(s, &t->q);
	pthread_mutex_unlock(&s->q_mu);
	pthread_cond_destroy(&t->q.cond);
	free(t);
	return r;
}

void
store_tx_async(struct store *s, store_tx_fn fn, void *arg,
    void (*then)(void *arg, int r))
{
	struct store_req *q = calloc(1, sizeof(*q));
	struct err e;

	if (q == NULL) {
		/* no memory to queue it: run it here and now */
		then(arg, store_tx_lazy(s, fn, arg));
		return;
	}
	err_save(&e);
	q->fn = fn;
	q->arg = arg;
	q->r = -1;
	q->then = then;
	pthread_mutex_lock(&s->q_mu);
	store_enqueue(s, q);
	/* nobody leads: run it now (a lazy commit costs no fsync) */
	if (!s->leading)
		store_lead(s);
	pthread_mutex_unlock(&s->q_mu);
	err_restore(&e);
}

int
store_tx(struct store *s, store_tx_fn fn, void *arg)
{
	return store_submit(s, fn, arg, true);
}

int
store_tx_lazy(struct store *s, store_tx_fn fn, void *arg)
{
	return store_submit(s, fn, arg, false);
}

int
store_sync(struct store *s)
{
	return store_submit(s, NULL, NULL, true);
}

/*
 * The syncer: STORE_SYNC_MS after a lazy commit that no durable commit
 * has covered since, sync it, so its events are not held back for long.
 */
static void *
store_syncer(void *arg)
{
	struct store *s = arg;
	struct timespec ts;
	int64_t due;
	bool ok;

	pthread_mutex_lock(&s->ev_mu);
	while (!s->sync_stop) {
		if (!s->unsynced) {
			pthread_cond_wait(&s->sync_cond, &s->ev_mu);
			continue;
		}
		due = s->unsynced_at + STORE_SYNC_MS;
		if (time_mono_ms() < due) {
			ts.tv_sec = (time_t)(due / 1000);
			ts.tv_nsec = (long)(due % 1000) * 1000000L;
			pthread_cond_timedwait(&s->sync_cond, &s->ev_mu, &ts);
			continue;
		}
		pthread_mutex_unlock(&s->ev_mu);
		ok = store_sync(s) == 0;
		if (!ok)
			log_warnx("store: cannot sync the database (retrying): "
			    "%s", err_last()->msg);
		pthread_mutex_lock(&s->ev_mu);
		if (!ok && s->unsynced)         /* try again later */
			s->unsynced_at = time_mono_ms() + STORE_SYNC_RETRY_MS;
	}
	pthread_mutex_unlock(&s->ev_mu);
	return NULL;
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
