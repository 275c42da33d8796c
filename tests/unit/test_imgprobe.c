/*
 * test_imgprobe.c - unit tests of common/imgprobe.c and imgprobe_ms.c on
 * real images: each is made by qemu-img (qemu-utils) in a temp directory,
 * some then patched by hand where qemu-img will not make the hostile case
 * (a vmdk descriptor naming /etc/passwd, a qcow2 of 8 EiB, a vhdx parent
 * locator).  Every refusal must be ERR_UNPROCESSABLE naming "file" (or
 * "format" for a wrong claim) with a message that says why; the tests
 * match a word of it.  The OVA tests are in test_ova.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "imgtest.h"

static void
test_names(void **state)
{
	enum img_format f;

	(void)state;
	assert_string_equal(img_format_name(IMG_FMT_VPC), "vhd");
	assert_string_equal(img_format_name(IMG_FMT_UNKNOWN), "auto");
	assert_string_equal(img_format_qemu(IMG_FMT_VPC), "vpc");
	assert_null(img_format_qemu(IMG_FMT_OVA));
	assert_null(img_format_qemu(IMG_FMT_UNKNOWN));
	assert_int_equal(img_format_parse("vpc", &f), 0);
	assert_int_equal(f, IMG_FMT_VPC);
	assert_int_equal(img_format_parse("vhd", &f), 0);
	assert_int_equal(f, IMG_FMT_VPC);
	assert_int_equal(img_format_parse("auto", &f), 0);
	assert_int_equal(f, IMG_FMT_UNKNOWN);
	assert_int_equal(img_format_parse("ova", &f), 0);
	assert_int_equal(f, IMG_FMT_OVA);
	f = IMG_FMT_RAW;
	err_clear();
	assert_int_equal(img_format_parse("qcow", &f), -1);
	assert_int_equal(err_last()->code, ERR_INVALID);
	assert_string_equal(err_last()->field, "format");
	assert_int_equal(f, IMG_FMT_RAW);
	assert_int_equal(img_format_parse(NULL, &f), -1);
}

static void
test_qcow2(void **state)
{
	struct img_info ii;

	(void)state;
	sh("qemu-img create -q -f qcow2 q3.qcow2 1G");
	accepted("qcow2 v3", probe("q3.qcow2", &ii));
	assert_int_equal(ii.format, IMG_FMT_QCOW2);
	assert_int_equal(ii.virtual_size, GIB);
	assert_int_equal(ii.cluster_size, 65536);
	assert_string_equal(ii.subformat, "");
	sh("qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4096 "
	    "q2.qcow2 3G");
	accepted("qcow2 v2", probe("q2.qcow2", &ii));
	assert_int_equal(ii.virtual_size, 3 * GIB);
	assert_int_equal(ii.cluster_size, 4096);
	/* with data in it, and compressed clusters */
	sh("qemu-img create -q -f raw r.raw 4M && "
	    "printf hello | dd of=r.raw conv=notrunc status=none && "
	    "qemu-img convert -c -O qcow2 r.raw qc.qcow2");
	accepted("compressed qcow2", probe("qc.qcow2", &ii));
	assert_int_equal(ii.virtual_size, 4 << 20);
}

static void
test_qcow2_refused(void **state)
{
	struct img_info ii;

	(void)state;
	sh("qemu-img create -q -f qcow2 base.qcow2 1G && "
	    "qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2");
	refused("backing file", probe("top.qcow2", &ii), "file", "backing");
	sh("qemu-img create -q -f qcow2 -o data_file=d.raw d.qcow2 1G");
	refused("data file", probe("d.qcow2", &ii), "file", "data file");
	/* legacy AES (no key derivation to time), then LUKS */
	sh("qemu-img create -q -f qcow2 --object secret,id=s0,data=pw "
	    "-o encrypt.format=aes,encrypt.key-secret=s0 ea.qcow2 16M");
	refused("aes", probe("ea.qcow2", &ii), "file", "encrypted");
	/*
	 * LUKS: qemu times its key derivation and, on a loaded machine,
	 * may fail with "Unable to get accurate CPU usage"; retry, then
	 * fall back to the same header made by hand (crypt_method 2).
	 */
	sh("for i in 1 2 3; do qemu-img create -q -f qcow2 --object "
	    "secret,id=s0,data=pw -o encrypt.format=luks,"
	    "encrypt.key-secret=s0,encrypt.iter-time=200 el.qcow2 16M "
	    "2>/dev/null && exit 0; done; qemu-img create -q -f qcow2 "
	    "el.qcow2 16M && printf '\\0\\0\\0\\2' | dd of=el.qcow2 "
	    "bs=1 seek=32 conv=notrunc status=none");
	refused("luks", probe("el.qcow2", &ii), "file", "encrypted");
	sh("qemu-img create -q -f qcow2 q.qcow2 1G && "
	    "head -c 100000 q.qcow2 > t.qcow2");
	refused("truncated", probe("t.qcow2", &ii), "file", "past its end");
	sh("head -c 50 q.qcow2 > t50.qcow2");
	refused("50 bytes", probe("t50.qcow2", &ii), "file", "truncated");
}

