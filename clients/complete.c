/*
 * complete.c - `hangar completion bash|zsh`: a shell completion script
 * made from the command table (cli_commands()), so a command added there
 * is completed without anyone touching this file; and `hangar completion
 * names KIND`, the quiet list the scripts call for the names of VMs,
 * hosts, networks, images, groups and environments.
 *
 * Each row's usage text is read as data (comp_parse()): after the noun
 * and the verb, a word such as VM or HOST is an operand, `--opt` a flag,
 * `--opt VALUE` an option with a value, `a|b|c` fixed values; brackets
 * and "..." only group.  What a word completes to is its kind
 * (comp_kind()): a resource name (@vm, @host, @image, @network, @group,
 * @env), a file (@file, @dir), fixed values (=a|b|c) or nothing (-).
 * Every `list` command also gets --watch (watch.c), every command --help.
 *
 * The script holds that data as associative arrays and one function that
 * walks the words typed so far: global options before the noun (their
 * --url, --token and --cacert are passed on to `completion names`), the
 * noun, the verb, then operands and options.  Example, bash:
 *	_hangar_pos['vm migrate']='@vm'
 *	_hangar_opts['vm migrate']='--to --force --check ...'
 *	_hangar_val['vm migrate --to']='@host'
 *	_hangar_val['vm migrate --copy-storage']='=auto|yes|no'
 * tests/integration/cli_polish.sh runs the bash function against a real
 * hangard and checks every row of the table is in the script.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "hangar.h"
#include "http.h"

#define COMP_WORD_MAX 160
#define COMP_POS_MAX 8
#define COMP_OPT_MAX 48

/* One option of a command: its name and what its value is ("" a flag). */
struct comp_opt {
	char	co_name[48];
	char	co_val[COMP_WORD_MAX];
};

/* A command's operands and options, read from its usage text. */
struct comp_cmd {
	char		 cc_key[64];		/* "noun verb" or "noun" */
	char		 cc_pos[COMP_POS_MAX][COMP_WORD_MAX];
	size_t		 cc_npos;
	struct comp_opt	 cc_opts[COMP_OPT_MAX];
	size_t		 cc_nopts;
};

/* The resources names are completed for: KIND, its path, its list key. */
static const struct {
	const char	*cr_kind;
	const char	*cr_spec;
	const char	*cr_path;
	const char	*cr_key;
} comp_resources[] = {
	{ "vm", "@vm", "/v1/vms", "vms" },
	{ "host", "@host", "/v1/hosts", "hosts" },
	{ "network", "@network", "/v1/networks", "networks" },
	{ "image", "@image", "/v1/images", "images" },
	{ "group", "@group", "/v1/groups", "groups" },
	{ "env", "@env", "/v1/environments", "environments" },
};
#define COMP_NRESOURCES (sizeof(comp_resources) / sizeof(comp_resources[0]))

/* What an option's value names, by the option (before its placeholder). */
static const struct {
	const char	*ck_word;
	const char	*ck_kind;
} comp_opt_kinds[] = {
	{ "--vm", "@vm" }, { "--host", "@host" }, { "--to", "@host" },
	{ "--image", "@image" }, { "--group", "@group" },
	{ "--network", "@network" },
}, comp_word_kinds[] = {
	{ "VM", "@vm" }, { "SRC", "@vm" }, { "HOST", "@host" },
	{ "H", "@host" }, { "IMAGE", "@image" }, { "GROUP", "@group" },
	{ "NETWORK", "@network" }, { "FILE", "@file" }, { "DIR", "@dir" },
};

/* Verbs whose NAME is a new one (nothing to complete). */
static const char *const comp_new_verbs[] = {
	"create", "add", "import", "up",
};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The kind of placeholder word (its part before '.' or ':'), as an operand
 * (opt NULL, pos its index) or as the value of option opt.
 */
