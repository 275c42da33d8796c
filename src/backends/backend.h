/*
 * backend.h - the hypervisor backend interface.
 *
 * A backend is a driver (struct backend_driver): its name and one table
 * of operations per concern, the way libvirt splits its own drivers
 * (virHypervisorDriver, virStorageDriver, virNetworkDriver):
 *   conn     the connection: global set-up, open/close, host facts, watch
 *   domain   domains: define, lifecycle, state, listing, snapshots,
 *            migration and its checks
 *   storage  pools and volumes, and copying volumes between hosts
 *   network  networks, their DHCP hosts and leases, host bridges
 * Tables are filled with designated initializers; a NULL table or a NULL
 * slot means "this backend cannot do it".  Callers never touch the
 * tables: they call the backend_*() wrappers below, which are the one
 * place where a missing operation becomes ERR_UNSUPPORTED (HTTP 501) and
 * where faults could be injected in tests.
 *
 * Backends know nothing of HTTP or SQLite.  Every function returns 0 on
 * success or -1 with err_last() set, where:
 *   ERR_NOT_FOUND    the domain/volume does not exist
 *   ERR_CONFLICT     the domain is in the wrong state for the request
 *   ERR_UNAVAILABLE  the host cannot be reached (retryable)
 *   ERR_BACKEND      the hypervisor refused, with its own message
 * Idempotent removals (destroy, undefine, volume_delete) succeed when the
 * thing is already gone.
 */
#ifndef HANGAR_BACKEND_H
#define HANGAR_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/guestexec.h"
#include "../common/keymap.h"
#include "../common/types.h"

struct backend_driver;

/*
 * One connection to one host; each implementation extends it.  uri is
 * owned by the implementation (sized to fit, freed with the connection by
 * backend_close()); callers only read it.
 */
struct backend_conn {
	const struct backend_driver *driver;
	const char *uri;
};

struct host_facts {
	char arch[32];           /* e.g. x86_64 */
	char domain_type[16];    /* "kvm" when offered, else "qemu" */
	char domain_types[32];   /* all offered for the host's arch: "kvm qemu" */
	int cpus;
	int64_t memory_mib;
	int64_t free_memory_mib;
	char cpu_model[128];
};

/* One disk of a domain.  Borrowed pointers. */
struct vm_disk_spec {
	const char *dev;          /* target device: vda, sdb, hdc, ... */
	const char *device;       /* disk | cdrom */
	const char *bus;          /* virtio | sata | scsi | ide */
	const char *format;       /* qcow2 | raw */
	const char *path;         /* the file */
	/* the backing chain, outermost first: each a qcow2 or raw file
	 * (a linked clone's base); NULL-terminated, or NULL for none */
	const char *const *backing;
	const char *const *backing_format;
	int boot_order;           /* 1, 2, ...; 0: not a boot device */
};

/* One NIC of a domain.  Borrowed pointers. */
struct vm_nic_spec {
	const char *type;         /* network (a libvirt network) | bridge */
	const char *source;       /* the network's or the bridge's name */
	const char *mac;          /* 52:54:00:12:34:56 */
	const char *model;        /* virtio | e1000 */
};

/* What a backend needs to define a VM's domain.  Borrowed pointers. */
struct vm_spec {
	const char *uuid;
	const char *name;
	int vcpus;
	int64_t memory_mib;
	int max_vcpus;            /* hotplug ceiling; <= vcpus: none */
	int64_t max_memory_mib;   /* balloon ceiling; <= memory_mib: none */
	const char *domain_type;  /* kvm | qemu */
	const char *arch;
	const char *machine;      /* pc | q35, or NULL: the hypervisor's */
	const char *firmware;     /* bios | uefi, or NULL: bios */
	const char *clock;        /* utc | localtime, or NULL: utc */
	bool hyperv;              /* Hyper-V enlightenments and clock (a
	                           * Windows guest) */
	const char *graphics;     /* vnc (on a unix socket the hypervisor
	                           * makes on the host), or NULL: none */
	const char *serial_log;   /* file on the host the serial console
	                           * (a pty, also the domain's console) is
	                           * logged to, appended across boots; or
	                           * NULL */
	const struct vm_disk_spec *disks;
	int ndisks;
	const struct vm_nic_spec *nics;
	int nnics;
};

#define SNAP_NAME_MAX 64
#define SNAP_DESC_MAX 1024

/* A snapshot to take.  Borrowed pointers. */
struct snap_spec {
	const char *name;
	const char *description;  /* NULL or "" for none */
	/*
	 * Keep the RAM state (the VM must be running or paused).  libvirt 9
	 * cannot take an internal disk-only snapshot of a running domain, so
	 * for a running VM the RAM is saved whatever this says; the caller
	 * records what was asked and reverts accordingly (disk_only below).
	 */
	bool memory;
};

/*
 * A push-mode backup (backup_begin): each disk named by its target dev
 * is written to target, a new qcow2 file on the host (NULL: the disk is
 * left out, and out of the checkpoint: a NoCloud seed).  With a
 * checkpoint name, a checkpoint is taken with it (what the next
 * incremental one builds on); with incremental, only what changed since
 * that checkpoint is written.  Borrowed pointers.
 */
#define BACKUP_DISKS_MAX 16

struct backup_disk_spec {
	const char *dev;
	const char *target;
};

struct backup_spec {
	const char *checkpoint;       /* NULL: none taken */
	const char *incremental;      /* NULL: a full backup */
	struct backup_disk_spec disks[BACKUP_DISKS_MAX];
	int ndisks;
};

/* A backup job as backup_poll sees it. */
struct backup_job {
	bool active;                  /* still copying */
	bool failed;                  /* it ended and failed (errmsg) */
	uint64_t total, processed;    /* bytes, while active (0: unknown) */
	char errmsg[512];
};

