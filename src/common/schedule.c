/*
 * schedule.c - snapshot schedules and retention durations: the parsers for
 * intervals, cron specs and durations, and the next-firing-time search.
 *
 * A cron spec is kept as one bitset per field.  schedule_next walks the
 * calendar forward from the minute after `after`, in civil-date fields
 * (year, month, day, hour, minute) computed with our own proleptic
 * Gregorian arithmetic, so neither TZ nor the C library's notion of local
 * time is involved.  It skips a whole month when the month does not match,
 * a whole day when the day does not, a whole hour when the hour does not,
 * and finds the minute with one bit scan; the worst case (a spec that
 * never fires, scanned for SCHEDULE_HORIZON_YEARS) is about a thousand
 * cheap steps.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "schedule.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define MS_PER_SEC	1000LL
#define MS_PER_MIN	(60 * MS_PER_SEC)
#define MS_PER_HOUR	(60 * MS_PER_MIN)
#define MS_PER_DAY	(24 * MS_PER_HOUR)

/* What a span (an interval or a duration) is called, and its bounds. */
struct span_kind {
	const char *what;
	int64_t min_ms;
	int64_t max_ms;
};

static const struct span_kind span_interval = {
	"interval", SCHEDULE_INTERVAL_MIN_MS, SCHEDULE_INTERVAL_MAX_MS
};
static const struct span_kind span_duration = {
	"duration", SCHEDULE_DURATION_MIN_MS, SCHEDULE_DURATION_MAX_MS
};

/* Largest first: a span must list its units in this order. */
static const struct {
	char unit;
	int64_t ms;
} span_units[] = {
	{ 'w', 7 * MS_PER_DAY },
	{ 'd', MS_PER_DAY },
	{ 'h', MS_PER_HOUR },
	{ 'm', MS_PER_MIN },
	{ 's', MS_PER_SEC },
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec",
};

static const char *const wday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};

/* One of the five cron fields. */
struct cron_field {
	const char *name;		/* "minute", as in messages */
	int min, max;			/* the values it accepts */
	int star_max;			/* what "*" spans up to */
	const char *const *names;	/* names[i] is value min + i */
	size_t nnames;
	const char *names_what;		/* "month name (jan-dec)" */
};

enum { CRON_MIN, CRON_HOUR, CRON_DOM, CRON_MON, CRON_DOW, CRON_NFIELDS };

static const struct cron_field cron_fields[CRON_NFIELDS] = {
	[CRON_MIN]  = { "minute", 0, 59, 59, NULL, 0, NULL },
	[CRON_HOUR] = { "hour", 0, 23, 23, NULL, 0, NULL },
	[CRON_DOM]  = { "day-of-month", 1, 31, 31, NULL, 0, NULL },
	[CRON_MON]  = { "month", 1, 12, 12, month_names, NELEM(month_names),
	    "month name (jan-dec)" },
	/* 7 is Sunday again; "*" stops at 6 so "*" + "/2" is 0,2,4,6 */
	[CRON_DOW]  = { "day-of-week", 0, 7, 6, wday_names, NELEM(wday_names),
	    "weekday name (sun-sat)" },
};

