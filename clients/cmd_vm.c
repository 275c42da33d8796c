/*
 * cmd_vm.c - `hangar vm ...`: list, show, create, update (the snapshot
 * and backup schedules and retentions: PATCH /v1/vms/{vm}), the actions start, stop,
 * reboot, pause, resume and delete, and migrate (POST
 * /v1/vms/{vm}/migrate, or its dry run); and vm_spec(), the options that
 * describe a VM to place, which `hangar place` shares.
 *
 * Commands that start an operation send it without ?wait, then (unless
 * --no-wait) follow it with op_wait() and print what it led to: the VM, or
 * for delete the finished operation.  With --no-wait they print the
 * operation as accepted.  The actions differ only in data (vm_acts below):
 * the HTTP method, the path suffix, which options they take.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"

#define VM_OPT_FORCE	0x1	/* takes --force */
#define VM_OPT_TIMEOUT	0x2	/* takes --timeout-s S (alias --timeout) */

/* An action on one VM, as the API spells it. */
static const struct vm_act {
	const char	*va_verb;
	const char	*va_method;
	const char	*va_suffix;	/* after /v1/vms/{vm} */
	unsigned	 va_opts;	/* VM_OPT_* */
	bool		 va_gone;	/* the VM is no more: print the op */
} vm_acts[] = {
	{ "start", "POST", "/start", 0, false },
	{ "stop", "POST", "/stop", VM_OPT_FORCE | VM_OPT_TIMEOUT, false },
	{ "reboot", "POST", "/reboot", VM_OPT_FORCE, false },
	{ "pause", "POST", "/pause", 0, false },
	{ "resume", "POST", "/resume", 0, false },
	{ "delete", "DELETE", "", 0, true },
};

/* GET /v1/vms/{vm} and print it. */
int
vm_print(struct cli *cli, const char *vm)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (http_path(cli->cli_http, path, sizeof(path), "/v1/vms/", vm,
	    NULL) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_detail(stdout, cli->cli_format, reply, "disks",
	    columns_disk, columns_ndisk);
	json_decref(reply);
	return rc;
}

/* Set key to optarg, the value of option opt, parsed as a positive int. */
static int
vm_set_int(struct cli *cli, json_t *obj, const char *opt, const char *key)
{
	long n;

	if (cli_parse_long(cli, opt, optarg, 1, INT_MAX, &n) == -1)
		return -1;
	return cli_set(obj, key, json_integer(n));
}

/* The VM's hardware options, as getopt_long() returns them. */
#define VM_HW_DISK_BUS	'B'	/* --disk-bus BUS */
#define VM_HW_DATA	'D'	/* --data-disk GIB[:BUS], repeatable */
#define VM_HW_FIRMWARE	'F'	/* --firmware bios|uefi */
#define VM_HW_MACHINE	'M'	/* --machine pc|q35 */
#define VM_HW_IMAGE	'I'	/* --image NAME: the root disk from it */
#define VM_HW_CLONE	'C'	/* --clone linked|full */
#define VM_HW_OVA	'O'	/* --from-ova IMAGE: disks, CPUs, memory */
#define VM_HW_CLOCK	'T'	/* --clock utc|localtime */
#define VM_HW_HYPERV	'V'	/* --hyperv, --no-hyperv ('v') */
#define VM_HW_NETWORK	'N'	/* --network NAME: a NIC on it, repeatable */
#define VM_HW_OPTIONS							\
	{ "disk-gib", required_argument, NULL, 'd' },			\
	{ "disk-bus", required_argument, NULL, VM_HW_DISK_BUS },	\
	{ "data-disk", required_argument, NULL, VM_HW_DATA },		\
	{ "firmware", required_argument, NULL, VM_HW_FIRMWARE },	\
	{ "machine", required_argument, NULL, VM_HW_MACHINE },		\
	{ "image", required_argument, NULL, VM_HW_IMAGE },		\
	{ "clone", required_argument, NULL, VM_HW_CLONE },		\
	{ "from-ova", required_argument, NULL, VM_HW_OVA },		\
	{ "clock", required_argument, NULL, VM_HW_CLOCK },		\
	{ "hyperv", no_argument, NULL, VM_HW_HYPERV },			\
	{ "no-hyperv", no_argument, NULL, 'v' },			\
	{ "network", required_argument, NULL, VM_HW_NETWORK },		\
	VM_CI_OPTIONS

