/*
 * store.h - hangar's inventory in SQLite: hosts, VMs and operations.
 *
 * The store knows nothing of HTTP or libvirt.  One writer connection sits
 * behind a mutex and every write goes through store_tx(), which opens
 * BEGIN IMMEDIATE and retries when the database is busy.  Reads take one of
 * a small pool of reader connections (WAL lets them read while a write
 * commits) and see one consistent snapshot between store_read_begin() and
 * store_read_end().  Every statement is prepared once per connection and
 * only ever sees user data as bound parameters.
 *
 * Return convention: 0 on success, -1 with err_last() set (ERR_NOT_FOUND,
 * ERR_CONFLICT for a broken uniqueness rule, ERR_UNAVAILABLE for a database
 * that cannot be written, ERR_INTERNAL otherwise).  Records are plain
 * structs filled by the callee; they own no heap memory.
 */
#ifndef HANGAR_STORE_H
#define HANGAR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/token.h"
#include "../common/types.h"

struct store;
struct store_conn;

#define HOST_LABELS_MAX 2048

#define HOST_FENCE_MAX 2048

struct host_rec {
	int64_t id;
	char name[NAME_MAX_LEN];
	char uri[1024];
	char state[16];            /* connection: ready | unreachable */
	bool maintenance;          /* no new placements */
	char labels[HOST_LABELS_MAX];  /* JSON object of string values */
	double cpu_ratio, ram_ratio, disk_ratio;
	int reserved_vcpus;
	int64_t reserved_memory_mib, reserved_disk_gib;
	/* facts, from the backend */
	char arch[32];
	char domain_type[16];      /* the best offered: kvm, else qemu */
	char domain_types[32];     /* all offered, space-separated */
	int cpus;
	int64_t memory_mib;
	int64_t free_memory_mib;
	int64_t disk_gib, disk_free_gib;   /* the VM storage pool */
	char cpu_model[128];
	/* storage: where its VM disks live ("" = the configured pool_path),
	 * and the name of the shared storage it sees there ("" = local): hosts
	 * with the same storage name see the same files at the same path */
	char pool_path[1024];
	char storage[NAME_MAX_LEN];
	/* lost and evacuated: when it was fenced (ms), 0 if it is not; the
	 * program that fences it: its argument vector as a JSON array of
	 * strings, "" for none */
	int64_t fenced_at;
	char fence[HOST_FENCE_MAX];
	int64_t created_at, updated_at;
	/* derived from the VMs placed on it (read-only) */
	int vms;
	int64_t alloc_vcpus, alloc_memory_mib, alloc_disk_gib;
};

#define SNAPSHOT_SCHEDULE_MAX 129
#define BACKUP_FULL_EVERY_DEFAULT 7  /* a weekly full one, daily backups */

struct vm_rec {
	int64_t id;
	char uuid[UUID_STR_LEN];
	char name[NAME_MAX_LEN];
	int vcpus;
	int64_t memory_mib;
	int64_t disk_gib;
	int64_t host_id;
	char host[NAME_MAX_LEN];   /* host name (read-only) */
	int64_t group_id;          /* 0 = none */
	char group[NAME_MAX_LEN];  /* group name (read-only) */
	char desired[16];          /* desired state */
	char observed[16];         /* observed state, as libvirt reports it */
	char state[24];            /* observed, or transitional (read-only) */
	char op_id[UUID_STR_LEN];  /* the active operation, or "" (read-only) */
	int64_t created_at, updated_at;
	/* scheduled snapshots: "" for none */
	char snapshot_schedule[SNAPSHOT_SCHEDULE_MAX];
	int snapshot_keep;              /* keep the newest N scheduled; 0 = all */
	int64_t snapshot_max_age_ms;    /* delete older scheduled; 0 = never */
	int64_t snapshot_last_at;       /* when the schedule last fired */
	char on_drift[16];              /* record | enforce | alert */
	char firmware[8];               /* bios | uefi */
	char machine[8];                /* pc | q35 */
	char domain_type[8];            /* kvm | qemu as asked, or "": the
	                                 * host's best */
	char clock[12];                 /* utc | localtime: the guest's RTC */
	bool hyperv;                    /* Hyper-V enlightenments (Windows) */
	char graphics[8];               /* none | vnc (on a unix socket) */
	char provisioning[8];           /* pending | running | done | error,
	                                 * or "": not followed */
	/* how far it may grow while it runs (resize); 0: its current size
	 * (a VM made before these existed) */
	int max_vcpus;
	int64_t max_memory_mib;
	/* scheduled backups (daemon/bsched.c): as the snapshots' above */
	char backup_schedule[SNAPSHOT_SCHEDULE_MAX];
	int backup_keep;                /* keep the newest N scheduled; 0 = all */
	int64_t backup_max_age_ms;      /* delete older scheduled; 0 = never */
	int backup_full_every;          /* a chain's length before a full one
	                                 * (0 at insert: the default) */
	int64_t backup_last_at;         /* when the schedule last fired */
};

/*
 * One disk of a VM (the vm_disks table).  A VM's devices are lists; its
 * disks are named by their stable device name, vda, vdb, ... (sda, sdb,
 * ... on sata/scsi, hda.. on ide; a CD-ROM is a disk with device
 * "cdrom").  vm_rec.disk_gib is the sum of size_gib over its disks.
 */
