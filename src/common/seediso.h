/*
 * seediso.h - a small ISO 9660 image (Joliet and Rock Ridge) built in
 * memory with libisofs: the NoCloud seed cloud-init reads (seediso.c).
 */
#ifndef HANGAR_SEEDISO_H
#define HANGAR_SEEDISO_H

#include <stddef.h>
#include <time.h>

/* One file of the image's root directory.  Borrowed pointers. */
struct seediso_file {
	const char *name;         /* e.g. "meta-data" */
	const void *data;
	size_t len;
};

/*
 * An ISO 9660 image whose volume id is label (both in the primary and
 * the Joliet descriptor, as `genisoimage -V label -J -r` writes it), with
 * the n files in its root (Rock Ridge names, mode 0444, owner 0), every
 * timestamp `when` (so the same input gives the same bytes).  The image
 * into *out (malloc'd, the caller frees) and its size into *len.
 * Returns 0, or -1 with ERR_INTERNAL set.
 */
int seediso_build(const char *label, const struct seediso_file *f, size_t n,
    time_t when, unsigned char **out, size_t *len);

#endif
