/*
 * store_int.h - what the store_*.c files share and nobody else sees:
 * the connection type and the prepared-statement cache.
 */
#ifndef HANGAR_STORE_INT_H
#define HANGAR_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <jansson.h>
#include <sqlite3.h>

#include "store.h"

#define STORE_STMT_CACHE 160

struct store_conn {
	sqlite3 *db;
	int last_rc;            /* extended result of the last failed step */
	char last_msg[256];     /* and its message */
	int64_t ev_max;         /* newest event appended in this transaction */
	bool wal_wrote;         /* writer: the last COMMIT wrote to the WAL */
	struct store *store;    /* readers: their store (NULL: the writer) */
	pthread_mutex_t mu;
	struct {
		const char *sql;        /* key: the static SQL text's address */
		sqlite3_stmt *stmt;
	} cache[STORE_STMT_CACHE];
};

/*
 * The statement for sql (a string literal: its address is the cache key),
 * reset and with no bindings.  NULL with err_last() set on failure.
 * The connection keeps ownership.
 */
sqlite3_stmt *store_stmt(struct store_conn *c, const char *sql);

/* What a write transaction checks before its fn (store_version.c). */
struct store_expect {
	enum store_kind kind;      /* STORE_KIND_NONE: nothing */
	int64_t version;
	char key[1024], key2[1024];
};
/* Move this thread's expectation into out (this thread's is cleared). */
void store_expect_take(struct store_expect *out);
/* 0 when x is nothing or holds; -1 with ERR_PRECONDITION or the error. */
int store_expect_check(struct store_conn *c, const struct store_expect *x);

/* the numbered schema migrations (store_schema.c) */
extern const char *const store_migrations[];
extern const int store_nmigrations;

/* Report a failed SQLite call as an error; returns -1. */
int store_fail(struct store_conn *c, int rc, const char *what);

/* Bind a string, or NULL when s is NULL or empty. */
int store_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Copy column i as text into buf (empty for NULL). */
void store_col_text(sqlite3_stmt *st, int i, char *buf, size_t len);

/* Did the last statement break a foreign key? */
int store_fk_broken(struct store_conn *c);
/* Did the last statement break the uniqueness of this column
 * ("table.column", as SQLite names it)? */
int store_unique_broken(struct store_conn *c, const char *column);

/* Step a statement that returns no rows; 0 or -1. */
int store_exec_stmt(struct store_conn *c, sqlite3_stmt *st, const char *what);
/* Fail with ERR_NOT_FOUND unless the last statement changed a row. */
int store_changed(struct store_conn *c, const char *what);

/* --- disks (store_disk.c) --- */
/* Insert d's row only (the VM's disk_gib is the caller's). */
int store_disk_row(struct store_conn *c, int64_t vm_id, struct disk_rec *d);

/* --- events (store_event.c) --- */
/* The newest event id in the table (0 when empty). */
int store_event_max(struct store_conn *c, int64_t *out);
/* The same for an operation's VM, by the operation's id. */
int store_event_op(struct store_conn *c, const char *op_id,
    const char *type, json_t *data);

#endif
