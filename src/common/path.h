/*
 * path.h - directory paths as the daemon compares them: a pool's path as
 * a client wrote it and as libvirt keeps it ("/srv/p2/", "/srv//p2")
 * name the same directory.  Only the text is looked at: symbolic links
 * and mounts are not resolved (the paths may be another host's).
 */
#ifndef HANGAR_PATH_H
#define HANGAR_PATH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * in without repeated or trailing '/' ("/" stays "/") into out.  0, or -1
 * when out is too short (out is then cut, still terminated).
 */
int path_norm(const char *in, char *out, size_t len);
/* Do a and b name the same directory, but for repeated/trailing '/'? */
bool path_same(const char *a, const char *b);

#endif