/* --data-disk GIB[:BUS] appended to disks as {"size_gib", "bus"}. */
static int
vm_data_disk(struct cli *cli, json_t *disks)
{
	char num[32];
	const char *colon = strchr(optarg, ':');
	size_t len = colon ? (size_t)(colon - optarg) : strlen(optarg);
	json_t *d;
	long n;

	if (len == 0 || len >= sizeof(num))
		return cli_usage_error(cli, "invalid --data-disk '%s': use "
		    "GIB or GIB:BUS", optarg);
	memcpy(num, optarg, len);
	num[len] = '\0';
	if (cli_parse_long(cli, "--data-disk", num, 1, INT_MAX, &n) == -1)
		return -1;
	if ((d = json_pack("{s:I}", "size_gib", (json_int_t)n)) == NULL ||
	    (colon && cli_set_str(cli, d, "bus", "--data-disk",
	    colon + 1) == -1) || json_array_append_new(disks, d) == -1) {
		json_decref(d);
		return cli_fail(CLI_ERROR, "out of memory");
	}
	return 0;
}

/* --network NAME appended to body's "nics" as {"network": NAME}. */
static int
vm_nic(struct cli *cli, json_t *body)
{
	json_t *nics = json_object_get(body, "nics"), *n;

	if (nics == NULL && (json_object_set_new(body, "nics",
	    nics = json_array()) == -1 || nics == NULL))
		return cli_fail(CLI_ERROR, "out of memory");
	if ((n = json_object()) == NULL ||
	    cli_set_str(cli, n, "network", "--network", optarg) == -1 ||
	    json_array_append_new(nics, n) == -1)
		return cli_fail(CLI_ERROR, "out of memory");
	return 0;
}

/*
 * If ch is one of the hardware options (create only), put its value into
 * body; data disks go into disks, NICs (--network) into body's "nics".  1 if it was one, 0 if not, -1 after
 * reporting.  The server checks the words; its 400 names the field.
 */
static int
vm_hw_opt(struct cli *cli, int ch, bool create, json_t *body, json_t *disks)
{
	const char *key;

	switch (ch) {
	case VM_HW_DISK_BUS:
		key = "disk_bus";
		break;
	case VM_HW_FIRMWARE:
		key = "firmware";
		break;
	case VM_HW_MACHINE:
		key = "machine";
		break;
	case VM_HW_IMAGE:
		key = "image";
		break;
	case VM_HW_CLONE:
		key = "clone";
		break;
	case VM_HW_CLOCK:
		key = "clock";
		break;
	case VM_HW_HYPERV:
	case 'v':
		key = "hyperv";
		break;
	case VM_HW_DATA:
		key = NULL;
		break;
	case VM_HW_NETWORK:         /* a dry run weighs bridges too */
		return vm_nic(cli, body) == -1 ? -1 : 1;
	default:
		return vm_ci_opt(cli, ch, create, body);
	}
	if (!create && key != NULL)
		return cli_usage_error(cli, "invalid option '--%s': it is "
		    "for vm create", strcmp(key, "disk_bus") == 0 ?
		    "disk-bus" : key);
	if (key == NULL)
		return vm_data_disk(cli, disks) == -1 ? -1 : 1;
	if (strcmp(key, "hyperv") == 0)
		return cli_set(body, key, json_boolean(ch == VM_HW_HYPERV)) ==
		    -1 ? -1 : 1;
	return cli_set_str(cli, body, key, key, optarg) == -1 ? -1 : 1;
}

