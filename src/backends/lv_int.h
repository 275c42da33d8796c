/*
 * lv_int.h - what the files of the libvirt backend (lv_*.c) share; no
 * other file includes it.
 *
 * One virConnectPtr per host, with keepalive (libvirt's default event
 * loop runs in a thread started by global_init).  When a call finds the
 * connection dead it is reopened once and the call retried.  Domains are
 * addressed by UUID only; names are never used to find a domain, so a
 * foreign domain with a clashing name is never touched.
 *
 * One concern a file, as backend.h has one table a concern:
 *   lv_driver.c         the tables: backend_libvirt
 *   lv_common.c         libvirt's errors into ours, XML reading, finding
 *                       a domain by UUID
 *   lv_conn.c           the event loop, open/close/reconnect, watching,
 *                       host facts
 *   lv_domain.c         define, undefine, lifecycle, state, listing
 *   lv_guest.c          the guest agent: what it says of the guest
 *   lv_snapshot.c       snapshots, and their metadata for a move
 *   lv_backup.c         backup jobs, checkpoints, fetching their files,
 *                       whether a host sees a file of hangard's
 *   lv_migrate.c        migration and its job (stats, abort, post-copy)
 *   lv_migrate_check.c  the checks before a migration
 *   lv_storage.c        pools, volumes, copying volumes through streams
 *   lv_console.c        a domain's serial console (a non-blocking
 *                       stream), the tail of a file on the host (its log)
 *   lv_network.c        networks, their DHCP hosts and leases, bridges
 * Below, the prototypes are grouped by the file that defines them.
 */
#ifndef HANGAR_LV_INT_H
#define HANGAR_LV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/xpath.h>

#include "backend.h"

/*
 * What a lv_dom_fn returns when it has reported its own error with
 * err_set(), so that lv_with_domain must not report libvirt's.
 */
#define LV_REPORTED (-2)

/* A C string where libxml2 wants its xmlChar. */
#define LV_XC(s) ((const xmlChar *)(s))

/*
 * Run fn on the domain with this UUID.  fn returns libvirt's result
 * (< 0 on failure, reported here as "libvirt could not <what>"), or
 * LV_REPORTED when it has set its own error.  A missing domain is
 * ERR_NOT_FOUND, unless missing_ok.  lv_on_domain does it on connection
 * c to uri; lv_with_domain on bc's shared connection.
 */
typedef int (*lv_dom_fn)(virDomainPtr d, void *arg);

/* lv_common.c */
int lv_fail_err(const char *what, virErrorPtr e);
int lv_fail(const char *what);
xmlDocPtr lv_xml_read(const char *xml, const char *name);
void lv_xpath(xmlXPathContextPtr ctx, const char *expr, char *out,
    size_t len);
xmlXPathObjectPtr lv_xpath_nodes(xmlXPathContextPtr ctx, const char *expr,
    int *n);
void lv_xpath_at(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr,
    char *out, size_t len);
int lv_on_domain(virConnectPtr c, const char *uri, const char *uuid,
    const char *what, int missing_ok, lv_dom_fn fn, void *arg);
int lv_with_domain(struct backend_conn *bc, const char *uuid,
    const char *what, int missing_ok, lv_dom_fn fn, void *arg);

/* lv_conn.c */
virConnectPtr lv_connect(const char *uri);
virConnectPtr lv_get(struct backend_conn *bc);
int lv_global_init(void);
struct backend_conn *lv_open(const char *uri);
void lv_close(struct backend_conn *bc);
int lv_watch(struct backend_conn *bc, backend_event_fn fn, void *opaque);
int lv_host_facts(struct backend_conn *bc, struct host_facts *out);

/* lv_guest.c */
/* How long an agent command may take before it counts as not there. */
#define LV_AGENT_TIMEOUT_S 5
void lv_agent_timeout(virDomainPtr d);
int lv_guest_info(struct backend_conn *bc, const char *uuid,
    struct guest_info *out);
int lv_fs_freeze(struct backend_conn *bc, const char *uuid, int *frozen);
int lv_fs_thaw(struct backend_conn *bc, const char *uuid);
int lv_guest_exec(struct backend_conn *bc, const char *uuid,
    const char *const *argv, int timeout_ms, struct guestexec_status *out);
