/*
 * config.c - hangard's settings: the built-in defaults and the config
 * file reader (the command-line flags are config_args.c; see config.h
 * for the precedence).
 *
 * Every key is one row of config_keys[]: its name, the longest value it
 * takes, and a setter that validates the value and stores it.  A setter
 * writes the reason for a rejection as a phrase without the key ("must be
 * an integer from 1 to 64, not 'abc'"), so the same setter serves the file
 * ("hangard.conf:5: workers must be ...") and the flags ("--db: must be
 * ...").  Values shown back in messages are cut at CONFIG_SHOW_MAX bytes.
 *
 * The file format is `key = value` per line.  A value may be written in
 * double quotes (needed only to keep a '#' or surrounding blanks); there
 * are no escapes.  In an unquoted value a '#' starts a comment.  A key
 * other than `listen` may appear once per file; the first `listen` line of
 * a file replaces the listen addresses set before, later ones append.
 * A file is applied all or nothing: on error *c is left as it was.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "../common/utf8.h"
#include "../common/netaddr.h"
#include "config.h"
#include "config_int.h"

#define CONFIG_LINE_MAX 4096	/* bytes in a line, without its newline */
#define CONFIG_POOL_NAME_MAX 64
#define CONFIG_HOSTNAME_MAX 253


struct config_key;
typedef int (*config_setter)(struct config *, const struct config_key *,
    const char *, char *, size_t);

struct config_key {
	const char	*ck_name;
	config_setter	 ck_set;
	size_t		 ck_off;	/* the field's offset in config */
	size_t		 ck_max;	/* longest value taken, in bytes */
	int		 ck_min;	/* integer keys: the range */
	int		 ck_imax;
};

static int config_set_listen(struct config *, const struct config_key *,
    const char *, char *, size_t);
static int config_set_metrics_listen(struct config *,
    const struct config_key *, const char *, char *, size_t);
static int config_set_path(struct config *, const struct config_key *,
    const char *, char *, size_t);
static int config_set_uri(struct config *, const struct config_key *,
    const char *, char *, size_t);
static int config_set_pool_name(struct config *, const struct config_key *,
    const char *, char *, size_t);
static int config_set_level(struct config *, const struct config_key *,
    const char *, char *, size_t);
static int config_set_mac_prefix(struct config *, const struct config_key *,
    const char *, char *, size_t);
static int config_set_int(struct config *, const struct config_key *,
    const char *, char *, size_t);
static int config_set_mode(struct config *, const struct config_key *,
    const char *, char *, size_t);
static int config_set_ratio(struct config *, const struct config_key *,
    const char *, char *, size_t);
static int config_set_policy(struct config *, const struct config_key *,
    const char *, char *, size_t);
static int config_set_group(struct config *, const struct config_key *,
    const char *, char *, size_t);

#define CONFIG_STR(name, set, field, max) \
	{ name, set, offsetof(struct config, field), max, 0, 0 }
#define CONFIG_INT(name, set, field, lo, hi) \
	{ name, set, offsetof(struct config, field), CONFIG_STR_MAX - 1, \
	    lo, hi }

