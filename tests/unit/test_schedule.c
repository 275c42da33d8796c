/*
 * test_schedule.c - unit tests of common/schedule.c: intervals and their
 * next time, every cron field form (N, *, A-B, lists, steps, names, 7 as
 * Sunday), the day-of-month / day-of-week OR rule, the macros, month,
 * year and leap-year rollover, specs that never fire, a brute-force
 * cross-check of schedule_next against a minute-by-minute walk, the
 * invalid inputs (each must fail with ERR_INVALID naming the field and
 * leave the output alone), and retention durations.
 *
 * Expected times are written as UTC calendar dates and turned into epoch
 * ms with timegm, which is independent of the module's own date code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/schedule.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

/* y-mo-d h:mi:s UTC as ms since the epoch. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm) * 1000;
}

/* Print ms as a date, so a failed comparison is readable. */
static const char *
fmt(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0) {
		snprintf(buf, len, "%lld", (long long)ms);
		return buf;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ (%a)", &tm);
	return buf;
}

/* schedule_next(spec, after) must be want. */
static void
check_next_(const char *spec, int64_t after, int64_t want, int line)
{
	struct schedule s;
	int64_t got;
	char a[64], b[64], c[64];

	if (schedule_parse(spec, "snapshot_schedule", &s) != 0)
		fail_msg("line %d: '%s' did not parse: %s", line, spec,
		    err_last()->msg);
	got = schedule_next(&s, after);
	if (got != want)
		fail_msg("line %d: '%s' after %s: got %s, want %s", line, spec,
		    fmt(after, a, sizeof(a)), fmt(got, b, sizeof(b)),
		    fmt(want, c, sizeof(c)));
}
#define check_next(spec, after, want) \
	check_next_((spec), (after), (want), __LINE__)

/* spec fires at each of want[0..n-1] in turn, starting after `after`. */
static void
check_seq_(const char *spec, int64_t after, const int64_t *want, size_t n,
    int line)
{
	for (size_t i = 0; i < n; i++) {
		check_next_(spec, after, want[i], line);
		after = want[i];
	}
}
#define check_seq(spec, after, ...) do {				\
	const int64_t want_[] = { __VA_ARGS__ };			\
	check_seq_((spec), (after), want_, NELEM(want_), __LINE__);	\
} while (0)

static struct schedule
parsed(const char *spec)
{
	struct schedule s;

	if (schedule_parse(spec, "snapshot_schedule", &s) != 0)
		fail_msg("'%s' did not parse: %s", spec, err_last()->msg);
	return s;
}

/* Bitset of the given values. */
static uint64_t
bits_of(int n, ...)
{
	uint64_t b = 0;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		b |= 1ULL << va_arg(ap, int);
	va_end(ap);
	return b;
}

static uint64_t
bits_range(int lo, int hi)
{
	uint64_t b = 0;

	for (int v = lo; v <= hi; v++)
		b |= 1ULL << v;
	return b;
}

static void
assert_same_schedule(const struct schedule *a, const struct schedule *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->interval_ms, b->interval_ms);
	assert_int_equal(a->minutes, b->minutes);
	assert_int_equal(a->hours, b->hours);
	assert_int_equal(a->mdays, b->mdays);
	assert_int_equal(a->months, b->months);
	assert_int_equal(a->wdays, b->wdays);
	assert_int_equal(a->dom_any, b->dom_any);
	assert_int_equal(a->dow_any, b->dow_any);
}

/* ---- intervals ---- */

static void
test_interval_parse(void **state)
{
	static const struct {
		const char *text;
		int64_t ms;
	} ok[] = {
		{ "@every 90s", 90 * SEC },
		{ "@every 15m", 15 * MIN },
		{ "@every 1h30m", 90 * MIN },
		{ "@every 2d", 2 * DAY },
		{ "@every 1w", 7 * DAY },
		{ "@every 1w2d3h4m5s", 9 * DAY + 3 * HOUR + 4 * MIN + 5 * SEC },
		{ "@every  \t 6h", 6 * HOUR },
		{ "@EVERY 6h", 6 * HOUR },
		{ "@every 1s", SEC },
		{ "@every 366d", 366 * DAY },
		{ "@every 52w2d", 366 * DAY },
		{ "@every 0h1s", SEC },
		{ "@every 0090m", 90 * MIN },
		{ "15m", 15 * MIN },
		{ "1h30m", 90 * MIN },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(ok); i++) {
		struct schedule s = parsed(ok[i].text);

		assert_int_equal(s.kind, SCHEDULE_INTERVAL);
		assert_int_equal(s.interval_ms, ok[i].ms);
	}
}

static void
test_interval_next(void **state)
{
	int64_t t = utc(2026, 11, 24, 16, 40, 12) + 345;

	(void)state;
	check_next("@every 90s", t, t + 90 * SEC);
	check_next("@every 1h30m", t, t + 90 * MIN);
	check_next("15m", 0, 15 * MIN);
	check_seq("@every 1d", utc(2028, 2, 28, 12, 0, 0),
	    utc(2028, 2, 29, 12, 0, 0), utc(2028, 3, 1, 12, 0, 0));
	check_next("@every 366d", SCHEDULE_AFTER_MAX_MS,
	    SCHEDULE_AFTER_MAX_MS + 366 * DAY);
}

