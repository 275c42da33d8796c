/*
 * cmd_events.c - `hangar events`: hangard's event log, GET /v1/events, a
 * Server-Sent Events stream (text/event-stream).
 *
 *	hangar events [--follow|-f] [--since ID] [--type T[,T...]]
 *	    [--vm VM] [--host HOST]
 *
 * Without --follow the request says follow=false (the server ends the
 * reply after the replay) and, without --since, since=0: every event the
 * daemon still keeps.  With --follow and no --since the stream starts at
 * the newest event, so only new ones show.
 *
 * The body is read as it arrives (http_stream()) by the SSE reader
 * (sse.c), which hands over whole frames however libcurl split them; each
 * event is printed at once (output_event(): a table line, or a JSON line
 * with -o json) and stdout flushed, so `hangar events -f | grep ...`
 * shows events as they happen.  A "gap" event (ids pruned before this
 * client could read them) is a warning on stderr.
 *
 * Following: if the connection drops, or the server ends the stream (it
 * is stopping), or the stream is silent for EVENTS_IDLE_S (hangard sends
 * a comment every 15 s, so it is dead), the client connects again every
 * EVENTS_RETRY_MS with Last-Event-ID set to the id of the last whole
 * frame it received (sse.c: a frame cut off mid-way does not count), so
 * it misses nothing and repeats nothing; a 503 meanwhile (a daemon
 * starting) is waited out too.  This goes on until SIGINT, which ends the
 * command with exit status 0.  Following from "now" (no --since), the
 * server's first frame carries an "id:" line naming where the stream
 * starts, so even a drop before the first event resumes from there.
 * A daemon that cannot be reached at the start is an error (exit 3), as
 * for any command.  Without --follow, a stream cut off is an error (exit
 * 3) and SIGINT exits 130.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hangar.h"
#include "http.h"
#include "sse.h"

#define EVENTS_RETRY_MS 1000	/* wait this long before connecting again */
#define EVENTS_IDLE_S 45L	/* three of hangard's keepalives missed */
#define EVENTS_MSG_MAX 1024

struct events_ctx {
	struct cli		*ec_cli;
	const struct events_hooks *ec_hooks;
	struct sse		 ec_sse;
	bool			 ec_connected;	/* a stream has begun once */
	bool			 ec_lost;	/* we said it was lost */
	bool			 ec_live;	/* this connection has begun */
};

/* What `hangar events` keeps while it prints. */
struct events_print {
	struct cli	*ep_cli;
	bool		 ep_headed;	/* the table's heading is printed */
};

/* A "gap" frame: {"from":N,"to":M,"detail":"..."}, as a warning. */
static void
events_gap(const char *data)
{
	json_t *g = json_loads(data, 0, NULL);
	json_t *from = json_object_get(g, "from"), *to = json_object_get(g,
	    "to");

	if (json_is_integer(from) && json_is_integer(to))
		cli_warnx("events %" JSON_INTEGER_FORMAT " to %"
		    JSON_INTEGER_FORMAT " were pruned before they could be "
		    "read", json_integer_value(from), json_integer_value(to));
	else
		cli_warnx("some events were pruned before they could be read");
	json_decref(g);
}

/* sse.c hands over one frame: print it, and flush. */
static int
events_frame(void *arg, const char *type, const char *id, const char *data)
{
	struct events_print *ep = arg;
	json_error_t je;
	json_t *ev;
	int rc;

	if (strcmp(type, "gap") == 0) {
		events_gap(data);
		return 0;
	}
	if ((ev = json_loads(data, 0, &je)) == NULL || !json_is_object(ev)) {
		/* One bad frame does not end the stream. */
		cli_warnx("event %s: its data is not a JSON object; skipped",
		    id != NULL ? id : "without an id");
		json_decref(ev);
		return 0;
	}
	rc = output_event(stdout, ep->ep_cli->cli_format, ev, &ep->ep_headed);
	json_decref(ev);
	if (rc == -1)
		return -1;
	if (fflush(stdout) == EOF || ferror(stdout))
		return cli_fail(CLI_ERROR, "cannot write the output: %s",
		    strerror(errno));
	return 0;
}

/* http_stream() hands over a piece of the body. */
static int
events_chunk(void *arg, const char *data, size_t len)
{
	struct events_ctx *ec = arg;

	ec->ec_connected = true;
	if (ec->ec_lost) {
		cli_warnx("reconnected to hangard at %s",
		    http_target(ec->ec_cli->cli_http));
		ec->ec_lost = false;
	}
	if (!ec->ec_live) {
		ec->ec_live = true;
		if (ec->ec_hooks->eh_connected != NULL &&
		    ec->ec_hooks->eh_connected(ec->ec_hooks->eh_arg) == -1)
			return -1;
	}
	return sse_feed(&ec->ec_sse, data, len);
}

