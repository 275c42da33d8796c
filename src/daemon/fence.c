/*
 * fence.c - a host's fence action: a program the operator configured
 * (an IPMI power-off, a PDU outlet switched off) that makes sure a lost
 * host runs nothing any more.  Its argument vector is kept as a JSON array
 * of strings (hosts.fence), checked when it is set: the program by its
 * absolute path, never a shell.  It runs with stdin on /dev/null and its
 * output (the first line of it is kept for the error) through a pipe, at
 * most FENCE_TIMEOUT_S; only an exit status of 0 counts as fenced.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

#define FENCE_TIMEOUT_S 120
#define FENCE_ARGS_MAX 32

/* The child: stdin /dev/null, stdout and stderr into fd; never returns. */
static void
fence_child(char *const *argv, int fd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	static const char m[] = "the program cannot be run\n";

	if (null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 ||
	    dup2(fd, 2) < 0)
		_exit(127);
	execv(argv[0], argv);
	(void)!write(2, m, sizeof(m) - 1);
	_exit(127);
}

/* Read what the child says until it closes or time is up (kills it). */
static void
fence_read(pid_t pid, int fd, char *out, size_t len)
{
	int64_t end = time_now_ms() + FENCE_TIMEOUT_S * 1000LL;
	struct pollfd p = { fd, POLLIN, 0 };
	size_t n = 0;
	ssize_t k;
	char junk[512];

	out[0] = '\0';
	for (;;) {
		int64_t left = end - time_now_ms();

		if (left <= 0 || poll(&p, 1, (int)(left > 1000 ? 1000 :
		    left)) < 0) {
			if (left <= 0 || errno != EINTR) {
				kill(pid, SIGKILL);
				snprintf(out, len, "killed after %d s",
				    FENCE_TIMEOUT_S);
				return;
			}
			continue;
		}
		if (p.revents == 0)
			continue;
		if (n + 1 < len)
			k = read(fd, out + n, len - 1 - n);
		else
			k = read(fd, junk, sizeof(junk));
		if (k <= 0 && !(k < 0 && errno == EINTR))
			break;
		if (k > 0 && n + 1 < len)
			n += (size_t)k;
		out[n] = '\0';
	}
	out[strcspn(out, "\n")] = '\0';
}

int
fence_run(const char *host, const char *fence)
{
	json_t *a = json_loads(fence, 0, NULL);
	char *argv[FENCE_ARGS_MAX + 1], said[256];
	size_t i, n = json_array_size(a);
	int fds[2], status = 0;
	pid_t pid;

	if (n == 0 || n > FENCE_ARGS_MAX) {
		json_decref(a);
		return err_set(ERR_INTERNAL, "the fence action of host '%s' is "
		    "not an argument vector", host);
	}
	for (i = 0; i < n; i++)
		argv[i] = (char *)(uintptr_t)json_string_value(json_array_get(a,
		    i));
	argv[n] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		json_decref(a);
		return err_set(ERR_INTERNAL, "cannot run the fence action of "
		    "host '%s': %s", host, strerror(errno));
	}
	if (pid == 0)
		fence_child(argv, fds[1]);
	close(fds[1]);
	fence_read(pid, fds[0], said, sizeof(said));
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	log_info("fence: host '%s': %s exited %d%s%s", host, argv[0],
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1, said[0] ? ": " : "",
	    said);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		json_decref(a);
		return 0;
	}
	err_set(ERR_CONFLICT, "the fence action of host '%s' (%s) failed "
	    "(%s %d)%s%s", host, argv[0], WIFEXITED(status) ? "exit status" :
	    "signal", WIFEXITED(status) ? WEXITSTATUS(status) :
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0, said[0] ? ": " : "",
	    said);
	json_decref(a);
	return -1;
}
