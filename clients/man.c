/*
 * man.c - `hangar manual`: hangar(1) as troff, so `make` can write
 * build/man/hangar.1 and the page can never drift from the program.
 *
 * The parts that say what hangar is, its environment and its files are
 * written here (man_head, man_tail); OPTIONS is cli_options_help, the
 * text of `hangar --help`; COMMANDS is the command table, each row's
 * usage and its --help text.  Help texts are plain text wrapped by hand:
 * a paragraph ends at a blank line, and lines indented by two spaces or
 * more (option lists, examples) are kept as they are (.nf); everything
 * else is filled by the formatter.  Every character troff would take as
 * markup is escaped (man_text()).
 *
 * tests/integration/cli_polish.sh checks the page with `groff -ww -z`
 * and `mandoc -T lint`, and that every command is in it.
 */
#include <stdio.h>
#include <string.h>

#include "hangar.h"

static const char man_head[] =
".SH NAME\n"
"hangar \\- command\\-line client of hangard, the hangar VM manager\n"
".SH SYNOPSIS\n"
".B hangar\n"
".RI [ options ]\n"
".I noun verb\n"
".RI [ arguments ]\n"
".SH DESCRIPTION\n"
".B hangar\n"
"asks\n"
".BR hangard (8)\n"
"over its REST API (a unix socket, or HTTP or HTTPS) to create, start,\n"
"move, snapshot, back up and delete virtual machines on the libvirt hosts\n"
"it manages, and prints what the daemon answers.\n"
"Commands name a resource, then what to do with it:\n"
".BR \"hangar vm start web1\" .\n"
"Commands that start an operation wait for it to finish (at most\n"
".B \\-\\-timeout\n"
"seconds) unless given\n"
".BR \\-\\-no\\-wait .\n"
".PP\n"
"Lists print as aligned tables, single objects as\n"
".I key: value\n"
"lines;\n"
".B \\-o json\n"
"and\n"
".B \\-o yaml\n"
"print the daemon's data whole, and\n"
".B \\-o wide\n"
"adds columns to lists.\n"
"Every\n"
".B list\n"
"command takes\n"
".BR \\-\\-watch :\n"
"it prints the list again each time the daemon's event stream says it\n"
"changed (on a terminal, in place; otherwise each list after a blank\n"
"line) until interrupted, which exits 0.\n";

static const char man_tail[] =
".SH ENVIRONMENT\n"
".TP\n"
".B HANGAR_URL\n"
"Where hangard listens, as for\n"
".BR \\-\\-url .\n"
".TP\n"
".B HANGAR_TOKEN\n"
"The API token, as for\n"
".BR \\-\\-token\n"
"(better: arguments show in\n"
".BR ps (1)).\n"
".TP\n"
".B HANGAR_CACERT\n"
"The CA certificates to trust for https, as for\n"
".BR \\-\\-cacert .\n"
".SH FILES\n"
".TP\n"
".I /run/hangar/hangard.sock\n"
"The daemon's unix socket, the default\n"
".BR \\-\\-url .\n"
".SH EXAMPLES\n"
"Load shell completion, and create a VM that is reachable over SSH:\n"
".PP\n"
".nf\n"
".RS 4\n"
"source <(hangar completion bash)\n"
"hangar vm create web1 \\-\\-image debian \\-\\-network lan \\-\\-start \\e\n"
"    \\-\\-ssh\\-key ~/.ssh/id_ed25519.pub \\-\\-wait\\-ip\n"
"ssh debian@$(hangar vm ip web1)\n"
"hangar \\-o yaml vm show web1\n"
"hangar vm list \\-\\-watch\n"
".RE\n"
".fi\n"
".SH SEE ALSO\n"
".BR hangard (8),\n"
".BR virsh (1)\n";

/*
 * Write s as troff text: backslashes and hyphens escaped, and a line that
 * would start with '.' or '\'' protected by \&.
 */
static void
man_text(const char *s, size_t len)
{
	size_t i;

	if (len > 0 && (s[0] == '.' || s[0] == '\''))
		fputs("\\&", stdout);
	for (i = 0; i < len; i++) {
		if (s[i] == '\\')
			fputs("\\e", stdout);
		else if (s[i] == '-')
			fputs("\\-", stdout);
		else
			putchar(s[i]);
	}
}

/*
 * Write a help text: paragraphs (.PP) at blank lines, lines indented by
 * two or more spaces kept as they are (.nf ... .fi).
 */
static void
man_help(const char *text)
{
	const char *line, *nl;
	size_t len;
	bool nofill = false, para = false;

	for (line = text; *line != '\0'; line = nl + (*nl == '\n')) {
		nl = line + strcspn(line, "\n");
		len = (size_t)(nl - line);
		if (len == 0) {
			para = true;
			continue;
		}
		if ((strncmp(line, "  ", 2) == 0) != nofill) {
			nofill = !nofill;
			puts(nofill ? ".nf" : ".fi");
		}
		if (para) {
			puts(nofill ? ".sp" : ".PP");
			para = false;
		}
		man_text(line, len);
		putchar('\n');
	}
	if (nofill)
		puts(".fi");
}

/* Write a usage text, its lines as input lines the formatter fills. */
static void
man_usage(const char *usage)
{
	const char *p = usage;
	size_t n;

	fputs(".B hangar\n", stdout);
	while (*p != '\0') {
		n = strcspn(p, "\n");
		man_text(p, n);
		p += n;
		if (*p == '\n') {
			putchar('\n');
			p += 1 + strspn(p + 1, " ");
		}
	}
	putchar('\n');
}

/* The COMMANDS section: a subsection per noun, each command in it. */
static void
man_commands(void)
{
	const struct cli_cmd *cmds;
	size_t n, i;

	cmds = cli_commands(&n);
	puts(".SH COMMANDS");
	for (i = 0; i < n; i++) {
		if (i == 0 || strcmp(cmds[i].c_noun, cmds[i - 1].c_noun) != 0)
			printf(".SS %s\n", cmds[i].c_noun);
		else
			puts(".PP");
		man_usage(cmds[i].c_usage);
		if (cmds[i].c_help != NULL) {
			puts(".RS 4");
			man_help(cmds[i].c_help);
			puts(".RE");
		}
	}
}

/* hangar manual: the page, on stdout. */
int
manual(struct cli *cli, int argc, char **argv)
{
	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 0, 0) == -1)
		return -1;
	printf(".\\\" hangar(1), made by `hangar manual` from its command "
	    "table: do not edit.\n");
	printf(".TH HANGAR 1 2026-12-07 \"hangar %s\" \"User Commands\"\n",
	    HANGAR_VERSION);
	fputs(man_head, stdout);
	puts(".SH OPTIONS");
	man_help(cli_options_help);
	man_commands();
	fputs(man_tail, stdout);
	return 0;
}
