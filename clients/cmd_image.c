/*
 * cmd_image.c - `hangar image ...`: import, list, show, delete and export
 * the images of hangard's library (/v1/images).
 *
 * import streams the file as the request body (libcurl's read callback:
 * never read into memory), with a progress bar on a terminal, then waits
 * for the import operation like other commands (op_wait()) and prints the
 * image.  export writes the image, converted by hangard to --format, to
 * FILE; a failed export leaves no FILE.  image_ova_body() reads what an
 * OVA's image says of its VM (ova_spec) for `hangar vm create
 * --from-ova`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hangar.h"
#include "http.h"
#include "http_int.h"

/* /v1/images/{name}[suffix] into path. */
static int
image_path(struct cli *cli, char *path, size_t len, const char *name,
    const char *suffix)
{
	return http_path(cli->cli_http, path, len, "/v1/images/", name,
	    suffix);
}

static int
image_print(struct cli *cli, const char *name)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (image_path(cli, path, sizeof(path), name, NULL) == -1 ||
	    http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_object(stdout, cli->cli_format, reply);
	json_decref(reply);
	return rc;
}

/* hangar image import NAME FILE [--format F] [--sha256 H] [--os O]
 *     [--no-wait] */
int
image_import(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "sha256", required_argument, NULL, 's' },
		{ "os", required_argument, NULL, 'o' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *fmt = "auto", *sha = NULL, *os = NULL, *name;
	char path[HANGAR_PATH_MAX] = "/v1/images";
	json_t *op = NULL, *done_op = NULL;
	int ch, rc = -1;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'f':
			fmt = optarg;
			break;
		case 's':
			sha = optarg;
			break;
		case 'o':
			os = optarg;
			break;
		case 'n':
			cli->cli_wait = false;
			break;
		default:
			return -1;
		}
	}
	if (cli_args(cli, argc, argv, 2, 2) == -1)
		return -1;
	name = argv[optind];
	if (http_query(cli->cli_http, path, sizeof(path), "name", name) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "format", fmt) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "sha256", sha) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "os", os) == -1 ||
	    http_upload(cli->cli_http, path, argv[optind + 1], name, NULL,
	    &op) == -1)
		return -1;
	if (!cli->cli_wait)
		rc = output_operation(stdout, cli->cli_format, op);
	else if (op_wait(cli, NULL, op, 0, &done_op) == 0)
		rc = image_print(cli, name);
	json_decref(op);
	json_decref(done_op);
	return rc;
}

/* hangar image list */
int
image_list(struct cli *cli, int argc, char **argv)
{
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 0, 0) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", "/v1/images", NULL, &reply) == -1)
		return -1;
	rc = output_list(stdout, cli->cli_format, reply, "images",
	    columns_image, columns_nimage);
	json_decref(reply);
	return rc;
}

/* hangar image show NAME */
int
image_show(struct cli *cli, int argc, char **argv)
{
	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1)
		return -1;
	return image_print(cli, argv[optind]);
}

/* hangar image delete NAME: prints the image as it was deleted. */
int
image_delete(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    image_path(cli, path, sizeof(path), argv[optind], NULL) == -1)
		return -1;
	if (http_call(cli->cli_http, "DELETE", path, NULL, &reply) == -1)
		return -1;
	rc = output_object(stdout, cli->cli_format, reply);
	json_decref(reply);
	return rc;
}

/* One row per copy: {"host","image","sha256","result","reason"}. */
static int
image_prune_rows(const json_t *hosts, json_t *rows)
{
	static const char *const lists[] = { "removed", "kept", "forgotten" };
	const json_t *h, *e;
	size_t i, j, k;
	json_t *row;

	json_array_foreach(hosts, i, h) {
		if (json_is_true(json_object_get(h, "unreachable")) &&
		    (row = json_pack("{s:O?, s:s}", "host",
		    json_object_get(h, "host"), "result", "unreachable")) != NULL)
			json_array_append_new(rows, row);
		for (k = 0; k < sizeof(lists) / sizeof(lists[0]); k++)
			json_array_foreach(json_object_get(h, lists[k]), j, e) {
				if ((row = json_deep_copy(e)) == NULL ||
				    json_object_set(row, "host",
				    json_object_get(h, "host")) == -1 ||
				    json_object_set_new(row, "result",
				    json_string(lists[k])) == -1)
					return cli_fail(CLI_ERROR, "out of memory");
				json_array_append_new(rows, row);
			}
	}
	return 0;
}

/* What a prune did, from its finished OPERATION: the copies as a table,
 * then the totals.  With -o json or yaml, the operation. */
static int
image_prune_print(struct cli *cli, const json_t *op)
{
	const json_t *p = json_object_get(op, "progress");
	json_t *rows = json_array();
	int rc = 0;

	if (OUTPUT_DATA(cli->cli_format) || rows == NULL) {
		json_decref(rows);
		return output_data(stdout, cli->cli_format, op);
	}
	if (image_prune_rows(json_object_get(p, "hosts"), rows) == -1 ||
	    (json_array_size(rows) > 0 && output_table(stdout, rows,
	    columns_prune, columns_nprune) == -1))
		rc = -1;
	json_decref(rows);
	if (rc == 0)
		printf("removed %lld, kept %lld, forgotten %lld, unreachable "
		    "%lld\n", (long long)json_integer_value(json_object_get(p,
		    "removed")), (long long)json_integer_value(json_object_get(p,
		    "kept")), (long long)json_integer_value(json_object_get(p,
		    "forgotten")), (long long)json_integer_value(
		    json_object_get(p, "unreachable")));
	return rc;
}

