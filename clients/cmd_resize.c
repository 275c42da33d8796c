/*
 * cmd_resize.c - `hangar vm resize NAME --vcpus N --memory MIB
 * [--next-boot] [--allow-move]`: PATCH /v1/vms/{vm} with the new size.
 * The server decides live or next boot (live when the VM runs and can)
 * unless --next-boot; the resize is an operation, followed to its end
 * unless --no-wait, then the VM is shown.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>

#include "hangar.h"
#include "http.h"

int
vm_resize(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "vcpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "next-boot", no_argument, NULL, 'n' },
		{ "allow-move", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	json_t *body = json_object(), *op = NULL, *done_op = NULL;
	int ch, rc = -1;
	long n;

	if (body == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch == 'c' || ch == 'm') {
			if (cli_parse_long(cli, ch == 'c' ? "--vcpus" :
			    "--memory", optarg, 1, INT_MAX, &n) == -1 ||
			    cli_set(body, ch == 'c' ? "vcpus" : "memory_mib",
			    json_integer(n)) == -1)
				goto done;
		} else if (ch == 'n' || ch == 'a') {
			if (cli_set(body, ch == 'n' ? "apply" : "allow_move",
			    ch == 'n' ? json_string("next_boot") :
			    json_true()) == -1)
				goto done;
		} else {
			goto done;	/* reported by getopt */
		}
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1)
		goto done;
	if (json_object_get(body, "vcpus") == NULL &&
	    json_object_get(body, "memory_mib") == NULL) {
		cli_usage_error(cli, "give --vcpus, --memory or both");
		goto done;
	}
	if (http_path(cli->cli_http, path, sizeof(path), "/v1/vms/",
	    argv[optind], NULL) == -1 ||
	    http_call(cli->cli_http, "PATCH", path, body, &op) == -1)
		goto done;
	if (!cli->cli_wait)
		rc = output_operation(stdout, cli->cli_format, op);
	else if (op_wait(cli, NULL, op, 0, &done_op) == 0)
		rc = vm_print(cli, argv[optind]);
done:
	json_decref(body);
	json_decref(op);
	json_decref(done_op);
	return rc;
}
