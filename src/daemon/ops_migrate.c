/*
 * ops_migrate.c - moving VMs: one migration (live or cold, over shared
 * storage or with its disk copied), a host drain (a migration per VM,
 * children of one operation) and the execution of a migration plan.
 *
 * A live migration runs libvirt's peer-to-peer migration in a thread of
 * its own while the runner polls the job's statistics into the
 * operation's progress (and the event stream) twice a second; a cancel
 * aborts the job, and the VM keeps running on the source.  libvirt will
 * not migrate a domain that has snapshots, so their metadata is taken off
 * the source first and defined again on whichever host the VM ends on.
 * The VM's row moves to the destination in the closing transaction; the
 * view holds its resources on both hosts until then.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

#define MIG_POLL_MS 500

struct mig {
	struct op_ctx *x;
	int64_t to_id;
	struct host_rec dst;
	bool cold, live, copy;
	struct ops_disks src, dstd;     /* the disks' files on each host */
	struct migrate_disk moved[VM_DISKS_MAX];  /* where they differ */
	int nmoved;
	bool incremental;               /* linked clones: copy only the tops */
	char **snaps;              /* exported snapshot metadata */
	size_t nsnaps;
	char current[SNAP_NAME_MAX];
	bool snaps_off;            /* taken off the source */
	bool dst_vol;              /* we made the destination's disk */
};

static int64_t
mig_param_int(struct op_ctx *x, const char *k)
{
	return json_integer_value(json_object_get(x->params, k));
}

static bool
mig_param_bool(struct op_ctx *x, const char *k)
{
	return json_is_true(json_object_get(x->params, k));
}

/* Load the destination and open its connection. */
static int
mig_setup(struct op_ctx *x, struct mig *m)
{
	const char *mode = json_string_value(json_object_get(x->params,
	    "mode"));
	struct store_conn *c;
	int r;

	memset(m, 0, sizeof(*m));
	m->x = x;
	m->to_id = mig_param_int(x, "to_id");
	m->cold = mode && strcmp(mode, "cold") == 0;
	m->live = mode && strcmp(mode, "live") == 0;
	m->copy = mig_param_bool(x, "copy_storage");
	c = store_read_begin(x->app->store);
	r = store_host_get_id(c, m->to_id, &m->dst);
	store_read_end(c);
	if (r < 0)
		return err_set(ERR_NOT_FOUND, "the destination host #%lld is "
		    "no longer registered", (long long)m->to_id);
	if ((x->dst_bc = fleet_conn(x->app->fleet, m->to_id)) == NULL ||
	    fleet_pool(x->app->fleet, m->to_id, x->dst_pool,
	    sizeof(x->dst_pool)) < 0)
		return -1;
	return 0;
}

/* Take the snapshot metadata off the source (libvirt refuses otherwise). */
static int
mig_snaps_off(struct mig *m)
{
	struct op_ctx *x = m->x;

	if (backend_snapshot_export(x->bc, x->vm.uuid, &m->snaps, &m->nsnaps,
	    m->current, sizeof(m->current)) < 0)
		return -1;
	if (m->nsnaps == 0)
		return 0;
	ops_step(x, "moving snapshot metadata");
	if (backend_snapshot_forget(x->bc, x->vm.uuid) < 0)
		return -1;
	m->snaps_off = true;
	return 0;
}

/* Put the snapshot metadata back where the VM now is. */
static void
mig_snaps_on(struct mig *m, struct backend_conn *bc, const char *where)
{
	struct err e;

	if (!m->snaps_off)
		return;
	err_save(&e);
	if (backend_snapshot_redefine(bc, m->x->vm.uuid, m->snaps, m->nsnaps,
	    m->current) < 0)
		log_error("op %s: the %zu snapshot(s) of vm '%s' could not be "
		    "defined on %s again: %s", m->x->op.id, m->nsnaps,
		    m->x->vm.name, where, err_last()->msg);
	else
		m->snaps_off = false;
	err_restore(&e);
}

/* After a move with a copy: the source's disks go (a failure to remove
 * them is only logged: the VM has moved). */
