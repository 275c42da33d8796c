/*
 * reconcile.h - the sweep that keeps each VM's observed state true to
 * what libvirt reports, at start-up and then periodically.
 */
#ifndef HANGAR_RECONCILE_H
#define HANGAR_RECONCILE_H

struct app;
struct reconcile;

/*
 * Start the sweeping thread: a first sweep at once (of the VMs only:
 * fleet_start has just looked at every host), then one every
 * cfg.reconcile_interval_s.  Returns without waiting for the first.
 */
struct reconcile *reconcile_start(struct app *app);
/* Stop the thread and free; NULL is fine. */
void reconcile_stop(struct reconcile *r);
/* One sweep: check every host, then every VM that has no operation
 * under way, a page of VMs at a time. */
void reconcile_sweep(struct app *app);

/* Look at one VM (by uuid) now, unless an operation is under way on it. */
void reconcile_vm(struct app *app, const char *uuid);
/* Delete operations, events and idempotency keys past their retention. */
void reconcile_prune(struct app *app);

/* watch.c: libvirt's domain events, turned into looks at those VMs. */
struct watch;
/* Create the watcher and hook it to the fleet (before fleet_start). */
struct watch *watch_new(struct app *app);
/* Start its thread. */
int watch_start(struct watch *w);
/* Stop its thread; events may still be queued (and ignored) after. */
void watch_stop(struct watch *w);
/* Free it, once the fleet is closed. */
void watch_free(struct watch *w);

#endif
