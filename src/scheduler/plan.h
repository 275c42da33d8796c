/*
 * plan.h - migration plans: consolidation (run the same VMs on fewer
 * hosts) and rebalancing (spread load evenly), computed from data alone.
 *
 * Like sched.c, this is pure: hosts (with their claims) and VMs in, a list
 * of moves out; it calls neither libvirt nor SQLite and changes nothing.
 * Capacity is judged exactly as placement judges it (sched_host_free:
 * (physical - reserved) x ratio, minus claims), and strict groups are
 * honoured: a strict anti-affinity group never gets two members on one
 * host; members of a strict affinity group are never moved (they would
 * have to move together).  Only hosts in state SCHED_READY take VMs.
 *
 * Memory conventions: plan_*() fill a struct plan_result whose arrays the
 * caller frees with plan_result_free().  Return 0, or -1 with err_last()
 * set (out of memory, bad arguments).
 */
#ifndef HANGAR_PLAN_H
#define HANGAR_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched.h"

/* A VM as the planner sees it. */
struct plan_vm {
	int64_t id;
	size_t host;               /* index into the hosts array */
	int vcpus;
	int64_t memory_mib, disk_gib;
	int64_t group_id;          /* 0: none */
	enum sched_group_policy group_policy;
	bool group_strict;
	bool movable;              /* false: never moved (busy, unknown, ...) */
};

struct plan_opts {
	int max_moves;             /* at most this many moves; <= 0: no limit */
	/*
	 * The hosts it may take VMs from and move them to, as a mask indexed
	 * like hosts (NULL: all).  VMs only move between hosts in the subset.
	 */
	const bool *subset;
	int target_free_hosts;     /* consolidation: stop once this many
	                            * hosts (with VMs before) are emptied;
	                            * <= 0: as many as possible */
};

struct plan_move {
	size_t vm;                 /* index into the vms array */
	size_t from, to;           /* indexes into the hosts array */
};

/* Use of one resource over the hosts in play (ready, in the subset). */
struct plan_use {
	double mean_pct, max_pct, min_pct;   /* of capacity, per host */
	double stddev_pct;
};

struct plan_util {
	int hosts_in_use;          /* hosts with at least one VM */
	struct plan_use vcpus, memory, disk;
};

struct plan_result {
	struct plan_move *moves;
	size_t nmoves;
	size_t *freed;             /* hosts emptied by the plan (indexes) */
	size_t nfreed;
	struct plan_util before, after;
};

/*
 * Empty as many hosts as possible (least loaded first), moving each of
 * their VMs to the fullest host that can still take it (best fit,
 * largest VMs first), within max_moves; a host is only counted as freed
 * if all its VMs can move.  No VM moves twice, nothing moves onto an empty
 * host, and a host that received a VM is not emptied afterwards.
 */
int plan_consolidate(const struct sched_host *hosts, size_t nhosts,
    const struct plan_vm *vms, size_t nvms, const struct plan_opts *opts,
    struct plan_result *out);

/*
 * Even out memory use: repeatedly move a VM from the most loaded host to
 * the least loaded host that can take one of its VMs, choosing the VM
 * that best halves their difference, while that narrows the gap between
 * the two without widening the fleet's spread; within max_moves, no VM
 * moving twice.
 */
int plan_rebalance(const struct sched_host *hosts, size_t nhosts,
    const struct plan_vm *vms, size_t nvms, const struct plan_opts *opts,
    struct plan_result *out);

void plan_result_free(struct plan_result *r);

#endif
