/*
 * fleet.c - the daemon's connections to its hosts: one backend connection
 * per registered host.  A host that cannot be reached is marked
 * unreachable (in the store and the view) and retried with exponential
 * backoff, from FLEET_RETRY_MIN_MS up to FLEET_RETRY_MAX_MS; nothing about
 * its VMs is deleted.  Host facts (CPUs, memory, arch, kvm/qemu, pool
 * capacity) are refreshed from the backend on each connect and check.
 *
 * What a look at a host finds (its state and facts) is written to the
 * store, and shown to the view, only when it differs from what the fleet
 * last recorded for that host: an idle fleet writes nothing.  The looks
 * of fleet_start() and fleet_check() are recorded in batches, one
 * transaction for up to FLEET_BATCH hosts (or FLEET_BATCH_MS of looking);
 * a look made on demand (fleet_conn) is recorded at once.
 *
 * Ownership: a host's backend connection, once opened, lives as long as
 * the fleet (workers use it without holding any fleet lock); the backend
 * reopens its transport underneath when it drops.  A host's strings are
 * its own heap copies, sized to fit: 10,000 hosts must not cost 3 KiB of
 * fixed buffers each.  Lock order: a host's mu, then the view's lock,
 * then the store's writer.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "fleet_int.h"

/* One look at a host, to be written by fleet_record(). */
struct fleet_rec {
	struct fleet_host *fh;
	unsigned seq;                /* fh->seq when it was looked at */
	bool reachable;
	bool has_facts;              /* else only the state is written */
	bool skip;                   /* a newer look, or unregistered */
	bool gone;                   /* its row was deleted meanwhile */
	struct fleet_facts facts;
};

/* Looks waiting to be recorded, gathered by one thread. */
struct fleet_batch {
	struct fleet_rec *r;         /* owned, FLEET_BATCH slots; NULL (out of
	                              * memory): each look is written at once */
	size_t n;
	int64_t first_ms;            /* when r[0] was looked at */
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
	fleet_shares_new(f);
	return f;
}

