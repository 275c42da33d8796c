/*
 * jsonw.c - JSON text written straight into a growing buffer (jsonw.h),
 * the same text jansson's json_dumps(JSON_COMPACT) makes.
 *
 * Strings: '"' and '\\' are escaped, as are the control characters below
 * 0x20 (\b \f \n \r \t, others \u00XX with upper-case hex, as jansson
 * writes them); everything else, UTF-8 included, is copied.  A string
 * that is not valid UTF-8 (RFC 3629, as jansson checks it: utf8_seq)
 * fails the text.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/types.h"
#include "../common/utf8.h"
#include "jsonw.h"

#define JW_FIRST_CAP 1024

void
jw_init(struct jw *w)
{
	memset(w, 0, sizeof(*w));
}

void
jw_free(struct jw *w)
{
	free(w->buf);
	jw_init(w);
}

bool
jw_failed(const struct jw *w)
{
	return w->failed;
}

char *
jw_take(struct jw *w, size_t *len)
{
	char *buf = w->failed ? NULL : w->buf;

	*len = buf ? w->len : 0;
	if (buf == NULL)
		free(w->buf);
	jw_init(w);
	return buf;
}

/* Room for n more bytes and the NUL; false (and failed) if none. */
static bool
jw_room(struct jw *w, size_t n)
{
	size_t cap;
	char *b;

	if (w->failed)
		return false;
	if (w->len + n + 1 <= w->cap)
		return true;
	cap = w->cap ? w->cap : JW_FIRST_CAP;
	while (cap < w->len + n + 1)
		cap *= 2;
	if ((b = realloc(w->buf, cap)) == NULL) {
		w->failed = true;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static void
jw_put(struct jw *w, const char *s, size_t n)
{
	if (!jw_room(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void
jw_putc(struct jw *w, char c)
{
	jw_put(w, &c, 1);
}

/* Before a value: the ',' it needs inside an array. */
static void
jw_value(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0 && w->in_array[w->depth - 1]) {
		if (!w->first[w->depth - 1])
			jw_putc(w, ',');
		w->first[w->depth - 1] = false;
	}
}

void
jw_begin(struct jw *w, char open)
{
	jw_value(w);
	if (w->depth == JW_DEPTH) {
		w->failed = true;
		return;
	}
	jw_putc(w, open);
	w->in_array[w->depth] = open == '[';
	w->first[w->depth] = true;
	w->depth++;
}

void
jw_end(struct jw *w, char close)
{
	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	w->depth--;
	jw_putc(w, close);
}

void
jw_key(struct jw *w, const char *key)
{
	size_t n = strlen(key);

	if (w->depth == 0 || w->in_array[w->depth - 1] || !jw_room(w, n + 4)) {
		w->failed = true;
		return;
	}
	if (!w->first[w->depth - 1])
		w->buf[w->len++] = ',';
	w->first[w->depth - 1] = false;
	w->buf[w->len++] = '"';
	memcpy(w->buf + w->len, key, n);
	w->len += n;
	w->buf[w->len++] = '"';
	w->buf[w->len++] = ':';
	w->buf[w->len] = '\0';
	w->after_key = true;
}

void
jw_str(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run;

	jw_value(w);
	jw_putc(w, '"');
	while (u[i] && !w->failed) {
		/* copy the longest run that needs no escape */
		for (run = i; u[run] >= 0x20 && u[run] != '"' &&
		    u[run] != '\\'; ) {
			if (u[run] < 0x80) {
				run++;
			} else {
				size_t n = utf8_seq(u + run);

				if (n == 0) {
					w->failed = true;
					return;
				}
				run += n;
			}
		}
		jw_put(w, s + i, run - i);
		i = run;
		if (u[i] == '\0')
			break;
		switch (u[i]) {
		case '"':
			jw_put(w, "\\\"", 2);
			break;
		case '\\':
			jw_put(w, "\\\\", 2);
			break;
		case '\b':
			jw_put(w, "\\b", 2);
			break;
		case '\f':
			jw_put(w, "\\f", 2);
			break;
		case '\n':
			jw_put(w, "\\n", 2);
			break;
		case '\r':
			jw_put(w, "\\r", 2);
			break;
		case '\t':
			jw_put(w, "\\t", 2);
			break;
		default: {
			char e[6] = { '\\', 'u', '0', '0', hex[u[i] >> 4],
			    hex[u[i] & 0xf] };

			jw_put(w, e, sizeof(e));
			break;
		}
		}
		i++;
	}
	jw_putc(w, '"');
}

void
jw_str_or_null(struct jw *w, const char *s)
{
	if (s[0])
		jw_str(w, s);
	else
		jw_null(w);
}

void
jw_int(struct jw *w, int64_t n)
{
	char buf[24], *p = buf + sizeof(buf);
	/* as unsigned: -INT64_MIN does not fit an int64_t */
	uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (n < 0)
		*--p = '-';
	jw_value(w);
	jw_put(w, p, (size_t)(buf + sizeof(buf) - p));
}

void
jw_bool(struct jw *w, bool b)
{
	jw_value(w);
	jw_put(w, b ? "true" : "false", b ? 4 : 5);
}

void
jw_null(struct jw *w)
{
	jw_value(w);
	jw_put(w, "null", 4);
}

/* d as n digits, zero-padded, at p. */
static void
jw_digits(char *p, int64_t d, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + d % 10);
		d /= 10;
	}
}

void
jw_time(struct jw *w, int64_t ms)
{
	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" in quotes; 253402300800000 is
	 * 10000-01-01: past that (and before 1970), time_format_ms() */
	char buf[40];
	int64_t days, secs, y, era, doe, yoe, doy, mp, d, m;

	if (ms == 0) {
		jw_null(w);
		return;
	}
	if (ms < 0 || ms >= 253402300800000LL) {
		time_format_ms(ms, buf, sizeof(buf));
		jw_str(w, buf);
		return;
	}
	days = ms / 86400000;
	secs = (ms / 1000) % 86400;
	/* civil date from days since 1970-01-01 (proleptic Gregorian;
	 * H. Hinnant's days_from_civil, inverted) */
	days += 719468;
	era = days / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	memcpy(buf, "\"0000-00-00T00:00:00.000Z\"", 26);
	jw_digits(buf + 1, y, 4);
	jw_digits(buf + 6, m, 2);
	jw_digits(buf + 9, d, 2);
	jw_digits(buf + 12, secs / 3600, 2);
	jw_digits(buf + 15, secs / 60 % 60, 2);
	jw_digits(buf + 18, secs % 60, 2);
	jw_digits(buf + 21, ms % 1000, 3);
	jw_value(w);
	jw_put(w, buf, 26);
}
