/*
 * cmd_env.c - `hangar env ...`: test environments (POST, GET, PATCH,
 * DELETE /v1/environments): a private network and VMs made and removed
 * together.
 *
 *   hangar env up FILE.json|- [--name NAME] [--ttl T] [--no-wait]
 *   hangar env down NAME [--no-wait]
 *   hangar env list
 *   hangar env show NAME
 *   hangar env extend NAME TTL
 *
 * `up` sends the file's body (its name and ttl replaced by --name and
 * --ttl), follows the operation and prints the environment with its VMs.
 */
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"

/* /v1/environments/{name} into path. */
static int
env_path(struct cli *cli, char *path, size_t len, const char *name)
{
	return http_path(cli->cli_http, path, len, "/v1/environments/", name,
	    NULL);
}

/* Print environment name with its VMs. */
static int
env_print(struct cli *cli, const char *name)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (env_path(cli, path, sizeof(path), name) == -1 ||
	    http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_detail(stdout, cli->cli_format, reply, "vms",
	    columns_envvm, columns_nenvvm);
	json_decref(reply);
	return rc;
}

/* Send method path (body may be NULL), follow its operation unless
 * --no-wait; then print the environment name (NULL: the operation). */
static int
env_run(struct cli *cli, const char *method, const char *path, json_t *body,
    const char *name)
{
	json_t *op = NULL, *done_op = NULL;
	int rc = -1;

	if (http_call(cli->cli_http, method, path, body, &op) == -1)
		return -1;
	if (!cli->cli_wait)
		rc = output_operation(stdout, cli->cli_format, op);
	else if (op_wait(cli, NULL, op, 0, &done_op) == 0)
		rc = name ? env_print(cli, name) :
		    output_operation(stdout, cli->cli_format, done_op);
	json_decref(op);
	json_decref(done_op);
	return rc;
}

/* hangar env up FILE.json|- [--name NAME] [--ttl T] [--no-wait] */
int
env_up(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "ttl", required_argument, NULL, 't' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name = NULL, *ttl = NULL, *file;
	json_error_t je;
	json_t *body = NULL;
	int ch, rc = -1;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'N':
			name = optarg;
			break;
		case 't':
			ttl = optarg;
			break;
		case 'n':
			cli->cli_wait = false;
			break;
		default:
			return -1;
		}
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1)
		return -1;
	file = argv[optind];
	body = strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &je) :
	    json_load_file(file, 0, &je);
	if (body == NULL || !json_is_object(body)) {
		rc = cli_usage_error(cli, "%s: not a JSON object: %s (line %d)",
		    file, body ? "another kind of value" : je.text,
		    body ? 0 : je.line);
		goto done;
	}
	if ((name && cli_set_str(cli, body, "name", "--name", name) == -1) ||
	    (ttl && cli_set_str(cli, body, "ttl", "--ttl", ttl) == -1))
		goto done;
	name = json_string_value(json_object_get(body, "name"));
	if (name == NULL) {
		rc = cli_usage_error(cli, "the environment needs a name: "
		    "\"name\" in %s, or --name", file);
		goto done;
	}
	rc = env_run(cli, "POST", "/v1/environments", body, name);
done:
	json_decref(body);
	return rc;
}

/* hangar env down NAME [--no-wait] */
int
env_down(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch != 'n')
			return -1;
		cli->cli_wait = false;
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1 ||
	    env_path(cli, path, sizeof(path), argv[optind]) == -1)
		return -1;
	return env_run(cli, "DELETE", path, NULL, NULL);
}

/* hangar env list */
int
env_list(struct cli *cli, int argc, char **argv)
{
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 0, 0) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", "/v1/environments", NULL,
	    &reply) == -1)
		return -1;
	rc = output_list(stdout, cli->cli_format, reply, "environments",
	    columns_env, columns_nenv);
	json_decref(reply);
	return rc;
}

/* hangar env show NAME */
int
env_show(struct cli *cli, int argc, char **argv)
{
	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1)
		return -1;
	return env_print(cli, argv[optind]);
}

/* hangar env extend NAME TTL: a new ttl, from now ("none": no expiry) */
int
env_extend(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *body, *reply;
	const char *ttl;
	int rc = -1;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 2, 2) == -1 ||
	    env_path(cli, path, sizeof(path), argv[optind]) == -1)
		return -1;
	ttl = argv[optind + 1];
	body = strcmp(ttl, "none") == 0 ? json_pack("{s:n}", "ttl") :
	    json_pack("{s:s}", "ttl", ttl);
	if (body == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	if (http_call(cli->cli_http, "PATCH", path, body, &reply) == 0) {
		rc = output_object(stdout, cli->cli_format, reply);
		json_decref(reply);
	}
	json_decref(body);
	return rc;
}
