/*
 * domain_xml.c - the XML documents hangar hands to libvirt (domain,
 * storage pool, storage volume, domain snapshot, network and its DHCP
 * hosts), written with libxml2's
 * xmlTextWriter so that every value is escaped by the writer, never
 * pasted in by printf.
 * Golden files in tests/golden/xml/ pin the output.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "../common/error.h"
#include "backend.h"

/* libxml2 takes const xmlChar *; this cast keeps const, unlike BAD_CAST. */
#define XC(s) ((const xmlChar *)(s))

/* A writer into a memory buffer, indented. */
struct xw {
	xmlBufferPtr buf;
	xmlTextWriterPtr w;
	int rc;                 /* < 0 once any write failed */
};

static int
xw_open(struct xw *x)
{
	x->rc = 0;
	x->buf = xmlBufferCreate();
	x->w = x->buf ? xmlNewTextWriterMemory(x->buf, 0) : NULL;
	if (x->w == NULL) {
		xmlBufferFree(x->buf);
		return err_set(ERR_INTERNAL, "cannot create an XML writer");
	}
	xmlTextWriterSetIndent(x->w, 1);
	xmlTextWriterSetIndentString(x->w, XC("  "));
	return 0;
}

static void
xw_start(struct xw *x, const char *el)
{
	if (x->rc >= 0)
		x->rc = xmlTextWriterStartElement(x->w, XC(el));
}

static void
xw_end(struct xw *x)
{
	if (x->rc >= 0)
		x->rc = xmlTextWriterEndElement(x->w);
}

static void
xw_attr(struct xw *x, const char *name, const char *value)
{
	if (x->rc >= 0)
		x->rc = xmlTextWriterWriteAttribute(x->w, XC(name),
		    XC(value));
}

/* <el>text</el> */
static void
xw_elem(struct xw *x, const char *el, const char *text)
{
	if (x->rc >= 0)
		x->rc = xmlTextWriterWriteElement(x->w, XC(el),
		    XC(text));
}

/* <el unit="...">n</el> (unit may be NULL) */
static void
xw_elem_num(struct xw *x, const char *el, const char *unit, int64_t n)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, n);
	xw_start(x, el);
	if (unit)
		xw_attr(x, "unit", unit);
	if (x->rc >= 0)
		x->rc = xmlTextWriterWriteString(x->w, XC(num));
	xw_end(x);
}

/* Finish the document; returns a malloc'd copy or NULL with an error. */
static char *
xw_close(struct xw *x)
{
	char *out = NULL;

	if (x->rc >= 0)
		x->rc = xmlTextWriterEndDocument(x->w);
	xmlFreeTextWriter(x->w);    /* flushes into buf */
	if (x->rc >= 0)
		out = strdup((const char *)xmlBufferContent(x->buf));
	xmlBufferFree(x->buf);
	if (out == NULL)
		err_set(ERR_INTERNAL, "cannot write XML");
	return out;
}

/* <os>: the machine type, the firmware, and (when no disk carries a boot
 * order of its own) boot from the first disk */
static void
domain_xml_os(struct xw *x, const struct vm_spec *spec)
{
	bool ordered = false;

	for (int i = 0; i < spec->ndisks; i++)
		ordered = ordered || spec->disks[i].boot_order > 0;
	xw_start(x, "os");
	if (spec->firmware && strcmp(spec->firmware, "uefi") == 0) {
		/* OVMF without Secure Boot: that one needs SMM, which not
		 * every hypervisor (nested KVM) offers */
		xw_attr(x, "firmware", "efi");
		xw_start(x, "firmware");
		xw_start(x, "feature");
		xw_attr(x, "enabled", "no");
		xw_attr(x, "name", "secure-boot");
		xw_end(x);
		xw_end(x);
	}
	xw_start(x, "type");
	xw_attr(x, "arch", spec->arch);
	if (spec->machine)
		xw_attr(x, "machine", spec->machine);
	if (x->rc >= 0)
		x->rc = xmlTextWriterWriteString(x->w, XC("hvm"));
	xw_end(x);
	if (!ordered) {
		xw_start(x, "boot");
		xw_attr(x, "dev", "hd");
		xw_end(x);
	}
	xw_end(x);                  /* os */
}

/* <NAME state='on'/>, and retries='N' when given */
static void
domain_xml_on(struct xw *x, const char *name, const char *retries)
{
	xw_start(x, name);
	xw_attr(x, "state", "on");
	if (retries)
		xw_attr(x, "retries", retries);
	xw_end(x);
}

