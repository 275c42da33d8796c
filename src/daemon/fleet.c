/*
 * fleet.c - the daemon's connections to its hosts: one backend connection
 * per registered host.  A host that cannot be reached is marked
 * unreachable (in the store and the view) and retried with exponential
 * backoff, from FLEET_RETRY_MIN_MS up to FLEET_RETRY_MAX_MS; nothing about
 * its VMs is deleted.  Host facts (CPUs, memory, arch, kvm/qemu, pool
 * capacity) are refreshed from the backend on each connect and check.
 *
 * Ownership: a host's backend connection, once opened, lives as long as
 * the fleet (workers use it without holding any fleet lock); the backend
 * reopens its transport underneath when it drops.  A host's strings are
 * its own heap copies, sized to fit: 10,000 hosts must not cost 3 KiB of
 * fixed buffers each.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

#define FLEET_RETRY_MIN_MS 1000
#define FLEET_RETRY_MAX_MS 60000

struct fleet_host {
	struct fleet *fleet;
	int64_t id;
	char name[NAME_MAX_LEN];
	char *uri;                   /* owned */
	char *pool_path;             /* owned; NULL = the configured one */
	pthread_mutex_t mu;          /* guards everything below */
	struct backend_conn *bc;
	int64_t next_try_ms;
	int64_t backoff_ms;
	bool reachable;
	bool removed;                /* unregistered; freed with the fleet */
	char *last_err;              /* owned: why it is unreachable, or
	                              * NULL (out of memory) */
};

struct fleet {
	struct store *store;
	struct view *view;
	const struct config *cfg;
	pthread_mutex_t mu;          /* guards hosts/n */
	struct fleet_host **hosts;
	size_t n, cap;
	fleet_event_fn watch_fn;     /* set before fleet_start, then fixed */
	void *watch_arg;
};

struct fleet *
fleet_open(struct store *s, struct view *v, const struct config *cfg)
{
	struct fleet *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	f->store = s;
	f->view = v;
	f->cfg = cfg;
	pthread_mutex_init(&f->mu, NULL);
	return f;
}

static void
fleet_host_free(struct fleet_host *fh)
{
	backend_close(fh->bc);
	pthread_mutex_destroy(&fh->mu);
	free(fh->uri);
	free(fh->pool_path);
	free(fh->last_err);
	free(fh);
}

void
fleet_close(struct fleet *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++)
		fleet_host_free(f->hosts[i]);
	free(f->hosts);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

void
fleet_host_defaults(const struct fleet *f, struct host_rec *h)
{
	h->cpu_ratio = f->cfg->cpu_ratio;
	h->ram_ratio = f->cfg->ram_ratio;
	h->disk_ratio = f->cfg->disk_ratio;
	h->reserved_vcpus = f->cfg->reserved_vcpus;
	h->reserved_memory_mib = f->cfg->reserved_memory_mib;
	h->reserved_disk_gib = f->cfg->reserved_disk_gib;
	snprintf(h->labels, sizeof(h->labels), "{}");
}

/*
 * Read what the host at bc is (facts and pool) into h; pool_path NULL for
 * the configured one.  0, or -1 with the backend's error.
 */
static int
fleet_facts(struct fleet *f, struct backend_conn *bc, struct host_rec *h,
    const char *pool_path)
{
	struct host_facts hf;

	if (backend_host_facts(bc, &hf) < 0 ||
	    backend_pool_ensure(bc, f->cfg->pool_name, pool_path ?
	    pool_path : f->cfg->pool_path, &h->disk_gib,
	    &h->disk_free_gib) < 0)
		return -1;
	snprintf(h->arch, sizeof(h->arch), "%s", hf.arch);
	snprintf(h->domain_type, sizeof(h->domain_type), "%s", hf.domain_type);
	snprintf(h->domain_types, sizeof(h->domain_types), "%s",
	    hf.domain_types);
	snprintf(h->cpu_model, sizeof(h->cpu_model), "%s", hf.cpu_model);
	h->cpus = hf.cpus;
	h->memory_mib = hf.memory_mib;
	h->free_memory_mib = hf.free_memory_mib;
	return 0;
}

