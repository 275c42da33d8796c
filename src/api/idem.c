/*
 * idem.c - the Idempotency-Key header on POST and DELETE.
 *
 * The same key with the same request (method, path and body, compared
 * after parsing, so whitespace and key order do not matter) within
 * idempotency_ttl_s gets the first reply again, with the header
 * "Idempotent-Replayed: true", instead of acting twice; the same key with
 * a different request is 422.  Only successful replies are remembered: a
 * request that failed (bad input, a conflict) may be retried with the
 * same key, as with Stripe's API.
 *
 * A key is claimed (pending) before the handler runs.  While pending, a
 * second request with it is 409 "still being processed" (retryable).  If
 * the daemon died before the reply was recorded, the key is still
 * pending after the restart: if the first request got as far as recording
 * an operation (operations carry the key, written in the same
 * transaction), the retry is answered with that operation; if not, nothing
 * was done and the retry simply runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

struct idem_claim {
	const char *key;
	const char *request;
	int64_t ttl_ms;
	struct idem_rec rec;
	int known;
	int64_t created_at;        /* take over: the claim to replace */
};

static int
idem_take_over_tx(struct store_conn *c, void *arg)
{
	struct idem_claim *a = arg;

	return store_idem_take_over(c, a->key, a->created_at);
}

static int
idem_claim_tx(struct store_conn *c, void *arg)
{
	struct idem_claim *a = arg;

	store_idem_free(&a->rec);
	a->known = store_idem_claim(c, a->key, a->request, a->ttl_ms, &a->rec);
	return a->known < 0 ? -1 : 0;
}

struct idem_done {
	const char *key;
	int status;
	const char *location;
	const char *body;
};

static int
idem_done_tx(struct store_conn *c, void *arg)
{
	struct idem_done *a = arg;

	if (a->status == 0)
		return store_idem_release(c, a->key);
	return store_idem_done(c, a->key, a->status, a->location, a->body);
}

static void
idem_record(struct req *r, int status, const char *location,
    const char *body)
{
	struct idem_done a = { r->idem_key, status, location, body };
	struct err e;

	/* failing to remember only loses the replay, not the request; and
	 * the request's own error (a 4xx being sent) must survive this */
	err_save(&e);
	store_tx(r->app->store, idem_done_tx, &a);
	err_restore(&e);
}

/* Visible ASCII, 1 to IDEM_KEY_MAX - 1 characters. */
static int
idem_key_valid(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n >= IDEM_KEY_MAX)
		return 0;
	for (; *k; k++)
		if (*k < 0x21 || *k > 0x7e)
			return 0;
	return 1;
}

/* The request as compared: "METHOD PATH\nBODY" with a canonical body. */
static char *
idem_request_text(struct req *r)
{
	char *body = r->body ? json_dumps(r->body, JSON_COMPACT |
	    JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
	char *text = NULL;

	if (asprintf(&text, "%s %s\n%s", r->method, r->path,
	    body ? body : "") < 0)
		text = NULL;
	free(body);
	return text;
}

/*
 * A pending key.  Claimed by this daemon: the first request still runs
 * (409, retry).  Left by a daemon that died: answer with the operation the
 * first request recorded, or, if it recorded none, run this one.
 */
static int
idem_pending(struct req *r, const struct idem_rec *rec, struct idem_reply *out)
{
	struct store_conn *c = store_read_begin(r->app->store);
	struct op_rec op;
	char loc[256];
	char *text;
	json_t *j;
	int rc = store_op_get_by_idem(c, r->idem_key, &op);

	store_read_end(c);
	if (rc < 0 && err_last()->code != ERR_NOT_FOUND)
		return -1;
	if (rec->created_at >= r->app->started_ms) {
		/* the first request is still running in this daemon */
		err_set(ERR_CONFLICT, "a request with Idempotency-Key '%s' is "
		    "still being processed; retry shortly", r->idem_key);
		err_set_retryable(true);
		return -1;
	}
	if (rc < 0) {
		/* a daemon died before it did anything: run it, once */
		struct idem_claim a = { .key = r->idem_key,
		    .created_at = rec->created_at };

		if (store_tx(r->app->store, idem_take_over_tx, &a) < 0) {
			err_set_retryable(true);
			return -1;
		}
		return IDEM_RUN;
	}
	j = operations_json(&op);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(loc, sizeof(loc), "/v1/operations/%s", op.id);
	idem_record(r, 202, loc, text);
	out->status = 202;
	snprintf(out->location, sizeof(out->location), "%s", loc);
	out->body = text;
	return IDEM_REPLAY;
}

int
idem_begin(struct req *r, struct idem_reply *out)
{
	const char *key = MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, "Idempotency-Key");
	struct idem_claim a;
	int v;

	memset(out, 0, sizeof(*out));
	if (key == NULL || (strcmp(r->method, "POST") != 0 &&
	    strcmp(r->method, "DELETE") != 0))
		return IDEM_RUN;
	if (!idem_key_valid(key))
		return err_set_field(ERR_INVALID, "Idempotency-Key", "the "
		    "Idempotency-Key header must be 1 to %d visible ASCII "
		    "characters", IDEM_KEY_MAX - 1);
	snprintf(r->idem_key, sizeof(r->idem_key), "%s", key);
	memset(&a, 0, sizeof(a));
	a.key = key;
	a.ttl_ms = r->app->cfg.idempotency_ttl_s * 1000LL;
	if ((a.request = idem_request_text(r)) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	v = store_tx(r->app->store, idem_claim_tx, &a);
	free((char *)(uintptr_t)a.request);
	if (v < 0) {
		store_idem_free(&a.rec);
		r->idem_key[0] = '\0';
		return -1;
	}
	if (!a.known) {
		store_idem_free(&a.rec);
		return IDEM_RUN;
	}
	if (!a.rec.same_request) {
		store_idem_free(&a.rec);
		err_set_field(ERR_UNPROCESSABLE, "Idempotency-Key", "Idempotency-"
		    "Key '%s' was already used with a different request", key);
		r->idem_key[0] = '\0';
		return -1;
	}
	if (a.rec.status == 0) {
		v = idem_pending(r, &a.rec, out);
		store_idem_free(&a.rec);
		if (v != IDEM_RUN)
			r->idem_key[0] = '\0';   /* not ours to finish */
		return v;
	}
	out->status = a.rec.status;
	snprintf(out->location, sizeof(out->location), "%s", a.rec.location);
	out->body = a.rec.body;      /* handed over */
	r->idem_key[0] = '\0';
	return IDEM_REPLAY;
}

void
idem_end(struct req *r, int status, json_t *reply)
{
	char *text;

	if (r->idem_key[0] == '\0')
		return;
	if (status < 200 || status >= 300 || reply == NULL) {
		idem_record(r, 0, NULL, NULL);
		return;
	}
	text = json_dumps(reply, JSON_COMPACT);
	idem_record(r, text ? status : 0, r->location, text);
	free(text);
}
