/*
 * imgprobe_int.h - what the files of the image inspector share (imgprobe.c:
 * detection, qcow2, vmdk, the API; imgprobe_ms.c: vhd and vhdx; ova.c and
 * ova_tar.c: OVAs): the bounded reader, the byte-order helpers, the tar
 * listing.  Not for use outside them.
 */
#ifndef HANGAR_IMGPROBE_INT_H
#define HANGAR_IMGPROBE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgprobe.h"

#define SECTOR		512u

/* What is read from, and how big it is. */
struct rdr {
	img_read_fn rd;
	void *arg;
	uint64_t size;
};

/* Does [off, off+len) lie within the image? */
static inline bool
in_file(const struct rdr *r, uint64_t off, uint64_t len)
{
	return off <= r->size && len <= r->size - off;
}

static inline uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static inline uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[0] << 24;
}

static inline uint64_t
be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | (uint64_t)be32(p + 4);
}


/* imgprobe.c */
/* Refuse the image: ERR_UNPROCESSABLE naming "file"; returns -1. */
int imgprobe_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Read exactly len bytes at off into buf, or -1 (refused when the range
 * is past the end: what names the structure in the message).
 */
int imgprobe_read(const struct rdr *r, void *buf, size_t len, uint64_t off,
    const char *what);

/* imgprobe_ms.c */
/* f: a 512-byte vhd footer ("conectix") found at offset at (0 or the end). */
int imgprobe_vpc(const struct rdr *r, const unsigned char *f, uint64_t at,
    struct img_info *ii);
/* A file that starts with "vhdxfile". */
int imgprobe_vhdx(const struct rdr *r, struct img_info *ii);

/* ova_tar.c */
#define OVA_MEMBERS_MAX	64

struct tar_member {
	char name[256];
	uint64_t off, size;
};

struct tar_list {
	int n;
	struct tar_member m[OVA_MEMBERS_MAX];
};

/* Read exactly len bytes at off of the tar at [0, size) of fd, or -1. */
int ova_read(int fd, uint64_t size, void *buf, size_t len, uint64_t off,
    const char *what);
/*
 * Check a member name and drop its leading "./": not empty, not
 * absolute, no ".." component, no backslash, no control characters.
 */
int ova_name_ok(char *name);
/* List the regular members of the tar at [0, size) of fd into *tl. */
int ova_tar_scan(int fd, uint64_t size, struct tar_list *tl);
/* The member named name, or NULL. */
const struct tar_member *ova_tar_find(const struct tar_list *tl,
    const char *name);

#endif