static const char *
comp_kind(const struct cli_cmd *c, const char *opt, size_t pos,
    const char *word)
{
	char w[COMP_WORD_MAX];
	size_t i;

	snprintf(w, sizeof(w), "%.*s", (int)strcspn(word, ".:,"), word);
	for (i = 0; opt != NULL && i < NITEMS(comp_opt_kinds); i++)
		if (strcmp(opt, comp_opt_kinds[i].ck_word) == 0)
			return comp_opt_kinds[i].ck_kind;
	for (i = 0; i < NITEMS(comp_word_kinds); i++)
		if (strcmp(w, comp_word_kinds[i].ck_word) == 0)
			return comp_word_kinds[i].ck_kind;
	if (strcmp(w, "NAME") != 0 || opt != NULL || pos != 0 ||
	    c->c_verb == NULL)
		return "-";
	for (i = 0; i < NITEMS(comp_new_verbs); i++)
		if (strcmp(c->c_verb, comp_new_verbs[i]) == 0)
			return "-";
	for (i = 0; i < COMP_NRESOURCES; i++)
		if (strcmp(c->c_noun, comp_resources[i].cr_kind) == 0)
			return comp_resources[i].cr_spec;
	return "-";
}

/* Whether a word of a usage text has a capital letter (a placeholder). */
static bool
comp_placeholder(const char *w)
{
	for (; *w != '\0'; w++)
		if (isupper((unsigned char)*w))
			return true;
	return false;
}

/*
 * The spec of one operand or value word made of pieces (a|b|c): a kind
 * if a placeholder has one, else the lower-case pieces as fixed values.
 */
static void
comp_spec(const struct cli_cmd *c, const char *opt, size_t pos,
    char pieces[][COMP_WORD_MAX], size_t n, char *out, size_t len)
{
	const char *kind;
	size_t i, used;

	for (i = 0; i < n; i++) {
		if (!comp_placeholder(pieces[i]))
			continue;
		kind = comp_kind(c, opt, pos, pieces[i]);
		if (strcmp(kind, "-") != 0) {
			snprintf(out, len, "%s", kind);
			return;
		}
	}
	snprintf(out, len, "=");
	for (i = 0; i < n; i++) {
		if (comp_placeholder(pieces[i]) || strcmp(pieces[i], "-") == 0)
			continue;
		used = strlen(out);
		snprintf(out + used, len - used, "%s%s", used > 1 ? "|" : "",
		    pieces[i]);
	}
	if (strcmp(out, "=") == 0)
		snprintf(out, len, "-");
}

/* Add option name (a flag until a value word follows it). */
static struct comp_opt *
comp_add_opt(struct comp_cmd *cc, const char *name)
{
	struct comp_opt *o;

	if (cc->cc_nopts == COMP_OPT_MAX)
		return NULL;
	o = &cc->cc_opts[cc->cc_nopts++];
	snprintf(o->co_name, sizeof(o->co_name), "%s", name);
	o->co_val[0] = '\0';
	return o;
}

/* Split token at '|' into pieces; returns how many (empty ones dropped). */
static size_t
comp_split(const char *tok, char pieces[][COMP_WORD_MAX], size_t max)
{
	size_t n = 0, len;

	while (*tok != '\0' && n < max) {
		len = strcspn(tok, "|");
		if (len > 0 && len < COMP_WORD_MAX)
			snprintf(pieces[n++], COMP_WORD_MAX, "%.*s", (int)len,
			    tok);
		tok += len + (tok[len] == '|');
	}
	return n;
}

/* One token of a usage text, brackets and "..." already gone. */
static void
comp_token(const struct cli_cmd *c, struct comp_cmd *cc, const char *tok,
    struct comp_opt **last)
{
	char pieces[8][COMP_WORD_MAX];
	size_t n = comp_split(tok, pieces, 8), i, nval = 0;

	while (nval < n && (pieces[nval][0] != '-' || pieces[nval][1] == '\0'))
		nval++;
	if (nval > 0 && *last != NULL) {
		comp_spec(c, (*last)->co_name, 0, pieces, nval,
		    (*last)->co_val, sizeof((*last)->co_val));
	} else if (nval > 0 && cc->cc_npos < COMP_POS_MAX) {
		comp_spec(c, NULL, cc->cc_npos, pieces, nval,
		    cc->cc_pos[cc->cc_npos], COMP_WORD_MAX);
		cc->cc_npos++;
	}
	*last = NULL;
	for (i = nval; i < n; i++)
		if (pieces[i][0] == '-')
			*last = comp_add_opt(cc, pieces[i]);
}

