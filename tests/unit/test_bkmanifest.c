/*
 * test_bkmanifest.c - unit tests of common/bkmanifest.c, the strict
 * reader of a backup archive's manifest.json: the manifest an archive
 * of hangar's carries is read whole; each hostile or malformed variant
 * is refused with a 422 naming "archive" and saying what (a device name
 * with a path, a file that is not its device's, a bad digest, an
 * unknown member, a key twice, a device twice, an oversized text); the
 * member list must be exactly the manifest's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/bkmanifest.h"
#include "common/error.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DISK(dev, file, sha) "{\"dev\": \"" dev "\", \"file\": \"" file \
	"\", \"format\": \"qcow2\", \"sha256\": \"" sha "\", \"bytes\": 4096}"
#define MAN(disks) "{\"format\": \"hangar-backup\", \"version\": 1, " \
	"\"backup\": {\"id\": \"b\"}, \"vm\": {\"name\": \"s\"}, " \
	"\"disks\": [" disks "]}"

static void
test_good(void **state)
{
	static const char t[] = MAN(DISK("vda", "disks/vda.qcow2", SHA) ", "
	    DISK("vdb", "disks/vdb.qcow2", SHA));
	const char *names[] = { "manifest.json", "disks/vdb.qcow2",
	    "disks/vda.qcow2" };
	struct bkm m;

	(void)state;
	assert_int_equal(bkm_parse(t, strlen(t), &m), 0);
	assert_int_equal(m.ndisks, 2);
	assert_string_equal(m.disks[1].dev, "vdb");
	assert_string_equal(m.disks[1].file, "disks/vdb.qcow2");
	assert_string_equal(m.disks[0].sha256, SHA);
	assert_int_equal(m.disks[0].bytes, 4096);
	assert_string_equal(json_string_value(json_object_get(m.vm, "name")),
	    "s");
	assert_int_equal(bkm_members(&m, names, 3), 0);
	/* one missing, one extra, one twice */
	assert_int_equal(bkm_members(&m, names, 2), -1);
	assert_non_null(strstr(err_last()->msg, "disks[0].file"));
	names[1] = "../../etc/x";
	assert_int_equal(bkm_members(&m, names, 3), -1);
	assert_non_null(strstr(err_last()->msg, "'../../etc/x'"));
	names[1] = "disks/vda.qcow2";
	assert_int_equal(bkm_members(&m, names, 3), -1);
	assert_non_null(strstr(err_last()->msg, "twice"));
	bkm_free(&m);
}

/* text is refused, its message holding want. */
static void
refused(const char *text, size_t len, const char *want)
{
	struct bkm m;

	err_clear();
	assert_int_equal(bkm_parse(text, len, &m), -1);
	assert_int_equal(err_last()->code, ERR_UNPROCESSABLE);
	assert_string_equal(err_last()->field, "archive");
	if (strstr(err_last()->msg, want) == NULL)
		fail_msg("'%s' does not say '%s'", err_last()->msg, want);
	assert_null(m.vm);
	bkm_free(&m);
}

#define REFUSED(t, want) refused(t, sizeof(t) - 1, want)

static void
test_refused(void **state)
{
	static char big[BKM_TEXT_MAX + 2];

	(void)state;
	REFUSED(MAN(DISK("../etc", "disks/../etc.qcow2", SHA)),
	    "manifest.json: disks[0].dev must be a device name");
	REFUSED(MAN(DISK("../../etc", "disks/../../etc.qcow2", SHA)),
	    "manifest.json: disks[0].dev must be a string of at most 8");
	REFUSED(MAN(DISK("vda", "/etc/passwd", SHA)),
	    "disks[0].file must be the member of its device, "
	    "'disks/vda.qcow2'");
	REFUSED(MAN(DISK("vda", "disks/vda.qcow2", "ABC")),
	    "disks[0].sha256 must be 64 lowercase hex digits");
	REFUSED(MAN(DISK("vda", "disks/vda.qcow2", SHA) ", "
	    DISK("vda", "disks/vda.qcow2", SHA)), "disks[1].dev 'vda' is "
	    "listed twice");
	REFUSED(MAN(""), "disks must be an array of 1 to 16 disks");
	REFUSED("{\"format\": \"hangar-backup\", \"format\": \"x\"}",
	    "manifest.json: it is not a JSON object");
	REFUSED("{\"format\": \"hangar-backup\", \"version\": 1, \"vm\": {}, "
	    "\"disks\": [], \"extra\": 1}", "a member 'extra'");
	REFUSED("{\"format\": \"tar\", \"version\": 1, \"vm\": {}}",
	    "format must be 'hangar-backup'");
	REFUSED("{\"format\": \"hangar-backup\", \"version\": 2, \"vm\": {}}",
	    "version must be 1");
	REFUSED("{\"format\": \"hangar-backup\", \"version\": 1, \"vm\": [], "
	    "\"disks\": []}", "vm must be an object");
	REFUSED("{\"format\": \"hangar\\u0000-backup\", \"version\": 1}",
	    "is not allowed");
	memset(big, ' ', sizeof(big));
	refused(big, sizeof(big), "larger than 262144 bytes");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
