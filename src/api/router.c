/*
 * router.c - the route table, as data, and the matcher.  A path that
 * matches a pattern under another method gets 405 with an Allow list.
 * Each route names the least role that may call it (checked in server.c
 * before the body is read) and where its requests run.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "api.h"
#include "req.h"

/*
 * Every route, with the least role that may call it (auth.h): reads are
 * for readers (POST /v1/placements too: a dry run that changes nothing),
 * VM work (lifecycle, snapshots, migration, cancelling) for operators,
 * the fleet (hosts, drains, orphans, groups, networks, plans) and tokens
 * for admins.
 * `hangard --routes` prints this table; tests/integration/auth.sh tries
 * every row with every role.
 *
 * The run column says where a request runs (req.h): ROUTE_POOL only for
 * reads of one row (or a bounded few) that never wait; everything that
 * writes (the writer's lock, fsync), asks libvirt, or lists a whole table
 * gets a thread of its own, so it cannot stall the pool's connections.
 * ROUTE_STREAM (an image upload) streams its body to its sink (the table
 * below) instead of reading it into memory, then runs as ROUTE_THREAD.
 */
static const struct route router_routes[] = {
	{ "GET",    "/v1",                          root_get,            AUTH_READER,   ROUTE_POOL },
	{ "GET",    "/metrics",                     metrics_get,         AUTH_READER,   ROUTE_THREAD },
	{ "GET",    "/v1/hosts",                    hosts_list,          AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/hosts",                    hosts_create,        AUTH_ADMIN,    ROUTE_THREAD },
	{ "GET",    "/v1/hosts/*",                  hosts_get,           AUTH_READER,   ROUTE_THREAD },
	{ "PATCH",  "/v1/hosts/*",                  hosts_update,        AUTH_ADMIN,    ROUTE_THREAD },
	{ "DELETE", "/v1/hosts/*",                  hosts_delete,        AUTH_ADMIN,    ROUTE_THREAD },
	{ "POST",   "/v1/hosts/*/drain",            hosts_drain,         AUTH_ADMIN,    ROUTE_THREAD },
	{ "POST",   "/v1/hosts/*/undrain",          hosts_undrain,       AUTH_ADMIN,    ROUTE_THREAD },
	{ "POST",   "/v1/hosts/*/evacuate",         hosts_evacuate,      AUTH_ADMIN,    ROUTE_THREAD },
	{ "POST",   "/v1/hosts/*/unfence",          hosts_unfence,       AUTH_ADMIN,    ROUTE_THREAD },
	{ "GET",    "/v1/hosts/*/orphans",          drift_orphans,       AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/hosts/*/orphans/*/adopt",  drift_adopt,         AUTH_ADMIN,    ROUTE_THREAD },
	{ "GET",    "/v1/drift",                    drift_list,          AUTH_READER,   ROUTE_THREAD },
	{ "GET",    "/v1/groups",                   groups_list,         AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/groups",                   groups_create,       AUTH_ADMIN,    ROUTE_THREAD },
	{ "GET",    "/v1/groups/*",                 groups_get,          AUTH_READER,   ROUTE_THREAD },
	{ "DELETE", "/v1/groups/*",                 groups_delete,       AUTH_ADMIN,    ROUTE_THREAD },
	{ "GET",    "/v1/networks",                 networks_list,       AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/networks",                 networks_create,     AUTH_ADMIN,    ROUTE_THREAD },
	{ "GET",    "/v1/networks/*",               networks_get,        AUTH_READER,   ROUTE_POOL },
	{ "PATCH",  "/v1/networks/*",               networks_update,     AUTH_ADMIN,    ROUTE_THREAD },
	{ "DELETE", "/v1/networks/*",               networks_remove,     AUTH_ADMIN,    ROUTE_THREAD },
	{ "GET",    "/v1/environments",             envs_list,           AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/environments",             envs_create,         AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/environments/*",           envs_get,            AUTH_READER,   ROUTE_THREAD },
	{ "PATCH",  "/v1/environments/*",           envs_update,         AUTH_OPERATOR, ROUTE_THREAD },
	{ "DELETE", "/v1/environments/*",           envs_delete,         AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/placements",               placements_create,   AUTH_READER,   ROUTE_THREAD },
	{ "GET",    "/v1/vms",                      vms_list,            AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/vms",                      vms_create,          AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/import",               vms_import,          AUTH_OPERATOR, ROUTE_STREAM },
	{ "GET",    "/v1/vms/*",                    vms_get,             AUTH_READER,   ROUTE_POOL },
	{ "PATCH",  "/v1/vms/*",                    vms_update,          AUTH_OPERATOR, ROUTE_THREAD },
	{ "DELETE", "/v1/vms/*",                    vms_delete,          AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/start",              vms_start,           AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/stop",               vms_stop,            AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/reboot",             vms_reboot,          AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/pause",              vms_pause,           AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/resume",             vms_resume,          AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/migrate",            vms_migrate,         AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/clone",              vms_clone,           AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/template",           vms_template,        AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/drift",              drift_get,           AUTH_READER,   ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/guest",              guest_show,          AUTH_READER,   ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/console",            console_ws,          AUTH_READER,   ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/console/log",        console_log_get,     AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/console/type",       console_type_post,   AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/disks",              disks_list,          AUTH_READER,   ROUTE_POOL },
	{ "POST",   "/v1/vms/*/disks",              disks_add_one,       AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/disks/*",            disks_get,           AUTH_READER,   ROUTE_POOL },
	{ "DELETE", "/v1/vms/*/disks/*",            disks_remove,        AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/disks/*/resize",     disks_resize,        AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/nics",               nics_list,           AUTH_READER,   ROUTE_POOL },
	{ "POST",   "/v1/vms/*/nics",               nics_add_one,        AUTH_OPERATOR, ROUTE_THREAD },
	{ "DELETE", "/v1/vms/*/nics/*",             nics_remove,         AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/snapshots",          snapshots_list,      AUTH_READER,   ROUTE_POOL },
	{ "POST",   "/v1/vms/*/snapshots",          snapshots_create,    AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/snapshots/*",        snapshots_get,       AUTH_READER,   ROUTE_POOL },
	{ "DELETE", "/v1/vms/*/snapshots/*",        snapshots_delete,    AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/snapshots/*/revert", snapshots_revert,    AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/backups",            backups_list,        AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/backups",            backups_create,      AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/backups/*",          backups_get,         AUTH_READER,   ROUTE_POOL },
	{ "DELETE", "/v1/vms/*/backups/*",          backups_delete_one,  AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/vms/*/backups/*/archive",  backups_archive,     AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/vms/*/restore",            backups_restore,     AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/operations",               operations_list,     AUTH_READER,   ROUTE_THREAD },
	{ "GET",    "/v1/operations/*",             operations_get,      AUTH_READER,   ROUTE_POOL },
	{ "DELETE", "/v1/operations/*",             operations_cancel,   AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/events",                   events_get,          AUTH_READER,   ROUTE_POOL },
	{ "POST",   "/v1/plans/consolidation",      plans_consolidation, AUTH_ADMIN,    ROUTE_THREAD },
	{ "POST",   "/v1/plans/rebalance",          plans_rebalance,     AUTH_ADMIN,    ROUTE_THREAD },
	{ "GET",    "/v1/plans/*",                  plans_get,           AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/plans/*/execute",          plans_execute,       AUTH_ADMIN,    ROUTE_THREAD },
	{ "GET",    "/v1/tokens",                   tokens_list,         AUTH_ADMIN,    ROUTE_POOL },
	{ "POST",   "/v1/tokens",                   tokens_create,       AUTH_ADMIN,    ROUTE_THREAD },
	{ "DELETE", "/v1/tokens/*",                 tokens_delete,       AUTH_ADMIN,    ROUTE_THREAD },
	{ "GET",    "/v1/images",                   images_list,         AUTH_READER,   ROUTE_THREAD },
	{ "POST",   "/v1/images",                   images_create,       AUTH_OPERATOR, ROUTE_STREAM },
	{ "GET",    "/v1/images/*",                 images_get,          AUTH_READER,   ROUTE_POOL },
	{ "DELETE", "/v1/images/*",                 images_delete,       AUTH_OPERATOR, ROUTE_THREAD },
	{ "POST",   "/v1/images/prune",             images_prune,        AUTH_OPERATOR, ROUTE_THREAD },
	{ "GET",    "/v1/images/*/file",            images_file,         AUTH_READER,   ROUTE_THREAD },
};

/* The sink of each ROUTE_STREAM route, by its handler (req.h). */
static const struct {
	req_handler handler;
	const struct req_sink *sink;
} router_sinks[] = {
	{ images_create, &images_upload_sink },
	{ vms_import, &vms_import_sink },
};

const struct req_sink *
router_sink(const struct route *rt)
{
	if (rt == NULL || rt->run != ROUTE_STREAM)
		return NULL;
	for (size_t i = 0; i < sizeof(router_sinks) / sizeof(router_sinks[0]);
	    i++)
		if (router_sinks[i].handler == rt->handler)
			return router_sinks[i].sink;
	return NULL;
}

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

const struct route *
router_table(size_t *n)
{
	*n = sizeof(router_routes) / sizeof(router_routes[0]);
	return router_routes;
}

int
api_print_routes(FILE *out)
{
	size_t n;
	const struct route *rt = router_table(&n);

	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s %s %s\n", rt[i].method, rt[i].pattern,
		    auth_role_name(rt[i].role));
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
