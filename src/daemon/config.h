/*
 * config.h - hangard's settings: defaults, the config file, the flags.
 *
 * Precedence: built-in defaults < config file < command-line flags.
 * The file is `key = value` lines; `#` starts a comment; blank lines are
 * ignored; values may be double-quoted.  `listen` may repeat; any `listen`
 * given on the command line replaces all of the file's.
 */
#ifndef HANGAR_CONFIG_H
#define HANGAR_CONFIG_H

#include <stddef.h>

#include "../common/log.h"

#define CONFIG_LISTEN_MAX 8
#define CONFIG_STR_MAX 4096
#define CONFIG_GROUP_MAX 33                /* a group name: 1-32 bytes */

struct config {
	char listen[CONFIG_LISTEN_MAX][CONFIG_STR_MAX]; /* "unix:PATH" or "HOST:PORT" */
	size_t n_listen;
	char metrics_listen[CONFIG_STR_MAX]; /* HOST:PORT serving GET /metrics
	                                    * without credentials, or "" */
	char db_path[CONFIG_STR_MAX];      /* default /var/lib/hangar/hangar.db */
	char host_uri[CONFIG_STR_MAX];     /* default qemu:///system */
	char pool_name[256];               /* default "hangar" */
	char pool_path[CONFIG_STR_MAX];    /* default /var/lib/hangar/images */
	/* the image library: converted qcow2 files, and uploads being
	 * received under its .staging/ */
	char image_dir[CONFIG_STR_MAX];    /* default /var/lib/hangar/library */
	/* backups: one directory per VM, one per backup in it (backups.c);
	 * may be an NFS mount, need not be seen by the VMs' hosts */
	char backup_dir[CONFIG_STR_MAX];   /* default /var/lib/hangar/backups */
	/* 1: a host that sees backup_dir at the same path (probed) has the
	 * backup job write there directly; 0: always through a stream */
	int backup_direct;                 /* 0..1, default 1 */
	int image_max_gib;                 /* largest upload and virtual size,
	                                    * 1..65536 GiB, default 256 */
	enum log_level log_level;          /* default info */
	int workers;                       /* 1..64, default 4 */
	int max_connections;               /* HTTP connections at once, 1..10000, default 1000 */
	int shutdown_timeout_s;            /* 0..3600, default 30 */
	int stop_timeout_s;                /* default ACPI timeout, 1..3600, default 60 */
	int socket_mode;                   /* octal, default 0660 */
	int reconcile_interval_s;          /* state sweep, 1..3600, default 30 */
	/* housekeeping: finished operations and events are deleted once
	 * older than these; an Idempotency-Key is remembered this long */
	int operation_retention_s;         /* 60..10 years, default 7 days */
	int event_retention_s;             /* 60..10 years, default 7 days */
	int idempotency_ttl_s;             /* 60..30 days, default 24 h */
	char placement_policy[16];         /* spread | pack, default spread */
	char mac_prefix[16];               /* NICs' MACs start so, default
	                                    * 52:54:00 (1-5 octets) */
	/* what a newly registered host gets unless the request says */
	double cpu_ratio, ram_ratio, disk_ratio;   /* 4.0, 1.0, 1.0 */
	int reserved_vcpus;                /* 1 */
	int reserved_memory_mib;           /* 512 */
	int reserved_disk_gib;             /* 0 */
	/* access control: TLS on every TCP listener when tls_cert is set
	 * (plain HTTP is allowed on loopback addresses only), and the unix
	 * groups whose members get a role on the unix socket ("" = none) */
	char tls_cert[CONFIG_STR_MAX];     /* PEM certificate (chain), or "" */
	char tls_key[CONFIG_STR_MAX];      /* its PEM private key, or "" */
	char tls_client_ca[CONFIG_STR_MAX]; /* PEM CA: require client
	                                    * certificates it signed; or "" */
	char unix_admin_group[CONFIG_GROUP_MAX];    /* default "hangar" */
	char unix_operator_group[CONFIG_GROUP_MAX]; /* default "" */
	char unix_reader_group[CONFIG_GROUP_MAX];   /* default "" */
	char config_path[CONFIG_STR_MAX];  /* the file read, or "" */
};

/* Fill *c with the built-in defaults. */
void config_defaults(struct config *c);

/*
 * Read the config file at path into *c (on top of what is there).
 * Returns 0, or -1 with a message "FILE:LINE: what is wrong" in
 * errbuf (unknown key, bad value, missing '=', too long, ...).
 */
int config_load_file(struct config *c, const char *path, char *errbuf, size_t errlen);

/*
 * Set one key from a string value (shared by the file reader and the
 * flags).  Returns 0, or -1 with a message in errbuf naming the key.
 */
int config_set(struct config *c, const char *key, const char *value,
    char *errbuf, size_t errlen);

/*
 * Parse argv: --config FILE, --listen ADDR (repeatable), --db PATH,
 * --host-uri URI, --log-level LEVEL, --check (parse and exit), --help,
 * --version.  Flags override the file; the file named by --config (or,
 * when there is none, nothing) is read first; config_check() runs last.
 * Returns 0 to run, 1 when
 * the caller should exit 0 (help/version/check printed), -1 on error with
 * a message in errbuf (the caller exits 2).
 */
int config_from_args(struct config *c, int argc, char **argv,
    char *errbuf, size_t errlen);

/* Check an ADDR: "unix:/abs/path" or "HOST:PORT" (IPv4, [IPv6] or name). */
int config_listen_valid(const char *addr);

/*
 * The rules that join keys, checked once everything is read (the file,
 * then the flags): tls_cert and tls_key go together, tls_client_ca needs
 * them, and without TLS every TCP listen address must be a loopback one
 * (127.0.0.0/8, [::1] or localhost).  0, or -1 with a message in errbuf.
 * config_from_args() runs it.
 */
int config_check(const struct config *c, char *errbuf, size_t errlen);

#endif