/* A byte sink for file_fetch: 0, or -1 with an error to stop. */
typedef int (*backend_sink_fn)(void *arg, const char *data, size_t len);

/* A snapshot as the hypervisor knows it. */
struct snap_info {
	char name[SNAP_NAME_MAX];
	char parent[SNAP_NAME_MAX];   /* "" for a root */
	char state[16];               /* the domain's state when taken:
	                               * running | paused | stopped */
	bool has_memory;              /* a RAM state was saved */
	int64_t created_at;           /* ms since the epoch */
};

/*
 * What a guest's agent (qemu-guest-agent) says of it: guest_info.  agent
 * is false when no agent answered (agent_why says why, in libvirt's
 * words); the rest is then empty.  A part the agent does not offer (an
 * old agent) is left empty.
 */
#define GUEST_FS_MAX 32
#define GUEST_IF_MAX 16
#define GUEST_ADDR_MAX 8

struct guest_fs {
	char mountpoint[256];
	char name[64];             /* the device: sda1, ... */
	char fstype[32];
	bool have_sizes;
	unsigned long long used_bytes, total_bytes;
};

struct guest_addr {
	char type[8];              /* ipv4 | ipv6 */
	char addr[64];
	int prefix;
};

struct guest_if {
	char name[32];
	char hwaddr[32];
	int naddrs;
	struct guest_addr addrs[GUEST_ADDR_MAX];
};

struct guest_info {
	bool agent;
	char agent_why[256];
	char os_id[32], os_name[64], os_pretty_name[128], os_version[64];
	char os_version_id[32], kernel_release[128], kernel_version[128];
	char machine[32];
	char hostname[256];
	char timezone[64];
	bool have_tz_offset;
	int tz_offset_s;           /* seconds east of UTC */
	int nfs;
	struct guest_fs fs[GUEST_FS_MAX];
	int nifs;
	struct guest_if ifs[GUEST_IF_MAX];
};

/*
 * An address a running domain's interface is seen with (vm_addresses):
 * by its guest agent, or in the host's ARP table.  mac is as libvirt
 * says it (lowercase); addr is IPv4 or IPv6 text.
 */
#define IF_ADDR_MAX 32
enum if_addr_source { IF_ADDR_AGENT, IF_ADDR_ARP };

struct if_addr {
	char mac[18];
	char addr[46];             /* INET6_ADDRSTRLEN */
	int prefix;
};

/* A disk's file on a migration's destination. */
struct migrate_disk {
	const char *dev;           /* its target: vda, sdb, ... */
	const char *path;
	const char *backing;       /* a linked clone's base there, or NULL */
};

/* How to move a domain to another host (live migration, peer to peer). */
struct migrate_spec {
	const char *dest_uri;      /* the destination's libvirt URI */
	/*
	 * Where QEMU sends the data: "tcp://ADDR" (the destination picks a
	 * port from its own range) or "tcp://ADDR:PORT"; NULL: tcp:// plus
	 * the host of dest_uri.  Passed explicitly (VIR_MIGRATE_PARAM_URI):
	 * libvirt's own guess would be the destination's hostname.
	 */
	const char *migrate_uri;
	bool live;                 /* false: paused while its memory moves */
	bool copy_storage;         /* copy the disks (non-shared storage); the
	                            * destination volumes must already exist */
	/* each disk's file on the destination where it differs from the
	 * source's (by target dev); none: the same paths (shared storage) */
	const struct migrate_disk *dest_disks;
	int ndest_disks;
	bool incremental;          /* with copy_storage: copy only each
	                            * disk's top (the destination has its
	                            * own copy of the bases) */
	bool shared_storage;       /* same disk file seen by both hosts */
	int64_t max_downtime_ms;   /* 0: libvirt's default */
	bool auto_converge;
	bool post_copy;            /* allow a switch to post-copy
	                            * (backend_migrate_postcopy) */
	int64_t bandwidth_mib_s;   /* 0: unlimited */
};

/* A migration job's progress (virDomainGetJobStats); -1 = not known. */
struct migrate_stats {
	bool active;               /* a job is running */
	int64_t elapsed_ms;
	int64_t data_total, data_processed, data_remaining;     /* bytes */
	int64_t mem_total, mem_processed, mem_remaining;
	int64_t disk_total, disk_processed, disk_remaining;
	int64_t iteration;         /* memory passes so far */
	int64_t dirty_rate;        /* pages per second */
	int64_t mem_bps;           /* bytes per second */
	int64_t downtime_ms;       /* expected, or (completed) measured */
	bool postcopy;             /* it switched to post-copy */
};

#define MIGRATE_CHECKS_MAX 12

/* One pre-flight check: its name, verdict and why. */
struct migrate_check {
	char name[24];             /* cpu, machine, emulator, network, ... */
	bool pass;
	char reason[512];
};

struct migrate_checks {
	struct migrate_check c[MIGRATE_CHECKS_MAX];
	int n;
};

/* A domain as a host's hypervisor has it (listing, adoption). */
struct domain_info {
	char uuid[UUID_STR_LEN];
	char name[256];
	enum vm_state state;
	bool persistent;
	bool hangar;               /* carries hangar's metadata element */
	int vcpus;
	int64_t memory_mib;
	char disk_path[1024];      /* its first file disk, or "" */
	int64_t disk_gib;          /* that disk's capacity (rounded up), or 0 */
};

typedef int (*backend_domain_fn)(const struct domain_info *d, void *arg);
/* May a listing describe domain uuid briefly (list_domains)? */
typedef bool (*backend_brief_fn)(const char *uuid, void *arg);

