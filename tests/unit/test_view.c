/*
 * test_view.c - unit tests of daemon/view.c: the scheduler's in-memory
 * view of hosts and claims.
 *
 * Each test loads a view from a fresh store (in its own mkdtemp()
 * directory, removed afterwards) holding three hosts with different
 * settings, three placement groups and five VMs, then checks what the view
 * says and how claims, releases and host changes move it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/types.h"
#include "daemon/view.h"
#include "scheduler/sched.h"
#include "store/store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
	char dir[256];
	char path[300];
	struct store *s;
	struct view *v;
	/* what setup stored */
	int64_t zulu, mike, alpha;          /* host ids, in that order */
	int64_t web, db, empty;             /* group ids */
	struct vm_rec w1, w2, w3, d1, solo;
};

static int
tx_host_insert(struct store_conn *c, void *arg)
{
	return store_host_insert(c, arg);
}

static int
tx_group_insert(struct store_conn *c, void *arg)
{
	return store_group_insert(c, arg);
}

static int
tx_vm_insert(struct store_conn *c, void *arg)
{
	return store_vm_insert(c, arg, NULL, 0);
}

/* A host as POST /v1/hosts would store it. */
static int64_t
add_host(struct fx *f, const char *name, const char *state, bool maint,
    const char *labels, const char *arch, const char *domain_types)
{
	struct host_rec h;

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "%s", name);
	snprintf(h.uri, sizeof(h.uri), "test:///%s", name);
	snprintf(h.state, sizeof(h.state), "%s", state);
	h.maintenance = maint;
	snprintf(h.labels, sizeof(h.labels), "%s", labels);
	snprintf(h.arch, sizeof(h.arch), "%s", arch);
	snprintf(h.domain_types, sizeof(h.domain_types), "%s", domain_types);
	h.cpu_ratio = 4.0;
	h.ram_ratio = 1.0;
	h.disk_ratio = 1.0;
	h.reserved_vcpus = 1;
	h.reserved_memory_mib = 512;
	h.cpus = 8;
	h.memory_mib = 32768;
	h.disk_gib = 200;
	if (store_tx(f->s, tx_host_insert, &h) != 0)
		fail_msg("insert host '%s': %s", name, err_last()->msg);
	return h.id;
}

static int64_t
add_group(struct fx *f, const char *name, const char *policy, bool strict)
{
	struct group_rec g;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	snprintf(g.policy, sizeof(g.policy), "%s", policy);
	g.strict = strict;
	if (store_tx(f->s, tx_group_insert, &g) != 0)
		fail_msg("insert group '%s': %s", name, err_last()->msg);
	return g.id;
}

static void
vm_init(struct vm_rec *v, const char *name, int64_t host_id,
    int64_t group_id, int vcpus, int64_t mem, int64_t disk)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->uuid, sizeof(v->uuid), "uuid-%s", name);
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->vcpus = vcpus;
	v->memory_mib = mem;
	v->disk_gib = disk;
	v->host_id = host_id;
	v->group_id = group_id;
	snprintf(v->desired, sizeof(v->desired), "running");
	snprintf(v->observed, sizeof(v->observed), "running");
}

static struct vm_rec
add_vm(struct fx *f, const char *name, int64_t host_id, int64_t group_id,
    int vcpus, int64_t mem, int64_t disk)
{
	struct vm_rec v;

	vm_init(&v, name, host_id, group_id, vcpus, mem, disk);
	if (store_tx(f->s, tx_vm_insert, &v) != 0)
		fail_msg("insert vm '%s': %s", name, err_last()->msg);
	return v;
}

static int
fx_open(void **state, bool fill)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	snprintf(f->dir, sizeof(f->dir), "%s/hangar-view-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/hangar.db", f->dir);
	if ((f->s = store_open(f->path)) == NULL) {
		print_error("store_open: %s\n", err_last()->msg);
		return -1;
	}
	if (fill) {
		/* names sort the other way round from ids */
		f->zulu = add_host(f, "zulu", "ready", false,
		    "{\"rack\":\"a\",\"ssd\":\"yes\"}", "x86_64", "kvm qemu");
		f->mike = add_host(f, "mike", "unreachable", true, "{}",
		    "aarch64", "qemu");
		f->alpha = add_host(f, "alpha", "unreachable", false,
		    "{\"rack\":\"b\"}", "x86_64", "kvm");
		f->web = add_group(f, "web", "anti-affinity", true);
		f->db = add_group(f, "db", "affinity", false);
		f->empty = add_group(f, "empty", "affinity", true);
		f->w1 = add_vm(f, "w1", f->zulu, f->web, 2, 2048, 20);
		f->w2 = add_vm(f, "w2", f->zulu, f->web, 1, 1024, 10);
		f->w3 = add_vm(f, "w3", f->alpha, f->web, 4, 512, 5);
		f->d1 = add_vm(f, "d1", f->mike, f->db, 1, 256, 1);
		f->solo = add_vm(f, "solo", f->zulu, 0, 2, 100, 3);
	}
	if ((f->v = view_load(f->s)) == NULL) {
		print_error("view_load: %s\n", err_last()->msg);
		return -1;
	}
	return 0;
}

