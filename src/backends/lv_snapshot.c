/*
 * lv_snapshot.c - the libvirt backend's internal (qcow2) snapshots:
 * take, read, revert to and delete one; and, for moving a domain to
 * another host, export, forget and redefine their metadata.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "../common/error.h"
#include "lv_int.h"

/* --- snapshots --- */

/* What the snapshot functions hand lv_with_domain's callbacks. */
struct lv_snap_arg {
	const char *uuid;
	const char *name;
	const struct snap_spec *spec;   /* create */
	struct snap_info *out;          /* create, get */
	bool disk_only;                 /* revert */
};

/*
 * The snapshot called a->name of d (free with virDomainSnapshotFree), or
 * NULL.  When there is no such snapshot: with gone NULL that is reported
 * as ERR_NOT_FOUND; otherwise *gone is set and nothing is reported.
 * Other failures are reported.
 */
static virDomainSnapshotPtr
lv_snap_lookup(virDomainPtr d, const struct lv_snap_arg *a, bool *gone)
{
	virDomainSnapshotPtr snap = virDomainSnapshotLookupByName(d, a->name,
	    0);
	virErrorPtr e;

	if (gone)
		*gone = false;
	if (snap)
		return snap;
	e = virGetLastError();
	if (e && e->code == VIR_ERR_NO_DOMAIN_SNAPSHOT) {
		if (gone)
			*gone = true;
		else
			err_set(ERR_NOT_FOUND, "snapshot '%s' of domain %s "
			    "does not exist", a->name, a->uuid);
	} else {
		lv_fail("look the snapshot up");
	}
	return NULL;
}

/*
 * The domain state libvirt recorded in a snapshot (its <state>), as
 * running | paused | stopped: a domain that was shutting down still ran;
 * "disk-snapshot" (external disks only) and the crashed and shut off
 * states are stopped.
 */
static const char *
lv_snap_state(const char *s)
{
	if (strcmp(s, "running") == 0 || strcmp(s, "blocked") == 0 ||
	    strcmp(s, "shutdown") == 0)
		return "running";
	if (strcmp(s, "paused") == 0 || strcmp(s, "pmsuspended") == 0)
		return "paused";
	return "stopped";
}

/* Fill *out from what libvirt says of snap.  0, or -1 with an error. */
static int
lv_snap_info(virDomainSnapshotPtr snap, struct snap_info *out)
{
	char *xml = NULL, state[32], memory[32], created[32], *end;
	xmlDocPtr doc = NULL;
	xmlXPathContextPtr ctx = NULL;
	long long secs;
	int r = -1;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s",
	    virDomainSnapshotGetName(snap));
	if ((xml = virDomainSnapshotGetXMLDesc(snap, 0)) == NULL)
		return lv_fail("describe the snapshot");
	doc = xmlReadMemory(xml, (int)strlen(xml), "snapshot.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || (ctx = xmlXPathNewContext(doc)) == NULL) {
		err_set(ERR_BACKEND, "cannot parse the description of "
		    "snapshot '%s'", out->name);
		goto done;
	}
	lv_xpath(ctx, "string(/domainsnapshot/parent/name)", out->parent,
	    sizeof(out->parent));
	lv_xpath(ctx, "string(/domainsnapshot/state)", state, sizeof(state));
	lv_xpath(ctx, "string(/domainsnapshot/memory/@snapshot)", memory,
	    sizeof(memory));
	lv_xpath(ctx, "string(/domainsnapshot/creationTime)", created,
	    sizeof(created));
	snprintf(out->state, sizeof(out->state), "%s", lv_snap_state(state));
	/* without <memory> (older libvirt), an active domain's internal
	 * snapshot includes its RAM */
	out->has_memory = memory[0] ? strcmp(memory, "internal") == 0 :
	    strcmp(out->state, "stopped") != 0;
	errno = 0;
	secs = strtoll(created, &end, 10);
	if (created[0] == '\0' || *end != '\0' || errno != 0 || secs < 0 ||
	    secs > INT64_MAX / 1000) {
		err_set(ERR_BACKEND, "snapshot '%s' has an unreadable "
		    "creation time '%s'", out->name, created);
		goto done;
	}
	out->created_at = (int64_t)secs * 1000;
	r = 0;
done:
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	free(xml);
	return r;
}

