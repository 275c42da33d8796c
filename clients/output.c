/*
 * output.c - print what hangard sent: JSON, aligned tables, `key: value`.
 *
 * Every string that reaches the terminal from the server goes through
 * output_put(), which replaces control characters with '?' (so a VM step or
 * a problem detail cannot move the cursor or set the title) and cuts values
 * longer than the buffer, ending them in "...".  JSON output needs no such
 * care: jansson escapes control characters itself.
 *
 * Example: the columns of `hangar vm list` are
 *	{ "NAME", "name", OUTPUT_TEXT }, { "MEMORY", "memory_mib", OUTPUT_MIB }
 * and output_list() turns {"vms":[...]} into
 *	NAME   STATE     ...  MEMORY
 *	web1   running   ...  64MiB
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "hangar.h"
#include "yaml.h"

#define OUTPUT_COLS_MAX 16
#define OUTPUT_GAP 3		/* spaces between table columns */
#define OUTPUT_KEY_MAX 256	/* a flattened `a.b.c` key */
#define OUTPUT_SPIN_MS 100	/* redraw the spinner at most this often */

static int	output_rows(FILE *, const json_t *, const struct output_col *,
		    size_t);

static const char output_frames[] = "|/-\\";

/* The progress line on stderr; there is one per process. */
static struct {
	int		os_tty;		/* 1 a tty, -1 not, 0 unknown yet */
	bool		os_drawn;	/* a line is on the screen */
	unsigned	os_frame;
	struct timespec	os_last;	/* when it was last drawn */
} output_spin;

/*
 * Append src to buf (length len, holding *used bytes), replacing control
 * characters.  When it does not fit, the value ends in "..." instead.
 */