/*
 * <features>: ACPI, and for a Windows guest the Hyper-V enlightenments
 * virt-manager gives one (relaxed timing, the virtual APIC, spinlock
 * retries): QEMU takes them under KVM and TCG alike, where vpindex,
 * synic and stimer need KVM.
 */
static void
domain_xml_features(struct xw *x, const struct vm_spec *spec)
{
	xw_start(x, "features");
	xw_start(x, "acpi");
	xw_end(x);
	if (spec->hyperv) {
		xw_start(x, "hyperv");
		domain_xml_on(x, "relaxed", NULL);
		domain_xml_on(x, "vapic", NULL);
		domain_xml_on(x, "spinlocks", "8191");
		xw_end(x);
	}
	xw_end(x);
}

/* <timer name='NAME' ATTR='VALUE'/> */
static void
domain_xml_timer(struct xw *x, const char *name, const char *attr,
    const char *value)
{
	xw_start(x, "timer");
	xw_attr(x, "name", name);
	xw_attr(x, attr, value);
	xw_end(x);
}

/* <clock>: the guest's RTC in UTC or local time (Windows keeps local
 * time); a Windows guest's timers as virt-manager sets them: the Hyper-V
 * reference clock, no HPET, lost RTC ticks caught up */
static void
domain_xml_clock(struct xw *x, const struct vm_spec *spec)
{
	xw_start(x, "clock");
	xw_attr(x, "offset", spec->clock && strcmp(spec->clock,
	    "localtime") == 0 ? "localtime" : "utc");
	if (spec->hyperv) {
		domain_xml_timer(x, "rtc", "tickpolicy", "catchup");
		domain_xml_timer(x, "pit", "tickpolicy", "delay");
		domain_xml_timer(x, "hpet", "present", "no");
		domain_xml_timer(x, "hypervclock", "present", "yes");
	}
	xw_end(x);
}

/* <backingStore> chain from d->backing[i] on, each inside the one before */
static void
domain_xml_backing(struct xw *x, const struct vm_disk_spec *d, int i)
{
	xw_start(x, "backingStore");
	if (d->backing[i] != NULL) {
		xw_attr(x, "type", "file");
		xw_start(x, "format");
		xw_attr(x, "type", d->backing_format && d->backing_format[i] ?
		    d->backing_format[i] : "qcow2");
		xw_end(x);
		xw_start(x, "source");
		xw_attr(x, "file", d->backing[i]);
		xw_end(x);
		/* an empty <backingStore/> ends the chain: libvirt then
		 * trusts it and probes nothing in the files */
		domain_xml_backing(x, d, i + 1);
	}
	xw_end(x);
}

static void
domain_xml_disk(struct xw *x, const struct vm_disk_spec *d)
{
	bool cdrom = d->device && strcmp(d->device, "cdrom") == 0;

	xw_start(x, "disk");
	xw_attr(x, "type", "file");
	xw_attr(x, "device", cdrom ? "cdrom" : "disk");
	xw_start(x, "driver");
	xw_attr(x, "name", "qemu");
	xw_attr(x, "type", d->format ? d->format : "qcow2");
	xw_end(x);
	if (d->path) {
		xw_start(x, "source");
		xw_attr(x, "file", d->path);
		xw_end(x);
		if (d->backing)
			domain_xml_backing(x, d, 0);
	}
	xw_start(x, "target");
	xw_attr(x, "dev", d->dev);
	xw_attr(x, "bus", d->bus ? d->bus : "virtio");
	xw_end(x);
	if (d->boot_order > 0) {
		char order[16];

		snprintf(order, sizeof(order), "%d", d->boot_order);
		xw_start(x, "boot");
		xw_attr(x, "order", order);
		xw_end(x);
	}
	if (cdrom) {
		xw_start(x, "readonly");
		xw_end(x);
	}
	xw_end(x);                  /* disk */
}


/*
 * The serial console (a pty, so that virDomainOpenConsole can attach,
 * logged to spec->serial_log, appended across boots), the console on it,
 * and the guest agent's channel
 * (org.qemu.guest_agent.0: libvirt makes the socket and the
 * virtio-serial controller).
 */
