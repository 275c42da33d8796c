/*
 * req.h - what the API's files share: one request as a handler sees it,
 * the route table's row type, and the helpers for bodies, query
 * parameters and replies.
 *
 * A handler returns 0 with r->status and r->reply set (the request owns
 * r->reply), or -1 with err_last() set; server.c turns that into a
 * problem+json reply in one place (problem.c).
 */
#ifndef HANGAR_REQ_H
#define HANGAR_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "../common/error.h"
#include "../daemon/app.h"
#include "auth.h"

#define REQ_MAX_PARAMS 4

struct events_hub;
#define REQ_BODY_MAX (1024 * 1024)

struct req {
	struct app *app;
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	char params[REQ_MAX_PARAMS][1024];   /* path segments matched by '*' */
	json_t *body;            /* parsed body, or NULL when there is none */
	/* reply */
	int status;
	json_t *reply;
	char *text;              /* or the reply already as JSON text (jsonw.h;
	                          * owned, text_len bytes), instead of reply */
	size_t text_len;
	char location[256];
	json_t *problem_ext;     /* extra members for an error reply, or NULL */
	struct MHD_Response *raw;  /* a handler-made response (a stream), sent
	                            * as is with status; the request owns it */
	char idem_key[IDEM_KEY_MAX];   /* the Idempotency-Key header, or "" */
	struct events_hub *hub;  /* where event streams park (events.c) */
	void *sink_state;        /* ROUTE_STREAM: the sink's (borrowed) */
	const struct auth_who *who;  /* who sent it (server.c's) */
	/* called once when the request is over, however it ended (the
	 * client gone before a 101 was sent, too), or NULL */
	void (*done)(void *arg);
	void *done_arg;
	/* headers of the reply besides the usual (around.c adds them) */
	char etag[32];           /* the resource's ETag, quoted, or "" */
	char *link;              /* a Link header (paging; owned), or NULL */
	struct page *page;       /* a list's ?limit, ?sort, ?after (page.c),
	                          * NULL when the route is no list */
	bool paged;              /* the handler paged its list itself */
};

typedef int (*req_handler)(struct req *r);

/*
 * Where a route's requests run (server.c).  The server answers on a small
 * pool of threads, each serving many connections: a request that may take
 * long would hold up every connection of its thread, so it gets a thread
 * of its own while its connection is suspended.  Any request with
 * ?wait=N (N > 0) does too, whatever its route says.
 */
enum route_run {
	ROUTE_THREAD = 0,        /* a thread of its own: it may wait for
	                          * libvirt, the writer and its fsync, or
	                          * build a long listing (the safe default) */
	ROUTE_POOL,              /* on the pool: one indexed read, bounded,
	                          * never waits (GET /v1/events never
	                          * blocks: its stream parks, events.c) */
	ROUTE_STREAM,            /* its body is streamed to the route's sink
	                          * (struct req_sink) as it comes, never held
	                          * in memory; then as ROUTE_THREAD */
};

/*
 * A route whose body is streamed (ROUTE_STREAM): never held in memory,
 * but handed to its sink as it comes.  server.c calls open before a byte
 * of the body is read (after the access check), write for each chunk (on
 * the connection's pool thread: it must be quick), end on the request's
 * own thread once the body is all in, then the route's handler (with
 * r->sink_state and r->body = what end returned), and close when the
 * request is over, however it ended (answered, refused, cut short by the
 * client): close frees the state and removes whatever the handler did
 * not take over.
 */
struct req_sink {
	/* Check the request; 0 with *state set (even on -1: it is closed),
	 * or -1 with the error, which is the reply. */
	int (*open)(struct req *r, void **state);
	/* Bytes of the body; 0, or -1 with the error: the rest of the body
	 * is dropped and the error is the reply. */
	int (*write)(void *state, const char *buf, size_t len);
	/* The body is all in: what the request asks, as an object (for
	 * Idempotency-Key), or NULL with the error. */
	json_t *(*end)(void *state);
	void (*close)(void *state);
};

struct route {
	const char *method;
	const char *pattern;     /* '*' matches one path segment */
	req_handler handler;
	enum auth_role role;     /* the least role that may call it */
	enum route_run run;
};