/* ---- cron fields ---- */

static void
test_cron_star(void **state)
{
	struct schedule s = parsed("* * * * *");

	(void)state;
	assert_int_equal(s.kind, SCHEDULE_CRON);
	assert_int_equal(s.minutes, bits_range(0, 59));
	assert_int_equal(s.hours, bits_range(0, 23));
	assert_int_equal(s.mdays, bits_range(1, 31));
	assert_int_equal(s.months, bits_range(1, 12));
	assert_int_equal(s.wdays, bits_range(0, 6));
	assert_true(s.dom_any);
	assert_true(s.dow_any);
	/* strictly after, at whole minutes */
	check_next("* * * * *", utc(2026, 5, 10, 12, 0, 0),
	    utc(2026, 5, 10, 12, 1, 0));
	check_next("* * * * *", utc(2026, 5, 10, 12, 0, 0) - 1,
	    utc(2026, 5, 10, 12, 0, 0));
	check_next("* * * * *", utc(2026, 5, 10, 12, 0, 59) + 999,
	    utc(2026, 5, 10, 12, 1, 0));
	check_next("* * * * *", 0, MIN);
	check_next("* * * * *", utc(2026, 12, 31, 23, 59, 30),
	    utc(2027, 1, 1, 0, 0, 0));
}

static void
test_cron_number(void **state)
{
	(void)state;
	check_next("30 4 * * *", utc(2026, 5, 10, 4, 29, 59),
	    utc(2026, 5, 10, 4, 30, 0));
	check_next("30 4 * * *", utc(2026, 5, 10, 4, 30, 0),
	    utc(2026, 5, 11, 4, 30, 0));
	check_next("30 4 * * *", utc(2026, 5, 10, 5, 0, 0),
	    utc(2026, 5, 11, 4, 30, 0));
	check_next("0 0 15 * *", utc(2026, 5, 15, 0, 0, 0),
	    utc(2026, 6, 15, 0, 0, 0));
	check_next("0 0 1 7 *", utc(2026, 7, 1, 0, 0, 1),
	    utc(2027, 7, 1, 0, 0, 0));
	check_next("59 23 * * *", utc(2026, 5, 10, 23, 59, 0),
	    utc(2026, 5, 11, 23, 59, 0));
	check_next("0 0 * * 3", utc(2026, 5, 10, 12, 0, 0),   /* a Sunday */
	    utc(2026, 5, 13, 0, 0, 0));
	/* leading zeros are numbers too */
	check_next("05 007 * * *", utc(2026, 5, 10, 0, 0, 0),
	    utc(2026, 5, 10, 7, 5, 0));
}

static void
test_cron_range(void **state)
{
	struct schedule s = parsed("10-12 22-23 1-3 11-12 1-5");

	(void)state;
	assert_int_equal(s.minutes, bits_range(10, 12));
	assert_int_equal(s.hours, bits_range(22, 23));
	assert_int_equal(s.mdays, bits_range(1, 3));
	assert_int_equal(s.months, bits_range(11, 12));
	assert_int_equal(s.wdays, bits_range(1, 5));
	assert_false(s.dom_any);
	assert_false(s.dow_any);
	check_seq("10-12 * * * *", utc(2026, 5, 10, 12, 0, 0),
	    utc(2026, 5, 10, 12, 10, 0), utc(2026, 5, 10, 12, 11, 0),
	    utc(2026, 5, 10, 12, 12, 0), utc(2026, 5, 10, 13, 10, 0));
	check_seq("0 22-23 * * *", utc(2026, 5, 10, 12, 0, 0),
	    utc(2026, 5, 10, 22, 0, 0), utc(2026, 5, 10, 23, 0, 0),
	    utc(2026, 5, 11, 22, 0, 0));
	/* a one-value range */
	s = parsed("7-7 * * * *");
	assert_int_equal(s.minutes, bits_of(1, 7));
}

static void
test_cron_list(void **state)
{
	struct schedule s = parsed("0,15,45 1,5-7,20 1,15 2,4,6 0,3");

	(void)state;
	assert_int_equal(s.minutes, bits_of(3, 0, 15, 45));
	assert_int_equal(s.hours, bits_of(5, 1, 5, 6, 7, 20));
	assert_int_equal(s.mdays, bits_of(2, 1, 15));
	assert_int_equal(s.months, bits_of(3, 2, 4, 6));
	assert_int_equal(s.wdays, bits_of(2, 0, 3));
	/* duplicates and overlaps are harmless */
	s = parsed("5,5,1-10,3 * * * *");
	assert_int_equal(s.minutes, bits_range(1, 10));
	check_seq("0,15,45 * * * *", utc(2026, 5, 10, 12, 40, 0),
	    utc(2026, 5, 10, 12, 45, 0), utc(2026, 5, 10, 13, 0, 0),
	    utc(2026, 5, 10, 13, 15, 0), utc(2026, 5, 10, 13, 45, 0));
}