static void
domain_xml_chardevs(struct xw *x, const struct vm_spec *spec)
{
	xw_start(x, "serial");
	xw_attr(x, "type", "pty");
	if (spec->serial_log) {
		xw_start(x, "log");
		xw_attr(x, "file", spec->serial_log);
		xw_attr(x, "append", "on");
		xw_end(x);
	}
	xw_end(x);
	/* the console the API's WebSocket opens (virDomainOpenConsole) is
	 * that serial port; libvirt would add it anyway: say so */
	xw_start(x, "console");
	xw_attr(x, "type", "pty");
	xw_start(x, "target");
	xw_attr(x, "type", "serial");
	xw_attr(x, "port", "0");
	xw_end(x);
	xw_end(x);
	xw_start(x, "channel");
	xw_attr(x, "type", "unix");
	xw_start(x, "target");
	xw_attr(x, "type", "virtio");
	xw_attr(x, "name", "org.qemu.guest_agent.0");
	xw_end(x);
	xw_end(x);
}

/*
 * A graphical console, when asked for: VNC on a unix socket that libvirt
 * makes in the domain's own directory on the host (no TCP port, so
 * nothing listens on the network; reached through the host), and a VGA
 * display.  The PS/2 keyboard every x86 domain has is what
 * virDomainSendKey types on.
 */
static void
domain_xml_graphics(struct xw *x, const struct vm_spec *spec)
{
	if (spec->graphics == NULL || strcmp(spec->graphics, "vnc") != 0)
		return;
	xw_start(x, "graphics");
	xw_attr(x, "type", "vnc");
	xw_start(x, "listen");
	xw_attr(x, "type", "socket");
	xw_end(x);
	xw_end(x);
	xw_start(x, "video");
	xw_start(x, "model");
	xw_attr(x, "type", "vga");
	xw_end(x);
	xw_end(x);
}

/* One <disk> on its own, for hot-plugging it (virDomainAttachDevice). */
char *
domain_xml_disk_device(const struct vm_disk_spec *d)
{
	struct xw x;

	if (xw_open(&x) < 0)
		return NULL;
	domain_xml_disk(&x, d);
	return xw_close(&x);
}

/* <interface type='network|bridge'> with its MAC and model */
static void
domain_xml_nic(struct xw *x, const struct vm_nic_spec *n)
{
	bool bridge = strcmp(n->type, "bridge") == 0;

	xw_start(x, "interface");
	xw_attr(x, "type", bridge ? "bridge" : "network");
	xw_start(x, "mac");
	xw_attr(x, "address", n->mac);
	xw_end(x);
	xw_start(x, "source");
	xw_attr(x, bridge ? "bridge" : "network", n->source);
	xw_end(x);
	xw_start(x, "model");
	xw_attr(x, "type", n->model ? n->model : "virtio");
	xw_end(x);
	xw_end(x);                  /* interface */
}

/* One <interface> on its own, for hot-plugging it. */
char *
domain_xml_nic_device(const struct vm_nic_spec *n)
{
	struct xw x;

	if (xw_open(&x) < 0)
		return NULL;
	domain_xml_nic(&x, n);
	return xw_close(&x);
}

/*
 * <memory> is the most it may have, <currentMemory> what it has (the
 * balloon makes up the difference); <vcpu current='N'>MAX</vcpu> the
 * same for vCPUs.  Without room to grow, the plain elements.
 */
static void
domain_xml_size(struct xw *x, const struct vm_spec *spec)
{
	char num[32];

	if (spec->max_memory_mib > spec->memory_mib) {
		xw_elem_num(x, "memory", "MiB", spec->max_memory_mib);
		xw_elem_num(x, "currentMemory", "MiB", spec->memory_mib);
	} else {
		xw_elem_num(x, "memory", "MiB", spec->memory_mib);
	}
	if (spec->max_vcpus > spec->vcpus) {
		snprintf(num, sizeof(num), "%d", spec->vcpus);
		xw_start(x, "vcpu");
		xw_attr(x, "current", num);
		if (x->rc >= 0) {
			snprintf(num, sizeof(num), "%d", spec->max_vcpus);
			x->rc = xmlTextWriterWriteString(x->w, XC(num));
		}
		xw_end(x);
	} else {
		xw_elem_num(x, "vcpu", NULL, spec->vcpus);
	}
}