/* page.c: paging of lists (see there). */
#define PAGE_SORTS_MAX 4
#define PAGE_FILTERS_MAX 6
#define PAGE_KEY_MAX 256
/* the longest cursor, decoded and as text */
#define PAGE_CURSOR_RAW (3 + 3 * PAGE_KEY_MAX)
#define PAGE_CURSOR_TEXT ((PAGE_CURSOR_RAW + 2) / 3 * 4)
struct page_sort {
	const char *name;        /* as ?sort= says it */
	const char *member;      /* the item's member it sorts by */
	bool desc;               /* newest first */
	/* or, when set, the item's sort text made by this (into buf[len]) */
	const char *(*key)(json_t *item, char *buf, size_t len);
};
struct page_list {
	const char *pattern;     /* the list's GET route */
	const char *items;       /* the reply's member holding the array */
	const char *id;          /* the member that tells items apart */
	struct page_sort sorts[PAGE_SORTS_MAX];   /* [0]: the default */
	const char *filters[PAGE_FILTERS_MAX];    /* query parameters that
	                          * must equal the item's member of that name
	                          * ("label": k or k=v in its labels) */
};
struct page {
	const struct page_list *list;
	int64_t limit;
	const struct page_sort *sort;
	bool after;              /* a cursor was given: start after it */
	char key[PAGE_KEY_MAX];  /* the last item's sort value (text) */
	char id[PAGE_KEY_MAX];   /* and its id */
};
/* The list route rt is, or NULL. */
const struct page_list *page_list_find(const struct route *rt);
/* ?limit, ?sort and ?after of r into pg; -1 with 400 naming the field. */
int page_begin(struct req *r, const struct page_list *pl, struct page *pg);
/* The reply's list (r->reply) cut down to the page, in memory: filtered,
 * sorted, after the cursor, at most limit; sets the Link of the next. */
int page_apply(struct req *r, const struct page *pg);
/* There is a page after the item (key, id): its Link into r->link. */
int page_next(struct req *r, const struct page *pg, const char *key,
    const char *id);
/* Order of (key, id) pairs, as a page is sorted (ascending). */
int page_compare(const char *ka, const char *ia, const char *kb,
    const char *ib);
/* The cursor after (key, id) in sort: base64url text into out[len];
 * 0, or -1 when it does not fit.  decode: 0, or -1 when text is none. */
int page_cursor_encode(const char *sort, const char *key, const char *id,
    char *out, size_t len);
int page_cursor_decode(const char *text, char *sort, size_t slen,
    char *key, size_t klen, char *id, size_t ilen);

/* precond.c: conditional requests (ETag, If-Match, If-None-Match). */
/* Before the handler: 0 to run it, 1 when the reply is a 304 (set), -1
 * with the error (412; 400 for a malformed header). */
int precond_before(struct req *r, const struct route *rt);
/* After it (rc its result): drop an unused expectation; name the current
 * ETag in a 412 that its transaction found. */
void precond_after(struct req *r, const struct route *rt, int rc);
/* Does the If-Match / If-None-Match value name etag (quoted)?  weak_ok:
 * W/ tags match too.  1, 0, or -1 when it is malformed. */
int precond_match(const char *header, const char *etag, bool weak_ok);

/* around.c: a route's handler with what every route gets around it
 * (paging, conditional requests); and their reply headers into resp. */
int around_handler(struct req *r, const struct route *rt);
void around_headers(struct req *r, struct MHD_Response *resp,
    unsigned status);

/* router.c: the resource a route acts on (ETag, If-Match). */
struct route_resource {
	const char *pattern;     /* the single resource's GET pattern */
	enum store_kind kind;
	int key, key2;           /* which r->params name it (-1: none) */
};
/* The resource rt acts on, or NULL; *exact: rt is its pattern itself. */
const struct route_resource *router_resource(const struct route *rt,
    bool *exact);

/*
 * router.c: find the route for method + path; fills r->params.  NULL
 * with the error set when none: 405 with the methods the path has in
 * allow (the Allow header), else 404; allow is "" whenever it is not a
 * 405.
 */
const struct route *router_match(struct req *r, char *allow, size_t allow_len);
/* router.c: where a ROUTE_STREAM route's body goes (NULL: not one). */
const struct req_sink *router_sink(const struct route *rt);
/* router.c: the whole table (*n rows), for --routes and the tests. */
const struct route *router_table(size_t *n);

/*
 * limits.c: is the request's head (path and query, header fields) within
 * hangar's limits?  0, or -1 with the error (414, 431).
 */
int limits_head(struct MHD_Connection *conn, const char *url);

