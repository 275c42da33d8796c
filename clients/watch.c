/*
 * watch.c - how a command runs, and `--watch` on every `list` command:
 *
 *	hangar vm list --watch		(host list, op list, network list...)
 *
 * prints the list, then prints it again each time hangard's event stream
 * (GET /v1/events, read by events_follow() in cmd_events.c, which resumes
 * with Last-Event-ID after a drop) says something changed, until Ctrl-C
 * (exit 0).  Nothing polls: a quiet fleet is one idle stream.  The stream
 * is asked only for the events that can change the list (watch_types[]:
 * vm.* and operation.* for `vm list`, host.* for `host list`...).  The
 * list is fetched on a second connection, so the stream stays open
 * while it is.
 *
 * On a terminal each redraw clears the screen and starts with a line
 * naming the command and the time; otherwise (a pipe, a file, a test)
 * each list follows the one before after a blank line (with -o yaml,
 * each is a document of one YAML stream, after "---").  The first list is
 * printed once the stream is open, so nothing that happens between the
 * two is missed; a burst of events (a VM being created sends several) is
 * one redraw per WATCH_MIN_MS at most, the last one always drawn.  While
 * the stream is down nothing is drawn; once it is back, the list is.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hangar.h"
#include "http.h"

#define WATCH_MIN_MS 200	/* at most one redraw this often */

/* Which events can change each noun's list ("" / absent: all of them). */
static const struct {
	const char	*wt_noun;
	const char	*wt_types;
} watch_types[] = {
	{ "vm", "vm.*,operation.*" },
	{ "host", "host.*,vm.*,operation.*" },
	{ "op", "operation.*" },
	{ "snapshot", "snapshot.*,operation.*" },
	{ "backup", "operation.*" },
	{ "disk", "operation.*,vm.*" },
};

struct watch {
	struct cli		*w_cli;		/* the list's connection */
	const struct cli_cmd	*w_cmd;
	int			 w_argc;
	char			**w_argv;
	bool			 w_tty;
	bool			 w_live;	/* the stream is connected */
	bool			 w_pending;	/* an event not yet drawn */
	unsigned		 w_draws;
	struct timespec		 w_last;	/* when it last drew */
};

/* Milliseconds since t. */
static long
watch_ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

/*
 * Print the list once more.  The first failure is the command's (a bad
 * option, a VM that does not exist): -1 ends the watch.  Later ones (the
 * daemon restarting) are reported and the watch goes on.
 */
static int
watch_draw(struct watch *w)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	if (cli_interrupted)
		return 0;
	w->w_pending = false;
	clock_gettime(CLOCK_MONOTONIC, &w->w_last);
	if (w->w_tty) {
		strftime(when, sizeof(when), "%H:%M:%S",
		    localtime_r(&now, &tm));
		printf("\033[H\033[2J");
		printf("hangar %s%s%s --watch    %s    (Ctrl-C ends)\n\n",
		    w->w_cmd->c_noun, w->w_cmd->c_verb != NULL ? " " : "",
		    w->w_cmd->c_verb != NULL ? w->w_cmd->c_verb : "", when);
	} else if (w->w_cli->cli_format == OUTPUT_YAML) {
		fputs("---\n", stdout);	/* one YAML stream */
	} else if (w->w_draws > 0) {
		putchar('\n');
	}
	optind = 0;
	rc = w->w_cmd->c_handler(w->w_cli, w->w_argc, w->w_argv);
	if (fflush(stdout) == EOF || ferror(stdout))
		return cli_fail(CLI_ERROR, "cannot write the output: %s",
		    strerror(errno));
	if (rc == -1 && w->w_draws == 0)
		return -1;
	w->w_draws++;
	return 0;
}

/* An event arrived: draw now, or soon if it drew a moment ago. */
static int
watch_frame(void *arg, const char *type, const char *id, const char *data)
{
	struct watch *w = arg;

	(void)id;
	(void)data;
	if (strcmp(type, "gap") == 0 || w->w_draws == 0)
		return 0;
	if (watch_ms_since(&w->w_last) < WATCH_MIN_MS) {
		w->w_pending = true;
		return 0;
	}
	return watch_draw(w);
}

/* The stream's tick (about once a second, or more): draw what waits. */
static void
watch_tick(void *arg)
{
	struct watch *w = arg;

	if (w->w_live && w->w_pending &&
	    watch_ms_since(&w->w_last) >= WATCH_MIN_MS)
		watch_draw(w);
}

/* The stream has begun: the first list, or one after a reconnect. */
static int
watch_connected(void *arg)
{
	struct watch *w = arg;

	w->w_live = true;
	return watch_draw(w);
}

/* The stream has ended: draw nothing until it is back (and then all). */
static void
watch_lost(void *arg)
{
	struct watch *w = arg;

	w->w_live = false;
	w->w_pending = false;
}

/* Remove the first "--watch" (before any "--") from argv; whether found. */
static bool
watch_take(int *argc, char **argv)
{
	int i;

	for (i = 1; i < *argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--watch") != 0)
			continue;
		memmove(&argv[i], &argv[i + 1],
		    (size_t)(*argc - i) * sizeof(argv[0]));
		(*argc)--;
		return true;
	}
	return false;
}

/* GET /v1/events?type=... for the noun of cmd, following from now. */
static int
watch_path(struct cli *cli, const struct cli_cmd *cmd, char *path,
    size_t len)
{
	const char *types = NULL;
	size_t i;

	for (i = 0; i < sizeof(watch_types) / sizeof(watch_types[0]); i++)
		if (strcmp(watch_types[i].wt_noun, cmd->c_noun) == 0)
			types = watch_types[i].wt_types;
	snprintf(path, len, "/v1/events");
	return http_query(cli->cli_http, path, len, "type", types);
}

/* The watch: a second connection for the stream, the list on cli's. */
static int
watch_run(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct watch w = {
		.w_cli = cli, .w_cmd = cmd, .w_argc = argc, .w_argv = argv,
		.w_tty = isatty(STDOUT_FILENO) == 1,
	};
	const struct events_hooks hooks = {
		watch_frame, watch_connected, watch_lost, &w
	};
	char path[HANGAR_PATH_MAX];
	struct cli scli = *cli;
	int rc = -1;

	if ((scli.cli_http = http_open(cli->cli_url)) == NULL)
		return -1;
	if (http_set_auth(scli.cli_http, cli->cli_token,
	    cli->cli_cacert) == 0 &&
	    watch_path(&scli, cmd, path, sizeof(path)) == 0) {
		http_set_tick(scli.cli_http, watch_tick, &w);
		cli_interrupted = 0;
		cli_catch_interrupt(true);
		rc = events_follow(&scli, path, true, &hooks);
		cli_catch_interrupt(false);
	}
	http_close(scli.cli_http);
	return rc;
}

/*
 * Run cmd with argv (argv[0] the verb): its handler, or for a `list`
 * command given --watch, the watch.
 */
int
cli_run(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	if (cmd->c_verb != NULL && strcmp(cmd->c_verb, "list") == 0 &&
	    watch_take(&argc, argv))
		return watch_run(cli, cmd, argc, argv);
	return cmd->c_handler(cli, argc, argv);
}
