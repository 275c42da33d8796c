/*
 * backups.c - recording backup requests, and the backups' files.
 *
 * A backup's files live under backup_dir (a directory of hangard's: it
 * may be an NFS mount, and the VMs' hosts need not see it):
 *	backup_dir/<vm uuid>/<backup id>/<dev>.qcow2
 * A full backup's file stands alone; an incremental one's holds what
 * changed since its parent and names the parent's file of the same disk
 * as its backing file, relatively (../<parent id>/<dev>.qcow2), so the
 * directory can move.  Deleting a backup that others build on first
 * folds it into each child (qemu-img rebase onto the deleted one's
 * parent, or onto nothing), so no chain breaks.  The archive
 * (api/backups_archive.c) flattens a chain into one image per disk in
 * backup_dir/.staging.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"
#include "qimg.h"

#define BACKUPS_QIMG_TIMEOUT_S (6 * 3600)

/*
 * Written by a delete from its first read to its commit; read by a
 * backup request around its transaction and by a flattening: a new
 * incremental backup cannot pick as its parent a backup being deleted,
 * two deletes in one chain cannot fold into the same files at once, and
 * no archive or restore reads a chain while it is being folded.
 */
static pthread_rwlock_t backups_lock = PTHREAD_RWLOCK_INITIALIZER;

static int
backups_fmt(char *buf, size_t len, const char *fmt, const char *a,
    const char *b, const char *c)
{
	if ((size_t)snprintf(buf, len, fmt, a, b, c) >= len)
		return err_set(ERR_INTERNAL, "backup_dir '%s' is too long", a);
	return 0;
}

int
backups_path(const struct app *app, const char *rel, char *buf, size_t len)
{
	return backups_fmt(buf, len, "%s/%s%s", app->cfg.backup_dir, rel, "");
}

int
backups_dir(const struct app *app, const char *vm_uuid, const char *id,
    char *buf, size_t len)
{
	return backups_fmt(buf, len, "%s/%s/%s", app->cfg.backup_dir, vm_uuid,
	    id);
}

static int
backups_mkdir(const char *path)
{
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		return err_set(ERR_UNAVAILABLE, "cannot make '%s': %s", path,
		    strerror(errno));
	return 0;
}

int
backups_mkdirs(const struct app *app, const char *vm_uuid, const char *id)
{
	char p[CONFIG_STR_MAX + 128];

	if (backups_mkdir(app->cfg.backup_dir) < 0 ||
	    backups_fmt(p, sizeof(p), "%s/%s%s", app->cfg.backup_dir, vm_uuid,
	    "") < 0 || backups_mkdir(p) < 0 ||
	    backups_dir(app, vm_uuid, id, p, sizeof(p)) < 0)
		return -1;
	return backups_mkdir(p);
}

void
backups_remove_files(const struct app *app, const char *vm_uuid,
    const char *id)
{
	char dir[CONFIG_STR_MAX + 128], f[CONFIG_STR_MAX + 512];
	struct dirent *e;
	DIR *d;

	if (backups_dir(app, vm_uuid, id, dir, sizeof(dir)) < 0 ||
	    (d = opendir(dir)) == NULL) {
		err_clear();
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", dir, e->d_name);
		if (unlink(f) < 0)
			log_warnx("backups: cannot remove '%s': %s", f,
			    strerror(errno));
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT)
		log_warnx("backups: cannot remove '%s': %s", dir,
		    strerror(errno));
}

/* Run qemu-img with argv (NULL-terminated, after "qemu-img"). */
static int
backups_qimg(const char **argv)
{
	struct qimg_run q;

	memset(&q, 0, sizeof(q));
	q.argv = argv;
	q.cpu_s = BACKUPS_QIMG_TIMEOUT_S;
	q.timeout_s = BACKUPS_QIMG_TIMEOUT_S;
	q.as_bytes = 4ULL << 30;
	return qimg_run(&q);
}