/* idem.c: Idempotency-Key.  A stored reply to send again: */
struct idem_reply {
	int status;
	char location[256];
	char *body;              /* JSON text (owned: free it) */
};
#define IDEM_RUN 0
#define IDEM_REPLAY 1
/*
 * Before a POST or DELETE handler runs: IDEM_RUN (no key, or the key is
 * now claimed for this request: r->idem_key is set), IDEM_REPLAY with
 * *out filled (send that instead), or -1 with the error (bad key, key
 * used with another request, first request still in progress).
 */
int idem_begin(struct req *r, struct idem_reply *out);
/* After the handler: remember a 2xx reply, or free the key. */
void idem_end(struct req *r, int status, json_t *reply);

/* problem.c: the problem+json body for err (owned by the caller). */
json_t *problem_json(const struct err *e, const char *instance);

/* body.c: checking request bodies and query parameters. */
/* BODY_ANY: any JSON value; the handler checks it */
enum body_type { BODY_INT, BODY_BOOL, BODY_STRING, BODY_NUMBER, BODY_OBJECT,
    BODY_ANY, BODY_ARRAY };

struct body_field {
	const char *name;
	enum body_type type;
	bool required;
	int64_t min, max;        /* for BODY_INT; max length for BODY_STRING */
};

/*
 * Check r->body against fields (a NULL body is an empty object): it must
 * be an object, with no unknown field, each of the right type and range.
 * 0, or -1 with ERR_INVALID naming the field.
 */
int body_check(struct req *r, const struct body_field *fields, size_t n);
/* The same for a nested object; prefix names it in errors ("reserved"). */
int body_check_object(json_t *obj, const char *prefix,
    const struct body_field *fields, size_t n);
/*
 * The field that byte pos of the JSON text[len] is in, as a path
 * ("cloud_init.user_data", "disks[1].bus") into field[flen]; "" for the
 * top level.  For the bytes before pos to be JSON is enough (a parser's
 * error position: what comes after is not read).
 */
void body_where(const char *text, size_t len, size_t pos, char *field,
    size_t flen);
/* A ratio field of obj: a number above 0, at most 1000; def if absent. */
int body_ratio(json_t *obj, const char *name, double def, double *out);
/*
 * A labels object ({"rack":"a"}): keys and values 1-63 of [a-z0-9._-],
 * at most max of them, copied into out.  field names it in errors.
 */
int body_labels(json_t *obj, const char *field, struct sched_label *out,
    size_t max, size_t *n);
/* Values of checked fields (defaults when absent). */
int64_t body_int(struct req *r, const char *name, int64_t def);
bool body_bool(struct req *r, const char *name, bool def);
const char *body_string(struct req *r, const char *name);

/* A query parameter, or NULL. */
const char *req_query(struct req *r, const char *name);
/* An integer query parameter in [min, max]; def when absent; -1 + 400. */
int req_query_int(struct req *r, const char *name, int64_t min, int64_t max,
    int64_t def, int64_t *out);
/* Validate a VM name: 1-63 of [a-z0-9-], not starting with '-'. */
int req_check_name(const char *field, const char *name);

/* A new random id (a UUID) into out. */
void req_new_id(char out[UUID_STR_LEN]);

/* Replies. */
int req_reply(struct req *r, int status, json_t *reply);
struct jw;
/* Reply with the text written into w (taken: w is empty afterwards);
 * -1 with ERR_INTERNAL when w failed (out of memory, not UTF-8). */
int req_reply_text(struct req *r, int status, struct jw *w);
void req_set_location(struct req *r, const char *prefix, const char *id);
/* RFC 3339 string, or JSON null for 0. */
json_t *req_time(int64_t ms);

/* placements.c: the placement part of a VM create body, and the
 * explain output.  Labels are copied into pr's own storage. */
struct place_req;
struct place_out;
#define PLACEMENTS_LABELS_MAX 32
struct placements_buf {
	struct sched_label labels[PLACEMENTS_LABELS_MAX];
	struct vm_rec vm;                      /* firmware, machine, disk_gib */
	struct disk_rec disks[VM_DISKS_MAX];   /* the VM's disks, named */
	int ndisks;
	char image_sha[65];                    /* its root disk's image */
	struct nic_rec nics[VM_NICS_MAX];      /* its NICs, as asked */
	int nnics;
	/* the host bridges they attach to (bridge networks), each once */
	char bridges[VM_NICS_MAX][NETWORK_BRIDGE_LEN];
	int nbridges;
};
extern const struct body_field placements_fields[];
extern const size_t placements_nfields;
int placements_parse(struct req *r, struct place_req *pr,
    struct placements_buf *buf);
