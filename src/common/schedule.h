/*
 * schedule.h - when scheduled VM snapshots are taken and how long they are
 * kept (Incus's snapshots.schedule / snapshots.expiry, Proxmox's retention).
 *
 * A schedule is either an interval ("@every 1h30m", or just "90m") or a
 * 5-field cron spec ("MIN HOUR DOM MON DOW", or a macro like "@daily").
 * schedule_parse turns the text into a struct schedule, schedule_next says
 * when it fires next, and schedule_parse_duration reads retention
 * durations ("7d", "1d12h").
 *
 * The module is pure: no heap, no clock, no TZ.  Every time is UTC, in
 * milliseconds since the epoch, and a struct schedule is a plain value that
 * can be embedded in other structs and copied with `=`.
 *
 *	struct schedule s;
 *	int64_t at;
 *
 *	if (schedule_parse("0 3 * * mon-fri", "snapshot_schedule", &s) == -1)
 *		return -1;                  (error already reported)
 *	at = schedule_next(&s, time_now_ms());   (03:00 UTC next weekday)
 */
#ifndef HANGAR_SCHEDULE_H
#define HANGAR_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

/* The longest accepted text, in bytes. */
#define SCHEDULE_TEXT_MAX	128
/* Bounds of an interval (1 s to 366 days) and a duration (to ~10 years). */
#define SCHEDULE_INTERVAL_MIN_MS	1000LL
#define SCHEDULE_INTERVAL_MAX_MS	(366LL * 86400 * 1000)
#define SCHEDULE_DURATION_MIN_MS	1000LL
#define SCHEDULE_DURATION_MAX_MS	(3660LL * 86400 * 1000)
/*
 * How far schedule_next looks for a cron match: 8 years is the longest gap
 * between two February 29ths (2096 -> 2104), so "0 0 29 2 *" always fires.
 */
#define SCHEDULE_HORIZON_YEARS	8
/* The latest after_ms schedule_next accepts: 9999-12-31T23:59:59.999Z. */
#define SCHEDULE_AFTER_MAX_MS	253402300799999LL

enum schedule_kind {
	SCHEDULE_NONE = 0,	/* a zeroed struct: never fires */
	SCHEDULE_INTERVAL,
	SCHEDULE_CRON
};

struct schedule {
	enum schedule_kind kind;
	int64_t interval_ms;	/* SCHEDULE_INTERVAL only */
	/* SCHEDULE_CRON only: bit n is set if value n matches. */
	uint64_t minutes;	/* bits 0-59 */
	uint32_t hours;		/* bits 0-23 */
	uint32_t mdays;		/* bits 1-31 */
	uint16_t months;	/* bits 1-12 */
	uint8_t wdays;		/* bits 0-6, 0 = Sunday */
	bool dom_any;		/* the day-of-month field was "*" */
	bool dow_any;		/* the day-of-week field was "*" */
};

/*
 * Parse a schedule into *out:
 *  - "@every 90s", "@every 1h30m" or a bare "15m": an interval, written as
 *    for schedule_parse_duration, between 1 s and 366 days;
 *  - "@hourly", "@daily" (= "@midnight"), "@weekly", "@monthly",
 *    "@yearly" (= "@annually");
 *  - cron "MIN HOUR DOM MON DOW", fields separated by blanks; each field
 *    a comma-separated list of *, N, A-B, a step "/S" after * or A-B
 *    (every S-th value), or N/S (= N-last/S); months 1-12 or jan-dec,
 *    weekdays 0-7 (0 and 7 are Sunday) or sun-sat; names and macros are
 *    case-insensitive.  When both the day-of-month and the day-of-week
 *    field are other than a plain "*", a day matches if either does (the
 *    POSIX rule; a stepped star counts as restricted, unlike Vixie cron).
 * The text must be printable ASCII, 1 to SCHEDULE_TEXT_MAX bytes, with no
 * leading or trailing blanks.  `field` names the setting in messages and
 * in the error's field ("snapshot_schedule"; NULL gives "schedule").
 * Returns 0, or -1 with ERR_INVALID set and *out untouched, e.g.
 * "snapshot_schedule: minute field '61' is out of range 0-59".
 */
int schedule_parse(const char *text, const char *field, struct schedule *out);

/*
 * The first time strictly after after_ms at which s fires, in ms since
 * the epoch: after_ms + interval for an interval; for cron, the next
 * matching whole minute in UTC.  Returns -1, setting no error, if s never
 * fires within SCHEDULE_HORIZON_YEARS (e.g. "0 0 31 2 *"), if s is not a
 * parsed schedule, or if after_ms is outside 0..SCHEDULE_AFTER_MAX_MS.
 */
int64_t schedule_next(const struct schedule *s, int64_t after_ms);

/*
 * Parse a retention duration: numbers with units w, d, h, m, s, largest
 * first and each at most once ("90s", "30m", "12h", "7d", "2w", "1d12h",
 * "1w2d3h4m5s"), between 1 s and 3660 days.  Stores ms in *out_ms.
 * Returns 0, or -1 with ERR_INVALID set (field as for schedule_parse) and
 * *out_ms untouched.
 */
int schedule_parse_duration(const char *text, const char *field,
    int64_t *out_ms);

#endif
