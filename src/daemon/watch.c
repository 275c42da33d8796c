/*
 * watch.c - libvirt's domain lifecycle events, turned into an immediate
 * look at the VM they are about.
 *
 * The backend calls watch_event() on its event thread for every domain
 * that started, stopped, paused, resumed or crashed on any host, whoever
 * caused it (hangar, `virsh suspend`, a killed QEMU).  That thread must
 * not block, so the event only queues the domain's UUID; this module's
 * thread then asks libvirt for the domain's real state and records it
 * (reconcile_vm), which appends the vm.* event.  The event itself is never
 * trusted for the state: events can arrive late or be coalesced; the
 * state read afterwards cannot be stale.  A VM with an operation under way
 * is looked at again shortly after (the operation records its own
 * outcome, but a change made behind its back must not be missed), and
 * the operation is poked (ops_poke): a graceful stop parked until its
 * guest is off finishes when the guest goes off, not at its next look.  When a
 * host's connection closes, the fleet is checked at once so the host shows
 * unreachable without waiting for the sweep.  A full queue falls back to a
 * sweep of everything: nothing is lost, only batched.
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

#define WATCH_QUEUE 1024
#define WATCH_RETRY_MS 300      /* look again while an operation runs */
#define WATCH_RETRIES 100       /* ... for at most 30 s */

struct watch_item {
	char uuid[UUID_STR_LEN];   /* "" = a host's connection closed */
	int64_t due_ms;
	int tries;
};

struct watch {
	struct app *app;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	bool sweep;                /* the queue overflowed */
	struct watch_item q[WATCH_QUEUE];
	size_t n;
};

/* Queue a look (w->mu held); a UUID already waiting is not queued twice. */
static void
watch_push(struct watch *w, const char *uuid, int64_t due_ms, int tries)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->q[i].uuid, uuid) == 0)
			return;
	if (w->n == WATCH_QUEUE) {
		w->sweep = true;
		return;
	}
	snprintf(w->q[w->n].uuid, sizeof(w->q[0].uuid), "%s", uuid);
	w->q[w->n].due_ms = due_ms;
	w->q[w->n].tries = tries;
	w->n++;
	pthread_cond_signal(&w->cond);
}

static void
watch_event(void *arg, int64_t host_id, const char *uuid, const char *event)
{
	struct watch *w = arg;

	log_debug("watch: host #%lld: %s %s", (long long)host_id,
	    uuid ? uuid : "connection", event);
	pthread_mutex_lock(&w->mu);
	watch_push(w, uuid ? uuid : "", 0, 0);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Is the VM busy with an operation?  If so, that operation is poked: one
 * parked waiting for its guest (a graceful stop) looks again now.
 */
static bool
watch_busy(struct app *app, const char *uuid)
{
	struct store_conn *c = store_read_begin(app->store);
	struct vm_rec v;
	bool busy = store_vm_get(c, uuid, &v) == 0 && v.op_id[0];

	store_read_end(c);
	if (busy)
		ops_poke(app->ops, v.op_id);
	return busy;
}

static void
watch_handle(struct watch *w, struct watch_item *it)
{
	if (it->uuid[0] == '\0') {
		fleet_check(w->app->fleet);
		return;
	}
	if (watch_busy(w->app, it->uuid)) {
		if (it->tries < WATCH_RETRIES) {
			pthread_mutex_lock(&w->mu);
			watch_push(w, it->uuid, time_now_ms() + WATCH_RETRY_MS,
			    it->tries + 1);
			pthread_mutex_unlock(&w->mu);
		}
		return;
	}
	reconcile_vm(w->app, it->uuid);
}

static void *
watch_loop(void *arg)
{
	struct watch *w = arg;
	struct watch_item it;
	struct timespec ts;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		int64_t now = time_now_ms(), next = 0;
		size_t i;

		if (w->sweep) {
			w->sweep = false;
			pthread_mutex_unlock(&w->mu);
			reconcile_sweep(w->app);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		for (i = 0; i < w->n; i++) {
			if (w->q[i].due_ms <= now)
				break;
			if (next == 0 || w->q[i].due_ms < next)
				next = w->q[i].due_ms;
		}
		if (i == w->n) {
			if (next) {
				ts.tv_sec = (time_t)(next / 1000);
				ts.tv_nsec = (long)(next % 1000) * 1000000L;
				pthread_cond_timedwait(&w->cond, &w->mu, &ts);
			} else {
				pthread_cond_wait(&w->cond, &w->mu);
			}
			continue;
		}
		it = w->q[i];
		memmove(&w->q[i], &w->q[i + 1], (w->n - i - 1) * sizeof(it));
		w->n--;
		pthread_mutex_unlock(&w->mu);
		watch_handle(w, &it);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct watch *
watch_new(struct app *app)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	w->app = app;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	fleet_watch(app->fleet, watch_event, w);
	return w;
}

int
watch_start(struct watch *w)
{
	if (pthread_create(&w->thread, NULL, watch_loop, w) != 0)
		return err_set(ERR_INTERNAL, "cannot start the event watcher");
	w->started = true;
	return 0;
}

void
watch_stop(struct watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
	/* the fleet may still deliver events until it is closed: only
	 * watch_free(), after fleet_close(), frees the struct */
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
