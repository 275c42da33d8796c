/*
 * reply.c - small helpers for building replies.
 */
#include <stdio.h>
#include <stdlib.h>

#include <uuid/uuid.h>

#include "jsonw.h"
#include "req.h"

int
req_reply(struct req *r, int status, json_t *reply)
{
	r->status = status;
	json_decref(r->reply);
	r->reply = reply;
	return 0;
}

int
req_reply_text(struct req *r, int status, struct jw *w)
{
	size_t len;
	char *text = jw_take(w, &len);

	if (text == NULL)
		return err_set(ERR_INTERNAL, "the reply could not be encoded");
	free(r->text);
	r->text = text;
	r->text_len = len;
	r->status = status;
	return 0;
}

void
req_set_location(struct req *r, const char *prefix, const char *id)
{
	snprintf(r->location, sizeof(r->location), "%s%s", prefix, id);
}

json_t *
req_time(int64_t ms)
{
	char buf[40];

	if (ms == 0)
		return json_null();
	time_format_ms(ms, buf, sizeof(buf));
	return json_string(buf);
}

void
req_new_id(char out[UUID_STR_LEN])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}