int
backups_set_backing(const char *file, const char *backing, bool safe)
{
	const char *argv[12];
	size_t n = 0;

	argv[n++] = "rebase";
	if (!safe)
		argv[n++] = "-u";       /* only the name: the data stays */
	argv[n++] = "-f";
	argv[n++] = "qcow2";
	if (backing[0] != '\0') {     /* -F names no format for "none" */
		argv[n++] = "-F";
		argv[n++] = "qcow2";
	}
	argv[n++] = "-b";
	argv[n++] = backing;
	argv[n++] = file;
	argv[n] = NULL;
	return backups_qimg(argv);
}

/* Each disk's file (relative to backup_dir), SHA-256 and size again. */
static int
backups_rehash(const struct app *app, json_t *disks, int64_t *size)
{
	size_t i;
	json_t *d;

	*size = 0;
	json_array_foreach(disks, i, d) {
		char path[CONFIG_STR_MAX + 512], hex[IMAGE_SHA256_LEN];
		const char *rel = json_string_value(json_object_get(d, "file"));
		struct stat st;
		int fd;

		if (rel == NULL || backups_path(app, rel, path,
		    sizeof(path)) < 0)
			return err_set(ERR_INTERNAL, "a backup names no file");
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return err_set(ERR_UNAVAILABLE, "cannot open '%s': %s",
			    path, strerror(errno));
		if (fstat(fd, &st) < 0 || library_sha256_fd(fd, hex) < 0) {
			close(fd);
			return err_set(ERR_UNAVAILABLE, "cannot read '%s'", path);
		}
		close(fd);
		json_object_set_new(d, "sha256", json_string(hex));
		json_object_set_new(d, "bytes", json_integer(st.st_size));
		*size += st.st_size;
	}
	return 0;
}

/* The file of disk dev in backup b ("" when it has none). */
static const char *
backups_disk_file(const struct backup_rec *b, const char *dev)
{
	size_t i;
	json_t *d;

	json_array_foreach(b->disks, i, d)
		if (strcmp(json_string_value(json_object_get(d, "dev")) ?
		    json_string_value(json_object_get(d, "dev")) : "", dev) == 0)
			return json_string_value(json_object_get(d, "file"));
	return "";
}

/*
 * Fold backup gone (about to be deleted) into its child: each of the
 * child's files is rebased, with its data, onto gone's parent's file of
 * the same disk, or onto nothing when gone was full.
 */
static int
backups_fold(const struct app *app, const struct backup_rec *gone,
    const struct backup_rec *gp, struct backup_rec *child)
{
	int64_t size;
	size_t i;
	json_t *d;

	json_array_foreach(child->disks, i, d) {
		const char *dev = json_string_value(json_object_get(d, "dev"));
		const char *rel = json_string_value(json_object_get(d, "file"));
		char path[CONFIG_STR_MAX + 512], back[256] = "";

		if (dev == NULL || rel == NULL ||
		    backups_path(app, rel, path, sizeof(path)) < 0)
			return err_set(ERR_INTERNAL, "backup '%s' names no file",
			    child->id);
		if (gp && backups_disk_file(gp, dev)[0])
			snprintf(back, sizeof(back), "../%s/%s.qcow2", gp->id,
			    dev);
		log_info("backups: folding backup %s into %s (disk %s)",
		    gone->id, child->id, dev);
		if (backups_set_backing(path, back, true) < 0)
			return -1;
	}
	if (backups_rehash(app, child->disks, &size) < 0)
		return -1;
	child->size = size;
	snprintf(child->parent, sizeof(child->parent), "%s", gp ? gp->id : "");
	return 0;
}

struct backups_children {
	const char *id;
	struct backup_rec kids[8];
	int n;
	bool creating;
};

static int
backups_child(const struct backup_rec *b, void *arg)
{
	struct backups_children *k = arg;

	if (strcmp(b->parent, k->id) != 0)
		return 0;
	if (strcmp(b->status, "ready") != 0) {
		k->creating = true;
		return 0;
	}
	if (k->n == (int)(sizeof(k->kids) / sizeof(k->kids[0])))
		return err_set(ERR_CONFLICT, "backup '%s' has too many children "
		    "to fold into", k->id);
	k->kids[k->n] = *b;
	k->kids[k->n].spec = json_incref(b->spec);
	k->kids[k->n].disks = json_deep_copy(b->disks);
	k->n++;
	return 0;
}

