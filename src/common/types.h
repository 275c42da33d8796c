/*
 * types.h - the small vocabulary shared by every module: VM states,
 * operation kinds/statuses and access roles, with their names as they
 * appear in the API and the database.  Tables live in types.c.
 */
#ifndef HANGAR_TYPES_H
#define HANGAR_TYPES_H

#include <stdint.h>

#define UUID_STR_LEN 37      /* 36 chars + NUL */
#define NAME_MAX_LEN 64      /* 63 chars + NUL */

/* Stable states, as libvirt reports them. */
enum vm_state {
	VM_STOPPED = 0,
	VM_RUNNING,
	VM_PAUSED,
	VM_CRASHED,
	VM_UNKNOWN,
	VM_STATE__COUNT
};

enum op_kind {
	OP_CREATE = 0,
	OP_START,
	OP_STOP,
	OP_REBOOT,
	OP_PAUSE,
	OP_RESUME,
	OP_DELETE,
	OP_SNAPSHOT_CREATE,
	OP_SNAPSHOT_REVERT,
	OP_SNAPSHOT_DELETE,
	OP_MIGRATE,
	OP_DRAIN,            /* host-level: no VM */
	OP_PLAN,             /* executing a migration plan: no VM */
	OP_DISK_ADD,
	OP_DISK_REMOVE,
	OP_DISK_RESIZE,
	OP_IMAGE_IMPORT,     /* an uploaded image into the library: no VM */
	OP_IMAGE_PRUNE,      /* hosts' unneeded image copies removed: no VM */
	OP_NIC_ADD,
	OP_NIC_REMOVE,
	OP_ENV_CREATE,       /* a test environment made: no VM */
	OP_ENV_DELETE,       /* a test environment removed: no VM */
	OP_CLONE,            /* on the new VM: made from another's disks */
	OP_TEMPLATE,         /* a stopped VM's root disk into the library */
	OP_BACKUP,           /* a backup of every disk to backup_dir */
	OP_RESTORE,          /* a stopped VM's disks from a backup */
	OP_RESIZE,           /* vCPUs and memory, live or at next boot */
	OP_VM_IMPORT,        /* on the new VM: made from a backup (archive) */
	OP_EVACUATE,         /* a lost host's VMs made again elsewhere: no VM */
	OP_EVACUATE_VM,      /* one of them, from a backup or shared disks */
	OP_KIND__COUNT
};

enum op_status {
	OP_QUEUED = 0,
	OP_RUNNING,
	OP_SUCCEEDED,
	OP_FAILED,
	OP_CANCELLED,
	OP_STATUS__COUNT
};

const char *vm_state_name(enum vm_state s);
int vm_state_parse(const char *s, enum vm_state *out);     /* 0 / -1 */

const char *op_kind_name(enum op_kind k);
int op_kind_parse(const char *s, enum op_kind *out);
/* The transitional VM state shown while an operation of kind k runs. */
const char *op_kind_transitional(enum op_kind k);

const char *op_status_name(enum op_status s);
int op_status_parse(const char *s, enum op_status *out);

/*
 * Access roles, ordered: reader < operator < admin, each allowed what the
 * one below is (api/auth.h has the rules).  A token's role is stored by
 * name (store_token.c).
 */
enum auth_role {
	AUTH_NONE = 0,       /* may do nothing */
	AUTH_READER,         /* reads, and dry runs that change nothing */
	AUTH_OPERATOR,       /* + VM lifecycle, snapshots, migration */
	AUTH_ADMIN,          /* + hosts, groups, plans, tokens: everything */
};
#define AUTH_NROLES (AUTH_ADMIN + 1)

/* "none", "reader", "operator", "admin". */
const char *auth_role_name(enum auth_role role);
/* A role by name (not "none"); -1 with ERR_INVALID naming field "role". */
int auth_role_parse(const char *name, enum auth_role *out);

/*
 * A name hangar gives a VM, host or group: 1-63 of [a-z0-9-], not
 * starting with '-', never shaped like a UUID (things are found by id or
 * name).  0, or -1 with ERR_INVALID naming field.
 */
int name_check(const char *field, const char *name);

/* Milliseconds since the epoch, wall clock. */
int64_t time_now_ms(void);
/* Milliseconds of CLOCK_MONOTONIC: for intervals, never for dates. */
int64_t time_mono_ms(void);
/* Format ms as RFC 3339 UTC "2026-11-24T16:40:00.123Z" into buf (>= 32). */
void time_format_ms(int64_t ms, char *buf, unsigned long len);

#endif
