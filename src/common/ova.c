/*
 * ova.c - what an OVA holds (imgprobe.h): a POSIX (ustar, with pax or GNU
 * long names and base-256 sizes) tar of one .ovf descriptor, its disks
 * and perhaps a .mf manifest, after DMTF DSP0243 (OVF 1.x/2.x).
 *
 * The tar is read in place by ova_tar.c: each member's name, data offset
 * and size are listed (every header checksummed, every name checked: not
 * absolute, no "..", no duplicates, no links or devices).  The OVF is read
 * whole but capped (OVF_MAX), refused if it has a DTD at all (no entity
 * can then be declared, so none expanded: a DOCTYPE stops the parser
 * itself, whatever the text's encoding), and parsed by libxml2 with no
 * network and no DTD loading.  Each disk of its DiskSection is found
 * through its File reference in the tar and probed with img_probe_fd, so
 * a member claimed as a vmdk that is really a qcow2 with a backing file
 * is refused here.
 *
 * Elements and attributes are matched by local name: producers disagree
 * on prefixes and namespace versions (ovf:, rasd:, vmw:, vbox:).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "error.h"
#include "imgprobe_int.h"

#define OVF_MAX		(1024u * 1024)
#define CTRL_MAX	32

/* --- the OVF --- */

static bool
is_el(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

/* The first element named name below n (depth first), or NULL. */
static xmlNodePtr
find_el(xmlNodePtr n, const char *name)
{
	xmlNodePtr c, f;

	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_el(c, name))
			return c;
		if ((f = find_el(c, name)) != NULL)
			return f;
	}
	return NULL;
}

/* Attribute name of n (any namespace) into buf; "" when absent. */
static const char *
attr(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);

	snprintf(buf, len, "%s", v ? (const char *)v : "");
	xmlFree(v);
	return buf;
}

/*
 * The text of n's child element name into buf, without the white space
 * around it (pretty-printed OVFs); "" when absent.
 */
static const char *
child_text(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	static const char ws[] = " \t\r\n";
	xmlNodePtr c;
	xmlChar *v;
	const char *t;
	size_t k;

	buf[0] = '\0';
	for (c = n->children; c != NULL; c = c->next) {
		if (!is_el(c, name))
			continue;
		v = xmlNodeGetContent(c);
		t = v ? (const char *)v + strspn((const char *)v, ws) : "";
		snprintf(buf, len, "%s", t);
		xmlFree(v);
		for (k = strlen(buf); k > 0 && strchr(ws, buf[k - 1]); k--)
			buf[k - 1] = '\0';
		break;
	}
	return buf;
}

