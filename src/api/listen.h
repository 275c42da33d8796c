/*
 * listen.h - the listening sockets and TLS files of the HTTP front end
 * (listen.c), for server.c.  Each returns -1 (or NULL) with the error set.
 */
#ifndef HANGAR_LISTEN_H
#define HANGAR_LISTEN_H

#include <stdbool.h>

struct auth_unix;

/* A listening unix socket at path (mode; the admin group's, if any). */
int listen_unix(const char *path, int mode, const struct auth_unix *u);
/* A listening TCP socket for "HOST:PORT" or "[V6]:PORT". */
int listen_tcp(const char *addr);
/* The whole PEM file at path (key names it in errors); secret: warn
 * when others may read it.  Free with listen_free_pem. */
char *listen_read_pem(const char *key, const char *path, bool secret);
/* Wipe and free a PEM text; NULL is fine. */
void listen_free_pem(char *pem);

#endif
