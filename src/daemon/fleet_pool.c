/*
 * fleet_pool.c - each host's storage pool: which libvirt pool holds its
 * VM disks, moving them to another directory, and finding out whether
 * two hosts see the same disks.
 *
 * The rule: a host keeps its disks in the directory it was given
 * (pool_path, else the configured one), and its pool is the pool that
 * really is at that directory.  libvirt's pool there is used whatever it
 * is called (an install whose `hangar` is already there keeps it; so
 * does one whose admin made a pool there); when there is none, one is
 * defined, named by the directory: the configured pool_name for the
 * configured pool_path (what every earlier release made), else
 * pool_name + "-" + 8 hex digits of an FNV-1a hash of the path
 * ("hangar-1f3e5a7c").  A hash, not the path spelled out with '/'
 * replaced: "/srv/p-2" and "/srv/p/2" would become one name, long paths
 * do not fit a pool name, and a hash is as stable across restarts and
 * daemons; the path itself is in the pool's XML and in the host's
 * record.  A pool of that name already at another directory (a hash
 * collision, or one made by hand) is refused with ERR_CONFLICT naming it
 * and its directory: never is a disk put anywhere but where the host was
 * told.  Old pools are left alone.
 *
 * Sharing is found, not declared: a small marker volume
 * (.hangar-marker-UUID) is made through one host's pool and looked up
 * through the other's (refreshed first), then deleted.  Found at the
 * same path there, the two hosts share storage (a migration leaves the
 * disk where it is); not found, or found at another path (the same files
 * mounted elsewhere, where the disk's path would not hold), they do not
 * (the disk is copied).  What is found is kept per pair of hosts: it is a
 * fact about two pools, not one (a host may share with some hosts and not
 * others), it is only asked for the pairs a migration touches (not the
 * n^2 of a fleet), and it is forgotten when either host's pool changes,
 * and after FLEET_SHARE_TTL_MS (a mount can come or go under us).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/path.h"
#include "fleet_int.h"

#define FLEET_SHARE_TTL_MS (10 * 60 * 1000)

/* What was found about one pair of hosts (a < b). */
struct fleet_share {
	int64_t a, b;
	bool shared;
	int64_t at_ms;             /* when it was found */
	char why[1200];
};

struct fleet_shares {
	pthread_mutex_t mu;
	struct fleet_share *v;     /* owned */
	size_t n, cap;
};

/* The name of a new pool for VM disks at path (see the top). */
static void
fleet_pool_name(const struct config *cfg, const char *path, char *out,
    size_t len)
{
	char norm[CONFIG_STR_MAX];
	uint64_t h;

	if (path_same(path, cfg->pool_path)) {
		snprintf(out, len, "%s", cfg->pool_name);
		return;
	}
	path_norm(path, norm, sizeof(norm));
	h = fleet_fnv(FLEET_FNV0, norm, strlen(norm));
	snprintf(out, len, "%s-%08x", cfg->pool_name,
	    (unsigned)((h ^ (h >> 32)) & 0xffffffffu));
}

int
fleet_pool_at(struct fleet *f, struct backend_conn *bc, const char *path,
    const char *hint, struct fleet_facts *ff)
{
	if (path == NULL)
		path = f->cfg->pool_path;
	/* the pool found last time, if it is still there: one lookup (if
	 * it moved or cannot be made again, the whole rule is followed) */
	if (hint) {
		snprintf(ff->pool, sizeof(ff->pool), "%s", hint);
		if (backend_pool_ensure(bc, ff->pool, path, &ff->disk_gib,
		    &ff->disk_free_gib) == 0)
			return 0;
		if (err_last()->code == ERR_UNAVAILABLE)
			return -1;
	}
	if (backend_pool_find(bc, path, ff->pool, sizeof(ff->pool)) < 0) {
		if (err_last()->code != ERR_NOT_FOUND)
			return -1;
		fleet_pool_name(f->cfg, path, ff->pool, sizeof(ff->pool));
	}
	return backend_pool_ensure(bc, ff->pool, path, &ff->disk_gib,
	    &ff->disk_free_gib);
}

