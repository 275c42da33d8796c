/*
 * log.c - leveled logging to stderr.  One line per call, written with a
 * single fprintf so lines from different threads do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

static volatile int log_level = LOG_INFO;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

int
log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i <= LOG_DEBUG; i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level l)
{
	return (l >= LOG_ERROR && l <= LOG_DEBUG) ? log_names[l] : "?";
}

void
log_set_level(enum log_level l)
{
	__atomic_store_n(&log_level, l, __ATOMIC_RELAXED);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)__atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

static void
log_vmsg(enum log_level l, const char *suffix, const char *fmt, va_list ap)
{
	char msg[2048], ts[32];
	struct timeval tv;
	struct tm tm;

	if ((int)l > (int)log_get_level())
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s.%03dZ %-5s %s%s%s\n", ts, (int)(tv.tv_usec / 1000),
	    log_names[l], msg, suffix ? ": " : "", suffix ? suffix : "");
}

void
log_msg(enum log_level l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(l, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	log_vmsg(LOG_WARN, e, fmt, ap);
	va_end(ap);
}
