/*
 * metrics.c - the process's counters and histograms (metrics.h): the
 * families as data, the lock-free series table of each, and the hooks.
 *
 * A family's series live in a fixed open-addressed table of pointers.  A
 * sample hashes its label values, probes for its series (atomic loads,
 * no lock) and adds to it with atomic adds; a series not there yet is
 * made under the family's lock and published with a release store, so a
 * reader sees it whole.  Series are never freed while the process runs
 * (their number is bounded by the label values: routes x statuses,
 * kinds x outcomes, event types).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

struct metrics_series {
	uint64_t hash;
	char values[METRICS_LABELS_MAX][METRICS_VALUE_MAX];
	uint64_t count;                     /* (__atomic) */
	uint64_t sum;                       /* (__atomic) a double's bits */
	uint64_t bucket[METRICS_BUCKETS_MAX];  /* (__atomic) not cumulative */
};

/* Latency buckets, in seconds: 0.5 ms .. 10 s. */
static const double metrics_fast[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10,
};
/* Operation buckets, in seconds: 0.1 s .. 1 h. */
static const double metrics_slow[] = {
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
};
#define NB(a) (sizeof(a) / sizeof((a)[0]))

static struct metrics_family metrics_api_total = {
	.name = "hangar_api_requests_total",
	.help = "HTTP requests answered, by method, route pattern and status.",
	.type = PT_COUNTER, .labels = { "method", "route", "code", NULL },
	.mu = PTHREAD_MUTEX_INITIALIZER,
};
static struct metrics_family metrics_api_seconds = {
	.name = "hangar_api_request_duration_seconds",
	.help = "Time from a request's headers to its reply being ready.",
	.type = PT_HISTOGRAM, .labels = { "method", "route", NULL },
	.bounds = metrics_fast, .nbounds = NB(metrics_fast),
	.mu = PTHREAD_MUTEX_INITIALIZER,
};
static struct metrics_family metrics_ops_total = {
	.name = "hangar_operations_total",
	.help = "Operations finished, by kind and outcome.",
	.type = PT_COUNTER, .labels = { "kind", "outcome", NULL },
	.mu = PTHREAD_MUTEX_INITIALIZER,
};
static struct metrics_family metrics_ops_seconds = {
	.name = "hangar_operation_duration_seconds",
	.help = "How long finished operations took, from accepted to "
	    "finished (queueing and waits included), by kind.",
	.type = PT_HISTOGRAM, .labels = { "kind", NULL },
	.bounds = metrics_slow, .nbounds = NB(metrics_slow),
	.mu = PTHREAD_MUTEX_INITIALIZER,
};
static struct metrics_family metrics_events_total = {
	.name = "hangar_events_total",
	.help = "Events appended to the event log, by type.",
	.type = PT_COUNTER, .labels = { "type", NULL },
	.mu = PTHREAD_MUTEX_INITIALIZER,
};
static struct metrics_family metrics_commit_seconds = {
	.name = "hangar_store_commit_duration_seconds",
	.help = "Time a store transaction took, queue and fsync included, by "
	    "durability (durable: synced; lazy: synced later).",
	.type = PT_HISTOGRAM, .labels = { "durability", NULL },
	.bounds = metrics_fast, .nbounds = NB(metrics_fast),
	.mu = PTHREAD_MUTEX_INITIALIZER,
};

static struct metrics_family *const metrics_all[] = {
	&metrics_api_total, &metrics_api_seconds, &metrics_ops_total,
	&metrics_ops_seconds, &metrics_events_total, &metrics_commit_seconds,
};

int64_t
metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static size_t
metrics_nlabels(const struct metrics_family *f)
{
	size_t n = 0;

	while (n < METRICS_LABELS_MAX && f->labels[n])
		n++;
	return n;
}

/* FNV-1a over the values as they are kept (cut, each ended by a 0). */
static uint64_t
metrics_hash(const char *const *values, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		const char *v = values[i] ? values[i] : "";

		for (size_t j = 0; v[j] && j < METRICS_VALUE_MAX - 1; j++)
			h = (h ^ (unsigned char)v[j]) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
	}
	return h;
}

static bool
metrics_same(const struct metrics_series *s, uint64_t h,
    const char *const *values, size_t n)
{
	if (s->hash != h)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strncmp(s->values[i], values[i] ? values[i] : "",
		    METRICS_VALUE_MAX - 1) != 0)
			return false;
	return true;
}

/* The series of values in f, made if need be; NULL when f is full. */
static struct metrics_series *
metrics_series(struct metrics_family *f, const char *const *values)
{
	size_t n = metrics_nlabels(f), mask = METRICS_SERIES_MAX - 1;
	uint64_t h = metrics_hash(values, n);
	struct metrics_series *s, *made = NULL;
	size_t i = (size_t)h & mask;

	for (size_t probe = 0; probe < METRICS_SERIES_MAX; probe++) {
		size_t at = (i + probe) & mask;

		s = __atomic_load_n(&f->slot[at], __ATOMIC_ACQUIRE);
		if (s == NULL) {
			pthread_mutex_lock(&f->mu);
			s = __atomic_load_n(&f->slot[at], __ATOMIC_ACQUIRE);
			if (s == NULL && (made = calloc(1, sizeof(*made)))) {
				made->hash = h;
				for (size_t k = 0; k < n; k++)
					strncpy(made->values[k], values[k] ?
					    values[k] : "", METRICS_VALUE_MAX -
					    1);
				__atomic_store_n(&f->slot[at], made,
				    __ATOMIC_RELEASE);
				s = made;
			}
			pthread_mutex_unlock(&f->mu);
			if (s == NULL)
				return NULL;      /* out of memory */
		}
		if (metrics_same(s, h, values, n))
			return s;
	}
	return NULL;
}

