/*
 * qimg.c - qemu-img as a bounded child process (qimg.h): fork, set the
 * resource limits, execv with an argument vector; the parent reads its
 * output, calls the tick, enforces the timeout and reports how it ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/types.h"
#include "qimg.h"

#define QIMG_ARGS_MAX 24
#define QIMG_ERR_MAX 512

static const char *const qimg_paths[] = {
	"/usr/bin/qemu-img", "/usr/local/bin/qemu-img", "/bin/qemu-img",
};

unsigned
qimg_cpu_for(uint64_t bytes)
{
	uint64_t s = 60 * (bytes >> 30) + 120;

	return s > 86400 ? 86400 : (unsigned)s;
}

static const char *
qimg_path(void)
{
	for (size_t i = 0; i < sizeof(qimg_paths) / sizeof(qimg_paths[0]); i++)
		if (access(qimg_paths[i], X_OK) == 0)
			return qimg_paths[i];
	return NULL;
}

/* In the child: limits, stdio, exec.  Never returns. */
static void
qimg_child(const char *path, const struct qimg_run *q, int out, int err)
{
	rlim_t lim = q->as_bytes ? q->as_bytes : QIMG_AS_BYTES;
	struct rlimit as = { lim, lim };
	struct rlimit cpu = { q->cpu_s, q->cpu_s };
	const char *argv[QIMG_ARGS_MAX + 2];
	int nul = open("/dev/null", O_RDONLY);
	sigset_t none;
	size_t n = 0;

	argv[n++] = "qemu-img";
	while (q->argv[n - 1] != NULL && n <= QIMG_ARGS_MAX) {
		argv[n] = q->argv[n - 1];
		n++;
	}
	argv[n] = NULL;
	/* hangard's blocked signals and ignored SIGPIPE are not qemu-img's */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (setrlimit(RLIMIT_AS, &as) < 0 || setrlimit(RLIMIT_CPU, &cpu) < 0 ||
	    nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	closefrom(3);
	execv(path, (char *const *)(uintptr_t)argv);
	_exit(127);
}

/* Read what fd has into buf (kept up to len - 1 bytes); false at EOF. */
static bool
qimg_drain(int fd, char *buf, size_t len, size_t *have)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (buf && *have + 1 < len) {
		size_t k = (size_t)n < len - 1 - *have ? (size_t)n :
		    len - 1 - *have;

		memcpy(buf + *have, tmp, k);
		*have += k;
		buf[*have] = '\0';
	}
	return true;
}

/* How it ended, as the error (or 0). */
static int
qimg_status(int st, bool timed_out, bool stopped, const char *errtext,
    unsigned timeout_s)
{
	char line[QIMG_ERR_MAX];

	if (stopped)
		return err_set(ERR_CONFLICT, "qemu-img was stopped");
	if (timed_out)
		return err_set_field(ERR_UNPROCESSABLE, "file", "qemu-img took "
		    "longer than %u s on this image", timeout_s);
	if (WIFSIGNALED(st))
		return err_set_field(ERR_UNPROCESSABLE, "file", "qemu-img was "
		    "killed (%s) on this image: it needs more memory or CPU "
		    "time than an image may have", strsignal(WTERMSIG(st)));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) >= 126)
		return err_set(ERR_INTERNAL, "qemu-img cannot be run (exit "
		    "status %d)", WEXITSTATUS(st));
	snprintf(line, sizeof(line), "%s", errtext[0] ? errtext :
	    "(no message)");
	line[strcspn(line, "\n")] = '\0';
	return err_set_field(ERR_UNPROCESSABLE, "file", "qemu-img failed on "
	    "this image: %s", line);
}

int
qimg_run(struct qimg_run *q)
{
	const char *path = qimg_path();
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, st = 0;
	char errtext[QIMG_ERR_MAX] = "";
	size_t nout = 0, nerr = 0;
	bool open_o = true, open_e = true, timed_out = false, stopped = false;
	int64_t deadline = time_mono_ms() + (int64_t)q->timeout_s * 1000;
	pid_t pid;

	if (path == NULL)
		return err_set(ERR_INTERNAL, "qemu-img is not installed");
	if (q->out && q->outlen)
		q->out[0] = '\0';
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		err_set(ERR_INTERNAL, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) < 0) {
		err_set(ERR_INTERNAL, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		qimg_child(path, q, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	while (open_o || open_e) {
		struct pollfd pf[2] = { { po[0], POLLIN, 0 },
		    { pe[0], POLLIN, 0 } };
		int n = poll(pf, 2, 250);

		if (n > 0 && open_o && (pf[0].revents & (POLLIN | POLLHUP)))
			open_o = qimg_drain(po[0], q->out, q->outlen, &nout);
		if (n > 0 && open_e && (pf[1].revents & (POLLIN | POLLHUP)))
			open_e = qimg_drain(pe[0], errtext, sizeof(errtext),
			    &nerr);
		if (!timed_out && !stopped && time_mono_ms() > deadline)
			timed_out = true;
		if (!timed_out && !stopped && q->tick && q->tick(q->arg))
			stopped = true;
		if (timed_out || stopped)
			kill(pid, SIGKILL);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	close(po[0]);
	close(pe[0]);
	return qimg_status(st, timed_out, stopped, errtext, q->timeout_s);
fail:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	return -1;
}
