/*
 * imgtest.h - what test_imgprobe.c and test_ova.c share: a temp dir made
 * by setup (cmocka group setup) and removed by teardown, sh() to run
 * qemu-img and tar in it, probe()/ova() on a file there, byte patches,
 * and refused()/accepted() checks that print the error when they fail.
 * Include after cmocka.h.
 */
#ifndef HANGAR_TEST_IMGTEST_H
#define HANGAR_TEST_IMGTEST_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/imgprobe.h"

#define GIB	(1024ULL * 1024 * 1024)

static char dir[64];      /* this test's temp dir (setup) */

/* Run a shell command in the temp dir; it must succeed. */
static inline void sh(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static inline void
sh(const char *fmt, ...)
{
	char cmd[2048];
	int n;
	va_list ap;

	n = snprintf(cmd, sizeof(cmd), "cd %s && ", dir);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static inline const char *
path(const char *name)
{
	static __thread char buf[256];   /* test_ova_threads */

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* img_probe_fd on the whole file name. */
static inline int
probe(const char *name, struct img_info *ii)
{
	struct stat st;
	int fd, rc;

	if ((fd = open(path(name), O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		fail_msg("cannot open %s", name);
	err_clear();
	memset(ii, 0xa5, sizeof(*ii));
	rc = img_probe_fd(fd, 0, (uint64_t)st.st_size, ii);
	close(fd);
	return rc;
}

static inline int
ova(const char *name, struct ova_info *oi)
{
	struct stat st;
	int fd, rc;

	if ((fd = open(path(name), O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		fail_msg("cannot open %s", name);
	err_clear();
	rc = ova_probe_fd(fd, (uint64_t)st.st_size, oi);
	close(fd);
	return rc;
}

/* The last call failed with ERR_UNPROCESSABLE on field, saying word. */
static inline void
refused_(const char *what, int rc, const char *field, const char *word,
    int line)
{
	const struct err *e = err_last();

	if (rc != -1)
		fail_msg("line %d: %s was accepted", line, what);
	if (e->code != ERR_UNPROCESSABLE || strcmp(e->field, field) != 0 ||
	    strstr(e->msg, word) == NULL)
		fail_msg("line %d: %s: got %s on '%s': %s (wanted '%s' on "
		    "'%s')", line, what, err_code_name(e->code), e->field,
		    e->msg, word, field);
}
#define refused(what, rc, field, word) \
	refused_(what, rc, field, word, __LINE__)

static inline void
accepted_(const char *what, int rc, int line)
{
	if (rc != 0)
		fail_msg("line %d: %s refused: %s", line, what,
		    err_last()->msg);
}
#define accepted(what, rc) accepted_(what, rc, __LINE__)

/* Write len bytes at off of file name. */
static inline void
patch(const char *name, uint64_t off, const void *p, size_t len)
{
	int fd = open(path(name), O_WRONLY);

	if (fd == -1 || pwrite(fd, p, len, (off_t)off) != (ssize_t)len)
		fail_msg("cannot patch %s", name);
	close(fd);
}

static inline void
get(const char *name, uint64_t off, void *p, size_t len)
{
	int fd = open(path(name), O_RDONLY);

	if (fd == -1 || pread(fd, p, len, (off_t)off) != (ssize_t)len)
		fail_msg("cannot read %s", name);
	close(fd);
}

static inline void
put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static inline int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hangar_imgtest.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

static inline int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
