/*
 * app.h - the daemon's shared context and the interfaces of the daemon
 * module that the API calls: the fleet of host connections and the
 * operation engine.
 *
 * Ownership: main() owns the one struct app; everything it points to lives
 * until app shutdown.  Dependencies flow api -> daemon -> store, scheduler,
 * backends; the engine tells the API nothing directly.
 */
#ifndef HANGAR_APP_H
#define HANGAR_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "../backends/backend.h"
#include "../common/addrseen.h"
#include "../scheduler/sched.h"
#include "../store/store.h"
#include "config.h"
#include "view.h"

struct fleet;
struct ops;
struct consoles;

struct app {
	struct config cfg;
	struct store *store;
	struct view *view;
	struct fleet *fleet;
	struct ops *ops;
	struct consoles *consoles; /* the VMs' open consoles (console.c) */
	int64_t started_ms;        /* when this process started */
	int stopping;              /* set (atomically) when shutting down:
	                            * event streams end */
};

/* --- fleet.c: one backend connection per registered host --- */
struct fleet *fleet_open(struct store *s, struct view *v,
    const struct config *cfg);
void fleet_close(struct fleet *f);
/*
 * Register the host at cfg->host_uri as `local` when the inventory has no
 * hosts, then connect to every host, refresh its facts and make sure its
 * storage pool exists.  A host that cannot be reached is unreachable.
 */
int fleet_start(struct fleet *f);
/* Fill a new host record's settings with the configured defaults. */
void fleet_host_defaults(const struct fleet *f, struct host_rec *h);
/*
 * Register a new host: connect to h->uri, read its facts, make sure its
 * pool exists, then store it.  ERR_UNPROCESSABLE with libvirt's words
 * when the URI cannot be reached or used, ERR_CONFLICT (field pool_path)
 * when the name its pool would get is taken by a pool at another
 * directory; nothing is stored then.  h is filled with the stored record.
 */
int fleet_register(struct fleet *f, struct host_rec *h);
/*
 * Have fn told of every domain lifecycle change on every host (uuid set),
 * and of a host's connection closing (uuid NULL).  fn runs on the
 * backend's event thread and must return quickly.  Set before
 * fleet_start().
 */
typedef void (*fleet_event_fn)(void *arg, int64_t host_id, const char *uuid,
    const char *event);
void fleet_watch(struct fleet *f, fleet_event_fn fn, void *arg);
/* Forget a host (its row is already gone). */
void fleet_unregister(struct fleet *f, int64_t host_id);
/*
 * The connection of host id, reconnecting if needed.  NULL with
 * ERR_UNAVAILABLE ("host 'x' is unreachable: ...") when it cannot be had.
 * The fleet keeps ownership; valid until fleet_close().
 */
struct backend_conn *fleet_conn(struct fleet *f, int64_t host_id);
/*
 * Does host id answer now?  Asked at once, whatever its backoff (a host
 * that answers is recorded ready, one that does not unreachable).  1, 0,
 * or -1 (ERR_NOT_FOUND: not registered).
 */
int fleet_answers(struct fleet *f, int64_t host_id);
/*
 * The name of host id's storage pool, the one at its pool_path, as its
 * last look found it (fleet_pool.c says how it is chosen), into out.
 * ERR_UNAVAILABLE when the host was never reached.  A VM's disk is made
 * in, and looked up in, its host's pool; a migration's copy in the
 * destination's.
 */
#define FLEET_POOL_MAX 288
int fleet_pool(struct fleet *f, int64_t host_id, char *out, size_t len);
/*
 * The same, after making sure the pool is there and active again (it may
 * have been undefined or stopped behind our back).
 */
int fleet_pool_ensure(struct fleet *f, int64_t host_id, char *out,
    size_t len);
/*
 * Move host id's disks to directory path ("" for the configured
 * pool_path): its pool there is made sure of (as on registration), then
 * the host record is changed, while no VM is placed on it (ERR_CONFLICT
 * otherwise), and its facts are looked at again.  *h is the stored
 * record afterwards.
 */
int fleet_set_pool_path(struct fleet *f, int64_t host_id, const char *path,
    struct host_rec *h);
/*
 * Do hosts a and b see the same files at the same path in their pools
 * (a marker volume made through a's pool is found through b's)?  Found
 * once per pair of pools and kept (fleet_pool.c says for how long).
 * *why says what was found, for a check's reason.  0, or -1 when it
 * could not be found out (a host unreachable).
 */