static void
fleet_host_free(struct fleet_host *fh)
{
	backend_close(fh->bc);
	pthread_mutex_destroy(&fh->mu);
	free(fh->uri);
	free(fh->pool_path);
	free(fh->pool);
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
	fleet_shares_free(f);
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
 * Read what the host at bc is (facts and pool) into ff; pool_path NULL
 * for the configured one, hint the pool found there last time (or NULL).
 * 0, or -1 with the backend's error.
 */
static int
fleet_facts(struct fleet *f, struct backend_conn *bc, const char *pool_path,
    const char *hint, struct fleet_facts *ff)
{
	memset(ff, 0, sizeof(*ff));
	if (backend_host_facts(bc, &ff->hf) < 0 ||
	    fleet_pool_at(f, bc, pool_path, hint, ff) < 0)
		return -1;
	return 0;
}

/* Keep the pool name a look at fh (its mutex held) found. */
static void
fleet_keep_pool(struct fleet_host *fh, const struct fleet_facts *ff)
{
	if (fh->pool && strcmp(fh->pool, ff->pool) == 0)
		return;
	free(fh->pool);
	fh->pool = strdup(ff->pool);    /* NULL: fleet_pool() says so */
}

static void
fleet_facts_to_rec(const struct fleet_facts *ff, struct host_rec *h)
{
	snprintf(h->arch, sizeof(h->arch), "%s", ff->hf.arch);
	snprintf(h->domain_type, sizeof(h->domain_type), "%s",
	    ff->hf.domain_type);
	snprintf(h->domain_types, sizeof(h->domain_types), "%s",
	    ff->hf.domain_types);
	snprintf(h->cpu_model, sizeof(h->cpu_model), "%s", ff->hf.cpu_model);
	h->cpus = ff->hf.cpus;
	h->memory_mib = ff->hf.memory_mib;
	h->free_memory_mib = ff->hf.free_memory_mib;
	h->disk_gib = ff->disk_gib;
	h->disk_free_gib = ff->disk_free_gib;
}

static void
fleet_facts_from_rec(const struct host_rec *h, struct fleet_facts *ff)
{
	memset(ff, 0, sizeof(*ff));
	snprintf(ff->hf.arch, sizeof(ff->hf.arch), "%s", h->arch);
	snprintf(ff->hf.domain_type, sizeof(ff->hf.domain_type), "%s",
	    h->domain_type);
	snprintf(ff->hf.domain_types, sizeof(ff->hf.domain_types), "%s",
	    h->domain_types);
	snprintf(ff->hf.cpu_model, sizeof(ff->hf.cpu_model), "%s",
	    h->cpu_model);
	ff->hf.cpus = h->cpus;
	ff->hf.memory_mib = h->memory_mib;
	ff->hf.free_memory_mib = h->free_memory_mib;
	ff->disk_gib = h->disk_gib;
	ff->disk_free_gib = h->disk_free_gib;
}

uint64_t
fleet_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * A 64-bit digest of every fact the store keeps (never 0), kept per host
 * instead of the facts themselves: a change goes unwritten only if the
 * digests of old and new collide (odds of 2^-64).
 */
static uint64_t
fleet_facts_hash(const struct fleet_facts *ff)
{
	const char *s[] = { ff->hf.arch, ff->hf.domain_type,
	    ff->hf.domain_types, ff->hf.cpu_model };
	int64_t num[] = { ff->hf.cpus, ff->hf.memory_mib,
	    ff->hf.free_memory_mib, ff->disk_gib, ff->disk_free_gib };
	uint64_t h = FLEET_FNV0;

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		h = fleet_fnv(h, s[i], strlen(s[i]) + 1);
	h = fleet_fnv(h, num, sizeof(num));
	return h ? h : 1;
}

/* Why fh (its mutex held) is unreachable. */
static const char *
fleet_why(const struct fleet_host *fh)
{
	return fh->last_err ? fh->last_err : "(the reason was lost: out of "
	    "memory)";
}

/* Write the state and facts of the looks at r[0..n-1] (not skipped). */
static int
fleet_record_tx(struct store_conn *c, void *arg)
{
	struct fleet_batch *b = arg;
	struct host_rec h;

	for (size_t i = 0; i < b->n; i++) {
		struct fleet_rec *r = &b->r[i];

		r->gone = false;        /* store_tx may run this again */
		if (r->skip)
			continue;
		if (r->has_facts) {
			memset(&h, 0, sizeof(h));
			h.id = r->fh->id;
			fleet_facts_to_rec(&r->facts, &h);
			if (store_host_update_facts(c, &h) < 0) {
				if (err_last()->code != ERR_NOT_FOUND)
					return -1;
				r->gone = true;     /* unregistered */
				continue;
			}
		}
		if (store_host_set_state(c, r->fh->id, r->reachable ? "ready" :
		    "unreachable") < 0)
			return -1;
	}
	err_clear();
	return 0;
}

/*
 * Record the looks at r[0..n-1] in one transaction, then show the hosts'
 * stored records to the view.  A look is dropped when a newer one of the
 * same host exists (that one is recorded by whoever took it) or the host
 * was unregistered.  Takes no host's mutex: callable with one held.  A
 * failure is logged, and makes every host's next look be written.
 */
static void
fleet_record(struct fleet *f, struct fleet_rec *r, size_t n)
{
	struct fleet_batch b = { r, n, 0 };
	struct store_conn *c;
	struct host_rec h;
	struct err e;
	size_t live = 0;

	err_save(&e);
	/* view, then store, as placements and host changes take them, so
	 * the view never shows an older record than the store has; a newer
	 * look bumps seq before it takes the view's lock */
	view_lock(f->view);
	for (size_t i = 0; i < n; i++) {
		r[i].skip = __atomic_load_n(&r[i].fh->removed,
		    __ATOMIC_ACQUIRE) || __atomic_load_n(&r[i].fh->seq,
		    __ATOMIC_ACQUIRE) != r[i].seq;
		live += !r[i].skip;
	}
	if (live == 0) {
		/* nothing to write */
	} else if (store_tx(f->store, fleet_record_tx, &b) < 0) {
		log_warnx("fleet: cannot record %zu host(s) (tried again at "
		    "the next check): %s", live, err_last()->msg);
		__atomic_add_fetch(&f->epoch, 1, __ATOMIC_ACQ_REL);
	} else {
		c = store_read_begin(f->store);
		for (size_t i = 0; i < n; i++) {
			if (r[i].skip || r[i].gone)
				continue;
			if (store_host_get_id(c, r[i].fh->id, &h) < 0) {
				if (err_last()->code != ERR_NOT_FOUND)
					log_warnx("fleet: cannot read host "
					    "'%s': %s", r[i].fh->name,
					    err_last()->msg);
			} else if (view_host_put_locked(f->view, &h) < 0) {
				log_warnx("fleet: cannot show host '%s' to the "
				    "scheduler: %s", r[i].fh->name,
				    err_last()->msg);
			}
		}
		store_read_end(c);
	}
	view_unlock(f->view);
	err_restore(&e);
}

static void
fleet_batch_init(struct fleet_batch *b)
{
	b->r = malloc(FLEET_BATCH * sizeof(*b->r));
	b->n = 0;
	b->first_ms = 0;
}

/* Record what b holds (no host's mutex held, or only one). */
static void
fleet_batch_flush(struct fleet *f, struct fleet_batch *b)
{
	if (b->n)
		fleet_record(f, b->r, b->n);
	b->n = 0;
}

/* Flush b when it is full or its oldest look waited long enough. */
static void
fleet_batch_tick(struct fleet *f, struct fleet_batch *b)
{
	if (b->n == FLEET_BATCH || (b->n &&
	    time_now_ms() - b->first_ms >= FLEET_BATCH_MS))
		fleet_batch_flush(f, b);
}

static void
fleet_batch_done(struct fleet *f, struct fleet_batch *b)
{
	fleet_batch_flush(f, b);
	free(b->r);
	b->r = NULL;
}

/*
 * fh (its mutex held) was just looked at: fh->reachable says what was
 * found, ff its facts (NULL when it did not answer).  Unless that is what
 * was last recorded, record it: into b (the caller flushes it when full),
 * or at once when b is NULL.
 */
static void
fleet_note(struct fleet *f, struct fleet_host *fh,
    const struct fleet_facts *ff, struct fleet_batch *b)
{
	unsigned epoch = __atomic_load_n(&f->epoch, __ATOMIC_ACQUIRE);
	uint64_t digest = ff ? fleet_facts_hash(ff) : fh->rec_facts;
	struct fleet_rec one, *r = &one;

	if (fh->rec_epoch == epoch && fh->rec_reachable == fh->reachable &&
	    fh->rec_facts == digest)
		return;
	fh->rec_epoch = epoch;
	fh->rec_reachable = fh->reachable;
	fh->rec_facts = digest;
	if (b && b->r) {
		if (b->n == 0)
			b->first_ms = time_now_ms();
		r = &b->r[b->n++];
	}
	memset(r, 0, sizeof(*r));
	r->fh = fh;
	r->seq = __atomic_add_fetch(&fh->seq, 1, __ATOMIC_ACQ_REL);
	r->reachable = fh->reachable;
	if (ff) {
		r->has_facts = true;
		r->facts = *ff;
	}
	if (r == &one)
		fleet_record(f, &one, 1);
}

/* fh is unreachable now (its mutex held); err_last() says why. */
static void
fleet_down(struct fleet *f, struct fleet_host *fh, struct fleet_batch *b)
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
	if (was || fh->backoff_ms == FLEET_RETRY_MIN_MS)
		log_warnx("fleet: host '%s' is unreachable (retry in %lld ms): "
		    "%s", fh->name, (long long)fh->backoff_ms, e.msg);
	fleet_note(f, fh, NULL, b);
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

int
fleet_connect(struct fleet *f, struct fleet_host *fh, struct fleet_batch *b)
{
	struct fleet_facts ff;
	bool was = fh->reachable;

	if (fh->bc == NULL) {
		fh->bc = backend_open(fh->uri);
		/* the backend keeps the watch across its reconnects */
		if (fh->bc && f->watch_fn &&
		    backend_watch(fh->bc, fleet_on_event, fh) < 0)
			log_warnx("fleet: no domain events from host '%s' (the "
			    "sweep still sees changes): %s", fh->name,
			    err_last()->msg);
	}
	if (fh->bc == NULL || fleet_facts(f, fh->bc, fh->pool_path, fh->pool,
	    &ff) < 0) {
		fleet_down(f, fh, b);
		return -1;
	}
	fleet_keep_pool(fh, &ff);
	/* a fenced host back: its evacuated VMs' copies go first */
	if (evacuate_sweep(f->store, fh->bc, fh->id, fh->name) < 0) {
		fleet_down(f, fh, b);
		return -1;
	}
	fh->reachable = true;
	fh->backoff_ms = 0;
	free(fh->last_err);
	fh->last_err = NULL;
	fleet_note(f, fh, &ff, b);
	if (!was)       /* new, or back: it gets every network */
		networks_ensure_host(f->store, fh->bc, fh->name);
	if (!was)
		log_info("fleet: host '%s' (%s) is ready: %s, %d CPUs, %lld "
		    "MiB, domain types %s, pool %lld GiB", fh->name, fh->uri,
		    ff.hf.arch, ff.hf.cpus, (long long)ff.hf.memory_mib,
		    ff.hf.domain_types, (long long)ff.disk_gib);
	return 0;
}

/*
 * A fleet entry for host h (as stored: what the store holds for it is
 * what counts as recorded).  The fleet owns it; NULL when out of memory.
 */
static struct fleet_host *
fleet_add(struct fleet *f, const struct host_rec *h)
{
	struct fleet_host *fh = calloc(1, sizeof(*fh));
	struct fleet_facts ff;

	if (fh == NULL)
		goto oom;
	fh->fleet = f;
	fh->id = h->id;
	snprintf(fh->name, sizeof(fh->name), "%s", h->name);
	pthread_mutex_init(&fh->mu, NULL);
	if ((fh->uri = strdup(h->uri)) == NULL ||
	    (h->pool_path[0] && (fh->pool_path = strdup(h->pool_path)) == NULL))
		goto oom;
	/* not reachable until connected; recorded: the stored state */
	fh->rec_reachable = strcmp(h->state, "ready") == 0;
	fleet_facts_from_rec(h, &ff);
	fh->rec_facts = fleet_facts_hash(&ff);
	fh->rec_epoch = __atomic_load_n(&f->epoch, __ATOMIC_ACQUIRE);
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
	struct fleet_batch b;
	struct store_conn *c;
	int r;

	if (store_tx(f->store, fleet_ensure_local, f) < 0)
		return -1;
	c = store_read_begin(f->store);
	r = store_host_each(c, fleet_add_rec, f);
	store_read_end(c);
	if (r < 0)
		return -1;
	/*
	 * One host after another.  Connecting from 8 threads answered
	 * sooner (2.0 s instead of 2.7 s for 10,000 test:/// hosts), but the
	 * extra malloc arenas it left made a large reply (GET /v1/vms of
	 * 100,000 VMs) keep ~290 MiB after it was freed in most runs, where
	 * one thread gives it all back (issue 7, bench P5).
	 */
	fleet_batch_init(&b);
	for (size_t i = 0; i < f->n; i++) {
		pthread_mutex_lock(&f->hosts[i]->mu);
		fleet_connect(f, f->hosts[i], &b);
		pthread_mutex_unlock(&f->hosts[i]->mu);
		fleet_batch_tick(f, &b);
	}
	fleet_batch_done(f, &b);
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
	struct fleet_facts ff;

	if ((bc = backend_open(h->uri)) == NULL ||
	    fleet_facts(f, bc, h->pool_path[0] ? h->pool_path : NULL, NULL,
	    &ff) < 0) {
		struct err e;

		err_save(&e);       /* the message is formatted into err_last() */
		backend_close(bc);
		/* a pool of the name its directory would get is elsewhere */
		if (e.code == ERR_CONFLICT)
			return err_set_field(ERR_CONFLICT, "pool_path",
			    "cannot use host '%s': %s", h->name, e.msg);
		/* the client's URI is what is wrong: say what libvirt said */
		return err_set_field(ERR_UNPROCESSABLE, "uri", "cannot use host "
		    "'%s': %s", h->name, e.msg);
	}
	fleet_facts_to_rec(&ff, h);
	snprintf(h->state, sizeof(h->state), "ready");
	if (store_tx(f->store, fleet_insert_tx, h) < 0 ||
	    view_host_put(f->view, h) < 0 || (fh = fleet_add(f, h)) == NULL) {
		backend_close(bc);
		return -1;
	}
	pthread_mutex_lock(&fh->mu);
	fh->bc = bc;
	fh->reachable = true;
	fleet_keep_pool(fh, &ff);
	if (f->watch_fn && backend_watch(bc, fleet_on_event, fh) < 0)
		log_warnx("fleet: no domain events from host '%s' (the sweep "
		    "still sees changes): %s", fh->name, err_last()->msg);
	networks_ensure_host(f->store, bc, fh->name);
	pthread_mutex_unlock(&fh->mu);
	log_info("fleet: registered host '%s' at '%s'", h->name, h->uri);
	return 0;
}

struct fleet_host *
fleet_find(struct fleet *f, int64_t host_id)
{
	struct fleet_host *fh = NULL;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n; i++)
		if (f->hosts[i]->id == host_id &&
		    !__atomic_load_n(&f->hosts[i]->removed, __ATOMIC_ACQUIRE))
			fh = f->hosts[i];
	pthread_mutex_unlock(&f->mu);
	return fh;
}

