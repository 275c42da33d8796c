/*
 * lv_driver.c - the libvirt backend as backend.h sees it: its tables, one
 * per concern, whose functions live in the other lv_*.c files (lv_int.h
 * says which).
 */
#include <stddef.h>

#include "lv_int.h"

static const struct backend_conn_ops lv_conn_ops = {
	.global_init = lv_global_init,
	.open = lv_open,
	.close = lv_close,
	.host_facts = lv_host_facts,
	.watch = lv_watch,
};

static const struct backend_domain_ops lv_domain_ops = {
	.define = lv_define,
	.undefine = lv_undefine,
	.start = lv_start,
	.start_paused = lv_start_paused,
	.shutdown = lv_shutdown,
	.guest_info = lv_guest_info,
	.fs_freeze = lv_fs_freeze,
	.fs_thaw = lv_fs_thaw,
	.guest_exec = lv_guest_exec,
	.vm_addresses = lv_vm_addresses,
	.destroy = lv_destroy,
	.suspend = lv_suspend,
	.resume = lv_resume,
	.reboot = lv_reboot,
	.reset = lv_reset,
	.state = lv_state,
	.list_domains = lv_list_domains,
	.domain_stats = lv_domain_stats,
	.snapshot_create = lv_snapshot_create,
	.snapshot_get = lv_snapshot_get,
	.snapshot_revert = lv_snapshot_revert,
	.snapshot_delete = lv_snapshot_delete,
	.backup_begin = lv_backup_begin,
	.backup_poll = lv_backup_poll,
	.checkpoint_xml = lv_checkpoint_xml,
	.checkpoint_define = lv_checkpoint_define,
	.checkpoint_delete = lv_checkpoint_delete,
	.snapshot_export = lv_snapshot_export,
	.snapshot_forget = lv_snapshot_forget,
	.snapshot_redefine = lv_snapshot_redefine,
	.migrate = lv_migrate,
	.job_stats = lv_job_stats,
	.job_abort = lv_job_abort,
	.migrate_postcopy = lv_migrate_postcopy,
	.migrate_check = lv_migrate_check,
	.disk_attach = lv_disk_attach,
	.disk_detach = lv_disk_detach,
	.disk_resize = lv_disk_resize,
	.set_size = lv_set_size,
	.guest_vcpus = lv_guest_vcpus,
	.disk_list = lv_disk_list,
	.nic_list = lv_nic_list,
	.console_open = lv_console_open,
	.console_write = lv_console_write,
	.console_close = lv_console_close,
	.send_keys = lv_send_keys,
	.nic_attach = lv_nic_attach,
	.nic_detach = lv_nic_detach,
};

static const struct backend_storage_ops lv_storage_ops = {
	.pool_find = lv_pool_find,
	.pool_ensure = lv_pool_ensure,
	.volume_create = lv_volume_create,
	.volume_delete = lv_volume_delete,
	.volume_copy = lv_volume_copy,
	.volume_path = lv_volume_path,
	.volume_resize = lv_volume_resize,
	.volume_upload = lv_volume_upload,
	.volume_overlay = lv_volume_overlay,
	.volume_clone = lv_volume_clone,
	.volume_put = lv_volume_put,
	.volume_download = lv_volume_download,
	.file_tail = lv_file_tail,
	.file_fetch = lv_file_fetch,
	.file_remove = lv_file_remove,
	.file_seen = lv_file_seen,
};

static const struct backend_network_ops lv_network_ops = {
	.network_define = lv_network_define,
	.network_start = lv_network_start,
	.network_undefine = lv_network_undefine,
	.network_host_add = lv_network_host_add,
	.network_host_remove = lv_network_host_remove,
	.network_leases = lv_network_leases,
	.bridge_exists = lv_bridge_exists,
};

const struct backend_driver backend_libvirt = {
	.name = "libvirt",
	.conn = &lv_conn_ops,
	.domain = &lv_domain_ops,
	.storage = &lv_storage_ops,
	.network = &lv_network_ops,
};