static int
backups_delete_tx(struct store_conn *c, void *arg)
{
	struct backups_children *k = arg;

	for (int i = 0; i < k->n; i++)
		if (store_backup_set_disks(c, k->kids[i].id, k->kids[i].parent,
		    k->kids[i].disks, k->kids[i].size) < 0)
			return -1;
	return store_backup_delete(c, k->id, NULL);
}

/* The backup id of VM vm (ERR_NOT_FOUND naming both); *b is zeroed
 * on failure, so store_backup_clear is always right. */
int
backups_load(struct store_conn *c, const char *vm, const char *id,
    struct vm_rec *v, struct backup_rec *b)
{
	memset(b, 0, sizeof(*b));
	if (store_vm_get(c, vm, v) < 0)
		return -1;
	if (store_backup_get(c, id, b) < 0 &&
	    err_last()->code != ERR_NOT_FOUND)
		return -1;
	if (strcmp(b->vm_uuid, v->uuid) != 0) {
		store_backup_clear(b);
		memset(b, 0, sizeof(*b));
		return err_set(ERR_NOT_FOUND, "vm '%s' has no backup '%s'",
		    v->name, id);
	}
	return 0;
}

int
backups_delete(struct app *app, const char *vm, const char *id)
{
	struct backups_children k;
	struct backup_rec b, gp;
	struct store_conn *c;
	struct vm_rec v;
	int r;

	pthread_rwlock_wrlock(&backups_lock);
	c = store_read_begin(app->store);
	memset(&k, 0, sizeof(k));
	memset(&gp, 0, sizeof(gp));
	k.id = id;
	r = backups_load(c, vm, id, &v, &b);
	if (r == 0 && strcmp(b.status, "ready") != 0)
		r = err_set(ERR_CONFLICT, "backup '%s' of vm '%s' is still being "
		    "made", id, v.name);
	if (r == 0 && b.parent[0])
		r = store_backup_get(c, b.parent, &gp);
	if (r == 0)
		r = store_backup_each(c, v.uuid, backups_child, &k);
	store_read_end(c);
	if (r == 0 && k.creating)
		r = err_set(ERR_CONFLICT, "a backup building on backup '%s' of "
		    "vm '%s' is being made; delete it when that one is done",
		    id, v.name);
	for (int i = 0; r == 0 && i < k.n; i++)
		r = backups_fold(app, &b, gp.id[0] ? &gp : NULL, &k.kids[i]);
	if (r == 0 && (r = store_tx(app->store, backups_delete_tx, &k)) == 0)
		backups_remove_files(app, b.vm_uuid, b.id);
	pthread_rwlock_unlock(&backups_lock);
	for (int i = 0; i < k.n; i++)
		store_backup_clear(&k.kids[i]);
	store_backup_clear(&gp);
	store_backup_clear(&b);
	return r;
}

int
backups_staged(const struct app *app, const char *name, char *buf,
    size_t len)
{
	if (backups_fmt(buf, len, "%s/.staging%s", app->cfg.backup_dir, "",
	    "") < 0 || backups_mkdir(app->cfg.backup_dir) < 0 ||
	    backups_mkdir(buf) < 0)
		return -1;
	return backups_fmt(buf, len, "%s/.staging/%s.qcow2",
	    app->cfg.backup_dir, name, "");
}

int
backups_flatten_to(const struct app *app, const struct backup_rec *b,
    const char *dev, const char *dst)
{
	char src[CONFIG_STR_MAX + 512];
	const char *rel = backups_disk_file(b, dev);
	const char *argv[] = { "convert", "-f", "qcow2", "-O", "qcow2", src,
	    dst, NULL };
	int r;

	if (rel[0] == '\0')
		return err_set(ERR_NOT_FOUND, "backup '%s' has no disk '%s'",
		    b->id, dev);
	if (backups_path(app, rel, src, sizeof(src)) < 0)
		return -1;
	pthread_rwlock_rdlock(&backups_lock);
	r = backups_qimg(argv);
	pthread_rwlock_unlock(&backups_lock);
	return r;
}

/*
 * Disk dev of backup b as one whole qcow2 (its chain flattened by
 * qemu-img convert) in backup_dir/.staging, opened into *fd and already
 * unlinked; its SHA-256 in hex into sha.
 */
