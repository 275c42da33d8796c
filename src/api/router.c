/*
 * router.c - the route table, as data, and the matcher.  A path that
 * matches a pattern under another method gets 405 with an Allow list.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

static const struct route router_routes[] = {
	{ "GET",    "/v1",                   root_get },
	{ "GET",    "/v1/hosts",             hosts_list },
	{ "POST",   "/v1/hosts",             hosts_create },
	{ "GET",    "/v1/hosts/*",           hosts_get },
	{ "PATCH",  "/v1/hosts/*",           hosts_update },
	{ "DELETE", "/v1/hosts/*",           hosts_delete },
	{ "POST",   "/v1/hosts/*/drain",     hosts_drain },
	{ "POST",   "/v1/hosts/*/undrain",   hosts_undrain },
	{ "GET",    "/v1/hosts/*/orphans",   drift_orphans },
	{ "POST",   "/v1/hosts/*/orphans/*/adopt", drift_adopt },
	{ "GET",    "/v1/drift",             drift_list },
	{ "GET",    "/v1/groups",            groups_list },
	{ "POST",   "/v1/groups",            groups_create },
	{ "GET",    "/v1/groups/*",          groups_get },
	{ "DELETE", "/v1/groups/*",          groups_delete },
	{ "POST",   "/v1/placements",        placements_create },
	{ "GET",    "/v1/vms",               vms_list },
	{ "POST",   "/v1/vms",               vms_create },
	{ "GET",    "/v1/vms/*",             vms_get },
	{ "PATCH",  "/v1/vms/*",             vms_update },
	{ "DELETE", "/v1/vms/*",             vms_delete },
	{ "POST",   "/v1/vms/*/start",       vms_start },
	{ "POST",   "/v1/vms/*/stop",        vms_stop },
	{ "POST",   "/v1/vms/*/reboot",      vms_reboot },
	{ "POST",   "/v1/vms/*/pause",       vms_pause },
	{ "POST",   "/v1/vms/*/resume",      vms_resume },
	{ "POST",   "/v1/vms/*/migrate",     vms_migrate },
	{ "GET",    "/v1/vms/*/drift",       drift_get },
	{ "GET",    "/v1/vms/*/snapshots",   snapshots_list },
	{ "POST",   "/v1/vms/*/snapshots",   snapshots_create },
	{ "GET",    "/v1/vms/*/snapshots/*", snapshots_get },
	{ "DELETE", "/v1/vms/*/snapshots/*", snapshots_delete },
	{ "POST",   "/v1/vms/*/snapshots/*/revert", snapshots_revert },
	{ "GET",    "/v1/operations",        operations_list },
	{ "GET",    "/v1/operations/*",      operations_get },
	{ "DELETE", "/v1/operations/*",      operations_cancel },
	{ "GET",    "/v1/events",            events_get },
	{ "POST",   "/v1/plans/consolidation", plans_consolidation },
	{ "POST",   "/v1/plans/rebalance",   plans_rebalance },
	{ "GET",    "/v1/plans/*",           plans_get },
	{ "POST",   "/v1/plans/*/execute",   plans_execute },
};

/*
 * Does path match pattern?  Segment by segment; '*' takes one non-empty
 * segment, which is copied into r->params.
 */
static int
router_try(const char *pattern, const char *path, struct req *r)
{
	const char *p = pattern, *s = path;
	int np = 0;

	for (;;) {
		size_t n;

		if (*p == '\0' || *s == '\0')
			return *p == '\0' && *s == '\0';
		if (*p != '/' || *s != '/')
			return 0;
		p++;
		s++;
		n = strcspn(s, "/");
		if (*p == '*') {
			if (n == 0 || n >= sizeof(r->params[0]) ||
			    np == REQ_MAX_PARAMS)
				return 0;
			memcpy(r->params[np], s, n);
			r->params[np++][n] = '\0';
			p++;
		} else {
			if (strcspn(p, "/") != n || strncmp(p, s, n) != 0)
				return 0;
			p += n;
		}
		s += n;
	}
}

const struct route *
router_match(struct req *r, char *allow, size_t allow_len)
{
	const struct route *found = NULL;
	size_t off = 0;

	allow[0] = '\0';
	for (size_t i = 0; i < sizeof(router_routes) / sizeof(router_routes[0]);
	    i++) {
		const struct route *rt = &router_routes[i];

		if (!router_try(rt->pattern, r->path, r))
			continue;
		if (strcmp(rt->method, r->method) == 0) {
			found = rt;
			break;
		}
		if (off < allow_len) {
			int w = snprintf(allow + off, allow_len - off, "%s%s",
			    off ? ", " : "", rt->method);
			if (w > 0)
				off += (size_t)w;
		}
	}
	if (found == NULL) {
		if (allow[0])
			err_set(ERR_METHOD, "%s is not allowed on '%s' (allowed: "
			    "%s)", r->method, r->path, allow);
		else
			err_set(ERR_NOT_FOUND, "no resource at '%s'", r->path);
	}
	return found;
}
