/*
 * ops_int.h - between the operation engine (ops.c) and the per-kind
 * runners (ops_vm.c).
 */
#ifndef HANGAR_OPS_INT_H
#define HANGAR_OPS_INT_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "../common/cloudinit.h"
#include "app.h"

/* What one run of one operation works with. */
struct op_ctx {
	struct app *app;
	struct op_rec op;
	struct vm_rec vm;            /* the VM as it was when the run began */
	struct host_rec host;
	struct backend_conn *bc;     /* the VM's host (borrowed from fleet) */
	char pool[FLEET_POOL_MAX];   /* that host's storage pool (fleet_pool) */
	json_t *params;              /* the operation's parameters (owned) */
	/* results, for the closing transaction: */
	bool delete_row;             /* remove the VM's row (delete, rollback) */
	bool unsettled;              /* outcome unknown (host unreachable):
	                              * keep the operation running and
	                              * recover it again later */
	bool have_state;             /* observed is known */
	enum vm_state observed;
	struct snap_rec snap;        /* snapshot kinds: the snapshot */
	struct disk_rec disks[VM_DISKS_MAX];  /* the VM's disks when loaded */
	int ndisks;
	struct nic_rec nics[VM_NICS_MAX];     /* its NICs when loaded */
	struct network_rec nic_nets[VM_NICS_MAX];  /* and their networks */
	int nnics;
	/* cancellation: cancel is set (atomically) by ops_cancel() while
	 * the run goes on; a cancellable runner checks it at safe points
	 * and, when it stops because of it, sets cancelled */
	int cancel;
	bool cancelled;
	/* poked (atomically) by ops_poke while the run looks: a park it
	 * then asks for is due at once, for the change may have come after
	 * its look */
	int poked;
	struct op_ctx *next_running;     /* the engine's list of runs */
	/* migrations: where the VM went (0: it did not move) */
	int64_t moved_to;
	struct backend_conn *dst_bc;     /* the destination's connection */
	char dst_pool[FLEET_POOL_MAX];   /* ... and its storage pool */
	bool aborted;                    /* job_abort was sent */
	/* image kinds: the image, as the closing transaction records it */
	struct image_rec image;
	/* backups: the backup being made (ops_backup.c) */
	struct backup_rec backup;
	/* parking (ops_park): where a waiting run left off, kept by the
	 * engine between its runs; 0 and 0 on the first */
	int phase;
	int64_t deadline_ms;
	int park_ms;
};

struct op_runner {
	/* Do the operation.  0, or -1 with err_last() set. */
	int (*run)(struct op_ctx *x);
	/*
	 * Finish an operation that a previous daemon left running, by asking
	 * the backend what really happened.  0 = it completed, -1 with an
	 * error = it failed (or was rolled back).
	 */
	int (*recover)(struct op_ctx *x);
	/*
	 * Inside the closing transaction: record what the run did beyond the
	 * VM's state (ok: it succeeded).  Also called, with ok false, when a
	 * queued operation is cancelled or never reaches its host.  May be
	 * NULL.  For a no_vm kind, called in every closing transaction
	 * (x->vm.id is 0).
	 */
	int (*close)(struct store_conn *c, struct op_ctx *x, bool ok);
	/*
	 * When the host cannot be reached before anything was done, or the
	 * operation is cancelled while queued, the VM's row goes with it (a
	 * create that never started leaves nothing behind).
	 */
	bool drop_if_unreached;
	/* A running one stops when asked (it checks ops_cancelled()). */
	bool cancellable;
	/* Host-level or fleet-level: no VM to load and no host connection. */
	bool no_vm;
	/* What a no_vm kind acts on, named by its params' "name" (logs:
	 * "image 'debian'"); NULL: a host or the fleet. */
	const char *noun;
	/*
	 * After the closing transaction committed (ok: it succeeded): bring
	 * what lives outside the store (the view's claims) in line.  Also
	 * run for an operation cancelled while queued.  May be NULL.
	 */
	void (*after)(struct op_ctx *x, bool ok);
	/*
	 * At start-up, for each operation still queued or running: re-take
	 * what lives only in memory (a migration's claim on its
	 * destination).  May be NULL.
	 */
	void (*restart)(struct app *app, const struct op_rec *op);
};

