/*
 * fleet.c - the daemon's connections to its hosts: one backend connection
 * per registered host, opened at start-up and reopened (at most every
 * FLEET_RETRY_MS) when a host could not be reached.  Host facts (CPUs,
 * memory, arch, kvm or qemu) are refreshed from the backend on connect.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

#define FLEET_MAX_HOSTS 4096
#define FLEET_RETRY_MS 2000

struct fleet_host {
	int64_t id;
	char name[NAME_MAX_LEN];
	char uri[1024];
	pthread_mutex_t mu;
	struct backend_conn *bc;
	int64_t next_try_ms;
	struct err last_err;
};

struct fleet {
	struct store *store;
	char pool[256];
	char pool_path[CONFIG_STR_MAX];
	pthread_mutex_t mu;          /* guards hosts/n */
	struct fleet_host *hosts[FLEET_MAX_HOSTS];
	size_t n;
};

struct fleet *
fleet_open(struct store *s)
{
	struct fleet *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	f->store = s;
	pthread_mutex_init(&f->mu, NULL);
	return f;
}

void
fleet_close(struct fleet *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		backend_close(f->hosts[i]->bc);
		pthread_mutex_destroy(&f->hosts[i]->mu);
		free(f->hosts[i]);
	}
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* Record a reachable host's facts (arg: struct host_rec *). */
static int
fleet_save_facts(struct store_conn *c, void *arg)
{
	struct host_rec *h = arg;

	if (store_host_update_facts(c, h) < 0)
		return -1;
	return store_host_set_state(c, h->id, "ready");
}

/* Mark a host unreachable (arg: struct fleet_host *). */
static int
fleet_save_unreachable(struct store_conn *c, void *arg)
{
	struct fleet_host *fh = arg;

	return store_host_set_state(c, fh->id, "unreachable");
}

/* Connect fh (its mutex held) and record what the host is. */
static int
fleet_connect(struct fleet *f, struct fleet_host *fh)
{
	struct host_facts hf;
	struct host_rec h;
	struct err e;

	memset(&h, 0, sizeof(h));
	h.id = fh->id;
	fh->bc = backend_open(fh->uri);
	if (fh->bc == NULL)
		goto fail;
	if (backend_host_facts(fh->bc, &hf) < 0 ||
	    backend_pool_ensure(fh->bc, f->pool, f->pool_path) < 0) {
		err_save(&e);
		backend_close(fh->bc);
		fh->bc = NULL;
		err_restore(&e);
		goto fail;
	}
	snprintf(h.arch, sizeof(h.arch), "%s", hf.arch);
	snprintf(h.domain_type, sizeof(h.domain_type), "%s", hf.domain_type);
	snprintf(h.cpu_model, sizeof(h.cpu_model), "%s", hf.cpu_model);
	h.cpus = hf.cpus;
	h.memory_mib = hf.memory_mib;
	h.free_memory_mib = hf.free_memory_mib;
	if (store_tx(f->store, fleet_save_facts, &h) < 0)
		log_warnx("fleet: cannot record the facts of host '%s': %s",
		    fh->name, err_last()->msg);
	log_info("fleet: host '%s' (%s) is ready: %s, %d CPUs, %lld MiB, "
	    "domain type %s", fh->name, fh->uri, hf.arch, hf.cpus,
	    (long long)hf.memory_mib, hf.domain_type);
	return 0;
fail:
	err_save(&fh->last_err);
	fh->next_try_ms = time_now_ms() + FLEET_RETRY_MS;
	log_warnx("fleet: host '%s' is unreachable: %s", fh->name,
	    fh->last_err.msg);
	if (store_tx(f->store, fleet_save_unreachable, fh) < 0)
		log_warnx("fleet: cannot record host '%s' as unreachable: %s",
		    fh->name, err_last()->msg);
	err_restore(&fh->last_err);
	return -1;
}

static int
fleet_add(const struct host_rec *h, void *arg)
{
	struct fleet *f = arg;
	struct fleet_host *fh;

	if (f->n == FLEET_MAX_HOSTS)
		return err_set(ERR_INTERNAL, "too many hosts");
	if ((fh = calloc(1, sizeof(*fh))) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	fh->id = h->id;
	snprintf(fh->name, sizeof(fh->name), "%s", h->name);
	snprintf(fh->uri, sizeof(fh->uri), "%s", h->uri);
	pthread_mutex_init(&fh->mu, NULL);
	f->hosts[f->n++] = fh;
	return 0;
}

struct fleet_local_arg {
	const char *uri;
};

static int
fleet_ensure_local(struct store_conn *c, void *arg)
{
	struct fleet_local_arg *a = arg;
	struct host_rec h;
	int64_t n;

	if (store_host_count(c, &n) < 0)
		return -1;
	if (n > 0)
		return 0;
	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "local");
	snprintf(h.uri, sizeof(h.uri), "%s", a->uri);
	if (store_host_insert(c, &h) < 0)
		return -1;
	log_info("fleet: registered host 'local' at '%s'", a->uri);
	return 0;
}

int
fleet_start(struct fleet *f, const char *local_uri, const char *pool,
    const char *pool_path)
{
	struct fleet_local_arg la = { local_uri };
	struct store_conn *c;
	int r;

	snprintf(f->pool, sizeof(f->pool), "%s", pool);
	snprintf(f->pool_path, sizeof(f->pool_path), "%s", pool_path);
	if (store_tx(f->store, fleet_ensure_local, &la) < 0)
		return -1;
	c = store_read_begin(f->store);
	r = store_host_each(c, fleet_add, f);
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

struct backend_conn *
fleet_conn(struct fleet *f, int64_t host_id)
{
	struct fleet_host *fh = NULL;
	struct backend_conn *bc;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n; i++)
		if (f->hosts[i]->id == host_id)
			fh = f->hosts[i];
	pthread_mutex_unlock(&f->mu);
	if (fh == NULL) {
		err_set(ERR_NOT_FOUND, "host #%lld is not known to the fleet",
		    (long long)host_id);
		return NULL;
	}
	pthread_mutex_lock(&fh->mu);
	if (fh->bc == NULL && time_now_ms() >= fh->next_try_ms)
		fleet_connect(f, fh);
	bc = fh->bc;
	if (bc == NULL)
		err_set(ERR_UNAVAILABLE, "host '%s' is unreachable: %s",
		    fh->name, fh->last_err.msg);
	pthread_mutex_unlock(&fh->mu);
	return bc;
}