#define VM_DISKS_MAX 16
#define DISK_DEV_LEN 8
#define DISK_VOLUME_LEN 96

struct disk_rec {
	char dev[DISK_DEV_LEN];        /* vda, sdb, ... */
	char device[8];                /* disk | cdrom */
	char bus[8];                   /* virtio | sata | scsi | ide */
	char format[8];                /* qcow2 | raw */
	int64_t size_gib;
	char volume[DISK_VOLUME_LEN];  /* its volume in the host's pool */
	int boot_order;                /* 1, 2, ...; 0: not a boot device */
	char image[NAME_MAX_LEN];      /* the image it was cloned from, or "" */
	char base_volume[DISK_VOLUME_LEN]; /* its backing volume, or "" */
	char content[8];               /* "": the guest's; "cidata": the
	                                * NoCloud seed hangar writes */
	int64_t created_at;
};

#define IDEM_KEY_MAX 256

struct op_rec {
	char id[UUID_STR_LEN];
	enum op_kind kind;
	int64_t vm_id;             /* 0 once the VM row is gone */
	char vm_uuid[UUID_STR_LEN];
	char vm_name[NAME_MAX_LEN];
	enum op_status status;
	char step[128];
	char params[512];          /* kind-specific JSON object text */
	char err_code[32];         /* err_code_name(), or "" */
	char err_field[64];
	char err_msg[1024];
	int64_t created_at, started_at, finished_at;  /* 0 = not yet */
	char idem_key[IDEM_KEY_MAX];   /* the request's Idempotency-Key, or "" */
	char progress[1024];       /* JSON object (migration progress), "{}" */
	char parent_id[UUID_STR_LEN];  /* the drain or plan it belongs to */
	int64_t host_id;           /* host-level operations (drain): the host */
	char host[NAME_MAX_LEN];   /* its name (read-only) */
};

/* Open (creating and migrating the schema) the database at path. */
struct store *store_open(const char *path);
void store_close(struct store *s);
/*
 * SQLite's PRAGMA data_version, read on a connection of its own that
 * never writes: it moves whenever any other connection commits, this
 * process's writer or another process's (`hangard token revoke` on the
 * database).  Cheap (two fcntl locks), thread-safe.  -1 when it cannot
 * be read.
 */
int64_t store_data_version(struct store *s);
/* The schema version this build migrates to. */
int store_schema_version(void);

/*
 * Run fn(conn, arg) inside BEGIN IMMEDIATE.  fn returns 0 to commit or -1
 * (with err_last() set) to roll back.  SQLITE_BUSY is retried with backoff,
 * re-running fn from the start, so fn must not have effects outside the
 * database.  Returns fn's result, or -1 if the transaction itself failed;
 * err_last() is what fn (or the commit) left.  On 0 the changes are
 * durable (synchronous=FULL).
 *
 * Concurrent callers are committed together (group commit): fn may run on
 * another caller's thread, inside a savepoint of a transaction shared with
 * other callers' fns, while its own caller waits.  So fn must also not
 * take locks, call store_tx, nor rely on thread-local state other than
 * err_last() (which its caller gets back); its failure rolls back its own
 * savepoint only.  A batch that meets a database error (full disk, I/O)
 * is rolled back and each fn run again alone, as without the batch.
 */
typedef int (*store_tx_fn)(struct store_conn *c, void *arg);
int store_tx(struct store *s, store_tx_fn fn, void *arg);
/*
 * The same, but not necessarily durable on return: committed (and seen by
 * readers) without an fsync of its own.  It becomes durable with the next
 * durable commit, or at the latest STORE_SYNC_MS (10 ms) later.  A crash
 * of the process loses nothing; a power failure or kernel crash before
 * that sync may lose it, with whatever was committed after it (never what
 * was committed before it).  Events it appends are announced to the log's
 * readers only once durable.  For records that recovery does not depend
 * on (an operation's step and progress).
 */
int store_tx_lazy(struct store *s, store_tx_fn fn, void *arg);
/*
 * store_tx_lazy without waiting for it: fn(conn, arg) is queued and this
 * returns at once (or, when no other transaction is under way, after
 * running it here).  Once it is committed (or failed), then(arg, r) is
 * called, on whichever thread ran it, with fn's result and err_last() as
 * fn left it; then owns arg (frees it) and must not call store_tx.  The
 * transactions of one thread run in the order it queued them, so its
 * next store_tx() sees this one's changes (a reader may not yet).
 */
void store_tx_async(struct store *s, store_tx_fn fn, void *arg,
    void (*then)(void *arg, int r));
/*
 * store_tx in two halves, for a caller with other work to do meanwhile:
 * store_tx_post queues fn (durable) and returns at once; store_tx_wait
 * waits for it, returns what store_tx would have and frees the ticket.
 * It must be called, once.  Until then fn may not have run at all: it
 * runs with whatever commits next (this thread's next store_tx, which
 * then sees its changes, or any other), at the latest in store_tx_wait.
 * store_tx_post returns NULL (err_last() set, nothing queued) when out
 * of memory.
 */
struct store_ticket;
struct store_ticket *store_tx_post(struct store *s, store_tx_fn fn,
    void *arg);
int store_tx_wait(struct store_ticket *t);
/* Make every commit so far durable; 0, or -1 with err_last() set. */
int store_sync(struct store *s);

/* A read snapshot on a pooled reader connection.  Never returns NULL. */
struct store_conn *store_read_begin(struct store *s);
void store_read_end(struct store_conn *c);

