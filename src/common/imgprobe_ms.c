/*
 * imgprobe_ms.c - the image inspector's Microsoft formats (imgprobe.h):
 * vhd (qemu's "vpc": a 512-byte footer, a dynamic disk header and block
 * table) after the "Virtual Hard Disk Image Format Specification" (2006),
 * and vhdx (region table, metadata table) after [MS-VHDX].  A vhd
 * differencing disk and a vhdx with a parent locator or the HasParent
 * flag are refused: qemu would open their parent file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "imgprobe_int.h"

#define VHD_FIXED		2u
#define VHD_DYNAMIC		3u
#define VHD_DIFF		4u
#define VHDX_REGION_OFF		(192u * 1024)
#define VHDX_ENTRIES_MAX	2047u

/* The footer's checksum: the one's complement of its bytes' sum. */
static bool
vhd_checksum_ok(const unsigned char *f)
{
	uint32_t sum = 0;
	int i;

	for (i = 0; i < 512; i++)
		if (i < 64 || i >= 68)
			sum += f[i];
	return ~sum == be32(f + 64);
}

/* The dynamic disk header at off, and its block allocation table. */
static int
vhd_dynamic(const struct rdr *r, uint64_t off)
{
	unsigned char d[1024];
	uint64_t bat;
	uint32_t entries, block;

	if (imgprobe_read(r, d, sizeof(d), off, "vhd dynamic disk header") ==
	    -1)
		return -1;
	if (memcmp(d, "cxsparse", 8) != 0)
		return imgprobe_refuse("the dynamic vhd's header at offset %"
		    PRIu64 " is not valid", off);
	bat = be64(d + 16);
	entries = be32(d + 28);
	block = be32(d + 32);
	if (block < SECTOR || (block & (block - 1)) != 0)
		return imgprobe_refuse("the dynamic vhd's block size %" PRIu32
		    " is not valid", block);
	if (!in_file(r, bat, (uint64_t)entries * 4))
		return imgprobe_refuse("the dynamic vhd's block allocation "
		    "table points past its end");
	return 0;
}

int
imgprobe_vpc(const struct rdr *r, const unsigned char *f, uint64_t at,
    struct img_info *ii)
{
	uint32_t type = be32(f + 60);
	uint64_t cur = be64(f + 48);

	if (!vhd_checksum_ok(f))
		return imgprobe_refuse("the vhd footer's checksum is wrong");
	if (type == VHD_DIFF)
		return imgprobe_refuse("the vhd is a differencing disk with a "
		    "parent, which is not accepted");
	if (type == VHD_FIXED) {
		if (at == 0 || cur > at)
			return imgprobe_refuse("the fixed vhd is inconsistent: "
			    "its size %" PRIu64 " does not fit before its "
			    "footer", cur);
		snprintf(ii->subformat, sizeof(ii->subformat), "fixed");
	} else if (type == VHD_DYNAMIC) {
		if (vhd_dynamic(r, be64(f + 16)) == -1)
			return -1;
		snprintf(ii->subformat, sizeof(ii->subformat), "dynamic");
	} else {
		return imgprobe_refuse("the vhd's disk type %" PRIu32 " is not "
		    "fixed or dynamic", type);
	}
	ii->format = IMG_FMT_VPC;
	ii->virtual_size = cur;
	return 0;
}

/* --- vhdx --- */

/* GUIDs as stored (the first three fields little-endian). */
static const unsigned char guid_metadata[16] = {
	0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
	0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e };
static const unsigned char guid_bat[16] = {
	0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
	0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08 };
static const unsigned char guid_vdsize[16] = {
	0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
	0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8 };
static const unsigned char guid_parent[16] = {
	0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
	0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c };
static const unsigned char guid_fileparam[16] = {
	0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
	0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b };

