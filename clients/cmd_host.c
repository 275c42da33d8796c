/*
 * cmd_host.c - `hangar host ...`: list, show, add, update, remove,
 * maintenance on|off, drain and undrain, evacuate and unfence.
 *
 * add is POST /v1/hosts (hangard dials the URI first: one it cannot reach
 * is a 422 with libvirt's words), update and maintenance are PATCH
 * /v1/hosts/{name}, remove is DELETE (a 409 while VMs live there), undrain
 * is POST /v1/hosts/{name}/undrain.  Each prints the host as the server
 * sent it back.  The settings add and update share (labels, ratios,
 * reserved resources, the storage name) are parsed by host_settings();
 * labels replace all of the host's labels, as the API does.  drain (POST
 * /v1/hosts/{name}/drain) starts an operation that moves every VM away;
 * the command follows it and prints the moves (op_moves()).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"

#define HOST_CLEAR_LABELS 'C'	/* host_settings(): --clear-labels seen */
#define HOST_POOL_PATH	'P'	/* --pool-path DIR (add only) */
#define HOST_STORAGE	'S'	/* --storage NAME */
#define HOST_NO_STORAGE	'N'	/* --no-storage (update only) */

/* The reserved resources, as option, body member and largest value. */
static const struct host_res {
	int		 hr_opt;
	const char	*hr_name;
	const char	*hr_key;
	long		 hr_max;
} host_res[] = {
	{ 'v', "--reserved-vcpus", "vcpus", INT_MAX },
	{ 'm', "--reserved-memory", "memory_mib", LONG_MAX },
	{ 'd', "--reserved-disk", "disk_gib", LONG_MAX },
};

/* The ratios, as option and body member. */
static const struct host_ratio {
	int		 hq_opt;
	const char	*hq_name;
	const char	*hq_key;
} host_ratios[] = {
	{ 'c', "--cpu-ratio", "cpu_ratio" },
	{ 'r', "--ram-ratio", "ram_ratio" },
	{ 'k', "--disk-ratio", "disk_ratio" },
};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Send req, a host body, to path with method; print the host it returns. */
static int
host_send(struct cli *cli, const char *method, const char *path,
    const json_t *req)
{
	json_t *reply;
	int rc;

	if (http_call(cli->cli_http, method, path, req, &reply) == -1)
		return -1;
	rc = output_object(stdout, cli->cli_format, reply);
	json_decref(reply);
	return rc;
}

/* /v1/hosts/{name} into path. */
static int
host_path(struct cli *cli, char *path, size_t len, const char *name)
{
	return http_path(cli->cli_http, path, len, "/v1/hosts/", name, NULL);
}

/*
 * Parse the settings options of host add (update: of host update, which
 * also takes --clear-labels and --no-storage) into
 * body: "labels", "cpu_ratio", "ram_ratio", "disk_ratio", "reserved",
 * "pool_path", "storage" ("" for --no-storage: no shared storage).
 * Ratios are checked here only as numbers and reserved amounts as
 * integers from 0; the server owns the ranges, and checks the path and
 * the storage name.  Returns 0, or -1 after reporting.
 */
