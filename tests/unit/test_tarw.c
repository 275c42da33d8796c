/*
 * test_tarw.c - unit tests of common/tarw.c, the tar read back at any
 * offset that backup archives are served from: headers checksum and
 * carry name and size (base-256 from 8 GiB on); a whole archive of a
 * memory member and a descriptor member, read in odd pieces, is what the
 * OVA reader (ova_tar_scan) and GNU tar both take apart, byte for byte;
 * names that do not fit are refused; a descriptor shorter than it was
 * said to be is an error, not a short archive.
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
#include "common/imgprobe_int.h"
#include "common/tarw.h"

/* A temporary file holding len bytes of pattern; its descriptor. */
static int
temp_with(const char *path, size_t len, unsigned char seed)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)(seed + i * 7);

		assert_int_equal(write(fd, &c, 1), 1);
	}
	return fd;
}

static unsigned
checksum(const unsigned char *h)
{
	unsigned sum = 0;

	for (int i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum;
}

static void
test_header(void **state)
{
	unsigned char h[TARW_BLOCK];
	char name[200];

	(void)state;
	assert_int_equal(tarw_header(h, "manifest.json", 1234, 1700000000), 0);
	assert_string_equal((char *)h, "manifest.json");
	assert_int_equal(strtoul((char *)h + 124, NULL, 8), 1234);
	assert_int_equal(strtoul((char *)h + 148, NULL, 8), checksum(h));
	assert_memory_equal(h + 257, "ustar\0" "00", 8);
	assert_int_equal(h[156], '0');
	/* 8 GiB and more: GNU base-256 */
	assert_int_equal(tarw_header(h, "disks/vda.qcow2", 10ULL << 30, 0), 0);
	assert_int_equal(h[124], 0x80);
	assert_int_equal(h[131], 0x02);      /* 10 GiB = 0x2_8000_0000 */
	assert_int_equal(h[132], 0x80);
	assert_int_equal(strtoul((char *)h + 148, NULL, 8), checksum(h));
	/* names that do not fit */
	memset(name, 'a', sizeof(name));
	name[100] = '\0';
	assert_int_equal(tarw_header(h, name, 1, 0), -1);
	assert_int_equal(err_last()->code, ERR_INVALID);
	assert_int_equal(tarw_header(h, "", 1, 0), -1);
}

static void
test_archive(void **state)
{
	static const char manifest[] = "{\"format\": \"hangar-backup\"}";
	char dir[] = "/tmp/test_tarw.XXXXXX", src[64], out[64], cmd[256];
	unsigned char *whole, got[3000], want[3000];
	struct tar_list tl;
	const struct tar_member *m;
	struct tarw t;
	uint64_t size;
	size_t off = 0;
	int fd, ofd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/disk", dir);
	snprintf(out, sizeof(out), "%s/a.tar", dir);
	fd = temp_with(src, 3000, 5);
	tarw_init(&t);
	assert_int_equal(tarw_add_mem(&t, "manifest.json", manifest,
	    strlen(manifest), 1700000000), 0);
	assert_int_equal(tarw_add_fd(&t, "disks/vda.qcow2", fd, 3000,
	    1700000000), 0);
	size = tarw_size(&t);
	/* header + 1 block, header + 6 blocks, 2 end blocks */
	assert_int_equal(size, 512 * (2 + 7 + 2));
	assert_int_equal(tarw_size(&t), size);    /* the end is added once */
	whole = calloc(1, size);
	assert_non_null(whole);
	/* odd pieces, as an HTTP callback asks */
	while (off < size) {
		ssize_t n = tarw_read(&t, off, whole + off, 777);

		assert_true(n > 0);
		off += (size_t)n;
	}
	assert_int_equal(tarw_read(&t, size, got, sizeof(got)), 0);
	ofd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_int_equal(write(ofd, whole, size), (ssize_t)size);
	/* the OVA reader finds both, where they are */
	assert_int_equal(ova_tar_scan(ofd, size, &tl), 0);
	assert_int_equal(tl.n, 2);
	assert_non_null(m = ova_tar_find(&tl, "manifest.json"));
	assert_int_equal(m->size, strlen(manifest));
	assert_memory_equal(whole + m->off, manifest, strlen(manifest));
	assert_non_null(m = ova_tar_find(&tl, "disks/vda.qcow2"));
	assert_int_equal(m->size, 3000);
	assert_int_equal(pread(fd, want, 3000, 0), 3000);
	assert_memory_equal(whole + m->off, want, 3000);
	close(ofd);
	/* and so does GNU tar */
	snprintf(cmd, sizeof(cmd), "tar -xf %s -C %s && cmp -s %s/disks/vda.qcow2 "
	    "%s", out, dir, dir, src);
	assert_int_equal(system(cmd), 0);
	tarw_free(&t);
	free(whole);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* A descriptor that is shorter than said: an error, not zeros. */
static void
test_short_member(void **state)
{
	char path[] = "/tmp/test_tarw_short.XXXXXX";
	unsigned char buf[4096];
	struct tarw t;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "abc", 3), 3);
	tarw_init(&t);
	assert_int_equal(tarw_add_fd(&t, "x", fd, 100, 0), 0);
	assert_int_equal(tarw_read(&t, 0, buf, 512), 512);
	assert_int_equal(tarw_read(&t, 512, buf, sizeof(buf)), 3);
	assert_int_equal(tarw_read(&t, 515, buf, sizeof(buf)), -1);
	tarw_free(&t);
	/* a name too long: the descriptor is closed all the same */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memset(buf, 'n', 150);
	buf[150] = '\0';
	assert_int_equal(tarw_add_fd(&t, (char *)buf, fd, 0, 0), -1);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_archive),
		cmocka_unit_test(test_short_member),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
