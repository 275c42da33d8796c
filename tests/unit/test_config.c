/*
 * test_config.c - unit tests of daemon/config.c: defaults, the file
 * reader, the flags and listen address checks.
 *
 * The file reader is tested with golden cases in tests/golden/config/:
 * every pass-*.conf must load and pass config_check(), and every
 * fail-*.conf must fail one of them with the one-line message held in its
 * sibling fail-*.expected.  Adding a case
 * is adding files; no code changes.  Run from the repository root (as
 * `make check` does).  HANGAR_REGOLD=1 rewrites the .expected files from
 * what the reader says now; review the diff before committing it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"

#define GOLDEN_DIR "tests/golden/config"
#define GOLDEN_MAX 1024
#define ERR_MAX 1024

/* argv for config_from_args: ARGV("--db", "/x") is { "hangard", ..., NULL } */
#define ARGV(...) ((char *[]){ "hangard", __VA_ARGS__, NULL })

static int
argv_count(char **argv)
{
	int n = 0;

	while (argv[n] != NULL)
		n++;
	return n;
}

static int
from_args(struct config *c, char **argv, char *err)
{
	err[0] = '\0';
	return config_from_args(c, argv_count(argv), argv, err, ERR_MAX);
}

/*
 * Run config_from_args with stdout sent to a temporary file whose
 * contents land in out[outlen].  Returns what config_from_args did.
 */
static int
from_args_stdout(struct config *c, char **argv, char *err, char *out,
    size_t outlen)
{
	FILE *tmp;
	size_t n;
	int saved, rc;

	tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
	rc = from_args(c, argv, err);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, outlen - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return rc;
}

static int
load(struct config *c, const char *path, char *err)
{
	config_defaults(c);
	err[0] = '\0';
	return config_load_file(c, path, err, ERR_MAX);
}

static int
has_prefix_suffix(const char *s, const char *pre, const char *suf)
{
	size_t n = strlen(s), np = strlen(pre), ns = strlen(suf);

	return n >= np + ns && strncmp(s, pre, np) == 0 &&
	    strcmp(s + n - ns, suf) == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read all of path into buf[len], dropping one trailing newline. */
static int
read_expected(const char *path, char *buf, size_t len)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static int
write_expected(const char *path, const char *msg)
{
	FILE *f;
	int rc = 0;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	if (fprintf(f, "%s\n", msg) < 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/*
 * Check one golden case; returns 0 when it behaves as its name says.
 */
static int
golden_case(const char *name, int regold)
{
	struct config *c;
	char path[512], exp_path[512], err[ERR_MAX], want[ERR_MAX];
	size_t stem;
	int rc, bad = 0;

	c = malloc(sizeof(*c));
	assert_non_null(c);
	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	rc = load(c, path, err);
	if (rc == 0)
		rc = config_check(c, err, ERR_MAX);
	if (strncmp(name, "pass-", 5) == 0) {
		if (rc != 0) {
			print_error("%s: should load, got: %s\n", path, err);
			bad = 1;
		}
		goto out;
	}
	stem = strlen(path) - strlen(".conf");
	snprintf(exp_path, sizeof(exp_path), "%.*s.expected", (int)stem, path);
	if (rc == 0) {
		print_error("%s: should fail, but loaded\n", path);
		bad = 1;
		goto out;
	}
	if (regold) {
		if (write_expected(exp_path, err) == -1) {
			print_error("%s: cannot write\n", exp_path);
			bad = 1;
		}
		goto out;
	}
	if (read_expected(exp_path, want, sizeof(want)) == -1) {
		print_error("%s: missing (HANGAR_REGOLD=1 writes it)\n",
		    exp_path);
		bad = 1;
	} else if (strcmp(err, want) != 0) {
		print_error("%s:\n  want: %s\n  got:  %s\n", path, want, err);
		bad = 1;
	}
out:
	free(c);
	return bad;
}

static void
test_golden(void **state)
{
	char *names[GOLDEN_MAX], conf[512];
	struct dirent *de;
	const char *regold = getenv("HANGAR_REGOLD");
	size_t n = 0, npass = 0, nfail = 0, nbad = 0;
	DIR *d;

	(void)state;
	d = opendir(GOLDEN_DIR);
	if (d == NULL)
		fail_msg("cannot open %s (run from the repository root)",
		    GOLDEN_DIR);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(n < GOLDEN_MAX);
		names[n] = strdup(de->d_name);
		assert_non_null(names[n]);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);

	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];

		if (has_prefix_suffix(name, "fail-", ".expected")) {
			/* A stale .expected with no .conf is a mistake. */
			snprintf(conf, sizeof(conf), "%.*s.conf",
			    (int)(strlen(name) - strlen(".expected")), name);
			if (bsearch(&(char *){ conf }, names, n,
			    sizeof(names[0]), cmp_names) == NULL) {
				print_error("%s/%s: no %s beside it\n",
				    GOLDEN_DIR, name, conf);
				nbad++;
			}
			continue;
		}
		if (has_prefix_suffix(name, "pass-", ".conf"))
			npass++;
		else if (has_prefix_suffix(name, "fail-", ".conf"))
			nfail++;
		else {
			print_error("%s/%s: not pass-*.conf, fail-*.conf or "
			    "fail-*.expected\n", GOLDEN_DIR, name);
			nbad++;
			continue;
		}
		nbad += (size_t)golden_case(name,
		    regold != NULL && strcmp(regold, "1") == 0);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);

	print_message("golden: %zu pass cases, %zu fail cases\n", npass,
	    nfail);
	if (npass == 0 || nfail == 0)
		fail_msg("%s holds no pass-*.conf or no fail-*.conf cases",
		    GOLDEN_DIR);
	assert_int_equal(nbad, 0);
}

