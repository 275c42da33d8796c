/*
 * auth_tokens.c - the API tokens in memory, for the bearer check of
 * every request over TCP (auth.c), so a request does not open a read
 * transaction and scan the tokens table.
 *
 * The rows are loaded at the first check and loaded again whenever the
 * database may have changed them:
 *   - tokens_issue() and tokens_revoke() (daemon/tokens.c) in this
 *     process move a counter (tokens_generation): POST and DELETE
 *     /v1/tokens count from the next request.
 *   - The database's data_version (store_data_version) moves whenever
 *     any connection commits, another process's included:
 *     `hangard token create` and `revoke` write the database directly.
 *     It is read when a token is not found (so a token just made by the
 *     CLI works at once), and otherwise at most every
 *     AUTH_TOKENS_RECHECK_MS (so a token the CLI revoked stops working
 *     within that).  Reading it starts a read transaction on the WAL
 *     index: two fcntl() locks, which cost more than the rest of the
 *     check, hence not on every request.
 * If the version cannot be read, the rows are read again (and if that
 * fails, the check fails closed: 503).
 *
 * The hashes are compared as before: with every row, revoked ones
 * included, in constant time, without stopping at a match.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/token.h"
#include "../common/types.h"
#include "../daemon/app.h"
#include "auth.h"

#define AUTH_TOKENS_RECHECK_MS 5

struct auth_tokens {
	struct store *store;
	pthread_rwlock_t lock;     /* guards everything below (write lock);
	                            * readers only compare */
	bool loaded;
	int64_t version;           /* data_version when last loaded */
	unsigned gen;              /* tokens_generation() when last loaded */
	int64_t checked_ms;        /* when version was last read (monotonic) */
	struct token_rec *rows;
	size_t n, cap;
};

struct auth_tokens *
auth_tokens_open(struct store *s)
{
	struct auth_tokens *t = calloc(1, sizeof(*t));
	pthread_rwlockattr_t attr;

	if (t == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	t->store = s;
	/* a recheck (the write lock) must not wait behind a steady stream
	 * of readers */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&t->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	return t;
}

void
auth_tokens_close(struct auth_tokens *t)
{
	if (t == NULL)
		return;
	if (t->rows)
		explicit_bzero(t->rows, t->cap * sizeof(t->rows[0]));
	free(t->rows);
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

static int
auth_tokens_add(const struct token_rec *r, void *arg)
{
	struct auth_tokens *t = arg;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct token_rec *n = calloc(cap, sizeof(*n));

		if (n == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		if (t->rows) {
			memcpy(n, t->rows, t->n * sizeof(*n));
			explicit_bzero(t->rows, t->cap * sizeof(t->rows[0]));
			free(t->rows);
		}
		t->rows = n;
		t->cap = cap;
	}
	t->rows[t->n++] = *r;
	return 0;
}

/* Read every row again; write lock held.  0, or -1 with the store's
 * error. */
static int
auth_tokens_load(struct auth_tokens *t, int64_t version, unsigned gen)
{
	struct store_conn *c;
	int rc;

	t->loaded = false;
	t->n = 0;
	c = store_read_begin(t->store);
	rc = store_token_each(c, auth_tokens_add, t);
	store_read_end(c);
	if (rc < 0)
		return -1;
	t->loaded = version >= 0;  /* unknown version: read again next time */
	t->version = version;
	t->gen = gen;
	return 0;
}

/* Compare hash with every row (no early return on a match); lock held. */
static void
auth_tokens_scan(const struct auth_tokens *t, const char *hash,
    struct token_rec *out, bool *found)
{
	*found = false;
	for (size_t i = 0; i < t->n; i++) {
		const struct token_rec *r = &t->rows[i];

		if (token_equal(r->hash, hash, TOKEN_HASH_LEN - 1) &&
		    strlen(r->hash) == TOKEN_HASH_LEN - 1) {
			*out = *r;
			*found = true;
		}
	}
}

int
auth_tokens_match(struct auth_tokens *t, const char hash[TOKEN_HASH_LEN],
    struct token_rec *out, bool *found)
{
	unsigned gen = tokens_generation();
	int64_t now = time_mono_ms(), version;
	int rc = 0;

	/* the usual case: loaded, checked a moment ago, and found */
	pthread_rwlock_rdlock(&t->lock);
	if (t->loaded && t->gen == gen &&
	    now - t->checked_ms < AUTH_TOKENS_RECHECK_MS) {
		auth_tokens_scan(t, hash, out, found);
		if (*found) {
			pthread_rwlock_unlock(&t->lock);
			return 0;
		}
	}
	pthread_rwlock_unlock(&t->lock);

	pthread_rwlock_wrlock(&t->lock);
	/* the version first: a commit after this makes the next check
	 * load again, even if this load already saw it */
	version = store_data_version(t->store);
	t->checked_ms = now;
	if (!t->loaded || version != t->version || gen != t->gen)
		rc = auth_tokens_load(t, version, gen);
	if (rc == 0)
		auth_tokens_scan(t, hash, out, found);
	pthread_rwlock_unlock(&t->lock);
	return rc;
}
