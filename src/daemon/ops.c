/*
 * ops.c - the operation engine: a queue of operations, a pool of worker
 * threads that run them, waiters, and start-up recovery.
 *
 * An operation is committed to the store (status queued) before anyone
 * tells the engine about it, so the store, not this queue, is the record:
 * a job here is just "go and run operation X".  On start, queued
 * operations are run again and running ones (left by a crash) are
 * recovered by asking the backend what really happened (ops_vm.c).  A job
 * whose host is unreachable during recovery is retried later.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/metrics.h"
#include "ops_engine.h"

#define OPS_RECOVER_RETRY_MS 5000
#define OPS_CLOSE_RETRY_MS 1000

void
ops_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void
ops_timespec_at(int64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

/* ms on CLOCK_REALTIME, what pthread_cond_timedwait uses by default */
int64_t
ops_now(void)
{
	return time_now_ms();
}

struct ops *
ops_new(struct app *app)
{
	struct ops *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	o->app = app;
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->work, NULL);
	pthread_cond_init(&o->done, NULL);
	return o;
}

/* Queue j (o->mu held) and wake a worker. */
static void
ops_append(struct ops *o, struct ops_job *j)
{
	if (o->tail)
		o->tail->next = j;
	else
		o->head = j;
	o->tail = j;
	pthread_cond_signal(&o->work);
}

/* The parked job of operation id (o->mu held), or NULL. */
struct ops_job *
ops_parked(struct ops *o, const char *id)
{
	for (struct ops_job *j = o->head; j; j = j->next)
		if (j->parked && strcmp(j->id, id) == 0)
			return j;
	return NULL;
}


int
ops_park(struct op_ctx *x, int phase, int64_t deadline_ms, int ms)
{
	x->phase = phase;
	x->deadline_ms = deadline_ms;
	x->park_ms = ms;
	return OPS_PARK;
}

static void
ops_enqueue(struct ops *o, const char *id, bool recover, int64_t delay_ms)
{
	struct ops_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		/* still in the store as queued: the next start runs it */
		log_error("ops: out of memory queueing operation %s", id);
		return;
	}
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->recover = recover;
	j->not_before_ms = delay_ms ? ops_now() + delay_ms : 0;
	pthread_mutex_lock(&o->mu);
	ops_append(o, j);
	pthread_mutex_unlock(&o->mu);
}

void
ops_submit(struct ops *o, const char *op_id)
{
	ops_enqueue(o, op_id, false, 0);
}

/* Take the first job that is due (o->mu held); NULL if none. */
static struct ops_job *
ops_take(struct ops *o, int64_t *next_due)
{
	struct ops_job *j, *prev = NULL;
	int64_t now = ops_now();

	*next_due = 0;
	for (j = o->head; j; prev = j, j = j->next) {
		if (j->not_before_ms <= now) {
			if (prev)
				prev->next = j->next;
			else
				o->head = j->next;
			if (o->tail == j)
				o->tail = prev;
			j->next = NULL;
			return j;
		}
		if (*next_due == 0 || j->not_before_ms < *next_due)
			*next_due = j->not_before_ms;
	}
	return NULL;
}

/* A step to record, queued by ops_step (owned by the store until then). */
struct ops_step_arg {
	char id[UUID_STR_LEN];
	char step[sizeof(((struct op_rec *)0)->step)];
};

static int
ops_step_tx(struct store_conn *c, void *arg)
{
	struct ops_step_arg *a = arg;

	return store_op_set_step(c, a->id, a->step);
}

static void
ops_step_then(void *arg, int r)
{
	struct ops_step_arg *a = arg;

	if (r < 0)
		log_warnx("op %s: cannot record step '%s': %s", a->id, a->step,
		    err_last()->msg);
	free(a);
}