int fleet_shared(struct fleet *f, int64_t a, int64_t b, bool *shared,
    char *why, size_t why_len);
/*
 * Check every host: refresh the facts of reachable ones, mark those that
 * stopped answering unreachable, and retry unreachable ones (with
 * backoff).
 */
void fleet_check(struct fleet *f);

/*
 * Call fn(bc, host name, arg) for every reachable host in turn (each
 * host's lock held meanwhile), until one returns non-zero: that result
 * (and its error) is returned; 0 when all returned 0.
 */
typedef int (*fleet_conn_fn)(struct backend_conn *bc, const char *host,
    void *arg);
int fleet_each_reachable(struct fleet *f, fleet_conn_fn fn, void *arg);

/* --- networks.c: networks on the hosts --- */
struct network_names {
	char name[NAME_MAX_LEN + 8];      /* libvirt's: hangar-<name> */
	char bridge[NETWORK_BRIDGE_LEN];  /* hgn<id>, or a bridge network's */
};
/* libvirt's names for network n on every host. */
void networks_lv_names(const struct network_rec *n, struct network_names *out);
/* Is n a libvirt network on every host (nat, isolated), not a bridge? */
bool networks_on_hosts(const struct network_rec *n);
/* Network n defined and running on the host at bc (a repeat is
 * harmless; nothing for a bridge network). */
int networks_ensure_on(struct backend_conn *bc, const struct network_rec *n);
/* Every network on the host at bc, which just connected (failures are
 * logged, not returned). */
void networks_ensure_host(struct store *s, struct backend_conn *bc,
    const char *host);
/*
 * Store network n and make it on every reachable host; a host that
 * refuses undoes it all (ERR_CONFLICT with its words).  Store errors:
 * ERR_CONFLICT naming "name" or "ipv4.cidr", ERR_INVALID.
 */
int networks_request_create(struct app *app, struct network_rec *n);
/* Delete network name (ERR_CONFLICT while NICs use it) from the store and
 * the reachable hosts; *out is the row it was. */
int networks_request_delete(struct app *app, const char *name,
    struct network_rec *out);

/* --- nics.c: plugging NICs in and out --- */
struct nic_request {
	const char *vm;            /* name or uuid */
	enum op_kind kind;         /* OP_NIC_ADD or OP_NIC_REMOVE */
	struct nic_rec nic;        /* add: network_id, mac, ipv4, model as
	                            * asked ("" = handed out) */
	const char *mac;           /* remove: the NIC */
	const char *idem_key;      /* or NULL */
};
/*
 * Record a NIC operation and hand it to the engine; *op is it, *nic (may
 * be NULL) the NIC's row (an added one's MAC and address as handed out).
 * ERR_NOT_FOUND (vm, NIC), ERR_CONFLICT (an operation under way, a taken
 * MAC or address naming mac/ipv4, no address left), ERR_INVALID.
 */
int nics_request(struct app *app, const struct nic_request *rq,
    struct op_rec *op, struct nic_rec *nic);

/* --- leases.c: the DHCP leases of hangar's networks --- */
/* Read the DHCP leases of every network on every reachable host into
 * the table of addresses seen (source "lease"). */
void leases_refresh(struct app *app);

/* --- addrs.c: the addresses NICs were seen with --- */
/*
 * Replace src's entries of the MACs in scope (in_scope NULL: all) with
 * nv[n] in the table, a vm.address event for each one new; prime: this
 * was a look at every VM (later news is news).
 */
void addrs_put(struct app *app, enum addr_source src, addr_scope_fn in_scope,
    void *scope_arg, const struct addr_seen *nv, size_t n, bool prime);
/* The addresses mac was last seen with, every source, into out[max];
 * their count. */
int addrs_of(const char *mac, struct addr_seen *out, int max);
/*
 * Wait until one of macs[n] is seen with an address first seen (or its
 * lease renewed) at or after since_ms (1), or until until_ms passes, or
 * hangard stops (0).  Times in ms since the epoch.
 */
int addrs_wait(struct app *app, const char (*macs)[18], int n,
    int64_t since_ms, int64_t until_ms);
/* Look at every source for every running VM (the reconcile sweep). */
void addrs_sweep(struct app *app);
/* Look for the first address of running VMs that have none yet: called
 * every few seconds, so a booting guest's shows soon. */
void addrs_watch(struct app *app);