static const struct config_key config_keys[] = {
	CONFIG_STR("listen", config_set_listen, listen, CONFIG_STR_MAX - 1),
	CONFIG_STR("metrics_listen", config_set_metrics_listen, metrics_listen,
	    CONFIG_STR_MAX - 1),
	CONFIG_STR("db", config_set_path, db_path, CONFIG_STR_MAX - 1),
	CONFIG_STR("host_uri", config_set_uri, host_uri, CONFIG_STR_MAX - 1),
	CONFIG_STR("pool_name", config_set_pool_name, pool_name,
	    CONFIG_POOL_NAME_MAX),
	CONFIG_STR("pool_path", config_set_path, pool_path, CONFIG_STR_MAX - 1),
	CONFIG_STR("image_dir", config_set_path, image_dir, CONFIG_STR_MAX - 1),
	CONFIG_STR("backup_dir", config_set_path, backup_dir, CONFIG_STR_MAX - 1),
	CONFIG_INT("backup_direct", config_set_int, backup_direct, 0, 1),
	CONFIG_INT("image_max_gib", config_set_int, image_max_gib, 1, 65536),
	CONFIG_INT("log_level", config_set_level, log_level, 0, 0),
	CONFIG_INT("workers", config_set_int, workers, 1, 64),
	CONFIG_INT("max_connections", config_set_int, max_connections, 1, 10000),
	CONFIG_INT("shutdown_timeout_s", config_set_int, shutdown_timeout_s,
	    0, 3600),
	CONFIG_INT("stop_timeout_s", config_set_int, stop_timeout_s, 1, 3600),
	CONFIG_INT("socket_mode", config_set_mode, socket_mode, 0, 0777),
	CONFIG_INT("reconcile_interval_s", config_set_int,
	    reconcile_interval_s, 1, 3600),
	CONFIG_INT("operation_retention_s", config_set_int,
	    operation_retention_s, 60, 315360000),
	CONFIG_INT("event_retention_s", config_set_int, event_retention_s,
	    60, 315360000),
	CONFIG_INT("idempotency_ttl_s", config_set_int, idempotency_ttl_s,
	    60, 2592000),
	CONFIG_STR("placement_policy", config_set_policy, placement_policy, 15),
	CONFIG_STR("mac_prefix", config_set_mac_prefix, mac_prefix, 14),
	CONFIG_STR("cpu_ratio", config_set_ratio, cpu_ratio, 32),
	CONFIG_STR("ram_ratio", config_set_ratio, ram_ratio, 32),
	CONFIG_STR("disk_ratio", config_set_ratio, disk_ratio, 32),
	CONFIG_INT("reserved_vcpus", config_set_int, reserved_vcpus, 0, 4096),
	CONFIG_INT("reserved_memory_mib", config_set_int, reserved_memory_mib,
	    0, 1 << 30),
	CONFIG_INT("reserved_disk_gib", config_set_int, reserved_disk_gib,
	    0, 1 << 30),
	CONFIG_STR("tls_cert", config_set_path, tls_cert, CONFIG_STR_MAX - 1),
	CONFIG_STR("tls_key", config_set_path, tls_key, CONFIG_STR_MAX - 1),
	CONFIG_STR("tls_client_ca", config_set_path, tls_client_ca,
	    CONFIG_STR_MAX - 1),
	CONFIG_STR("unix_admin_group", config_set_group, unix_admin_group,
	    CONFIG_GROUP_MAX - 1),
	CONFIG_STR("unix_operator_group", config_set_group,
	    unix_operator_group, CONFIG_GROUP_MAX - 1),
	CONFIG_STR("unix_reader_group", config_set_group, unix_reader_group,
	    CONFIG_GROUP_MAX - 1),
};
#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static const char *const config_default_listen[] = {
	"unix:/run/hangar/hangard.sock",
	"127.0.0.1:8470",
};

/* Copy src into dst[dstlen]; -1 (dst truncated) when it does not fit. */
static int
config_copy(char *dst, size_t dstlen, const char *src)
{
	int n;

	n = snprintf(dst, dstlen, "%s", src);
	if (n < 0 || (size_t)n >= dstlen)
		return -1;
	return 0;
}

/* "..." when s is longer than what a message shows of it, else "". */
const char *
config_ellipsis(const char *s)
{
	return strlen(s) > CONFIG_SHOW_MAX ? "..." : "";
}

