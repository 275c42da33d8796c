/*
 * libvirt.c - the libvirt backend: every hypervisor call hangar makes.
 *
 * One virConnectPtr per host, with keepalive (libvirt's default event
 * loop runs in a thread started by global_init).  When a call finds the
 * connection dead it is reopened once and the call retried.  Domains are
 * addressed by UUID only; names are never used to find a domain, so a
 * foreign domain with a clashing name is never touched.
 *
 * A connection may be watched (lv_watch): libvirt's lifecycle events and
 * the loss of the connection are passed to the caller's function from
 * the event thread, and the watch moves to each new connection when one
 * is reopened.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "../common/error.h"
#include "../common/log.h"
#include "backend.h"

/*
 * A connection's watcher, shared with libvirt's callbacks.  It is
 * reference-counted because libvirt may still be dispatching a domain
 * event to it when virConnectDomainEventDeregisterAny returns: each
 * lifecycle registration holds a reference, which libvirt drops through
 * lv_watch_unref (its free callback) once the callback is really gone;
 * the lv_conn holds one more.  The close callback holds none: libvirt
 * runs it under a lock that virConnectUnregisterCloseCallback waits for,
 * and the lv_conn unregisters it before letting go of its reference.
 *
 * mu is held while fn runs, so once lv_watch(bc, NULL) or lv_close has
 * cleared fn, fn is neither running nor called again; in return fn must
 * not wait for anything that a thread calling those may hold.  mu is
 * never held while calling into libvirt, and the callbacks never take
 * lv_conn.mu, which is held across libvirt calls.
 */
struct lv_watch {
	pthread_mutex_t mu;          /* guards everything below */
	int refs;
	backend_event_fn fn;         /* NULL: nobody is watching */
	void *opaque;
};

struct lv_conn {
	struct backend_conn base;    /* must be first */
	pthread_mutex_t mu;          /* guards the rest: (re)opening conn and
	                              * moving the watch onto it */
	virConnectPtr conn;
	struct lv_watch *watch;      /* NULL until the first lv_watch */
	bool watching;               /* the caller wants events */
	int ev_id;                   /* lifecycle callback on conn, or -1 */
	bool close_cb;               /* close callback registered on conn */
};

/*
 * What a lv_dom_fn returns when it has reported its own error with
 * err_set(), so that lv_with_domain must not report libvirt's.
 */
#define LV_REPORTED (-2)

static pthread_t lv_event_thread;

/* Turn libvirt's error e (may be NULL) into ours; returns -1. */
static int
lv_fail_err(const char *what, virErrorPtr e)
{
	const char *msg = e && e->message ? e->message : "unknown error";
	enum err_code code = ERR_BACKEND;

	if (e) {
		switch (e->code) {
		case VIR_ERR_NO_DOMAIN:
		case VIR_ERR_NO_STORAGE_VOL:
		case VIR_ERR_NO_STORAGE_POOL:
		case VIR_ERR_NO_DOMAIN_SNAPSHOT:
			code = ERR_NOT_FOUND;
			break;
		case VIR_ERR_OPERATION_INVALID:
			code = ERR_CONFLICT;
			break;
		case VIR_ERR_NO_CONNECT:
		case VIR_ERR_INVALID_CONN:
		case VIR_ERR_RPC:
		case VIR_ERR_SYSTEM_ERROR:
		case VIR_ERR_AUTH_FAILED:
			code = ERR_UNAVAILABLE;
			break;
		case VIR_ERR_NO_SUPPORT:
			code = ERR_UNSUPPORTED;
			break;
		default:
			break;
		}
	}
	return err_set(code, "libvirt could not %s: %s", what, msg);
}

/* Turn libvirt's last error into ours; returns -1. */
static int
lv_fail(const char *what)
{
	return lv_fail_err(what, virGetLastError());
}

