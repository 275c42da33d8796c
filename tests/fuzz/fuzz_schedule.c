/*
 * fuzz_schedule.c - libFuzzer target for snapshot schedules and retention
 * durations (src/common/schedule.c): schedule_parse, schedule_next and
 * schedule_parse_duration, which read snapshot_schedule and
 * snapshot_retention.max_age straight from request bodies.
 *
 * Input: the text (cut at its first NUL).  The 8 bytes after that NUL, if
 * any, pick one more `after` time for schedule_next.
 * Checks:
 *  - a failure is ERR_INVALID naming the field, with a message, and
 *    leaves *out untouched;
 *  - a success is an interval within its bounds or a cron spec whose
 *    every field is non-empty and in range;
 *  - schedule_next(after) is -1 or > after; an interval adds exactly its
 *    length; a cron time is a whole minute that matches the spec
 *    (checked with gmtime_r, not schedule.c's calendar) and, when it is
 *    at most a day away, no minute in between matches;
 *  - out-of-range `after` gives -1;
 *  - a duration is within 1 s .. 3660 days.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/schedule.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIN_MS 60000LL

/* Does the minute at ms match cron spec s?  (Independent of schedule.c.) */
static bool
cron_matches(const struct schedule *s, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	bool dom, dow;

	if (gmtime_r(&t, &tm) == NULL)
		abort();
	if (!((s->minutes >> tm.tm_min) & 1) || !((s->hours >> tm.tm_hour) & 1) ||
	    !((s->months >> (tm.tm_mon + 1)) & 1))
		return false;
	dom = (s->mdays >> tm.tm_mday) & 1;
	dow = (s->wdays >> tm.tm_wday) & 1;
	if (s->dom_any || s->dow_any)
		return dom && dow;
	return dom || dow;
}

static void
check_next(const struct schedule *s, int64_t after, const char *text)
{
	int64_t next = schedule_next(s, after);

	if (after < 0 || after > SCHEDULE_AFTER_MAX_MS) {
		FUZZ_CHECK(next == -1, "'%s': next after %lld is %lld, not -1",
		    text, (long long)after, (long long)next);
		return;
	}
	if (next == -1) {
		/* only a cron spec may never fire */
		FUZZ_CHECK(s->kind == SCHEDULE_CRON, "'%s': interval gives -1 "
		    "after %lld", text, (long long)after);
		return;
	}
	FUZZ_CHECK(next > after, "'%s': next %lld is not after %lld", text,
	    (long long)next, (long long)after);
	if (s->kind == SCHEDULE_INTERVAL) {
		FUZZ_CHECK(next == after + s->interval_ms, "'%s': interval "
		    "next %lld != %lld + %lld", text, (long long)next,
		    (long long)after, (long long)s->interval_ms);
		return;
	}
	FUZZ_CHECK(next % MIN_MS == 0, "'%s': next %lld is not a whole minute",
	    text, (long long)next);
	FUZZ_CHECK(next - after <= (SCHEDULE_HORIZON_YEARS + 1) * 366LL *
	    86400 * 1000, "'%s': next %lld is beyond the horizon from %lld",
	    text, (long long)next, (long long)after);
	FUZZ_CHECK(cron_matches(s, next), "'%s': next %lld (after %lld) does "
	    "not match the spec", text, (long long)next, (long long)after);
	if (next - after <= 1440 * MIN_MS)
		for (int64_t m = (after / MIN_MS + 1) * MIN_MS; m < next;
		    m += MIN_MS)
			FUZZ_CHECK(!cron_matches(s, m), "'%s': %lld matches, "
			    "before next %lld (after %lld)", text,
			    (long long)m, (long long)next, (long long)after);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	size_t n = strlen(text);
	struct schedule s, untouched;
	int64_t ms = -7, extra = 0;
	int rc;

	memset(&s, 0xa5, sizeof(s));
	untouched = s;
	err_clear();
	rc = schedule_parse(text, "snapshot_schedule", &s);
	fuzz_check_rc(rc, "schedule_parse");
	if (rc < 0) {
		FUZZ_CHECK(err_last()->code == ERR_INVALID &&
		    strcmp(err_last()->field, "snapshot_schedule") == 0,
		    "schedule_parse error names field '%s'", err_last()->field);
		FUZZ_CHECK(memcmp(&s, &untouched, sizeof(s)) == 0,
		    "schedule_parse changed *out on failure");
	} else {
		FUZZ_CHECK(n >= 1 && n <= SCHEDULE_TEXT_MAX, "'%s' (%zu bytes) "
		    "accepted", text, n);
		if (s.kind == SCHEDULE_INTERVAL) {
			FUZZ_CHECK(s.interval_ms >= SCHEDULE_INTERVAL_MIN_MS &&
			    s.interval_ms <= SCHEDULE_INTERVAL_MAX_MS,
			    "'%s': interval %lld ms", text,
			    (long long)s.interval_ms);
		} else {
			FUZZ_CHECK(s.kind == SCHEDULE_CRON, "'%s': kind %d",
			    text, (int)s.kind);
			FUZZ_CHECK(s.minutes && !(s.minutes >> 60) && s.hours &&
			    !(s.hours >> 24) && s.mdays && !(s.mdays & 1) &&
			    s.months && !(s.months & 1) && !(s.months >> 13) &&
			    s.wdays && !(s.wdays >> 7),
			    "'%s': a cron field is empty or out of range", text);
		}
		if (n + 1 < size) {
			size_t k = size - n - 1 < 8 ? size - n - 1 : 8;

			memcpy(&extra, data + n + 1, k);
		}
		check_next(&s, 0, text);
		check_next(&s, 1764000000000LL, text);     /* 2025-11 */
		check_next(&s, 4107542399999LL, text);     /* 2100-02-28 */
		check_next(&s, SCHEDULE_AFTER_MAX_MS, text);
		check_next(&s, -1, text);
		check_next(&s, SCHEDULE_AFTER_MAX_MS + 1, text);
		check_next(&s, extra, text);
		check_next(&s, extra & 0x0000ffffffffffffLL, text);
	}

	err_clear();
	rc = schedule_parse_duration(text, "snapshot_retention.max_age", &ms);
	fuzz_check_rc(rc, "schedule_parse_duration");
	if (rc < 0)
		FUZZ_CHECK(ms == -7, "schedule_parse_duration changed *out on "
		    "failure");
	else
		FUZZ_CHECK(ms >= SCHEDULE_DURATION_MIN_MS &&
		    ms <= SCHEDULE_DURATION_MAX_MS, "'%s': duration %lld ms",
		    text, (long long)ms);
	free(text);
	return 0;
}
