/*
 * imgprobe.c - the disk image format inspector (imgprobe.h): qcow2, vmdk
 * (monolithicSparse / streamOptimized), vhd (vpc), vhdx and raw, told
 * apart by their own headers and checked for everything that would make
 * qemu-img open another file (a backing file, an external data file, a
 * descriptor's extents, a parent) or that does not hold together.
 *
 * The layouts come from QEMU's docs/interop/qcow2.txt, VMware's "Virtual
 * Disk Format 5.0", Microsoft's VHD specification (2006) and [MS-VHDX];
 * the refusal rules follow OpenStack Glance's format_inspector (OSSA
 * 2024-001) and what qemu's block drivers actually read (e.g. qemu's vmdk
 * driver looks for "parentFileNameHint" at byte 512 of any sparse vmdk,
 * whatever its header says).
 *
 * The input is hostile.  Every read goes through imgprobe_read, which
 * checks the range against the size first; every offset read from a header is
 * range-checked with no overflow before use; the only buffers are fixed
 * (the largest, a vmdk descriptor, is VMDK_DESC_MAX on the heap).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "imgprobe_int.h"
#include "utf8.h"

#define QCOW2_MAGIC	"QFI\xfb"
#define QCOW2_HDR_V2	72u
#define QCOW2_HDR_V3	104u
/* incompatible features: dirty, corrupt, data file, compression, ext. L2 */
#define QCOW2_INCOMPAT_CORRUPT	(1u << 1)
#define QCOW2_INCOMPAT_DATA	(1u << 2)
#define QCOW2_INCOMPAT_KNOWN	0x1fu
#define QCOW2_EXT_DATA_FILE	0x44415441u
#define QCOW2_EXT_CRYPTO	0x0537be77u
/* qemu's QCOW_MAX_L1_SIZE (32 MiB of 8-byte entries) */
#define QCOW2_L1_MAX		(32u * 1024 * 1024 / 8)
#define VMDK_DESC_MAX		(64u * 1024)
/* qemu reads this much at byte 512 of a sparse vmdk for its parent */
#define VMDK_PARENT_SCAN	(20u * SECTOR)
#define VMDK_GD_AT_END		UINT64_MAX

static const char *const fmt_names[IMG_FMT__COUNT] = {
	[IMG_FMT_UNKNOWN] = "auto", [IMG_FMT_RAW] = "raw",
	[IMG_FMT_QCOW2] = "qcow2", [IMG_FMT_VMDK] = "vmdk",
	[IMG_FMT_VPC] = "vhd", [IMG_FMT_VHDX] = "vhdx", [IMG_FMT_OVA] = "ova",
};
static const char *const fmt_qemu[IMG_FMT__COUNT] = {
	[IMG_FMT_RAW] = "raw", [IMG_FMT_QCOW2] = "qcow2",
	[IMG_FMT_VMDK] = "vmdk", [IMG_FMT_VPC] = "vpc", [IMG_FMT_VHDX] = "vhdx",
};

const char *
img_format_name(enum img_format f)
{
	if ((unsigned)f >= IMG_FMT__COUNT)
		return "auto";
	return fmt_names[f];
}

int
img_format_parse(const char *s, enum img_format *out)
{
	int f;

	if (s != NULL && strcmp(s, "vpc") == 0) {
		*out = IMG_FMT_VPC;
		return 0;
	}
	for (f = 0; s != NULL && f < IMG_FMT__COUNT; f++) {
		if (strcmp(s, fmt_names[f]) == 0) {
			*out = (enum img_format)f;
			return 0;
		}
	}
	return err_set_field(ERR_INVALID, "format", "format '%.64s' is not "
	    "one of auto, raw, qcow2, vmdk, vhd, vhdx, ova", s ? s : "");
}

const char *
img_format_qemu(enum img_format f)
{
	if ((unsigned)f >= IMG_FMT__COUNT)
		return NULL;
	return fmt_qemu[f];
}

int
imgprobe_refuse(const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set_field(ERR_UNPROCESSABLE, "file", "%s", msg);
}