/* hangar vm list [--host HOST] [--state STATE] */
int
vm_list(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX] = "/v1/vms";
	const char *host = NULL, *state = NULL;
	json_t *reply;
	int ch, rc;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'H':
			host = optarg;
			break;
		case 's':
			state = optarg;
			break;
		default:
			return -1;
		}
	}
	if (cli_args(cli, argc, argv, 0, 0) == -1)
		return -1;
	if (http_query(cli->cli_http, path, sizeof(path), "host", host) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "state", state) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_list(stdout, cli->cli_format, reply, "vms", columns_vm,
	    columns_nvm);
	json_decref(reply);
	return rc;
}

/* hangar vm show VM */
int
vm_show(struct cli *cli, int argc, char **argv)
{
	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1)
		return -1;
	return vm_print(cli, argv[optind]);
}

/*
 * Parse the options and the NAME that describe a VM to place, into *out,
 * a body for POST /v1/vms or POST /v1/placements (the caller owns it):
 *	NAME [--vcpus N] [--memory MIB] [--disk GIB] [--host HOST [--force]]
 *	    [--group GROUP] [--label K=V]... [--policy spread|pack]
 *	    [--data-disk GIB[:BUS]]... (also in a dry run: they take room)
 * and, when create, [--start], the hardware options (--disk-bus,
 * --firmware, --machine, --clock, --[no-]hyperv: vm_hw_opt(); --from-ova
 * IMAGE: the rest from that image's ova_spec, image_ova_body()) and the
 * snapshot and backup schedule options (vm_sched_opt():
 * "snapshot_schedule", "snapshot_retention", "backup_schedule",
 * "backup_retention", "backup_full_every").  Labels and the policy go into "placement".
 * Sizes are checked here only as positive integers, names not at all: the
 * server owns the ranges (docs/api.md) and its 400 names the field.
 * Returns 0, or -1 after reporting.
 */