static char *
config_field(struct config *c, const struct config_key *k)
{
	return (char *)c + k->ck_off;
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(config_default_listen) /
	    sizeof(config_default_listen[0]); i++)
		(void)config_copy(c->listen[c->n_listen++], CONFIG_STR_MAX,
		    config_default_listen[i]);
	(void)config_copy(c->db_path, sizeof(c->db_path),
	    "/var/lib/hangar/hangar.db");
	(void)config_copy(c->host_uri, sizeof(c->host_uri), "qemu:///system");
	(void)config_copy(c->pool_name, sizeof(c->pool_name), "hangar");
	(void)config_copy(c->mac_prefix, sizeof(c->mac_prefix), "52:54:00");
	(void)config_copy(c->pool_path, sizeof(c->pool_path),
	    "/var/lib/hangar/images");
	(void)config_copy(c->image_dir, sizeof(c->image_dir),
	    "/var/lib/hangar/library");
	(void)config_copy(c->backup_dir, sizeof(c->backup_dir),
	    "/var/lib/hangar/backups");
	c->backup_direct = 1;
	c->image_max_gib = 256;
	c->log_level = LOG_INFO;
	c->workers = 4;
	c->max_connections = 1000;
	c->shutdown_timeout_s = 30;
	c->stop_timeout_s = 60;
	c->socket_mode = 0660;
	c->reconcile_interval_s = 30;
	c->operation_retention_s = 7 * 86400;
	c->event_retention_s = 7 * 86400;
	c->idempotency_ttl_s = 86400;
	(void)config_copy(c->placement_policy, sizeof(c->placement_policy),
	    "spread");
	c->cpu_ratio = 4.0;
	c->ram_ratio = 1.0;
	c->disk_ratio = 1.0;
	c->reserved_vcpus = 1;
	c->reserved_memory_mib = 512;
	c->reserved_disk_gib = 0;
	(void)config_copy(c->unix_admin_group, sizeof(c->unix_admin_group),
	    "hangar");
	c->config_path[0] = '\0';
}

/*
 * Why addr is not a valid listen address, or NULL when it is.
 */