static void
test_defaults(void **state)
{
	struct config *c = *state;

	config_defaults(c);
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->listen[0], "unix:/run/hangar/hangard.sock");
	assert_string_equal(c->listen[1], "127.0.0.1:8470");
	assert_string_equal(c->db_path, "/var/lib/hangar/hangar.db");
	assert_string_equal(c->host_uri, "qemu:///system");
	assert_string_equal(c->pool_name, "hangar");
	assert_string_equal(c->pool_path, "/var/lib/hangar/images");
	assert_string_equal(c->image_dir, "/var/lib/hangar/library");
	assert_string_equal(c->backup_dir, "/var/lib/hangar/backups");
	assert_int_equal(c->backup_direct, 1);
	assert_int_equal(c->image_max_gib, 256);
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->workers, 4);
	assert_int_equal(c->max_connections, 1000);
	assert_int_equal(c->shutdown_timeout_s, 30);
	assert_int_equal(c->stop_timeout_s, 60);
	assert_int_equal(c->socket_mode, 0660);
	assert_string_equal(c->tls_cert, "");
	assert_string_equal(c->tls_key, "");
	assert_string_equal(c->tls_client_ca, "");
	assert_string_equal(c->unix_admin_group, "hangar");
	assert_string_equal(c->unix_operator_group, "");
	assert_string_equal(c->unix_reader_group, "");
	assert_string_equal(c->config_path, "");
}

/* Access control keys: the values kept, and "none" for no group. */
static void
test_access_keys(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(load(c, GOLDEN_DIR "/pass-full.conf", err), 0);
	assert_string_equal(c->tls_cert, "/etc/hangar/tls/cert.pem");
	assert_string_equal(c->tls_key, "/etc/hangar/tls/key.pem");
	assert_string_equal(c->tls_client_ca, "/etc/hangar/tls/clients-ca.pem");
	assert_string_equal(c->unix_admin_group, "hangar-admins");
	assert_string_equal(c->unix_operator_group, "hangar-ops");
	assert_string_equal(c->unix_reader_group, "adm");
	assert_int_equal(load(c, GOLDEN_DIR "/pass-unix-groups.conf", err), 0);
	assert_string_equal(c->unix_admin_group, "");
	assert_string_equal(c->unix_operator_group, "hangar-ops");
	assert_string_equal(c->unix_reader_group, "_hangar.read-1");
	/* the shipped file says what the defaults are */
	assert_int_equal(load(c, "config/hangard.conf", err), 0);
	assert_string_equal(c->unix_admin_group, "hangar");
	assert_string_equal(c->unix_operator_group, "");
	assert_int_equal(config_check(c, err, ERR_MAX), 0);
}

/*
 * config_check after the flags: a --listen off loopback needs TLS from the
 * file; one on loopback does not; the message names the address.
 */
