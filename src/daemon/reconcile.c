/*
 * reconcile.c - a periodic sweep over every VM (and a look at one VM when
 * libvirt says it changed, see watch.c): ask its host for the domain's
 * state and record it as observed.  The sweep also does the
 * housekeeping: operations, events and idempotency keys past their
 * retention are deleted.  A VM whose host cannot be
 * reached, or whose domain has vanished, is shown as `unknown`; nothing is
 * ever deleted here.  VMs with an operation under way are left to it.
 *
 * The sweep reads the VMs a page at a time (RECONCILE_PAGE), asks their
 * hosts, and writes only the states that changed, so its memory does not
 * grow with the inventory and an idle sweep commits nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"
#include "reconcile.h"

/* VMs looked at per read of the inventory (a page: about 1.6 MiB) */
#define RECONCILE_PAGE 8192

struct reconcile {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;                   /* also read without mu (__atomic) */
};

struct reconcile_seen {
	int64_t id;
	int64_t host_id;
	int64_t updated_at;
	char uuid[UUID_STR_LEN];
	char name[NAME_MAX_LEN];
	char observed[16];
	char desired[16];
	char on_drift[16];
	enum vm_state state;
};

/*
 * A page of the walk over every VM, in name order.  The store has no way
 * to start a walk part-way, so each page walks from the first VM again
 * and skips those up to `after`: memory stays at one page whatever the
 * fleet's size, for a walk that costs (VMs / RECONCILE_PAGE + 1) / 2
 * full reads of the vms table.
 */
struct reconcile_page {
	struct reconcile_seen *v;    /* owned; cap slots */
	size_t n, cap;
	char after[NAME_MAX_LEN];    /* the last VM taken, "" before the
	                              * first page */
	bool more;                   /* the page filled before the walk
	                              * ended */
};

/* A store_vm_fn: take v into the page; 1 (stop) once it is full. */
static int
reconcile_collect(const struct vm_rec *v, void *arg)
{
	struct reconcile_page *p = arg;
	struct reconcile_seen *s;

	/* names are unique and sorted bytewise, as strcmp() does */
	if (p->after[0] && strcmp(v->name, p->after) <= 0)
		return 0;
	if (p->n == p->cap) {
		p->more = true;
		return 1;
	}
	memcpy(p->after, v->name, sizeof(p->after));
	if (v->op_id[0])
		return 0;       /* its operation records what it does */
	s = &p->v[p->n++];
	memset(s, 0, sizeof(*s));
	s->id = v->id;
	s->host_id = v->host_id;
	s->updated_at = v->updated_at;
	memcpy(s->uuid, v->uuid, sizeof(s->uuid));
	memcpy(s->name, v->name, sizeof(s->name));
	memcpy(s->observed, v->observed, sizeof(s->observed));
	memcpy(s->desired, v->desired, sizeof(s->desired));
	memcpy(s->on_drift, v->on_drift, sizeof(s->on_drift));
	return 0;
}

/*
 * After the states are recorded: a VM that drifted from its desired
 * state gets its on_drift policy (a change is news; an enforced VM still
 * off course is tried again each sweep).
 */
static void
reconcile_drift(struct app *app, const struct reconcile_page *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct reconcile_seen *s = &p->v[i];
		const char *st = vm_state_name(s->state);
		bool changed = strcmp(st, s->observed) != 0;
		struct vm_rec v;

		if (!changed && strcmp(s->on_drift, "enforce") != 0)
			continue;
		memset(&v, 0, sizeof(v));
		v.id = s->id;
		memcpy(v.uuid, s->uuid, sizeof(v.uuid));
		memcpy(v.name, s->name, sizeof(v.name));
		memcpy(v.desired, s->desired, sizeof(v.desired));
		snprintf(v.observed, sizeof(v.observed), "%s", st);
		memcpy(v.on_drift, s->on_drift, sizeof(v.on_drift));
		drift_act(app, &v, changed);
	}
}

/* Does any VM of the page show another state than the one stored? */
static bool
reconcile_changed(const struct reconcile_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(vm_state_name(p->v[i].state), p->v[i].observed))
			return true;
	return false;
}

static int
reconcile_write(struct store_conn *c, void *arg)
{
	struct reconcile_page *p = arg;

	for (size_t i = 0; i < p->n; i++) {
		const char *st = vm_state_name(p->v[i].state);

		if (strcmp(st, p->v[i].observed) == 0)
			continue;
		if (store_vm_observe(c, p->v[i].id, st, p->v[i].updated_at) < 0)
			return -1;
	}
	return 0;
}

