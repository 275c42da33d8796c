/*
 * ops_backup.c - the backup operation: a push-mode libvirt backup job of
 * the running VM's disks, with a checkpoint the next incremental one
 * builds on, then its files brought into backup_dir.
 *
 * Where the bytes go: libvirt can only write a backup where its host can
 * write, and backup_dir is hangard's (an NFS mount, say, that the host
 * need not see).  So the job writes each disk beside the disk itself, in
 * the host's pool directory (<vm uuid>.backup.<id>.<dev>.qcow2), and
 * hangard then pulls every file through a libvirt storage stream
 * (file_fetch) into backup_dir/<vm uuid>/<id>/<dev>.qcow2 and removes it
 * from the host: one way for a local host and a remote one alike.
 *
 * Phases (x->phase): BK_BEGIN starts the job (after defining the
 * parent's checkpoint again where libvirt lost it: a migration, a
 * re-made host) and parks; BK_WAIT polls the job, parked between polls
 * (no worker is held while QEMU copies), recording its progress; once
 * it completed, the files are fetched, hashed (SHA-256), and an
 * incremental one's file is given its parent's as backing file.  A
 * failure removes what was made: the host's and backup_dir's files and
 * the checkpoint.  Params: {"backup": id, "mode"}.
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

#define BK_POLL_MS 500

enum { BK_BEGIN, BK_WAIT };

/* What one run works with: the job's disks and where each goes. */
struct bk_run {
	struct ops_disks d;
	struct backup_spec spec;
	char target[BACKUP_DISKS_MAX][1100];
	struct backup_rec parent;
};

static const char *
ops_backup_id(struct op_ctx *x)
{
	const char *id = json_string_value(json_object_get(x->params,
	    "backup"));

	return id ? id : "";
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
		snprintf(tgt, sizeof(tgt), "%.*s/%s.backup.%s.%s.qcow2",
		    (int)(slash - k->d.path[i]), k->d.path[i], x->vm.uuid,
		    x->backup.id, dr->dev);
		memcpy(k->target[i], tgt, sizeof(tgt));
		s->target = k->target[i];
	}
	k->spec.checkpoint = x->backup.checkpoint;
	k->spec.incremental = x->backup.parent[0] ? k->parent.checkpoint :
	    NULL;
	return 0;
}

/* Undo a backup that did not finish (best effort; keeps the error). */
static void
ops_backup_undo(struct op_ctx *x, struct bk_run *k)
{
	struct err e;

	err_save(&e);
	for (int i = 0; i < k->spec.ndisks; i++)
		if (k->spec.disks[i].target &&
		    backend_file_remove(x->bc, k->spec.disks[i].target) < 0)
			log_warnx("op %s: cannot remove '%s' from the host: %s",
			    x->op.id, k->spec.disks[i].target, err_last()->msg);
	if (backend_checkpoint_delete(x->bc, x->vm.uuid,
	    x->backup.checkpoint, false) < 0)
		log_warnx("op %s: cannot delete checkpoint '%s': %s", x->op.id,
		    x->backup.checkpoint, err_last()->msg);
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

/* Disk i's file from the host into backup_dir; its entry into disks. */
static int
ops_backup_fetch_one(struct op_ctx *x, struct bk_run *k, int i,
    json_t *disks)
{
	const char *dev = k->spec.disks[i].dev;
	char rel[256], path[CONFIG_STR_MAX + 512], back[256];
	char hex[IMAGE_SHA256_LEN];
	struct stat st;
	int fd, r;

	snprintf(rel, sizeof(rel), "%s/%s/%s.qcow2", x->vm.uuid, x->backup.id,
	    dev);
	if (backups_path(x->app, rel, path, sizeof(path)) < 0)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) < 0)
		return err_set(ERR_UNAVAILABLE, "cannot make '%s': %s", path,
		    strerror(errno));
	r = backend_file_fetch(x->bc, k->spec.disks[i].target,
	    ops_backup_sink, &fd, true);
	if (r == 0 && fsync(fd) < 0)
		r = err_set(ERR_UNAVAILABLE, "cannot write '%s': %s", path,
		    strerror(errno));
	close(fd);
	snprintf(back, sizeof(back), "../%s/%s.qcow2", x->backup.parent, dev);
	if (r == 0 && x->backup.parent[0] &&
	    backups_set_backing(path, back, false) < 0)
		return -1;
	if (r < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return r < 0 ? -1 : err_set(ERR_UNAVAILABLE, "cannot read "
		    "'%s': %s", path, strerror(errno));
	r = fstat(fd, &st) < 0 ? err_set(ERR_UNAVAILABLE, "cannot read '%s'",
	    path) : library_sha256_fd(fd, hex);
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

	ops_step(x, "copying the backup into backup_dir");
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