/*
 * A domain's counters as the hypervisor has them now (metrics), from one
 * call for every domain of a host.  A value the hypervisor did not give
 * (a stopped domain, a guest without a balloon driver) is -1.
 */
#define DOMAIN_STATS_DEVS 16
struct domain_stats_dev {
	char name[32];             /* disk target (vda) or interface (vnet0) */
	int64_t rd_bytes, wr_bytes, rd_ops, wr_ops;   /* a disk's; a NIC's:
	                                               * rx/tx bytes, packets */
};
struct domain_stats {
	char uuid[UUID_STR_LEN];
	enum vm_state state;
	int64_t cpu_ns;            /* CPU time of all its vCPUs */
	int64_t mem_used_kib;      /* in use by the guest (available - unused,
	                            * as its balloon driver says), else the
	                            * process's resident size */
	int64_t mem_available_kib; /* what the guest sees, else its current
	                            * balloon size */
	int ndisks, nnics;
	struct domain_stats_dev disks[DOMAIN_STATS_DEVS];
	struct domain_stats_dev nics[DOMAIN_STATS_DEVS];
};
typedef int (*backend_stats_fn)(const struct domain_stats *d, void *arg);

/* One disk of a domain as its definition has it (adoption). */
#define DOMAIN_DISKS_MAX 16
struct domain_disk {
	char dev[16];              /* target: vda, sdb, ... */
	char device[8];            /* disk | cdrom | ... */
	char bus[8];
	char format[16];           /* the driver's type: qcow2, raw, ... */
	char path[1024];           /* its file, or "" (not a file) */
	int64_t gib;               /* its capacity, rounded up; 0: unknown */
};

/* One NIC of a domain, as its definition has it (adopting an orphan). */
struct domain_nic {
	char type[16];             /* network | bridge | user | ... */
	char source[64];           /* the network's or bridge's name, or "" */
	char mac[18];
	char model[16];            /* virtio | e1000 | ..., or "" */
};

/*
 * Called from the backend's event thread when a domain on the connection
 * changed state (uuid set; event names what libvirt said, e.g.
 * "suspended", for the log), or when the connection itself was closed
 * (uuid NULL).  It must return quickly and call no backend function.
 */
typedef void (*backend_event_fn)(void *opaque, const char *uuid,
    const char *event);

/*
 * A domain's serial console, open (backend_console_open): its bytes both
 * ways.  The backend calls fn from its event thread with what the guest
 * printed (n > 0), and once when the console ends (n == 0, data then says
 * why, NUL-terminated: the guest stopped, the connection broke).  fn must
 * return quickly, call no backend function and never close the console;
 * once backend_console_close returns it is not called again.
 */
struct backend_console;
typedef void (*backend_console_fn)(void *opaque, const char *data,
    size_t n);

/* The connection: what a host is, and what happens on it. */
struct backend_conn_ops {
	/* Process-wide set-up (event loop, error handlers); may be NULL. */
	int (*global_init)(void);
	/* Connect to uri; a new conn (free with close), NULL + error. */
	struct backend_conn *(*open)(const char *uri);
	void (*close)(struct backend_conn *bc);
	int (*host_facts)(struct backend_conn *bc, struct host_facts *out);
	/*
	 * Call fn for every domain lifecycle change on this connection, and
	 * once when the connection closes; kept across reconnects.  One
	 * watcher per connection; fn NULL stops watching.
	 */
	int (*watch)(struct backend_conn *bc, backend_event_fn fn,
	    void *opaque);
};