/* Sleep ms milliseconds; stop early on SIGINT. */
static void
events_pause(long ms)
{
	struct timespec ts;

	while (ms > 0 && !cli_interrupted) {
		long step = ms < 100 ? ms : 100;

		ts.tv_sec = 0;
		ts.tv_nsec = step * 1000000L;
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/*
 * Read the event stream at path (GET /v1/events?...) on cli's connection
 * until it ends (without follow) or SIGINT (with it), connecting again as
 * the head of this file says; each event goes to hooks->eh_frame,
 * hooks->eh_connected (if set) is called when a connection begins to
 * deliver and hooks->eh_lost (if set) when it has ended.  `hangar vm list
 * --watch` (watch.c) reads the stream this way.
 */
int
events_follow(struct cli *cli, const char *path, bool follow,
    const struct events_hooks *hooks)
{
	struct events_ctx ec;
	struct http_reply r;
	char why[EVENTS_MSG_MAX];
	const char *lastid;
	enum http_stream_end end;
	int rc = -1;

	memset(&ec, 0, sizeof(ec));
	ec.ec_cli = cli;
	ec.ec_hooks = hooks;
	sse_init(&ec.ec_sse, hooks->eh_frame, hooks->eh_arg);
	for (;;) {
		sse_reset(&ec.ec_sse);
		ec.ec_live = false;
		lastid = sse_last_id(&ec.ec_sse);
		end = http_stream(cli->cli_http, path, "text/event-stream",
		    *lastid != '\0' ? lastid : NULL,
		    follow ? EVENTS_IDLE_S : 0, events_chunk, &ec, &r, why,
		    sizeof(why));
		if (ec.ec_live && hooks->eh_lost != NULL)
			hooks->eh_lost(hooks->eh_arg);
		if (end == HTTP_STREAM_FAILED)
			break;
		if (end == HTTP_STREAM_INTERRUPTED) {
			if (follow)
				rc = 0;		/* how following ends */
			else
				cli_fail(CLI_INTERRUPTED, "interrupted");
			break;
		}
		if (end == HTTP_STREAM_REPLY && r.hr_status / 100 != 2) {
			/* A daemon on its way down or up: wait for it. */
			if (follow && ec.ec_connected &&
			    problem_retryable(r.hr_json, r.hr_status)) {
				if (!ec.ec_lost)
					problem_message(r.hr_json, r.hr_status,
					    why, sizeof(why));
			} else {
				http_fail(&r);
				http_reply_free(&r);
				break;
			}
		} else if (end == HTTP_STREAM_REPLY) {
			ec.ec_connected = true;
			if (!follow) {
				rc = 0;
				break;
			}
			snprintf(why, sizeof(why), "hangard at %s ended the "
			    "stream", http_target(cli->cli_http));
		} else if (!follow || !ec.ec_connected) {
			/* HTTP_STREAM_CUT, and no reason to try again */
			cli_fail(CLI_UNREACHABLE, "%s", why);
			break;
		}
		http_reply_free(&r);
		if (!ec.ec_lost) {
			cli_warnx("%s; connecting again every %d s", why,
			    EVENTS_RETRY_MS / 1000);
			ec.ec_lost = true;
		}
		events_pause(EVENTS_RETRY_MS);
		if (cli_interrupted) {
			rc = 0;		/* only a follower gets here */
			break;
		}
	}
	sse_free(&ec.ec_sse);
	return rc;
}

/*
 * hangar events [--follow|-f] [--since ID] [--type T[,T...]] [--vm VM]
 *     [--host HOST]
 *
 * --type may be given more than once; the lists are joined.  The server
 * checks the types (its 400 names the field).
 */
int
events(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 's' },
		{ "type", required_argument, NULL, 't' },
		{ "vm", required_argument, NULL, 'v' },
		{ "host", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 }
	};
	struct events_print ep = { .ep_cli = cli };
	const struct events_hooks hooks = { events_frame, NULL, NULL, &ep };
	char path[HANGAR_PATH_MAX] = "/v1/events", since[32];
	char types[HANGAR_PATH_MAX] = "";
	const char *vm = NULL, *host = NULL, *from = NULL;
	bool follow = false;
	size_t used;
	long n;
	int ch, rc;

	while ((ch = cli_getopt(cli, argc, argv, ":f", lo)) != -1) {
		switch (ch) {
		case 'f':
			follow = true;
			break;
		case 's':
			if (cli_parse_long(cli, "--since", optarg, 0, LONG_MAX,
			    &n) == -1)
				return -1;
			snprintf(since, sizeof(since), "%ld", n);
			from = since;
			break;
		case 't':
			used = strlen(types);
			n = snprintf(types + used, sizeof(types) - used, "%s%s",
			    used > 0 ? "," : "", optarg);
			if (n < 0 || (size_t)n >= sizeof(types) - used)
				return cli_usage_error(cli, "too many --type");
			break;
		case 'v':
			vm = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		default:
			return -1;
		}
	}
	if (cli_args(cli, argc, argv, 0, 0) == -1)
		return -1;
	/* Without --follow: all that is kept, unless --since says where. */
	if (!follow && from == NULL)
		from = "0";
	if (http_query(cli->cli_http, path, sizeof(path), "since",
	    from) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "follow",
	    follow ? NULL : "false") == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "type",
	    types[0] != '\0' ? types : NULL) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "vm", vm) == -1 ||
	    http_query(cli->cli_http, path, sizeof(path), "host", host) == -1)
		return -1;

	cli_interrupted = 0;
	cli_catch_interrupt(true);
	rc = events_follow(cli, path, follow, &hooks);
	cli_catch_interrupt(false);
	return rc;
}
