/*
 * spool.h - a streamed request body spooled to a file of its own as it
 * comes (images_upload.c: an image; vms_import_tar.c: an archive): the
 * file created exclusively, written through EINTR, and removed at once
 * when a write fails (a full disk, ENOSPC or EDQUOT, is a 507 saying how
 * far the body got).  Its owner says in its own words what fills up and
 * what is spooled.
 */
#ifndef HANGAR_SPOOL_H
#define HANGAR_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "../daemon/config.h"

struct spool {
	char path[CONFIG_STR_MAX + 64];  /* the file; "" once gone or taken */
	int fd;                          /* -1 when closed */
	const char *store;               /* what fills up: "backup_dir" */
	const char *what;                /* what is spooled: "the archive" */
};

/* Create s->path (O_EXCL); 0, or -1 (507 when full) with path "". */
int spool_create(struct spool *s);
/* All of buf written, at most chunk bytes a write (0: no limit);
 * sofar, the body's bytes so far, for the message; 0 or -1 (failed). */
int spool_write(struct spool *s, const char *buf, size_t len, size_t chunk,
    uint64_t sofar);
/* A write failed with errno e after sofar bytes: the error set, the
 * file closed and removed; always -1. */
int spool_fail(struct spool *s, int e, uint64_t sofar);
/* Closed and removed, if not taken over (path ""). */
void spool_discard(struct spool *s);

#endif
