/*
 * body.c - checking what a client sent: JSON bodies against a field table
 * (unknown fields, types, ranges), query parameters and names.  Every
 * failure is ERR_INVALID naming the field, so the client knows what to fix.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

static const char *
body_type_name(enum body_type t)
{
	switch (t) {
	case BODY_INT: return "an integer";
	case BODY_BOOL: return "true or false";
	default: return "a string";
	}
}

int
body_check(struct req *r, const struct body_field *fields, size_t n)
{
	const char *key;
	json_t *v;
	size_t i;

	if (r->body == NULL)
		r->body = json_object();
	if (!json_is_object(r->body))
		return err_set(ERR_INVALID, "the request body must be a JSON "
		    "object");
	json_object_foreach(r->body, key, v) {
		const struct body_field *f = NULL;
		int ok;

		for (i = 0; i < n; i++)
			if (strcmp(fields[i].name, key) == 0)
				f = &fields[i];
		if (f == NULL)
			return err_set_field(ERR_INVALID, key,
			    "unknown field '%.64s'", key);
		switch (f->type) {
		case BODY_INT:
			ok = json_is_integer(v);
			break;
		case BODY_BOOL:
			ok = json_is_boolean(v);
			break;
		default:
			ok = json_is_string(v);
			break;
		}
		if (!ok)
			return err_set_field(ERR_INVALID, f->name,
			    "%s must be %s", f->name, body_type_name(f->type));
		if (f->type == BODY_INT && (json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max))
			return err_set_field(ERR_INVALID, f->name,
			    "%s must be from %lld to %lld, not %lld", f->name,
			    (long long)f->min, (long long)f->max,
			    (long long)json_integer_value(v));
		if (f->type == BODY_STRING &&
		    json_string_length(v) > (size_t)f->max)
			return err_set_field(ERR_INVALID, f->name,
			    "%s must be at most %lld characters", f->name,
			    (long long)f->max);
	}
	for (i = 0; i < n; i++)
		if (fields[i].required &&
		    json_object_get(r->body, fields[i].name) == NULL)
			return err_set_field(ERR_INVALID, fields[i].name,
			    "%s is required", fields[i].name);
	return 0;
}

int64_t
body_int(struct req *r, const char *name, int64_t def)
{
	json_t *v = json_object_get(r->body, name);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

bool
body_bool(struct req *r, const char *name, bool def)
{
	json_t *v = json_object_get(r->body, name);

	return json_is_boolean(v) ? json_is_true(v) : def;
}

const char *
body_string(struct req *r, const char *name)
{
	return json_string_value(json_object_get(r->body, name));
}

const char *
req_query(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

int
req_query_int(struct req *r, const char *name, int64_t min, int64_t max,
    int64_t def, int64_t *out)
{
	const char *s = req_query(r, name);
	char *end;
	long long v;

	if (s == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return err_set_field(ERR_INVALID, name, "query parameter '%s' "
		    "must be an integer from %lld to %lld", name,
		    (long long)min, (long long)max);
	*out = v;
	return 0;
}

int
req_check_name(const char *field, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63)
		return err_set_field(ERR_INVALID, field, "%s must be 1 to 63 "
		    "characters long", field);
	if (name[0] == '-')
		return err_set_field(ERR_INVALID, field, "%s must not start "
		    "with '-'", field);
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return err_set_field(ERR_INVALID, field, "%s may only contain "
		    "lower-case letters, digits and '-'", field);
	return 0;
}
