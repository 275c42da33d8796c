/*
 * cmd_host.c - `hangar host list` and `hangar host show NAME`.
 *
 * Hosts are read-only to the API: GET /v1/hosts and GET /v1/hosts/{name}.
 */
#include <stdio.h>

#include "hangar.h"
#include "http.h"

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
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1)
		return -1;
	if (http_path(cli->cli_http, path, sizeof(path), "/v1/hosts/",
	    argv[optind], NULL) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_object(stdout, cli->cli_format, reply);
	json_decref(reply);
	return rc;
}