/* Record a host's new facts and state, and show them to the view. */
struct fleet_save {
	struct host_rec *h;          /* facts to write, or NULL */
	int64_t id;
	const char *state;
	struct host_rec out;         /* the stored record afterwards */
};

static int
fleet_save_tx(struct store_conn *c, void *arg)
{
	struct fleet_save *a = arg;

	if (a->h && store_host_update_facts(c, a->h) < 0)
		return -1;
	if (store_host_set_state(c, a->id, a->state) < 0)
		return -1;
	return store_host_get_id(c, a->id, &a->out);
}

static void
fleet_save(struct fleet *f, struct fleet_host *fh, struct host_rec *facts)
{
	struct fleet_save a = { facts, fh->id, fh->reachable ? "ready" :
	    "unreachable", { 0 } };
	struct err e;

	err_save(&e);
	/* view, then store, as placements and host changes take them, so
	 * the view never shows an older record than the store has */
	view_lock(f->view);
	if (fh->removed)
		;       /* gone from the store and the view: nothing to record */
	else if (store_tx(f->store, fleet_save_tx, &a) < 0)
		log_warnx("fleet: cannot record host '%s': %s", fh->name,
		    err_last()->msg);
	else if (view_host_put_locked(f->view, &a.out) < 0)
		log_warnx("fleet: cannot show host '%s' to the scheduler: %s",
		    fh->name, err_last()->msg);
	view_unlock(f->view);
	err_restore(&e);
}

/* Why fh (its mutex held) is unreachable. */
static const char *
fleet_why(const struct fleet_host *fh)
{
	return fh->last_err ? fh->last_err : "(the reason was lost: out of "
	    "memory)";
}

/* fh is unreachable now (its mutex held); err_last() says why. */
static void
fleet_down(struct fleet *f, struct fleet_host *fh)
{
	bool was = fh->reachable;
	struct err e;

	err_save(&e);
	free(fh->last_err);
	fh->last_err = strdup(e.msg);
	fh->reachable = false;
	fh->backoff_ms = fh->backoff_ms ? fh->backoff_ms * 2 :
	    FLEET_RETRY_MIN_MS;
	if (fh->backoff_ms > FLEET_RETRY_MAX_MS)
		fh->backoff_ms = FLEET_RETRY_MAX_MS;
	fh->next_try_ms = time_now_ms() + fh->backoff_ms;
	if (was || fh->backoff_ms == FLEET_RETRY_MIN_MS) {
		log_warnx("fleet: host '%s' is unreachable (retry in %lld ms): "
		    "%s", fh->name, (long long)fh->backoff_ms, e.msg);
		fleet_save(f, fh, NULL);
	}
	err_restore(&e);
}

void
fleet_watch(struct fleet *f, fleet_event_fn fn, void *arg)
{
	f->watch_fn = fn;
	f->watch_arg = arg;
}

/* On the backend's event thread: pass it on, naming the host. */
static void
fleet_on_event(void *opaque, const char *uuid, const char *event)
{
	struct fleet_host *fh = opaque;

	fh->fleet->watch_fn(fh->fleet->watch_arg, fh->id, uuid, event);
}

/* Connect fh if it never was (its mutex held), and record what it is. */
static int
fleet_connect(struct fleet *f, struct fleet_host *fh)
{
	struct host_rec h;
	bool was = fh->reachable;

	memset(&h, 0, sizeof(h));
	h.id = fh->id;
	if (fh->bc == NULL) {
		fh->bc = backend_open(fh->uri);
		/* the backend keeps the watch across its reconnects */
		if (fh->bc && f->watch_fn &&
		    backend_watch(fh->bc, fleet_on_event, fh) < 0)
			log_warnx("fleet: no domain events from host '%s' (the "
			    "sweep still sees changes): %s", fh->name,
			    err_last()->msg);
	}
	if (fh->bc == NULL || fleet_facts(f, fh->bc, &h, fh->pool_path) < 0) {
		fleet_down(f, fh);
		return -1;
	}
	fh->reachable = true;
	fh->backoff_ms = 0;
	free(fh->last_err);
	fh->last_err = NULL;
	fleet_save(f, fh, &h);
	if (!was)
		log_info("fleet: host '%s' (%s) is ready: %s, %d CPUs, %lld "
		    "MiB, domain types %s, pool %lld GiB", fh->name, fh->uri,
		    h.arch, h.cpus, (long long)h.memory_mib, h.domain_types,
		    (long long)h.disk_gib);
	return 0;
}

