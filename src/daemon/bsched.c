/*
 * bsched.c - scheduled backups and their retention, as snapsched.c does
 * snapshots.
 *
 * A VM may carry a backup_schedule (an interval or a cron spec, see
 * common/schedule.h), a retention (keep the newest N scheduled backups
 * and/or none older than a maximum age) and backup_full_every N.  Once a
 * second this thread looks at every VM with a schedule or a retention:
 * first it deletes the oldest scheduled backup past the retention, if
 * any, through backups_delete() (which folds a deleted parent into its
 * children, so the chain stays whole); otherwise, when the schedule is
 * due, it asks for a backup like POST /v1/vms/{vm}/backups does, marked
 * scheduled.  Backups taken by hand are never deleted by the retention;
 * the newest scheduled backup is never deleted for its age (a VM whose
 * backups fail keeps its last one).
 *
 * The mode: full when the VM has no backup, when its newest one has no
 * checkpoint to build on any more (its disks were restored since), when
 * its last backup operation failed for want of one (409 naming "mode":
 * the checkpoint lost on the host), or when the newest one's chain (it
 * and its parents back to a full one) already holds backup_full_every
 * backups; incremental otherwise.
 *
 * A VM with an operation under way, or out of sight, is looked at again
 * on the next tick: nothing piles up.  A request refused for another
 * reason (a stopped VM, say) is logged once and waits for the next due
 * time.  A delete that fails (a backup with too many children, a file
 * gone) is logged and tried again after BSCHED_RETRY_MS; the schedule
 * goes on meanwhile.  The moment the schedule last fired is kept in the
 * VM's row, so a restart neither repeats nor skips one (missed times
 * fire once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/schedule.h"
#include "../common/ticker.h"
#include "app.h"

#define BSCHED_TICK_MS 1000

/* store_op_each's callback: the VM's newest backup operation failed
 * for want of something to build on (409 naming "mode")? */
static int
bsched_last_op(const struct op_rec *o, void *arg)
{
	if (o->kind != OP_BACKUP)
		return 0;
	*(bool *)arg = o->status == OP_FAILED &&
	    strcmp(o->err_field, "mode") == 0;
	return 1;
}

const char *
bsched_mode(struct store_conn *c, const struct vm_rec *v)
{
	struct backup_rec b;
	int n = 1, every = v->backup_full_every > 0 ? v->backup_full_every :
	    BACKUP_FULL_EVERY_DEFAULT;
	bool lost = false;

	/* an incremental one that failed for its parent's checkpoint (lost
	 * on the host, bitmaps and all): a full one, not the same again */
	if (v->id > 0 && store_op_each(c, v->id, NULL, 20, bsched_last_op,
	    &lost) < 0)
		return NULL;
	if (lost)
		return "full";
	if (store_backup_latest(c, v->uuid, &b) < 0) {
		if (err_last()->code != ERR_NOT_FOUND)
			return NULL;
		err_clear();
		return "full";
	}
	if (b.checkpoint_xml[0] == '\0') {
		store_backup_clear(&b);
		return "full";
	}
	/* the chain's length, up to every */
	while (b.parent[0] && n < every) {
		char parent[sizeof(b.parent)];

		snprintf(parent, sizeof(parent), "%s", b.parent);
		store_backup_clear(&b);
		if (store_backup_get(c, parent, &b) < 0)
			return NULL;
		n++;
	}
	store_backup_clear(&b);
	return n >= every ? "full" : "incremental";
}

/* The retention's verdict over a VM's scheduled backups. */
struct bsched_expiry {
	const struct vm_rec *vm;
	int64_t now;
	int total;                 /* scheduled backups, ready ones */
	int seen;
	char oldest_expired[UUID_STR_LEN];
};

static bool
bsched_counts(const struct backup_rec *b)
{
	return b->scheduled && strcmp(b->status, "ready") == 0;
}

static int
bsched_count(const struct backup_rec *b, void *arg)
{
	struct bsched_expiry *e = arg;

	if (bsched_counts(b))
		e->total++;
	return 0;
}

/* Oldest first: the first one past either limit is the one to go. */
static int
bsched_judge(const struct backup_rec *b, void *arg)
{
	struct bsched_expiry *e = arg;
	const struct vm_rec *v = e->vm;
	bool too_many, too_old;

	if (!bsched_counts(b))
		return 0;
	e->seen++;
	too_many = v->backup_keep > 0 &&
	    e->total - (e->seen - 1) > v->backup_keep;
	too_old = v->backup_max_age_ms > 0 && e->seen < e->total &&
	    e->now - b->created_at > v->backup_max_age_ms;
	if (too_many || too_old) {
		snprintf(e->oldest_expired, sizeof(e->oldest_expired), "%s",
		    b->id);
		return 1;
	}
	return 0;
}

int
bsched_expired(struct store_conn *c, const struct vm_rec *v, int64_t now,
    char *out, size_t len)
{
	struct bsched_expiry e;
	int r;

	out[0] = '\0';
	if (v->backup_keep <= 0 && v->backup_max_age_ms <= 0)
		return 0;
	memset(&e, 0, sizeof(e));
	e.vm = v;
	e.now = now;
	r = store_backup_each(c, v->uuid, bsched_count, &e);
	if (r == 0)
		r = store_backup_each(c, v->uuid, bsched_judge, &e);
	if (r < 0)
		return -1;
	if (e.oldest_expired[0] == '\0')
		return 0;
	snprintf(out, len, "%s", e.oldest_expired);
	return 1;
}