/* Hand-patched qcow2 headers: size, features, extensions. */
static void
test_qcow2_patched(void **state)
{
	unsigned char b[8];
	struct img_info ii;

	(void)state;
	sh("qemu-img create -q -f qcow2 big.qcow2 1G");
	put_be64(b, 1ULL << 63);
	patch("big.qcow2", 24, b, 8);
	accepted("8 EiB header", probe("big.qcow2", &ii));
	assert_true(ii.virtual_size == 1ULL << 63);
	err_clear();
	refused("8 EiB against 1 TiB", img_accept(&ii, IMG_FMT_QCOW2,
	    1024 * GIB), "file", "8 EiB");
	accepted("8 EiB with no limit", img_accept(&ii, IMG_FMT_UNKNOWN,
	    UINT64_MAX));

	sh("qemu-img create -q -f qcow2 inc.qcow2 1G");
	put_be64(b, 1ULL << 40);
	patch("inc.qcow2", 72, b, 8);
	refused("unknown incompat", probe("inc.qcow2", &ii), "file",
	    "unknown incompatible");
	put_be64(b, 1ULL << 2);
	patch("inc.qcow2", 72, b, 8);
	refused("data file bit", probe("inc.qcow2", &ii), "file",
	    "data file");

	/* a data-file name extension with no feature bit */
	sh("qemu-img create -q -f qcow2 ext.qcow2 1G");
	get("ext.qcow2", 100, b, 4);   /* header_length */
	{
		uint32_t hl = (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 |
		    b[3];
		unsigned char ext[16] = { 0x44, 0x41, 0x54, 0x41, 0, 0, 0, 4,
		    'x', '.', 'r', 'w', 0, 0, 0, 0 };

		patch("ext.qcow2", hl, ext, sizeof(ext));
		refused("data file extension", probe("ext.qcow2", &ii),
		    "file", "data file");
		/* a LUKS header extension with crypt_method 0 */
		ext[0] = 0x05, ext[1] = 0x37, ext[2] = 0xbe, ext[3] = 0x77;
		ext[7] = 8;
		patch("ext.qcow2", hl, ext, sizeof(ext));
		refused("crypto extension", probe("ext.qcow2", &ii), "file",
		    "encrypted");
		/* an extension whose length runs past the first cluster */
		ext[4] = 0x7f;
		ext[0] = 0x12;
		patch("ext.qcow2", hl, ext, 8);
		refused("long extension", probe("ext.qcow2", &ii), "file",
		    "extension");
	}

	/* the L1 table moved past the end of the file */
	sh("qemu-img create -q -f qcow2 l1.qcow2 1G");
	put_be64(b, 1ULL << 40);
	patch("l1.qcow2", 40, b, 8);
	refused("L1 past the end", probe("l1.qcow2", &ii), "file", "L1");
	/* cluster_bits 30 */
	sh("qemu-img create -q -f qcow2 cb.qcow2 1G");
	patch("cb.qcow2", 20, "\0\0\0\x1e", 4);
	refused("cluster_bits", probe("cb.qcow2", &ii), "file",
	    "cluster_bits");
	/* version 4 */
	patch("cb.qcow2", 4, "\0\0\0\4", 4);
	refused("version 4", probe("cb.qcow2", &ii), "file", "version");
}

/* What qemu-img makes with its many options must not be refused. */
static void
test_qemu_variants(void **state)
{
	static const struct {
		const char *args, *file;
		enum img_format fmt;
		uint64_t size;
	} v[] = {
		{ "-f qcow2 -o preallocation=metadata", "pm.qcow2",
		    IMG_FMT_QCOW2, 64 << 20 },
		{ "-f qcow2 -o extended_l2=on", "el2.qcow2", IMG_FMT_QCOW2,
		    GIB },
		{ "-f qcow2 -o compression_type=zstd", "zs.qcow2",
		    IMG_FMT_QCOW2, GIB },
		{ "-f qcow2 -o lazy_refcounts=on,refcount_bits=64", "lr.qcow2",
		    IMG_FMT_QCOW2, GIB },
		{ "-f qcow2 -o cluster_size=2M", "c2m.qcow2", IMG_FMT_QCOW2,
		    10240 * GIB },
		{ "-f qcow2 -o cluster_size=512", "c512.qcow2", IMG_FMT_QCOW2,
		    100 * GIB },
		{ "-f vmdk -o compat6", "c6.vmdk", IMG_FMT_VMDK, GIB },
		{ "-f vmdk -o adapter_type=lsilogic", "ad.vmdk", IMG_FMT_VMDK,
		    GIB },
		{ "-f vmdk -o subformat=streamOptimized", "so.vmdk",
		    IMG_FMT_VMDK, GIB },
		{ "-f vpc -o force_size=on", "fs.vhd", IMG_FMT_VPC, GIB },
		{ "-f vhdx -o subformat=fixed", "xf.vhdx", IMG_FMT_VHDX,
		    64 << 20 },
		{ "-f vhdx -o block_size=1M,log_size=1M", "xb.vhdx",
		    IMG_FMT_VHDX, 10 * GIB },
	};
	struct img_info ii;
	char size[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(size, sizeof(size), "%llu",
		    (unsigned long long)v[i].size);
		sh("qemu-img create -q %s %s %s", v[i].args, v[i].file, size);
		accepted(v[i].file, probe(v[i].file, &ii));
		assert_int_equal(ii.format, v[i].fmt);
		assert_true(ii.virtual_size == v[i].size);
	}
	/* internal snapshots: a snapshot table to bounds-check */
	sh("qemu-img create -q -f qcow2 sn.qcow2 1G && "
	    "qemu-img snapshot -c s1 sn.qcow2 && "
	    "qemu-img snapshot -c s2 sn.qcow2");
	accepted("snapshots", probe("sn.qcow2", &ii));
}

/* Replace the embedded descriptor of a qemu-made vmdk (20 sectors at 512). */
static void
vmdk_desc(const char *name, const char *create, const char *extents,
    const char *more)
{
	char d[20 * 512];

	memset(d, 0, sizeof(d));
	snprintf(d, sizeof(d), "# Disk DescriptorFile\nversion=1\n"
	    "CID=12345678\n%s\ncreateType=\"%s\"\n\n# Extent description\n"
	    "%s\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = "
	    "\"4\"\n", more, create, extents);
	patch(name, 512, d, sizeof(d));
}

static void
test_vmdk(void **state)
{
	struct img_info ii;

	(void)state;
	sh("qemu-img create -q -f vmdk v.vmdk 1G");
	accepted("monolithicSparse", probe("v.vmdk", &ii));
	assert_int_equal(ii.format, IMG_FMT_VMDK);
	assert_int_equal(ii.virtual_size, GIB);
	assert_string_equal(ii.subformat, "monolithicSparse");
	assert_int_equal(ii.cluster_size, 0);
	sh("qemu-img create -q -f raw r.raw 3M && "
	    "printf data | dd of=r.raw conv=notrunc status=none && "
	    "qemu-img convert -O vmdk -o subformat=streamOptimized r.raw "
	    "s.vmdk");
	accepted("streamOptimized", probe("s.vmdk", &ii));
	assert_int_equal(ii.virtual_size, 3 << 20);
	assert_string_equal(ii.subformat, "streamOptimized");

	sh("qemu-img create -q -f vmdk -o subformat=monolithicFlat f.vmdk 1G");
	refused("monolithicFlat", probe("f.vmdk", &ii), "file", "descriptor");
	sh("qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse "
	    "t.vmdk 1G");
	refused("twoGbMaxExtentSparse", probe("t.vmdk", &ii), "file",
	    "descriptor");
	sh("qemu-img create -q -f vmdk -b v.vmdk -F vmdk delta.vmdk");
	refused("delta", probe("delta.vmdk", &ii), "file", "parent");
}

/* Embedded descriptors patched to name other files. */
static void
test_vmdk_descriptor(void **state)
{
	static const char *const bad[][4] = {
		{ "monolithicSparse", "RW 2097152 FLAT \"/etc/passwd\" 0", "",
		    "FLAT" },
		{ "monolithicSparse", "RW 2097152 SPARSE \"/etc/passwd\"", "",
		    "another file" },
		{ "monolithicSparse", "RW 2097152 SPARSE \"..\\\\x.vmdk\"", "",
		    "another file" },
		{ "monolithicSparse", "RW 1 SPARSE \"p.vmdk\"\n"
		    "RW 1 SPARSE \"q.vmdk\"", "", "2 extents" },
		{ "monolithicSparse", "", "", "0 extents" },
		{ "monolithicFlat", "RW 2097152 SPARSE \"p.vmdk\"", "",
		    "createType" },
		{ "vmfsSparse", "RW 2097152 VMFSSPARSE \"p.vmdk\"", "",
		    "createType" },
		{ "monolithicSparse", "RW 2097152 SPARSE \"p.vmdk\"",
		    "parentCID=87654321", "parent" },
		{ "monolithicSparse", "RW 2097152 SPARSE \"p.vmdk\"",
		    "parentCID=ffffffff\nparentFileNameHint=\"/etc/passwd\"",
		    "parentFileNameHint" },
	};
	struct img_info ii;
	size_t i;

	(void)state;
	sh("qemu-img create -q -f vmdk d.vmdk 1G");
	vmdk_desc("d.vmdk", "monolithicSparse", "RW 2097152 SPARSE "
	    "\"d.vmdk\"", "parentCID=ffffffff");
	accepted("rewritten descriptor", probe("d.vmdk", &ii));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vmdk_desc("d.vmdk", bad[i][0], bad[i][1], bad[i][2]);
		refused(bad[i][1], probe("d.vmdk", &ii), "file", bad[i][3]);
	}
	/* not text */
	vmdk_desc("d.vmdk", "monolithicSparse", "RW 2097152 SPARSE "
	    "\"d.vmdk\"", "x=\x01");
	refused("binary descriptor", probe("d.vmdk", &ii), "file", "text");
	/* capacity 0: qemu would follow the descriptor's extents */
	vmdk_desc("d.vmdk", "monolithicSparse", "RW 2097152 SPARSE "
	    "\"d.vmdk\"", "");
	patch("d.vmdk", 12, "\0\0\0\0\0\0\0\0", 8);
	refused("capacity 0", probe("d.vmdk", &ii), "file", "capacity");
	/* a grain directory past the end */
	sh("qemu-img create -q -f vmdk g.vmdk 1G");
	patch("g.vmdk", 56, "\0\0\0\0\0\1\0\0", 8);
	refused("grain directory", probe("g.vmdk", &ii), "file",
	    "grain directory");
	/* a descriptor past the end */
	sh("qemu-img create -q -f vmdk e.vmdk 1G");
	patch("e.vmdk", 28, "\0\0\0\0\0\0\1\0", 8);
	refused("descriptor offset", probe("e.vmdk", &ii), "file",
	    "past its end");
}

