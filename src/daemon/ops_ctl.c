/*
 * ops_ctl.c - what the rest of hangard does to the operation engine
 * (ops.c): wait for an operation to end, cancel one (queued, running or
 * parked), wake a parked one, run a drain's or plan's children inline,
 * and stop the engine.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_engine.h"

void
ops_poke(struct ops *o, const char *id)
{
	struct op_ctx *x;
	struct ops_job *j;

	pthread_mutex_lock(&o->mu);
	if ((j = ops_parked(o, id)) != NULL) {
		log_debug("op %s: woken: its vm changed", id);
		j->not_before_ms = 0;
		pthread_cond_signal(&o->work);
	} else {
		/* looking now: if it parks again, it looks again at once */
		for (x = o->running; x; x = x->next_running)
			if (strcmp(x->op.id, id) == 0) {
				log_debug("op %s: woken: its vm changed while "
				    "it looked", id);
				__atomic_store_n(&x->poked, 1, __ATOMIC_RELEASE);
				break;
			}
	}
	pthread_mutex_unlock(&o->mu);
}

int
ops_wait(struct ops *o, const char *id, int64_t timeout_ms,
    struct op_rec *out)
{
	int64_t deadline = ops_now() + timeout_ms;
	struct store_conn *c;
	struct timespec ts;
	int r;

	for (;;) {
		c = store_read_begin(o->app->store);
		r = store_op_get(c, id, out);
		store_read_end(c);
		if (r < 0)
			return -1;
		if (out->status != OP_QUEUED && out->status != OP_RUNNING)
			return 0;
		if (ops_now() >= deadline || __atomic_load_n(&o->stopping,
		    __ATOMIC_RELAXED))
			return 0;
		/* wake at the next finish, or at least every second */
		pthread_mutex_lock(&o->mu);
		ops_timespec_at(ops_now() + 1000 < deadline ? ops_now() + 1000 :
		    deadline, &ts);
		pthread_cond_timedwait(&o->done, &o->mu, &ts);
		pthread_mutex_unlock(&o->mu);
	}
}

/* Children run inline: a small pool of this call's own threads. */
struct ops_inline {
	struct ops *o;
	char (*ids)[UUID_STR_LEN];
	size_t n, next;
	bool (*stop)(void *arg);
	void *arg;
	pthread_mutex_t mu;
};

static void *
ops_inline_thread(void *arg)
{
	struct ops_inline *in = arg;
	struct ops_run run;
	struct ops_job j;

	for (;;) {
		pthread_mutex_lock(&in->mu);
		if (in->next == in->n || (in->stop && in->stop(in->arg))) {
			pthread_mutex_unlock(&in->mu);
			break;
		}
		memset(&j, 0, sizeof(j));
		snprintf(j.id, sizeof(j.id), "%s", in->ids[in->next++]);
		pthread_mutex_unlock(&in->mu);
		ops_run_job(in->o, &j, &run, NULL);
		pthread_mutex_lock(&in->o->mu);
		pthread_cond_broadcast(&in->o->done);
		pthread_mutex_unlock(&in->o->mu);
	}
	return NULL;
}

