/*
 * ops_engine.h - the operation engine's insides, shared by its two files:
 * ops.c (the queue, the workers, a run from load to close, start-up
 * recovery) and ops_ctl.c (what others do to it: wait for, cancel, wake,
 * run inline, stop).  Runners see ops_int.h only.
 */
#ifndef HANGAR_OPS_ENGINE_H
#define HANGAR_OPS_ENGINE_H

#include <pthread.h>
#include <time.h>

#include "ops_int.h"

struct ops_job {
	char id[UUID_STR_LEN];
	bool recover;               /* finish a crashed run, do not run anew */
	int64_t not_before_ms;
	/* a parked run (ops_park): where it left off, and a cancel asked
	 * for while it waited */
	bool parked;
	int phase;
	int64_t deadline_ms;
	int cancel;
	struct ops_job *next;
};

struct ops {
	struct app *app;
	pthread_mutex_t mu;
	pthread_cond_t work;        /* a job was queued, or stopping */
	pthread_cond_t done;        /* an operation finished */
	struct ops_job *head, *tail;
	bool stopping;
	int busy;                   /* workers running a job */
	struct op_ctx *running;     /* runs under way, for cancellation */
	int nthreads;
	pthread_t *threads;
};

/* The closing transaction of a run: the outcome, all at once. */
struct ops_close_arg {
	struct op_ctx *x;
	enum op_status status;
	const struct err *e;
};

/*
 * One run: its context and its closing transaction.  A worker keeps two,
 * the run under way and the one before it, whose closing transaction it
 * posts (store_tx_post) rather than waits for: the next run's first
 * commit takes it along (one fsync for both), and the worker settles it
 * after that commit (ops_settle).  Only then is its outcome acted on
 * (view, runner's after, waiters woken), as if it had been waited for.
 */
struct ops_run {
	struct op_ctx x;
	struct ops_close_arg ca;
	struct err e;               /* the run's error, for the close */
	bool closing;               /* its closing transaction is to settle */
	struct store_ticket *close; /* ... posted, not waited for yet */
};

/* ms on CLOCK_REALTIME, what pthread_cond_timedwait uses by default */
int64_t ops_now(void);
void ops_timespec_at(int64_t ms, struct timespec *ts);
/* The parked job of operation id (o->mu held), or NULL. */
struct ops_job *ops_parked(struct ops *o, const char *id);
/* The end of an operation, for its VM, inside the closing transaction. */
int ops_settle_vm(struct store_conn *c, struct op_ctx *x,
    enum op_status status);
/*
 * Run job j in run; prev: the worker's previous run, or NULL (inline:
 * settled before this returns, and waits are slept in place).
 */
void ops_run_job(struct ops *o, struct ops_job *j, struct ops_run *run,
    struct ops_run *prev);

#endif