static int
host_settings(struct cli *cli, int argc, char **argv, bool update,
    json_t *body)
{
	static const struct option lo[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "clear-labels", no_argument, NULL, HOST_CLEAR_LABELS },
		{ "cpu-ratio", required_argument, NULL, 'c' },
		{ "ram-ratio", required_argument, NULL, 'r' },
		{ "disk-ratio", required_argument, NULL, 'k' },
		{ "reserved-vcpus", required_argument, NULL, 'v' },
		{ "reserved-memory", required_argument, NULL, 'm' },
		{ "reserved-disk", required_argument, NULL, 'd' },
		{ "pool-path", required_argument, NULL, HOST_POOL_PATH },
		{ "storage", required_argument, NULL, HOST_STORAGE },
		{ "no-storage", no_argument, NULL, HOST_NO_STORAGE },
		{ NULL, 0, NULL, 0 }
	};
	json_t *labels = NULL, *reserved = NULL;
	bool clear = false, storage = false, no_storage = false;
	double ratio;
	size_t i;
	long n;
	int ch, rc = -1;

	if ((labels = json_object()) == NULL ||
	    (reserved = json_object()) == NULL) {
		cli_fail(CLI_ERROR, "out of memory");
		goto done;
	}
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch == 'l') {
			if (cli_parse_label(cli, "--label", optarg,
			    labels) == -1)
				goto done;
			continue;
		}
		if (ch == HOST_CLEAR_LABELS) {
			if (!update) {
				cli_usage_error(cli, "invalid option "
				    "'--clear-labels'");
				goto done;
			}
			clear = true;
			continue;
		}
		if (ch == HOST_POOL_PATH) {
			/* update: the server refuses it while VMs are there */
			if (cli_set_str(cli, body, "pool_path", "--pool-path",
			    optarg) == -1)
				goto done;
			continue;
		}
		if (ch == HOST_NO_STORAGE) {
			if (!update) {
				cli_usage_error(cli, "invalid option "
				    "'--no-storage'");
				goto done;
			}
			no_storage = true;
			continue;
		}
		if (ch == HOST_STORAGE) {
			storage = true;
			if (cli_set_str(cli, body, "storage", "--storage",
			    optarg) == -1)
				goto done;
			continue;
		}
		for (i = 0; i < NITEMS(host_ratios); i++)
			if (ch == host_ratios[i].hq_opt)
				break;
		if (i < NITEMS(host_ratios)) {
			if (cli_parse_number(cli, host_ratios[i].hq_name,
			    optarg, &ratio) == -1 ||
			    cli_set(body, host_ratios[i].hq_key,
			    json_real(ratio)) == -1)
				goto done;
			continue;
		}
		for (i = 0; i < NITEMS(host_res); i++)
			if (ch == host_res[i].hr_opt)
				break;
		if (i == NITEMS(host_res))
			goto done;	/* cli_getopt() reported it */
		if (cli_parse_long(cli, host_res[i].hr_name, optarg, 0,
		    host_res[i].hr_max, &n) == -1 ||
		    cli_set(reserved, host_res[i].hr_key,
		    json_integer(n)) == -1)
			goto done;
	}
	if (clear && json_object_size(labels) > 0) {
		cli_usage_error(cli, "--clear-labels and --label do not go "
		    "together: --label alone replaces all the labels");
		goto done;
	}
	if (storage && no_storage) {
		cli_usage_error(cli, "--storage and --no-storage do not go "
		    "together");
		goto done;
	}
	if (no_storage && cli_set(body, "storage", json_string("")) == -1)
		goto done;
	if ((clear || json_object_size(labels) > 0) &&
	    cli_set(body, "labels", json_incref(labels)) == -1)
		goto done;
	if (json_object_size(reserved) > 0 &&
	    cli_set(body, "reserved", json_incref(reserved)) == -1)
		goto done;
	rc = 0;
done:
	json_decref(labels);
	json_decref(reserved);
	return rc;
}

/* hangar host list */
int
host_list(struct cli *cli, int argc, char **argv)
{
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 0, 0) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", "/v1/hosts", NULL, &reply) == -1)
		return -1;
	rc = output_list(stdout, cli->cli_format, reply, "hosts", columns_host,
	    columns_nhost);
	json_decref(reply);
	return rc;
}

/* hangar host show NAME */
int
host_show(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    host_path(cli, path, sizeof(path), argv[optind]) == -1)
		return -1;
	return host_send(cli, "GET", path, NULL);
}

/*
 * hangar host add NAME URI [--label K=V]... [--cpu-ratio X] [--ram-ratio X]
 *     [--disk-ratio X] [--reserved-vcpus N] [--reserved-memory MIB]
 *     [--reserved-disk GIB] [--pool-path DIR] [--storage NAME]
 */
