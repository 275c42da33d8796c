/*
 * promtext.h - a writer of the Prometheus text exposition format, version
 * 0.0.4 (what GET /metrics answers).  Families and samples may be added
 * in any order; promtext_finish() prints the families sorted by name and,
 * inside a family, the series sorted by their label text (a histogram's
 * buckets stay together, in their order), so two scrapes of the same
 * state are the same bytes.  Label values and HELP texts are escaped as
 * the format says (backslash, double quote, newline).
 *
 * Example:
 *	struct promtext *pt = promtext_new();
 *	promtext_family(pt, "hangar_vm_cpu_seconds_total", PT_COUNTER,
 *	    "CPU time the VM's vCPUs used.");
 *	promtext_sample(pt, "hangar_vm_cpu_seconds_total",
 *	    (const char *[]){ "vm", name, NULL }, 12.5);
 *	text = promtext_finish(pt, &len);    (malloc'd; pt is freed)
 *
 * Errors: out of memory is remembered and promtext_finish() returns NULL
 * (with ERR_INTERNAL set); a sample of a family never declared is a
 * programming error and is dropped.
 */
#ifndef HANGAR_PROMTEXT_H
#define HANGAR_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

enum pt_type { PT_GAUGE = 0, PT_COUNTER, PT_HISTOGRAM };

struct promtext;

struct promtext *promtext_new(void);
/* Declare a family (name as the samples carry it: a counter's ends in
 * _total); help is plain text. */
void promtext_family(struct promtext *pt, const char *name,
    enum pt_type type, const char *help);
/* One sample of family name; labels: name, value, ..., NULL (or NULL). */
void promtext_sample(struct promtext *pt, const char *name,
    const char *const *labels, double value);
/*
 * One histogram series of family name: n buckets with upper bounds
 * bounds[0..n) (ascending) and counts[0..n) of observations in each
 * bucket alone (not cumulative); the +Inf bucket is count.  sum is the
 * sum of all observations.
 */
void promtext_histogram(struct promtext *pt, const char *name,
    const char *const *labels, const double *bounds, const uint64_t *counts,
    size_t n, double sum, uint64_t count);
/* The text (malloc'd, *len bytes, NUL-terminated) and pt freed; NULL
 * with the error when out of memory. */
char *promtext_finish(struct promtext *pt, size_t *len);
void promtext_free(struct promtext *pt);

/* A value as the format writes it: "+Inf", "NaN", an integer exactly,
 * else the shortest text that reads back the same; into buf (32). */
void promtext_value(double v, char buf[32]);

#endif
