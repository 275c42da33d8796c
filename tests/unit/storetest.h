/*
 * storetest.h - what the store's unit tests (test_store_disk.c,
 * test_store_network.c, test_store_host_image.c, test_store_backup.c,
 * test_bsched.c, test_envs.c) share: a database in a temp dir of its
 * own, opened and removed with its WAL files, a host row to hang VMs
 * on, the store_tx callbacks of a backup row; and the cmocka fixture
 * most of them use (storetest_setup, and storetest_teardown, a cmocka
 * teardown as it is).
 * Include after cmocka.h.
 */
#ifndef HANGAR_TEST_STORETEST_H
#define HANGAR_TEST_STORETEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* store_tx callbacks for a backup row: inserted (creating), made ready. */
static inline int
storetest_backup_insert_tx(struct store_conn *c, void *arg)
{
	return store_backup_insert(c, arg);
}

static inline int
storetest_backup_ready_tx(struct store_conn *c, void *arg)
{
	return store_backup_ready(c, arg, NULL);
}

/* Insert host name (test:///default, ratios 1, the rest zero) into h;
 * 0 or -1. */
static inline int
storetest_host(struct store *s, struct host_rec *h, const char *name)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->uri, sizeof(h->uri), "test:///default");
	h->cpu_ratio = h->ram_ratio = h->disk_ratio = 1;
	return store_tx(s, storetest_host_tx, h);
}

/* The fixture: a fresh database with one host, h1, in h. */
struct storetest_fx {
	char dir[256];
	char path[300];
	struct store *s;
	struct host_rec h;
};

/* *state: a new fixture whose temp dir is named after tag; 0 or -1. */
static inline int
storetest_setup(void **state, const char *tag)
{
	struct storetest_fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	storetest_path(f->dir, sizeof(f->dir), f->path, sizeof(f->path), tag);
	if ((f->s = store_open(f->path)) == NULL ||
	    storetest_host(f->s, &f->h, "h1") < 0) {
		storetest_remove(f->s, f->dir, f->path);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int
storetest_teardown(void **state)
{
	struct storetest_fx *f = *state;

	storetest_remove(f->s, f->dir, f->path);
	free(f);
	return 0;
}

#endif
