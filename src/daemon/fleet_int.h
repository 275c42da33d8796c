/*
 * fleet_int.h - what the fleet's files share: fleet.c (connections,
 * looks, records) and fleet_pool.c (each host's storage pool: which pool
 * is at its directory, changing that directory, and whether two hosts
 * share it).  No other file includes it.
 */
#ifndef HANGAR_FLEET_INT_H
#define HANGAR_FLEET_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "app.h"

#define FLEET_RETRY_MIN_MS 1000
#define FLEET_RETRY_MAX_MS 60000
#define FLEET_BATCH 256            /* looks recorded per transaction */
#define FLEET_BATCH_MS 500         /* ... or after looking this long */

/* What a look at a reachable host reads from it. */
struct fleet_facts {
	struct host_facts hf;
	int64_t disk_gib, disk_free_gib;   /* its VM storage pool */
	char pool[FLEET_POOL_MAX];         /* that pool's name */
};

struct fleet_host {
	struct fleet *fleet;
	int64_t id;
	char name[NAME_MAX_LEN];
	char *uri;                   /* owned */
	pthread_mutex_t mu;          /* guards everything below but the
	                              * last two */
	char *pool_path;             /* owned; NULL = the configured one */
	char *pool;                  /* owned: the name of the pool at
	                              * pool_path, found by the last look;
	                              * NULL before the first */
	struct backend_conn *bc;
	int64_t next_try_ms;
	int64_t backoff_ms;
	bool reachable;
	char *last_err;              /* owned: why it is unreachable, or
	                              * NULL (out of memory) */
	/* what was last recorded for it, so that only changes are written */
	bool rec_reachable;
	uint64_t rec_facts;          /* fleet_facts_hash(); 0: not known */
	unsigned rec_epoch;          /* fleet->epoch when recorded */
	/* read without mu (__atomic), written with it: */
	bool removed;                /* unregistered; freed with the fleet */
	unsigned seq;                /* bumped for each look to record */
};

struct fleet {
	struct store *store;
	struct view *view;
	const struct config *cfg;
	pthread_mutex_t mu;          /* guards hosts/n */
	struct fleet_host **hosts;
	size_t n, cap;
	fleet_event_fn watch_fn;     /* set before fleet_start, then fixed */
	void *watch_arg;
	unsigned epoch;              /* (__atomic) bumped when a record could
	                              * not be written: every host's next
	                              * look is then written again */
	struct fleet_shares *shares; /* fleet_pool.c's: what was found about
	                              * pairs of hosts sharing storage */
};

/* fleet.c */
/* FNV-1a over n bytes at p, continuing from h (start: FLEET_FNV0). */
#define FLEET_FNV0 0xcbf29ce484222325ULL
uint64_t fleet_fnv(uint64_t h, const void *p, size_t n);
/* Host id's entry, or NULL; valid until fleet_close(). */
struct fleet_host *fleet_find(struct fleet *f, int64_t host_id);
/*
 * Look at fh (its mutex held, connected) now and record what is found at
 * once.  0, or -1 with the backend's error (fh is then unchanged).
 */
int fleet_look(struct fleet *f, struct fleet_host *fh);
struct fleet_batch;
/*
 * Connect fh if it never was (its mutex held), look at it, and record
 * what was found (into b, or at once when b is NULL).  0, or -1 when it
 * is unreachable.
 */
int fleet_connect(struct fleet *f, struct fleet_host *fh,
    struct fleet_batch *b);

/* fleet_pool.c */
/*
 * Make sure the pool for VM disks at path (NULL: the configured
 * pool_path) exists on the host at bc and is active, by the rule that
 * fleet_pool.c's comment gives; its name and capacity into ff.  hint: the
 * pool found there last time, or NULL.  0, or -1 with an error
 * (ERR_CONFLICT: the name the rule gives is taken by a pool elsewhere).
 */
int fleet_pool_at(struct fleet *f, struct backend_conn *bc, const char *path,
    const char *hint, struct fleet_facts *ff);
/* What is found about sharing: kept from fleet_open to fleet_close. */
void fleet_shares_new(struct fleet *f);
void fleet_shares_free(struct fleet *f);
/* Forget what is known of host_id's sharing (its pool changed). */
void fleet_shares_forget(struct fleet *f, int64_t host_id);

#endif