json_t *placements_hosts_json(const struct place_out *out);

/* resize.c: does a PATCH body ask for a resize?  Then resize_vm does it
 * (called by vms_update), its body checked by resize_parse (0, or -1
 * with ERR_INVALID naming the field). */
struct resize_request;
bool resize_body(const json_t *body);
int resize_parse(struct req *r, struct resize_request *rq);
int resize_vm(struct req *r);

/* cloud_init.c: "cloud_init" in a create body.  cloud_init_parse checks
 * it and appends the seed's disk (a CD-ROM on the bus machine vm->machine
 * reaches) to d[*n]; nothing without it.  cloud_init_spec: the settings
 * to store into *out (JSON text, malloc'd; the VM's name as the host name
 * unless one is given), NULL when the body has none. */
int cloud_init_parse(struct req *r, const struct vm_rec *vm,
    struct disk_rec *d, int *n);
int cloud_init_spec(struct req *r, const char *vm_name, char **out);

/* disks.c: a VM's disks in a create body, and as JSON. */
/* s must be one of set[0..n-1]; ERR_INVALID naming field otherwise. */
int disks_word(const char *field, const char *s, const char *const *set,
    size_t n);
/* The root disk (disk_gib, disk_bus) and "disks"; vm gets firmware,
 * machine and disk_gib (the sum). */
int disks_parse_create(struct req *r, struct vm_rec *vm, struct disk_rec *d,
    int *n);
/* Does library image name say its guest is Windows (its os hint)? */
bool disks_image_windows(struct req *r, const char *name);
json_t *disks_json(const struct disk_rec *d, int n);
void disks_write(struct jw *w, const struct disk_rec *d, int n);

/* Resource renderers, shared between handlers. */
json_t *vms_json(const struct vm_rec *v);
/* With its disks (a VM on its own: GET, create). */
json_t *vms_json_full(const struct vm_rec *v, const struct disk_rec *d,
    int n);
/* The same text json_dumps(vms_json_full(v, d, n), JSON_COMPACT) makes,
 * into w; n < 0: without disks, as vms_json(v). */
void vms_write(struct jw *w, const struct vm_rec *v, const struct disk_rec *d,
    int n);
/* Read the VM and its disks (*n of them) in one read snapshot. */
int vms_load_full(struct req *r, const char *id, struct vm_rec *v,
    struct disk_rec *d, int *n);
json_t *operations_json(const struct op_rec *o);
/*
 * Reply with a recorded operation: 202 + its JSON and Location, or, when
 * wait > 0 seconds, after waiting for it: 200 once it has finished.
 */
int operations_reply(struct req *r, struct op_rec *op, int64_t wait);

/* backups.c, backups_archive.c: a VM's backups */
json_t *backups_json(const struct backup_rec *b, bool with_spec);
int backups_list(struct req *r);
int backups_create(struct req *r);
int backups_get(struct req *r);
int backups_delete_one(struct req *r);
int backups_archive(struct req *r);
int backups_restore(struct req *r);
/* A failed operation's error, as recorded. */
void operations_err(const struct op_rec *o, struct err *e);
json_t *hosts_json(const struct host_rec *h);
json_t *events_json(const struct event_rec *e);
/*
 * events.c: an event stream that has sent all there is parks in the hub
 * (its connection suspended, no thread held); the hub's thread resumes it
 * when an event is committed, its keepalive is due or the daemon stops.
 * NULL with the error when the thread cannot start.
 */
struct events_hub *events_hub_start(struct app *app);
/* Resume every parked stream; each then ends, as the hub parks no more.
 * Returns at once; may be called again.  NULL is fine. */
void events_hub_stop(struct events_hub *h);
/* Stop it (as above), end its thread and free it, once no stream can
 * reach it any more (the HTTP daemons are stopped).  NULL is fine. */
void events_hub_free(struct events_hub *h);
json_t *snapshots_json(const struct snap_rec *s);

