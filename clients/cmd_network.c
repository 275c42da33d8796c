/*
 * cmd_network.c - `hangar network ...`: create, list, show and delete
 * the networks NICs plug into (POST, GET, DELETE /v1/networks).
 *
 * A nat or isolated network is made on every host, with the range given
 * by --cidr (hangar hands out its addresses); a bridge network attaches
 * NICs to --bridge, a bridge the hosts already have.  A network that NICs
 * use cannot be deleted (409).
 */
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"

/* /v1/networks/{name} into path. */
static int
network_path(struct cli *cli, char *path, size_t len, const char *name)
{
	return http_path(cli->cli_http, path, len, "/v1/networks/", name,
	    NULL);
}

/* The create body from the options (body and ipv4 are filled). */
static int
network_opts(struct cli *cli, int argc, char **argv, json_t *body,
    json_t *ipv4)
{
	static const struct option lo[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "cidr", required_argument, NULL, 'c' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "no-dhcp", no_argument, NULL, 'n' },
		{ "bridge", required_argument, NULL, 'b' },
		{ "description", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, r = 0;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1 && r == 0) {
		switch (ch) {
		case 'm':
			r = cli_set_str(cli, body, "mode", "--mode", optarg);
			break;
		case 'c':
			r = cli_set_str(cli, ipv4, "cidr", "--cidr", optarg);
			break;
		case 'g':
			r = cli_set_str(cli, ipv4, "gateway", "--gateway",
			    optarg);
			break;
		case 'n':
			r = json_object_set_new(ipv4, "dhcp", json_false());
			break;
		case 'b':
			r = cli_set_str(cli, body, "bridge", "--bridge", optarg);
			break;
		case 'd':
			r = cli_set_str(cli, body, "description",
			    "--description", optarg);
			break;
		default:
			return -1;
		}
	}
	return r;
}

/* hangar network create NAME --mode M [--cidr C] [--gateway IP] ... */
int
network_create(struct cli *cli, int argc, char **argv)
{
	json_t *body = json_object(), *ipv4 = json_object(), *reply;
	int rc = -1;

	if (body == NULL || ipv4 == NULL) {
		rc = cli_fail(CLI_ERROR, "out of memory");
		goto done;
	}
	if (network_opts(cli, argc, argv, body, ipv4) == -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1)
		goto done;
	if (json_object_get(body, "mode") == NULL) {
		rc = cli_usage_error(cli, "--mode is required");
		goto done;
	}
	if (json_object_size(ipv4) > 0 &&
	    json_object_set(body, "ipv4", ipv4) == -1)
		goto done;
	if (cli_set_str(cli, body, "name", "NAME", argv[optind]) == -1 ||
	    http_call(cli->cli_http, "POST", "/v1/networks", body,
	    &reply) == -1)
		goto done;
	rc = output_object(stdout, cli->cli_format, reply);
	json_decref(reply);
done:
	json_decref(ipv4);
	json_decref(body);
	return rc;
}

/* hangar network list */
int
network_list(struct cli *cli, int argc, char **argv)
{
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 0, 0) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", "/v1/networks", NULL,
	    &reply) == -1)
		return -1;
	rc = output_list(stdout, cli->cli_format, reply, "networks",
	    columns_network, columns_nnetwork);
	json_decref(reply);
	return rc;
}

/* hangar network show|delete NAME: GET or DELETE it, print it. */
static int
network_one(struct cli *cli, int argc, char **argv, const char *method)
{
	char path[HANGAR_PATH_MAX];
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    network_path(cli, path, sizeof(path), argv[optind]) == -1)
		return -1;
	if (http_call(cli->cli_http, method, path, NULL, &reply) == -1)
		return -1;
	rc = output_object(stdout, cli->cli_format, reply);
	json_decref(reply);
	return rc;
}

int
network_show(struct cli *cli, int argc, char **argv)
{
	return network_one(cli, argc, argv, "GET");
}

int
network_delete(struct cli *cli, int argc, char **argv)
{
	return network_one(cli, argc, argv, "DELETE");
}