static void
output_put(char *buf, size_t len, size_t *used, const char *src)
{
	size_t i;

	if (len == 0)
		return;
	for (i = 0; src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];

		if (*used + 1 >= len) {
			size_t n = len - 1 < 3 ? len - 1 : 3;

			memset(buf + len - 1 - n, '.', n);
			buf[len - 1] = '\0';
			*used = len - 1;
			return;
		}
		buf[(*used)++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf[*used] = '\0';
}

/* The width of a UTF-8 string on screen, counting one column per character. */
static size_t
output_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

int
output_parse_format(const char *s, enum output_format *out)
{
	if (strcmp(s, "table") == 0)
		*out = OUTPUT_TABLE;
	else if (strcmp(s, "wide") == 0)
		*out = OUTPUT_WIDE;
	else if (strcmp(s, "json") == 0)
		*out = OUTPUT_JSON;
	else if (strcmp(s, "yaml") == 0)
		*out = OUTPUT_YAML;
	else
		return -1;
	return 0;
}

/*
 * A JSON number as a person reads it: integers whole, reals with up to 15
 * significant digits and no trailing zeros (4.0 is "4", 1048576.0 is
 * "1048576", 0.1 is "0.1"), never "-0".
 */
static void
output_number(const json_t *v, char *buf, size_t len)
{
	double d;

	if (json_is_integer(v)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return;
	}
	d = json_number_value(v);
	if (d == 0)
		d = 0;		/* -0.0 becomes 0 */
	snprintf(buf, len, "%.15g", d);
}

/* {"free":F,"capacity":C,...} as "F/C"; false if v is not like that. */
static bool
output_free_cap(const json_t *v, char *buf, size_t len, size_t *used)
{
	const json_t *free_ = json_object_get(v, "free");
	const json_t *cap = json_object_get(v, "capacity");
	char a[64], b[64], num[160];

	if (!json_is_number(free_) || !json_is_number(cap))
		return false;
	output_number(free_, a, sizeof(a));
	output_number(cap, b, sizeof(b));
	snprintf(num, sizeof(num), "%s/%s", a, b);
	output_put(buf, len, used, num);
	return true;
}

/* {"k":"v",...} as "k=v,..." ("-" if empty); false if v is no object. */
static bool
output_labels(const json_t *v, char *buf, size_t len, size_t *used)
{
	const char *k;
	const json_t *lv;
	char *dump;
	bool first = true;

	if (!json_is_object(v))
		return false;
	if (json_object_size(v) == 0)
		output_put(buf, len, used, "-");
	json_object_foreach((json_t *)(uintptr_t)v, k, lv) {
		if (!first)
			output_put(buf, len, used, ",");
		first = false;
		output_put(buf, len, used, k);
		output_put(buf, len, used, "=");
		if (json_is_string(lv)) {
			output_put(buf, len, used, json_string_value(lv));
		} else if ((dump = json_dumps(lv, JSON_COMPACT |
		    JSON_ENCODE_ANY)) != NULL) {
			output_put(buf, len, used, dump);
			free(dump);
		} else {
			output_put(buf, len, used, "?");
		}
	}
	return true;
}

/*
 * Render one JSON value for a table cell or a `key: value` line into buf:
 * "-" for null or missing, the unit appended to integers, nested values as
 * compact JSON (unless the unit says how to show them).  Never fails; a
 * value that cannot be rendered shows as "?".
 */
void
output_cell(const json_t *v, enum output_unit unit, char *buf, size_t len)
{
	char num[64];
	char *dump;
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if ((unit == OUTPUT_FREE_CAP && output_free_cap(v, buf, len, &used)) ||
	    (unit == OUTPUT_LABELS && output_labels(v, buf, len, &used)))
		return;
	if (unit == OUTPUT_PASS && json_is_boolean(v)) {
		output_put(buf, len, &used, json_is_true(v) ? "pass" : "FAIL");
		return;
	}
	switch (v == NULL ? JSON_NULL : json_typeof(v)) {
	case JSON_NULL:
		output_put(buf, len, &used, "-");
		break;
	case JSON_STRING:
		output_put(buf, len, &used, json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT "%s",
		    json_integer_value(v), unit == OUTPUT_MIB ? "MiB" :
		    unit == OUTPUT_GIB ? "GiB" : "");
		output_put(buf, len, &used, num);
		break;
	case JSON_REAL:
		output_number(v, num, sizeof(num));
		output_put(buf, len, &used, num);
		break;
	case JSON_TRUE:
		output_put(buf, len, &used, "true");
		break;
	case JSON_FALSE:
		output_put(buf, len, &used, "false");
		break;
	case JSON_OBJECT:
	case JSON_ARRAY:
		if ((dump = json_dumps(v, JSON_COMPACT)) == NULL) {
			output_put(buf, len, &used, "?");
			break;
		}
		output_put(buf, len, &used, dump);
		free(dump);
		break;
	}
}

int
output_json(FILE *fp, const json_t *v)
{
	if (json_dumpf(v, fp, JSON_INDENT(2)) == -1 || fputc('\n', fp) == EOF)
		return cli_fail(CLI_ERROR, "cannot write the output");
	return 0;
}

/* The data whole, as JSON or (with -o yaml) as YAML. */
int
output_data(FILE *fp, enum output_format format, const json_t *v)
{
	if (format == OUTPUT_YAML)
		return yaml_write(fp, v);
	return output_json(fp, v);
}

/*
 * The member at a dotted path in obj, e.g. "resources.vcpus", or NULL if
 * any step is missing or not an object.
 */
static const json_t *
output_get(const json_t *obj, const char *path)
{
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		obj = json_object_getn(obj, path, (size_t)(dot - path));
		path = dot + 1;
	}
	return json_object_get(obj, path);
}

/*
 * A cell made from a whole row: of a placement VERDICT
 * ({"name","fits","chosen","filter",...}), its name marked "* " when it is
 * the chosen host ("  " otherwise, to keep names aligned), or its verdict;
 * of an OPERATION, what it acts on: its vm, else its host (a drain has no
 * vm), else "-".
 */
