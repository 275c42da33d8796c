/*
 * yaml.c - `-o yaml`: a jansson value written as a YAML block document
 * that any YAML 1.1 or 1.2 reader turns back into the very same JSON.
 *
 * Objects become `key: value` lines, arrays `- item` lines, two spaces a
 * level; empty ones are `{}` and `[]`.  A string is written plain only
 * when no reader could take it for something else; otherwise it is
 * double-quoted with escapes:
 *	- words a reader resolves: null, ~, true/false, yes/no, on/off, y/n
 *	  in any case, `<<`, `=`, .inf, .nan;
 *	- anything that may read as a number, a date or a time: it starts
 *	  with a digit, or with + - . and a digit or '.', and holds only
 *	  characters a number or a timestamp may hold (so "10GiB" stays
 *	  plain, "1e3", "0x1f", "12:30" and "2026-12-07" are quoted);
 *	- a first character that is an indicator (- ? : , [ ] { } # & * !
 *	  | > ' " % @ `) or a space, a start of "..." (a document's end), a
 *	  last character that is a space or ':',
 *	  ": " or " #" inside, a tab, a control character, and the code
 *	  points YAML reads as line breaks or refuses (U+0080-U+009F,
 *	  U+2028, U+2029, U+FEFF, U+FFFE, U+FFFF: escaped as \xNN / \uNNNN).
 * A string of several lines that is otherwise clean is a literal block
 * (`|-`, `|` or `|+` by how many newlines end it), as people write
 * cloud-init user-data; a key longer than YAML's 1024-character limit
 * for simple keys is written as an explicit `? key` entry.
 *
 * Reals are written in the fewest digits that read back exactly, always
 * with a '.' (PyYAML reads "1e+20" as a string, "1.0e+20" as a float).
 * tests/unit/test_cli_yaml.c checks tricky values against expected text,
 * and tests/integration/cli_polish.sh reads random documents back with
 * python3-yaml.
 *
 * Example: {"name":"web1","on":"yes","ips":[],"data":"a\nb\n"} is
 *	name: web1
 *	"on": "yes"
 *	ips: []
 *	data: |
 *	  a
 *	  b
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hangar.h"
#include "yaml.h"

#define YAML_KEY_MAX 1000	/* longer keys are written as `? key` */

/*
 * Decode the UTF-8 code point at s[*i] (jansson strings are valid UTF-8)
 * and move *i past it; a stray byte is taken as itself.
 */
static unsigned long
yaml_cp(const unsigned char *s, size_t len, size_t *i)
{
	unsigned long cp = s[*i];
	size_t n = 0, k;

	if (cp >= 0xf0)
		n = 3, cp &= 0x07;
	else if (cp >= 0xe0)
		n = 2, cp &= 0x0f;
	else if (cp >= 0xc0)
		n = 1, cp &= 0x1f;
	if (*i + n >= len) {
		cp = s[*i];		/* cut short: the byte itself */
		n = 0;
	}
	for (k = 1; k <= n; k++)
		cp = (cp << 6) | (s[*i + k] & 0x3f);
	*i += n + 1;
	return cp;
}

/* Whether YAML could not carry code point cp as it is in a document. */
static bool
yaml_special(unsigned long cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe ||
	    cp == 0xffff;
}

/* Whether a reader would resolve s to a null, a boolean or the like. */
static bool
yaml_reserved(const char *s)
{
	static const char *const words[] = {
		"null", "~", "true", "false", "yes", "no", "on", "off", "y",
		"n", "<<", "=", ".inf", "-.inf", "+.inf", ".nan",
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	return false;
}

/* Whether a reader might take s for a number, a date or a time. */
static bool
yaml_numberish(const char *s)
{
	bool lead = (s[0] >= '0' && s[0] <= '9') ||
	    (strchr("+-.", s[0]) != NULL && ((s[1] >= '0' && s[1] <= '9') ||
	    s[1] == '.'));

	return lead && strspn(s, "0123456789abcdefABCDEFxXoO+-._:tTzZ ") ==
	    strlen(s);
}

/* Whether s (len bytes, no NUL inside) may be written as a plain scalar. */
static bool
yaml_plain_ok(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (len == 0 || strlen(s) != len || yaml_reserved(s) ||
	    yaml_numberish(s) || strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) != NULL ||
	    s[len - 1] == ' ' || s[len - 1] == ':' || strstr(s, ": ") != NULL ||
	    strstr(s, " #") != NULL || strncmp(s, "...", 3) == 0)
		return false;
	while (i < len)
		if (yaml_special(yaml_cp(u, len, &i)) || u[i - 1] == '\t')
			return false;
	return true;
}

/*
 * Whether s may be a literal block: several lines, no character that
 * needs an escape but the newline, and a first line that starts with
 * neither a space nor a newline (no indentation indicator needed).
 */
static bool
yaml_literal_ok(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned long cp;
	size_t i = 0;

	if (len < 2 || strlen(s) != len || memchr(s, '\n', len) == NULL ||
	    s[0] == ' ' || s[0] == '\n')
		return false;
	while (i < len) {
		cp = yaml_cp(u, len, &i);
		if (cp != '\n' && yaml_special(cp))
			return false;
	}
	return true;
}

