/*
 * spool.c - a streamed request body spooled to a file (see spool.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../common/error.h"
#include "spool.h"

int
spool_create(struct spool *s)
{
	s->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (s->fd < 0) {
		err_set(errno == ENOSPC || errno == EDQUOT ?
		    ERR_INSUFFICIENT_STORAGE : ERR_UNAVAILABLE, "cannot create "
		    "'%s': %s", s->path, strerror(errno));
		s->path[0] = '\0';
		return -1;
	}
	return 0;
}

int
spool_write(struct spool *s, const char *buf, size_t len, size_t chunk,
    uint64_t sofar)
{
	while (len > 0) {
		size_t k = chunk != 0 && len > chunk ? chunk : len;
		ssize_t n = write(s->fd, buf, k);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return spool_fail(s, errno, sofar);
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
spool_fail(struct spool *s, int e, uint64_t sofar)
{
	if (e == ENOSPC || e == EDQUOT)
		err_set(ERR_INSUFFICIENT_STORAGE, "%s is full after %llu bytes "
		    "of %s; nothing of it was kept", s->store,
		    (unsigned long long)sofar, s->what);
	else
		err_set(ERR_UNAVAILABLE, "cannot write %s: %s", s->what,
		    strerror(e));
	spool_discard(s);
	return -1;
}

void
spool_discard(struct spool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->path[0])
		unlink(s->path);
	s->path[0] = '\0';
}
