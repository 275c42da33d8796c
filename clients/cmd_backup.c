/*
 * cmd_backup.c - `hangar vm backup` and `hangar backup ...`: take, list,
 * show, delete a VM's backups and download one as an archive
 * (/v1/vms/{vm}/backups[/{id}[/archive]]).
 *
 * vm backup starts an operation: unless --no-wait, op_wait() follows it
 * with its spinner and the command prints the backup it made (its id is
 * in the operation's params).  delete is done by the server within the
 * request (folding the backup into those that build on it).  archive
 * writes the tar (manifest.json and one whole qcow2 per disk) to -o FILE,
 * by default ID.tar.  backup restore brings a stopped VM's disks back to
 * a backup (an operation, followed like vm backup), then prints the VM.
 */
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"

/* /v1/vms/{vm}/backups[/{id}{suffix}] into path, escaped. */
static int
backup_path(struct cli *cli, char *path, size_t len, const char *vm,
    const char *id, const char *suffix)
{
	char base[HANGAR_PATH_MAX];

	if (id == NULL)
		return http_path(cli->cli_http, path, len, "/v1/vms/", vm,
		    "/backups");
	if (http_path(cli->cli_http, base, sizeof(base), "/v1/vms/", vm,
	    "/backups/") == -1)
		return -1;
	return http_path(cli->cli_http, path, len, base, id, suffix);
}

/* GET /v1/vms/{vm}/backups/{id} and print it. */
static int
backup_print(struct cli *cli, const char *vm, const char *id)
{
	char path[HANGAR_PATH_MAX];
	json_t *b;
	int rc;

	if (backup_path(cli, path, sizeof(path), vm, id, "") == -1 ||
	    http_call(cli->cli_http, "GET", path, NULL, &b) == -1)
		return -1;
	rc = output_object(stdout, cli->cli_format, b);
	json_decref(b);
	return rc;
}

/* hangar vm backup VM [--incremental] [--no-wait] */
int
vm_backup(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "incremental", no_argument, NULL, 'i' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	const char *mode = "full", *id, *vm_id;
	json_t *body = NULL, *op = NULL, *done = NULL;
	int ch, rc = -1;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch == 'i')
			mode = "incremental";
		else if (ch == 'n')
			cli->cli_wait = false;
		else
			return -1;
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1 ||
	    backup_path(cli, path, sizeof(path), argv[optind], NULL,
	    NULL) == -1)
		return -1;
	if ((body = json_pack("{s:s}", "mode", mode)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	if (http_call(cli->cli_http, "POST", path, body, &op) == -1)
		goto done;
	if (!cli->cli_wait) {
		rc = output_operation(stdout, cli->cli_format, op);
		goto done;
	}
	if (op_wait(cli, NULL, op, 0, &done) == -1)
		goto done;
	id = json_string_value(json_object_get(json_object_get(done,
	    "params"), "backup"));
	vm_id = json_string_value(json_object_get(done, "vm_id"));
	rc = id ? backup_print(cli, vm_id ? vm_id : argv[optind], id) :
	    output_operation(stdout, cli->cli_format, done);
done:
	json_decref(body);
	json_decref(op);
	json_decref(done);
	return rc;
}

/* hangar backup list VM */
int
backup_list(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    backup_path(cli, path, sizeof(path), argv[optind], NULL,
	    NULL) == -1 ||
	    http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_list(stdout, cli->cli_format, reply, "backups",
	    columns_backup, columns_nbackup);
	json_decref(reply);
	return rc;
}

/* hangar backup show VM ID */
int
backup_show(struct cli *cli, int argc, char **argv)
{
	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 2, 2) == -1)
		return -1;
	return backup_print(cli, argv[optind], argv[optind + 1]);
}

/* hangar backup delete VM ID */
int
backup_delete(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 2, 2) == -1 ||
	    backup_path(cli, path, sizeof(path), argv[optind],
	    argv[optind + 1], "") == -1 ||
	    http_call(cli->cli_http, "DELETE", path, NULL, &reply) == -1)
		return -1;
	json_decref(reply);
	return 0;
}

/* hangar backup archive VM ID [-o FILE] */
int
backup_archive(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX], file[HANGAR_PATH_MAX];
	const char *out = NULL;
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, ":o:", lo)) != -1) {
		if (ch != 'o')
			return -1;
		out = optarg;
	}
	if (cli_args(cli, argc, argv, 2, 2) == -1 ||
	    backup_path(cli, path, sizeof(path), argv[optind],
	    argv[optind + 1], "/archive") == -1)
		return -1;
	if (out == NULL) {
		if ((size_t)snprintf(file, sizeof(file), "%s.tar",
		    argv[optind + 1]) >= sizeof(file))
			return cli_fail(CLI_USAGE, "the backup id is too long");
		out = file;
	}
	return cli_download(cli, path, out, argv[optind + 1]);
}

/* hangar backup restore VM ID [--no-wait] */
int
backup_restore(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	const char *vm_id;
	json_t *body = NULL, *op = NULL, *done = NULL;
	int ch, rc = -1;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch != 'n')
			return -1;
		cli->cli_wait = false;
	}
	if (cli_args(cli, argc, argv, 2, 2) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/vms/",
	    argv[optind], "/restore") == -1)
		return -1;
	if ((body = json_pack("{s:s}", "backup", argv[optind + 1])) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	if (http_call(cli->cli_http, "POST", path, body, &op) == 0) {
		if (!cli->cli_wait) {
			rc = output_operation(stdout, cli->cli_format, op);
		} else if (op_wait(cli, NULL, op, 0, &done) == 0) {
			vm_id = json_string_value(json_object_get(done,
			    "vm_id"));
			rc = vm_print(cli, vm_id ? vm_id : argv[optind]);
		}
	}
	json_decref(body);
	json_decref(op);
	json_decref(done);
	return rc;
}
