/*
 * qcow2hdr.c - rewriting a qcow2 header's backing file name in a buffer
 * holding the image's first cluster (see qcow2hdr.h).
 *
 * The layout (qemu's docs/interop/qcow2.txt), all big-endian:
 *   0 magic "QFI\xfb"  4 version  8 backing_file_offset (u64)
 *   16 backing_file_size (u32)  20 cluster_bits  40 l1_table_offset
 *   48 refcount_table_offset  64 snapshots_offset  100 header_length (v3)
 * then header extensions (type u32, length u32, data padded to 8 bytes)
 * up to an end marker of type 0, and somewhere after them, inside the
 * first cluster, the backing file name (not NUL-terminated).  qemu's
 * qcow2_update_header writes the name right after the extensions; this
 * keeps it where it is and only checks that the new one fits there.
 */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "qcow2hdr.h"

#define QCOW2_V2_LEN   72
#define QCOW2_V3_LEN   104

static uint32_t
q_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t
q_be64(const unsigned char *p)
{
	return (uint64_t)q_be32(p) << 32 | q_be32(p + 4);
}

static void
q_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int
qcow2_cluster0(const unsigned char *h, size_t len, size_t *need)
{
	uint32_t version, bits;

	if (len < QCOW2_HDR_PROBE || memcmp(h, "QFI\xfb", 4) != 0)
		return err_set(ERR_UNPROCESSABLE, "the volume is not a qcow2 "
		    "image: its backing file cannot be changed");
	version = q_be32(h + 4);
	bits = q_be32(h + 20);
	if (version != 2 && version != 3)
		return err_set(ERR_UNPROCESSABLE, "the volume is a qcow2 image "
		    "of version %" PRIu32 "; only versions 2 and 3 can have "
		    "their backing file changed", version);
	if (bits < 9 || bits > 21)
		return err_set(ERR_UNPROCESSABLE, "the qcow2 volume's "
		    "cluster_bits %" PRIu32 " is not between 9 and 21", bits);
	*need = (size_t)1 << bits;
	return 0;
}

/*
 * Where the header and its extensions end (after the end marker) in a
 * cluster of cl bytes; 0 with *end, or -1.
 */
static int
q_ext_end(const unsigned char *b, size_t cl, uint64_t *end)
{
	uint64_t off = QCOW2_V2_LEN, step;
	uint32_t len;

	if (q_be32(b + 4) == 3) {
		off = q_be32(b + 100);
		if (off < QCOW2_V3_LEN || off % 8 != 0 || off > cl)
			return err_set(ERR_UNPROCESSABLE, "the qcow2 volume's "
			    "header_length %" PRIu64 " is not valid", off);
	}
	while (off + 8 <= cl) {
		if (q_be32(b + off) == 0) {
			*end = off + 8;
			return 0;
		}
		len = q_be32(b + off + 4);
		step = 8 + (((uint64_t)len + 7) & ~(uint64_t)7);
		if (step > cl - off)
			break;
		off += step;
	}
	return err_set(ERR_UNPROCESSABLE, "the qcow2 volume's header "
	    "extensions have no end marker within its first cluster");
}

/* No table of the image may start inside the first cluster. */
static int
q_tables_out(const unsigned char *b, size_t cl)
{
	static const struct { unsigned at; const char *what; } t[] = {
		{ 40, "L1 table" }, { 48, "refcount table" },
		{ 64, "snapshot table" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t off = q_be64(b + t[i].at);

		if (off != 0 && off < cl)
			return err_set(ERR_UNPROCESSABLE, "the qcow2 volume "
			    "keeps its %s in its first cluster (offset %"
			    PRIu64 "): its backing file is not changed",
			    t[i].what, off);
	}
	return 0;
}

int
qcow2_set_backing(unsigned char *buf, size_t len, const char *backing)
{
	size_t cl, nlen = strlen(backing);
	uint64_t off, end = 0;
	uint32_t olen;

	if (qcow2_cluster0(buf, len, &cl) < 0)
		return -1;
	if (len < cl)
		return err_set(ERR_UNPROCESSABLE, "the qcow2 volume is shorter "
		    "than its first cluster (%zu bytes)", cl);
	if (nlen == 0 || nlen > QCOW2_BACKING_MAX)
		return err_set(ERR_UNPROCESSABLE, "a backing file name of %zu "
		    "bytes cannot be written into a qcow2 header (1 to %d)",
		    nlen, QCOW2_BACKING_MAX);
	off = q_be64(buf + 8);
	olen = q_be32(buf + 16);
	if (off == 0 || olen == 0)
		return err_set(ERR_UNPROCESSABLE, "the qcow2 volume has no "
		    "backing file to change");
	if (q_ext_end(buf, cl, &end) < 0 || q_tables_out(buf, cl) < 0)
		return -1;
	if (off < end || off >= cl || olen > cl - off)
		return err_set(ERR_UNPROCESSABLE, "the qcow2 volume's backing "
		    "file name (%" PRIu32 " bytes at offset %" PRIu64 ") is not "
		    "between its header extensions (ending at %" PRIu64 ") "
		    "and the end of its first cluster", olen, off, end);
	if (nlen > cl - off)
		return err_set(ERR_UNPROCESSABLE, "the backing file name '%s' "
		    "(%zu bytes) does not fit in the qcow2 volume's first "
		    "cluster at offset %" PRIu64, backing, nlen, off);
	memcpy(buf + off, backing, nlen);
	if (olen > nlen)
		memset(buf + off + nlen, 0, olen - nlen);
	q_put32(buf + 16, (uint32_t)nlen);
	return 0;
}
