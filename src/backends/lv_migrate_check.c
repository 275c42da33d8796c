/*
 * lv_migrate_check.c - the libvirt backend's checks before a migration:
 * can the destination run the domain (cpu, machine type, emulator), reach
 * its networks, and see or hold its disks (storage)?  Each check is a
 * verdict with a sentence saying why.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "../common/error.h"
#include "../common/log.h"
#include "lv_int.h"

/* Bind XPath variable $name to a string, for expressions over values
 * that must not be pasted into them. */
static void
lv_xpath_var(xmlXPathContextPtr ctx, const char *name, const char *value)
{
	xmlXPathRegisterVariable(ctx, LV_XC(name),
	    xmlXPathNewCString(value));
}

/*
 * Append one check's verdict.  Its reason is a whole sentence, in the
 * style of hangar's error messages (values quoted, no final stop).
 */
static void lv_check_add(struct migrate_checks *out, const char *name,
    bool pass, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
lv_check_add(struct migrate_checks *out, const char *name, bool pass,
    const char *fmt, ...)
{
	struct migrate_check *c;
	va_list ap;

	if (out->n < 0 || out->n >= MIGRATE_CHECKS_MAX) {
		log_warnx("libvirt: no room for migration check '%s'", name);
		return;
	}
	c = &out->c[out->n++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->pass = pass;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

/* What the checks read once: the domain and both hosts' capabilities. */
struct lv_check_docs {
	xmlDocPtr dom, src_caps, dst_caps;
	xmlXPathContextPtr dx, sx, tx;   /* over dom, src_caps, dst_caps */
	char type[16];                   /* the domain's: kvm, qemu, ... */
	char os_type[16];                /* hvm */
	char arch[32];
	char machine[64];
};

static double
lv_gib(unsigned long long bytes)
{
	return (double)bytes / (1024.0 * 1024.0 * 1024.0);
}

/*
 * The source host's CPU (its capabilities' <cpu>) against the
 * destination's.  A TCG guest runs on an emulated CPU, whatever the
 * hosts have.
 */
static void
lv_check_cpu(virConnectPtr dst, struct lv_check_docs *k,
    struct migrate_checks *out)
{
	xmlXPathObjectPtr o;
	xmlBufferPtr buf;
	char model[128];
	int n, cmp;

	if (strcmp(k->type, "qemu") == 0) {
		lv_check_add(out, "cpu", true, "TCG guest: the CPU is "
		    "emulated");
		return;
	}
	lv_xpath(k->sx, "string(/capabilities/host/cpu/model)", model,
	    sizeof(model));
	o = lv_xpath_nodes(k->sx, "/capabilities/host/cpu", &n);
	if (n != 1 || (buf = xmlBufferCreate()) == NULL) {
		xmlXPathFreeObject(o);
		lv_check_add(out, "cpu", false, "the source host does not "
		    "describe its CPU");
		return;
	}
	xmlNodeDump(buf, k->src_caps, o->nodesetval->nodeTab[0], 0, 0);
	xmlXPathFreeObject(o);
	cmp = virConnectCompareCPU(dst, (const char *)xmlBufferContent(buf),
	    0);
	xmlBufferFree(buf);
	switch (cmp) {
	case VIR_CPU_COMPARE_IDENTICAL:
		lv_check_add(out, "cpu", true, "the destination's CPU is the "
		    "same as the source's ('%s')", model);
		break;
	case VIR_CPU_COMPARE_SUPERSET:
		lv_check_add(out, "cpu", true, "the destination's CPU has "
		    "every feature of the source's ('%s')", model);
		break;
	case VIR_CPU_COMPARE_INCOMPATIBLE:
		lv_check_add(out, "cpu", false, "the destination's CPU lacks "
		    "features of the source's ('%s')", model);
		break;
	default:
		lv_check_add(out, "cpu", false, "libvirt could not compare "
		    "the CPUs: %s", virGetLastErrorMessage());
		break;
	}
}

/* Does the destination offer the domain's type for its arch at all? */
static bool
lv_dst_offers_type(struct lv_check_docs *k)
{
	char t[16];

	lv_xpath(k->tx, "string(/capabilities/guest[os_type=$os]/arch"
	    "[@name=$arch]/domain[@type=$type]/@type)", t, sizeof(t));
	return t[0] != '\0';
}

/*
 * The domain's machine type among those the destination offers for its
 * arch, generally or for its domain type; a name may be offered as an
 * alias (<machine canonical='pc-i440fx-7.2'>pc</machine>).
 */
static void
lv_check_machine(struct lv_check_docs *k, struct migrate_checks *out)
{
	xmlXPathObjectPtr o;
	xmlChar *text, *canon;
	bool found = false;
	int n;

	if (!lv_dst_offers_type(k)) {
		lv_check_add(out, "machine", false, "the destination offers "
		    "no '%s' domains for '%s'", k->type, k->arch);
		return;
	}
	if (k->machine[0] == '\0') {
		lv_check_add(out, "machine", true, "the domain names no "
		    "machine type; the destination picks its own");
		return;
	}
	o = lv_xpath_nodes(k->tx, "/capabilities/guest[os_type=$os]/arch"
	    "[@name=$arch]/machine | /capabilities/guest[os_type=$os]/arch"
	    "[@name=$arch]/domain[@type=$type]/machine", &n);
	for (int i = 0; i < n && !found; i++) {
		text = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
		canon = xmlGetProp(o->nodesetval->nodeTab[i],
		    LV_XC("canonical"));
		found = (text && strcmp((const char *)text, k->machine) == 0) ||
		    (canon && strcmp((const char *)canon, k->machine) == 0);
		xmlFree(text);
		xmlFree(canon);
	}
	xmlXPathFreeObject(o);
	if (found)
		lv_check_add(out, "machine", true, "the destination offers "
		    "machine type '%s' for '%s'", k->machine, k->arch);
	else
		lv_check_add(out, "machine", false, "the destination does not "
		    "offer machine type '%s' for '%s' ('%s' domains)",
		    k->machine, k->arch, k->type);
}

/* The domain's emulator is the one the destination runs for it. */
static void
lv_check_emulator(struct lv_check_docs *k, struct migrate_checks *out)
{
	char emu[1024], there[1024];

	lv_xpath(k->dx, "string(/domain/devices/emulator)", emu, sizeof(emu));
	if (emu[0] == '\0') {
		lv_check_add(out, "emulator", true, "the domain names no "
		    "emulator; the destination picks its own");
		return;
	}
	lv_xpath(k->tx, "string(/capabilities/guest[os_type=$os]/arch"
	    "[@name=$arch]/domain[@type=$type]/emulator)", there,
	    sizeof(there));
	if (there[0] == '\0')
		lv_xpath(k->tx, "string(/capabilities/guest[os_type=$os]/arch"
		    "[@name=$arch]/emulator)", there, sizeof(there));
	if (strcmp(emu, there) == 0)
		lv_check_add(out, "emulator", true, "the destination offers "
		    "the same emulator ('%s')", emu);
	else if (there[0] == '\0')
		lv_check_add(out, "emulator", false, "the destination offers "
		    "no emulator for '%s' ('%s' domains)", k->arch, k->type);
	else
		lv_check_add(out, "emulator", false, "the destination's "
		    "emulator is '%s', not the domain's '%s'", there, emu);
}

/* A host bridge on the destination (libvirt's interface driver reads
 * its interfaces): its verdict into why. */
static bool
lv_check_bridge(virConnectPtr dst, const char *source, char *why,
    size_t len)
{
	virInterfacePtr i = virInterfaceLookupByName(dst, source);

	if (i != NULL) {
		virInterfaceFree(i);
		snprintf(why, len, "bridge '%s' is on the destination", source);
		return true;
	}
	if (virGetLastErrorCode() == VIR_ERR_NO_INTERFACE)
		snprintf(why, len, "bridge '%s' is not on the destination",
		    source);
	else
		snprintf(why, len, "libvirt could not look bridge '%s' up on "
		    "the destination: %s", source, virGetLastErrorMessage());
	return false;
}

/* One interface's network on the destination: its verdict into why. */
static bool
lv_check_iface(virConnectPtr dst, const char *type, const char *source,
    char *why, size_t len)
{
	virNetworkPtr net;
	virErrorPtr e;
	int active;

	if (strcmp(type, "bridge") == 0)
		return lv_check_bridge(dst, source, why, len);
	if (strcmp(type, "network") != 0) {
		snprintf(why, len, "an interface of type '%s' is not "
		    "checked", type);
		return true;
	}
	if ((net = virNetworkLookupByName(dst, source)) == NULL) {
		e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_NETWORK)
			snprintf(why, len, "network '%s' does not exist on "
			    "the destination", source);
		else
			snprintf(why, len, "libvirt could not look network "
			    "'%s' up on the destination: %s", source,
			    virGetLastErrorMessage());
		return false;
	}
	active = virNetworkIsActive(net);
	virNetworkFree(net);
	if (active == 1)
		snprintf(why, len, "network '%s' is active on the "
		    "destination", source);
	else
		snprintf(why, len, "network '%s' is not active on the "
		    "destination", source);
	return active == 1;
}

/*
 * Every interface can be connected there.  One check for all: the first
 * failure, or each interface's sentence, "; " between (as many as fit).
 */
static void
lv_check_network(virConnectPtr dst, struct lv_check_docs *k,
    struct migrate_checks *out)
{
	xmlXPathObjectPtr o;
	char type[32], source[256], why[400], all[512];
	size_t used = 0;
	int n, w;

	o = lv_xpath_nodes(k->dx, "/domain/devices/interface", &n);
	all[0] = '\0';
	for (int i = 0; i < n; i++) {
		lv_xpath_at(k->dx, o->nodesetval->nodeTab[i],
		    "string(@type)", type, sizeof(type));
		lv_xpath_at(k->dx, o->nodesetval->nodeTab[i],
		    "string(source/@network | source/@bridge)", source,
		    sizeof(source));
		if (!lv_check_iface(dst, type, source, why, sizeof(why))) {
			lv_check_add(out, "network", false, "%s", why);
			xmlXPathFreeObject(o);
			return;
		}
		w = snprintf(all + used, sizeof(all) - used, "%s%s",
		    used ? "; " : "", why);
		if (w > 0 && (size_t)w < sizeof(all) - used)
			used += (size_t)w;
		else
			all[used] = '\0';   /* keep whole sentences only */
	}
	xmlXPathFreeObject(o);
	if (n == 0)
		lv_check_add(out, "network", true, "the domain has no network "
		    "interfaces");
	else
		lv_check_add(out, "network", true, "%s", all);
}

/* The virtual size of the domain's disk at path, in bytes; -1 + why. */
static int
lv_disk_capacity(virDomainPtr d, const char *path, unsigned long long *cap,
    char *why, size_t len)
{
	virStorageVolPtr v = virStorageVolLookupByPath(virDomainGetConnect(d),
	    path);
	virStorageVolInfo vi;
	virDomainBlockInfo bi;

	if (v) {
		int rc = virStorageVolGetInfo(v, &vi);

		virStorageVolFree(v);
		if (rc == 0) {
			*cap = vi.capacity;
			return 0;
		}
	}
	/* not in a pool the source knows: ask the domain */
	if (virDomainGetBlockInfo(d, path, &bi, 0) == 0) {
		*cap = bi.capacity;
		return 0;
	}
	snprintf(why, len, "libvirt could not read the size of the disk "
	    "'%s': %s", path, virGetLastErrorMessage());
	return -1;
}

/* Room for copies of the domain's disks in dst_pool on the destination. */
static void
lv_check_storage_copy(virDomainPtr d, virConnectPtr dst,
    const char *dst_pool, char paths[][1024], int n,
    struct migrate_checks *out)
{
	virStoragePoolPtr p;
	virStoragePoolInfo info;
	virErrorPtr e;
	unsigned long long need = 0, cap;
	char why[512];

	for (int i = 0; i < n; i++) {
		if (lv_disk_capacity(d, paths[i], &cap, why, sizeof(why)) < 0) {
			lv_check_add(out, "storage", false, "%s", why);
			return;
		}
		need += cap;
	}
	if (dst_pool == NULL || dst_pool[0] == '\0') {
		lv_check_add(out, "storage", false, "no storage pool on the "
		    "destination was named for the copy");
		return;
	}
	if ((p = virStoragePoolLookupByName(dst, dst_pool)) == NULL) {
		e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_STORAGE_POOL)
			lv_check_add(out, "storage", false, "storage pool "
			    "'%s' does not exist on the destination",
			    dst_pool);
		else
			lv_check_add(out, "storage", false, "libvirt could "
			    "not find storage pool '%s' on the destination: "
			    "%s", dst_pool, virGetLastErrorMessage());
		return;
	}
	if (virStoragePoolIsActive(p) != 1) {
		lv_check_add(out, "storage", false, "storage pool '%s' is not "
		    "active on the destination", dst_pool);
	} else if (virStoragePoolRefresh(p, 0) < 0 ||
	    virStoragePoolGetInfo(p, &info) < 0) {
		lv_check_add(out, "storage", false, "libvirt could not read "
		    "what is free in storage pool '%s' on the destination: "
		    "%s", dst_pool, virGetLastErrorMessage());
	} else if (info.available >= need) {
		lv_check_add(out, "storage", true, "storage pool '%s' on the "
		    "destination has %.1f GiB free for the disk's %.1f GiB",
		    dst_pool, lv_gib(info.available), lv_gib(need));
	} else {
		lv_check_add(out, "storage", false, "storage pool '%s' on the "
		    "destination has %.1f GiB free, less than the disk's "
		    "%.1f GiB", dst_pool, lv_gib(info.available),
		    lv_gib(need));
	}
	virStoragePoolFree(p);
}

/* Shared storage: the destination sees each disk at the same path. */
static void
lv_check_storage_shared(virConnectPtr dst, const char *dst_pool,
    char paths[][1024], int n, struct migrate_checks *out)
{
	virStoragePoolPtr p;
	virStorageVolPtr v;
	virErrorPtr e;

	/* the pool's view may be stale */
	if (dst_pool && dst_pool[0] &&
	    (p = virStoragePoolLookupByName(dst, dst_pool)) != NULL) {
		virStoragePoolRefresh(p, 0);
		virStoragePoolFree(p);
	}
	for (int i = 0; i < n; i++) {
		if ((v = virStorageVolLookupByPath(dst, paths[i])) != NULL) {
			virStorageVolFree(v);
			continue;
		}
		e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_STORAGE_VOL)
			lv_check_add(out, "storage", false, "the disk '%s' is "
			    "not on the destination; copy the storage",
			    paths[i]);
		else
			lv_check_add(out, "storage", false, "libvirt could "
			    "not look the disk '%s' up on the destination: %s",
			    paths[i], virGetLastErrorMessage());
		return;
	}
	if (n == 1)
		lv_check_add(out, "storage", true, "the disk '%s' is visible "
		    "on the destination (shared storage)", paths[0]);
	else
		lv_check_add(out, "storage", true, "all %d disks are visible "
		    "on the destination (shared storage)", n);
}

