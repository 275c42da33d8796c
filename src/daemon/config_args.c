/*
 * config_args.c - hangard's command-line flags: parsed with getopt_long,
 * each applied through the same setter as its config file key (after the
 * file the flags name, so a flag wins), then the whole checked.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../common/version.h"
#include "config.h"
#include "config_int.h"

enum {
	CONFIG_OPT_DB = 256,
	CONFIG_OPT_HOST_URI,
	CONFIG_OPT_LOG_LEVEL,
};

static const struct option config_options[] = {
	{ "config",	required_argument, NULL, 'c' },
	{ "listen",	required_argument, NULL, 'l' },
	{ "db",		required_argument, NULL, CONFIG_OPT_DB },
	{ "host-uri",	required_argument, NULL, CONFIG_OPT_HOST_URI },
	{ "log-level",	required_argument, NULL, CONFIG_OPT_LOG_LEVEL },
	{ "check",	no_argument, NULL, 'n' },
	{ "help",	no_argument, NULL, 'h' },
	{ "version",	no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
config_usage(FILE *out, const char *prog)
{
	fprintf(out,
	    "usage: %s [-nhV] [-c FILE] [-l ADDR]... [--db PATH] "
	    "[--host-uri URI]\n"
	    "       [--log-level LEVEL]\n"
	    "  -c, --config FILE      read settings from FILE\n"
	    "  -l, --listen ADDR      listen on unix:/PATH or HOST:PORT "
	    "(repeatable;\n"
	    "                         replaces every listen of the file)\n"
	    "      --db PATH          the SQLite database\n"
	    "      --host-uri URI     the libvirt URI (qemu:///system)\n"
	    "      --log-level LEVEL  error, warn, info or debug\n"
	    "  -n, --check            check the configuration and exit\n"
	    "  -h, --help             print this help and exit\n"
	    "  -V, --version          print the version and exit\n"
	    "      --routes           print every route: METHOD PATTERN ROLE\n"
	    "API tokens (the database from --db, or the config's db):\n"
	    "  %s token create --name NAME --role reader|operator|admin\n"
	    "  %s token list\n"
	    "  %s token revoke NAME\n"
	    "       each also takes [--config FILE] [--db PATH]\n",
	    prog, prog, prog, prog);
}

/* The long name of the option whose getopt value is val, or NULL. */
static const char *
config_option_name(int val)
{
	for (const struct option *o = config_options; o->name != NULL; o++)
		if (o->val == val)
			return o->name;
	return NULL;
}

/*
 * The message for a '?' or ':' from getopt_long; arg is the argv element
 * it was looking at.
 */
static void
config_option_error(int ch, const char *arg, char *errbuf, size_t errlen)
{
	const char *name = config_option_name(optopt);

	if (ch == ':' && name != NULL)
		snprintf(errbuf, errlen, "--%s: an argument is required", name);
	else if (name != NULL && strncmp(arg, "--", 2) == 0)
		snprintf(errbuf, errlen, "--%s: takes no argument", name);
	else if (optopt != 0)
		snprintf(errbuf, errlen, "unknown option '-%c'", optopt);
	else
		snprintf(errbuf, errlen, "unknown option '%.*s%s'",
		    CONFIG_SHOW_MAX, arg, config_ellipsis(arg));
}

/* Apply the value of flag --name to key. */
static int
config_apply_flag(struct config *c, const char *flag, const char *key,
    const char *value, char *errbuf, size_t errlen)
{
	char why[CONFIG_WHY_MAX];

	if (config_apply_key(c, key, value, why, sizeof(why)) == -1) {
		snprintf(errbuf, errlen, "--%s: %s", flag, why);
		return -1;
	}
	return 0;
}

int
config_from_args(struct config *c, int argc, char **argv,
    char *errbuf, size_t errlen)
{
	const char *file = NULL, *db = NULL, *uri = NULL, *level = NULL;
	const char *prog = argc > 0 && argv[0] != NULL ? argv[0] : "hangard";
	const char *listens[CONFIG_LISTEN_MAX];
	size_t n_listen = 0;
	int ch, check = 0, help = 0, version = 0;

	config_defaults(c);
	optind = 0;		/* glibc: start over, as if never called */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:l:nhV", config_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'l':
			if (n_listen == CONFIG_LISTEN_MAX) {
				snprintf(errbuf, errlen, "--listen: may be "
				    "given at most %d times",
				    CONFIG_LISTEN_MAX);
				return -1;
			}
			listens[n_listen++] = optarg;
			break;
		case CONFIG_OPT_DB:
			db = optarg;
			break;
		case CONFIG_OPT_HOST_URI:
			uri = optarg;
			break;
		case CONFIG_OPT_LOG_LEVEL:
			level = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			help = 1;
			break;
		case 'V':
			version = 1;
			break;
		default:
			config_option_error(ch, argv[optind - 1], errbuf,
			    errlen);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(errbuf, errlen, "unexpected argument '%.*s%s'",
		    CONFIG_SHOW_MAX, argv[optind],
		    config_ellipsis(argv[optind]));
		return -1;
	}
	if (help) {
		config_usage(stdout, prog);
		return 1;
	}
	if (version) {
		printf("hangard %s\n", HANGAR_VERSION);
		return 1;
	}

	if (file != NULL && config_load_file(c, file, errbuf, errlen) == -1)
		return -1;
	if (n_listen > 0)
		c->n_listen = 0;
	for (size_t i = 0; i < n_listen; i++)
		if (config_apply_flag(c, "listen", "listen", listens[i], errbuf,
		    errlen) == -1)
			return -1;
	if (db != NULL &&
	    config_apply_flag(c, "db", "db", db, errbuf, errlen) == -1)
		return -1;
	if (uri != NULL && config_apply_flag(c, "host-uri", "host_uri", uri,
	    errbuf, errlen) == -1)
		return -1;
	if (level != NULL && config_apply_flag(c, "log-level", "log_level",
	    level, errbuf, errlen) == -1)
		return -1;

	if (config_check(c, errbuf, errlen) == -1)
		return -1;
	if (check) {
		printf("configuration OK\n");
		return 1;
	}
	return 0;
}
