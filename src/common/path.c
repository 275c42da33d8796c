/*
 * path.c - directory paths as the daemon compares them (see path.h).
 */
#include <string.h>

#include "path.h"

int
path_norm(const char *in, char *out, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return -1;
	for (; *in; in++) {
		if (*in == '/' && n > 0 && out[n - 1] == '/')
			continue;
		if (n + 1 >= len) {
			out[n] = '\0';
			return -1;
		}
		out[n++] = *in;
	}
	if (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	return 0;
}

/* The next character of p's normalized form at *i, advancing *i. */
static char
path_next(const char *p, size_t *i)
{
	size_t at = *i;
	char ch = p[at];

	if (ch == '\0')
		return '\0';
	(*i)++;
	if (ch != '/')
		return ch;
	while (p[*i] == '/')
		(*i)++;
	/* a trailing '/' is dropped, unless it is the whole path */
	if (p[*i] == '\0' && at > 0)
		return '\0';
	return '/';
}

bool
path_same(const char *a, const char *b)
{
	size_t i = 0, j = 0;
	char ca, cb;

	do {
		ca = path_next(a, &i);
		cb = path_next(b, &j);
		if (ca != cb)
			return false;
	} while (ca != '\0');
	return true;
}