int
fleet_pool(struct fleet *f, int64_t host_id, char *out, size_t len)
{
	struct fleet_host *fh = fleet_find(f, host_id);
	int r = 0;

	if (fh == NULL)
		return err_set(ERR_NOT_FOUND, "host #%lld is not registered",
		    (long long)host_id);
	pthread_mutex_lock(&fh->mu);
	if (fh->pool)
		snprintf(out, len, "%s", fh->pool);
	else
		r = err_set(ERR_UNAVAILABLE, "the storage pool of host '%s' is "
		    "not known yet: it has not been reached", fh->name);
	pthread_mutex_unlock(&fh->mu);
	return r;
}

int
fleet_pool_ensure(struct fleet *f, int64_t host_id, char *out, size_t len)
{
	struct fleet_host *fh = fleet_find(f, host_id);
	int r = -1;

	if (fh == NULL)
		return err_set(ERR_NOT_FOUND, "host #%lld is not registered",
		    (long long)host_id);
	pthread_mutex_lock(&fh->mu);
	if (fh->bc == NULL)
		err_set(ERR_UNAVAILABLE, "host '%s' is unreachable", fh->name);
	else if ((r = fleet_look(f, fh)) == 0)
		snprintf(out, len, "%s", fh->pool ? fh->pool : "");
	pthread_mutex_unlock(&fh->mu);
	return r;
}

/* --- a host's pool moving to another directory --- */

struct fleet_move {
	int64_t id;
	const char *path;
	struct host_rec h;
};

/* Is op a migration to host *arg?  -1 (ERR_CONFLICT) stops the walk. */
static int
fleet_move_incoming(const struct op_rec *op, void *arg)
{
	int64_t id = *(int64_t *)arg;
	json_t *p;
	int r = 0;

	if (op->kind != OP_MIGRATE && op->kind != OP_RESIZE)
		return 0;   /* a resize may move its VM (resize.c) */
	if ((p = json_loads(op->params, 0, NULL)) == NULL)
		return 0;
	if (json_integer_value(json_object_get(p, "to_id")) == id)
		r = err_set(ERR_CONFLICT, "a migration to this host is under "
		    "way (operation %s): its disk goes to the current pool",
		    op->id);
	json_decref(p);
	return r;
}

/* No VM on the host, none coming: then its pool_path changes. */
static int
fleet_move_tx(struct store_conn *c, void *arg)
{
	struct fleet_move *m = arg;
	int r;

	/* by name: only that lookup counts the host's VMs */
	if (store_host_get_id(c, m->id, &m->h) < 0 ||
	    store_host_get(c, m->h.name, &m->h) < 0)
		return -1;
	if (m->h.vms > 0)
		return err_set_field(ERR_CONFLICT, "pool_path", "host '%s' "
		    "holds %d VM(s) whose disks are in its current pool at "
		    "'%s'; move or delete them before changing pool_path",
		    m->h.name, m->h.vms, m->h.pool_path[0] ? m->h.pool_path :
		    "(the configured pool_path)");
	if ((r = store_op_each_unfinished(c, fleet_move_incoming,
	    &m->id)) < 0) {
		struct err e;

		if (err_last()->code != ERR_CONFLICT)
			return -1;
		err_save(&e);
		return err_set_field(ERR_CONFLICT, "pool_path", "host '%s' "
		    "cannot change pool_path now: %s", m->h.name, e.msg);
	}
	snprintf(m->h.pool_path, sizeof(m->h.pool_path), "%s", m->path);
	if (store_host_update_settings(c, &m->h) < 0)
		return -1;
	return store_host_get(c, m->h.name, &m->h);
}

/*
 * Make sure fh's (its mutex held, reachable) pool at path is there; the
 * client's path is what is wrong when libvirt cannot use it.
 */
static int
fleet_move_ensure(struct fleet *f, struct fleet_host *fh, const char *path,
    struct fleet_facts *ff)
{
	struct err e;