/*
 * An active (running or paused) domain always saves its RAM: libvirt 9
 * refuses an internal disk-only snapshot of a running QEMU domain.  A
 * stopped one has no RAM to save.
 */
static int
lv_do_snapshot_create(virDomainPtr d, void *arg)
{
	struct lv_snap_arg *a = arg;
	struct snap_spec spec = *a->spec;
	virDomainSnapshotPtr snap, old;
	virError saved;
	char *xml;
	int active, r;

	if ((active = virDomainIsActive(d)) < 0)
		return -1;
	if (active)
		spec.memory = true;
	else if (spec.memory) {
		err_set_field(ERR_CONFLICT, "memory", "domain %s is stopped: "
		    "it has no memory state to snapshot", a->uuid);
		return LV_REPORTED;
	}
	if ((xml = domain_xml_snapshot(&spec)) == NULL)
		return LV_REPORTED;
	snap = virDomainSnapshotCreateXML(d, xml, 0);
	free(xml);
	if (snap == NULL) {
		/*
		 * A name in use is VIR_ERR_OPERATION_FAILED, "domain moment
		 * x already exists", from code the test and QEMU drivers
		 * share; that code means much else too, so ask whether the
		 * name is taken instead.
		 */
		memset(&saved, 0, sizeof(saved));
		virCopyLastError(&saved);
		if ((old = virDomainSnapshotLookupByName(d, a->name, 0))) {
			virDomainSnapshotFree(old);
			err_set(ERR_CONFLICT, "snapshot '%s' of domain %s "
			    "already exists", a->name, a->uuid);
		} else {
			lv_fail_err("take the snapshot", &saved);
		}
		virResetError(&saved);
		return LV_REPORTED;
	}
	r = lv_snap_info(snap, a->out) < 0 ? LV_REPORTED : 0;
	virDomainSnapshotFree(snap);
	return r;
}

static int
lv_do_snapshot_get(virDomainPtr d, void *arg)
{
	struct lv_snap_arg *a = arg;
	virDomainSnapshotPtr snap;
	int r;

	if ((snap = lv_snap_lookup(d, a, NULL)) == NULL)
		return LV_REPORTED;
	r = lv_snap_info(snap, a->out) < 0 ? LV_REPORTED : 0;
	virDomainSnapshotFree(snap);
	return r;
}

/*
 * Whole revert: the disks, and the run state the snapshot recorded (a
 * snapshot with RAM comes back running or paused, one without stopped).
 * FORCE lets libvirt stop or restart the domain as needed.  Disks only:
 * a snapshot with RAM is reverted paused, then the domain is powered
 * off, which leaves its disks at the snapshot; one without RAM reverts
 * to a stopped domain anyway.
 */
static int
lv_do_snapshot_revert(virDomainPtr d, void *arg)
{
	struct lv_snap_arg *a = arg;
	virDomainSnapshotPtr snap;
	struct snap_info info;
	unsigned int flags = VIR_DOMAIN_SNAPSHOT_REVERT_FORCE;
	int r = -1;

	if ((snap = lv_snap_lookup(d, a, NULL)) == NULL)
		return LV_REPORTED;
	if (a->disk_only) {
		if (lv_snap_info(snap, &info) < 0) {
			r = LV_REPORTED;
			goto done;
		}
		if (info.has_memory)
			flags |= VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED;
	}
	if (virDomainRevertToSnapshot(snap, flags) < 0)
		goto done;
	if ((flags & VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED) &&
	    virDomainDestroy(d) < 0) {
		lv_fail("power the domain off after reverting its disks");
		r = LV_REPORTED;
		goto done;
	}
	r = 0;
done:
	virDomainSnapshotFree(snap);
	return r;
}

/* Deleting what is not there succeeds; libvirt reparents the children. */
static int
lv_do_snapshot_delete(virDomainPtr d, void *arg)
{
	struct lv_snap_arg *a = arg;
	virDomainSnapshotPtr snap;
	virErrorPtr e;
	bool gone;
	int r = 0;

	if ((snap = lv_snap_lookup(d, a, &gone)) == NULL)
		return gone ? 0 : LV_REPORTED;
	if (virDomainSnapshotDelete(snap, 0) < 0) {
		/* deleted by someone else meanwhile */
		e = virGetLastError();
		r = e && e->code == VIR_ERR_NO_DOMAIN_SNAPSHOT ? 0 : -1;
	}
	virDomainSnapshotFree(snap);
	return r;
}

