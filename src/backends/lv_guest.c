/*
 * lv_guest.c - the libvirt backend's view through a guest's agent
 * (qemu-guest-agent on the org.qemu.guest_agent.0 channel that every
 * domain has): virDomainGetGuestInfo's typed parameters ("os.id",
 * "fs.0.mountpoint", "if.1.addr.0.addr", ...) read into struct
 * guest_info.
 *
 * Also freezing and thawing the guest's filesystems around a snapshot
 * (virDomainFSFreeze / FSThaw), and running a program in the guest
 * (guest-exec through virDomainQemuAgentCommand: libvirt has no API of
 * its own for it), as hangar reads cloud-init's status.
 *
 * And the addresses of a running domain's interfaces, as its agent or
 * the host's ARP table sees them (virDomainInterfaceAddresses).
 *
 * An agent that is not there (not running yet, not installed, the guest
 * hung) is an answer, not a failure: libvirt says so at once when the
 * channel is not connected, or after LV_AGENT_TIMEOUT_S when it does not
 * answer, and guest_info says "no agent" with libvirt's words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "../common/error.h"
#include "lv_int.h"

/*
 * Bound every agent command on d (shutdown, guest info) to
 * LV_AGENT_TIMEOUT_S; libvirt's default waits much longer.  A driver
 * without agents refuses: that is fine, nothing will wait on one.
 */
void
lv_agent_timeout(virDomainPtr d)
{
	if (virDomainAgentSetResponseTimeout(d, LV_AGENT_TIMEOUT_S, 0) < 0)
		virResetLastError();
}

/* Parameter name as a string into out (untouched when absent). */
static void
lv_gi_str(virTypedParameterPtr p, int n, const char *name, char *out,
    size_t len)
{
	const char *v = NULL;

	if (virTypedParamsGetString(p, n, name, &v) == 1 && v)
		snprintf(out, len, "%s", v);
}

static unsigned int
lv_gi_uint(virTypedParameterPtr p, int n, const char *name)
{
	unsigned int v = 0;

	if (virTypedParamsGetUInt(p, n, name, &v) != 1)
		v = 0;
	return v;
}

static void
lv_gi_os(virTypedParameterPtr p, int n, struct guest_info *g)
{
	int off;

	lv_gi_str(p, n, "os.id", g->os_id, sizeof(g->os_id));
	lv_gi_str(p, n, "os.name", g->os_name, sizeof(g->os_name));
	lv_gi_str(p, n, "os.pretty-name", g->os_pretty_name,
	    sizeof(g->os_pretty_name));
	lv_gi_str(p, n, "os.version", g->os_version, sizeof(g->os_version));
	lv_gi_str(p, n, "os.version-id", g->os_version_id,
	    sizeof(g->os_version_id));
	lv_gi_str(p, n, "os.kernel-release", g->kernel_release,
	    sizeof(g->kernel_release));
	lv_gi_str(p, n, "os.kernel-version", g->kernel_version,
	    sizeof(g->kernel_version));
	lv_gi_str(p, n, "os.machine", g->machine, sizeof(g->machine));
	lv_gi_str(p, n, "hostname", g->hostname, sizeof(g->hostname));
	lv_gi_str(p, n, "timezone.name", g->timezone, sizeof(g->timezone));
	if (virTypedParamsGetInt(p, n, "timezone.offset", &off) == 1) {
		g->have_tz_offset = true;
		g->tz_offset_s = off;
	}
}

static void
lv_gi_fs(virTypedParameterPtr p, int n, struct guest_info *g)
{
	unsigned int count = lv_gi_uint(p, n, "fs.count");
	unsigned long long used, total;
	char key[64];

	for (unsigned int i = 0; i < count && g->nfs < GUEST_FS_MAX; i++) {
		struct guest_fs *f = &g->fs[g->nfs];

		snprintf(key, sizeof(key), "fs.%u.mountpoint", i);
		lv_gi_str(p, n, key, f->mountpoint, sizeof(f->mountpoint));
		if (f->mountpoint[0] == '\0')
			continue;
		snprintf(key, sizeof(key), "fs.%u.name", i);
		lv_gi_str(p, n, key, f->name, sizeof(f->name));
		snprintf(key, sizeof(key), "fs.%u.fstype", i);
		lv_gi_str(p, n, key, f->fstype, sizeof(f->fstype));
		snprintf(key, sizeof(key), "fs.%u.used-bytes", i);
		if (virTypedParamsGetULLong(p, n, key, &used) == 1) {
			snprintf(key, sizeof(key), "fs.%u.total-bytes", i);
			if (virTypedParamsGetULLong(p, n, key, &total) == 1) {
				f->have_sizes = true;
				f->used_bytes = used;
				f->total_bytes = total;
			}
		}
		g->nfs++;
	}
}

