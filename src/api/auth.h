/*
 * auth.h - access control: who a request comes from and whether that is
 * enough for its route.
 *
 * Roles are ordered: reader < operator < admin, each allowed what the one
 * below is.  The role a route needs is a column of the route table
 * (router.c).  A request's role comes from, in this order:
 *   1. an `Authorization: Bearer TOKEN` header, on any listener: the
 *      token's role, or 401 when the token is unknown or revoked;
 *   1b. on a WebSocket handshake only (a browser cannot set headers
 *      there): a Sec-WebSocket-Protocol entry "hangar.token.TOKEN", or
 *      the query parameter access_token=TOKEN, as if it were that header;
 *   2. on a TCP listener, nothing else: 401 without a token;
 *   3. on the unix socket, the peer's uid and groups (SO_PEERCRED,
 *      SO_PEERGROUPS): uid 0 and unix_admin_group are admin,
 *      unix_operator_group operator, unix_reader_group reader; anyone
 *      else has no role (403).
 * With tls_client_ca set, a TLS listener also wants a client certificate
 * that CA signed (403 without), on top of the token.
 *
 * Tokens are "hgr_" + 32 random bytes (getrandom) in base64url; only
 * their SHA-256 is stored (store_token.c), and a presented token is
 * checked by comparing its hash with every stored one in constant time
 * (kept in memory, auth_tokens.c).  Tokens never reach a log or an error
 * body.  The token itself (making, hashing, comparing) is
 * common/token.c, which needs no HTTP: `hangard token` uses it too.
 *
 * auth.c uses GnuTLS for the client certificate check; libmicrohttpd
 * does the TLS itself.
 */
#ifndef HANGAR_AUTH_H
#define HANGAR_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <microhttpd.h>

#include "../common/token.h"
#include "../common/types.h"
#include "../daemon/config.h"
#include "../store/store.h"

/* The role vocabulary (enum auth_role, auth_role_name, auth_role_parse) is
 * in common/types.h; making, hashing and comparing tokens in
 * common/token.h; issuing and revoking them in daemon/tokens.c. */
#define AUTH_WHO_MAX 96

/*
 * auth_tokens.c: the tokens table in memory, loaded again when the
 * database changed (store_data_version) or this process issued or revoked
 * a token (tokens_generation): a token made by any process works from
 * the next request, one revoked through the API fails from the next
 * request, one revoked by another process (`hangard token revoke`)
 * within AUTH_TOKENS_RECHECK_MS (5 ms).
 * auth_tokens_open: NULL (with the error) only when out of memory; the
 * rows are read at the first check.  s is borrowed.
 */
struct auth_tokens;
struct auth_tokens *auth_tokens_open(struct store *s);
void auth_tokens_close(struct auth_tokens *t);
/*
 * Find the row whose hash is hash (hex), comparing with every row in
 * constant time: 0 with *found (and *out when found), or -1 with the
 * store's error (fail closed).
 */
int auth_tokens_match(struct auth_tokens *t, const char hash[TOKEN_HASH_LEN],
    struct token_rec *out, bool *found);

/* The groups that give a role on the unix socket (resolved at start). */
struct auth_unix {
	bool	 au_set[AUTH_NROLES];
	gid_t	 au_gid[AUTH_NROLES];
};
/* Look up cfg's unix_*_group names; a group that does not exist is
 * logged and gives nobody a role. */
void auth_unix_init(struct auth_unix *u, const struct config *cfg);
/* The role of a peer with uid and groups gids[n] (its primary one too). */
enum auth_role auth_unix_role(const struct auth_unix *u, uid_t uid,
    const gid_t *gids, size_t n);

/* Who a request comes from. */
struct auth_who {
	enum auth_role role;
	char name[AUTH_WHO_MAX];   /* "token 'ci'", "uid 1000": for logs */
};

/*
 * Who sent the request on conn (see the top of this file); tokens are
 * looked up in t.  0 with *who filled (its role may be AUTH_NONE on the
 * unix socket), or -1 with ERR_UNAUTHORIZED (field "Authorization" when a
 * token was sent but is not valid).
 */
int auth_identify(struct auth_tokens *t, const struct auth_unix *u,
    struct MHD_Connection *conn, bool is_unix, struct auth_who *who);
/*
 * Does a TLS connection carry a client certificate that the daemon's
 * trusted CA (tls_client_ca) signed, valid now?  0, or -1 with
 * ERR_FORBIDDEN.
 */
int auth_client_cert(struct MHD_Connection *conn);
/*
 * May who do what needs role need?  0, or -1 with ERR_FORBIDDEN naming
 * both roles; *ext then gets {"required_role", "role"} for the problem
 * body (owned by the caller).
 */
int auth_permit(const struct auth_who *who, enum auth_role need,
    json_t **ext);

#endif