/* A fleet entry for host h; the fleet owns it.  NULL when out of memory. */
static struct fleet_host *
fleet_add(struct fleet *f, const struct host_rec *h)
{
	struct fleet_host *fh = calloc(1, sizeof(*fh));

	if (fh == NULL)
		goto oom;
	fh->fleet = f;
	fh->id = h->id;
	snprintf(fh->name, sizeof(fh->name), "%s", h->name);
	pthread_mutex_init(&fh->mu, NULL);
	if ((fh->uri = strdup(h->uri)) == NULL ||
	    (h->pool_path[0] && (fh->pool_path = strdup(h->pool_path)) == NULL))
		goto oom;
	pthread_mutex_lock(&f->mu);
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct fleet_host **nh = realloc(f->hosts, cap * sizeof(*nh));

		if (nh == NULL) {
			pthread_mutex_unlock(&f->mu);
			goto oom;
		}
		f->hosts = nh;
		f->cap = cap;
	}
	f->hosts[f->n++] = fh;
	pthread_mutex_unlock(&f->mu);
	return fh;
oom:
	if (fh)
		fleet_host_free(fh);
	err_set(ERR_INTERNAL, "out of memory");
	return NULL;
}

static int
fleet_add_rec(const struct host_rec *h, void *arg)
{
	return fleet_add(arg, h) ? 0 : -1;
}

static int
fleet_ensure_local(struct store_conn *c, void *arg)
{
	struct fleet *f = arg;
	struct host_rec h;
	int64_t n;

	if (store_host_count(c, &n) < 0)
		return -1;
	if (n > 0)
		return 0;
	memset(&h, 0, sizeof(h));
	fleet_host_defaults(f, &h);
	snprintf(h.name, sizeof(h.name), "local");
	if (snprintf(h.uri, sizeof(h.uri), "%s", f->cfg->host_uri) >=
	    (int)sizeof(h.uri))
		return err_set(ERR_INVALID, "host_uri is too long");
	snprintf(h.state, sizeof(h.state), "unreachable");
	if (store_host_insert(c, &h) < 0)
		return -1;
	log_info("fleet: registered host 'local' at '%s'", f->cfg->host_uri);
	return 0;
}

int
fleet_start(struct fleet *f)
{
	struct store_conn *c;
	int r;

	if (store_tx(f->store, fleet_ensure_local, f) < 0)
		return -1;
	c = store_read_begin(f->store);
	r = store_host_each(c, fleet_add_rec, f);
	store_read_end(c);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		pthread_mutex_lock(&f->hosts[i]->mu);
		fleet_connect(f, f->hosts[i]);
		pthread_mutex_unlock(&f->hosts[i]->mu);
	}
	err_clear();
	return 0;
}

static int
fleet_insert_tx(struct store_conn *c, void *arg)
{
	struct host_rec *h = arg;

	if (store_host_insert(c, h) < 0)
		return -1;
	return store_host_get_id(c, h->id, h);
}