int
imgprobe_read(const struct rdr *r, void *buf, size_t len, uint64_t off,
    const char *what)
{
	long n;

	if (!in_file(r, off, len))
		return imgprobe_refuse("the image is truncated or "
		    "inconsistent: its %s (%zu bytes at offset %" PRIu64
		    ") lies past its end (%" PRIu64 " bytes)", what, len, off,
		    r->size);
	n = r->rd(r->arg, buf, len, off);
	if (n < 0)
		return err_set_field(ERR_INTERNAL, "file", "reading the image "
		    "at offset %" PRIu64 " failed", off);
	if ((size_t)n != len)
		return imgprobe_refuse("the image is truncated: its %s at "
		    "offset %" PRIu64 " could not be read whole", what, off);
	return 0;
}

/* --- qcow2 --- */

/*
 * Walk the header extensions from off to the end of the first cluster:
 * an external data file (or its name) or an encryption header refuses.
 */
static int
qcow2_extensions(const struct rdr *r, uint64_t off, uint32_t cluster)
{
	unsigned char h[8];
	uint32_t type, len;
	uint64_t step;

	while (off + sizeof(h) <= cluster) {
		if (imgprobe_read(r, h, sizeof(h), off,
		    "qcow2 header extension") == -1)
			return -1;
		type = be32(h);
		len = be32(h + 4);
		if (type == 0)
			return 0;
		if (type == QCOW2_EXT_DATA_FILE)
			return imgprobe_refuse("the qcow2 image names an "
			    "external data file, which is not accepted");
		if (type == QCOW2_EXT_CRYPTO)
			return imgprobe_refuse("the qcow2 image is encrypted, "
			    "which is not accepted");
		step = sizeof(h) + (((uint64_t)len + 7) & ~(uint64_t)7);
		if (step > cluster - off || !in_file(r, off, step))
			return imgprobe_refuse("the qcow2 image's header "
			    "extension 0x%08" PRIx32 " at offset %" PRIu64
			    " runs past its first cluster or its end", type,
			    off);
		off += step;
	}
	return imgprobe_refuse("the qcow2 image's header extensions have no "
	    "end marker within its first cluster");
}

/* A cluster-aligned table of n entries of esz bytes at off, in the file. */
static int
qcow2_table(const struct rdr *r, const char *what, uint64_t off, uint64_t n,
    unsigned esz, uint32_t cluster)
{
	if (off % cluster != 0)
		return imgprobe_refuse("the qcow2 image's %s offset %" PRIu64
		    " is not aligned to its cluster size", what, off);
	if (n > UINT64_MAX / esz || !in_file(r, off, n * esz))
		return imgprobe_refuse("the qcow2 image's %s (%" PRIu64
		    " entries at offset %" PRIu64 ") points past its end (%"
		    PRIu64 " bytes)", what, n, off, r->size);
	return 0;
}

static int
probe_qcow2(const struct rdr *r, const unsigned char *h, struct img_info *ii)
{
	uint32_t version = be32(h + 4), bits = be32(h + 20);
	uint32_t hdrlen = QCOW2_HDR_V2, cluster;
	uint64_t incompat = 0;

	if (version != 2 && version != 3)
		return imgprobe_refuse("the qcow2 image has version %" PRIu32
		    "; only versions 2 and 3 are accepted", version);
	if (r->size < (version == 2 ? QCOW2_HDR_V2 : QCOW2_HDR_V3))
		return imgprobe_refuse("the qcow2 image is truncated: it is "
		    "shorter than its header");
	if (be64(h + 8) != 0)
		return imgprobe_refuse("the qcow2 image has a backing file, "
		    "which is not accepted: upload a standalone image");
	if (bits < 9 || bits > 21)
		return imgprobe_refuse("the qcow2 image's cluster_bits %" PRIu32
		    " is not between 9 and 21", bits);
	cluster = 1u << bits;
	if (be32(h + 32) != 0)
		return imgprobe_refuse("the qcow2 image is encrypted, which is "
		    "not accepted");
	if (version == 3) {
		incompat = be64(h + 72);
		hdrlen = be32(h + 100);
		if (hdrlen < QCOW2_HDR_V3 || hdrlen % 8 != 0 ||
		    hdrlen > cluster)
			return imgprobe_refuse("the qcow2 image's "
			    "header_length %" PRIu32 " is not valid", hdrlen);
	}
	if (incompat & QCOW2_INCOMPAT_DATA)
		return imgprobe_refuse("the qcow2 image uses an external data "
		    "file, which is not accepted");
	if (incompat & QCOW2_INCOMPAT_CORRUPT)
		return imgprobe_refuse("the qcow2 image is marked corrupt");
	if (incompat & ~(uint64_t)QCOW2_INCOMPAT_KNOWN)
		return imgprobe_refuse("the qcow2 image has unknown "
		    "incompatible features (0x%" PRIx64 ")", incompat);
	if (be32(h + 36) > QCOW2_L1_MAX)
		return imgprobe_refuse("the qcow2 image's L1 table is too "
		    "large");
	if (qcow2_table(r, "L1 table", be64(h + 40), be32(h + 36), 8,
	    cluster) == -1 ||
	    qcow2_table(r, "refcount table", be64(h + 48),
	    (uint64_t)be32(h + 56) * cluster / 8, 8, cluster) == -1 ||
	    (be32(h + 60) != 0 && qcow2_table(r, "snapshot table",
	    be64(h + 64), be32(h + 60), 40, cluster) == -1))
		return -1;
	if (!in_file(r, 0, hdrlen))
		return imgprobe_refuse("the qcow2 image is shorter than its "
		    "header");
	if (qcow2_extensions(r, hdrlen, cluster) == -1)
		return -1;
	ii->format = IMG_FMT_QCOW2;
	ii->virtual_size = be64(h + 24);
	ii->cluster_size = cluster;
	return 0;
}