int
vm_spec(struct cli *cli, int argc, char **argv, bool create, json_t **out)
{
	static const struct option lo[] = {
		{ "vcpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "disk", required_argument, NULL, 'd' },
		{ "start", no_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'H' },
		{ "force", no_argument, NULL, 'f' },
		{ "group", required_argument, NULL, 'g' },
		{ "label", required_argument, NULL, 'l' },
		{ "policy", required_argument, NULL, 'p' },
		VM_SCHED_OPTIONS,
		VM_HW_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	json_t *body, *placement = NULL, *labels = NULL, *retention = NULL,
	    *disks = NULL;
	const char *ova = NULL;
	bool force = false, host = false;
	int ch, r;

	*out = NULL;
	if ((body = json_object()) == NULL || (labels = json_object()) == NULL ||
	    (placement = json_object()) == NULL ||
	    (retention = json_object()) == NULL ||
	    (disks = json_array()) == NULL) {
		cli_fail(CLI_ERROR, "out of memory");
		goto fail;
	}
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if ((r = vm_hw_opt(cli, ch, create, body, disks)) == -1)
			goto fail;
		if (r == 1)
			continue;
		if ((r = vm_sched_opt(cli, ch, false, body, retention)) == -1)
			goto fail;
		if (r == 1 && !create) {
			const struct option *o = lo;

			while (o->name && o->val != ch)
				o++;
			cli_usage_error(cli, "invalid option '--%s': the "
			    "schedule options are for vm create", o->name ?
			    o->name : "?");
			goto fail;
		}
		if (r == 1)
			continue;
		switch (ch) {
		case 'c':
			if (vm_set_int(cli, body, "--vcpus", "vcpus") == -1)
				goto fail;
			break;
		case 'm':
			if (vm_set_int(cli, body, "--memory",
			    "memory_mib") == -1)
				goto fail;
			break;
		case 'd':
			if (vm_set_int(cli, body, "--disk", "disk_gib") == -1)
				goto fail;
			break;
		case 's':
			if (!create) {
				cli_usage_error(cli, "invalid option '--start'");
				goto fail;
			}
			if (cli_set(body, "start", json_true()) == -1)
				goto fail;
			break;
		case 'H':
			host = true;
			if (cli_set_str(cli, body, "host", "--host",
			    optarg) == -1)
				goto fail;
			break;
		case 'f':
			force = true;
			if (cli_set(body, "force", json_true()) == -1)
				goto fail;
			break;
		case 'g':
			if (cli_set_str(cli, body, "group", "--group",
			    optarg) == -1)
				goto fail;
			break;
		case 'l':
			if (cli_parse_label(cli, "--label", optarg,
			    labels) == -1)
				goto fail;
			break;
		case VM_HW_OVA:
			if (!create) {
				cli_usage_error(cli, "invalid option "
				    "'--from-ova': it is for vm create");
				goto fail;
			}
			ova = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "spread") != 0 &&
			    strcmp(optarg, "pack") != 0) {
				cli_usage_error(cli, "invalid --policy '%s': "
				    "use spread or pack", optarg);
				goto fail;
			}
			if (cli_set(placement, "policy",
			    json_string(optarg)) == -1)
				goto fail;
			break;
		default:
			goto fail;
		}
	}
	if (force && !host) {
		cli_usage_error(cli, "--force needs --host: it places the VM "
		    "on that host whatever the filters say");
		goto fail;
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1 ||
	    cli_set_str(cli, body, "name", "NAME", argv[optind]) == -1)
		goto fail;
	if (json_object_size(labels) > 0 &&
	    cli_set(placement, "labels", json_incref(labels)) == -1)
		goto fail;
	if (json_object_size(placement) > 0 &&
	    cli_set(body, "placement", json_incref(placement)) == -1)
		goto fail;
	if (vm_sched_done(body, retention) == -1 ||
	    (ova != NULL && image_ova_body(cli, ova, body, disks) == -1))
		goto fail;
	if (json_array_size(disks) > 0 &&
	    cli_set(body, "disks", json_incref(disks)) == -1)
		goto fail;
	json_decref(labels);
	json_decref(placement);
	json_decref(retention);
	json_decref(disks);
	*out = body;
	return 0;
fail:
	json_decref(body);
	json_decref(labels);
	json_decref(placement);
	json_decref(retention);
	json_decref(disks);
	return -1;
}

/*
 * hangar vm create NAME [--start] [--vcpus N] [--memory MIB] [--disk GIB]
 *     [--disk-bus BUS] [--data-disk GIB[:BUS]]... [--firmware bios|uefi]
 *     [--machine pc|q35] [--image NAME [--clone linked|full]]
 *     [--from-ova IMAGE] [--ssh-key FILE]... [--hostname NAME]
 *     [--user-data FILE] [--vendor-data FILE]
 *     [--host HOST [--force]] [--group GROUP] [--label K=V]...
 *     [--policy spread|pack] [--snapshot-schedule SPEC]
 *     [--snapshot-keep N] [--snapshot-max-age DURATION]
 *     [--backup-schedule SPEC] [--backup-keep N]
 *     [--backup-max-age DURATION] [--backup-full-every N]
 *
 * A create no host can take fails with the server's 409 (no-capacity),
 * whose detail names every host and why; `hangar place` shows the same
 * as a table without creating anything.
 */
