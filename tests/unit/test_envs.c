/*
 * test_envs.c - unit tests of test environments: the checks of a create
 * body's ttl and names (api/envs.c: whole seconds from 1 s to 30 days,
 * names at most ENV_NAME_MAX of [a-z0-9-]), and the store's rows
 * (store/store_env.c): a taken name is a conflict, state and expiry
 * written back, only ready environments past their expiry are expired,
 * VM links listed in order, found from the VM, and gone with the VM or
 * the environment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/req.h"
#include "common/error.h"
#include "common/types.h"
#include "store/store.h"
#include "storetest.h"

/* --- the body's checks --- */

static void
test_ttl_parse(void **state)
{
	static const struct { const char *in; int64_t s; } ok[] = {
		{ "5s", 5 }, { "90s", 90 }, { "30m", 1800 }, { "4h", 14400 },
		{ "1d12h", 129600 }, { "30d", 2592000 }, { "2w", 1209600 },
	};
	static const char *const bad[] = {
		"", "0s", "soon", "4", "-1h", "4h ", "1h1h", "31d", "5w",
		"1s1d", "../", "99999999999999999999d",
	};
	int64_t s;

	(void)state;
	assert_int_equal(envs_ttl_parse(NULL, &s), 0);
	assert_int_equal(s, 0);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (envs_ttl_parse(ok[i].in, &s) != 0)
			fail_msg("'%s' refused: %s", ok[i].in, err_last()->msg);
		assert_int_equal(s, ok[i].s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (envs_ttl_parse(bad[i], &s) == 0)
			fail_msg("'%s' accepted as %lld s", bad[i], (long long)s);
		assert_int_equal(err_last()->code, ERR_INVALID);
		assert_string_equal(err_last()->field, "ttl");
	}
}

static void
test_check_name(void **state)
{
	static const char *const bad[] = {
		"", "../x", "a/b", "A", "-a", "a b", "abcdefghijklmnopqrstuvwxy",
		"web;rm",
	};

	(void)state;
	assert_int_equal(envs_check_name("name", "ci-42"), 0);
	assert_int_equal(envs_check_name("name", "abcdefghijklmnopqrstuvwx"),
	    0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (envs_check_name("vms[3].name", bad[i]) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(err_last()->code, ERR_INVALID);
		assert_string_equal(err_last()->field, "vms[3].name");
	}
}

/* --- the store --- */

static int
setup(void **state)
{
	return storetest_setup(state, "env");
}

static int
teardown(void **state)
{
	return storetest_teardown(state);
}

static int
tx_env(struct store_conn *c, void *arg)
{
	return store_env_insert(c, arg);
}

static int
tx_env_update(struct store_conn *c, void *arg)
{
	return store_env_update(c, arg);
}

static int
tx_env_delete(struct store_conn *c, void *arg)
{
	return store_env_delete(c, ((struct env_rec *)arg)->id);
}

struct link_tx {
	struct vm_rec vm;
	int64_t env_id;
	const char *role;
};

static int
tx_vm_linked(struct store_conn *c, void *arg)
{
	struct link_tx *t = arg;

	if (store_vm_insert(c, &t->vm, NULL, 0) < 0)
		return -1;
	if (t->env_id == 0)
		return 0;
	return store_env_vm_link(c, t->env_id, t->vm.id, t->role);
}

static int64_t
make_vm(struct storetest_fx *f, int64_t env_id, const char *name, const char *role)
{
	struct link_tx t;

	memset(&t, 0, sizeof(t));
	snprintf(t.vm.uuid, sizeof(t.vm.uuid),
	    "%s-0000-4000-8000-000000000000", name);
	snprintf(t.vm.name, sizeof(t.vm.name), "%s", name);
	t.vm.vcpus = 1;
	t.vm.memory_mib = 64;
	t.vm.disk_gib = 1;
	t.vm.host_id = f->h.id;
	snprintf(t.vm.desired, sizeof(t.vm.desired), "stopped");
	snprintf(t.vm.observed, sizeof(t.vm.observed), "stopped");
	t.env_id = env_id;
	t.role = role;
	if (store_tx(f->s, tx_vm_linked, &t) != 0)
		fail_msg("%s: %s", name, err_last()->msg);
	return t.vm.id;
}

static void
make_env(struct storetest_fx *f, struct env_rec *e, const char *name, int64_t ttl_s)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->ttl_s = ttl_s;
	assert_int_equal(store_tx(f->s, tx_env, e), 0);
	assert_true(e->id > 0);
}

