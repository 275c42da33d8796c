/*
 * ova_tar.c - the tar of an OVA (ova.c), read in place: each regular
 * member's name, data offset and size are listed.  POSIX ustar headers,
 * with the pax ('x': path, size) and GNU ('L' long name, base-256 size)
 * extensions that GNU tar, Python and VirtualBox write.  Every header is
 * checksummed; names must not be absolute, hold "..", a backslash or
 * control characters, or repeat; links, devices and FIFOs are refused.
 * Only the extended headers are read into memory, capped at PAX_MAX.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "imgprobe_int.h"

#define TAR_BLOCK	512u
/* members, directories and extended headers: a bound on the walk */
#define TAR_HEADERS_MAX	1024
#define PAX_MAX		(64u * 1024)

/* A pax or GNU long-name header's effect on the next member. */
struct tar_next {
	char name[256];
	uint64_t size;
	bool has_size;
};

int
ova_read(int fd, uint64_t size, void *buf, size_t len, uint64_t off,
    const char *what)
{
	size_t done = 0;
	ssize_t n;

	if (off > size || len > size - off)
		return imgprobe_refuse("the OVA is truncated: its %s lies past "
		    "its end", what);
	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done,
		    (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set_field(ERR_INTERNAL, "file", "reading "
			    "the OVA failed: %s", strerror(errno));
		if (n == 0)
			return imgprobe_refuse("the OVA is truncated: its %s "
			    "could not be read whole", what);
		done += (size_t)n;
	}
	return 0;
}

