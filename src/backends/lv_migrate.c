/*
 * lv_migrate.c - the libvirt backend's live migration (peer to peer, to
 * another host's libvirtd) and its job: progress, abort, and the switch
 * to post-copy.  The checks made before a migration are in
 * lv_migrate_check.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "../common/error.h"
#include "../common/log.h"
#include "lv_int.h"

/*
 * The host of a libvirt URI, "scheme://[user@]host[:port][/path][?query]",
 * into host; an IPv6 address keeps its brackets ("[::1]"), as a tcp://
 * migration URI wants it.  0, or -1 (nothing reported) when the URI names
 * no host, as "qemu:///system" does, or is not of that form.
 */
static int
lv_uri_host(const char *uri, char *host, size_t len)
{
	const char *p = strstr(uri, "://"), *end, *at, *rb, *colon;
	size_t n;

	host[0] = '\0';
	if (p == NULL || p == uri)
		return -1;
	p += 3;
	end = p + strcspn(p, "/?#");
	/* the user part ends at the last '@' before the path */
	for (at = end; at > p && at[-1] != '@'; at--)
		;
	if (at > p)
		p = at;
	if (*p == '[') {
		rb = memchr(p, ']', (size_t)(end - p));
		if (rb == NULL || rb == p + 1 ||
		    (rb + 1 != end && rb[1] != ':'))
			return -1;
		n = (size_t)(rb + 1 - p);
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon ? colon : end) - p);
	}
	if (n == 0 || n >= len)
		return -1;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

/* Point the disk whose target is md->dev at md->path: 0 or -1. */
static int
lv_xml_disk_move(xmlXPathContextPtr ctx, const char *uuid,
    const struct migrate_disk *md)
{
	xmlXPathObjectPtr o;
	char expr[128], type[16];
	int n, r = -1;

	if (strspn(md->dev, "abcdefghijklmnopqrstuvwxyz") != strlen(md->dev))
		return err_set(ERR_INVALID, "'%s' is not a disk device name",
		    md->dev);
	snprintf(expr, sizeof(expr), "/domain/devices/disk[target/@dev='%s']",
	    md->dev);
	o = lv_xpath_nodes(ctx, expr, &n);
	if (n != 1) {
		xmlXPathFreeObject(o);
		return err_set(ERR_UNPROCESSABLE, "domain %s has no disk '%s': "
		    "it cannot be moved to '%s'", uuid, md->dev, md->path);
	}
	lv_xpath_at(ctx, o->nodesetval->nodeTab[0], "string(@type)", type,
	    sizeof(type));
	xmlXPathFreeObject(o);
	o = lv_xpath_nodes(ctx, "source[@file]", &n);
	if (strcmp(type, "file") != 0 || n != 1)
		err_set(ERR_UNPROCESSABLE, "disk '%s' of domain %s is not a "
		    "file: it cannot be moved to '%s'", md->dev, uuid, md->path);
	else if (xmlSetProp(o->nodesetval->nodeTab[0], LV_XC("file"),
	    LV_XC(md->path)) == NULL)
		err_set(ERR_INTERNAL, "out of memory");
	else
		r = 0;
	xmlXPathFreeObject(o);
	if (r < 0 || md->backing == NULL)
		return r;
	/* a linked clone's base is the destination's own copy */
	snprintf(expr, sizeof(expr), "/domain/devices/disk[target/@dev='%s']/"
	    "backingStore/source[@file]", md->dev);
	o = lv_xpath_nodes(ctx, expr, &n);
	if (n >= 1 && xmlSetProp(o->nodesetval->nodeTab[0], LV_XC("file"),
	    LV_XC(md->backing)) == NULL)
		r = err_set(ERR_INTERNAL, "out of memory");
	xmlXPathFreeObject(o);
	return r;
}

/*
 * The domain description xml with each disk of disks[0..n-1] (by its
 * target dev) pointing at its new file: a malloc'd document, or NULL with
 * an error.  Edited as a tree (libxml2), so each path is escaped like any
 * attribute value.
 */
