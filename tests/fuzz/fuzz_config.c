/*
 * fuzz_config.c - libFuzzer target for hangard's config file reader
 * (src/daemon/config.c): config_load_file on top of config_defaults,
 * config_check on what it read, and config_set (what the command-line
 * flags go through).
 *
 * Input: the file's bytes, written to a memory file (memfd) each run and
 * read back by path through /proc/self/fd, as hangard reads its file.
 * Checks:
 *  - a failure gives "PATH:LINE: ..." with LINE from 1 to the number of
 *    lines in the file, and leaves the struct exactly as it was (a file
 *    is applied all or nothing);
 *  - a success leaves every setting in its documented range: 1-8 valid
 *    listen addresses, absolute paths, a pool name of [A-Za-z0-9_.-],
 *    integers in range, ratios in (0, 1000], a policy of spread or pack,
 *    every string NUL-terminated, TLS files absolute, unix groups valid;
 *  - config_check (the rules between keys) gives 0 only when tls_cert
 *    and tls_key go together, tls_client_ca has them, and without TLS
 *    every TCP listen address is a loopback one (checked here
 *    independently), else -1 with a message;
 *  - the storage pool XML made of pool_name and pool_path reads back
 *    with exactly the expected elements and both strings unchanged;
 *  - config_set with the first line's key and value (split at '=') either
 *    succeeds or gives a message naming the key.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cfg_fd = -1;
static char cfg_path[64];
static struct config cfg_before, cfg_after;

static bool
str_ok(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* "" (none), or 1-32 of [A-Za-z0-9_.-] not starting with '-' */
static bool
group_ok(const char *s, size_t cap)
{
	size_t n;

	if (!str_ok(s, cap))
		return false;
	n = strlen(s);
	return n == 0 || (n <= 32 && s[0] != '-' && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
	    == n);
}