static void
mig_drop_src_vol(struct mig *m)
{
	struct op_ctx *x = m->x;

	if (m->copy && ops_disks_delete(x, x->bc, x->pool) < 0) {
		log_warnx("op %s: vm '%s' moved, but its old disks on the "
		    "source could not all be removed: %s", x->op.id,
		    x->vm.name, err_last()->msg);
		err_clear();
	}
}

/* Remove the destination's copies of the disks after a failure. */
static void
mig_drop_dst_vol(struct mig *m)
{
	struct err e;

	if (!m->dst_vol)
		return;
	err_save(&e);
	if (ops_disks_delete(m->x, m->x->dst_bc, m->x->dst_pool) < 0)
		log_error("op %s: the copies of vm '%s''s disks on '%s' could "
		    "not all be removed: %s", m->x->op.id, m->x->vm.name,
		    m->dst.name, err_last()->msg);
	err_restore(&e);
}

/* Make every disk on the destination, and note each one whose file is
 * not at the source's path there. */
static int
mig_dst_disks(struct mig *m)
{
	struct op_ctx *x = m->x;

	m->dst_vol = true;     /* a half-made set is removed as a whole */
	if (ops_disks_make(x, x->dst_bc, m->to_id, x->dst_pool, &m->dstd) < 0 ||
	    ops_disks_paths(x, x->bc, x->pool, &m->src) < 0)
		return -1;
	m->nmoved = 0;
	for (int i = 0; i < x->ndisks; i++) {
		const char *b = m->dstd.base[i][0] ? m->dstd.base[i] : NULL;

		m->incremental = m->incremental || b != NULL;
		if (strcmp(m->src.path[i], m->dstd.path[i]) != 0 ||
		    (b && strcmp(m->src.base[i], b) != 0))
			m->moved[m->nmoved++] = (struct migrate_disk){
			    x->disks[i].dev, m->dstd.path[i], b };
	}
	return 0;
}

static json_t *
mig_stats_json(const struct migrate_stats *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
	    "elapsed_ms", (json_int_t)s->elapsed_ms,
	    "data_total", (json_int_t)s->data_total,
	    "data_processed", (json_int_t)s->data_processed,
	    "data_remaining", (json_int_t)s->data_remaining,
	    "iteration", (json_int_t)s->iteration,
	    "dirty_rate", (json_int_t)s->dirty_rate,
	    "mem_bps", (json_int_t)s->mem_bps,
	    "downtime_ms", (json_int_t)s->downtime_ms,
	    "postcopy", s->postcopy);
}

/* The migration call, in a thread of its own; it signals cond when done. */
struct mig_thread {
	struct backend_conn *bc;
	const char *uuid;
	struct migrate_spec spec;
	int r;
	struct err e;
	pthread_mutex_t mu;
	pthread_cond_t cond;       /* on CLOCK_MONOTONIC */
	bool done;
};

static void *
mig_thread(void *arg)
{
	struct mig_thread *t = arg;
	int r = backend_migrate(t->bc, t->uuid, &t->spec);

	pthread_mutex_lock(&t->mu);
	t->r = r;
	err_save(&t->e);
	t->done = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

static int
mig_thread_start(struct mig_thread *t, pthread_t *th)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(th, NULL, mig_thread, t) == 0)
		return 0;
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->mu);
	return err_set(ERR_INTERNAL, "cannot start the migration thread");
}

/*
 * Wait at most ms for the migration thread: true once it is done.  It
 * wakes the runner as it ends, so no move waits out a poll interval (it
 * used to: libvirt's job statistics block until the migration's last
 * phase is over, then the runner slept MIG_POLL_MS more).
 */
static bool
mig_thread_wait(struct mig_thread *t, int ms)
{
	struct timespec ts;
	bool done;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->mu);
	while (!t->done &&
	    pthread_cond_timedwait(&t->cond, &t->mu, &ts) != ETIMEDOUT)
		;
	done = t->done;
	pthread_mutex_unlock(&t->mu);
	return done;
}

