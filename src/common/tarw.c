/*
 * tarw.c - a tar written as a stream, read back at any offset (see
 * tarw.h).  The archive is a list of segments: each member's header
 * block, its data (memory or a descriptor), the zeros padding it to a
 * block; then two zero blocks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "tarw.h"

static const unsigned char tarw_zeros[2 * TARW_BLOCK];

void
tarw_init(struct tarw *t)
{
	memset(t, 0, sizeof(*t));
}

/* n in octal into f[len] (len-1 digits and a NUL), or -1: too big. */
static int
tarw_octal(char *f, size_t len, uint64_t n)
{
	char tmp[32];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%0*" PRIo64, (int)len - 1, n) >=
	    len)
		return -1;
	memcpy(f, tmp, len);
	return 0;
}

/* The size field: octal, or GNU base-256 (0x80, then big-endian). */
static void
tarw_size_field(unsigned char *f, uint64_t n)
{
	if (tarw_octal((char *)f, 12, n) == 0)
		return;
	memset(f, 0, 12);
	f[0] = 0x80;
	for (int i = 11; i >= 4; i--, n >>= 8)
		f[i] = (unsigned char)(n & 0xff);
}

int
tarw_header(unsigned char h[TARW_BLOCK], const char *name, uint64_t size,
    int64_t mtime)
{
	size_t n = strlen(name);
	unsigned sum = 0;

	if (n == 0 || n >= TARW_NAME_MAX)
		return err_set(ERR_INVALID, "tar member name '%s' does not fit",
		    name);
	memset(h, 0, TARW_BLOCK);
	memcpy(h, name, n);                           /* name */
	(void)tarw_octal((char *)h + 100, 8, 0640);   /* mode */
	(void)tarw_octal((char *)h + 108, 8, 0);      /* uid */
	(void)tarw_octal((char *)h + 116, 8, 0);      /* gid */
	tarw_size_field(h + 124, size);
	(void)tarw_octal((char *)h + 136, 12, mtime > 0 ? (uint64_t)mtime : 0);
	h[156] = '0';                                 /* a regular file */
	memcpy(h + 257, "ustar", 6);                  /* magic, NUL */
	memcpy(h + 263, "00", 2);                     /* version */
	memset(h + 148, ' ', 8);                      /* checksum: spaces */
	for (size_t i = 0; i < TARW_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
	h[155] = ' ';
	return 0;
}

static void
tarw_seg(struct tarw *t, const unsigned char *mem, int fd, uint64_t len)
{
	struct tarw_seg *s = &t->seg[t->nseg++];

	s->mem = mem;
	s->fd = fd;
	s->len = len;
	t->size += len;
}

static int
tarw_add(struct tarw *t, const char *name, const void *data, int fd,
    uint64_t len, int64_t mtime)
{
	uint64_t pad = (TARW_BLOCK - len % TARW_BLOCK) % TARW_BLOCK;

	if (t->ended || t->nmembers == TARW_MEMBERS_MAX)
		return err_set(ERR_INTERNAL, "too many members in a tar");
	if (tarw_header(t->hdr[t->nmembers], name, len, mtime) < 0)
		return -1;
	tarw_seg(t, t->hdr[t->nmembers++], -1, TARW_BLOCK);
	tarw_seg(t, data, fd, len);
	if (pad)
		tarw_seg(t, tarw_zeros, -1, pad);
	return 0;
}

int
tarw_add_mem(struct tarw *t, const char *name, const void *data,
    uint64_t len, int64_t mtime)
{
	return tarw_add(t, name, data, -1, len, mtime);
}

int
tarw_add_fd(struct tarw *t, const char *name, int fd, uint64_t len,
    int64_t mtime)
{
	if (tarw_add(t, name, NULL, fd, len, mtime) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

uint64_t
tarw_size(struct tarw *t)
{
	if (!t->ended) {
		tarw_seg(t, tarw_zeros, -1, sizeof(tarw_zeros));
		t->ended = 1;
	}
	return t->size;
}

/* Up to max bytes of segment s from within (< s->len). */
static ssize_t
tarw_seg_read(const struct tarw_seg *s, uint64_t within, unsigned char *buf,
    size_t max)
{
	size_t n = s->len - within < max ? (size_t)(s->len - within) : max;
	ssize_t r;

	if (s->mem) {
		memcpy(buf, s->mem + within, n);
		return (ssize_t)n;
	}
	do
		r = pread(s->fd, buf, n, (off_t)within);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_set(ERR_UNAVAILABLE, "cannot read a tar member: %s",
		    strerror(errno));
	if (r == 0)
		return err_set(ERR_INTERNAL, "a tar member is shorter than "
		    "its header says");
	return r;
}

ssize_t
tarw_read(struct tarw *t, uint64_t off, void *buf, size_t max)
{
	unsigned char *out = buf;
	uint64_t at = 0;
	size_t done = 0;

	(void)tarw_size(t);
	for (int i = 0; i < t->nseg && done < max; i++) {
		const struct tarw_seg *s = &t->seg[i];
		ssize_t r;

		if (off + done >= at + s->len) {
			at += s->len;
			continue;
		}
		r = tarw_seg_read(s, off + done - at, out + done, max - done);
		if (r < 0)
			return -1;
		done += (size_t)r;
		if (off + done < at + s->len)
			break;          /* a short read: the caller asks again */
		at += s->len;
	}
	return (ssize_t)done;
}

void
tarw_free(struct tarw *t)
{
	for (int i = 0; i < t->nseg; i++)
		if (t->seg[i].mem == NULL && t->seg[i].fd >= 0)
			close(t->seg[i].fd);
	t->nseg = 0;
}
