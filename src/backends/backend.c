/*
 * backend.c - the wrappers that are the only callers of a backend's
 * tables (struct backend_driver).  A NULL table or a NULL slot becomes
 * ERR_UNSUPPORTED here and nowhere else.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "backend.h"

static const struct backend_driver *const backend_all[] = {
	&backend_libvirt,
};

int
backend_init(void)
{
	const struct backend_conn_ops *c;

	for (size_t i = 0; i < sizeof(backend_all) / sizeof(backend_all[0]);
	    i++) {
		c = backend_all[i]->conn;
		if (c && c->global_init && c->global_init() < 0)
			return -1;
	}
	return 0;
}

const struct backend_driver *
backend_for_uri(const char *uri)
{
	(void)uri;
	return &backend_libvirt;
}

static int
backend_unsupported(const struct backend_driver *drv, const char *what)
{
	return err_set(ERR_UNSUPPORTED, "the %s backend cannot %s", drv->name,
	    what);
}

/*
 * Call slot of bc's table (conn, domain, storage or network) with bc and
 * the rest; a missing table or slot is ERR_UNSUPPORTED ("the libvirt
 * backend cannot <what>").
 */
#define BACKEND_CALL(bc, table, slot, what, ...) \
	((bc)->driver->table && (bc)->driver->table->slot ? \
	    (bc)->driver->table->slot((bc), __VA_ARGS__) : \
	    backend_unsupported((bc)->driver, what))

struct backend_conn *
backend_open(const char *uri)
{
	const struct backend_driver *drv = backend_for_uri(uri);

	if (drv->conn == NULL || drv->conn->open == NULL) {
		backend_unsupported(drv, "connect to hosts");
		return NULL;
	}
	return drv->conn->open(uri);
}

/* A conn was opened by its driver's open, so its close is there. */
void
backend_close(struct backend_conn *bc)
{
	if (bc)
		bc->driver->conn->close(bc);
}

int
backend_host_facts(struct backend_conn *bc, struct host_facts *out)
{
	return BACKEND_CALL(bc, conn, host_facts, "describe the host", out);
}

int
backend_pool_find(struct backend_conn *bc, const char *path, char *name_out,
    size_t name_len)
{
	return BACKEND_CALL(bc, storage, pool_find, "find storage pools", path,
	    name_out, name_len);
}

int
backend_pool_ensure(struct backend_conn *bc, const char *pool,
    const char *path, int64_t *cap_gib, int64_t *avail_gib)
{
	return BACKEND_CALL(bc, storage, pool_ensure, "manage storage pools",
	    pool, path, cap_gib, avail_gib);
}

int
backend_volume_create(struct backend_conn *bc, const char *pool,
    const char *vol, int64_t gib, char *path_out, size_t path_len)
{
	return BACKEND_CALL(bc, storage, volume_create, "create volumes", pool,
	    vol, gib, path_out, path_len);
}

int
backend_volume_delete(struct backend_conn *bc, const char *pool,
    const char *vol)
{
	return BACKEND_CALL(bc, storage, volume_delete, "delete volumes", pool,
	    vol);
}

int
backend_define(struct backend_conn *bc, const struct vm_spec *spec)
{
	return BACKEND_CALL(bc, domain, define, "define domains", spec);
}

int
backend_undefine(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, undefine, "undefine domains", uuid);
}

int
backend_start(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, start, "start domains", uuid);
}

int
backend_start_paused(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, start_paused, "start domains paused",
	    uuid);
}

int
backend_shutdown(struct backend_conn *bc, const char *uuid, bool *by_agent)
{
	*by_agent = false;
	return BACKEND_CALL(bc, domain, shutdown, "shut domains down", uuid,
	    by_agent);
}

int
backend_guest_info(struct backend_conn *bc, const char *uuid,
    struct guest_info *out)
{
	memset(out, 0, sizeof(*out));
	return BACKEND_CALL(bc, domain, guest_info, "talk to guest agents",
	    uuid, out);
}

int
backend_fs_freeze(struct backend_conn *bc, const char *uuid, int *frozen)
{
	*frozen = 0;
	return BACKEND_CALL(bc, domain, fs_freeze, "freeze guests' "
	    "filesystems", uuid, frozen);
}

int
backend_fs_thaw(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, fs_thaw, "thaw guests' filesystems",
	    uuid);
}

