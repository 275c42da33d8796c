/*
 * auth.c - access control over HTTP: the bearer token of a request, the
 * unix socket's peer credentials, TLS client certificates and the role
 * check (see auth.h for the rules).  Tokens themselves (made, hashed,
 * compared) are common/token.c, and issued by daemon/tokens.c.
 *
 * A presented token is hashed and its hash compared, in constant time,
 * with the hash of every stored token, revoked ones included, without
 * stopping at a match: how long the check takes says nothing about how
 * close a guess came.  The rows are kept in memory (auth_tokens.c) and
 * read again when the database changed, so a token revoked by `hangard
 * token revoke` (another process) stops working within milliseconds.
 *
 * Example (what server.c does before reading a request's body):
 *	struct auth_who who;
 *	json_t *ext = NULL;
 *	if (auth_identify(tokens, &unix_roles, conn, is_unix, &who) < 0 ||
 *	    auth_permit(&who, route->role, &ext) < 0)
 *		... reply with err_last() (401 or 403) ...
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "../common/error.h"
#include "../common/log.h"
#include "auth.h"

#define AUTH_PEER_GROUPS 64        /* supplementary groups read at first;
                                    * more take a second call */

/* One group of the config: looked up now; missing means no role. */
static void
auth_unix_group(struct auth_unix *u, enum auth_role role, const char *name,
    bool by_default)
{
	struct group *gr;

	u->au_set[role] = false;
	if (name[0] == '\0')
		return;
	errno = 0;
	if ((gr = getgrnam(name)) == NULL) {
		if (by_default)
			log_debug("auth: no group '%s': it gives no %s role on "
			    "the unix socket", name, auth_role_name(role));
		else
			log_warnx("auth: unix_%s_group '%s' does not exist; "
			    "it gives nobody a role", auth_role_name(role),
			    name);
		return;
	}
	u->au_set[role] = true;
	u->au_gid[role] = gr->gr_gid;
	log_info("auth: members of group '%s' (%lu) are %s on the unix "
	    "socket", name, (unsigned long)gr->gr_gid, auth_role_name(role));
}

void
auth_unix_init(struct auth_unix *u, const struct config *cfg)
{
	memset(u, 0, sizeof(*u));
	auth_unix_group(u, AUTH_ADMIN, cfg->unix_admin_group,
	    strcmp(cfg->unix_admin_group, "hangar") == 0);
	auth_unix_group(u, AUTH_OPERATOR, cfg->unix_operator_group, false);
	auth_unix_group(u, AUTH_READER, cfg->unix_reader_group, false);
}

enum auth_role
auth_unix_role(const struct auth_unix *u, uid_t uid, const gid_t *gids,
    size_t n)
{
	if (uid == 0)
		return AUTH_ADMIN;
	for (int r = AUTH_ADMIN; r > AUTH_NONE; r--) {
		if (!u->au_set[r])
			continue;
		for (size_t i = 0; i < n; i++)
			if (gids[i] == u->au_gid[r])
				return (enum auth_role)r;
	}
	return AUTH_NONE;
}

/* The token of an "Authorization: Bearer TOKEN" value, or -1. */
static int
auth_bearer_token(const char *hdr, char tok[TOKEN_MAX])
{
	size_t n;

	hdr += strspn(hdr, " \t");
	if (strncasecmp(hdr, "Bearer", 6) != 0 || (hdr[6] != ' ' &&
	    hdr[6] != '\t'))
		return -1;
	hdr += 6;
	hdr += strspn(hdr, " \t");
	n = strcspn(hdr, " \t");
	if (n == 0 || n >= TOKEN_MAX || hdr[n + strspn(hdr + n, " \t")])
		return -1;
	memcpy(tok, hdr, n);
	tok[n] = '\0';
	return 0;
}

/* The role of the token in header hdr, into *who; -1 with a 401. */
static int
auth_bearer(struct auth_tokens *t, const char *hdr, struct auth_who *who)
{
	struct token_rec match;
	char tok[TOKEN_MAX], hash[TOKEN_HASH_LEN];
	enum auth_role role = AUTH_NONE;
	bool found;
	int rc;

	if (auth_bearer_token(hdr, tok) < 0)
		return err_set_field(ERR_UNAUTHORIZED, "Authorization", "the "
		    "Authorization header must be 'Bearer TOKEN'");
	rc = token_hash(tok, hash);
	explicit_bzero(tok, sizeof(tok));
	if (rc < 0)
		return -1;
	if (auth_tokens_match(t, hash, &match, &found) < 0)
		return -1;       /* the store's error: fail closed (503) */
	if (!found)
		return err_set_field(ERR_UNAUTHORIZED, "Authorization", "the "
		    "bearer token is not valid");
	if (match.revoked_at != 0)
		return err_set_field(ERR_UNAUTHORIZED, "Authorization", "the "
		    "bearer token has been revoked");
	if (auth_role_parse(match.role, &role) < 0)
		return err_set(ERR_INTERNAL, "token '%s' has an unknown role",
		    match.name);
	who->role = role;
	snprintf(who->name, sizeof(who->name), "token '%s'", match.name);
	return 0;
}

/*
 * The role of the peer of the unix socket connection fd, into *who: its
 * uid, primary gid (SO_PEERCRED) and supplementary groups
 * (SO_PEERGROUPS), as they were when it connected.
 */
