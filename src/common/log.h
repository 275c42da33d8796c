/*
 * log.h - leveled logging to stderr with a UTC timestamp.
 *
 * log_warn() appends strerror(errno); log_warnx() does not (the vmd way).
 * The level may be changed at any time (SIGHUP re-reads it); reads and
 * writes of it are atomic.
 */
#ifndef HANGAR_LOG_H
#define HANGAR_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Parse "error|warn|info|debug"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level l);
void log_set_level(enum log_level l);
enum log_level log_get_level(void);

void log_msg(enum log_level l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
