/*
 * plan_sets.c - the planner's sets: the ordered set of hosts (a treap
 * whose nodes are the hosts, with the most free vCPUs and disk of each
 * subtree) and the open-addressing table of strict anti-affinity counts.
 * Both are described in plan_int.h; plan.c uses them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan_int.h"

uint64_t
plan_mix(uint64_t x)
{
	/* splitmix64's finaliser */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* --- the ordered set ---------------------------------------------------- */

/* Is host a before host b in the set? */
static bool
plan_tree_less(const struct plan_tree *t, size_t a, size_t b)
{
	if (t->key[a] != t->key[b])
		return t->key[a] < t->key[b];
	return a < b;
}

/* Node x's children changed: recompute its subtree's most free. */
static void
plan_tree_pull(struct plan_tree *t, size_t x)
{
	double v = t->vcpus[x], d = t->disk[x];
	size_t c[2] = { t->left[x], t->right[x] };

	for (int k = 0; k < 2; k++) {
		if (c[k] == PLAN_NIL)
			continue;
		if (t->max_vcpus[c[k]] > v)
			v = t->max_vcpus[c[k]];
		if (t->max_disk[c[k]] > d)
			d = t->max_disk[c[k]];
	}
	t->max_vcpus[x] = v;
	t->max_disk[x] = d;
}

/* Split subtree x into the nodes before node k (*l) and the rest (*r). */
static void
plan_tree_split(struct plan_tree *t, size_t x, size_t k, size_t *l, size_t *r)
{
	if (x == PLAN_NIL) {
		*l = *r = PLAN_NIL;
		return;
	}
	if (plan_tree_less(t, x, k)) {
		plan_tree_split(t, t->right[x], k, &t->right[x], r);
		*l = x;
	} else {
		plan_tree_split(t, t->left[x], k, l, &t->left[x]);
		*r = x;
	}
	plan_tree_pull(t, x);
}

/* Join two subtrees, every node of a before every node of b. */
static size_t
plan_tree_merge(struct plan_tree *t, size_t a, size_t b)
{
	if (a == PLAN_NIL)
		return b;
	if (b == PLAN_NIL)
		return a;
	if (t->pri[a] > t->pri[b]) {
		t->right[a] = plan_tree_merge(t, t->right[a], b);
		plan_tree_pull(t, a);
		return a;
	}
	t->left[b] = plan_tree_merge(t, a, t->left[b]);
	plan_tree_pull(t, b);
	return b;
}

static size_t
plan_tree_insert_at(struct plan_tree *t, size_t x, size_t k)
{
	if (x == PLAN_NIL)
		return k;
	if (t->pri[k] > t->pri[x]) {
		plan_tree_split(t, x, k, &t->left[k], &t->right[k]);
		plan_tree_pull(t, k);
		return k;
	}
	if (plan_tree_less(t, k, x))
		t->left[x] = plan_tree_insert_at(t, t->left[x], k);
	else
		t->right[x] = plan_tree_insert_at(t, t->right[x], k);
	plan_tree_pull(t, x);
	return x;
}

static size_t
plan_tree_erase_at(struct plan_tree *t, size_t x, size_t k)
{
	if (x == k)
		return plan_tree_merge(t, t->left[x], t->right[x]);
	if (plan_tree_less(t, k, x))
		t->left[x] = plan_tree_erase_at(t, t->left[x], k);
	else
		t->right[x] = plan_tree_erase_at(t, t->right[x], k);
	plan_tree_pull(t, x);
	return x;
}

void
plan_tree_insert(struct plan_tree *t, size_t k, double key, double vcpus,
    double disk)
{
	t->key[k] = key;
	t->vcpus[k] = t->max_vcpus[k] = vcpus;
	t->disk[k] = t->max_disk[k] = disk;
	t->left[k] = t->right[k] = PLAN_NIL;
	t->root = plan_tree_insert_at(t, t->root, k);
	t->in[k] = true;
	t->n++;
}

void
plan_tree_erase(struct plan_tree *t, size_t k)
{
	t->root = plan_tree_erase_at(t, t->root, k);
	t->in[k] = false;
	t->n--;
}

/* The first host whose key is at least key, or PLAN_NIL. */
size_t
plan_tree_lower(const struct plan_tree *t, double key)
{
	size_t x = t->root, best = PLAN_NIL;

	while (x != PLAN_NIL) {
		if (t->key[x] >= key) {
			best = x;
			x = t->left[x];
		} else
			x = t->right[x];
	}
	return best;
}

/* The host after k in the set, or PLAN_NIL. */
size_t
plan_tree_next(const struct plan_tree *t, size_t k)
{
	size_t x = t->root, best = PLAN_NIL;

	while (x != PLAN_NIL) {
		if (plan_tree_less(t, k, x)) {
			best = x;
			x = t->left[x];
		} else
			x = t->right[x];
	}
	return best;
}

size_t
plan_tree_first(const struct plan_tree *t)
{
	size_t x = t->root;

	while (x != PLAN_NIL && t->left[x] != PLAN_NIL)
		x = t->left[x];
	return x;
}

/* The host with the highest key; of several, the lowest index. */
size_t
plan_tree_top(const struct plan_tree *t)
{
	size_t x = t->root;

	if (x == PLAN_NIL)
		return PLAN_NIL;
	while (t->right[x] != PLAN_NIL)
		x = t->right[x];
	return plan_tree_lower(t, t->key[x]);
}

/* --- strict anti-affinity counts ---------------------------------------- */

static size_t
plan_aa_home(const struct plan_aa *aa, int64_t group, size_t host)
{
	return (size_t)(plan_mix((uint64_t)group * 0x100000001b3ULL ^
	    (uint64_t)host) & aa->mask);
}

/* The slot of (group, host), or the empty slot where it would go. */
static size_t
plan_aa_find(const struct plan_aa *aa, int64_t group, size_t host)
{
	size_t i = plan_aa_home(aa, group, host);

	while (aa->slot[i].group != 0 &&
	    (aa->slot[i].group != group || aa->slot[i].host != host))
		i = (i + 1) & aa->mask;
	return i;
}

size_t
plan_aa_get(const struct plan_aa *aa, int64_t group, size_t host)
{
	return aa->slot[plan_aa_find(aa, group, host)].n;
}

void
plan_aa_inc(struct plan_aa *aa, int64_t group, size_t host)
{
	size_t i = plan_aa_find(aa, group, host);

	aa->slot[i].group = group;
	aa->slot[i].host = host;
	aa->slot[i].n++;
}

/* One fewer; the slot goes when it reaches 0 (backward-shift delete). */
void
plan_aa_dec(struct plan_aa *aa, int64_t group, size_t host)
{
	size_t i = plan_aa_find(aa, group, host), j;

	if (aa->slot[i].group == 0 || --aa->slot[i].n > 0)
		return;
	for (j = i;;) {
		size_t k;

		j = (j + 1) & aa->mask;
		if (aa->slot[j].group == 0)
			break;
		k = plan_aa_home(aa, aa->slot[j].group, aa->slot[j].host);
		/* move j back to i unless its home lies cyclically in (i, j] */
		if (i <= j ? (k > i && k <= j) : (k > i || k <= j))
			continue;
		aa->slot[i] = aa->slot[j];
		i = j;
	}
	memset(&aa->slot[i], 0, sizeof(aa->slot[i]));
}
