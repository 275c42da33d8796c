/*
 * around.c - what every route gets around its handler, in one place:
 * paging for the lists of page_lists[] (page.c: ?limit, ?sort, ?after
 * checked before the handler runs, the page cut from its reply after
 * unless it paged in SQL itself) and conditional requests for the
 * resources of router_resources[] (precond.c: ETag, 304, If-Match and
 * 412); then the headers they add to the reply.
 */
#include <stdlib.h>
#include <string.h>

#include "req.h"

int
around_handler(struct req *r, const struct route *rt)
{
	const struct page_list *pl = page_list_find(rt);
	struct page pg;
	int rc;

	if (pl != NULL && page_begin(r, pl, &pg) < 0)
		return -1;
	r->page = pl ? &pg : NULL;
	rc = precond_before(r, rt);
	if (rc == 1) {
		/* 304: no body */
		r->raw = MHD_create_response_from_buffer(0, (void *)(uintptr_t)"",
		    MHD_RESPMEM_PERSISTENT);
		rc = r->raw ? 0 : err_set(ERR_INTERNAL, "out of memory");
	} else if (rc == 0) {
		rc = rt->handler(r);
		precond_after(r, rt, rc);
		if (rc == 0 && pl != NULL && !r->paged && r->reply != NULL)
			rc = page_apply(r, &pg);
	}
	r->page = NULL;
	return rc;
}

void
around_headers(struct req *r, struct MHD_Response *resp, unsigned status)
{
	if (resp == NULL)
		return;
	if (r->etag[0] && (status == 200 || status == 304 || status == 412))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
	if (r->link && status == 200)
		MHD_add_response_header(resp, "Link", r->link);
}