static void
test_cron_steps(void **state)
{
	struct schedule s;

	(void)state;
	s = parsed("*/15 */6 */10 */3 */2");
	assert_int_equal(s.minutes, bits_of(4, 0, 15, 30, 45));
	assert_int_equal(s.hours, bits_of(4, 0, 6, 12, 18));
	assert_int_equal(s.mdays, bits_of(4, 1, 11, 21, 31));
	assert_int_equal(s.months, bits_of(4, 1, 4, 7, 10));
	assert_int_equal(s.wdays, bits_of(4, 0, 2, 4, 6));
	assert_false(s.dom_any);		/* a stepped star restricts */
	assert_false(s.dow_any);
	s = parsed("10-50/20 1-23/11 * * *");
	assert_int_equal(s.minutes, bits_of(3, 10, 30, 50));
	assert_int_equal(s.hours, bits_of(3, 1, 12, 23));
	s = parsed("5/20 22/1 * * 5/1");	/* N/S is N-last/S */
	assert_int_equal(s.minutes, bits_of(3, 5, 25, 45));
	assert_int_equal(s.hours, bits_of(2, 22, 23));
	assert_int_equal(s.wdays, bits_of(2, 5, 6));
	s = parsed("*/60 */24 */31 */12 */7");	/* the largest steps */
	assert_int_equal(s.minutes, bits_of(1, 0));
	assert_int_equal(s.hours, bits_of(1, 0));
	assert_int_equal(s.mdays, bits_of(1, 1));
	assert_int_equal(s.months, bits_of(1, 1));
	assert_int_equal(s.wdays, bits_of(1, 0));
	s = parsed("*/1 * * * *");
	assert_int_equal(s.minutes, bits_range(0, 59));
	s = parsed("0,*/20,7-9/2 * * * *");
	assert_int_equal(s.minutes, bits_of(5, 0, 20, 40, 7, 9));
	check_seq("*/20 * * * *", utc(2026, 5, 10, 23, 30, 0),
	    utc(2026, 5, 10, 23, 40, 0), utc(2026, 5, 11, 0, 0, 0),
	    utc(2026, 5, 11, 0, 20, 0));
}

static void
test_cron_names(void **state)
{
	struct schedule s;

	(void)state;
	s = parsed("0 0 1 jan,Jul,DEC *");
	assert_int_equal(s.months, bits_of(3, 1, 7, 12));
	s = parsed("0 0 1 feb-apr *");
	assert_int_equal(s.months, bits_range(2, 4));
	s = parsed("0 0 1 jan-dec/3 *");
	assert_int_equal(s.months, bits_of(4, 1, 4, 7, 10));
	s = parsed("0 0 1 2-Jun *");		/* names and numbers mix */
	assert_int_equal(s.months, bits_range(2, 6));
	s = parsed("0 9 * * Mon-FRI");
	assert_int_equal(s.wdays, bits_range(1, 5));
	s = parsed("0 9 * * sun,sat");
	assert_int_equal(s.wdays, bits_of(2, 0, 6));
	s = parsed("0 9 * * tue,wed,thu");
	assert_int_equal(s.wdays, bits_range(2, 4));
	/* a range may end on Sunday: sun, 0 or 7 */
	s = parsed("0 9 * * fri-sun");
	assert_int_equal(s.wdays, bits_of(3, 5, 6, 0));
	s = parsed("0 9 * * mon-sun");
	assert_int_equal(s.wdays, bits_range(0, 6));
	s = parsed("0 9 * * 5-0");
	assert_int_equal(s.wdays, bits_of(3, 5, 6, 0));
	check_seq("0 9 * * mon-fri", utc(2026, 5, 8, 9, 0, 0),  /* a Friday */
	    utc(2026, 5, 11, 9, 0, 0), utc(2026, 5, 12, 9, 0, 0));
	check_next("0 0 1 jul *", utc(2026, 7, 1, 0, 0, 0),
	    utc(2027, 7, 1, 0, 0, 0));
}

static void
test_cron_sunday_7(void **state)
{
	struct schedule a = parsed("0 0 * * 0");
	struct schedule b = parsed("0 0 * * 7");
	struct schedule c = parsed("0 0 * * sun");
	struct schedule d;

	(void)state;
	assert_same_schedule(&a, &b);
	assert_same_schedule(&a, &c);
	d = parsed("0 0 * * 5-7");
	assert_int_equal(d.wdays, bits_of(3, 5, 6, 0));
	d = parsed("0 0 * * 0-7");
	assert_int_equal(d.wdays, bits_range(0, 6));
	d = parsed("0 0 * * 7/2");		/* just Sunday */
	assert_int_equal(d.wdays, bits_of(1, 0));
	check_next("0 0 * * 7", utc(2026, 5, 10, 0, 0, 0),	/* a Sunday */
	    utc(2026, 5, 17, 0, 0, 0));
}