/* --- ops.c: the operation engine --- */
struct ops *ops_new(struct app *app);
/* Start the workers after recovering what a previous run left unfinished. */
int ops_start(struct ops *o);
/* Hand a queued operation (already committed to the store) to the workers. */
void ops_submit(struct ops *o, const char *op_id);
/*
 * Wait until operation id has finished or timeout_ms passed.  Fills *out
 * with its latest record.  Returns 0 (check out->status), or -1 with an
 * error (unknown id, database).
 */
int ops_wait(struct ops *o, const char *id, int64_t timeout_ms,
    struct op_rec *out);
/* Operation id's VM changed: wake it if parked (ops_park), or, if it is
 * looking now, have its next park due at once. */
void ops_poke(struct ops *o, const char *id);
/*
 * The VM ref (name or uuid) for a request that starts an operation on
 * it: 0, or -1 with ERR_NOT_FOUND, or ERR_CONFLICT while an operation is
 * under way or its state is unknown (snapshots.c).
 */
int vm_idle(struct store_conn *c, const char *ref, struct vm_rec *v);

/* --- guest.c: the guest agent --- */
/*
 * VM ref's guest, as its agent tells (out->agent false when none
 * answers); v is the VM.  ERR_CONFLICT when it is not running,
 * ERR_UNAVAILABLE when its host cannot be reached.
 */
int guest_get(struct app *app, const char *ref, struct vm_rec *v,
    struct guest_info *out);

/* --- snapshots.c: snapshot requests --- */
struct snap_request {
	const char *vm;            /* name or uuid */
	const char *name;          /* the snapshot */
	const char *description;   /* take only; may be NULL */
	bool memory;               /* take only: keep the RAM state */
	bool scheduled;            /* take only: made by the schedule */
	const char *idem_key;      /* the request's Idempotency-Key, or NULL */
};
/*
 * Record a snapshot operation (kind OP_SNAPSHOT_CREATE, _REVERT or
 * _DELETE) for rq->vm and hand it to the engine; *op is the recorded
 * operation.  ERR_NOT_FOUND (vm, snapshot), ERR_CONFLICT (name taken, an
 * operation under way, state unknown, memory asked of a stopped VM).
 */
int snapshots_request(struct app *app, enum op_kind kind,
    const struct snap_request *rq, struct op_rec *op);

/* --- backups.c: backup requests, and the backups' files --- */
struct backup_request {
	const char *vm;            /* name or uuid */
	const char *mode;          /* full | incremental */
	struct json_t *spec;       /* the VM as GET /v1/vms/{vm} shows it
	                            * (borrowed) */
	const char *idem_key;      /* the request's Idempotency-Key, or NULL */
	bool scheduled;            /* by the backup schedule (bsched.c) */
};
/*
 * Record a backup (its row, status creating) and its operation for
 * rq->vm and hand it to the engine; *op is the operation, id the new
 * backup's.  A stopped VM is backed up too (its domain started paused
 * for the job: params "offline").  ERR_CONFLICT: the VM is busy or its
 * state unknown, or (naming "mode") an incremental one has no backup to
 * build on.
 */
int backups_request(struct app *app, const struct backup_request *rq,
    struct op_rec *op, char *id, size_t idlen);
/*
 * backup_direct.c: does host_id see backup_dir at the same path (a
 * probe, its verdict kept a while)?  Then a backup job there writes
 * into backup_dir directly.  false when backup_direct is 0 or the host
 * cannot be asked.
 */
bool backups_direct(struct app *app, int64_t host_id);
/* Delete backup id of vm, folding it into the backups that build on it
 * first.  ERR_NOT_FOUND, ERR_CONFLICT (one is being made). */
int backups_delete(struct app *app, const char *vm, const char *id);
/* The backup id of vm; *b zeroed on failure (store_backup_clear it). */
int backups_load(struct store_conn *c, const char *vm, const char *id,
    struct vm_rec *v, struct backup_rec *b);
/* Paths: backup_dir/rel; a backup's directory; making it. */
int backups_path(const struct app *app, const char *rel, char *buf,
    size_t len);
int backups_dir(const struct app *app, const char *vm_uuid, const char *id,
    char *buf, size_t len);
int backups_mkdirs(const struct app *app, const char *vm_uuid,
    const char *id);
/* Remove a backup's directory and its files (failures are logged). */
void backups_remove_files(const struct app *app, const char *vm_uuid,
    const char *id);
/* qemu-img rebase file onto backing ("": none); safe keeps the data
 * the image showed (copies it in), unsafe only changes the name. */
