/*
 * cmd_snapshot.c - `hangar snapshot ...`: create, list, show, revert and
 * delete a VM's snapshots (/v1/vms/{vm}/snapshots[/{name}[/revert]]).
 *
 * create, revert and delete start an operation, as the VM actions do: the
 * request goes without ?wait, then (unless --no-wait, here or before the
 * command) op_wait() follows the operation, with its spinner, and the
 * command prints what it led to: the snapshot for create, the VM for
 * revert (running or paused again after a snapshot with memory, stopped
 * after one without), the finished operation for delete.  With --no-wait they print the operation as accepted.  A failed
 * operation is reported by its problem's detail, exit status 1.
 */
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"

/* What each of create, revert and delete prints once it has waited. */
enum snap_then {
	SNAP_PRINT_SNAPSHOT,
	SNAP_PRINT_VM,
	SNAP_PRINT_OP
};

/*
 * /v1/vms/{vm}/snapshots[/{name}]{suffix} into path, both escaped; name
 * NULL for the list.  Returns 0, or -1 after reporting.
 */
static int
snap_path(struct cli *cli, char *path, size_t len, const char *vm,
    const char *name, const char *suffix)
{
	char base[HANGAR_PATH_MAX];

	if (name == NULL)
		return http_path(cli->cli_http, path, len, "/v1/vms/", vm,
		    "/snapshots");
	if (http_path(cli->cli_http, base, sizeof(base), "/v1/vms/", vm,
	    "/snapshots/") == -1)
		return -1;
	return http_path(cli->cli_http, path, len, base, name, suffix);
}

/* GET /v1/vms/{vm}/snapshots/{name} and print it. */
static int
snap_print(struct cli *cli, const char *vm, const char *name)
{
	char path[HANGAR_PATH_MAX];
	json_t *snap;
	int rc;

	if (snap_path(cli, path, sizeof(path), vm, name, NULL) == -1 ||
	    http_call(cli->cli_http, "GET", path, NULL, &snap) == -1)
		return -1;
	rc = output_object(stdout, cli->cli_format, snap);
	json_decref(snap);
	return rc;
}

/*
 * Send method path (body may be NULL), which answers with an operation;
 * print it as accepted if not waiting, else follow it and print what
 * then says.  vm and name are the command's operands.
 */
static int
snap_run(struct cli *cli, const char *method, const char *path,
    const json_t *body, const char *vm, const char *name, enum snap_then then)
{
	json_t *op = NULL, *done_op = NULL;
	const char *vm_id;
	char vmref[HANGAR_PATH_MAX];
	int n, rc = -1;

	if (http_call(cli->cli_http, method, path, body, &op) == -1)
		return -1;
	if (!cli->cli_wait) {
		rc = output_operation(stdout, cli->cli_format, op);
		goto done;
	}
	/* Fetch the VM afterwards by its id: a name may be reused. */
	vm_id = json_string_value(json_object_get(op, "vm_id"));
	n = snprintf(vmref, sizeof(vmref), "%s", vm_id != NULL &&
	    *vm_id != '\0' ? vm_id : vm);
	if (n < 0 || (size_t)n >= sizeof(vmref)) {
		cli_fail(CLI_ERROR, "the VM id is too long");
		goto done;
	}
	if (op_wait(cli, NULL, op, 0, &done_op) == -1)
		goto done;
	switch (then) {
	case SNAP_PRINT_SNAPSHOT:
		rc = snap_print(cli, vmref, name);
		break;
	case SNAP_PRINT_VM:
		rc = vm_print(cli, vmref);
		break;
	case SNAP_PRINT_OP:
		rc = output_operation(stdout, cli->cli_format, done_op);
		break;
	}
done:
	json_decref(op);
	json_decref(done_op);
	return rc;
}

/*
 * Parse the options of revert and delete (only --no-wait) and their VM
 * NAME operands.  Returns 0, or -1 after reporting.
 */
static int
snap_operands(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch != 'n')
			return -1;
		cli->cli_wait = false;
	}
	return cli_args(cli, argc, argv, 2, 2);
}

/*
 * hangar snapshot create VM NAME [--memory] [--description TEXT]
 *     [--no-wait]
 *
 * The server checks NAME (1-63 of [A-Za-z0-9._-], not starting with '.'
 * or '-') and the description; its 400 names the field.
 */
int
snapshot_create(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "memory", no_argument, NULL, 'm' },
		{ "description", required_argument, NULL, 'd' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	const char *vm, *name;
	json_t *body;
	int ch, rc = -1;

	if ((body = json_object()) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'm':
			if (cli_set(body, "memory", json_true()) == -1)
				goto done;
			break;
		case 'd':
			if (cli_set_str(cli, body, "description",
			    "--description", optarg) == -1)
				goto done;
			break;
		case 'n':
			cli->cli_wait = false;
			break;
		default:
			goto done;
		}
	}
	if (cli_args(cli, argc, argv, 2, 2) == -1)
		goto done;
	vm = argv[optind];
	name = argv[optind + 1];
	if (cli_set_str(cli, body, "name", "NAME", name) == -1 ||
	    snap_path(cli, path, sizeof(path), vm, NULL, NULL) == -1)
		goto done;
	rc = snap_run(cli, "POST", path, body, vm, name, SNAP_PRINT_SNAPSHOT);
done:
	json_decref(body);
	return rc;
}

/* hangar snapshot list VM */
int
snapshot_list(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    snap_path(cli, path, sizeof(path), argv[optind], NULL,
	    NULL) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_list(stdout, cli->cli_format, reply, "snapshots",
	    columns_snapshot, columns_nsnapshot);
	json_decref(reply);
	return rc;
}

/* hangar snapshot show VM NAME */
int
snapshot_show(struct cli *cli, int argc, char **argv)
{
	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 2, 2) == -1)
		return -1;
	return snap_print(cli, argv[optind], argv[optind + 1]);
}

/* hangar snapshot revert VM NAME [--no-wait]: then prints the VM. */
int
snapshot_revert(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];

	if (snap_operands(cli, argc, argv) == -1 ||
	    snap_path(cli, path, sizeof(path), argv[optind],
	    argv[optind + 1], "/revert") == -1)
		return -1;
	return snap_run(cli, "POST", path, NULL, argv[optind],
	    argv[optind + 1], SNAP_PRINT_VM);
}

/*
 * hangar snapshot delete VM NAME [--no-wait]: then prints the finished
 * operation (there is no snapshot left to show).
 */
int
snapshot_delete(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];

	if (snap_operands(cli, argc, argv) == -1 ||
	    snap_path(cli, path, sizeof(path), argv[optind],
	    argv[optind + 1], NULL) == -1)
		return -1;
	return snap_run(cli, "DELETE", path, NULL, argv[optind],
	    argv[optind + 1], SNAP_PRINT_OP);
}
