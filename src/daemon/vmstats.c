/*
 * vmstats.c - the hosts' domain statistics for metrics (vmstats.h).
 *
 * One entry per host, kept sorted by id.  A scrape queues the hosts whose
 * statistics are older than VMSTATS_TTL_MS; VMSTATS_WORKERS threads take
 * them from the queue and make the one backend call each (off the
 * request's thread, without the lock), then swap the new array in.  The
 * scrape waits on a condition variable until its hosts are done or
 * VMSTATS_WAIT_MS passed, and shows what is there (the values before,
 * for a host still being read).  A host whose call failed, or has been
 * under way for VMSTATS_HUNG_MS, is reported not up, with its last
 * values: a hung host holds one worker, never a scrape.
 *
 * Shutdown: vmstats_close() tells the workers to stop and waits for them
 * a few seconds; a worker still inside libvirt then is left with the
 * whole state (leaked, not freed under it).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"
#include "vmstats.h"

struct vmstats {
	struct fleet *fleet;
	pthread_mutex_t mu;
	pthread_cond_t work;         /* the queue has something */
	pthread_cond_t done;         /* a host's call finished */
	struct vmstats_host **h;     /* by id */
	size_t n, cap;
	struct vmstats_host *head, *tail;   /* the queue */
	bool stop;
	pthread_t t[VMSTATS_WORKERS];
	size_t nt;
};

/* A growing array of one host's domains, filled by the backend's walk. */
struct vmstats_acc {
	struct domain_stats *d;
	size_t n, cap;
};

static int
vmstats_acc_add(const struct domain_stats *d, void *arg)
{
	struct vmstats_acc *a = arg;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct domain_stats *p = realloc(a->d, cap * sizeof(*p));

		if (p == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		a->d = p;
		a->cap = cap;
	}
	a->d[a->n++] = *d;
	return 0;
}

static int
vmstats_cmp_uuid(const void *a, const void *b)
{
	return strcmp(((const struct domain_stats *)a)->uuid,
	    ((const struct domain_stats *)b)->uuid);
}

/* One host's call, without the lock; 0 with acc filled and sorted. */
static int
vmstats_read(struct vmstats *vs, int64_t id, struct vmstats_acc *acc)
{
	struct backend_conn *bc = fleet_conn(vs->fleet, id);

	if (bc == NULL || backend_domain_stats(bc, vmstats_acc_add, acc) < 0)
		return -1;
	if (acc->n > 1)         /* a host without domains: acc->d NULL */
		qsort(acc->d, acc->n, sizeof(*acc->d), vmstats_cmp_uuid);
	return 0;
}

static void *
vmstats_worker(void *arg)
{
	struct vmstats *vs = arg;

	pthread_mutex_lock(&vs->mu);
	while (!vs->stop) {
		struct vmstats_host *h = vs->head;
		struct vmstats_acc acc = { NULL, 0, 0 };
		int rc;

		if (h == NULL) {
			pthread_cond_wait(&vs->work, &vs->mu);
			continue;
		}
		if ((vs->head = h->next) == NULL)
			vs->tail = NULL;
		h->next = NULL;
		h->queued = false;
		h->busy = true;
		h->started_ms = time_mono_ms();
		pthread_mutex_unlock(&vs->mu);
		err_clear();
		rc = vmstats_read(vs, h->id, &acc);
		if (rc < 0)
			log_debug("metrics: no statistics from host %lld: %s",
			    (long long)h->id, err_last()->msg);
		pthread_mutex_lock(&vs->mu);
		h->busy = false;
		h->ok = rc == 0;
		if (rc == 0) {
			free(h->d);
			h->d = acc.d;
			h->n = acc.n;
			h->at_ms = time_mono_ms();
		} else {
			free(acc.d);
		}
		pthread_cond_broadcast(&vs->done);
	}
	pthread_mutex_unlock(&vs->mu);
	return NULL;
}