static int
mig_live(struct mig *m)
{
	struct op_ctx *x = m->x;
	struct mig_thread t;
	struct migrate_stats st;
	pthread_t th;
	json_t *p;
	char step[160];
	bool switched = false;

	if (m->copy && mig_dst_disks(m) < 0)
		goto fail;
	if (mig_snaps_off(m) < 0)
		goto fail;
	memset(&t, 0, sizeof(t));
	t.bc = x->bc;
	t.uuid = x->vm.uuid;
	t.spec.dest_uri = m->dst.uri;
	t.spec.live = m->live;
	t.spec.copy_storage = m->copy;
	t.spec.dest_disks = m->copy ? m->moved : NULL;
	t.spec.ndest_disks = m->copy ? m->nmoved : 0;
	t.spec.incremental = m->incremental;
	t.spec.shared_storage = !m->copy;
	t.spec.max_downtime_ms = mig_param_int(x, "max_downtime_ms");
	t.spec.auto_converge = mig_param_bool(x, "auto_converge");
	t.spec.post_copy = mig_param_bool(x, "post_copy");
	t.spec.bandwidth_mib_s = mig_param_int(x, "bandwidth_mib_s");
	snprintf(step, sizeof(step), "migrating to '%s'%s", m->dst.name,
	    m->copy ? " with its disks" : "");
	ops_step(x, step);
	if (mig_thread_start(&t, &th) < 0)
		goto fail;
	while (!mig_thread_wait(&t, MIG_POLL_MS)) {
		if (ops_cancelled(x) && !x->aborted) {
			x->aborted = true;
			if (backend_job_abort(x->bc, x->vm.uuid) < 0)
				log_warnx("op %s: cannot abort the migration: %s",
				    x->op.id, err_last()->msg);
		}
		if (backend_job_stats(x->bc, x->vm.uuid, false, &st) < 0 ||
		    !st.active)
			continue;
		if (t.spec.post_copy && !switched && st.iteration >= 2 &&
		    backend_migrate_postcopy(x->bc, x->vm.uuid) == 0)
			switched = true;
		if ((p = mig_stats_json(&st)) != NULL) {
			ops_progress(x, p);
			json_decref(p);
		}
	}
	pthread_join(th, NULL);
	pthread_cond_destroy(&t.cond);
	pthread_mutex_destroy(&t.mu);
	if (t.r < 0) {
		err_restore(&t.e);
		if (x->aborted)
			x->cancelled = true;
		goto fail;
	}
	/* the job's final numbers (the downtime) are kept where it ended */
	if (backend_job_stats(x->dst_bc, x->vm.uuid, true, &st) == 0 ||
	    backend_job_stats(x->bc, x->vm.uuid, true, &st) == 0) {
		if ((p = mig_stats_json(&st)) != NULL) {
			ops_progress(x, p);
			json_decref(p);
		}
	}
	err_clear();
	mig_snaps_on(m, x->dst_bc, "the destination");
	mig_drop_src_vol(m);
	return 0;
fail:
	mig_snaps_on(m, x->bc, "the source");
	mig_drop_dst_vol(m);
	return -1;
}

static int
mig_cold(struct mig *m)
{
	struct op_ctx *x = m->x;
	struct vm_spec spec;

	if (m->copy) {
		m->dst_vol = true;
		if (ops_disks_copy(x, x->dst_bc, m->to_id, x->dst_pool,
		    &m->dstd) < 0)
			goto fail;
	} else if (ops_disks_paths(x, x->bc, x->pool, &m->dstd) < 0) {
		return -1;
	}
	if (ops_cancelled(x)) {
		ops_cancel_now(x, "after its disks were copied");
		goto fail;
	}
	if (backend_snapshot_export(x->bc, x->vm.uuid, &m->snaps, &m->nsnaps,
	    m->current, sizeof(m->current)) < 0)
		goto fail;
	ops_step(x, "defining the domain on the destination");
	ops_vm_spec(x, &m->dst, &m->dstd, &spec);
	if (backend_define(x->dst_bc, &spec) < 0)
		goto fail;
	if (m->nsnaps && backend_snapshot_redefine(x->dst_bc, x->vm.uuid,
	    m->snaps, m->nsnaps, m->current) < 0) {
		log_error("op %s: the snapshots of vm '%s' could not be defined "
		    "on '%s': %s", x->op.id, x->vm.name, m->dst.name,
		    err_last()->msg);
		err_clear();
	}
	ops_step(x, "removing the domain from the source");
	if (backend_undefine(x->bc, x->vm.uuid) < 0)
		return -1;     /* defined on both: recovery finishes it */
	mig_drop_src_vol(m);
	return 0;
fail:
	mig_drop_dst_vol(m);
	return -1;
}

