/*
 * cmd_clone.c - `hangar vm clone` and `hangar vm template`: a new VM
 * made from another's disks (POST /v1/vms/{vm}/clone), and a library
 * image made from a stopped VM's root disk (POST /v1/vms/{vm}/template);
 * `hangar vm import`: a new VM from a backup archive (the file streamed
 * as it is read) or a backup (POST /v1/vms/import), waited for with
 * ?wait=300 and printed, the MACs and addresses it could not keep said
 * on stderr.
 *
 * Both start an operation: unless --no-wait (here or before the
 * command), op_wait() follows it with its spinner, then clone prints the
 * new VM and template the new image.  With --no-wait they print the
 * operation as accepted.  A failed operation is reported by its
 * problem's detail, exit status 1.
 */
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"
#include "http_int.h"

/* Send the request at path, follow its operation; then: print the VM it
 * made (image NULL) or image. */
static int
clone_run(struct cli *cli, const char *path, const json_t *body,
    const char *image)
{
	json_t *op = NULL, *done_op = NULL, *im = NULL;
	char ipath[HANGAR_PATH_MAX];
	const char *vm_id;
	int rc = -1;

	if (http_call(cli->cli_http, "POST", path, body, &op) == -1)
		return -1;
	if (!cli->cli_wait) {
		rc = output_operation(stdout, cli->cli_format, op);
		goto done;
	}
	if (op_wait(cli, NULL, op, 0, &done_op) == -1)
		goto done;
	if (image == NULL) {
		vm_id = json_string_value(json_object_get(op, "vm_id"));
		rc = vm_id ? vm_print(cli, vm_id) : cli_fail(CLI_ERROR,
		    "the operation names no VM");
		goto done;
	}
	if (http_path(cli->cli_http, ipath, sizeof(ipath), "/v1/images/",
	    image, "") == -1 ||
	    http_call(cli->cli_http, "GET", ipath, NULL, &im) == -1)
		goto done;
	rc = output_object(stdout, cli->cli_format, im);
done:
	json_decref(op);
	json_decref(done_op);
	json_decref(im);
	return rc;
}

/* hangar vm clone SRC NEW [--full] [--start] [--host H] [--no-wait] */
int
vm_clone(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "full", no_argument, NULL, 'f' },
		{ "start", no_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'h' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	json_t *body;
	int ch, rc = -1;

	if ((body = json_object()) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'f':
			if (cli_set(body, "mode", json_string("full")) == -1)
				goto done;
			break;
		case 's':
			if (cli_set(body, "start", json_true()) == -1)
				goto done;
			break;
		case 'h':
			if (cli_set_str(cli, body, "host", "--host",
			    optarg) == -1)
				goto done;
			break;
		case 'n':
			cli->cli_wait = false;
			break;
		default:
			goto done;
		}
	}
	if (cli_args(cli, argc, argv, 2, 2) == -1 ||
	    cli_set_str(cli, body, "name", "NEW", argv[optind + 1]) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/vms/",
	    argv[optind], "/clone") == -1)
		goto done;
	rc = clone_run(cli, path, body, NULL);
done:
	json_decref(body);
	return rc;
}

/* hangar vm template VM IMAGE [--no-wait] */
int
vm_template(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	json_t *body;
	int ch, rc = -1;

	if ((body = json_object()) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch != 'n')
			goto done;
		cli->cli_wait = false;
	}
	if (cli_args(cli, argc, argv, 2, 2) == -1 ||
	    cli_set_str(cli, body, "image", "IMAGE", argv[optind + 1]) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/vms/",
	    argv[optind], "/template") == -1)
		goto done;
	rc = clone_run(cli, path, body, argv[optind + 1]);
done:
	json_decref(body);
	return rc;
}

/* The MACs and addresses the import could not keep, said on stderr. */
static void
import_changed(const json_t *vm)
{
	json_t *c = json_object_get(json_object_get(vm, "import"), "changed");
	json_t *e;
	size_t i;

	json_array_foreach(c, i, e)
		fprintf(stderr, "hangar: %s %s %s was taken: now %s\n",
		    json_string_value(json_object_get(e, "nic")),
		    json_string_value(json_object_get(e, "field")),
		    json_string_value(json_object_get(e, "was")),
		    json_is_string(json_object_get(e, "now")) ?
		    json_string_value(json_object_get(e, "now")) : "none");
}

/* hangar vm import FILE --name N [--host H] [--stopped] [--no-wait]
 * hangar vm import --backup ID --name N [...] */
int
vm_import(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "host", required_argument, NULL, 'h' },
		{ "backup", required_argument, NULL, 'b' },
		{ "stopped", no_argument, NULL, 's' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name = NULL, *host = NULL, *backup = NULL;
	char path[HANGAR_PATH_MAX] = "/v1/vms/import";
	bool stopped = false;
	json_t *vm = NULL, *body = NULL;
	int ch, rc = -1;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'N':
			name = optarg;
			break;
		case 'h':
			host = optarg;
			break;
		case 'b':
			backup = optarg;
			break;
		case 's':
			stopped = true;
			break;
		case 'n':
			cli->cli_wait = false;
			break;
		default:
			return -1;
		}
	}
	if (cli_args(cli, argc, argv, backup ? 0 : 1, backup ? 0 : 1) == -1)
		return -1;
	if (name == NULL)
		return cli_fail(CLI_USAGE, "vm import: --name NEW is required");
	if (http_query(cli->cli_http, path, sizeof(path), "name", name) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "host", host) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "start",
	    stopped ? "false" : NULL) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "wait",
	    cli->cli_wait ? "300" : NULL) == -1)
		return -1;
	if (backup) {
		body = json_pack("{s:s}", "backup", backup);
		rc = body ? http_call(cli->cli_http, "POST", path, body, &vm) :
		    cli_fail(CLI_ERROR, "out of memory");
	} else {
		rc = http_upload(cli->cli_http, path, argv[optind], argv[optind],
		    "application/x-tar", &vm);
	}
	if (rc == 0) {
		import_changed(vm);
		rc = output_object(stdout, cli->cli_format, vm);
	}
	json_decref(body);
	json_decref(vm);
	return rc;
}
