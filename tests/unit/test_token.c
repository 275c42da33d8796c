/*
 * test_token.c - unit tests of API tokens without HTTP: common/token.c
 * (the SHA-256 behind token hashes against FIPS 180-2 vectors, the
 * constant-time compare, making a token and its printable form) and the
 * role names of common/types.c.  It includes no api/ header, so it also
 * shows that `hangard token` can make tokens without libmicrohttpd.
 * Issuing tokens into a store, and the bearer check, are test_auth.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/error.h"
#include "common/token.h"
#include "common/types.h"

/* --- SHA-256 (token_hash) --- */

static void
test_hash_vectors(void **state)
{
	static const struct {
		const char *in, *want;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb924"
		    "27ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223"
		    "b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		    "248d6a61d20638b8e5c026930c3e6039"
		    "a33ce45964ff2167f6ecedd419db06c1" },
		/* 64 bytes: one full block, then the padding block */
		{ "0123456789012345678901234567890123456789012345678901234567890123",
		    "9674d9e078535b7cec43284387a6ee39"
		    "956188e735a85452b0050b55341cda56" },
	};
	char out[TOKEN_HASH_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(token_hash(v[i].in, out), 0);
		assert_string_equal(out, v[i].want);
	}
}

/* --- token_equal --- */

static void
test_equal(void **state)
{
	char a[TOKEN_HASH_LEN], b[TOKEN_HASH_LEN];

	(void)state;
	assert_int_equal(token_hash("x", a), 0);
	memcpy(b, a, sizeof(a));
	assert_true(token_equal(a, b, 64));
	assert_true(token_equal(a, b, 0));
	b[0] ^= 1;                        /* differs in the first byte */
	assert_false(token_equal(a, b, 64));
	b[0] ^= 1;
	b[63] ^= 0x80;                    /* only in the last */
	assert_false(token_equal(a, b, 64));
	assert_true(token_equal(a, b, 63));
	assert_false(token_equal("\x00", "\xff", 1));
}

/* --- token_generate --- */

static void
test_token_generate(void **state)
{
	char t1[TOKEN_MAX], t2[TOKEN_MAX];
	size_t np = strlen(TOKEN_PREFIX);

	(void)state;
	assert_int_equal(token_generate(t1), 0);
	assert_int_equal(token_generate(t2), 0);
	/* "hgr_" + 32 bytes in unpadded base64url: 43 characters */
	assert_int_equal(strlen(t1), np + 43);
	assert_int_equal(strncmp(t1, TOKEN_PREFIX, np), 0);
	assert_int_equal(strspn(t1 + np, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	    "klmnopqrstuvwxyz0123456789-_"), 43);
	assert_string_not_equal(t1, t2);
}

/* --- role names (common/types.c) --- */

static void
test_roles(void **state)
{
	enum auth_role r;

	(void)state;
	assert_true(AUTH_NONE < AUTH_READER && AUTH_READER < AUTH_OPERATOR &&
	    AUTH_OPERATOR < AUTH_ADMIN);
	assert_int_equal(auth_role_parse("reader", &r), 0);
	assert_int_equal(r, AUTH_READER);
	assert_int_equal(auth_role_parse("operator", &r), 0);
	assert_int_equal(r, AUTH_OPERATOR);
	assert_int_equal(auth_role_parse("admin", &r), 0);
	assert_int_equal(r, AUTH_ADMIN);
	assert_string_equal(auth_role_name(AUTH_OPERATOR), "operator");
	assert_string_equal(auth_role_name(AUTH_NONE), "none");
	assert_string_equal(auth_role_name((enum auth_role)42), "none");
	for (const char *const *b = (const char *const[]){ "none", "Admin",
	    "", "root", "admin ", NULL }; *b; b++) {
		err_clear();
		assert_int_equal(auth_role_parse(*b, &r), -1);
		assert_int_equal(err_last()->code, ERR_INVALID);
		assert_string_equal(err_last()->field, "role");
	}
	assert_int_equal(auth_role_parse(NULL, &r), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_token_generate),
		cmocka_unit_test(test_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
