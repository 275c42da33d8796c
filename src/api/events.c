/*
 * events.c - GET /v1/events: the event log as a Server-Sent Events stream.
 *
 *   ?since=ID or the Last-Event-ID header: replay what came after ID, then
 *   go on live (without either, the stream starts at the newest event);
 *   ?type=vm.paused,operation.*  (a trailing * matches a prefix)
 *   ?vm=NAME|UUID  ?host=NAME    filters
 *   ?follow=false                end the stream after the replay
 *
 * Each event is one SSE frame: "id: N", "event: TYPE" and "data: JSON".
 * The first frame carries only "retry" and "id" (where the stream
 * starts), so a client that loses the connection before any event still
 * resumes from there.  A comment line is sent every 15 s of silence so
 * proxies and clients know the stream is alive.  When the client asks for ids that were
 * already pruned, a "gap" event says which ones it missed.
 *
 * Why nothing here can slow the daemon: the stream pulls from the events
 * table at the client's own pace; nothing is ever pushed to it or queued
 * for it.  libmicrohttpd asks for more only when the client's socket can
 * take it, so a client that does not read costs nothing but its
 * connection.  Its memory is one bounded buffer (EVENTS_BUF_MAX); a
 * client that falls behind just reads older rows, and one that falls
 * behind the retention gets the gap event.
 *
 * Threads: streams are served on the server's thread pool and never
 * block it.  A stream that has sent everything there is parks in the hub
 * (its connection suspended) and gives its thread back; the hub's one
 * thread waits for the next committed event (store_event_wait) and
 * resumes the parked streams that are behind it, whose keepalive is due,
 * or all of them when the daemon stops.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "req.h"

#define EVENTS_BUF_MAX (64 * 1024)
#define EVENTS_BATCH 256
#define EVENTS_TYPES_MAX 16
#define EVENTS_KEEPALIVE_MS 15000
#define EVENTS_WAIT_MS 1000

struct events_stream {
	struct app *app;
	struct events_hub *hub;
	struct MHD_Connection *conn;
	struct events_stream *next;  /* in the hub's parked list */
	int64_t last;              /* the newest id looked at */
	bool follow;
	int ntypes;
	char types[EVENTS_TYPES_MAX][48];
	char vm[NAME_MAX_LEN > UUID_STR_LEN ? NAME_MAX_LEN : UUID_STR_LEN];
	char host[NAME_MAX_LEN];
	char *buf;                 /* frames not yet sent */
	size_t len, off;
	int64_t sent_ms;           /* when something was last sent */
	bool full;                 /* the batch stopped: buffer full */
};

struct events_hub {
	struct app *app;
	pthread_mutex_t mu;        /* guards all below */
	pthread_cond_t cond;       /* a stream parked, or stop */
	struct events_stream *parked;  /* suspended streams */
	bool stop;                 /* events_hub_stop: park no more */
	pthread_t thread;
};

json_t *
events_json(const struct event_rec *e)
{
	json_error_t je;
	json_t *data = json_loads(e->data, 0, &je);
	json_t *j = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)e->id,
	    "type", e->type, "time", req_time(e->ts));

	if (j == NULL) {
		json_decref(data);
		return NULL;
	}
	json_object_set_new(j, "vm", e->vm_name[0] ? json_string(e->vm_name) :
	    json_null());
	json_object_set_new(j, "vm_id", e->vm_uuid[0] ?
	    json_string(e->vm_uuid) : json_null());
	json_object_set_new(j, "host", e->host[0] ? json_string(e->host) :
	    json_null());
	json_object_set_new(j, "operation", e->op_id[0] ?
	    json_string(e->op_id) : json_null());
	json_object_set_new(j, "data", data ? data : json_object());
	return j;
}

static bool
events_match(const struct events_stream *s, const struct event_rec *e)
{
	int i;

	if (s->vm[0] && strcmp(s->vm, e->vm_name) != 0 &&
	    strcmp(s->vm, e->vm_uuid) != 0)
		return false;
	if (s->host[0] && strcmp(s->host, e->host) != 0)
		return false;
	if (s->ntypes == 0)
		return true;
	for (i = 0; i < s->ntypes; i++) {
		size_t n = strlen(s->types[i]);

		if (n && s->types[i][n - 1] == '*' ?
		    strncmp(s->types[i], e->type, n - 1) == 0 :
		    strcmp(s->types[i], e->type) == 0)
			return true;
	}
	return false;
}

/* Append one frame to the buffer; -1 when it does not fit. */
static int
events_put(struct events_stream *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
events_put(struct events_stream *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->len, EVENTS_BUF_MAX - s->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= EVENTS_BUF_MAX - s->len)
		return -1;
	s->len += (size_t)n;
	return 0;
}

