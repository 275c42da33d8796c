/*
 * migration.c - how the client prints what moving VMs is about: an
 * operation with its progress (`hangar op show`), a migration's dry run
 * (`hangar vm migrate --check`), the moves of a drain or a plan once it
 * has ended, a plan, and the progress bar of a running migration.
 *
 * Like output.c it only prints, and talks to no one, so
 * tests/unit/test_cli_output.c renders these very functions against
 * tests/golden/cli/.  With -o json each prints the server's JSON as it
 * came; what follows is the table form.
 *
 *	CHECK          RESULT   REASON          a dry run: its checks, then
 *	state          pass     vm 'web1' is... the destination and the mode
 *	cpu            FAIL     ...             (and how many checks failed)
 *	chosen: h2 (live, disk copied); 1 check failed
 *
 *	VM     TO   STATUS      ERROR           a drain's or a plan's moves
 *	web1   h2   succeeded                   (from its operation's
 *	db1    -    failed      no host ...      "progress"), then the counts
 *	moved 1, failed 1, stayed 2
 *
 *	migrating to h2 [#######.....] 58% 39/67 MiB, pass 2     the bar
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hangar.h"

#define MIGRATION_BAR 12		/* the bar's width in characters */
#define MIGRATION_MIB 1048576LL

/* A string member of obj, or NULL if it is missing, not a string or "". */
static const char *
migration_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL && *s != '\0' ? s : NULL;
}

/* An integer member of obj, or -1 if it is missing or not an integer. */
static json_int_t
migration_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/*
 * Print an OPERATION as `hangar op show` does: `key: value` lines, as
 * output_show() prints any object, but "host" and "parent" only when
 * set, "progress" only when it says something, and its "moves" (a drain's
 * or a plan's) after a blank line as a table (columns_move) rather than
 * as one line of JSON.  Example, a drain:
 *	id: ...
 *	kind: drain
 *	vm: -
 *	host: h1
 *	...
 *	progress.total: 2
 *	progress.moved: 1
 *	...
 *
 *	VM     TO   STATUS      ERROR
 *	web1   h2   succeeded
 */
