/*
 * backup_direct.c - does a VM's host see backup_dir at the same path?
 *
 * Then its backup job can write each disk straight into backup_dir
 * (QEMU writes the file once, hangard reads it once to hash it), instead
 * of beside the disk on the host and then through a libvirt stream into
 * backup_dir (a second write and a read more).  The local host sees it;
 * so does every host of a fleet that mounts one NFS export at the same
 * path.  hangard finds out by a probe: it writes a file of random bytes
 * under a random name into backup_dir and asks the host to read it back
 * (backend_file_seen); only the same bytes at the same path are a yes.
 * The verdict is kept per host for BD_TTL_MS, so a backup asks at most
 * that often; a host that could not be asked gets no verdict (it is
 * asked again next time) and its backups take the stream.
 * backup_direct = 0 in the config turns the direct route off.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

#define BD_TTL_MS (10 * 60 * 1000)
#define BD_HOSTS 64

struct bd_verdict {
	int64_t host_id;             /* 0: a free slot */
	int64_t at_ms;
	bool seen;
};

static pthread_mutex_t bd_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bd_verdict bd_cache[BD_HOSTS];

/* The cached verdict of host_id into *seen: true when there is one. */
static bool
bd_cached(int64_t host_id, bool *seen)
{
	int64_t now = time_now_ms();
	bool hit = false;

	pthread_mutex_lock(&bd_mu);
	for (int i = 0; i < BD_HOSTS && !hit; i++)
		if (bd_cache[i].host_id == host_id &&
		    now - bd_cache[i].at_ms < BD_TTL_MS) {
			*seen = bd_cache[i].seen;
			hit = true;
		}
	pthread_mutex_unlock(&bd_mu);
	return hit;
}

/* Keep host_id's verdict, in its slot or the oldest one. */
static void
bd_keep(int64_t host_id, bool seen)
{
	int slot = 0;

	pthread_mutex_lock(&bd_mu);
	for (int i = 0; i < BD_HOSTS; i++) {
		if (bd_cache[i].host_id == host_id) {
			slot = i;
			break;
		}
		if (bd_cache[i].at_ms < bd_cache[slot].at_ms)
			slot = i;
	}
	bd_cache[slot].host_id = host_id;
	bd_cache[slot].at_ms = time_now_ms();
	bd_cache[slot].seen = seen;
	pthread_mutex_unlock(&bd_mu);
}

/* Write the probe (its bytes: a fresh UUID) at path; 0 or -1. */
static int
bd_write_probe(const char *path, const char *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ssize_t w;

	if (fd < 0)
		return err_set(ERR_UNAVAILABLE, "cannot make '%s': %s", path,
		    strerror(errno));
	w = write(fd, bytes, len);
	if (close(fd) < 0 || w != (ssize_t)len) {
		(void)unlink(path);
		return err_set(ERR_UNAVAILABLE, "cannot write '%s'", path);
	}
	return 0;
}

/* Ask host_id's host now; -1 when it could not be asked. */
static int
bd_probe(struct app *app, int64_t host_id, bool *seen)
{
	char path[CONFIG_STR_MAX + 64], bytes[UUID_STR_LEN];
	struct backend_conn *bc;
	uuid_t u;
	int r;

	*seen = false;
	if ((bc = fleet_conn(app->fleet, host_id)) == NULL)
		return -1;
	if (mkdir(app->cfg.backup_dir, 0750) < 0 && errno != EEXIST)
		return err_set(ERR_UNAVAILABLE, "cannot make '%s': %s",
		    app->cfg.backup_dir, strerror(errno));
	uuid_generate_random(u);
	uuid_unparse_lower(u, bytes);
	if ((size_t)snprintf(path, sizeof(path), "%s/.probe-%s",
	    app->cfg.backup_dir, bytes) >= sizeof(path))
		return err_set(ERR_INTERNAL, "backup_dir '%s' is too long",
		    app->cfg.backup_dir);
	/* other bytes than its name: a copy of the name proves nothing */
	uuid_generate_random(u);
	uuid_unparse_lower(u, bytes);
	if (bd_write_probe(path, bytes, strlen(bytes)) < 0)
		return -1;
	r = backend_file_seen(bc, path, bytes, strlen(bytes), seen);
	(void)unlink(path);
	return r;
}

bool
backups_direct(struct app *app, int64_t host_id)
{
	bool seen = false;
	struct err e;

	if (!app->cfg.backup_direct)
		return false;
	if (bd_cached(host_id, &seen))
		return seen;
	err_save(&e);
	if (bd_probe(app, host_id, &seen) < 0) {
		log_warnx("backups: cannot tell whether host #%lld sees "
		    "backup_dir '%s' (its backups go through a stream): %s",
		    (long long)host_id, app->cfg.backup_dir, err_last()->msg);
		err_restore(&e);
		return false;
	}
	err_restore(&e);
	bd_keep(host_id, seen);
	log_info("backups: host #%lld %s backup_dir '%s' at the same path: "
	    "its backups are %s", (long long)host_id, seen ? "sees" :
	    "does not see", app->cfg.backup_dir, seen ? "written there "
	    "directly" : "copied there through libvirt");
	return seen;
}