/* Write s double-quoted, every character YAML cannot carry escaped. */
static void
yaml_quoted(FILE *fp, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned long cp;
	size_t i = 0, start;

	fputc('"', fp);
	while (i < len) {
		start = i;
		cp = yaml_cp(u, len, &i);
		if (cp == '"' || cp == '\\')
			fprintf(fp, "\\%c", (int)cp);
		else if (cp == '\n')
			fputs("\\n", fp);
		else if (cp == '\t')
			fputs("\\t", fp);
		else if (cp == '\r')
			fputs("\\r", fp);
		else if (cp == 0)
			fputs("\\0", fp);
		else if (yaml_special(cp) && cp <= 0xff)
			fprintf(fp, "\\x%02lX", cp);
		else if (yaml_special(cp))
			fprintf(fp, "\\u%04lX", cp);
		else
			fwrite(s + start, 1, i - start, fp);
	}
	fputc('"', fp);
}

/*
 * Write s as a literal block after "key:" or "-": the header with its
 * chomping indicator, then each line indented by indent.
 */
static void
yaml_literal(FILE *fp, const char *s, size_t len, int indent)
{
	size_t trail = 0, i, start;

	while (trail < len && s[len - 1 - trail] == '\n')
		trail++;
	fprintf(fp, " |%s\n", trail == 0 ? "-" : trail == 1 ? "" : "+");
	for (start = 0; start < len; start = i + 1) {
		for (i = start; i < len && s[i] != '\n'; i++)
			;
		if (i > start)
			fprintf(fp, "%*s%.*s", indent, "", (int)(i - start),
			    s + start);
		if (i < len || i > start)
			fputc('\n', fp);
	}
}

/* Write a string scalar, plain or quoted (never a block). */
static void
yaml_string(FILE *fp, const char *s, size_t len)
{
	if (yaml_plain_ok(s, len))
		fwrite(s, 1, len, fp);
	else
		yaml_quoted(fp, s, len);
}

/*
 * Write a real in the fewest significant digits that read back as the
 * same double, with a '.' so YAML 1.1 readers take it as a float.
 */
static void
yaml_real(FILE *fp, double d)
{
	char buf[64], *e;
	int prec;

	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (strchr(buf, '.') != NULL)
		fputs(buf, fp);
	else if ((e = strchr(buf, 'e')) != NULL)
		fprintf(fp, "%.*s.0%s", (int)(e - buf), buf, e);
	else
		fprintf(fp, "%s.0", buf);
}

/* Write a scalar, or an empty collection, on the current line. */
static void
yaml_scalar(FILE *fp, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		yaml_string(fp, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		fprintf(fp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		yaml_real(fp, json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", fp);
		break;
	case JSON_FALSE:
		fputs("false", fp);
		break;
	case JSON_OBJECT:
		fputs("{}", fp);
		break;
	case JSON_ARRAY:
		fputs("[]", fp);
		break;
	default:
		fputs("null", fp);
		break;
	}
}

/* Whether v is an object or an array with something in it. */
static bool
yaml_nested(const json_t *v)
{
	return (json_is_object(v) && json_object_size(v) > 0) ||
	    (json_is_array(v) && json_array_size(v) > 0);
}

static void	yaml_node(FILE *, const json_t *, int, bool);

/*
 * Write what follows "key:" or "-": " scalar" on the same line, a literal
 * block, or a collection on the next lines indented by indent (an object
 * under "-" starts on the same line when inline_ok).
 */
static void
yaml_after(FILE *fp, const json_t *v, int indent, bool inline_ok)
{
	if (json_is_string(v) && yaml_literal_ok(json_string_value(v),
	    json_string_length(v))) {
		yaml_literal(fp, json_string_value(v), json_string_length(v),
		    indent);
	} else if (!yaml_nested(v)) {
		fputc(' ', fp);
		yaml_scalar(fp, v);
		fputc('\n', fp);
	} else if (inline_ok && json_is_object(v)) {
		fputc(' ', fp);
		yaml_node(fp, v, indent, true);
	} else {
		fputc('\n', fp);
		yaml_node(fp, v, indent, false);
	}
}

/* Write one key of an object (indented unless first_inline). */
static void
yaml_key(FILE *fp, const char *key, size_t klen, int indent, bool bare)
{
	if (!bare)
		fprintf(fp, "%*s", indent, "");
	if (klen > YAML_KEY_MAX) {
		fputs("? ", fp);
		yaml_quoted(fp, key, klen);
		fprintf(fp, "\n%*s:", indent, "");
		return;
	}
	yaml_string(fp, key, klen);
	fputc(':', fp);
}

/*
 * Write a non-empty collection at indent; with first_inline the cursor is
 * already after "- " and its first line is not indented again.
 */
static void
yaml_node(FILE *fp, const json_t *v, int indent, bool first_inline)
{
	const char *key;
	const json_t *m;
	size_t i;
	bool first = true;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)(uintptr_t)v, key, m) {
			yaml_key(fp, key, strlen(key), indent,
			    first && first_inline);
			yaml_after(fp, m, indent + 2, false);
			first = false;
		}
		return;
	}
	json_array_foreach(v, i, m) {
		if (!(first && first_inline))
			fprintf(fp, "%*s", indent, "");
		fputc('-', fp);
		yaml_after(fp, m, indent + 2, true);
		first = false;
	}
}

/*
 * Write v as a YAML document on fp: a collection as block lines, anything
 * else as one scalar line.  Returns 0, or -1 after reporting a write
 * error.
 */
int
yaml_write(FILE *fp, const json_t *v)
{
	if (yaml_nested(v)) {
		yaml_node(fp, v, 0, false);
	} else {
		yaml_scalar(fp, v);
		fputc('\n', fp);
	}
	if (ferror(fp))
		return cli_fail(CLI_ERROR, "cannot write the output");
	return 0;
}