static const struct {
	const char *name;
	const char *spec;
} cron_macros[] = {
	{ "@hourly", "0 * * * *" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@monthly", "0 0 1 * *" },
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
};

static const char *
label_of(const char *field)
{
	return (field != NULL && *field != '\0') ? field : "schedule";
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * The checks every text gets before it is parsed: present, not empty, at
 * most SCHEDULE_TEXT_MAX bytes, printable ASCII (blanks included), and no
 * blank at either end.  `what` is "schedule" or "duration".
 */
static int
check_text(const char *text, const char *field, const char *what)
{
	const char *label = label_of(field);
	size_t len;

	if (text == NULL || *text == '\0')
		return err_set_field(ERR_INVALID, field,
		    "%s: the %s is empty", label, what);
	len = strnlen(text, SCHEDULE_TEXT_MAX + 1);
	if (len > SCHEDULE_TEXT_MAX)
		return err_set_field(ERR_INVALID, field,
		    "%s: the %s is longer than %d bytes", label, what,
		    SCHEDULE_TEXT_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= 0x80)
			return err_set_field(ERR_INVALID, field,
			    "%s: the %s contains a non-ASCII byte", label,
			    what);
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return err_set_field(ERR_INVALID, field,
			    "%s: the %s contains a control character", label,
			    what);
	}
	if (is_blank(text[0]) || is_blank(text[len - 1]))
		return err_set_field(ERR_INVALID, field,
		    "%s: '%s' has leading or trailing blanks", label, text);
	return 0;
}

/*
 * Parse a span: one or more <digits><unit>, units largest first, each at
 * most once, no blanks; the total within kind's bounds.  The text has
 * passed check_text.
 */
static int
parse_span(const char *text, const char *field, const struct span_kind *kind,
    int64_t *out_ms)
{
	const char *label = label_of(field);
	const char *p = text;
	int64_t total = 0;
	size_t next_unit = 0;

	if (*p == '-')
		return err_set_field(ERR_INVALID, field,
		    "%s: %s '%s' is negative", label, kind->what, text);
	while (*p != '\0') {
		int64_t n = 0;
		bool huge = false;
		size_t u;

		if (!is_digit(*p)) {
			for (u = 0; u < NELEM(span_units); u++)
				if (span_units[u].unit == *p)
					return err_set_field(ERR_INVALID,
					    field, "%s: %s '%s' has a unit "
					    "without a number before it", label,
					    kind->what, text);
			return err_set_field(ERR_INVALID, field,
			    "%s: '%s' is not a valid %s: write a number and "
			    "a unit (s, m, h, d, w), like 90s, 15m, 1h30m or "
			    "7d", label, text, kind->what);
		}
		for (; is_digit(*p); p++) {
			if (n > (INT64_MAX - 9) / 10)
				huge = true;
			else
				n = n * 10 + (*p - '0');
		}
		if (*p == '\0')
			return err_set_field(ERR_INVALID, field,
			    "%s: %s '%s' has a number without a unit (s, m, "
			    "h, d or w)", label, kind->what, text);
		for (u = 0; u < NELEM(span_units); u++)
			if (span_units[u].unit == *p)
				break;
		if (u == NELEM(span_units))
			return err_set_field(ERR_INVALID, field,
			    "%s: %s '%s' has an unknown unit '%c' (use s, m, "
			    "h, d or w)", label, kind->what, text, *p);
		if (u < next_unit)
			return err_set_field(ERR_INVALID, field,
			    "%s: %s '%s' repeats a unit or has its units out "
			    "of order (write the largest first, like 1d12h)",
			    label, kind->what, text);
		next_unit = u + 1;
		if (huge || n > kind->max_ms / span_units[u].ms ||
		    n * span_units[u].ms > kind->max_ms - total)
			return err_set_field(ERR_INVALID, field,
			    "%s: %s '%s' is longer than the maximum of %lld "
			    "days", label, kind->what, text,
			    (long long)(kind->max_ms / MS_PER_DAY));
		total += n * span_units[u].ms;
		p++;
	}
	if (total < kind->min_ms)
		return err_set_field(ERR_INVALID, field,
		    "%s: %s '%s' is shorter than the minimum of %lld "
		    "second%s", label, kind->what, text,
		    (long long)(kind->min_ms / MS_PER_SEC),
		    kind->min_ms == MS_PER_SEC ? "" : "s");
	*out_ms = total;
	return 0;
}

/*
 * Parse one value of cron field f at *pp (a number, or a name if f has
 * names), not beyond end; advance *pp past it.  `item` (ilen bytes) is the
 * list element it is part of, for messages.
 */
static int
cron_value(const struct cron_field *f, const char **pp, const char *end,
    const char *item, int ilen, const char *field, int *out)
{
	const char *label = label_of(field);
	const char *p = *pp;
	const char *tok = p;

	if (p < end && is_digit(*p)) {
		long n = 0;

		for (; p < end && is_digit(*p); p++)
			if (n <= 100000)
				n = n * 10 + (*p - '0');
		if (n < f->min || n > f->max)
			return err_set_field(ERR_INVALID, field,
			    "%s: %s field '%.*s' is out of range %d-%d",
			    label, f->name, (int)(p - tok), tok, f->min,
			    f->max);
		*out = (int)n;
		*pp = p;
		return 0;
	}
	if (p < end && is_alpha(*p)) {
		for (; p < end && is_alpha(*p); p++)
			;
		if (f->names == NULL)
			return err_set_field(ERR_INVALID, field,
			    "%s: %s field '%.*s' is not a number", label,
			    f->name, (int)(p - tok), tok);
		for (size_t i = 0; i < f->nnames; i++) {
			if (p - tok == (long)strlen(f->names[i]) &&
			    strncasecmp(tok, f->names[i], (size_t)(p - tok))
			    == 0) {
				*out = f->min + (int)i;
				*pp = p;
				return 0;
			}
		}
		return err_set_field(ERR_INVALID, field,
		    "%s: %s field '%.*s' is neither a number nor a %s",
		    label, f->name, (int)(p - tok), tok, f->names_what);
	}
	return err_set_field(ERR_INVALID, field,
	    "%s: %s field '%.*s' is not valid: use *, N, A-B, a list A,B,C "
	    "or a step like */N or A-B/N", label, f->name, ilen, item);
}

/* Parse one list element [s, e) of cron field f and OR its values in. */
static int
cron_item(const struct cron_field *f, const char *s, const char *e,
    const char *field, uint64_t *bits)
{
	const char *label = label_of(field);
	const char *p = s;
	int ilen = (int)(e - s);
	int lo, hi, step = 1;
	bool single = false;

	if (p < e && *p == '*') {
		lo = f->min;
		hi = f->star_max;
		p++;
	} else {
		if (cron_value(f, &p, e, s, ilen, field, &lo) == -1)
			return -1;
		hi = lo;
		single = true;
		if (p < e && *p == '-') {
			p++;
			if (cron_value(f, &p, e, s, ilen, field, &hi) == -1)
				return -1;
			single = false;
			/* "fri-sun", "5-0": a range may end on Sunday as 0 */
			if (f->max == 7 && hi == 0 && lo > 0)
				hi = 7;
			if (hi < lo)
				return err_set_field(ERR_INVALID, field,
				    "%s: %s field '%.*s' is a backwards range",
				    label, f->name, ilen, s);
		}
	}
	if (p < e && *p == '/') {
		const char *num = ++p;
		int span = f->star_max - f->min + 1;

		step = 0;
		for (; p < e && is_digit(*p); p++)
			if (step <= 100000)
				step = step * 10 + (*p - '0');
		if (p == num || p != e)
			return err_set_field(ERR_INVALID, field,
			    "%s: %s field '%.*s' has a step that is not a "
			    "number", label, f->name, ilen, s);
		if (step < 1 || step > span)
			return err_set_field(ERR_INVALID, field,
			    "%s: %s field '%.*s' has a step outside 1-%d",
			    label, f->name, ilen, s, span);
		if (single && lo < f->star_max)
			hi = f->star_max;	/* N/S means N-last/S */
	}
	if (p != e)
		return err_set_field(ERR_INVALID, field,
		    "%s: %s field '%.*s' is not valid: use *, N, A-B, a list "
		    "A,B,C or a step like */N or A-B/N", label, f->name, ilen,
		    s);
	for (int v = lo; v <= hi; v += step)
		*bits |= 1ULL << (f->max == 7 && v == 7 ? 0 : v);
	return 0;
}

/* Parse cron field f, the text [s, e), into a bitset. */
static int
cron_field_parse(const struct cron_field *f, const char *s, const char *e,
    const char *field, uint64_t *out)
{
	uint64_t bits = 0;
	const char *item = s;

	for (;;) {
		const char *comma = memchr(item, ',', (size_t)(e - item));
		const char *end = comma != NULL ? comma : e;

		if (end == item)
			return err_set_field(ERR_INVALID, field,
			    "%s: %s field '%.*s' has an empty list element",
			    label_of(field), f->name, (int)(e - s), s);
		if (cron_item(f, item, end, field, &bits) == -1)
			return -1;
		if (comma == NULL)
			break;
		item = comma + 1;
	}
	*out = bits;
	return 0;
}

/* Parse a 5-field cron spec (already checked by check_text). */
static int
cron_parse(const char *text, const char *field, struct schedule *out)
{
	const char *start[CRON_NFIELDS], *end[CRON_NFIELDS];
	struct schedule s;
	uint64_t bits[CRON_NFIELDS];
	const char *p = text;
	int n = 0;

	while (*p != '\0') {
		const char *b;

		for (; is_blank(*p); p++)
			;
		if (*p == '\0')
			break;
		for (b = p; *p != '\0' && !is_blank(*p); p++)
			;
		if (n < CRON_NFIELDS) {
			start[n] = b;
			end[n] = p;
		}
		n++;
	}
	if (n != CRON_NFIELDS)
		return err_set_field(ERR_INVALID, field,
		    "%s: '%s' has %d field%s; a cron schedule has 5: minute "
		    "hour day-of-month month day-of-week", label_of(field),
		    text, n, n == 1 ? "" : "s");
	for (int i = 0; i < CRON_NFIELDS; i++)
		if (cron_field_parse(&cron_fields[i], start[i], end[i], field,
		    &bits[i]) == -1)
			return -1;
	memset(&s, 0, sizeof(s));
	s.kind = SCHEDULE_CRON;
	s.minutes = bits[CRON_MIN];
	s.hours = (uint32_t)bits[CRON_HOUR];
	s.mdays = (uint32_t)bits[CRON_DOM];
	s.months = (uint16_t)bits[CRON_MON];
	s.wdays = (uint8_t)bits[CRON_DOW];
	s.dom_any = end[CRON_DOM] - start[CRON_DOM] == 1 &&
	    *start[CRON_DOM] == '*';
	s.dow_any = end[CRON_DOW] - start[CRON_DOW] == 1 &&
	    *start[CRON_DOW] == '*';
	*out = s;
	return 0;
}

static int
interval_parse(const char *text, const char *field, struct schedule *out)
{
	struct schedule s;
	int64_t ms;

	if (parse_span(text, field, &span_interval, &ms) == -1)
		return -1;
	memset(&s, 0, sizeof(s));
	s.kind = SCHEDULE_INTERVAL;
	s.interval_ms = ms;
	*out = s;
	return 0;
}

int
schedule_parse(const char *text, const char *field, struct schedule *out)
{
	const char *label = label_of(field);

	if (check_text(text, field, "schedule") == -1)
		return -1;
	if (text[0] == '@') {
		if (strncasecmp(text, "@every", 6) == 0 &&
		    (text[6] == '\0' || is_blank(text[6]))) {
			const char *p = text + 6;

			for (; is_blank(*p); p++)
				;
			if (*p == '\0')
				return err_set_field(ERR_INVALID, field,
				    "%s: '%s' needs an interval, like "
				    "'@every 15m'", label, text);
			return interval_parse(p, field, out);
		}
		for (size_t i = 0; i < NELEM(cron_macros); i++)
			if (strcasecmp(text, cron_macros[i].name) == 0)
				return cron_parse(cron_macros[i].spec, field,
				    out);
		return err_set_field(ERR_INVALID, field,
		    "%s: '%s' is not a known schedule: use '@every <interval>'"
		    ", @hourly, @daily, @weekly, @monthly or @yearly", label,
		    text);
	}
	/* One word starting with a digit is an interval: "15m". */
	if (is_digit(text[0]) && strpbrk(text, " \t") == NULL)
		return interval_parse(text, field, out);
	return cron_parse(text, field, out);
}

int
schedule_parse_duration(const char *text, const char *field,
    int64_t *out_ms)
{
	if (check_text(text, field, "duration") == -1)
		return -1;
	return parse_span(text, field, &span_duration, out_ms);
}

/*
 * Civil dates, proleptic Gregorian, after Howard Hinnant's
 * days_from_civil / civil_from_days: day 0 is 1970-01-01.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	int64_t yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, int m)
{
	static const int mdays[13] = {
		0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m];
}

/* Does day y-m-d match s's day-of-month and day-of-week fields? */
static bool
cron_day_matches(const struct schedule *s, int64_t y, int m, int d)
{
	int64_t days = days_from_civil(y, m, d);
	/* day 0, 1970-01-01, was a Thursday */
	int wday = (int)(((days % 7) + 11) % 7);
	bool dom = (s->mdays >> d) & 1;
	bool dow = (s->wdays >> wday) & 1;

	if (s->dom_any || s->dow_any)
		return dom && dow;
	return dom || dow;
}

/* Could s have come from cron_parse?  (Every field non-empty, in range.) */
static bool
cron_valid(const struct schedule *s)
{
	if (s->minutes == 0 || (s->minutes >> 60) != 0)
		return false;
	if (s->hours == 0 || (s->hours >> 24) != 0)
		return false;
	if (s->mdays == 0 || (s->mdays & 1) != 0)
		return false;
	if (s->months == 0 || (s->months & 1) != 0 || (s->months >> 13) != 0)
		return false;
	return s->wdays != 0 && (s->wdays >> 7) == 0;
}

static int64_t
cron_next(const struct schedule *s, int64_t after_ms)
{
	int64_t t = after_ms / MS_PER_MIN + 1;	/* after_ms >= 0 */
	int64_t y, ylast;
	int mo, d, h, mi, dim;

	civil_from_days(t / 1440, &y, &mo, &d);
	h = (int)(t % 1440) / 60;
	mi = (int)(t % 60);
	ylast = y + SCHEDULE_HORIZON_YEARS;
	dim = days_in_month(y, mo);
	for (;;) {
		uint64_t bits;

		if (d > dim) {		/* ran off the month */
			d = 1;
			h = mi = 0;
			if (++mo > 12) {
				mo = 1;
				y++;
			}
			dim = days_in_month(y, mo);
		}
		if (y > ylast)
			return -1;
		if (((s->months >> mo) & 1) == 0) {
			d = dim + 1;
			continue;
		}
		if (!cron_day_matches(s, y, mo, d)) {
			d++;
			h = mi = 0;
			continue;
		}
		bits = s->hours >> h;
		if (bits == 0) {
			d++;
			h = mi = 0;
			continue;
		}
		if ((bits & 1) == 0) {
			h += __builtin_ctzll(bits);
			mi = 0;
		}
		bits = s->minutes >> mi;
		if (bits == 0) {
			mi = 0;
			if (++h == 24) {
				h = 0;
				d++;
			}
			continue;
		}
		mi += __builtin_ctzll(bits);
		return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) *
		    MS_PER_MIN;
	}
}

int64_t
schedule_next(const struct schedule *s, int64_t after_ms)
{
	if (s == NULL || after_ms < 0 || after_ms > SCHEDULE_AFTER_MAX_MS)
		return -1;
	switch (s->kind) {
	case SCHEDULE_INTERVAL:
		if (s->interval_ms < SCHEDULE_INTERVAL_MIN_MS ||
		    s->interval_ms > SCHEDULE_INTERVAL_MAX_MS)
			return -1;
		return after_ms + s->interval_ms;
	case SCHEDULE_CRON:
		if (!cron_valid(s))
			return -1;
		return cron_next(s, after_ms);
	default:
		return -1;
	}
}
