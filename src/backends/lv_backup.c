/*
 * lv_backup.c - backups through libvirt: a push-mode backup job
 * (virDomainBackupBegin, with a checkpoint taken in the same step), its
 * progress and end (virDomainGetJobStats), checkpoints kept, defined
 * again and removed, and the job's target files brought back from the
 * host through a storage stream (so a remote host works as a local one);
 * and whether a host sees a file of hangard's at the same path (then a
 * job may write into backup_dir directly).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "lv_int.h"

#define LV_FETCH_BUF (256 * 1024)

struct lv_backup_arg {
	const struct backup_spec *spec;
	struct backup_job *job;
	const char *name;
	const char *xml;
	bool metadata_only;
	char *buf;
	size_t len;
};

static int
lv_do_backup_begin(virDomainPtr d, void *arg)
{
	struct lv_backup_arg *a = arg;
	char *bx = domain_xml_backup(a->spec), *cx = NULL;
	int r = LV_REPORTED;

	if (bx != NULL && (a->spec->checkpoint == NULL ||
	    (cx = domain_xml_checkpoint(a->spec)) != NULL))
		r = virDomainBackupBegin(d, bx, cx, 0);
	free(bx);
	free(cx);
	return r;
}

int
lv_backup_begin(struct backend_conn *bc, const char *uuid,
    const struct backup_spec *spec)
{
	struct lv_backup_arg a = { .spec = spec };

	return lv_with_domain(bc, uuid, "start the backup", 0,
	    lv_do_backup_begin, &a);
}

/* The job's type and parameters (completed: the last one that ended). */
static int
lv_job_read(virDomainPtr d, bool completed, int *type,
    virTypedParameterPtr *p, int *n)
{
	return virDomainGetJobStats(d, type, p, n, completed ?
	    VIR_DOMAIN_JOB_STATS_COMPLETED : 0);
}

static bool
lv_job_is_backup(virTypedParameterPtr p, int n)
{
	int op = 0;

	return virTypedParamsGetInt(p, n, VIR_DOMAIN_JOB_OPERATION, &op) == 1 &&
	    op == VIR_DOMAIN_JOB_OPERATION_BACKUP;
}

static int
lv_do_backup_poll(virDomainPtr d, void *arg)
{
	struct backup_job *j = ((struct lv_backup_arg *)arg)->job;
	virTypedParameterPtr p = NULL;
	unsigned long long v;
	const char *msg = NULL;
	int type = 0, n = 0;

	memset(j, 0, sizeof(*j));
	if (lv_job_read(d, false, &type, &p, &n) < 0)
		return -1;
	if (type != VIR_DOMAIN_JOB_NONE && lv_job_is_backup(p, n)) {
		j->active = true;
		if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DISK_TOTAL,
		    &v) == 1)
			j->total = v;
		if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED,
		    &v) == 1)
			j->processed = v;
		virTypedParamsFree(p, n);
		return 0;
	}
	virTypedParamsFree(p, n);
	p = NULL;
	n = 0;
	if (lv_job_read(d, true, &type, &p, &n) < 0)
		return -1;
	if (type != VIR_DOMAIN_JOB_COMPLETED || !lv_job_is_backup(p, n)) {
		j->failed = true;
		if (virTypedParamsGetString(p, n, VIR_DOMAIN_JOB_ERRMSG,
		    &msg) != 1 || msg == NULL)
			msg = type == VIR_DOMAIN_JOB_FAILED ? "the backup job "
			    "failed" : "the backup job ended without a result";
		snprintf(j->errmsg, sizeof(j->errmsg), "%s", msg);
	}
	virTypedParamsFree(p, n);
	return 0;
}

int
lv_backup_poll(struct backend_conn *bc, const char *uuid,
    struct backup_job *out)
{
	struct lv_backup_arg a = { .job = out };

	return lv_with_domain(bc, uuid, "read the backup job", 0,
	    lv_do_backup_poll, &a);
}

/* libvirt's "no such checkpoint" as ERR_NOT_FOUND naming it. */
static int
lv_checkpoint_missing(const char *name)
{
	virErrorPtr e = virGetLastError();

	if (e && e->code == VIR_ERR_NO_DOMAIN_CHECKPOINT) {
		err_set(ERR_NOT_FOUND, "libvirt has no checkpoint '%s'", name);
		return LV_REPORTED;
	}
	return -1;
}