static void
output_row_unit(const json_t *row, enum output_unit unit, char *buf,
    size_t len)
{
	const char *filter = json_string_value(json_object_get(row, "filter"));
	const json_t *target;
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (unit == OUTPUT_OP_TARGET) {
		target = json_object_get(row, "vm");
		if (!json_is_string(target))
			target = json_object_get(row, "host");
		output_cell(target, OUTPUT_TEXT, buf, len);
	} else if (unit == OUTPUT_CHOSEN) {
		output_put(buf, len, &used,
		    json_is_true(json_object_get(row, "chosen")) ? "* " : "  ");
		output_cell(json_object_get(row, "name"), OUTPUT_TEXT,
		    buf + used, len - used);
	} else if (unit != OUTPUT_VERDICT) {
		output_put(buf, len, &used, "-");	/* no such row unit */
	} else if (json_is_true(json_object_get(row, "fits"))) {
		output_put(buf, len, &used, "fits");
	} else {
		output_put(buf, len, &used, "no:");
		output_put(buf, len, &used, filter != NULL ? filter : "?");
	}
}

/* The cell of column col in row (an object; anything else shows "-"). */
static void
output_row_cell(const json_t *row, const struct output_col *col, char *buf,
    size_t len)
{
	const json_t *v;

	if (json_is_object(row) && col->oc_key == NULL) {
		output_row_unit(row, col->oc_unit, buf, len);
		return;
	}
	v = json_is_object(row) && col->oc_key != NULL ?
	    output_get(row, col->oc_key) : NULL;
	output_cell(v, col->oc_unit, buf, len);
}

/*
 * Print rows (a JSON array of objects) as a table: a heading line, then one
 * line per row, each column as wide as its widest cell.  A line ends at
 * its last non-empty cell, without trailing blanks.
 */
int
output_table(FILE *fp, const json_t *rows, const struct output_col *cols,
    size_t ncols)
{
	return output_table_as(fp, OUTPUT_TABLE, rows, cols, ncols);
}

/*
 * output_table() for format: with -o wide, the columns columns_wide[]
 * adds to these after them.
 */
int
output_table_as(FILE *fp, enum output_format format, const json_t *rows,
    const struct output_col *base, size_t nbase)
{
	struct output_col cols[OUTPUT_COLS_MAX];
	const struct output_wide *w;
	size_t ncols = nbase, i;

	if (nbase > OUTPUT_COLS_MAX)
		return cli_fail(CLI_ERROR, "cannot print this reply as a table");
	memcpy(cols, base, nbase * sizeof(*base));
	for (i = 0; format == OUTPUT_WIDE && i < columns_nwide; i++) {
		w = &columns_wide[i];
		if (w->ow_base != base || w->ow_nmore > OUTPUT_COLS_MAX - ncols)
			continue;
		memcpy(cols + ncols, w->ow_more, w->ow_nmore * sizeof(*base));
		ncols += w->ow_nmore;
	}
	return output_rows(fp, rows, cols, ncols);
}

/* output_table() of exactly these columns. */
static int
output_rows(FILE *fp, const json_t *rows, const struct output_col *cols,
    size_t ncols)
{
	size_t width[OUTPUT_COLS_MAX];
	char cell[OUTPUT_CELL_MAX];
	const json_t *row;
	size_t i, c, last;

	if (ncols > OUTPUT_COLS_MAX || !json_is_array(rows))
		return cli_fail(CLI_ERROR, "cannot print this reply as a "
		    "table");
	for (c = 0; c < ncols; c++)
		width[c] = output_width(cols[c].oc_head);
	json_array_foreach(rows, i, row) {
		for (c = 0; c < ncols; c++) {
			size_t w;

			output_row_cell(row, &cols[c], cell, sizeof(cell));
			if ((w = output_width(cell)) > width[c])
				width[c] = w;
		}
	}
	for (c = 0; c < ncols; c++) {
		if (c + 1 < ncols)
			fprintf(fp, "%s%*s", cols[c].oc_head, (int)(width[c] -
			    output_width(cols[c].oc_head) + OUTPUT_GAP), "");
		else
			fprintf(fp, "%s\n", cols[c].oc_head);
	}
	json_array_foreach(rows, i, row) {
		for (last = ncols; last > 1; last--) {
			output_row_cell(row, &cols[last - 1], cell,
			    sizeof(cell));
			if (cell[0] != '\0')
				break;
		}
		for (c = 0; c < last; c++) {
			output_row_cell(row, &cols[c], cell, sizeof(cell));
			if (c + 1 < last)
				fprintf(fp, "%s%*s", cell, (int)(width[c] -
				    output_width(cell) + OUTPUT_GAP), "");
			else
				fprintf(fp, "%s\n", cell);
		}
	}
	return 0;
}