/* When both day fields are restricted a day matches if either does. */
static void
test_cron_dom_dow_or(void **state)
{
	(void)state;
	/* the 13th, or any Friday: 2026-03-13 is both */
	check_seq("0 0 13 * 5", utc(2026, 3, 1, 0, 0, 0),
	    utc(2026, 3, 6, 0, 0, 0), utc(2026, 3, 13, 0, 0, 0),
	    utc(2026, 3, 20, 0, 0, 0), utc(2026, 3, 27, 0, 0, 0),
	    utc(2026, 4, 3, 0, 0, 0), utc(2026, 4, 10, 0, 0, 0),
	    utc(2026, 4, 13, 0, 0, 0), utc(2026, 4, 17, 0, 0, 0));
	/* each field alone restricts as usual */
	check_seq("0 0 13 * *", utc(2026, 3, 1, 0, 0, 0),
	    utc(2026, 3, 13, 0, 0, 0), utc(2026, 4, 13, 0, 0, 0));
	check_seq("0 0 * * 5", utc(2026, 3, 1, 0, 0, 0),
	    utc(2026, 3, 6, 0, 0, 0), utc(2026, 3, 13, 0, 0, 0));
	/* the OR also fires on a DOW when the DOM never can */
	check_next("0 0 31 2 mon", utc(2026, 2, 1, 0, 0, 0),
	    utc(2026, 2, 2, 0, 0, 0));
	/* a stepped star counts as restricted: odd days or Mondays */
	check_seq("0 0 */2 * 1", utc(2026, 3, 1, 0, 0, 0),
	    utc(2026, 3, 2, 0, 0, 0), utc(2026, 3, 3, 0, 0, 0),
	    utc(2026, 3, 5, 0, 0, 0));
	/* the month still applies to both */
	check_seq("0 0 1 jun sat", utc(2026, 5, 1, 0, 0, 0),
	    utc(2026, 6, 1, 0, 0, 0), utc(2026, 6, 6, 0, 0, 0),
	    utc(2026, 6, 13, 0, 0, 0));
}