int backups_set_backing(const char *file, const char *backing, bool safe);
/*
 * Record restoring stopped VM vm's disks from its backup id, and hand it
 * to the engine.  ERR_NOT_FOUND naming "backup"; ERR_CONFLICT: not
 * stopped, busy, or (naming "backup") the backup does not hold the VM's
 * disks as they are now.
 */
int backups_restore_request(struct app *app, const char *vm, const char *id,
    const char *idem_key, struct op_rec *op);
/* backup_dir/.staging/<name>.qcow2 into buf (the directory made). */
int backups_staged(const struct app *app, const char *name, char *buf,
    size_t len);
/* Disk dev of b, its chain flattened, into a new qcow2 at dst. */
int backups_flatten_to(const struct app *app, const struct backup_rec *b,
    const char *dev, const char *dst);
/* Disk dev of b flattened into an unlinked file opened into *fd, with
 * its SHA-256 (hex) into sha. */
int backups_flatten(const struct app *app, const struct backup_rec *b,
    const char *dev, int *fd, char sha[IMAGE_SHA256_LEN]);

/* --- imgcache.c: each host's cached base copy of an image --- */
/* The base volume's name for an image: base-<sha256>.qcow2 (into out,
 * DISK_VOLUME_LEN). */
void imgcache_volume(const char *sha256, char *out);
/* The image sha256 a base volume's name says, into out; false when vol
 * is not such a name. */
bool imgcache_sha(const char *vol, char *out, size_t len);
/*
 * The path of image im's base volume in pool on host host_id (bc), into
 * path: uploaded first unless the host holds a whole copy.  Once per
 * host and image at a time; the others wait and find it there.
 */
int imgcache_base(struct app *app, struct backend_conn *bc, int64_t host_id,
    const char *pool, const struct image_rec *im, char *path, size_t len);
/* What removing one host's copy of an image came to. */
enum imgcache_fate {
	IC_KEPT,          /* something needs it (use says what) */
	IC_REMOVED,       /* its volume and its row are gone */
	IC_FORGOTTEN,     /* its volume was gone already: the row went */
	IC_BUSY,          /* being copied or pruned right now: left */
	IC_FAILED,        /* the error says why */
};
struct imgcache_drop {
	enum imgcache_fate fate;
	struct host_image_use use;
};
/*
 * Remove host_id's copy of the image of sha256 (its volume in pool on
 * bc, then its row) unless store_host_image_use() finds something that
 * needs it.  wait: wait for whoever copies or prunes it now, else report
 * IC_BUSY.  0, or -1 (IC_FAILED) with the error.
 */
int imgcache_drop(struct app *app, struct backend_conn *bc, int64_t host_id,
    const char *pool, const char *sha256, bool wait,
    struct imgcache_drop *out);
/* imgcache_drop() of base volume vol, waiting; failures are logged. */
void imgcache_prune(struct app *app, struct backend_conn *bc, int64_t host_id,
    const char *pool, const char *vol);

/* --- ops_prune.c: removing hosts' image copies that nothing needs --- */
struct prune_request {
	const char *host;          /* one host, or NULL: every host */
	const char *image;         /* one image's copies, or NULL: all */
	const char *idem_key;      /* the request's Idempotency-Key, or NULL */
};
/*
 * Record an image_prune operation and hand it to the engine; *op is the
 * recorded operation.  ERR_UNPROCESSABLE naming "host" or "image" when
 * it names none.
 */
int prune_request(struct app *app, const struct prune_request *rq,
    struct op_rec *op);
/*
 * An image_prune operation (not recorded) into *op: of host's copies
 * (NULL: every host's) of the image of sha256 (NULL: every image), name
 * its name for the result; until_reached: stay running, trying again,
 * until every host holding a copy has been reached (an image's delete).
 */
int prune_op_make(const char *host, const char *sha256, const char *name,
    bool until_reached, struct op_rec *op);

/* --- disks.c: adding, removing and growing a VM's disks --- */
struct disk_request {
	const char *vm;            /* name or uuid */
	enum op_kind kind;         /* OP_DISK_ADD, _REMOVE or _RESIZE */
	const char *dev;           /* remove, resize: the disk */
	const char *bus;           /* add: virtio (default), sata, scsi, ide */
	int64_t size_gib;          /* add: its size (0: the image's);
	                            * resize: the new size */
	const char *image;         /* add: a linked clone of this image */
	const char *idem_key;      /* the request's Idempotency-Key, or NULL */
};
/*
 * Record a disk operation and hand it to the engine; *op is the recorded
 * operation.  An added disk's row (and a grown disk's new size) is
 * written with it, its room claimed on the VM's host at once as a create
 * claims a VM's; a failed operation gives it back.  ERR_NOT_FOUND (vm,
 * dev), ERR_CONFLICT (an operation under way, state unknown, the boot
 * disk), ERR_INVALID (a shrink, no device name left on the bus),
 * ERR_NO_CAPACITY.
 */