static int
setup(void **state)
{
	return fx_open(state, true);
}

static int
setup_empty(void **state)
{
	return fx_open(state, false);
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[320];

	if (f == NULL)
		return 0;
	view_free(f->v);
	store_close(f->s);
	for (size_t i = 0; i < NELEM(suffix); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* --- helpers on the view --- */

/* A copy of host id's entry (labels not kept); fails if it is missing. */
static struct sched_host
vhost(struct fx *f, int64_t id)
{
	const struct sched_host *hs;
	struct sched_host h;
	size_t n;
	int i;

	view_lock(f->v);
	hs = view_hosts(f->v, &n);
	i = view_host_index(f->v, id);
	if (i < 0 || (size_t)i >= n) {
		view_unlock(f->v);
		fail_msg("host #%lld is not in the view", (long long)id);
	}
	h = hs[i];
	h.labels = NULL;
	view_unlock(f->v);
	return h;
}

/* The value of label key on host id, or NULL. */
static const char *
vlabel(struct fx *f, int64_t id, const char *key, char *buf, size_t len)
{
	const struct sched_host *hs;
	const char *r = NULL;
	size_t n;
	int i;

	view_lock(f->v);
	hs = view_hosts(f->v, &n);
	if ((i = view_host_index(f->v, id)) >= 0) {
		for (size_t k = 0; k < hs[i].nlabels; k++) {
			if (strcmp(hs[i].labels[k].key, key) == 0) {
				snprintf(buf, len, "%s", hs[i].labels[k].value);
				r = buf;
			}
		}
	}
	view_unlock(f->v);
	return r;
}

static size_t
vnlabels(struct fx *f, int64_t id)
{
	const struct sched_host *hs;
	size_t n, r;
	int i;

	view_lock(f->v);
	hs = view_hosts(f->v, &n);
	i = view_host_index(f->v, id);
	r = i >= 0 ? hs[i].nlabels : (size_t)-1;
	view_unlock(f->v);
	return r;
}

#define MAXH 16

/* Group members per host id (in the order of ids[]) and in all. */
static int
vcounts(struct fx *f, int64_t group_id, const int64_t *ids, size_t nids,
    int *out)
{
	int counts[MAXH], total = -1;
	size_t n;

	view_lock(f->v);
	view_hosts(f->v, &n);
	assert_true(n <= MAXH);
	memset(counts, 0xff, sizeof(counts));
	view_group_counts(f->v, group_id, counts, &total);
	for (size_t k = 0; k < nids; k++) {
		int i = view_host_index(f->v, ids[k]);

		out[k] = i >= 0 ? counts[i] : -1;
	}
	view_unlock(f->v);
	return total;
}

/* Everything claims move: per host allocations and per group counts. */
struct snap {
	size_t n;
	int64_t id[MAXH], vcpus[MAXH], mem[MAXH], disk[MAXH];
	int vms[MAXH];
	int counts[3][MAXH], total[3];
};

static void
snap(struct fx *f, struct snap *s)
{
	const int64_t groups[3] = { f->web, f->db, f->empty };
	const struct sched_host *hs;

	memset(s, 0, sizeof(*s));
	view_lock(f->v);
	hs = view_hosts(f->v, &s->n);
	assert_true(s->n <= MAXH);
	for (size_t i = 0; i < s->n; i++) {
		s->id[i] = hs[i].id;
		s->vcpus[i] = hs[i].alloc_vcpus;
		s->mem[i] = hs[i].alloc_memory_mib;
		s->disk[i] = hs[i].alloc_disk_gib;
		s->vms[i] = hs[i].vms;
	}
	for (int g = 0; g < 3; g++)
		view_group_counts(f->v, groups[g], s->counts[g], &s->total[g]);
	view_unlock(f->v);
}

static void
assert_snap_equal(const struct snap *a, const struct snap *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->id[i], b->id[i]);
		assert_int_equal(a->vcpus[i], b->vcpus[i]);
		assert_int_equal(a->mem[i], b->mem[i]);
		assert_int_equal(a->disk[i], b->disk[i]);
		assert_int_equal(a->vms[i], b->vms[i]);
		for (int g = 0; g < 3; g++)
			assert_int_equal(a->counts[g][i], b->counts[g][i]);
	}
	for (int g = 0; g < 3; g++)
		assert_int_equal(a->total[g], b->total[g]);
}