static int
events_frame(const struct event_rec *e, void *arg)
{
	struct events_stream *s = arg;
	json_t *j;
	char *text;
	size_t keep = s->len;
	int r = 0;

	if (!events_match(s, e)) {
		s->last = e->id;
		return 0;
	}
	j = events_json(e);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (events_put(s, "id: %lld\nevent: %s\ndata: %s\n\n",
	    (long long)e->id, e->type, text) < 0) {
		/* no room: this one goes in the next batch */
		s->len = keep;
		s->full = true;
		r = 1;
	} else {
		s->last = e->id;
	}
	free(text);
	return r;
}

/* Fill the buffer from the table; 0, or -1 when the store failed. */
static int
events_fill(struct events_stream *s)
{
	struct store_conn *c = store_read_begin(s->app->store);
	int r;

	s->full = false;
	r = store_event_each(c, s->last, EVENTS_BATCH, events_frame, s);
	store_read_end(c);
	return r;
}

static bool
events_stopping(const struct events_hub *h)
{
	return h->stop || __atomic_load_n(&h->app->stopping, __ATOMIC_RELAXED);
}

/*
 * Park s until there is something to send: 0 parked (its connection is
 * suspended; the reader must return 0 at once), 1 an event came after all
 * (read on), -1 the daemon stops (end the stream).
 */
static int
events_park(struct events_stream *s)
{
	struct events_hub *h = s->hub;
	int r = 0;

	pthread_mutex_lock(&h->mu);
	if (events_stopping(h)) {
		r = -1;
	} else if (store_event_last(h->app->store) > s->last) {
		r = 1;
	} else {
		/* under h->mu: the hub cannot resume it before it is suspended */
		s->next = h->parked;
		h->parked = s;
		MHD_suspend_connection(s->conn);
		pthread_cond_signal(&h->cond);
	}
	pthread_mutex_unlock(&h->mu);
	return r;
}

static ssize_t
events_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct events_stream *s = cls;
	int64_t newest;
	size_t n;

	(void)pos;
	for (;;) {
		if (s->off < s->len) {
			n = s->len - s->off < max ? s->len - s->off : max;
			memcpy(out, s->buf + s->off, n);
			s->off += n;
			s->sent_ms = time_now_ms();
			return (ssize_t)n;
		}
		s->off = s->len = 0;
		if (events_stopping(s->hub))
			return MHD_CONTENT_READER_END_OF_STREAM;
		newest = store_event_last(s->app->store);
		if (newest > s->last) {
			int64_t before = s->last;

			if (events_fill(s) < 0) {
				log_warnx("events: cannot read the event log: %s",
				    err_last()->msg);
				return MHD_CONTENT_READER_END_WITH_ERROR;
			}
			if (s->len > 0 || s->last != before)
				continue;
			/* every id up to newest is committed, and none is
			 * there: pruned.  Do not look for them again. */
			s->last = newest;
		}
		if (!s->follow)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (time_now_ms() - s->sent_ms >= EVENTS_KEEPALIVE_MS) {
			events_put(s, ": keepalive\n\n");
			continue;
		}
		switch (events_park(s)) {
		case 0:
			return 0;          /* called again once resumed */
		case 1:
			continue;
		default:
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
	}
}

static void
events_free(void *cls)
{
	struct events_stream *s = cls;

	free(s->buf);
	free(s);
}

/* ?type=a,b.*: each 1-47 of [a-z._] with an optional trailing '*'. */
static int
events_parse_types(struct events_stream *s, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		size_t ok = strspn(p, "abcdefghijklmnopqrstuvwxyz._*");

		if (n == 0 || n >= sizeof(s->types[0]) || ok < n ||
		    (memchr(p, '*', n) && p[n - 1] != '*') ||
		    (memchr(p, '*', n) && memchr(p, '*', n) != p + n - 1))
			return err_set_field(ERR_INVALID, "type", "type must be "
			    "a comma-separated list of event types such as "
			    "vm.paused or operation.* (a '*' only at the end)");
		if (s->ntypes == EVENTS_TYPES_MAX)
			return err_set_field(ERR_INVALID, "type", "at most %d "
			    "event types", EVENTS_TYPES_MAX);
		memcpy(s->types[s->ntypes], p, n);
		s->types[s->ntypes++][n] = '\0';
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* A non-negative event id from a header or query value. */
static int
events_parse_id(const char *v, const char *field, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno || n < 0)
		return err_set_field(ERR_INVALID, field, "%s must be an event "
		    "id (a whole number, 0 or more)", field);
	*out = n;
	return 0;
}

/* A gap frame when the client asks for events already pruned. */
static int
events_check_gap(struct events_stream *s)
{
	struct store_conn *c = store_read_begin(s->app->store);
	int64_t first = 0;
	int r = store_event_first(c, &first);

	store_read_end(c);
	if (r < 0)
		return -1;
	if (first > s->last + 1)
		events_put(s, "event: gap\ndata: {\"from\":%lld,\"to\":%lld,"
		    "\"detail\":\"events %lld to %lld were pruned before this "
		    "client asked for them\"}\n\n", (long long)s->last + 1,
		    (long long)first - 1, (long long)s->last + 1,
		    (long long)first - 1);
	return 0;
}

