/*
 * console.c - a VM's serial console over HTTP:
 *   GET  /v1/vms/{vm}/console        a WebSocket (RFC 6455) carrying the
 *                                    console both ways (console_ws.c
 *                                    runs it after the handshake here)
 *   GET  /v1/vms/{vm}/console/log    the last bytes it printed (?tail=N)
 *   POST /v1/vms/{vm}/console/type   type {"text": "..."} into it, or
 *                                    as key strokes ("via": "keys")
 * The WebSocket's handshake is checked here, and every refusal (a reader
 * asking to type, another writer, a VM that does not run) is still a
 * problem+json reply: the console is attached before the 101 goes out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/keymap.h"
#include "../common/ws.h"
#include "console_ws.h"
#include "req.h"

#define CONSOLE_TAIL_DEFAULT (64 * 1024)
#define CONSOLE_TAIL_MAX (1024 * 1024)
#define CONSOLE_TYPE_MAX 4096
/* typed as keys: one stroke per character, ~10 ms each */
#define CONSOLE_KEYS_MAX 1024
/* the subprotocol a client may ask for (and gets echoed) */
#define CONSOLE_PROTOCOL "hangar.console"

/* Does the comma-separated header value list have token (any case)? */
static bool
console_has_token(const char *list, const char *token)
{
	size_t n = strlen(token);

	while (list && *list) {
		list += strspn(list, " \t,");
		if (strncasecmp(list, token, n) == 0 &&
		    strchr(" \t,", list[n]) != NULL)
			return true;
		list += strcspn(list, ",");
	}
	return false;
}

static const char *
console_header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* The opening handshake (RFC 6455 4.2.1); the accept key into accept. */
static int
console_handshake(struct req *r, char accept[WS_ACCEPT_LEN])
{
	const char *up = console_header(r, MHD_HTTP_HEADER_UPGRADE);
	const char *conn = console_header(r, MHD_HTTP_HEADER_CONNECTION);
	const char *ver = console_header(r, "Sec-WebSocket-Version");

	if (up == NULL || !console_has_token(up, "websocket") ||
	    !console_has_token(conn, "upgrade"))
		return err_set_field(ERR_INVALID, "Upgrade", "the console is "
		    "a WebSocket: send 'Upgrade: websocket' and "
		    "'Connection: Upgrade' (or read GET .../console/log)");
	if (ver == NULL || strcmp(ver, "13") != 0)
		return err_set_field(ERR_INVALID, "Sec-WebSocket-Version",
		    "Sec-WebSocket-Version must be 13");
	if (ws_accept_key(console_header(r, "Sec-WebSocket-Key"), accept) < 0)
		return err_set_field(ERR_INVALID, "Sec-WebSocket-Key",
		    "Sec-WebSocket-Key must be 16 bytes in base64");
	return 0;
}

/* mode=read|write (default: write when the role allows), takeover. */
static int
console_mode(struct req *r, bool *write, bool *takeover)
{
	const char *mode = req_query(r, "mode");
	const char *t = req_query(r, "takeover");
	json_t *ext = NULL;

	if (mode && strcmp(mode, "read") != 0 && strcmp(mode, "write") != 0)
		return err_set_field(ERR_INVALID, "mode", "mode must be 'read' "
		    "or 'write'");
	if (t && strcmp(t, "0") != 0 && strcmp(t, "1") != 0 &&
	    strcmp(t, "true") != 0 && strcmp(t, "false") != 0)
		return err_set_field(ERR_INVALID, "takeover", "takeover must "
		    "be 1 or 0");
	*takeover = t && (strcmp(t, "1") == 0 || strcmp(t, "true") == 0);
	*write = mode ? strcmp(mode, "write") == 0 :
	    r->who->role >= AUTH_OPERATOR;
	if (*write && auth_permit(r->who, AUTH_OPERATOR, &ext) < 0) {
		r->problem_ext = ext;
		return -1;
	}
	return 0;
}