static int
collect_name(const struct env_rec *e, void *arg)
{
	strcat(arg, e->name);
	strcat(arg, " ");
	return 0;
}

static int
collect_role(int64_t vm_id, const char *role, void *arg)
{
	(void)vm_id;
	strcat(arg, role);
	strcat(arg, " ");
	return 0;
}

static void
test_store_env_rows(void **state)
{
	struct storetest_fx *f = *state;
	struct env_rec a, b, dup, got;
	struct store_conn *c;
	char names[128] = "";

	make_env(f, &a, "ci", 3600);
	make_env(f, &b, "tmp", 5);
	memset(&dup, 0, sizeof(dup));
	snprintf(dup.name, sizeof(dup.name), "ci");
	assert_int_equal(store_tx(f->s, tx_env, &dup), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->field, "name");

	/* ready and past its expiry: expired; creating: not yet */
	snprintf(b.state, sizeof(b.state), "ready");
	b.expires_at = 1000;
	assert_int_equal(store_tx(f->s, tx_env_update, &b), 0);
	a.expires_at = 1000;             /* still creating */
	snprintf(a.state, sizeof(a.state), "creating");
	assert_int_equal(store_tx(f->s, tx_env_update, &a), 0);
	c = store_read_begin(f->s);
	assert_int_equal(store_env_each_expired(c, 2000, collect_name, names),
	    0);
	assert_string_equal(names, "tmp ");
	names[0] = '\0';
	assert_int_equal(store_env_each_expired(c, 999, collect_name, names),
	    0);
	assert_string_equal(names, "");
	assert_int_equal(store_env_each(c, collect_name, names), 0);
	assert_string_equal(names, "ci tmp ");
	assert_int_equal(store_env_get(c, "tmp", &got), 0);
	assert_string_equal(got.state, "ready");
	assert_int_equal(got.ttl_s, 5);
	assert_int_equal(store_env_get(c, "nosuch", &got), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	store_read_end(c);
}

static int
tx_vm_delete(struct store_conn *c, void *arg)
{
	return store_vm_delete(c, *(int64_t *)arg, "");
}

static void
test_store_env_links(void **state)
{
	struct storetest_fx *f = *state;
	struct env_rec e, got;
	struct store_conn *c;
	char roles[128] = "", env[NAME_MAX_LEN];
	int64_t db, web1, other;

	make_env(f, &e, "ci", 0);
	db = make_vm(f, e.id, "ci-db-1", "db");
	web1 = make_vm(f, e.id, "ci-web-1", "web");
	(void)make_vm(f, e.id, "ci-web-2", "web");
	other = make_vm(f, 0, "alone", "");
	c = store_read_begin(f->s);
	assert_int_equal(store_env_vm_each(c, e.id, collect_role, roles), 0);
	assert_string_equal(roles, "db web web ");
	assert_int_equal(store_env_of_vm(c, web1, env, sizeof(env)), 0);
	assert_string_equal(env, "ci");
	assert_int_equal(store_env_get(c, "ci", &got), 0);
	assert_int_equal(got.nvms, 3);
	assert_int_equal(store_env_of_vm(c, other, env, sizeof(env)), 0);
	assert_string_equal(env, "");
	store_read_end(c);

	/* a VM's row gone: its link too */
	assert_int_equal(store_tx(f->s, tx_vm_delete, &db), 0);
	c = store_read_begin(f->s);
	assert_int_equal(store_env_of_vm(c, db, env, sizeof(env)), 0);
	assert_string_equal(env, "");
	assert_int_equal(store_env_get(c, "ci", &got), 0);
	assert_int_equal(got.nvms, 2);
	store_read_end(c);

	/* the environment's row gone: its links too, the VMs stay */
	assert_int_equal(store_tx(f->s, tx_env_delete, &e), 0);
	c = store_read_begin(f->s);
	assert_int_equal(store_env_of_vm(c, web1, env, sizeof(env)), 0);
	assert_string_equal(env, "");
	store_read_end(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl_parse),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test_setup_teardown(test_store_env_rows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_store_env_links, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
