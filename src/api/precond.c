/*
 * precond.c - conditional requests (RFC 9110 section 13), for every
 * route at once: the single resources of router_resources[] (router.c)
 * show an ETag, their version (store_version.c); a GET with
 * If-None-Match naming it gets 304; a write (PATCH, DELETE, an action)
 * with If-Match that does not name it gets 412, and one that does has
 * the version checked again inside its write transaction (store_tx), so
 * two writers with the same If-Match cannot both win.  No If-Match: the
 * write goes ahead, as before.
 *
 * An ETag is a strong one, the version quoted ("42"): a number from one
 * counter that triggers give each changed row in the transaction of its
 * change, so it changes exactly when the stored resource does (for a VM:
 * its row, disks, NICs, addresses, operation), whoever wrote it.
 */
#include <stdio.h>
#include <string.h>

#include "req.h"

#define PRECOND_TAG_MAX 64

/*
 * One entity-tag of a list at *p (after optional white space and a
 * comma): into tag (quotes kept), *weak when W/; 1 when one was read, 0
 * at the end, -1 when the list is not one.
 */
static int
precond_next(const char **p, char *tag, size_t len, bool *weak)
{
	const char *s = *p, *q;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (*s == '\0')
		return 0;
	*weak = strncmp(s, "W/", 2) == 0;
	if (*weak)
		s += 2;
	if (*s != '"')
		return -1;
	for (q = s + 1; *q != '"'; q++)
		/* etagc: %x21 / %x23-7E / obs-text */
		if (*q == '\0' || (unsigned char)*q < 0x21 || *q == 0x7f)
			return -1;
	if ((size_t)(q + 1 - s) >= len)
		return -1;
	memcpy(tag, s, (size_t)(q + 1 - s));
	tag[q + 1 - s] = '\0';
	s = q + 1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0' && *s != ',')
		return -1;
	*p = s;
	return 1;
}

int
precond_match(const char *header, const char *etag, bool weak_ok)
{
	const char *p = header;
	char tag[PRECOND_TAG_MAX];
	bool weak, found = false;
	int k, n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '*' && p[1 + strspn(p + 1, " \t")] == '\0')
		return 1;
	while ((k = precond_next(&p, tag, sizeof(tag), &weak)) > 0) {
		n++;
		if ((weak_ok || !weak) && strcmp(tag, etag) == 0)
			found = true;
	}
	if (k < 0 || n == 0)
		return -1;
	return found ? 1 : 0;
}

/* The header's value, or NULL. */
static const char *
precond_header(struct req *r, const char *name)
{
	return r->conn ? MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, name) : NULL;
}

/* The resource's version as r->etag; 0, or -1 (ERR_NOT_FOUND). */
static int
precond_load(struct req *r, const struct route_resource *rr, int64_t *v)
{
	struct store_conn *c = store_read_begin(r->app->store);
	int rc = store_version_get(c, rr->kind, r->params[rr->key],
	    rr->key2 >= 0 ? r->params[rr->key2] : NULL, v);

	store_read_end(c);
	if (rc == 0)
		snprintf(r->etag, sizeof(r->etag), "\"%lld\"", (long long)*v);
	return rc;
}

/* 412 naming header, with the current ETag as a member. */
static int
precond_fail(struct req *r, const char *header)
{
	json_decref(r->problem_ext);
	r->problem_ext = json_pack("{s:s, s:s}", "header", header, "etag",
	    r->etag);
	return err_set_field(ERR_PRECONDITION, header, "%s does not name the "
	    "resource's current ETag, which is %s: it has changed since it "
	    "was read", header, r->etag);
}

/* A malformed header: 400 naming it. */
static int
precond_bad(const char *header)
{
	return err_set_field(ERR_INVALID, header, "%s must be * or a list of "
	    "quoted entity tags such as \"42\"", header);
}

int
precond_before(struct req *r, const struct route *rt)
{
	const char *im = precond_header(r, "If-Match");
	const char *inm = precond_header(r, "If-None-Match");
	const struct route_resource *rr;
	bool exact, get = strcmp(r->method, "GET") == 0;
	int64_t v;
	int m;

	r->etag[0] = '\0';
	if ((rr = router_resource(rt, &exact)) == NULL || (get && !exact))
		return 0;
	if (!get && im == NULL && inm == NULL)
		return 0;      /* nothing asked: spare the read */
	if (precond_load(r, rr, &v) < 0) {
		/* no such resource: the handler says so (404) */
		err_clear();
		return 0;
	}
	if (im != NULL) {
		if ((m = precond_match(im, r->etag, false)) < 0)
			return precond_bad("If-Match");
		if (m == 0)
			return precond_fail(r, "If-Match");
	}
	if (inm != NULL) {
		if ((m = precond_match(inm, r->etag, true)) < 0)
			return precond_bad("If-None-Match");
		if (m == 1 && get) {
			r->status = 304;
			return 1;
		}
		if (m == 1)
			return precond_fail(r, "If-None-Match");
	}
	if (!get && im != NULL)
		store_expect_version(rr->kind, r->params[rr->key],
		    rr->key2 >= 0 ? r->params[rr->key2] : NULL, v);
	if (!get)
		r->etag[0] = '\0';     /* a write's reply shows no ETag */
	return 0;
}

void
precond_after(struct req *r, const struct route *rt, int rc)
{
	const struct route_resource *rr;
	struct err e;
	bool exact;
	int64_t v;

	store_expect_clear();
	if (rc == 0 || err_last()->code != ERR_PRECONDITION ||
	    (rr = router_resource(rt, &exact)) == NULL)
		return;
	/* refused inside the transaction: name the ETag it has now */
	err_save(&e);
	if (precond_load(r, rr, &v) == 0) {
		json_decref(r->problem_ext);
		r->problem_ext = json_pack("{s:s, s:s}", "header", "If-Match",
		    "etag", r->etag);
	}
	err_restore(&e);
}