/* Domains: definition, lifecycle, snapshots, migration. */
struct backend_domain_ops {
	int (*define)(struct backend_conn *bc, const struct vm_spec *spec);
	int (*undefine)(struct backend_conn *bc, const char *uuid);
	int (*start)(struct backend_conn *bc, const char *uuid);
	/*
	 * Start the domain with its vCPUs paused (VIR_DOMAIN_START_PAUSED):
	 * QEMU opens its disks but the guest runs no instruction, so a
	 * stopped VM's disks can be backed up with the backup API and the
	 * domain then destroyed.  Fails (like start) when it runs.
	 */
	int (*start_paused)(struct backend_conn *bc, const char *uuid);
	/*
	 * Ask the guest to shut down: through its guest agent when one is
	 * connected and answers (*by_agent true), else with the ACPI power
	 * button.  Returns at once; the guest takes its time.
	 */
	int (*shutdown)(struct backend_conn *bc, const char *uuid,
	    bool *by_agent);
	int (*destroy)(struct backend_conn *bc, const char *uuid);
	int (*suspend)(struct backend_conn *bc, const char *uuid);
	int (*resume)(struct backend_conn *bc, const char *uuid);
	int (*reboot)(struct backend_conn *bc, const char *uuid);
	int (*reset)(struct backend_conn *bc, const char *uuid);
	int (*state)(struct backend_conn *bc, const char *uuid,
	    enum vm_state *out);
	/*
	 * Ask the guest's agent about the guest (OS, hostname, time zone,
	 * filesystems, interfaces), waiting at most a few seconds.  No
	 * agent answering is not an error: out->agent false.  A domain not
	 * running is ERR_CONFLICT.
	 */
	int (*guest_info)(struct backend_conn *bc, const char *uuid,
	    struct guest_info *out);
	/*
	 * Freeze the guest's filesystems through its agent (*frozen: how
	 * many; 0 when no agent answers, which is not an error), and thaw
	 * them.  A thaw of a guest that is not frozen, or has no agent,
	 * succeeds: recovery thaws whatever a crash may have left frozen.
	 */
	int (*fs_freeze)(struct backend_conn *bc, const char *uuid,
	    int *frozen);
	int (*fs_thaw)(struct backend_conn *bc, const char *uuid);
	/*
	 * Run argv[0] (argv NULL-terminated, no shell) in the guest through
	 * its agent (guest-exec), waiting at most timeout_ms for it to
	 * exit; its exit code and stdout into out.  No agent answering is
	 * ERR_UNAVAILABLE; a program still running at the timeout is
	 * ERR_TIMEOUT (and is left to run in the guest).
	 */
	int (*guest_exec)(struct backend_conn *bc, const char *uuid,
	    const char *const *argv, int timeout_ms,
	    struct guestexec_status *out);
	/*
	 * The addresses of a running domain's interfaces from src (its
	 * agent, waiting at most a few seconds; or the host's ARP table,
	 * at once) into out[max], *n of them, every one libvirt gives
	 * (loopback and link-local too: the caller chooses).  No agent
	 * answering is not an error: *n 0.  A domain not running is
	 * ERR_CONFLICT.  Only reads: a repeat is harmless.
	 */
	int (*vm_addresses)(struct backend_conn *bc, const char *uuid,
	    enum if_addr_source src, struct if_addr *out, int max, int *n);
	/*
	 * Every domain on the host (defined or only running), in no
	 * particular order; fn's non-zero stops the walk (-1 is returned).
	 * A domain that brief (NULL: none) says true of, called with the
	 * same arg, comes with its uuid, name and state only (one call
	 * lists every domain with its state): the rest (persistence, size,
	 * definition, disk) costs five more calls for each domain.
	 */
	int (*list_domains)(struct backend_conn *bc, backend_brief_fn brief,
	    backend_domain_fn fn, void *arg);
	/*
	 * The counters of every domain on the host (state, CPU, balloon,
	 * disks, interfaces) from one call, fn once per domain in no
	 * particular order; fn's non-zero stops the walk (-1 is returned).
	 * Domains busy with a job are not waited for (they give what is
	 * at hand).  Only reads: a repeat is harmless.
	 */
	int (*domain_stats)(struct backend_conn *bc, backend_stats_fn fn,
	    void *arg);
	/*
	 * Internal (qcow2) snapshots.  create fills *out with what the
	 * hypervisor recorded (parent, state).  get: ERR_NOT_FOUND when the
	 * snapshot does not exist.  revert returns the domain to the
	 * snapshot's disks and, unless disk_only, its run state (a snapshot
	 * with RAM comes back running or paused); with disk_only the domain
	 * ends up stopped.  delete succeeds when it is already gone.
	 */
	int (*snapshot_create)(struct backend_conn *bc, const char *uuid,
	    const struct snap_spec *spec, struct snap_info *out);
	int (*snapshot_get)(struct backend_conn *bc, const char *uuid,
	    const char *name, struct snap_info *out);
	int (*snapshot_revert)(struct backend_conn *bc, const char *uuid,
	    const char *name, bool disk_only);
	int (*snapshot_delete)(struct backend_conn *bc, const char *uuid,
	    const char *name);
	/*
	 * Snapshot metadata, for a move: libvirt refuses to migrate a domain
	 * that has snapshots.  export: every snapshot's XML, parents before
	 * children (a malloc'd array of malloc'd strings into *xmls, count
	 * into *n; free with backend_free_strings), and the current one's name
	 * (or "").  forget: drop all of the domain's snapshot metadata here,
	 * leaving the disks (and the snapshots in them) alone.  redefine:
	 * define them again (on another host), in order, marking current.
	 */
	int (*snapshot_export)(struct backend_conn *bc, const char *uuid,
	    char ***xmls, size_t *n, char *current, size_t current_len);
	int (*snapshot_forget)(struct backend_conn *bc, const char *uuid);
	int (*snapshot_redefine)(struct backend_conn *bc, const char *uuid,
	    char *const *xmls, size_t n, const char *current);
	/*
	 * Backups.  backup_begin starts a push-mode backup job of a running
	 * domain (and takes spec->checkpoint with it, atomically) and
	 * returns; backup_poll says whether the job still runs, with its
	 * progress, or how it ended (a job gone without a result is
	 * reported as failed).  Checkpoints: checkpoint_xml is libvirt's
	 * description of one (without the domain) into buf, ERR_NOT_FOUND
	 * when libvirt does not know it; checkpoint_define defines one again
	 * from such XML (VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE: the bitmaps
	 * in the disks are still there); checkpoint_delete removes one
	 * (its bitmaps merged into its parent's; with metadata_only,
	 * libvirt's record alone: the disks are not the ones it was taken
	 * of any more), harmless when it is gone.
	 */
	int (*backup_begin)(struct backend_conn *bc, const char *uuid,
	    const struct backup_spec *spec);
	int (*backup_poll)(struct backend_conn *bc, const char *uuid,
	    struct backup_job *out);
	int (*checkpoint_xml)(struct backend_conn *bc, const char *uuid,
	    const char *name, char *buf, size_t len);
	int (*checkpoint_define)(struct backend_conn *bc, const char *uuid,
	    const char *xml);
	int (*checkpoint_delete)(struct backend_conn *bc, const char *uuid,
	    const char *name, bool metadata_only);
	/*
	 * Live-migrate domain uuid from bc to spec->dest_uri, peer to peer,
	 * keeping it defined there and undefining it here when done.  Blocks
	 * until the job ends.  ERR_CONFLICT ("cancelled") when it was
	 * aborted (job_abort); ERR_BACKEND with libvirt's words otherwise.
	 * On failure the domain is still running here.
	 */
	int (*migrate)(struct backend_conn *bc, const char *uuid,
	    const struct migrate_spec *spec);
	/* The domain's current job, or (completed) its last finished one. */
	int (*job_stats)(struct backend_conn *bc, const char *uuid,
	    bool completed, struct migrate_stats *out);
	/* Abort the domain's current job (a migration). */
	int (*job_abort)(struct backend_conn *bc, const char *uuid);
	/* Switch a running migration (started with post_copy) to post-copy. */
	int (*migrate_postcopy)(struct backend_conn *bc, const char *uuid);
	/*
	 * The hypervisor-side checks of moving domain uuid from bc to dst:
	 * cpu (the source host's CPU against the destination's), machine
	 * (the domain's machine type offered there), emulator, network (each
	 * interface's network or bridge exists there), storage (for a copy,
	 * room in dst_pool for the disk).  Appended to out; 0, or -1 when
	 * the checks themselves could not be made.
	 */
	int (*migrate_check)(struct backend_conn *bc, const char *uuid,
	    struct backend_conn *dst, const char *dst_pool, bool copy_storage,
	    struct migrate_checks *out);
	/*
	 * Devices.  disk_attach plugs disk d into the domain's definition
	 * and, with live, into the running guest too; disk_detach unplugs
	 * the disk whose target is dev the same way, and succeeds when the
	 * domain has no such disk; disk_resize grows a running domain's
	 * disk dev to gib GiB (QEMU resizes the file; the guest is told).
	 */
	int (*disk_attach)(struct backend_conn *bc, const char *uuid,
	    const struct vm_disk_spec *d, bool live);
	int (*disk_detach)(struct backend_conn *bc, const char *uuid,
	    const char *dev, bool live);
	int (*disk_resize)(struct backend_conn *bc, const char *uuid,
	    const char *dev, int64_t gib);
	/*
	 * A domain's size: set_size makes it vcpus vCPUs and memory_mib MiB
	 * in its definition (the next boot) and, with live, in the running
	 * guest too (vCPUs hotplugged up to the definition's maximum, memory
	 * through the balloon up to its <memory>); a repeat is harmless.
	 * guest_vcpus asks the guest's agent to bring n vCPUs online (a
	 * guest without an agent, or one that did it itself, answers
	 * ERR_UNAVAILABLE / succeeds).
	 */
	int (*set_size)(struct backend_conn *bc, const char *uuid, int vcpus,
	    int64_t memory_mib, bool live);
	int (*guest_vcpus)(struct backend_conn *bc, const char *uuid, int n);
	/* The domain's disks, in the definition's order, into out[max];
	 * their count into *n (more than max: ERR_UNPROCESSABLE). */
	int (*disk_list)(struct backend_conn *bc, const char *uuid,
	    struct domain_disk *out, int max, int *n);
	/* Its NICs, likewise (more than max: ERR_UNPROCESSABLE). */
	int (*nic_list)(struct backend_conn *bc, const char *uuid,
	    struct domain_nic *out, int max, int *n);
	/*
	 * The serial console (struct backend_console above).  open: the
	 * domain must be running (ERR_CONFLICT when not, or when another
	 * client such as virsh console has its console).  write: queues all
	 * of buf, sent as the guest takes it (ERR_UNAVAILABLE, retryable,
	 * when too much waits; ERR_CONFLICT once it has ended).  close: ends
	 * it, sending what waits as far as it goes without blocking; NULL
	 * is harmless.  A repeat of open is a second console, which the
	 * hypervisor refuses while the first is open.
	 */
	int (*console_open)(struct backend_conn *bc, const char *uuid,
	    backend_console_fn fn, void *opaque, struct backend_console **out);
	int (*console_write)(struct backend_conn *bc,
	    struct backend_console *con, const void *buf, size_t n);
	void (*console_close)(struct backend_conn *bc,
	    struct backend_console *con);
	/*
	 * Press keys on the domain's keyboard: each of the n combos in turn
	 * (its keys, Linux keycodes, pressed in order, held hold_ms, then
	 * released), as a person types into a graphical console.  The
	 * domain must be running (ERR_CONFLICT when not).  Not harmless to
	 * repeat: the guest sees the keys twice.
	 */
	int (*send_keys)(struct backend_conn *bc, const char *uuid,
	    const struct key_combo *combos, size_t n, int hold_ms);
	/*
	 * NICs: nic_attach plugs n into the definition and, with live, into
	 * the running guest, where its MAC is not yet; nic_detach unplugs
	 * the NIC of that MAC the same way, and succeeds when there is none.
	 */
	int (*nic_attach)(struct backend_conn *bc, const char *uuid,
	    const struct vm_nic_spec *n, bool live);
	int (*nic_detach)(struct backend_conn *bc, const char *uuid,
	    const char *mac, bool live);
};