static void
claim(struct fx *f, const struct vm_rec *vm)
{
	view_lock(f->v);
	view_claim_locked(f->v, vm);
	view_unlock(f->v);
}

/* The store's record of a host, to change and put back. */
static void
store_host(struct fx *f, int64_t id, struct host_rec *h)
{
	struct store_conn *c = store_read_begin(f->s);

	if (store_host_get_id(c, id, h) != 0)
		fail_msg("get host #%lld: %s", (long long)id, err_last()->msg);
	store_read_end(c);
}

/* --- loading --- */

static void
test_load_hosts(void **state)
{
	struct fx *f = *state;
	const struct sched_host *hs;
	struct sched_host h;
	char buf[SCHED_NAME_MAX];
	size_t n;

	view_lock(f->v);
	hs = view_hosts(f->v, &n);
	assert_int_equal(n, 3);
	/* id order, not name order */
	assert_int_equal(hs[0].id, f->zulu);
	assert_int_equal(hs[1].id, f->mike);
	assert_int_equal(hs[2].id, f->alpha);
	assert_string_equal(hs[0].name, "zulu");
	assert_string_equal(hs[1].name, "mike");
	assert_string_equal(hs[2].name, "alpha");
	for (size_t i = 0; i < n; i++)
		assert_int_equal(view_host_index(f->v, hs[i].id), (int)i);
	assert_int_equal(view_host_index(f->v, f->alpha + 100), -1);
	assert_int_equal(view_host_index(f->v, 0), -1);
	view_unlock(f->v);

	/* settings and facts */
	h = vhost(f, f->zulu);
	assert_string_equal(h.arch, "x86_64");
	assert_int_equal(h.domain_types, SCHED_DT_KVM | SCHED_DT_QEMU);
	assert_int_equal(h.cpus, 8);
	assert_int_equal(h.memory_mib, 32768);
	assert_int_equal(h.disk_gib, 200);
	assert_true(h.cpu_ratio == 4.0);
	assert_true(h.ram_ratio == 1.0);
	assert_true(h.disk_ratio == 1.0);
	assert_int_equal(h.reserved_vcpus, 1);
	assert_int_equal(h.reserved_memory_mib, 512);
	assert_int_equal(h.reserved_disk_gib, 0);
	h = vhost(f, f->mike);
	assert_string_equal(h.arch, "aarch64");
	assert_int_equal(h.domain_types, SCHED_DT_QEMU);
	h = vhost(f, f->alpha);
	assert_int_equal(h.domain_types, SCHED_DT_KVM);

	/* labels, parsed */
	assert_int_equal(vnlabels(f, f->zulu), 2);
	assert_non_null(vlabel(f, f->zulu, "rack", buf, sizeof(buf)));
	assert_string_equal(buf, "a");
	assert_non_null(vlabel(f, f->zulu, "ssd", buf, sizeof(buf)));
	assert_string_equal(buf, "yes");
	assert_int_equal(vnlabels(f, f->mike), 0);
	assert_int_equal(vnlabels(f, f->alpha), 1);
	assert_non_null(vlabel(f, f->alpha, "rack", buf, sizeof(buf)));
	assert_string_equal(buf, "b");
	assert_null(vlabel(f, f->alpha, "ssd", buf, sizeof(buf)));
}

static void
test_load_state(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vhost(f, f->zulu).state, SCHED_READY);
	/* maintenance wins over the connection's state */
	assert_int_equal(vhost(f, f->mike).state, SCHED_MAINTENANCE);
	assert_int_equal(vhost(f, f->alpha).state, SCHED_UNREACHABLE);
}