int
vm_create(struct cli *cli, int argc, char **argv)
{
	json_t *body = NULL, *vm = NULL, *op = NULL;
	const char *name, *opid, *vm_id;
	char vmref[HANGAR_PATH_MAX];
	int n, rc = -1;

	if (vm_spec(cli, argc, argv, true, &body) == -1)
		return -1;
	name = json_string_value(json_object_get(body, "name"));

	if (http_call(cli->cli_http, "POST", "/v1/vms", body, &vm) == -1)
		goto done;
	/* Keep the id (or the name) to fetch the VM by once it is made. */
	if ((vm_id = json_string_value(json_object_get(vm, "id"))) == NULL)
		vm_id = name;
	n = snprintf(vmref, sizeof(vmref), "%s", vm_id);
	if (n < 0 || (size_t)n >= sizeof(vmref)) {
		cli_fail(CLI_ERROR, "the VM id is too long");
		goto done;
	}
	opid = json_string_value(json_object_get(vm, "operation"));
	if (opid == NULL) {
		/* No operation to follow: the VM is as it will be. */
		rc = output_object(stdout, cli->cli_format, vm);
		goto done;
	}
	if (!cli->cli_wait) {
		if (op_fetch(cli, opid, &op) == -1)
			goto done;
		rc = output_operation(stdout, cli->cli_format, op);
		goto done;
	}
	if (op_wait(cli, opid, NULL, 0, &op) == -1 ||
	    (cli->cli_wait_ip && vm_wait_ip(cli, vmref) == -1) ||
	    (cli->cli_wait_ready && vm_wait_ready(cli, vmref) == -1))
		goto done;
	rc = vm_print(cli, vmref);
done:
	json_decref(body);
	json_decref(vm);
	json_decref(op);
	return rc;
}

/*
 * hangar vm start|stop|reboot|pause|resume|delete VM, with --force for
 * stop and reboot and --timeout-s S (or --timeout S) for stop.
 */
int
vm_action(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "timeout-s", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const struct vm_act *act = NULL;
	json_t *body = NULL, *op = NULL, *done_op = NULL;
	const char *vm, *vm_id;
	char path[HANGAR_PATH_MAX], vmref[HANGAR_PATH_MAX];
	bool force = false;
	long timeout = 0;
	size_t i;
	int ch, n, rc = -1;

	for (i = 0; i < sizeof(vm_acts) / sizeof(vm_acts[0]); i++)
		if (strcmp(vm_acts[i].va_verb, cli->cli_cmd->c_verb) == 0)
			act = &vm_acts[i];
	if (act == NULL)
		return cli_fail(CLI_ERROR, "no action '%s'",
		    cli->cli_cmd->c_verb);
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'f':
			if ((act->va_opts & VM_OPT_FORCE) == 0)
				return cli_usage_error(cli, "'vm %s' takes no "
				    "--force", act->va_verb);
			force = true;
			break;
		case 't':
			if ((act->va_opts & VM_OPT_TIMEOUT) == 0)
				return cli_usage_error(cli, "'vm %s' takes no "
				    "--timeout-s (the global --timeout goes "
				    "before the command)", act->va_verb);
			if (cli_parse_long(cli, "--timeout-s", optarg, 1,
			    INT_MAX, &timeout) == -1)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1)
		return -1;
	vm = argv[optind];
	if (http_path(cli->cli_http, path, sizeof(path), "/v1/vms/", vm,
	    act->va_suffix) == -1)
		return -1;
	/* Send a body only when there is something to say. */
	if (force || timeout > 0) {
		if ((body = json_object()) == NULL)
			return cli_fail(CLI_ERROR, "out of memory");
		if ((force && cli_set(body, "force", json_true()) == -1) ||
		    (timeout > 0 && cli_set(body, "timeout_s",
		    json_integer(timeout)) == -1))
			goto done;
	}

	if (http_call(cli->cli_http, act->va_method, path, body, &op) == -1)
		goto done;
	if (!cli->cli_wait) {
		rc = output_operation(stdout, cli->cli_format, op);
		goto done;
	}
	/* Fetch the VM afterwards by its id: a name may be reused. */
	vm_id = json_string_value(json_object_get(op, "vm_id"));
	n = snprintf(vmref, sizeof(vmref), "%s", vm_id != NULL ? vm_id : vm);
	if (n < 0 || (size_t)n >= sizeof(vmref)) {
		cli_fail(CLI_ERROR, "the VM id is too long");
		goto done;
	}
	if (op_wait(cli, NULL, op, 0, &done_op) == -1)
		goto done;
	if (act->va_gone)
		rc = output_operation(stdout, cli->cli_format, done_op);
	else
		rc = vm_print(cli, vmref);
