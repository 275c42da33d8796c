/*
 * fuzz_bkmanifest.c - libFuzzer target for the strict reader of a backup
 * archive's manifest.json (src/common/bkmanifest.c), which an import
 * (POST /v1/vms/import) runs on an archive from anywhere.
 *
 * Input: the manifest's bytes, given to bkm_parse as they are (not NUL
 * terminated: a copy of exactly that size, so ASan sees a read past it).
 * When it is accepted, the member names of a tar are made from it and
 * from the input's last bytes (the manifest's own files, one dropped or
 * repeated, one extra) and checked with bkm_members.
 * Checks:
 *  - the error-slot invariant (fuzz.h), the error naming "archive" and
 *    its sentence starting "manifest.json: " (bkm_parse);
 *  - an accepted manifest has 1 to BKM_DISKS_MAX disks, each with a
 *    device name of [a-z0-9] starting with a letter, the file exactly
 *    "disks/<dev>.qcow2" (so no '/' but that one, no "..", not
 *    absolute), 64 lowercase hex digits, bytes in range, no device twice,
 *    and a spec that is a JSON object;
 *  - bkm_members accepts exactly the manifest's own list, in any order,
 *    and refuses it with one name dropped, repeated or added.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bkmanifest.h"
#include "common/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_disk_ok(const struct bkm *m, int i)
{
	const struct bkm_disk *d = &m->disks[i];
	char want[BKM_FILE_MAX];

	FUZZ_CHECK(d->dev[0] >= 'a' && d->dev[0] <= 'z' &&
	    strspn(d->dev, "abcdefghijklmnopqrstuvwxyz0123456789") ==
	    strlen(d->dev), "disk %d: device '%s'", i, d->dev);
	snprintf(want, sizeof(want), "disks/%s.qcow2", d->dev);
	FUZZ_CHECK(strcmp(d->file, want) == 0 && strstr(d->file, "..") ==
	    NULL && d->file[0] != '/', "disk %d: file '%s'", i, d->file);
	FUZZ_CHECK(strlen(d->sha256) == 64 && strspn(d->sha256,
	    "0123456789abcdef") == 64, "disk %d: sha256 '%s'", i, d->sha256);
	FUZZ_CHECK(d->bytes >= 1 && d->bytes <= BKM_BYTES_MAX,
	    "disk %d: bytes %llu", i, (unsigned long long)d->bytes);
	for (int j = 0; j < i; j++)
		FUZZ_CHECK(strcmp(m->disks[j].dev, d->dev) != 0,
		    "device '%s' twice", d->dev);
}

/* The manifest's own list (reversed), then with one name off. */
static void
fuzz_members(const struct bkm *m, uint8_t pick)
{
	const char *names[BKM_DISKS_MAX + 2];
	int n = 0, rc;

	for (int i = m->ndisks - 1; i >= 0; i--)
		names[n++] = m->disks[i].file;
	names[n++] = "manifest.json";
	rc = bkm_members(m, names, n);
	FUZZ_CHECK(rc == 0, "its own members refused: %s", err_last()->msg);
	switch (pick % 3) {
	case 0:             /* one dropped */
		rc = bkm_members(m, names + 1, n - 1);
		break;
	case 1:             /* one repeated */
		names[n] = names[pick % n];
		rc = bkm_members(m, names, n + 1);
		break;
	default:            /* one more */
		names[n] = "disks/../../etc/x";
		rc = bkm_members(m, names, n + 1);
		break;
	}
	FUZZ_CHECK(rc == -1 && err_last()->code == ERR_UNPROCESSABLE &&
	    strcmp(err_last()->field, "archive") == 0, "a wrong list (%d) "
	    "was accepted", pick % 3);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	struct bkm m;
	int rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	err_clear();
	rc = bkm_parse(text, size, &m);
	fuzz_check_rc(rc, "bkm_parse");
	if (rc < 0) {
		FUZZ_CHECK(strcmp(err_last()->field, "archive") == 0 &&
		    strncmp(err_last()->msg, "manifest.json: ", 15) == 0,
		    "refusal says '%s' of field '%s'", err_last()->msg,
		    err_last()->field);
		FUZZ_CHECK(m.vm == NULL, "a refused manifest kept its spec");
	} else {
		FUZZ_CHECK(m.ndisks >= 1 && m.ndisks <= BKM_DISKS_MAX,
		    "%d disks", m.ndisks);
		FUZZ_CHECK(json_is_object(m.vm), "the spec is no object");
		for (int i = 0; i < m.ndisks; i++)
			fuzz_disk_ok(&m, i);
		fuzz_members(&m, size ? data[size - 1] : 0);
	}
	bkm_free(&m);
	free(text);
	return 0;
}