static void
test_load_allocations(void **state)
{
	struct fx *f = *state;
	struct sched_host h;

	/* w1 + w2 + solo */
	h = vhost(f, f->zulu);
	assert_int_equal(h.vms, 3);
	assert_int_equal(h.alloc_vcpus, 2 + 1 + 2);
	assert_int_equal(h.alloc_memory_mib, 2048 + 1024 + 100);
	assert_int_equal(h.alloc_disk_gib, 20 + 10 + 3);
	h = vhost(f, f->mike);
	assert_int_equal(h.vms, 1);
	assert_int_equal(h.alloc_vcpus, 1);
	assert_int_equal(h.alloc_memory_mib, 256);
	assert_int_equal(h.alloc_disk_gib, 1);
	h = vhost(f, f->alpha);
	assert_int_equal(h.vms, 1);
	assert_int_equal(h.alloc_vcpus, 4);
	assert_int_equal(h.alloc_memory_mib, 512);
	assert_int_equal(h.alloc_disk_gib, 5);
}

static void
test_load_group_counts(void **state)
{
	struct fx *f = *state;
	const int64_t ids[3] = { f->zulu, f->mike, f->alpha };
	int c[3];

	assert_int_equal(vcounts(f, f->web, ids, 3, c), 3);
	assert_int_equal(c[0], 2);
	assert_int_equal(c[1], 0);
	assert_int_equal(c[2], 1);
	assert_int_equal(vcounts(f, f->db, ids, 3, c), 1);
	assert_int_equal(c[0], 0);
	assert_int_equal(c[1], 1);
	assert_int_equal(c[2], 0);
	/* a group with no members, and one that does not exist */
	assert_int_equal(vcounts(f, f->empty, ids, 3, c), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(c[i], 0);
	assert_int_equal(vcounts(f, f->empty + 100, ids, 3, c), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(c[i], 0);
}

static void
test_load_empty_store(void **state)
{
	struct fx *f = *state;
	int counts[1] = { 7 }, total = 7;
	size_t n = 99;

	view_lock(f->v);
	view_hosts(f->v, &n);
	assert_int_equal(n, 0);
	assert_int_equal(view_host_index(f->v, 1), -1);
	view_group_counts(f->v, 1, counts, &total);
	assert_int_equal(total, 0);
	view_unlock(f->v);
}

/* --- claims --- */

static void
test_claim_release_symmetric(void **state)
{
	struct fx *f = *state;
	const int64_t ids[3] = { f->zulu, f->mike, f->alpha };
	struct snap before, mid, after;
	struct sched_host h;
	struct vm_rec w4;
	int c[3];

	snap(f, &before);
	vm_init(&w4, "w4", f->mike, f->web, 3, 700, 7);
	claim(f, &w4);
	h = vhost(f, f->mike);
	assert_int_equal(h.vms, 1 + 1);
	assert_int_equal(h.alloc_vcpus, 1 + 3);
	assert_int_equal(h.alloc_memory_mib, 256 + 700);
	assert_int_equal(h.alloc_disk_gib, 1 + 7);
	assert_int_equal(vcounts(f, f->web, ids, 3, c), 4);
	assert_int_equal(c[0], 2);
	assert_int_equal(c[1], 1);
	assert_int_equal(c[2], 1);
	/* other hosts and groups untouched */
	snap(f, &mid);
	assert_int_equal(mid.mem[0], before.mem[0]);
	assert_int_equal(mid.mem[2], before.mem[2]);
	assert_int_equal(mid.total[1], before.total[1]);
	assert_int_equal(mid.total[2], before.total[2]);

	view_release(f->v, &w4);
	snap(f, &after);
	assert_snap_equal(&before, &after);
}

static void
test_release_to_zero_and_back(void **state)
{
	struct fx *f = *state;
	const int64_t ids[3] = { f->zulu, f->mike, f->alpha };
	struct snap before, after;
	struct sched_host h;
	int c[3];

	snap(f, &before);
	/* the web members on zulu go, one by one */
	view_release(f->v, &f->w1);
	assert_int_equal(vcounts(f, f->web, ids, 3, c), 2);
	assert_int_equal(c[0], 1);
	view_release(f->v, &f->w2);
	assert_int_equal(vcounts(f, f->web, ids, 3, c), 1);
	assert_int_equal(c[0], 0);
	assert_int_equal(c[2], 1);
	h = vhost(f, f->zulu);
	assert_int_equal(h.vms, 1);                 /* solo */
	assert_int_equal(h.alloc_vcpus, 2);
	assert_int_equal(h.alloc_memory_mib, 100);
	assert_int_equal(h.alloc_disk_gib, 3);
	/* a VM of no group moves allocations only */
	view_release(f->v, &f->solo);
	assert_int_equal(vcounts(f, f->web, ids, 3, c), 1);
	h = vhost(f, f->zulu);
	assert_int_equal(h.vms, 0);
	assert_int_equal(h.alloc_vcpus, 0);
	assert_int_equal(h.alloc_memory_mib, 0);
	assert_int_equal(h.alloc_disk_gib, 0);
	/* the other group is not touched */
	assert_int_equal(vcounts(f, f->db, ids, 3, c), 1);
	assert_int_equal(c[1], 1);

	/* and back */
	claim(f, &f->w2);
	claim(f, &f->solo);
	claim(f, &f->w1);
	snap(f, &after);
	assert_snap_equal(&before, &after);
}

static void
test_claim_unknown_host(void **state)
{
	struct fx *f = *state;
	struct snap before, after;
	struct vm_rec vm;

	snap(f, &before);
	vm_init(&vm, "lost", f->alpha + 100, f->web, 1, 64, 1);
	claim(f, &vm);
	snap(f, &after);
	assert_snap_equal(&before, &after);
	view_release(f->v, &vm);
	snap(f, &after);
	assert_snap_equal(&before, &after);
}

#define CLAIM_THREADS 8
#define CLAIM_ROUNDS 20000

struct claimer {
	struct fx *f;
	struct vm_rec vm;
};

static void *
claimer_run(void *arg)
{
	struct claimer *c = arg;

	for (int i = 0; i < CLAIM_ROUNDS; i++) {
		view_lock(c->f->v);
		view_claim_locked(c->f->v, &c->vm);
		view_unlock(c->f->v);
		view_release(c->f->v, &c->vm);
	}
	return NULL;
}

/* Claims and releases from many threads leave the view as it was. */
static void
test_claims_concurrent(void **state)
{
	struct fx *f = *state;
	const int64_t hosts[3] = { f->zulu, f->mike, f->alpha };
	const int64_t groups[3] = { f->web, f->db, 0 };
	pthread_t th[CLAIM_THREADS];
	struct claimer cs[CLAIM_THREADS];
	struct snap before, after;

	snap(f, &before);
	for (int i = 0; i < CLAIM_THREADS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "c%d", i);
		cs[i].f = f;
		vm_init(&cs[i].vm, name, hosts[i % 3], groups[(i / 3) % 3],
		    1 + i, 64 * (i + 1), 1 + i);
		assert_int_equal(pthread_create(&th[i], NULL, claimer_run,
		    &cs[i]), 0);
	}
	for (int i = 0; i < CLAIM_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	snap(f, &after);
	assert_snap_equal(&before, &after);
}

/* --- host changes --- */

static void
test_host_put_existing_keeps_claims(void **state)
{
	struct fx *f = *state;
	struct host_rec h;
	struct sched_host got;
	struct vm_rec extra;
	char buf[SCHED_NAME_MAX];
	size_t n;

	/* a claim the store's derived allocation does not have yet */
	vm_init(&extra, "extra", f->zulu, f->web, 3, 333, 33);
	claim(f, &extra);

	store_host(f, f->zulu, &h);
	snprintf(h.labels, sizeof(h.labels), "{\"zone\":\"north\"}");
	h.cpu_ratio = 3.0;
	h.ram_ratio = 1.25;
	h.disk_ratio = 2.0;
	h.reserved_vcpus = 4;
	h.reserved_memory_mib = 2048;
	h.reserved_disk_gib = 9;
	h.maintenance = true;
	h.cpus = 12;
	/* what the record says of claims must not replace the view's */
	h.vms = 0;
	h.alloc_vcpus = h.alloc_memory_mib = h.alloc_disk_gib = 0;
	assert_int_equal(view_host_put(f->v, &h), 0);

	view_lock(f->v);
	view_hosts(f->v, &n);
	view_unlock(f->v);
	assert_int_equal(n, 3);
	got = vhost(f, f->zulu);
	assert_int_equal(got.vms, 3 + 1);
	assert_int_equal(got.alloc_vcpus, 5 + 3);
	assert_int_equal(got.alloc_memory_mib, 3172 + 333);
	assert_int_equal(got.alloc_disk_gib, 33 + 33);
	/* the settings are the new ones */
	assert_true(got.cpu_ratio == 3.0);
	assert_true(got.ram_ratio == 1.25);
	assert_true(got.disk_ratio == 2.0);
	assert_int_equal(got.reserved_vcpus, 4);
	assert_int_equal(got.reserved_memory_mib, 2048);
	assert_int_equal(got.reserved_disk_gib, 9);
	assert_int_equal(got.cpus, 12);
	assert_int_equal(got.state, SCHED_MAINTENANCE);
	/* labels replaced, not merged */
	assert_int_equal(vnlabels(f, f->zulu), 1);
	assert_non_null(vlabel(f, f->zulu, "zone", buf, sizeof(buf)));
	assert_string_equal(buf, "north");
	assert_null(vlabel(f, f->zulu, "rack", buf, sizeof(buf)));
	/* group counts too are the view's */
	{
		const int64_t ids[1] = { f->zulu };
		int c[1];

		assert_int_equal(vcounts(f, f->web, ids, 1, c), 4);
		assert_int_equal(c[0], 3);
	}

	/* out of maintenance: the connection state shows again */
	h.maintenance = false;
	snprintf(h.labels, sizeof(h.labels), "{}");
	assert_int_equal(view_host_put(f->v, &h), 0);
	got = vhost(f, f->zulu);
	assert_int_equal(got.state, SCHED_READY);
	assert_int_equal(vnlabels(f, f->zulu), 0);
	assert_int_equal(got.alloc_memory_mib, 3172 + 333);
}

static void
test_host_put_new(void **state)
{
	struct fx *f = *state;
	const struct sched_host *hs;
	struct host_rec h;
	struct sched_host got;
	char buf[SCHED_NAME_MAX];
	size_t n;

	store_host(f, f->alpha, &h);
	h.id = f->alpha + 10;
	snprintf(h.name, sizeof(h.name), "late");
	snprintf(h.labels, sizeof(h.labels), "{\"gpu\":\"t4\"}");
	snprintf(h.state, sizeof(h.state), "ready");
	h.maintenance = false;
	h.vms = 0;
	h.alloc_vcpus = h.alloc_memory_mib = h.alloc_disk_gib = 0;
	assert_int_equal(view_host_put(f->v, &h), 0);
	got = vhost(f, h.id);
	assert_string_equal(got.name, "late");
	assert_int_equal(got.state, SCHED_READY);
	assert_int_equal(got.vms, 0);
	assert_int_equal(got.alloc_memory_mib, 0);
	assert_non_null(vlabel(f, h.id, "gpu", buf, sizeof(buf)));
	assert_string_equal(buf, "t4");

	/* a smaller id than the last still lands in id order */
	h.id = f->alpha + 5;
	snprintf(h.name, sizeof(h.name), "between");
	assert_int_equal(view_host_put(f->v, &h), 0);
	view_lock(f->v);
	hs = view_hosts(f->v, &n);
	assert_int_equal(n, 5);
	for (size_t i = 1; i < n; i++)
		assert_true(hs[i - 1].id < hs[i].id);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(view_host_index(f->v, hs[i].id), (int)i);
	assert_string_equal(hs[3].name, "between");
	assert_string_equal(hs[4].name, "late");
	view_unlock(f->v);
	/* labels moved along with their host */
	assert_non_null(vlabel(f, f->alpha + 10, "gpu", buf, sizeof(buf)));
	assert_non_null(vlabel(f, f->zulu, "ssd", buf, sizeof(buf)));

	/* group counts follow the hosts' new positions */
	{
		const int64_t ids[3] = { f->zulu, f->alpha, f->alpha + 5 };
		int c[3];

		assert_int_equal(vcounts(f, f->web, ids, 3, c), 3);
		assert_int_equal(c[0], 2);
		assert_int_equal(c[1], 1);
		assert_int_equal(c[2], 0);
	}
}

static void
test_host_remove(void **state)
{
	struct fx *f = *state;
	const struct sched_host *hs;
	struct host_rec h;
	char buf[SCHED_NAME_MAX];
	size_t n;

	store_host(f, f->alpha, &h);
	h.id = f->alpha + 1;
	snprintf(h.name, sizeof(h.name), "spare");
	assert_int_equal(view_host_put(f->v, &h), 0);

	/* the middle one of four goes (a host with no VMs, as the store
	 * allows); the rest keep order and lookups */
	view_host_remove(f->v, f->alpha);
	view_lock(f->v);
	hs = view_hosts(f->v, &n);
	assert_int_equal(n, 3);
	assert_int_equal(hs[0].id, f->zulu);
	assert_int_equal(hs[1].id, f->mike);
	assert_int_equal(hs[2].id, f->alpha + 1);
	assert_int_equal(view_host_index(f->v, f->alpha), -1);
	assert_int_equal(view_host_index(f->v, f->alpha + 1), 2);
	view_unlock(f->v);
	assert_non_null(vlabel(f, f->zulu, "rack", buf, sizeof(buf)));
	assert_string_equal(buf, "a");

	/* an unknown id changes nothing */
	view_host_remove(f->v, 4242);
	view_lock(f->v);
	view_hosts(f->v, &n);
	view_unlock(f->v);
	assert_int_equal(n, 3);

	/* down to none */
	view_host_remove(f->v, f->zulu);
	view_host_remove(f->v, f->mike);
	view_host_remove(f->v, f->alpha + 1);
	view_lock(f->v);
	view_hosts(f->v, &n);
	view_unlock(f->v);
	assert_int_equal(n, 0);
}

static void
test_state_of(void **state)
{
	struct host_rec h;

	(void)state;
	memset(&h, 0, sizeof(h));
	snprintf(h.state, sizeof(h.state), "ready");
	assert_int_equal(view_state_of(&h), SCHED_READY);
	snprintf(h.state, sizeof(h.state), "unreachable");
	assert_int_equal(view_state_of(&h), SCHED_UNREACHABLE);
	h.maintenance = true;
	assert_int_equal(view_state_of(&h), SCHED_MAINTENANCE);
	snprintf(h.state, sizeof(h.state), "ready");
	assert_int_equal(view_state_of(&h), SCHED_MAINTENANCE);
	/* fenced wins over both: a lost host back stays out */
	h.fenced_at = 1;
	assert_int_equal(view_state_of(&h), SCHED_FENCED);
	h.maintenance = false;
	assert_int_equal(view_state_of(&h), SCHED_FENCED);
}

/* The view feeds the scheduler: a strict anti-affinity pick. */
static void
test_view_feeds_sched(void **state)
{
	struct fx *f = *state;
	const struct sched_host *hs;
	struct sched_request r;
	struct sched_verdict v[MAXH];
	struct host_rec h;
	int counts[MAXH], pick;
	size_t n;

	memset(&r, 0, sizeof(r));
	r.vcpus = 1;
	r.memory_mib = 256;
	r.disk_gib = 1;
	r.group = SCHED_ANTI_AFFINITY;
	r.group_strict = true;
	r.group_name = "web";
	r.group_counts = counts;

	/* zulu and alpha have members; mike is in maintenance */
	store_host(f, f->alpha, &h);
	snprintf(h.state, sizeof(h.state), "ready");
	assert_int_equal(view_host_put(f->v, &h), 0);
	view_lock(f->v);
	hs = view_hosts(f->v, &n);
	view_group_counts(f->v, f->web, counts, &r.group_total);
	pick = sched_pick(hs, n, &r, v);
	view_unlock(f->v);
	assert_int_equal(pick, -1);
	assert_string_equal(v[0].filter, "group");
	assert_string_equal(v[1].filter, "state");
	assert_string_equal(v[2].filter, "group");

	store_host(f, f->mike, &h);
	h.maintenance = false;
	snprintf(h.state, sizeof(h.state), "ready");
	assert_int_equal(view_host_put(f->v, &h), 0);
	view_lock(f->v);
	hs = view_hosts(f->v, &n);
	view_group_counts(f->v, f->web, counts, &r.group_total);
	pick = sched_pick(hs, n, &r, v);
	assert_true(pick >= 0);
	assert_int_equal(hs[pick].id, f->mike);
	view_unlock(f->v);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_load_hosts),
		T(test_load_state),
		T(test_load_allocations),
		T(test_load_group_counts),
		cmocka_unit_test_setup_teardown(test_load_empty_store,
		    setup_empty, teardown),
		T(test_claim_release_symmetric),
		T(test_release_to_zero_and_back),
		T(test_claim_unknown_host),
		T(test_claims_concurrent),
		T(test_host_put_existing_keeps_claims),
		T(test_host_put_new),
		T(test_host_remove),
		cmocka_unit_test(test_state_of),
		T(test_view_feeds_sched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