/* Print one `key: value` line. */
static void
output_show_line(FILE *fp, const char *key, const json_t *v)
{
	char shown[OUTPUT_KEY_MAX], cell[OUTPUT_CELL_MAX];
	size_t used = 0;

	output_put(shown, sizeof(shown), &used, key);
	output_cell(v, OUTPUT_TEXT, cell, sizeof(cell));
	fprintf(fp, "%s: %s\n", shown, cell);
}

/*
 * Print obj's members as `prefix.key: value`, recursing into objects.  The
 * key's bound also bounds the depth (each level adds at least two bytes).
 */
static void
output_show_at(FILE *fp, const json_t *obj, const char *prefix)
{
	char key[OUTPUT_KEY_MAX];
	const char *k;
	const json_t *v;
	int n;

	json_object_foreach((json_t *)(uintptr_t)obj, k, v) {
		n = snprintf(key, sizeof(key), "%s%s%s", prefix,
		    *prefix != '\0' ? "." : "", k);
		if (n < 0 || (size_t)n >= sizeof(key))
			continue;	/* absurdly deep or long: skip it */
		if (json_is_object(v) && json_object_size(v) > 0)
			output_show_at(fp, v, key);
		else
			output_show_line(fp, key, v);
	}
}

/* Print an object as `key: value` lines, nested objects flattened. */
int
output_show(FILE *fp, const json_t *obj)
{
	if (!json_is_object(obj))
		return cli_fail(CLI_ERROR, "cannot print this reply as a list "
		    "of keys");
	output_show_at(fp, obj, "");
	return 0;
}

int
output_object(FILE *fp, enum output_format format, const json_t *obj)
{
	if (OUTPUT_DATA(format))
		return output_data(fp, format, obj);
	return output_show(fp, obj);
}

/*
 * Print a list reply such as {"vms":[...]}: all of it as JSON, or the array
 * under key as a table.
 */
int
output_list(FILE *fp, enum output_format format, const json_t *reply,
    const char *key, const struct output_col *cols, size_t ncols)
{
	const json_t *rows;

	if (OUTPUT_DATA(format))
		return output_data(fp, format, reply);
	rows = json_object_get(reply, key);
	if (!json_is_array(rows))
		return cli_fail(CLI_ERROR, "the reply has no \"%s\" list", key);
	return output_table_as(fp, format, rows, cols, ncols);
}

/*
 * Print one object (GROUP, say) that carries a list under key: all of it as
 * JSON, or its other members as `key: value` lines, then, if the list is
 * not empty, a blank line and the list as a table.  Example, for
 * `hangar group show web`:
 *	name: web
 *	...
 *
 *	MEMBER   HOST    ID
 *	web1     local   6f1c...
 */