/* The NICs' DHCP hosts off host (bc) where the VM is not (failures are
 * logged: a stale entry names a MAC no other NIC has). */
static void
mig_nics_drop(struct op_ctx *x, struct backend_conn *bc, const char *host)
{
	struct err e;

	if (x->nnics == 0)
		return;
	err_save(&e);
	if (ops_nics_dhcp_remove(x, bc) < 0)
		log_warnx("op %s: the DHCP hosts of vm '%s' stay on '%s': %s",
		    x->op.id, x->vm.name, host, err_last()->msg);
	err_restore(&e);
}

int
ops_migrate_run(struct op_ctx *x)
{
	struct mig m;
	int r;

	if (mig_setup(x, &m) < 0 || ops_disk_pool(x) < 0)
		return -1;
	/* its NICs keep their MACs and addresses: the destination's
	 * networks answer for them before it arrives */
	if (x->nnics > 0) {
		ops_step(x, "adding its addresses to the destination's networks");
		if (ops_nics_dhcp_add(x, x->dst_bc) < 0)
			return -1;
	}
	r = m.cold ? mig_cold(&m) : mig_live(&m);
	backend_free_strings(m.snaps, m.nsnaps);
	if (r < 0) {
		mig_nics_drop(x, x->dst_bc, m.dst.name);
		return -1;
	}
	mig_nics_drop(x, x->bc, x->vm.host);
	x->moved_to = m.to_id;
	/* its state, as the destination sees it */
	x->bc = x->dst_bc;
	if (ops_observe(x) < 0) {
		x->have_state = false;
		err_clear();
	}
	return 0;
}

/* Where is the domain now?  1 found, 0 not there, -1 cannot tell. */
static int
mig_where(struct backend_conn *bc, const char *uuid, enum vm_state *st)
{
	if (backend_state(bc, uuid, st) == 0)
		return 1;
	if (err_last()->code == ERR_NOT_FOUND) {
		err_clear();
		return 0;
	}
	return -1;
}

int
ops_migrate_recover(struct op_ctx *x)
{
	struct migrate_stats js;
	enum vm_state ss, ds;
	struct mig m;
	int on_src, on_dst;

	if (mig_setup(x, &m) < 0) {
		x->unsettled = err_last()->code == ERR_UNAVAILABLE;
		return -1;
	}
	if (!m.cold && backend_job_stats(x->bc, x->vm.uuid, false, &js) == 0 &&
	    js.active) {
		x->unsettled = true;   /* libvirt is still at it */
		return err_set(ERR_UNAVAILABLE, "the migration of vm '%s' is "
		    "still running in libvirt", x->vm.name);
	}
	on_src = mig_where(x->bc, x->vm.uuid, &ss);
	on_dst = mig_where(x->dst_bc, x->vm.uuid, &ds);
	if (on_src < 0 || on_dst < 0) {
		x->unsettled = true;
		return -1;
	}
	if (on_dst && !on_src) {
		x->moved_to = m.to_id;
	} else if (on_dst && on_src && m.cold) {
		/* defined on both: finish what the cold move started */
		if (backend_undefine(x->bc, x->vm.uuid) < 0)
			return -1;
		x->moved_to = m.to_id;
	} else if (on_src) {
		if (m.copy && !on_dst) {
			m.dst_vol = true;
			mig_drop_dst_vol(&m);
		}
		if (!on_dst)
			mig_nics_drop(x, x->dst_bc, m.dst.name);
		x->have_state = true;
		x->observed = ss;
		return err_set(ERR_INTERRUPTED, "the daemon stopped while vm "
		    "'%s' was being migrated to '%s'; it is still on '%s' (%s)",
		    x->vm.name, m.dst.name, x->vm.host, vm_state_name(ss));
	} else {
		return err_set(ERR_INTERRUPTED, "the daemon stopped while vm "
		    "'%s' was being migrated, and its domain is now on neither "
		    "'%s' nor '%s'", x->vm.name, x->vm.host, m.dst.name);
	}
	if (m.copy && ops_disks_delete(x, x->bc, x->pool) < 0)
		err_clear();
	/* its addresses: the destination's networks got them before the
	 * move; the source's go now */
	mig_nics_drop(x, x->bc, x->vm.host);
	x->bc = x->dst_bc;
	x->have_state = true;
	x->observed = ds;
	return 0;
}