/* GET /v1/vms/{vm}/console: upgrade to the console's WebSocket */
int
console_ws(struct req *r)
{
	char accept[WS_ACCEPT_LEN];
	struct MHD_Response *resp;
	struct vm_rec v;
	struct wsc *w;
	bool write = false, takeover = false;

	if (console_handshake(r, accept) < 0 ||
	    console_mode(r, &write, &takeover) < 0 ||
	    vms_load(r, r->params[0], &v) < 0 ||
	    (w = console_ws_new(r->app, &v, write, takeover)) == NULL)
		return -1;
	if ((resp = MHD_create_response_for_upgrade(console_ws_upgraded,
	    w)) == NULL) {
		console_ws_done(w);
		return err_set(ERR_INTERNAL, "out of memory");
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	if (console_has_token(console_header(r, "Sec-WebSocket-Protocol"),
	    CONSOLE_PROTOCOL))
		MHD_add_response_header(resp, "Sec-WebSocket-Protocol",
		    CONSOLE_PROTOCOL);
	r->raw = resp;
	r->status = MHD_HTTP_SWITCHING_PROTOCOLS;
	r->done = console_ws_done;
	r->done_arg = w;
	return 0;
}

/* GET /v1/vms/{vm}/console/log?tail=N: the last N bytes it printed */
int
console_log_get(struct req *r)
{
	struct vm_rec v;
	int64_t tail;
	size_t n;
	char *buf;

	if (req_query_int(r, "tail", 1, CONSOLE_TAIL_MAX, CONSOLE_TAIL_DEFAULT,
	    &tail) < 0 || vms_load(r, r->params[0], &v) < 0)
		return -1;
	n = (size_t)tail;
	if ((buf = malloc(n)) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (console_log(r->app, &v, buf, &n) < 0) {
		free(buf);
		return -1;
	}
	r->raw = MHD_create_response_from_buffer(n, buf,
	    MHD_RESPMEM_MUST_FREE);
	if (r->raw == NULL) {
		free(buf);
		return err_set(ERR_INTERNAL, "out of memory");
	}
	/* the bytes as the guest printed them: not always UTF-8 */
	MHD_add_response_header(r->raw, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain");
	MHD_add_response_header(r->raw, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	r->status = 200;
	return 0;
}

static const struct body_field console_type_fields[] = {
	{ "text", BODY_STRING, true, 0, CONSOLE_TYPE_MAX },
	{ "via", BODY_STRING, false, 0, 16 },
};

/* text (n bytes) as key strokes into *combos (malloc'd), *count of them */
static int
console_type_keys(const char *text, size_t n, struct key_combo **combos,
    size_t *count)
{
	size_t bad;

	if (n > CONSOLE_KEYS_MAX)
		return err_set_field(ERR_INVALID, "text", "text typed as keys "
		    "is at most %d characters", CONSOLE_KEYS_MAX);
	if ((*combos = calloc(n, sizeof(**combos))) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (keymap_text(text, n, *combos, n, count, &bad) == 0)
		return 0;
	free(*combos);
	*combos = NULL;
	return err_set_field(ERR_INVALID, "text", "text cannot be typed as "
	    "keys on a US keyboard: the character at position %zu (from 0) "
	    "has no key (printable ASCII, newline, tab, backspace and escape "
	    "have)", bad);
}

/*
 * POST /v1/vms/{vm}/console/type {"text": "...", "via"?: "serial"|"keys"}:
 * type it into the serial console, or press its keys on the VM's
 * keyboard (a graphical console).  The default: keys for a VM with
 * graphics (a Windows guest has no shell on its serial port), else the
 * serial console, which every VM hangar makes has.
 */
int
console_type_post(struct req *r)
{
	struct key_combo *combos = NULL;
	struct vm_rec v;
	const char *via, *s;
	json_t *text;
	size_t n, count = 0;
	int rc;

	if (body_check(r, console_type_fields, 2) < 0)
		return -1;
	/* at most CONSOLE_TYPE_MAX bytes (body_check); jansson has checked
	 * it is UTF-8 (a body that is not is a 400) */
	text = json_object_get(r->body, "text");
	s = json_string_value(text);
	n = json_string_length(text);
	via = json_string_value(json_object_get(r->body, "via"));
	if (n == 0)
		return err_set_field(ERR_INVALID, "text", "text is empty");
	if (via && strcmp(via, "serial") != 0 && strcmp(via, "keys") != 0)
		return err_set_field(ERR_INVALID, "via", "via must be 'serial' "
		    "or 'keys'");
	if (vms_load(r, r->params[0], &v) < 0)
		return -1;
	if (via == NULL)
		via = strcmp(v.graphics, "vnc") == 0 ? "keys" : "serial";
	if (strcmp(via, "keys") == 0 &&
	    console_type_keys(s, n, &combos, &count) < 0)
		return -1;
	rc = combos ? console_keys(r->app, &v, combos, count) :
	    console_type(r->app, &v, s, n);
	free(combos);
	if (rc < 0)
		return -1;
	return req_reply(r, 200, json_pack("{s:s, s:I, s:s}", "vm", v.name,
	    "typed", (json_int_t)n, "via", via));
}