static void
lv_gi_ifs(virTypedParameterPtr p, int n, struct guest_info *g)
{
	unsigned int count = lv_gi_uint(p, n, "if.count"), na;
	char key[64];

	for (unsigned int i = 0; i < count && g->nifs < GUEST_IF_MAX; i++) {
		struct guest_if *f = &g->ifs[g->nifs++];

		snprintf(key, sizeof(key), "if.%u.name", i);
		lv_gi_str(p, n, key, f->name, sizeof(f->name));
		snprintf(key, sizeof(key), "if.%u.hwaddr", i);
		lv_gi_str(p, n, key, f->hwaddr, sizeof(f->hwaddr));
		snprintf(key, sizeof(key), "if.%u.addr.count", i);
		na = lv_gi_uint(p, n, key);
		for (unsigned int k = 0; k < na && f->naddrs < GUEST_ADDR_MAX;
		    k++) {
			struct guest_addr *a = &f->addrs[f->naddrs];

			snprintf(key, sizeof(key), "if.%u.addr.%u.addr", i, k);
			lv_gi_str(p, n, key, a->addr, sizeof(a->addr));
			if (a->addr[0] == '\0')
				continue;
			snprintf(key, sizeof(key), "if.%u.addr.%u.type", i, k);
			lv_gi_str(p, n, key, a->type, sizeof(a->type));
			snprintf(key, sizeof(key), "if.%u.addr.%u.prefix", i, k);
			a->prefix = (int)lv_gi_uint(p, n, key);
			f->naddrs++;
		}
	}
}

/* Is e libvirt saying that no agent answers (rather than a failure)? */
static bool
lv_gi_no_agent(virErrorPtr e)
{
	/* not connected or not answering; not configured (a domain defined
	 * before every domain had the channel); a driver without agents */
	return e && (e->code == VIR_ERR_AGENT_UNRESPONSIVE ||
	    e->code == VIR_ERR_AGENT_UNSYNCED ||
	    e->code == VIR_ERR_OPERATION_TIMEOUT ||
	    e->code == VIR_ERR_ARGUMENT_UNSUPPORTED ||
	    e->code == VIR_ERR_NO_SUPPORT);
}

static int
lv_do_guest_info(virDomainPtr d, void *arg)
{
	struct guest_info *g = arg;
	virTypedParameterPtr p = NULL;
	unsigned int types = VIR_DOMAIN_GUEST_INFO_OS |
	    VIR_DOMAIN_GUEST_INFO_TIMEZONE | VIR_DOMAIN_GUEST_INFO_HOSTNAME |
	    VIR_DOMAIN_GUEST_INFO_FILESYSTEM | VIR_DOMAIN_GUEST_INFO_INTERFACES;
	virErrorPtr e;
	int n = 0;

	if (virDomainIsActive(d) == 0) {
		err_set(ERR_CONFLICT, "the domain is not running: its guest "
		    "agent answers only while it runs");
		return LV_REPORTED;
	}
	lv_agent_timeout(d);
	if (virDomainGetGuestInfo(d, types, &p, &n, 0) < 0) {
		e = virGetLastError();
		if (!lv_gi_no_agent(e))
			return -1;
		g->agent = false;
		snprintf(g->agent_why, sizeof(g->agent_why), "%s",
		    e->message ? e->message : "the guest agent does not answer");
		virResetLastError();
		return 0;
	}
	g->agent = true;
	lv_gi_os(p, n, g);
	lv_gi_fs(p, n, g);
	lv_gi_ifs(p, n, g);
	virTypedParamsFree(p, n);
	return 0;
}

int
lv_guest_info(struct backend_conn *bc, const char *uuid,
    struct guest_info *out)
{
	return lv_with_domain(bc, uuid, "ask the guest agent", 0,
	    lv_do_guest_info, out);
}

static int
lv_do_fs_freeze(virDomainPtr d, void *arg)
{
	int *frozen = arg, n;

	lv_agent_timeout(d);
	if ((n = virDomainFSFreeze(d, NULL, 0, 0)) < 0) {
		if (!lv_gi_no_agent(virGetLastError()))
			return -1;
		virResetLastError();
		n = 0;
	}
	*frozen = n;
	return 0;
}

int
lv_fs_freeze(struct backend_conn *bc, const char *uuid, int *frozen)
{
	return lv_with_domain(bc, uuid, "freeze the guest's filesystems", 0,
	    lv_do_fs_freeze, frozen);
}

static int
lv_do_fs_thaw(virDomainPtr d, void *arg)
{
	(void)arg;
	lv_agent_timeout(d);
	if (virDomainFSThaw(d, NULL, 0, 0) < 0) {
		if (!lv_gi_no_agent(virGetLastError()))
			return -1;
		virResetLastError();
	}
	return 0;
}

int
lv_fs_thaw(struct backend_conn *bc, const char *uuid)
{
	return lv_with_domain(bc, uuid, "thaw the guest's filesystems", 0,
	    lv_do_fs_thaw, NULL);
}

/* What lv_do_guest_exec is given and gives back. */
struct lv_exec {
	const char *const *argv;
	int timeout_ms;
	struct guestexec_status *out;
};

/*
 * One agent command (JSON built by jansson), its reply (malloc'd) or
 * NULL with libvirt's error left for the caller.
 */