/* --- hosts (store_host.c) --- */
int store_host_insert(struct store_conn *c, struct host_rec *h);  /* sets id */
int store_host_update_facts(struct store_conn *c, const struct host_rec *h);
/* labels, ratios, reserved resources, maintenance, storage, pool_path */
int store_host_update_settings(struct store_conn *c, const struct host_rec *h);
/* ERR_CONFLICT while VMs are placed on it. */
int store_host_delete(struct store_conn *c, int64_t id);
int store_host_set_state(struct store_conn *c, int64_t id, const char *state);
struct json_t;
/* Fence host id (or re-admit it: fenced false), with event host.fenced
 * or host.unfenced carrying data (borrowed, may be NULL); a repeat
 * changes nothing. */
int store_host_set_fenced(struct store_conn *c, int64_t id, bool fenced,
    struct json_t *data);
/* With the derived counters (vms, alloc_*): costs O(VMs on the host). */
int store_host_get(struct store_conn *c, const char *name, struct host_rec *out);
/*
 * The host's own columns only: the derived counters are left 0 (read them
 * with store_host_get or store_host_each, or from the view).  One row
 * lookup, for the hot paths (loading an operation, a facts refresh).
 */
int store_host_get_id(struct store_conn *c, int64_t id, struct host_rec *out);
int store_host_count(struct store_conn *c, int64_t *out);
/* Calls fn for each host, by name; stops early when fn returns non-zero. */
typedef int (*store_host_fn)(const struct host_rec *h, void *arg);
int store_host_each(struct store_conn *c, store_host_fn fn, void *arg);

/* --- placement groups (store_group.c) --- */
struct group_rec {
	int64_t id;
	char name[NAME_MAX_LEN];
	char policy[16];           /* affinity | anti-affinity */
	bool strict;
	int64_t created_at;
	int vms;                   /* members (read-only) */
};

int store_group_insert(struct store_conn *c, struct group_rec *g);
int store_group_get(struct store_conn *c, const char *name,
    struct group_rec *out);
/* ERR_CONFLICT while it has members. */
int store_group_delete(struct store_conn *c, int64_t id);
typedef int (*store_group_fn)(const struct group_rec *g, void *arg);
int store_group_each(struct store_conn *c, store_group_fn fn, void *arg);

/* --- vms (store_vm.c) --- */
/*
 * Insert the VM and its disks (sets v->id; v->disk_gib becomes the sum of
 * the disks' sizes when there are any).
 */
int store_vm_insert(struct store_conn *c, struct vm_rec *v,
    struct disk_rec *disks, int ndisks);
/* Look up by uuid or by name. */
int store_vm_get(struct store_conn *c, const char *id_or_name, struct vm_rec *out);
int store_vm_get_id(struct store_conn *c, int64_t id, struct vm_rec *out);
/*
 * Record the state libvirt reports, on behalf of operation op_id (may be
 * NULL); a change appends a vm.<started|stopped|paused|...> event.
 */
int store_vm_set_observed(struct store_conn *c, int64_t id, const char *state,
    const char *op_id);
/*
 * Record what a sweep saw, unless the row changed since it was read
 * (updated_at differs) or an operation is under way: the sweep must never
 * overwrite what an operation just wrote.  Not finding a row is no error.
 */
int store_vm_observe(struct store_conn *c, int64_t id, const char *state,
    int64_t seen_updated_at);
int store_vm_set_desired(struct store_conn *c, int64_t id, const char *state);
/* The VM now lives on host_id (a finished migration); appends vm.migrated
 * with data {"from","to"}. */
int store_vm_set_host(struct store_conn *c, int64_t id, int64_t host_id,
    const char *op_id);
/* The snapshot schedule, retention and drift policy from v; appends
 * vm.updated. */
int store_vm_set_schedule(struct store_conn *c, const struct vm_rec *v);
/* A VM's size (vcpus, memory) is now this (a resize); event vm.resized. */
int store_vm_set_size(struct store_conn *c, int64_t id, int vcpus,
    int64_t memory_mib);
/* The schedule fired at ms. */
int store_vm_schedule_ran(struct store_conn *c, int64_t id, int64_t at_ms);
/* The backup schedule, retention and full_every from v; vm.updated. */
int store_vm_set_backup_schedule(struct store_conn *c,
    const struct vm_rec *v);
/* The backup schedule fired at ms. */
int store_vm_backup_ran(struct store_conn *c, int64_t id, int64_t at_ms);
/* Remove the row (its snapshots' rows go with it); appends vm.deleted. */
int store_vm_delete(struct store_conn *c, int64_t id, const char *op_id);
/* host/state/group filters may be NULL. */
typedef int (*store_vm_fn)(const struct vm_rec *v, void *arg);
int store_vm_each(struct store_conn *c, const char *host, const char *state,
    store_vm_fn fn, void *arg);
int store_vm_each_in_group(struct store_conn *c, int64_t group_id,
    store_vm_fn fn, void *arg);
/* Every VM with a snapshot schedule or retention. */
int store_vm_each_scheduled(struct store_conn *c, store_vm_fn fn, void *arg);
/* Every VM with a backup schedule or retention. */
int store_vm_each_backup_scheduled(struct store_conn *c, store_vm_fn fn,
    void *arg);