int
backups_flatten(const struct app *app, const struct backup_rec *b,
    const char *dev, int *fd, char sha[IMAGE_SHA256_LEN])
{
	char dst[CONFIG_STR_MAX + 128], name[UUID_STR_LEN];
	uuid_t u;
	int r;

	uuid_generate_random(u);
	uuid_unparse_lower(u, name);
	if (backups_staged(app, name, dst, sizeof(dst)) < 0)
		return -1;
	r = backups_flatten_to(app, b, dev, dst);
	if (r == 0 && (*fd = open(dst, O_RDONLY | O_CLOEXEC)) < 0)
		r = err_set(ERR_UNAVAILABLE, "cannot open '%s': %s", dst,
		    strerror(errno));
	(void)unlink(dst);
	if (r == 0 && library_sha256_fd(*fd, sha) < 0) {
		close(*fd);
		r = -1;
	}
	if (r == 0)
		(void)lseek(*fd, 0, SEEK_SET);
	return r;
}

struct backups_tx {
	const struct backup_request *rq;
	struct op_rec op;
	struct backup_rec b;
	int64_t direct_host;         /* the host that sees backup_dir, or 0 */
};

static int
backups_tx(struct store_conn *c, void *arg)
{
	struct backups_tx *t = arg;
	bool incr = strcmp(t->rq->mode, "incremental") == 0, offline;
	struct backup_rec parent;
	struct vm_rec v;
	char *text;

	if (vm_idle(c, t->rq->vm, &v) < 0)
		return -1;
	offline = strcmp(v.observed, "stopped") == 0;
	if (!offline && strcmp(v.observed, "running") != 0 &&
	    strcmp(v.observed, "paused") != 0)
		return err_set(ERR_CONFLICT, "vm '%s' is %s: a backup is taken of "
		    "a running, paused or stopped vm", v.name, v.observed);
	snprintf(t->b.vm_uuid, sizeof(t->b.vm_uuid), "%s", v.uuid);
	snprintf(t->b.vm_name, sizeof(t->b.vm_name), "%s", v.name);
	snprintf(t->b.mode, sizeof(t->b.mode), "%s", t->rq->mode);
	t->b.scheduled = t->rq->scheduled;
	snprintf(t->b.checkpoint, sizeof(t->b.checkpoint), "hangar-%s",
	    t->b.id);
	if (incr) {
		if (store_backup_latest(c, v.uuid, &parent) < 0)
			return err_last()->code == ERR_NOT_FOUND ?
			    err_set_field(ERR_CONFLICT, "mode", "vm '%s' has no "
			    "backup to build an incremental one on: take a "
			    "full one first", v.name) : -1;
		snprintf(t->b.parent, sizeof(t->b.parent), "%s", parent.id);
		store_backup_clear(&parent);
	}
	t->b.spec = t->rq->spec;
	snprintf(t->b.op_id, sizeof(t->b.op_id), "%s", t->op.id);
	if (store_backup_insert(c, &t->b) < 0)
		return -1;
	t->op.kind = OP_BACKUP;
	t->op.vm_id = v.id;
	snprintf(t->op.vm_uuid, sizeof(t->op.vm_uuid), "%s", v.uuid);
	snprintf(t->op.vm_name, sizeof(t->op.vm_name), "%s", v.name);
	/* both decided now, for the run and for its recovery alike */
	json_t *params = json_pack("{s:s, s:s, s:b, s:b}", "backup", t->b.id,
	    "mode", t->b.mode, "offline", offline, "direct",
	    t->direct_host != 0 && t->direct_host == v.host_id);
	text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	json_decref(params);
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(t->op.params, sizeof(t->op.params), "%s", text);
	free(text);
	return store_op_insert(c, &t->op);
}

int
backups_request(struct app *app, const struct backup_request *rq,
    struct op_rec *op, char *id, size_t idlen)
{
	struct backups_tx t;
	struct store_conn *c;
	struct vm_rec v;
	uuid_t u;
	int r;

