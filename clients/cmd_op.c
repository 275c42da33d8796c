/*
 * cmd_op.c - `hangar op list|show|cancel`, and op_wait(): following an
 * operation to its end for the commands that start one.
 *
 * Waiting is long polling: GET /v1/operations/{id}?wait=2 answers 200 once
 * the operation has finished and 202 while it goes on, so the loop asks
 * again until the status is succeeded, failed or cancelled, or --timeout
 * passes.  A 503 or 504 (or any problem saying "retryable") does not end
 * the wait; any other error does.  While it waits, a spinner on stderr (a
 * terminal only) shows `kind vm: status (step) [12s]` (with the snapshot's
 * name after the VM's for the snapshot kinds, whose "params" name it, and
 * the host for a drain, which has no VM).  The kinds that report progress
 * as they go (migrate, drain, plan_execute) are polled with ?wait=1, so
 * that what the spinner shows keeps up: for a migration, once libvirt
 * counts its data, a bar (output_migrate_line()):
 *	migrating to h2 [#######.....] 58% 39/67 MiB, pass 2 [12s]
 *
 * SIGINT ends the wait, not the operation: the client says how to follow
 * it (and how to cancel it, for the kinds that can stop part-way) and
 * exits 130; with OP_CANCEL_ON_INTERRUPT (`vm migrate
 * --cancel-on-interrupt`) it first asks the server to cancel it.
 *
 * Operations print as the server sent them: `key: value` lines, nested
 * objects flattened, so a snapshot operation's {"params":{"name":"s1",
 * "memory":false}} shows as `params.name: s1` and `params.memory: false`;
 * output_operation() leaves out a null "host" or "parent" and an empty
 * "progress", and shows a drain's or a plan's moves as a table.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hangar.h"
#include "http.h"

#define OP_POLL_WAIT 2		/* seconds each poll may hold the reply */
#define OP_POLL_WAIT_PROGRESS 1	/* the same, for kinds that show progress */
#define OP_POLL_MIN_MS 500	/* do not poll faster than this */
#define OP_ID_MAX 128
#define OP_MSG_MAX 1024

/* What the spinner needs to redraw itself from the curl progress hook. */
struct op_watch {
	const json_t	*ow_op;		/* the latest operation, or NULL */
	const char	*ow_id;
	struct timespec	 ow_start;
};

static double
op_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A string member of op, or dflt if it is missing, null or empty. */
static const char *
op_str(const json_t *op, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(op, key));

	return s != NULL && *s != '\0' ? s : dflt;
}

static bool
op_finished(const json_t *op)
{
	const char *status = op_str(op, "status", "");

	return strcmp(status, "succeeded") == 0 ||
	    strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0;
}

/* What op acts on: its VM, else its host (a drain), else dflt. */
static const char *
op_target(const json_t *op, const char *dflt)
{
	return op_str(op, "vm", op_str(op, "host", dflt));
}

/* Whether op is of a kind that moves VMs and reports progress as it goes. */
static bool
op_moving(const json_t *op)
{
	const char *kind = op_str(op, "kind", "");

	return strcmp(kind, "migrate") == 0 || strcmp(kind, "drain") == 0 ||
	    strcmp(kind, "plan_execute") == 0;
}

/*
 * Whether cancelling op could stop it now: it is queued, or running and of
 * a kind that can stop part-way (docs/api.md, Operations).
 */
static bool
op_stoppable(const json_t *op)
{
	const char *kind = op_str(op, "kind", "");

	if (strcmp(op_str(op, "status", ""), "queued") == 0)
		return true;
	return !op_finished(op) && (strcmp(kind, "create") == 0 ||
	    strcmp(kind, "stop") == 0 || op_moving(op));
}

static void
op_watch_draw(struct op_watch *w, bool force)
{
	struct timespec now;
	const char *status = op_str(w->ow_op, "status", "?");
	const char *step = op_str(w->ow_op, "step", NULL);
	const char *what = op_str(json_object_get(w->ow_op, "params"), "name",
	    NULL);
	const json_t *progress = json_object_get(w->ow_op, "progress");
	const json_t *total = json_object_get(progress, "total");
	char text[512], line[384], count[64] = "";

	if (w->ow_op == NULL)
		return;		/* nothing to show until the first poll */
	if (step != NULL && strcmp(step, status) == 0)
		step = NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (json_is_integer(total))
		snprintf(count, sizeof(count), ", %" JSON_INTEGER_FORMAT
		    " of %" JSON_INTEGER_FORMAT " moved",
		    json_integer_value(json_object_get(progress, "moved")),
		    json_integer_value(total));
	/* Truncation only shortens the progress line. */
	if (output_migrate_line(w->ow_op, line, sizeof(line)))
		snprintf(text, sizeof(text), "%s [%llds]", line,
		    (long long)(now.tv_sec - w->ow_start.tv_sec));
	else
		snprintf(text, sizeof(text), "%s %s%s%s: %s%s%s%s%s [%llds]",
		    op_str(w->ow_op, "kind", "operation"),
		    op_target(w->ow_op, w->ow_id), what != NULL ? " " : "",
		    what != NULL ? what : "", status,
		    step != NULL ? " (" : "", step != NULL ? step : "",
		    step != NULL ? ")" : "", count,
		    (long long)(now.tv_sec - w->ow_start.tv_sec));
	output_spin_draw(force, text);
}