/* libvirt prints every error to stderr by default; we report our own. */
static void
lv_quiet(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

static void *
lv_event_loop(void *arg)
{
	(void)arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			log_warnx("libvirt: event loop: %s",
			    virGetLastErrorMessage());
	return NULL;
}

static int
lv_global_init(void)
{
	if (virInitialize() < 0)
		return lv_fail("initialise");
	virSetErrorFunc(NULL, lv_quiet);
	if (virEventRegisterDefaultImpl() < 0)
		return lv_fail("register its event loop");
	if (pthread_create(&lv_event_thread, NULL, lv_event_loop, NULL) != 0)
		return err_set(ERR_INTERNAL, "cannot start the libvirt event "
		    "thread");
	pthread_detach(lv_event_thread);
	return 0;
}

static virConnectPtr
lv_connect(const char *uri)
{
	virConnectPtr c = virConnectOpen(uri);

	if (c == NULL) {
		err_set(ERR_UNAVAILABLE, "cannot connect to host '%s': %s",
		    uri, virGetLastErrorMessage());
		return NULL;
	}
	/* ping every 5 s; 3 missed answers close the connection */
	if (virConnectSetKeepAlive(c, 5, 3) < 0)
		log_debug("libvirt: no keepalive on '%s': %s", uri,
		    virGetLastErrorMessage());
	return c;
}

/* --- watching: lifecycle events and the loss of the connection --- */

static void
lv_watch_unref(void *opaque)
{
	struct lv_watch *w = opaque;
	int refs;

	pthread_mutex_lock(&w->mu);
	refs = --w->refs;
	pthread_mutex_unlock(&w->mu);
	if (refs == 0) {
		pthread_mutex_destroy(&w->mu);
		free(w);
	}
}

/*
 * Point w at fn/opaque.  Taking mu waits for a call of the old fn that is
 * under way.
 */
static void
lv_watch_set(struct lv_watch *w, backend_event_fn fn, void *opaque)
{
	pthread_mutex_lock(&w->mu);
	w->fn = fn;
	w->opaque = opaque;
	pthread_mutex_unlock(&w->mu);
}

/* A short word for a lifecycle event, for the watcher's log. */
static const char *
lv_event_name(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_DEFINED:
		return "defined";
	case VIR_DOMAIN_EVENT_UNDEFINED:
		return "undefined";
	case VIR_DOMAIN_EVENT_STARTED:
		return "started";
	case VIR_DOMAIN_EVENT_SUSPENDED:
		return detail == VIR_DOMAIN_EVENT_SUSPENDED_IOERROR ?
		    "ioerror" : "suspended";
	case VIR_DOMAIN_EVENT_RESUMED:
		return "resumed";
	case VIR_DOMAIN_EVENT_STOPPED:
		return detail == VIR_DOMAIN_EVENT_STOPPED_FAILED ? "crashed" :
		    "stopped";
	case VIR_DOMAIN_EVENT_SHUTDOWN:
		return "shutdown";
	case VIR_DOMAIN_EVENT_PMSUSPENDED:
		return "pmsuspended";
	case VIR_DOMAIN_EVENT_CRASHED:
		return "crashed";
	default:
		return "unknown";
	}
}

/* libvirt's lifecycle callback, on its event thread. */
static int
lv_on_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail,
    void *opaque)
{
	struct lv_watch *w = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];

	(void)c;
	if (virDomainGetUUIDString(d, uuid) < 0)   /* local, no RPC */
		return 0;
	pthread_mutex_lock(&w->mu);
	if (w->fn)
		w->fn(w->opaque, uuid, lv_event_name(event, detail));
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* libvirt's close callback: the connection died (or was closed). */
static void
lv_on_close(virConnectPtr c, int reason, void *opaque)
{
	struct lv_watch *w = opaque;

	(void)c;
	(void)reason;
	pthread_mutex_lock(&w->mu);
	if (w->fn)
		w->fn(w->opaque, NULL, "closed");
	pthread_mutex_unlock(&w->mu);
}

/*
 * Register lc's watch on lc->conn (lc->mu held, conn open, not yet
 * registered): both callbacks, or neither.  0, or -1 with an error.
 */
