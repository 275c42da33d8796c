/*
 * hangard.c - the program's entry: read the configuration, open the
 * inventory, connect to the hosts, start the operation engine and the
 * API, then wait for signals.  It is the one file that wires config,
 * store, daemon and api together, and so sits above them all, outside
 * src/daemon/: nothing in the daemon depends back on the API.
 * SIGTERM/SIGINT stop it cleanly (stop accepting, let running operations
 * finish up to shutdown_timeout_s, close the database); SIGHUP re-reads
 * the log level from the config file.
 *
 * Every signal is blocked in every thread and taken by sigwait() here, so
 * no handler ever runs in the middle of library code.
 *
 * Two more ways to run it, that start no daemon:
 *   hangard --routes               the route table: METHOD PATTERN ROLE
 *   hangard token create|list|revoke ...   API tokens, in the database
 *                                  (a running daemon sees them at once)
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "api/api.h"
#include "common/error.h"
#include "common/log.h"
#include "common/ticker.h"
#include "common/token.h"
#include "common/version.h"
#include "daemon/app.h"
#include "daemon/reconcile.h"

/*
 * Create the directory that will hold path, if it is missing: mode 0711,
 * so QEMU (running as its own user under libvirt) can reach the disk
 * images kept below it, while nobody else can list it.
 */
static void
main_mkdir_parent(const char *path)
{
	char dir[CONFIG_STR_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0711) < 0 && errno != EEXIST)
		log_warn("cannot create '%s'", dir);
}

static void
main_reload(struct app *app)
{
	struct config c;
	char errbuf[1024];

	if (app->cfg.config_path[0] == '\0') {
		log_info("SIGHUP: no config file to re-read");
		return;
	}
	config_defaults(&c);
	if (config_load_file(&c, app->cfg.config_path, errbuf,
	    sizeof(errbuf)) < 0) {
		log_error("SIGHUP: %s; keeping the current settings", errbuf);
		return;
	}
	log_set_level(c.log_level);
	app->cfg.log_level = c.log_level;
	log_info("SIGHUP: log level is now %s", log_level_name(c.log_level));
}

/* --- hangard token ... --- */

static void
main_token_usage(FILE *out)
{
	fprintf(out,
	    "usage: hangard token create --name NAME --role reader|operator|"
	    "admin [OPTIONS]\n"
	    "       hangard token list [OPTIONS]\n"
	    "       hangard token revoke NAME [OPTIONS]\n"
	    "options: --config FILE (its db), --db PATH (default "
	    "/var/lib/hangar/hangar.db)\n"
	    "create prints the token on stdout, once: it is stored hashed "
	    "and cannot be shown again.\n");
}

/* RFC 3339, or "-" for 0. */
static const char *
main_time(int64_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "-");
	else
		time_format_ms(ms, buf, len);
	return buf;
}

static int
main_token_row(const struct token_rec *t, void *arg)
{
	char c[32], r[32];

	(void)arg;
	printf("%-24s %-9s %-25s %s\n", t->name, t->role,
	    main_time(t->created_at, c, sizeof(c)),
	    main_time(t->revoked_at, r, sizeof(r)));
	return 0;
}

/*
 * hangard token VERB ...: argv[0] is "token".  Exit status: 0 done, 1 the
 * store said no (name taken, no such token, database), 2 usage.
 */
static int
main_token(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "role", required_argument, NULL, 'R' },
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *verb = argc > 1 ? argv[1] : "", *name = NULL, *role = NULL;
	const char *file = NULL, *db = NULL;
	static struct config cfg;
	struct store *s = NULL;
	struct token_rec t;
	struct stat st;
	char errbuf[1024], token[TOKEN_MAX];
	int ch, rc = 1;

	log_set_level(LOG_WARN);
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc - 1, argv + 1, ":h", lo, NULL)) != -1) {
		switch (ch) {
		case 'N':
			name = optarg;
			break;
		case 'R':
			role = optarg;
			break;
		case 'c':
			file = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			main_token_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "hangard token: %s needs a value\n",
			    argv[optind]);
			return 2;
		default:
			fprintf(stderr, "hangard token: unknown option '%s'\n",
			    argv[optind]);
			main_token_usage(stderr);
			return 2;
		}
	}
	/* getopt ran on argv + 1: its optind counts from the verb */
	if (strcmp(verb, "revoke") == 0 && optind + 1 < argc && name == NULL)
		name = argv[1 + optind++];
	if (optind + 1 < argc || (strcmp(verb, "create") == 0 &&
	    (name == NULL || role == NULL)) || (strcmp(verb, "revoke") == 0 &&
	    (name == NULL || role != NULL)) || (strcmp(verb, "list") == 0 &&
	    (name != NULL || role != NULL)) || (strcmp(verb, "create") != 0 &&
	    strcmp(verb, "list") != 0 && strcmp(verb, "revoke") != 0)) {
		main_token_usage(stderr);
		return 2;
	}

	config_defaults(&cfg);
	if ((file != NULL && config_load_file(&cfg, file, errbuf,
	    sizeof(errbuf)) < 0) || (db != NULL && config_set(&cfg, "db", db,
	    errbuf, sizeof(errbuf)) < 0)) {
		fprintf(stderr, "hangard token: %s\n", errbuf);
		return 2;
	}
	/* only create may make the database: a mistyped path is no inventory */
	if (strcmp(verb, "create") != 0 && stat(cfg.db_path, &st) < 0) {
		fprintf(stderr, "hangard token: database '%s': %s\n",
		    cfg.db_path, strerror(errno));
		return 1;
	}
	if (strcmp(verb, "create") == 0)
		main_mkdir_parent(cfg.db_path);
	if ((s = store_open(cfg.db_path)) == NULL)
		goto fail;
	if (strcmp(verb, "create") == 0) {
		if (tokens_issue(s, name, role, token, &t) < 0)
			goto fail;
		printf("%s\n", token);
		explicit_bzero(token, sizeof(token));
		fprintf(stderr, "hangard token: token '%s' (%s) created; it is "
		    "shown only this once\n", t.name, t.role);
	} else if (strcmp(verb, "revoke") == 0) {
		if (tokens_revoke(s, name, &t) < 0)
			goto fail;
		fprintf(stderr, "hangard token: token '%s' revoked\n", t.name);
	} else {
		struct store_conn *c = store_read_begin(s);

		printf("%-24s %-9s %-25s %s\n", "NAME", "ROLE", "CREATED",
		    "REVOKED");
		rc = store_token_each(c, main_token_row, NULL);
		store_read_end(c);
		if (rc < 0)
			goto fail;
	}
	rc = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "hangard token: cannot write: %s\n",
		    strerror(errno));
		rc = 1;
	}
	store_close(s);
	return rc;