char *
domain_xml_domain(const struct vm_spec *spec)
{
	struct xw x;
	bool scsi = false;

	if (xw_open(&x) < 0)
		return NULL;
	xw_start(&x, "domain");
	xw_attr(&x, "type", spec->domain_type);
	xw_elem(&x, "name", spec->name);
	xw_elem(&x, "uuid", spec->uuid);
	xw_start(&x, "metadata");
	xw_start(&x, "hangar:vm");
	xw_attr(&x, "xmlns:hangar", "urn:hangar:vm:1");
	xw_attr(&x, "id", spec->uuid);
	xw_end(&x);
	xw_end(&x);
	domain_xml_size(&x, spec);
	domain_xml_os(&x, spec);
	domain_xml_features(&x, spec);
	domain_xml_clock(&x, spec);
	xw_elem(&x, "on_poweroff", "destroy");
	xw_elem(&x, "on_reboot", "restart");
	xw_elem(&x, "on_crash", "destroy");
	xw_start(&x, "devices");
	for (int i = 0; i < spec->ndisks; i++) {
		domain_xml_disk(&x, &spec->disks[i]);
		scsi = scsi || (spec->disks[i].bus &&
		    strcmp(spec->disks[i].bus, "scsi") == 0);
	}
	if (scsi) {
		/* libvirt's default SCSI controller (LSI) is one most guest
		 * kernels built for clouds lack */
		xw_start(&x, "controller");
		xw_attr(&x, "type", "scsi");
		xw_attr(&x, "model", "virtio-scsi");
		xw_end(&x);
	}
	for (int i = 0; i < spec->nnics; i++)
		domain_xml_nic(&x, &spec->nics[i]);
	domain_xml_chardevs(&x, spec);
	domain_xml_graphics(&x, spec);
	/* the balloon is how its memory changes while it runs (resize) */
	xw_start(&x, "memballoon");
	xw_attr(&x, "model", spec->max_memory_mib > 0 ? "virtio" : "none");
	xw_end(&x);
	xw_end(&x);                 /* devices */
	xw_end(&x);                 /* domain */
	return xw_close(&x);
}

char *
domain_xml_pool(const char *name, const char *path)
{
	struct xw x;

	if (xw_open(&x) < 0)
		return NULL;
	xw_start(&x, "pool");
	xw_attr(&x, "type", "dir");
	xw_elem(&x, "name", name);
	xw_start(&x, "target");
	xw_elem(&x, "path", path);
	xw_end(&x);
	xw_end(&x);
	return xw_close(&x);
}

/* A <volume> of format fmt and n units (GiB or bytes), on backing when
 * given (a linked clone: an overlay whose reads fall through to it). */
static char *
domain_xml_volume_fmt(const char *name, int64_t n, const char *unit,
    const char *fmt, const char *backing)
{
	struct xw x;

	if (xw_open(&x) < 0)
		return NULL;
	xw_start(&x, "volume");
	xw_elem(&x, "name", name);
	xw_elem_num(&x, "capacity", unit, n);
	xw_elem_num(&x, "allocation", NULL, 0);
	xw_start(&x, "target");
	xw_start(&x, "format");
	xw_attr(&x, "type", fmt);
	xw_end(&x);
	/* qcow2 v3: libvirt makes v2 (0.10) unless told, and only v3 keeps
	 * the dirty bitmaps that checkpoints (incremental backups) need */
	if (strcmp(fmt, "qcow2") == 0)
		xw_elem(&x, "compat", "1.1");
	xw_end(&x);
	if (backing) {
		xw_start(&x, "backingStore");
		xw_elem(&x, "path", backing);
		xw_start(&x, "format");
		xw_attr(&x, "type", "qcow2");
		xw_end(&x);
		xw_end(&x);
	}
	xw_end(&x);
	return xw_close(&x);
}

static char *
domain_xml_volume_of(const char *name, int64_t n, const char *unit,
    const char *backing)
{
	return domain_xml_volume_fmt(name, n, unit, "qcow2", backing);
}

char *
domain_xml_volume_raw(const char *name, int64_t bytes)
{
	return domain_xml_volume_fmt(name, bytes, "bytes", "raw", NULL);
}

char *
domain_xml_volume(const char *name, int64_t gib)
{
	return domain_xml_volume_of(name, gib, "GiB", NULL);
}

char *
domain_xml_volume_bytes(const char *name, int64_t bytes)
{
	return domain_xml_volume_of(name, bytes, "bytes", NULL);
}

char *
domain_xml_volume_overlay(const char *name, int64_t gib, const char *backing)
{
	return domain_xml_volume_of(name, gib, "GiB", backing);
}

/*
 * <domainsnapshot> for virDomainSnapshotCreateXML: the name, the
 * description when there is one, and whether the RAM is saved.  No
 * <disks>: libvirt then takes internal snapshots of the qcow2 disks.
 */