static void
op_watch_tick(void *arg)
{
	op_watch_draw(arg, false);
}

/* Sleep ms milliseconds, turning the spinner; stops early on SIGINT. */
static void
op_pause(struct op_watch *w, long ms)
{
	struct timespec ts;

	while (ms > 0 && !cli_interrupted) {
		long step = ms < 100 ? ms : 100;

		ts.tv_sec = 0;
		ts.tv_nsec = step * 1000000L;
		nanosleep(&ts, NULL);
		op_watch_draw(w, false);
		ms -= step;
	}
}

/*
 * The wait for operation opid (op: the latest we know, maybe NULL) was
 * interrupted, and "interrupted" said (exit 130): say how to follow it,
 * and how to cancel it if it can be; or, with OP_CANCEL_ON_INTERRUPT in
 * flags, cancel it (DELETE /v1/operations/{id}) and say what came of that.
 */
static void
op_interrupted(struct cli *cli, const char *opid, const char *base,
    const json_t *op, unsigned flags)
{
	struct http_reply r;
	json_t *now;

	if ((flags & OP_CANCEL_ON_INTERRUPT) == 0) {
		if (op_stoppable(op))
			cli_warnx("operation %s goes on: see 'hangar op show "
			    "%s', or stop it with 'hangar op cancel %s'", opid,
			    opid, opid);
		else
			cli_warnx("operation %s goes on; see 'hangar op show "
			    "%s'", opid, opid);
		return;
	}
	/* A second Ctrl-C cuts the cancel short, as it would any request. */
	cli_interrupted = 0;
	http_set_tick(cli->cli_http, NULL, NULL);
	if (http_request(cli->cli_http, "DELETE", base, NULL, 0, &r) == -1)
		return;
	if (r.hr_status / 100 != 2) {
		http_fail(&r);
		http_reply_free(&r);
		return;
	}
	now = r.hr_json;
	if (strcmp(op_str(now, "status", ""), "cancelled") == 0)
		cli_warnx("operation %s cancelled", opid);
	else
		cli_warnx("operation %s (%s) is being cancelled; see 'hangar "
		    "op show %s'", opid, op_str(now, "status", "?"), opid);
	http_reply_free(&r);
}

/*
 * Follow an operation until it ends, whatever its end: either initial, the
 * operation as a reply carried it (borrowed), or just its id.  flags: 0,
 * or OP_CANCEL_ON_INTERRUPT to cancel the operation on SIGINT.  On success
 * *out is the finished operation (the caller owns it; its status is
 * succeeded, failed or cancelled) and 0 is returned.  A timeout, an
 * interrupt and any failure to poll are reported; then -1 is returned.
 */
