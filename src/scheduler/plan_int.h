/*
 * plan_int.h - the planner's two sets (plan_sets.c), shared with plan.c:
 * an ordered set of hosts (a treap) and the per-host counts of strict
 * anti-affinity groups.
 */
#ifndef HANGAR_PLAN_INT_H
#define HANGAR_PLAN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_NIL SIZE_MAX

/*
 * An ordered set of hosts keyed by (key, host index): a treap whose nodes
 * are the hosts themselves, in arrays indexed like the hosts.  Priorities
 * come from a hash of the index, so its shape is the same on every run.
 * Each node also carries its host's free vCPUs and disk and the most of
 * each in its subtree, so a search for a host with room skips whole
 * subtrees that have none (a fleet short of vCPUs everywhere would
 * otherwise make every failed search visit every host).
 */
struct plan_tree {
	size_t root;
	size_t n;                  /* hosts in the set */
	size_t *left, *right;
	uint32_t *pri;
	double *key;
	double *vcpus, *disk;      /* free on the host */
	double *max_vcpus, *max_disk;      /* most free in the subtree */
	bool *in;
};

/*
 * How many VMs of each strict anti-affinity group each host holds: an
 * open-addressing (linear probing) table keyed by (group, host).  A slot
 * whose count drops to 0 is removed, so there are never more live slots
 * than such VMs, and the table, sized for twice that, never fills.
 */
struct plan_aa_slot {
	int64_t group;             /* 0: empty */
	size_t host;
	size_t n;
};

struct plan_aa {
	struct plan_aa_slot *slot;
	size_t mask;               /* slots - 1; slots is a power of two */
};

uint64_t plan_mix(uint64_t x);
void plan_tree_insert(struct plan_tree *t, size_t k, double key,
    double vcpus, double disk);
void plan_tree_erase(struct plan_tree *t, size_t k);
size_t plan_tree_lower(const struct plan_tree *t, double key);
size_t plan_tree_next(const struct plan_tree *t, size_t k);
size_t plan_tree_first(const struct plan_tree *t);
size_t plan_tree_top(const struct plan_tree *t);
size_t plan_aa_get(const struct plan_aa *aa, int64_t group, size_t host);
void plan_aa_inc(struct plan_aa *aa, int64_t group, size_t host);
void plan_aa_dec(struct plan_aa *aa, int64_t group, size_t host);

#endif