/* Read command c's usage text into cc. */
static void
comp_parse(const struct cli_cmd *c, struct comp_cmd *cc)
{
	char buf[1024], *tok, *save, *p, *q;
	struct comp_opt *last = NULL;
	int skip = c->c_verb != NULL ? 2 : 1;

	memset(cc, 0, sizeof(*cc));
	snprintf(cc->cc_key, sizeof(cc->cc_key), "%s%s%s", c->c_noun,
	    c->c_verb != NULL ? " " : "", c->c_verb != NULL ? c->c_verb : "");
	snprintf(buf, sizeof(buf), "%s", c->c_usage);
	for (p = q = buf; *p != '\0'; p++)	/* brackets only group */
		if (*p != '[' && *p != ']')
			*q++ = *p;
	*q = '\0';
	for (tok = strtok_r(buf, " \t\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\n", &save)) {
		if ((p = strstr(tok, "...")) != NULL)
			*p = '\0';
		if (skip > 0) {
			skip--;
			continue;
		}
		if (*tok != '\0')
			comp_token(c, cc, tok, &last);
	}
	if (c->c_verb != NULL && strcmp(c->c_verb, "list") == 0)
		comp_add_opt(cc, "--watch");
	comp_add_opt(cc, "--help");
}

/* The part of the bash script after its data. */
static const char comp_bash_code[] =
"_hangar_spec() {\n"
"\tlocal v names\n"
"\tcase $1 in\n"
"\t@file) compopt -o filenames 2>/dev/null\n"
"\t\tCOMPREPLY=($(compgen -f -- \"$2\")) ;;\n"
"\t@dir) compopt -o filenames 2>/dev/null\n"
"\t\tCOMPREPLY=($(compgen -d -- \"$2\")) ;;\n"
"\t@*) names=$(\"$_hangar_bin\" \"${_hangar_g[@]}\" completion names \\\n"
"\t\t    \"${1#@}\" 2>/dev/null)\n"
"\t\tCOMPREPLY=($(compgen -W \"$names\" -- \"$2\")) ;;\n"
"\t=*) v=${1#=}; COMPREPLY=($(compgen -W \"${v//|/ }\" -- \"$2\")) ;;\n"
"\tesac\n"
"}\n"
"\n"
"_hangar() {\n"
"\tlocal i=1 n w key cur pos=0 _hangar_bin\n"
"\tlocal -a words p _hangar_g=()\n"
"\tCOMPREPLY=()\n"
"\t# Words split at blanks only (COMP_WORDS splits --url unix:/x at ':').\n"
"\tif [[ -n ${COMP_LINE-} ]]; then\n"
"\t\tread -ra words <<<\"${COMP_LINE:0:COMP_POINT}\"\n"
"\t\t[[ ${COMP_LINE:COMP_POINT-1:1} == [[:space:]] ]] && words+=('')\n"
"\telse\n"
"\t\twords=(\"${COMP_WORDS[@]:0:COMP_CWORD+1}\")\n"
"\tfi\n"
"\tn=$((${#words[@]} - 1)); cur=${words[n]}; _hangar_bin=${words[0]}\n"
"\twhile ((i < n)); do\n"
"\t\tw=${words[i]}\n"
"\t\tcase $w in\n"
"\t\t--url|--token|--cacert|-o|--output|--timeout)\n"
"\t\t\tif ((i + 1 == n)); then\n"
"\t\t\t\tcase $w in\n"
"\t\t\t\t-o|--output) _hangar_spec \"=$_hangar_formats\" \"$cur\" ;;\n"
"\t\t\t\t--cacert) _hangar_spec @file \"$cur\" ;;\n"
"\t\t\t\tesac\n"
"\t\t\t\treturn 0\n"
"\t\t\tfi\n"
"\t\t\tcase $w in --url|--token|--cacert)\n"
"\t\t\t\t_hangar_g+=(\"$w\" \"${words[i+1]}\") ;; esac\n"
"\t\t\t((i += 2)); continue ;;\n"
"\t\t--url=*|--token=*|--cacert=*) _hangar_g+=(\"$w\") ;;\n"
"\t\t-*) ;;\n"
"\t\t*) break ;;\n"
"\t\tesac\n"
"\t\t((i++))\n"
"\tdone\n"
"\tif ((i == n)); then\n"
"\t\tif [[ $cur == -* ]]; then\n"
"\t\t\tCOMPREPLY=($(compgen -W \"$_hangar_globals\" -- \"$cur\"))\n"
"\t\telse\n"
"\t\t\tCOMPREPLY=($(compgen -W \"$_hangar_nouns\" -- \"$cur\"))\n"
"\t\tfi\n"
"\t\treturn 0\n"
"\tfi\n"
"\tkey=${words[i]}; ((i++))\n"
"\tif [[ -n ${_hangar_verbs[$key]-} ]]; then\n"
"\t\tif ((i == n)); then\n"
"\t\t\tCOMPREPLY=($(compgen -W \"${_hangar_verbs[$key]}\" -- \"$cur\"))\n"
"\t\t\treturn 0\n"
"\t\tfi\n"
"\t\tkey=\"$key ${words[i]}\"; ((i++))\n"
"\tfi\n"
"\t[[ -n ${_hangar_opts[$key]-} ]] || return 0\n"
"\twhile ((i < n)); do\n"
"\t\tw=${words[i]}\n"
"\t\tif [[ $w == -* && -n ${_hangar_val[\"$key $w\"]-} ]]; then\n"
"\t\t\tif ((i + 1 == n)); then\n"
"\t\t\t\t_hangar_spec \"${_hangar_val[\"$key $w\"]}\" \"$cur\"\n"
"\t\t\t\treturn 0\n"
"\t\t\tfi\n"
"\t\t\t((i += 2)); continue\n"
"\t\tfi\n"
"\t\t[[ $w == -* ]] || ((pos++))\n"
"\t\t((i++))\n"
"\tdone\n"
"\tif [[ $cur == -* ]]; then\n"
"\t\tCOMPREPLY=($(compgen -W \"${_hangar_opts[$key]}\" -- \"$cur\"))\n"
"\t\treturn 0\n"
"\tfi\n"
"\tp=(${_hangar_pos[$key]-})\n"
"\t((pos < ${#p[@]})) && _hangar_spec \"${p[pos]}\" \"$cur\"\n"
"\treturn 0\n"
"}\n"
"complete -F _hangar hangar\n";

