/*
 * promtext.c - the Prometheus text format writer (promtext.h).
 *
 * Everything is rendered into one growing arena as it is added: each
 * series keeps the offset of its label text (its sort key) and of its
 * lines.  promtext_finish() sorts the families by name and the series by
 * family, label text and the order they came in, and copies the lines
 * out in that order.  A scrape of 1,000 VMs is ~20,000 series: a
 * counting sort by family, a qsort only of a family whose series did not
 * come in order, and one pass of memcpy.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "promtext.h"

struct pt_family {
	const char *key;             /* the caller's name pointer (a quick
	                              * match before strcmp) */
	size_t name, help;           /* arena offsets (NUL-terminated) */
	enum pt_type type;
	size_t rank;                 /* its place once sorted */
};

struct pt_series {
	size_t fam;                  /* index into families */
	size_t labels, labels_len;   /* its label text, the sort key */
	size_t body, body_len;       /* its lines */
	size_t seq;
};

struct promtext {
	char *a;                     /* the arena */
	size_t n, cap;
	struct pt_family *f;
	size_t nf, capf;
	struct pt_series *s;
	size_t ns, caps;
	size_t last;                 /* the family last sampled, a guess */
	int oom;
};

struct promtext *
promtext_new(void)
{
	struct promtext *pt = calloc(1, sizeof(*pt));

	if (pt == NULL)
		err_set(ERR_INTERNAL, "out of memory");
	return pt;
}

void
promtext_free(struct promtext *pt)
{
	if (pt == NULL)
		return;
	free(pt->a);
	free(pt->f);
	free(pt->s);
	free(pt);
}

/* Room for len more bytes in the arena; -1 (remembered) when none. */
static int
pt_room(struct promtext *pt, size_t len)
{
	size_t cap;
	char *a;

	if (pt->oom)
		return -1;
	if (pt->n + len + 1 <= pt->cap)
		return 0;
	cap = pt->cap ? pt->cap : 65536;
	while (cap < pt->n + len + 1)
		cap *= 2;
	if ((a = realloc(pt->a, cap)) == NULL) {
		pt->oom = 1;
		return -1;
	}
	pt->a = a;
	pt->cap = cap;
	return 0;
}

static void
pt_put(struct promtext *pt, const char *p, size_t len)
{
	if (pt_room(pt, len) < 0)
		return;
	memcpy(pt->a + pt->n, p, len);
	pt->n += len;
	pt->a[pt->n] = '\0';
}

static void
pt_puts(struct promtext *pt, const char *p)
{
	pt_put(pt, p, strlen(p));
}