int disks_request(struct app *app, const struct disk_request *rq,
    struct op_rec *op);
/*
 * Disk d made from library image name (field names it in errors): its
 * image and, for a linked clone, its base volume set; a size_gib of 0
 * becomes the image's size, a smaller one than that is ERR_INVALID.
 * ERR_UNPROCESSABLE when there is no such image, ERR_CONFLICT while it is
 * still being imported.
 */
int disks_from_image(struct store_conn *c, const char *field,
    const char *name, bool linked, struct disk_rec *d);
/*
 * The next free device name for bus among d[0..n-1] into out
 * (DISK_DEV_LEN): vda, vdb, ... (virtio); sda, ... (sata and scsi share
 * them); hda..hdd (IDE has four places).  field names it in the error.
 */
int disks_dev_name(const struct disk_rec *d, int n, const char *bus,
    char *out, const char *field);
/* Name each disk's volume after the VM's uuid (a create's, a clone's). */
void disks_volumes(struct disk_rec *d, int n, const char *uuid);

/* --- clone.c: clones and templates --- */
struct clone_request {
	const char *vm;            /* the source: name or uuid */
	const char *name;          /* the clone's (checked by the caller) */
	bool linked;               /* disks over an image stay over it */
	bool start;
	const char *host;          /* NULL: the source's host */
	const char *idem_key;      /* or NULL */
};
/*
 * Record the clone of rq->vm as a new VM (its rows, placed like a
 * create) with its clone operation, and hand it to the engine; *op is
 * the operation, *out the new VM.  ERR_NOT_FOUND (vm, host),
 * ERR_CONFLICT (an operation under way, state unknown, name taken,
 * a disk outside hangar's pool, no address left), ERR_NO_CAPACITY.
 */
int clone_request(struct app *app, const struct clone_request *rq,
    struct op_rec *op, struct vm_rec *out);
struct template_request {
	const char *vm;            /* name or uuid: a stopped VM */
	const char *image;         /* the new image's name (checked) */
	const char *idem_key;      /* or NULL */
};
/*
 * Record a template operation on rq->vm with its image's row (importing)
 * and hand it to the engine.  ERR_NOT_FOUND, ERR_CONFLICT (not stopped,
 * an operation under way, image name taken naming "image", no disk).
 */
int template_request(struct app *app, const struct template_request *rq,
    struct op_rec *op);

/* --- resize.c: a VM's vCPUs and memory --- */
enum resize_apply { RESIZE_AUTO = 0, RESIZE_LIVE, RESIZE_NEXT_BOOT };
struct resize_request {
	const char *vm;            /* name or uuid */
	int vcpus;                 /* 0: as it is */
	int64_t memory_mib;        /* 0: as it is */
	enum resize_apply apply;   /* AUTO: live when it runs and can be */
	bool allow_move;           /* a host that cannot take it: move */
	const char *idem_key;      /* or NULL */
};
/*
 * Record a resize (kind OP_RESIZE) and hand it to the engine.  The new
 * size is written to the VM's row and claimed on its host in the same
 * transaction, with the view held (as a create claims); a failed resize
 * gives it back.  ERR_INVALID naming vcpus or memory_mib (above the VM's
 * max_vcpus / max_memory_mib, no change), ERR_CONFLICT naming apply
 * (live asked of a VM that is not running, or a change that cannot be
 * made live), ERR_NO_CAPACITY when its host cannot take it, its verdict
 * in *out (place_out_free).
 */
struct place_out;
int resize_request(struct app *app, const struct resize_request *rq,
    struct op_rec *op, struct place_out *out);

