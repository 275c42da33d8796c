/*
 * snapsched.c - scheduled snapshots and their retention.
 *
 * A VM may carry a snapshot_schedule (an interval or a cron spec, see
 * common/schedule.h) and a retention: keep the newest N scheduled
 * snapshots and/or none older than a maximum age.  Once a second this
 * thread looks at every VM with a schedule: first it deletes the oldest
 * scheduled snapshot past the retention, if any (one operation at a time
 * per VM, like any other); otherwise, when the schedule is due, it takes
 * a snapshot named auto-YYYYMMDD-HHMMSS-mmm.  Snapshots taken by hand are
 * never deleted by the retention.  The moment the schedule last fired is
 * kept in the VM's row, so a restart neither repeats nor skips one (a
 * missed cron time fires once, not once per missed time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/schedule.h"
#include "../common/ticker.h"
#include "app.h"

#define SNAPSCHED_TICK_MS 1000

/* The retention's verdict over a VM's scheduled snapshots. */
struct snapsched_expiry {
	const struct vm_rec *vm;
	int64_t now;
	int total;                 /* scheduled snapshots, ready ones */
	int seen;
	char oldest_expired[NAME_MAX_LEN];
};

static int
snapsched_count(const struct snap_rec *s, void *arg)
{
	struct snapsched_expiry *e = arg;

	if (strcmp(s->status, "ready") == 0)
		e->total++;
	return 0;
}

/* Oldest first: the first one past either limit is the one to go. */
static int
snapsched_judge(const struct snap_rec *s, void *arg)
{
	struct snapsched_expiry *e = arg;
	const struct vm_rec *v = e->vm;
	bool too_many, too_old;

	if (strcmp(s->status, "ready") != 0)
		return 0;
	e->seen++;
	too_many = v->snapshot_keep > 0 &&
	    e->total - (e->seen - 1) > v->snapshot_keep;
	too_old = v->snapshot_max_age_ms > 0 &&
	    e->now - s->created_at > v->snapshot_max_age_ms;
	if (too_many || too_old) {
		snprintf(e->oldest_expired, sizeof(e->oldest_expired), "%s",
		    s->name);
		return 1;
	}
	return 0;
}

/* The oldest scheduled snapshot past the retention into out; 1 if any. */
static int
snapsched_expired(struct app *app, const struct vm_rec *v, int64_t now,
    char *out, size_t len)
{
	struct snapsched_expiry e;
	struct store_conn *c;
	int r;

	if (v->snapshot_keep <= 0 && v->snapshot_max_age_ms <= 0)
		return 0;
	memset(&e, 0, sizeof(e));
	e.vm = v;
	e.now = now;
	c = store_read_begin(app->store);
	r = store_snap_each(c, v->id, true, snapsched_count, &e);
	if (r == 0)
		r = store_snap_each(c, v->id, true, snapsched_judge, &e);
	store_read_end(c);
	if (r < 0 || e.oldest_expired[0] == '\0')
		return 0;
	snprintf(out, len, "%s", e.oldest_expired);
	return 1;
}

static int
snapsched_ran_tx(struct store_conn *c, void *arg)
{
	const struct vm_rec *v = arg;

	return store_vm_schedule_ran(c, v->id, v->snapshot_last_at);
}

static void
snapsched_one(struct app *app, struct vm_rec *v, int64_t now)
{
	struct snap_request rq;
	struct schedule sc;
	struct op_rec op;
	char name[NAME_MAX_LEN], expired[NAME_MAX_LEN];
	struct tm tm;
	time_t secs;
	int64_t due;

	if (v->op_id[0] || strcmp(v->observed, "unknown") == 0)
		return;             /* busy or out of sight: next tick */
	memset(&rq, 0, sizeof(rq));
	rq.vm = v->uuid;
	if (snapsched_expired(app, v, now, expired, sizeof(expired))) {
		rq.name = expired;
		if (snapshots_request(app, OP_SNAPSHOT_DELETE, &rq, &op) < 0)
			log_warnx("snapshots: cannot delete expired snapshot "
			    "'%s' of vm '%s': %s", expired, v->name,
			    err_last()->msg);
		else
			log_info("snapshots: vm '%s': deleting '%s' (past its "
			    "retention), operation %s", v->name, expired, op.id);
		return;
	}
	/* the retention outlives the schedule: what it took still expires */
	if (v->snapshot_schedule[0] == '\0' ||
	    schedule_parse(v->snapshot_schedule, "snapshot_schedule", &sc) < 0)
		return;             /* none, or (checked when set) never fires */
	due = schedule_next(&sc, v->snapshot_last_at);
	if (due < 0 || due > now)
		return;
	secs = (time_t)(now / 1000);
	gmtime_r(&secs, &tm);
	snprintf(name, sizeof(name), "auto-%04d%02d%02d-%02d%02d%02d-%03d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(now % 1000));
	rq.name = name;
	rq.description = "taken by the snapshot schedule";
	rq.scheduled = true;
	/* RAM too when it is running, so a revert brings it back running */
	rq.memory = strcmp(v->observed, "running") == 0 ||
	    strcmp(v->observed, "paused") == 0;
	if (snapshots_request(app, OP_SNAPSHOT_CREATE, &rq, &op) < 0)
		log_warnx("snapshots: scheduled snapshot of vm '%s' not "
		    "taken: %s", v->name, err_last()->msg);
	else
		log_info("snapshots: vm '%s': scheduled snapshot '%s', "
		    "operation %s", v->name, name, op.id);
	/* fired (or tried): a failure waits for the next due time */
	v->snapshot_last_at = now;
	if (store_tx(app->store, snapsched_ran_tx, v) < 0)
		log_warnx("snapshots: vm '%s': %s", v->name, err_last()->msg);
}

void
snapsched_tick(struct app *app)
{
	struct vm_list l = { NULL, 0, 0 };
	struct store_conn *c = store_read_begin(app->store);
	int64_t now = time_now_ms();
	int r = store_vm_each_scheduled(c, vm_list_add, &l);

	store_read_end(c);
	if (r < 0)
		log_warnx("snapshots: cannot list schedules: %s",
		    err_last()->msg);
	for (size_t i = 0; r == 0 && i < l.n; i++)
		snapsched_one(app, &l.v[i], now);
	vm_list_free(&l);
}

static void
snapsched_fire(void *arg)
{
	snapsched_tick(arg);
}

struct ticker *
snapsched_start(struct app *app)
{
	return ticker_start(SNAPSCHED_TICK_MS, snapsched_fire, app,
	    "the snapshot scheduler");
}
