/*
 * columns.c - what the `-o table` lists show: one table of columns per
 * list, as data, so a column is added here and nowhere else (and the unit
 * tests render the very same tables against tests/golden/cli/).
 */
#include "hangar.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* hangar vm list: {"vms":[VM,...]} */
const struct output_col columns_vm[] = {
	{ "NAME", "name", OUTPUT_TEXT },
	{ "STATE", "state", OUTPUT_TEXT },
	{ "HOST", "host", OUTPUT_TEXT },
	{ "VCPUS", "vcpus", OUTPUT_TEXT },
	{ "MEMORY", "memory_mib", OUTPUT_MIB },
	{ "DISK", "disk_gib", OUTPUT_GIB },
	{ "ID", "id", OUTPUT_TEXT },
};
const size_t columns_nvm = NITEMS(columns_vm);

/* hangar vm show: the VM's "disks" */
const struct output_col columns_disk[] = {
	{ "DEV", "dev", OUTPUT_TEXT },
	{ "DEVICE", "device", OUTPUT_TEXT },
	{ "BUS", "bus", OUTPUT_TEXT },
	{ "FORMAT", "format", OUTPUT_TEXT },
	{ "SIZE", "size_gib", OUTPUT_GIB },
	{ "BOOT", "boot_order", OUTPUT_TEXT },
	{ "IMAGE", "image", OUTPUT_TEXT },
	{ "VOLUME", "volume", OUTPUT_TEXT },
};
const size_t columns_ndisk = NITEMS(columns_disk);

/* hangar vm guest: the filesystems its agent reports */
const struct output_col columns_guest_fs[] = {
	{ "MOUNTPOINT", "mountpoint", OUTPUT_TEXT },
	{ "DEVICE", "device", OUTPUT_TEXT },
	{ "TYPE", "type", OUTPUT_TEXT },
	{ "USED(bytes)", "used_bytes", OUTPUT_TEXT },
	{ "TOTAL(bytes)", "total_bytes", OUTPUT_TEXT },
};
const size_t columns_nguest_fs = NITEMS(columns_guest_fs);

/*
 * hangar host list: {"hosts":[HOST,...]}.  Free and capacity are what the
 * scheduler counts with: after ratios, reserved resources and claims.
 */
const struct output_col columns_host[] = {
	{ "NAME", "name", OUTPUT_TEXT },
	{ "STATE", "state", OUTPUT_TEXT },
	{ "TYPE", "domain_type", OUTPUT_TEXT },
	{ "CPUS", "cpus", OUTPUT_TEXT },
	{ "VCPU(free/cap)", "resources.vcpus", OUTPUT_FREE_CAP },
	{ "MEMORY(free/cap MiB)", "resources.memory_mib", OUTPUT_FREE_CAP },
	{ "DISK(free/cap GiB)", "resources.disk_gib", OUTPUT_FREE_CAP },
	{ "VMS", "vms", OUTPUT_TEXT },
	{ "LABELS", "labels", OUTPUT_LABELS },
};
const size_t columns_nhost = NITEMS(columns_host);

/* hangar group list: {"groups":[GROUP,...]} */
const struct output_col columns_group[] = {
	{ "NAME", "name", OUTPUT_TEXT },
	{ "POLICY", "policy", OUTPUT_TEXT },
	{ "STRICT", "strict", OUTPUT_TEXT },
	{ "VMS", "vms", OUTPUT_TEXT },
	{ "CREATED", "created_at", OUTPUT_TEXT },
};
const size_t columns_ngroup = NITEMS(columns_group);

/* hangar image list: {"images":[IMAGE,...]}; sizes in bytes */
const struct output_col columns_image[] = {
	{ "NAME", "name", OUTPUT_TEXT },
	{ "STATE", "state", OUTPUT_TEXT },
	{ "FORMAT", "source_format", OUTPUT_TEXT },
	{ "VIRTUAL-SIZE", "virtual_size", OUTPUT_TEXT },
	{ "SIZE", "actual_size", OUTPUT_TEXT },
	{ "OS", "os", OUTPUT_TEXT },
	{ "CREATED", "created_at", OUTPUT_TEXT },
};
const size_t columns_nimage = NITEMS(columns_image);