/* A tar number field: octal (NUL/space padded) or GNU base-256. */
static int
tar_number(const unsigned char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (p[0] & 0x80) {
		if (p[0] != 0x80)
			return -1;  /* negative, or too large */
		for (i = 1; i < n; i++) {
			if (v > (UINT64_MAX >> 8))
				return -1;
			v = v << 8 | p[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return -1;
		v = v << 3 | (uint64_t)(p[i] - '0');
	}
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static bool
tar_checksum_ok(const unsigned char *h)
{
	uint64_t want;
	unsigned sum = 0;
	int i;

	if (tar_number(h + 148, 8, &want) == -1)
		return false;
	for (i = 0; i < (int)TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

int
ova_name_ok(char *name)
{
	const char *p;
	size_t k, skip = 0;

	while (name[skip] == '.' && name[skip + 1] == '/')
		skip += 2;
	for (k = 0; skip > 0 && (name[k] = name[k + skip]) != '\0'; k++)
		;
	if (name[0] == '\0' || name[0] == '/' || strchr(name, '\\') != NULL)
		return imgprobe_refuse("the OVA has a member named '%.100s', "
		    "which is not accepted", name);
	for (p = name; *p; p += k) {
		k = strcspn(p, "/");
		if (k == 2 && strncmp(p, "..", 2) == 0)
			return imgprobe_refuse("the OVA has a member named "
			    "'%.100s', with '..' in it", name);
		if (p[k] == '/')
			k++;
	}
	for (p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return imgprobe_refuse("the OVA has a member whose "
			    "name has control characters");
	return 0;
}

/* Parse pax records ("LEN key=value\n") for path and size. */
static int
tar_pax(const char *d, size_t len, struct tar_next *nx)
{
	size_t i = 0, rl;
	const char *kv, *eq;
	char *end;

	while (i < len) {
		errno = 0;
		rl = strtoul(d + i, &end, 10);
		if (errno != 0 || end == d + i || *end != ' ' || rl == 0 ||
		    rl > len - i || d[i + rl - 1] != '\n')
			return imgprobe_refuse("the OVA has a malformed pax "
			    "header");
		kv = end + 1;
		eq = memchr(kv, '=', (size_t)(d + i + rl - 1 - kv));
		if (eq == NULL)
			return imgprobe_refuse("the OVA has a malformed pax "
			    "header");
		if ((size_t)(eq - kv) == 4 && memcmp(kv, "path", 4) == 0) {
			size_t n = (size_t)(d + i + rl - 1 - (eq + 1));

			if (n >= sizeof(nx->name))
				return imgprobe_refuse("the OVA has a member "
				    "name longer than 255 bytes");
			memcpy(nx->name, eq + 1, n);
			nx->name[n] = '\0';
		} else if ((size_t)(eq - kv) == 4 &&
		    memcmp(kv, "size", 4) == 0) {
			errno = 0;
			nx->size = strtoull(eq + 1, &end, 10);
			if (errno != 0 || end != d + i + rl - 1 ||
			    eq[1] < '0' || eq[1] > '9')
				return imgprobe_refuse("the OVA has a "
				    "malformed pax size");
			nx->has_size = true;
		}
		i += rl;
	}
	return 0;
}

/* The data of a pax ('x') or GNU long-name ('L') member, into nx. */
static int
tar_ext(int fd, uint64_t size, uint64_t off, uint64_t len, char type,
    struct tar_next *nx)
{
	char *d;
	int rc;

	if (len > (type == 'x' ? PAX_MAX : sizeof(nx->name) - 1))
		return imgprobe_refuse("the OVA has an extended header too "
		    "large");
	if ((d = malloc(len + 1)) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	rc = ova_read(fd, size, d, (size_t)len, off, "extended header");
	d[len] = '\0';             /* tar_pax's strtoul stops there at worst */
	if (rc == 0 && type == 'x')
		rc = tar_pax(d, (size_t)len, nx);
	else if (rc == 0)
		snprintf(nx->name, sizeof(nx->name), "%s", d);
	free(d);
	return rc;
}

/* Add a regular member; names must be unique. */
static int
tar_add(struct tar_list *tl, const char *name, uint64_t off, uint64_t len)
{
	size_t k;
	int i;

	for (i = 0; i < tl->n; i++)
		if (strcmp(tl->m[i].name, name) == 0)
			return imgprobe_refuse("the OVA holds '%.100s' twice",
			    name);
	if (tl->n == OVA_MEMBERS_MAX)
		return imgprobe_refuse("the OVA has more than %d members",
		    OVA_MEMBERS_MAX);
	if ((k = strlen(name)) >= sizeof(tl->m[0].name))
		return imgprobe_refuse("the OVA has a member name longer than "
		    "255 bytes");
	memcpy(tl->m[tl->n].name, name, k + 1);
	tl->m[tl->n].off = off;
	tl->m[tl->n].size = len;
	tl->n++;
	return 0;
}

/* The member name of ustar header h (prefix/name), unless nx gives one. */
static void
tar_header_name(const unsigned char *h, const struct tar_next *nx,
    char *name, size_t len)
{
	if (nx->name[0] != '\0')
		snprintf(name, len, "%s", nx->name);
	else if (h[345] != '\0' && memcmp(h + 257, "ustar\0", 6) == 0)
		snprintf(name, len, "%.155s/%.100s", (const char *)h + 345,
		    (const char *)h);
	else
		snprintf(name, len, "%.100s", (const char *)h);
}

/* One header h at off; *next is where the following header starts. */
static int
tar_entry(int fd, uint64_t size, const unsigned char *h, uint64_t off,
    struct tar_list *tl, struct tar_next *nx, uint64_t *next)
{
	char name[512];
	uint64_t len;
	char type = (char)h[156];

	if (!tar_checksum_ok(h) || memcmp(h + 257, "ustar", 5) != 0)
		return imgprobe_refuse("the OVA is not a POSIX tar: the header "
		    "at offset %" PRIu64 " is not valid", off);
	if (tar_number(h + 124, 12, &len) == -1)
		return imgprobe_refuse("the OVA has a malformed member size");
	if (nx->has_size && type != 'x' && type != 'L')
		len = nx->size;
	off += TAR_BLOCK;
	if (len > size - off || (size - off) - len < (TAR_BLOCK - len %
	    TAR_BLOCK) % TAR_BLOCK)
		return imgprobe_refuse("the OVA is truncated: a member runs "
		    "past its end");
	*next = off + (len + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
	if (type == 'x' || type == 'L')
		return tar_ext(fd, size, off, len, type, nx);
	if (type == 'g')
		return 0;
	tar_header_name(h, nx, name, sizeof(name));
	memset(nx, 0, sizeof(*nx));
	if (ova_name_ok(name) == -1)
		return -1;
	if (type == '5')
		return 0;
	if (type != '0' && type != '\0' && type != '7')
		return imgprobe_refuse("the OVA member '%.100s' is a link or a "
		    "special file, which is not accepted", name);
	return tar_add(tl, name, off, len);
}

int
ova_tar_scan(int fd, uint64_t size, struct tar_list *tl)
{
	static const unsigned char zero[TAR_BLOCK];
	unsigned char h[TAR_BLOCK];
	struct tar_next nx;
	uint64_t off = 0, next = 0;
	int headers = 0;

	memset(&nx, 0, sizeof(nx));
	tl->n = 0;
	while (off + TAR_BLOCK <= size) {
		if (++headers > TAR_HEADERS_MAX)
			return imgprobe_refuse("the OVA has more than %d tar "
			    "headers", TAR_HEADERS_MAX);
		if (ova_read(fd, size, h, sizeof(h), off, "tar header") == -1)
			return -1;
		if (memcmp(h, zero, sizeof(h)) == 0)
			break;
		if (tar_entry(fd, size, h, off, tl, &nx, &next) == -1)
			return -1;
		off = next;
	}
	if (nx.name[0] != '\0' || nx.has_size)
		return imgprobe_refuse("the OVA ends with an extended header");
	if (tl->n == 0)
		return imgprobe_refuse("the OVA holds no files");
	return 0;
}

const struct tar_member *
ova_tar_find(const struct tar_list *tl, const char *name)
{
	int i;

	for (i = 0; i < tl->n; i++)
		if (strcmp(tl->m[i].name, name) == 0)
			return &tl->m[i];
	return NULL;
}
