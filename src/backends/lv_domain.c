/*
 * lv_domain.c - the libvirt backend's domains: define, undefine, the
 * lifecycle (start, shutdown, destroy, suspend, resume, reboot, reset),
 * a domain's state, its size (vCPUs, memory), and listing every domain
 * on a host.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/xpath.h>

#include "../common/error.h"
#include "lv_int.h"

int
lv_define(struct backend_conn *bc, const struct vm_spec *spec)
{
	virConnectPtr c = lv_get(bc);
	virDomainPtr d;
	char *xml;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((xml = domain_xml_domain(spec)) != NULL) {
		/*
		 * No VIR_DOMAIN_DEFINE_VALIDATE: re-validating against the
		 * RNG schema cost ~15 ms a define (80% of hangard's CPU in a
		 * create burst, bench P4).  The XML is hangard's own, built
		 * from checked input by domain_xml.c and pinned by its golden
		 * files; libvirt still parses and checks it as it defines.
		 */
		d = virDomainDefineXMLFlags(c, xml, 0);
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

static int
lv_do_undefine(virDomainPtr d, void *arg)
{
	unsigned int flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
	    VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
	virErrorPtr e;

	(void)arg;
	/* a UEFI domain's NVRAM (its variables) goes with it, and a backed
	 * up one's checkpoint metadata (the bitmaps stay in its disks); each
	 * asked only when libvirt refuses without it, as not every driver
	 * takes the flags (the test driver) */
	for (int i = 0; virDomainUndefineFlags(d, flags) < 0; i++) {
		e = virGetLastError();
		if (i == 2 || e == NULL || e->code != VIR_ERR_OPERATION_INVALID ||
		    e->message == NULL)
			return -1;
		if (strstr(e->message, "checkpoint"))
			flags |= VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;
		else if (strstr(e->message, "nvram"))
			flags |= VIR_DOMAIN_UNDEFINE_NVRAM;
		else
			return -1;
	}
	return 0;
}

static int
lv_do_start(virDomainPtr d, void *arg)
{
	(void)arg;
	return virDomainCreate(d);
}

static int
lv_do_start_paused(virDomainPtr d, void *arg)
{
	(void)arg;
	return virDomainCreateWithFlags(d, VIR_DOMAIN_START_PAUSED);
}

/*
 * The guest agent first, asked by itself so that we know which way it
 * went; when it is not there (not configured, not connected, or not
 * answering within LV_AGENT_TIMEOUT_S), the ACPI button.  A driver that
 * knows neither flag (the test driver) gets its default.
 */
static int
lv_do_shutdown(virDomainPtr d, void *arg)
{
	bool *by_agent = arg;
	virErrorPtr e;

	lv_agent_timeout(d);
	if (virDomainShutdownFlags(d, VIR_DOMAIN_SHUTDOWN_GUEST_AGENT) == 0) {
		*by_agent = true;
		return 0;
	}
	*by_agent = false;
	if (virDomainShutdownFlags(d, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) == 0)
		return 0;
	e = virGetLastError();
	if (e == NULL || (e->code != VIR_ERR_INVALID_ARG &&
	    e->code != VIR_ERR_NO_SUPPORT))
		return -1;
	return virDomainShutdownFlags(d, 0);
}

/* Power off; a domain that is not running is already off. */
static int
lv_do_destroy(virDomainPtr d, void *arg)
{
	struct timespec ts = { 0, 200 * 1000000L };

	(void)arg;
	/*
	 * Someone else (a daemon killed mid-delete, the guest itself) may
	 * be powering it off right now: then our destroy is refused ("not
	 * running", or the state lock is busy) while it still looks active
	 * a moment.  Off is off, whoever did it.
	 */
	for (int tries = 0; tries < 25; tries++) {
		if (virDomainIsActive(d) == 0)
			return 0;
		if (virDomainDestroy(d) == 0)
			return 0;
		if (virDomainIsActive(d) == 0) {
			virResetLastError();
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	return -1;
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

enum vm_state
lv_state_map(int state, int reason)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
	case VIR_DOMAIN_SHUTDOWN:       /* still running, shutting down */
		return VM_RUNNING;
	case VIR_DOMAIN_PAUSED:
	case VIR_DOMAIN_PMSUSPENDED:
		return VM_PAUSED;
	case VIR_DOMAIN_SHUTOFF:
		return reason == VIR_DOMAIN_SHUTOFF_CRASHED ? VM_CRASHED :
		    VM_STOPPED;
	case VIR_DOMAIN_CRASHED:
		return VM_CRASHED;
	default:
		return VM_UNKNOWN;
	}
}

static int
lv_do_state(virDomainPtr d, void *arg)
{
	enum vm_state *out = arg;
	int state, reason;

	if (virDomainGetState(d, &state, &reason, 0) < 0)
		return -1;
	*out = lv_state_map(state, reason);
	return 0;
}

int
lv_undefine(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "undefine the domain", 1,
	    lv_do_undefine, NULL);
}

int
lv_start(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "start the domain", 0, lv_do_start,
	    NULL);
}

int
lv_start_paused(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "start the domain paused", 0,
	    lv_do_start_paused, NULL);
}

int
lv_shutdown(struct backend_conn *bc, const char *uuid, bool *by_agent)
{
	return lv_with_domain(bc, uuid, "shut the domain down", 0,
	    lv_do_shutdown, by_agent);
}

int
lv_destroy(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "power the domain off", 1,
	    lv_do_destroy, NULL);
}

int
lv_suspend(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "pause the domain", 0, lv_do_suspend,
	    NULL);
}

int
lv_resume(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "resume the domain", 0, lv_do_resume,
	    NULL);
}

int
lv_reboot(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "reboot the domain", 0, lv_do_reboot,
	    NULL);
}