/* hangar network list: {"networks":[NETWORK,...]} */
const struct output_col columns_network[] = {
	{ "NAME", "name", OUTPUT_TEXT },
	{ "MODE", "mode", OUTPUT_TEXT },
	{ "CIDR", "ipv4.cidr", OUTPUT_TEXT },
	{ "BRIDGE", "bridge", OUTPUT_TEXT },
	{ "NICS", "nics", OUTPUT_TEXT },
	{ "CREATED", "created_at", OUTPUT_TEXT },
};
const size_t columns_nnetwork = NITEMS(columns_network);

/* hangar env list: {"environments":[ENVIRONMENT,...]} */
const struct output_col columns_env[] = {
	{ "NAME", "name", OUTPUT_TEXT },
	{ "STATE", "state", OUTPUT_TEXT },
	{ "VMS", "vm_count", OUTPUT_TEXT },
	{ "NETWORK", "network", OUTPUT_TEXT },
	{ "EXPIRES", "expires_at", OUTPUT_TEXT },
	{ "CREATED", "created_at", OUTPUT_TEXT },
};
const size_t columns_nenv = NITEMS(columns_env);

/* hangar env show: the ENVIRONMENT's "vms":[{"name","role",...},...] */
const struct output_col columns_envvm[] = {
	{ "VM", "name", OUTPUT_TEXT },
	{ "ROLE", "role", OUTPUT_TEXT },
	{ "STATE", "state", OUTPUT_TEXT },
	{ "HOST", "host", OUTPUT_TEXT },
	{ "ADDRESSES", "addresses", OUTPUT_TEXT },
};
const size_t columns_nenvvm = NITEMS(columns_envvm);

/* hangar group show: the GROUP's "members":[{"name","id","host"},...] */
const struct output_col columns_member[] = {
	{ "MEMBER", "name", OUTPUT_TEXT },
	{ "HOST", "host", OUTPUT_TEXT },
	{ "ID", "id", OUTPUT_TEXT },
};
const size_t columns_nmember = NITEMS(columns_member);

/*
 * hangar place: a placement's {"hosts":[VERDICT,...]}.  The free room is
 * before this VM; SCORE is only for hosts that fit, REASON only for the
 * others.
 */
const struct output_col columns_place[] = {
	{ "HOST", NULL, OUTPUT_CHOSEN },
	{ "VERDICT", NULL, OUTPUT_VERDICT },
	{ "SCORE", "score", OUTPUT_TEXT },
	{ "FREE-VCPUS", "free.vcpus", OUTPUT_TEXT },
	{ "FREE-MEM", "free.memory_mib", OUTPUT_MIB },
	{ "FREE-DISK", "free.disk_gib", OUTPUT_GIB },
	{ "REASON", "reason", OUTPUT_TEXT },
};
const size_t columns_nplace = NITEMS(columns_place);

/*
 * hangar op list: {"operations":[OPERATION,...]}.  VM/HOST is the VM the
 * operation acts on, or for a drain (which has no VM) the host.
 */
const struct output_col columns_op[] = {
	{ "ID", "id", OUTPUT_TEXT },
	{ "KIND", "kind", OUTPUT_TEXT },
	{ "VM/HOST", NULL, OUTPUT_OP_TARGET },
	{ "STATUS", "status", OUTPUT_TEXT },
	{ "CREATED", "created_at", OUTPUT_TEXT },
};
const size_t columns_nop = NITEMS(columns_op);

/*
 * hangar snapshot list VM: {"snapshots":[SNAPSHOT,...]}, oldest first.
 * VM-STATE is what the VM was when it was taken; MEMORY says whether its
 * RAM was saved too (only then does a revert bring that state back).
 */
const struct output_col columns_snapshot[] = {
	{ "NAME", "name", OUTPUT_TEXT },
	{ "PARENT", "parent", OUTPUT_TEXT },
	{ "VM-STATE", "vm_state", OUTPUT_TEXT },
	{ "MEMORY", "memory", OUTPUT_TEXT },
	{ "STATUS", "status", OUTPUT_TEXT },
	{ "SCHEDULED", "scheduled", OUTPUT_TEXT },
	{ "CREATED", "created_at", OUTPUT_TEXT },
};
const size_t columns_nsnapshot = NITEMS(columns_snapshot);

/*
 * hangar backup list VM: {"backups":[BACKUP,...]}, oldest first.  PARENT
 * is the backup an incremental one builds on; SIZE the bytes of its
 * files under backup_dir.
 */