static void
test_cron_macros(void **state)
{
	static const struct {
		const char *macro, *spec;
	} eq[] = {
		{ "@hourly", "0 * * * *" },
		{ "@daily", "0 0 * * *" },
		{ "@midnight", "0 0 * * *" },
		{ "@weekly", "0 0 * * 0" },
		{ "@monthly", "0 0 1 * *" },
		{ "@yearly", "0 0 1 1 *" },
		{ "@annually", "0 0 1 1 *" },
		{ "@DAILY", "0 0 * * *" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(eq); i++) {
		struct schedule a = parsed(eq[i].macro);
		struct schedule b = parsed(eq[i].spec);

		assert_same_schedule(&a, &b);
	}
	check_next("@daily", utc(2026, 11, 24, 16, 40, 0),
	    utc(2026, 11, 25, 0, 0, 0));
	check_next("@daily", utc(2026, 11, 24, 0, 0, 0),
	    utc(2026, 11, 25, 0, 0, 0));
	check_next("@daily", utc(2026, 11, 24, 0, 0, 0) - 1,
	    utc(2026, 11, 24, 0, 0, 0));
	check_next("@hourly", utc(2026, 11, 24, 23, 0, 1),
	    utc(2026, 11, 25, 0, 0, 0));
	check_next("@weekly", utc(2026, 11, 24, 16, 40, 0),	/* Tuesday */
	    utc(2026, 11, 29, 0, 0, 0));
	check_next("@monthly", utc(2026, 11, 24, 16, 40, 0),
	    utc(2026, 12, 1, 0, 0, 0));
	check_next("@yearly", utc(2026, 11, 24, 16, 40, 0),
	    utc(2027, 1, 1, 0, 0, 0));
}

/* ---- the calendar ---- */

static void
test_month_rollover(void **state)
{
	(void)state;
	check_seq("0 0 31 * *", utc(2026, 1, 31, 0, 0, 0),
	    utc(2026, 3, 31, 0, 0, 0), utc(2026, 5, 31, 0, 0, 0),
	    utc(2026, 7, 31, 0, 0, 0), utc(2026, 8, 31, 0, 0, 0),
	    utc(2026, 10, 31, 0, 0, 0), utc(2026, 12, 31, 0, 0, 0),
	    utc(2027, 1, 31, 0, 0, 0));
	check_seq("0 0 30 * *", utc(2026, 1, 30, 0, 0, 0),
	    utc(2026, 3, 30, 0, 0, 0));
	check_next("0 12 1 * *", utc(2026, 1, 31, 13, 0, 0),
	    utc(2026, 2, 1, 12, 0, 0));
	check_next("* * * * *", utc(2026, 4, 30, 23, 59, 0),
	    utc(2026, 5, 1, 0, 0, 0));
	check_next("0 0 29 * *", utc(2026, 1, 29, 0, 0, 0),
	    utc(2026, 3, 29, 0, 0, 0));
	check_next("0 0 29 * *", utc(2028, 1, 29, 0, 0, 0),
	    utc(2028, 2, 29, 0, 0, 0));
}

static void
test_leap_years(void **state)
{
	(void)state;
	check_next("0 0 29 2 *", utc(2026, 3, 1, 0, 0, 0),
	    utc(2028, 2, 29, 0, 0, 0));
	check_seq("0 0 29 2 *", utc(2028, 2, 29, 0, 0, 0),
	    utc(2032, 2, 29, 0, 0, 0), utc(2036, 2, 29, 0, 0, 0));
	/* 2000 is a leap year (400), 2100 is not (100) */
	check_next("0 0 29 2 *", utc(1999, 3, 1, 0, 0, 0),
	    utc(2000, 2, 29, 0, 0, 0));
	check_next("0 0 29 2 *", utc(2096, 2, 29, 0, 0, 0),
	    utc(2104, 2, 29, 0, 0, 0));
	check_next("* * * * *", utc(2100, 2, 28, 23, 59, 0),
	    utc(2100, 3, 1, 0, 0, 0));
	check_next("* * * * *", utc(2000, 2, 28, 23, 59, 0),
	    utc(2000, 2, 29, 0, 0, 0));
	check_next("0 0 * 3 *", utc(2028, 2, 1, 0, 0, 0),
	    utc(2028, 3, 1, 0, 0, 0));
	/* the last day of February, whatever it is */
	check_next("0 0 28,29 2 *", utc(2027, 2, 28, 0, 0, 0),
	    utc(2028, 2, 28, 0, 0, 0));
	check_next("0 0 28,29 2 *", utc(2028, 2, 28, 0, 0, 0),
	    utc(2028, 2, 29, 0, 0, 0));
}

static void
test_year_rollover(void **state)
{
	(void)state;
	check_next("0 0 1 1 *", utc(2026, 12, 31, 23, 59, 30),
	    utc(2027, 1, 1, 0, 0, 0));
	check_next("59 23 31 12 *", utc(2026, 12, 31, 23, 59, 0),
	    utc(2027, 12, 31, 23, 59, 0));
	check_next("0 0 * jan mon", utc(2026, 12, 1, 0, 0, 0),
	    utc(2027, 1, 4, 0, 0, 0));
	check_next("*/15 * * * *", utc(2026, 12, 31, 23, 50, 0),
	    utc(2027, 1, 1, 0, 0, 0));
}

static void
test_never(void **state)
{
	static const char *const never[] = {
		"0 0 31 2 *",
		"0 0 30 2 *",
		"0 0 30,31 feb *",
		"0 0 31 4,6,9,11 *",
		"* * 31 apr-jun/2 *",
	};
	struct schedule s;

	(void)state;
	for (size_t i = 0; i < NELEM(never); i++) {
		s = parsed(never[i]);
		assert_int_equal(schedule_next(&s, utc(2026, 3, 1, 0, 0, 0)),
		    -1);
		assert_int_equal(schedule_next(&s, 0), -1);
		assert_int_equal(schedule_next(&s, SCHEDULE_AFTER_MAX_MS), -1);
	}
	/* a zeroed struct, a bad time, a NULL */
	memset(&s, 0, sizeof(s));
	assert_int_equal(schedule_next(&s, 0), -1);
	assert_int_equal(schedule_next(NULL, 0), -1);
	s = parsed("* * * * *");
	assert_int_equal(schedule_next(&s, -1), -1);
	assert_int_equal(schedule_next(&s, SCHEDULE_AFTER_MAX_MS + 1), -1);
	assert_int_equal(schedule_next(&s, INT64_MAX), -1);
	s = parsed("@every 1s");
	assert_int_equal(schedule_next(&s, INT64_MAX), -1);
	/* a hand-made struct with an out-of-range bit is refused */
	s = parsed("* * * * *");
	s.hours |= 1U << 24;
	assert_int_equal(schedule_next(&s, 0), -1);
	/* the latest start still works */
	s = parsed("0 0 1 1 *");
	assert_int_equal(schedule_next(&s, SCHEDULE_AFTER_MAX_MS),
	    utc(10000, 1, 1, 0, 0, 0));
}

/*
 * Does minute `ms` match s?  Written the naive way, from gmtime_r, as a
 * reference for schedule_next.
 */
static bool
naive_match(const struct schedule *s, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	bool dom, dow;

	gmtime_r(&t, &tm);
	if (((s->minutes >> tm.tm_min) & 1) == 0 ||
	    ((s->hours >> tm.tm_hour) & 1) == 0 ||
	    ((s->months >> (tm.tm_mon + 1)) & 1) == 0)
		return false;
	dom = (s->mdays >> tm.tm_mday) & 1;
	dow = (s->wdays >> tm.tm_wday) & 1;
	if (s->dom_any || s->dow_any)
		return dom && dow;
	return dom || dow;
}

/* Chained schedule_next must list exactly the matching minutes. */
static void
test_brute_force(void **state)
{
	static const char *const specs[] = {
		"* * * * *",
		"*/7 * * * *",
		"13 */5 * * *",
		"0,30 9-17 * * mon-fri",
		"0 0 13 * 5",
		"5 4 */3 * 0,6",
		"0 12 29 2 *",
		"0 0 31 * *",
		"45 23 28-31 * *",
		"0 0 1 */2 *",
		"59 23 * feb,mar 2",
		"0 6 1,15 * wed",
		"@weekly",
		"@hourly",
	};
	/* across a year end, a leap day, months of every length */
	const int64_t from = utc(2027, 12, 20, 0, 0, 0) + 17 * SEC;
	const int64_t to = utc(2028, 3, 10, 0, 0, 0);

	(void)state;
	for (size_t i = 0; i < NELEM(specs); i++) {
		struct schedule s = parsed(specs[i]);
		int64_t next = schedule_next(&s, from);
		size_t hits = 0;

		for (int64_t m = (from / MIN + 1) * MIN; m < to; m += MIN) {
			if (!naive_match(&s, m))
				continue;
			if (next != m) {
				char a[64], b[64];

				fail_msg("'%s': got %s, want %s", specs[i],
				    fmt(next, a, sizeof(a)),
				    fmt(m, b, sizeof(b)));
			}
			next = schedule_next(&s, m + (i % 3) * 20 * SEC);
			hits++;
		}
		assert_true(hits > 0);
		assert_true(next >= to);
	}
}

/* ---- invalid input ---- */

/* text must be refused with ERR_INVALID naming the field, out untouched. */
static void
check_invalid_(const char *text, const char *want_msg, int line)
{
	struct schedule s, before;
	const struct err *e;

	memset(&s, 0xa5, sizeof(s));
	before = s;
	err_clear();
	if (schedule_parse(text, "snapshot_schedule", &s) != -1)
		fail_msg("line %d: '%s' was accepted", line, text);
	e = err_last();
	if (e->code != ERR_INVALID ||
	    strcmp(e->field, "snapshot_schedule") != 0)
		fail_msg("line %d: '%s': code %d field '%s'", line, text,
		    e->code, e->field);
	if (strncmp(e->msg, "snapshot_schedule: ", 19) != 0)
		fail_msg("line %d: '%s': message '%s' does not name the field",
		    line, text, e->msg);
	if (want_msg != NULL && strstr(e->msg, want_msg) == NULL)
		fail_msg("line %d: '%s': message '%s' lacks '%s'", line, text,
		    e->msg, want_msg);
	assert_memory_equal(&s, &before, sizeof(s));
}
#define check_invalid(text, want) check_invalid_((text), (want), __LINE__)

static void
test_invalid_text(void **state)
{
	char buf[SCHEDULE_TEXT_MAX + 2];
	struct schedule s;

	(void)state;
	check_invalid(NULL, "empty");
	check_invalid("", "empty");
	check_invalid(" ", "blanks");
	check_invalid(" 0 0 * * *", "leading or trailing blanks");
	check_invalid("0 0 * * * ", "leading or trailing blanks");
	check_invalid("0 0 * * *\t", "leading or trailing blanks");
	check_invalid("0 0 * * \xc3\xa9", "non-ASCII");
	check_invalid("\xef\xbc\x90 0 * * *", "non-ASCII");
	check_invalid("0\n0 * * *", "control character");
	check_invalid("0 0 * * *\r", "control character");
	check_invalid("@every 1h\x7f", "control character");
	/* exactly SCHEDULE_TEXT_MAX bytes is fine, one more is not */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "0", 1);
	memcpy(buf + SCHEDULE_TEXT_MAX - 7, "0 * * *", 7);
	buf[SCHEDULE_TEXT_MAX] = '\0';
	assert_int_equal(schedule_parse(buf, "snapshot_schedule", &s), 0);
	memcpy(buf + SCHEDULE_TEXT_MAX - 7, " 0 * * *", 8);
	buf[SCHEDULE_TEXT_MAX + 1] = '\0';
	check_invalid(buf, "longer than 128 bytes");
}

