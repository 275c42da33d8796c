/*
 * page.c - paging, the same for every list: ?limit= (default 100, at
 * most 1,000), ?sort= (a few fields per list; the first is the default),
 * ?after= (an opaque cursor) and the list's filters; the next page is
 * named by a Link header (RFC 8288) rel="next", absent on the last page.
 * The reply keeps its shape ({"vms": [...]}).  No total count: it would
 * cost a count of the whole table on every page and be stale the moment
 * it is read.
 *
 * The cursor is keyset pagination, not an offset: it holds the sort
 * field's value and the id of the last item shown, and the next page
 * starts strictly after that pair, so items made or deleted meanwhile
 * never shift the pages (every item that exists throughout the walk is
 * shown exactly once).  It is base64url of "1" NUL sort NUL key NUL id;
 * one made for another sort is refused.
 *
 * Which lists there are, their sorts and filters: page_lists[] (a list
 * is found by its route's pattern).  Most lists are small and bounded
 * (hosts, networks, a VM's snapshots): their handler reads them whole and
 * page_apply() cuts the page out of the reply, in memory.  The big ones
 * (VMs, operations) page in SQL themselves (page_next(), r->paged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

static const char *page_disk_key(json_t *item, char *buf, size_t len);
static const char *page_nic_key(json_t *item, char *buf, size_t len);

/* A list's sorts: by a member, ascending or newest first, or by a key
 * made from the item */
#define PAGE_BY(name, member) { name, member, false, NULL }
#define PAGE_NEWEST(name, member) { name, member, true, NULL }
#define PAGE_KEYED(name, fn) { name, NULL, false, fn }
#define PAGE_NAME_CREATED \
	{ PAGE_BY("name", "name"), PAGE_BY("created", "created_at") }

static const struct page_list page_lists[] = {
	{ "/v1/vms", "vms", "id", PAGE_NAME_CREATED,
	    { "host", "state", "image", "network", "group" } },
	{ "/v1/operations", "operations", "id",
	    { PAGE_NEWEST("created", "created_at") }, { "vm", "status" } },
	{ "/v1/hosts", "hosts", "name", PAGE_NAME_CREATED,
	    { "state", "label" } },
	{ "/v1/groups", "groups", "name", PAGE_NAME_CREATED, { "policy" } },
	{ "/v1/networks", "networks", "name", PAGE_NAME_CREATED, { "mode" } },
	{ "/v1/environments", "environments", "name", PAGE_NAME_CREATED,
	    { "state" } },
	{ "/v1/images", "images", "name", PAGE_NAME_CREATED,
	    { "state", "os" } },
	{ "/v1/tokens", "tokens", "name", PAGE_NAME_CREATED, { "role" } },
	{ "/v1/vms/*/disks", "disks", "dev",
	    { PAGE_KEYED("boot", page_disk_key) }, { "image" } },
	{ "/v1/vms/*/nics", "nics", "dev",
	    { PAGE_KEYED("dev", page_nic_key) }, { "network" } },
	{ "/v1/vms/*/snapshots", "snapshots", "name",
	    { PAGE_BY("created", "created_at"), PAGE_BY("name", "name") },
	    { "status" } },
	{ "/v1/vms/*/backups", "backups", "id",
	    { PAGE_BY("created", "created_at") }, { "mode", "status" } },
};

const struct page_list *
page_list_find(const struct route *rt)
{
	if (strcmp(rt->method, "GET") != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(page_lists) / sizeof(page_lists[0]); i++)
		if (strcmp(page_lists[i].pattern, rt->pattern) == 0)
			return &page_lists[i];
	return NULL;
}

/* --- the cursor --- */

static const char page_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
page_cursor_encode(const char *sort, const char *key, const char *id,
    char *out, size_t len)
{
	unsigned char raw[PAGE_CURSOR_RAW];
	size_t n = 0, o = 0, ls = strlen(sort), lk = strlen(key),
	    li = strlen(id);

	if (3 + ls + lk + li + 1 > sizeof(raw))
		return -1;
	raw[n++] = '1';
	raw[n++] = '\0';
	memcpy(raw + n, sort, ls + 1);
	n += ls + 1;
	memcpy(raw + n, key, lk + 1);
	n += lk + 1;
	memcpy(raw + n, id, li);
	n += li;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 |
		    (i + 1 < n ? (unsigned)raw[i + 1] << 8 : 0) |
		    (i + 2 < n ? raw[i + 2] : 0);
		size_t k = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;

		if (o + k >= len)
			return -1;
		for (size_t j = 0; j < k; j++)
			out[o++] = page_b64[(v >> (18 - 6 * j)) & 63];
	}
	out[o] = '\0';
	return 0;
}