/* hangar image prune [--host H] [--image NAME] [--no-wait] */
int
image_prune(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "image", required_argument, NULL, 'i' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	json_t *body = json_object(), *op = NULL;
	int ch, rc = -1;

	if (body == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch == 'n')
			cli->cli_wait = false;
		else if (ch != 'h' && ch != 'i')
			goto done;
		else if (cli_set(body, ch == 'h' ? "host" : "image",
		    json_string(optarg)) == -1)
			goto done;
	}
	if (cli_args(cli, argc, argv, 0, 0) == -1 ||
	    http_call(cli->cli_http, "POST", "/v1/images/prune", body,
	    &op) == -1)
		goto done;
	rc = op_end(cli, op, image_prune_print);
done:
	json_decref(body);
	json_decref(op);
	return rc;
}

/*
 * GET path into file (made or truncated; removed again on failure), with
 * the download's progress bar naming what.  0, or -1 after reporting.
 */
int
cli_download(struct cli *cli, const char *path, const char *file,
    const char *what)
{
	struct http_file f;
	struct http_reply r = { 0, NULL };
	int rc = -1;

	memset(&f, 0, sizeof(f));
	f.hf_file = file;
	f.hf_what = what;
	if ((f.hf_fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return cli_fail(CLI_USAGE, "%s: %s", file, strerror(errno));
	if (http_file(cli->cli_http, "GET", path, &f, &r) == 0) {
		if (r.hr_status / 100 != 2)
			http_fail(&r);
		else
			rc = 0;
	}
	if (close(f.hf_fd) == -1 && rc == 0)
		rc = cli_fail(CLI_ERROR, "%s: %s", file, strerror(errno));
	if (rc == -1)
		unlink(file);
	http_reply_free(&r);
	return rc;
}

/* hangar image export NAME FILE [--format F] */
int
image_export(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	const char *fmt = "qcow2";
	char path[HANGAR_PATH_MAX];
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch != 'f')
			return -1;
		fmt = optarg;
	}
	if (cli_args(cli, argc, argv, 2, 2) == -1 ||
	    image_path(cli, path, sizeof(path), argv[optind], "/file") == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "format", fmt) == -1)
		return -1;
	return cli_download(cli, path, argv[optind + 1], argv[optind]);
}

/*
 * key = val (a reference taken) in body, unless the command line gave
 * key or the OVF said nothing (no val, "", 0).
 */
static int
image_ova_default(json_t *body, const char *key, json_t *val)
{
	if (val == NULL)
		return 0;
	if (json_object_get(body, key) != NULL ||
	    (json_is_string(val) && json_string_length(val) == 0) ||
	    (json_is_integer(val) && json_integer_value(val) <= 0)) {
		json_decref(val);
		return 0;
	}
	return cli_set(body, key, val);
}

/* The OVA's disks after its first, in order, at the front of disks. */
static int
image_ova_disks(const json_t *spec_disks, json_t *disks)
{
	const char *img, *bus;
	json_t *d;
	size_t k;

	for (k = 1; k < json_array_size(spec_disks); k++) {
		img = json_string_value(json_object_get(json_array_get(
		    spec_disks, k), "image"));
		bus = json_string_value(json_object_get(json_array_get(
		    spec_disks, k), "bus"));
		if (img == NULL)
			return cli_fail(CLI_ERROR, "the OVA's disk %zu names "
			    "no image", k + 1);
		if ((d = json_pack("{s:s}", "image", img)) == NULL ||
		    (bus && bus[0] && cli_set(d, "bus", json_string(bus)) == -1) ||
		    json_array_insert_new(disks, k - 1, d) == -1) {
			json_decref(d);
			return cli_fail(CLI_ERROR, "out of memory");
		}
	}
	return 0;
}

/*
 * Fill body, a create body for POST /v1/vms, from what image name (an
 * OVA's first disk) says of its VM: "image" = that image, "disk_bus",
 * "vcpus", "memory_mib" and "firmware" unless body has them already (the
 * command line's win), and the OVA's other disks as {"image","bus"} at
 * the front of disks.  0, or -1 after reporting (an image not from an
 * OVA is a usage error).
 */
int
image_ova_body(struct cli *cli, const char *name, json_t *body, json_t *disks)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply = NULL, *spec, *first;
	int rc = -1;

	if (json_object_get(body, "image") != NULL)
		return cli_usage_error(cli, "--from-ova and --image do not go "
		    "together: --from-ova names the image");
	if (image_path(cli, path, sizeof(path), name, NULL) == -1 ||
	    http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	spec = json_object_get(reply, "ova_spec");
	first = json_array_get(json_object_get(spec, "disks"), 0);
	if (!json_is_object(spec) || !json_is_object(first)) {
		cli_fail(CLI_USAGE, "image '%s' was not imported from an OVA "
		    "(it has no ova_spec)", name);
		goto done;
	}
	if (cli_set(body, "image", json_string(name)) == -1 ||
	    image_ova_default(body, "disk_bus",
	    json_incref(json_object_get(first, "bus"))) == -1 ||
	    image_ova_default(body, "vcpus",
	    json_incref(json_object_get(spec, "vcpus"))) == -1 ||
	    image_ova_default(body, "memory_mib",
	    json_incref(json_object_get(spec, "memory_mib"))) == -1 ||
	    image_ova_default(body, "firmware",
	    json_incref(json_object_get(spec, "firmware"))) == -1 ||
	    image_ova_disks(json_object_get(spec, "disks"), disks) == -1)
		goto done;
	rc = 0;
done:
	json_decref(reply);
	return rc;
}