static int
lv_watch_attach(struct lv_conn *lc)
{
	struct lv_watch *w = lc->watch;

	pthread_mutex_lock(&w->mu);
	w->refs++;                      /* the lifecycle registration's */
	pthread_mutex_unlock(&w->mu);
	lc->ev_id = virConnectDomainEventRegisterAny(lc->conn, NULL,
	    VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	    VIR_DOMAIN_EVENT_CALLBACK(lv_on_lifecycle), w, lv_watch_unref);
	if (lc->ev_id < 0) {
		/* a failed registration does not call the free callback */
		lv_watch_unref(w);
		return lv_fail("watch the domains' lifecycle events");
	}
	/* drivers that cannot lose their connection (test:///) accept this
	 * and never call it */
	if (virConnectRegisterCloseCallback(lc->conn, lv_on_close, w,
	    NULL) < 0) {
		lv_fail("watch the connection");
		virConnectDomainEventDeregisterAny(lc->conn, lc->ev_id);
		lc->ev_id = -1;
		return -1;
	}
	lc->close_cb = true;
	return 0;
}

/*
 * Drop lc's callbacks from lc->conn (lc->mu held), before the connection
 * is closed or when watching stops.  On a dead connection libvirt still
 * forgets them locally, so errors are only logged.
 */
static void
lv_watch_detach(struct lv_conn *lc)
{
	if (lc->ev_id >= 0 &&
	    virConnectDomainEventDeregisterAny(lc->conn, lc->ev_id) < 0)
		log_debug("libvirt: dropping the event callback of '%s': %s",
		    lc->base.uri, virGetLastErrorMessage());
	lc->ev_id = -1;
	if (lc->close_cb &&
	    virConnectUnregisterCloseCallback(lc->conn, lv_on_close) < 0)
		log_debug("libvirt: dropping the close callback of '%s': %s",
		    lc->base.uri, virGetLastErrorMessage());
	lc->close_cb = false;
}

/*
 * Make lc->conn a live connection (lc->mu held): reopen it if libvirt
 * has dropped it, moving the watch across.  0, or -1 with ERR_UNAVAILABLE
 * when the host cannot be reached.
 */
static int
lv_live(struct lv_conn *lc)
{
	if (lc->conn && virConnectIsAlive(lc->conn) != 1) {
		log_warnx("libvirt: connection to '%s' lost; reconnecting",
		    lc->base.uri);
		lv_watch_detach(lc);
		virConnectClose(lc->conn);
		lc->conn = NULL;
	}
	if (lc->conn == NULL && (lc->conn = lv_connect(lc->base.uri)) == NULL)
		return -1;
	/* watched before, or a re-registration failed last time */
	if (lc->watching && lc->ev_id < 0 && lv_watch_attach(lc) < 0)
		log_warnx("libvirt: events of '%s' are not watched: %s",
		    lc->base.uri, err_last()->msg);
	return 0;
}

/*
 * A new reference to bc's live connection (the caller virConnectClose()s
 * it), reopened first if libvirt has dropped it.  NULL with ERR_UNAVAILABLE
 * when the host cannot be reached.
 */
static virConnectPtr
lv_get(struct backend_conn *bc)
{
	struct lv_conn *lc = (struct lv_conn *)bc;
	virConnectPtr c = NULL;

	pthread_mutex_lock(&lc->mu);
	if (lv_live(lc) == 0) {
		c = lc->conn;
		virConnectRef(c);
	}
	pthread_mutex_unlock(&lc->mu);
	return c;
}

