/*
 * lv_stats.c - the libvirt backend's domain statistics for metrics: one
 * virConnectGetAllDomainStats() call per host gives the state, CPU time,
 * balloon, disk and interface counters of every domain, each record's
 * typed parameters read in one pass into a struct domain_stats.
 *
 * VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT: a domain whose job lock is
 * held (a migration, a backup) gives what is at hand instead of making
 * the whole call wait.  A driver that does not know the flag (libvirt's
 * test driver) is asked again without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "../common/error.h"
#include "lv_int.h"

#define LV_STATS_GROUPS (VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | \
	VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_BLOCK | \
	VIR_DOMAIN_STATS_INTERFACE)

/* A counter's value, whatever its integer type; -1 when not a number. */
static int64_t
lv_stats_num(const virTypedParameter *p)
{
	switch (p->type) {
	case VIR_TYPED_PARAM_INT:
		return p->value.i;
	case VIR_TYPED_PARAM_UINT:
		return p->value.ui;
	case VIR_TYPED_PARAM_LLONG:
		return p->value.l;
	case VIR_TYPED_PARAM_ULLONG:
		return p->value.ul > INT64_MAX ? INT64_MAX :
		    (int64_t)p->value.ul;
	default:
		return -1;
	}
}

/*
 * "block.N.rd.bytes" / "net.N.rx.pkts" / "block.N.name": the device of
 * index N in devs[] (*n grown to cover it) and the rest of the name, or
 * NULL when N is out of range.
 */
static struct domain_stats_dev *
lv_stats_dev(const char *field, struct domain_stats_dev *devs, int *n,
    const char **rest)
{
	char *end;
	long i = strtol(field, &end, 10);

	if (end == field || *end != '.' || i < 0 || i >= DOMAIN_STATS_DEVS)
		return NULL;
	if (i >= *n) {
		for (int k = *n; k <= i; k++) {
			devs[k].rd_bytes = devs[k].wr_bytes = -1;
			devs[k].rd_ops = devs[k].wr_ops = -1;
		}
		*n = (int)i + 1;
	}
	*rest = end + 1;
	return &devs[i];
}

/* One "block.*" or "net.*" parameter; rd/wr are "rd"/"wr" or "rx"/"tx". */
static void
lv_stats_devfield(const virTypedParameter *p, const char *field,
    struct domain_stats_dev *devs, int *n, const char *rd, const char *wr,
    const char *ops)
{
	struct domain_stats_dev *d;
	const char *rest;
	size_t l = strlen(rd);
	int64_t v;

	if ((d = lv_stats_dev(field, devs, n, &rest)) == NULL)
		return;
	if (strcmp(rest, "name") == 0) {
		if (p->type == VIR_TYPED_PARAM_STRING && p->value.s)
			snprintf(d->name, sizeof(d->name), "%s", p->value.s);
		return;
	}
	v = lv_stats_num(p);
	if (strncmp(rest, rd, l) == 0 && rest[l] == '.') {
		if (strcmp(rest + l + 1, "bytes") == 0)
			d->rd_bytes = v;
		else if (strcmp(rest + l + 1, ops) == 0)
			d->rd_ops = v;
	} else if (strncmp(rest, wr, l) == 0 && rest[l] == '.') {
		if (strcmp(rest + l + 1, "bytes") == 0)
			d->wr_bytes = v;
		else if (strcmp(rest + l + 1, ops) == 0)
			d->wr_ops = v;
	}
}

/* One domain's record into out. */
static void
lv_stats_record(const virDomainStatsRecord *rec, struct domain_stats *out)
{
	int64_t cur = -1, avail = -1, unused = -1, rss = -1;
	int state = -1, reason = 0;

	memset(out, 0, sizeof(*out));
	out->cpu_ns = -1;
	if (virDomainGetUUIDString(rec->dom, out->uuid) < 0)
		out->uuid[0] = '\0';
	for (int i = 0; i < rec->nparams; i++) {
		const virTypedParameter *p = &rec->params[i];
		const char *f = p->field;

		if (strncmp(f, "block.", 6) == 0)
			lv_stats_devfield(p, f + 6, out->disks, &out->ndisks,
			    "rd", "wr", "reqs");
		else if (strncmp(f, "net.", 4) == 0)
			lv_stats_devfield(p, f + 4, out->nics, &out->nnics,
			    "rx", "tx", "pkts");
		else if (strcmp(f, "state.state") == 0)
			state = (int)lv_stats_num(p);
		else if (strcmp(f, "state.reason") == 0)
			reason = (int)lv_stats_num(p);
		else if (strcmp(f, "cpu.time") == 0)
			out->cpu_ns = lv_stats_num(p);
		else if (strcmp(f, "balloon.current") == 0)
			cur = lv_stats_num(p);
		else if (strcmp(f, "balloon.available") == 0)
			avail = lv_stats_num(p);
		else if (strcmp(f, "balloon.unused") == 0)
			unused = lv_stats_num(p);
		else if (strcmp(f, "balloon.rss") == 0)
			rss = lv_stats_num(p);
	}
	out->state = lv_state_map(state, reason);
	out->mem_available_kib = avail >= 0 ? avail : cur;
	out->mem_used_kib = avail >= 0 && unused >= 0 ? avail - unused : rss;
}

int
lv_domain_stats(struct backend_conn *bc, backend_stats_fn fn, void *arg)
{
	virConnectPtr c = lv_get(bc);
	virDomainStatsRecordPtr *recs = NULL;
	struct domain_stats *ds;
	int n, r = 0;

	if (c == NULL)
		return -1;
	n = virConnectGetAllDomainStats(c, LV_STATS_GROUPS, &recs,
	    VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
	if (n < 0) {
		virErrorPtr e = virGetLastError();

		if (e && (e->code == VIR_ERR_INVALID_ARG ||
		    e->code == VIR_ERR_NO_SUPPORT))
			n = virConnectGetAllDomainStats(c, LV_STATS_GROUPS,
			    &recs, 0);
	}
	if (n < 0) {
		virConnectClose(c);
		return lv_fail("read the domains' statistics");
	}
	if ((ds = malloc(sizeof(*ds))) == NULL) {
		r = err_set(ERR_INTERNAL, "out of memory");
		n = 0;
	}
	for (int i = 0; i < n && r == 0; i++) {
		lv_stats_record(recs[i], ds);
		if (ds->uuid[0] && fn(ds, arg) != 0)
			r = -1;
	}
	free(ds);
	virDomainStatsRecordListFree(recs);
	virConnectClose(c);
	return r;
}