/* --- migrate.c: migration requests and pre-flight checks --- */
struct migrate_request {
	const char *vm;            /* name or uuid */
	const char *host;          /* destination; NULL: the scheduler picks */
	bool force;                /* with host: skip the placement filters */
	bool live;                 /* a running VM keeps running (default) */
	bool live_asked;           /* live was in the request */
	int copy_storage;          /* -1 auto, 0 no (shared), 1 yes */
	int64_t max_downtime_ms;   /* 0: libvirt's default */
	int64_t bandwidth_mib_s;   /* 0: unlimited */
	bool auto_converge;
	bool post_copy;
	const char *parent_id;     /* a drain's or plan's child, or NULL */
	const char *idem_key;      /* or NULL */
	bool no_submit;            /* the caller runs it (ops_run_inline) */
	/* a resize that moves (resize.c): the size the destination must
	 * take and hold (0: the VM's), and the resize's own parameters,
	 * which make it an operation of kind OP_RESIZE; NULL: a migration */
	int vcpus;
	int64_t memory_mib;
	struct json_t *resize;
};
/*
 * Record a migration (kind OP_MIGRATE) of rq->vm and hand it to the engine
 * (unless no_submit).  ERR_NOT_FOUND (vm, host), ERR_CONFLICT (an
 * operation under way, unknown state, a storage mode that cannot work),
 * ERR_NO_CAPACITY (no host can take it).
 */
int migrate_request(struct app *app, const struct migrate_request *rq,
    struct op_rec *op);
/*
 * The same decisions as checks, plus the hypervisors' (CPU, machine type,
 * emulator, networks, room for a copy); changes nothing.  *out: {"ok",
 * "vm", "from", "host", "mode", "copy_storage", "checks":[{"name",
 * "pass", "reason"}]} (owned by the caller).  -1 only for an unknown VM
 * or a failure to check at all.
 */
struct json_t;
int migrate_preflight(struct app *app, const struct migrate_request *rq,
    struct json_t **out);

/* --- console.c: a VM's serial console, shared by its clients --- */
/*
 * A client is two hooks, called with the console's lock held (note what
 * happened, wake your own thread, return): output with what the guest
 * printed (from the backend's event thread), ended once when nothing
 * more will come, with why (CONSOLE_END_GONE: the console ended, the
 * guest stopped or moved; CONSOLE_END_TAKEN: another client took over
 * writing) and a sentence.  After ended the client still detaches.
 */
#define CONSOLE_END_GONE 1
#define CONSOLE_END_TAKEN 2
struct console_client;
struct console_hooks {
	void (*output)(void *arg, const char *data, size_t n);
	void (*ended)(void *arg, int why, const char *msg);
};
struct consoles *consoles_new(struct app *app);
void consoles_free(struct consoles *cs);
/* The file on v's host that its serial console is logged to. */
void console_log_path(const char *uuid, char *out, size_t len);
/*
 * Attach to v's console (opened on its host if nobody has it), to watch
 * and, with write, to type.  One writer at a time: ERR_CONFLICT when
 * another writes, unless takeover (the other then ends with
 * CONSOLE_END_TAKEN).  ERR_CONFLICT when v is not running (naming its
 * state) or another program (virsh console) has the console;
 * ERR_UNAVAILABLE when its host is unreachable.  *out: detach it.
 */
int console_attach(struct app *app, const struct vm_rec *v, bool write,
    bool takeover, const struct console_hooks *h, void *arg,
    struct console_client **out);
/* Type buf as the console's writer (ERR_FORBIDDEN when it is not). */
int console_write(struct console_client *cl, const void *buf, size_t n);
/* Leave; the last client out closes the console.  Never from a hook. */
void console_detach(struct console_client *cl);
/*
 * Press the key combos on v's keyboard (what keymap_text made of a text),
 * for a graphical console; v must be running or paused (ERR_CONFLICT).
 */
int console_keys(struct app *app, const struct vm_rec *v,
    const struct key_combo *combos, size_t n);
/* Type text into v's console, whoever has it (opened for the moment). */
int console_type(struct app *app, const struct vm_rec *v, const char *text,
    size_t n);
/*
 * The last *n bytes v's console printed (its log on its host, whatever
 * its state), into buf; *n the count (0: it never ran there).
 */
int console_log(struct app *app, const struct vm_rec *v, char *buf,
    size_t *n);

/* --- evacuate.c: a lost host fenced, and its VMs made again elsewhere --- */
struct evacuate_request {
	const char *host;
	bool confirm_host_down;    /* the operator says it is down */
	const char *idem_key;      /* the request's Idempotency-Key, or NULL */
};
/*
 * Fence host rq->host and record its evacuation (ops_evacuate.c), handed
 * to the engine; *op is the operation.  ERR_CONFLICT: the host answers
 * (drain it instead), or is being evacuated; ERR_INVALID naming
 * "confirm_host_down": it does not answer but nothing says it is down.
 */
int evacuate_request(struct app *app, const struct evacuate_request *rq,
    struct op_rec *op);