int
fleet_register(struct fleet *f, struct host_rec *h)
{
	struct backend_conn *bc;
	struct fleet_host *fh;

	if ((bc = backend_open(h->uri)) == NULL ||
	    fleet_facts(f, bc, h, h->pool_path[0] ? h->pool_path : NULL) < 0) {
		struct err e;

		err_save(&e);       /* the message is formatted into err_last() */
		backend_close(bc);
		/* the client's URI is what is wrong: say what libvirt said */
		return err_set_field(ERR_UNPROCESSABLE, "uri", "cannot use host "
		    "'%s': %s", h->name, e.msg);
	}
	snprintf(h->state, sizeof(h->state), "ready");
	if (store_tx(f->store, fleet_insert_tx, h) < 0 ||
	    view_host_put(f->view, h) < 0 || (fh = fleet_add(f, h)) == NULL) {
		backend_close(bc);
		return -1;
	}
	pthread_mutex_lock(&fh->mu);
	fh->bc = bc;
	fh->reachable = true;
	if (f->watch_fn && backend_watch(bc, fleet_on_event, fh) < 0)
		log_warnx("fleet: no domain events from host '%s' (the sweep "
		    "still sees changes): %s", fh->name, err_last()->msg);
	pthread_mutex_unlock(&fh->mu);
	log_info("fleet: registered host '%s' at '%s'", h->name, h->uri);
	return 0;
}

void
fleet_unregister(struct fleet *f, int64_t host_id)
{
	struct fleet_host *fh = NULL;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n; i++)
		if (f->hosts[i]->id == host_id && !f->hosts[i]->removed)
			fh = f->hosts[i];
	pthread_mutex_unlock(&f->mu);
	view_host_remove(f->view, host_id);
	if (fh == NULL)
		return;
	/* the entry and its connection stay until fleet_close(): another
	 * thread may still hold them */
	pthread_mutex_lock(&fh->mu);
	fh->removed = true;
	if (fh->bc)
		backend_watch(fh->bc, NULL, NULL);
	pthread_mutex_unlock(&fh->mu);
	log_info("fleet: host '%s' removed", fh->name);
}

static struct fleet_host *
fleet_find(struct fleet *f, int64_t host_id)
{
	struct fleet_host *fh = NULL;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n; i++)
		if (f->hosts[i]->id == host_id && !f->hosts[i]->removed)
			fh = f->hosts[i];
	pthread_mutex_unlock(&f->mu);
	return fh;
}

struct backend_conn *
fleet_conn(struct fleet *f, int64_t host_id)
{
	struct fleet_host *fh = fleet_find(f, host_id);
	struct backend_conn *bc = NULL;

	if (fh == NULL) {
		err_set(ERR_NOT_FOUND, "host #%lld is not registered",
		    (long long)host_id);
		return NULL;
	}
	pthread_mutex_lock(&fh->mu);
	/* an unreachable host is asked again only when its backoff is up */
	if (fh->reachable || (time_now_ms() >= fh->next_try_ms &&
	    fleet_connect(f, fh) == 0))
		bc = fh->bc;
	else
		err_set(ERR_UNAVAILABLE, "host '%s' is unreachable: %s",
		    fh->name, fleet_why(fh));
	pthread_mutex_unlock(&fh->mu);
	return bc;
}

void
fleet_check(struct fleet *f)
{
	struct fleet_host **list;
	size_t n;

	/* a snapshot of the list: hosts are only freed with the fleet */
	pthread_mutex_lock(&f->mu);
	n = f->n;
	list = calloc(n ? n : 1, sizeof(*list));
	if (list)
		memcpy(list, f->hosts, n * sizeof(*list));
	pthread_mutex_unlock(&f->mu);
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		struct fleet_host *fh = list[i];
		struct host_rec h;

		pthread_mutex_lock(&fh->mu);
		if (fh->removed) {
			/* nothing to check */
		} else if (!fh->reachable) {
			if (time_now_ms() >= fh->next_try_ms)
				fleet_connect(f, fh);
		} else {
			memset(&h, 0, sizeof(h));
			h.id = fh->id;
			if (fleet_facts(f, fh->bc, &h, fh->pool_path) == 0)
				fleet_save(f, fh, &h);
			else if (err_last()->code == ERR_UNAVAILABLE)
				fleet_down(f, fh);
			else    /* the host answers: it is not down */
				log_warnx("fleet: cannot refresh host '%s': %s",
				    fh->name, err_last()->msg);
		}
		pthread_mutex_unlock(&fh->mu);
	}
	free(list);
	err_clear();
}
