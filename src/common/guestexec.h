/*
 * guestexec.h - reading what a guest's agent answers to guest-exec and
 * guest-exec-status (qemu-guest-agent's JSON), and what cloud-init's
 * `cloud-init status` prints, into hangar's provisioning states
 * (guestexec.c).  Pure: text in, values out.  Both texts come from the
 * guest, which may say anything: every length is bounded and every field
 * checked.
 */
#ifndef HANGAR_GUESTEXEC_H
#define HANGAR_GUESTEXEC_H

#include <stdbool.h>
#include <stddef.h>

/* What a program run in the guest printed that we keep, at most. */
#define GUESTEXEC_OUT_MAX 4096

struct guestexec_status {
	bool exited;
	int exitcode;               /* when exited; -1 when killed by a signal */
	char out[GUESTEXEC_OUT_MAX + 1];   /* its stdout, NUL-terminated */
	size_t out_len;
	bool out_truncated;
};

/* The pid in a guest-exec reply {"return":{"pid":N}}: 0, or -1. */
int guestexec_pid(const char *reply, long long *pid);

/*
 * A guest-exec-status reply {"return":{"exited":B,"exitcode":N,
 * "signal":N,"out-data":"<base64>","out-truncated":B}} into st: 0, or
 * -1 when it is not one.
 */
int guestexec_status_parse(const char *reply, struct guestexec_status *st);

/*
 * What `cloud-init status` printed ("status: done", "status: running",
 * "status: error", "status: not run", "status: disabled", ...) and its
 * exit code, as a provisioning state: "pending" (not started yet),
 * "running", "done" or "error"; NULL when the text says none of these.
 */
const char *guestexec_cloudinit_state(const char *out, int exitcode);

#endif