/* Every running VM whose provisioning is pending or running. */
int store_vm_each_provisioning(struct store_conn *c, store_vm_fn fn,
    void *arg);
/*
 * Set a VM's provisioning state; when it changes to done or error, a
 * vm.provisioned event (data {"provisioning": state}).  A VM gone
 * meanwhile is not an error.
 */
int store_vm_set_provisioning(struct store_conn *c, int64_t id,
    const char *state);

/* --- a VM's disks (store_disk.c) --- */
/*
 * Add disk d to VM vm_id and add its size to the VM's disk_gib.
 * ERR_CONFLICT naming field "dev" when the VM already has that device.
 */
int store_disk_insert(struct store_conn *c, int64_t vm_id, struct disk_rec *d);
/* Remove one disk (ERR_NOT_FOUND when it has no such device). */
int store_disk_delete(struct store_conn *c, int64_t vm_id, const char *dev);
/* Its new size (the VM's disk_gib follows). */
int store_disk_resize(struct store_conn *c, int64_t vm_id, const char *dev,
    int64_t size_gib);
/* Its volume is now volume, a whole one (no base): a restore. */
int store_disk_set_volume(struct store_conn *c, int64_t vm_id, const char *dev,
    const char *volume);
/*
 * The VM's disks, by boot order then device name, into out[max]; the
 * count, or -1.  More than max disks is ERR_INTERNAL (never stored).
 */
int store_disk_list(struct store_conn *c, int64_t vm_id, struct disk_rec *out,
    int max);
int store_disk_get(struct store_conn *c, int64_t vm_id, const char *dev,
    struct disk_rec *out);
/* fn(vm id, image) for every VM with a disk made from an image (the
 * image of its first such disk), by VM id (metrics' vm_info). */
typedef int (*store_vm_image_fn)(int64_t vm_id, const char *image,
    void *arg);
int store_disk_each_image(struct store_conn *c, store_vm_image_fn fn,
    void *arg);
/* How many disks are linked clones of image (0 when none). */
int store_disk_count_image(struct store_conn *c, const char *image,
    int64_t *out);
/* A create or disk add queued or running on a VM with a disk made from
 * image (it may be copying the image to a host now): its id into out,
 * UUID_STR_LEN ("" for none). */
int store_disk_image_op(struct store_conn *c, const char *image, char *out);

/* --- a VM's cloud-init settings (store_cloudinit.c) --- */
/* spec: the JSON text of the settings (api/cloudinit.c writes it). */
int store_cloudinit_put(struct store_conn *c, int64_t vm_id,
    const char *spec);
/* The VM's settings as JSON text into *spec (malloc'd, the caller frees);
 * ERR_NOT_FOUND when it has none. */
int store_cloudinit_get(struct store_conn *c, int64_t vm_id, char **spec);

/* --- networks (store_network.c) --- */
#define NETWORK_DESC_MAX 256
#define NETWORK_BRIDGE_LEN 16      /* a Linux interface name: 15 + NUL */

/*
 * A network NICs plug into: nat and isolated ones are libvirt networks
 * that hangar defines on every host; a bridge one names a bridge that
 * exists on the hosts.  Its IPv4 range (cidr "" for none; nat and
 * isolated always have one) is where hangar hands out NIC addresses:
 * every address but the network's own, the gateway and the broadcast.
 */
struct network_rec {
	int64_t id;
	char uuid[UUID_STR_LEN];   /* the libvirt network's, on every host */
	char name[NAME_MAX_LEN];
	char mode[12];             /* nat | isolated | bridge */
	char cidr[20];             /* "10.77.0.0/24", or "" */
	char gateway[16];          /* the hosts' address in it, or "" */
	bool dhcp;                 /* the hosts answer DHCP (nat/isolated) */
	char bridge[NETWORK_BRIDGE_LEN];  /* bridge mode: the hosts' bridge */
	char description[NETWORK_DESC_MAX];
	int64_t created_at;
	int nics;                  /* NICs on it (read-only) */
};

/*
 * Insert n (sets id and created_at; the caller sets uuid).  The gateway
 * defaults to the range's first address.  ERR_CONFLICT naming "name"
 * when the name is taken, "ipv4.cidr" when the range overlaps another
 * network's; ERR_INVALID naming the field when cidr or gateway is
 * malformed or the gateway is outside the range.
 */
int store_network_insert(struct store_conn *c, struct network_rec *n);
int store_network_get(struct store_conn *c, const char *name,
    struct network_rec *out);
int store_network_get_id(struct store_conn *c, int64_t id,
    struct network_rec *out);
/* The description: the one thing that changes without touching hosts. */
int store_network_set_description(struct store_conn *c, int64_t id,
    const char *description);
/* ERR_CONFLICT naming "name" while NICs use it. */
int store_network_delete(struct store_conn *c, int64_t id);
typedef int (*store_network_fn)(const struct network_rec *n, void *arg);
/* By name; stops early when fn returns non-zero (-1: its error). */
int store_network_each(struct store_conn *c, store_network_fn fn,
    void *arg);
/*
 * Leftovers: the libvirt network (name, uuid) of a deleted network, to
 * be removed from hosts.  add: one for every host (in the transaction
 * that deletes the row); drop: host (by name) no longer has it; each:
 * host's, in no particular order (fn's non-zero stops the walk).
 */
int store_network_leftovers_add(struct store_conn *c, const char *name,
    const char *uuid);