int
ops_migrate_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	if (!ok || x->moved_to == 0)
		return 0;
	return store_vm_set_host(c, x->vm.id, x->moved_to, x->op.id);
}

/* The claim stays where the VM is: release the other host's. */
void
ops_migrate_after(struct op_ctx *x, bool ok)
{
	struct vm_rec there = x->vm;
	int64_t to = mig_param_int(x, "to_id");

	if (x->vm.id == 0 || to == 0)
		return;
	if (ok && x->moved_to) {
		view_release(x->app->view, &x->vm);      /* the source's */
		ops_disks_prune(x, x->vm.host_id, x->pool);
	} else {
		there.host_id = to;
		view_release(x->app->view, &there);      /* the destination's */
		ops_disks_prune(x, to, x->dst_pool);
	}
}

/* After a restart the view knows only the source's claim. */
void
ops_migrate_restart(struct app *app, const struct op_rec *op)
{
	struct store_conn *c = store_read_begin(app->store);
	json_t *p = json_loads(op->params, 0, NULL);
	struct vm_rec vm;
	int r = store_vm_get_id(c, op->vm_id, &vm);

	store_read_end(c);
	if (r == 0 && p) {
		vm.host_id = json_integer_value(json_object_get(p, "to_id"));
		if (vm.host_id) {
			view_lock(app->view);
			view_claim_locked(app->view, &vm);
			view_unlock(app->view);
		}
	}
	json_decref(p);
	err_clear();
}

/* --- drains and plans: migrations as children, run right here --- */

struct mig_children {
	struct op_ctx *x;
	char (*ids)[UUID_STR_LEN];
	size_t n, cap;
	json_t *moves;             /* [{vm, to, op, status, error}] */
	int failed;                /* could not even be recorded */
};

static int
mig_child_add(struct mig_children *k, const char *id)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		char (*nv)[UUID_STR_LEN] = realloc(k->ids, cap * sizeof(*nv));

		if (nv == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		k->ids = nv;
		k->cap = cap;
	}
	snprintf(k->ids[k->n++], UUID_STR_LEN, "%s", id);
	return 0;
}

/* Before each child starts: show how far it got; stop if cancelled. */
static int mig_children_sum(struct mig_children *k, json_t *extra);

static bool
mig_children_stop(void *arg)
{
	struct mig_children *k = arg;

	if (ops_cancelled(k->x))
		return true;
	mig_children_sum(k, NULL);
	return false;
}

/* One child's line in the progress. */
static void
mig_child_line(json_t *arr, const struct op_rec *o)
{
	json_t *p = json_loads(o->params, 0, NULL);
	json_t *to = json_object_get(p, "to");

	json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:s, s:s}",
	    "vm", o->vm_name, "to", to ? json_incref(to) : json_null(),
	    "op", o->id, "status", op_status_name(o->status),
	    "error", o->err_msg));
	json_decref(p);
}

/* Children that never started (the parent was cancelled) are cancelled
 * too, so no VM stays "migrating" behind a queued operation. */
