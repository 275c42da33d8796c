/*
 * metrics.h - the process's own counters and histograms (API requests,
 * operations, events, store commits), cheap enough for hot paths and
 * safe from any thread: a sample is a few atomic adds on its series,
 * found lock-free by hashing its label values; only the first sample of
 * a new series takes its family's lock.  GET /metrics (api/metrics.c)
 * prints them with metrics_write_all().
 *
 * The hooks are one line where the thing happens:
 *	int64_t t0 = metrics_now_ns();
 *	...
 *	metrics_api_request(method, pattern, status, t0);      (server.c)
 *
 * To add one: a `struct metrics_family` in metrics.c (name, help, type,
 * label names, buckets), its row in metrics_all[], and a hook function
 * declared here.  docs/HACKING.md has the recipe.
 */
#ifndef HANGAR_METRICS_H
#define HANGAR_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promtext.h"

#define METRICS_LABELS_MAX 3
#define METRICS_BUCKETS_MAX 16
#define METRICS_SERIES_MAX 2048     /* per family (a power of two) */
#define METRICS_VALUE_MAX 96        /* bytes of a label value kept */

struct metrics_series;

struct metrics_family {
	const char *name;            /* a counter's ends in _total */
	const char *help;
	enum pt_type type;           /* PT_COUNTER or PT_HISTOGRAM */
	const char *labels[METRICS_LABELS_MAX + 1];  /* NULL-terminated */
	const double *bounds;        /* PT_HISTOGRAM: upper bounds */
	size_t nbounds;              /* <= METRICS_BUCKETS_MAX */
	/* state */
	pthread_mutex_t mu;          /* taken to add a series */
	struct metrics_series *slot[METRICS_SERIES_MAX];  /* (__atomic) */
	unsigned dropped;            /* (__atomic) samples of series that
	                              * found no free slot */
};

/* A monotonic clock in nanoseconds, for durations. */
int64_t metrics_now_ns(void);

/*
 * Add v to the series of f with these label values (as many as f has
 * label names; longer ones are cut to METRICS_VALUE_MAX - 1 bytes): a
 * counter counts v, a histogram observes v.
 */
void metrics_add(struct metrics_family *f, const char *const *values,
    double v);
/* Every series of f into pt (its family declared first). */
void metrics_write(struct metrics_family *f, struct promtext *pt);
/* Every family of the process into pt. */
void metrics_write_all(struct promtext *pt);
/* Forget every series (tests). */
void metrics_reset_all(void);

/* --- the hooks --- */
/* A request answered: its method, route pattern (NULL: no route; server.c
 * passes "(unauthenticated)" for one refused before its sender was
 * known), status, and metrics_now_ns() when it came in. */
void metrics_api_request(const char *method, const char *route,
    unsigned status, int64_t t0_ns);
/* An operation finished: kind, outcome (succeeded, failed, cancelled) and
 * how long it took since it was accepted, in seconds (< 0: not known). */
void metrics_op_done(const char *kind, const char *outcome, double secs);
/* An event of type was appended. */
void metrics_event(const char *type);
/* A store transaction committed (or failed) after starting at t0_ns. */
void metrics_store_commit(bool durable, int64_t t0_ns);

#endif
