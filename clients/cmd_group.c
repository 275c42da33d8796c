/*
 * cmd_group.c - `hangar group ...`: create, list, show and delete
 * placement groups (POST, GET, DELETE /v1/groups).
 *
 * A group is strict unless created with --soft: a strict anti-affinity
 * group never puts two members on one host, a strict affinity group puts
 * them all on the host of the first; a soft one only weighs hosts.  A VM
 * joins a group when it is created with `vm create --group`; a group with
 * members cannot be deleted (409).
 */
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"

/* /v1/groups/{name} into path. */
static int
group_path(struct cli *cli, char *path, size_t len, const char *name)
{
	return http_path(cli->cli_http, path, len, "/v1/groups/", name, NULL);
}

/* hangar group create NAME --policy affinity|anti-affinity [--soft] */
int
group_create(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "soft", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *policy = NULL;
	json_t *body = NULL, *reply;
	bool soft = false;
	int ch, rc = -1;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'p':
			policy = optarg;
			break;
		case 's':
			soft = true;
			break;
		default:
			return -1;
		}
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1)
		return -1;
	if (policy == NULL)
		return cli_usage_error(cli, "--policy is required");
	if (strcmp(policy, "affinity") != 0 &&
	    strcmp(policy, "anti-affinity") != 0)
		return cli_usage_error(cli, "invalid --policy '%s': use "
		    "affinity or anti-affinity", policy);
	if ((body = json_pack("{s:s, s:b}", "policy", policy, "strict",
	    !soft)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	if (cli_set_str(cli, body, "name", "NAME", argv[optind]) == -1 ||
	    http_call(cli->cli_http, "POST", "/v1/groups", body,
	    &reply) == -1)
		goto done;
	rc = output_object(stdout, cli->cli_format, reply);
	json_decref(reply);
done:
	json_decref(body);
	return rc;
}

/* hangar group list */
int
group_list(struct cli *cli, int argc, char **argv)
{
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 0, 0) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", "/v1/groups", NULL, &reply) == -1)
		return -1;
	rc = output_list(stdout, cli->cli_format, reply, "groups",
	    columns_group, columns_ngroup);
	json_decref(reply);
	return rc;
}

/* hangar group show NAME: the group, then its members as a table. */
int
group_show(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    group_path(cli, path, sizeof(path), argv[optind]) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_detail(stdout, cli->cli_format, reply, "members",
	    columns_member, columns_nmember);
	json_decref(reply);
	return rc;
}

/* hangar group delete NAME: prints the group as it was deleted. */
int
group_delete(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    group_path(cli, path, sizeof(path), argv[optind]) == -1)
		return -1;
	if (http_call(cli->cli_http, "DELETE", path, NULL, &reply) == -1)
		return -1;
	rc = output_object(stdout, cli->cli_format, reply);
	json_decref(reply);
	return rc;
}