static void
test_check_plain_listen(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];
	static const char *const loopback[] = {
		"127.0.0.1:1", "127.255.255.254:2", "[::1]:3", "localhost:4",
		"[::ffff:127.0.0.9]:5", "unix:/tmp/x.sock",
	};
	static const char *const other[] = {
		"0.0.0.0:1", "10.0.0.1:2", "[::]:3", "[fe80::1]:4",
		"kvm-1.example.org:5", "128.0.0.1:6", "[::ffff:10.0.0.1]:7",
		"localhost.example.org:8",
	};

	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		char *argv[] = { "hangard", "--listen", (char *)(uintptr_t)
		    loopback[i], NULL };

		if (from_args(c, argv, err) != 0)
			fail_msg("%s: %s", loopback[i], err);
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		char *argv[] = { "hangard", "--listen", (char *)(uintptr_t)
		    other[i], NULL };
		char want[256];

		if (from_args(c, argv, err) != -1)
			fail_msg("%s: plain HTTP accepted", other[i]);
		snprintf(want, sizeof(want), "listen '%s' is not a loopback "
		    "address", other[i]);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: %s", other[i], err);
	}
	/* the same with TLS from the file: fine */
	assert_int_equal(from_args(c, ARGV("--config", GOLDEN_DIR
	    "/pass-tls.conf", "--listen", "0.0.0.0:1"), err), 0);
	assert_string_equal(c->tls_client_ca, "/etc/hangar/tls/clients-ca.pem");
	/* and --check says so too, exiting 2 (-1) */
	assert_int_equal(from_args(c, ARGV("--check", "--listen", "[::]:1"),
	    err), -1);
}

static void
test_pass_full(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(load(c, GOLDEN_DIR "/pass-full.conf", err), 0);
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->listen[0], "unix:/tmp/hangar-test/hangard.sock");
	assert_string_equal(c->listen[1], "0.0.0.0:9000");
	assert_string_equal(c->db_path, "/srv/hangar/state.db");
	assert_string_equal(c->host_uri, "qemu+ssh://root@kvm1/system");
	assert_string_equal(c->pool_name, "vm-pool_2.a");
	assert_string_equal(c->pool_path, "/srv/hangar/images");
	assert_string_equal(c->backup_dir, "/mnt/nfs/hangar-backups");
	assert_int_equal(c->backup_direct, 0);
	assert_string_equal(c->image_dir, "/srv/hangar/library");
	assert_int_equal(c->image_max_gib, 1024);
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_int_equal(c->workers, 8);
	assert_int_equal(c->max_connections, 2);
	assert_int_equal(c->shutdown_timeout_s, 0);
	assert_int_equal(c->stop_timeout_s, 120);
	assert_int_equal(c->socket_mode, 0600);
	assert_string_equal(c->config_path, GOLDEN_DIR "/pass-full.conf");
}

static void
test_pass_quoted(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(load(c, GOLDEN_DIR "/pass-quoted.conf", err), 0);
	assert_string_equal(c->db_path, "/srv/with # hash/db");
	assert_string_equal(c->pool_path, "/srv/images");
	assert_string_equal(c->host_uri, "test:///default");
	assert_int_equal(c->log_level, LOG_WARN);
	assert_string_equal(c->pool_name, "p");
	/* No listen line: the defaults stay. */
	assert_int_equal(c->n_listen, 2);
}

static void
test_pass_listen(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(load(c, GOLDEN_DIR "/pass-listen.conf", err), 0);
	assert_int_equal(c->n_listen, CONFIG_LISTEN_MAX);
	assert_string_equal(c->listen[0], "unix:/run/hangar/hangard.sock");
	assert_string_equal(c->listen[2], "[::1]:8470");
	assert_string_equal(c->listen[6], "[2001:db8::42]:443");
}

static void
test_pass_limits(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(load(c, GOLDEN_DIR "/pass-limits.conf", err), 0);
	assert_int_equal(c->workers, 64);
	assert_int_equal(c->max_connections, 1);
	assert_int_equal(c->shutdown_timeout_s, 3600);
	assert_int_equal(c->stop_timeout_s, 1);
	assert_int_equal(c->socket_mode, 0);
	assert_int_equal(c->image_max_gib, 65536);
	assert_int_equal(strlen(c->pool_name), 64);
}

/* The sample config that `make run` uses must load and keep the defaults. */
static void
test_sample_config(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	if (load(c, "config/hangard.conf", err) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->listen[0], "unix:/run/hangar/hangard.sock");
	assert_string_equal(c->listen[1], "127.0.0.1:8470");
	assert_string_equal(c->db_path, "/var/lib/hangar/hangar.db");
	assert_string_equal(c->host_uri, "qemu:///system");
	assert_string_equal(c->image_dir, "/var/lib/hangar/library");
	assert_int_equal(c->image_max_gib, 256);
}

