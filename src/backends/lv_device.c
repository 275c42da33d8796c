/*
 * lv_device.c - a domain's devices, one at a time: plugging a disk or a
 * NIC in and out (the definition, and the running guest when asked),
 * and growing a running domain's disk.  Each device is described by
 * domain_xml.c, the same way the whole domain is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "../common/error.h"
#include "lv_int.h"

struct lv_dev_arg {
	const char *xml;
	const char *dev;
	char expr[128];            /* XPath of the device in the domain */
	unsigned int flags;
	int64_t gib;
};

/* The flags of a device change: the definition, and the guest if live. */
static unsigned int
lv_dev_flags(bool live)
{
	return VIR_DOMAIN_AFFECT_CONFIG | (live ? VIR_DOMAIN_AFFECT_LIVE : 0);
}

static int
lv_do_attach(virDomainPtr d, void *arg)
{
	struct lv_dev_arg *a = arg;

	return virDomainAttachDeviceFlags(d, a->xml, a->flags);
}

int
lv_disk_attach(struct backend_conn *bc, const char *uuid,
    const struct vm_disk_spec *d, bool live)
{
	struct lv_dev_arg a = { .flags = lv_dev_flags(live) };
	char *xml = domain_xml_disk_device(d);
	int r;

	if (xml == NULL)
		return -1;
	a.xml = xml;
	r = lv_with_domain(bc, uuid, "plug the disk in", 0, lv_do_attach, &a);
	free(xml);
	return r;
}

/*
 * The device of the definition (flags: the inactive one, or the live
 * one) that XPath expr selects, as XML into *out; 0 when there is none.
 */
static int
lv_dev_xml(virDomainPtr d, const char *expr, unsigned int flags, char **out)
{
	char *xml = virDomainGetXMLDesc(d, flags);
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr o;
	int n = 0;

	*out = NULL;
	if (xml == NULL)
		return -1;
	doc = lv_xml_read(xml, "domain");
	free(xml);
	if (doc == NULL)
		return LV_REPORTED;
	ctx = xmlXPathNewContext(doc);
	o = ctx ? lv_xpath_nodes(ctx, expr, &n) : NULL;
	if (n > 0) {
		xmlBufferPtr b = xmlBufferCreate();

		if (b && xmlNodeDump(b, doc, o->nodesetval->nodeTab[0], 0,
		    0) > 0)
			*out = strdup((const char *)xmlBufferContent(b));
		xmlBufferFree(b);
	}
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return 0;
}

/* Unplug from the definition, then from the guest; either may already
 * lack it (a retried detach). */
static int
lv_do_detach(virDomainPtr d, void *arg)
{
	struct lv_dev_arg *a = arg;
	char *xml;
	int r;

	if ((r = lv_dev_xml(d, a->expr, VIR_DOMAIN_XML_INACTIVE, &xml)) < 0)
		return r;
	if (xml) {
		r = virDomainDetachDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_CONFIG);
		free(xml);
		if (r < 0)
			return -1;
	}
	if (!(a->flags & VIR_DOMAIN_AFFECT_LIVE) || virDomainIsActive(d) != 1)
		return 0;
	if ((r = lv_dev_xml(d, a->expr, 0, &xml)) < 0)
		return r;
	if (xml == NULL)
		return 0;
	r = virDomainDetachDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_LIVE);
	free(xml);
	return r;
}

int
lv_disk_detach(struct backend_conn *bc, const char *uuid, const char *dev,
    bool live)
{
	struct lv_dev_arg a = { .dev = dev, .flags = lv_dev_flags(live) };

	if (strspn(dev, "abcdefghijklmnopqrstuvwxyz") != strlen(dev) ||
	    strlen(dev) > 16)
		return err_set(ERR_INVALID, "'%s' is not a disk device name",
		    dev);
	snprintf(a.expr, sizeof(a.expr),
	    "/domain/devices/disk[target/@dev='%s']", dev);
	return lv_with_domain(bc, uuid, "unplug the disk", 1, lv_do_detach,
	    &a);
}

/* The XPath of the <interface> with MAC mac (checked: it goes into the
 * expression). */
static int
lv_nic_expr(struct lv_dev_arg *a, const char *mac)
{
	if (strlen(mac) != 17 || strspn(mac, "0123456789abcdef:") != 17)
		return err_set(ERR_INVALID, "'%s' is not a MAC address", mac);
	snprintf(a->expr, sizeof(a->expr),
	    "/domain/devices/interface[mac/@address='%s']", mac);
	return 0;
}

/* Plug into the definition, then into the guest, where it is not yet
 * (a retried attach). */
static int
lv_do_nic_attach(virDomainPtr d, void *arg)
{
	struct lv_dev_arg *a = arg;
	char *xml;
	int r;

	if ((r = lv_dev_xml(d, a->expr, VIR_DOMAIN_XML_INACTIVE, &xml)) < 0)
		return r;
	free(xml);
	if (xml == NULL && virDomainAttachDeviceFlags(d, a->xml,
	    VIR_DOMAIN_AFFECT_CONFIG) < 0)
		return -1;
	if (!(a->flags & VIR_DOMAIN_AFFECT_LIVE) || virDomainIsActive(d) != 1)
		return 0;
	if ((r = lv_dev_xml(d, a->expr, 0, &xml)) < 0)
		return r;
	free(xml);
	if (xml != NULL)
		return 0;
	return virDomainAttachDeviceFlags(d, a->xml, VIR_DOMAIN_AFFECT_LIVE);
}