/* Storage: pools, volumes, and streams that copy volumes between hosts. */
struct backend_storage_ops {
	/*
	 * The name of the pool whose directory is path (repeated and
	 * trailing '/' aside), whatever it is called, into name_out;
	 * ERR_NOT_FOUND when no pool is there.
	 */
	int (*pool_find)(struct backend_conn *bc, const char *path,
	    char *name_out, size_t name_len);
	/*
	 * Make sure a storage pool named pool exists at path (defining it
	 * there when there is none), and is active; its capacity and what is
	 * free in it, in GiB, into cap/avail.  ERR_CONFLICT when a pool of
	 * that name is at another directory.
	 */
	int (*pool_ensure)(struct backend_conn *bc, const char *pool,
	    const char *path, int64_t *cap_gib, int64_t *avail_gib);
	/* Create an empty qcow2 volume of gib GiB; its path into path_out. */
	int (*volume_create)(struct backend_conn *bc, const char *pool,
	    const char *vol, int64_t gib, char *path_out, size_t path_len);
	int (*volume_delete)(struct backend_conn *bc, const char *pool,
	    const char *vol);
	/*
	 * Copy volume vol of pool on bc to dst_pool on dst (named dst_vol,
	 * or the same name when dst_vol is NULL; same format and capacity,
	 * all its data, internal snapshots included), through libvirt
	 * streams (dst may be bc itself: a copy within a host); the new
	 * volume's path into path_out.
	 * backing, when not NULL, is the backing file the copy names
	 * instead of the source's (a qcow2 overlay whose base has its own
	 * copy on dst: the header's name is rewritten as it streams, the
	 * backing format stays); a volume that is not a qcow2 overlay is
	 * then refused (ERR_UNPROCESSABLE).  A failed copy leaves no volume
	 * on dst; a repeat finds the copy there (ERR_CONFLICT).
	 */
	int (*volume_copy)(struct backend_conn *bc, const char *pool,
	    const char *vol, struct backend_conn *dst, const char *dst_pool,
	    const char *dst_vol, const char *backing, char *path_out,
	    size_t path_len);
	/* The path of volume vol in pool (ERR_NOT_FOUND when missing). */
	int (*volume_path)(struct backend_conn *bc, const char *pool,
	    const char *vol, char *path_out, size_t path_len);
	/* Grow volume vol (not in use by a running domain) to gib GiB;
	 * the same size is no change and no error. */
	int (*volume_resize)(struct backend_conn *bc, const char *pool,
	    const char *vol, int64_t gib);
	/*
	 * Images.  volume_upload: a new qcow2 volume vol whose content is the
	 * local qcow2 file at file (virtual size bytes), sent through a
	 * libvirt stream, so it works the same for a remote host; a failed
	 * upload leaves no volume.  volume_overlay: a new qcow2 volume of gib
	 * GiB over the volume at backing (a linked clone).  volume_clone: a
	 * new volume vol with src's content (a full clone), grown to gib.
	 * Each puts the new volume's path into path_out.
	 */
	int (*volume_upload)(struct backend_conn *bc, const char *pool,
	    const char *vol, const char *file, int64_t bytes, char *path_out,
	    size_t path_len);
	int (*volume_overlay)(struct backend_conn *bc, const char *pool,
	    const char *vol, int64_t gib, const char *backing, char *path_out,
	    size_t path_len);
	int (*volume_clone)(struct backend_conn *bc, const char *pool,
	    const char *src, const char *vol, int64_t gib, char *path_out,
	    size_t path_len);
	/*
	 * A new raw volume vol of len bytes whose content is data (a file
	 * hangard made in memory: a NoCloud seed), sent through a libvirt
	 * stream like volume_upload, so remote hosts work; its path into
	 * path_out.  Fails when vol exists (delete it first to make it
	 * again); a failed put leaves no volume.
	 */
	int (*volume_put)(struct backend_conn *bc, const char *pool,
	    const char *vol, const void *data, size_t len, char *path_out,
	    size_t path_len);
	/*
	 * All of volume vol of pool, byte for byte, written to the local
	 * file descriptor fd (hangard's side: a template's disk on its way
	 * into the library) through a libvirt stream, so a remote host's
	 * volume comes the same way; the count into *bytes.  A failure may
	 * leave part written to fd: the caller removes its file.
	 */
	int (*volume_download)(struct backend_conn *bc, const char *pool,
	    const char *vol, int fd, int64_t *bytes);
	/*
	 * The last *n bytes (fewer when the file is shorter) of the file at
	 * path on the host, into buf; *n the count.  Through the hypervisor
	 * (a transient storage pool over the file's directory when no pool
	 * covers it), so it reads a remote host's file too: the console's
	 * log.  ERR_NOT_FOUND when there is no such file.  Harmless to
	 * repeat.
	 */
	int (*file_tail)(struct backend_conn *bc, const char *path, char *buf,
	    size_t *n);
	/*
	 * All of the file at path on the host (a backup's target, in a
	 * directory a pool covers), through a stream, handed to sink in
	 * pieces, so a remote host's file comes the same way; then, with
	 * remove, the file is deleted there.  ERR_NOT_FOUND when there is
	 * no such file.  file_remove deletes it (harmless when gone).
	 */
	int (*file_fetch)(struct backend_conn *bc, const char *path,
	    backend_sink_fn sink, void *arg, bool remove);
	int (*file_remove)(struct backend_conn *bc, const char *path);
	/*
	 * Does the host see the file at path with exactly the len bytes of
	 * want?  (hangard wrote them there on its own side: a probe of
	 * whether the host shares that directory, so a backup job may write
	 * into it directly.)  Read through a pool over the directory (a
	 * transient one, "hangar-dir-<hash>", when none covers it).  A host
	 * without that directory or file, or with other bytes in it, is
	 * *seen false and no error; -1 only when the host cannot be asked.
	 * Harmless to repeat.
	 */
	int (*file_seen)(struct backend_conn *bc, const char *path,
	    const void *want, size_t len, bool *seen);
};