/* Ask the VM's host for its state (unknown when it cannot tell). */
static void
reconcile_look(struct app *app, struct reconcile_seen *s)
{
	struct backend_conn *bc = fleet_conn(app->fleet, s->host_id);

	if (bc == NULL || backend_state(bc, s->uuid, &s->state) < 0) {
		s->state = VM_UNKNOWN;
		if (strcmp(s->observed, "unknown") != 0)
			log_warnx("reconcile: vm '%s': %s", s->name,
			    err_last()->msg);
	} else if (strcmp(s->observed, vm_state_name(s->state)) != 0) {
		log_info("reconcile: vm '%s' is %s (was %s)", s->name,
		    vm_state_name(s->state), s->observed);
	}
}

/* Look at the page's VMs, record what changed, then act on drift. */
static void
reconcile_page_do(struct app *app, struct reconcile_page *p, const char *what)
{
	for (size_t i = 0; i < p->n; i++)
		reconcile_look(app, &p->v[i]);
	if (!reconcile_changed(p))
		reconcile_drift(app, p);        /* enforced VMs still off */
	else if (store_tx(app->store, reconcile_write, p) < 0)
		log_warnx("reconcile: cannot record the state of %s: %s", what,
		    err_last()->msg);
	else
		reconcile_drift(app, p);
}

/*
 * One sweep: check every host first when hosts is set, then every VM
 * that has no operation under way, a page at a time.  *stop (may be
 * NULL) set meanwhile ends it after the current page.
 */
static void
reconcile_run(struct app *app, bool hosts, const bool *stop)
{
	struct reconcile_page p;
	struct store_conn *c;
	int rc;

	if (hosts) {
		fleet_check(app->fleet);
		addrs_sweep(app);
	}
	memset(&p, 0, sizeof(p));
	p.cap = RECONCILE_PAGE;
	if ((p.v = malloc(p.cap * sizeof(*p.v))) == NULL) {
		log_warnx("reconcile: out of memory");
		return;
	}
	do {
		p.n = 0;
		p.more = false;
		c = store_read_begin(app->store);
		rc = store_vm_each(c, NULL, NULL, reconcile_collect, &p);
		store_read_end(c);
		if (rc < 0) {
			log_warnx("reconcile: cannot list vms: %s",
			    err_last()->msg);
			break;
		}
		reconcile_page_do(app, &p, "vms");
	} while (p.more && !(stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE)));
	free(p.v);
}

void
reconcile_sweep(struct app *app)
{
	reconcile_run(app, true, NULL);
}

void
reconcile_vm(struct app *app, const char *uuid)
{
	struct reconcile_seen one;
	struct reconcile_page p = { &one, 0, 1, "", false };
	struct store_conn *c = store_read_begin(app->store);
	struct vm_rec v;
	int rc = store_vm_get(c, uuid, &v);
	char what[NAME_MAX_LEN + 8];

	store_read_end(c);
	if (rc < 0 || v.op_id[0])
		return;     /* not ours, or its operation will record it */
	reconcile_collect(&v, &p);
	snprintf(what, sizeof(what), "vm '%s'", v.name);
	reconcile_page_do(app, &p, what);
}

/* Delete what is older than the configured retention. */
static int
reconcile_prune_tx(struct store_conn *c, void *arg)
{
	struct app *app = arg;
	int64_t now = time_now_ms(), ops, evs, keys;

	if (store_op_prune(c, now - app->cfg.operation_retention_s * 1000LL,
	    &ops) < 0 ||
	    store_event_prune(c, now - app->cfg.event_retention_s * 1000LL,
	    &evs) < 0 ||
	    store_idem_prune(c, now - app->cfg.idempotency_ttl_s * 1000LL,
	    &keys) < 0)
		return -1;
	if (ops || evs || keys)
		log_info("housekeeping: deleted %lld operation(s), %lld "
		    "event(s) and %lld idempotency key(s) past their retention",
		    (long long)ops, (long long)evs, (long long)keys);
	return 0;
}

void
reconcile_prune(struct app *app)
{
	if (store_tx(app->store, reconcile_prune_tx, app) < 0)
		log_warnx("housekeeping: %s", err_last()->msg);
}

/*
 * The first sweep runs at once, without checking the hosts (fleet_start
 * has just looked at every one); then one every reconcile_interval_s.
 */
static void *
reconcile_loop(void *arg)
{
	struct reconcile *r = arg;
	struct timespec ts;

	reconcile_run(r->app, false, &r->stop);
	reconcile_prune(r->app);
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += r->app->cfg.reconcile_interval_s;
		pthread_cond_timedwait(&r->cond, &r->mu, &ts);
		if (r->stop)
			break;
		pthread_mutex_unlock(&r->mu);
		reconcile_run(r->app, true, &r->stop);
		reconcile_prune(r->app);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct reconcile *
reconcile_start(struct app *app)
{
	struct reconcile *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	r->app = app;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pthread_create(&r->thread, NULL, reconcile_loop, r) != 0) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->mu);
		free(r);
		err_set(ERR_INTERNAL, "cannot start the reconcile thread");
		return NULL;
	}
	return r;
}

void
reconcile_stop(struct reconcile *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cond);
	free(r);
}