/* A decimal integer in [lo, hi], or -1. */
static int
num(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Memory of an Item: VirtualQuantity in AllocationUnits, as MiB. */
static int
ovf_memory(xmlNodePtr item, struct ova_info *oi)
{
	char q[32], u[64];
	int64_t v, shift = 20;
	int p;

	child_text(item, "VirtualQuantity", q, sizeof(q));
	child_text(item, "AllocationUnits", u, sizeof(u));
	if (sscanf(u, "byte * 2^%d", &p) == 1 && p >= 0 && p <= 40)
		shift = p;
	else if (strcasecmp(u, "byte") == 0 || strcasecmp(u, "bytes") == 0)
		shift = 0;
	else if (strcasecmp(u, "KiloBytes") == 0 || strcasecmp(u, "KB") == 0)
		shift = 10;
	else if (strcasecmp(u, "GigaBytes") == 0 || strcasecmp(u, "GB") == 0)
		shift = 30;
	else if (u[0] != '\0' && strcasecmp(u, "MegaBytes") != 0 &&
	    strcasecmp(u, "MB") != 0)
		return imgprobe_refuse("the OVF's memory unit '%.40s' is not "
		    "understood", u);
	if (num(q, 1, INT64_C(1) << 50, &v) == -1)
		return imgprobe_refuse("the OVF's memory size '%.30s' is not "
		    "valid", q);
	v = shift >= 20 ? v << (shift - 20) : v >> (20 - shift);
	if (v < 1 || v > (INT64_C(1) << 32))
		return imgprobe_refuse("the OVF's memory size is out of "
		    "range");
	oi->memory_mib = v;
	return 0;
}

/* The bus of a controller Item: "" when it is not a disk controller. */
static void
ovf_ctrl_bus(xmlNodePtr item, int64_t rtype, char *bus, size_t len)
{
	char sub[64];

	child_text(item, "ResourceSubType", sub, sizeof(sub));
	bus[0] = '\0';
	if (rtype != 5 && rtype != 6 && rtype != 20)
		return;
	if (strcasestr(sub, "virtio") != NULL)
		snprintf(bus, len, "virtio");
	else if (rtype == 5)
		snprintf(bus, len, "ide");
	else if (rtype == 6)
		snprintf(bus, len, "scsi");
	else
		snprintf(bus, len, "sata");
}

/* What ovf_* collect on the way: the disks' ids and the controllers. */
struct ovf_ctx {
	struct ova_info *oi;
	const struct tar_list *tl;
	char ids[OVA_DISKS_MAX][64];
	bool vmdk[OVA_DISKS_MAX];      /* the OVF says the disk is a vmdk */
	struct {
		char id[32];
		char bus[8];
	} ctrl[CTRL_MAX];
	int nctrl;
};

/* The References/File whose id is id, or NULL. */
static xmlNodePtr
ovf_file(xmlNodePtr root, const char *id)
{
	xmlNodePtr refs = find_el(root, "References"), c;
	char buf[64];

	for (c = refs ? refs->children : NULL; c != NULL; c = c->next)
		if (is_el(c, "File") &&
		    strcmp(attr(c, "id", buf, sizeof(buf)), id) == 0)
			return c;
	return NULL;
}

/* Disk d (of DiskSection) into disk i: its File, found in the tar. */
static int
ovf_disk(xmlNodePtr root, xmlNodePtr d, struct ovf_ctx *cx, int i)
{
	struct ova_disk *od = &cx->oi->disks[i];
	const struct tar_member *m;
	char ref[64], href[512], buf[256];
	xmlNodePtr f;

	attr(d, "diskId", cx->ids[i], sizeof(cx->ids[i]));
	attr(d, "fileRef", ref, sizeof(ref));
	cx->vmdk[i] = strstr(attr(d, "format", buf, sizeof(buf)), "vmdk") !=
	    NULL;
	if (ref[0] == '\0' || (f = ovf_file(root, ref)) == NULL)
		return imgprobe_refuse("the OVF's disk '%.60s' has no file in "
		    "its References", cx->ids[i]);
	attr(f, "href", href, sizeof(href));
	if (attr(f, "compression", buf, sizeof(buf))[0] != '\0' &&
	    strcmp(buf, "identity") != 0)
		return imgprobe_refuse("the OVF's file '%.100s' is compressed "
		    "('%.20s'), which is not accepted", href, buf);
	if (attr(f, "chunkSize", buf, sizeof(buf))[0] != '\0')
		return imgprobe_refuse("the OVF's file '%.100s' is split in "
		    "chunks, which is not accepted", href);
	if (strstr(href, "://") != NULL || strlen(href) >= sizeof(od->file))
		return imgprobe_refuse("the OVF's file reference '%.100s' does "
		    "not name a file in the OVA", href);
	if (ova_name_ok(href) == -1)
		return -1;
	if ((m = ova_tar_find(cx->tl, href)) == NULL)
		return imgprobe_refuse("the OVA does not hold '%.100s', which "
		    "its OVF names as a disk", href);
	snprintf(od->file, sizeof(od->file), "%s", m->name);
	od->offset = m->off;
	od->size = m->size;
	return 0;
}

/* Every Disk of the DiskSection, in order. */
static int
ovf_disks(xmlNodePtr root, struct ovf_ctx *cx)
{
	xmlNodePtr sec = find_el(root, "DiskSection"), d;
	struct ova_info *oi = cx->oi;

	for (d = sec ? sec->children : NULL; d != NULL; d = d->next) {
		if (!is_el(d, "Disk"))
			continue;
		if (oi->ndisks == OVA_DISKS_MAX)
			return imgprobe_refuse("the OVF has more than %d "
			    "disks", OVA_DISKS_MAX);
		if (ovf_disk(root, d, cx, oi->ndisks) == -1)
			return -1;
		oi->ndisks++;
	}
	if (oi->ndisks == 0)
		return imgprobe_refuse("the OVF has no disks");
	return 0;
}

/* A disk drive Item: its HostResource ".../disk/ID" gets its Parent's bus. */
static void
ovf_drive(xmlNodePtr item, struct ovf_ctx *cx)
{
	char host[128], parent[32];
	const char *id;
	int i, k;

	child_text(item, "HostResource", host, sizeof(host));
	child_text(item, "Parent", parent, sizeof(parent));
	if ((id = strstr(host, "/disk/")) == NULL)
		return;
	id += strlen("/disk/");
	for (i = 0; i < cx->oi->ndisks; i++) {
		if (strcmp(cx->ids[i], id) != 0)
			continue;
		for (k = 0; k < cx->nctrl; k++)
			if (strcmp(cx->ctrl[k].id, parent) == 0)
				snprintf(cx->oi->disks[i].bus,
				    sizeof(cx->oi->disks[i].bus), "%s",
				    cx->ctrl[k].bus);
	}
}

/* One Item of the VirtualHardwareSection, pass 0 (all but drives) or 1. */
static int
ovf_item(xmlNodePtr item, struct ovf_ctx *cx, int pass)
{
	char rt[16], q[16], bus[8];
	int64_t rtype, v;

	if (num(child_text(item, "ResourceType", rt, sizeof(rt)), 0, 65535,
	    &rtype) == -1)
		return 0;
	if (pass == 1) {
		if (rtype == 17)
			ovf_drive(item, cx);
		return 0;
	}
	if (rtype == 3) {
		if (num(child_text(item, "VirtualQuantity", q, sizeof(q)), 1,
		    4096, &v) == -1)
			return imgprobe_refuse("the OVF's CPU count '%.15s' is "
			    "not valid", q);
		cx->oi->vcpus = (int)v;
	} else if (rtype == 4) {
		return ovf_memory(item, cx->oi);
	}
	ovf_ctrl_bus(item, rtype, bus, sizeof(bus));
	if (bus[0] != '\0' && cx->nctrl < CTRL_MAX) {
		child_text(item, "InstanceID", cx->ctrl[cx->nctrl].id,
		    sizeof(cx->ctrl[0].id));
		snprintf(cx->ctrl[cx->nctrl].bus, sizeof(cx->ctrl[0].bus),
		    "%s", bus);
		cx->nctrl++;
	}
	return 0;
}

static int
ovf_hardware(xmlNodePtr vs, struct ovf_ctx *cx)
{
	xmlNodePtr hw = find_el(vs, "VirtualHardwareSection"), c;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (c = hw ? hw->children : NULL; c != NULL; c = c->next)
			if ((is_el(c, "Item") || is_el(c, "StorageItem")) &&
			    ovf_item(c, cx, pass) == -1)
				return -1;
	return 0;
}

/*
 * The guest OS family from the OperatingSystemSection: its CIM
 * OperatingSystem id (DSP0243's CIM_OperatingSystem.OsType values), else
 * VMware's osType or the description ("ubuntu64Guest", "Windows 10").
 */
static void
ovf_os(xmlNodePtr vs, struct ova_info *oi)
{
	static const char *const linux_words[] = { "linux", "ubuntu", "debian",
	    "centos", "rhel", "red hat", "fedora", "suse", "sles", "oracle",
	    "alma", "rocky", NULL };
	xmlNodePtr os = find_el(vs, "OperatingSystemSection");
	char id[16], text[160];
	int64_t v = -1;
	int i;

	if (os == NULL)
		return;
	(void)num(attr(os, "id", id, sizeof(id)), 0, 65535, &v);
	attr(os, "osType", text, sizeof(text));
	if (text[0] == '\0')
		child_text(os, "Description", text, sizeof(text));
	snprintf(oi->os, sizeof(oi->os), "other");
	if ((v >= 15 && v <= 19) || v == 58 || v == 63 || v == 67 ||
	    (v >= 69 && v <= 77) || v == 102 || v == 104 || v == 110 ||
	    (v >= 112 && v <= 116) || strcasestr(text, "windows") != NULL) {
		snprintf(oi->os, sizeof(oi->os), "windows");
		return;
	}
	if (v == 36 || (v >= 79 && v <= 80) || (v >= 82 && v <= 100) ||
	    (v >= 105 && v <= 108)) {
		snprintf(oi->os, sizeof(oi->os), "linux");
		return;
	}
	for (i = 0; linux_words[i] != NULL; i++)
		if (strcasestr(text, linux_words[i]) != NULL)
			snprintf(oi->os, sizeof(oi->os), "linux");
}

/* VMware's <vmw:Config vmw:key="firmware" vmw:value="efi"/>, VirtualBox's
 * <Firmware type="EFI"/>, anywhere below n. */
static void
ovf_firmware(xmlNodePtr n, struct ova_info *oi)
{
	char k[32], v[32];
	xmlNodePtr c;

	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_el(c, "Config") && strcmp(attr(c, "key", k, sizeof(k)),
		    "firmware") == 0)
			attr(c, "value", v, sizeof(v));
		else if (is_el(c, "Firmware"))
			attr(c, "type", v, sizeof(v));
		else
			v[0] = '\0';
		if (strcasecmp(v, "efi") == 0 || strcasecmp(v, "uefi") == 0)
			snprintf(oi->firmware, sizeof(oi->firmware), "uefi");
		else if (strcasecmp(v, "bios") == 0)
			snprintf(oi->firmware, sizeof(oi->firmware), "bios");
		ovf_firmware(c, oi);
	}
}