/* A streamOptimized vmdk whose header is in its footer (GD at the end). */
static void
test_vmdk_footer(void **state)
{
	unsigned char h[512], foot[1536];
	struct img_info ii;
	struct stat st;
	int fd;

	(void)state;
	sh("qemu-img create -q -f raw r5.raw 5M && qemu-img convert -O vmdk "
	    "-o subformat=streamOptimized r5.raw sf.vmdk");
	get("sf.vmdk", 0, h, sizeof(h));
	memset(foot, 0, sizeof(foot));
	foot[12] = 2;                           /* MARKER_FOOTER */
	memcpy(foot + 512, h, sizeof(h));
	if ((fd = open(path("sf.vmdk"), O_WRONLY | O_APPEND)) == -1 ||
	    write(fd, foot, sizeof(foot)) != (ssize_t)sizeof(foot) ||
	    fstat(fd, &st) == -1)
		fail_msg("cannot append the footer");
	close(fd);
	memset(h + 12, 0, 8);                   /* header capacity: 0... */
	h[12] = 1;                              /* ...1 sector, say */
	memset(h + 56, 0xff, 8);                /* GD_AT_END */
	patch("sf.vmdk", 0, h, sizeof(h));
	accepted("footer", probe("sf.vmdk", &ii));
	assert_int_equal(ii.virtual_size, 5 << 20);
	patch("sf.vmdk", (uint64_t)st.st_size - 1536 + 12, "\3", 1);
	refused("bad footer", probe("sf.vmdk", &ii), "file", "footer");
}