int
lv_snapshot_create(struct backend_conn *bc, const char *uuid,
    const struct snap_spec *spec, struct snap_info *out)
{
	struct lv_snap_arg a = { .uuid = uuid, .name = spec->name,
	    .spec = spec, .out = out };

	return lv_with_domain(bc, uuid, "take the snapshot", 0,
	    lv_do_snapshot_create, &a);
}

int
lv_snapshot_get(struct backend_conn *bc, const char *uuid, const char *name,
    struct snap_info *out)
{
	struct lv_snap_arg a = { .uuid = uuid, .name = name, .out = out };

	return lv_with_domain(bc, uuid, "read the snapshot", 0,
	    lv_do_snapshot_get, &a);
}

int
lv_snapshot_revert(struct backend_conn *bc, const char *uuid,
    const char *name, bool disk_only)
{
	struct lv_snap_arg a = { .uuid = uuid, .name = name,
	    .disk_only = disk_only };

	return lv_with_domain(bc, uuid, "revert to the snapshot", 0,
	    lv_do_snapshot_revert, &a);
}

/* A domain that is gone has no snapshots left to delete. */
int
lv_snapshot_delete(struct backend_conn *bc, const char *uuid,
    const char *name)
{
	struct lv_snap_arg a = { .uuid = uuid, .name = name };

	return lv_with_domain(bc, uuid, "delete the snapshot", 1,
	    lv_do_snapshot_delete, &a);
}

/* --- snapshot metadata, for a move --- */

struct lv_meta_arg {
	const char *uuid;
	char ***xmls;                /* export */
	size_t *n;
	char *current;
	size_t current_len;
	char *const *in;             /* redefine */
	size_t in_n;
	const char *in_current;
};

/*
 * libvirt lists parents before children (TOPOLOGICAL); the descriptions
 * are SECURE, and each includes the domain's definition when it was
 * taken (see lv_do_snapshot_redefine).
 */
static int
lv_do_snapshot_export(virDomainPtr d, void *arg)
{
	struct lv_meta_arg *a = arg;
	virDomainSnapshotPtr *snaps = NULL;
	char **xmls = NULL;
	const char *name;
	int n, cur, r = -1, i = 0;

	if ((n = virDomainListAllSnapshots(d, &snaps,
	    VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL)) < 0)
		return -1;
	if ((xmls = calloc((size_t)n + 1, sizeof(*xmls))) == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		r = LV_REPORTED;
		goto done;
	}
	for (i = 0; i < n; i++) {
		if ((xmls[i] = virDomainSnapshotGetXMLDesc(snaps[i],
		    VIR_DOMAIN_SNAPSHOT_XML_SECURE)) == NULL ||
		    (cur = virDomainSnapshotIsCurrent(snaps[i], 0)) < 0)
			goto done;
		name = virDomainSnapshotGetName(snaps[i]);
		if (cur && (size_t)snprintf(a->current, a->current_len, "%s",
		    name) >= a->current_len) {
			err_set(ERR_INTERNAL, "the name of snapshot '%s' is "
			    "too long", name);
			r = LV_REPORTED;
			goto done;
		}
	}
	*a->xmls = xmls;
	*a->n = (size_t)n;
	xmls = NULL;
	r = 0;
done:
	if (xmls) {
		backend_free_strings(xmls, (size_t)n);
		a->current[0] = '\0';
	}
	for (i = 0; i < n; i++)
		virDomainSnapshotFree(snaps[i]);
	free(snaps);
	return r;
}

int
lv_snapshot_export(struct backend_conn *bc, const char *uuid, char ***xmls,
    size_t *n, char *current, size_t current_len)
{
	struct lv_meta_arg a = { .uuid = uuid, .xmls = xmls, .n = n,
	    .current = current, .current_len = current_len };

	*xmls = NULL;
	*n = 0;
	if (current_len > 0)
		current[0] = '\0';
	if (current_len == 0)
		return err_set(ERR_INTERNAL, "no room for the current "
		    "snapshot's name");
	return lv_with_domain(bc, uuid, "list the domain's snapshots", 0,
	    lv_do_snapshot_export, &a);
}

/*
 * METADATA_ONLY: the snapshots stay in the qcow2 files.  Children first,
 * so that libvirt never reparents anything.  (libvirt's test driver
 * refuses METADATA_ONLY; there is no fallback to a real delete.)
 */