/* A libvirt network hangar keeps on every host (nat or isolated). */
struct net_spec {
	const char *name;          /* the hypervisor's name: hangar-<name> */
	const char *uuid;          /* the same on every host */
	const char *mode;          /* nat | isolated */
	const char *bridge;        /* the bridge it makes (<= 15 chars) */
	const char *address;       /* the host's address in it (gateway) */
	int prefix;                /* of the range: 1..30 */
	bool dhcp;                 /* answer DHCP (static hosts only) */
};

/* A static DHCP entry: this MAC gets this address (and name). */
struct net_dhcp_host {
	const char *mac;
	const char *ip;
	const char *name;          /* may be NULL */
};

/* One DHCP lease, as the network's DHCP server handed it out. */
struct net_lease {
	char mac[18];
	char ip[16];
	char hostname[64];
	int64_t expiry_ms;         /* ms since the epoch; 0: never */
};

#define NET_LEASES_MAX 256

/*
 * Networks, as libvirt has a network driver: the nat and isolated
 * networks hangar defines on each host, their static DHCP hosts and
 * leases, and the bridges that bridge-mode networks attach to.
 */
struct backend_network_ops {
	/*
	 * Define network spec unless it is defined (a repeat is harmless).
	 * ERR_CONFLICT when a network of that name with another uuid is
	 * there, or libvirt refuses the bridge or range (taken by another).
	 */
	int (*network_define)(struct backend_conn *bc,
	    const struct net_spec *spec);
	/* Make network name active and autostarted (a repeat is harmless);
	 * ERR_NOT_FOUND when it is not defined. */
	int (*network_start)(struct backend_conn *bc, const char *name);
	/*
	 * Stop and undefine network name, if its uuid is uuid: a network of
	 * that name with another uuid is not ours and is left alone (0).
	 * Succeeds when it is gone.
	 */
	int (*network_undefine)(struct backend_conn *bc, const char *name,
	    const char *uuid);
	/*
	 * Add a static DHCP host to network name, live and in its
	 * definition (an entry for the same MAC is replaced, so a repeat is
	 * harmless); remove the entry of mac (succeeds when there is none).
	 */
	int (*network_host_add)(struct backend_conn *bc, const char *name,
	    const struct net_dhcp_host *h);
	int (*network_host_remove)(struct backend_conn *bc, const char *name,
	    const char *mac);
	/* The network's DHCP leases (mac NULL: all; else that MAC's) into
	 * out[max]; their count into *n. */
	int (*network_leases)(struct backend_conn *bc, const char *name,
	    const char *mac, struct net_lease *out, int max, int *n);
	/* Is there a bridge interface named bridge on the host? */
	int (*bridge_exists)(struct backend_conn *bc, const char *bridge,
	    bool *out);
};