#define LV_CHECK_DISKS 8

static void
lv_check_storage(virDomainPtr d, virConnectPtr dst, struct lv_check_docs *k,
    const char *dst_pool, bool copy, struct migrate_checks *out)
{
	char (*p)[1024];
	xmlXPathObjectPtr o;
	char target[32];
	int n;

	o = lv_xpath_nodes(k->dx, "/domain/devices/disk[@device='disk']", &n);
	if (n == 0) {
		xmlXPathFreeObject(o);
		lv_check_add(out, "storage", true, "the domain has no disk");
		return;
	}
	if (n > LV_CHECK_DISKS || (p = calloc((size_t)n, sizeof(*p))) == NULL) {
		xmlXPathFreeObject(o);
		lv_check_add(out, "storage", false, "the domain has %d disks; "
		    "they were not checked", n);
		return;
	}
	for (int i = 0; i < n; i++) {
		lv_xpath_at(k->dx, o->nodesetval->nodeTab[i],
		    "string(source/@file)", p[i], sizeof(p[i]));
		if (p[i][0] != '\0')
			continue;
		lv_xpath_at(k->dx, o->nodesetval->nodeTab[i],
		    "string(target/@dev)", target, sizeof(target));
		lv_check_add(out, "storage", false, "the disk '%s' is not a "
		    "file; it cannot be checked", target);
		goto done;
	}
	if (copy)
		lv_check_storage_copy(d, dst, dst_pool, p, n, out);
	else
		lv_check_storage_shared(dst, dst_pool, p, n, out);
done:
	xmlXPathFreeObject(o);
	free(p);
}

