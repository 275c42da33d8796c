/*
 * test_qcow2hdr.c - unit tests of common/qcow2hdr.c, a qcow2 header's
 * backing file name rewritten in a buffer: a longer and a shorter name
 * (the rest zeroed, the backing format extension and every other byte
 * untouched), each refusal (not qcow2, version, cluster_bits, a short
 * buffer, no backing file, a name over the extensions or past the first
 * cluster, a table in the first cluster, no end marker, an empty or too
 * long new name) leaving the buffer as it was, and — with qemu-img, when
 * it is installed — a real overlay with an internal snapshot, patched,
 * that qemu-img then reads over its new base with the snapshot kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/qcow2hdr.h"
#include "daemon/qimg.h"

#define CL 65536
#define NAME_AT 128

static const char old_name[] = "/var/lib/hangar/images/base-aaaa.qcow2";

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/*
 * A version 3 header as qemu-img writes one for an overlay: 104 bytes,
 * the backing format extension ("qcow2"), the end marker, the name at
 * 128; tables from the second cluster on.
 */
static unsigned char *
hdr_v3(void)
{
	unsigned char *b = calloc(1, CL);

	assert_non_null(b);
	memcpy(b, "QFI\xfb", 4);
	put32(b + 4, 3);
	put64(b + 8, NAME_AT);
	put32(b + 16, sizeof(old_name) - 1);
	put32(b + 20, 16);
	put64(b + 24, 1ULL << 30);
	put32(b + 36, 2);
	put64(b + 40, 3 * CL);
	put64(b + 48, CL);
	put32(b + 56, 1);
	put32(b + 96, 4);
	put32(b + 100, 104);
	put32(b + 104, 0xe2792aca);
	put32(b + 108, 5);
	memcpy(b + 112, "qcow2", 5);
	/* end marker: 8 zero bytes at 120 */
	memcpy(b + NAME_AT, old_name, sizeof(old_name) - 1);
	return b;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* b after the rewrite to name: only the name and its size changed. */
static void
assert_only_name(const unsigned char *b, const unsigned char *orig,
    const char *name)
{
	size_t n = strlen(name), o = sizeof(old_name) - 1;
	size_t span = n > o ? n : o;

	assert_int_equal(get32(b + 16), n);
	assert_memory_equal(b + NAME_AT, name, n);
	for (size_t i = n; i < span; i++)
		assert_int_equal(b[NAME_AT + i], 0);
	assert_memory_equal(b, orig, 16);
	assert_memory_equal(b + 20, orig + 20, NAME_AT - 20);
	assert_memory_equal(b + NAME_AT + span, orig + NAME_AT + span,
	    CL - NAME_AT - span);
}

static void
test_longer_and_shorter(void **state)
{
	const char *longer = "/srv/hangar/pools/host-two/a/much/longer/path/"
	    "base-aaaa.qcow2", *shorter = "/p/base-aaaa.qcow2";
	unsigned char *b = hdr_v3(), *orig = hdr_v3();

	(void)state;
	assert_int_equal(qcow2_set_backing(b, CL, longer), 0);
	assert_only_name(b, orig, longer);
	assert_int_equal(qcow2_set_backing(b, CL, shorter), 0);
	assert_only_name(b, orig, shorter);
	/* the extension still says qcow2 */
	assert_int_equal(get32(b + 104), 0xe2792aca);
	assert_memory_equal(b + 112, "qcow2", 5);
	free(b);
	free(orig);
}

static void
test_version2(void **state)
{
	unsigned char *b = hdr_v3();
	size_t need = 0;

	(void)state;
	put32(b + 4, 2);
	memset(b + 72, 0, 32);          /* v2: extensions start at 72 */
	assert_int_equal(qcow2_cluster0(b, QCOW2_HDR_PROBE, &need), 0);
	assert_int_equal(need, CL);
	assert_int_equal(qcow2_set_backing(b, CL, "/x/base.qcow2"), 0);
	assert_int_equal(get32(b + 16), 13);
	free(b);
}

/* Damage the header with f; the rewrite is refused, buf untouched. */
static void
refused(void (*f)(unsigned char *), size_t len, const char *name,
    const char *says)
{
	unsigned char *b = hdr_v3(), *copy = malloc(CL);

	assert_non_null(copy);
	if (f)
		f(b);
	memcpy(copy, b, CL);
	err_clear();
	assert_int_equal(qcow2_set_backing(b, len, name), -1);
	assert_int_equal(err_last()->code, ERR_UNPROCESSABLE);
	if (strstr(err_last()->msg, says) == NULL)
		fail_msg("'%s' does not say '%s'", err_last()->msg, says);
	assert_memory_equal(b, copy, CL);
	free(b);
	free(copy);
}

static void no_magic(unsigned char *b) { b[3] = 0xfa; }
static void version4(unsigned char *b) { put32(b + 4, 4); }
static void bits8(unsigned char *b) { put32(b + 20, 8); }
static void bits22(unsigned char *b) { put32(b + 20, 22); }
static void no_backing(unsigned char *b) { put64(b + 8, 0); put32(b + 16, 0); }
static void in_ext(unsigned char *b) { put64(b + 8, 112); }
static void in_hdr(unsigned char *b) { put64(b + 8, 16); }
static void at_end(unsigned char *b) { put64(b + 8, CL - 20); put32(b + 16, 10); }
static void old_past(unsigned char *b) { put32(b + 16, CL); }
static void past_cl(unsigned char *b) { put64(b + 8, CL); }
static void l1_in(unsigned char *b) { put64(b + 40, 4096); }
static void snaps_in(unsigned char *b) { put64(b + 64, 512); }
static void hdrlen_bad(unsigned char *b) { put32(b + 100, 100); }
static void no_end(unsigned char *b) { put32(b + 120, 1); put32(b + 124, 0x7ffffff0); }

static void
test_refusals(void **state)
{
	char big[QCOW2_BACKING_MAX + 2];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	refused(no_magic, CL, "/b", "not a qcow2 image");
	refused(version4, CL, "/b", "version 4");
	refused(bits8, CL, "/b", "cluster_bits 8");
	refused(bits22, CL, "/b", "cluster_bits 22");
	refused(NULL, 20, "/b", "not a qcow2 image");
	refused(NULL, CL - 1, "/b", "shorter than its first cluster");
	refused(no_backing, CL, "/b", "no backing file");
	refused(in_ext, CL, "/b", "between its header extensions");
	refused(in_hdr, CL, "/b", "between its header extensions");
	refused(old_past, CL, "/b", "between its header extensions");
	refused(past_cl, CL, "/b", "between its header extensions");
	refused(at_end, CL, "/a/name/of/more/than/twenty/bytes", "does not fit");
	refused(l1_in, CL, "/b", "L1 table in its first cluster");
	refused(snaps_in, CL, "/b", "snapshot table in its first cluster");
	refused(hdrlen_bad, CL, "/b", "header_length 100");
	refused(no_end, CL, "/b", "no end marker");
	refused(NULL, CL, "", "0 bytes");
	refused(NULL, CL, big, "1024 bytes");
}

/* --- against qemu-img --- */

static bool
have_qemu_img(void)
{
	return access("/usr/bin/qemu-img", X_OK) == 0 ||
	    access("/usr/local/bin/qemu-img", X_OK) == 0;
}

/* qemu-img argv (NULL-terminated); its stdout into out. */
static void
qimg(char *out, size_t len, const char *const *argv)
{
	struct qimg_run q = { argv, 30, 30, NULL, NULL, out, len, 0 };

	if (qimg_run(&q) < 0)
		fail_msg("qemu-img %s: %s", argv[0], err_last()->msg);
}

static void
test_real_overlay(void **state)
{
	char dir[] = "/tmp/hangar-q2h-XXXXXX", base[96], other[160], ov[96];
	char out[8192];
	unsigned char *b = malloc(CL);
	int fd;

	(void)state;
	if (!have_qemu_img())
		skip();
	assert_non_null(b);
	assert_non_null(mkdtemp(dir));
	snprintf(base, sizeof(base), "%s/base.qcow2", dir);
	snprintf(other, sizeof(other), "%s/elsewhere-on-another-host/pool/"
	    "base.qcow2", dir);
	snprintf(ov, sizeof(ov), "%s/ov.qcow2", dir);
	qimg(NULL, 0, (const char *[]){ "create", "-q", "-f", "qcow2", base,
	    "64M", NULL });
	qimg(NULL, 0, (const char *[]){ "create", "-q", "-f", "qcow2", "-F",
	    "qcow2", "-b", base, ov, NULL });
	qimg(NULL, 0, (const char *[]){ "snapshot", "-c", "s1", ov, NULL });
	fd = open(ov, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, CL, 0), CL);
	assert_int_equal(qcow2_set_backing(b, CL, other), 0);
	assert_int_equal(pwrite(fd, b, CL, 0), CL);
	close(fd);
	qimg(out, sizeof(out), (const char *[]){ "info", "-U",
	    "--output=json", "-f", "qcow2", ov, NULL });
	assert_non_null(strstr(out, other));
	assert_non_null(strstr(out, "\"backing-filename-format\": "
	    "\"qcow2\""));
	assert_non_null(strstr(out, "\"name\": \"s1\""));
	free(b);
	unlink(ov);
	unlink(base);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_longer_and_shorter),
		cmocka_unit_test(test_version2),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_real_overlay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