static const char *
config_listen_why(const char *addr)
{
	char host[CONFIG_HOSTNAME_MAX + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *colon, *p;
	size_t hlen, plen;
	long port;

	if (strncmp(addr, "unix:", 5) == 0) {
		p = addr + 5;
		if (p[0] != '/')
			return "a unix socket path must be absolute";
		if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return "a unix socket path must be shorter than "
			    "108 bytes";
		return NULL;
	}

	if ((colon = strrchr(addr, ':')) == NULL)
		return "expected unix:/PATH or HOST:PORT";
	p = colon + 1;
	plen = strlen(p);
	if (plen == 0 || plen > 5 || strspn(p, "0123456789") != plen)
		return "the port must be a number from 1 to 65535";
	port = strtol(p, NULL, 10);
	if (port < 1 || port > 65535)
		return "the port must be a number from 1 to 65535";

	hlen = (size_t)(colon - addr);
	if (hlen == 0)
		return "the host is missing";
	if (addr[0] == '[') {
		if (hlen < 3 || addr[hlen - 1] != ']' ||
		    hlen - 2 >= sizeof(host))
			return "an IPv6 address must be written [ADDR]:PORT";
		memcpy(host, addr + 1, hlen - 2);
		host[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, bin) != 1)
			return "the IPv6 address is malformed";
		return NULL;
	}
	if (memchr(addr, ':', hlen) != NULL)
		return "an IPv6 address must be written [ADDR]:PORT";
	if (hlen > CONFIG_HOSTNAME_MAX)
		return "the host name is longer than 253 bytes";
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if (strspn(host, "0123456789.") == hlen) {
		if (inet_pton(AF_INET, host, bin) != 1)
			return "the IPv4 address is malformed";
		return NULL;
	}
	if (strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789.-") != hlen)
		return "a host name may only hold A-Z, a-z, 0-9, '.' and '-'";
	if (host[0] == '.' || host[0] == '-' || strstr(host, "..") != NULL)
		return "the host name is malformed";
	return NULL;
}

int
config_listen_valid(const char *addr)
{
	return config_listen_why(addr) == NULL ? 0 : -1;
}

/*
 * Is the valid TCP listen address addr a loopback one: 127.0.0.0/8,
 * [::1], [::ffff:127.x.x.x] or the name localhost?  Other names count as
 * not loopback, whatever they resolve to today.
 */
static int
config_listen_loopback(const char *addr)
{
	char host[CONFIG_HOSTNAME_MAX + 1];
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon = strrchr(addr, ':');
	size_t hlen = colon ? (size_t)(colon - addr) : 0;

	if (hlen == 0 || hlen > CONFIG_HOSTNAME_MAX)
		return 0;
	if (addr[0] == '[') {
		if (hlen < 3)
			return 0;
		memcpy(host, addr + 1, hlen - 2);
		host[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return 0;
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	}
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return strcasecmp(host, "localhost") == 0;
}

int
config_check(const struct config *c, char *errbuf, size_t errlen)
{
	bool tls = c->tls_cert[0] != '\0';

	if (tls && c->tls_key[0] == '\0') {
		snprintf(errbuf, errlen, "tls_cert is set but tls_key is not: "
		    "HTTPS needs both");
		return -1;
	}
	if (!tls && c->tls_key[0] != '\0') {
		snprintf(errbuf, errlen, "tls_key is set but tls_cert is not: "
		    "HTTPS needs both");
		return -1;
	}
	if (!tls && c->tls_client_ca[0] != '\0') {
		snprintf(errbuf, errlen, "tls_client_ca needs tls_cert and "
		    "tls_key: client certificates are checked over HTTPS only");
		return -1;
	}
	for (size_t i = 0; c->metrics_listen[0] && i < c->n_listen; i++)
		if (strcmp(c->metrics_listen, c->listen[i]) == 0) {
			snprintf(errbuf, errlen, "metrics_listen '%.*s%s' is "
			    "also a listen address: give metrics an address "
			    "of their own", CONFIG_SHOW_MAX, c->metrics_listen,
			    config_ellipsis(c->metrics_listen));
			return -1;
		}
	if (tls)
		return 0;
	for (size_t i = 0; i < c->n_listen; i++) {
		const char *a = c->listen[i];

		if (strncmp(a, "unix:", 5) == 0 || config_listen_loopback(a))
			continue;
		snprintf(errbuf, errlen, "listen '%.*s%s' is not a loopback "
		    "address: plain HTTP is allowed only on 127.0.0.0/8, [::1] "
		    "and localhost; set tls_cert and tls_key to serve HTTPS",
		    CONFIG_SHOW_MAX, a, config_ellipsis(a));
		return -1;
	}
	return 0;
}

static int
config_set_listen(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	const char *bad;

	(void)k;
	if ((bad = config_listen_why(v)) != NULL) {
		snprintf(why, whylen, "address '%.*s%s' is not valid: %s",
		    CONFIG_SHOW_MAX, v, config_ellipsis(v), bad);
		return -1;
	}
	if (c->n_listen >= CONFIG_LISTEN_MAX) {
		snprintf(why, whylen, "may be given at most %d times",
		    CONFIG_LISTEN_MAX);
		return -1;
	}
	if (config_copy(c->listen[c->n_listen], CONFIG_STR_MAX, v) == -1) {
		snprintf(why, whylen, "is too long");
		return -1;
	}
	c->n_listen++;
	return 0;
}

/* HOST:PORT for GET /metrics without credentials (metrics_listen.c);
 * "" turns it off. */
static int
config_set_metrics_listen(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	const char *bad = NULL;

	(void)k;
	if (v[0] != '\0' && strncmp(v, "unix:", 5) == 0)
		bad = "expected HOST:PORT (metrics are served over TCP only)";
	else if (v[0] != '\0' && strchr(v, ':') == NULL)
		bad = "expected HOST:PORT";
	else if (v[0] != '\0')
		bad = config_listen_why(v);
	if (bad != NULL) {
		snprintf(why, whylen, "address '%.*s%s' is not valid: %s",
		    CONFIG_SHOW_MAX, v, config_ellipsis(v), bad);
		return -1;
	}
	if (config_copy(c->metrics_listen, CONFIG_STR_MAX, v) == -1) {
		snprintf(why, whylen, "is too long");
		return -1;
	}
	return 0;
}

static int
config_set_path(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	if (v[0] != '/') {
		snprintf(why, whylen, "must be an absolute path, not '%.*s%s'",
		    CONFIG_SHOW_MAX, v, config_ellipsis(v));
		return -1;
	}
	/* paths go into libvirt's XML (the pool) and logs: text only */
	for (const char *p = v; *p != '\0'; p++) {
		if (iscntrl((unsigned char)*p)) {
			snprintf(why, whylen, "must not contain control "
			    "characters");
			return -1;
		}
	}
	if (!utf8_xml_text(v)) {
		snprintf(why, whylen, "must be UTF-8 text XML can carry");
		return -1;
	}
	if (config_copy(config_field(c, k), k->ck_max + 1, v) == -1) {
		snprintf(why, whylen, "is too long");
		return -1;
	}
	return 0;
}

static int
config_set_uri(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	for (const char *p = v; *p != '\0'; p++) {
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
			snprintf(why, whylen, "must not contain blanks or "
			    "control characters");
			return -1;
		}
	}
	if (config_copy(config_field(c, k), k->ck_max + 1, v) == -1) {
		snprintf(why, whylen, "is too long");
		return -1;
	}
	return 0;
}

/* One to five hex octets, the first unicast: what NICs' MACs start with. */
static int
config_set_mac_prefix(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	char norm[16];

	(void)k;
	if (mac_prefix_parse(v, norm, sizeof(norm)) < 0) {
		snprintf(why, whylen, "must be 1 to 5 hex octets separated by "
		    "':' (unicast: an even first octet), such as 52:54:00, not "
		    "'%.*s%s'", CONFIG_SHOW_MAX, v, config_ellipsis(v));
		return -1;
	}
	(void)config_copy(c->mac_prefix, sizeof(c->mac_prefix), norm);
	return 0;
}

static int
config_set_pool_name(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(v)) {
		snprintf(why, whylen, "may only hold A-Z, a-z, 0-9, '_', '.' "
		    "and '-', not '%.*s%s'", CONFIG_SHOW_MAX, v,
		    config_ellipsis(v));
		return -1;
	}
	if (config_copy(config_field(c, k), k->ck_max + 1, v) == -1) {
		snprintf(why, whylen, "is too long");
		return -1;
	}
	return 0;
}

