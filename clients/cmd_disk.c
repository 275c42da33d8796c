/*
 * cmd_disk.c - `hangar disk ...`: a VM's disks.  list (GET
 * /v1/vms/{vm}/disks), add (POST, a new empty disk or a linked clone of
 * an image, hot-plugged when the VM runs), remove (DELETE
 * /v1/vms/{vm}/disks/{dev}) and resize (POST .../resize).  The changes
 * are operations: followed to their end unless --no-wait, then the VM is
 * shown with its disks.  Also `hangar vm guest VM`: what the VM's guest
 * agent says (GET /v1/vms/{vm}/guest), its filesystems as a table.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"

/* /v1/vms/{vm}/disks[/{dev}[suffix]] into path. */
static int
disk_path(struct cli *cli, char *path, size_t len, const char *vm,
    const char *dev, const char *suffix)
{
	char base[HANGAR_PATH_MAX];

	if (dev == NULL)
		return http_path(cli->cli_http, path, len, "/v1/vms/", vm,
		    "/disks");
	if (http_path(cli->cli_http, base, sizeof(base), "/v1/vms/", vm,
	    "/disks/") == -1)
		return -1;
	return http_path(cli->cli_http, path, len, base, dev, suffix);
}

/* Send it; print the operation, or follow it and show the VM. */
static int
disk_run(struct cli *cli, const char *method, const char *path,
    const json_t *body, const char *vm)
{
	json_t *op = NULL, *done_op = NULL;
	int rc = -1;

	if (http_call(cli->cli_http, method, path, body, &op) == -1)
		return -1;
	if (!cli->cli_wait)
		rc = output_operation(stdout, cli->cli_format, op);
	else if (op_wait(cli, NULL, op, 0, &done_op) == 0)
		rc = vm_print(cli, vm);
	json_decref(op);
	json_decref(done_op);
	return rc;
}

/* hangar disk list VM */
int
disk_list(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    disk_path(cli, path, sizeof(path), argv[optind], NULL,
	    NULL) == -1 ||
	    http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_list(stdout, cli->cli_format, reply, "disks",
	    columns_disk, columns_ndisk);
	json_decref(reply);
	return rc;
}

/* hangar vm guest VM: what its guest agent says (GET /v1/vms/{vm}/guest) */
int
vm_guest(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/vms/",
	    argv[optind], "/guest") == -1 ||
	    http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_detail(stdout, cli->cli_format, reply, "filesystems",
	    columns_guest_fs, columns_nguest_fs);
	json_decref(reply);
	return rc;
}

/* hangar disk add VM [--size GIB] [--bus BUS] [--image NAME] */
int
disk_add(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "bus", required_argument, NULL, 'b' },
		{ "image", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	json_t *body = json_object();
	long n;
	int ch, rc = -1;

	if (body == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch == 's' && (cli_parse_long(cli, "--size", optarg, 1,
		    INT_MAX, &n) == -1 || cli_set(body, "size_gib",
		    json_integer(n)) == -1))
			goto done;
		if (ch == 'b' && cli_set_str(cli, body, "bus", "--bus",
		    optarg) == -1)
			goto done;
		if (ch == 'i' && cli_set_str(cli, body, "image", "--image",
		    optarg) == -1)
			goto done;
		if (ch != 's' && ch != 'b' && ch != 'i')
			goto done;
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1)
		goto done;
	if (json_object_get(body, "size_gib") == NULL &&
	    json_object_get(body, "image") == NULL) {
		cli_usage_error(cli, "disk add needs --size, --image or both");
		goto done;
	}
	if (disk_path(cli, path, sizeof(path), argv[optind], NULL,
	    NULL) == 0)
		rc = disk_run(cli, "POST", path, body, argv[optind]);
done:
	json_decref(body);
	return rc;
}

/* hangar disk remove VM DEV */
int
disk_remove(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 2, 2) == -1 ||
	    disk_path(cli, path, sizeof(path), argv[optind],
	    argv[optind + 1], NULL) == -1)
		return -1;
	return disk_run(cli, "DELETE", path, NULL, argv[optind]);
}

/* hangar disk resize VM DEV GIB */
int
disk_resize(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *body;
	long n;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 3, 3) == -1 ||
	    cli_parse_long(cli, "GIB", argv[optind + 2], 1, INT_MAX,
	    &n) == -1 ||
	    disk_path(cli, path, sizeof(path), argv[optind],
	    argv[optind + 1], "/resize") == -1)
		return -1;
	if ((body = json_pack("{s:I}", "size_gib", (json_int_t)n)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	rc = disk_run(cli, "POST", path, body, argv[optind]);
	json_decref(body);
	return rc;
}