void
fleet_unregister(struct fleet *f, int64_t host_id)
{
	struct fleet_host *fh = fleet_find(f, host_id);

	view_host_remove(f->view, host_id);
	if (fh == NULL)
		return;
	/* the entry and its connection stay until fleet_close(): another
	 * thread may still hold them */
	pthread_mutex_lock(&fh->mu);
	__atomic_store_n(&fh->removed, true, __ATOMIC_RELEASE);
	if (fh->bc)
		backend_watch(fh->bc, NULL, NULL);
	pthread_mutex_unlock(&fh->mu);
	log_info("fleet: host '%s' removed", fh->name);
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
	    fleet_connect(f, fh, NULL) == 0))
		bc = fh->bc;
	else
		err_set(ERR_UNAVAILABLE, "host '%s' is unreachable: %s",
		    fh->name, fleet_why(fh));
	pthread_mutex_unlock(&fh->mu);
	return bc;
}

int
fleet_answers(struct fleet *f, int64_t host_id)
{
	struct fleet_host *fh = fleet_find(f, host_id);
	int r;

	if (fh == NULL)
		return err_set(ERR_NOT_FOUND, "host #%lld is not registered",
		    (long long)host_id);
	pthread_mutex_lock(&fh->mu);
	if (!fh->reachable)
		r = fleet_connect(f, fh, NULL) == 0;
	else if (fleet_look(f, fh) == 0)
		r = 1;
	else
		r = err_last()->code != ERR_UNAVAILABLE;  /* else down */
	if (fh->reachable && r == 0)
		fleet_down(f, fh, NULL);
	pthread_mutex_unlock(&fh->mu);
	err_clear();
	return r;
}