struct vmstats *
vmstats_open(struct fleet *f)
{
	struct vmstats *vs = calloc(1, sizeof(*vs));

	if (vs == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	vs->fleet = f;
	pthread_mutex_init(&vs->mu, NULL);
	pthread_cond_init(&vs->work, NULL);
	pthread_cond_init(&vs->done, NULL);
	for (; vs->nt < VMSTATS_WORKERS; vs->nt++)
		if (pthread_create(&vs->t[vs->nt], NULL, vmstats_worker,
		    vs) != 0)
			break;
	if (vs->nt == 0) {
		vmstats_close(vs);
		err_set(ERR_INTERNAL, "cannot start the statistics threads");
		return NULL;
	}
	return vs;
}

void
vmstats_close(struct vmstats *vs)
{
	struct timespec ts;
	bool all = true;

	if (vs == NULL)
		return;
	pthread_mutex_lock(&vs->mu);
	vs->stop = true;
	pthread_cond_broadcast(&vs->work);
	pthread_mutex_unlock(&vs->mu);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	for (size_t i = 0; i < vs->nt; i++)
		if (pthread_timedjoin_np(vs->t[i], NULL, &ts) != 0)
			all = false;
	if (!all) {
		log_warnx("metrics: a host's statistics call did not end; "
		    "left to it");
		return;
	}
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->h[i]->d);
		free(vs->h[i]);
	}
	free(vs->h);
	pthread_cond_destroy(&vs->done);
	pthread_cond_destroy(&vs->work);
	pthread_mutex_destroy(&vs->mu);
	free(vs);
}

/* The index where id is, or would go, in vs->h. */
static size_t
vmstats_index(const struct vmstats *vs, int64_t id)
{
	size_t lo = 0, hi = vs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (vs->h[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Host id's entry, made if need be (lock held); NULL: out of memory. */
static struct vmstats_host *
vmstats_entry(struct vmstats *vs, int64_t id)
{
	size_t i = vmstats_index(vs, id);
	struct vmstats_host *h;

	if (i < vs->n && vs->h[i]->id == id)
		return vs->h[i];
	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? vs->cap * 2 : 16;
		struct vmstats_host **p = realloc(vs->h, cap * sizeof(*p));

		if (p == NULL)
			return NULL;
		vs->h = p;
		vs->cap = cap;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->id = id;
	memmove(vs->h + i + 1, vs->h + i, (vs->n - i) * sizeof(*vs->h));
	vs->h[i] = h;
	vs->n++;
	return h;
}

/* Are any of ids still waited for (queued, or busy and not late)? */
static bool
vmstats_pending(struct vmstats *vs, const int64_t *ids, size_t n,
    int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = vmstats_index(vs, ids[i]);
		const struct vmstats_host *h;

		if (k >= vs->n || vs->h[k]->id != ids[i])
			continue;
		h = vs->h[k];
		if (h->queued || (h->busy && now - h->started_ms <
		    VMSTATS_WAIT_MS))
			return true;
	}
	return false;
}

void
vmstats_refresh(struct vmstats *vs, const int64_t *ids, size_t n)
{
	int64_t now = time_mono_ms(), deadline = now + VMSTATS_WAIT_MS;
	struct timespec ts;

	pthread_mutex_lock(&vs->mu);
	for (size_t i = 0; i < n; i++) {
		struct vmstats_host *h = vmstats_entry(vs, ids[i]);

		if (h == NULL || h->queued || h->busy ||
		    (h->tried_ms && now - h->tried_ms < VMSTATS_TTL_MS))
			continue;
		h->tried_ms = now;
		h->queued = true;
		if (vs->tail)
			vs->tail->next = h;
		else
			vs->head = h;
		vs->tail = h;
	}
	pthread_cond_broadcast(&vs->work);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += VMSTATS_WAIT_MS / 1000;
	ts.tv_nsec += (VMSTATS_WAIT_MS % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while ((now = time_mono_ms()) < deadline &&
	    vmstats_pending(vs, ids, n, now))
		if (pthread_cond_timedwait(&vs->done, &vs->mu, &ts) != 0)
			break;
	/* up: the last call answered and the one under way is not hung */
	for (size_t i = 0; i < vs->n; i++) {
		struct vmstats_host *h = vs->h[i];

		h->up = h->ok && !(h->busy && now - h->started_ms >=
		    VMSTATS_HUNG_MS);
	}
	pthread_mutex_unlock(&vs->mu);
}

void
vmstats_lock(struct vmstats *vs)
{
	pthread_mutex_lock(&vs->mu);
}

void
vmstats_unlock(struct vmstats *vs)
{
	pthread_mutex_unlock(&vs->mu);
}

const struct vmstats_host *
vmstats_host(struct vmstats *vs, int64_t id)
{
	size_t i = vmstats_index(vs, id);

	return i < vs->n && vs->h[i]->id == id ? vs->h[i] : NULL;
}

const struct domain_stats *
vmstats_domain(const struct vmstats_host *h, const char *uuid)
{
	struct domain_stats key;

	if (h == NULL || h->d == NULL)
		return NULL;
	snprintf(key.uuid, sizeof(key.uuid), "%s", uuid);
	return bsearch(&key, h->d, h->n, sizeof(*h->d), vmstats_cmp_uuid);
}
