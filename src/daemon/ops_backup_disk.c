/*
 * ops_backup_disk.c - writing a backup's disk onto a host: the step a
 * restore in place (ops_restore.c), an import (ops_import.c) and an
 * evacuation share.
 *
 * ops_backup_disk_write() flattens disk dev of a backup's chain
 * (backups_flatten_to: qemu-img convert) into backup_dir/.staging/
 * <name>.qcow2, then ops_backup_disk_upload() sends that whole qcow2
 * through a libvirt stream as a new volume in a host's pool (a volume
 * of that name left by an interrupted try is removed first), and the
 * staged file goes, whatever happened.  The volume's virtual size is the
 * one the staged file's own header says.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/error.h"
#include "ops_int.h"

/* The virtual size a qcow2 file's header says. */
static int
ops_backup_disk_vsize(const char *path, int64_t *out)
{
	unsigned char h[32];
	uint32_t hi, lo;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : pread(fd, h, sizeof(h), 0);

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(h) || memcmp(h, "QFI\xfb", 4) != 0)
		return err_set(ERR_INTERNAL, "'%s' is not a qcow2 image", path);
	memcpy(&hi, h + 24, 4);
	memcpy(&lo, h + 28, 4);
	*out = (int64_t)(((uint64_t)ntohl(hi) << 32) | ntohl(lo));
	return 0;
}

int
ops_backup_disk_upload(struct backend_conn *bc, const char *pool,
    const char *staged, const char *vol, char *path, size_t len)
{
	int64_t vsize = 0;
	int r = ops_backup_disk_vsize(staged, &vsize);

	/* a volume left by an interrupted try first goes */
	if (r == 0)
		r = backend_volume_delete(bc, pool, vol);
	if (r == 0)
		r = backend_volume_upload(bc, pool, vol, staged, vsize, path,
		    len);
	(void)unlink(staged);
	return r;
}

int
ops_backup_disk_write(struct op_ctx *x, struct backend_conn *bc,
    const char *pool, const struct backup_rec *b, const char *dev,
    const char *vol, char *path, size_t len)
{
	char staged[CONFIG_STR_MAX + 128], name[96];

	snprintf(name, sizeof(name), "%s-%s", x->op.id, dev);
	if (backups_staged(x->app, name, staged, sizeof(staged)) < 0)
		return -1;
	if (backups_flatten_to(x->app, b, dev, staged) < 0) {
		(void)unlink(staged);
		return -1;
	}
	return ops_backup_disk_upload(bc, pool, staged, vol, path, len);
}
