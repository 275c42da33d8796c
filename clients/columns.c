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

/* hangar host list: {"hosts":[HOST,...]} */
const struct output_col columns_host[] = {
	{ "NAME", "name", OUTPUT_TEXT },
	{ "STATE", "state", OUTPUT_TEXT },
	{ "TYPE", "domain_type", OUTPUT_TEXT },
	{ "ARCH", "arch", OUTPUT_TEXT },
	{ "CPUS", "cpus", OUTPUT_TEXT },
	{ "MEMORY", "memory_mib", OUTPUT_MIB },
	{ "FREE", "free_memory_mib", OUTPUT_MIB },
	{ "VMS", "vms", OUTPUT_TEXT },
};
const size_t columns_nhost = NITEMS(columns_host);

/* hangar op list: {"operations":[OPERATION,...]} */
const struct output_col columns_op[] = {
	{ "ID", "id", OUTPUT_TEXT },
	{ "KIND", "kind", OUTPUT_TEXT },
	{ "VM", "vm", OUTPUT_TEXT },
	{ "STATUS", "status", OUTPUT_TEXT },
	{ "CREATED", "created_at", OUTPUT_TEXT },
};
const size_t columns_nop = NITEMS(columns_op);