int lv_vm_addresses(struct backend_conn *bc, const char *uuid,
    enum if_addr_source src, struct if_addr *out, int max, int *n);

/* lv_domain.c */
int lv_define(struct backend_conn *bc, const struct vm_spec *spec);
int lv_undefine(struct backend_conn *bc, const char *uuid);
int lv_start(struct backend_conn *bc, const char *uuid);
int lv_start_paused(struct backend_conn *bc, const char *uuid);
int lv_shutdown(struct backend_conn *bc, const char *uuid, bool *by_agent);
int lv_destroy(struct backend_conn *bc, const char *uuid);
int lv_suspend(struct backend_conn *bc, const char *uuid);
int lv_resume(struct backend_conn *bc, const char *uuid);
int lv_reboot(struct backend_conn *bc, const char *uuid);
int lv_reset(struct backend_conn *bc, const char *uuid);
int lv_state(struct backend_conn *bc, const char *uuid, enum vm_state *out);
int lv_list_domains(struct backend_conn *bc, backend_brief_fn brief,
    backend_domain_fn fn, void *arg);
/* hangar's state for libvirt's state and reason (virDomainGetState) */
enum vm_state lv_state_map(int state, int reason);
/* lv_stats.c */
int lv_domain_stats(struct backend_conn *bc, backend_stats_fn fn, void *arg);

/* lv_device.c */
int lv_disk_attach(struct backend_conn *bc, const char *uuid,
    const struct vm_disk_spec *d, bool live);
int lv_disk_detach(struct backend_conn *bc, const char *uuid,
    const char *dev, bool live);
int lv_set_size(struct backend_conn *bc, const char *uuid, int vcpus,
    int64_t memory_mib, bool live);
int lv_guest_vcpus(struct backend_conn *bc, const char *uuid, int n);
int lv_disk_resize(struct backend_conn *bc, const char *uuid,
    const char *dev, int64_t gib);
int lv_disk_list(struct backend_conn *bc, const char *uuid,
    struct domain_disk *out, int max, int *n);
int lv_nic_list(struct backend_conn *bc, const char *uuid,
    struct domain_nic *out, int max, int *n);
int lv_nic_attach(struct backend_conn *bc, const char *uuid,
    const struct vm_nic_spec *n, bool live);
int lv_nic_detach(struct backend_conn *bc, const char *uuid,
    const char *mac, bool live);

/* lv_snapshot.c */
int lv_snapshot_create(struct backend_conn *bc, const char *uuid,
    const struct snap_spec *spec, struct snap_info *out);
int lv_snapshot_get(struct backend_conn *bc, const char *uuid,
    const char *name, struct snap_info *out);
int lv_snapshot_revert(struct backend_conn *bc, const char *uuid,
    const char *name, bool disk_only);
int lv_snapshot_delete(struct backend_conn *bc, const char *uuid,
    const char *name);
int lv_snapshot_export(struct backend_conn *bc, const char *uuid,
    char ***xmls, size_t *n, char *current, size_t current_len);
int lv_snapshot_forget(struct backend_conn *bc, const char *uuid);
int lv_snapshot_redefine(struct backend_conn *bc, const char *uuid,
    char *const *xmls, size_t n, const char *current);

/* lv_console.c */
int lv_console_open(struct backend_conn *bc, const char *uuid,
    backend_console_fn fn, void *opaque, struct backend_console **out);
int lv_console_write(struct backend_conn *bc, struct backend_console *k,
    const void *buf, size_t n);
void lv_console_close(struct backend_conn *bc, struct backend_console *k);
int lv_send_keys(struct backend_conn *bc, const char *uuid,
    const struct key_combo *combos, size_t n, int hold_ms);
int lv_file_tail(struct backend_conn *bc, const char *path, char *buf,
    size_t *n);

/* lv_migrate.c */
int lv_migrate(struct backend_conn *bc, const char *uuid,
    const struct migrate_spec *spec);
int lv_job_stats(struct backend_conn *bc, const char *uuid, bool completed,
    struct migrate_stats *out);
