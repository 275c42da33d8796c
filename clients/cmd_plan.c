/*
 * cmd_plan.c - `hangar plan ...`: migration plans.  consolidate (POST
 * /v1/plans/consolidation: empty as many hosts as it can) and rebalance
 * (POST /v1/plans/rebalance: narrow the spread of memory use) compute a
 * plan and store it, moving nothing; show (GET /v1/plans/{id}) prints one
 * again; execute (POST /v1/plans/{id}/execute) runs its moves as
 * migrations, and, as `host drain` does, follows the operation and prints
 * each move (op_moves()).
 *
 * A plan prints as output_plan() lays it out: its id and kind, its moves
 * as a table (VM, FROM, TO, MODE), the hosts it frees and the utilisation
 * before -> after.  The server checks the numbers' ranges and the host
 * names (its 400 or 404 names the field).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"

/*
 * hangar plan consolidate [--max-moves N] [--host H]... [--target-free N]
 * hangar plan rebalance [--max-moves N] [--host H]...
 *
 * Each --host adds one host to "hosts": the plan then moves VMs among
 * those only (sources and destinations).  Prints the plan.
 */
static int
plan_make(struct cli *cli, int argc, char **argv, bool rebalance)
{
	static const struct option lo[] = {
		{ "max-moves", required_argument, NULL, 'm' },
		{ "host", required_argument, NULL, 'H' },
		{ "target-free", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	json_t *body, *hosts = NULL, *name, *plan = NULL;
	long n;
	int ch, rc = -1;

	if ((body = json_object()) == NULL || (hosts = json_array()) == NULL) {
		cli_fail(CLI_ERROR, "out of memory");
		goto done;
	}
	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'm':
			if (cli_parse_long(cli, "--max-moves", optarg, 1,
			    INT_MAX, &n) == -1 ||
			    cli_set(body, "max_moves", json_integer(n)) == -1)
				goto done;
			break;
		case 'H':
			if ((name = json_string(optarg)) == NULL) {
				cli_usage_error(cli, "invalid --host: not "
				    "UTF-8");
				goto done;
			}
			if (json_array_append_new(hosts, name) == -1) {
				cli_fail(CLI_ERROR, "out of memory");
				goto done;
			}
			break;
		case 't':
			if (rebalance) {
				cli_usage_error(cli, "invalid option "
				    "'--target-free': a rebalance frees no "
				    "hosts");
				goto done;
			}
			if (cli_parse_long(cli, "--target-free", optarg, 1,
			    INT_MAX, &n) == -1 ||
			    cli_set(body, "target_free_hosts",
			    json_integer(n)) == -1)
				goto done;
			break;
		default:
			goto done;
		}
	}
	if (cli_args(cli, argc, argv, 0, 0) == -1)
		goto done;
	if (json_array_size(hosts) > 0 &&
	    cli_set(body, "hosts", json_incref(hosts)) == -1)
		goto done;
	if (http_call(cli->cli_http, "POST", rebalance ?
	    "/v1/plans/rebalance" : "/v1/plans/consolidation", body,
	    &plan) == -1)
		goto done;
	rc = output_plan(stdout, cli->cli_format, plan);
done:
	json_decref(body);
	json_decref(hosts);
	json_decref(plan);
	return rc;
}

/* hangar plan consolidate [--max-moves N] [--host H]... [--target-free N] */
int
plan_consolidate(struct cli *cli, int argc, char **argv)
{
	return plan_make(cli, argc, argv, false);
}

/* hangar plan rebalance [--max-moves N] [--host H]... */
int
plan_rebalance(struct cli *cli, int argc, char **argv)
{
	return plan_make(cli, argc, argv, true);
}

/* hangar plan show ID */
int
plan_show(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	json_t *plan;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/plans/",
	    argv[optind], NULL) == -1 ||
	    http_call(cli->cli_http, "GET", path, NULL, &plan) == -1)
		return -1;
	rc = output_plan(stdout, cli->cli_format, plan);
	json_decref(plan);
	return rc;
}

/*
 * hangar plan execute ID [--parallel N] [--no-wait]
 *
 * Runs the plan's moves, at most N at a time (the server's default: one),
 * each checked again just before it starts; the first that fails stops
 * the rest.  Waits (at most the global --timeout), then prints each move
 * and `moved N, failed N`; exit 1 if a move failed.  A plan runs once.
 */
int
plan_execute(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "parallel", required_argument, NULL, 'p' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	json_t *body = NULL, *op = NULL;
	long n;
	int ch, rc = -1;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'p':
			if (cli_parse_long(cli, "--parallel", optarg, 1,
			    INT_MAX, &n) == -1)
				goto done;
			json_decref(body);
			if ((body = json_pack("{s:I}", "max_parallel",
			    (json_int_t)n)) == NULL) {
				cli_fail(CLI_ERROR, "out of memory");
				goto done;
			}
			break;
		case 'n':
			cli->cli_wait = false;
			break;
		default:
			goto done;
		}
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/plans/",
	    argv[optind], "/execute") == -1 ||
	    http_call(cli->cli_http, "POST", path, body, &op) == -1)
		goto done;
	rc = op_moves(cli, op);
done:
	json_decref(body);
	json_decref(op);
	return rc;
}
