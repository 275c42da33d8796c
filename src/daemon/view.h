/*
 * view.h - the scheduler's in-memory view of hosts and claims.
 *
 * Loaded from the store at start-up and kept in step with it: every change
 * to a host or to what is placed on one updates the view right after its
 * transaction commits.  Creates hold the view's lock from the pick to the
 * commit of the claim, so two creates can never take the same room, and
 * no placement scans a table.
 */
#ifndef HANGAR_VIEW_H
#define HANGAR_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "../scheduler/sched.h"
#include "../store/store.h"

struct view;

/* The view of everything in the store; NULL with an error. */
struct view *view_load(struct store *s);
void view_free(struct view *v);

void view_lock(struct view *v);
void view_unlock(struct view *v);

/* --- with the lock held --- */
/* The hosts, in id order; valid until the lock is dropped. */
const struct sched_host *view_hosts(struct view *v, size_t *n);
/* Index of a host by id, or -1. */
int view_host_index(struct view *v, int64_t host_id);
/*
 * Members of group_id per host into counts[n] (n = number of hosts), and
 * in all into *total.
 */
void view_group_counts(struct view *v, int64_t group_id, int *counts,
    int *total);

/* --- each takes the lock itself --- */
/* Add or replace a host from its record (settings, facts, state). */
int view_host_put(struct view *v, const struct host_rec *h);
void view_host_remove(struct view *v, int64_t host_id);
/* The same, for a caller holding the lock across its store transaction
 * (so a change and its view update cannot interleave with another's). */
int view_host_put_locked(struct view *v, const struct host_rec *h);
void view_host_remove_locked(struct view *v, int64_t host_id);
/* Claim or release a VM's resources on its host (lock held or not: the
 * _locked variants are for a caller holding it). */
void view_claim_locked(struct view *v, const struct vm_rec *vm);
void view_release(struct view *v, const struct vm_rec *vm);
void view_release_locked(struct view *v, const struct vm_rec *vm);
/*
 * A VM on host_id grows (delta > 0: a disk added or grown) or shrinks
 * (a disk removed, or a growth undone) by delta GiB of disk.
 * view_disk_room_locked: 0 when the host has room for delta more GiB,
 * else -1 with ERR_NO_CAPACITY saying how much it has.
 */
int view_disk_room_locked(struct view *v, int64_t host_id, int64_t delta);
void view_disk_locked(struct view *v, int64_t host_id, int64_t delta);
void view_disk(struct view *v, int64_t host_id, int64_t delta);

/* A VM on host_id changes size by dvcpus vCPUs and dmem MiB (a resize,
 * or one undone). */
void view_size_locked(struct view *v, int64_t host_id, int dvcpus,
    int64_t dmem);
void view_size(struct view *v, int64_t host_id, int dvcpus, int64_t dmem);

/* The scheduler's state for a host record. */
enum sched_state view_state_of(const struct host_rec *h);

#endif