int store_network_leftover_drop(struct store_conn *c, const char *host,
    const char *uuid);
typedef int (*store_leftover_fn)(const char *name, const char *uuid,
    void *arg);
int store_network_leftover_each(struct store_conn *c, const char *host,
    store_leftover_fn fn, void *arg);

/* --- a VM's NICs (store_nic.c) --- */
#define VM_NICS_MAX 8
#define NIC_DEV_LEN 16

struct nic_rec {
	char dev[NIC_DEV_LEN];     /* net0, net1, ...: stable per VM */
	int64_t network_id;
	char network[NAME_MAX_LEN];  /* its name (read-only) */
	char mac[18];              /* "52:54:00:12:34:56" */
	char model[8];             /* virtio | e1000 */
	char ipv4[16];             /* its address, or "" (a network with no
	                            * range) */
	int64_t created_at;
	bool wish;                 /* to insert: mac and ipv4 are wishes,
	                            * replaced by new ones when taken or
	                            * not of the network (an import) */
};

/*
 * Add NIC n to VM vm_id, on network n->network_id.  An empty mac is
 * allocated: mac_prefix (e.g. "52:54:00") and random octets, retried
 * while taken; an empty ipv4 gets the first free address of the
 * network's range at or after its cursor, going round (the cursor then
 * moves past it).  An empty dev gets the VM's first free netN.  A
 * given mac or ipv4 must be well-formed and free (and the address in
 * the range): ERR_INVALID / ERR_CONFLICT naming "<field>.mac" or
 * "<field>.ipv4" (field e.g. "nics[0]"; NULL: just "mac", "ipv4");
 * ERR_CONFLICT naming "<field>.network" when its range is exhausted.
 * With n->wish, a taken or foreign mac or ipv4 is replaced by a new one
 * instead (n then holds what was given).
 */
int store_nic_insert(struct store_conn *c, int64_t vm_id, struct nic_rec *n,
    const char *mac_prefix, const char *field);
/* Remove the VM's NIC of that MAC (ERR_NOT_FOUND when none). */
int store_nic_delete(struct store_conn *c, int64_t vm_id, const char *mac);
/* The VM's NICs by device name into out[max]; the count, or -1. */
int store_nic_list(struct store_conn *c, int64_t vm_id, struct nic_rec *out,
    int max);
int store_nic_get(struct store_conn *c, int64_t vm_id, const char *mac,
    struct nic_rec *out);
/* A NIC of a running VM, as store_nic_each_running gives it. */
struct nic_run {
	int64_t vm_id, host_id;
	char uuid[UUID_STR_LEN];   /* the VM's */
	char mac[18];
	bool leasing;              /* its network's DHCP is hangar's (nat or
	                            * isolated, with DHCP) */
};
/*
 * fn(n, arg) for each NIC of a running VM, a VM's NICs one after the
 * other; fn's non-zero stops the walk and is returned.  -1 on a
 * database error.
 */
int store_nic_each_running(struct store_conn *c,
    int (*fn)(const struct nic_run *n, void *arg), void *arg);
/* The VM whose NIC has MAC mac (ERR_NOT_FOUND: no NIC of hangar's). */
int store_nic_vm(struct store_conn *c, const char *mac, int64_t *vm_id);

/* --- snapshots (store_snap.c) --- */
struct snap_rec {
	int64_t id;
	int64_t vm_id;
	char name[NAME_MAX_LEN];
	char description[1024];
	bool memory;               /* RAM state kept (as asked) */
	char vm_state[16];         /* the VM's state when taken */
	char parent[NAME_MAX_LEN]; /* "" for a root */
	char status[16];           /* creating | ready */
	bool scheduled;            /* taken by the schedule */
	int64_t created_at;
	char consistency[16];      /* stopped | memory | quiesced | crash */
};

/*
 * Insert a snapshot row (status creating).  ERR_CONFLICT naming field
 * "name" when the VM already has a snapshot of that name.
 */
int store_snap_insert(struct store_conn *c, struct snap_rec *s,
    const char *vm_name);
int store_snap_get(struct store_conn *c, int64_t vm_id, const char *name,
    struct snap_rec *out);
/* creating -> ready, with what the hypervisor recorded; snapshot.created */
int store_snap_ready(struct store_conn *c, const struct snap_rec *s,
    const char *op_id);
/*
 * Remove a snapshot row; its children take its parent (as libvirt does).
 * Appends snapshot.deleted unless it was still being created.
 */
int store_snap_delete(struct store_conn *c, int64_t vm_id, const char *name,
    const char *op_id);
typedef int (*store_snap_fn)(const struct snap_rec *s, void *arg);
/* Oldest first; scheduled_only limits it to the schedule's snapshots. */
int store_snap_each(struct store_conn *c, int64_t vm_id, bool scheduled_only,
    store_snap_fn fn, void *arg);

/* --- backups (store_backup.c) --- */
struct backup_rec {
	char id[UUID_STR_LEN];
	char vm_uuid[UUID_STR_LEN];
	char vm_name[NAME_MAX_LEN];
	char mode[16];               /* full | incremental */
	char parent[UUID_STR_LEN];   /* the backup it builds on, "" for none */
	char checkpoint[NAME_MAX_LEN];  /* libvirt checkpoint taken with it */
	char checkpoint_xml[8192];   /* its XML, to define it again */
	char status[16];             /* creating | ready */
	struct json_t *spec;         /* the VM as GET /v1/vms/{vm} shows it */
	struct json_t *disks;        /* [{dev, file, sha256, bytes}] */
	int64_t size;                /* bytes of its files */
	char op_id[UUID_STR_LEN];    /* the operation that made it */
	int64_t created_at;
	bool scheduled;              /* taken by the VM's backup_schedule */
};