/* The part of the zsh script after its data. */
static const char comp_zsh_code[] =
"_hangar_spec() {\n"
"\tlocal -a vals\n"
"\tcase $1 in\n"
"\t(@file) _files ;;\n"
"\t(@dir) _files -/ ;;\n"
"\t(@*) vals=(${(f)\"$($_hangar_bin \"${_hangar_g[@]}\" completion names \\\n"
"\t\t    ${1#@} 2>/dev/null)\"})\n"
"\t\tcompadd -a vals ;;\n"
"\t('='*) vals=(${(s:|:)${1#=}}); compadd -a vals ;;\n"
"\tesac\n"
"}\n"
"\n"
"_hangar() {\n"
"\tlocal i=2 w key vk cur=${words[CURRENT]} pos=0\n"
"\tlocal _hangar_bin=${words[1]}\n"
"\tlocal -a _hangar_g p\n"
"\twhile (( i < CURRENT )); do\n"
"\t\tw=${words[i]}\n"
"\t\tcase $w in\n"
"\t\t(--url|--token|--cacert|-o|--output|--timeout)\n"
"\t\t\tif (( i + 1 == CURRENT )); then\n"
"\t\t\t\tcase $w in\n"
"\t\t\t\t(-o|--output) _hangar_spec \"=$_hangar_formats\" ;;\n"
"\t\t\t\t(--cacert) _hangar_spec @file ;;\n"
"\t\t\t\tesac\n"
"\t\t\t\treturn 0\n"
"\t\t\tfi\n"
"\t\t\tcase $w in (--url|--token|--cacert)\n"
"\t\t\t\t_hangar_g+=($w ${words[i+1]}) ;; esac\n"
"\t\t\t(( i += 2 )); continue ;;\n"
"\t\t(--url=*|--token=*|--cacert=*) _hangar_g+=($w) ;;\n"
"\t\t(-*) ;;\n"
"\t\t(*) break ;;\n"
"\t\tesac\n"
"\t\t(( i++ ))\n"
"\tdone\n"
"\tif (( i == CURRENT )); then\n"
"\t\tif [[ $cur == -* ]]; then\n"
"\t\t\tcompadd -- ${=_hangar_globals}\n"
"\t\telse\n"
"\t\t\tcompadd -- ${=_hangar_nouns}\n"
"\t\tfi\n"
"\t\treturn 0\n"
"\tfi\n"
"\tkey=${words[i]}; (( i++ ))\n"
"\tif [[ -n ${_hangar_verbs[$key]} ]]; then\n"
"\t\tif (( i == CURRENT )); then\n"
"\t\t\tcompadd -- ${=_hangar_verbs[$key]}\n"
"\t\t\treturn 0\n"
"\t\tfi\n"
"\t\tkey=\"$key ${words[i]}\"; (( i++ ))\n"
"\tfi\n"
"\t[[ -n ${_hangar_opts[$key]} ]] || return 0\n"
"\twhile (( i < CURRENT )); do\n"
"\t\tw=${words[i]}\n"
"\t\tvk=\"$key $w\"\n"
"\t\tif [[ $w == -* && -n ${_hangar_val[$vk]} ]]; then\n"
"\t\t\tif (( i + 1 == CURRENT )); then\n"
"\t\t\t\t_hangar_spec \"${_hangar_val[$vk]}\"\n"
"\t\t\t\treturn 0\n"
"\t\t\tfi\n"
"\t\t\t(( i += 2 )); continue\n"
"\t\tfi\n"
"\t\t[[ $w == -* ]] || (( pos++ ))\n"
"\t\t(( i++ ))\n"
"\tdone\n"
"\tif [[ $cur == -* ]]; then\n"
"\t\tcompadd -- ${=_hangar_opts[$key]}\n"
"\t\treturn 0\n"
"\tfi\n"
"\tp=(${=_hangar_pos[$key]})\n"
"\t(( pos < ${#p} )) && _hangar_spec \"${p[pos+1]}\"\n"
"\treturn 0\n"
"}\n"
"\n"
"if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then\n"
"\t_hangar \"$@\"\n"
"else\n"
"\tcompdef _hangar hangar\n"
"fi\n";