int
ops_run_inline(struct ops *o, char (*ids)[UUID_STR_LEN], size_t n,
    int parallel, bool (*stop)(void *arg), void *arg)
{
	struct ops_inline in = { o, ids, n, 0, stop, arg,
	    PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[16];
	int k, started = 0;

	if (parallel < 1)
		parallel = 1;
	if (parallel > 16)
		parallel = 16;
	for (k = 1; k < parallel && (size_t)k < n; k++)
		if (pthread_create(&t[started], NULL, ops_inline_thread,
		    &in) == 0)
			started++;
	ops_inline_thread(&in);
	for (k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	pthread_mutex_destroy(&in.mu);
	return 0;
}

/* Cancelling a queued operation: all in one transaction. */
struct ops_cancel_arg {
	struct op_ctx x;
	bool was_queued;
};

static int
ops_cancel_tx(struct store_conn *c, void *arg)
{
	struct ops_cancel_arg *a = arg;
	struct op_ctx *x = &a->x;
	json_error_t je;
	int r;

	a->was_queued = false;
	if (store_op_get(c, x->op.id, &x->op) < 0)
		return -1;
	if (x->op.status != OP_QUEUED)
		return 0;
	a->was_queued = true;
	if (store_op_cancel_queued(c, x->op.id) < 0)
		return -1;
	if (x->op.kind < OP_KIND__COUNT && ops_runners[x->op.kind].no_vm)
		return ops_settle_vm(c, x, OP_CANCELLED);
	if (x->op.vm_id == 0 || x->op.kind >= OP_KIND__COUNT)
		return 0;
	if (store_vm_get_id(c, x->op.vm_id, &x->vm) < 0)
		return err_last()->code == ERR_NOT_FOUND ? 0 : -1;
	x->delete_row = ops_runners[x->op.kind].drop_if_unreached;
	json_decref(x->params);
	x->params = json_loads(x->op.params, 0, &je);
	if (x->params == NULL)
		x->params = json_object();
	r = ops_settle_vm(c, x, OP_CANCELLED);
	return r;
}

int
ops_cancel(struct ops *o, const char *id, struct op_rec *out)
{
	struct ops_cancel_arg a;
	struct store_conn *c;
	struct ops_job *j;
	struct op_ctx *x;
	int r;

	memset(&a, 0, sizeof(a));
	a.x.app = o->app;
	snprintf(a.x.op.id, sizeof(a.x.op.id), "%s", id);
	r = store_tx(o->app->store, ops_cancel_tx, &a);
	json_decref(a.x.params);
	if (r < 0)
		return -1;
	*out = a.x.op;
	if (a.was_queued) {
		log_info("op %s: %s vm '%s' cancelled before it started", id,
		    op_kind_name(out->kind), out->vm_name);
		if (a.x.delete_row && a.x.vm.id)
			view_release(o->app->view, &a.x.vm);
		if (out->kind < OP_KIND__COUNT && ops_runners[out->kind].after)
			ops_runners[out->kind].after(&a.x, false);
		/* as recorded: status, finish time, message */
		c = store_read_begin(o->app->store);
		if (store_op_get(c, id, out) < 0)
			out->status = OP_CANCELLED;
		store_read_end(c);
		pthread_mutex_lock(&o->mu);
		pthread_cond_broadcast(&o->done);
		pthread_mutex_unlock(&o->mu);
		return 0;
	}
	if (out->status != OP_RUNNING)
		return err_set(ERR_CONFLICT, "operation %s has already %s", id,
		    out->status == OP_SUCCEEDED ? "succeeded" :
		    out->status == OP_FAILED ? "failed" : "been cancelled");
	pthread_mutex_lock(&o->mu);
	for (x = o->running; x; x = x->next_running)
		if (strcmp(x->op.id, id) == 0)
			break;
	r = 0;
	if (x == NULL && (j = ops_parked(o, id)) != NULL &&
	    out->kind < OP_KIND__COUNT && ops_runners[out->kind].cancellable) {
		j->cancel = 1;              /* its next run sees it */
		j->not_before_ms = 0;
		pthread_cond_signal(&o->work);
	} else if (x == NULL)
		r = err_set(ERR_CONFLICT, "operation %s is being settled after "
		    "a restart and cannot be cancelled now", id);
	else if (!ops_runners[x->op.kind].cancellable)
		r = err_set(ERR_CONFLICT, "operation %s (%s vm '%s') is "
		    "running and cannot be stopped part-way", id,
		    op_kind_name(x->op.kind), x->op.vm_name);
	else
		__atomic_store_n(&x->cancel, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&o->mu);
	if (r == 0)
		log_info("op %s: cancel requested", id);
	return r;
}

int
ops_stop(struct ops *o, int timeout_s)
{
	int64_t deadline = ops_now() + (int64_t)timeout_s * 1000;
	struct timespec ts;
	struct ops_job *j;

	pthread_mutex_lock(&o->mu);
	o->stopping = true;
	pthread_cond_broadcast(&o->work);
	pthread_cond_broadcast(&o->done);
	ops_timespec_at(deadline, &ts);
	while (o->busy > 0 && ops_now() < deadline)
		pthread_cond_timedwait(&o->done, &o->mu, &ts);
	if (o->busy > 0) {
		log_warnx("ops: %d operation(s) still running after %d s; they "
		    "will be recovered at the next start", o->busy, timeout_s);
		pthread_mutex_unlock(&o->mu);
		return -1;          /* leave the threads; the process exits */
	}
	while ((j = o->head) != NULL) {
		o->head = j->next;
		free(j);
	}
	o->tail = NULL;
	pthread_mutex_unlock(&o->mu);
	for (int i = 0; i < o->nthreads; i++)
		pthread_join(o->threads[i], NULL);
	o->nthreads = 0;
	return 0;
}

void
ops_free(struct ops *o)
{
	if (o == NULL || o->nthreads > 0)
		return;             /* workers still out: let exit reclaim */
	free(o->threads);
	pthread_cond_destroy(&o->work);
	pthread_cond_destroy(&o->done);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
