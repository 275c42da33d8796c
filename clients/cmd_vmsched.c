/*
 * cmd_vmsched.c - the snapshot and backup schedule options of `hangar vm
 * create` and `hangar vm update`, read into the body of POST /v1/vms or
 * PATCH /v1/vms/{vm}:
 *	--snapshot-schedule SPEC, --no-snapshot-schedule (update only),
 *	--snapshot-keep N, --snapshot-max-age DURATION
 *	--backup-schedule SPEC, --no-backup-schedule (update only),
 *	--backup-keep N, --backup-max-age DURATION, --backup-full-every N
 * as "snapshot_schedule", "snapshot_retention": {"keep", "max_age"},
 * "backup_schedule", "backup_retention", "backup_full_every".  The
 * server parses SPEC and DURATION: its 400 names the field.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hangar.h"

/* What a schedule's options are called, by what it schedules. */
static const struct vm_sched_kind {
	const char *what;          /* "snapshot": --snapshot-schedule ... */
	const char *key;           /* the body's "snapshot_schedule" */
	const char *ret;           /* and "snapshot_retention" */
} vm_sched_kinds[] = {
	{ "snapshot", "snapshot_schedule", "snapshot_retention" },
	{ "backup", "backup_schedule", "backup_retention" },
};

/* The retention object of kind k in retentions (made when missing). */
static json_t *
vm_sched_retention(json_t *retentions, const struct vm_sched_kind *k)
{
	json_t *r = json_object_get(retentions, k->ret);

	if (r == NULL && (r = json_object()) != NULL &&
	    json_object_set_new(retentions, k->ret, r) == -1)
		r = NULL;
	return r;
}

/*
 * If ch is one of the schedule options (snapshot or backup), put its
 * value (optarg) into body ("snapshot_schedule": SPEC, or null for
 * --no-snapshot-schedule, which only update takes; "backup_full_every")
 * or its kind's retention in retentions ({"snapshot_retention": {"keep":
 * N, "max_age": "7d"}}; an age of "" or "none" is no limit).  Returns 1
 * if it was one, 0 if not, -1 after reporting.  The server parses SPEC
 * and DURATION: its 400 names the field.
 */
int
vm_sched_opt(struct cli *cli, int ch, bool update, json_t *body,
    json_t *retentions)
{
	/* the snapshot option it is, or is shifted from for a backup one */
	int base = ch < VM_SCHED_BACKUP ? ch : ch < VM_SCHED_EVERY ?
	    ch - VM_SCHED_BACKUP : -1;
	const struct vm_sched_kind *k = &vm_sched_kinds[ch >= VM_SCHED_BACKUP];
	const json_t *had = json_object_get(body, k->key);
	char opt[64], none[64];
	json_t *ret;
	long n;

	if (ch == VM_SCHED_EVERY) {
		if (cli_parse_long(cli, "--backup-full-every", optarg, 1,
		    INT_MAX, &n) == -1)
			return -1;
		return cli_set(body, "backup_full_every", json_integer(n)) ==
		    -1 ? -1 : 1;
	}
	snprintf(opt, sizeof(opt), "--%s-schedule", k->what);
	snprintf(none, sizeof(none), "--no-%s-schedule", k->what);
	switch (base) {
	case VM_SCHED_SPEC:
		if (json_is_null(had))
			return cli_usage_error(cli, "%s and %s do not go "
			    "together", opt, none);
		return cli_set_str(cli, body, k->key, opt, optarg) == -1 ?
		    -1 : 1;
	case VM_SCHED_NONE:
		if (!update)
			return cli_usage_error(cli, "invalid option '%s': a new "
			    "VM has no schedule unless given one", none);
		if (json_is_string(had))
			return cli_usage_error(cli, "%s and %s do not go "
			    "together", opt, none);
		return cli_set(body, k->key, json_null()) == -1 ? -1 : 1;
	case VM_SCHED_KEEP:
		snprintf(opt, sizeof(opt), "--%s-keep", k->what);
		if (cli_parse_long(cli, opt, optarg, 0, INT_MAX, &n) == -1)
			return -1;
		return (ret = vm_sched_retention(retentions, k)) == NULL ||
		    cli_set(ret, "keep", json_integer(n)) == -1 ? -1 : 1;
	case VM_SCHED_AGE:
		snprintf(opt, sizeof(opt), "--%s-max-age", k->what);
		return (ret = vm_sched_retention(retentions, k)) == NULL ||
		    cli_set_str(cli, ret, "max_age", opt,
		    strcmp(optarg, "none") == 0 ? "" : optarg) == -1 ? -1 : 1;
	default:
		return 0;
	}
}

/* Put each retention of retentions that says anything into body
 * ("snapshot_retention", "backup_retention"). */
int
vm_sched_done(json_t *body, json_t *retentions)
{
	const char *key;
	json_t *ret;

	json_object_foreach(retentions, key, ret)
		if (json_object_size(ret) > 0 &&
		    cli_set(body, key, json_incref(ret)) == -1)
			return -1;
	return 0;
}