struct lv_check_arg {
	const char *uuid;
	struct backend_conn *dst;
	const char *dst_pool;
	bool copy_storage;
	struct migrate_checks *out;
};

/* Parse doc text into *doc and a context *ctx; -1 when it is not XML. */
static int
lv_check_parse(const char *text, const char *name, xmlDocPtr *doc,
    xmlXPathContextPtr *ctx)
{
	if ((*doc = lv_xml_read(text, name)) == NULL ||
	    (*ctx = xmlXPathNewContext(*doc)) == NULL)
		return -1;
	return 0;
}

/*
 * Reads the domain's live definition and both hosts' capabilities once,
 * then appends cpu, machine, emulator, network and storage, in that
 * order.  A check libvirt cannot make fails with libvirt's words; only
 * what all checks need (the domain, the capabilities) makes it -1.
 */
static int
lv_do_migrate_check(virDomainPtr d, void *arg)
{
	struct lv_check_arg *a = arg;
	struct lv_check_docs k;
	virConnectPtr dst;
	char *xml = NULL, *scaps = NULL, *dcaps = NULL;
	int r = LV_REPORTED;

	memset(&k, 0, sizeof(k));
	if ((dst = lv_get(a->dst)) == NULL)
		return LV_REPORTED;
	if ((xml = virDomainGetXMLDesc(d, 0)) == NULL) {
		lv_fail("describe the domain");
		goto done;
	}
	if ((scaps = virConnectGetCapabilities(virDomainGetConnect(d))) ==
	    NULL) {
		lv_fail("read the source host's capabilities");
		goto done;
	}
	if ((dcaps = virConnectGetCapabilities(dst)) == NULL) {
		lv_fail("read the destination host's capabilities");
		goto done;
	}
	if (lv_check_parse(xml, "domain.xml", &k.dom, &k.dx) < 0 ||
	    lv_check_parse(scaps, "caps.xml", &k.src_caps, &k.sx) < 0 ||
	    lv_check_parse(dcaps, "caps.xml", &k.dst_caps, &k.tx) < 0) {
		err_set(ERR_BACKEND, "cannot parse the description of domain "
		    "%s or of its hosts", a->uuid);
		goto done;
	}
	lv_xpath(k.dx, "string(/domain/@type)", k.type, sizeof(k.type));
	lv_xpath(k.dx, "string(/domain/os/type)", k.os_type,
	    sizeof(k.os_type));
	lv_xpath(k.dx, "string(/domain/os/type/@arch)", k.arch,
	    sizeof(k.arch));
	lv_xpath(k.dx, "string(/domain/os/type/@machine)", k.machine,
	    sizeof(k.machine));
	lv_xpath_var(k.tx, "type", k.type);
	lv_xpath_var(k.tx, "os", k.os_type);
	lv_xpath_var(k.tx, "arch", k.arch);
	lv_check_cpu(dst, &k, a->out);
	lv_check_machine(&k, a->out);
	lv_check_emulator(&k, a->out);
	lv_check_network(dst, &k, a->out);
	lv_check_storage(d, dst, &k, a->dst_pool, a->copy_storage, a->out);
	r = 0;
done:
	xmlXPathFreeContext(k.dx);
	xmlXPathFreeContext(k.sx);
	xmlXPathFreeContext(k.tx);
	xmlFreeDoc(k.dom);
	xmlFreeDoc(k.src_caps);
	xmlFreeDoc(k.dst_caps);
	free(xml);
	free(scaps);
	free(dcaps);
	virConnectClose(dst);
	return r;
}

int
lv_migrate_check(struct backend_conn *bc, const char *uuid,
    struct backend_conn *dst, const char *dst_pool, bool copy_storage,
    struct migrate_checks *out)
{
	struct lv_check_arg a = { .uuid = uuid, .dst = dst,
	    .dst_pool = dst_pool, .copy_storage = copy_storage, .out = out };

	return lv_with_domain(bc, uuid, "check the migration", 0,
	    lv_do_migrate_check, &a);
}