	memset(ff, 0, sizeof(*ff));
	if (fleet_pool_at(f, fh->bc, path[0] ? path : NULL, NULL, ff) == 0)
		return 0;
	err_save(&e);
	if (e.code == ERR_CONFLICT || e.code == ERR_UNAVAILABLE)
		return err_set_field(e.code, "pool_path", "%s", e.msg);
	return err_set_field(ERR_UNPROCESSABLE, "pool_path", "cannot keep "
	    "the disks of host '%s' in '%s': %s", fh->name, path[0] ? path :
	    f->cfg->pool_path, e.msg);
}

int
fleet_set_pool_path(struct fleet *f, int64_t host_id, const char *path,
    struct host_rec *h)
{
	struct fleet_host *fh = fleet_find(f, host_id);
	struct fleet_move m = { host_id, path, { 0 } };
	struct fleet_facts ff;
	char *dup = NULL;
	int r = -1;

	if (fh == NULL)
		return err_set(ERR_NOT_FOUND, "host #%lld is not registered",
		    (long long)host_id);
	/* lock order: the host's mu, then the view's lock, then the store */
	pthread_mutex_lock(&fh->mu);
	if (!fh->reachable && fleet_connect(f, fh, NULL) < 0)
		goto done;
	if (path[0] && (dup = strdup(path)) == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		goto done;
	}
	if (fleet_move_ensure(f, fh, path, &ff) < 0)
		goto done;
	view_lock(f->view);
	r = store_tx(f->store, fleet_move_tx, &m);
	if (r == 0)
		r = view_host_put_locked(f->view, &m.h);
	view_unlock(f->view);
	if (r < 0)
		goto done;
	free(fh->pool_path);
	fh->pool_path = dup;
	dup = NULL;
	free(fh->pool);
	fh->pool = strdup(ff.pool);
	fleet_shares_forget(f, host_id);
	log_info("fleet: host '%s' keeps its disks in pool '%s' at '%s' now",
	    fh->name, ff.pool, path[0] ? path : f->cfg->pool_path);
	/* its capacity is the new pool's: recorded at once */
	if (fleet_look(f, fh) < 0) {
		log_warnx("fleet: cannot refresh host '%s': %s", fh->name,
		    err_last()->msg);
		err_clear();
	}
	*h = m.h;
	{
		struct store_conn *c = store_read_begin(f->store);

		if (store_host_get(c, m.h.name, h) < 0)
			*h = m.h;
		store_read_end(c);
	}
	err_clear();
done:
	free(dup);
	pthread_mutex_unlock(&fh->mu);
	return r;
}

/* --- shared storage, found out --- */

void
fleet_shares_new(struct fleet *f)
{
	struct fleet_shares *s = calloc(1, sizeof(*s));

	if (s != NULL)
		pthread_mutex_init(&s->mu, NULL);
	f->shares = s;             /* NULL: nothing is kept */
}

void
fleet_shares_free(struct fleet *f)
{
	if (f->shares == NULL)
		return;
	pthread_mutex_destroy(&f->shares->mu);
	free(f->shares->v);
	free(f->shares);
	f->shares = NULL;
}

void
fleet_shares_forget(struct fleet *f, int64_t host_id)
{
	struct fleet_shares *s = f->shares;
	size_t i = 0;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	while (i < s->n) {
		if (s->v[i].a == host_id || s->v[i].b == host_id)
			s->v[i] = s->v[--s->n];
		else
			i++;
	}
	pthread_mutex_unlock(&s->mu);
}

/* What is kept about a and b (a < b), if still fresh, into *out. */
static bool
fleet_shares_get(struct fleet *f, int64_t a, int64_t b,
    struct fleet_share *out)
{
	struct fleet_shares *s = f->shares;
	bool hit = false;

	if (s == NULL)
		return false;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n && !hit; i++) {
		if (s->v[i].a != a || s->v[i].b != b)
			continue;
		if (time_now_ms() - s->v[i].at_ms < FLEET_SHARE_TTL_MS) {
			*out = s->v[i];
			hit = true;
		} else {
			s->v[i] = s->v[--s->n];
		}
	}
	pthread_mutex_unlock(&s->mu);
	return hit;
}

