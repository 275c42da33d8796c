/*
 * lv_conn.c - the libvirt backend's connections: libvirt's set-up and its
 * event loop thread, opening a host's connection (with keepalive),
 * reopening it when libvirt has dropped it, closing it, what the host is
 * (host facts), and watching it.
 *
 * A connection may be watched (lv_watch): libvirt's lifecycle events and
 * the loss of the connection are passed to the caller's function from
 * the event thread, and the watch moves to each new connection when one
 * is reopened.
 */
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
#include "lv_int.h"

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
	/* base.uri's text follows the struct (lv_open) */
};

static pthread_t lv_event_thread;

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

int
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

virConnectPtr
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
virConnectPtr
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

/*
 * The URI is kept right after the struct, in the same allocation (so it
 * is exactly as long as it needs to be, and freed with lc).
 */
struct backend_conn *
lv_open(const char *uri)
{
	size_t len = strlen(uri) + 1;
	struct lv_conn *lc = calloc(1, sizeof(*lc) + len);

	if (lc == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	lc->base.driver = &backend_libvirt;
	lc->base.uri = memcpy(lc + 1, uri, len);
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
void
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
int
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

int
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
