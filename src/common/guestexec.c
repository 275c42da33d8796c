/*
 * guestexec.c - qemu-guest-agent's guest-exec replies and cloud-init's
 * status line, read (see guestexec.h).
 *
 * The agent's stdout comes base64-encoded in "out-data"; it is decoded
 * with GnuTLS and cut at GUESTEXEC_OUT_MAX.  cloud-init prints
 * "status: <word>" (22.4, Debian 12), possibly after blank lines and
 * followed by others ("detail:", "extended_status:" in later versions);
 * the first "status:" line at the start of a line counts.
 */
#include <stdint.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <jansson.h>

#include "guestexec.h"

/* The "return" object of an agent reply, or NULL (ref'd: decref it). */
static json_t *
ge_return(const char *reply)
{
	json_error_t je;
	json_t *root, *ret;

	if (reply == NULL)
		return NULL;
	root = json_loads(reply, JSON_REJECT_DUPLICATES, &je);
	ret = json_object_get(root, "return");
	if (!json_is_object(ret)) {
		json_decref(root);
		return NULL;
	}
	json_incref(ret);
	json_decref(root);
	return ret;
}

int
guestexec_pid(const char *reply, long long *pid)
{
	json_t *ret = ge_return(reply), *p;
	int r = -1;

	p = json_object_get(ret, "pid");
	if (json_is_integer(p) && json_integer_value(p) > 0) {
		*pid = (long long)json_integer_value(p);
		r = 0;
	}
	json_decref(ret);
	return r;
}

/* Decode base64 b64 into st->out, cut at GUESTEXEC_OUT_MAX. */
static int
ge_out(const char *b64, struct guestexec_status *st)
{
	gnutls_datum_t in, out = { NULL, 0 };
	size_t n;

	in.data = (unsigned char *)(uintptr_t)b64;
	in.size = (unsigned int)strlen(b64);
	if (in.size == 0)
		return 0;
	if (gnutls_base64_decode2(&in, &out) < 0)
		return -1;
	n = out.size;
	if (n > GUESTEXEC_OUT_MAX) {
		n = GUESTEXEC_OUT_MAX;
		st->out_truncated = true;
	}
	memcpy(st->out, out.data, n);
	st->out[n] = '\0';
	st->out_len = n;
	gnutls_free(out.data);
	return 0;
}

int
guestexec_status_parse(const char *reply, struct guestexec_status *st)
{
	json_t *ret = ge_return(reply), *v;
	int r = -1;

	memset(st, 0, sizeof(*st));
	if (ret == NULL)
		return -1;
	v = json_object_get(ret, "exited");
	if (!json_is_boolean(v))
		goto done;
	st->exited = json_is_true(v);
	st->exitcode = -1;
	if (json_is_integer(v = json_object_get(ret, "exitcode")) &&
	    json_integer_value(v) >= 0 && json_integer_value(v) <= 255)
		st->exitcode = (int)json_integer_value(v);
	if (json_is_true(json_object_get(ret, "out-truncated")))
		st->out_truncated = true;
	v = json_object_get(ret, "out-data");
	if (v != NULL && (!json_is_string(v) ||
	    ge_out(json_string_value(v), st) < 0))
		goto done;
	r = 0;
done:
	json_decref(ret);
	return r;
}

/* The word after "status:" on the first line that starts with it. */
static const char *
ge_status_word(const char *out, size_t *len)
{
	const char *p = out;

	while (p && *p) {
		if (strncmp(p, "status:", 7) == 0) {
			p += 7;
			while (*p == ' ' || *p == '\t')
				p++;
			*len = strcspn(p, "\r\n");
			while (*len > 0 && (p[*len - 1] == ' ' ||
			    p[*len - 1] == '\t'))
				(*len)--;
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

const char *
guestexec_cloudinit_state(const char *out, int exitcode)
{
	static const struct {
		const char *word;
		const char *state;
	} map[] = {
		{ "not run", "pending" }, { "not started", "pending" },
		{ "running", "running" }, { "done", "done" },
		{ "error", "error" }, { "degraded done", "done" },
		{ "degraded running", "running" }, { "degraded error", "error" },
		/* cloud-init will not run: provisioning cannot finish */
		{ "disabled", "error" },
	};
	size_t len = 0;
	const char *w = ge_status_word(out, &len);

	if (w == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].word) == len &&
		    strncmp(w, map[i].word, len) == 0)
			/* "done" that exits 1 is cloud-init saying error */
			return strcmp(map[i].state, "done") == 0 &&
			    exitcode == 1 ? "error" : map[i].state;
	return NULL;
}