/* Free what a row read holds (spec, disks); NULL is fine. */
void store_backup_clear(struct backup_rec *b);
/* Insert b (status creating) with its id, vm, mode, parent, checkpoint,
 * spec and op_id. */
int store_backup_insert(struct store_conn *c, struct backup_rec *b);
/* By id; ERR_NOT_FOUND.  Free with store_backup_clear. */
int store_backup_get(struct store_conn *c, const char *id,
    struct backup_rec *out);
/* The VM's newest ready backup; ERR_NOT_FOUND when it has none. */
int store_backup_latest(struct store_conn *c, const char *vm_uuid,
    struct backup_rec *out);
/* creating -> ready with its disks, size, checkpoint_xml; backup.created */
int store_backup_ready(struct store_conn *c, const struct backup_rec *b,
    const char *op_id);
/* After a consolidation: its new parent ("" makes it full), files, size. */
int store_backup_set_disks(struct store_conn *c, const char *id,
    const char *parent, struct json_t *disks, int64_t size);
/* The VM's disks were replaced (a restore): no checkpoint of its backups
 * can be defined again; the next incremental one needs a full first. */
int store_backup_forget_checkpoints(struct store_conn *c,
    const char *vm_uuid);
/* Remove the row; backup.deleted when it was ready and its VM is there. */
int store_backup_delete(struct store_conn *c, const char *id,
    const char *op_id);
typedef int (*store_backup_fn)(const struct backup_rec *b, void *arg);
/* The VM's backups, oldest first (fn's non-zero stops the walk). */
int store_backup_each(struct store_conn *c, const char *vm_uuid,
    store_backup_fn fn, void *arg);

/* --- operations (store_op.c) --- */
/*
 * Insert a queued operation.  Fails with ERR_CONFLICT when the VM already
 * has a queued or running operation (a unique index guarantees it).
 */
int store_op_insert(struct store_conn *c, struct op_rec *o);
int store_op_get(struct store_conn *c, const char *id, struct op_rec *out);
/* The newest operation made by a request with Idempotency-Key key. */
int store_op_get_by_idem(struct store_conn *c, const char *key,
    struct op_rec *out);
/* queued -> cancelled; ERR_NOT_FOUND when it is no longer queued. */
int store_op_cancel_queued(struct store_conn *c, const char *id);
/* Delete operations that finished before before_ms; count into *pruned. */
int store_op_prune(struct store_conn *c, int64_t before_ms, int64_t *pruned);
int store_op_set_running(struct store_conn *c, const char *id);
int store_op_set_step(struct store_conn *c, const char *id, const char *step);
/* Record progress (a JSON object's text); appends operation.progress. */
int store_op_set_progress(struct store_conn *c, const char *id,
    const char *progress);
/* Replace the operation's params (a JSON object's text). */
int store_op_set_params(struct store_conn *c, const char *id,
    const char *params);
/* Final status; err_* taken from *e when status is OP_FAILED. */
struct err;
int store_op_finish(struct store_conn *c, const char *id,
    enum op_status status, const struct err *e);
typedef int (*store_op_fn)(const struct op_rec *o, void *arg);
/* Newest first; vm_id 0 and status NULL mean "any"; limit <= 0 means 100. */
int store_op_each(struct store_conn *c, int64_t vm_id, const char *status,
    int limit, store_op_fn fn, void *arg);
/* Oldest first: every queued or running operation (for start-up recovery). */
int store_op_each_unfinished(struct store_conn *c, store_op_fn fn, void *arg);
/* The children of a drain or plan, oldest first. */
int store_op_each_child(struct store_conn *c, const char *parent_id,
    store_op_fn fn, void *arg);

/* --- the image library (store_image.c) --- */
#define IMAGE_SPEC_MAX 2048
#define IMAGE_SHA256_LEN 65        /* 64 hex digits + NUL */

struct image_rec {
	int64_t id;
	char name[NAME_MAX_LEN];
	char state[16];            /* importing | ready | failed */
	char source_format[8];     /* as uploaded: raw qcow2 vmdk vhd vhdx ova */
	char sha256_upload[IMAGE_SHA256_LEN];  /* of the bytes uploaded */
	char sha256[IMAGE_SHA256_LEN];  /* of the stored qcow2 ("" until ready) */
	int64_t virtual_size;      /* bytes the guest sees */
	int64_t actual_size;       /* bytes of the stored qcow2 */
	char os[16];               /* linux | windows | other */
	char ova_spec[IMAGE_SPEC_MAX];  /* suggested VM spec (JSON), or "" */
	char path[1024];           /* the stored qcow2 ("" until ready) */
	char op_id[UUID_STR_LEN];  /* the import operation */
	int64_t created_at;
};

/*
 * Insert an image row (state importing, unless set); sets id.
 * ERR_CONFLICT naming field "name" when the name is taken.
 */
int store_image_insert(struct store_conn *c, struct image_rec *im);
int store_image_get(struct store_conn *c, const char *name,
    struct image_rec *out);