int
output_detail(FILE *fp, enum output_format format, const json_t *obj,
    const char *key, const struct output_col *cols, size_t ncols)
{
	const json_t *rows;
	json_t *rest;
	int rc;

	if (OUTPUT_DATA(format))
		return output_data(fp, format, obj);
	if (!json_is_object(obj))
		return output_show(fp, obj);
	rows = json_object_get(obj, key);
	if ((rest = json_copy((json_t *)(uintptr_t)obj)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	json_object_del(rest, key);
	rc = output_show(fp, rest);
	json_decref(rest);
	if (rc == 0 && json_array_size(rows) > 0) {
		fputc('\n', fp);
		rc = output_table_as(fp, format, rows, cols, ncols);
	}
	return rc;
}

/*
 * Print a placement reply ({"host","policy","hosts":[VERDICT,...],
 * "detail"}): all of it as JSON, or the verdicts as a table followed by
 * `chosen: NAME` or `no host fits: DETAIL`.  Returns 0 once printed,
 * whether a host fits or not; the caller decides what that means.
 */
int
output_placement(FILE *fp, enum output_format format, const json_t *reply,
    const struct output_col *cols, size_t ncols)
{
	const json_t *host = json_object_get(reply, "host");
	char cell[OUTPUT_CELL_MAX];

	if (OUTPUT_DATA(format))
		return output_data(fp, format, reply);
	if (output_list(fp, format, reply, "hosts", cols, ncols) == -1)
		return -1;
	if (json_is_string(host)) {
		output_cell(host, OUTPUT_TEXT, cell, sizeof(cell));
		fprintf(fp, "chosen: %s\n", cell);
	} else {
		output_cell(json_object_get(reply, "detail"), OUTPUT_TEXT,
		    cell, sizeof(cell));
		fprintf(fp, "no host fits: %s\n", cell);
	}
	return 0;
}

/*
 * The columns of `hangar events`.  Events are printed as they arrive, so
 * the widths cannot come from the rows as output_table() does: each column
 * has a fixed width (TIME fits an RFC 3339 time with milliseconds), and a
 * longer value pushes the rest of its line to the right.
 */
static const struct {
	const char	*oe_head;
	const char	*oe_key;	/* NULL: the summary of "data" */
	size_t		 oe_width;
} output_event_cols[] = {
	{ "ID", "id", 5 },
	{ "TIME", "time", 24 },
	{ "TYPE", "type", 19 },
	{ "VM", "vm", 12 },
	{ "HOST", "host", 8 },
	{ "DETAIL", NULL, 0 },
};
#define OUTPUT_EVENT_NCOLS \
	(sizeof(output_event_cols) / sizeof(output_event_cols[0]))
#define OUTPUT_EVENT_GAP 2

/* Whether s starts with prefix. */
static bool
output_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A string member of obj, or NULL if it is missing, not a string or "". */
static const char *
output_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL && *s != '\0' ? s : NULL;
}

/*
 * Write the DETAIL of an event (the object an SSE frame's data carries:
 * {"id","type","time","vm","vm_id","host","operation","data"}) into buf,
 * a short summary of its "data" by the event's family:
 *	vm.*		"previous -> state" (when data has a state)
 *	operation.*	the kind, then " (step)", or ": " and the error's
 *			detail when it failed
 *	snapshot.*	the snapshot's name
 *	host.*		nothing
 * and anything else as compact JSON (nothing if data is empty).
 */
void
output_event_detail(const json_t *ev, char *buf, size_t len)
{
	const char *type = output_str(ev, "type");
	const json_t *data = json_object_get(ev, "data"), *err;
	const char *a, *b;
	size_t used = 0;
	char *dump;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (type == NULL)
		type = "";
	if (output_prefix(type, "host."))
		return;
	if (output_prefix(type, "vm.") &&
	    (a = output_str(data, "state")) != NULL) {
		if ((b = output_str(data, "previous")) != NULL) {
			output_put(buf, len, &used, b);
			output_put(buf, len, &used, " -> ");
		}
		output_put(buf, len, &used, a);
		return;
	}
	if (output_prefix(type, "operation.") &&
	    (a = output_str(data, "kind")) != NULL) {
		output_put(buf, len, &used, a);
		err = json_object_get(data, "error");
		if ((b = output_str(err, "detail")) != NULL ||
		    (b = output_str(err, "code")) != NULL) {
			output_put(buf, len, &used, ": ");
			output_put(buf, len, &used, b);
		} else if ((b = output_str(data, "step")) != NULL) {
			output_put(buf, len, &used, " (");
			output_put(buf, len, &used, b);
			output_put(buf, len, &used, ")");
		}
		return;
	}
	if (output_prefix(type, "snapshot.") &&
	    ((a = output_str(data, "snapshot")) != NULL ||
	    (a = output_str(data, "name")) != NULL)) {
		output_put(buf, len, &used, a);
		return;
	}
	if (data == NULL || json_is_null(data) ||
	    (json_is_object(data) && json_object_size(data) == 0))
		return;
	if ((dump = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY)) ==
	    NULL) {
		output_put(buf, len, &used, "?");
		return;
	}
	output_put(buf, len, &used, dump);
	free(dump);
}

/* Append cell to line, padded to width plus the gap unless it is last. */
static void
output_event_cell(char *line, size_t len, size_t *used, const char *cell,
    size_t width, bool last)
{
	size_t w = output_width(cell), pad;

	output_put(line, len, used, cell);
	if (last)
		return;
	for (pad = (w < width ? width - w : 0) + OUTPUT_EVENT_GAP; pad > 0;
	    pad--)
		output_put(line, len, used, " ");
}

