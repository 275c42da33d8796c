/*
 * ops_backup.c - the backup operation: a push-mode libvirt backup job of
 * the VM's disks, with a checkpoint the next incremental one builds on,
 * then its files in backup_dir, hashed.
 *
 * Where the bytes go: libvirt can only write a backup where its host can
 * write, and backup_dir is hangard's (an NFS mount, say, that the host
 * need not see).  When the request found that the host sees backup_dir
 * at the same path (backup_direct.c: params "direct"), the job writes
 * each disk straight into backup_dir/<vm uuid>/<id>/<dev>.qcow2 and
 * hangard only reads it once to hash it.  Otherwise the job writes each
 * disk beside the disk itself, in the host's pool directory
 * (<vm uuid>.backup.<id>.<dev>.qcow2), and hangard then pulls every file
 * through a libvirt storage stream (file_fetch) into backup_dir and
 * removes it from the host: the way for any host, remote or not.
 *
 * A stopped VM (params "offline") is backed up the way Proxmox does it:
 * its domain is started paused (no guest code runs; QEMU opens the disks
 * and loads their persistent dirty bitmaps, so incrementals work as for
 * a running VM), the same job runs, and the domain is destroyed again
 * (QEMU's orderly exit stores the bitmaps of the new checkpoint).  The
 * operation holds the VM meanwhile, so nothing else starts it, and its
 * state stays "stopped": the closing transaction records what libvirt
 * says once the domain is gone.  Every way out of the run (success,
 * failure, cancel, and the recovery after a restart, which polls the
 * job again and ends the same way) destroys that domain.
 *
 * Phases (x->phase): BK_BEGIN starts the job (after starting a stopped
 * VM paused, and defining the parent's checkpoint again where libvirt
 * lost it: a migration, a re-made host) and parks; BK_WAIT polls the
 * job, parked between polls (no worker is held while QEMU copies),
 * recording its progress; once it completed, the files are fetched (or,
 * written directly, found), an incremental one's file is given its
 * parent's as backing file, and each is hashed (SHA-256).  A failure
 * removes what was made: the host's and backup_dir's files and the
 * checkpoint.  Params: {"backup": id, "mode", "offline", "direct"}.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

#define BK_POLL_MS 200

enum { BK_BEGIN, BK_WAIT };

/* What one run works with: the job's disks and where each goes. */
struct bk_run {
	struct ops_disks d;
	struct backup_spec spec;
	char target[BACKUP_DISKS_MAX][CONFIG_STR_MAX + 512];
	struct backup_rec parent;
	bool offline;                /* the VM was stopped: its domain is
	                              * started paused for the job */
	bool ours;                   /* ... and it was (a domain that
	                              * refused to start may be running
	                              * behind hangar's back: not ours) */
	bool direct;                 /* the job writes into backup_dir */
};

static const char *
ops_backup_id(struct op_ctx *x)
{
	const char *id = json_string_value(json_object_get(x->params,
	    "backup"));

	return id ? id : "";
}

/* Disk dev's file: relative to backup_dir, or (full) its whole path. */
static void
ops_backup_rel(struct op_ctx *x, const char *dev, char *buf, size_t len,
    bool full)
{
	snprintf(buf, len, "%s%s%s/%s/%s.qcow2", full ?
	    x->app->cfg.backup_dir : "", full ? "/" : "", x->vm.uuid,
	    x->backup.id, dev);
}

/* The backup row into x->backup, and the job's disks into k. */
static int
ops_backup_load(struct op_ctx *x, struct bk_run *k)
{
	struct store_conn *c = store_read_begin(x->app->store);
	int r = store_backup_get(c, ops_backup_id(x), &x->backup);

	if (r == 0 && x->backup.parent[0])
		r = store_backup_get(c, x->backup.parent, &k->parent);
	store_read_end(c);
	if (r < 0 || ops_disk_pool(x) < 0 ||
	    ops_disks_paths(x, x->bc, x->pool, &k->d) < 0)
		return -1;
	k->offline = json_is_true(json_object_get(x->params, "offline"));
	k->ours = k->offline && x->phase == BK_WAIT;
	k->direct = json_is_true(json_object_get(x->params, "direct"));
	for (int i = 0; i < x->ndisks && i < BACKUP_DISKS_MAX; i++) {
		const struct disk_rec *dr = &x->disks[i];
		const char *slash = strrchr(k->d.path[i], '/');
		struct backup_disk_spec *s = &k->spec.disks[k->spec.ndisks++];
		char tgt[sizeof(k->target[0])];

		s->dev = dr->dev;
		/* the NoCloud seed is made again from the spec; a cdrom is
		 * not the guest's to change */
		if (strcmp(dr->content, "cidata") == 0 ||
		    strcmp(dr->device, "disk") != 0 || slash == NULL)
			continue;
		/* made aside: the source and k->target are one struct's */
		if (k->direct)
			ops_backup_rel(x, dr->dev, tgt, sizeof(tgt), true);
		else
			snprintf(tgt, sizeof(tgt), "%.*s/%s.backup.%s.%s.qcow2",
			    (int)(slash - k->d.path[i]), k->d.path[i],
			    x->vm.uuid, x->backup.id, dr->dev);
		memcpy(k->target[i], tgt, sizeof(tgt));
		s->target = k->target[i];
	}
	k->spec.checkpoint = x->backup.checkpoint;
	k->spec.incremental = x->backup.parent[0] ? k->parent.checkpoint :
	    NULL;
	return 0;
}

