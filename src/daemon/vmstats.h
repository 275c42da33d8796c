/*
 * vmstats.h - the hosts' domain statistics for GET /metrics, kept a few
 * seconds (vmstats.c).  One backend_domain_stats() call per host, made on
 * vmstats' own threads: a scrape waits for a host at most
 * VMSTATS_WAIT_MS (then it shows the values before), and a host whose
 * call failed, or has been under way for VMSTATS_HUNG_MS, keeps its last
 * values and shows as not up.
 *
 *	vmstats_refresh(vs, ids, n);        (the hosts a scrape covers)
 *	vmstats_lock(vs);
 *	h = vmstats_host(vs, host_id);      (NULL: never looked at)
 *	d = vmstats_domain(h, vm_uuid);     (NULL: not on that host)
 *	vmstats_unlock(vs);
 */
#ifndef HANGAR_VMSTATS_H
#define HANGAR_VMSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../backends/backend.h"

#define VMSTATS_TTL_MS 2000        /* statistics younger are not read again */
#define VMSTATS_WAIT_MS 500        /* a scrape waits for a host this long */
#define VMSTATS_HUNG_MS 5000       /* a call under way longer: not up */
#define VMSTATS_WORKERS 8

struct fleet;
struct vmstats;

/* What is known of one host. */
struct vmstats_host {
	int64_t id;
	bool up;                   /* its last call answered, and the one
	                            * under way (if any) is not hung */
	int64_t at_ms;             /* when its statistics were read
	                            * (monotonic), 0: never */
	struct domain_stats *d;    /* by uuid; n of them */
	size_t n;
	/* vmstats.c's */
	bool ok, queued, busy;
	int64_t tried_ms, started_ms;
	struct vmstats_host *next; /* in the queue */
};

/* NULL with the error set. */
struct vmstats *vmstats_open(struct fleet *f);
void vmstats_close(struct vmstats *vs);
/*
 * Have the statistics of hosts ids[0..n) read again where older than
 * VMSTATS_TTL_MS, waiting up to VMSTATS_WAIT_MS for them.
 */
void vmstats_refresh(struct vmstats *vs, const int64_t *ids, size_t n);
void vmstats_lock(struct vmstats *vs);
void vmstats_unlock(struct vmstats *vs);
/* With the lock held: host id's entry, or NULL. */
const struct vmstats_host *vmstats_host(struct vmstats *vs, int64_t id);
/* A domain's statistics on h (NULL: h NULL or no such domain). */
const struct domain_stats *vmstats_domain(const struct vmstats_host *h,
    const char *uuid);

#endif