static struct backend_conn *
lv_open(const char *uri)
{
	struct lv_conn *lc = calloc(1, sizeof(*lc));

	if (lc == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	lc->base.ops = &backend_libvirt_ops;
	snprintf(lc->base.uri, sizeof(lc->base.uri), "%s", uri);
	pthread_mutex_init(&lc->mu, NULL);
	lc->ev_id = -1;
	lc->conn = lv_connect(uri);
	if (lc->conn == NULL) {
		pthread_mutex_destroy(&lc->mu);
		free(lc);
		return NULL;
	}
	return &lc->base;
}

/*
 * Callbacks are dropped before the connection is closed, and the watcher
 * is cleared (waiting for a call under way) before lc is freed: once this
 * returns, the caller's fn is not called again.
 */
static void
lv_close(struct backend_conn *bc)
{
	struct lv_conn *lc = (struct lv_conn *)bc;

	pthread_mutex_lock(&lc->mu);
	if (lc->conn) {
		lv_watch_detach(lc);
		virConnectClose(lc->conn);
		lc->conn = NULL;
	}
	pthread_mutex_unlock(&lc->mu);
	if (lc->watch) {
		lv_watch_set(lc->watch, NULL, NULL);
		lv_watch_unref(lc->watch);
	}
	pthread_mutex_destroy(&lc->mu);
	free(lc);
}

/*
 * Start, change or (fn NULL) stop watching.  Starting registers on the
 * live connection now, and lv_live() registers again on every new one.
 */
static int
lv_watch(struct backend_conn *bc, backend_event_fn fn, void *opaque)
{
	struct lv_conn *lc = (struct lv_conn *)bc;
	int r = 0;

	pthread_mutex_lock(&lc->mu);
	if (fn == NULL) {
		lc->watching = false;
		if (lc->conn)
			lv_watch_detach(lc);
		if (lc->watch)
			lv_watch_set(lc->watch, NULL, NULL);
		goto done;
	}
	if (lc->watch == NULL) {
		if ((lc->watch = calloc(1, sizeof(*lc->watch))) == NULL) {
			r = err_set(ERR_INTERNAL, "out of memory");
			goto done;
		}
		pthread_mutex_init(&lc->watch->mu, NULL);
		lc->watch->refs = 1;    /* lc's */
	}
	lv_watch_set(lc->watch, fn, opaque);
	if (lc->watching && lc->ev_id >= 0)
		goto done;              /* only the function changed */
	if (lv_live(lc) < 0 || (lc->ev_id < 0 && lv_watch_attach(lc) < 0)) {
		lc->watching = false;
		lv_watch_set(lc->watch, NULL, NULL);
		r = -1;
		goto done;
	}
	lc->watching = true;
done:
	pthread_mutex_unlock(&lc->mu);
	return r;
}

/* Evaluate an XPath string over a document; "" when absent. */
static void
lv_xpath(xmlXPathContextPtr ctx, const char *expr, char *out, size_t len)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(
	    (const xmlChar *)expr, ctx);

	out[0] = '\0';
	if (o && o->type == XPATH_STRING && o->stringval)
		snprintf(out, len, "%s", (const char *)o->stringval);
	xmlXPathFreeObject(o);
}

static int
lv_host_facts(struct backend_conn *bc, struct host_facts *out)
{
	virConnectPtr c = lv_get(bc);
	virNodeInfo ni;
	char *caps = NULL, kvm[8], qemu[8], other[16];
	xmlDocPtr doc = NULL;
	xmlXPathContextPtr ctx = NULL;
	unsigned long long freemem;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	if (virNodeGetInfo(c, &ni) < 0) {
		lv_fail("read the host's node info");
		goto done;
	}
	out->cpus = (int)ni.cpus;
	out->memory_mib = (int64_t)(ni.memory / 1024);
	freemem = virNodeGetFreeMemory(c);
	out->free_memory_mib = (int64_t)(freemem / (1024 * 1024));
	if ((caps = virConnectGetCapabilities(c)) == NULL) {
		lv_fail("read the host's capabilities");
		goto done;
	}
	doc = xmlReadMemory(caps, (int)strlen(caps), "caps.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || (ctx = xmlXPathNewContext(doc)) == NULL) {
		err_set(ERR_BACKEND, "cannot parse the capabilities of '%s'",
		    bc->uri);
		goto done;
	}
	lv_xpath(ctx, "string(/capabilities/host/cpu/arch)", out->arch,
	    sizeof(out->arch));
	lv_xpath(ctx, "string(/capabilities/host/cpu/model)", out->cpu_model,
	    sizeof(out->cpu_model));
	/* kvm where the host offers it for its own arch, else TCG */
	/* kvm where the host offers it for its own arch, else qemu (TCG),
	 * else whatever it offers (libvirt's test driver: "test") */
	lv_xpath(ctx, "string(/capabilities/guest[os_type='hvm']/arch"
	    "[@name=/capabilities/host/cpu/arch]/domain[@type='kvm']/@type)",
	    kvm, sizeof(kvm));
	lv_xpath(ctx, "string(/capabilities/guest[os_type='hvm']/arch"
	    "[@name=/capabilities/host/cpu/arch]/domain[@type='qemu']/@type)",
	    qemu, sizeof(qemu));
	lv_xpath(ctx, "string(/capabilities/guest[os_type='hvm']/arch"
	    "[@name=/capabilities/host/cpu/arch]/domain[1]/@type)",
	    other, sizeof(other));
	snprintf(out->domain_type, sizeof(out->domain_type), "%s",
	    kvm[0] ? "kvm" : qemu[0] ? "qemu" : other[0] ? other : "qemu");
	snprintf(out->domain_types, sizeof(out->domain_types), "%s%s%s",
	    kvm[0] ? "kvm" : "", kvm[0] && qemu[0] ? " " : "",
	    qemu[0] ? "qemu" : "");
	if (out->domain_types[0] == '\0')
		snprintf(out->domain_types, sizeof(out->domain_types), "%s",
		    out->domain_type);
	if (out->cpu_model[0] == '\0')
		snprintf(out->cpu_model, sizeof(out->cpu_model), "%s", ni.model);
	r = 0;
done:
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	free(caps);
	virConnectClose(c);
	return r;
}

