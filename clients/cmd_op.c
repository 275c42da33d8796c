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
 * name after the VM's for the snapshot kinds, whose "params" name it).
 *
 * Operations print as the server sent them: `key: value` lines, nested
 * objects flattened, so a snapshot operation's {"params":{"name":"s1",
 * "memory":false}} shows as `params.name: s1` and `params.memory: false`.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hangar.h"
#include "http.h"

#define OP_POLL_WAIT 2		/* seconds each poll may hold the reply */
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

static void
op_watch_draw(struct op_watch *w, bool force)
{
	struct timespec now;
	const char *status = op_str(w->ow_op, "status", "?");
	const char *step = op_str(w->ow_op, "step", NULL);
	const char *what = op_str(json_object_get(w->ow_op, "params"), "name",
	    NULL);
	char text[512];

	if (w->ow_op == NULL)
		return;		/* nothing to show until the first poll */
	if (step != NULL && strcmp(step, status) == 0)
		step = NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Truncation only shortens the progress line. */
	snprintf(text, sizeof(text), "%s %s%s%s: %s%s%s%s [%llds]",
	    op_str(w->ow_op, "kind", "operation"),
	    op_str(w->ow_op, "vm", w->ow_id), what != NULL ? " " : "",
	    what != NULL ? what : "", status,
	    step != NULL ? " (" : "", step != NULL ? step : "",
	    step != NULL ? ")" : "",
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
 * Follow an operation until it ends, whatever its end: either initial, the
 * operation as a reply carried it (borrowed), or just its id.  On success
 * *out is the finished operation (the caller owns it; its status is
 * succeeded, failed or cancelled) and 0 is returned.  A timeout, an
 * interrupt and any failure to poll are reported; then -1 is returned.
 */
int
op_follow(struct cli *cli, const char *id, json_t *initial, json_t **out)
{
	char opid[OP_ID_MAX], base[HANGAR_PATH_MAX], path[HANGAR_PATH_MAX];
	struct op_watch w;
	struct http_reply r;
	json_t *op = NULL;
	double deadline, remaining, t0;
	long wait;
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
			    op_str(op, "kind", "?"), op_str(op, "vm", "?"),
			    op_str(op, "status", "?"), opid);
			goto done;
		}
		/* Ask at once the first time if we know nothing yet. */
		if (op == NULL)
			wait = 0;
		else if (remaining >= OP_POLL_WAIT)
			wait = OP_POLL_WAIT;
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
			if (cli_interrupted)
				cli_warnx("operation %s goes on; see "
				    "'hangar op show %s'", opid, opid);
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
			cli_fail(CLI_INTERRUPTED, "interrupted; operation %s "
			    "goes on, see 'hangar op show %s'", opid, opid);
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
 * Follow an operation until it ends, as op_follow() does, and require that
 * it succeeded: on success *out is the finished operation (the caller owns
 * it) and 0 is returned.  A failed or cancelled operation is reported by
 * its error's detail; then -1 is returned.
 */
int
op_wait(struct cli *cli, const char *id, json_t *initial, json_t **out)
{
	char msg[OP_MSG_MAX];
	const char *status;
	json_t *op;

	*out = NULL;
	if (op_follow(cli, id, initial, &op) == -1)
		return -1;
	status = op_str(op, "status", "");
	if (strcmp(status, "succeeded") == 0) {
		*out = op;
		return 0;
	}
	if (json_is_object(json_object_get(op, "error"))) {
		problem_message(json_object_get(op, "error"), 0, msg,
		    sizeof(msg));
		cli_fail(CLI_ERROR, "%s", msg);
	} else {
		cli_fail(CLI_ERROR, "operation %s (%s %s) %s",
		    op_str(op, "id", "?"), op_str(op, "kind", "?"),
		    op_str(op, "vm", "?"), status);
	}
	json_decref(op);
	return -1;
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
	rc = output_object(stdout, cli->cli_format, op);
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
		if (op_follow(cli, NULL, op, &done_op) == -1)
			goto done;
		json_decref(op);
		op = done_op;
		done_op = NULL;
	}
	if (output_object(stdout, cli->cli_format, op) == -1)
		goto done;
	status = op_str(op, "status", "?");
	if (!op_finished(op)) {
		cli_warnx("operation %s is being stopped; see 'hangar op show "
		    "%s'", op_str(op, "id", id), op_str(op, "id", id));
	} else if (strcmp(status, "cancelled") != 0) {
		cli_fail(CLI_ERROR, "operation %s (%s %s) %s before it could "
		    "be cancelled", op_str(op, "id", id),
		    op_str(op, "kind", "?"), op_str(op, "vm", "?"), status);
		goto done;
	}
	rc = 0;
done:
	json_decref(op);
	json_decref(done_op);
	return rc;
}