static char *
lv_xml_disk_moved(const char *xml, const char *uuid,
    const struct migrate_disk *disks, int n)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx = NULL;
	xmlChar *mem = NULL;
	char *out = NULL;
	int len = 0;

	doc = lv_xml_read(xml, "domain.xml");
	if (doc == NULL || (ctx = xmlXPathNewContext(doc)) == NULL) {
		err_set(ERR_BACKEND, "cannot parse the description of domain "
		    "%s", uuid);
		goto done;
	}
	for (int i = 0; i < n; i++)
		if (lv_xml_disk_move(ctx, uuid, &disks[i]) < 0)
			goto done;
	xmlDocDumpMemory(doc, &mem, &len);
	if (mem == NULL || (out = strdup((const char *)mem)) == NULL)
		err_set(ERR_INTERNAL, "cannot write the description of domain "
		    "%s", uuid);
done:
	xmlFree(mem);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return out;
}

/* Did the job end because somebody aborted it (virDomainAbortJob)? */
static bool
lv_aborted(virErrorPtr e)
{
	if (e == NULL)
		return false;
	if (e->code == VIR_ERR_OPERATION_ABORTED)
		return true;
	return e->message && (strstr(e->message, "canceled") ||
	    strstr(e->message, "cancelled"));
}

struct lv_migrate_arg {
	const char *uuid;
	const struct migrate_spec *spec;
	const char *migrate_uri;     /* tcp://... */
};

/*
 * With dest_disks, both the definition the domain runs with there
 * (DEST_XML) and the one kept there (PERSIST_XML) name the new path:
 * without the latter libvirt would persist the source's definition, old
 * path and all.
 */
static int
lv_migrate_disk_params(virDomainPtr d, const struct lv_migrate_arg *a,
    virTypedParameterPtr *params, int *np, int *maxp)
{
	static const unsigned int which[2] = {
		VIR_DOMAIN_XML_MIGRATABLE | VIR_DOMAIN_XML_SECURE,
		VIR_DOMAIN_XML_MIGRATABLE | VIR_DOMAIN_XML_SECURE |
		    VIR_DOMAIN_XML_INACTIVE,
	};
	static const char *const param[2] = {
		VIR_MIGRATE_PARAM_DEST_XML, VIR_MIGRATE_PARAM_PERSIST_XML,
	};
	char *xml, *moved;
	int rc;

	for (int i = 0; i < 2; i++) {
		if ((xml = virDomainGetXMLDesc(d, which[i])) == NULL)
			return lv_fail("describe the domain for its "
			    "destination");
		moved = lv_xml_disk_moved(xml, a->uuid, a->spec->dest_disks,
		    a->spec->ndest_disks);
		free(xml);
		if (moved == NULL)
			return -1;
		rc = virTypedParamsAddString(params, np, maxp, param[i],
		    moved);
		free(moved);
		if (rc < 0)
			return lv_fail("prepare the migration's parameters");
	}
	return 0;
}

/*
 * The maximum downtime is set before the job starts: on libvirt 9.0 and
 * QEMU 7.2 it is a migration parameter of the source's QEMU process,
 * which the job then uses (virDomainMigrateGetMaxDowntime reads it back
 * during the job).  It is not carried over: the destination's domain
 * starts again from QEMU's default (300 ms).
 */