/*
 * Re-admit fenced host name (its record into *h).  ERR_CONFLICT while it
 * does not answer (its stale domains are removed only then) or is being
 * evacuated.  Re-admitting a host that is not fenced changes nothing.
 */
int evacuate_unfence(struct app *app, const char *name, struct host_rec *h);
/*
 * On a fenced host (host_id at bc) that answers again: destroy and
 * undefine every domain of a VM now placed on another host, before the
 * host is used.  Nothing for a host that is not fenced.  0, or -1 (the
 * host must then not be used).
 */
int evacuate_sweep(struct store *s, struct backend_conn *bc, int64_t host_id,
    const char *host);
/* fence.c: run host's fence action (fence: its argument vector as JSON);
 * 0 when it exited 0, else -1 (ERR_CONFLICT saying how it ended). */
int fence_run(const char *host, const char *fence);

/* --- vm_list.c: VM records gathered from a store walk --- */
struct vm_list {
	struct vm_rec *v;          /* owned: vm_list_free */
	size_t n, cap;
};
/* A store_vm_fn: append v to the vm_list arg; -1 out of memory. */
int vm_list_add(const struct vm_rec *v, void *arg);
void vm_list_free(struct vm_list *l);

/* --- drift.c: inventory against libvirt --- */
/*
 * Compare every VM (or vm, by name or id) and host (or host) with what
 * the hosts' libvirt has: *out = {"vms":[drift...], "orphans":[domain...],
 * "hosts":[{"host","listed","detail"}]} (owned by the caller).  Changes
 * nothing.  ERR_NOT_FOUND for an unknown vm.  With vm, only its own host
 * is asked, for its own domain (the others only when it is gone from
 * there), and no orphans or hosts are listed.
 */
int drift_scan(struct app *app, const char *vm, const char *host,
    struct json_t **out);
/*
 * Take domain (uuid or name) on host into the inventory as a VM named name
 * (NULL: the domain's name), as it is: its vCPUs, memory, disk and state.
 * *out is the new row.  ERR_NOT_FOUND, ERR_CONFLICT (already known,
 * transient, name taken).
 */
int drift_adopt_domain(struct app *app, const char *host, const char *domain,
    const char *name, struct vm_rec *out);
/*
 * A VM's observed state differs from the desired one (changed: it just
 * moved away, else it was already off): apply its on_drift policy.
 */
void drift_act(struct app *app, const struct vm_rec *v, bool changed);

/* --- planner.c: migration plans --- */
struct planner_request {
	bool rebalance;            /* else consolidation */
	int max_moves;             /* <= 0: no limit */
	const char *const *hosts;  /* a subset by name, or NULL */
	size_t nhosts;
	int target_free_hosts;     /* consolidation; <= 0: as many as can */
};
/*
 * Compute a plan over the current hosts and VMs, store it, and give it
 * back as JSON (*plan_out, owned by the caller) with its id in id_out.
 * Changes no VM.
 */
int planner_make(struct app *app, const struct planner_request *rq,
    char *id_out, struct json_t **plan_out);

/* --- tokens.c: API tokens issued and revoked --- */
/*
 * Make and store a token: name (1-63 of [a-z0-9-]) and role checked
 * (ERR_INVALID), ERR_CONFLICT when a token of that name is in force.
 * The token itself is written to token (shown once, never stored); *out
 * is the stored row.  Shared by POST /v1/tokens and `hangard token
 * create`, which has a store but no struct app.
 */
int tokens_issue(struct store *s, const char *name, const char *role,
    char token[TOKEN_MAX], struct token_rec *out);
/* Revoke token name; *out is its row.  ERR_NOT_FOUND. */
int tokens_revoke(struct store *s, const char *name, struct token_rec *out);
/*
 * A count of the tokens issued and revoked by this process: when it
 * moves, the API's bearer check (api/auth_tokens.c) reads the table
 * again.
 */
unsigned tokens_generation(void);

/* --- snapsched.c: scheduled snapshots and their retention --- */
struct ticker;
/* Its thread (common/ticker.h): stop it with ticker_stop(). */
struct ticker *snapsched_start(struct app *app);

/* --- bsched.c: scheduled backups and their retention --- */
/* The VM vm as a backup records it (GET /v1/vms/{vm} with its cloud-init
 * settings): the API's to make (api/backups.c), given at start. */