static int
config_set_level(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	enum log_level l;

	(void)k;
	if (log_level_parse(v, &l) == -1) {
		snprintf(why, whylen, "must be one of error, warn, info, "
		    "debug, not '%.*s%s'", CONFIG_SHOW_MAX, v,
		    config_ellipsis(v));
		return -1;
	}
	c->log_level = l;
	return 0;
}

/*
 * Parse v, all digits of the given base, into k's range; -1 otherwise.
 */
static int
config_parse_int(const char *v, int base, const struct config_key *k,
    int *out)
{
	const char *digits = base == 8 ? "01234567" : "0123456789";
	size_t n = strlen(v);
	long l;

	if (n == 0 || strspn(v, digits) != n)
		return -1;
	errno = 0;
	l = strtol(v, NULL, base);
	if (errno != 0 || l < k->ck_min || l > k->ck_imax)
		return -1;
	*out = (int)l;
	return 0;
}

static int
config_set_int(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	int n;

	if (config_parse_int(v, 10, k, &n) == -1) {
		snprintf(why, whylen, "must be an integer from %d to %d, "
		    "not '%.*s%s'", k->ck_min, k->ck_imax, CONFIG_SHOW_MAX, v,
		    config_ellipsis(v));
		return -1;
	}
	memcpy(config_field(c, k), &n, sizeof(n));
	return 0;
}

static int
config_set_mode(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	int n;

	if (config_parse_int(v, 8, k, &n) == -1) {
		snprintf(why, whylen, "must be an octal mode from 0 to %04o, "
		    "not '%.*s%s'", k->ck_imax, CONFIG_SHOW_MAX, v,
		    config_ellipsis(v));
		return -1;
	}
	memcpy(config_field(c, k), &n, sizeof(n));
	return 0;
}

/* A ratio: a decimal number above 0 and at most 1000. */
static int
config_set_ratio(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (*v == '\0' || *end != '\0' || errno != 0 || !(d > 0) ||
	    d > 1000) {
		snprintf(why, whylen, "must be a number above 0 and at most "
		    "1000, not '%.*s%s'", CONFIG_SHOW_MAX, v, config_ellipsis(v));
		return -1;
	}
	memcpy(config_field(c, k), &d, sizeof(d));
	return 0;
}

