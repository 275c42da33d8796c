/*
 * fuzz_imgprobe.c - libFuzzer target for the disk image inspector
 * (src/common/imgprobe.c, imgprobe_ms.c) and the OVA probe (ova.c,
 * ova_tar.c): the first code to see an uploaded image.
 *
 * Each input is probed three ways:
 *  - img_probe on the input itself, through an in-memory reader that
 *    checks every read lies within the size img_probe was given (so a
 *    read past the end is a crash even where ASan could not see it);
 *  - img_probe on a virtual image of "vhdxfile", zeros up to 192 KiB and
 *    then the input: the vhdx region and metadata tables lie past the
 *    seeds' 64 KiB, so this is how the fuzzer reaches them;
 *  - when the input looks like a tar ("ustar" at 257), ova_probe_fd on a
 *    memfd holding it, every header's checksum made right first (else
 *    nearly every mutation of a header would stop at the checksum);
 *  - when it starts with '<', ova_probe_fd on a tar made here of the
 *    input as vm.ovf and a small raw disk1.vmdk: the OVF parser fuzzed
 *    without tar framing in the way.
 * Checks: -1 leaves ERR_UNPROCESSABLE naming "file" with a message (the
 *  error-slot invariant, fuzz.h); 0 gives a detected format with a known
 *  subformat, raw's size is the file's, qcow2's cluster size a power of
 *  two in 512..2 MiB; img_accept agrees with the detection; an OVA's
 *  disks lie inside it, have safe names and known buses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/imgprobe.h"
#include "fuzz.h"

#define VHDX_PAD	(192u * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An image of pre[0..npre) followed by data[0..n). */
struct mem {
	const uint8_t *pre;
	size_t npre;
	const uint8_t *data;
	size_t n;
};

static long
mem_read(void *arg, void *buf, unsigned long len, uint64_t off)
{
	const struct mem *m = arg;
	uint64_t size = m->npre + m->n;
	unsigned long i;

	FUZZ_CHECK(off <= size && len <= size - off, "read of %lu bytes at "
	    "%llu past the end (%llu)", len, (unsigned long long)off,
	    (unsigned long long)size);
	FUZZ_CHECK(len <= 1024 * 1024, "a read of %lu bytes", len);
	for (i = 0; i < len; i++) {
		uint64_t o = off + i;

		((uint8_t *)buf)[i] = o < m->npre ? m->pre[o] :
		    m->data[o - m->npre];
	}
	return (long)len;
}

static void
check_info(const struct img_info *ii, uint64_t size)
{
	const char *sub = ii->subformat;

	FUZZ_CHECK(ii->format > IMG_FMT_UNKNOWN && ii->format <
	    IMG_FMT__COUNT, "format %d", (int)ii->format);
	FUZZ_CHECK(memchr(sub, '\0', sizeof(ii->subformat)) != NULL,
	    "unterminated subformat");
	FUZZ_CHECK(sub[0] == '\0' || strcmp(sub, "monolithicSparse") == 0 ||
	    strcmp(sub, "streamOptimized") == 0 || strcmp(sub, "fixed") == 0 ||
	    strcmp(sub, "dynamic") == 0, "subformat '%s'", sub);
	if (ii->format == IMG_FMT_RAW)
		FUZZ_CHECK(ii->virtual_size == size, "raw of %llu bytes "
		    "said %llu", (unsigned long long)size,
		    (unsigned long long)ii->virtual_size);
	if (ii->format == IMG_FMT_QCOW2)
		FUZZ_CHECK(ii->cluster_size >= 512 && ii->cluster_size <=
		    (2u << 20) && (ii->cluster_size & (ii->cluster_size - 1))
		    == 0, "cluster size %u", ii->cluster_size);
	else
		FUZZ_CHECK(ii->cluster_size == 0, "cluster size %u for %s",
		    ii->cluster_size, img_format_name(ii->format));
	err_clear();
	FUZZ_CHECK(img_accept(ii, IMG_FMT_UNKNOWN, UINT64_MAX) == 0,
	    "auto refused: %s", err_last()->msg);
	FUZZ_CHECK((img_accept(ii, IMG_FMT_RAW, UINT64_MAX) == 0) ==
	    (ii->format == IMG_FMT_RAW), "raw claim vs %s",
	    img_format_name(ii->format));
	FUZZ_CHECK((img_accept(ii, ii->format, 1ULL << 40) == 0) ==
	    (ii->virtual_size <= 1ULL << 40), "1 TiB limit vs %llu",
	    (unsigned long long)ii->virtual_size);
}