void
ops_step(struct op_ctx *x, const char *step)
{
	struct ops_step_arg *a;

	log_debug("op %s (%s %s): %s", x->op.id, op_kind_name(x->op.kind),
	    x->op.vm_name, step);
	snprintf(x->op.step, sizeof(x->op.step), "%s", step);
	/*
	 * Progress is best effort, and the run need not wait for it: queued,
	 * committed without an fsync of its own (recovery goes by the status,
	 * which is durable, and asks the backend), made durable by the next
	 * durable commit.  The closing transaction writes the last step again.
	 */
	if ((a = malloc(sizeof(*a))) == NULL) {
		log_warnx("op %s: cannot record step '%s': out of memory",
		    x->op.id, step);
		return;
	}
	snprintf(a->id, sizeof(a->id), "%s", x->op.id);
	snprintf(a->step, sizeof(a->step), "%s", step);
	store_tx_async(x->app->store, ops_step_tx, a, ops_step_then);
}

bool
ops_cancelled(struct op_ctx *x)
{
	return __atomic_load_n(&x->cancel, __ATOMIC_ACQUIRE) != 0;
}

int
ops_cancel_now(struct op_ctx *x, const char *what)
{
	x->cancelled = true;
	return err_set(ERR_CONFLICT, "operation %s was cancelled %s",
	    x->op.id, what);
}

struct ops_progress_arg {
	const char *id;
	const char *text;
};

static int
ops_progress_tx(struct store_conn *c, void *arg)
{
	struct ops_progress_arg *a = arg;

	return store_op_set_progress(c, a->id, a->text);
}

void
ops_progress(struct op_ctx *x, json_t *progress)
{
	struct ops_progress_arg a;
	char *text = json_dumps(progress, JSON_COMPACT);
	struct err e;

	if (text == NULL || strlen(text) >= sizeof(x->op.progress)) {
		free(text);
		return;
	}
	snprintf(x->op.progress, sizeof(x->op.progress), "%s", text);
	a.id = x->op.id;
	a.text = text;
	/* best effort, and not durable by itself: as for a step */
	err_save(&e);
	if (store_tx_lazy(x->app->store, ops_progress_tx, &a) < 0)
		log_warnx("op %s: cannot record progress: %s", x->op.id,
		    err_last()->msg);
	err_restore(&e);
	free(text);
}

int
ops_observe(struct op_ctx *x)
{
	if (backend_state(x->bc, x->vm.uuid, &x->observed) < 0)
		return -1;
	x->have_state = true;
	return 0;
}

/*
 * What the end of an operation does to its VM, in the closing (or
 * cancelling) transaction: the runner's own records, then the row's
 * removal or its observed state.  A cancelled operation leaves the VM
 * wanting what it now is.
 */
int
ops_settle_vm(struct store_conn *c, struct op_ctx *x, enum op_status status)
{
	const struct op_runner *rn = &ops_runners[x->op.kind];

	if (rn->no_vm)          /* its own records only */
		return rn->close ? rn->close(c, x, status == OP_SUCCEEDED) : 0;
	if (x->vm.id == 0)
		return 0;
	if (rn->close && rn->close(c, x, status == OP_SUCCEEDED) < 0)
		return -1;
	if (x->delete_row)
		return store_vm_delete(c, x->vm.id, x->op.id);
	if (x->have_state && store_vm_set_observed(c, x->vm.id,
	    vm_state_name(x->observed), x->op.id) < 0)
		return -1;
	if (status == OP_CANCELLED)
		return store_vm_set_desired(c, x->vm.id, x->have_state ?
		    vm_state_name(x->observed) : x->vm.observed);
	return 0;
}

static int
ops_close_tx(struct store_conn *c, void *arg)
{
	struct ops_close_arg *a = arg;
	struct op_ctx *x = a->x;

	if (x->op.step[0] && store_op_set_step(c, x->op.id, x->op.step) < 0)
		return -1;
	if (x->op.kind < OP_KIND__COUNT &&
	    ops_settle_vm(c, x, a->status) < 0)
		return -1;
	return store_op_finish(c, x->op.id, a->status, a->e);
}