/* A file goes on top of what is there; its first listen replaces. */
static void
test_load_on_top(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(load(c, GOLDEN_DIR "/pass-full.conf", err), 0);
	assert_int_equal(config_load_file(c, GOLDEN_DIR "/pass-limits.conf",
	    err, sizeof(err)), 0);
	assert_string_equal(c->db_path, "/srv/hangar/state.db");
	assert_int_equal(c->workers, 64);
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->config_path, GOLDEN_DIR "/pass-limits.conf");

	assert_int_equal(config_load_file(c, GOLDEN_DIR "/pass-listen.conf",
	    err, sizeof(err)), 0);
	assert_int_equal(c->n_listen, CONFIG_LISTEN_MAX);
	assert_string_equal(c->listen[1], "127.0.0.1:8470");
}

/* A file that fails leaves the config as it was. */
static void
test_load_all_or_nothing(void **state)
{
	struct config *c = *state, *before;
	char err[ERR_MAX];

	before = malloc(sizeof(*before));
	assert_non_null(before);
	config_defaults(c);
	*before = *c;
	/* Sets workers on line 1, fails on line 3. */
	assert_int_equal(config_load_file(c, GOLDEN_DIR "/fail-duplicate.conf",
	    err, sizeof(err)), -1);
	assert_memory_equal(c, before, sizeof(*c));
	free(before);
}

static void
test_load_unreadable(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(load(c, "tests/golden/no-such.conf", err), -1);
	assert_string_equal(err, "tests/golden/no-such.conf: cannot open: "
	    "No such file or directory");
	assert_int_equal(load(c, GOLDEN_DIR, err), -1);
	assert_string_equal(err, GOLDEN_DIR ": read error: Is a directory");
}