/* --- vmdk --- */

/*
 * The value of key="value" on the line at p (up to eol) into buf, or ""
 * when the line is not that key.
 */
static void
desc_value(const char *p, const char *eol, const char *key, char *buf,
    size_t len)
{
	size_t k = strlen(key), n;
	const char *q;

	buf[0] = '\0';
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(eol - p) < k || memcmp(p, key, k) != 0)
		return;
	for (p += k; p < eol && (*p == ' ' || *p == '\t'); p++)
		;
	if (p == eol || *p++ != '=')
		return;
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	if (p < eol && *p == '"')
		p++;
	for (q = p; q < eol && *q != '"' && *q != '\r'; q++)
		;
	n = (size_t)(q - p);
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/*
 * Is the line at p an extent line ("RW 2048 SPARSE \"x.vmdk\"")?  If so
 * check it is a SPARSE extent of this very file: -1 when not.
 */
static int
desc_extent(const char *p, const char *eol, bool *is_extent)
{
	char access[12], type[12], name[256];
	unsigned long long sectors;
	char line[512];
	size_t n = (size_t)(eol - p);

	*is_extent = false;
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, p, n);
	line[n] = '\0';
	if (sscanf(line, " %11s", access) != 1 || (strcmp(access, "RW") != 0 &&
	    strcmp(access, "RDONLY") != 0 && strcmp(access, "NOACCESS") != 0))
		return 0;
	*is_extent = true;
	name[0] = '\0';
	if (sscanf(line, " %11s %llu %11s \"%255[^\"]\"", access, &sectors,
	    type, name) < 3)
		return imgprobe_refuse("the vmdk descriptor has a malformed "
		    "extent line");
	if (strcmp(type, "SPARSE") != 0)
		return imgprobe_refuse("the vmdk descriptor's extent is of "
		    "type '%s'; only SPARSE (the file itself) is accepted",
		    type);
	if (strpbrk(name, "/\\") != NULL || strncmp(name, "..", 2) == 0)
		return imgprobe_refuse("the vmdk descriptor's extent names "
		    "another file ('%.128s'), which is not accepted", name);
	return 0;
}

/* Check the embedded descriptor text d: createType and one SPARSE extent. */
static int
vmdk_descriptor(const char *d, struct img_info *ii)
{
	const char *p, *eol;
	char val[32];
	int extents = 0;
	bool ext;

	ii->subformat[0] = '\0';
	for (p = d; *p; p = *eol ? eol + 1 : eol) {
		if ((eol = strchr(p, '\n')) == NULL)
			eol = p + strlen(p);
		desc_value(p, eol, "createType", val, sizeof(val));
		if (val[0] != '\0') {
			if (strcmp(val, "monolithicSparse") != 0 &&
			    strcmp(val, "streamOptimized") != 0)
				return imgprobe_refuse("the vmdk is of "
				    "createType '%s'; only monolithicSparse "
				    "and streamOptimized are accepted", val);
			snprintf(ii->subformat, sizeof(ii->subformat), "%s",
			    val);
		}
		desc_value(p, eol, "parentCID", val, sizeof(val));
		if (val[0] != '\0' && strcmp(val, "ffffffff") != 0)
			return imgprobe_refuse("the vmdk is a delta disk with "
			    "a parent, which is not accepted");
		if (desc_extent(p, eol, &ext) == -1)
			return -1;
		extents += ext;
	}
	if (ii->subformat[0] == '\0')
		return imgprobe_refuse("the vmdk descriptor has no createType"
		    );
	if (extents != 1)
		return imgprobe_refuse("the vmdk descriptor has %d extents; "
		    "exactly one is accepted", extents);
	return 0;
}