/* A stopped VM's domain, started paused for the job, destroyed again
 * (harmless when it is off); 0 or -1 (logged). */
static int
ops_backup_power_off(struct op_ctx *x)
{
	ops_step(x, "powering off the domain started for the backup");
	if (backend_destroy(x->bc, x->vm.uuid) == 0)
		return 0;
	log_error("op %s: cannot power off vm '%s''s domain, started paused "
	    "for its backup: %s", x->op.id, x->vm.name, err_last()->msg);
	return -1;
}

/* Undo a backup that did not finish (best effort; keeps the error). */
static void
ops_backup_undo(struct op_ctx *x, struct bk_run *k)
{
	struct err e;

	err_save(&e);
	/* the checkpoint first: libvirt deletes one (its bitmaps) only of
	 * a running domain, and a stopped VM's runs only until below */
	if (backend_checkpoint_delete(x->bc, x->vm.uuid,
	    x->backup.checkpoint, false) < 0)
		log_warnx("op %s: cannot delete checkpoint '%s': %s", x->op.id,
		    x->backup.checkpoint, err_last()->msg);
	if (k->ours)
		(void)ops_backup_power_off(x);
	for (int i = 0; i < k->spec.ndisks && !k->direct; i++)
		if (k->spec.disks[i].target &&
		    backend_file_remove(x->bc, k->spec.disks[i].target) < 0)
			log_warnx("op %s: cannot remove '%s' from the host: %s",
			    x->op.id, k->spec.disks[i].target, err_last()->msg);
	backups_remove_files(x->app, x->vm.uuid, x->backup.id);
	err_restore(&e);
}

/* The parent's checkpoint, defined again when libvirt lost it. */
static int
ops_backup_checkpoint(struct op_ctx *x, struct bk_run *k)
{
	char *xml = malloc(sizeof(k->parent.checkpoint_xml));
	int r;

	if (xml == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	r = backend_checkpoint_xml(x->bc, x->vm.uuid, k->parent.checkpoint,
	    xml, sizeof(k->parent.checkpoint_xml));
	free(xml);
	if (r == 0 || err_last()->code != ERR_NOT_FOUND)
		return r;
	ops_step(x, "defining the parent's checkpoint again");
	if (k->parent.checkpoint_xml[0] == '\0' ||
	    backend_checkpoint_define(x->bc, x->vm.uuid,
	    k->parent.checkpoint_xml) < 0)
		return err_set_field(ERR_CONFLICT, "mode", "the checkpoint of "
		    "backup '%s' (the parent) is lost on vm '%s''s host and "
		    "cannot be defined again (%s): take a full backup",
		    k->parent.id, x->vm.name, err_last()->msg);
	return 0;
}

/* libvirt's sink for one file: all of it written to fd. */
static int
ops_backup_sink(void *arg, const char *data, size_t len)
{
	int fd = *(int *)arg;

	while (len > 0) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return err_set(ERR_UNAVAILABLE, "cannot write the backup: "
			    "%s", strerror(errno));
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The job's file target on the host into path, then off the host. */
static int
ops_backup_pull(struct op_ctx *x, const char *target, const char *path)
{
	int fd, r;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) < 0)
		return err_set(ERR_UNAVAILABLE, "cannot make '%s': %s", path,
		    strerror(errno));
	r = backend_file_fetch(x->bc, target, ops_backup_sink, &fd, true);
	close(fd);
	return r;
}

/*
 * Disk i's file into backup_dir (pulled from the host, or there already
 * when the job wrote it directly), given its parent's file as backing,
 * read once to hash it and made durable; its entry into disks.
 */