static void
test_invalid_cron(void **state)
{
	(void)state;
	/* the message from the brief, word for word */
	check_invalid("61 * * * *", NULL);
	assert_string_equal(err_last()->msg,
	    "snapshot_schedule: minute field '61' is out of range 0-59");
	check_invalid("60 * * * *", "minute field '60' is out of range 0-59");
	check_invalid("* 24 * * *", "hour field '24' is out of range 0-23");
	check_invalid("* * 0 * *", "day-of-month field '0' is out of range");
	check_invalid("* * 32 * *", "day-of-month field '32'");
	check_invalid("* * * 0 *", "month field '0' is out of range 1-12");
	check_invalid("* * * 13 *", "month field '13'");
	check_invalid("* * * * 8", "day-of-week field '8' is out of range 0-7");
	check_invalid("1-61 * * * *", "'61' is out of range");
	check_invalid("99999999999999999999 * * * *", "out of range");
	check_invalid("* * * * 18446744073709551623", "out of range");
	/* field counts */
	check_invalid("* * * *", "has 4 fields");
	check_invalid("*", "has 1 field;");
	check_invalid("* * * * * *", "has 6 fields");
	check_invalid("0 0 * * mon garbage", "has 6 fields");
	check_invalid("0 0 1 1 1 2027", "has 6 fields");
	/* negative numbers and stray characters */
	check_invalid("-1 * * * *", "minute field '-1' is not valid");
	check_invalid("* -5 * * *", "hour field");
	check_invalid("1x * * * *", "is not valid");
	check_invalid("** * * * *", "is not valid");
	check_invalid("*5 * * * *", "is not valid");
	check_invalid("0 0 * * 1;", "is not valid");
	check_invalid("0 0 * * +1", "is not valid");
	check_invalid("0 0 * * 1.5", "is not valid");
	check_invalid("0 0 ? * *", "is not valid");
	check_invalid("0 0 L * *", "not a number");
	/* ranges */
	check_invalid("5-2 * * * *", "'5-2' is a backwards range");
	check_invalid("* * * dec-jan *", "backwards range");
	check_invalid("* * * * sat-mon", "backwards range");
	check_invalid("1- * * * *", "is not valid");
	check_invalid("-5 * * * *", "is not valid");
	check_invalid("1-2-3 * * * *", "is not valid");
	check_invalid("*-5 * * * *", "is not valid");
	/* lists */
	check_invalid("1,,2 * * * *", "empty list element");
	check_invalid("1, * * * *", "empty list element");
	check_invalid(",1 * * * *", "empty list element");
	check_invalid("0 0 * * ,", "empty list element");
	/* steps */
	check_invalid("*/0 * * * *", "step outside 1-60");
	check_invalid("*/61 * * * *", "step outside 1-60");
	check_invalid("* */25 * * *", "step outside 1-24");
	check_invalid("* * * * */8", "step outside 1-7");
	check_invalid("1/ * * * *", "step that is not a number");
	check_invalid("*/ * * * *", "step that is not a number");
	check_invalid("*/x * * * *", "step that is not a number");
	check_invalid("*/-1 * * * *", "step that is not a number");
	check_invalid("*/2/2 * * * *", "step that is not a number");
	check_invalid("* * * jan-dec/feb *", "step that is not a number");
	check_invalid("*/99999999999999999999 * * * *", "step outside");
	/* names */
	check_invalid("* * * foo *", "month field 'foo' is neither a number "
	    "nor a month name");
	check_invalid("* * * janu *", "'janu' is neither");
	check_invalid("* * * ja *", "'ja' is neither");
	check_invalid("* * * * funday", "weekday name");
	check_invalid("* * * mon *", "month field 'mon'");
	check_invalid("* * * * jan", "day-of-week field 'jan'");
	check_invalid("jan * * * *", "minute field 'jan' is not a number");
	check_invalid("* * mon * *",
	    "day-of-month field 'mon' is not a number");
}