static void
mig_children_cancel_rest(struct mig_children *k)
{
	struct store_conn *c;
	struct op_rec o;

	for (size_t i = 0; i < k->n; i++) {
		c = store_read_begin(k->x->app->store);
		if (store_op_get(c, k->ids[i], &o) < 0)
			o.status = OP_FAILED;
		store_read_end(c);
		if (o.status == OP_QUEUED &&
		    ops_cancel(k->x->app->ops, k->ids[i], &o) < 0)
			log_warnx("op %s: cannot cancel its child %s: %s",
			    k->x->op.id, k->ids[i], err_last()->msg);
	}
	err_clear();
}

/*
 * Sum the children up into the progress (the moves refused before they
 * could start first).  Returns how many did not succeed.
 */
static int
mig_children_sum(struct mig_children *k, json_t *extra)
{
	struct op_ctx *x = k->x;
	struct store_conn *c;
	json_t *moves = json_array(), *p;
	struct op_rec o;
	int bad = k->failed, ok = 0;

	json_array_extend(moves, k->moves);
	c = store_read_begin(x->app->store);
	for (size_t i = 0; i < k->n; i++) {
		if (store_op_get(c, k->ids[i], &o) < 0)
			continue;
		mig_child_line(moves, &o);
		if (o.status == OP_SUCCEEDED)
			ok++;
		else
			bad++;
	}
	store_read_end(c);
	err_clear();
	p = json_pack("{s:i, s:i, s:i, s:o}", "total",
	    (int)json_array_size(moves), "moved", ok, "failed", bad,
	    "moves", moves);
	if (p && extra)
		json_object_update(p, extra);
	if (p)
		ops_progress(x, p);
	json_decref(p);
	return bad;
}

/* A move that could not even be recorded: say so in the moves list. */
static void
mig_child_refused(struct mig_children *k, const char *vm, const char *to)
{
	json_array_append_new(k->moves, json_pack("{s:s, s:s?, s:n, s:s, "
	    "s:s}", "vm", vm, "to", to, "op", "status", "failed", "error",
	    err_last()->msg));
	k->failed++;
	err_clear();
}

int
ops_drain_run(struct op_ctx *x)
{
	const char *stopped = json_string_value(json_object_get(x->params,
	    "stopped"));
	bool move_stopped = stopped && strcmp(stopped, "migrate") == 0;
	struct mig_children k = { x, NULL, 0, 0, json_array(), 0 };
	struct vm_list d = { NULL, 0, 0 };
	struct migrate_request rq;
	struct store_conn *c;
	struct op_rec child;
	int stayed = 0, bad, r;
	json_t *extra;

	c = store_read_begin(x->app->store);
	r = store_vm_each(c, x->op.host, NULL, vm_list_add, &d);
	store_read_end(c);
	if (r < 0)
		goto out;
	ops_step(x, "moving the VMs away");
	for (size_t i = 0; i < d.n && !ops_cancelled(x); i++) {
		const struct vm_rec *v = &d.v[i];
		bool stopped_vm = strcmp(v->observed, "stopped") == 0 ||
		    strcmp(v->observed, "crashed") == 0;

		if (stopped_vm && !move_stopped) {
			stayed++;
			continue;
		}
		memset(&rq, 0, sizeof(rq));
		rq.vm = v->uuid;
		rq.live = true;
		rq.copy_storage = -1;
		rq.parent_id = x->op.id;
		rq.no_submit = true;
		if (migrate_request(x->app, &rq, &child) < 0)
			mig_child_refused(&k, v->name, NULL);
		else if (mig_child_add(&k, child.id) < 0)
			break;
	}
	ops_run_inline(x->app->ops, k.ids, k.n,
	    (int)mig_param_int(x, "max_parallel"), mig_children_stop, &k);
	mig_children_cancel_rest(&k);
	extra = json_pack("{s:i}", "stayed", stayed);
	bad = mig_children_sum(&k, extra);
	json_decref(extra);
	if (ops_cancelled(x))
		r = ops_cancel_now(x, "before every VM was moved");
	else if (bad > 0)
		r = err_set(ERR_CONFLICT, "%d of %zu VM(s) could not be moved "
		    "off host '%s'; it stays in maintenance (see the "
		    "operation's progress for each)", bad, d.n - (size_t)stayed,
		    x->op.host);
	else
		r = 0;
out:
	vm_list_free(&d);
	free(k.ids);
	json_decref(k.moves);
	return r;
}