/*
 * A backend: its name (for messages) and its tables.  A NULL table means
 * none of its operations are supported.
 */
struct backend_driver {
	const char *name;
	const struct backend_conn_ops *conn;
	const struct backend_domain_ops *domain;
	const struct backend_storage_ops *storage;
	const struct backend_network_ops *network;
};

extern const struct backend_driver backend_libvirt;

/* Run every backend's global_init once. */
int backend_init(void);
/* The backend for a URI (for now libvirt serves every URI). */
const struct backend_driver *backend_for_uri(const char *uri);

struct backend_conn *backend_open(const char *uri);
void backend_close(struct backend_conn *bc);
int backend_host_facts(struct backend_conn *bc, struct host_facts *out);
int backend_pool_find(struct backend_conn *bc, const char *path,
    char *name_out, size_t name_len);
int backend_pool_ensure(struct backend_conn *bc, const char *pool,
    const char *path, int64_t *cap_gib, int64_t *avail_gib);
int backend_volume_create(struct backend_conn *bc, const char *pool,
    const char *vol, int64_t gib, char *path_out, size_t path_len);
int backend_volume_delete(struct backend_conn *bc, const char *pool,
    const char *vol);
int backend_define(struct backend_conn *bc, const struct vm_spec *spec);
int backend_undefine(struct backend_conn *bc, const char *uuid);
int backend_start(struct backend_conn *bc, const char *uuid);
int backend_start_paused(struct backend_conn *bc, const char *uuid);
int backend_shutdown(struct backend_conn *bc, const char *uuid,
    bool *by_agent);
int backend_destroy(struct backend_conn *bc, const char *uuid);
int backend_guest_info(struct backend_conn *bc, const char *uuid,
    struct guest_info *out);
int backend_fs_freeze(struct backend_conn *bc, const char *uuid,
    int *frozen);
int backend_fs_thaw(struct backend_conn *bc, const char *uuid);
int backend_guest_exec(struct backend_conn *bc, const char *uuid,
    const char *const *argv, int timeout_ms, struct guestexec_status *out);
int backend_vm_addresses(struct backend_conn *bc, const char *uuid,
    enum if_addr_source src, struct if_addr *out, int max, int *n);
int backend_suspend(struct backend_conn *bc, const char *uuid);
int backend_resume(struct backend_conn *bc, const char *uuid);
int backend_reboot(struct backend_conn *bc, const char *uuid);
int backend_reset(struct backend_conn *bc, const char *uuid);
int backend_state(struct backend_conn *bc, const char *uuid,
    enum vm_state *out);
int backend_snapshot_create(struct backend_conn *bc, const char *uuid,
    const struct snap_spec *spec, struct snap_info *out);
int backend_snapshot_get(struct backend_conn *bc, const char *uuid,
    const char *name, struct snap_info *out);
int backend_snapshot_revert(struct backend_conn *bc, const char *uuid,
    const char *name, bool disk_only);
int backend_snapshot_delete(struct backend_conn *bc, const char *uuid,
    const char *name);
int backend_watch(struct backend_conn *bc, backend_event_fn fn,
    void *opaque);
int backend_migrate(struct backend_conn *bc, const char *uuid,
    const struct migrate_spec *spec);
int backend_job_stats(struct backend_conn *bc, const char *uuid,
    bool completed, struct migrate_stats *out);
int backend_job_abort(struct backend_conn *bc, const char *uuid);
int backend_migrate_postcopy(struct backend_conn *bc, const char *uuid);
int backend_migrate_check(struct backend_conn *bc, const char *uuid,
    struct backend_conn *dst, const char *dst_pool, bool copy_storage,
    struct migrate_checks *out);
int backend_snapshot_export(struct backend_conn *bc, const char *uuid,
    char ***xmls, size_t *n, char *current, size_t current_len);
int backend_snapshot_forget(struct backend_conn *bc, const char *uuid);
int backend_snapshot_redefine(struct backend_conn *bc, const char *uuid,
    char *const *xmls, size_t n, const char *current);