/* p escaped: backslash and newline, and double quote when quote. */
static void
pt_escaped(struct promtext *pt, const char *p, int quote)
{
	size_t run;

	while (*p) {
		run = strcspn(p, quote ? "\\\"\n" : "\\\n");
		pt_put(pt, p, run);
		p += run;
		if (*p == '\0')
			break;
		pt_put(pt, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\", 2);
		p++;
	}
}

void
promtext_value(double v, char buf[32])
{
	if (isnan(v))
		snprintf(buf, 32, "NaN");
	else if (isinf(v))
		snprintf(buf, 32, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15) {
		/* an integer: its digits, without printf's float path */
		unsigned long long u = (unsigned long long)fabs(v);
		char tmp[24];
		int n = 0, k = 0;

		do
			tmp[n++] = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (v < 0)
			buf[k++] = '-';
		while (n > 0)
			buf[k++] = tmp[--n];
		buf[k] = '\0';
	}
	else {
		snprintf(buf, 32, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, 32, "%.17g", v);
	}
}

static void
pt_num(struct promtext *pt, double v)
{
	char buf[32];

	promtext_value(v, buf);
	pt_puts(pt, buf);
}

void
promtext_family(struct promtext *pt, const char *name, enum pt_type type,
    const char *help)
{
	struct pt_family *f;

	if (pt->nf == pt->capf) {
		size_t cap = pt->capf ? pt->capf * 2 : 64;

		if ((f = realloc(pt->f, cap * sizeof(*f))) == NULL) {
			pt->oom = 1;
			return;
		}
		pt->f = f;
		pt->capf = cap;
	}
	f = &pt->f[pt->nf];
	f->key = name;
	f->type = type;
	f->name = pt->n;
	pt_put(pt, name, strlen(name) + 1);
	f->help = pt->n;
	pt_escaped(pt, help, 0);
	pt_put(pt, "", 1);
	if (!pt->oom)
		pt->nf++;
}

/* The index of family name, or -1. */
static long
pt_find(struct promtext *pt, const char *name)
{
	if (pt->last < pt->nf && strcmp(pt->a + pt->f[pt->last].name,
	    name) == 0)
		return (long)pt->last;
	/* callers mostly pass the very string they declared */
	for (size_t i = 0; i < pt->nf; i++)
		if (pt->f[i].key == name) {
			pt->last = i;
			return (long)i;
		}
	for (size_t i = 0; i < pt->nf; i++)
		if (strcmp(pt->a + pt->f[i].name, name) == 0) {
			pt->last = i;
			return (long)i;
		}
	return -1;
}

/* A new series of family name with its label text rendered; NULL when
 * out of memory or the family is unknown. */
static struct pt_series *
pt_series(struct promtext *pt, const char *name, const char *const *labels)
{
	long fam = pt_find(pt, name);
	struct pt_series *s;

	if (fam < 0)
		return NULL;
	if (pt->ns == pt->caps) {
		size_t cap = pt->caps ? pt->caps * 2 : 1024;

		if ((s = realloc(pt->s, cap * sizeof(*s))) == NULL) {
			pt->oom = 1;
			return NULL;
		}
		pt->s = s;
		pt->caps = cap;
	}
	s = &pt->s[pt->ns];
	s->fam = (size_t)fam;
	s->seq = pt->ns;
	s->labels = pt->n;
	for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		if (i)
			pt_put(pt, ",", 1);
		pt_puts(pt, labels[i]);
		pt_put(pt, "=\"", 2);
		pt_escaped(pt, labels[i + 1], 1);
		pt_put(pt, "\"", 1);
	}
	s->labels_len = pt->n - s->labels;
	pt_put(pt, "", 1);
	if (pt->oom)
		return NULL;
	pt->ns++;
	return s;
}

/*
 * One line: name+suffix{labels[,extra]} value.  The name and labels are
 * copied from the arena itself, so room for the whole line is made first:
 * no copy may move the arena under its own source.
 */
static void
pt_line(struct promtext *pt, const struct pt_series *s, const char *suffix,
    const char *extra, double v)
{
	size_t nlen = strlen(pt->a + pt->f[s->fam].name);

	if (pt_room(pt, nlen + strlen(suffix) + s->labels_len +
	    (extra ? strlen(extra) : 0) + 40) < 0)
		return;
	pt_put(pt, pt->a + pt->f[s->fam].name, nlen);
	pt_puts(pt, suffix);
	if (s->labels_len || extra) {
		pt_put(pt, "{", 1);
		pt_put(pt, pt->a + s->labels, s->labels_len);
		if (extra) {
			if (s->labels_len)
				pt_put(pt, ",", 1);
			pt_puts(pt, extra);
		}
		pt_put(pt, "}", 1);
	}
	pt_put(pt, " ", 1);
	pt_num(pt, v);
	pt_put(pt, "\n", 1);
}

void
promtext_sample(struct promtext *pt, const char *name,
    const char *const *labels, double value)
{
	struct pt_series *s = pt_series(pt, name, labels);

	if (s == NULL)
		return;
	s->body = pt->n;
	pt_line(pt, s, "", NULL, value);
	s->body_len = pt->n - s->body;
}

void
promtext_histogram(struct promtext *pt, const char *name,
    const char *const *labels, const double *bounds, const uint64_t *counts,
    size_t n, double sum, uint64_t count)
{
	struct pt_series *s = pt_series(pt, name, labels);
	char le[48], num[32];
	uint64_t cum = 0;

	if (s == NULL)
		return;
	s->body = pt->n;
	for (size_t i = 0; i < n; i++) {
		cum += counts[i];
		promtext_value(bounds[i], num);
		snprintf(le, sizeof(le), "le=\"%s\"", num);
		pt_line(pt, s, "_bucket", le, (double)cum);
	}
	pt_line(pt, s, "_bucket", "le=\"+Inf\"", (double)count);
	pt_line(pt, s, "_sum", NULL, sum);
	pt_line(pt, s, "_count", NULL, (double)count);
	s->body_len = pt->n - s->body;
}