/* Keep what was found (out of memory: it is found again next time). */
static void
fleet_shares_put(struct fleet *f, const struct fleet_share *sh)
{
	struct fleet_shares *s = f->shares;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct fleet_share *nv = realloc(s->v, cap * sizeof(*nv));

		if (nv == NULL) {
			pthread_mutex_unlock(&s->mu);
			return;
		}
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = *sh;
	pthread_mutex_unlock(&s->mu);
}

/* The two ends of a probe: a host's connection, name and pool. */
struct fleet_end {
	struct backend_conn *bc;
	const char *name;
	char pool[FLEET_POOL_MAX];
};

static int
fleet_end(struct fleet *f, int64_t id, struct fleet_end *e)
{
	struct fleet_host *fh = fleet_find(f, id);

	if (fh == NULL)
		return err_set(ERR_NOT_FOUND, "host #%lld is not registered",
		    (long long)id);
	e->name = fh->name;        /* fixed for the fleet's life */
	if ((e->bc = fleet_conn(f, id)) == NULL ||
	    fleet_pool(f, id, e->pool, sizeof(e->pool)) < 0)
		return -1;
	return 0;
}

/*
 * Write a marker through a's pool, look for it through b's, delete it:
 * what is found into sh.  0, or -1 with an error.
 */
static int
fleet_probe(const struct fleet_end *a, const struct fleet_end *b,
    struct fleet_share *sh)
{
	char marker[64], pa[4096], pb[4096];
	struct err e;
	uuid_t u;
	int r;

	uuid_generate_random(u);
	memcpy(marker, ".hangar-marker-", 16);
	uuid_unparse_lower(u, marker + 15);
	if (backend_volume_create(a->bc, a->pool, marker, 0, pa,
	    sizeof(pa)) < 0)
		return -1;
	r = backend_volume_path(b->bc, b->pool, marker, pb, sizeof(pb));
	sh->shared = r == 0 && path_same(pa, pb);
	/* the directories, for the reason */
	if (strrchr(pa, '/'))
		*strrchr(pa, '/') = '\0';
	if (r == 0 && strrchr(pb, '/'))
		*strrchr(pb, '/') = '\0';
	if (sh->shared) {
		snprintf(sh->why, sizeof(sh->why), "hosts '%s' and '%s' share "
		    "storage: both see '%.400s'", a->name, b->name, pa);
	} else if (r == 0) {
		snprintf(sh->why, sizeof(sh->why), "hosts '%s' and '%s' see "
		    "the same files at different paths ('%.400s' and "
		    "'%.400s'): a disk is copied", a->name, b->name, pa, pb);
	} else if (err_last()->code == ERR_NOT_FOUND) {
		snprintf(sh->why, sizeof(sh->why), "hosts '%s' and '%s' do not "
		    "share storage: a file made in '%.400s' on '%s' is not "
		    "seen by '%s'", a->name, b->name, pa, a->name, b->name);
		r = 0;
	}
	err_save(&e);
	if (backend_volume_delete(a->bc, a->pool, marker) < 0)
		log_warnx("fleet: the marker '%s' in pool '%s' of host '%s' "
		    "stays: %s", marker, a->pool, a->name, err_last()->msg);
	err_restore(&e);
	return r;
}

int
fleet_shared(struct fleet *f, int64_t a, int64_t b, bool *shared,
    char *why, size_t why_len)
{
	struct fleet_end ea, eb;
	struct fleet_share sh;

	memset(&sh, 0, sizeof(sh));
	sh.a = a < b ? a : b;
	sh.b = a < b ? b : a;
	if (!fleet_shares_get(f, sh.a, sh.b, &sh)) {
		if (fleet_end(f, sh.a, &ea) < 0 || fleet_end(f, sh.b, &eb) < 0)
			return -1;
		if (a == b) {
			sh.shared = true;
			snprintf(sh.why, sizeof(sh.why), "the same host");
		} else if (fleet_probe(&ea, &eb, &sh) < 0) {
			return -1;
		}
		sh.at_ms = time_now_ms();
		fleet_shares_put(f, &sh);
		log_info("fleet: %s", sh.why);
	}
	*shared = sh.shared;
	if (why)
		snprintf(why, why_len, "%s", sh.why);
	return 0;
}