static int
auth_peer(const struct auth_unix *u, int fd, struct auth_who *who)
{
	gid_t buf[AUTH_PEER_GROUPS + 1], *gids = buf;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t n = 1;
	int rc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return err_set(ERR_INTERNAL, "SO_PEERCRED: %s",
		    strerror(errno));
	len = (socklen_t)(AUTH_PEER_GROUPS * sizeof(gid_t));
	rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids + 1, &len);
	if (rc < 0 && errno == ERANGE) {
		/* len now says how much room they take */
		if ((gids = malloc(sizeof(gid_t) + len)) == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids + 1, &len);
	}
	if (rc < 0) {
		rc = errno;
		if (gids != buf)
			free(gids);
		return err_set(ERR_INTERNAL, "SO_PEERGROUPS: %s", strerror(rc));
	}
	gids[0] = cred.gid;
	n += len / sizeof(gid_t);
	who->role = auth_unix_role(u, cred.uid, gids, n);
	snprintf(who->name, sizeof(who->name), "uid %lu",
	    (unsigned long)cred.uid);
	if (gids != buf)
		free(gids);
	return 0;
}

/*
 * A WebSocket handshake's token where a browser can put one (it cannot
 * set Authorization): an entry "hangar.token.TOKEN" of
 * Sec-WebSocket-Protocol, or the query parameter access_token (RFC 6750
 * 2.3).  As "Bearer TOKEN" into hdr; -1 when there is none, or the
 * request is no WebSocket handshake (other routes take the header only:
 * a query string ends up in proxies' logs).
 */
static int
auth_ws_token(struct MHD_Connection *conn, char *hdr, size_t len)
{
	static const char pfx[] = "hangar.token.";
	const char *up = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_UPGRADE);
	const char *p = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Sec-WebSocket-Protocol");
	const char *q = MHD_lookup_connection_value(conn,
	    MHD_GET_ARGUMENT_KIND, "access_token");
	size_t n;

	if (up == NULL || strcasestr(up, "websocket") == NULL)
		return -1;
	while (p && *p) {
		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n > sizeof(pfx) - 1 &&
		    strncmp(p, pfx, sizeof(pfx) - 1) == 0)
			return snprintf(hdr, len, "Bearer %.*s",
			    (int)(n - sizeof(pfx) + 1), p + sizeof(pfx) - 1) <
			    (int)len ? 0 : -1;
		p += n;
	}
	if (q == NULL || q[0] == '\0')
		return -1;
	return snprintf(hdr, len, "Bearer %s", q) < (int)len ? 0 : -1;
}

int
auth_identify(struct auth_tokens *t, const struct auth_unix *u,
    struct MHD_Connection *conn, bool is_unix, struct auth_who *who)
{
	const union MHD_ConnectionInfo *ci;
	const char *hdr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	char ws[TOKEN_MAX + 16];
	int r;

	memset(who, 0, sizeof(*who));
	snprintf(who->name, sizeof(who->name), "nobody");
	if (hdr != NULL)
		return auth_bearer(t, hdr, who);
	if (auth_ws_token(conn, ws, sizeof(ws)) == 0) {
		r = auth_bearer(t, ws, who);
		explicit_bzero(ws, sizeof(ws));
		return r;
	}
	if (!is_unix)
		return err_set(ERR_UNAUTHORIZED, "this request needs an API "
		    "token: send 'Authorization: Bearer TOKEN' (`hangard token "
		    "create` makes one)");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return err_set(ERR_INTERNAL, "the connection has no socket");
	return auth_peer(u, ci->connect_fd, who);
}

int
auth_client_cert(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	gnutls_session_t ses;
	gnutls_datum_t why = { NULL, 0 };
	unsigned int list = 0, status = 0;
	int rc;

	if (ci == NULL || ci->tls_session == NULL)
		return err_set(ERR_FORBIDDEN, "a TLS client certificate is "
		    "required");
	ses = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_get_peers(ses, &list) == NULL || list == 0)
		return err_set(ERR_FORBIDDEN, "a TLS client certificate is "
		    "required");
	rc = gnutls_certificate_verify_peers(ses, &purpose, 1, &status);
	if (rc < 0)
		return err_set(ERR_FORBIDDEN, "the TLS client certificate "
		    "cannot be checked: %s", gnutls_strerror(rc));
	if (status == 0)
		return 0;
	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &why, 0) < 0)
		why.data = NULL;
	while (why.data && why.size > 0 && why.data[why.size - 1] == ' ')
		why.data[--why.size] = '\0';
	err_set(ERR_FORBIDDEN, "the TLS client certificate is not accepted: "
	    "%s", why.data ? (const char *)why.data : "it is not trusted");
	gnutls_free(why.data);
	return -1;
}

int
auth_permit(const struct auth_who *who, enum auth_role need, json_t **ext)
{
	if (who->role >= need && who->role != AUTH_NONE)
		return 0;
	*ext = json_pack("{s:s, s:s}", "required_role", auth_role_name(need),
	    "role", auth_role_name(who->role));
	if (who->role == AUTH_NONE)
		return err_set(ERR_FORBIDDEN, "%s has no role here: send "
		    "'Authorization: Bearer TOKEN', or connect as root or as "
		    "a member of a group given a role (unix_*_group)",
		    who->name);
	return err_set(ERR_FORBIDDEN, "this request needs the role %s; %s has "
	    "the role %s", auth_role_name(need), who->name,
	    auth_role_name(who->role));
}