static void
test_invalid_interval(void **state)
{
	(void)state;
	check_invalid("@every", "needs an interval");
	check_invalid("@every0s", "not a known schedule");
	check_invalid("@everyday", "not a known schedule");
	check_invalid("@sometimes", "not a known schedule");
	check_invalid("@", "not a known schedule");
	check_invalid("@daily extra", "not a known schedule");
	check_invalid("@every 0s", "shorter than the minimum of 1 second");
	check_invalid("@every 0h0m0s", "shorter than the minimum");
	check_invalid("@every 367d", "longer than the maximum of 366 days");
	check_invalid("@every 53w", "longer than the maximum");
	check_invalid("@every 366d1s", "longer than the maximum");
	check_invalid("@every 99999999999999999999s", "longer than");
	check_invalid("@every 9223372036854775807w", "longer than");
	check_invalid("@every 1h30", "has a number without a unit");
	check_invalid("15", "has a number without a unit");
	check_invalid("15q", "unknown unit 'q'");
	check_invalid("@every 500ms", "has a unit without a number");
	check_invalid("@every 30m1h", "out of order");
	check_invalid("@every 1m1m", "repeats a unit");
	check_invalid("@every -5m", "'-5m' is negative");
	check_invalid("@every +5m", "is not a valid interval");
	check_invalid("@every h", "has a unit without a number");
	check_invalid("@every 1h 30m", "'1h 30m' is not a valid interval");
	check_invalid("@every 1.5h", "unknown unit '.'");
	check_invalid("@every 1H", "unknown unit 'H'");
	check_invalid("@every @daily", "is not a valid interval");
}

/* ---- durations ---- */