/* The last backup the retention failed to delete: left alone for a
 * while, so a delete that keeps failing neither runs every second nor
 * keeps the schedule from taking new backups. */
#define BSCHED_RETRY_MS (10 * 60 * 1000)
static struct {
	char id[UUID_STR_LEN];
	int64_t until;
} bsched_failed;

/* The oldest scheduled backup of v past its retention, deleted; 1 when
 * one was. */
static int
bsched_prune(struct app *app, const struct vm_rec *v, int64_t now)
{
	struct store_conn *c = store_read_begin(app->store);
	char id[UUID_STR_LEN];
	int r = bsched_expired(c, v, now, id, sizeof(id));

	store_read_end(c);
	if (r < 0)
		log_warnx("backups: vm '%s': cannot read its backups: %s",
		    v->name, err_last()->msg);
	if (r != 1 || (strcmp(id, bsched_failed.id) == 0 &&
	    now < bsched_failed.until))
		return 0;
	if (backups_delete(app, v->uuid, id) < 0) {
		log_warnx("backups: cannot delete expired backup %s of vm "
		    "'%s' (tried again in %d min): %s", id, v->name,
		    BSCHED_RETRY_MS / 60000, err_last()->msg);
		snprintf(bsched_failed.id, sizeof(bsched_failed.id), "%s", id);
		bsched_failed.until = now + BSCHED_RETRY_MS;
		return 0;
	}
	log_info("backups: vm '%s': deleted backup %s (past its retention)",
	    v->name, id);
	return 1;
}

static int
bsched_ran_tx(struct store_conn *c, void *arg)
{
	const struct vm_rec *v = arg;

	return store_vm_backup_ran(c, v->id, v->backup_last_at);
}

/* After a refused request: did an operation start meanwhile? */
static bool
bsched_went_busy(struct app *app, const struct vm_rec *v)
{
	struct store_conn *c;
	struct vm_rec now;
	struct err e;
	bool busy;

	err_save(&e);
	c = store_read_begin(app->store);
	busy = store_vm_get(c, v->uuid, &now) == 0 && now.op_id[0];
	store_read_end(c);
	err_restore(&e);
	return busy;
}

/* Ask for v's scheduled backup; 0 when it fired (or was refused for
 * good), 1 when the VM went busy (try again on the next tick). */
static int
bsched_take(struct app *app, bsched_spec_fn spec, const struct vm_rec *v)
{
	struct backup_request rq;
	struct store_conn *c;
	char id[UUID_STR_LEN];
	struct op_rec op;
	int r = -1;

	memset(&rq, 0, sizeof(rq));
	rq.vm = v->uuid;
	rq.scheduled = true;
	c = store_read_begin(app->store);
	rq.mode = bsched_mode(c, v);
	store_read_end(c);
	if (rq.mode != NULL && (rq.spec = spec(app, v->uuid)) != NULL)
		r = backups_request(app, &rq, &op, id, sizeof(id));
	json_decref(rq.spec);
	if (r == 0) {
		log_info("backups: vm '%s': scheduled %s backup %s, operation "
		    "%s", v->name, rq.mode, id, op.id);
		return 0;
	}
	if (err_last()->code == ERR_CONFLICT && bsched_went_busy(app, v))
		return 1;
	log_warnx("backups: scheduled backup of vm '%s' not taken (the "
	    "next one at its next due time): %s", v->name, err_last()->msg);
	return 0;
}

static void
bsched_one(struct app *app, bsched_spec_fn spec, struct vm_rec *v,
    int64_t now)
{
	struct schedule sc;
	int64_t due;

	if (v->op_id[0] || strcmp(v->observed, "unknown") == 0)
		return;             /* busy or out of sight: next tick */
	if (bsched_prune(app, v, now))
		return;             /* one thing at a time */
	/* the retention outlives the schedule: what it took still expires */
	if (v->backup_schedule[0] == '\0' ||
	    schedule_parse(v->backup_schedule, "backup_schedule", &sc) < 0)
		return;             /* none, or (checked when set) never fires */
	due = schedule_next(&sc, v->backup_last_at);
	if (due < 0 || due > now || bsched_take(app, spec, v) != 0)
		return;
	/* fired (or tried): a failure waits for the next due time */
	v->backup_last_at = now;
	if (store_tx(app->store, bsched_ran_tx, v) < 0)
		log_warnx("backups: vm '%s': %s", v->name, err_last()->msg);
}

void
bsched_tick(struct app *app, bsched_spec_fn spec)
{
	struct vm_list l = { NULL, 0, 0 };
	struct store_conn *c = store_read_begin(app->store);
	int64_t now = time_now_ms();
	int r = store_vm_each_backup_scheduled(c, vm_list_add, &l);

	store_read_end(c);
	if (r < 0)
		log_warnx("backups: cannot list schedules: %s",
		    err_last()->msg);
	for (size_t i = 0; r == 0 && i < l.n; i++)
		bsched_one(app, spec, &l.v[i], now);
	vm_list_free(&l);
}

/* One daemon, one scheduler: what its thread is given. */
static struct {
	struct app *app;
	bsched_spec_fn spec;
} bsched_ctx;

static void
bsched_fire(void *arg)
{
	(void)arg;
	bsched_tick(bsched_ctx.app, bsched_ctx.spec);
}

struct ticker *
bsched_start(struct app *app, bsched_spec_fn spec)
{
	bsched_ctx.app = app;
	bsched_ctx.spec = spec;
	return ticker_start(BSCHED_TICK_MS, bsched_fire, NULL,
	    "the backup scheduler");
}
