/*
 * args.c - the hangar client's command-line helpers that every handler
 * shares: cli_getopt() (getopt_long() with our messages, and a hint when
 * a global option comes after the command), cli_args() (the operands),
 * and the parsers of numbers, KEY=VALUE labels and strings into JSON
 * request bodies.  Each reports a usage error itself (exit 2) and
 * returns -1.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hangar.h"

/*
 * Parse s as a decimal integer from min to max into *out; what names it in
 * the usage error, e.g. cli_parse_long(cli, "--vcpus", "4", 1, 256, &n).
 */
int
cli_parse_long(struct cli *cli, const char *what, const char *s, long min,
    long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno == ERANGE || v < min ||
	    v > max)
		return cli_usage_error(cli, "invalid %s '%s': expected an "
		    "integer from %ld to %ld", what, s, min, max);
	*out = v;
	return 0;
}

/*
 * Parse s as a decimal number (such as "4" or "1.5") into *out; what names
 * it in the usage error.  Only the syntax is checked: the server owns the
 * range and its 400 names the field, e.g.
 * cli_parse_number(cli, "--cpu-ratio", "1.5", &x).
 */
int
cli_parse_number(struct cli *cli, const char *what, const char *s,
    double *out)
{
	char *end;
	double v;

	if (*s == '\0' || strspn(s, "0123456789.+-eE") != strlen(s))
		return cli_usage_error(cli, "invalid %s '%s': expected a "
		    "number such as 1.5", what, s);
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		return cli_usage_error(cli, "invalid %s '%s': expected a "
		    "number such as 1.5", what, s);
	*out = v;
	return 0;
}

/*
 * Parse arg, the value of option what, as KEY=VALUE (both non-empty) and
 * add it to the object labels; a key given twice is a usage error.  The
 * server checks the characters and lengths (its 400 names the field).
 * Example: cli_parse_label(cli, "--label", "rack=a", labels).
 */
int
cli_parse_label(struct cli *cli, const char *what, const char *arg,
    json_t *labels)
{
	const char *eq = strchr(arg, '=');
	json_t *utf8;
	char key[256];

	/* jansson takes only UTF-8; say so rather than "out of memory". */
	if ((utf8 = json_string(arg)) == NULL)
		return cli_usage_error(cli, "invalid %s: not UTF-8", what);
	json_decref(utf8);
	if (eq == NULL || eq == arg || eq[1] == '\0')
		return cli_usage_error(cli, "invalid %s '%s': expected "
		    "KEY=VALUE", what, arg);
	if ((size_t)(eq - arg) >= sizeof(key))
		return cli_usage_error(cli, "invalid %s '%s': the key is too "
		    "long", what, arg);
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	if (json_object_get(labels, key) != NULL)
		return cli_usage_error(cli, "%s '%s' is given twice", what,
		    key);
	return cli_set(labels, key, json_string(eq + 1));
}

/*
 * Set key to value (a new reference, may be NULL when jansson ran out of
 * memory) in obj.  Returns 0, or -1 after reporting.
 */
int
cli_set(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(obj, key, value) == -1)
		return cli_fail(CLI_ERROR, "out of memory");
	return 0;
}

/*
 * Set key to the string s from the command line (what names it) in obj.
 * Returns 0, or -1 after reporting: a usage error if s is not UTF-8.
 */
int
cli_set_str(struct cli *cli, json_t *obj, const char *key, const char *what,
    const char *s)
{
	json_t *v;

	if ((v = json_string(s)) == NULL)
		return cli_usage_error(cli, "invalid %s: not UTF-8", what);
	return cli_set(obj, key, v);
}

/*
 * Whether the option getopt_long() just refused is a global one: a long
 * arg (maybe "--opt=value") is named by its word, a short one by optopt.
 */
static bool
cli_is_global(const char *arg)
{
	static const char *const globals[] = {
		"--url", "--output", "--no-wait", "--timeout", "--token",
		"--cacert",
	};
	size_t i, n = strcspn(arg, "=");

	if (strncmp(arg, "--", 2) != 0)
		return optopt == 'o';
	for (i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
		if (strlen(globals[i]) == n && strncmp(arg, globals[i], n) == 0)
			return true;
	return false;
}

/*
 * getopt_long() with our messages: returns the next option, -1 at the end,
 * or '?' after reporting an unknown option or a missing value.  Reset
 * optind to 0 before the first call on a new argv.
 */
int
cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
    const struct option *lo)
{
	int ch;

	opterr = 0;
	ch = getopt_long(argc, argv, shortopts, lo, NULL);
	if (ch == '?') {
		/* A long option is named by its word, a short one by optopt. */
		if (cli != NULL && cli_is_global(argv[optind - 1]))
			cli_usage_error(cli, "'%s' is a global option: put it "
			    "before the command", optopt == 'o' ? "-o" :
			    argv[optind - 1]);
		else if (strncmp(argv[optind - 1], "--", 2) == 0 ||
		    optopt == 0)
			cli_usage_error(cli, "invalid option '%s'",
			    argv[optind - 1]);
		else
			cli_usage_error(cli, "invalid option '-%c'", optopt);
		return '?';
	}
	if (ch == ':') {
		cli_usage_error(cli, "option '%s' needs a value",
		    argv[optind - 1]);
		return '?';
	}
	return ch;
}

/*
 * Check the operands left after the options: from min to max of them, none
 * empty.  The first is argv[optind].
 */
int
cli_args(struct cli *cli, int argc, char **argv, int min, int max)
{
	int n = argc - optind, i;

	if (n < min)
		return cli_usage_error(cli, "missing argument");
	if (n > max)
		return cli_usage_error(cli, "unexpected argument '%s'",
		    argv[optind + max]);
	for (i = optind; i < argc; i++)
		if (argv[i][0] == '\0')
			return cli_usage_error(cli, "empty argument");
	return 0;
}

