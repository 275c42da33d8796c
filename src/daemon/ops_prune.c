/*
 * ops_prune.c - the image_prune operation: the copies of library images
 * that hosts keep as base volumes (imgcache.c), removed where nothing
 * needs them -- on every host or one ("host"), of every image or one
 * ("sha256", shown as "name").  Each copy goes through imgcache_drop():
 * kept while a disk on the host is an overlay of it or an operation in
 * flight is putting a disk made from it there; a row whose volume is
 * gone is forgotten.  The operation's progress is its result:
 *
 *   {"removed":1,"kept":1,"forgotten":0,"unreachable":0,
 *    "hosts":[{"host":"local","removed":[{"image":"tiny","sha256":"…"}],
 *      "kept":[{"image":"deb","sha256":"…","reason":"used by 2 disks"}],
 *      "forgotten":[]}]}
 *
 * ("hosts" is left out when it would not fit the journal's record; the
 * log has every removal).  A host that cannot be reached keeps its rows
 * and copies: a prune of that one host fails (503); a prune of all
 * reports it; the prune a DELETE of an image starts ("until_reached")
 * stays running and tries again until every host has been reached.
 * Volumes named base-<sha256>.qcow2 that no row records are left alone:
 * a pool may be shared with other hosts or other programs, and hangar
 * cannot tell who else uses such a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

#define PRUNE_SHA_SHOWN 16          /* hex digits of a sha256 shown */

/* A growing list of hosts or of rows, filled by a store walk. */
struct prune_hosts {
	struct host_rec *h;
	size_t n, cap;
};

struct prune_rows {
	char (*sha)[IMAGE_SHA256_LEN];
	size_t n, cap;
};

static int
prune_grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *q;

	if (n < *cap)
		return 0;
	if ((q = realloc(*p, (*cap ? *cap * 2 : 8) * size)) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	*p = q;
	*cap = *cap ? *cap * 2 : 8;
	return 0;
}

static int
prune_host_add(const struct host_rec *h, void *arg)
{
	struct prune_hosts *l = arg;

	if (prune_grow((void **)&l->h, &l->cap, l->n, sizeof(*l->h)) < 0)
		return -1;
	l->h[l->n++] = *h;
	return 0;
}

static int
prune_row_add(const struct host_image_rec *h, void *arg)
{
	struct prune_rows *l = arg;

	if (prune_grow((void **)&l->sha, &l->cap, l->n, sizeof(*l->sha)) < 0)
		return -1;
	snprintf(l->sha[l->n++], IMAGE_SHA256_LEN, "%s", h->sha256);
	return 0;
}

/* The hosts to prune: the one in params, or all. */
static int
prune_load_hosts(struct op_ctx *x, struct prune_hosts *l)
{
	const char *name = json_string_value(json_object_get(x->params,
	    "host"));
	struct store_conn *c = store_read_begin(x->app->store);
	struct host_rec h;
	int r;

	if (name == NULL)
		r = store_host_each(c, prune_host_add, l);
	else if ((r = store_host_get(c, name, &h)) == 0)
		r = prune_host_add(&h, l);
	store_read_end(c);
	return r;
}

struct prune_name {
	const char *sha;
	char *out;
};

static int
prune_name_of(const struct image_rec *im, void *arg)
{
	struct prune_name *p = arg;

	if (strcmp(im->sha256, p->sha) != 0)
		return 0;
	snprintf(p->out, NAME_MAX_LEN, "%s", im->name);
	return 1;
}

/* One copy as the result shows it: the image's name (the library's, or
 * the one the delete gave), the start of its sha256. */
static json_t *
prune_entry(struct op_ctx *x, const char *sha)
{
	char name[NAME_MAX_LEN] = "";
	char shown[PRUNE_SHA_SHOWN + 1];
	struct prune_name p = { sha, name };
	const char *given = json_string_value(json_object_get(x->params,
	    "name"));
	struct store_conn *c = store_read_begin(x->app->store);

	(void)store_image_each(c, prune_name_of, &p);
	store_read_end(c);
	err_clear();
	if (name[0] == '\0' && given)
		snprintf(name, sizeof(name), "%s", given);
	snprintf(shown, sizeof(shown), "%s", sha);
	return json_pack("{s:s?, s:s}", "image", name[0] ? name : NULL,
	    "sha256", shown);
}