static int
lv_do_checkpoint_xml(virDomainPtr d, void *arg)
{
	struct lv_backup_arg *a = arg;
	virDomainCheckpointPtr cp = virDomainCheckpointLookupByName(d, a->name,
	    0);
	char *xml;

	if (cp == NULL)
		return lv_checkpoint_missing(a->name);
	xml = virDomainCheckpointGetXMLDesc(cp,
	    VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN);
	virDomainCheckpointFree(cp);
	if (xml == NULL)
		return -1;
	if (strlen(xml) >= a->len) {
		free(xml);
		err_set(ERR_INTERNAL, "checkpoint '%s' has a description too "
		    "long to keep", a->name);
		return LV_REPORTED;
	}
	snprintf(a->buf, a->len, "%s", xml);
	free(xml);
	return 0;
}

int
lv_checkpoint_xml(struct backend_conn *bc, const char *uuid,
    const char *name, char *buf, size_t len)
{
	struct lv_backup_arg a = { .name = name, .buf = buf, .len = len };

	return lv_with_domain(bc, uuid, "read the checkpoint", 0,
	    lv_do_checkpoint_xml, &a);
}

static int
lv_do_checkpoint_define(virDomainPtr d, void *arg)
{
	struct lv_backup_arg *a = arg;
	virDomainCheckpointPtr cp = virDomainCheckpointCreateXML(d, a->xml,
	    VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE);

	if (cp == NULL)
		return -1;
	virDomainCheckpointFree(cp);
	return 0;
}

int
lv_checkpoint_define(struct backend_conn *bc, const char *uuid,
    const char *xml)
{
	struct lv_backup_arg a = { .xml = xml };

	return lv_with_domain(bc, uuid, "define the checkpoint again", 0,
	    lv_do_checkpoint_define, &a);
}

static int
lv_do_checkpoint_delete(virDomainPtr d, void *arg)
{
	struct lv_backup_arg *a = arg;
	virDomainCheckpointPtr cp = virDomainCheckpointLookupByName(d, a->name,
	    0);
	int r;

	if (cp == NULL) {
		if (lv_checkpoint_missing(a->name) == LV_REPORTED) {
			err_clear();
			return 0;
		}
		return -1;
	}
	r = virDomainCheckpointDelete(cp, a->metadata_only ?
	    VIR_DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY : 0);
	virDomainCheckpointFree(cp);
	return r;
}

/* A domain that is gone has no checkpoints left to delete. */
int
lv_checkpoint_delete(struct backend_conn *bc, const char *uuid,
    const char *name, bool metadata_only)
{
	struct lv_backup_arg a = { .name = name,
	    .metadata_only = metadata_only };

	return lv_with_domain(bc, uuid, "delete the checkpoint", 1,
	    lv_do_checkpoint_delete, &a);
}

