/*
 * main.c - hangard: read the configuration, open the inventory, connect to
 * the hosts, start the operation engine and the API, then wait for
 * signals.  SIGTERM/SIGINT stop it cleanly (stop accepting, let running
 * operations finish up to shutdown_timeout_s, close the database); SIGHUP
 * re-reads the log level from the config file.
 *
 * Every signal is blocked in every thread and taken by sigwait() here, so
 * no handler ever runs in the middle of library code.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "../api/api.h"
#include "../common/error.h"
#include "../common/log.h"
#include "../common/version.h"
#include "app.h"
#include "reconcile.h"

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

int
main(int argc, char **argv)
{
	static struct app app;
	struct api *api = NULL;
	struct reconcile *rec = NULL;
	struct watch *watch = NULL;
	struct snapsched *sched = NULL;
	char errbuf[1024];
	sigset_t set;
	int sig, r, status = 1;

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
	if (backend_init() < 0 ||
	    (app.view = view_load(app.store)) == NULL ||
	    (app.fleet = fleet_open(app.store, app.view, &app.cfg)) == NULL ||
	    (watch = watch_new(&app)) == NULL ||
	    fleet_start(app.fleet) < 0 ||
	    (app.ops = ops_new(&app)) == NULL ||
	    ops_start(app.ops) < 0 ||
	    watch_start(watch) < 0 ||
	    (rec = reconcile_start(&app)) == NULL ||
	    (sched = snapsched_start(&app)) == NULL ||
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
	snapsched_stop(sched);
	reconcile_stop(rec);
	watch_stop(watch);
	if (app.ops && ops_stop(app.ops, app.cfg.shutdown_timeout_s) < 0) {
		/* workers still hold the store: leave it to exit; the journal
		 * lets the next start finish what they were doing */
		log_info("hangard stopped with operations still running");
		return status;
	}
	api_stop(api);
	ops_free(app.ops);
	fleet_close(app.fleet);
	watch_free(watch);
	view_free(app.view);
	store_close(app.store);
	log_info("hangard stopped");
	return status;
}
