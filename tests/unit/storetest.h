/*
 * storetest.h - what the store's unit tests (test_store_disk.c,
 * test_store_network.c, test_store_host_image.c) share: a database in a
 * temp dir of its own, opened and removed with its WAL files, and a host
 * row to hang VMs on.  Include after cmocka.h.
 */
#ifndef HANGAR_TEST_STORETEST_H
#define HANGAR_TEST_STORETEST_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/store.h"

/* A temp dir named after tag, its database path into path (no file yet). */
static inline void
storetest_path(char *dir, size_t dlen, char *path, size_t plen,
    const char *tag)
{
	snprintf(dir, dlen, "%s/hangar-%s-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", tag);
	assert_non_null(mkdtemp(dir));
	snprintf(path, plen, "%s/hangar.db", dir);
}

/* Close s (may be NULL) and remove the database, its WAL files and dir. */
static inline void
storetest_remove(struct store *s, const char *dir, const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[320];

	if (s)
		store_close(s);
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
}

static inline int
storetest_host_tx(struct store_conn *c, void *arg)
{
	return store_host_insert(c, arg);
}

/* Insert host name (test:///default, ratios 1) into h; 0 or -1. */
static inline int
storetest_host(struct store *s, struct host_rec *h, const char *name)
{
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->uri, sizeof(h->uri), "test:///default");
	h->cpu_ratio = h->ram_ratio = h->disk_ratio = 1;
	return store_tx(s, storetest_host_tx, h);
}

#endif