/* Set a vhd footer's disk type at off and fix its checksum. */
static void
vhd_type(const char *name, uint64_t off, unsigned type)
{
	unsigned char f[512];
	uint32_t sum = 0;
	int i;

	get(name, off, f, sizeof(f));
	f[63] = (unsigned char)type;
	memset(f + 64, 0, 4);
	for (i = 0; i < 512; i++)
		sum += f[i];
	sum = ~sum;
	for (i = 0; i < 4; i++)
		f[64 + i] = (unsigned char)(sum >> (24 - 8 * i));
	patch(name, off, f, sizeof(f));
}

static void
test_vhd(void **state)
{
	struct img_info ii;
	struct stat st;

	(void)state;
	sh("qemu-img create -q -f vpc -o subformat=fixed vf.vhd 10M");
	accepted("fixed", probe("vf.vhd", &ii));
	assert_int_equal(ii.format, IMG_FMT_VPC);
	assert_string_equal(ii.subformat, "fixed");
	assert_int_equal(stat(path("vf.vhd"), &st), 0);
	assert_int_equal(ii.virtual_size, (uint64_t)st.st_size - 512);
	sh("qemu-img create -q -f vpc vd.vhd 1G");
	accepted("dynamic", probe("vd.vhd", &ii));
	assert_string_equal(ii.subformat, "dynamic");
	/* qemu rounds to the CHS geometry; qemu-img info says the same */
	assert_int_equal(ii.virtual_size, 1073995776);

	vhd_type("vd.vhd", 0, 4);
	refused("differencing", probe("vd.vhd", &ii), "file",
	    "differencing");
	vhd_type("vd.vhd", 0, 3);
	accepted("dynamic again", probe("vd.vhd", &ii));
	patch("vd.vhd", 48, "\1", 1);
	refused("checksum", probe("vd.vhd", &ii), "file", "checksum");
	assert_int_equal(stat(path("vf.vhd"), &st), 0);
	vhd_type("vf.vhd", (uint64_t)st.st_size - 512, 4);
	refused("fixed made differencing", probe("vf.vhd", &ii), "file",
	    "differencing");
	/* a footer that claims more data than lies before it */
	vhd_type("vf.vhd", (uint64_t)st.st_size - 512, 2);
	patch("vf.vhd", (uint64_t)st.st_size - 512 + 48, "\1", 1);
	vhd_type("vf.vhd", (uint64_t)st.st_size - 512, 2);
	refused("fixed too big", probe("vf.vhd", &ii), "file", "footer");
}