/* A message cut to fit errbuf is still a terminated string. */
static void
test_load_small_errbuf(void **state)
{
	struct config *c = *state;
	char err[16];

	config_defaults(c);
	assert_int_equal(config_load_file(c, GOLDEN_DIR "/fail-log-level.conf",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "tests/golden/co");
}

static void
test_set(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	config_defaults(c);
	assert_int_equal(config_set(c, "workers", "12", err, sizeof(err)), 0);
	assert_int_equal(c->workers, 12);
	assert_int_equal(config_set(c, "socket_mode", "640", err,
	    sizeof(err)), 0);
	assert_int_equal(c->socket_mode, 0640);
	assert_int_equal(config_set(c, "listen", "[::1]:1", err,
	    sizeof(err)), 0);
	assert_int_equal(c->n_listen, 3);

	assert_int_equal(config_set(c, "wrokers", "4", err, sizeof(err)), -1);
	assert_string_equal(err, "unknown key 'wrokers'");
	assert_int_equal(config_set(c, "workers", "0", err, sizeof(err)), -1);
	assert_string_equal(err,
	    "workers must be an integer from 1 to 64, not '0'");
	assert_int_equal(config_set(c, "db", "", err, sizeof(err)), -1);
	assert_string_equal(err, "db must not be empty");
	assert_int_equal(config_set(c, "host_uri", "qemu:///system\n", err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "host_uri must not contain blanks or control characters");
	assert_int_equal(c->workers, 12);
}

/* A value longer than its field is refused, and shown cut short. */
static void
test_set_too_long(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX], want[ERR_MAX], *v;

	v = malloc(CONFIG_STR_MAX + 1);
	assert_non_null(v);
	memset(v, 'a', CONFIG_STR_MAX);
	v[0] = '/';
	v[CONFIG_STR_MAX] = '\0';
	config_defaults(c);
	assert_int_equal(config_set(c, "db", v, err, sizeof(err)), -1);
	assert_string_equal(err, "db is too long (4096 bytes, at most 4095)");
	v[CONFIG_STR_MAX - 1] = '\0';
	assert_int_equal(config_set(c, "db", v, err, sizeof(err)), 0);
	assert_int_equal(strlen(c->db_path), CONFIG_STR_MAX - 1);

	memset(v, 'x', 100);
	v[100] = '\0';
	assert_int_equal(config_set(c, "log_level", v, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "log_level must be one of error, warn, "
	    "info, debug, not '%.64s...'", v);
	assert_string_equal(err, want);
	free(v);
}

static void
test_listen_valid(void **state)
{
	static const char *const good[] = {
		"unix:/run/hangar/hangard.sock", "unix:/x", "127.0.0.1:8470",
		"0.0.0.0:1", "[::1]:8470", "[::]:65535", "localhost:80",
		"kvm-1.example.org:443", "host.:80", "10.0.0.1:08470",
	};
	static const char *const bad[] = {
		"", "unix:", "unix:relative", "127.0.0.1", "127.0.0.1:",
		"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:123456",
		"127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1: 80", ":8470",
		"::1:8470", "[::1:8470", "[]:80", "[::g]:80", "[127.0.0.1]:80",
		"256.0.0.1:80", "1.2.3:80", "my_host:80", "-host:80", ".a:80",
		"a..b:80", "host name:80", "*:80", "tcp://localhost:80",
	};
	char path[200];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (config_listen_valid(good[i]) != 0)
			fail_msg("'%s' should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (config_listen_valid(bad[i]) != -1)
			fail_msg("'%s' should be invalid", bad[i]);

	/* sun_path holds 108 bytes with the NUL: 107 is the longest. */
	snprintf(path, sizeof(path), "unix:/%0106d", 0);
	assert_int_equal(config_listen_valid(path), 0);
	snprintf(path, sizeof(path), "unix:/%0107d", 0);
	assert_int_equal(config_listen_valid(path), -1);
}

static void
test_args_none(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(from_args(c, ARGV(NULL), err), 0);
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->db_path, "/var/lib/hangar/hangar.db");
	assert_string_equal(c->config_path, "");
}

/* Flags beat the file, wherever they stand on the command line. */
static void
test_args_override_file(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(from_args(c, ARGV("--db", "/tmp/flag.db",
	    "--config", GOLDEN_DIR "/pass-full.conf", "--log-level", "error",
	    "--host-uri", "test:///default"), err), 0);
	assert_string_equal(c->db_path, "/tmp/flag.db");
	assert_int_equal(c->log_level, LOG_ERROR);
	assert_string_equal(c->host_uri, "test:///default");
	/* What no flag touches comes from the file. */
	assert_int_equal(c->workers, 8);
	assert_string_equal(c->pool_name, "vm-pool_2.a");
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->listen[1], "0.0.0.0:9000");
	assert_string_equal(c->config_path, GOLDEN_DIR "/pass-full.conf");

	assert_int_equal(from_args(c, ARGV("-c", GOLDEN_DIR "/pass-full.conf",
	    "--db=/tmp/eq.db"), err), 0);
	assert_string_equal(c->db_path, "/tmp/eq.db");
}

/* Any --listen replaces every listen address of the file and defaults. */
static void
test_args_listen_replaces(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(from_args(c, ARGV("-l", "[::1]:9001",
	    "--config", GOLDEN_DIR "/pass-listen.conf",
	    "--listen", "unix:/tmp/h.sock"), err), 0);
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->listen[0], "[::1]:9001");
	assert_string_equal(c->listen[1], "unix:/tmp/h.sock");

	assert_int_equal(from_args(c, ARGV("--listen", "localhost:1"), err), 0);
	assert_int_equal(c->n_listen, 1);
	assert_string_equal(c->listen[0], "localhost:1");
}

