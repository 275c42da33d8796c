/*
 * store_tx.c - the store's write path: every store_tx() caller queues a
 * request; the first caller to find no leader becomes the leader, takes
 * the whole queue as one batch and runs it on the writer in one
 * transaction, each request inside its own savepoint, so one fsync serves
 * the batch.  Each caller sleeps until the leader has committed (and
 * synced) and hands it its own result and error.  Lazy requests
 * (store_tx_lazy, store_tx_async) ride along with durable ones; a batch
 * of lazy ones only is committed with synchronous=NORMAL: no fsync, made
 * durable by the next durable commit or, at the latest, STORE_SYNC_MS
 * later by the syncer thread (which takes the writer to fsync the WAL).
 * Events appended by a lazy transaction are announced (store_event_last,
 * store_event_wait) and shown to readers of the log (store_event_each on
 * a reader) only once they are durable, so no client ever sees an event
 * that a power failure could take back.
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
#include "store_engine.h"

#define STORE_BUSY_RETRIES 50
/* requests run in one transaction at most */
#define STORE_BATCH_MAX 64
/* lazy commits are synced at the latest this long after the first */
#define STORE_SYNC_MS 10
/* and again this long after a failed sync */
#define STORE_SYNC_RETRY_MS 1000

/* Statements the transaction helpers run on every connection. */
const char store_sql_begin[] = "BEGIN";
const char store_sql_begin_immediate[] = "BEGIN IMMEDIATE";
const char store_sql_commit[] = "COMMIT";
const char store_sql_rollback[] = "ROLLBACK";
const char store_sql_savepoint[] = "SAVEPOINT store_tx";
const char store_sql_release[] = "RELEASE store_tx";
const char store_sql_rollback_to[] = "ROLLBACK TO store_tx";
const char store_sql_sync_full[] = "PRAGMA synchronous=FULL";
const char store_sql_sync_normal[] = "PRAGMA synchronous=NORMAL";

static void
store_backoff(int attempt)
{
	struct timespec ts = { 0, (long)(1 + attempt) * 2000000L };

	nanosleep(&ts, NULL);
}

int
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
		rc = store_run(c, durable ? store_sql_sync_full : store_sql_sync_normal);
		if (rc != SQLITE_OK)
			return rc;
		s->sync_full = durable;
	}
	c->wal_wrote = false;
	c->ev_max = 0;
	return store_run(c, store_sql_begin_immediate);
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
			rc = store_run(c, store_sql_commit);
			if (rc == SQLITE_OK) {
				store_committed(s, durable, c->ev_max);
				break;
			}
			q->r = store_fail(c, rc, "commit");
		}
		/* read before ROLLBACK resets it */
		busy = (sqlite3_extended_errcode(c->db) & 0xff) == SQLITE_BUSY;
		if (!sqlite3_get_autocommit(c->db))
			store_run(c, store_sql_rollback);
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
		if (store_run(c, store_sql_savepoint) != SQLITE_OK)
			goto fail;
		ev_before = c->ev_max;
		err_clear();
		q[i]->r = q[i]->fn(c, q[i]->arg);
		err_save(&q[i]->e);
		if (sqlite3_get_autocommit(c->db))
			goto fail;      /* the transaction is gone */
		if (q[i]->r == 0) {
			if (store_run(c, store_sql_release) != SQLITE_OK)
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
		if (store_run(c, store_sql_rollback_to) != SQLITE_OK ||
		    store_run(c, store_sql_release) != SQLITE_OK)
			goto fail;
	}
	if (store_run(c, store_sql_commit) != SQLITE_OK)
		goto fail;
	store_committed(s, durable, c->ev_max);
	return 0;
fail:
	if (!sqlite3_get_autocommit(c->db))
		store_run(c, store_sql_rollback);
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
void *
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
