/*
 * imgcache.c - each host's cached copy of a library image: a base volume
 * in the host's pool, named by the image's sha256, that linked clones
 * are overlays of.  It is uploaded the first time a disk made from the
 * image lands on the host (once per host, however many creates ask at
 * once: the asks wait on an in-process lock per host and image), kept,
 * and removed when no disk on the host uses it any more.
 *
 * The host_images row is the durable truth: 'copying' from before the
 * first byte is sent to after the last, then 'ready'.  A copy found
 * 'copying', or 'ready' but gone from the pool, is made again.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

#define IMGCACHE_BUSY_MAX 64

/* The (host, image) pairs being uploaded or pruned now. */
static pthread_mutex_t ic_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ic_cv = PTHREAD_COND_INITIALIZER;
static struct {
	int64_t host_id;
	char sha256[65];
} ic_busy[IMGCACHE_BUSY_MAX];
static int ic_nbusy;

static int
ic_find(int64_t host_id, const char *sha256)
{
	for (int i = 0; i < ic_nbusy; i++)
		if (ic_busy[i].host_id == host_id &&
		    strcmp(ic_busy[i].sha256, sha256) == 0)
			return i;
	return -1;
}

/* Wait until nobody works on (host, image), then claim it. */
static void
ic_claim(int64_t host_id, const char *sha256)
{
	pthread_mutex_lock(&ic_mu);
	while (ic_find(host_id, sha256) >= 0 || ic_nbusy == IMGCACHE_BUSY_MAX)
		pthread_cond_wait(&ic_cv, &ic_mu);
	ic_busy[ic_nbusy].host_id = host_id;
	snprintf(ic_busy[ic_nbusy].sha256, sizeof(ic_busy[0].sha256), "%s",
	    sha256);
	ic_nbusy++;
	pthread_mutex_unlock(&ic_mu);
}

/* Claim (host, image) unless somebody works on it now: false then. */
static bool
ic_try_claim(int64_t host_id, const char *sha256)
{
	bool ok;

	pthread_mutex_lock(&ic_mu);
	ok = ic_find(host_id, sha256) < 0 && ic_nbusy < IMGCACHE_BUSY_MAX;
	if (ok) {
		ic_busy[ic_nbusy].host_id = host_id;
		snprintf(ic_busy[ic_nbusy].sha256, sizeof(ic_busy[0].sha256),
		    "%s", sha256);
		ic_nbusy++;
	}
	pthread_mutex_unlock(&ic_mu);
	return ok;
}

static void
ic_release(int64_t host_id, const char *sha256)
{
	int i;

	pthread_mutex_lock(&ic_mu);
	if ((i = ic_find(host_id, sha256)) >= 0)
		ic_busy[i] = ic_busy[--ic_nbusy];
	pthread_cond_broadcast(&ic_cv);
	pthread_mutex_unlock(&ic_mu);
}

void
imgcache_volume(const char *sha256, char *out)
{
	snprintf(out, DISK_VOLUME_LEN, "base-%s.qcow2", sha256);
}

bool
imgcache_sha(const char *vol, char *out, size_t len)
{
	size_t n = strlen(vol);

	if (strncmp(vol, "base-", 5) != 0 || n < 12 ||
	    strcmp(vol + n - 6, ".qcow2") != 0 || n - 11 >= len)
		return false;
	memcpy(out, vol + 5, n - 11);
	out[n - 11] = '\0';
	return true;
}

static int
ic_put_tx(struct store_conn *c, void *arg)
{
	return store_host_image_put(c, arg);
}

static int
ic_del_tx(struct store_conn *c, void *arg)
{
	const struct host_image_rec *h = arg;

	return store_host_image_delete(c, h->host_id, h->sha256);
}

/* Is there a whole copy?  1 with its path, 0 not, -1 cannot tell. */
static int
ic_have(struct app *app, struct backend_conn *bc, const char *pool,
    struct host_image_rec *h, char *path, size_t len)
{
	struct store_conn *c = store_read_begin(app->store);
	struct host_image_rec got;
	int r = store_host_image_get(c, h->host_id, h->sha256, &got);

	store_read_end(c);
	if (r < 0) {
		if (err_last()->code != ERR_NOT_FOUND)
			return -1;
		err_clear();
		return 0;
	}
	if (strcmp(got.state, "ready") != 0)
		return 0;
	if (backend_volume_path(bc, pool, h->volume, path, len) == 0)
		return 1;
	if (err_last()->code != ERR_NOT_FOUND)
		return -1;
	err_clear();
	return 0;
}

