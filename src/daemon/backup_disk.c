/*
 * backup_disk.c - one disk of a backup chain written onto a host: disk
 * dev of backup b, its chain flattened into backup_dir/.staging, uploaded
 * through a libvirt stream as a new whole volume (no base) into a pool of
 * that host.  Restoring in place (ops_restore.c) and evacuating a lost
 * host (ops_evacuate.c) write a VM's disks this way; so may an import of
 * a backup as a new VM.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/error.h"
#include "app.h"

/* The virtual size a qcow2 file's header says. */
static int
backup_disk_vsize(const char *path, int64_t *out)
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
backup_disk_put(const struct app *app, const struct backup_rec *b,
    const char *dev, const char *tag, struct backend_conn *bc,
    const char *pool, const char *vol, char *path, size_t len)
{
	char staged[CONFIG_STR_MAX + 128], name[96];
	int64_t vsize = 0;
	int r;

	snprintf(name, sizeof(name), "%s-%s", tag, dev);
	if (backups_staged(app, name, staged, sizeof(staged)) < 0)
		return -1;
	r = backups_flatten_to(app, b, dev, staged);
	if (r == 0)
		r = backup_disk_vsize(staged, &vsize);
	/* a volume left by an interrupted try first goes */
	if (r == 0)
		r = backend_volume_delete(bc, pool, vol);
	if (r == 0)
		r = backend_volume_upload(bc, pool, vol, staged, vsize, path,
		    len);
	(void)unlink(staged);
	return r;
}
