/*
 * p5_fill.c - the inventory of issue 7's P5: a hangard database with
 * HOSTS simulated hosts and VMS VMs, written straight into SQLite.
 *
 *   p5_fill DB HOSTS VMS
 *
 * The schema is hangard's own (store_open() runs its migrations); then,
 * in one transaction, HOSTS host rows named sim-NNNNN whose URI is
 * test:///default (libvirt's test driver: every connection to it shares
 * one in-process driver, so 10,000 hosts cost hangard 10,000 connections
 * but not 10,000 drivers), then VMS VM rows (1 vCPU, 64 MiB, 1 GiB,
 * spread evenly, vm-NNNNNN).  Their domains do not exist on the test
 * driver, so their observed state is written as `unknown`, which is what
 * hangard's sweep would record for them anyway: a start then changes no
 * row.  Prints how long it took.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

static sqlite3 *db;

static void
check(int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "p5_fill: %s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct store *s;
	sqlite3_stmt *h, *v;
	long nh, nv;
	double t0 = now_s();
	int64_t now = (int64_t)time(NULL) * 1000;

	if (argc != 4) {
		fprintf(stderr, "usage: p5_fill DB HOSTS VMS\n");
		return 2;
	}
	nh = atol(argv[2]);
	nv = atol(argv[3]);
	if (nh < 1 || nv < 0) {
		fprintf(stderr, "p5_fill: HOSTS must be > 0\n");
		return 2;
	}
	for (int i = 0; i < 3; i++) {
		char p[4096];

		snprintf(p, sizeof(p), "%s%s", argv[1],
		    i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(p);
	}
	if ((s = store_open(argv[1])) == NULL) {
		fprintf(stderr, "p5_fill: cannot make the schema in %s\n",
		    argv[1]);
		return 1;
	}
	store_close(s);
	check(sqlite3_open(argv[1], &db), "open");
	check(sqlite3_exec(db, "PRAGMA foreign_keys = ON; BEGIN", NULL, NULL,
	    NULL), "begin");
	check(sqlite3_prepare_v2(db, "INSERT INTO hosts (id, name, uri, state,"
	    " arch, domain_type, domain_types, cpus, memory_mib, disk_gib,"
	    " disk_free_gib, cpu_model, created_at, updated_at)"
	    " VALUES (?1, ?2, 'test:///default', 'ready', 'i686', 'test',"
	    " 'test', 16, 3072, 100, 100, 'i686', ?3, ?3)", -1, &h, NULL),
	    "prepare hosts");
	check(sqlite3_prepare_v2(db, "INSERT INTO vms (uuid, name, vcpus,"
	    " memory_mib, disk_gib, host_id, desired_state, observed_state,"
	    " created_at, updated_at)"
	    " VALUES (?1, ?2, 1, 64, 1, ?3, 'stopped', 'unknown', ?4, ?4)",
	    -1, &v, NULL), "prepare vms");
	for (long i = 1; i <= nh; i++) {
		char name[32];

		snprintf(name, sizeof(name), "sim-%05ld", i);
		sqlite3_bind_int64(h, 1, i);
		sqlite3_bind_text(h, 2, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(h, 3, now);
		check(sqlite3_step(h), "insert host");
		sqlite3_reset(h);
	}
	for (long i = 0; i < nv; i++) {
		char name[32], uuid[64];

		snprintf(name, sizeof(name), "vm-%06ld", i);
		snprintf(uuid, sizeof(uuid),
		    "5e000000-0000-4000-8000-%012ld", i);
		sqlite3_bind_text(v, 1, uuid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(v, 2, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(v, 3, 1 + i % nh);
		sqlite3_bind_int64(v, 4, now);
		check(sqlite3_step(v), "insert vm");
		sqlite3_reset(v);
	}
	sqlite3_finalize(h);
	sqlite3_finalize(v);
	check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
	sqlite3_close(db);
	printf("p5_fill: %ld hosts, %ld vms in %.1f s\n", nh, nv,
	    now_s() - t0);
	return 0;
}