static int
lv_pool_ensure(struct backend_conn *bc, const char *pool, const char *path,
    int64_t *cap_gib, int64_t *avail_gib)
{
	virStoragePoolInfo info;
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	char *xml = NULL;
	int r = -1, active;

	if (c == NULL)
		return -1;
	p = virStoragePoolLookupByName(c, pool);
	if (p == NULL) {
		if ((xml = domain_xml_pool(pool, path)) == NULL)
			goto done;
		p = virStoragePoolDefineXML(c, xml, 0);
		if (p == NULL) {
			lv_fail("define the storage pool");
			goto done;
		}
		if (virStoragePoolBuild(p, 0) < 0) {
			lv_fail("build the storage pool");
			goto done;
		}
		virStoragePoolSetAutostart(p, 1);
		log_info("libvirt: defined storage pool '%s' at '%s' on '%s'",
		    pool, path, bc->uri);
	}
	active = virStoragePoolIsActive(p);
	if (active == 0) {
		/* building a dir pool only creates its directory if missing;
		 * a pool another thread started meanwhile is fine */
		if (virStoragePoolBuild(p, 0) < 0 &&
		    virStoragePoolIsActive(p) != 1) {
			lv_fail("build the storage pool");
			goto done;
		}
		if (virStoragePoolCreate(p, 0) < 0 &&
		    virStoragePoolIsActive(p) != 1) {
			lv_fail("start the storage pool");
			goto done;
		}
	}
	if (virStoragePoolGetInfo(p, &info) < 0) {
		lv_fail("read the storage pool's capacity");
		goto done;
	}
	*cap_gib = (int64_t)(info.capacity >> 30);
	*avail_gib = (int64_t)(info.available >> 30);
	r = 0;
done:
	if (p)
		virStoragePoolFree(p);
	free(xml);
	virConnectClose(c);
	return r;
}

static int
lv_volume_create(struct backend_conn *bc, const char *pool, const char *vol,
    int64_t gib, char *path_out, size_t path_len)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	char *xml = NULL, *path = NULL;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((p = virStoragePoolLookupByName(c, pool)) == NULL) {
		lv_fail("find the storage pool");
		goto done;
	}
	if ((xml = domain_xml_volume(vol, gib)) == NULL)
		goto done;
	if ((v = virStorageVolCreateXML(p, xml, 0)) == NULL) {
		lv_fail("create the disk volume");
		goto done;
	}
	if ((path = virStorageVolGetPath(v)) == NULL) {
		lv_fail("read the disk volume's path");
		virStorageVolDelete(v, 0);
		goto done;
	}
	snprintf(path_out, path_len, "%s", path);
	r = 0;
done:
	free(path);
	free(xml);
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return r;
}

