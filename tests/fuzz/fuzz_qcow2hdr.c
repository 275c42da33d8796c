/*
 * fuzz_qcow2hdr.c - libFuzzer target for the qcow2 header rewrite
 * (src/common/qcow2hdr.c) that a cold move of a linked clone applies to
 * the first cluster of the overlay as it streams to the destination.
 *
 * Input: byte 0 picks the new backing name's length (its low 7 bits
 * times 9, so 0 and past QCOW2_BACKING_MAX both occur) and, with its top
 * bit, whether the buffer is the input alone or the whole first cluster
 * its header asks for (the input, then zeros); the rest is the start of
 * the image.  Buffers are malloc'd at exactly their size, so ASan sees a
 * read or write past them.
 * Checks: the error-slot invariant (fuzz.h); a refusal leaves the buffer
 * as it was; a success writes the name at backing_file_offset (past the
 * v2 header, inside the first cluster), sets backing_file_size, zeroes
 * the rest of a longer old name and changes no other byte; doing it
 * again changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/qcow2hdr.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
rd_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void
check_ok(const unsigned char *was, const unsigned char *b, size_t len,
    const char *name)
{
	size_t n = strlen(name), cl = 0;
	uint64_t off = rd_be(was + 8, 8), old = rd_be(was + 16, 4);
	uint64_t span = n > old ? n : old;

	FUZZ_CHECK(qcow2_cluster0(was, len, &cl) == 0, "accepted a header "
	    "qcow2_cluster0 refuses");
	FUZZ_CHECK(off >= 72 && off + n <= cl && off + old <= cl && cl <=
	    len, "name of %zu at %llu, old %llu, cluster %zu, len %zu", n,
	    (unsigned long long)off, (unsigned long long)old, cl, len);
	FUZZ_CHECK(rd_be(b + 16, 4) == n, "backing_file_size %llu, not %zu",
	    (unsigned long long)rd_be(b + 16, 4), n);
	FUZZ_CHECK(memcmp(b + off, name, n) == 0, "name not written");
	for (uint64_t i = n; i < span; i++)
		FUZZ_CHECK(b[off + i] == 0, "byte %llu of the old name left",
		    (unsigned long long)i);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK((i >= 16 && i < 20) || (i >= off && i < off + span) ||
		    b[i] == was[i], "byte %zu changed", i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n, len, need = 0;
	unsigned char *b, *was;
	char *name;
	int rc;

	if (size < 1)
		return 0;
	n = (size_t)(data[0] & 0x7f) * 9;
	len = size - 1;
	err_clear();
	if ((data[0] & 0x80) && qcow2_cluster0(data + 1, len, &need) == 0 &&
	    need > len)
		len = need;
	err_clear();
	if ((name = malloc(n + 1)) == NULL || (b = malloc(len + 1)) == NULL ||
	    (was = malloc(len + 1)) == NULL)
		abort();
	memset(name, 'n', n);
	if (n > 0)
		name[0] = '/';
	name[n] = '\0';
	memset(b, 0, len);
	memcpy(b, data + 1, size - 1 < len ? size - 1 : len);
	memcpy(was, b, len);
	rc = qcow2_set_backing(b, len, name);
	fuzz_check_rc(rc, "qcow2_set_backing");
	if (rc == -1) {
		FUZZ_CHECK(memcmp(b, was, len) == 0, "a refusal changed the "
		    "buffer");
	} else {
		check_ok(was, b, len, name);
		memcpy(was, b, len);
		FUZZ_CHECK(qcow2_set_backing(b, len, name) == 0 &&
		    memcmp(b, was, len) == 0, "not idempotent");
	}
	free(name);
	free(b);
	free(was);
	return 0;
}