int
ops_drain_recover(struct op_ctx *x)
{
	/* its children are operations of their own, settled on their own */
	return err_set(ERR_INTERRUPTED, "the daemon stopped during the drain "
	    "of host '%s'; its migrations were settled one by one; drain it "
	    "again to move what is left", x->op.host);
}

int
ops_plan_run(struct op_ctx *x)
{
	const char *plan_id = json_string_value(json_object_get(x->params,
	    "plan"));
	int parallel = (int)mig_param_int(x, "max_parallel");
	struct mig_children k = { x, NULL, 0, 0, json_array(), 0 };
	struct migrate_request rq;
	struct store_conn *c;
	struct plan_rec plan;
	struct op_rec child;
	struct vm_rec vm;
	json_t *body = NULL, *moves, *mv;
	size_t i, start;
	int r = -1, bad = 0;

	if (parallel < 1)
		parallel = 1;
	c = store_read_begin(x->app->store);
	r = store_plan_get(c, plan_id ? plan_id : "", &plan);
	store_read_end(c);
	if (r < 0)
		goto out;
	body = json_loads(plan.body, 0, NULL);
	store_plan_free(&plan);
	moves = json_object_get(body, "moves");
	ops_step(x, "moving VMs");
	/* in batches of `parallel`, each move checked again just before */
	for (start = 0; start < json_array_size(moves) && bad == 0 &&
	    !ops_cancelled(x); start += (size_t)parallel) {
		size_t first = k.n;

		for (i = start; i < json_array_size(moves) &&
		    i < start + (size_t)parallel; i++) {
			const char *name, *from, *to;

			mv = json_array_get(moves, i);
			name = json_string_value(json_object_get(mv, "vm"));
			from = json_string_value(json_object_get(mv, "from"));
			to = json_string_value(json_object_get(mv, "to"));
			c = store_read_begin(x->app->store);
			r = store_vm_get(c, json_string_value(json_object_get(mv,
			    "vm_id")), &vm);
			store_read_end(c);
			if (r == 0 && strcmp(vm.host, from) != 0)
				r = err_set(ERR_CONFLICT, "vm '%s' is on '%s' now, "
				    "not '%s' as planned", vm.name, vm.host, from);
			if (r == 0) {
				memset(&rq, 0, sizeof(rq));
				rq.vm = vm.uuid;
				rq.host = to;
				rq.live = true;
				rq.copy_storage = -1;
				rq.parent_id = x->op.id;
				rq.no_submit = true;
				r = migrate_request(x->app, &rq, &child);
			}
			if (r < 0) {
				mig_child_refused(&k, name, to);
				bad++;
				break;
			}
			(void)name;
			if (mig_child_add(&k, child.id) < 0)
				goto out;
		}
		if (k.n > first) {
			char (*ids)[UUID_STR_LEN] = k.ids + first;

			ops_run_inline(x->app->ops, ids, k.n - first, parallel,
			    mig_children_stop, &k);
			c = store_read_begin(x->app->store);
			for (i = first; i < k.n; i++)
				if (store_op_get(c, k.ids[i], &child) == 0 &&
				    child.status != OP_SUCCEEDED)
					bad++;
			store_read_end(c);
		}
	}
	mig_children_cancel_rest(&k);
	bad = mig_children_sum(&k, NULL);
	if (ops_cancelled(x))
		r = ops_cancel_now(x, "before every move was made");
	else if (bad > 0)
		r = err_set(ERR_CONFLICT, "the plan stopped at its first failed "
		    "move (see the operation's progress)");
	else
		r = 0;
out:
	json_decref(body);
	free(k.ids);
	json_decref(k.moves);
	return r;
}

int
ops_plan_recover(struct op_ctx *x)
{
	(void)x;
	return err_set(ERR_INTERRUPTED, "the daemon stopped while a plan was "
	    "being executed; its migrations were settled one by one; make a "
	    "new plan for what is left");
}