int backend_volume_copy(struct backend_conn *bc, const char *pool,
    const char *vol, struct backend_conn *dst, const char *dst_pool,
    const char *dst_vol, const char *backing, char *path_out,
    size_t path_len);
int backend_volume_download(struct backend_conn *bc, const char *pool,
    const char *vol, int fd, int64_t *bytes);
int backend_volume_path(struct backend_conn *bc, const char *pool,
    const char *vol, char *path_out, size_t path_len);
int backend_list_domains(struct backend_conn *bc, backend_brief_fn brief,
    backend_domain_fn fn, void *arg);
int backend_domain_stats(struct backend_conn *bc, backend_stats_fn fn,
    void *arg);
int backend_disk_attach(struct backend_conn *bc, const char *uuid,
    const struct vm_disk_spec *d, bool live);
int backend_disk_detach(struct backend_conn *bc, const char *uuid,
    const char *dev, bool live);
int backend_disk_resize(struct backend_conn *bc, const char *uuid,
    const char *dev, int64_t gib);
int backend_set_size(struct backend_conn *bc, const char *uuid, int vcpus,
    int64_t memory_mib, bool live);
int backend_guest_vcpus(struct backend_conn *bc, const char *uuid, int n);
int backend_volume_resize(struct backend_conn *bc, const char *pool,
    const char *vol, int64_t gib);
int backend_disk_list(struct backend_conn *bc, const char *uuid,
    struct domain_disk *out, int max, int *n);
int backend_nic_list(struct backend_conn *bc, const char *uuid,
    struct domain_nic *out, int max, int *n);
int backend_volume_upload(struct backend_conn *bc, const char *pool,
    const char *vol, const char *file, int64_t bytes, char *path_out,
    size_t path_len);
int backend_volume_overlay(struct backend_conn *bc, const char *pool,
    const char *vol, int64_t gib, const char *backing, char *path_out,
    size_t path_len);
int backend_volume_clone(struct backend_conn *bc, const char *pool,
    const char *src, const char *vol, int64_t gib, char *path_out,
    size_t path_len);
int backend_volume_put(struct backend_conn *bc, const char *pool,
    const char *vol, const void *data, size_t len, char *path_out,
    size_t path_len);
int backend_console_open(struct backend_conn *bc, const char *uuid,
    backend_console_fn fn, void *opaque, struct backend_console **out);
int backend_console_write(struct backend_conn *bc,
    struct backend_console *con, const void *buf, size_t n);
void backend_console_close(struct backend_conn *bc,
    struct backend_console *con);
int backend_send_keys(struct backend_conn *bc, const char *uuid,
    const struct key_combo *combos, size_t n, int hold_ms);
int backend_file_tail(struct backend_conn *bc, const char *path, char *buf,
    size_t *n);
int backend_nic_attach(struct backend_conn *bc, const char *uuid,
    const struct vm_nic_spec *n, bool live);
int backend_nic_detach(struct backend_conn *bc, const char *uuid,
    const char *mac, bool live);
int backend_network_define(struct backend_conn *bc,
    const struct net_spec *spec);
int backend_network_start(struct backend_conn *bc, const char *name);
int backend_network_undefine(struct backend_conn *bc, const char *name,
    const char *uuid);
int backend_network_host_add(struct backend_conn *bc, const char *name,
    const struct net_dhcp_host *h);
int backend_network_host_remove(struct backend_conn *bc, const char *name,
    const char *mac);
int backend_network_leases(struct backend_conn *bc, const char *name,
    const char *mac, struct net_lease *out, int max, int *n);
int backend_bridge_exists(struct backend_conn *bc, const char *bridge,
    bool *out);
int backend_backup_begin(struct backend_conn *bc, const char *uuid,
    const struct backup_spec *spec);
int backend_backup_poll(struct backend_conn *bc, const char *uuid,
    struct backup_job *out);
int backend_checkpoint_xml(struct backend_conn *bc, const char *uuid,
    const char *name, char *buf, size_t len);
int backend_checkpoint_define(struct backend_conn *bc, const char *uuid,
    const char *xml);
int backend_checkpoint_delete(struct backend_conn *bc, const char *uuid,
    const char *name, bool metadata_only);
int backend_file_fetch(struct backend_conn *bc, const char *path,
    backend_sink_fn sink, void *arg, bool remove);
int backend_file_remove(struct backend_conn *bc, const char *path);
int backend_file_seen(struct backend_conn *bc, const char *path,
    const void *want, size_t len, bool *seen);
/* Free an array from snapshot_export. */
void backend_free_strings(char **v, size_t n);

/* --- domain_xml.c: XML documents, built with libxml2's writer --- */
/* Each returns a malloc'd NUL-terminated document (caller frees) or NULL. */
char *domain_xml_domain(const struct vm_spec *spec);
char *domain_xml_disk_device(const struct vm_disk_spec *d);
char *domain_xml_nic_device(const struct vm_nic_spec *n);
char *domain_xml_pool(const char *name, const char *path);
char *domain_xml_volume(const char *name, int64_t gib);
char *domain_xml_volume_bytes(const char *name, int64_t bytes);
/* A raw <volume> of bytes bytes (a file put there whole). */
char *domain_xml_volume_raw(const char *name, int64_t bytes);
char *domain_xml_volume_overlay(const char *name, int64_t gib,
    const char *backing);
char *domain_xml_snapshot(const struct snap_spec *spec);
/* <domainbackup mode='push'> and the <domaincheckpoint> taken with it */
char *domain_xml_backup(const struct backup_spec *spec);
char *domain_xml_checkpoint(const struct backup_spec *spec);

/* --- network_xml.c: network documents, with the same writer --- */
char *network_xml_network(const struct net_spec *spec);
char *network_xml_dhcp_host(const struct net_dhcp_host *h);

#endif