const struct output_col columns_backup[] = {
	{ "ID", "id", OUTPUT_TEXT },
	{ "MODE", "mode", OUTPUT_TEXT },
	{ "PARENT", "parent", OUTPUT_TEXT },
	{ "STATUS", "status", OUTPUT_TEXT },
	{ "SIZE", "size", OUTPUT_TEXT },
	{ "CREATED", "created_at", OUTPUT_TEXT },
};
const size_t columns_nbackup = NITEMS(columns_backup);

/*
 * hangar vm migrate --check: a dry run's {"checks":[{"name","pass",
 * "reason"},...]}, in the order the server ran them.
 */
const struct output_col columns_check[] = {
	{ "CHECK", "name", OUTPUT_TEXT },
	{ "RESULT", "pass", OUTPUT_PASS },
	{ "REASON", "reason", OUTPUT_TEXT },
};
const size_t columns_ncheck = NITEMS(columns_check);

/*
 * hangar host drain, plan execute, op show: the moves a drain or a plan
 * made, its operation's "progress":{"moves":[{"vm","to","op","status",
 * "error"},...]}.  ERROR is empty for a move that succeeded.
 */
const struct output_col columns_move[] = {
	{ "VM", "vm", OUTPUT_TEXT },
	{ "TO", "to", OUTPUT_TEXT },
	{ "STATUS", "status", OUTPUT_TEXT },
	{ "ERROR", "error", OUTPUT_TEXT },
};
const size_t columns_nmove = NITEMS(columns_move);

/* hangar image prune: each host's copy of an image and what became of it */
const struct output_col columns_prune[] = {
	{ "HOST", "host", OUTPUT_TEXT },
	{ "IMAGE", "image", OUTPUT_TEXT },
	{ "SHA256", "sha256", OUTPUT_TEXT },
	{ "RESULT", "result", OUTPUT_TEXT },
	{ "REASON", "reason", OUTPUT_TEXT },
};
const size_t columns_nprune = NITEMS(columns_prune);

/* hangar plan ...: a PLAN's "moves":[{"vm","vm_id","from","to","mode"},...] */
const struct output_col columns_plan_move[] = {
	{ "VM", "vm", OUTPUT_TEXT },
	{ "FROM", "from", OUTPUT_TEXT },
	{ "TO", "to", OUTPUT_TEXT },
	{ "MODE", "mode", OUTPUT_TEXT },
};
const size_t columns_nplan_move = NITEMS(columns_plan_move);

/*
 * -o wide: what each list shows after its own columns, from what its
 * rows carry (a VM in a list has no disks or NICs: `vm show` has those).
 */
static const struct output_col columns_vm_more[] = {
	{ "GROUP", "group", OUTPUT_TEXT },
	{ "FIRMWARE", "firmware", OUTPUT_TEXT },
	{ "MACHINE", "machine", OUTPUT_TEXT },
	{ "PROVISIONING", "provisioning", OUTPUT_TEXT },
	{ "OBSERVED", "observed_state", OUTPUT_TEXT },
	{ "CREATED", "created_at", OUTPUT_TEXT },
};
static const struct output_col columns_host_more[] = {
	{ "URI", "uri", OUTPUT_TEXT },
	{ "STORAGE", "storage", OUTPUT_TEXT },
};
static const struct output_col columns_op_more[] = {
	{ "STEP", "step", OUTPUT_TEXT },
	{ "STARTED", "started_at", OUTPUT_TEXT },
	{ "FINISHED", "finished_at", OUTPUT_TEXT },
	{ "VM-ID", "vm_id", OUTPUT_TEXT },
};
static const struct output_col columns_image_more[] = {
	{ "SHA256", "sha256", OUTPUT_TEXT },
};
static const struct output_col columns_network_more[] = {
	{ "GATEWAY", "ipv4.gateway", OUTPUT_TEXT },
	{ "DHCP", "ipv4.dhcp", OUTPUT_TEXT },
	{ "DESCRIPTION", "description", OUTPUT_TEXT },
};
const struct output_wide columns_wide[] = {
	{ columns_vm, columns_vm_more, NITEMS(columns_vm_more) },
	{ columns_host, columns_host_more, NITEMS(columns_host_more) },
	{ columns_op, columns_op_more, NITEMS(columns_op_more) },
	{ columns_image, columns_image_more, NITEMS(columns_image_more) },
	{ columns_network, columns_network_more,
	    NITEMS(columns_network_more) },
};
const size_t columns_nwide = NITEMS(columns_wide);