static void
test_duration(void **state)
{
	static const struct {
		const char *text;
		int64_t ms;
	} ok[] = {
		{ "90s", 90 * SEC },
		{ "30m", 30 * MIN },
		{ "12h", 12 * HOUR },
		{ "7d", 7 * DAY },
		{ "2w", 14 * DAY },
		{ "1d12h", 36 * HOUR },
		{ "1w2d3h4m5s", 9 * DAY + 3 * HOUR + 4 * MIN + 5 * SEC },
		{ "1s", SEC },
		{ "3660d", 3660 * DAY },
		{ "522w6d", 3660 * DAY },
		{ "00001h", HOUR },
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < NELEM(ok); i++) {
		ms = -42;
		assert_int_equal(schedule_parse_duration(ok[i].text,
		    "snapshot_expiry", &ms), 0);
		assert_int_equal(ms, ok[i].ms);
	}
}

static void
test_duration_invalid(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "", "the duration is empty" },
		{ "0s", "shorter than the minimum of 1 second" },
		{ "0d0h", "shorter than" },
		{ "3661d", "longer than the maximum of 3660 days" },
		{ "3660d1s", "longer than the maximum" },
		{ "99999999999999999999999w", "longer than" },
		{ "5", "has a number without a unit" },
		{ "d", "has a unit without a number" },
		{ "1d 12h", "is not a valid duration" },
		{ " 1d", "leading or trailing blanks" },
		{ "1d ", "leading or trailing blanks" },
		{ "12h1d", "out of order" },
		{ "1h1h", "repeats a unit" },
		{ "-1d", "is negative" },
		{ "+1d", "is not a valid duration" },
		{ "1.5h", "unknown unit '.'" },
		{ "1ms", "has a unit without a number" },
		{ "1y", "unknown unit 'y'" },
		{ "1D", "unknown unit 'D'" },
		{ "abc", "is not a valid duration" },
		{ "@every 1d", "is not a valid duration" },
		{ "1d\n", "control character" },
		{ "1\xc2\xb5s", "non-ASCII" },
	};
	char big[SCHEDULE_TEXT_MAX + 2];
	int64_t ms = 4242;

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++) {
		const struct err *e;

		err_clear();
		if (schedule_parse_duration(bad[i].text, "snapshot_expiry",
		    &ms) != -1)
			fail_msg("'%s' was accepted", bad[i].text);
		e = err_last();
		assert_int_equal(e->code, ERR_INVALID);
		assert_string_equal(e->field, "snapshot_expiry");
		if (strncmp(e->msg, "snapshot_expiry: ", 17) != 0 ||
		    strstr(e->msg, bad[i].msg) == NULL)
			fail_msg("'%s': message '%s', want '%s'", bad[i].text,
			    e->msg, bad[i].msg);
		assert_int_equal(ms, 4242);
	}
	assert_int_equal(schedule_parse_duration(NULL, "snapshot_expiry", &ms),
	    -1);
	memset(big, '0', sizeof(big));
	big[SCHEDULE_TEXT_MAX] = 's';
	big[SCHEDULE_TEXT_MAX + 1] = '\0';
	assert_int_equal(schedule_parse_duration(big, "snapshot_expiry", &ms),
	    -1);
	assert_non_null(strstr(err_last()->msg, "longer than 128 bytes"));
	big[SCHEDULE_TEXT_MAX - 2] = '1';
	big[SCHEDULE_TEXT_MAX - 1] = 's';
	big[SCHEDULE_TEXT_MAX] = '\0';
	assert_int_equal(schedule_parse_duration(big, "snapshot_expiry", &ms),
	    0);
	assert_int_equal(ms, SEC);
}

/* A NULL field still gives a labelled message and an empty field. */
static void
test_null_field(void **state)
{
	struct schedule s;
	int64_t ms;

	(void)state;
	assert_int_equal(schedule_parse("61 * * * *", NULL, &s), -1);
	assert_string_equal(err_last()->field, "");
	assert_string_equal(err_last()->msg,
	    "schedule: minute field '61' is out of range 0-59");
	assert_int_equal(schedule_parse_duration("0s", NULL, &ms), -1);
	assert_int_equal(err_last()->code, ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval_parse),
		cmocka_unit_test(test_interval_next),
		cmocka_unit_test(test_cron_star),
		cmocka_unit_test(test_cron_number),
		cmocka_unit_test(test_cron_range),
		cmocka_unit_test(test_cron_list),
		cmocka_unit_test(test_cron_steps),
		cmocka_unit_test(test_cron_names),
		cmocka_unit_test(test_cron_sunday_7),
		cmocka_unit_test(test_cron_dom_dow_or),
		cmocka_unit_test(test_cron_macros),
		cmocka_unit_test(test_month_rollover),
		cmocka_unit_test(test_leap_years),
		cmocka_unit_test(test_year_rollover),
		cmocka_unit_test(test_never),
		cmocka_unit_test(test_brute_force),
		cmocka_unit_test(test_invalid_text),
		cmocka_unit_test(test_invalid_cron),
		cmocka_unit_test(test_invalid_interval),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_duration_invalid),
		cmocka_unit_test(test_null_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