/* Handlers (one file per resource). */
int root_get(struct req *r);
/* metrics.c: the Prometheus text of the whole fleet */
int metrics_get(struct req *r);
int hosts_list(struct req *r);
int hosts_get(struct req *r);
int hosts_create(struct req *r);
int hosts_update(struct req *r);
int hosts_delete(struct req *r);
int hosts_drain(struct req *r);
int hosts_undrain(struct req *r);
/* hosts_evacuate.c */
int hosts_evacuate(struct req *r);
int hosts_unfence(struct req *r);
int vms_migrate(struct req *r);
/* clone.c */
int vms_clone(struct req *r);
int vms_template(struct req *r);
int drift_list(struct req *r);
int drift_get(struct req *r);
int drift_orphans(struct req *r);
int drift_adopt(struct req *r);
int plans_consolidation(struct req *r);
int plans_rebalance(struct req *r);
int plans_get(struct req *r);
int plans_execute(struct req *r);
/* nics.c: a VM's NICs in a create body, and as JSON. */
/* "nics" of the create body into buf (networks looked up, words and
 * addresses checked; the store checks ranges and what is taken). */
int nics_parse_create(struct req *r, struct placements_buf *buf);
/* NICs as JSON, each with the addresses it was last seen with. */
json_t *nics_json(const struct nic_rec *n, int count);
int nics_list(struct req *r);
int nics_add_one(struct req *r);
int nics_remove(struct req *r);
/* envs.c: test environments.  The ttl ("4h", "90s"; NULL: none) into
 * *ttl_s, and an environment's (or a role's) name, checked: ERR_INVALID
 * naming the field. */
int envs_ttl_parse(const char *text, int64_t *ttl_s);
int envs_check_name(const char *field, const char *name);
int envs_list(struct req *r);
int envs_get(struct req *r);
int envs_create(struct req *r);
int envs_update(struct req *r);
int envs_delete(struct req *r);
int networks_list(struct req *r);
int networks_get(struct req *r);
int networks_create(struct req *r);
int networks_update(struct req *r);
int networks_remove(struct req *r);
int groups_list(struct req *r);
int groups_get(struct req *r);
int groups_create(struct req *r);
int groups_delete(struct req *r);
int placements_create(struct req *r);
int vms_list(struct req *r);
int vms_get(struct req *r);
/* Reply with VM id (a uuid or name) as GET /v1/vms/{vm} shows it. */
int vms_reply_one(struct req *r, const char *id, int status);
int vms_create(struct req *r);
/* What links a VM being created to its test environment (envs.c). */
struct vms_env_link {
	int64_t env_id;
	const char *role;          /* its entry's name in the request */
	const char *parent;        /* the environment's operation */
};
/*
 * r->body as a VM create body (ln NULL), or as one of an environment's
 * VMs (ln: linked to it, started unless "start" is false): checked,
 * placed and committed with its create operation, queued but not
 * submitted (*op).  *vm its row, buf its disks and NICs.  ERR_NO_CAPACITY
 * sets r->problem_ext to every host's verdict.
 */
int vms_place_body(struct req *r, const struct vms_env_link *ln,
    struct placements_buf *buf, struct vm_rec *vm, struct op_rec *op);
int vms_delete(struct req *r);
int vms_start(struct req *r);
int vms_stop(struct req *r);
int vms_reboot(struct req *r);
int vms_pause(struct req *r);
int vms_resume(struct req *r);
int vms_update(struct req *r);
int operations_list(struct req *r);
int operations_get(struct req *r);
int operations_cancel(struct req *r);
int events_get(struct req *r);
int guest_show(struct req *r);
int disks_list(struct req *r);
int disks_get(struct req *r);
int disks_add_one(struct req *r);
int disks_remove(struct req *r);
int disks_resize(struct req *r);
int snapshots_list(struct req *r);
int snapshots_get(struct req *r);
int snapshots_create(struct req *r);
int snapshots_revert(struct req *r);
int snapshots_delete(struct req *r);
/* console.c: a VM's serial console */
int console_ws(struct req *r);
int console_log_get(struct req *r);
int console_type_post(struct req *r);
/* vms.c: VM id (name or uuid) from the store; ERR_NOT_FOUND */
int vms_load(struct req *r, const char *id, struct vm_rec *v);
int tokens_list(struct req *r);
int tokens_create(struct req *r);
int tokens_delete(struct req *r);
/* images.c, images_upload.c: the image library */
extern const struct req_sink images_upload_sink;
/* vms_import.c, vms_import_tar.c: POST /v1/vms/import (an archive, or
 * {"backup": id}) and its sink */
int vms_import(struct req *r);
extern const struct req_sink vms_import_sink;
int images_check_name(const char *name);
int images_create(struct req *r);
int images_list(struct req *r);
int images_get(struct req *r);
int images_delete(struct req *r);
int images_prune(struct req *r);
int images_file(struct req *r);

#endif