static int
ops_begin_tx(struct store_conn *c, void *arg)
{
	struct op_ctx *x = arg;

	if (store_op_set_running(c, x->op.id) < 0)
		return -1;
	x->op.status = OP_RUNNING;
	return 0;
}

/*
 * Load the operation, its VM and host.  Returns 0, 1 when there is nothing
 * to do (already finished), -1 when the operation cannot be read, or -2
 * when its VM or host is gone (the operation is to fail with that error).
 */
static int
ops_load(struct ops *o, struct op_ctx *x, const char *id)
{
	struct store_conn *c = store_read_begin(o->app->store);
	json_error_t je;
	int r = 0;

	memset(x, 0, sizeof(*x));
	x->app = o->app;
	if (store_op_get(c, id, &x->op) < 0) {
		r = -1;
	} else if (x->op.status != OP_QUEUED && x->op.status != OP_RUNNING) {
		r = 1;
	} else if (x->op.kind < OP_KIND__COUNT &&
	    ops_runners[x->op.kind].no_vm) {
		r = 0;                  /* host- or fleet-level */
	} else if (x->op.vm_id == 0) {
		err_set(ERR_NOT_FOUND, "vm '%s' no longer exists", x->op.vm_name);
		r = -2;
	} else if (store_vm_get_id(c, x->op.vm_id, &x->vm) < 0 ||
	    store_host_get_id(c, x->vm.host_id, &x->host) < 0) {
		r = -2;
	} else if ((x->ndisks = store_disk_list(c, x->vm.id, x->disks,
	    VM_DISKS_MAX)) < 0) {
		x->ndisks = 0;
		r = -1;
	} else if (ops_nics_load(c, x) < 0) {
		r = -1;
	}
	store_read_end(c);
	x->params = json_loads(x->op.params, 0, &je);
	if (x->params == NULL)
		x->params = json_object();
	x->op.step[0] = '\0';
	return r;
}

/* What an operation is about, for the log: "vm 'web1'" or "host 'h2'". */
static void
ops_subject(const struct op_ctx *x, char *buf, size_t len)
{
	const char *noun = x->op.kind < OP_KIND__COUNT ?
	    ops_runners[x->op.kind].noun : NULL;
	const char *name = json_string_value(json_object_get(x->params,
	    "name"));

	if (x->op.vm_name[0] || x->vm.name[0])
		snprintf(buf, len, "vm '%s'", x->vm.name[0] ? x->vm.name :
		    x->op.vm_name);
	else if (noun && name)
		snprintf(buf, len, "%s '%s'", noun, name);
	else if (x->op.host[0])
		snprintf(buf, len, "host '%s'", x->op.host);
	else
		snprintf(buf, len, "(all hosts)");
}

static void
ops_running_add(struct ops *o, struct op_ctx *x)
{
	pthread_mutex_lock(&o->mu);
	x->next_running = o->running;
	o->running = x;
	pthread_mutex_unlock(&o->mu);
}

static void
ops_running_remove_locked(struct ops *o, struct op_ctx *x)
{
	for (struct op_ctx **p = &o->running; *p; p = &(*p)->next_running) {
		if (*p == x) {
			*p = x->next_running;
			break;
		}
	}
}

static void
ops_running_remove(struct ops *o, struct op_ctx *x)
{
	pthread_mutex_lock(&o->mu);
	ops_running_remove_locked(o, x);
	pthread_mutex_unlock(&o->mu);
}

/*
 * Settle run's closing transaction: wait for it (or run it), retrying
 * while the database is unavailable, then act on its outcome.  Keeps the
 * caller's error; does nothing for NULL or a run with nothing to settle.
 */
