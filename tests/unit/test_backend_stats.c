/*
 * test_backend_stats.c - the libvirt backend's domain_stats (lv_stats.c)
 * against libvirt's test:///default driver: one call gives every domain,
 * each with its uuid and state (the test driver gives no CPU, balloon or
 * device counters: those are -1 or absent, and the suite metrics.sh
 * checks them on a real guest).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <libvirt/libvirt.h>

#include "backends/backend.h"
#include "common/error.h"
#include "common/log.h"

struct seen {
	const char *uuid;          /* the one looked for */
	int n;                     /* domains given */
	int found;
	struct domain_stats d;
	int stop_after;            /* > 0: return 1 after that many */
};

static int
collect(const struct domain_stats *d, void *arg)
{
	struct seen *s = arg;

	s->n++;
	if (strcmp(d->uuid, s->uuid) == 0) {
		s->found++;
		s->d = *d;
	}
	return s->stop_after && s->n >= s->stop_after;
}

static void
test_stats_default(void **state)
{
	struct backend_conn *bc = backend_open("test:///default");
	virConnectPtr raw = virConnectOpen("test:///default");
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct seen s = { .uuid = uuid };
	virDomainPtr d;

	(void)state;
	assert_non_null(bc);
	assert_non_null(raw);
	d = virDomainLookupByName(raw, "test");
	assert_non_null(d);
	assert_int_equal(virDomainGetUUIDString(d, uuid), 0);

	assert_int_equal(backend_domain_stats(bc, collect, &s), 0);
	assert_true(s.n >= 1);
	assert_int_equal(s.found, 1);
	assert_int_equal(s.d.state, VM_RUNNING);
	assert_true(s.d.ndisks >= 0 && s.d.ndisks <= DOMAIN_STATS_DEVS);

	/* the state follows libvirt's */
	assert_int_equal(virDomainSuspend(d), 0);
	memset(&s, 0, sizeof(s));
	s.uuid = uuid;
	assert_int_equal(backend_domain_stats(bc, collect, &s), 0);
	assert_int_equal(s.d.state, VM_PAUSED);
	assert_int_equal(virDomainResume(d), 0);

	/* fn's non-zero stops the walk: -1 */
	memset(&s, 0, sizeof(s));
	s.uuid = uuid;
	s.stop_after = 1;
	assert_int_equal(backend_domain_stats(bc, collect, &s), -1);
	assert_int_equal(s.n, 1);

	virDomainFree(d);
	virConnectClose(raw);
	backend_close(bc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_default),
	};

	log_set_level(LOG_WARN);
	if (backend_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