static int
lv_volume_delete(struct backend_conn *bc, const char *pool, const char *vol)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((p = virStoragePoolLookupByName(c, pool)) == NULL) {
		/* no pool, no volume in it: already gone */
		virErrorPtr e = virGetLastError();

		r = e && e->code == VIR_ERR_NO_STORAGE_POOL ? 0 :
		    lv_fail("find the storage pool");
		goto done;
	}
	/* the pool's view may be stale: refresh before looking */
	virStoragePoolRefresh(p, 0);
	if ((v = virStorageVolLookupByName(p, vol)) == NULL) {
		/* only "no such volume" means already gone: any other error
		 * must not let the caller forget a disk that is still there */
		virErrorPtr e = virGetLastError();

		r = e && e->code == VIR_ERR_NO_STORAGE_VOL ? 0 :
		    lv_fail("look the disk volume up");
		goto done;
	}
	if (virStorageVolDelete(v, 0) < 0) {
		lv_fail("delete the disk volume");
		goto done;
	}
	r = 0;
done:
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return r;
}

static int
lv_define(struct backend_conn *bc, const struct vm_spec *spec)
{
	virConnectPtr c = lv_get(bc);
	virDomainPtr d;
	char *xml;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((xml = domain_xml_domain(spec)) != NULL) {
		d = virDomainDefineXMLFlags(c, xml,
		    VIR_DOMAIN_DEFINE_VALIDATE);
		if (d == NULL) {
			lv_fail("define the domain");
		} else {
			virDomainFree(d);
			r = 0;
		}
	}
	free(xml);
	virConnectClose(c);
	return r;
}

/*
 * Run fn on the domain with this UUID.  fn returns libvirt's result
 * (< 0 on failure, reported here as "libvirt could not <what>"), or
 * LV_REPORTED when it has set its own error.  A missing domain is
 * ERR_NOT_FOUND, unless missing_ok.
 */
typedef int (*lv_dom_fn)(virDomainPtr d, void *arg);

static int
lv_with_domain(struct backend_conn *bc, const char *uuid, const char *what,
    int missing_ok, lv_dom_fn fn, void *arg)
{
	virConnectPtr c = lv_get(bc);
	virDomainPtr d;
	int r = -1;

	if (c == NULL)
		return -1;
	d = virDomainLookupByUUIDString(c, uuid);
	if (d == NULL) {
		virErrorPtr e = virGetLastError();

		if (e && e->code == VIR_ERR_NO_DOMAIN) {
			r = missing_ok ? 0 : err_set(ERR_NOT_FOUND,
			    "domain %s does not exist on host '%s'", uuid,
			    bc->uri);
		} else {
			r = lv_fail("look the domain up");
		}
	} else {
		r = fn(d, arg);
		if (r == LV_REPORTED)
			r = -1;
		else if (r < 0)
			r = lv_fail(what);
		else
			r = 0;
		virDomainFree(d);
	}
	virConnectClose(c);
	return r;
}

static int
lv_do_undefine(virDomainPtr d, void *arg)
{
	(void)arg;
	/* hangar makes no UEFI NVRAM or checkpoints; snapshots it does */
	return virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
	    VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
}

static int
lv_do_start(virDomainPtr d, void *arg)
{
	(void)arg;
	return virDomainCreate(d);
}

static int
lv_do_shutdown(virDomainPtr d, void *arg)
{
	(void)arg;
	/* flags 0: the driver's default, ACPI for QEMU without an agent */
	return virDomainShutdownFlags(d, 0);
}

/* Power off; a domain that is not running is already off. */
static int
lv_do_destroy(virDomainPtr d, void *arg)
{
	(void)arg;
	if (virDomainIsActive(d) == 0)
		return 0;
	return virDomainDestroy(d);
}

static int
lv_do_suspend(virDomainPtr d, void *arg)
{
	(void)arg;
	return virDomainSuspend(d);
}

static int
lv_do_resume(virDomainPtr d, void *arg)
{
	(void)arg;
	return virDomainResume(d);
}

static int
lv_do_reboot(virDomainPtr d, void *arg)
{
	(void)arg;
	return virDomainReboot(d, 0);     /* ACPI for QEMU without an agent */
}

static int
lv_do_reset(virDomainPtr d, void *arg)
{
	(void)arg;
	return virDomainReset(d, 0);
}