static void
check_config(const struct config *c)
{
	FUZZ_CHECK(c->n_listen >= 1 && c->n_listen <= CONFIG_LISTEN_MAX,
	    "n_listen %zu", c->n_listen);
	for (size_t i = 0; i < c->n_listen; i++)
		FUZZ_CHECK(str_ok(c->listen[i], CONFIG_STR_MAX) &&
		    config_listen_valid(c->listen[i]) == 0,
		    "listen '%.80s' accepted", c->listen[i]);
	FUZZ_CHECK(str_ok(c->db_path, sizeof(c->db_path)) &&
	    c->db_path[0] == '/', "db '%.80s'", c->db_path);
	FUZZ_CHECK(str_ok(c->pool_path, sizeof(c->pool_path)) &&
	    c->pool_path[0] == '/', "pool_path '%.80s'", c->pool_path);
	FUZZ_CHECK(str_ok(c->host_uri, sizeof(c->host_uri)) &&
	    c->host_uri[0] != '\0', "host_uri");
	for (const unsigned char *p = (const unsigned char *)c->host_uri; *p;
	    p++)
		FUZZ_CHECK(*p > ' ' && *p != 0x7f, "host_uri holds byte 0x%02x",
		    *p);
	FUZZ_CHECK(str_ok(c->pool_name, sizeof(c->pool_name)) &&
	    c->pool_name[0] != '\0' && strlen(c->pool_name) <= 64 &&
	    strspn(c->pool_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789_.-") == strlen(c->pool_name),
	    "pool_name '%.80s'", c->pool_name);
	FUZZ_CHECK((int)c->log_level >= LOG_ERROR && (int)c->log_level <= LOG_DEBUG,
	    "log_level %d", (int)c->log_level);
	FUZZ_CHECK(c->workers >= 1 && c->workers <= 64, "workers %d",
	    c->workers);
	FUZZ_CHECK(c->max_connections >= 1 && c->max_connections <= 10000,
	    "max_connections %d", c->max_connections);
	FUZZ_CHECK(c->shutdown_timeout_s >= 0 && c->shutdown_timeout_s <= 3600,
	    "shutdown_timeout_s %d", c->shutdown_timeout_s);
	FUZZ_CHECK(c->stop_timeout_s >= 1 && c->stop_timeout_s <= 3600,
	    "stop_timeout_s %d", c->stop_timeout_s);
	FUZZ_CHECK(c->socket_mode >= 0 && c->socket_mode <= 0777,
	    "socket_mode %o", c->socket_mode);
	FUZZ_CHECK(c->reconcile_interval_s >= 1 &&
	    c->reconcile_interval_s <= 3600, "reconcile_interval_s %d",
	    c->reconcile_interval_s);
	FUZZ_CHECK(c->operation_retention_s >= 60 &&
	    c->operation_retention_s <= 315360000 &&
	    c->event_retention_s >= 60 && c->event_retention_s <= 315360000 &&
	    c->idempotency_ttl_s >= 60 && c->idempotency_ttl_s <= 2592000,
	    "retention out of range");
	FUZZ_CHECK(strcmp(c->placement_policy, "spread") == 0 ||
	    strcmp(c->placement_policy, "pack") == 0,
	    "placement_policy '%.20s'", c->placement_policy);
	FUZZ_CHECK(c->cpu_ratio > 0 && c->cpu_ratio <= 1000 &&
	    c->ram_ratio > 0 && c->ram_ratio <= 1000 &&
	    c->disk_ratio > 0 && c->disk_ratio <= 1000, "ratio out of range");
	FUZZ_CHECK(c->reserved_vcpus >= 0 && c->reserved_vcpus <= 4096 &&
	    c->reserved_memory_mib >= 0 && c->reserved_memory_mib <= 1 << 30 &&
	    c->reserved_disk_gib >= 0 && c->reserved_disk_gib <= 1 << 30,
	    "reserved out of range");
	FUZZ_CHECK(strcmp(c->config_path, cfg_path) == 0, "config_path '%s'",
	    c->config_path);
	FUZZ_CHECK(str_ok(c->tls_cert, sizeof(c->tls_cert)) &&
	    str_ok(c->tls_key, sizeof(c->tls_key)) &&
	    str_ok(c->tls_client_ca, sizeof(c->tls_client_ca)) &&
	    (c->tls_cert[0] == '\0' || c->tls_cert[0] == '/') &&
	    (c->tls_key[0] == '\0' || c->tls_key[0] == '/') &&
	    (c->tls_client_ca[0] == '\0' || c->tls_client_ca[0] == '/'),
	    "a TLS file that is not an absolute path");
	FUZZ_CHECK(group_ok(c->unix_admin_group, sizeof(c->unix_admin_group)) &&
	    group_ok(c->unix_operator_group, sizeof(c->unix_operator_group)) &&
	    group_ok(c->unix_reader_group, sizeof(c->unix_reader_group)),
	    "unix group '%.40s' '%.40s' '%.40s'", c->unix_admin_group,
	    c->unix_operator_group, c->unix_reader_group);
}

/* A TCP listen address on a loopback address (written independently of
 * config.c's test): 127.0.0.0/8, [::1], [::ffff:127.x.x.x], localhost. */
static bool
loopback(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	char host[300];
	unsigned char a[16];
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - addr)) == 0 ||
	    n >= sizeof(host))
		return false;
	memcpy(host, addr, n);
	host[n] = '\0';
	if (host[0] == '[' && n >= 3 && host[n - 1] == ']') {
		static const unsigned char one[16] = { [15] = 1 };
		static const unsigned char mapped[12] = { [10] = 0xff,
		    [11] = 0xff };

		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, a) != 1)
			return false;
		return memcmp(a, one, 16) == 0 ||
		    (memcmp(a, mapped, 12) == 0 && a[12] == 127);
	}
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	return strcasecmp(host, "localhost") == 0;
}