/* Why a copy stays, in words. */
static void
prune_why(const struct imgcache_drop *d, json_t *e)
{
	char why[160];

	if (d->fate == IC_BUSY)
		snprintf(why, sizeof(why), "being copied or pruned right now");
	else if (d->fate == IC_FAILED)
		snprintf(why, sizeof(why), "%.150s", err_last()->msg);
	else if (d->use.disks > 0)
		snprintf(why, sizeof(why), "used by %lld disk%s",
		    (long long)d->use.disks, d->use.disks == 1 ? "" : "s");
	else
		snprintf(why, sizeof(why), "an operation under way brings a "
		    "disk made from it here");
	json_object_set_new(e, "reason", json_string(why));
	if (d->fate == IC_KEPT && d->use.disks == 0 && d->use.op_id[0])
		json_object_set_new(e, "operation", json_string(d->use.op_id));
}

/* Totals across hosts, and the first failure. */
struct prune_sum {
	int64_t removed, kept, forgotten, unreachable;
	struct err e;
	bool failed;
};

/* Prune one copy on host h; its entry goes into the host's lists. */
static void
prune_one(struct op_ctx *x, struct backend_conn *bc, const char *pool,
    const struct host_rec *h, const char *sha, json_t *hj,
    struct prune_sum *s)
{
	struct imgcache_drop d;
	json_t *e = prune_entry(x, sha);
	const char *list = "kept";

	err_clear();
	if (imgcache_drop(x->app, bc, h->id, pool, sha, false, &d) < 0) {
		log_warnx("op %s: cannot remove the copy of image %.12s on "
		    "host '%s': %s", x->op.id, sha, h->name, err_last()->msg);
		if (!s->failed)
			err_save(&s->e);
		s->failed = true;
	}
	if (d.fate == IC_REMOVED) {
		list = "removed";
		s->removed++;
	} else if (d.fate == IC_FORGOTTEN) {
		list = "forgotten";
		s->forgotten++;
		log_info("op %s: host '%s' had lost its copy of image %.12s: "
		    "forgotten", x->op.id, h->name, sha);
	} else {
		prune_why(&d, e);
		s->kept++;
	}
	json_array_append_new(json_object_get(hj, list), e);
	err_clear();
}

/* Prune host h's copies (of params' sha256 only, when given); a host
 * that holds any (or cannot be reached) into hosts. */
static void
prune_host(struct op_ctx *x, const struct host_rec *h, json_t *hosts,
    struct prune_sum *s)
{
	const char *sha = json_string_value(json_object_get(x->params,
	    "sha256"));
	struct prune_rows rows = { 0 };
	char pool[FLEET_POOL_MAX] = "";
	struct backend_conn *bc = NULL;
	struct store_conn *c;
	json_t *hj = json_pack("{s:s, s:[], s:[], s:[]}", "host", h->name,
	    "removed", "kept", "forgotten");
	int r;

	c = store_read_begin(x->app->store);
	r = store_host_image_each(c, h->id, sha, prune_row_add, &rows);
	store_read_end(c);
	if (r == 0 && rows.n > 0 &&
	    ((bc = fleet_conn(x->app->fleet, h->id)) == NULL ||
	    fleet_pool(x->app->fleet, h->id, pool, sizeof(pool)) < 0)) {
		log_warnx("op %s: host '%s' cannot be reached; its %zu image "
		    "cop%s stay: %s", x->op.id, h->name, rows.n, rows.n == 1 ?
		    "y" : "ies", err_last()->msg);
		json_object_set_new(hj, "unreachable", json_true());
		s->unreachable++;
		r = 0;
		rows.n = 0;
	}
	for (size_t i = 0; r == 0 && i < rows.n; i++)
		prune_one(x, bc, pool, h, rows.sha[i], hj, s);
	/* a host that holds no copy is not listed */
	if (rows.n > 0 || json_object_get(hj, "unreachable"))
		json_array_append_new(hosts, hj);
	else
		json_decref(hj);
	if (r < 0 && !s->failed) {
		err_save(&s->e);
		s->failed = true;
	}
	free(rows.sha);
	err_clear();
}