static void
test_args_exit_early(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX], out[4096];

	assert_int_equal(from_args_stdout(c, ARGV("--check", "--config",
	    GOLDEN_DIR "/pass-full.conf"), err, out, sizeof(out)), 1);
	assert_string_equal(out, "configuration OK\n");
	assert_int_equal(from_args_stdout(c, ARGV("-n"), err, out,
	    sizeof(out)), 1);
	assert_string_equal(out, "configuration OK\n");
	assert_int_equal(from_args_stdout(c, ARGV("-V"), err, out,
	    sizeof(out)), 1);
	assert_string_equal(out, "hangard 0.1.0\n");
	assert_int_equal(from_args_stdout(c, ARGV("--version"), err, out,
	    sizeof(out)), 1);
	assert_string_equal(out, "hangard 0.1.0\n");
	assert_int_equal(from_args_stdout(c, ARGV("-h"), err, out,
	    sizeof(out)), 1);
	assert_non_null(strstr(out, "usage: hangard "));
	assert_non_null(strstr(out, "--log-level LEVEL"));
	/* Help does not read the file. */
	assert_int_equal(from_args_stdout(c, ARGV("--help", "-c",
	    "/nonexistent.conf"), err, out, sizeof(out)), 1);

	/* --check of a bad file fails instead and prints nothing. */
	assert_int_equal(from_args_stdout(c, ARGV("--check", "--config",
	    GOLDEN_DIR "/fail-log-level.conf"), err, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_string_equal(err, GOLDEN_DIR "/fail-log-level.conf:1: "
	    "log_level must be one of error, warn, info, debug, not 'loud'");
	/* --check judges the flags too. */
	assert_int_equal(from_args_stdout(c, ARGV("--check", "--db", "x"),
	    err, out, sizeof(out)), -1);
	assert_string_equal(out, "");
}

static void
test_args_errors(void **state)
{
	static const struct {
		char	*argv[8];
		const char *want;
	} cases[] = {
		{ { "hangard", "--log-level", "x" },
		  "--log-level: must be one of error, warn, info, debug, "
		  "not 'x'" },
		{ { "hangard", "--db", "relative.db" },
		  "--db: must be an absolute path, not 'relative.db'" },
		{ { "hangard", "--db", "" }, "--db: must not be empty" },
		{ { "hangard", "--host-uri", "qemu:// system" },
		  "--host-uri: must not contain blanks or control "
		  "characters" },
		{ { "hangard", "--listen", "localhost:0" },
		  "--listen: address 'localhost:0' is not valid: the port "
		  "must be a number from 1 to 65535" },
		{ { "hangard", "-l", "unix:x" },
		  "--listen: address 'unix:x' is not valid: a unix socket "
		  "path must be absolute" },
		{ { "hangard", "--frob" }, "unknown option '--frob'" },
		{ { "hangard", "-x" }, "unknown option '-x'" },
		{ { "hangard", "-nx" }, "unknown option '-x'" },
		{ { "hangard", "--db" }, "--db: an argument is required" },
		{ { "hangard", "-c" }, "--config: an argument is required" },
		{ { "hangard", "--check=yes" }, "--check: takes no argument" },
		{ { "hangard", "--db", "/x", "extra" },
		  "unexpected argument 'extra'" },
		{ { "hangard", "--config", "/nonexistent/h.conf" },
		  "/nonexistent/h.conf: cannot open: No such file or "
		  "directory" },
		{ { "hangard", "-c", GOLDEN_DIR "/fail-unknown-key.conf" },
		  GOLDEN_DIR "/fail-unknown-key.conf:3: unknown key "
		  "'wrokers'" },
	};
	struct config *c = *state;
	char err[ERR_MAX], *argv[8];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* getopt_long may reorder argv: give it a copy. */
		memcpy(argv, cases[i].argv, sizeof(argv));
		if (from_args(c, argv, err) != -1)
			fail_msg("%s %s: should fail", argv[1],
			    argv[2] ? argv[2] : "");
		if (strcmp(err, cases[i].want) != 0)
			fail_msg("case %zu:\n  want: %s\n  got:  %s", i,
			    cases[i].want, err);
	}
}

static void
test_args_too_many_listen(void **state)
{
	struct config *c = *state;
	char err[ERR_MAX];

	assert_int_equal(from_args(c, ARGV("-l", "127.0.0.1:1", "-l",
	    "127.0.0.2:2", "-l", "127.0.0.3:3", "-l", "127.0.0.4:4", "-l",
	    "[::1]:5", "-l", "localhost:6", "-l", "127.1.2.3:7", "-l",
	    "unix:/tmp/h.sock"), err), 0);
	assert_int_equal(c->n_listen, 8);
	assert_int_equal(from_args(c, ARGV("-l", "h:1", "-l", "h:2", "-l",
	    "h:3", "-l", "h:4", "-l", "h:5", "-l", "h:6", "-l", "h:7", "-l",
	    "h:8", "-l", "h:9"), err), -1);
	assert_string_equal(err, "--listen: may be given at most 8 times");
}

static int
setup(void **state)
{
	*state = malloc(sizeof(struct config));
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test_setup_teardown(test_defaults, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pass_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pass_quoted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pass_listen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pass_limits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sample_config, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_access_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_check_plain_listen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_load_on_top, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_load_all_or_nothing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_load_unreadable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_load_small_errbuf, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_too_long, setup,
		    teardown),
		cmocka_unit_test(test_listen_valid),
		cmocka_unit_test_setup_teardown(test_args_none, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_args_override_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_args_listen_replaces,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_args_exit_early, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_args_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_args_too_many_listen,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