int
op_follow(struct cli *cli, const char *id, json_t *initial, unsigned flags,
    json_t **out)
{
	char opid[OP_ID_MAX], base[HANGAR_PATH_MAX], path[HANGAR_PATH_MAX];
	struct op_watch w;
	struct http_reply r;
	json_t *op = NULL;
	double deadline, remaining, t0;
	long wait, most;
	int n, rc = -1;

	*out = NULL;
	if (id == NULL && (id = op_str(initial, "id", NULL)) == NULL)
		return cli_fail(CLI_ERROR, "the reply names no operation");
	n = snprintf(opid, sizeof(opid), "%s", id);
	if (n < 0 || (size_t)n >= sizeof(opid))
		return cli_fail(CLI_ERROR, "the operation id is too long");
	if (http_path(cli->cli_http, base, sizeof(base), "/v1/operations/",
	    opid, NULL) == -1)
		return -1;
	if (initial != NULL)
		op = json_incref(initial);

	memset(&w, 0, sizeof(w));
	w.ow_id = opid;
	clock_gettime(CLOCK_MONOTONIC, &w.ow_start);
	deadline = op_now() + (double)cli->cli_timeout;
	cli_interrupted = 0;
	cli_catch_interrupt(true);
	http_set_tick(cli->cli_http, op_watch_tick, &w);

	while (op == NULL || !op_finished(op)) {
		w.ow_op = op;
		op_watch_draw(&w, true);
		if ((remaining = deadline - op_now()) <= 0) {
			cli_fail(CLI_ERROR, "gave up after %ld s waiting for "
			    "operation %s (%s %s: %s); it goes on, see "
			    "'hangar op show %s'", cli->cli_timeout, opid,
			    op_str(op, "kind", "?"), op_target(op, "?"),
			    op_str(op, "status", "?"), opid);
			goto done;
		}
		/* Ask at once the first time if we know nothing yet. */
		most = op_moving(op) ? OP_POLL_WAIT_PROGRESS : OP_POLL_WAIT;
		if (op == NULL)
			wait = 0;
		else if (remaining >= most)
			wait = most;
		else if ((double)(wait = (long)remaining) < remaining)
			wait++;		/* round up: 0.3 s left waits 1 */
		n = snprintf(path, sizeof(path), "%s?wait=%ld", base, wait);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			cli_fail(CLI_ERROR, "the operation id is too long");
			goto done;
		}
		t0 = op_now();
		if (http_request(cli->cli_http, "GET", path, NULL,
		    wait + HTTP_TIMEOUT, &r) == -1) {
			/* http_request() said "interrupted". */
			if (cli_interrupted)
				op_interrupted(cli, opid, base, op, flags);
			goto done;
		}
		if (r.hr_status / 100 == 2 && json_is_object(r.hr_json)) {
			json_decref(op);
			op = json_incref(r.hr_json);
			w.ow_op = op;	/* the old one may be gone now */
		} else if (!problem_retryable(r.hr_json, r.hr_status)) {
			http_fail(&r);
			http_reply_free(&r);
			goto done;
		}
		http_reply_free(&r);
		/* Do not hammer a server that does not hold the reply. */
		if (op == NULL || !op_finished(op))
			op_pause(&w, OP_POLL_MIN_MS -
			    (long)((op_now() - t0) * 1000));
		if (cli_interrupted) {
			cli_fail(CLI_INTERRUPTED, "interrupted");
			op_interrupted(cli, opid, base, op, flags);
			goto done;
		}
	}
	*out = op;
	op = NULL;
	rc = 0;
done:
	http_set_tick(cli->cli_http, NULL, NULL);
	cli_catch_interrupt(false);
	output_spin_clear();
	json_decref(op);
	return rc;
}

/*
 * Report a finished operation that did not succeed, by its error's detail
 * (or its status, if it has none).  Always returns -1.
 */
int
op_failed(const json_t *op)
{
	char msg[OP_MSG_MAX];

	if (json_is_object(json_object_get(op, "error"))) {
		problem_message(json_object_get(op, "error"), 0, msg,
		    sizeof(msg));
		return cli_fail(CLI_ERROR, "%s", msg);
	}
	return cli_fail(CLI_ERROR, "operation %s (%s %s) %s",
	    op_str(op, "id", "?"), op_str(op, "kind", "?"),
	    op_target(op, "?"), op_str(op, "status", "?"));
}

/*
 * Follow an operation until it ends, as op_follow() does (with its flags),
 * and require that it succeeded: on success *out is the finished operation
 * (the caller owns it) and 0 is returned.  A failed or cancelled operation
 * is reported by its error's detail; then -1 is returned.
 */
int
op_wait(struct cli *cli, const char *id, json_t *initial, unsigned flags,
    json_t **out)
{
	json_t *op;

	*out = NULL;
	if (op_follow(cli, id, initial, flags, &op) == -1)
		return -1;
	if (strcmp(op_str(op, "status", ""), "succeeded") == 0) {
		*out = op;
		return 0;
	}
	op_failed(op);
	json_decref(op);
	return -1;
}

/*
 * For commands whose operation is printed whatever its end (`host
 * evacuate`, `image prune`, and by op_moves() `host drain` and `plan
 * execute`): op, as the reply carried it (borrowed), is printed as
 * accepted if not waiting; else followed to its end and printed by print.
 * One that failed or was cancelled is then reported by its problem (exit
 * 1): what print said tells what it did.
 */
