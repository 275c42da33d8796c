/*
 * sse.c - a Server-Sent Events reader for `hangar events`, fed the body of
 * GET /v1/events piece by piece as libcurl hands it over.
 *
 * It follows the parsing rules of the HTML standard's EventSource: a line
 * ends in LF, CRLF or CR (a CRLF split between two pieces is still one
 * line end); "field: value" (one space after the colon is dropped);
 * "data" lines are joined with LF; "id" sets the id buffer, which becomes
 * the last event id when its frame ends (even a frame without data), so
 * a frame cut off by a dropped connection never counts as seen; "event"
 * names the type ("message" if none); a line
 * starting with ':' is a comment (hangard's keepalive); "retry" and
 * unknown fields are ignored; a blank line ends a frame, and a frame with
 * data is handed to the callback.  A frame cut off by the end of the
 * stream is dropped, as the standard says.
 *
 * Memory is bounded: a line, or a frame's data, longer than SSE_MAX is an
 * error, not a reason to grow without end.  Nothing here talks to the
 * network, so tests/unit/test_cli_output.c feeds it streams byte by byte.
 *
 * Example:
 *	struct sse s;
 *	sse_init(&s, on_event, arg);
 *	sse_feed(&s, "id: 4\nevent: vm.paused\nda", 25);
 *	sse_feed(&s, "ta: {}\n\n", 8);	(on_event(arg, "vm.paused", "4", "{}"))
 *	sse_free(&s);
 */
#include <stdlib.h>
#include <string.h>

#include "hangar.h"
#include "sse.h"

/* Append n bytes of src to *buf (length *len, capacity *cap), NUL-ended. */
static int
sse_append(char **buf, size_t *len, size_t *cap, const char *src, size_t n)
{
	size_t want;
	char *p;

	if (n > SSE_MAX - *len)
		return cli_fail(CLI_ERROR, "an event in the stream is longer "
		    "than %d KiB", SSE_MAX >> 10);
	want = *len + n + 1;
	if (want > *cap) {
		size_t c = *cap != 0 ? *cap : 256;

		while (c < want)
			c *= 2;
		if ((p = realloc(*buf, c)) == NULL)
			return cli_fail(CLI_ERROR, "out of memory");
		*buf = p;
		*cap = c;
	}
	memcpy(*buf + *len, src, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

void
sse_init(struct sse *s, sse_event_fn *fn, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->s_fn = fn;
	s->s_arg = arg;
}

void
sse_free(struct sse *s)
{
	free(s->s_line);
	free(s->s_data);
	s->s_line = s->s_data = NULL;
	s->s_linelen = s->s_linecap = s->s_datalen = s->s_datacap = 0;
}

/* The last event id seen ("" if none): what Last-Event-ID should say. */
const char *
sse_last_id(const struct sse *s)
{
	return s->s_last_id;
}

/*
 * Forget a half-read frame (the connection it came on is gone); the last
 * event id stays, for the next connection's Last-Event-ID.
 */
void
sse_reset(struct sse *s)
{
	memcpy(s->s_id, s->s_last_id, sizeof(s->s_id));
	s->s_linelen = s->s_datalen = 0;
	if (s->s_data != NULL)
		s->s_data[0] = '\0';
	s->s_has_data = false;
	s->s_skip_lf = false;
	s->s_type[0] = '\0';
}

/* A blank line: hand over the frame, if it has data. */
static int
sse_dispatch(struct sse *s)
{
	int rc = 0;

	memcpy(s->s_last_id, s->s_id, sizeof(s->s_last_id));
	if (s->s_has_data) {
		/* The data of each line ends in LF; drop the last one. */
		if (s->s_datalen > 0 && s->s_data[s->s_datalen - 1] == '\n')
			s->s_data[--s->s_datalen] = '\0';
		rc = s->s_fn(s->s_arg, s->s_type[0] != '\0' ? s->s_type :
		    "message", s->s_last_id[0] != '\0' ? s->s_last_id : NULL,
		    s->s_data != NULL ? s->s_data : "");
	}
	s->s_datalen = 0;
	if (s->s_data != NULL)
		s->s_data[0] = '\0';
	s->s_has_data = false;
	s->s_type[0] = '\0';
	return rc;
}

/* One whole line (no line end), as the standard reads it. */
static int
sse_line(struct sse *s, const char *line, size_t len)
{
	const char *colon, *value;
	size_t flen, vlen;

	if (len == 0)
		return sse_dispatch(s);
	if (line[0] == ':')
		return 0;			/* a comment: keepalive */
	if ((colon = memchr(line, ':', len)) != NULL) {
		flen = (size_t)(colon - line);
		value = colon + 1;
		vlen = len - flen - 1;
		if (vlen > 0 && *value == ' ') {
			value++;
			vlen--;
		}
	} else {
		flen = len;
		value = line + len;
		vlen = 0;
	}
	if (flen == 4 && memcmp(line, "data", 4) == 0) {
		s->s_has_data = true;
		if (sse_append(&s->s_data, &s->s_datalen, &s->s_datacap,
		    value, vlen) == -1 ||
		    sse_append(&s->s_data, &s->s_datalen, &s->s_datacap,
		    "\n", 1) == -1)
			return -1;
	} else if (flen == 5 && memcmp(line, "event", 5) == 0) {
		/* A longer type than any hangar sends is cut; harmless. */
		if (vlen >= sizeof(s->s_type))
			vlen = sizeof(s->s_type) - 1;
		memcpy(s->s_type, value, vlen);
		s->s_type[vlen] = '\0';
	} else if (flen == 2 && memcmp(line, "id", 2) == 0) {
		/* An id with a NUL is ignored; one too long is too. */
		if (memchr(value, '\0', vlen) == NULL &&
		    vlen < sizeof(s->s_id)) {
			memcpy(s->s_id, value, vlen);
			s->s_id[vlen] = '\0';
		}
	}
	/* "retry" and anything else: ignored. */
	return 0;
}

/*
 * Feed n bytes of the stream.  Returns 0, or -1 after reporting (a line or
 * an event too long, no memory) or when the callback returned -1.
 */
int
sse_feed(struct sse *s, const char *buf, size_t n)
{
	size_t i = 0, start;

	while (i < n) {
		/* The LF of a CRLF whose CR ended the previous piece. */
		if (s->s_skip_lf) {
			s->s_skip_lf = false;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		start = i;
		while (i < n && buf[i] != '\n' && buf[i] != '\r')
			i++;
		if (i == n) {
			/* No line end yet: keep the piece for later. */
			return sse_append(&s->s_line, &s->s_linelen,
			    &s->s_linecap, buf + start, i - start);
		}
		if (s->s_linelen > 0) {
			if (sse_append(&s->s_line, &s->s_linelen,
			    &s->s_linecap, buf + start, i - start) == -1 ||
			    sse_line(s, s->s_line, s->s_linelen) == -1)
				return -1;
			s->s_linelen = 0;
		} else if (sse_line(s, buf + start, i - start) == -1) {
			return -1;
		}
		if (buf[i] == '\r') {
			if (i + 1 < n) {
				if (buf[i + 1] == '\n')
					i++;
			} else {
				s->s_skip_lf = true;
			}
		}
		i++;
	}
	return 0;
}
