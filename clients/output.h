/*
 * output.h - how the hangar client prints what the server sent.
 *
 * `-o json` prints the server's JSON as it came, indented by two, and
 * `-o yaml` the same data as YAML (yaml.c); `-o table` prints lists as
 * aligned columns (described by a table of output_col) and single objects
 * as `key: value` lines, nested objects flattened to `parent.key: value`;
 * `-o wide` is the table with the more columns columns_wide[] gives it
 * (group, firmware, creation time...).  `hangar events` prints each event as it
 * comes, as a line of fixed-width columns, one compact JSON line or one
 * YAML document (output_event()).
 * The spinner (one per process) shows a running operation on stderr when
 * stderr is a terminal; cli_warnx() clears it before it prints, so
 * messages never land on the progress line.  migration.c prints what is
 * particular to moving VMs: an operation with its progress, a migration's
 * dry run, the moves of a drain or a plan, a plan, and the progress bar of
 * a running migration.
 */
#ifndef HANGAR_OUTPUT_H
#define HANGAR_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#define OUTPUT_CELL_MAX 4096	/* a longer value is cut and ends in "..." */

/* -o: table (the default), wide (a table with more columns), json, yaml */
enum output_format { OUTPUT_TABLE, OUTPUT_WIDE, OUTPUT_JSON, OUTPUT_YAML };

/* Whether format prints the server's data whole (json, yaml). */
#define OUTPUT_DATA(f) ((f) == OUTPUT_JSON || (f) == OUTPUT_YAML)

enum output_unit {
	OUTPUT_TEXT,		/* the value as it is */
	OUTPUT_MIB,		/* an integer count of MiB: "512MiB" */
	OUTPUT_GIB,		/* an integer count of GiB: "10GiB" */
	OUTPUT_FREE_CAP,	/* {"free":1,"capacity":4,...}: "1/4" */
	OUTPUT_LABELS,		/* {"rack":"a","zone":"b"}: "rack=a,zone=b" */
	OUTPUT_PASS,		/* a check's boolean: "pass" or "FAIL" */
	/* These read the whole row (give them a NULL key): */
	OUTPUT_CHOSEN,		/* a VERDICT's name, "* " before the chosen */
	OUTPUT_VERDICT,		/* a VERDICT: "fits", or "no:" and its filter */
	OUTPUT_OP_TARGET	/* an OPERATION's vm, else its host (a drain) */
};

/*
 * One column of a table: its heading, the member it shows (a dotted path
 * such as "resources.vcpus" reaches into nested objects; NULL is the row
 * itself), its unit.
 */
struct output_col {
	const char		*oc_head;
	const char		*oc_key;
	enum output_unit	 oc_unit;
};

/* -o wide: the columns a list's table (oc_base) shows after its own. */
struct output_wide {
	const struct output_col	*ow_base;
	const struct output_col	*ow_more;
	size_t			 ow_nmore;
};

int	 output_parse_format(const char *, enum output_format *);
void	 output_cell(const json_t *, enum output_unit, char *, size_t);
int	 output_json(FILE *, const json_t *);
int	 output_data(FILE *, enum output_format, const json_t *);
int	 output_table(FILE *, const json_t *, const struct output_col *,
	    size_t);
int	 output_table_as(FILE *, enum output_format, const json_t *,
	    const struct output_col *, size_t);
int	 output_show(FILE *, const json_t *);
int	 output_object(FILE *, enum output_format, const json_t *);
int	 output_list(FILE *, enum output_format, const json_t *, const char *,
	    const struct output_col *, size_t);
int	 output_detail(FILE *, enum output_format, const json_t *, const char *,
	    const struct output_col *, size_t);
int	 output_placement(FILE *, enum output_format, const json_t *,
	    const struct output_col *, size_t);
void	 output_event_detail(const json_t *, char *, size_t);
int	 output_event(FILE *, enum output_format, const json_t *, bool *);

/* migration.c */
int	 output_operation(FILE *, enum output_format, const json_t *);
int	 output_checks(FILE *, enum output_format, const json_t *);
int	 output_moves(FILE *, enum output_format, const json_t *);
int	 output_plan(FILE *, enum output_format, const json_t *);
bool	 output_migrate_line(const json_t *, char *, size_t);

void	 output_sanitize(char *);
void	 output_spin_draw(bool, const char *);
void	 output_spin_clear(void);

#endif