fail:
	fprintf(stderr, "hangard token: %s\n", err_last()->msg);
	store_close(s);
	return 1;
}

int
main(int argc, char **argv)
{
	static struct app app;
	struct api *api = NULL;
	struct reconcile *rec = NULL;
	struct watch *watch = NULL;
	struct ticker *sched = NULL, *prov = NULL, *envs = NULL;
	struct ticker *bsched = NULL;
	char errbuf[1024];
	sigset_t set;
	int sig, r, status = 1;

	if (argc == 2 && strcmp(argv[1], "--routes") == 0)
		return api_print_routes(stdout) == 0 ? 0 : 1;
	if (argc >= 2 && strcmp(argv[1], "token") == 0)
		return main_token(argc - 1, argv + 1);
	config_defaults(&app.cfg);
	r = config_from_args(&app.cfg, argc, argv, errbuf, sizeof(errbuf));
	if (r < 0) {
		fprintf(stderr, "hangard: %s\n", errbuf);
		return 2;
	}
	if (r > 0)
		return 0;
	log_set_level(app.cfg.log_level);

	/* block the signals before any thread exists, so all inherit it */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("hangard %s starting", HANGAR_VERSION);
	app.started_ms = time_now_ms();
	main_mkdir_parent(app.cfg.db_path);
	if ((app.store = store_open(app.cfg.db_path)) == NULL) {
		log_error("%s", err_last()->msg);
		return 1;
	}
	/* the image library: what a crash left half-uploaded goes */
	if (library_mkdirs(&app) < 0)
		log_warnx("%s (image uploads will fail)", err_last()->msg);
	library_sweep(&app);
	if (backend_init() < 0 ||
	    (app.view = view_load(app.store)) == NULL ||
	    (app.fleet = fleet_open(app.store, app.view, &app.cfg)) == NULL ||
	    (watch = watch_new(&app)) == NULL ||
	    fleet_start(app.fleet) < 0 ||
	    (app.consoles = consoles_new(&app)) == NULL ||
	    (app.ops = ops_new(&app)) == NULL ||
	    ops_start(app.ops) < 0 ||
	    watch_start(watch) < 0 ||
	    (rec = reconcile_start(&app)) == NULL ||
	    (sched = snapsched_start(&app)) == NULL ||
	    (bsched = bsched_start(&app, api_backup_spec)) == NULL ||
	    (prov = provision_start(&app)) == NULL ||
	    (envs = envs_start(&app)) == NULL ||
	    (api = api_start(&app)) == NULL) {
		log_error("%s", err_last()->msg);
		goto done;
	}
	sd_notify(0, "READY=1");
	log_info("hangard ready");
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			main_reload(&app);
			continue;
		}
		log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" :
		    "SIGINT");
		break;
	}
	status = 0;
	sd_notify(0, "STOPPING=1");
done:
	__atomic_store_n(&app.stopping, 1, __ATOMIC_RELAXED);
	api_quiesce(api);
	ticker_stop(envs);
	ticker_stop(prov);
	ticker_stop(bsched);
	ticker_stop(sched);
	reconcile_stop(rec);
	watch_stop(watch);
	if (app.ops && ops_stop(app.ops, app.cfg.shutdown_timeout_s) < 0) {
		/* workers still hold the store: leave it to exit; the journal
		 * lets the next start finish what they were doing */
		log_info("hangard stopped with operations still running");
		return status;
	}
	api_stop(api);
	consoles_free(app.consoles);
	ops_free(app.ops);
	fleet_close(app.fleet);
	watch_free(watch);
	view_free(app.view);
	store_close(app.store);
	log_info("hangard stopped");
	return status;
}