static void
ops_settle(struct ops *o, struct ops_run *run)
{
	struct op_ctx *x;
	struct err e;
	int r;

	if (run == NULL || !run->closing)
		return;
	x = &run->x;
	err_save(&e);
	if (run->close) {
		r = store_tx_wait(run->close);
		run->close = NULL;
	} else {
		r = store_tx(o->app->store, ops_close_tx, &run->ca);
	}
	/* the result must be written: a full or failing disk is waited out
	 * (nothing else can be written meanwhile anyway); only a shutdown
	 * leaves it to the next start's recovery */
	while (r < 0 && err_last()->code == ERR_UNAVAILABLE &&
	    !__atomic_load_n(&o->stopping, __ATOMIC_RELAXED)) {
		log_warnx("op %s: cannot record its result yet (retrying): %s",
		    x->op.id, err_last()->msg);
		ops_sleep_ms(OPS_CLOSE_RETRY_MS);
		r = store_tx(o->app->store, ops_close_tx, &run->ca);
	}
	if (r < 0) {
		log_error("op %s: cannot record its result (recovered at the "
		    "next start): %s", x->op.id, err_last()->msg);
	} else {
		if (x->delete_row && x->vm.id)
			view_release(o->app->view, &x->vm);  /* the claim too */
		if (x->op.kind < OP_KIND__COUNT && ops_runners[x->op.kind].after)
			ops_runners[x->op.kind].after(x, run->ca.status ==
			    OP_SUCCEEDED);
	}
	json_decref(x->params);
	x->params = NULL;
	run->closing = false;
	/* its waiters (ops_wait) see it finished now */
	pthread_mutex_lock(&o->mu);
	pthread_cond_broadcast(&o->done);
	pthread_mutex_unlock(&o->mu);
	err_restore(&e);
}

/*
 * Call job j's runner (its recover for a crashed run) on x, which starts
 * where a parked run left off.  Where the run cannot park (can_park
 * false: inline), its waits are slept here and it is called again.
 * The runner's return: 0, -1 or OPS_PARK.
 */
static int
ops_call(const struct ops_job *j, struct op_ctx *x, bool can_park)
{
	const struct op_runner *k = &ops_runners[x->op.kind];
	bool recover = j->recover;
	int r;

	x->phase = j->phase;
	x->deadline_ms = j->deadline_ms;
	x->cancel = j->cancel;
	for (;;) {
		r = recover ? k->recover(x) : k->run(x);
		if (r != OPS_PARK || can_park)
			return r;
		recover = false;
		ops_sleep_ms(x->park_ms);
	}
}

/*
 * Put x's operation back in the queue, parked where its runner left it:
 * due after x->park_ms, sooner when poked or cancelled.  It leaves the
 * running list in the same breath, so a cancel finds it in one or the
 * other.  Out of memory: it is run again at once, from where it was.
 */
static void
ops_repark(struct ops *o, struct op_ctx *x)
{
	struct ops_job *j = calloc(1, sizeof(*j));

	pthread_mutex_lock(&o->mu);
	ops_running_remove_locked(o, x);
	if (j == NULL) {
		log_error("ops: out of memory parking operation %s", x->op.id);
		pthread_mutex_unlock(&o->mu);
		ops_enqueue(o, x->op.id, false, 0);
		return;
	}
	snprintf(j->id, sizeof(j->id), "%s", x->op.id);
	j->parked = true;
	j->phase = x->phase;
	j->deadline_ms = x->deadline_ms;
	j->cancel = __atomic_load_n(&x->cancel, __ATOMIC_ACQUIRE);
	j->not_before_ms = j->cancel || __atomic_exchange_n(&x->poked, 0,
	    __ATOMIC_ACQ_REL) ? 0 : ops_now() + x->park_ms;
	ops_append(o, j);
	pthread_mutex_unlock(&o->mu);
}

/*
 * Run job j in run.  prev: the worker's previous run, settled here after
 * this run's first commit; with it, this run's closing transaction is
 * posted and left to settle (run->closing), else (NULL: a drain's or a
 * plan's children) it is settled before this returns.
 */