static int
lv_do_snapshot_forget(virDomainPtr d, void *arg)
{
	virDomainSnapshotPtr *snaps = NULL;
	virErrorPtr e;
	int n, r = 0;

	(void)arg;
	if ((n = virDomainListAllSnapshots(d, &snaps,
	    VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL)) < 0)
		return -1;
	for (int i = n - 1; i >= 0 && r == 0; i--) {
		if (virDomainSnapshotDelete(snaps[i],
		    VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY) < 0) {
			/* deleted by someone else meanwhile */
			e = virGetLastError();
			r = e && e->code == VIR_ERR_NO_DOMAIN_SNAPSHOT ? 0 : -1;
		}
	}
	for (int i = 0; i < n; i++)
		virDomainSnapshotFree(snaps[i]);
	free(snaps);
	return r;
}

/* A domain that is gone has no snapshot metadata left. */
int
lv_snapshot_forget(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "forget the domain's snapshots", 1,
	    lv_do_snapshot_forget, NULL);
}

/* The <name> of a snapshot description into name; -1 with an error. */
static int
lv_snap_xml_name(const char *xml, char *name, size_t len)
{
	xmlDocPtr doc = lv_xml_read(xml, "snapshot.xml");
	xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;

	name[0] = '\0';
	if (ctx)
		lv_xpath(ctx, "string(/domainsnapshot/name)", name, len);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	if (name[0] == '\0')
		return err_set(ERR_INVALID, "a snapshot description to "
		    "redefine names no snapshot");
	return 0;
}

/*
 * REDEFINE, in the order given (parents first); the current one is
 * redefined with CURRENT as well, which makes it libvirt's current
 * snapshot.  Redefining one that exists replaces its metadata, so a
 * retry after a partial failure is harmless.
 *
 * The descriptions are redefined as given.  Each holds the <domain> it
 * was taken of, and reverting to a snapshot brings that definition back,
 * disk path included: after a move to another disk path (volume_copy,
 * or migrate with dest_disks) a revert on the new host points the
 * domain at the OLD host's paths again (seen on libvirt 9.0).  So the
 * definitions a snapshot carries are given the domain's disk paths on
 * this host, disk by disk (by target), before they are redefined
 * (lv_snap_xml_repath).
 * And migrate with copy_storage does not carry the qcow2's internal
 * snapshots at all, so their metadata must not follow such a move.
 */
/* Each file disk of a domain now: its target, its file and the file it
 * is an overlay of ("" for none). */
struct lv_disk_now {
	int n;
	struct {
		char dev[16];
		char file[1024];
		char backing[1024];
	} d[16];
};

/* Set attribute file of every node expr finds to file.  0, or -1. */
static int
lv_snap_set_file(xmlXPathContextPtr ctx, const char *expr, const char *file)
{
	xmlXPathObjectPtr o;
	int n = 0, r = 0;

	o = lv_xpath_nodes(ctx, expr, &n);
	for (int i = 0; i < n && r == 0; i++)
		if (xmlSetProp(o->nodesetval->nodeTab[i], LV_XC("file"),
		    LV_XC(file)) == NULL)
			r = err_set(ERR_INTERNAL, "out of memory");
	xmlXPathFreeObject(o);
	return r;
}

/*
 * The snapshot description xml with the file of each of its disks in
 * every domain definition it carries (<domain>, <inactiveDomain>) set to
 * where the domain's disk of the same target is now, and so the file of
 * its <backingStore> (a linked clone moved cold is over the new host's
 * copy of its image).  A malloc'd copy, or NULL with an error.
 */
static char *
lv_snap_xml_repath(const char *xml, const struct lv_disk_now *now)
{
	xmlDocPtr doc = lv_xml_read(xml, "snapshot.xml");
	xmlXPathContextPtr ctx = NULL;
	xmlChar *mem = NULL;
	char *out = NULL, expr[320];
	int len = 0;

	if (doc == NULL || (ctx = xmlXPathNewContext(doc)) == NULL) {
		err_set(ERR_BACKEND, "cannot parse a snapshot description");
		goto done;
	}
	for (int k = 0; k < now->n; k++) {
		snprintf(expr, sizeof(expr), "/domainsnapshot/*[self::domain or "
		    "self::inactiveDomain]/devices/disk[@type='file' and "
		    "target/@dev='%s']/source[@file]", now->d[k].dev);
		if (lv_snap_set_file(ctx, expr, now->d[k].file) < 0)
			goto done;
		snprintf(expr, sizeof(expr), "/domainsnapshot/*[self::domain or "
		    "self::inactiveDomain]/devices/disk[@type='file' and "
		    "target/@dev='%s']/backingStore[@type='file']/"
		    "source[@file]", now->d[k].dev);
		if (now->d[k].backing[0] &&
		    lv_snap_set_file(ctx, expr, now->d[k].backing) < 0)
			goto done;
	}
	xmlDocDumpMemory(doc, &mem, &len);
	if (mem == NULL || (out = strdup((const char *)mem)) == NULL)
		err_set(ERR_INTERNAL, "cannot write a snapshot description");
done:
	xmlFree(mem);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return out;
}

