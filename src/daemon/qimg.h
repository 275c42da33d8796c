/*
 * qimg.h - running qemu-img (qimg.c) on images that came from clients.
 *
 * qemu-img parsing a hostile image is a known way to exhaust memory and
 * CPU, so it runs as a child (fork/execv, an argument vector, never a
 * shell) with RLIMIT_AS and RLIMIT_CPU set in the child, and a wall-clock
 * timeout.  It is never asked to probe a format: every call names -f.
 */
#ifndef HANGAR_QIMG_H
#define HANGAR_QIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QIMG_AS_BYTES (2ULL << 30)     /* RLIMIT_AS of the child */

struct qimg_run {
	const char *const *argv;   /* after "qemu-img": the arguments */
	unsigned cpu_s;            /* RLIMIT_CPU of the child */
	unsigned timeout_s;        /* wall clock; then it is killed */
	/* called about every 250 ms while it runs; true stops it (cancel) */
	bool (*tick)(void *arg);
	void *arg;
	char *out;                 /* its stdout (NUL-terminated, cut), or NULL */
	size_t outlen;
	uint64_t as_bytes;         /* RLIMIT_AS; 0: QIMG_AS_BYTES */
};

/*
 * Run qemu-img with q->argv.  0 when it exited 0; -1 with the error:
 * ERR_UNPROCESSABLE naming "file" when it failed on the image (its first
 * line of stderr), hit its limits or its timeout; ERR_CONFLICT when tick
 * stopped it; ERR_INTERNAL when it cannot be started.
 */
int qimg_run(struct qimg_run *q);
/* CPU seconds for an image of bytes: 60 s per GiB, at least 120 s. */
unsigned qimg_cpu_for(uint64_t bytes);

#endif
