/*
 * cmd_place.c - `hangar place NAME ...`: where would this VM go, and why.
 *
 * POST /v1/placements takes the body of a VM create (vm_spec() builds it
 * from the same options as `hangar vm create`), runs the scheduler's
 * filters and weighers over every host and creates nothing.  The table
 * shows each host's verdict: the chosen one marked "*", a score for those
 * that fit, the filter and its reason for those that do not; then
 * `chosen: NAME` or `no host fits: DETAIL`.
 */
#include <stdio.h>

#include "hangar.h"
#include "http.h"

/*
 * hangar place NAME [--vcpus N] [--memory MIB] [--disk GIB]
 *     [--host HOST [--force]] [--group GROUP] [--label K=V]...
 *     [--policy spread|pack]
 *
 * Exits 1 when no host fits, after printing the verdicts (as a table, or
 * the server's JSON with -o json): that output already says why, so
 * nothing more goes to stderr.
 */
int
place(struct cli *cli, int argc, char **argv)
{
	json_t *body, *reply;
	int rc;

	if (vm_spec(cli, argc, argv, false, &body) == -1)
		return -1;
	rc = http_call(cli->cli_http, "POST", "/v1/placements", body, &reply);
	json_decref(body);
	if (rc == -1)
		return -1;
	rc = output_placement(stdout, cli->cli_format, reply, columns_place,
	    columns_nplace);
	if (rc == 0 && !json_is_string(json_object_get(reply, "host")))
		rc = cli_fail_quietly(CLI_ERROR);
	json_decref(reply);
	return rc;
}