extern const struct op_runner ops_runners[OP_KIND__COUNT];

/* Record progress on the operation (best effort). */
void ops_step(struct op_ctx *x, const char *step);
/* Ask the backend for the VM's state into x->observed; 0 or -1. */
int ops_observe(struct op_ctx *x);
/* Has someone asked this run to stop? */
bool ops_cancelled(struct op_ctx *x);
/* Stop because asked: sets x->cancelled and the error; returns -1. */
int ops_cancel_now(struct op_ctx *x, const char *what);

/*
 * A runner that waits for something slow (a guest shutting down) does not
 * hold a worker meanwhile: it returns ops_park(x, phase, deadline, ms),
 * and the engine puts the operation back in its queue, due in ms or as
 * soon as ops_poke() names it (a lifecycle event of its VM), and then
 * runs it again with x->phase and x->deadline_ms as given here.  A
 * cancel of a parked run wakes it with ops_cancelled() true.  Runs of a
 * drain's or plan's children (inline) wait in place instead.
 */
#define OPS_PARK 1
int ops_park(struct op_ctx *x, int phase, int64_t deadline_ms, int ms);

/* Sleep ms milliseconds (polling a guest or a job). */
void ops_sleep_ms(int ms);
/* Record progress (a JSON object) on the operation (best effort). */
void ops_progress(struct op_ctx *x, json_t *progress);
/*
 * Run the given (queued) operations here and now, at most parallel at a
 * time, in threads of this call; returns when all have ended.  For a
 * drain or plan, whose children must not wait for a free worker.  Stops
 * starting new ones once stop(arg) says so (NULL: never).
 */
int ops_run_inline(struct ops *o, char (*ids)[UUID_STR_LEN], size_t n,
    int parallel, bool (*stop)(void *arg), void *arg);

/*
 * ops_disk.c: the pool that really holds the VM's disks, into x->pool
 * (the disks of a VM made before pools were per directory may be in the
 * one called pool_name; its first disk's volume tells).
 */
int ops_disk_pool(struct op_ctx *x);

/* ops_migrate.c: migration, drain and plan runners */
int ops_migrate_run(struct op_ctx *x);
int ops_migrate_recover(struct op_ctx *x);
int ops_migrate_close(struct store_conn *c, struct op_ctx *x, bool ok);
void ops_migrate_after(struct op_ctx *x, bool ok);
void ops_migrate_restart(struct app *app, const struct op_rec *op);
int ops_drain_run(struct op_ctx *x);
int ops_drain_recover(struct op_ctx *x);
int ops_plan_run(struct op_ctx *x);
int ops_plan_recover(struct op_ctx *x);

/* ops_env.c: a test environment made and removed (envs.c) */
int ops_env_create_run(struct op_ctx *x);
int ops_env_create_recover(struct op_ctx *x);
int ops_env_delete_run(struct op_ctx *x);
int ops_env_delete_recover(struct op_ctx *x);

/* ops_image.c: importing an uploaded image into the library */
int ops_image_run(struct op_ctx *x);
int ops_image_recover(struct op_ctx *x);
int ops_image_close(struct store_conn *c, struct op_ctx *x, bool ok);
void ops_image_after(struct op_ctx *x, bool ok);

/* ops_vm.c: a create's end, once its disks are made (addresses, domain,
 * start), and its undoing (idempotent; sets delete_row when done) */
struct ops_disks;
int ops_create_finish(struct op_ctx *x, struct ops_disks *disks);
int ops_create_rollback(struct op_ctx *x);

/* ops_clone.c: a VM made from another's disks, and a template (a
 * stopped VM's root disk into the library, then imported) */
int ops_clone_run(struct op_ctx *x);
int ops_clone_recover(struct op_ctx *x);
int ops_template_run(struct op_ctx *x);
int ops_template_recover(struct op_ctx *x);

/* ops_prune.c: removing the image copies hosts keep that nothing needs */
int ops_prune_run(struct op_ctx *x);

/* ops_backup.c: a backup of the VM's disks into backup_dir */
int ops_backup_run(struct op_ctx *x);
int ops_backup_recover(struct op_ctx *x);
int ops_backup_close(struct store_conn *c, struct op_ctx *x, bool ok);
void ops_backup_after(struct op_ctx *x, bool ok);

