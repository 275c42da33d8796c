/*
 * cmd_vmwait.c - waiting on a VM after its create (`hangar vm create
 * --wait-ready`, `--wait-ip`) and asking for its address (`hangar vm ip
 * VM`, for `ssh debian@$(hangar vm ip web1)`).  Each wait polls GET
 * /v1/vms/{vm} once a second until the VM says what is waited for, up to
 * --timeout (default 900 s); ^C ends it.  (Not the server's
 * ?wait_for=address: it holds a reply at most 300 s, and a poll can say
 * how it goes on the way.)
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hangar.h"
#include "http.h"

#define VMWAIT_DEFAULT_S 900

/*
 * What a wait looks for in the VM: 1 (there: 0 is returned), 0 (not
 * yet: *now says how it is, for the progress line), or -1 after
 * reporting (it will never come).
 */
typedef int (*vmwait_fn)(const char *vm, const json_t *v, const char **now);

static int
vmwait_poll(struct cli *cli, const char *vm, vmwait_fn fn, const char *what)
{
	struct timespec ts = { 1, 0 };
	char path[HANGAR_PATH_MAX];
	long limit = cli->cli_timeout > 0 ? cli->cli_timeout :
	    VMWAIT_DEFAULT_S;
	const char *now = "";
	json_t *v;
	int r;

	if (http_path(cli->cli_http, path, sizeof(path), "/v1/vms/", vm,
	    NULL) == -1)
		return -1;
	for (long waited = 0; ; waited++) {
		if (http_call(cli->cli_http, "GET", path, NULL, &v) == -1)
			return -1;
		r = fn(vm, v, &now);
		if (r != 0) {
			json_decref(v);
			if (isatty(STDERR_FILENO))
				fputc('\n', stderr);
			return r > 0 ? 0 : -1;
		}
		if (waited >= limit) {
			cli_fail(CLI_ERROR, "vm %s: %s still %s after %ld s", vm,
			    what, now, limit);
			json_decref(v);
			return -1;
		}
		if (isatty(STDERR_FILENO))
			fprintf(stderr, "\rwaiting for %s: %s (%ld s) ", what,
			    now, waited);
		json_decref(v);
		nanosleep(&ts, NULL);
		if (cli_interrupted)
			return cli_fail(CLI_INTERRUPTED, "interrupted");
	}
}

/* provisioning done: 1; error or not followed: -1 */
static int
vmwait_ready(const char *vm, const json_t *v, const char **now)
{
	const char *p = json_string_value(json_object_get(v, "provisioning"));

	if (p == NULL)
		return cli_fail(CLI_ERROR, "vm %s: provisioning is not "
		    "followed: the vm has no cloud-init seed", vm);
	if (strcmp(p, "error") == 0)
		return cli_fail(CLI_ERROR, "vm %s: provisioning failed: "
		    "cloud-init reported an error", vm);
	*now = p;
	return strcmp(p, "done") == 0;
}

int
vm_wait_ready(struct cli *cli, const char *vm)
{
	return vmwait_poll(cli, vm, vmwait_ready, "cloud-init");
}

/* The first address a NIC of v was seen with, or NULL. */
static const char *
vmwait_seen(const json_t *v)
{
	const json_t *nic;
	size_t i;

	json_array_foreach(json_object_get(v, "nics"), i, nic) {
		const json_t *a = json_array_get(json_object_get(nic,
		    "addresses"), 0);
		const char *s = json_string_value(json_object_get(a,
		    "address"));

		if (s)
			return s;
	}
	return NULL;
}

/* a NIC seen with an address: 1; no NIC at all: -1 */
static int
vmwait_ip(const char *vm, const json_t *v, const char **now)
{
	if (json_array_size(json_object_get(v, "nics")) == 0)
		return cli_fail(CLI_ERROR, "vm %s has no network interface",
		    vm);
	*now = "none seen";
	return vmwait_seen(v) != NULL;
}

int
vm_wait_ip(struct cli *cli, const char *vm)
{
	return vmwait_poll(cli, vm, vmwait_ip, "an address");
}

/*
 * hangar vm ip VM: its first NIC's address, as hangar gave it (known
 * before the guest boots), else the first one it was seen with.
 */
int
vm_ip(struct cli *cli, int argc, char **argv)
{
	char path[HANGAR_PATH_MAX];
	const char *ip;
	json_t *v;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 1) == -1 ||
	    http_path(cli->cli_http, path, sizeof(path), "/v1/vms/",
	    argv[optind], NULL) == -1 ||
	    http_call(cli->cli_http, "GET", path, NULL, &v) == -1)
		return -1;
	ip = json_string_value(json_object_get(json_array_get(
	    json_object_get(v, "nics"), 0), "ipv4"));
	if (ip == NULL)
		ip = vmwait_seen(v);
	if (ip)
		rc = printf("%s\n", ip) < 0 ? -1 : 0;
	else
		rc = cli_fail(CLI_ERROR, "vm %s has no address (no network "
		    "interface, or none given nor seen)", argv[optind]);
	json_decref(v);
	return rc;
}