/* The volume at path on c, its pool refreshed when it is new there. */
static virStorageVolPtr
lv_file_vol(virConnectPtr c, const char *uri, const char *path)
{
	const char *slash = strrchr(path, '/');
	virStoragePoolPtr p;
	virStorageVolPtr v;
	char dir[4096];

	if ((v = virStorageVolLookupByPath(c, path)) != NULL)
		return v;
	if (slash == NULL || slash == path ||
	    (size_t)(slash - path) >= sizeof(dir)) {
		err_set(ERR_INTERNAL, "'%s' is not a file's full path", path);
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((p = lv_pool_by_path(c, uri, dir)) == NULL)
		return NULL;
	if (virStoragePoolRefresh(p, 0) < 0)
		lv_fail("look at the backup's directory");
	else if ((v = virStorageVolLookupByPath(c, path)) == NULL)
		err_set(ERR_NOT_FOUND, "there is no file '%s' on host '%s'",
		    path, uri);
	virStoragePoolFree(p);
	return v;
}

/* All of v through a stream into sink.  0, or -1 with an error. */
static int
lv_vol_fetch(virConnectPtr c, virStorageVolPtr v, backend_sink_fn sink,
    void *arg)
{
	virStreamPtr st = virStreamNew(c, 0);
	char *buf = malloc(LV_FETCH_BUF);
	int n = 0, r = -1;

	if (st == NULL || buf == NULL) {
		err_set(ERR_INTERNAL, "cannot make a stream");
		goto done;
	}
	if (virStorageVolDownload(v, st, 0, 0, 0) < 0) {
		lv_fail("read the backup file");
		goto done;
	}
	while ((n = virStreamRecv(st, buf, LV_FETCH_BUF)) > 0)
		if (sink(arg, buf, (size_t)n) < 0)
			break;
	if (n != 0) {
		if (n < 0)
			lv_fail("read the backup file");
		virStreamAbort(st);
		goto done;
	}
	if (virStreamFinish(st) < 0) {
		lv_fail("read the backup file to its end");
		goto done;
	}
	r = 0;
done:
	if (st)
		virStreamFree(st);
	free(buf);
	return r;
}

int
lv_file_fetch(struct backend_conn *bc, const char *path,
    backend_sink_fn sink, void *arg, bool remove)
{
	virConnectPtr c = lv_get(bc);
	virStorageVolPtr v;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((v = lv_file_vol(c, bc->uri, path)) != NULL) {
		r = lv_vol_fetch(c, v, sink, arg);
		if (r == 0 && remove && virStorageVolDelete(v, 0) < 0)
			r = lv_fail("remove the backup file from the host");
		virStorageVolFree(v);
	}
	virConnectClose(c);
	return r;
}

int
lv_file_remove(struct backend_conn *bc, const char *path)
{
	virConnectPtr c = lv_get(bc);
	virStorageVolPtr v;
	int r = 0;

	if (c == NULL)
		return -1;
	if ((v = lv_file_vol(c, bc->uri, path)) == NULL) {
		r = err_last()->code == ERR_NOT_FOUND ? 0 : -1;
		if (r == 0)
			err_clear();
	} else {
		if (virStorageVolDelete(v, 0) < 0)
			r = lv_fail("remove the backup file from the host");
		virStorageVolFree(v);
	}
	virConnectClose(c);
	return r;
}

/* What file_seen's sink compares the file with. */
struct lv_seen_arg {
	const unsigned char *want;
	size_t len, at;
	bool differs;
};

static int
lv_seen_sink(void *arg, const char *data, size_t len)
{
	struct lv_seen_arg *a = arg;

	if (a->differs || len > a->len - a->at ||
	    memcmp(a->want + a->at, data, len) != 0)
		a->differs = true;
	else
		a->at += len;
	return 0;
}

/* The pool over dir on c, made (transient) when none covers it; NULL,
 * with the error cleared, when the host has no such directory. */
static virStoragePoolPtr
lv_seen_pool(virConnectPtr c, const char *uri, const char *dir)
{
	virStoragePoolPtr p = lv_pool_by_path(c, uri, dir);
	unsigned int h = 2166136261u;     /* FNV-1a of the directory */
	char name[32], *xml;

	if (p != NULL || err_last()->code != ERR_NOT_FOUND)
		return p;
	for (const char *s = dir; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	snprintf(name, sizeof(name), "hangar-dir-%08x", h);
	if ((xml = domain_xml_pool(name, dir)) == NULL)
		return NULL;
	p = virStoragePoolCreateXML(c, xml, 0);
	free(xml);
	err_clear();
	return p;
}

int
lv_file_seen(struct backend_conn *bc, const char *path, const void *want,
    size_t len, bool *seen)
{
	struct lv_seen_arg a = { .want = want, .len = len };
	virConnectPtr c = lv_get(bc);
	const char *slash = strrchr(path, '/');
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	char dir[4096];
	int r = -1;

	*seen = false;
	if (c == NULL)
		return -1;
	if (slash == NULL || slash == path ||
	    (size_t)(slash - path) >= sizeof(dir)) {
		err_set(ERR_INTERNAL, "'%s' is not a file's full path", path);
		goto done;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((p = lv_seen_pool(c, bc->uri, dir)) == NULL) {
		r = err_last()->code == ERR_NONE ? 0 : -1;
		goto done;
	}
	r = 0;
	if (virStoragePoolRefresh(p, 0) < 0 ||
	    (v = virStorageVolLookupByPath(c, path)) == NULL) {
		virResetLastError();
		goto done;
	}
	if (lv_vol_fetch(c, v, lv_seen_sink, &a) < 0) {
		err_clear();
		goto done;
	}
	*seen = !a.differs && a.at == a.len;
done:
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return r;
}