void
metrics_add(struct metrics_family *f, const char *const *values, double v)
{
	struct metrics_series *s = metrics_series(f, values);
	uint64_t old, new;
	double d;
	size_t b;

	if (s == NULL) {
		__atomic_fetch_add(&f->dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	if (f->type == PT_HISTOGRAM) {
		for (b = 0; b < f->nbounds && v > f->bounds[b]; b++)
			;
		if (b < f->nbounds)
			__atomic_fetch_add(&s->bucket[b], 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
	}
	old = __atomic_load_n(&s->sum, __ATOMIC_RELAXED);
	do {
		memcpy(&d, &old, sizeof(d));
		d += v;
		memcpy(&new, &d, sizeof(new));
	} while (!__atomic_compare_exchange_n(&s->sum, &old, new, true,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

void
metrics_write(struct metrics_family *f, struct promtext *pt)
{
	size_t n = metrics_nlabels(f);

	promtext_family(pt, f->name, f->type, f->help);
	for (size_t i = 0; i < METRICS_SERIES_MAX; i++) {
		struct metrics_series *s = __atomic_load_n(&f->slot[i],
		    __ATOMIC_ACQUIRE);
		const char *lv[2 * METRICS_LABELS_MAX + 1];
		uint64_t bk[METRICS_BUCKETS_MAX], count, sum;
		double d;

		if (s == NULL)
			continue;
		for (size_t k = 0; k < n; k++) {
			lv[2 * k] = f->labels[k];
			lv[2 * k + 1] = s->values[k];
		}
		lv[2 * n] = NULL;
		sum = __atomic_load_n(&s->sum, __ATOMIC_RELAXED);
		memcpy(&d, &sum, sizeof(d));
		if (f->type != PT_HISTOGRAM) {
			promtext_sample(pt, f->name, lv, d);
			continue;
		}
		/* read while others add: +Inf (the count) is made at least
		 * the buckets' sum, so the buckets never exceed it */
		count = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
		for (size_t b = 0; b < f->nbounds; b++)
			bk[b] = __atomic_load_n(&s->bucket[b],
			    __ATOMIC_RELAXED);
		{
			uint64_t in = 0;

			for (size_t b = 0; b < f->nbounds; b++)
				in += bk[b];
			if (in > count)
				count = in;
		}
		promtext_histogram(pt, f->name, lv, f->bounds, bk, f->nbounds,
		    d, count);
	}
}

void
metrics_write_all(struct promtext *pt)
{
	for (size_t i = 0; i < NB(metrics_all); i++)
		metrics_write(metrics_all[i], pt);
}

void
metrics_reset_all(void)
{
	for (size_t i = 0; i < NB(metrics_all); i++) {
		struct metrics_family *f = metrics_all[i];

		pthread_mutex_lock(&f->mu);
		for (size_t k = 0; k < METRICS_SERIES_MAX; k++) {
			free(f->slot[k]);
			f->slot[k] = NULL;
		}
		pthread_mutex_unlock(&f->mu);
	}
}

void
metrics_api_request(const char *method, const char *route, unsigned status,
    int64_t t0_ns)
{
	double secs = (double)(metrics_now_ns() - t0_ns) / 1e9;
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
	    "PATCH", "DELETE", "OPTIONS" };
	const char *r = route ? route : "(none)", *m = "OTHER";
	char code[12];

	/* the client picks the method: only known ones become a label */
	for (size_t i = 0; method && i < NB(known); i++)
		if (strcmp(method, known[i]) == 0)
			m = known[i];
	snprintf(code, sizeof(code), "%u", status);
	metrics_add(&metrics_api_total, (const char *[]){ m, r, code },
	    1);
	metrics_add(&metrics_api_seconds, (const char *[]){ m, r },
	    secs);
}

void
metrics_op_done(const char *kind, const char *outcome, double secs)
{
	metrics_add(&metrics_ops_total, (const char *[]){ kind, outcome }, 1);
	if (secs >= 0)
		metrics_add(&metrics_ops_seconds, (const char *[]){ kind },
		    secs);
}

void
metrics_event(const char *type)
{
	metrics_add(&metrics_events_total, (const char *[]){ type }, 1);
}

void
metrics_store_commit(bool durable, int64_t t0_ns)
{
	metrics_add(&metrics_commit_seconds,
	    (const char *[]){ durable ? "durable" : "lazy" },
	    (double)(metrics_now_ns() - t0_ns) / 1e9);
}
