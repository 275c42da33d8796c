/*
 * imgprobe.h - what an uploaded disk image really is, found from its own
 * headers before qemu-img or anything else converts it (imgprobe.c), and
 * the same for the disks of an OVA (ova.c).
 *
 * A disk image format can make qemu-img read other files: a qcow2 backing
 * file or external data file, a vmdk descriptor whose extents name host
 * paths, a vhd/vhdx parent.  An upload claimed as "raw" may carry a qcow2
 * header that a later step would trust.  So, as OpenStack Glance does
 * since OSSA-2024-001 (format_inspector), hangar parses the headers
 * itself, refuses every image that could reach outside itself, and checks
 * the client's claimed format against what it found.
 *
 * Every read is bounded by the size given; nothing is allocated in
 * proportion to a size read from the file.  Errors are reported once
 * (common/error.h) and -1 returned.
 *
 *	struct img_info ii;
 *
 *	if (img_probe_fd(fd, 0, st.st_size, &ii) == -1 ||
 *	    img_accept(&ii, claimed, max_bytes) == -1)
 *		return -1;                  (error already reported)
 *	run qemu-img convert -f img_format_qemu(ii.format) ...
 *
 * img_probe reports a tar ("ustar" at byte 257) as IMG_FMT_OVA with a
 * virtual_size of 0 and looks no further: ova_probe_fd says what is in
 * it, and probes each of its disks the same way.
 */
#ifndef HANGAR_IMGPROBE_H
#define HANGAR_IMGPROBE_H

#include <stdint.h>

enum img_format {
	IMG_FMT_UNKNOWN = 0,   /* as a claim: "auto" */
	IMG_FMT_RAW, IMG_FMT_QCOW2, IMG_FMT_VMDK, IMG_FMT_VPC, IMG_FMT_VHDX, IMG_FMT_OVA,
	IMG_FMT__COUNT
};
/* "raw" "qcow2" "vmdk" "vhd" "vhdx" "ova" ("auto" for UNKNOWN) */
const char *img_format_name(enum img_format f);
/* the API's names ("vhd"; "vpc" accepted too; "auto" → UNKNOWN); -1 + ERR_INVALID naming field "format" */
int img_format_parse(const char *s, enum img_format *out);
/* qemu-img's -f/-O name: raw qcow2 vmdk vpc vhdx (NULL for ova/unknown) */
const char *img_format_qemu(enum img_format f);

struct img_info {
	enum img_format format;
	uint64_t virtual_size;     /* bytes, from the header (raw: the file size) */
	char subformat[32];        /* vmdk: monolithicSparse | streamOptimized; vhd: fixed | dynamic; else "" */
	uint32_t cluster_size;     /* qcow2, when known; else 0 */
};

/* Reads len bytes at off into buf; returns bytes read (short only at end of data) or -1. */
typedef long (*img_read_fn)(void *arg, void *buf, unsigned long len, uint64_t off);

/*
 * What the image at [0, size) of rd really is.  0 with *out filled, or -1
 * with ERR_UNPROCESSABLE naming field "file" and a sentence saying why it
 * is refused: qcow2 with a backing file, with an external data file, or
 * encrypted; vmdk that is not monolithicSparse/streamOptimized (a text
 * descriptor, or extents naming other files); vhd differencing (a parent);
 * vhdx with a parent locator; a truncated or inconsistent header (e.g. a
 * qcow2 whose L1 table or header extensions point past the end); an empty file.
 */
int img_probe(img_read_fn rd, void *arg, uint64_t size, struct img_info *out);
/* The same on a file descriptor, for the byte range [off, off+size) (OVA members). */
int img_probe_fd(int fd, uint64_t off, uint64_t size, struct img_info *out);
/*
 * The claim must match what the file is (claimed UNKNOWN = auto, any
 * detected format passes; a detected raw image claimed as anything else
 * fails; a qcow2/vmdk/... claimed as raw fails too — that is how a raw
 * upload smuggles a qcow2 header) and virtual_size must be <= max_virtual:
 * -1 with ERR_UNPROCESSABLE naming "format" or "file" otherwise.
 */
int img_accept(const struct img_info *in, enum img_format claimed, uint64_t max_virtual);

/* --- ova.c --- */

#define OVA_DISKS_MAX 16
struct ova_disk {
	char file[256];            /* member name in the tar */
	uint64_t offset, size;     /* of the member's data in the tar */
	char bus[8];               /* virtio|sata|scsi|ide from the OVF controller, "" unknown */
	struct img_info info;      /* img_probe of the member */
};
struct ova_info {
	int vcpus;                 /* 0 = not said */
	int64_t memory_mib;        /* 0 = not said */
	char os[32];               /* linux | windows | other | "" from OperatingSystemSection */
	char firmware[8];          /* bios | uefi | "" */
	int ndisks;
	struct ova_disk disks[OVA_DISKS_MAX];  /* in the OVF's disk order */
};
/* Parse the tar and its OVF (libxml2, XML_PARSE_NONET, no entity expansion, no DTD
 * loading, size-capped), probe each disk; -1 + ERR_UNPROCESSABLE naming "file" when the
 * tar or OVF is malformed, a member path is absolute or has "..", a referenced disk is
 * missing, or a disk is refused by img_probe. */
int ova_probe_fd(int fd, uint64_t size, struct ova_info *out);

#endif
