/*
 * reconcile.h - the sweep that keeps each VM's observed state true to
 * what libvirt reports, at start-up and then periodically.
 */
#ifndef HANGAR_RECONCILE_H
#define HANGAR_RECONCILE_H

struct app;
struct reconcile;

/* Sweep once now, then every cfg.reconcile_interval_s in a thread. */
struct reconcile *reconcile_start(struct app *app);
/* Stop the thread and free; NULL is fine. */
void reconcile_stop(struct reconcile *r);
/* One sweep: check every host, then every VM that has no operation
 * under way. */
void reconcile_sweep(struct app *app);

#endif