/* ops_restore.c: a stopped VM's disks from a backup, in place */
int ops_restore_run(struct op_ctx *x);
int ops_restore_recover(struct op_ctx *x);
int ops_restore_close(struct store_conn *c, struct op_ctx *x, bool ok);
void ops_restore_after(struct op_ctx *x, bool ok);

/*
 * ops_backup_disk.c: a backup's disk onto a host.  upload: the whole
 * qcow2 at staged into a new volume vol in pool on bc (one of that name
 * removed first), its path into path; staged is removed either way.
 * write: disk dev of backup b flattened into backup_dir/.staging
 * (named by x's operation and dev), then uploaded so.
 */
int ops_backup_disk_upload(struct backend_conn *bc, const char *pool,
    const char *staged, const char *vol, char *path, size_t len);
int ops_backup_disk_write(struct op_ctx *x, struct backend_conn *bc,
    const char *pool, const struct backup_rec *b, const char *dev,
    const char *vol, char *path, size_t len);
/* ops_import.c: a new VM from a backup archive or a backup */
int ops_import_run(struct op_ctx *x);
int ops_import_recover(struct op_ctx *x);
void ops_import_after(struct op_ctx *x, bool ok);
/* ops_evacuate.c: a lost host's VMs made again elsewhere (evacuate.c) */
int ops_evacuate_run(struct op_ctx *x);
int ops_evacuate_recover(struct op_ctx *x);
int ops_evacuate_vm_run(struct op_ctx *x);
int ops_evacuate_vm_recover(struct op_ctx *x);
int ops_evacuate_vm_close(struct store_conn *c, struct op_ctx *x, bool ok);
void ops_evacuate_vm_after(struct op_ctx *x, bool ok);

/* ops_snap.c: the snapshot runners */
/* ops_disk.c: the VM's disks on a host, as a list */
struct ops_disks {
	char path[VM_DISKS_MAX][1024];        /* each disk's file */
	char base[VM_DISKS_MAX][1024];        /* a linked clone's base, or "" */
	const char *chain[VM_DISKS_MAX][2];   /* base, NULL: its chain */
	struct vm_disk_spec spec[VM_DISKS_MAX];
	char serial_log[256];
	/* and the storage of the NICs' part of a vm_spec (ops_nic.c) */
	struct vm_nic_spec nic[VM_NICS_MAX];
	struct network_names nic_names[VM_NICS_MAX];
};
/* Make disk d as a create does (the seed written, a clone of its image,
 * or empty) in pool on bc (host_id's); its path (and a linked clone's
 * base) into path and base. */
int ops_disk_one(struct op_ctx *x, struct backend_conn *bc, int64_t host_id,
    char *pool, const struct disk_rec *d, char *path, size_t len,
    char *base, size_t blen);
/* Make every disk's volume in pool (of host_id, on bc; made again if it
 * has gone, its name then updated in pool[FLEET_POOL_MAX]); their paths
 * into out. */
int ops_disks_make(struct op_ctx *x, struct backend_conn *bc,
    int64_t host_id, char *pool, struct ops_disks *out);
/* The path of host_id's copy (on bc, in pool) of the image disk d is a
 * linked clone of, into base: uploaded there first if it has none. */
int ops_disk_base_on(struct op_ctx *x, struct backend_conn *bc,
    int64_t host_id, const char *pool, const struct disk_rec *d, char *base,
    size_t blen);
/* Copy every disk of the stopped VM into pool on bc (host_id's): a
 * linked clone over host_id's own copy of its image; paths (and bases)
 * into out. */
int ops_disks_copy(struct op_ctx *x, struct backend_conn *bc,
    int64_t host_id, const char *pool, struct ops_disks *out);
/* The paths of the disks' existing volumes in pool on bc. */
int ops_disks_paths(struct op_ctx *x, struct backend_conn *bc,
    const char *pool, struct ops_disks *out);
/* After the closing transaction: remove host_id's copies of the images
 * of x's disks that no disk there uses now (failures are logged). */
void ops_disks_prune(struct op_ctx *x, int64_t host_id, const char *pool);
/* Remove every disk's volume from pool on bc (idempotent; all tried). */
int ops_disks_delete(struct op_ctx *x, struct backend_conn *bc,
    const char *pool);