int
events_get(struct req *r)
{
	const char *since = req_query(r, "since");
	const char *lei = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Last-Event-ID");
	const char *types = req_query(r, "type"), *vm = req_query(r, "vm");
	const char *host = req_query(r, "host");
	const char *follow = req_query(r, "follow");
	struct events_stream *s;
	struct MHD_Response *resp;
	int64_t from = -1;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->buf = malloc(EVENTS_BUF_MAX)) == NULL) {
		free(s);
		return err_set(ERR_INTERNAL, "out of memory");
	}
	s->app = r->app;
	s->hub = r->hub;
	s->conn = r->conn;
	s->follow = true;
	if (s->hub == NULL) {
		events_free(s);
		return err_set(ERR_UNAVAILABLE, "event streams are not served "
		    "here");
	}
	if (follow && strcmp(follow, "false") != 0 &&
	    strcmp(follow, "true") != 0) {
		events_free(s);
		return err_set_field(ERR_INVALID, "follow", "follow must be "
		    "true or false");
	}
	if (follow && strcmp(follow, "false") == 0)
		s->follow = false;
	/* the header (a reconnecting EventSource) wins over the query */
	if ((lei && events_parse_id(lei, "Last-Event-ID", &from) < 0) ||
	    (!lei && since && events_parse_id(since, "since", &from) < 0) ||
	    (types && events_parse_types(s, types) < 0)) {
		events_free(s);
		return -1;
	}
	if ((vm && strlen(vm) >= sizeof(s->vm)) ||
	    (host && strlen(host) >= sizeof(s->host))) {
		events_free(s);
		return err_set_field(ERR_INVALID, vm && strlen(vm) >=
		    sizeof(s->vm) ? "vm" : "host", "no vm or host has a name "
		    "that long");
	}
	snprintf(s->vm, sizeof(s->vm), "%s", vm ? vm : "");
	snprintf(s->host, sizeof(s->host), "%s", host ? host : "");
	s->last = from >= 0 ? from : store_event_last(r->app->store);
	/* the id line tells the client where it starts, so a reconnect
	 * before any event has arrived still resumes from here */
	if (events_put(s, "retry: 1000\nid: %lld\n\n", (long long)s->last) < 0 ||
	    (from > 0 && events_check_gap(s) < 0)) {
		events_free(s);
		return -1;
	}
	s->sent_ms = time_now_ms();
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
	    events_reader, s, events_free);
	if (resp == NULL) {
		events_free(s);
		return err_set(ERR_INTERNAL, "cannot start the event stream");
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	r->raw = resp;
	r->status = 200;
	return 0;
}

/* --- the hub: where streams wait without holding a thread --- */

/*
 * Resume the parked streams that have something to do: an event after
 * their last, a keepalive due, or (all of them) the daemon stopping.
 * h->mu held.
 */
static void
events_hub_wake(struct events_hub *h)
{
	struct events_stream **pp = &h->parked, *s;
	int64_t newest = store_event_last(h->app->store), now = time_now_ms();
	bool all = events_stopping(h);

	while ((s = *pp) != NULL) {
		if (all || s->last < newest ||
		    now - s->sent_ms >= EVENTS_KEEPALIVE_MS) {
			/* unlinked first: once resumed, s may be freed */
			*pp = s->next;
			s->next = NULL;
			MHD_resume_connection(s->conn);
		} else {
			pp = &s->next;
		}
	}
}

static void *
events_hub_run(void *arg)
{
	struct events_hub *h = arg;

	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		int64_t newest, now, wait = EVENTS_WAIT_MS;

		if (h->parked == NULL) {
			pthread_cond_wait(&h->cond, &h->mu);
			continue;
		}
		/* read under h->mu: an event committed after this wakes the
		 * wait below, and a stream parks only when it has seen every
		 * event up to the newest (events_park) */
		newest = store_event_last(h->app->store);
		now = time_now_ms();
		for (struct events_stream *s = h->parked; s; s = s->next)
			if (s->sent_ms + EVENTS_KEEPALIVE_MS - now < wait)
				wait = s->sent_ms + EVENTS_KEEPALIVE_MS - now;
		pthread_mutex_unlock(&h->mu);
		store_event_wait(h->app->store, newest, wait > 0 ? (int)wait : 0);
		pthread_mutex_lock(&h->mu);
		events_hub_wake(h);
	}
	events_hub_wake(h);
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct events_hub *
events_hub_start(struct app *app)
{
	struct events_hub *h = calloc(1, sizeof(*h));
	int rc;

	if (h == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	h->app = app;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cond, NULL);
	if ((rc = pthread_create(&h->thread, NULL, events_hub_run, h)) != 0) {
		err_set(ERR_INTERNAL, "cannot start the event streams' thread: "
		    "%s", strerror(rc));
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	return h;
}

void
events_hub_stop(struct events_hub *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	events_hub_wake(h);
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->mu);
}

void
events_hub_free(struct events_hub *h)
{
	if (h == NULL)
		return;
	events_hub_stop(h);
	/* at most EVENTS_WAIT_MS: it may be in store_event_wait() */
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