char *
domain_xml_snapshot(const struct snap_spec *spec)
{
	struct xw x;

	if (xw_open(&x) < 0)
		return NULL;
	xw_start(&x, "domainsnapshot");
	xw_elem(&x, "name", spec->name);
	if (spec->description && spec->description[0] != '\0')
		xw_elem(&x, "description", spec->description);
	xw_start(&x, "memory");
	xw_attr(&x, "snapshot", spec->memory ? "internal" : "no");
	xw_end(&x);
	xw_end(&x);
	return xw_close(&x);
}

/* <disks>: each disk in or out (attr: "backup" or "checkpoint") */
static void
domain_xml_backup_disks(struct xw *x, const struct backup_spec *spec,
    bool backup)
{
	xw_start(x, "disks");
	for (int i = 0; i < spec->ndisks; i++) {
		const struct backup_disk_spec *d = &spec->disks[i];

		xw_start(x, "disk");
		xw_attr(x, "name", d->dev);
		if (!backup) {
			xw_attr(x, "checkpoint", d->target ? "bitmap" : "no");
		} else if (d->target == NULL) {
			xw_attr(x, "backup", "no");
		} else {
			xw_attr(x, "backup", "yes");
			xw_attr(x, "type", "file");
			xw_start(x, "target");
			xw_attr(x, "file", d->target);
			xw_end(x);
			xw_start(x, "driver");
			xw_attr(x, "type", "qcow2");
			xw_end(x);
		}
		xw_end(x);
	}
	xw_end(x);
}

/*
 * <domainbackup mode='push'> for virDomainBackupBegin: libvirt writes
 * each disk into its target (a new qcow2); an incremental one names the
 * checkpoint it starts from.
 */
char *
domain_xml_backup(const struct backup_spec *spec)
{
	struct xw x;

	if (xw_open(&x) < 0)
		return NULL;
	xw_start(&x, "domainbackup");
	xw_attr(&x, "mode", "push");
	if (spec->incremental)
		xw_elem(&x, "incremental", spec->incremental);
	domain_xml_backup_disks(&x, spec, true);
	xw_end(&x);
	return xw_close(&x);
}

/* <domaincheckpoint>: a bitmap in each disk that is backed up */
char *
domain_xml_checkpoint(const struct backup_spec *spec)
{
	struct xw x;

	if (xw_open(&x) < 0)
		return NULL;
	xw_start(&x, "domaincheckpoint");
	xw_elem(&x, "name", spec->checkpoint);
	domain_xml_backup_disks(&x, spec, false);
	xw_end(&x);
	return xw_close(&x);
}

/*
 * <network> for virNetworkDefineXML: a nat one forwards through the
 * host (libvirt's iptables masquerade), an isolated one has no
 * <forward>.  DHCP answers static hosts only: no <range>, so a MAC that
 * hangar did not give an address gets none (libvirt then runs dnsmasq
 * with "dhcp-range=ADDR,static").
 */
char *
network_xml_network(const struct net_spec *spec)
{
	char prefix[8];
	struct xw x;

	if (xw_open(&x) < 0)
		return NULL;
	snprintf(prefix, sizeof(prefix), "%d", spec->prefix);
	xw_start(&x, "network");
	xw_elem(&x, "name", spec->name);
	xw_elem(&x, "uuid", spec->uuid);
	if (strcmp(spec->mode, "nat") == 0) {
		xw_start(&x, "forward");
		xw_attr(&x, "mode", "nat");
		xw_end(&x);
	}
	xw_start(&x, "bridge");
	xw_attr(&x, "name", spec->bridge);
	xw_attr(&x, "stp", "off");
	xw_end(&x);
	xw_start(&x, "ip");
	xw_attr(&x, "address", spec->address);
	xw_attr(&x, "prefix", prefix);
	if (spec->dhcp) {
		xw_start(&x, "dhcp");
		xw_end(&x);
	}
	xw_end(&x);
	xw_end(&x);
	return xw_close(&x);
}

/* <host mac ip name/> for virNetworkUpdate's IP_DHCP_HOST section. */
char *
network_xml_dhcp_host(const struct net_dhcp_host *h)
{
	struct xw x;

	if (xw_open(&x) < 0)
		return NULL;
	xw_start(&x, "host");
	xw_attr(&x, "mac", h->mac);
	if (h->ip)
		xw_attr(&x, "ip", h->ip);
	if (h->name && h->name[0])
		xw_attr(&x, "name", h->name);
	xw_end(&x);
	return xw_close(&x);
}