static int
lv_do_state(virDomainPtr d, void *arg)
{
	enum vm_state *out = arg;
	int state, reason;

	if (virDomainGetState(d, &state, &reason, 0) < 0)
		return -1;
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
	case VIR_DOMAIN_SHUTDOWN:       /* still running, shutting down */
		*out = VM_RUNNING;
		break;
	case VIR_DOMAIN_PAUSED:
	case VIR_DOMAIN_PMSUSPENDED:
		*out = VM_PAUSED;
		break;
	case VIR_DOMAIN_SHUTOFF:
		*out = reason == VIR_DOMAIN_SHUTOFF_CRASHED ? VM_CRASHED :
		    VM_STOPPED;
		break;
	case VIR_DOMAIN_CRASHED:
		*out = VM_CRASHED;
		break;
	default:
		*out = VM_UNKNOWN;
		break;
	}
	return 0;
}

static int
lv_undefine(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "undefine the domain", 1,
	    lv_do_undefine, NULL);
}

static int
lv_start(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "start the domain", 0, lv_do_start,
	    NULL);
}

static int
lv_shutdown(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "shut the domain down", 0,
	    lv_do_shutdown, NULL);
}

static int
lv_destroy(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "power the domain off", 1,
	    lv_do_destroy, NULL);
}

static int
lv_suspend(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "pause the domain", 0, lv_do_suspend,
	    NULL);
}

static int
lv_resume(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "resume the domain", 0, lv_do_resume,
	    NULL);
}

static int
lv_reboot(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "reboot the domain", 0, lv_do_reboot,
	    NULL);
}

static int
lv_reset(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "reset the domain", 0, lv_do_reset,
	    NULL);
}

static int
lv_state(struct backend_conn *bc, const char *uuid, enum vm_state *out)
{
	return lv_with_domain(bc, uuid, "read the domain's state", 0,
	    lv_do_state, out);
}

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

static int
lv_snapshot_create(struct backend_conn *bc, const char *uuid,
    const struct snap_spec *spec, struct snap_info *out)
{
	struct lv_snap_arg a = { .uuid = uuid, .name = spec->name,
	    .spec = spec, .out = out };

	return lv_with_domain(bc, uuid, "take the snapshot", 0,
	    lv_do_snapshot_create, &a);
}

static int
lv_snapshot_get(struct backend_conn *bc, const char *uuid, const char *name,
    struct snap_info *out)
{
	struct lv_snap_arg a = { .uuid = uuid, .name = name, .out = out };

	return lv_with_domain(bc, uuid, "read the snapshot", 0,
	    lv_do_snapshot_get, &a);
}

static int
lv_snapshot_revert(struct backend_conn *bc, const char *uuid,
    const char *name, bool disk_only)
{
	struct lv_snap_arg a = { .uuid = uuid, .name = name,
	    .disk_only = disk_only };

	return lv_with_domain(bc, uuid, "revert to the snapshot", 0,
	    lv_do_snapshot_revert, &a);
}

/* A domain that is gone has no snapshots left to delete. */
static int
lv_snapshot_delete(struct backend_conn *bc, const char *uuid,
    const char *name)
{
	struct lv_snap_arg a = { .uuid = uuid, .name = name };

	return lv_with_domain(bc, uuid, "delete the snapshot", 1,
	    lv_do_snapshot_delete, &a);
}

const struct backend_ops backend_libvirt_ops = {
	.name = "libvirt",
	.global_init = lv_global_init,
	.open = lv_open,
	.close = lv_close,
	.host_facts = lv_host_facts,
	.pool_ensure = lv_pool_ensure,
	.volume_create = lv_volume_create,
	.volume_delete = lv_volume_delete,
	.define = lv_define,
	.undefine = lv_undefine,
	.start = lv_start,
	.shutdown = lv_shutdown,
	.destroy = lv_destroy,
	.suspend = lv_suspend,
	.resume = lv_resume,
	.reboot = lv_reboot,
	.reset = lv_reset,
	.state = lv_state,
	.snapshot_create = lv_snapshot_create,
	.snapshot_get = lv_snapshot_get,
	.snapshot_revert = lv_snapshot_revert,
	.snapshot_delete = lv_snapshot_delete,
	.watch = lv_watch,
};
