/*
 * body.c - checking what a client sent: JSON bodies against a field table
 * (unknown fields, types, ranges), query parameters and names.  Every
 * failure is ERR_INVALID naming the field, so the client knows what to fix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/utf8.h"
#include "req.h"

static const char *
body_type_name(enum body_type t)
{
	switch (t) {
	case BODY_INT: return "an integer";
	case BODY_BOOL: return "true or false";
	case BODY_NUMBER: return "a number";
	case BODY_OBJECT: return "an object";
	case BODY_ARRAY: return "an array";
	case BODY_ANY: return "a JSON value";
	default: return "a string";
	}
}

int
body_check_object(json_t *obj, const char *prefix,
    const struct body_field *fields, size_t n)
{
	const char *key;
	char name[128];
	json_t *v;
	size_t i;

	if (!json_is_object(obj)) {
		if (prefix)
			return err_set_field(ERR_INVALID, prefix, "%s must be "
			    "an object", prefix);
		return err_set(ERR_INVALID, "the request body must be a JSON "
		    "object");
	}
	json_object_foreach(obj, key, v) {
		const struct body_field *f = NULL;
		size_t len;
		int ok;

		for (i = 0; i < n; i++)
			if (strcmp(fields[i].name, key) == 0)
				f = &fields[i];
		snprintf(name, sizeof(name), "%s%s%.64s", prefix ? prefix : "",
		    prefix ? "." : "", key);
		if (f == NULL)
			return err_set_field(ERR_INVALID, name,
			    "unknown field '%s'", name);
		switch (f->type) {
		case BODY_INT:
			ok = json_is_integer(v);
			break;
		case BODY_BOOL:
			ok = json_is_boolean(v);
			break;
		case BODY_NUMBER:
			ok = json_is_number(v);
			break;
		case BODY_OBJECT:
			ok = json_is_object(v);
			break;
		case BODY_ARRAY:
			ok = json_is_array(v);
			break;
		case BODY_ANY:
			ok = true;
			break;
		default:
			ok = json_is_string(v);
			break;
		}
		if (!ok)
			return err_set_field(ERR_INVALID, name,
			    "%s must be %s", name, body_type_name(f->type));
		if (f->type == BODY_INT && (json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max))
			return err_set_field(ERR_INVALID, name,
			    "%s must be from %lld to %lld, not %lld", name,
			    (long long)f->min, (long long)f->max,
			    (long long)json_integer_value(v));
		if (f->type == BODY_STRING && (len = utf8_chars(
		    json_string_value(v), json_string_length(v))) >
		    (size_t)f->max)
			return err_set_field(ERR_INVALID, name,
			    "%s must be at most %lld characters (Unicode code "
			    "points), not %zu", name, (long long)f->max, len);
	}
	for (i = 0; i < n; i++) {
		if (!fields[i].required ||
		    json_object_get(obj, fields[i].name) != NULL)
			continue;
		snprintf(name, sizeof(name), "%s%s%s", prefix ? prefix : "",
		    prefix ? "." : "", fields[i].name);
		return err_set_field(ERR_INVALID, name, "%s is required", name);
	}
	return 0;
}

int
body_check(struct req *r, const struct body_field *fields, size_t n)
{
	if (r->body == NULL)
		r->body = json_object();
	return body_check_object(r->body, NULL, fields, n);
}

int
body_ratio(json_t *obj, const char *name, double def, double *out)
{
	json_t *v = json_object_get(obj, name);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) > 0) ||
	    json_number_value(v) > 1000)
		return err_set_field(ERR_INVALID, name, "%s must be a number "
		    "above 0 and at most 1000", name);
	*out = json_number_value(v);
	return 0;
}

static bool
body_label_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 63 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

int
body_labels(json_t *obj, const char *field, struct sched_label *out,
    size_t max, size_t *n)
{
	const char *key;
	json_t *v;

	*n = 0;
	if (obj == NULL)
		return 0;
	if (!json_is_object(obj))
		return err_set_field(ERR_INVALID, field, "%s must be an object "
		    "of strings", field);
	if (json_object_size(obj) > max)
		return err_set_field(ERR_INVALID, field, "%s may have at most "
		    "%zu labels", field, max);
	json_object_foreach(obj, key, v) {
		if (!body_label_ok(key) || !json_is_string(v) ||
		    !body_label_ok(json_string_value(v)))
			return err_set_field(ERR_INVALID, field, "%s: keys and "
			    "values must be strings of 1 to 63 lower-case "
			    "letters, digits, '.', '_' or '-'", field);
		snprintf(out[*n].key, sizeof(out[*n].key), "%s", key);
		snprintf(out[*n].value, sizeof(out[*n].value), "%s",
		    json_string_value(v));
		(*n)++;
	}
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
	return name_check(field, name);
}

/* --- where in a body a byte is: the field a bad byte is in --- */

#define BODY_WHERE_DEPTH 16

struct body_frame {
	bool object;
	bool want_key;             /* an object between '{'/',' and ':' */
	size_t index;              /* an array's element */
	char key[64];              /* an object's current member */
};

/* The path of the frames f[0..n) into out: a.b[2].c */
static void
body_where_path(const struct body_frame *f, int n, char *out, size_t len)
{
	size_t off = 0;

	out[0] = '\0';
	for (int i = 0; i < n && off < len; i++) {
		int w = 0;

		if (f[i].object && !f[i].want_key)
			w = snprintf(out + off, len - off, "%s%s",
			    off ? "." : "", f[i].key);
		else if (!f[i].object)
			w = snprintf(out + off, len - off, "[%zu]", f[i].index);
		if (w < 0 || f[i].want_key)
			break;
		off += (size_t)w;
	}
}

/* One byte outside a string: the structure it opens, closes or moves. */
static void
body_where_byte(char ch, struct body_frame *f, int *n)
{
	struct body_frame *top = *n > 0 && *n <= BODY_WHERE_DEPTH ?
	    &f[*n - 1] : NULL;

	if (ch == '{' || ch == '[') {
		if (*n < BODY_WHERE_DEPTH) {
			memset(&f[*n], 0, sizeof(f[0]));
			f[*n].object = ch == '{';
			f[*n].want_key = ch == '{';
		}
		(*n)++;
	} else if ((ch == '}' || ch == ']') && *n > 0) {
		(*n)--;
	} else if (ch == ',' && top) {
		if (top->object)
			top->want_key = true;
		else
			top->index++;
	} else if (ch == ':' && top && top->object) {
		top->want_key = false;
	}
}

void
body_where(const char *text, size_t len, size_t pos, char *field,
    size_t flen)
{
	struct body_frame f[BODY_WHERE_DEPTH];
	bool in_str = false, is_key = false;
	size_t klen = 0;
	int n = 0;

	for (size_t i = 0; i < len && i < pos; i++) {
		char ch = text[i];
		struct body_frame *top = n > 0 && n <= BODY_WHERE_DEPTH ?
		    &f[n - 1] : NULL;

		if (!in_str) {
			if (ch == '"') {
				in_str = true;
				is_key = top && top->object && top->want_key;
				klen = 0;
				if (is_key)
					top->key[0] = '\0';
			} else {
				body_where_byte(ch, f, &n);
			}
			continue;
		}
		if (ch == '\\') {
			i++;            /* the escaped byte is no quote */
		} else if (ch == '"') {
			in_str = false;
		} else if (is_key && klen + 1 < sizeof(top->key)) {
			top->key[klen++] = ch;
			top->key[klen] = '\0';
		}
	}
	body_where_path(f, n < BODY_WHERE_DEPTH ? n : BODY_WHERE_DEPTH, field,
	    flen);
}