/*
 * Print one event as `hangar events` does: with -o json its object as one
 * compact line (JSON Lines); with -o yaml as a YAML document after "---";
 * as a table, one line of ID, TIME, TYPE, VM,
 * HOST and DETAIL (output_event_detail()), after the heading line the
 * first time (*headed says whether it was printed).  The caller flushes.
 */
int
output_event(FILE *fp, enum output_format format, const json_t *ev,
    bool *headed)
{
	char line[OUTPUT_CELL_MAX + 256], cell[OUTPUT_CELL_MAX];
	size_t c, used;

	if (format == OUTPUT_JSON) {
		if (json_dumpf(ev, fp, JSON_COMPACT) == -1 ||
		    fputc('\n', fp) == EOF)
			return cli_fail(CLI_ERROR, "cannot write the output");
		return 0;
	}
	if (format == OUTPUT_YAML) {
		if (fputs("---\n", fp) == EOF)
			return cli_fail(CLI_ERROR, "cannot write the output");
		return yaml_write(fp, ev);
	}
	if (!*headed) {
		used = 0;
		line[0] = '\0';
		for (c = 0; c < OUTPUT_EVENT_NCOLS; c++)
			output_event_cell(line, sizeof(line), &used,
			    output_event_cols[c].oe_head,
			    output_event_cols[c].oe_width,
			    c + 1 == OUTPUT_EVENT_NCOLS);
		fprintf(fp, "%s\n", line);
		*headed = true;
	}
	used = 0;
	line[0] = '\0';
	for (c = 0; c < OUTPUT_EVENT_NCOLS; c++) {
		if (output_event_cols[c].oe_key == NULL)
			output_event_detail(ev, cell, sizeof(cell));
		else
			output_cell(json_object_get(ev,
			    output_event_cols[c].oe_key), OUTPUT_TEXT, cell,
			    sizeof(cell));
		output_event_cell(line, sizeof(line), &used, cell,
		    output_event_cols[c].oe_width,
		    c + 1 == OUTPUT_EVENT_NCOLS);
	}
	/* No trailing blanks when DETAIL is empty. */
	while (used > 0 && line[used - 1] == ' ')
		line[--used] = '\0';
	if (fprintf(fp, "%s\n", line) < 0)
		return cli_fail(CLI_ERROR, "cannot write the output");
	return 0;
}

/*
 * Replace control characters in s with '?', in place, so a string from the
 * server cannot drive the terminal.
 */
void
output_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/*
 * Draw text as the progress line on stderr, after a turning spinner, cut to
 * the terminal's width.  Does nothing unless stderr is a terminal; redraws
 * at most every OUTPUT_SPIN_MS unless force.
 */
void
output_spin_draw(bool force, const char *text)
{
	char line[512];
	struct timespec now;
	struct winsize ws;
	size_t used = 0, cols = 80, w, i;
	long ms;

	if (output_spin.os_tty == 0)
		output_spin.os_tty = isatty(STDERR_FILENO) == 1 ? 1 : -1;
	if (output_spin.os_tty != 1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - output_spin.os_last.tv_sec) * 1000 +
	    (now.tv_nsec - output_spin.os_last.tv_nsec) / 1000000;
	if (!force && output_spin.os_drawn && ms < OUTPUT_SPIN_MS)
		return;
	output_spin.os_last = now;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 10)
		cols = ws.ws_col;
	output_put(line, sizeof(line), &used, text);
	/* Leave room for the spinner, its space and the cursor. */
	for (i = 0, w = 0; line[i] != '\0'; i++) {
		if (((unsigned char)line[i] & 0xc0) != 0x80 && ++w > cols - 3) {
			line[i] = '\0';
			break;
		}
	}
	fprintf(stderr, "\r\033[K%c %s",
	    output_frames[output_spin.os_frame++ % 4], line);
	fflush(stderr);
	output_spin.os_drawn = true;
}

/* Erase the progress line, if one is shown. */
void
output_spin_clear(void)
{
	if (!output_spin.os_drawn)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	output_spin.os_drawn = false;
}
