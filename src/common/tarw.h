/*
 * tarw.h - writing a tar as a stream (tarw.c): a list of members, each
 * bytes in memory or a file descriptor of known length, read back as one
 * byte range at any offset (what an HTTP response callback asks for), so
 * an archive of many GiB is served without being built anywhere.  POSIX
 * ustar headers; a size of 8 GiB or more is written in GNU base-256.
 *
 * Example (the archive of a backup, api/backups_archive.c):
 *	struct tarw t;  tarw_init(&t);
 *	tarw_add_mem(&t, "manifest.json", text, len, now);
 *	tarw_add_fd(&t, "disks/vda.qcow2", fd, size, now);
 *	... tarw_read(&t, off, buf, max) until tarw_size(&t) ...
 *	tarw_free(&t);   (closes the descriptors it was given)
 */
#ifndef HANGAR_TARW_H
#define HANGAR_TARW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TARW_BLOCK 512u
#define TARW_MEMBERS_MAX 32
#define TARW_NAME_MAX 100        /* a ustar name field, without prefix */

struct tarw_seg {
	const unsigned char *mem;    /* bytes in memory, or NULL: */
	int fd;                      /* ... read from fd (pread) */
	uint64_t len;
};

struct tarw {
	/* header, data, padding per member; the end's two zero blocks */
	struct tarw_seg seg[3 * TARW_MEMBERS_MAX + 1];
	unsigned char hdr[TARW_MEMBERS_MAX][TARW_BLOCK];
	int nseg, nmembers;
	uint64_t size;
	int ended;
};

void tarw_init(struct tarw *t);
/*
 * Fill h with a ustar header of a regular file (mode 0640) named name
 * (1..99 bytes, no NUL) of size bytes, modified at mtime (s since the
 * epoch).  0, or -1 with the error set (ERR_INVALID) when name does not
 * fit.
 */
int tarw_header(unsigned char h[TARW_BLOCK], const char *name, uint64_t size,
    int64_t mtime);
/* Add a member: len bytes at data (borrowed: must outlive t), or len
 * bytes of fd from offset 0 (t owns fd then, even on failure). */
int tarw_add_mem(struct tarw *t, const char *name, const void *data,
    uint64_t len, int64_t mtime);
int tarw_add_fd(struct tarw *t, const char *name, int fd, uint64_t len,
    int64_t mtime);
/* The whole archive's size (the end blocks are added by the first call). */
uint64_t tarw_size(struct tarw *t);
/*
 * Up to max bytes of the archive from off into buf: the count (0 at the
 * end), or -1 with the error set when a descriptor cannot be read (or
 * is shorter than it was said to be).
 */
ssize_t tarw_read(struct tarw *t, uint64_t off, void *buf, size_t max);
/* Close the descriptors t owns. */
void tarw_free(struct tarw *t);

#endif