/* Print s single-quoted (from a usage text: a quote in it is dropped). */
static void
comp_quoted(const char *s)
{
	putchar('\'');
	for (; *s != '\0'; s++)
		if (*s != '\'')
			putchar(*s);
	putchar('\'');
}

/*
 * Print one entry of an associative array: bash `name['key']='value'`,
 * zsh `name+=('key' 'value')` (zsh would keep the quotes of a subscript).
 */
static void
comp_entry(bool zsh, const char *name, const char *key, const char *val)
{
	printf("%s%s", name, zsh ? "+=(" : "[");
	comp_quoted(key);
	fputs(zsh ? " " : "]=", stdout);
	comp_quoted(val);
	fputs(zsh ? ")\n" : "\n", stdout);
}

/* Print the nouns, each noun's verbs and each command's data. */
static void
comp_data(bool zsh)
{
	const struct cli_cmd *cmds;
	struct comp_cmd cc;
	char line[2048], vkey[128];
	size_t n, i, j, k;

	cmds = cli_commands(&n);
	printf("_hangar_nouns='");
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(cmds[j].c_noun, cmds[i].c_noun); j++)
			;
		if (j == i)
			printf("%s%s", i > 0 ? " " : "", cmds[i].c_noun);
	}
	printf("'\n");
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(cmds[j].c_noun, cmds[i].c_noun); j++)
			;
		if (j < i || cmds[i].c_verb == NULL)
			continue;
		line[0] = '\0';
		for (k = i; k < n; k++)
			if (strcmp(cmds[k].c_noun, cmds[i].c_noun) == 0 &&
			    cmds[k].c_verb != NULL)
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), "%s%s", line[0] != '\0' ?
				    " " : "", cmds[k].c_verb);
		comp_entry(zsh, "_hangar_verbs", cmds[i].c_noun, line);
	}
	for (i = 0; i < n; i++) {
		comp_parse(&cmds[i], &cc);
		line[0] = '\0';
		for (k = 0; k < cc.cc_npos; k++)
			snprintf(line + strlen(line), sizeof(line) -
			    strlen(line), "%s%s", k > 0 ? " " : "",
			    cc.cc_pos[k]);
		comp_entry(zsh, "_hangar_pos", cc.cc_key, line);
		line[0] = '\0';
		for (k = 0; k < cc.cc_nopts; k++)
			snprintf(line + strlen(line), sizeof(line) -
			    strlen(line), "%s%s", k > 0 ? " " : "",
			    cc.cc_opts[k].co_name);
		comp_entry(zsh, "_hangar_opts", cc.cc_key, line);
		for (k = 0; k < cc.cc_nopts; k++) {
			if (cc.cc_opts[k].co_val[0] == '\0')
				continue;
			snprintf(vkey, sizeof(vkey), "%s %s", cc.cc_key,
			    cc.cc_opts[k].co_name);
			comp_entry(zsh, "_hangar_val", vkey, cc.cc_opts[k].co_val);
		}
	}
}