int
fleet_look(struct fleet *f, struct fleet_host *fh)
{
	struct fleet_facts ff;

	if (fleet_facts(f, fh->bc, fh->pool_path, fh->pool, &ff) < 0)
		return -1;
	fleet_keep_pool(fh, &ff);
	fleet_note(f, fh, &ff, NULL);
	return 0;
}

int
fleet_each_reachable(struct fleet *f, fleet_conn_fn fn, void *arg)
{
	struct fleet_host **list;
	size_t n;
	int r = 0;

	pthread_mutex_lock(&f->mu);
	n = f->n;
	list = calloc(n ? n : 1, sizeof(*list));
	if (list)
		memcpy(list, f->hosts, n * sizeof(*list));
	pthread_mutex_unlock(&f->mu);
	if (list == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	for (size_t i = 0; i < n && r == 0; i++) {
		struct fleet_host *fh = list[i];

		pthread_mutex_lock(&fh->mu);
		if (!fh->removed && fh->reachable && fh->bc)
			r = fn(fh->bc, fh->name, arg);
		pthread_mutex_unlock(&fh->mu);
	}
	free(list);
	return r;
}

void
fleet_check(struct fleet *f)
{
	struct fleet_host **list;
	struct fleet_batch b;
	struct fleet_facts ff;
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
	fleet_batch_init(&b);
	for (size_t i = 0; i < n; i++) {
		struct fleet_host *fh = list[i];

		pthread_mutex_lock(&fh->mu);
		if (fh->removed) {
			/* nothing to check */
		} else if (!fh->reachable) {
			if (time_now_ms() >= fh->next_try_ms)
				fleet_connect(f, fh, &b);
		} else if (fleet_facts(f, fh->bc, fh->pool_path, fh->pool,
		    &ff) == 0) {
			fleet_keep_pool(fh, &ff);
			fleet_note(f, fh, &ff, &b);
		} else if (err_last()->code == ERR_UNAVAILABLE) {
			fleet_down(f, fh, &b);
		} else {        /* the host answers: it is not down */
			log_warnx("fleet: cannot refresh host '%s': %s",
			    fh->name, err_last()->msg);
		}
		pthread_mutex_unlock(&fh->mu);
		fleet_batch_tick(f, &b);
	}
	fleet_batch_done(f, &b);
	free(list);
	err_clear();
}