/* Upload the image as the host's base volume, row first. */
static int
ic_upload(struct app *app, struct backend_conn *bc, const char *pool,
    struct host_image_rec *h, const struct image_rec *im, char *path,
    size_t len)
{
	struct err e;

	snprintf(h->state, sizeof(h->state), "copying");
	if (store_tx(app->store, ic_put_tx, h) < 0 ||
	    backend_volume_delete(bc, pool, h->volume) < 0)
		return -1;
	log_info("imgcache: copying image '%s' (%lld bytes) to host #%lld",
	    im->name, (long long)im->actual_size, (long long)h->host_id);
	if (backend_volume_upload(bc, pool, h->volume, im->path,
	    im->virtual_size, path, len) == 0) {
		snprintf(h->state, sizeof(h->state), "ready");
		if (store_tx(app->store, ic_put_tx, h) == 0)
			return 0;
	}
	err_save(&e);
	if (backend_volume_delete(bc, pool, h->volume) == 0)
		store_tx(app->store, ic_del_tx, h);
	err_restore(&e);
	return -1;
}

int
imgcache_base(struct app *app, struct backend_conn *bc, int64_t host_id,
    const char *pool, const struct image_rec *im, char *path, size_t len)
{
	struct host_image_rec h;
	int r;

	if (strcmp(im->state, "ready") != 0 || im->sha256[0] == '\0')
		return err_set(ERR_CONFLICT, "image '%s' is %s, not ready",
		    im->name, im->state);
	memset(&h, 0, sizeof(h));
	h.host_id = host_id;
	snprintf(h.sha256, sizeof(h.sha256), "%s", im->sha256);
	imgcache_volume(im->sha256, h.volume);
	ic_claim(host_id, im->sha256);
	r = ic_have(app, bc, pool, &h, path, len);
	if (r == 0)
		r = ic_upload(app, bc, pool, &h, im, path, len) == 0 ? 1 : -1;
	ic_release(host_id, im->sha256);
	return r < 0 ? -1 : 0;
}

/* With (host, image) claimed: what keeps the copy, else remove it. */
static int
ic_drop_claimed(struct app *app, struct backend_conn *bc, const char *pool,
    struct host_image_rec *h, struct imgcache_drop *out)
{
	struct store_conn *c = store_read_begin(app->store);
	char path[1024];
	int r;

	r = store_host_image_use(c, h->host_id, h->sha256, 0, &out->use);
	store_read_end(c);
	if (r < 0)
		return -1;
	if (out->use.disks > 0 || out->use.op_id[0]) {
		out->fate = IC_KEPT;
		return 0;
	}
	out->fate = IC_REMOVED;
	if (backend_volume_path(bc, pool, h->volume, path, sizeof(path)) < 0) {
		if (err_last()->code != ERR_NOT_FOUND)
			return -1;
		err_clear();
		out->fate = IC_FORGOTTEN;
	} else if (backend_volume_delete(bc, pool, h->volume) < 0) {
		return -1;
	}
	return store_tx(app->store, ic_del_tx, h);
}

int
imgcache_drop(struct app *app, struct backend_conn *bc, int64_t host_id,
    const char *pool, const char *sha256, bool wait,
    struct imgcache_drop *out)
{
	struct host_image_rec h;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&h, 0, sizeof(h));
	h.host_id = host_id;
	snprintf(h.sha256, sizeof(h.sha256), "%s", sha256);
	imgcache_volume(sha256, h.volume);
	if (!wait && !ic_try_claim(host_id, sha256)) {
		out->fate = IC_BUSY;
		return 0;
	}
	if (wait)
		ic_claim(host_id, sha256);
	r = ic_drop_claimed(app, bc, pool, &h, out);
	ic_release(host_id, sha256);
	if (r < 0)
		out->fate = IC_FAILED;
	else if (out->fate == IC_REMOVED)
		log_info("imgcache: host #%lld no longer keeps %s",
		    (long long)host_id, h.volume);
	return r;
}

void
imgcache_prune(struct app *app, struct backend_conn *bc, int64_t host_id,
    const char *pool, const char *vol)
{
	struct imgcache_drop d;
	char sha[65];

	if (!imgcache_sha(vol, sha, sizeof(sha)))
		return;
	err_clear();
	if (imgcache_drop(app, bc, host_id, pool, sha, true, &d) < 0) {
		log_warnx("imgcache: cannot prune %s on host #%lld: %s", vol,
		    (long long)host_id, err_last()->msg);
		err_clear();
	}
}