static int
config_set_policy(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	if (strcmp(v, "spread") != 0 && strcmp(v, "pack") != 0) {
		snprintf(why, whylen, "must be spread or pack, not '%.*s%s'",
		    CONFIG_SHOW_MAX, v, config_ellipsis(v));
		return -1;
	}
	(void)config_copy(config_field(c, k), sizeof(c->placement_policy), v);
	return 0;
}

/*
 * A unix group name: 1 to 32 of A-Z a-z 0-9 '_' '.' '-', not starting
 * with '-'; "none" stores "" (no group gives that role).
 */
static int
config_set_group(struct config *c, const struct config_key *k,
    const char *v, char *why, size_t whylen)
{
	size_t n = strlen(v);

	if (strcmp(v, "none") == 0) {
		config_field(c, k)[0] = '\0';
		return 0;
	}
	if (v[0] == '-' || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") != n) {
		snprintf(why, whylen, "must be a group name (A-Z, a-z, 0-9, "
		    "'_', '.', '-', not starting with '-') or none, not "
		    "'%.*s%s'", CONFIG_SHOW_MAX, v, config_ellipsis(v));
		return -1;
	}
	(void)config_copy(config_field(c, k), k->ck_max + 1, v);
	return 0;
}

static const struct config_key *
config_key_find(const char *name)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].ck_name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/*
 * Check the checks shared by every key, then run k's setter.  On error
 * why holds a phrase to put after the key's (or flag's) name.
 */
static int
config_apply(struct config *c, const struct config_key *k, const char *v,
    char *why, size_t whylen)
{
	size_t n = strlen(v);

	if (n == 0) {
		snprintf(why, whylen, "must not be empty");
		return -1;
	}
	if (n > k->ck_max) {
		snprintf(why, whylen, "is too long (%zu bytes, at most %zu)",
		    n, k->ck_max);
		return -1;
	}
	return k->ck_set(c, k, v, why, whylen);
}

int
config_apply_key(struct config *c, const char *key, const char *value,
    char *why, size_t whylen)
{
	return config_apply(c, config_key_find(key), value, why, whylen);
}

int
config_set(struct config *c, const char *key, const char *value,
    char *errbuf, size_t errlen)
{
	const struct config_key *k;
	char why[CONFIG_WHY_MAX];

	if ((k = config_key_find(key)) == NULL) {
		snprintf(errbuf, errlen, "unknown key '%.*s%s'",
		    CONFIG_SHOW_MAX, key, config_ellipsis(key));
		return -1;
	}
	if (config_apply(c, k, value, why, sizeof(why)) == -1) {
		snprintf(errbuf, errlen, "%s %s", k->ck_name, why);
		return -1;
	}
	return 0;
}

/*
 * Read one line of f into buf[CONFIG_LINE_MAX + 1], without its newline.
 * Returns 1 for a line, 0 at the end of the file, -1 on a read error,
 * -2 for a line that is too long and -3 for a line holding a NUL byte.
 */
static int
config_read_line(FILE *f, char *buf)
{
	size_t n = 0;
	int ch, nul = 0;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (n == CONFIG_LINE_MAX)
			return -2;
		if (ch == '\0')
			nul = 1;
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	if (ferror(f))
		return -1;
	if (nul)
		return -3;
	if (ch == EOF && n == 0)
		return 0;
	return 1;
}

/* Cut the blanks off both ends of s, in place; returns the new start. */
static char *
config_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

/*
 * Split a line into its key and value, in place.  Returns 0 and sets
 * *key (NULL for a blank or comment line) and *value, or -1 with a
 * message (without the FILE:LINE: prefix) in errbuf.
 */