/* The domain's file disks now (targets are plain letters; others are
 * left as they are). */
static int
lv_disks_now(virDomainPtr d, struct lv_disk_now *now)
{
	char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr o = NULL;
	int n = 0;

	now->n = 0;
	if (xml == NULL)
		return -1;
	doc = lv_xml_read(xml, "domain.xml");
	free(xml);
	if (doc == NULL)
		return err_set(ERR_BACKEND, "cannot parse a domain description");
	if ((ctx = xmlXPathNewContext(doc)) != NULL)
		o = lv_xpath_nodes(ctx, "/domain/devices/disk[@type='file']",
		    &n);
	for (int i = 0; i < n && now->n < 16; i++) {
		xmlNodePtr node = o->nodesetval->nodeTab[i];

		lv_xpath_at(ctx, node, "string(target/@dev)",
		    now->d[now->n].dev, sizeof(now->d[now->n].dev));
		lv_xpath_at(ctx, node, "string(source/@file)",
		    now->d[now->n].file, sizeof(now->d[now->n].file));
		lv_xpath_at(ctx, node, "string(backingStore[@type='file']/"
		    "source/@file)", now->d[now->n].backing,
		    sizeof(now->d[now->n].backing));
		if (now->d[now->n].file[0] && now->d[now->n].dev[0] &&
		    strspn(now->d[now->n].dev, "abcdefghijklmnopqrstuvwxyz") ==
		    strlen(now->d[now->n].dev))
			now->n++;
	}
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return 0;
}

static int
lv_do_snapshot_redefine(virDomainPtr d, void *arg)
{
	struct lv_meta_arg *a = arg;
	virDomainSnapshotPtr snap;
	char name[256], what[300];
	struct lv_disk_now now;
	unsigned int flags;
	bool found = a->in_current == NULL || a->in_current[0] == '\0';
	char *moved;

	for (size_t i = 0; i < a->in_n && !found; i++) {
		if (lv_snap_xml_name(a->in[i], name, sizeof(name)) < 0)
			return LV_REPORTED;
		found = strcmp(name, a->in_current) == 0;
	}
	if (!found) {
		err_set(ERR_INVALID, "the current snapshot '%s' is not among "
		    "those to redefine", a->in_current);
		return LV_REPORTED;
	}
	if (lv_disks_now(d, &now) < 0)
		return -1;
	for (size_t i = 0; i < a->in_n; i++) {
		if (lv_snap_xml_name(a->in[i], name, sizeof(name)) < 0)
			return LV_REPORTED;
		flags = VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
		if (a->in_current && strcmp(name, a->in_current) == 0)
			flags |= VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
		/* the definitions it carries must name the disk where it is
		 * now, or a revert would point the domain at the old path */
		moved = now.n ? lv_snap_xml_repath(a->in[i], &now) : NULL;
		if (now.n && moved == NULL)
			return LV_REPORTED;
		snap = virDomainSnapshotCreateXML(d, moved ? moved : a->in[i],
		    flags);
		free(moved);
		if (snap == NULL) {
			snprintf(what, sizeof(what), "redefine snapshot '%s'",
			    name);
			lv_fail(what);
			return LV_REPORTED;
		}
		virDomainSnapshotFree(snap);
	}
	return 0;
}

int
lv_snapshot_redefine(struct backend_conn *bc, const char *uuid,
    char *const *xmls, size_t n, const char *current)
{
	struct lv_meta_arg a = { .uuid = uuid, .in = xmls, .in_n = n,
	    .in_current = current };

	return lv_with_domain(bc, uuid, "redefine the domain's snapshots", 0,
	    lv_do_snapshot_redefine, &a);
}