int lv_job_abort(struct backend_conn *bc, const char *uuid);
int lv_migrate_postcopy(struct backend_conn *bc, const char *uuid);

/* lv_migrate_check.c */
int lv_migrate_check(struct backend_conn *bc, const char *uuid,
    struct backend_conn *dst, const char *dst_pool, bool copy_storage,
    struct migrate_checks *out);

/* lv_backup.c */
int lv_backup_begin(struct backend_conn *bc, const char *uuid,
    const struct backup_spec *spec);
int lv_backup_poll(struct backend_conn *bc, const char *uuid,
    struct backup_job *out);
int lv_checkpoint_xml(struct backend_conn *bc, const char *uuid,
    const char *name, char *buf, size_t len);
int lv_checkpoint_define(struct backend_conn *bc, const char *uuid,
    const char *xml);
int lv_checkpoint_delete(struct backend_conn *bc, const char *uuid,
    const char *name, bool metadata_only);
int lv_file_fetch(struct backend_conn *bc, const char *path,
    backend_sink_fn sink, void *arg, bool remove);
int lv_file_remove(struct backend_conn *bc, const char *path);
int lv_file_seen(struct backend_conn *bc, const char *path, const void *want,
    size_t len, bool *seen);

/* lv_storage.c */
virStoragePoolPtr lv_pool_by_path(virConnectPtr c, const char *uri,
    const char *path);
int lv_pool_find(struct backend_conn *bc, const char *path, char *name_out,
    size_t name_len);
int lv_pool_ensure(struct backend_conn *bc, const char *pool,
    const char *path, int64_t *cap_gib, int64_t *avail_gib);
int lv_volume_create(struct backend_conn *bc, const char *pool,
    const char *vol, int64_t gib, char *path_out, size_t path_len);
int lv_volume_delete(struct backend_conn *bc, const char *pool,
    const char *vol);
int lv_volume_copy(struct backend_conn *bc, const char *pool,
    const char *vol, struct backend_conn *dst, const char *dst_pool,
    const char *dst_vol, const char *backing, char *path_out,
    size_t path_len);
int lv_volume_path(struct backend_conn *bc, const char *pool,
    const char *vol, char *path_out, size_t path_len);
int lv_volume_resize(struct backend_conn *bc, const char *pool,
    const char *vol, int64_t gib);
/* Volume vol of pool, the pool refreshed first (*pp: the pool, to free
 * with the volume); NULL with ERR_NOT_FOUND or another error. */
virStorageVolPtr lv_vol_lookup(virConnectPtr c, const char *uri,
    const char *pool, const char *vol, virStoragePoolPtr *pp);

/* A new volume from its description xml (taken); its path out. */
int lv_volume_create_xml(struct backend_conn *bc, const char *pool,
    char *xml, char *path_out, size_t path_len);

/* lv_network.c */
int lv_network_define(struct backend_conn *bc, const struct net_spec *spec);
int lv_network_start(struct backend_conn *bc, const char *name);
int lv_network_undefine(struct backend_conn *bc, const char *name,
    const char *uuid);
int lv_network_host_add(struct backend_conn *bc, const char *name,
    const struct net_dhcp_host *h);
int lv_network_host_remove(struct backend_conn *bc, const char *name,
    const char *mac);
int lv_network_leases(struct backend_conn *bc, const char *name,
    const char *mac, struct net_lease *out, int max, int *n);
int lv_bridge_exists(struct backend_conn *bc, const char *bridge, bool *out);

/* lv_image.c */
int lv_volume_upload(struct backend_conn *bc, const char *pool,
    const char *vol, const char *file, int64_t bytes, char *path_out,
    size_t path_len);
int lv_volume_overlay(struct backend_conn *bc, const char *pool,
    const char *vol, int64_t gib, const char *backing, char *path_out,
    size_t path_len);
int lv_volume_clone(struct backend_conn *bc, const char *pool,
    const char *src, const char *vol, int64_t gib, char *path_out,
    size_t path_len);
int lv_volume_put(struct backend_conn *bc, const char *pool, const char *vol,
    const void *data, size_t len, char *path_out, size_t path_len);
int lv_volume_download(struct backend_conn *bc, const char *pool,
    const char *vol, int fd, int64_t *bytes);

#endif