static uint32_t
get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
test_vhdx(void **state)
{
	static const unsigned char parent[16] = { 0x2d, 0x5f, 0xd3, 0xa8,
	    0x0b, 0xb3, 0x4d, 0x45, 0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab,
	    0x0c };
	static const unsigned char meta[16] = { 0x06, 0xa2, 0x7c, 0x8b, 0x90,
	    0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e };
	unsigned char rt[16 + 32 * 8], e[32];
	struct img_info ii;
	uint64_t moff = 0;
	uint32_t i, n;

	(void)state;
	sh("qemu-img create -q -f vhdx x.vhdx 1G");
	accepted("vhdx", probe("x.vhdx", &ii));
	assert_int_equal(ii.format, IMG_FMT_VHDX);
	assert_int_equal(ii.virtual_size, GIB);
	assert_string_equal(ii.subformat, "");

	get("x.vhdx", 192 * 1024, rt, sizeof(rt));
	n = get_le32(rt + 8);
	assert_true(n <= 8);
	for (i = 0; i < n; i++)
		if (memcmp(rt + 16 + 32 * i, meta, 16) == 0)
			moff = (uint64_t)get_le32(rt + 16 + 32 * i + 16) |
			    (uint64_t)get_le32(rt + 16 + 32 * i + 20) << 32;
	assert_true(moff != 0);
	/* the first metadata item becomes a parent locator */
	sh("cp x.vhdx p.vhdx");
	get("p.vhdx", moff + 32, e, sizeof(e));
	memcpy(e, parent, 16);
	patch("p.vhdx", moff + 32, e, sizeof(e));
	refused("parent locator", probe("p.vhdx", &ii), "file", "parent");
	/* a metadata item past its region */
	sh("cp x.vhdx o.vhdx");
	get("o.vhdx", moff + 32 + 32, e, sizeof(e));
	memset(e + 16, 0x7f, 4);
	patch("o.vhdx", moff + 32 + 32, e, sizeof(e));
	refused("item past region", probe("o.vhdx", &ii), "file", "region");
	/* the virtual disk size twice: the first item's GUID copied on */
	sh("cp x.vhdx two.vhdx");
	for (i = 0; i < 8; i++) {
		get("two.vhdx", moff + 32 + 32 * i, e, sizeof(e));
		if (memcmp(e, "\x24\x42\xa5\x2f", 4) == 0)
			break;
	}
	assert_true(i < 8);
	patch("two.vhdx", moff + 32 + 32 * (i == 0 ? 1 : 0), e, 16);
	refused("two sizes", probe("two.vhdx", &ii), "file", "twice");
	/* no region table */
	sh("cp x.vhdx r.vhdx");
	patch("r.vhdx", 192 * 1024, "xxxx", 4);
	refused("region table", probe("r.vhdx", &ii), "file", "region");
	sh("head -c 100000 x.vhdx > t.vhdx");
	refused("truncated", probe("t.vhdx", &ii), "file", "past its end");
}