/* The result, into the journal ("hosts" dropped if it does not fit). */
static void
prune_report(struct op_ctx *x, const struct prune_sum *s, json_t *hosts)
{
	json_t *res = json_pack("{s:I, s:I, s:I, s:I, s:O}", "removed",
	    (json_int_t)s->removed, "kept", (json_int_t)s->kept, "forgotten",
	    (json_int_t)s->forgotten, "unreachable",
	    (json_int_t)s->unreachable, "hosts", hosts);
	char *text = res ? json_dumps(res, JSON_COMPACT) : NULL;

	if (res && (text == NULL || strlen(text) >= sizeof(x->op.progress)))
		json_object_del(res, "hosts");
	free(text);
	if (res)
		ops_progress(x, res);
	json_decref(res);
}

int
ops_prune_run(struct op_ctx *x)
{
	struct prune_hosts l = { 0 };
	struct prune_sum s;
	json_t *hosts = json_array();
	const char *one = json_string_value(json_object_get(x->params,
	    "host"));

	memset(&s, 0, sizeof(s));
	if (hosts == NULL || prune_load_hosts(x, &l) < 0) {
		json_decref(hosts);
		free(l.h);
		return -1;
	}
	for (size_t i = 0; i < l.n && !ops_cancelled(x); i++) {
		char step[96];

		snprintf(step, sizeof(step), "pruning host '%s'", l.h[i].name);
		ops_step(x, step);
		prune_host(x, &l.h[i], hosts, &s);
	}
	free(l.h);
	prune_report(x, &s, hosts);
	json_decref(hosts);
	if (s.failed) {
		err_restore(&s.e);
		/* the delete's: a host gone while it was asked, again later */
		x->unsettled = one == NULL && err_last()->code ==
		    ERR_UNAVAILABLE && json_is_true(json_object_get(x->params,
		    "until_reached"));
		return -1;
	}
	if (ops_cancelled(x))
		return ops_cancel_now(x, "between two hosts");
	if (s.unreachable == 0 || (one == NULL && !json_is_true(
	    json_object_get(x->params, "until_reached"))))
		return 0;
	x->unsettled = one == NULL;     /* the delete's: again later */
	return err_set(ERR_UNAVAILABLE, "%s cannot be reached; its copies "
	    "stay until it can", one ? "the host" : "a host holding a copy");
}

/* --- the request --- */

int
prune_op_make(const char *host, const char *sha256, const char *name,
    bool until_reached, struct op_rec *op)
{
	json_t *p = json_pack("{s:s?, s:s?, s:s?, s:b}", "host", host,
	    "sha256", sha256, "name", name, "until_reached", until_reached);
	char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
	uuid_t u;

	json_decref(p);
	if (text == NULL || strlen(text) >= sizeof(op->params)) {
		free(text);
		return err_set(ERR_INTERNAL, "out of memory");
	}
	memset(op, 0, sizeof(*op));
	uuid_generate_random(u);
	uuid_unparse_lower(u, op->id);
	op->kind = OP_IMAGE_PRUNE;
	snprintf(op->params, sizeof(op->params), "%s", text);
	free(text);
	return 0;
}

struct prune_tx {
	const struct prune_request *rq;
	struct op_rec *op;
};

static int
prune_tx(struct store_conn *c, void *arg)
{
	struct prune_tx *t = arg;
	struct host_rec h;
	struct image_rec im;

	if (t->rq->host && store_host_get(c, t->rq->host, &h) < 0)
		return err_set_field(ERR_UNPROCESSABLE, "host", "host '%s' is "
		    "not registered", t->rq->host);
	if (t->rq->image && store_image_get(c, t->rq->image, &im) < 0)
		return err_set_field(ERR_UNPROCESSABLE, "image", "image '%s' "
		    "is not in the library", t->rq->image);
	if (t->rq->image && im.sha256[0] == '\0')
		return err_set_field(ERR_CONFLICT, "image", "image '%s' is "
		    "being imported: no host holds a copy yet", t->rq->image);
	if (prune_op_make(t->rq->host, t->rq->image ? im.sha256 : NULL,
	    t->rq->image, false, t->op) < 0)
		return -1;
	if (t->rq->idem_key)
		snprintf(t->op->idem_key, sizeof(t->op->idem_key), "%s",
		    t->rq->idem_key);
	return store_op_insert(c, t->op);
}

int
prune_request(struct app *app, const struct prune_request *rq,
    struct op_rec *op)
{
	struct prune_tx t = { rq, op };

	if (store_tx(app->store, prune_tx, &t) < 0)
		return -1;
	ops_submit(app->ops, op->id);
	return 0;
}