int
lv_reset(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "reset the domain", 0, lv_do_reset,
	    NULL);
}

int
lv_state(struct backend_conn *bc, const char *uuid, enum vm_state *out)
{
	return lv_with_domain(bc, uuid, "read the domain's state", 0,
	    lv_do_state, out);
}

/* --- listing the host's domains --- */

/* What the domain's definition says: its disk, and whether it is ours. */
static void
lv_domain_xml_facts(virDomainPtr d, struct domain_info *out)
{
	char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	xmlDocPtr doc = xml ? lv_xml_read(xml, "domain.xml") : NULL;
	xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
	char mine[8];

	free(xml);
	if (ctx) {
		lv_xpath(ctx, "string(/domain/devices/disk[@device='disk' and "
		    "@type='file'][1]/source/@file)", out->disk_path,
		    sizeof(out->disk_path));
		lv_xpath(ctx, "string(count(/domain/metadata/*[local-name()="
		    "'vm' and namespace-uri()='urn:hangar:vm:1']))", mine,
		    sizeof(mine));
		out->hangar = mine[0] && strcmp(mine, "0") != 0;
	}
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
}

/* What a brief listing leaves out: persistence, size, definition, disk. */
static void
lv_domain_details(virConnectPtr c, virDomainPtr d, struct domain_info *info)
{
	virStorageVolPtr vol;
	virStorageVolInfo vi;
	virDomainInfo di;

	info->persistent = virDomainIsPersistent(d) == 1;
	if (virDomainGetInfo(d, &di) == 0) {
		info->vcpus = di.nrVirtCpu;
		info->memory_mib = (int64_t)(di.maxMem / 1024);
	}
	lv_domain_xml_facts(d, info);
	if (info->disk_path[0] &&
	    (vol = virStorageVolLookupByPath(c, info->disk_path))) {
		if (virStorageVolGetInfo(vol, &vi) == 0)
			info->disk_gib = (int64_t)((vi.capacity +
			    (1ULL << 30) - 1) >> 30);
		virStorageVolFree(vol);
	}
}

int
lv_list_domains(struct backend_conn *bc, backend_brief_fn brief,
    backend_domain_fn fn, void *arg)
{
	virConnectPtr c = lv_get(bc);
	virDomainStatsRecordPtr *recs = NULL;
	struct domain_info info;
	int n, i, r = 0, st, why;

	if (c == NULL)
		return -1;
	/* every domain with its state in one call */
	if ((n = virConnectGetAllDomainStats(c, VIR_DOMAIN_STATS_STATE, &recs,
	    0)) < 0) {
		virConnectClose(c);
		return lv_fail("list the domains");
	}
	for (i = 0; i < n; i++) {
		virDomainPtr d = recs[i]->dom;

		memset(&info, 0, sizeof(info));
		if (virDomainGetUUIDString(d, info.uuid) < 0)
			continue;
		snprintf(info.name, sizeof(info.name), "%s",
		    virDomainGetName(d) ? virDomainGetName(d) : "");
		info.state = VM_UNKNOWN;
		if (virTypedParamsGetInt(recs[i]->params, recs[i]->nparams,
		    "state.state", &st) == 1) {
			why = 0;
			virTypedParamsGetInt(recs[i]->params, recs[i]->nparams,
			    "state.reason", &why);
			info.state = lv_state_map(st, why);
		}
		if (brief == NULL || !brief(info.uuid, arg))
			lv_domain_details(c, d, &info);
		virResetLastError();
		if (r == 0 && fn(&info, arg) != 0)
			r = -1;
	}
	virDomainStatsRecordListFree(recs);
	virConnectClose(c);
	return r;
}

struct lv_size_arg {
	int vcpus;
	int64_t memory_mib;
	bool live;
};

/*
 * Memory and vCPUs in the running domain (live) and then in its
 * definition, one at a time: not every driver takes LIVE|CONFIG at once
 * (the test driver refuses it for memory).  A count it already has is
 * not set again.
 */
static int
lv_do_set_size(virDomainPtr d, void *arg)
{
	struct lv_size_arg *a = arg;
	static const unsigned int where[] = { VIR_DOMAIN_AFFECT_LIVE,
	    VIR_DOMAIN_AFFECT_CONFIG };

	for (size_t i = a->live ? 0 : 1; i < 2; i++) {
		if (virDomainSetMemoryFlags(d,
		    (unsigned long)a->memory_mib * 1024, where[i]) < 0)
			return -1;
		if (virDomainGetVcpusFlags(d, where[i]) != a->vcpus &&
		    virDomainSetVcpusFlags(d, (unsigned)a->vcpus, where[i]) < 0)
			return -1;
	}
	return 0;
}

int
lv_set_size(struct backend_conn *bc, const char *uuid, int vcpus,
    int64_t memory_mib, bool live)
{
	struct lv_size_arg a = { vcpus, memory_mib, live };

	return lv_with_domain(bc, uuid, "resize the domain", 0,
	    lv_do_set_size, &a);
}

static int
lv_do_guest_vcpus(virDomainPtr d, void *arg)
{
	int n = *(int *)arg;
	virErrorPtr e;

	lv_agent_timeout(d);
	if (virDomainSetVcpusFlags(d, (unsigned)n, VIR_DOMAIN_VCPU_GUEST) == 0)
		return 0;
	e = virGetLastError();
	err_set(ERR_UNAVAILABLE, "the guest agent did not bring %d vCPUs "
	    "online: %s", n, e && e->message ? e->message : "no answer");
	return LV_REPORTED;
}

int
lv_guest_vcpus(struct backend_conn *bc, const char *uuid, int n)
{
	return lv_with_domain(bc, uuid, "online the guest's vCPUs", 0,
	    lv_do_guest_vcpus, &n);
}