int
output_operation(FILE *fp, enum output_format format, const json_t *op)
{
	const json_t *progress, *moves;
	json_t *rest, *p;
	int rc;

	if (OUTPUT_DATA(format) || !json_is_object(op))
		return output_object(fp, format, op);
	if ((rest = json_copy((json_t *)(uintptr_t)op)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	if (json_is_null(json_object_get(rest, "host")))
		json_object_del(rest, "host");
	if (json_is_null(json_object_get(rest, "parent")))
		json_object_del(rest, "parent");
	progress = json_object_get(op, "progress");
	moves = json_object_get(progress, "moves");
	if (json_is_array(moves) && json_is_object(progress)) {
		/* A copy: the operation itself stays as it was. */
		if ((p = json_copy((json_t *)(uintptr_t)progress)) == NULL ||
		    json_object_del(p, "moves") == -1 ||
		    json_object_set_new(rest, "progress", p) == -1) {
			json_decref(rest);
			return cli_fail(CLI_ERROR, "out of memory");
		}
		progress = p;
	}
	if (json_is_null(progress) || (json_is_object(progress) &&
	    json_object_size(progress) == 0))
		json_object_del(rest, "progress");
	rc = output_show(fp, rest);
	json_decref(rest);
	if (rc == 0 && json_is_array(moves) && json_array_size(moves) > 0) {
		fputc('\n', fp);
		rc = output_table(fp, moves, columns_move, columns_nmove);
	}
	return rc;
}

/*
 * Print a migration's dry run ({"ok","vm","from","host","mode",
 * "copy_storage","checks":[{"name","pass","reason"},...]}): the checks as
 * a table, then `chosen: HOST (MODE, disk copied|disk not copied)` or
 * `chosen: none`, and how many checks failed, if any.  Returns 0 once
 * printed, whether the move can be made or not; the caller decides what
 * that means (the reply's "ok").
 */
int
output_checks(FILE *fp, enum output_format format, const json_t *reply)
{
	const json_t *checks = json_object_get(reply, "checks"), *c, *host;
	const json_t *copy = json_object_get(reply, "copy_storage");
	char name[OUTPUT_CELL_MAX], mode[64];
	size_t i, failed = 0;

	if (OUTPUT_DATA(format))
		return output_data(fp, format, reply);
	if (output_list(fp, format, reply, "checks", columns_check,
	    columns_ncheck) == -1)
		return -1;
	json_array_foreach(checks, i, c)
		if (!json_is_true(json_object_get(c, "pass")))
			failed++;
	host = json_object_get(reply, "host");
	if (json_is_string(host)) {
		output_cell(host, OUTPUT_TEXT, name, sizeof(name));
		output_cell(json_object_get(reply, "mode"), OUTPUT_TEXT, mode,
		    sizeof(mode));
		fprintf(fp, "chosen: %s (%s, %s)", name, mode,
		    json_is_true(copy) ? "disk copied" : json_is_false(copy) ?
		    "disk not copied" : "storage unknown");
	} else {
		fprintf(fp, "chosen: none");
	}
	if (failed > 0)
		fprintf(fp, "; %zu check%s failed", failed,
		    failed == 1 ? "" : "s");
	fputc('\n', fp);
	return 0;
}

/*
 * Print what a drain or a plan's execution did, from its finished
 * OPERATION: its "progress" moves as a table (columns_move; none, no
 * table), then `moved N, failed N` and, for a drain, `, stayed N`.  With
 * -o json, the operation.
 */
int
output_moves(FILE *fp, enum output_format format, const json_t *op)
{
	const json_t *progress = json_object_get(op, "progress");
	const json_t *moves = json_object_get(progress, "moves");
	json_int_t stayed = migration_int(progress, "stayed");

	if (OUTPUT_DATA(format))
		return output_data(fp, format, op);
	if (json_is_array(moves) && json_array_size(moves) > 0 &&
	    output_table(fp, moves, columns_move, columns_nmove) == -1)
		return -1;
	if (migration_int(progress, "moved") < 0)
		return 0;	/* it ended before it counted anything */
	fprintf(fp, "moved %" JSON_INTEGER_FORMAT ", failed %"
	    JSON_INTEGER_FORMAT, migration_int(progress, "moved"),
	    migration_int(progress, "failed") > 0 ?
	    migration_int(progress, "failed") : 0);
	if (stayed >= 0)
		fprintf(fp, ", stayed %" JSON_INTEGER_FORMAT, stayed);
	fputc('\n', fp);
	return 0;
}

/* "mean 40.5% max 70.0%" of a P ({"mean_pct","max_pct",...}), or "-". */
static void
migration_use(const json_t *p, char *buf, size_t len)
{
	const json_t *mean = json_object_get(p, "mean_pct");
	const json_t *max = json_object_get(p, "max_pct");

	/* + 0.0: a -0.0 shows as 0.0 */
	if (!json_is_number(mean) || !json_is_number(max))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "mean %.1f%% max %.1f%%",
		    json_number_value(mean) + 0.0,
		    json_number_value(max) + 0.0);
}

/*
 * Print a PLAN: its other members as `key: value` lines (id, kind, ...),
 * a blank line, its moves as a table (columns_plan_move) or `no moves`,
 * then a blank line, the hosts it frees and the utilisation before ->
 * after: hosts in use, then memory and vCPUs as the mean and the highest
 * share of capacity used per host.  Example:
 *	id: 5b0c...
 *	kind: consolidation
 *	...
 *
 *	VM     FROM    TO      MODE
 *	web2   small   local   live
 *
 *	freed hosts: small
 *	hosts in use: 3 -> 2
 *	memory: mean 10.5% max 19.2% -> mean 15.8% max 20.1%
 *	vcpus: mean 20.0% max 42.9% -> mean 30.0% max 50.0%
 */
int
output_plan(FILE *fp, enum output_format format, const json_t *plan)
{
	static const char *const uses[] = { "memory", "vcpus" };
	const json_t *moves = json_object_get(plan, "moves");
	const json_t *freed = json_object_get(plan, "freed_hosts"), *h;
	const json_t *util = json_object_get(plan, "utilisation");
	const json_t *before = json_object_get(util, "before");
	const json_t *after = json_object_get(util, "after");
	char a[OUTPUT_CELL_MAX], b[OUTPUT_CELL_MAX];
	json_t *rest;
	size_t i;
	int rc;

	if (OUTPUT_DATA(format) || !json_is_object(plan))
		return output_object(fp, format, plan);
	if ((rest = json_copy((json_t *)(uintptr_t)plan)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	json_object_del(rest, "moves");
	json_object_del(rest, "freed_hosts");
	json_object_del(rest, "utilisation");
	rc = output_show(fp, rest);
	json_decref(rest);
	if (rc == -1)
		return -1;

	fputc('\n', fp);
	if (json_array_size(moves) > 0) {
		if (output_table(fp, moves, columns_plan_move,
		    columns_nplan_move) == -1)
			return -1;
	} else {
		fprintf(fp, "no moves\n");
	}
	fputc('\n', fp);

	fprintf(fp, "freed hosts: ");
	if (json_array_size(freed) == 0)
		fprintf(fp, "none");
	json_array_foreach(freed, i, h) {
		output_cell(h, OUTPUT_TEXT, a, sizeof(a));
		fprintf(fp, "%s%s", i > 0 ? ", " : "", a);
	}
	fputc('\n', fp);
	output_cell(json_object_get(before, "hosts_in_use"), OUTPUT_TEXT, a,
	    sizeof(a));
	output_cell(json_object_get(after, "hosts_in_use"), OUTPUT_TEXT, b,
	    sizeof(b));
	fprintf(fp, "hosts in use: %s -> %s\n", a, b);
	for (i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
		migration_use(json_object_get(before, uses[i]), a, sizeof(a));
		migration_use(json_object_get(after, uses[i]), b, sizeof(b));
		fprintf(fp, "%s: %s -> %s\n", uses[i], a, b);
	}
	return 0;
}

/*
 * Write the progress line of a running migration into buf, from its
 * OPERATION's "progress" (libvirt's job statistics) and "params" (the
 * destination):
 *	migrating to h2 [#######.....] 58% 39/67 MiB, pass 2, downtime 30 ms
 * The pass (libvirt's iteration over the memory) and the downtime (the
 * expected one while it runs) only when known, ", post-copy" once it has
 * switched.  Returns false, and writes nothing, if op is not a migration
 * or has not counted any data yet (the caller shows its status instead).
 */
bool
output_migrate_line(const json_t *op, char *buf, size_t len)
{
	const json_t *progress = json_object_get(op, "progress");
	const char *kind = migration_str(op, "kind");
	json_int_t total = migration_int(progress, "data_total");
	json_int_t done = migration_int(progress, "data_processed");
	json_int_t pass = migration_int(progress, "iteration");
	json_int_t down = migration_int(progress, "downtime_ms");
	const json_t *to = json_object_get(json_object_get(op, "params"),
	    "to");
	char dest[128], bar[MIGRATION_BAR + 1], more[128];
	long long pct, fill;
	size_t n;

	if (len == 0 || kind == NULL || strcmp(kind, "migrate") != 0 ||
	    total <= 0 || done < 0)
		return false;
	if (done > total)
		done = total;
	/* Exact in 64 bits up to 2^63 / 200 bytes: some 40 PiB. */
	pct = (long long)(done * 100 / total);
	fill = (long long)((done * MIGRATION_BAR * 2 + total) / (total * 2));
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(MIGRATION_BAR - fill));
	bar[MIGRATION_BAR] = '\0';
	dest[0] = '\0';
	if (json_is_string(to)) {
		memcpy(dest, " to ", 5);
		output_cell(to, OUTPUT_TEXT, dest + 4, sizeof(dest) - 4);
	}
	more[0] = '\0';
	n = 0;
	if (pass > 0)
		n += (size_t)snprintf(more + n, sizeof(more) - n, ", pass %"
		    JSON_INTEGER_FORMAT, pass);
	if (down > 0 && n < sizeof(more))
		n += (size_t)snprintf(more + n, sizeof(more) - n,
		    ", downtime %" JSON_INTEGER_FORMAT " ms", down);
	if (json_is_true(json_object_get(progress, "postcopy")) &&
	    n < sizeof(more))
		snprintf(more + n, sizeof(more) - n, ", post-copy");
	/* Truncation only shortens the progress line. */
	snprintf(buf, len, "migrating%s [%s] %lld%% %lld/%lld MiB%s", dest,
	    bar, pct, (long long)(done / MIGRATION_MIB),
	    (long long)(total / MIGRATION_MIB), more);
	return true;
}