done:
	json_decref(body);
	json_decref(op);
	json_decref(done_op);
	return rc;
}

/*
 * hangar vm update VM [--snapshot-schedule SPEC|--no-snapshot-schedule]
 *     [--snapshot-keep N] [--snapshot-max-age DURATION]
 *     [--backup-schedule SPEC|--no-backup-schedule] [--backup-keep N]
 *     [--backup-max-age DURATION] [--backup-full-every N]
 *
 * PATCH /v1/vms/{vm} with only what was given; prints the VM it returns.
 */
int
vm_update(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		VM_SCHED_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	json_t *body, *retention, *vm = NULL;
	int ch, rc = -1;

	body = json_object();
	retention = json_object();
	if (body == NULL || retention == NULL) {
		cli_fail(CLI_ERROR, "out of memory");
		goto done;
	}
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1)
		if (vm_sched_opt(cli, ch, true, body, retention) != 1)
			goto done;	/* reported, by getopt if not ours */
	if (cli_args(cli, argc, argv, 1, 1) == -1 ||
	    vm_sched_done(body, retention) == -1)
		goto done;
	if (json_object_size(body) == 0) {
		cli_usage_error(cli, "nothing to change: give at least one "
		    "option");
		goto done;
	}
	if (http_path(cli->cli_http, path, sizeof(path), "/v1/vms/",
	    argv[optind], NULL) == -1 ||
	    http_call(cli->cli_http, "PATCH", path, body, &vm) == -1)
		goto done;
	rc = output_object(stdout, cli->cli_format, vm);
done:
	json_decref(body);
	json_decref(retention);
	json_decref(vm);
	return rc;
}

/* --copy-storage: the words the command line takes, as the API's values. */
static json_t *
vm_copy_storage(const char *word)
{
	if (strcmp(word, "auto") == 0)
		return json_string("auto");
	if (strcmp(word, "yes") == 0)
		return json_true();
	if (strcmp(word, "no") == 0)
		return json_false();
	return NULL;
}

/*
 * Parse the options of vm migrate into body (only what was given: the
 * server has the defaults) and *check, *flags; the VM is argv[optind].
 * Returns 0, or -1 after reporting.
 */
static int
vm_migrate_opts(struct cli *cli, int argc, char **argv, json_t *body,
    bool *check, unsigned *flags)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 'H' },
		{ "force", no_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'c' },
		{ "offline", no_argument, NULL, 'O' },
		{ "copy-storage", required_argument, NULL, 's' },
		{ "max-downtime", required_argument, NULL, 'd' },
		{ "auto-converge", no_argument, NULL, 'a' },
		{ "post-copy", no_argument, NULL, 'p' },
		{ "bandwidth", required_argument, NULL, 'b' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ "cancel-on-interrupt", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	json_t *cs;
	bool force = false, host = false;
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'H':
			host = true;
			if (cli_set_str(cli, body, "host", "--to",
			    optarg) == -1)
				return -1;
			break;
		case 'f':
			force = true;
			if (cli_set(body, "force", json_true()) == -1)
				return -1;
			break;
		case 'c':
			*check = true;
			break;
		case 'O':
			if (cli_set(body, "live", json_false()) == -1)
				return -1;
			break;
		case 's':
			if ((cs = vm_copy_storage(optarg)) == NULL)
				return cli_usage_error(cli, "invalid "
				    "--copy-storage '%s': use auto, yes or no",
				    optarg);
			if (cli_set(body, "copy_storage", cs) == -1)
				return -1;
			break;
		case 'd':
			if (vm_set_int(cli, body, "--max-downtime",
			    "max_downtime_ms") == -1)
				return -1;
			break;
		case 'a':
			if (cli_set(body, "auto_converge", json_true()) == -1)
				return -1;
			break;
		case 'p':
			if (cli_set(body, "post_copy", json_true()) == -1)
				return -1;
			break;
		case 'b':
			if (vm_set_int(cli, body, "--bandwidth",
			    "bandwidth_mib_s") == -1)
				return -1;
			break;
		case 'n':
			cli->cli_wait = false;
			break;
		case 'C':
			*flags |= OP_CANCEL_ON_INTERRUPT;
			break;
		default:
			return -1;
		}
	}
	if (force && !host)
		return cli_usage_error(cli, "--force needs --to: it moves the "
		    "VM to that host whatever the filters say");
	return cli_args(cli, argc, argv, 1, 1);
}