/* ops_resize.c: a VM's vCPUs and memory */
int ops_resize_run(struct op_ctx *x);
int ops_resize_recover(struct op_ctx *x);
int ops_resize_close(struct store_conn *c, struct op_ctx *x, bool ok);
void ops_resize_after(struct op_ctx *x, bool ok);
void ops_resize_restart(struct app *app, const struct op_rec *op);

/* ops_nic.c: a VM's NICs on its hosts */
/* Load x's NICs and their networks (into x->nics, x->nic_nets). */
int ops_nics_load(struct store_conn *c, struct op_ctx *x);
/* spec's NICs, from x's (kept in d). */
void ops_nics_spec(struct op_ctx *x, struct ops_disks *d,
    struct vm_spec *spec);
/* The static DHCP host of each of x's NICs on a nat or isolated network
 * with DHCP, on the host at bc: added (a repeat is harmless), or
 * removed (gone is fine). */
int ops_nics_dhcp_add(struct op_ctx *x, struct backend_conn *bc);
int ops_nics_dhcp_remove(struct op_ctx *x, struct backend_conn *bc);
/*
 * How the guest's cloud-init configures each of x's NICs, into
 * out[x->nnics]: by DHCP where a server of hangar's hands the NIC its
 * address (ops_nics_dhcp_add), else, when hangar gave it one, with that
 * static address (written into addr[i], "A.B.C.D/P"), the network's
 * gateway as default route when no NIC before it has one (DHCP brings
 * its own), and the gateway as name server on a nat or isolated network
 * (the hosts' dnsmasq).
 */
#define OPS_NIC_CIDR_LEN 20
void ops_nics_cloudinit(struct op_ctx *x, struct cloudinit_nic *out,
    char (*addr)[OPS_NIC_CIDR_LEN]);
/* The runners of nic_add and nic_remove (the NIC: params "mac"). */
int ops_nic_add(struct op_ctx *x);
int ops_nic_add_recover(struct op_ctx *x);
int ops_nic_remove(struct op_ctx *x);
int ops_nic_close(struct store_conn *c, struct op_ctx *x, bool ok);
/* The domain description of x's VM on host h, its disks at d's paths. */
void ops_vm_spec(struct op_ctx *x, const struct host_rec *h,
    struct ops_disks *d, struct vm_spec *spec);

/* seed.c: the NoCloud seed.  seed_build: the ISO image of the VM uuid
 * with its settings spec_text (JSON, as stored) and NICs nics[nnics],
 * timestamps when, into *out (malloc'd) and *len.  seed_make: build it
 * for x's VM and put it as d's volume into pool on bc (made again when
 * there); its path into path. */
int seed_build(const char *uuid, const char *spec_text,
    const struct cloudinit_nic *nics, size_t nnics, time_t when,
    unsigned char **out, size_t *len);
int seed_make(struct op_ctx *x, struct backend_conn *bc, const char *pool,
    const struct disk_rec *d, char *path, size_t len);

/* The disk operations (one disk of a made VM: its "dev" param). */
int ops_disk_add(struct op_ctx *x);
int ops_disk_add_recover(struct op_ctx *x);
int ops_disk_remove(struct op_ctx *x);
int ops_disk_resize(struct op_ctx *x);
int ops_disk_close(struct store_conn *c, struct op_ctx *x, bool ok);
void ops_disk_after(struct op_ctx *x, bool ok);

/* Freeze the running guest v's filesystems (on bc) through its agent:
 * whether any froze (no agent, or a failure, is logged and false).
 * ops_thaw undoes it, tried three times (a repeat is harmless). */
bool ops_freeze(struct op_ctx *x, struct backend_conn *bc,
    const struct vm_rec *v);
void ops_thaw(struct op_ctx *x, struct backend_conn *bc,
    const struct vm_rec *v);

int ops_snap_create(struct op_ctx *x);
int ops_snap_create_recover(struct op_ctx *x);
int ops_snap_create_close(struct store_conn *c, struct op_ctx *x, bool ok);
int ops_snap_revert(struct op_ctx *x);
int ops_snap_revert_close(struct store_conn *c, struct op_ctx *x, bool ok);
int ops_snap_delete(struct op_ctx *x);
int ops_snap_delete_close(struct store_conn *c, struct op_ctx *x, bool ok);

#endif
