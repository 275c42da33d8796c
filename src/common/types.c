/*
 * types.c - name tables for the shared vocabulary in types.h.
 */
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <stdio.h>

#include "error.h"
#include "types.h"

static const char *const vm_state_names[VM_STATE__COUNT] = {
	[VM_STOPPED] = "stopped", [VM_RUNNING] = "running",
	[VM_PAUSED] = "paused", [VM_CRASHED] = "crashed",
	[VM_UNKNOWN] = "unknown",
};

static const struct {
	const char *name;
	const char *transitional;
} op_kinds[OP_KIND__COUNT] = {
	[OP_CREATE] = { "create", "creating" },
	[OP_START]  = { "start", "starting" },
	[OP_STOP]   = { "stop", "stopping" },
	[OP_REBOOT] = { "reboot", "rebooting" },
	[OP_PAUSE]  = { "pause", "pausing" },
	[OP_RESUME] = { "resume", "resuming" },
	[OP_DELETE] = { "delete", "deleting" },
	[OP_SNAPSHOT_CREATE] = { "snapshot_create", "snapshotting" },
	[OP_SNAPSHOT_REVERT] = { "snapshot_revert", "reverting" },
	[OP_SNAPSHOT_DELETE] = { "snapshot_delete", "deleting-snapshot" },
	[OP_MIGRATE] = { "migrate", "migrating" },
	[OP_DRAIN] = { "drain", "draining" },
	[OP_PLAN] = { "plan_execute", "executing" },
	[OP_DISK_ADD] = { "disk_add", "adding-disk" },
	[OP_DISK_REMOVE] = { "disk_remove", "removing-disk" },
	[OP_DISK_RESIZE] = { "disk_resize", "resizing-disk" },
	[OP_IMAGE_IMPORT] = { "image_import", "importing" },
	[OP_IMAGE_PRUNE] = { "image_prune", "pruning" },
	[OP_NIC_ADD] = { "nic_add", "adding-nic" },
	[OP_NIC_REMOVE] = { "nic_remove", "removing-nic" },
	[OP_ENV_CREATE] = { "env_create", "creating-env" },
	[OP_ENV_DELETE] = { "env_delete", "deleting-env" },
	[OP_CLONE] = { "clone", "cloning" },
	[OP_TEMPLATE] = { "template", "templating" },
	[OP_BACKUP] = { "backup", "backing-up" },
	[OP_RESTORE] = { "restore", "restoring" },
	[OP_RESIZE] = { "resize", "resizing" },
	[OP_VM_IMPORT] = { "vm_import", "importing" },
	[OP_EVACUATE] = { "evacuate", "evacuating" },
	[OP_EVACUATE_VM] = { "evacuate_vm", "evacuating" },
};

static const char *const op_status_names[OP_STATUS__COUNT] = {
	[OP_QUEUED] = "queued", [OP_RUNNING] = "running",
	[OP_SUCCEEDED] = "succeeded", [OP_FAILED] = "failed",
	[OP_CANCELLED] = "cancelled",
};

static int
name_lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (s && strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *
vm_state_name(enum vm_state s)
{
	return ((unsigned)s < VM_STATE__COUNT) ? vm_state_names[s] : "unknown";
}

int
vm_state_parse(const char *s, enum vm_state *out)
{
	int i = name_lookup(vm_state_names, VM_STATE__COUNT, s);

	if (i < 0)
		return -1;
	*out = (enum vm_state)i;
	return 0;
}

const char *
op_kind_name(enum op_kind k)
{
	return ((unsigned)k < OP_KIND__COUNT) ? op_kinds[k].name : "?";
}

const char *
op_kind_transitional(enum op_kind k)
{
	return ((unsigned)k < OP_KIND__COUNT) ? op_kinds[k].transitional : "?";
}

int
op_kind_parse(const char *s, enum op_kind *out)
{
	for (int i = 0; i < OP_KIND__COUNT; i++) {
		if (s && strcmp(op_kinds[i].name, s) == 0) {
			*out = (enum op_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *
op_status_name(enum op_status s)
{
	return ((unsigned)s < OP_STATUS__COUNT) ? op_status_names[s] : "?";
}

int
op_status_parse(const char *s, enum op_status *out)
{
	int i = name_lookup(op_status_names, OP_STATUS__COUNT, s);

	if (i < 0)
		return -1;
	*out = (enum op_status)i;
	return 0;
}

static const char *const auth_role_names[AUTH_NROLES] = {
	[AUTH_NONE] = "none",
	[AUTH_READER] = "reader",
	[AUTH_OPERATOR] = "operator",
	[AUTH_ADMIN] = "admin",
};

const char *
auth_role_name(enum auth_role role)
{
	if ((int)role < 0 || role >= AUTH_NROLES)
		role = AUTH_NONE;
	return auth_role_names[role];
}

int
auth_role_parse(const char *name, enum auth_role *out)
{
	for (int i = AUTH_READER; i < AUTH_NROLES; i++) {
		if (name != NULL && strcmp(name, auth_role_names[i]) == 0) {
			*out = (enum auth_role)i;
			return 0;
		}
	}
	return err_set_field(ERR_INVALID, "role", "role must be reader, "
	    "operator or admin, not '%.32s'", name ? name : "");
}

int64_t
time_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int64_t
time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
time_format_ms(int64_t ms, char *buf, unsigned long len)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	char base[24];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
}

int
name_check(const char *field, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63)
		return err_set_field(ERR_INVALID, field, "%s must be 1 to 63 "
		    "characters long", field);
	if (name[0] == '-')
		return err_set_field(ERR_INVALID, field, "%s must not start "
		    "with '-'", field);
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return err_set_field(ERR_INVALID, field, "%s may only contain "
		    "lower-case letters, digits and '-'", field);
	/* VMs are found by id or name: a name must never look like an id */
	if (n == 36 && name[8] == '-' && name[13] == '-' && name[18] == '-' &&
	    name[23] == '-')
		return err_set_field(ERR_INVALID, field, "%s must not have the "
		    "form of a UUID", field);
	return 0;
}