int
backend_guest_exec(struct backend_conn *bc, const char *uuid,
    const char *const *argv, int timeout_ms, struct guestexec_status *out)
{
	memset(out, 0, sizeof(*out));
	return BACKEND_CALL(bc, domain, guest_exec, "run programs in guests",
	    uuid, argv, timeout_ms, out);
}

int
backend_vm_addresses(struct backend_conn *bc, const char *uuid,
    enum if_addr_source src, struct if_addr *out, int max, int *n)
{
	*n = 0;
	return BACKEND_CALL(bc, domain, vm_addresses, "list the addresses "
	    "of guests", uuid, src, out, max, n);
}

int
backend_destroy(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, destroy, "power domains off", uuid);
}

int
backend_suspend(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, suspend, "pause domains", uuid);
}

int
backend_resume(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, resume, "resume domains", uuid);
}

int
backend_reboot(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, reboot, "reboot domains", uuid);
}

int
backend_reset(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, reset, "reset domains", uuid);
}

int
backend_state(struct backend_conn *bc, const char *uuid, enum vm_state *out)
{
	return BACKEND_CALL(bc, domain, state, "read domain states", uuid, out);
}

int
backend_snapshot_create(struct backend_conn *bc, const char *uuid,
    const struct snap_spec *spec, struct snap_info *out)
{
	return BACKEND_CALL(bc, domain, snapshot_create, "take snapshots", uuid,
	    spec, out);
}

int
backend_snapshot_get(struct backend_conn *bc, const char *uuid,
    const char *name, struct snap_info *out)
{
	return BACKEND_CALL(bc, domain, snapshot_get, "read snapshots", uuid,
	    name, out);
}

int
backend_snapshot_revert(struct backend_conn *bc, const char *uuid,
    const char *name, bool disk_only)
{
	return BACKEND_CALL(bc, domain, snapshot_revert, "revert to snapshots",
	    uuid, name, disk_only);
}

int
backend_snapshot_delete(struct backend_conn *bc, const char *uuid,
    const char *name)
{
	return BACKEND_CALL(bc, domain, snapshot_delete, "delete snapshots",
	    uuid, name);
}

int
backend_watch(struct backend_conn *bc, backend_event_fn fn, void *opaque)
{
	return BACKEND_CALL(bc, conn, watch, "watch domain events", fn, opaque);
}

int
backend_migrate(struct backend_conn *bc, const char *uuid,
    const struct migrate_spec *spec)
{
	return BACKEND_CALL(bc, domain, migrate, "migrate domains", uuid, spec);
}

int
backend_job_stats(struct backend_conn *bc, const char *uuid, bool completed,
    struct migrate_stats *out)
{
	return BACKEND_CALL(bc, domain, job_stats, "read migration progress",
	    uuid, completed, out);
}

int
backend_job_abort(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, job_abort, "abort migrations", uuid);
}

int
backend_migrate_postcopy(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, migrate_postcopy,
	    "switch migrations to post-copy", uuid);
}

int
backend_migrate_check(struct backend_conn *bc, const char *uuid,
    struct backend_conn *dst, const char *dst_pool, bool copy_storage,
    struct migrate_checks *out)
{
	return BACKEND_CALL(bc, domain, migrate_check, "check migrations", uuid,
	    dst, dst_pool, copy_storage, out);
}

int
backend_snapshot_export(struct backend_conn *bc, const char *uuid,
    char ***xmls, size_t *n, char *current, size_t current_len)
{
	return BACKEND_CALL(bc, domain, snapshot_export, "export snapshots",
	    uuid, xmls, n, current, current_len);
}

int
backend_snapshot_forget(struct backend_conn *bc, const char *uuid)
{
	return BACKEND_CALL(bc, domain, snapshot_forget, "forget snapshots",
	    uuid);
}

int
backend_snapshot_redefine(struct backend_conn *bc, const char *uuid,
    char *const *xmls, size_t n, const char *current)
{
	return BACKEND_CALL(bc, domain, snapshot_redefine, "redefine snapshots",
	    uuid, xmls, n, current);
}

int
backend_volume_copy(struct backend_conn *bc, const char *pool,
    const char *vol, struct backend_conn *dst, const char *dst_pool,
    const char *dst_vol, const char *backing, char *path_out,
    size_t path_len)
{
	return BACKEND_CALL(bc, storage, volume_copy, "copy volumes", pool, vol,
	    dst, dst_pool, dst_vol, backing, path_out, path_len);
}

int
backend_volume_download(struct backend_conn *bc, const char *pool,
    const char *vol, int fd, int64_t *bytes)
{
	return BACKEND_CALL(bc, storage, volume_download, "download volumes",
	    pool, vol, fd, bytes);
}

