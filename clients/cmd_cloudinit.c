/*
 * cmd_cloudinit.c - the cloud-init options of `hangar vm create`, read
 * into the create body's "cloud_init" object:
 *	--ssh-key FILE      each key line of FILE (an OpenSSH .pub file or
 *	                    an authorized_keys file: blank lines and '#'
 *	                    comments are skipped), repeatable
 *	--hostname NAME     the guest's host name
 *	--user-data FILE    the user-data, sent as it is
 *	--vendor-data FILE  the vendor-data, sent as it is
 *	--wait-ready        once created, wait until cloud-init in the guest
 *	                    is done (cmd_vmwait.c: vm_wait_ready)
 *	--wait-ip           ... until a NIC is seen with an address
 *	                    (vm_wait_ip)
 * The server checks them (its 400 names the field); here a file is only
 * read, at most CI_FILE_MAX bytes (past the server's 64 KiB limit of the
 * whole, so the server says how much is too much).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hangar.h"

#define CI_FILE_MAX (256 * 1024)

/* The whole of file (NUL-terminated, malloc'd), or NULL after reporting */
static char *
ci_read(const char *opt, const char *file)
{
	FILE *f = fopen(file, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		cli_fail(CLI_USAGE, "%s %s: %s", opt, file, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(CI_FILE_MAX + 1)) == NULL) {
		fclose(f);
		cli_fail(CLI_ERROR, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, CI_FILE_MAX + 1, f);
	if (ferror(f) || n > CI_FILE_MAX) {
		cli_fail(CLI_USAGE, "%s %s: %s", opt, file, ferror(f) ?
		    strerror(errno) : "bigger than 256 KiB");
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

/* The key lines of text appended to keys */
static int
ci_keys(json_t *keys, char *text)
{
	char *save = NULL;

	for (char *l = strtok_r(text, "\r\n", &save); l != NULL;
	    l = strtok_r(NULL, "\r\n", &save)) {
		l += strspn(l, " \t");
		if (*l == '\0' || *l == '#')
			continue;
		if (json_array_append_new(keys, json_string(l)) == -1)
			return cli_fail(CLI_ERROR, "%s is not UTF-8 text",
			    "a --ssh-key file");
	}
	return 0;
}

/* body's "cloud_init", made when first needed */
static json_t *
ci_object(json_t *body)
{
	json_t *ci = json_object_get(body, "cloud_init");

	if (ci == NULL && cli_set(body, "cloud_init", json_object()) == 0)
		ci = json_object_get(body, "cloud_init");
	return ci;
}

/* A file's text as ci's member key. */
static int
ci_file(json_t *ci, const char *key, const char *opt)
{
	char *text = ci_read(opt, optarg);
	int r;

	if (text == NULL)
		return -1;
	r = cli_set(ci, key, json_string(text));
	free(text);
	if (r == -1)
		return cli_fail(CLI_USAGE, "%s %s is not UTF-8 text", opt,
		    optarg);
	return 1;
}

int
vm_ci_opt(struct cli *cli, int ch, bool create, json_t *body)
{
	json_t *ci, *keys;
	char *text;
	int r;

	if (ch != VM_CI_SSH_KEY && ch != VM_CI_HOSTNAME &&
	    ch != VM_CI_USER_DATA && ch != VM_CI_VENDOR_DATA &&
	    ch != VM_CI_WAIT_READY && ch != VM_CI_WAIT_IP)
		return 0;
	if (!create)
		return cli_usage_error(cli, "invalid option: the cloud-init "
		    "options are for vm create");
	if (ch == VM_CI_WAIT_READY || ch == VM_CI_WAIT_IP) {
		*(ch == VM_CI_WAIT_READY ? &cli->cli_wait_ready :
		    &cli->cli_wait_ip) = true;
		return 1;
	}
	if ((ci = ci_object(body)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	switch (ch) {
	case VM_CI_HOSTNAME:
		return cli_set_str(cli, ci, "hostname", "--hostname",
		    optarg) == -1 ? -1 : 1;
	case VM_CI_USER_DATA:
		return ci_file(ci, "user_data", "--user-data");
	case VM_CI_VENDOR_DATA:
		return ci_file(ci, "vendor_data", "--vendor-data");
	default:
		break;
	}
	if ((keys = json_object_get(ci, "ssh_authorized_keys")) == NULL) {
		if (cli_set(ci, "ssh_authorized_keys", json_array()) == -1)
			return cli_fail(CLI_ERROR, "out of memory");
		keys = json_object_get(ci, "ssh_authorized_keys");
	}
	if ((text = ci_read("--ssh-key", optarg)) == NULL)
		return -1;
	r = ci_keys(keys, text);
	free(text);
	return r == -1 ? -1 : 1;
}
