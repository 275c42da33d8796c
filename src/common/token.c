/*
 * token.c - API tokens as bytes: generated from getrandom(), printed in
 * base64url, hashed with GnuTLS's SHA-256, compared in constant time
 * (see token.h).
 *
 * Example (what issuing a token does before storing its row):
 *	char tok[TOKEN_MAX], hash[TOKEN_HASH_LEN];
 *	if (token_generate(tok) < 0 || token_hash(tok, hash) < 0)
 *		return -1;
 *	... store hash, show tok once, explicit_bzero(tok, sizeof(tok)) ...
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "error.h"
#include "token.h"

bool
token_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d == 0;
}

int
token_hash(const char *token, char out[TOKEN_HASH_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), md) < 0)
		return err_set(ERR_INTERNAL, "SHA-256 failed");
	for (size_t i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * sizeof(md)] = '\0';
	return 0;
}

int
token_generate(char out[TOKEN_MAX])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_";
	unsigned char rnd[TOKEN_BYTES];
	size_t got = 0, o = strlen(TOKEN_PREFIX);
	unsigned bits = 0, nbits = 0;

	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(ERR_INTERNAL, "getrandom: %s",
			    strerror(errno));
		got += (size_t)n;
	}
	memcpy(out, TOKEN_PREFIX, o);
	/* base64url, no padding: 32 bytes are 43 characters */
	for (size_t i = 0; i < sizeof(rnd); i++) {
		bits = (bits << 8) | rnd[i];
		nbits += 8;
		while (nbits >= 6) {
			nbits -= 6;
			out[o++] = b64[(bits >> nbits) & 0x3f];
		}
	}
	if (nbits > 0)
		out[o++] = b64[(bits << (6 - nbits)) & 0x3f];
	out[o] = '\0';
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}