/* base64url text (no padding) into raw; its length, or -1. */
static long
page_b64_decode(const char *text, unsigned char *raw, size_t len)
{
	size_t tl = strlen(text), n = 0;
	unsigned v = 0;
	int bits = 0;

	if (tl % 4 == 1 || tl > PAGE_CURSOR_TEXT)
		return -1;
	for (size_t i = 0; i < tl; i++) {
		const char *p = text[i] ? strchr(page_b64, text[i]) : NULL;

		if (p == NULL)
			return -1;
		v = (v << 6 | (unsigned)(p - page_b64)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == len)
				return -1;
			raw[n++] = (unsigned char)(v >> bits);
		}
	}
	/* the bits left over must be zero (one text per cursor) */
	if ((v & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)n;
}

int
page_cursor_decode(const char *text, char *sort, size_t slen, char *key,
    size_t klen, char *id, size_t ilen)
{
	unsigned char raw[PAGE_CURSOR_RAW + 1];
	char *f[4];
	long n = page_b64_decode(text, raw, sizeof(raw) - 1);
	int k = 1;

	if (n < 0)
		return -1;
	raw[n] = '\0';
	/* exactly four fields: three NULs between them, none after */
	f[0] = (char *)raw;
	for (long i = 0; i < n; i++) {
		if (raw[i] != '\0')
			continue;
		if (k == 4)
			return -1;
		f[k++] = (char *)raw + i + 1;
	}
	if (k != 4 || strcmp(f[0], "1") != 0 ||
	    strlen(f[1]) >= slen || strlen(f[2]) >= klen ||
	    strlen(f[3]) >= ilen || f[3][0] == '\0')
		return -1;
	strcpy(sort, f[1]);
	strcpy(key, f[2]);
	strcpy(id, f[3]);
	return 0;
}

/* --- the request's page --- */

/* "name, created" into buf. */
static const char *
page_sort_names(const struct page_list *pl, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < PAGE_SORTS_MAX && pl->sorts[i].name; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
		    pl->sorts[i].name);

		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	return buf;
}

int
page_begin(struct req *r, const struct page_list *pl, struct page *pg)
{
	const char *sort = req_query(r, "sort"), *after = req_query(r, "after");
	char names[128], csort[PAGE_KEY_MAX];

	memset(pg, 0, sizeof(*pg));
	pg->list = pl;
	if (req_query_int(r, "limit", 1, PAGE_MAX, PAGE_DEFAULT,
	    &pg->limit) < 0)
		return -1;
	pg->sort = &pl->sorts[0];
	if (sort != NULL) {
		pg->sort = NULL;
		for (size_t i = 0; i < PAGE_SORTS_MAX && pl->sorts[i].name; i++)
			if (strcmp(pl->sorts[i].name, sort) == 0)
				pg->sort = &pl->sorts[i];
		if (pg->sort == NULL)
			return err_set_field(ERR_INVALID, "sort", "sort must be "
			    "one of %s", page_sort_names(pl, names,
			    sizeof(names)));
	}
	if (after == NULL)
		return 0;
	if (page_cursor_decode(after, csort, sizeof(csort), pg->key,
	    sizeof(pg->key), pg->id, sizeof(pg->id)) < 0)
		return err_set_field(ERR_INVALID, "after", "after must be a "
		    "cursor from a Link header of this list");
	if (strcmp(csort, pg->sort->name) != 0)
		return err_set_field(ERR_INVALID, "after", "the cursor in after "
		    "was made for sort=%s, not sort=%s", csort,
		    pg->sort->name);
	pg->after = true;
	return 0;
}

/* --- the Link of the next page --- */

struct page_query {
	char *buf;
	size_t len, off;
	bool failed;
};

/* Append s, percent-encoded as a query's key or value. */
static void
page_put_encoded(struct page_query *q, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s && !q->failed; s++) {
		unsigned char ch = (unsigned char)*s;

		if (q->off + 4 >= q->len) {
			q->failed = true;
			return;
		}
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			q->buf[q->off++] = (char)ch;
		} else {
			q->buf[q->off++] = '%';
			q->buf[q->off++] = hex[ch >> 4];
			q->buf[q->off++] = hex[ch & 15];
		}
	}
	q->buf[q->off] = '\0';
}

/* libmicrohttpd's walk of the query: every argument but after. */
static enum MHD_Result
page_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct page_query *q = cls;

	(void)kind;
	if (strcmp(key, "after") == 0)
		return MHD_YES;
	if (q->off + 1 < q->len)
		q->buf[q->off++] = '&';
	page_put_encoded(q, key);
	if (value != NULL) {
		if (q->off + 1 < q->len)
			q->buf[q->off++] = '=';
		page_put_encoded(q, value);
	}
	return MHD_YES;
}