/*
 * hangar vm migrate VM [--to HOST [--force]] [--check] [--offline]
 *     [--copy-storage auto|yes|no] [--max-downtime MS] [--auto-converge]
 *     [--post-copy] [--bandwidth MIB_S] [--no-wait] [--cancel-on-interrupt]
 *
 * POST /v1/vms/{vm}/migrate with only what was given: without --to the
 * scheduler picks the host; a running or paused VM moves live (--offline:
 * paused while its memory copies), a stopped one cold.  --check sends
 * ?dry_run=1 instead and prints the checks (output_checks()), moving
 * nothing; it exits 1 if the move could not be made.  Otherwise the
 * command waits (a bar on a terminal, see cmd_op.c), then prints the VM
 * where it now is and, as a table, `downtime: N ms` when libvirt measured
 * one.  A failed migration is reported by its problem (the VM is where it
 * was), exit 1.  SIGINT leaves the migration running and says how to
 * cancel it, unless --cancel-on-interrupt: then it is cancelled first.
 */
int
vm_migrate(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX], vmref[HANGAR_PATH_MAX];
	json_t *body, *reply = NULL, *done_op = NULL, *down;
	const char *vm, *vm_id;
	unsigned flags = 0;
	bool check = false;
	int n, rc = -1;

	if ((body = json_object()) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	if (vm_migrate_opts(cli, argc, argv, body, &check, &flags) == -1)
		goto done;
	vm = argv[optind];
	if (http_path(cli->cli_http, path, sizeof(path), "/v1/vms/", vm,
	    "/migrate") == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "dry_run",
	    check ? "1" : NULL) == -1 ||
	    http_call(cli->cli_http, "POST", path, body, &reply) == -1)
		goto done;
	if (check) {
		rc = output_checks(stdout, cli->cli_format, reply);
		if (rc == 0 && !json_is_true(json_object_get(reply, "ok")))
			rc = cli_fail_quietly(CLI_ERROR);
		goto done;
	}
	if (!cli->cli_wait) {
		rc = output_operation(stdout, cli->cli_format, reply);
		goto done;
	}
	/* Fetch the VM afterwards by its id: a name may be reused. */
	vm_id = json_string_value(json_object_get(reply, "vm_id"));
	n = snprintf(vmref, sizeof(vmref), "%s", vm_id != NULL ? vm_id : vm);
	if (n < 0 || (size_t)n >= sizeof(vmref)) {
		cli_fail(CLI_ERROR, "the VM id is too long");
		goto done;
	}
	if (op_wait(cli, NULL, reply, flags, &done_op) == -1 ||
	    vm_print(cli, vmref) == -1)
		goto done;
	down = json_object_get(json_object_get(done_op, "progress"),
	    "downtime_ms");
	if (!OUTPUT_DATA(cli->cli_format) && json_is_integer(down) &&
	    json_integer_value(down) > 0)
		printf("downtime: %" JSON_INTEGER_FORMAT " ms\n",
		    json_integer_value(down));
	rc = 0;
done:
	json_decref(body);
	json_decref(reply);
	json_decref(done_op);
	return rc;
}