void
ops_run_job(struct ops *o, struct ops_job *j, struct ops_run *run,
    struct ops_run *prev)
{
	struct op_ctx *x = &run->x;
	struct err e;
	char subject[96];
	int r;

	run->closing = false;
	run->close = NULL;
	r = ops_load(o, x, j->id);
	if (r == 1 || r == -1) {
		ops_settle(o, prev);
		if (r < 0)      /* still queued in the store: next start retries */
			log_error("op %s: cannot load it: %s", j->id,
			    err_last()->msg);
		json_decref(x->params);
		return;
	}
	if (r == -2) {
		ops_settle(o, prev);
		x->vm.id = 0;
		goto finish;
	}
	if (x->op.kind >= OP_KIND__COUNT) {
		ops_settle(o, prev);
		r = err_set(ERR_INTERNAL, "unknown operation kind");
		goto finish;
	}
	ops_running_add(o, x);
	r = 0;
	if (!j->recover && x->op.status == OP_QUEUED)
		r = store_tx(o->app->store, ops_begin_tx, x);
	/* prev's closing transaction went with that commit, or before it */
	ops_settle(o, prev);
	if (r < 0) {
		/* not found: cancelled since it was loaded */
		if (err_last()->code != ERR_NOT_FOUND)
			log_error("op %s: cannot mark it running: %s", x->op.id,
			    err_last()->msg);
		ops_running_remove(o, x);
		json_decref(x->params);
		/* still queued in the store: once the database can be
		 * written again (a full disk), it is run after all */
		if (err_last()->code == ERR_UNAVAILABLE)
			ops_enqueue(o, j->id, false, OPS_CLOSE_RETRY_MS);
		return;
	}
	ops_subject(x, subject, sizeof(subject));
	if (!j->parked)
		log_info("op %s: %s %s%s", x->op.id, op_kind_name(x->op.kind),
		    subject, j->recover ? " (recovering after a restart)" : "");
	err_clear();
	if (ops_runners[x->op.kind].no_vm) {
		r = ops_call(j, x, prev != NULL);
		goto settle;
	}
	x->bc = fleet_conn(o->app->fleet, x->vm.host_id);
	if (x->bc && fleet_pool(o->app->fleet, x->vm.host_id, x->pool,
	    sizeof(x->pool)) < 0)
		x->bc = NULL;
	if (x->bc == NULL)
		x->unsettled = j->recover;  /* a fresh run just fails */
	else
		r = ops_call(j, x, prev != NULL);
	if (x->bc == NULL) {
		r = -1;
		/* nothing was done on the host: a fresh create leaves no row */
		if (!j->recover && ops_runners[x->op.kind].drop_if_unreached)
			x->delete_row = true;
	}
settle:
	if (r == OPS_PARK) {
		ops_repark(o, x);
		json_decref(x->params);
		return;
	}
	if (r < 0 && x->unsettled) {
		/* the host cannot tell us how it ended: ask again later */
		log_warnx("op %s: will be settled once the host answers: %s",
		    x->op.id, err_last()->msg);
		ops_running_remove(o, x);
		json_decref(x->params);
		ops_enqueue(o, x->op.id, true, OPS_RECOVER_RETRY_MS);
		return;
	}
	if (r < 0 && !x->have_state && x->bc && !x->delete_row) {
		/* tell the truth about where the failure left the VM */
		err_save(&e);
		if (ops_observe(x) < 0)
			x->have_state = false;
		err_restore(&e);
	}
finish:
	ops_running_remove(o, x);
	err_save(&run->e);
	run->ca.x = x;
	run->ca.status = r < 0 ? (x->cancelled ? OP_CANCELLED : OP_FAILED) :
	    OP_SUCCEEDED;
	run->ca.e = &run->e;
	metrics_op_done(op_kind_name(x->op.kind),
	    op_status_name(run->ca.status),
	    (double)(time_now_ms() - x->op.created_at) / 1e3);
	ops_subject(x, subject, sizeof(subject));
	if (r < 0)
		log_warnx("op %s: %s %s %s: %s", x->op.id,
		    op_kind_name(x->op.kind), subject, run->ca.status ==
		    OP_CANCELLED ? "cancelled" : "failed", run->e.msg);
	else
		log_info("op %s: %s %s succeeded", x->op.id,
		    op_kind_name(x->op.kind), subject);
	run->closing = true;
	/* a worker's: the next run's first commit takes it along (NULL: out
	 * of memory, settled here instead) */
	if (prev != NULL &&
	    (run->close = store_tx_post(o->app->store, ops_close_tx,
	    &run->ca)) != NULL)
		return;
	ops_settle(o, run);
}