int
page_next(struct req *r, const struct page *pg, const char *key,
    const char *id)
{
	char cursor[PAGE_CURSOR_TEXT + 1], query[4096];
	struct page_query q = { query, sizeof(query), 0, false };

	query[0] = '\0';
	if (page_cursor_encode(pg->sort->name, key, id, cursor,
	    sizeof(cursor)) < 0)
		return err_set(ERR_INTERNAL, "the cursor of the next page is "
		    "too long");
	if (r->conn)
		MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND,
		    page_query_arg, &q);
	if (q.failed)
		return err_set(ERR_INVALID, "the query is too long to name the "
		    "next page");
	free(r->link);
	if (asprintf(&r->link, "<%s?%s%safter=%s>; rel=\"next\"", r->path,
	    query + (query[0] == '&'), query[0] ? "&" : "", cursor) < 0) {
		r->link = NULL;
		return err_set(ERR_INTERNAL, "out of memory");
	}
	return 0;
}

/* --- a whole list cut into its page, in memory --- */

struct page_item {
	json_t *item;
	const char *key, *id;    /* key NULL: it is buf (qsort moves it) */
	char buf[64];            /* the key, when the sort makes it */
};

static const char *
page_item_key(const struct page_item *x)
{
	return x->key ? x->key : x->buf;
}

/* A member as sort text ("" for null or not a string). */
static const char *
page_text(json_t *item, const char *member)
{
	const char *s = json_string_value(json_object_get(item, member));

	return s ? s : "";
}

/* A device name in the order the store keeps them: vdb before vdaa. */
static void
page_dev_key(json_t *item, char *buf, size_t len, size_t off)
{
	const char *dev = page_text(item, "dev");

	snprintf(buf + off, len - off, "%04zu%s", strlen(dev), dev);
}

/* A VM's disks as the store lists them: by boot order (none last), then
 * by device name. */
static const char *
page_disk_key(json_t *item, char *buf, size_t len)
{
	json_int_t boot = json_integer_value(json_object_get(item,
	    "boot_order"));
	int w = snprintf(buf, len, "%d%010lld", boot <= 0,
	    (long long)(boot > 0 ? boot : 0));

	page_dev_key(item, buf, len, w > 0 ? (size_t)w : 0);
	return buf;
}

static const char *
page_nic_key(json_t *item, char *buf, size_t len)
{
	page_dev_key(item, buf, len, 0);
	return buf;
}

int
page_compare(const char *ka, const char *ia, const char *kb, const char *ib)
{
	int c = strcmp(ka, kb);

	return c ? c : strcmp(ia, ib);
}

static int
page_item_cmp(const void *a, const void *b, void *desc)
{
	const struct page_item *x = a, *y = b;
	int c = page_compare(page_item_key(x), x->id, page_item_key(y),
	    y->id);

	return *(const bool *)desc ? -c : c;
}

/* Does item pass the request's filters? ("label" is key=value). */
static bool
page_keep(struct req *r, const struct page_list *pl, json_t *item)
{
	for (size_t i = 0; i < PAGE_FILTERS_MAX && pl->filters[i]; i++) {
		const char *f = pl->filters[i], *want = req_query(r, f), *eq;
		json_t *labels;

		if (want == NULL)
			continue;
		if (strcmp(f, "label") != 0) {
			if (strcmp(page_text(item, f), want) != 0)
				return false;
			continue;
		}
		labels = json_object_get(item, "labels");
		if ((eq = strchr(want, '=')) == NULL) {
			if (json_object_get(labels, want) == NULL)
				return false;
		} else {
			char k[128];

			snprintf(k, sizeof(k), "%.*s", (int)(eq - want), want);
			if (strcmp(page_text(labels, k), eq + 1) != 0)
				return false;
		}
	}
	return true;
}

int
page_apply(struct req *r, const struct page *pg)
{
	const struct page_list *pl = pg->list;
	json_t *arr = json_object_get(r->reply, pl->items), *out;
	struct page_item *it;
	size_t n = 0, k = 0, i;
	bool desc = pg->sort->desc;
	int rc = 0;

	if (!json_is_array(arr))
		return 0;
	if ((it = calloc(json_array_size(arr) + 1, sizeof(*it))) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *item = json_array_get(arr, i);

		if (!page_keep(r, pl, item))
			continue;
		it[n].item = item;
		if (pg->sort->key)
			pg->sort->key(item, it[n].buf, sizeof(it[n].buf));
		else
			it[n].key = page_text(item, pg->sort->member);
		it[n++].id = page_text(item, pl->id);
	}
	qsort_r(it, n, sizeof(*it), page_item_cmp, &desc);
	/* the first item after the cursor */
	i = 0;
	if (pg->after)
		while (i < n && (page_compare(page_item_key(&it[i]), it[i].id,
		    pg->key, pg->id) * (desc ? -1 : 1)) <= 0)
			i++;
	out = json_array();
	for (; i < n && k < (size_t)pg->limit; i++, k++)
		json_array_append(out, it[i].item);
	if (i < n && k > 0)
		rc = page_next(r, pg, page_item_key(&it[i - 1]),
		    it[i - 1].id);
	json_object_set_new(r->reply, pl->items, out);
	free(it);
	return rc;
}