/* importing -> ready, with im's checksums, sizes, path and spec. */
int store_image_set_ready(struct store_conn *c, const struct image_rec *im);
/* Remove the row; ERR_NOT_FOUND when there is none. */
int store_image_delete(struct store_conn *c, const char *name);
/* An importing row's results (sha256, sizes, path), still importing. */
int store_image_set_stored(struct store_conn *c, const struct image_rec *im);
/* importing -> ready for every row of import op_id that has its results
 * (the other disks of an OVA). */
int store_image_ready_op(struct store_conn *c, const char *op_id);
/* Remove every importing row of import op_id (a failed import). */
int store_image_delete_import(struct store_conn *c, const char *op_id);
typedef int (*store_image_fn)(const struct image_rec *im, void *arg);
/* By name; stops early when fn returns non-zero (-1: its error). */
int store_image_each(struct store_conn *c, store_image_fn fn, void *arg);

/* --- images cached on hosts (store_host_image.c) --- */
struct host_image_rec {
	int64_t host_id;
	char sha256[65];
	char volume[DISK_VOLUME_LEN];  /* base-<sha256>.qcow2 in its pool */
	char state[12];                /* copying | ready */
	int64_t created_at;
};
/* ERR_NOT_FOUND when the host holds no copy (nor one being made). */
int store_host_image_get(struct store_conn *c, int64_t host_id,
    const char *sha256, struct host_image_rec *out);
/* Insert or replace the row. */
int store_host_image_put(struct store_conn *c, const struct host_image_rec *h);
int store_host_image_delete(struct store_conn *c, int64_t host_id,
    const char *sha256);
/* The hosts holding a whole copy of the image of sha256: fn per host id
 * (its non-zero stops the walk). */
typedef int (*store_host_id_fn)(int64_t host_id, void *arg);
int store_host_image_holders(struct store_conn *c, const char *sha256,
    store_host_id_fn fn, void *arg);
/*
 * What keeps host_id's copy of the image of sha256 (vm_id's disks
 * aside, 0: none): disks of VMs on the host made over it, and an
 * operation queued or running that puts a disk made from the image on
 * the host -- a create, disk add or revert of a VM there, a migration
 * of one to it (whose rows still say the source until it ends).
 */
struct host_image_use {
	int64_t disks;                 /* overlays of it on the host */
	char op_id[UUID_STR_LEN];      /* one such operation, or "" */
};
int store_host_image_use(struct store_conn *c, int64_t host_id,
    const char *sha256, int64_t vm_id, struct host_image_use *out);
/* host_id's rows (of sha256 only, unless NULL), by sha256: fn per row
 * (its non-zero stops the walk; -1 is its error). */
typedef int (*store_host_image_fn)(const struct host_image_rec *h,
    void *arg);
int store_host_image_each(struct store_conn *c, int64_t host_id,
    const char *sha256, store_host_image_fn fn, void *arg);
/* How many hosts hold a row (copying or ready) of sha256. */
int store_host_image_count(struct store_conn *c, const char *sha256,
    int64_t *out);

/* --- migration plans (store_plan.c) --- */
struct plan_rec {
	char id[UUID_STR_LEN];
	char kind[16];             /* consolidation | rebalance */
	char *body;                /* the plan's JSON text (owned: free with
	                            * store_plan_free) */
	char op_id[UUID_STR_LEN];  /* the execution, or "" */
	int64_t created_at;
};

int store_plan_insert(struct store_conn *c, const char *id, const char *kind,
    const char *body);
int store_plan_get(struct store_conn *c, const char *id, struct plan_rec *out);
/* Mark the plan executed by op_id; ERR_CONFLICT if it already was. */
int store_plan_set_op(struct store_conn *c, const char *id, const char *op_id);
void store_plan_free(struct plan_rec *p);

/* --- idempotency keys (store_idem.c) --- */
struct idem_rec {
	bool same_request;         /* the stored request equals this one */
	int status;                /* the first reply's status; 0 = pending */
	char location[256];
	char *body;                /* the first reply's body (owned; free
	                            * with store_idem_free) */
	int64_t created_at;
};

/*
 * Claim key for a request (its canonical text): 0 when the key was free
 * (or expired: older than ttl_ms) and is now pending for this request, 1
 * when the key is known, with *out filled.
 */
int store_idem_claim(struct store_conn *c, const char *key,
    const char *request, int64_t ttl_ms, struct idem_rec *out);
/* Record the reply to key's request. */
int store_idem_done(struct store_conn *c, const char *key, int status,
    const char *location, const char *body);
/*
 * Take over a key left pending by a daemon that died (claimed at
 * created_at): it is pending for this request now.  ERR_CONFLICT when
 * another request took it over first.
 */
int store_idem_take_over(struct store_conn *c, const char *key,
    int64_t created_at);
/* Forget key (its request failed and may be tried again). */
int store_idem_release(struct store_conn *c, const char *key);
int store_idem_prune(struct store_conn *c, int64_t before_ms,
    int64_t *pruned);
void store_idem_free(struct idem_rec *r);

/* Delete events older than before_ms; count into *pruned. */
int store_event_prune(struct store_conn *c, int64_t before_ms,
    int64_t *pruned);

/* --- events (store_event.c) --- */
/*
 * Every change is appended to the events table in the transaction that
 * makes it, so the stream holds exactly what was committed, in order.
 */
#define EVENT_DATA_MAX 4096

