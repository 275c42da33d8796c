/*
 * listen.c - the HTTP front end's listening sockets (a unix socket whose
 * group and mode let its role's members in; TCP on HOST:PORT) and the
 * PEM files of its TLS setup, read whole, bounded, and wiped when freed.
 * Moved out of server.c, which keeps the requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/log.h"
#include "auth.h"
#include "listen.h"

#define LISTEN_PEM_MAX (1024 * 1024)   /* bytes of a PEM file */

/*
 * A listening unix socket at path, or -1 with an error.  Its group is
 * unix_admin_group when that exists, so the mode (0660) lets its members
 * in.
 */
int
listen_unix(const char *path, int mode, const struct auth_unix *u)
{
	struct sockaddr_un sun;
	char dir[sizeof(sun.sun_path)];
	char *slash;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path))
		return err_set(ERR_INVALID, "socket path '%s' is too long",
		    path);
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return err_set(ERR_UNAVAILABLE, "cannot create '%s': %s",
			    dir, strerror(errno));
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set(ERR_UNAVAILABLE, "socket: %s", strerror(errno));
	/* a socket file nobody answers on is a leftover: replace it */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		return err_set(ERR_UNAVAILABLE, "another daemon is listening on "
		    "'%s'", path);
	}
	close(fd);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set(ERR_UNAVAILABLE, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, (mode_t)mode) < 0 || listen(fd, 128) < 0) {
		err_set(ERR_UNAVAILABLE, "cannot listen on '%s': %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (u->au_set[AUTH_ADMIN] && chown(path, (uid_t)-1,
	    u->au_gid[AUTH_ADMIN]) < 0)
		log_warn("cannot give '%s' to the admin group", path);
	return fd;
}

/* A listening TCP socket for "HOST:PORT" or "[V6]:PORT". */
int
listen_tcp(const char *addr)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *port, *colon = strrchr(addr, ':');
	int fd = -1, one = 1, rc;

	if (colon == NULL)
		return err_set(ERR_INVALID, "'%s' is not HOST:PORT", addr);
	port = colon + 1;
	if (addr[0] == '[')
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr - 2),
		    addr + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return err_set(ERR_INVALID, "cannot resolve '%s': %s", addr,
		    gai_strerror(rc));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	    res->ai_protocol);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, 128) < 0) {
		err_set(ERR_UNAVAILABLE, "cannot listen on '%s': %s", addr,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * The whole of the PEM file at path (key names it in errors), or NULL
 * with the error.  A private key others may read is worth a warning.
 */
char *
listen_read_pem(const char *key, const char *path, bool secret)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		err_set(ERR_UNAVAILABLE, "%s '%s' cannot be read: %s", key,
		    path, strerror(errno));
		goto fail;
	}
	if (st.st_size > LISTEN_PEM_MAX) {
		err_set(ERR_UNAVAILABLE, "%s '%s' is larger than %d bytes", key,
		    path, LISTEN_PEM_MAX);
		goto fail;
	}
	if (secret && (st.st_mode & 0077) != 0)
		log_warnx("%s '%s' may be read by other users (mode %04o)",
		    key, path, (unsigned)(st.st_mode & 07777));
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		goto fail;
	}
	while (len < (size_t)st.st_size &&
	    (n = read(fd, buf + len, (size_t)st.st_size - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(ERR_UNAVAILABLE, "%s '%s' cannot be read: %s",
			    key, path, strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strstr(buf, "-----BEGIN ") == NULL) {
		err_set(ERR_UNAVAILABLE, "%s '%s' holds no PEM block", key,
		    path);
		goto fail;
	}
	close(fd);
	return buf;
fail:
	if (buf)
		explicit_bzero(buf, len);
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

void
listen_free_pem(char *pem)
{
	if (pem) {
		explicit_bzero(pem, strlen(pem));
		free(pem);
	}
}