/* The metadata region's offset and length, from the region table. */
static int
vhdx_regions(const struct rdr *r, uint64_t *moff, uint32_t *mlen)
{
	unsigned char h[16], e[32];
	uint32_t n, i;
	bool found = false;

	if (imgprobe_read(r, h, sizeof(h), VHDX_REGION_OFF,
	    "vhdx region table") == -1)
		return -1;
	if (memcmp(h, "regi", 4) != 0 || (n = le32(h + 8)) > VHDX_ENTRIES_MAX)
		return imgprobe_refuse("the vhdx region table is not valid");
	for (i = 0; i < n; i++) {
		if (imgprobe_read(r, e, sizeof(e),
		    VHDX_REGION_OFF + 16 + 32 * (uint64_t)i,
		    "vhdx region table entry") == -1)
			return -1;
		if (memcmp(e, guid_metadata, 16) == 0) {
			if (found)
				return imgprobe_refuse("the vhdx has two "
				    "metadata regions");
			*moff = le64(e + 16);
			*mlen = le32(e + 24);
			found = true;
		} else if (memcmp(e, guid_bat, 16) != 0 &&
		    (le32(e + 28) & 1) != 0) {
			return imgprobe_refuse("the vhdx has an unknown "
			    "required region");
		}
	}
	if (!found)
		return imgprobe_refuse("the vhdx has no metadata region");
	if (*mlen < 32 || !in_file(r, *moff, *mlen))
		return imgprobe_refuse("the vhdx metadata region points past "
		    "its end");
	return 0;
}

/*
 * One metadata table entry e of the region at [moff, moff+mlen); *seen
 * has bit 0 once the virtual disk size is read, bit 1 the file parameters
 * (each may appear once: two sizes would leave qemu and us to pick).
 */
static int
vhdx_item(const struct rdr *r, const unsigned char *e, uint64_t moff,
    uint32_t mlen, struct img_info *ii, unsigned *seen)
{
	unsigned char v[8];
	uint32_t off = le32(e + 16), len = le32(e + 20);
	unsigned bit;

	if (memcmp(e, guid_parent, 16) == 0)
		return imgprobe_refuse("the vhdx has a parent locator: it is a "
		    "differencing disk, which is not accepted");
	if (memcmp(e, guid_vdsize, 16) != 0 &&
	    memcmp(e, guid_fileparam, 16) != 0)
		return 0;
	bit = memcmp(e, guid_vdsize, 16) == 0 ? 1u : 2u;
	if (*seen & bit)
		return imgprobe_refuse("the vhdx metadata table lists an item "
		    "twice");
	*seen |= bit;
	if (len < 8 || off > mlen || len > mlen - off)
		return imgprobe_refuse("the vhdx metadata item at %" PRIu32
		    " is too short or lies outside its region", off);
	if (imgprobe_read(r, v, sizeof(v), moff + off, "vhdx metadata item") ==
	    -1)
		return -1;
	if (memcmp(e, guid_fileparam, 16) == 0) {
		if (le32(v + 4) & 2)
			return imgprobe_refuse("the vhdx has a parent: it is a "
			    "differencing disk, which is not accepted");
		return 0;
	}
	ii->virtual_size = le64(v);
	return 0;
}

int
imgprobe_vhdx(const struct rdr *r, struct img_info *ii)
{
	unsigned char h[32], e[32];
	uint64_t moff = 0;
	uint32_t mlen = 0, n, i;
	unsigned seen = 0;

	if (vhdx_regions(r, &moff, &mlen) == -1 ||
	    imgprobe_read(r, h, sizeof(h), moff, "vhdx metadata table") == -1)
		return -1;
	n = le16(h + 10);
	if (memcmp(h, "metadata", 8) != 0 || n > VHDX_ENTRIES_MAX ||
	    32 + 32 * (uint64_t)n > mlen)
		return imgprobe_refuse("the vhdx metadata table is not valid");
	for (i = 0; i < n; i++) {
		if (imgprobe_read(r, e, sizeof(e), moff + 32 + 32 * i,
		    "vhdx metadata entry") == -1 ||
		    vhdx_item(r, e, moff, mlen, ii, &seen) == -1)
			return -1;
	}
	if (!(seen & 1))
		return imgprobe_refuse("the vhdx has no virtual disk size");
	ii->format = IMG_FMT_VHDX;
	return 0;
}
