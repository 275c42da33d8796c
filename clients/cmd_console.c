/*
 * cmd_console.c - `hangar vm console VM`: the VM's serial console on this
 * terminal, through hangard's WebSocket (GET /v1/vms/{vm}/console), like
 * `virsh console` but over the API and its access control; and `hangar
 * vm type VM TEXT`, which types a text into it (or as key strokes).
 *
 * On a terminal, stdin goes into raw mode (every key goes to the guest,
 * Ctrl-C included) and Ctrl-] leaves; the terminal is restored on every
 * way out (Ctrl-], the console ending, an error, SIGTERM/SIGHUP).  With
 * stdin from a pipe, what it holds is typed, then output is shown until
 * the console has been quiet for a second (at most ten), so that a
 * script sees the answer.  The serial console has no channel for the
 * window's size: the guest does not learn it (run `stty rows R cols C`
 * in the guest).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hangar.h"
#include "http.h"
#include "http_ws.h"

#define CONSOLE_ESCAPE 0x1d             /* Ctrl-] */
#define CONSOLE_QUIET_MS 1000           /* a pipe: quiet this long, done */
#define CONSOLE_PIPE_MAX_MS 10000

static struct termios console_saved;
static volatile sig_atomic_t console_raw;

static void
console_restore(void)
{
	if (console_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &console_saved);
		console_raw = 0;
	}
}

static void
console_signal(int sig)
{
	console_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Raw mode on a terminal stdin; restored at exit and on signals. */
static int
console_raw_mode(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO))
		return 0;
	if (tcgetattr(STDIN_FILENO, &console_saved) < 0)
		return cli_fail(CLI_ERROR, "cannot read the terminal's "
		    "settings: %s", strerror(errno));
	t = console_saved;
	cfmakeraw(&t);
	atexit(console_restore);
	signal(SIGTERM, console_signal);
	signal(SIGHUP, console_signal);
	/* TCSANOW: what was typed ahead is kept and sent */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
		return cli_fail(CLI_ERROR, "cannot put the terminal in raw "
		    "mode: %s", strerror(errno));
	console_raw = 1;
	return 0;
}

static void
console_out(void *arg, const char *data, size_t n)
{
	(void)arg;
	while (n > 0) {
		ssize_t k = write(STDOUT_FILENO, data, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		data += k;
		n -= (size_t)k;
	}
}

static long
console_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the user typed: to the guest, up to Ctrl-] (1: leave). */
static int
console_keys(struct http_ws *w, const char *buf, size_t n)
{
	const char *esc = console_raw ? memchr(buf, CONSOLE_ESCAPE, n) : NULL;
	size_t k = esc ? (size_t)(esc - buf) : n;

	if (k > 0 && http_ws_send(w, 2, buf, k) < 0)
		return -1;
	return esc != NULL;
}

/* Pump keys and output until one side ends; 0 or -1 (reported). */
static int
console_pump(struct http_ws *w)
{
	struct pollfd pf[2] = { { .fd = (int)w->ws_fd, .events = POLLIN },
	    { .fd = STDIN_FILENO, .events = POLLIN } };
	long quiet_from = 0, eof_at = 0;
	char buf[4096];

	for (;;) {
		int np = eof_at ? 1 : 2, k;

		if (http_ws_read(w, console_out, NULL) < 0)
			return -1;
		if (w->ws_closed || w->ws_eof)
			return 0;
		if (eof_at && (console_ms() - quiet_from >= CONSOLE_QUIET_MS ||
		    console_ms() - eof_at >= CONSOLE_PIPE_MAX_MS))
			return http_ws_close(w, 1000);
		if ((k = poll(pf, (nfds_t)np, eof_at ? 100 : -1)) < 0 &&
		    errno != EINTR)
			return cli_fail(CLI_ERROR, "poll: %s", strerror(errno));
		if (k > 0 && (pf[0].revents & POLLIN))
			quiet_from = console_ms();
		if (np < 2 || !(pf[1].revents & (POLLIN | POLLHUP)))
			continue;
		k = (int)read(STDIN_FILENO, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			/* a pipe ran dry: keep showing what comes back */
			eof_at = quiet_from = console_ms();
			continue;
		}
		if ((k = console_keys(w, buf, (size_t)k)) != 0)
			return k < 0 ? -1 : http_ws_close(w, 1000);
	}
}

/* hangar vm console VM [--read] [--takeover] */
int
vm_console(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "read", no_argument, NULL, 'r' },
		{ "takeover", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX];
	struct http_ws *w;
	bool read_only = false, takeover = false;
	int ch, rc;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		switch (ch) {
		case 'r':
			read_only = true;
			break;
		case 't':
			takeover = true;
			break;
		default:
			return -1;
		}
	}
	if (cli_args(cli, argc, argv, 1, 1) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/vms/",
	    argv[optind], read_only ? "/console?mode=read" : takeover ?
	    "/console?takeover=1" : "/console") == -1)
		return -1;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	if (http_ws_open(cli->cli_http, path, w) < 0) {
		free(w);
		return -1;
	}
	/* raw before saying so: keys typed from then on reach the guest */
	rc = console_raw_mode();
	if (rc == 0 && isatty(STDIN_FILENO))
		fprintf(stderr, "Connected to the console of vm '%s'%s "
		    "(Ctrl-] leaves)\r\n", argv[optind], read_only ?
		    ", watching" : "");
	if (rc == 0)
		rc = console_pump(w);
	console_restore();
	if (rc == 0 && w->ws_closed && w->ws_code != 1000)
		rc = cli_fail(CLI_ERROR, "the console closed (%d): %s",
		    w->ws_code, w->ws_reason);
	else if (rc == 0 && w->ws_closed && w->ws_peer_first)
		fprintf(stderr, "\nhangar: %s\n", w->ws_reason);
	else if (rc == 0 && isatty(STDIN_FILENO))
		fprintf(stderr, "\n");
	free(w);
	return rc;
}

/*
 * hangar vm type VM TEXT [--enter] [--keys | --serial]: POST
 * /v1/vms/{vm}/console/type, TEXT (and a newline with --enter) typed into
 * the serial console or as key strokes; hangard picks when neither is
 * given (keys for a VM with graphics).
 */
int
vm_type(struct cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "enter", no_argument, NULL, 'e' },
		{ "keys", no_argument, NULL, 'k' },
		{ "serial", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	char path[HANGAR_PATH_MAX], *text = NULL;
	const char *via = NULL;
	json_t *body = NULL, *reply;
	bool enter = false;
	int ch, rc = -1;

	while ((ch = cli_getopt(cli, argc, argv, ":", lo)) != -1) {
		if (ch == 'e')
			enter = true;
		else if (ch == 'k' || ch == 's')
			via = ch == 'k' ? "keys" : "serial";
		else
			return -1;
	}
	if (cli_args(cli, argc, argv, 2, 2) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/vms/",
	    argv[optind], "/console/type") == -1)
		return -1;
	if (asprintf(&text, "%s%s", argv[optind + 1], enter ? "\n" : "") < 0 ||
	    (body = json_object()) == NULL) {
		free(text);
		return cli_fail(CLI_ERROR, "out of memory");
	}
	if (cli_set_str(cli, body, "text", "TEXT", text) == 0 &&
	    (via == NULL || cli_set_str(cli, body, "via", "--keys", via) == 0) &&
	    http_call(cli->cli_http, "POST", path, body, &reply) == 0) {
		rc = output_object(stdout, cli->cli_format, reply);
		json_decref(reply);
	}
	json_decref(body);
	free(text);
	return rc;
}