/* Print the whole script for shell ("bash" or "zsh"). */
static void
comp_script(bool zsh)
{
	if (zsh)
		printf("#compdef hangar\n");
	printf("# %s completion for hangar %s, made by `hangar completion "
	    "%s`\n# from hangar's command table.\n", zsh ? "zsh" : "bash",
	    HANGAR_VERSION, zsh ? "zsh" : "bash");
	printf("%s _hangar_pos _hangar_opts _hangar_val _hangar_verbs\n",
	    zsh ? "typeset -gA" : "declare -gA");
	printf("_hangar_globals='--url --token --cacert -o --output "
	    "--no-wait --timeout --help --version'\n");
	printf("_hangar_formats='table|wide|json|yaml'\n");
	comp_data(zsh);
	printf("\n%s", zsh ? comp_zsh_code : comp_bash_code);
}

/*
 * hangar completion names KIND: the names of KIND, one a line, and
 * nothing else: no error on stderr (a shell is drawing a prompt), 5 s at
 * most.
 */
static int
comp_names(struct cli *cli, const char *kind)
{
	struct http_reply r = { 0, NULL };
	const json_t *rows, *row;
	size_t i, k;
	int rc = -1;

	if (freopen("/dev/null", "w", stderr) == NULL)
		return cli_fail_quietly(CLI_ERROR);
	for (k = 0; k < COMP_NRESOURCES; k++)
		if (strcmp(kind, comp_resources[k].cr_kind) == 0)
			break;
	if (k == COMP_NRESOURCES)
		return cli_fail_quietly(CLI_USAGE);
	if (http_request(cli->cli_http, "GET", comp_resources[k].cr_path,
	    NULL, 5, &r) == -1)
		return -1;
	rows = json_object_get(r.hr_json, comp_resources[k].cr_key);
	if (r.hr_status / 100 == 2 && json_is_array(rows)) {
		json_array_foreach(rows, i, row)
			if (json_is_string(json_object_get(row, "name")))
				printf("%s\n", json_string_value(
				    json_object_get(row, "name")));
		rc = 0;
	} else {
		cli_fail_quietly(CLI_ERROR);
	}
	http_reply_free(&r);
	return rc;
}

/* hangar completion bash|zsh, or completion names KIND */
int
completion(struct cli *cli, int argc, char **argv)
{
	const char *what;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1 ||
	    cli_args(cli, argc, argv, 1, 2) == -1)
		return -1;
	what = argv[optind];
	if (strcmp(what, "names") == 0 && argc - optind == 2)
		return comp_names(cli, argv[optind + 1]);
	if (argc - optind != 1 || (strcmp(what, "bash") != 0 &&
	    strcmp(what, "zsh") != 0))
		return cli_usage_error(cli, "expected bash, zsh or names KIND");
	comp_script(strcmp(what, "zsh") == 0);
	return 0;
}