/* Read the embedded descriptor at off (bytes), check it is text, parse it. */
static int
vmdk_read_desc(const struct rdr *r, uint64_t off, uint64_t len,
    struct img_info *ii)
{
	char *d;
	size_t i, k;
	int rc = -1;

	if (len == 0 || len > VMDK_DESC_MAX)
		return imgprobe_refuse("the vmdk's embedded descriptor is "
		    "missing or larger than %u bytes", VMDK_DESC_MAX);
	if ((d = malloc(len + 1)) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (imgprobe_read(r, d, len, off, "vmdk descriptor") == -1)
		goto fail;
	d[len] = '\0';
	for (i = 0; d[i] != '\0'; i += k) {
		k = utf8_seq((const unsigned char *)d + i);
		if (k == 0 || ((unsigned char)d[i] < 0x20 && d[i] != '\n' &&
		    d[i] != '\r' && d[i] != '\t')) {
			imgprobe_refuse("the vmdk's embedded descriptor is not "
			    "text");
			goto fail;
		}
	}
	rc = vmdk_descriptor(d, ii);
fail:
	free(d);
	return rc;
}

/* qemu opens "parentFileNameHint" found in [512, 512 + 10 KiB) as backing. */
static int
vmdk_parent_scan(const struct rdr *r)
{
	static const char key[] = "parentFileNameHint";
	char *buf;
	uint64_t len;
	int rc = 0;

	if (r->size <= SECTOR)
		return 0;
	len = r->size - SECTOR < VMDK_PARENT_SCAN ? r->size - SECTOR :
	    VMDK_PARENT_SCAN;
	if ((buf = malloc(len)) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (imgprobe_read(r, buf, len, SECTOR, "vmdk descriptor area") == -1)
		rc = -1;
	else if (memmem(buf, len, key, sizeof(key) - 1) != NULL)
		rc = imgprobe_refuse("the vmdk names a parent disk "
		    "(parentFileNameHint), which is not accepted");
	free(buf);
	return rc;
}

/*
 * A streamOptimized vmdk with its grain directory at the end keeps the
 * real header in a footer: a footer marker, the header, an end marker in
 * the last three sectors.  Read it into h.
 */
static int
vmdk_footer(const struct rdr *r, unsigned char *h)
{
	unsigned char m[3 * SECTOR];
	uint64_t end = (r->size + SECTOR - 1) / SECTOR * SECTOR;

	if (end < sizeof(m) || imgprobe_read(r, m, sizeof(m), end - sizeof(m),
	    "vmdk footer") == -1)
		return imgprobe_refuse("the streamOptimized vmdk has no footer"
		    );
	if (le64(m) != 0 || le32(m + 8) != 0 || le32(m + 12) != 2 ||
	    memcmp(m + SECTOR, "KDMV", 4) != 0 || le64(m + 2 * SECTOR) != 0 ||
	    le32(m + 2 * SECTOR + 8) != 0 || le32(m + 2 * SECTOR + 12) != 0)
		return imgprobe_refuse("the streamOptimized vmdk's footer is "
		    "invalid");
	memcpy(h, m + SECTOR, SECTOR);
	return 0;
}

static int
probe_vmdk(const struct rdr *r, const unsigned char *hdr, struct img_info *ii)
{
	unsigned char h[SECTOR];
	uint64_t cap, grain, doff, dlen;
	uint32_t version = le32(hdr + 4);

	memcpy(h, hdr, sizeof(h));
	if (version < 1 || version > 3)
		return imgprobe_refuse("the vmdk has version %" PRIu32
		    "; versions 1 to 3 are accepted", version);
	doff = le64(h + 28);
	dlen = le64(h + 36);
	if (le64(h + 12) == 0)      /* qemu then follows the descriptor */
		return imgprobe_refuse("the vmdk's capacity is 0: it is a "
		    "descriptor for other files, which is not accepted");
	if (le64(h + 56) == VMDK_GD_AT_END && vmdk_footer(r, h) == -1)
		return -1;
	cap = le64(h + 12);
	grain = le64(h + 20);
	if (cap == 0 || cap > UINT64_MAX / SECTOR)
		return imgprobe_refuse("the vmdk's capacity %" PRIu64
		    " sectors is not valid", cap);
	if (grain == 0 || grain > 65536 || (grain & (grain - 1)) != 0)
		return imgprobe_refuse("the vmdk's grain size %" PRIu64
		    " is not valid", grain);
	if (le64(h + 56) >= r->size / SECTOR)
		return imgprobe_refuse("the vmdk's grain directory lies past "
		    "its end");
	if (doff == 0 || doff > UINT64_MAX / SECTOR ||
	    dlen > VMDK_DESC_MAX / SECTOR)
		return imgprobe_refuse("the vmdk has no valid embedded "
		    "descriptor");
	if (vmdk_read_desc(r, doff * SECTOR, dlen * SECTOR, ii) == -1 ||
	    vmdk_parent_scan(r) == -1)
		return -1;
	ii->format = IMG_FMT_VMDK;
	ii->virtual_size = cap * SECTOR;
	return 0;
}

/* --- detection --- */

/* Formats qemu knows that are not accepted, by their magic at offset 0. */
static const struct {
	const char *magic;
	size_t len, off;
	const char *name;
} refused[] = {
	{ "QFI\xfb\0\0\0\1", 8, 0, "qcow version 1" },
	{ "COWD", 4, 0, "VMFS sparse (COWD) vmdk" },
	{ "# Disk DescriptorFile", 21, 0, "vmdk text descriptor" },
	{ "QED\0", 4, 0, "QED" },
	{ "LUKS\xba\xbe", 6, 0, "LUKS" },
	{ "\x7f\x10\xda\xbe", 4, 64, "VDI" },
	{ "WithoutFreeSpace", 16, 0, "Parallels" },
	{ "WithouFreSpacExt", 16, 0, "Parallels" },
	{ "Bochs Virtual HD Image", 22, 0, "Bochs" },
	{ "#!/bin/sh\n#V2.0 Format", 22, 0, "cloop" },
};

/*
 * Would qemu's vmdk probe take the n bytes at h for a text descriptor?
 * It skips '#' comment lines and blank (space-only) lines, then wants
 * "version=1", "=2" or "=3" ending the line.  (hangar always names the
 * format to qemu-img, but a "raw" that is a descriptor is refused, as
 * Glance does.)
 */
static bool
vmdk_text(const unsigned char *h, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (h[i] == '#') {
			while (i < n && h[i] != '\n')
				i++;
			i++;
			continue;
		}
		if (h[i] == ' ' || h[i] == '\r' || h[i] == '\n') {
			while (i < n && h[i] == ' ')
				i++;
			if (i < n && h[i] == '\r')
				i++;
			if (i >= n || h[i] != '\n')
				return false;
			i++;
			continue;
		}
		return n - i >= 10 && memcmp(h + i, "version=", 8) == 0 &&
		    h[i + 8] >= '1' && h[i + 8] <= '3' && (h[i + 9] == '\n' ||
		    (h[i + 9] == '\r' && n - i >= 11 && h[i + 10] == '\n'));
	}
	return false;
}

/* The signatures at the start of the image (h: its first 512 bytes). */
static int
probe_head(const struct rdr *r, const unsigned char *h, struct img_info *ii,
    bool *found)
{
	size_t i;

	*found = true;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (in_file(r, refused[i].off, refused[i].len) &&
		    memcmp(h + refused[i].off, refused[i].magic,
		    refused[i].len) == 0)
			return imgprobe_refuse("the image is a %s image, which "
			    "is not accepted", refused[i].name);
	if (vmdk_text(h, r->size < SECTOR ? (size_t)r->size : SECTOR))
		return imgprobe_refuse("the image is a vmdk text descriptor "
		    "image, which is not accepted");
	if (r->size >= 4 && memcmp(h, QCOW2_MAGIC, 4) == 0)
		return probe_qcow2(r, h, ii);
	if ((r->size >= 4 && memcmp(h, "KDMV", 4) == 0) ||
	    (r->size >= 8 && memcmp(h, "conectix", 8) == 0)) {
		if (r->size < SECTOR)
			return imgprobe_refuse("the image is truncated: it is "
			    "shorter than its header");
		return h[0] == 'K' ? probe_vmdk(r, h, ii) :
		    imgprobe_vpc(r, h, 0, ii);
	}
	if (r->size >= 8 && memcmp(h, "vhdxfile", 8) == 0)
		return imgprobe_vhdx(r, ii);
	if (r->size >= SECTOR && memcmp(h + 257, "ustar", 5) == 0) {
		ii->format = IMG_FMT_OVA;
		return 0;
	}
	*found = false;
	return 0;
}

/* A vhd footer in the last 512 bytes (or 511, an old Virtual PC's). */
static int
probe_tail(const struct rdr *r, struct img_info *ii, bool *found)
{
	unsigned char f[SECTOR];
	uint64_t at;
	int k;

	*found = false;
	for (k = 512; k >= 511; k--) {
		if (r->size < (uint64_t)k + 1)
			continue;
		at = r->size - (uint64_t)k;
		memset(f, 0, sizeof(f));
		if (imgprobe_read(r, f, (size_t)k, at, "vhd footer") == -1)
			return -1;
		if (memcmp(f, "conectix", 8) == 0) {
			*found = true;
			return imgprobe_vpc(r, f, at, ii);
		}
	}
	return 0;
}

int
img_probe(img_read_fn rd, void *arg, uint64_t size, struct img_info *out)
{
	struct rdr r = { rd, arg, size };
	unsigned char h[SECTOR];
	struct img_info ii;
	bool found;

	memset(&ii, 0, sizeof(ii));
	memset(h, 0, sizeof(h));
	if (size == 0)
		return imgprobe_refuse("the image is empty");
	if (imgprobe_read(&r, h, size < SECTOR ? size : SECTOR, 0,
	    "first sector") == -1)
		return -1;
	if (probe_head(&r, h, &ii, &found) == -1)
		return -1;
	if (!found && probe_tail(&r, &ii, &found) == -1)
		return -1;
	if (!found) {
		ii.format = IMG_FMT_RAW;
		ii.virtual_size = size;
	}
	*out = ii;
	return 0;
}

/* img_read_fn on a file descriptor's range: arg is a struct fd_range. */
struct fd_range {
	int fd;
	uint64_t off;
};

static long
fd_read(void *arg, void *buf, unsigned long len, uint64_t off)
{
	const struct fd_range *fr = arg;
	unsigned long done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fr->fd, (char *)buf + done, len - done,
		    (off_t)(fr->off + off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (unsigned long)n;
	}
	return (long)done;
}

int
img_probe_fd(int fd, uint64_t off, uint64_t size, struct img_info *out)
{
	struct fd_range fr = { fd, off };

	if (off > INT64_MAX || size > (uint64_t)INT64_MAX - off)
		return imgprobe_refuse("the image's range is not valid");
	return img_probe(fd_read, &fr, size, out);
}

/* A size in bytes as a short human string ("8 EiB", "12345 bytes"). */
static const char *
human(uint64_t v, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
	    "EiB" };
	int i;

	for (i = 5; i >= 0; i--) {
		uint64_t u = (uint64_t)1 << (10 * (i + 1));

		if (v >= u && v % u == 0) {
			snprintf(buf, len, "%" PRIu64 " %s", v / u, unit[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64 " bytes", v);
	return buf;
}

int
img_accept(const struct img_info *in, enum img_format claimed,
    uint64_t max_virtual)
{
	char a[32], b[32];

	if ((unsigned)in->format >= IMG_FMT__COUNT ||
	    in->format == IMG_FMT_UNKNOWN)
		return err_set_field(ERR_UNPROCESSABLE, "file", "the image's "
		    "format is not known");
	if (claimed != IMG_FMT_UNKNOWN && claimed != in->format)
		return err_set_field(ERR_UNPROCESSABLE, "format", "the file is "
		    "a %s image, not '%s' as claimed",
		    img_format_name(in->format), img_format_name(claimed));
	if (in->virtual_size > max_virtual)
		return err_set_field(ERR_UNPROCESSABLE, "file", "the image's "
		    "virtual size %s exceeds the limit of %s",
		    human(in->virtual_size, a, sizeof(a)),
		    human(max_virtual, b, sizeof(b)));
	return 0;
}