/* qsort's comparator needs the arena: a thread-local pointer carries it
 * (one sort at a time per thread). */
static __thread const struct promtext *pt_sorting;

static int
pt_cmp_series(const void *a, const void *b)
{
	const struct pt_series *x = a, *y = b;
	int c = strcmp(pt_sorting->a + x->labels, pt_sorting->a + y->labels);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *const pt_type_names[] = {
	[PT_GAUGE] = "gauge", [PT_COUNTER] = "counter",
	[PT_HISTOGRAM] = "histogram",
};

/* Families in order of name: their indexes into order[] (insertion
 * sort: there are a few dozen). */
static void
pt_sort_families(struct promtext *pt, size_t *order)
{
	for (size_t i = 0; i < pt->nf; i++) {
		size_t k = i, f = i;

		while (k > 0 && strcmp(pt->a + pt->f[order[k - 1]].name,
		    pt->a + pt->f[f].name) > 0) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = f;
	}
	for (size_t r = 0; r < pt->nf; r++)
		pt->f[order[r]].rank = r;
}

/*
 * The series by family rank (a stable counting sort), then each family's
 * by label text.  Callers mostly add a family's series in label order
 * already (VMs by name): a family found in order is not sorted again.
 * 0, or -1 when out of memory.
 */
static int
pt_sort(struct promtext *pt, size_t *order)
{
	size_t *start = calloc(pt->nf + 1, sizeof(*start));
	struct pt_series *out = malloc((pt->ns + 1) * sizeof(*out));

	if (start == NULL || out == NULL) {
		free(start);
		free(out);
		return -1;
	}
	pt_sort_families(pt, order);
	for (size_t i = 0; i < pt->ns; i++)
		start[pt->f[pt->s[i].fam].rank + 1]++;
	for (size_t r = 0; r < pt->nf; r++)
		start[r + 1] += start[r];
	for (size_t i = 0; i < pt->ns; i++)
		out[start[pt->f[pt->s[i].fam].rank]++] = pt->s[i];
	free(pt->s);
	pt->s = out;
	pt->caps = pt->ns + 1;
	pt_sorting = pt;
	for (size_t i = 0, j; i < pt->ns; i = j) {
		bool sorted = true;

		for (j = i + 1; j < pt->ns && pt->s[j].fam == pt->s[i].fam; j++)
			if (sorted && pt_cmp_series(&pt->s[j - 1],
			    &pt->s[j]) > 0)
				sorted = false;
		if (!sorted)
			qsort(pt->s + i, j - i, sizeof(*pt->s),
			    pt_cmp_series);
	}
	pt_sorting = NULL;
	free(start);
	return 0;
}

char *
promtext_finish(struct promtext *pt, size_t *len)
{
	size_t *order = malloc((pt->nf + 1) * sizeof(*order));
	size_t total = 0, si = 0;
	char *out = NULL, *p;

	if (order == NULL || pt_sort(pt, order) < 0)
		pt->oom = 1;
	for (size_t i = 0; !pt->oom && i < pt->nf; i++)
		total += strlen(pt->a + pt->f[i].name) * 2 +
		    strlen(pt->a + pt->f[i].help) + 32;
	for (size_t i = 0; !pt->oom && i < pt->ns; i++)
		total += pt->s[i].body_len;
	if (!pt->oom && (out = malloc(total + 1)) == NULL)
		pt->oom = 1;
	if (pt->oom) {
		free(order);
		promtext_free(pt);
		err_set(ERR_INTERNAL, "out of memory writing the metrics");
		return NULL;
	}
	p = out;
	for (size_t r = 0; r < pt->nf; r++) {
		const struct pt_family *f = &pt->f[order[r]];
		const char *name = pt->a + f->name;

		p += snprintf(p, total + 1 - (size_t)(p - out),
		    "# HELP %s %s\n# TYPE %s %s\n", name, pt->a + f->help,
		    name, pt_type_names[f->type]);
		for (; si < pt->ns && pt->s[si].fam == order[r]; si++) {
			memcpy(p, pt->a + pt->s[si].body, pt->s[si].body_len);
			p += pt->s[si].body_len;
		}
	}
	*p = '\0';
	*len = (size_t)(p - out);
	free(order);
	promtext_free(pt);
	return out;
}
