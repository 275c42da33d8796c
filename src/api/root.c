/*
 * root.c - GET /v1: what this service is.
 */
#include "../common/version.h"
#include "req.h"

int
root_get(struct req *r)
{
	return req_reply(r, 200, json_pack("{s:s, s:s, s:s}", "name", "hangar",
	    "version", HANGAR_VERSION, "api", "v1"));
}