int
op_end(struct cli *cli, json_t *op,
    int (*print)(struct cli *, const json_t *))
{
	json_t *done_op;
	int rc;

	if (!cli->cli_wait)
		return output_operation(stdout, cli->cli_format, op);
	if (op_follow(cli, NULL, op, 0, &done_op) == -1)
		return -1;
	rc = print(cli, done_op);
	if (rc == 0 && strcmp(op_str(done_op, "status", ""), "succeeded") != 0)
		rc = op_failed(done_op);
	json_decref(done_op);
	return rc;
}

/* The finished operation as it is. */
int
op_print(struct cli *cli, const json_t *op)
{
	return output_operation(stdout, cli->cli_format, op);
}

static int
op_print_moves(struct cli *cli, const json_t *op)
{
	return output_moves(stdout, cli->cli_format, op);
}

/*
 * For `host drain` and `plan execute`, op_end() printing what the
 * operation did with output_moves(): its moves as a table and `moved N,
 * failed N, stayed N`; -o json, the operation.
 */
int
op_moves(struct cli *cli, json_t *op)
{
	return op_end(cli, op, op_print_moves);
}

/* Fetch operation id into *out (the caller owns it). */
int
op_fetch(struct cli *cli, const char *id, json_t **out)
{
	char path[HANGAR_PATH_MAX];

	*out = NULL;
	if (http_path(cli->cli_http, path, sizeof(path), "/v1/operations/",
	    id, NULL) == -1)
		return -1;
	return http_call(cli->cli_http, "GET", path, NULL, out);
}

/* hangar op list [--vm VM] [--status STATUS] [--limit N] */
int
op_list(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "status", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX] = "/v1/operations", limit[32];
	const char *vm = NULL, *status = NULL, *lim = NULL;
	json_t *reply;
	long n;
	int ch, rc;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'v':
			vm = optarg;
			break;
		case 's':
			status = optarg;
			break;
		case 'l':
			if (cli_parse_long(cli, "--limit", optarg, 1, 1000,
			    &n) == -1)
				return -1;
			snprintf(limit, sizeof(limit), "%ld", n);
			lim = limit;
			break;
		default:
			return -1;
		}
	}
	if (cli_args(cli, argc, argv, 0, 0) == -1)
		return -1;
	if (http_query(cli->cli_http, path, sizeof(path), "vm", vm) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "status",
	    status) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "limit", lim) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", path, NULL, &reply) == -1)
		return -1;
	rc = output_list(stdout, cli->cli_format, reply, "operations",
	    columns_op, columns_nop);
	json_decref(reply);
	return rc;
}

/* hangar op show ID */
int
op_show(struct cli *cli, int argc, char **argv)
{
	json_t *op;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1)
		return -1;
	if (op_fetch(cli, argv[optind], &op) == -1)
		return -1;
	rc = output_operation(stdout, cli->cli_format, op);
	json_decref(op);
	return rc;
}

/*
 * hangar op cancel ID [--wait]
 *
 * DELETE /v1/operations/{id}: a queued operation is cancelled at once (200,
 * status cancelled); a running one whose kind can stop part-way is asked
 * to (202, status still running); anything else is a 409.  Prints the
 * operation as the reply has it.  With --wait, a running one is followed
 * (as `vm start` follows its operation, bounded by --timeout) and printed
 * once it has ended; if it ended some other way than cancelled (it
 * finished first), that is reported and the exit status is 1.
 */
int
op_cancel(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	json_t *op = NULL, *done_op = NULL;
	const char *id, *status;
	bool wait = false;
	int ch, rc = -1;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch != 'w')
			return -1;
		wait = true;
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1)
		return -1;
	id = argv[optind];
	if (http_path(cli->cli_http, path, sizeof(path), "/v1/operations/",
	    id, NULL) == -1 ||
	    http_call(cli->cli_http, "DELETE", path, NULL, &op) == -1)
		return -1;
	if (!op_finished(op) && wait) {
		if (op_follow(cli, NULL, op, 0, &done_op) == -1)
			goto done;
		json_decref(op);
		op = done_op;
		done_op = NULL;
	}
	if (output_operation(stdout, cli->cli_format, op) == -1)
		goto done;
	status = op_str(op, "status", "?");
	if (!op_finished(op)) {
		cli_warnx("operation %s is being stopped; see 'hangar op show "
		    "%s'", op_str(op, "id", id), op_str(op, "id", id));
	} else if (strcmp(status, "cancelled") != 0) {
		cli_fail(CLI_ERROR, "operation %s (%s %s) %s before it could "
		    "be cancelled", op_str(op, "id", id),
		    op_str(op, "kind", "?"), op_target(op, "?"), status);
		goto done;
	}
	rc = 0;
done:
	json_decref(op);
	json_decref(done_op);
	return rc;
}