static int
lv_do_migrate(virDomainPtr d, void *arg)
{
	struct lv_migrate_arg *a = arg;
	const struct migrate_spec *s = a->spec;
	virTypedParameterPtr params = NULL;
	int np = 0, maxp = 0, r = LV_REPORTED;
	unsigned int flags = VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
	    VIR_MIGRATE_UNDEFINE_SOURCE;

	if (s->live)
		flags |= VIR_MIGRATE_LIVE;
	if (s->copy_storage)
		flags |= s->incremental ? VIR_MIGRATE_NON_SHARED_INC :
		    VIR_MIGRATE_NON_SHARED_DISK;
	/* libvirt demands it for shared disks without cache=none */
	if (s->shared_storage)
		flags |= VIR_MIGRATE_UNSAFE;
	if (s->auto_converge)
		flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (s->post_copy)
		flags |= VIR_MIGRATE_POSTCOPY;
	if (virTypedParamsAddString(&params, &np, &maxp,
	    VIR_MIGRATE_PARAM_URI, a->migrate_uri) < 0 ||
	    (s->bandwidth_mib_s > 0 && virTypedParamsAddULLong(&params, &np,
	    &maxp, VIR_MIGRATE_PARAM_BANDWIDTH,
	    (unsigned long long)s->bandwidth_mib_s) < 0)) {
		lv_fail("prepare the migration's parameters");
		goto done;
	}
	if (s->ndest_disks > 0 &&
	    lv_migrate_disk_params(d, a, &params, &np, &maxp) < 0)
		goto done;
	if (s->max_downtime_ms > 0 && virDomainMigrateSetMaxDowntime(d,
	    (unsigned long long)s->max_downtime_ms, 0) < 0) {
		lv_fail("set the migration's maximum downtime");
		goto done;
	}
	log_debug("libvirt: migrating domain %s to '%s' through '%s'",
	    a->uuid, s->dest_uri, a->migrate_uri);
	if (virDomainMigrateToURI3(d, s->dest_uri, params, (unsigned int)np,
	    flags) < 0) {
		if (lv_aborted(virGetLastError()))
			err_set(ERR_CONFLICT, "the migration of domain %s was "
			    "cancelled", a->uuid);
		else
			lv_fail("migrate the domain");
		goto done;
	}
	r = 0;
done:
	virTypedParamsFree(params, np);
	return r;
}

/*
 * What libvirt 9.0 does, as seen between two hosts (tests/lib/lvhost.sh):
 * - job_abort makes virDomainMigrateToURI3 fail with
 *   VIR_ERR_OPERATION_ABORTED, "operation aborted: job 'migration out'
 *   canceled by client" (ERR_CONFLICT here); the domain runs on here.
 * - A destination that cannot be reached is VIR_ERR_SYSTEM_ERROR
 *   (ERR_UNAVAILABLE); a domain with snapshots is refused ("cannot
 *   migrate domain with N snapshots", ERR_CONFLICT); shared disks
 *   without shared_storage are refused ("Unsafe migration").
 * - Copying storage moves what the guest sees, not the qcow2 file: its
 *   internal snapshots do not arrive.  Only volume_copy keeps them.
 * - Post-copy works under KVM and TCG (the source is then paused with
 *   reason postcopy, the destination runs).
 */
int
lv_migrate(struct backend_conn *bc, const char *uuid,
    const struct migrate_spec *spec)
{
	struct lv_migrate_arg a = { .uuid = uuid, .spec = spec };
	char host[256], muri[300];
	virConnectPtr c;
	int r;

	if (spec->migrate_uri == NULL) {
		if (lv_uri_host(spec->dest_uri, host, sizeof(host)) < 0)
			return err_set(ERR_UNPROCESSABLE, "the destination "
			    "URI '%s' names no host to migrate to",
			    spec->dest_uri);
		snprintf(muri, sizeof(muri), "tcp://%s", host);
		a.migrate_uri = muri;
	} else {
		a.migrate_uri = spec->migrate_uri;
	}
	/*
	 * A connection of its own: while virDomainMigrateToURI3 waits for
	 * its reply, other calls on the same connection (job_stats,
	 * job_abort, every other VM's operations on this host) were seen to
	 * stall for up to the keepalive interval (5 s) each.
	 */
	if ((c = lv_connect(bc->uri)) == NULL)
		return -1;
	r = lv_on_domain(c, bc->uri, uuid, "migrate the domain", 0,
	    lv_do_migrate, &a);
	virConnectClose(c);
	return r;
}

struct lv_stats_arg {
	bool completed;
	struct migrate_stats *out;
};

/* A ULLONG statistic; -1 when libvirt did not give it. */
static int64_t
lv_stat(virTypedParameterPtr p, int n, const char *name)
{
	unsigned long long v;

	if (virTypedParamsGetULLong(p, n, name, &v) != 1 ||
	    v > (unsigned long long)INT64_MAX)
		return -1;
	return (int64_t)v;
}