	memset(&t, 0, sizeof(t));
	t.rq = rq;
	/* where the VM is now (checked again in the transaction): does its
	 * host see backup_dir? */
	c = store_read_begin(app->store);
	r = store_vm_get(c, rq->vm, &v);
	store_read_end(c);
	if (r == 0 && backups_direct(app, v.host_id))
		t.direct_host = v.host_id;
	err_clear();
	uuid_generate_random(u);
	uuid_unparse_lower(u, t.op.id);
	uuid_generate_random(u);
	uuid_unparse_lower(u, t.b.id);
	if (rq->idem_key)
		snprintf(t.op.idem_key, sizeof(t.op.idem_key), "%s",
		    rq->idem_key);
	pthread_rwlock_rdlock(&backups_lock);
	r = store_tx(app->store, backups_tx, &t);
	pthread_rwlock_unlock(&backups_lock);
	if (r < 0)
		return -1;
	ops_submit(app->ops, t.op.id);
	*op = t.op;
	snprintf(id, idlen, "%s", t.b.id);
	return 0;
}

struct backups_restore_tx {
	const char *vm, *id;
	struct op_rec op;
};

/* Every disk of the backup is one of the VM's now, and the reverse. */
static int
backups_same_disks(struct store_conn *c, const struct vm_rec *v,
    const struct backup_rec *b)
{
	struct disk_rec d[VM_DISKS_MAX];
	size_t want = 0;
	int n = store_disk_list(c, v->id, d, VM_DISKS_MAX);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (strcmp(d[i].content, "cidata") == 0 ||
		    strcmp(d[i].device, "disk") != 0)
			continue;
		want++;
		if (backups_disk_file(b, d[i].dev)[0] == '\0')
			return err_set_field(ERR_CONFLICT, "backup", "vm '%s' has "
			    "disk %s, which backup '%s' does not hold", v->name,
			    d[i].dev, b->id);
	}
	if (json_array_size(b->disks) != want)
		return err_set_field(ERR_CONFLICT, "backup", "backup '%s' holds "
		    "disks vm '%s' no longer has", b->id, v->name);
	return 0;
}

static int
backups_restore_tx(struct store_conn *c, void *arg)
{
	struct backups_restore_tx *t = arg;
	struct backup_rec b;
	struct vm_rec v;
	char *text;
	int r;

	if (vm_idle(c, t->vm, &v) < 0)
		return -1;
	if (strcmp(v.observed, "stopped") != 0)
		return err_set(ERR_CONFLICT, "vm '%s' is %s: stop it to restore "
		    "its disks", v.name, v.observed);
	if (backups_load(c, t->vm, t->id, &v, &b) < 0)
		return err_last()->code == ERR_NOT_FOUND ?
		    err_set_field(ERR_NOT_FOUND, "backup", "%s",
		    err_last()->msg) : -1;
	r = strcmp(b.status, "ready") != 0 ? err_set_field(ERR_CONFLICT,
	    "backup", "backup '%s' is still being made", b.id) :
	    backups_same_disks(c, &v, &b);
	store_backup_clear(&b);
	if (r < 0)
		return -1;
	t->op.kind = OP_RESTORE;
	t->op.vm_id = v.id;
	snprintf(t->op.vm_uuid, sizeof(t->op.vm_uuid), "%s", v.uuid);
	snprintf(t->op.vm_name, sizeof(t->op.vm_name), "%s", v.name);
	json_t *params = json_pack("{s:s}", "backup", t->id);
	text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	json_decref(params);
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(t->op.params, sizeof(t->op.params), "%s", text);
	free(text);
	return store_op_insert(c, &t->op);
}

int
backups_restore_request(struct app *app, const char *vm, const char *id,
    const char *idem_key, struct op_rec *op)
{
	struct backups_restore_tx t;
	uuid_t u;

	memset(&t, 0, sizeof(t));
	t.vm = vm;
	t.id = id;
	uuid_generate_random(u);
	uuid_unparse_lower(u, t.op.id);
	if (idem_key)
		snprintf(t.op.idem_key, sizeof(t.op.idem_key), "%s", idem_key);
	if (store_tx(app->store, backups_restore_tx, &t) < 0)
		return -1;
	ops_submit(app->ops, t.op.id);
	*op = t.op;
	return 0;
}