static int
config_split(char *line, char **key, char **value, char *errbuf,
    size_t errlen)
{
	char *k, *v, *end;
	size_t n;

	*key = *value = NULL;
	line = config_trim(line);
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	n = strcspn(line, "=#");
	if (line[n] != '=') {
		snprintf(errbuf, errlen, "expected 'key = value'");
		return -1;
	}
	line[n] = '\0';
	k = config_trim(line);
	if (k[0] == '\0') {
		snprintf(errbuf, errlen, "expected 'key = value'");
		return -1;
	}
	v = config_trim(line + n + 1);
	if (v[0] == '"') {
		v++;
		if ((end = strchr(v, '"')) == NULL) {
			snprintf(errbuf, errlen, "the value of '%.*s%s' has no "
			    "closing '\"'", CONFIG_SHOW_MAX, k,
			    config_ellipsis(k));
			return -1;
		}
		*end++ = '\0';
		end += strspn(end, " \t\r\v\f");
		if (*end != '\0' && *end != '#') {
			snprintf(errbuf, errlen, "unexpected text after the "
			    "quoted value of '%.*s%s'", CONFIG_SHOW_MAX, k,
			    config_ellipsis(k));
			return -1;
		}
	} else {
		v[strcspn(v, "#")] = '\0';
		v = config_trim(v);
	}
	*key = k;
	*value = v;
	return 0;
}

/*
 * Apply the open file f to *c.  seen[] holds, per key, the line it was
 * set on (0: not yet).  Errors go to errbuf prefixed with "path:LINE: ".
 */
static int
config_read(struct config *c, FILE *f, const char *path, char *errbuf,
    size_t errlen)
{
	char line[CONFIG_LINE_MAX + 1], why[CONFIG_WHY_MAX];
	unsigned long seen[CONFIG_NKEYS] = { 0 }, lineno = 0;
	const struct config_key *k;
	char *key, *value;
	size_t i;
	int rc;

	for (;;) {
		lineno++;
		if ((rc = config_read_line(f, line)) == 0)
			return 0;
		if (rc == -1) {
			snprintf(errbuf, errlen, "%s: read error: %s", path,
			    strerror(errno));
			return -1;
		}
		if (rc == -2) {
			snprintf(errbuf, errlen, "%s:%lu: line is longer than "
			    "%d bytes", path, lineno, CONFIG_LINE_MAX);
			return -1;
		}
		if (rc == -3) {
			snprintf(errbuf, errlen, "%s:%lu: line holds a NUL "
			    "byte", path, lineno);
			return -1;
		}
		if (config_split(line, &key, &value, why, sizeof(why)) == -1) {
			snprintf(errbuf, errlen, "%s:%lu: %s", path, lineno,
			    why);
			return -1;
		}
		if (key == NULL)
			continue;
		if ((k = config_key_find(key)) == NULL) {
			snprintf(errbuf, errlen, "%s:%lu: unknown key '%.*s%s'",
			    path, lineno, CONFIG_SHOW_MAX, key,
			    config_ellipsis(key));
			return -1;
		}
		i = (size_t)(k - config_keys);
		if (k->ck_set == config_set_listen) {
			if (seen[i] == 0)
				c->n_listen = 0;
		} else if (seen[i] != 0) {
			snprintf(errbuf, errlen, "%s:%lu: %s is already set on "
			    "line %lu", path, lineno, k->ck_name, seen[i]);
			return -1;
		}
		if (seen[i] == 0)
			seen[i] = lineno;
		if (config_apply(c, k, value, why, sizeof(why)) == -1) {
			snprintf(errbuf, errlen, "%s:%lu: %s %s", path, lineno,
			    k->ck_name, why);
			return -1;
		}
	}
}

int
config_load_file(struct config *c, const char *path, char *errbuf,
    size_t errlen)
{
	struct config *tmp;
	FILE *f;
	int rc = -1;

	if ((tmp = malloc(sizeof(*tmp))) == NULL) {
		snprintf(errbuf, errlen, "%s: out of memory", path);
		return -1;
	}
	*tmp = *c;
	if (config_copy(tmp->config_path, sizeof(tmp->config_path), path)
	    == -1) {
		snprintf(errbuf, errlen, "%.*s...: the path is too long",
		    CONFIG_SHOW_MAX, path);
		goto fail;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(errbuf, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		goto fail;
	}
	rc = config_read(tmp, f, path, errbuf, errlen);
	fclose(f);
	if (rc == 0)
		*c = *tmp;
fail:
	free(tmp);
	return rc;
}
