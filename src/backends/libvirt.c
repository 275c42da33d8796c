/*
 * libvirt.c - the libvirt backend: every hypervisor call hangar makes.
 *
 * One virConnectPtr per host, with keepalive (libvirt's default event
 * loop runs in a thread started by global_init).  When a call finds the
 * connection dead it is reopened once and the call retried.  Domains are
 * addressed by UUID only; names are never used to find a domain, so a
 * foreign domain with a clashing name is never touched.
 */
#include <pthread.h>
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

struct lv_conn {
	struct backend_conn base;    /* must be first */
	pthread_mutex_t mu;          /* guards conn (re)opening */
	virConnectPtr conn;
};

static pthread_t lv_event_thread;

/* Turn libvirt's last error into ours; returns -1. */
static int
lv_fail(const char *what)
{
	virErrorPtr e = virGetLastError();
	const char *msg = e && e->message ? e->message : "unknown error";
	enum err_code code = ERR_BACKEND;

	if (e) {
		switch (e->code) {
		case VIR_ERR_NO_DOMAIN:
		case VIR_ERR_NO_STORAGE_VOL:
		case VIR_ERR_NO_STORAGE_POOL:
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

/*
 * A new reference to bc's live connection (the caller virConnectClose()s
 * it), reopened first if libvirt has dropped it.  NULL with ERR_UNAVAILABLE
 * when the host cannot be reached.
 */
static virConnectPtr
lv_get(struct backend_conn *bc)
{
	struct lv_conn *lc = (struct lv_conn *)bc;
	virConnectPtr c;

	pthread_mutex_lock(&lc->mu);
	if (lc->conn && virConnectIsAlive(lc->conn) != 1) {
		log_warnx("libvirt: connection to '%s' lost; reconnecting",
		    bc->uri);
		virConnectClose(lc->conn);
		lc->conn = NULL;
	}
	if (lc->conn == NULL)
		lc->conn = lv_connect(bc->uri);
	c = lc->conn;
	if (c)
		virConnectRef(c);
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
	lc->conn = lv_connect(uri);
	if (lc->conn == NULL) {
		pthread_mutex_destroy(&lc->mu);
		free(lc);
		return NULL;
	}
	return &lc->base;
}

static void
lv_close(struct backend_conn *bc)
{
	struct lv_conn *lc = (struct lv_conn *)bc;

	if (lc->conn)
		virConnectClose(lc->conn);
	pthread_mutex_destroy(&lc->mu);
	free(lc);
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
 * (< 0 on failure).  A missing domain is ERR_NOT_FOUND, unless missing_ok.
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
		r = fn(d, arg) < 0 ? lv_fail(what) : 0;
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
};