/*
 * A domain is in post-copy when QEMU served page requests of the
 * destination, or when libvirt says so in its state's reason (paused
 * here, running there).
 */
static int
lv_do_job_stats(virDomainPtr d, void *arg)
{
	struct lv_stats_arg *a = arg;
	struct migrate_stats *o = a->out;
	virTypedParameterPtr p = NULL;
	int n = 0, type, state, reason;

	if (virDomainGetJobStats(d, &type, &p, &n, a->completed ?
	    VIR_DOMAIN_JOB_STATS_COMPLETED : 0) < 0)
		return -1;
	o->active = type == VIR_DOMAIN_JOB_BOUNDED ||
	    type == VIR_DOMAIN_JOB_UNBOUNDED;
	o->elapsed_ms = lv_stat(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
	o->data_total = lv_stat(p, n, VIR_DOMAIN_JOB_DATA_TOTAL);
	o->data_processed = lv_stat(p, n, VIR_DOMAIN_JOB_DATA_PROCESSED);
	o->data_remaining = lv_stat(p, n, VIR_DOMAIN_JOB_DATA_REMAINING);
	o->mem_total = lv_stat(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL);
	o->mem_processed = lv_stat(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED);
	o->mem_remaining = lv_stat(p, n, VIR_DOMAIN_JOB_MEMORY_REMAINING);
	o->disk_total = lv_stat(p, n, VIR_DOMAIN_JOB_DISK_TOTAL);
	o->disk_processed = lv_stat(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED);
	o->disk_remaining = lv_stat(p, n, VIR_DOMAIN_JOB_DISK_REMAINING);
	o->iteration = lv_stat(p, n, VIR_DOMAIN_JOB_MEMORY_ITERATION);
	o->dirty_rate = lv_stat(p, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE);
	o->mem_bps = lv_stat(p, n, VIR_DOMAIN_JOB_MEMORY_BPS);
	o->downtime_ms = lv_stat(p, n, VIR_DOMAIN_JOB_DOWNTIME);
	o->postcopy = lv_stat(p, n, VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS) > 0;
	virTypedParamsFree(p, n);
	if (!o->postcopy && o->active &&
	    virDomainGetState(d, &state, &reason, 0) == 0)
		o->postcopy = (state == VIR_DOMAIN_PAUSED &&
		    reason == VIR_DOMAIN_PAUSED_POSTCOPY) ||
		    (state == VIR_DOMAIN_RUNNING &&
		    reason == VIR_DOMAIN_RUNNING_POSTCOPY);
	return 0;
}

/*
 * Where libvirt 9.0 keeps what (seen between two hosts):
 * - A running migration's statistics are on the SOURCE only; asking the
 *   destination's domain fails ("migration statistics are available
 *   only on the source host").  No job: active false, the rest -1.
 * - The completed statistics of a successful pre-copy migration are on
 *   the DESTINATION: the source's domain is gone (UNDEFINE_SOURCE, so
 *   ERR_NOT_FOUND there), and libvirt hands the statistics to the
 *   destination's domain until its next job (measured downtime included).
 * - A migration that switched to post-copy leaves none, on either side;
 *   neither does one that was aborted (the source says "no job").  Those
 *   read as active false, everything -1.
 */
int
lv_job_stats(struct backend_conn *bc, const char *uuid, bool completed,
    struct migrate_stats *out)
{
	struct lv_stats_arg a = { .completed = completed, .out = out };

	memset(out, 0, sizeof(*out));
	return lv_with_domain(bc, uuid, "read the domain's job", 0,
	    lv_do_job_stats, &a);
}

static int
lv_do_job_abort(virDomainPtr d, void *arg)
{
	(void)arg;
	return virDomainAbortJob(d);
}

int
lv_job_abort(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "abort the domain's job", 0,
	    lv_do_job_abort, NULL);
}

static int
lv_do_migrate_postcopy(virDomainPtr d, void *arg)
{
	(void)arg;
	return virDomainMigrateStartPostCopy(d, 0);
}

int
lv_migrate_postcopy(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "switch the migration to post-copy",
	    0, lv_do_migrate_postcopy, NULL);
}
