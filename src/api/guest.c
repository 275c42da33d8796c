/*
 * guest.c - GET /v1/vms/{vm}/guest: what the VM's guest agent says of the
 * guest (OS, kernel, hostname, time zone, filesystems, interfaces), or
 * {"agent": "not connected", "reason": ...} when no agent answers.
 * The asking is src/daemon/guest.c's.
 */
#include <stdlib.h>

#include <jansson.h>

#include "../common/error.h"
#include "../common/utf8.h"
#include "req.h"

/*
 * s, or JSON null when empty (what the agent did not say).  The guest
 * says what it likes: cut at the first byte that is not UTF-8.
 */
static json_t *
guest_str(const char *s)
{
	char buf[512];

	if (s[0] == '\0')
		return json_null();
	return json_string(utf8_clean(s, buf, sizeof(buf)));
}

static json_t *
guest_os_json(const struct guest_info *g)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
	    "id", guest_str(g->os_id),
	    "name", guest_str(g->os_name),
	    "pretty_name", guest_str(g->os_pretty_name),
	    "version", guest_str(g->os_version),
	    "version_id", guest_str(g->os_version_id),
	    "kernel_release", guest_str(g->kernel_release),
	    "kernel_version", guest_str(g->kernel_version),
	    "machine", guest_str(g->machine));
}

static json_t *
guest_fs_json(const struct guest_info *g)
{
	json_t *a = json_array();

	for (int i = 0; i < g->nfs; i++) {
		const struct guest_fs *f = &g->fs[i];
		json_t *o = json_pack("{s:o,s:o,s:o}", "mountpoint",
		    guest_str(f->mountpoint), "device", guest_str(f->name), "type",
		    guest_str(f->fstype));

		if (o && f->have_sizes) {
			json_object_set_new(o, "used_bytes",
			    json_integer((json_int_t)f->used_bytes));
			json_object_set_new(o, "total_bytes",
			    json_integer((json_int_t)f->total_bytes));
		}
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
guest_ifs_json(const struct guest_info *g)
{
	json_t *a = json_array();

	for (int i = 0; i < g->nifs; i++) {
		const struct guest_if *f = &g->ifs[i];
		json_t *addrs = json_array();

		for (int k = 0; k < f->naddrs; k++)
			json_array_append_new(addrs, json_pack("{s:o,s:o,s:i}",
			    "type", guest_str(f->addrs[k].type), "address",
			    guest_str(f->addrs[k].addr), "prefix",
			    f->addrs[k].prefix));
		json_array_append_new(a, json_pack("{s:o,s:o,s:o}", "name",
		    guest_str(f->name), "mac", guest_str(f->hwaddr),
		    "addresses", addrs));
	}
	return a;
}

int
guest_show(struct req *r)
{
	struct guest_info *g = calloc(1, sizeof(*g));
	struct vm_rec v;
	json_t *o;

	if (g == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (guest_get(r->app, r->params[0], &v, g) < 0) {
		free(g);
		return -1;
	}
	if (!g->agent) {
		o = json_pack("{s:s,s:s,s:o}", "vm", v.name, "agent",
		    "not connected", "reason", guest_str(g->agent_why));
	} else {
		o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "vm", v.name,
		    "agent", "connected", "os", guest_os_json(g), "hostname",
		    guest_str(g->hostname), "timezone", json_pack("{s:o,s:o}",
		    "name", guest_str(g->timezone), "offset_s",
		    g->have_tz_offset ? json_integer(g->tz_offset_s) :
		    json_null()), "filesystems", guest_fs_json(g),
		    "interfaces", guest_ifs_json(g));
	}
	free(g);
	if (o == NULL)
		return err_set(ERR_INTERNAL, "cannot write the guest's "
		    "description");
	return req_reply(r, 200, o);
}
