/*
 * token.h - API tokens as bytes, without HTTP and without a database:
 * making a new one, its printable form, the SHA-256 that is stored in
 * its place, and the constant-time comparison of two hashes.
 *
 * A token is TOKEN_PREFIX ("hgr_") + TOKEN_BYTES (32) random bytes from
 * getrandom() in unpadded base64url: 47 printable characters.  Only its
 * hash (lower-case hex) is ever stored (store_token.c); the token itself
 * is shown once and never reaches a log or an error body.
 *
 * Used by the daemon's tokens.c (issuing a token, for POST /v1/tokens and
 * `hangard token create`) and by the API's bearer check (api/auth.c,
 * api/auth_tokens.c).  This file and api/auth.c (the client certificate
 * check) are the only users of GnuTLS.
 */
#ifndef HANGAR_TOKEN_H
#define HANGAR_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_PREFIX "hgr_"
#define TOKEN_BYTES 32
#define TOKEN_MAX 64               /* a token is 47 characters + NUL */
#define TOKEN_HASH_LEN 65          /* 64 hex digits + NUL */

/* A new random token, in its printable form, into out.  0, or -1 with the
 * error (getrandom failed). */
int token_generate(char out[TOKEN_MAX]);
/* The SHA-256 of token in lower-case hex.  0, or -1 with the error. */
int token_hash(const char *token, char out[TOKEN_HASH_LEN]);
/* Are a[0..n) and b[0..n) equal?  Takes the same time wherever they differ. */
bool token_equal(const void *a, const void *b, size_t n);

#endif