int
backend_volume_path(struct backend_conn *bc, const char *pool,
    const char *vol, char *path_out, size_t path_len)
{
	return BACKEND_CALL(bc, storage, volume_path, "find volumes", pool, vol,
	    path_out, path_len);
}

void
backend_free_strings(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
backend_list_domains(struct backend_conn *bc, backend_brief_fn brief,
    backend_domain_fn fn, void *arg)
{
	return BACKEND_CALL(bc, domain, list_domains, "list its domains",
	    brief, fn, arg);
}

int
backend_domain_stats(struct backend_conn *bc, backend_stats_fn fn, void *arg)
{
	return BACKEND_CALL(bc, domain, domain_stats, "report domain "
	    "statistics", fn, arg);
}

int
backend_disk_attach(struct backend_conn *bc, const char *uuid,
    const struct vm_disk_spec *d, bool live)
{
	return BACKEND_CALL(bc, domain, disk_attach, "plug disks in", uuid, d,
	    live);
}

int
backend_disk_detach(struct backend_conn *bc, const char *uuid,
    const char *dev, bool live)
{
	return BACKEND_CALL(bc, domain, disk_detach, "unplug disks", uuid, dev,
	    live);
}

int
backend_disk_resize(struct backend_conn *bc, const char *uuid,
    const char *dev, int64_t gib)
{
	return BACKEND_CALL(bc, domain, disk_resize, "grow disks", uuid, dev,
	    gib);
}

int
backend_set_size(struct backend_conn *bc, const char *uuid, int vcpus,
    int64_t memory_mib, bool live)
{
	return BACKEND_CALL(bc, domain, set_size, "resize domains", uuid,
	    vcpus, memory_mib, live);
}

int
backend_guest_vcpus(struct backend_conn *bc, const char *uuid, int n)
{
	return BACKEND_CALL(bc, domain, guest_vcpus, "online guest vCPUs",
	    uuid, n);
}

int
backend_volume_resize(struct backend_conn *bc, const char *pool,
    const char *vol, int64_t gib)
{
	return BACKEND_CALL(bc, storage, volume_resize, "grow volumes", pool,
	    vol, gib);
}

int
backend_disk_list(struct backend_conn *bc, const char *uuid,
    struct domain_disk *out, int max, int *n)
{
	return BACKEND_CALL(bc, domain, disk_list, "list disks", uuid, out,
	    max, n);
}

int
backend_nic_list(struct backend_conn *bc, const char *uuid,
    struct domain_nic *out, int max, int *n)
{
	return BACKEND_CALL(bc, domain, nic_list, "list NICs", uuid, out,
	    max, n);
}

int
backend_volume_upload(struct backend_conn *bc, const char *pool,
    const char *vol, const char *file, int64_t bytes, char *path_out,
    size_t path_len)
{
	return BACKEND_CALL(bc, storage, volume_upload, "upload images", pool,
	    vol, file, bytes, path_out, path_len);
}

int
backend_volume_put(struct backend_conn *bc, const char *pool,
    const char *vol, const void *data, size_t len, char *path_out,
    size_t path_len)
{
	return BACKEND_CALL(bc, storage, volume_put, "put files into volumes",
	    pool, vol, data, len, path_out, path_len);
}

int
backend_volume_overlay(struct backend_conn *bc, const char *pool,
    const char *vol, int64_t gib, const char *backing, char *path_out,
    size_t path_len)
{
	return BACKEND_CALL(bc, storage, volume_overlay, "make linked clones",
	    pool, vol, gib, backing, path_out, path_len);
}

int
backend_volume_clone(struct backend_conn *bc, const char *pool,
    const char *src, const char *vol, int64_t gib, char *path_out,
    size_t path_len)
{
	return BACKEND_CALL(bc, storage, volume_clone, "make full clones", pool,
	    src, vol, gib, path_out, path_len);
}

int
backend_console_open(struct backend_conn *bc, const char *uuid,
    backend_console_fn fn, void *opaque, struct backend_console **out)
{
	*out = NULL;
	return BACKEND_CALL(bc, domain, console_open, "open consoles", uuid,
	    fn, opaque, out);
}

int
backend_console_write(struct backend_conn *bc, struct backend_console *con,
    const void *buf, size_t n)
{
	return BACKEND_CALL(bc, domain, console_write, "write to consoles",
	    con, buf, n);
}

/* Only a console console_open made can be closed: its slot is there. */
void
backend_console_close(struct backend_conn *bc, struct backend_console *con)
{
	if (con && bc->driver->domain && bc->driver->domain->console_close)
		bc->driver->domain->console_close(bc, con);
}

int
backend_send_keys(struct backend_conn *bc, const char *uuid,
    const struct key_combo *combos, size_t n, int hold_ms)
{
	return BACKEND_CALL(bc, domain, send_keys, "send keys", uuid, combos,
	    n, hold_ms);
}

int
backend_file_tail(struct backend_conn *bc, const char *path, char *buf,
    size_t *n)
{
	return BACKEND_CALL(bc, storage, file_tail, "read files on hosts",
	    path, buf, n);
}

int
backend_network_define(struct backend_conn *bc, const struct net_spec *spec)
{
	return BACKEND_CALL(bc, network, network_define, "define networks",
	    spec);
}

int
backend_network_start(struct backend_conn *bc, const char *name)
{
	return BACKEND_CALL(bc, network, network_start, "start networks",
	    name);
}

int
backend_network_undefine(struct backend_conn *bc, const char *name,
    const char *uuid)
{
	return BACKEND_CALL(bc, network, network_undefine,
	    "undefine networks", name, uuid);
}

int
backend_network_host_add(struct backend_conn *bc, const char *name,
    const struct net_dhcp_host *h)
{
	return BACKEND_CALL(bc, network, network_host_add,
	    "add DHCP hosts to networks", name, h);
}

int
backend_network_host_remove(struct backend_conn *bc, const char *name,
    const char *mac)
{
	return BACKEND_CALL(bc, network, network_host_remove,
	    "remove DHCP hosts from networks", name, mac);
}

int
backend_network_leases(struct backend_conn *bc, const char *name,
    const char *mac, struct net_lease *out, int max, int *n)
{
	return BACKEND_CALL(bc, network, network_leases,
	    "list DHCP leases", name, mac, out, max, n);
}

int
backend_bridge_exists(struct backend_conn *bc, const char *bridge,
    bool *out)
{
	return BACKEND_CALL(bc, network, bridge_exists,
	    "look up host bridges", bridge, out);
}

int
backend_nic_attach(struct backend_conn *bc, const char *uuid,
    const struct vm_nic_spec *n, bool live)
{
	return BACKEND_CALL(bc, domain, nic_attach, "plug NICs in", uuid, n,
	    live);
}

int
backend_nic_detach(struct backend_conn *bc, const char *uuid,
    const char *mac, bool live)
{
	return BACKEND_CALL(bc, domain, nic_detach, "unplug NICs", uuid, mac,
	    live);
}

int
backend_backup_begin(struct backend_conn *bc, const char *uuid,
    const struct backup_spec *spec)
{
	return BACKEND_CALL(bc, domain, backup_begin, "back up domains", uuid,
	    spec);
}

int
backend_backup_poll(struct backend_conn *bc, const char *uuid,
    struct backup_job *out)
{
	return BACKEND_CALL(bc, domain, backup_poll, "back up domains", uuid,
	    out);
}

int
backend_checkpoint_xml(struct backend_conn *bc, const char *uuid,
    const char *name, char *buf, size_t len)
{
	return BACKEND_CALL(bc, domain, checkpoint_xml, "keep checkpoints",
	    uuid, name, buf, len);
}

int
backend_checkpoint_define(struct backend_conn *bc, const char *uuid,
    const char *xml)
{
	return BACKEND_CALL(bc, domain, checkpoint_define, "keep checkpoints",
	    uuid, xml);
}

int
backend_checkpoint_delete(struct backend_conn *bc, const char *uuid,
    const char *name, bool metadata_only)
{
	return BACKEND_CALL(bc, domain, checkpoint_delete, "keep checkpoints",
	    uuid, name, metadata_only);
}

int
backend_file_fetch(struct backend_conn *bc, const char *path,
    backend_sink_fn sink, void *arg, bool remove)
{
	return BACKEND_CALL(bc, storage, file_fetch, "read files on hosts",
	    path, sink, arg, remove);
}

int
backend_file_remove(struct backend_conn *bc, const char *path)
{
	return BACKEND_CALL(bc, storage, file_remove, "read files on hosts",
	    path);
}

int
backend_file_seen(struct backend_conn *bc, const char *path,
    const void *want, size_t len, bool *seen)
{
	*seen = false;
	return BACKEND_CALL(bc, storage, file_seen, "read files on hosts",
	    path, want, len, seen);
}