typedef struct json_t *(*bsched_spec_fn)(struct app *app, const char *vm);
/* Its thread (common/ticker.h): stop it with ticker_stop(). */
struct ticker *bsched_start(struct app *app, bsched_spec_fn spec);
/* Look at every backup schedule now (one pass of the thread). */
void bsched_tick(struct app *app, bsched_spec_fn spec);
/* What a schedule's next backup of the VM is: the mode its chain asks
 * for (full or incremental), and the oldest scheduled backup past its
 * retention, if any (out: "" for none). */
const char *bsched_mode(struct store_conn *c, const struct vm_rec *v);
int bsched_expired(struct store_conn *c, const struct vm_rec *v,
    int64_t now, char *out, size_t len);

/* --- envs.c: test environments (see there) --- */
#define ENV_NAME_MAX 24            /* an environment's name, and a role's */
#define ENV_VMS_MAX 100            /* the VMs of one environment */
/* The hangar network of environment env: env-<env>. */
void envs_network_name(const char *env, char *out, size_t len);
/*
 * Record environment e (name, ttl_s, op_id set; state creating) and make
 * network n (mode, cidr; its name is set here) on every host.  Nothing
 * is left when it fails: ERR_CONFLICT naming "name" (taken) or
 * "network.cidr" (overlaps), a host's refusal.
 */
int envs_begin(struct app *app, struct env_rec *e, struct network_rec *n);
/*
 * Undo envs_begin and the creates recorded since as children of e's
 * operation (queued, never submitted: cancelled, rows and claims gone).
 */
void envs_abandon(struct app *app, struct env_rec *e);
/*
 * Record op (kind env_create, params {"name"}: the operation the
 * environment's row already names) and submit it.
 */
int envs_commit(struct app *app, struct op_rec *op);
/*
 * Record an env_delete of environment name into *op (id set by the
 * caller) and submit it.  ERR_NOT_FOUND, ERR_CONFLICT while its own
 * operation is under way.
 */
int envs_request_delete(struct app *app, const char *name,
    struct op_rec *op);
/* A new ttl (0: none) for ready environment name, from now; *out after. */
int envs_set_ttl(struct app *app, const char *name, int64_t ttl_s,
    struct env_rec *out);
/* Remove every environment whose expiry has passed (one tick's work). */
void envs_expire(struct app *app);
/* The expiry ticker (common/ticker.h): stop it with ticker_stop(). */
struct ticker *envs_start(struct app *app);

/* --- provision.c: following cloud-init in the guests --- */
/* Its thread (common/ticker.h): stop it with ticker_stop(). */
struct ticker *provision_start(struct app *app);
/* Look at every schedule now (one pass; what the thread does each tick). */
void snapsched_tick(struct app *app);

/*
 * Cancel operation id: a queued one is cancelled at once (out->status
 * cancelled; what it would have made is undone); a running one whose kind
 * can stop part-way is asked to (out->status still running: wait for
 * it).  ERR_NOT_FOUND, or ERR_CONFLICT when it has finished or cannot be
 * stopped.
 */
int ops_cancel(struct ops *o, const char *id, struct op_rec *out);
/*
 * Stop taking work, wake every waiter, wait up to timeout_s for running
 * operations, then stop the workers.  Returns 0, or -1 when operations
 * were still running at the timeout (the workers are left alone then; the
 * next start recovers those operations).
 */
int ops_stop(struct ops *o, int timeout_s);
void ops_free(struct ops *o);

/*
 * library.c: the image library's files under cfg.image_dir (see there).
 * Paths into buf[len]; 0, or -1 (ERR_INTERNAL) when they do not fit.
 */
int library_staged(const struct app *app, const char *id, const char *ext,
    char *buf, size_t len);
/* Disk n (1-based: an OVA's disks) of import id, staged or in the library. */
int library_staged_disk(const struct app *app, const char *id, int n,
    char *buf, size_t len);
int library_file(const struct app *app, const char *id, int n, char *buf,
    size_t len);
/* image_dir and its .staging/; -1 with ERR_UNAVAILABLE. */
int library_mkdirs(const struct app *app);
/* Remove every file of operation id (staged ones and its library file). */
void library_remove(const struct app *app, const char *id);
/* Remove a deleted image's own file (im->path, if in image_dir). */
void library_remove_image(const struct app *app, const struct image_rec *im);
/* At start: remove staged files no queued or running operation owns. */
void library_sweep(struct app *app);
/* SHA-256 of what is left to read of fd, in hex; starts its writeback. */
int library_sha256_fd(int fd, char out[IMAGE_SHA256_LEN]);
void library_hex(const unsigned char dig[32], char out[IMAGE_SHA256_LEN]);

#endif