static char *
lv_agent_cmd(virDomainPtr d, json_t *cmd)
{
	char *s = json_dumps(cmd, JSON_COMPACT), *reply;

	json_decref(cmd);
	if (s == NULL)
		return NULL;
	reply = virDomainQemuAgentCommand(d, s, LV_AGENT_TIMEOUT_S, 0);
	free(s);
	return reply;
}

/* No agent, or its command failed: ERR_UNAVAILABLE, LV_REPORTED. */
static int
lv_exec_no_agent(const char *what)
{
	virErrorPtr e = virGetLastError();

	err_set(ERR_UNAVAILABLE, "the guest agent could not %s: %s", what,
	    e && e->message ? e->message : "it does not answer");
	virResetLastError();
	return LV_REPORTED;
}

static int
lv_do_guest_exec(virDomainPtr d, void *arg)
{
	struct lv_exec *a = arg;
	json_t *args = json_array();
	struct timespec ts = { 0, 100 * 1000000L };
	long long pid;
	char *reply;
	int64_t end;

	for (int i = 1; a->argv[i]; i++)
		json_array_append_new(args, json_string(a->argv[i]));
	reply = lv_agent_cmd(d, json_pack("{s:s,s:{s:s,s:o,s:b}}", "execute",
	    "guest-exec", "arguments", "path", a->argv[0], "arg", args,
	    "capture-output", 1));
	if (reply == NULL)
		return lv_exec_no_agent("start the program");
	if (guestexec_pid(reply, &pid) < 0) {
		free(reply);
		err_set(ERR_BACKEND, "the guest agent's answer to guest-exec "
		    "has no pid");
		return LV_REPORTED;
	}
	free(reply);
	end = time_now_ms() + a->timeout_ms;
	for (;;) {
		reply = lv_agent_cmd(d, json_pack("{s:s,s:{s:I}}", "execute",
		    "guest-exec-status", "arguments", "pid", (json_int_t)pid));
		if (reply == NULL)
			return lv_exec_no_agent("tell how the program is");
		if (guestexec_status_parse(reply, a->out) < 0) {
			free(reply);
			err_set(ERR_BACKEND, "the guest agent's answer to "
			    "guest-exec-status is not one");
			return LV_REPORTED;
		}
		free(reply);
		if (a->out->exited)
			return 0;
		if (time_now_ms() >= end) {
			err_set(ERR_TIMEOUT, "'%s' did not exit in the guest "
			    "within %d ms", a->argv[0], a->timeout_ms);
			return LV_REPORTED;
		}
		nanosleep(&ts, NULL);
	}
}

int
lv_guest_exec(struct backend_conn *bc, const char *uuid,
    const char *const *argv, int timeout_ms, struct guestexec_status *out)
{
	struct lv_exec a = { argv, timeout_ms, out };

	return lv_with_domain(bc, uuid, "run a program in the guest", 0,
	    lv_do_guest_exec, &a);
}

/* What lv_do_vm_addresses is given and gives back. */
struct lv_addrs {
	enum if_addr_source src;
	struct if_addr *out;
	int max, *n;
};

static void
lv_addrs_take(struct lv_addrs *a, virDomainInterfacePtr *ifs, int k)
{
	for (int i = 0; i < k; i++) {
		virDomainInterfacePtr f = ifs[i];

		for (unsigned int j = 0; f->hwaddr && j < f->naddrs &&
		    *a->n < a->max; j++) {
			struct if_addr *o = &a->out[*a->n];

			if (f->addrs[j].addr == NULL)
				continue;
			snprintf(o->mac, sizeof(o->mac), "%.17s", f->hwaddr);
			for (char *p = o->mac; *p; p++)
				if (*p >= 'A' && *p <= 'F')
					*p += 'a' - 'A';
			snprintf(o->addr, sizeof(o->addr), "%s",
			    f->addrs[j].addr);
			o->prefix = (int)f->addrs[j].prefix;
			(*a->n)++;
		}
	}
}

static int
lv_do_vm_addresses(virDomainPtr d, void *arg)
{
	struct lv_addrs *a = arg;
	virDomainInterfacePtr *ifs = NULL;
	unsigned int src = a->src == IF_ADDR_AGENT ?
	    VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT :
	    VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP;
	int k;

	if (virDomainIsActive(d) == 0) {
		err_set(ERR_CONFLICT, "the domain is not running: it has no "
		    "addresses to see");
		return LV_REPORTED;
	}
	if (a->src == IF_ADDR_AGENT)
		lv_agent_timeout(d);
	if ((k = virDomainInterfaceAddresses(d, &ifs, src, 0)) < 0) {
		if (a->src != IF_ADDR_AGENT ||
		    !lv_gi_no_agent(virGetLastError()))
			return -1;
		virResetLastError();
		return 0;
	}
	lv_addrs_take(a, ifs, k);
	for (int i = 0; i < k; i++)
		virDomainInterfaceFree(ifs[i]);
	free(ifs);
	return 0;
}

int
lv_vm_addresses(struct backend_conn *bc, const char *uuid,
    enum if_addr_source src, struct if_addr *out, int max, int *n)
{
	struct lv_addrs a = { src, out, max, n };

	return lv_with_domain(bc, uuid, "list the domain's addresses", 0,
	    lv_do_vm_addresses, &a);
}