static int
ops_backup_fetch_one(struct op_ctx *x, struct bk_run *k, int i,
    json_t *disks)
{
	const char *dev = k->spec.disks[i].dev;
	char rel[256], path[CONFIG_STR_MAX + 512], back[256];
	char hex[IMAGE_SHA256_LEN];
	struct stat st;
	int fd, r;

	ops_backup_rel(x, dev, rel, sizeof(rel), false);
	if (backups_path(x->app, rel, path, sizeof(path)) < 0 || (!k->direct &&
	    ops_backup_pull(x, k->spec.disks[i].target, path) < 0))
		return -1;
	snprintf(back, sizeof(back), "../%s/%s.qcow2", x->backup.parent, dev);
	if (x->backup.parent[0] && backups_set_backing(path, back, false) < 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(ERR_UNAVAILABLE, "cannot read '%s': %s", path,
		    strerror(errno));
	/* the hash starts the writeback; the fsync then finds less left */
	r = fstat(fd, &st) < 0 ? err_set(ERR_UNAVAILABLE, "cannot read '%s'",
	    path) : library_sha256_fd(fd, hex);
	if (r == 0 && fsync(fd) < 0)
		r = err_set(ERR_UNAVAILABLE, "cannot write '%s': %s", path,
		    strerror(errno));
	close(fd);
	if (r < 0)
		return -1;
	x->backup.size += st.st_size;
	json_array_append_new(disks, json_pack("{s:s, s:s, s:s, s:I}", "dev",
	    dev, "file", rel, "sha256", hex, "bytes", (json_int_t)st.st_size));
	return 0;
}

/* Every file of the completed job into backup_dir. */
static int
ops_backup_fetch(struct op_ctx *x, struct bk_run *k)
{
	json_t *disks = json_array();

	ops_step(x, k->direct ? "hashing the backup in backup_dir" :
	    "copying the backup into backup_dir");
	x->backup.size = 0;
	if (backups_mkdirs(x->app, x->vm.uuid, x->backup.id) < 0)
		goto fail;
	for (int i = 0; i < k->spec.ndisks; i++)
		if (k->spec.disks[i].target &&
		    ops_backup_fetch_one(x, k, i, disks) < 0)
			goto fail;
	if (backend_checkpoint_xml(x->bc, x->vm.uuid, x->backup.checkpoint,
	    x->backup.checkpoint_xml, sizeof(x->backup.checkpoint_xml)) < 0)
		goto fail;
	json_decref(x->backup.disks);
	x->backup.disks = disks;
	if (k->ours && ops_backup_power_off(x) < 0)
		return -1;      /* disks is x->backup's now */
	return ops_observe(x);
fail:
	json_decref(disks);
	return -1;
}

/* BK_WAIT: how the job goes; parks while it runs. */
static int
ops_backup_wait(struct op_ctx *x, struct bk_run *k)
{
	struct backup_job job;

	if (backend_backup_poll(x->bc, x->vm.uuid, &job) < 0)
		return -1;
	if (job.active) {
		if (ops_cancelled(x)) {
			(void)backend_job_abort(x->bc, x->vm.uuid);
			return ops_park(x, BK_WAIT, 0, BK_POLL_MS);
		}
		json_t *p = json_pack("{s:I, s:I}", "total_bytes",
		    (json_int_t)job.total, "processed_bytes",
		    (json_int_t)job.processed);
		ops_progress(x, p);
		json_decref(p);
		return ops_park(x, BK_WAIT, 0, BK_POLL_MS);
	}
	if (ops_cancelled(x))
		return ops_cancel_now(x, "while the backup was copied; nothing "
		    "was kept");
	if (job.failed)
		return err_set(ERR_BACKEND, "the backup job of vm '%s' failed: "
		    "%s", x->vm.name, job.errmsg);
	return ops_backup_fetch(x, k);
}

static int
ops_backup_step(struct op_ctx *x, struct bk_run *k)
{
	if (x->phase == BK_WAIT)
		return ops_backup_wait(x, k);
	/* the job's files go into this directory when written directly */
	if (k->direct && backups_mkdirs(x->app, x->vm.uuid, x->backup.id) < 0)
		return -1;
	if (k->offline) {
		ops_step(x, "starting the stopped vm paused for its backup");
		if (backend_start_paused(x->bc, x->vm.uuid) < 0)
			return -1;
		k->ours = true;
	}
	if (k->spec.incremental && ops_backup_checkpoint(x, k) < 0)
		return -1;
	ops_step(x, k->spec.incremental ? "incremental backup job" :
	    "full backup job");
	if (backend_backup_begin(x->bc, x->vm.uuid, &k->spec) < 0)
		return -1;
	return ops_park(x, BK_WAIT, 0, BK_POLL_MS);
}

static int
ops_backup_go(struct op_ctx *x)
{
	struct bk_run *k = calloc(1, sizeof(*k));
	int r;

	if (k == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	store_backup_clear(&x->backup);
	r = ops_backup_load(x, k);
	if (r == 0)
		r = ops_backup_step(x, k);
	if (r < 0 && k->spec.ndisks > 0)
		ops_backup_undo(x, k);
	store_backup_clear(&k->parent);
	free(k);
	if (r != 0) {
		/* the row is read again on the next run; close needs only
		 * what a success leaves */
		store_backup_clear(&x->backup);
	}
	return r;
}

int
ops_backup_run(struct op_ctx *x)
{
	return ops_backup_go(x);
}

/* After a restart: the job may have gone on, or ended, meanwhile. */
int
ops_backup_recover(struct op_ctx *x)
{
	x->phase = BK_WAIT;
	return ops_backup_go(x);
}

int
ops_backup_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	if (ok)
		return store_backup_ready(c, &x->backup, x->op.id);
	if (store_backup_delete(c, ops_backup_id(x), x->op.id) < 0 &&
	    err_last()->code != ERR_NOT_FOUND)
		return -1;
	return 0;
}

void
ops_backup_after(struct op_ctx *x, bool ok)
{
	(void)ok;
	store_backup_clear(&x->backup);
}