static void
probe_mem(const uint8_t *pre, size_t npre, const uint8_t *data, size_t n)
{
	struct mem m = { pre, npre, data, n };
	struct img_info ii;
	int rc;

	err_clear();
	rc = img_probe(mem_read, &m, npre + n, &ii);
	fuzz_check_rc(rc, "img_probe");
	if (rc == -1) {
		FUZZ_CHECK(strcmp(err_last()->field, "file") == 0, "field "
		    "'%s'", err_last()->field);
		return;
	}
	check_info(&ii, npre + n);
}

/* Has the path a ".." component? */
static bool
has_dotdot(const char *p)
{
	size_t n = strlen(p);

	return strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 ||
	    strstr(p, "/../") != NULL || (n >= 3 && strcmp(p + n - 3, "/..")
	    == 0);
}

/* Set the checksum of the ustar header h. */
static void
tar_sum(uint8_t *h)
{
	unsigned sum = 0;
	int i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
	h[155] = ' ';
}

/* Append a regular member name of data[0..n) to the tar t at *len. */
static void
tar_put(uint8_t *t, size_t *len, const char *name, const uint8_t *data,
    size_t n)
{
	uint8_t *h = t + *len;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 8);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)n);
	h[156] = '0';
	memcpy(h + 257, "ustar\0" "00", 8);
	tar_sum(h);
	if (n > 0)
		memcpy(h + 512, data, n);
	*len += 512 + (n + 511) / 512 * 512;
}

static void
probe_ova(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct ova_info oi;
	int rc, i;

	if (fd == -1 && (fd = memfd_create("fuzz_ova", 0)) == -1)
		abort();
	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	err_clear();
	rc = ova_probe_fd(fd, size, &oi);
	fuzz_check_rc(rc, "ova_probe_fd");
	if (rc == -1)
		return;
	FUZZ_CHECK(oi.ndisks >= 1 && oi.ndisks <= OVA_DISKS_MAX, "%d disks",
	    oi.ndisks);
	for (i = 0; i < oi.ndisks; i++) {
		const struct ova_disk *d = &oi.disks[i];

		FUZZ_CHECK(d->offset <= size && d->size <= size - d->offset,
		    "disk %d past the end", i);
		FUZZ_CHECK(d->file[0] != '\0' && d->file[0] != '/' &&
		    !has_dotdot(d->file), "disk name '%s'", d->file);
		FUZZ_CHECK(d->bus[0] == '\0' || strcmp(d->bus, "virtio") == 0 ||
		    strcmp(d->bus, "sata") == 0 ||
		    strcmp(d->bus, "scsi") == 0 ||
		    strcmp(d->bus, "ide") == 0, "bus '%s'", d->bus);
		FUZZ_CHECK(d->info.format != IMG_FMT_OVA, "nested OVA");
		check_info(&d->info, d->size);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *vhdx;

	static const uint8_t disk[1024];
	uint8_t *t;
	size_t n = 0, off;

	fuzz_xml_init();
	if (vhdx == NULL) {
		if ((vhdx = calloc(1, VHDX_PAD)) == NULL)
			abort();
		memcpy(vhdx, "vhdxfile", 8);
	}
	probe_mem(NULL, 0, data, size);
	probe_mem(vhdx, VHDX_PAD, data, size);
	if (size >= 512 && memcmp(data + 257, "ustar", 5) == 0) {
		if ((t = malloc(size)) == NULL)
			abort();
		memcpy(t, data, size);
		for (off = 0; off + 512 <= size; off += 512)
			if (memcmp(t + off + 257, "ustar", 5) == 0)
				tar_sum(t + off);
		probe_ova(t, size);
		free(t);
	} else if (size > 0 && data[0] == '<') {
		if ((t = calloc(1, size + sizeof(disk) + 8192)) == NULL)
			abort();
		tar_put(t, &n, "vm.ovf", data, size);
		tar_put(t, &n, "disk1.vmdk", disk, sizeof(disk));
		probe_ova(t, n + 1024);
		free(t);
	}
	return 0;
}