int
lv_nic_attach(struct backend_conn *bc, const char *uuid,
    const struct vm_nic_spec *n, bool live)
{
	struct lv_dev_arg a = { .flags = lv_dev_flags(live) };
	char *xml;
	int r;

	if (lv_nic_expr(&a, n->mac) < 0 ||
	    (xml = domain_xml_nic_device(n)) == NULL)
		return -1;
	a.xml = xml;
	r = lv_with_domain(bc, uuid, "plug the NIC in", 0, lv_do_nic_attach,
	    &a);
	free(xml);
	return r;
}

int
lv_nic_detach(struct backend_conn *bc, const char *uuid, const char *mac,
    bool live)
{
	struct lv_dev_arg a = { .flags = lv_dev_flags(live) };

	if (lv_nic_expr(&a, mac) < 0)
		return -1;
	return lv_with_domain(bc, uuid, "unplug the NIC", 1, lv_do_detach,
	    &a);
}

static int
lv_do_resize(virDomainPtr d, void *arg)
{
	struct lv_dev_arg *a = arg;

	return virDomainBlockResize(d, a->dev,
	    (unsigned long long)a->gib << 30, VIR_DOMAIN_BLOCK_RESIZE_BYTES);
}

int
lv_disk_resize(struct backend_conn *bc, const char *uuid, const char *dev,
    int64_t gib)
{
	struct lv_dev_arg a = { .dev = dev, .gib = gib };

	return lv_with_domain(bc, uuid, "grow the disk", 0, lv_do_resize, &a);
}

/*
 * A list of the domain's devices of one kind, read from its definition:
 * the nodes at xpath, each filled into out[i] (elements of size bytes)
 * by fill.
 */
struct lv_list_arg {
	const char *xpath, *what;
	void (*fill)(virDomainPtr d, xmlXPathContextPtr ctx, xmlNodePtr node,
	    void *out);
	void *out;
	size_t size;
	int max, *n;
};

/* One <disk> node into *out (a struct domain_disk), its capacity read
 * from its volume. */
static void
lv_disk_fill(virDomainPtr d, xmlXPathContextPtr ctx, xmlNodePtr node,
    void *out)
{
	struct domain_disk *dd = out;
	virStorageVolPtr vol;
	virStorageVolInfo vi;

	memset(dd, 0, sizeof(*dd));
	lv_xpath_at(ctx, node, "string(target/@dev)", dd->dev,
	    sizeof(dd->dev));
	lv_xpath_at(ctx, node, "string(@device)", dd->device,
	    sizeof(dd->device));
	lv_xpath_at(ctx, node, "string(target/@bus)", dd->bus,
	    sizeof(dd->bus));
	lv_xpath_at(ctx, node, "string(driver/@type)", dd->format,
	    sizeof(dd->format));
	lv_xpath_at(ctx, node, "string(source/@file)", dd->path,
	    sizeof(dd->path));
	if (dd->path[0] && (vol = virStorageVolLookupByPath(
	    virDomainGetConnect(d), dd->path)) != NULL) {
		if (virStorageVolGetInfo(vol, &vi) == 0)
			dd->gib = (int64_t)((vi.capacity + (1ULL << 30) - 1) >>
			    30);
		virStorageVolFree(vol);
	}
	virResetLastError();
}

/* One <interface> node into *out (a struct domain_nic). */
static void
lv_nic_fill(virDomainPtr d, xmlXPathContextPtr ctx, xmlNodePtr node,
    void *out)
{
	struct domain_nic *dn = out;

	(void)d;
	memset(dn, 0, sizeof(*dn));
	lv_xpath_at(ctx, node, "string(@type)", dn->type, sizeof(dn->type));
	lv_xpath_at(ctx, node, "string(mac/@address)", dn->mac,
	    sizeof(dn->mac));
	lv_xpath_at(ctx, node, "string(model/@type)", dn->model,
	    sizeof(dn->model));
	if (strcmp(dn->type, "network") == 0)
		lv_xpath_at(ctx, node, "string(source/@network)", dn->source,
		    sizeof(dn->source));
	else if (strcmp(dn->type, "bridge") == 0)
		lv_xpath_at(ctx, node, "string(source/@bridge)", dn->source,
		    sizeof(dn->source));
}

static int
lv_do_list(virDomainPtr d, void *arg)
{
	struct lv_list_arg *a = arg;
	char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr o = NULL;
	int n = 0;

	if (xml == NULL)
		return -1;
	doc = lv_xml_read(xml, "domain.xml");
	free(xml);
	if (doc == NULL)
		return LV_REPORTED;
	if ((ctx = xmlXPathNewContext(doc)) != NULL)
		o = lv_xpath_nodes(ctx, a->xpath, &n);
	*a->n = n;
	for (int i = 0; i < n && i < a->max; i++)
		a->fill(d, ctx, o->nodesetval->nodeTab[i],
		    (char *)a->out + (size_t)i * a->size);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	if (n <= a->max)
		return 0;
	err_set(ERR_UNPROCESSABLE, "the domain has %d %s, more than the "
	    "%d hangar keeps", n, a->what, a->max);
	return LV_REPORTED;
}

int
lv_disk_list(struct backend_conn *bc, const char *uuid,
    struct domain_disk *out, int max, int *n)
{
	struct lv_list_arg a = { "/domain/devices/disk", "disks",
	    lv_disk_fill, out, sizeof(*out), max, n };

	*n = 0;
	return lv_with_domain(bc, uuid, "list the domain's disks", 0,
	    lv_do_list, &a);
}

int
lv_nic_list(struct backend_conn *bc, const char *uuid,
    struct domain_nic *out, int max, int *n)
{
	struct lv_list_arg a = { "/domain/devices/interface", "NICs",
	    lv_nic_fill, out, sizeof(*out), max, n };

	*n = 0;
	return lv_with_domain(bc, uuid, "list the domain's NICs", 0,
	    lv_do_list, &a);
}