struct event_rec {
	int64_t id;
	int64_t ts;                /* ms since the epoch */
	char type[48];             /* vm.paused, operation.succeeded, ... */
	char vm_uuid[UUID_STR_LEN];
	char vm_name[NAME_MAX_LEN];
	char host[NAME_MAX_LEN];
	char op_id[UUID_STR_LEN];
	char data[EVENT_DATA_MAX]; /* JSON object text */
};

struct json_t;
/*
 * Append an event about VM vm_id; its uuid, name and host are read from
 * its row, which must still exist.  data (borrowed, may be NULL for {})
 * is the event's data object; op_id may be NULL.
 */
int store_event_vm(struct store_conn *c, int64_t vm_id, const char *type,
    const char *op_id, struct json_t *data);
/* Append an event about a host (data borrowed, may be NULL). */
int store_event_host(struct store_conn *c, const char *host,
    const char *type, struct json_t *data);
typedef int (*store_event_fn)(const struct event_rec *e, void *arg);
/*
 * Events with id > after_id, oldest first, at most limit of them.  On a
 * reader (store_read_begin), only durable ones: up to store_event_last().
 */
int store_event_each(struct store_conn *c, int64_t after_id, int limit,
    store_event_fn fn, void *arg);
/* The oldest event id still kept (0 when there is none). */
int store_event_first(struct store_conn *c, int64_t *out);
/* The newest committed and durable event id (0 when none). */
int64_t store_event_last(struct store *s);
/*
 * Wait until an event newer than after_id is durable, at most
 * timeout_ms; returns the newest committed id (<= after_id on timeout).
 */
int64_t store_event_wait(struct store *s, int64_t after_id, int timeout_ms);

/* ================================================================== */
/* --- API tokens (store_token.c; access control) --- */
/*
 * Only a token's SHA-256 (hex) is stored, never the token.  A revoked
 * token keeps its row (revoked_at set) until a new token takes its name.
 * TOKEN_HASH_LEN is in common/token.h.
 */

struct token_rec {
	char id[UUID_STR_LEN];
	char name[NAME_MAX_LEN];
	char role[16];             /* reader | operator | admin */
	char hash[TOKEN_HASH_LEN];
	int64_t created_at;
	int64_t revoked_at;        /* 0: in force */
};

/*
 * Insert t (id, name, role, hash set by the caller; sets created_at).  A
 * revoked token of the same name is replaced; ERR_CONFLICT naming field
 * "name" when a token of that name is in force.
 */
int store_token_insert(struct store_conn *c, struct token_rec *t);
/*
 * Revoke token name now (a revoked one keeps its first revoked_at); *out
 * is the row afterwards.  ERR_NOT_FOUND when there is no such token.
 */
int store_token_revoke(struct store_conn *c, const char *name,
    struct token_rec *out);
/* Every token, revoked ones too, by name; stops when fn returns non-zero. */
typedef int (*store_token_fn)(const struct token_rec *t, void *arg);
int store_token_each(struct store_conn *c, store_token_fn fn, void *arg);

/* --- test environments (store_env.c) --- */
#define ENV_ERROR_MAX 512

/*
 * An environment: a private network and VMs made and removed together
 * (daemon/envs.c).  state: creating -> ready, or failed; deleting until
 * its rows are gone.  expires_at (ms since the epoch, 0: never) is when
 * the expiry ticker removes it.
 */
struct env_rec {
	int64_t id;
	char name[NAME_MAX_LEN];
	int64_t network_id;        /* 0: none (yet, or no longer) */
	char state[12];
	int64_t ttl_s;             /* as asked (0: none) */
	int64_t expires_at;
	char op_id[UUID_STR_LEN];  /* its latest operation, or "" */
	char error[ENV_ERROR_MAX]; /* why it failed, or "" */
	int64_t created_at;
	int nvms;                  /* VMs linked to it (read-only) */
};

/* Insert e (sets id, created_at).  ERR_CONFLICT naming "name" if taken. */
int store_env_insert(struct store_conn *c, struct env_rec *e);
/* ERR_NOT_FOUND naming it. */
int store_env_get(struct store_conn *c, const char *name, struct env_rec *out);
/* Write back network_id, state, ttl_s, expires_at, op_id and error. */
int store_env_update(struct store_conn *c, const struct env_rec *e);
/* The row only: its VM links go with it. */
int store_env_delete(struct store_conn *c, int64_t id);
typedef int (*store_env_fn)(const struct env_rec *e, void *arg);
/* By name; stops early when fn returns non-zero (-1: its error). */
int store_env_each(struct store_conn *c, store_env_fn fn, void *arg);
/* Those whose expiry is at or before now_ms and that are ready or failed. */
int store_env_each_expired(struct store_conn *c, int64_t now_ms,
    store_env_fn fn, void *arg);
/* Link VM vm_id to environment env_id as role. */
int store_env_vm_link(struct store_conn *c, int64_t env_id, int64_t vm_id,
    const char *role);
typedef int (*store_env_vm_fn)(int64_t vm_id, const char *role, void *arg);
/* The VMs of env_id, in the order they were made. */
int store_env_vm_each(struct store_conn *c, int64_t env_id,
    store_env_vm_fn fn, void *arg);
/* The environment VM vm_id belongs to into name (len), "" when none. */
int store_env_of_vm(struct store_conn *c, int64_t vm_id, char *name,
    size_t len);

#endif