static void
test_raw_and_claims(void **state)
{
	struct img_info ii, q;

	(void)state;
	sh("head -c 1000000 /dev/urandom > r.raw && : > empty.raw");
	accepted("raw", probe("r.raw", &ii));
	assert_int_equal(ii.format, IMG_FMT_RAW);
	assert_int_equal(ii.virtual_size, 1000000);
	refused("empty", probe("empty.raw", &ii), "file", "empty");
	accepted("raw again", probe("r.raw", &ii));
	accepted("raw as raw", img_accept(&ii, IMG_FMT_RAW, 1 << 20));
	accepted("raw as auto", img_accept(&ii, IMG_FMT_UNKNOWN, 1 << 20));
	refused("raw too big", img_accept(&ii, IMG_FMT_RAW, 999999), "file",
	    "exceeds");
	err_clear();
	refused("raw as qcow2", img_accept(&ii, IMG_FMT_QCOW2, GIB),
	    "format", "raw");

	sh("qemu-img create -q -f qcow2 c.qcow2 1G");
	accepted("qcow2", probe("c.qcow2", &q));
	err_clear();
	refused("qcow2 smuggled as raw", img_accept(&q, IMG_FMT_RAW,
	    UINT64_MAX), "format", "qcow2");
	accepted("qcow2 as qcow2", img_accept(&q, IMG_FMT_QCOW2, GIB));
	err_clear();
	refused("qcow2 as vmdk", img_accept(&q, IMG_FMT_VMDK, GIB), "format",
	    "vmdk");

	/* other formats' headers are refused, not taken for raw */
	sh("qemu-img create -q -f qed x.qed 1G && "
	    "qemu-img create -q -f vdi x.vdi 1G && "
	    "qemu-img create -q -f parallels x.hdd 1G");
	refused("qed", probe("x.qed", &ii), "file", "QED");
	refused("vdi", probe("x.vdi", &ii), "file", "VDI");
	refused("parallels", probe("x.hdd", &ii), "file", "Parallels");
	/* a descriptor as qemu's vmdk probe sees one, first line or not */
	sh("printf '# a comment\\n  \\r\\nversion=1\\r\\ncreateType=x\\n' "
	    "> d1.raw && printf 'version=3\\n' > d2.raw && "
	    "printf 'version=4\\n' > d3.raw && printf 'x\\nversion=1\\n' "
	    "> d4.raw");
	refused("descriptor", probe("d1.raw", &ii), "file", "descriptor");
	refused("descriptor v3", probe("d2.raw", &ii), "file", "descriptor");
	accepted("version=4 is text", probe("d3.raw", &ii));
	accepted("not first", probe("d4.raw", &ii));
	assert_int_equal(ii.format, IMG_FMT_RAW);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_qcow2),
		cmocka_unit_test(test_qcow2_refused),
		cmocka_unit_test(test_qcow2_patched),
		cmocka_unit_test(test_qemu_variants),
		cmocka_unit_test(test_vmdk),
		cmocka_unit_test(test_vmdk_descriptor),
		cmocka_unit_test(test_vmdk_footer),
		cmocka_unit_test(test_vhd),
		cmocka_unit_test(test_vhdx),
		cmocka_unit_test(test_raw_and_claims),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