static int
ovf_parse(xmlDocPtr doc, struct ovf_ctx *cx)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), vs;

	if (root == NULL || !is_el(root, "Envelope"))
		return imgprobe_refuse("the OVA's descriptor is not an OVF "
		    "Envelope");
	if (find_el(root, "VirtualSystemCollection") != NULL ||
	    (vs = find_el(root, "VirtualSystem")) == NULL)
		return imgprobe_refuse("the OVF must describe exactly one "
		    "virtual system");
	if (ovf_disks(root, cx) == -1 || ovf_hardware(vs, cx) == -1)
		return -1;
	ovf_os(vs, cx->oi);
	ovf_firmware(vs, cx->oi);
	return 0;
}

/* SAX internalSubset: a DOCTYPE stops the parse (no entity declared). */
static void
ovf_no_dtd(void *ctx, const xmlChar *name, const xmlChar *ext,
    const xmlChar *sys)
{
	xmlParserCtxtPtr c = ctx;

	(void)name;
	(void)ext;
	(void)sys;
	*(bool *)c->_private = true;
	xmlStopParser(c);
}

/* libxml2 wants xmlInitParser once before threads parse (2.9.x). */
static void
ovf_xml_init(void)
{
	xmlInitParser();
}

/* Parse the OVF text d[0..len): NULL (refused) when not acceptable. */
static xmlDocPtr
ovf_read(const char *d, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	xmlParserCtxtPtr c;
	xmlDocPtr doc;
	bool dtd = false;

	(void)pthread_once(&once, ovf_xml_init);
	if ((c = xmlNewParserCtxt()) == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	c->sax->internalSubset = ovf_no_dtd;
	c->_private = &dtd;
	doc = xmlCtxtReadMemory(c, d, (int)len, "descriptor.ovf", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlFreeParserCtxt(c);
	if (doc != NULL && (dtd || doc->intSubset != NULL)) {
		xmlFreeDoc(doc);
		doc = NULL;
		dtd = true;
	}
	if (doc == NULL)
		imgprobe_refuse(dtd ? "the OVA's OVF descriptor has a DTD, "
		    "which is not accepted" : "the OVA's OVF descriptor is "
		    "not well-formed XML");
	return doc;
}

/* The one .ovf member (at the top of the tar), read whole into *d. */
static int
ova_ovf(int fd, uint64_t size, const struct tar_list *tl, char **d,
    size_t *len)
{
	const struct tar_member *m = NULL;
	size_t k;
	int i;

	for (i = 0; i < tl->n; i++) {
		k = strlen(tl->m[i].name);
		if (k < 4 || strcasecmp(tl->m[i].name + k - 4, ".ovf") != 0)
			continue;
		if (m != NULL)
			return imgprobe_refuse("the OVA holds more than one "
			    ".ovf descriptor");
		m = &tl->m[i];
	}
	if (m == NULL)
		return imgprobe_refuse("the OVA holds no .ovf descriptor");
	if (m->size == 0 || m->size > OVF_MAX)
		return imgprobe_refuse("the OVA's descriptor '%.100s' is empty "
		    "or larger than %u bytes", m->name, OVF_MAX);
	if ((*d = malloc(m->size)) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	*len = (size_t)m->size;
	if (ova_read(fd, size, *d, *len, m->off, "OVF descriptor") == -1) {
		free(*d);
		*d = NULL;
		return -1;
	}
	return 0;
}

/* Probe each disk the OVF names; one the OVF calls a vmdk must be one. */
static int
ova_disks(int fd, struct ovf_ctx *cx)
{
	struct ova_disk *od;
	int i;

	for (i = 0; i < cx->oi->ndisks; i++) {
		od = &cx->oi->disks[i];
		if (img_probe_fd(fd, od->offset, od->size, &od->info) == -1)
			return -1;
		if (od->info.format == IMG_FMT_OVA)
			return imgprobe_refuse("the OVA's disk '%.100s' is "
			    "itself a tar, which is not accepted", od->file);
		if (cx->vmdk[i] && od->info.format != IMG_FMT_VMDK)
			return imgprobe_refuse("the OVA's disk '%.100s' is "
			    "a %s image, not the vmdk its OVF says", od->file,
			    img_format_name(od->info.format));
	}
	return 0;
}

int
ova_probe_fd(int fd, uint64_t size, struct ova_info *out)
{
	struct tar_list *tl = calloc(1, sizeof(*tl));
	struct ova_info *oi = calloc(1, sizeof(*oi));
	struct ovf_ctx *cx = calloc(1, sizeof(*cx));
	xmlDocPtr doc = NULL;
	char *d = NULL;
	size_t len = 0;
	int rc = -1;

	if (tl == NULL || oi == NULL || cx == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		goto fail;
	}
	if (size > INT64_MAX) {
		imgprobe_refuse("the OVA's size is not valid");
		goto fail;
	}
	cx->oi = oi;
	cx->tl = tl;
	if (ova_tar_scan(fd, size, tl) == -1 ||
	    ova_ovf(fd, size, tl, &d, &len) == -1 ||
	    (doc = ovf_read(d, len)) == NULL || ovf_parse(doc, cx) == -1 ||
	    ova_disks(fd, cx) == -1)
		goto fail;
	*out = *oi;
	rc = 0;
fail:
	xmlFreeDoc(doc);
	free(d);
	free(cx);
	free(oi);
	free(tl);
	return rc;
}