int
host_add(struct cli *cli, int argc, char **argv)
{
	json_t *body;
	int rc = -1;

	if ((body = json_object()) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	if (host_settings(cli, argc, argv, false, body) == -1 ||
	    cli_args(cli, argc, argv, 2, 2) == -1 ||
	    cli_set_str(cli, body, "name", "NAME", argv[optind]) == -1 ||
	    cli_set_str(cli, body, "uri", "URI", argv[optind + 1]) == -1)
		goto done;
	rc = host_send(cli, "POST", "/v1/hosts", body);
done:
	json_decref(body);
	return rc;
}

/*
 * hangar host update NAME [--clear-labels] [--storage NAME|--no-storage]
 *     [the other settings of host add; --pool-path while no VM is there]
 */
int
host_update(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *body;
	int rc = -1;

	if ((body = json_object()) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	if (host_settings(cli, argc, argv, true, body) == -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1)
		goto done;
	if (json_object_size(body) == 0) {
		cli_usage_error(cli, "nothing to change: give at least one "
		    "option");
		goto done;
	}
	if (host_path(cli, path, sizeof(path), argv[optind]) == -1)
		goto done;
	rc = host_send(cli, "PATCH", path, body);
done:
	json_decref(body);
	return rc;
}

/* hangar host remove NAME: prints the host as it was removed. */
int
host_remove(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    host_path(cli, path, sizeof(path), argv[optind]) == -1)
		return -1;
	return host_send(cli, "DELETE", path, NULL);
}

/* hangar host maintenance NAME on|off: on takes no new placements. */
int
host_maintenance(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	const char *mode;
	json_t *body;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 2, 2) == -1)
		return -1;
	mode = argv[optind + 1];
	if (strcmp(mode, "on") != 0 && strcmp(mode, "off") != 0)
		return cli_usage_error(cli, "invalid mode '%s': use on or off",
		    mode);
	if (host_path(cli, path, sizeof(path), argv[optind]) == -1)
		return -1;
	if ((body = json_pack("{s:b}", "maintenance",
	    strcmp(mode, "on") == 0)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	rc = host_send(cli, "PATCH", path, body);
	json_decref(body);
	return rc;
}

/*
 * hangar host drain NAME [--stopped stay|migrate] [--parallel N]
 *     [--no-wait]
 *
 * POST /v1/hosts/{name}/drain with only what was given (the server's
 * defaults: stopped VMs stay, one move at a time): the host goes into
 * maintenance and its VMs are migrated away.  Waits (at most the global
 * --timeout), then prints each move and `moved N, failed N, stayed N`;
 * exit 1 if the drain failed (the host stays in maintenance).
 */
int
host_drain(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "stopped", required_argument, NULL, 's' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	json_t *body = NULL, *op = NULL;
	long n;
	int ch, rc = -1;

	if ((body = json_object()) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 's':
			if (strcmp(optarg, "stay") != 0 &&
			    strcmp(optarg, "migrate") != 0) {
				cli_usage_error(cli, "invalid --stopped '%s': "
				    "use stay or migrate", optarg);
				goto done;
			}
			if (cli_set(body, "stopped", json_string(optarg)) == -1)
				goto done;
			break;
		case 'p':
			if (cli_parse_long(cli, "--parallel", optarg, 1,
			    INT_MAX, &n) == -1 || cli_set(body, "max_parallel",
			    json_integer(n)) == -1)
				goto done;
			break;
		case 'n':
			cli->cli_wait = false;
			break;
		default:
			goto done;
		}
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/hosts/",
	    argv[optind], "/drain") == -1 ||
	    http_call(cli->cli_http, "POST", path,
	    json_object_size(body) > 0 ? body : NULL, &op) == -1)
		goto done;
	rc = op_moves(cli, op);
done:
	json_decref(body);
	json_decref(op);
	return rc;
}

/* hangar host undrain NAME: back to ready; prints the host. */
int
host_undrain(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/hosts/",
	    argv[optind], "/undrain") == -1)
		return -1;
	return host_send(cli, "POST", path, NULL);
}

/*
 * hangar host evacuate NAME [--confirm-host-down] [--no-wait]
 *
 * POST /v1/hosts/{name}/evacuate: refused while the host answers (drain
 * it instead); with --confirm-host-down the operator says it is down, the
 * host is fenced and its VMs are made again on other hosts (from their
 * latest backup, or their disks on shared storage).  Waits, then prints
 * the operation (its progress says what each VM lost); exit 1 if a VM
 * was not recovered.
 */
int
host_evacuate(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "confirm-host-down", no_argument, NULL, 'c' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	json_t *body, *op = NULL;
	int ch, rc = -1;

	if ((body = json_object()) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch == 'c' && cli_set(body, "confirm_host_down",
		    json_true()) == 0)
			continue;
		if (ch != 'n')
			goto done;
		cli->cli_wait = false;
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/hosts/",
	    argv[optind], "/evacuate") == -1 ||
	    http_call(cli->cli_http, "POST", path, body, &op) == -1)
		goto done;
	rc = op_end(cli, op, op_print);
done:
	json_decref(body);
	json_decref(op);
	return rc;
}

/* hangar host unfence NAME: a fenced host takes VMs again. */
int
host_unfence(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/hosts/",
	    argv[optind], "/unfence") == -1)
		return -1;
	return host_send(cli, "POST", path, NULL);
}
