/*
 * store_engine.h - the store's engine, shared by store.c (opening,
 * migrations, connections, reads) and store_tx.c (the write path: group
 * commit and the syncer).  The other store_*.c files see store_int.h only.
 */
#ifndef HANGAR_STORE_ENGINE_H
#define HANGAR_STORE_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/error.h"
#include "store_int.h"

#define STORE_READERS 8

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
extern const char store_sql_begin[];
extern const char store_sql_begin_immediate[];
extern const char store_sql_commit[];
extern const char store_sql_rollback[];
extern const char store_sql_savepoint[];
extern const char store_sql_release[];
extern const char store_sql_rollback_to[];
extern const char store_sql_sync_full[];
extern const char store_sql_sync_normal[];

/* Step one of the statements above on c; the SQLite result code. */
int store_run(struct store_conn *c, const char *sql);
/* The syncer thread's body (arg: the store), started by store_open. */
void *store_syncer(void *arg);

#endif
