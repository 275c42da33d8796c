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

/* hangar op list: {"operations":[OPERATION,...]} */
const struct output_col columns_op[] = {
	{ "ID", "id", OUTPUT_TEXT },
	{ "KIND", "kind", OUTPUT_TEXT },
	{ "VM", "vm", OUTPUT_TEXT },
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