static void *
ops_worker(void *arg)
{
	struct ops *o = arg;
	struct ops_run *runs = calloc(2, sizeof(*runs));
	struct ops_job *j;
	struct timespec ts;
	int64_t due;
	int cur = 0;
	bool had_prev;

	if (runs == NULL) {
		log_error("ops: out of memory starting a worker");
		return NULL;
	}
	pthread_mutex_lock(&o->mu);
	while (!o->stopping) {
		j = ops_take(o, &due);
		if (j == NULL) {
			if (runs[1 - cur].closing) {
				/* nothing else to take it along: settle now */
				pthread_mutex_unlock(&o->mu);
				ops_settle(o, &runs[1 - cur]);
				pthread_mutex_lock(&o->mu);
				o->busy--;
				pthread_cond_broadcast(&o->done);
				continue;
			}
			if (due) {
				ops_timespec_at(due, &ts);
				pthread_cond_timedwait(&o->work, &o->mu, &ts);
			} else {
				pthread_cond_wait(&o->work, &o->mu);
			}
			continue;
		}
		/* busy counts each run until its close is settled */
		o->busy++;
		had_prev = runs[1 - cur].closing;
		pthread_mutex_unlock(&o->mu);
		ops_run_job(o, j, &runs[cur], &runs[1 - cur]);
		free(j);
		pthread_mutex_lock(&o->mu);
		if (had_prev)
			o->busy--;          /* settled in ops_run_job */
		if (!runs[cur].closing)
			o->busy--;
		cur = 1 - cur;
		pthread_cond_broadcast(&o->done);
	}
	pthread_mutex_unlock(&o->mu);
	if (runs[1 - cur].closing) {
		ops_settle(o, &runs[1 - cur]);
		pthread_mutex_lock(&o->mu);
		o->busy--;
		pthread_cond_broadcast(&o->done);
		pthread_mutex_unlock(&o->mu);
	}
	free(runs);
	return NULL;
}

static int
ops_recover_one(const struct op_rec *op, void *arg)
{
	struct ops *o = arg;

	log_info("ops: operation %s (%s vm '%s') was %s when the daemon "
	    "stopped", op->id, op_kind_name(op->kind), op->vm_name,
	    op_status_name(op->status));
	if (op->kind < OP_KIND__COUNT && ops_runners[op->kind].restart)
		ops_runners[op->kind].restart(o->app, op);
	ops_enqueue(o, op->id, op->status == OP_RUNNING, 0);
	return 0;
}

int
ops_start(struct ops *o)
{
	struct store_conn *c = store_read_begin(o->app->store);
	int r = store_op_each_unfinished(c, ops_recover_one, o);

	store_read_end(c);
	if (r < 0)
		return -1;
	o->nthreads = o->app->cfg.workers > 0 ? o->app->cfg.workers : 1;
	o->threads = calloc((size_t)o->nthreads, sizeof(pthread_t));
	if (o->threads == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	for (int i = 0; i < o->nthreads; i++) {
		if (pthread_create(&o->threads[i], NULL, ops_worker, o) != 0) {
			o->nthreads = i;
			return err_set(ERR_INTERNAL, "cannot start worker");
		}
	}
	return 0;
}
