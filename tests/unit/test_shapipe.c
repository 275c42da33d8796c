/*
 * test_shapipe.c - unit tests of common/shapipe.c, the SHA-256 on a
 * thread of its own that image uploads and the library's hashes use:
 * FIPS 180-2 vectors, and long inputs handed in pieces that straddle its
 * blocks (as an upload's chunks do), against gnutls's one-shot hash; an
 * abort with every block full does not hang.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "common/shapipe.h"

static void
hex(const unsigned char dig[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", dig[i]);
}

/* Hand buf to p in pieces of `piece` bytes, the way an upload does. */
static void
feed(struct shapipe *p, const unsigned char *buf, size_t len, size_t piece)
{
	while (len > 0) {
		struct shapipe_buf *b = shapipe_buf(p);
		size_t k = len < piece ? len : piece;

		if (k > b->cap - b->len)
			k = b->cap - b->len;
		memcpy(b->data + b->len, buf, k);
		b->len += k;
		buf += k;
		len -= k;
		if (b->len == b->cap)
			shapipe_push(p);
	}
}

static void
check(const unsigned char *buf, size_t len, size_t piece, const char *want)
{
	struct shapipe *p = shapipe_start();
	unsigned char dig[32];
	char got[65];

	assert_non_null(p);
	feed(p, buf, len, piece);
	shapipe_finish(p, dig);
	hex(dig, got);
	assert_string_equal(got, want);
}

static void
test_vectors(void **state)
{
	static const char *abc = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmn"
	    "lmnomnopnopq";
	unsigned char *a = malloc(1000000);

	(void)state;
	check((const unsigned char *)"", 0, 1, "e3b0c44298fc1c149afbf4c8996f"
	    "b92427ae41e4649b934ca495991b7852b855");
	check((const unsigned char *)"abc", 3, 1, "ba7816bf8f01cfea414140de5d"
	    "ae2223b00361a396177a9cb410ff61f20015ad");
	check((const unsigned char *)abc, strlen(abc), 5, "248d6a61d20638b8e5"
	    "c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* a million 'a's: in 1-byte, odd and whole-block pieces */
	assert_non_null(a);
	memset(a, 'a', 1000000);
	check(a, 1000000, 1, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a4972"
	    "00e046d39ccc7112cd0");
	check(a, 1000000, 7777, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a49"
	    "7200e046d39ccc7112cd0");
	check(a, 1000000, SHAPIPE_BLOCK, "cdc76e5c9914fb9281a1c7e284d73e67f18"
	    "09a48a497200e046d39ccc7112cd0");
	free(a);
}

/* Many blocks (more than are in flight), pieces across their edges. */
static void
test_long(void **state)
{
	size_t len = (size_t)SHAPIPE_BLOCKS * 3 * SHAPIPE_BLOCK + 12345;
	size_t pieces[] = { 16105, 65258, SHAPIPE_BLOCK, SHAPIPE_BLOCK + 1 };
	unsigned char *buf = malloc(len), dig[32];
	char want[65];

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, len, dig),
	    0);
	hex(dig, want);
	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++)
		check(buf, len, pieces[k], want);
	free(buf);
}

/* Stopped with blocks pushed and not hashed: returns, frees. */
static void
test_abort(void **state)
{
	struct shapipe *p = shapipe_start();
	unsigned char *buf = calloc(1, (size_t)SHAPIPE_BLOCKS * SHAPIPE_BLOCK);

	(void)state;
	assert_non_null(p);
	assert_non_null(buf);
	feed(p, buf, (size_t)SHAPIPE_BLOCKS * SHAPIPE_BLOCK, SHAPIPE_BLOCK);
	shapipe_abort(p);
	shapipe_abort(NULL);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_abort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