/* config_check: the rules between keys. */
static void
check_cross(const struct config *c)
{
	char errbuf[1024];
	bool tls = c->tls_cert[0] != '\0';
	int rc;

	errbuf[0] = '\0';
	rc = config_check(c, errbuf, sizeof(errbuf));
	FUZZ_CHECK(rc == 0 || (rc == -1 && errbuf[0] != '\0'),
	    "config_check returned %d with '%s'", rc, errbuf);
	if (rc < 0)
		return;
	FUZZ_CHECK(tls == (c->tls_key[0] != '\0') &&
	    (c->tls_client_ca[0] == '\0' || tls),
	    "config_check let TLS settings '%.40s' '%.40s' '%.40s' through",
	    c->tls_cert, c->tls_key, c->tls_client_ca);
	for (size_t i = 0; !tls && i < c->n_listen; i++)
		FUZZ_CHECK(strncmp(c->listen[i], "unix:", 5) == 0 ||
		    loopback(c->listen[i]), "plain HTTP allowed on '%s'",
		    c->listen[i]);
}

/* The FILE:LINE: form, LINE in 1..lines. */
static void
check_message(const char *msg, size_t lines)
{
	size_t plen = strlen(cfg_path);
	char *end;
	unsigned long line;

	FUZZ_CHECK(strncmp(msg, cfg_path, plen) == 0 && msg[plen] == ':',
	    "message does not start with the path: '%s'", msg);
	line = strtoul(msg + plen + 1, &end, 10);
	FUZZ_CHECK(end != msg + plen + 1 && end[0] == ':' && end[1] == ' ' &&
	    end[2] != '\0', "message is not PATH:LINE: ...: '%s'", msg);
	FUZZ_CHECK(line >= 1 && line <= lines, "line %lu of a %zu-line file: "
	    "'%s'", line, lines, msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errbuf[1024];
	size_t lines = 1;
	int rc;

	if (cfg_fd < 0) {
		if ((cfg_fd = memfd_create("hangard.conf", 0)) < 0)
			abort();
		snprintf(cfg_path, sizeof(cfg_path), "/proc/self/fd/%d",
		    cfg_fd);
	}
	if (ftruncate(cfg_fd, 0) < 0 ||
	    pwrite(cfg_fd, data, size, 0) != (ssize_t)size)
		abort();
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n' && i + 1 < size)
			lines++;

	config_defaults(&cfg_before);
	cfg_after = cfg_before;
	errbuf[0] = '\0';
	rc = config_load_file(&cfg_after, cfg_path, errbuf, sizeof(errbuf));
	FUZZ_CHECK(rc == 0 || rc == -1, "config_load_file returned %d", rc);
	FUZZ_CHECK(memchr(errbuf, '\0', sizeof(errbuf)) != NULL,
	    "unterminated message");
	if (rc == 0) {
		bool ok = fuzz_xml_text_ok(cfg_after.pool_path);

		check_config(&cfg_after);
		check_cross(&cfg_after);
		/* the pool's XML (pool_name is checked, pool_path only for its
		 * leading '/') */
		FUZZ_CHECK(ok, "pool_path '%.80s' "
		    "accepted but is not XML text (the pool XML made of it "
		    "does not parse)", cfg_after.pool_path);
		fuzz_check_pool(cfg_after.pool_name, cfg_after.pool_path, ok);
	} else {
		check_message(errbuf, lines);
		FUZZ_CHECK(memcmp(&cfg_after, &cfg_before, sizeof(cfg_after))
		    == 0, "a failed load changed the config (%s)", errbuf);
	}

	/* config_set: KEY=VALUE from the first line, as a flag would */
	{
		char *line = fuzz_strndup(data, size), *eq;

		line[strcspn(line, "\n")] = '\0';
		if ((eq = strchr(line, '=')) != NULL) {
			*eq = '\0';
			config_defaults(&cfg_after);
			errbuf[0] = '\0';
			rc = config_set(&cfg_after, line, eq + 1, errbuf,
			    sizeof(errbuf));
			FUZZ_CHECK(rc == 0 || (rc == -1 && errbuf[0] != '\0'),
			    "config_set returned %d with '%s'", rc, errbuf);
			cfg_after.config_path[0] = '\0';
			snprintf(cfg_after.config_path,
			    sizeof(cfg_after.config_path), "%s", cfg_path);
			if (rc == 0)
				check_config(&cfg_after);
		}
		free(line);
	}
	return 0;
}
