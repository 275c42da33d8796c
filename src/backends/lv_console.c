/*
 * lv_console.c - a domain's serial console through libvirt
 * (virDomainOpenConsole), so it works for remote hosts as for local ones:
 * a non-blocking virStream on the host's connection, read and written
 * from libvirt's event loop thread (lv_conn.c runs it), and the tail of
 * the console's log file on the host, read through libvirt too.
 *
 * Locks: mu guards the stream and the bytes waiting to be sent; cb_mu is
 * held while the caller's fn runs, so that once lv_console_close has
 * cleared fn (taking cb_mu), fn is neither running nor called again.  fn
 * is never called with mu held, and must not close the console.
 *
 * Freeing: libvirt may be running our stream callback on its event thread
 * while another thread removes it, and whether it calls a free callback
 * afterwards differs between its versions.  So the stream is let go of
 * (callback removed, stream aborted and freed, struct freed) only on the
 * event thread itself, by a one-shot timer that lv_console_close adds:
 * the loop runs one callback at a time, so none of ours is under way then.
 *
 * Also the keyboard (virDomainSendKey): text typed as key strokes into a
 * graphical console.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/error.h"
#include "../common/log.h"
#include "lv_int.h"

#define LV_CONSOLE_OUT_MAX (64 * 1024)   /* bytes waiting to be sent */
#define LV_CONSOLE_READ_MAX (64 * 1024)  /* read per wake-up, at most */
#define LV_KEYS_CHUNK 32                 /* key strokes queued at once */

struct backend_console {
	pthread_mutex_t mu;          /* the stream and out */
	pthread_mutex_t cb_mu;       /* held while fn runs */
	virConnectPtr c;
	virStreamPtr st;
	bool registered;             /* the event callback is on st */
	bool dead;                   /* EOF or error: nothing more */
	backend_console_fn fn;       /* under cb_mu; NULL once closed */
	void *opaque;
	char out[LV_CONSOLE_OUT_MAX];
	size_t nout;
};

static void
lv_console_free(struct backend_console *k)
{
	if (k->st)
		virStreamFree(k->st);
	if (k->c)
		virConnectClose(k->c);
	pthread_mutex_destroy(&k->mu);
	pthread_mutex_destroy(&k->cb_mu);
	free(k);
}

/* Tell the caller (data, n > 0) or that it ended (n == 0, data why). */
static void
lv_console_tell(struct backend_console *k, const char *data, size_t n)
{
	pthread_mutex_lock(&k->cb_mu);
	if (k->fn)
		k->fn(k->opaque, data, n);
	pthread_mutex_unlock(&k->cb_mu);
}

/* Send what waits (mu held); -1 when the stream failed. */
static int
lv_console_flush(struct backend_console *k)
{
	while (k->nout > 0) {
		int w = virStreamSend(k->st, k->out, k->nout);

		if (w == -2)
			break;
		if (w < 0)
			return -1;
		memmove(k->out, k->out + w, k->nout - (size_t)w);
		k->nout -= (size_t)w;
	}
	if (k->registered)
		virStreamEventUpdateCallback(k->st, VIR_STREAM_EVENT_READABLE |
		    VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP |
		    (k->nout ? VIR_STREAM_EVENT_WRITABLE : 0));
	return 0;
}

/* The stream can be read or written, or broke: libvirt's event thread. */
static void
lv_console_event(virStreamPtr st, int events, void *opaque)
{
	struct backend_console *k = opaque;
	char buf[4096];
	const char *why = NULL;
	size_t total = 0;
	int n;

	(void)st;
	if (events & VIR_STREAM_EVENT_WRITABLE) {
		pthread_mutex_lock(&k->mu);
		if (!k->dead && lv_console_flush(k) < 0)
			why = "the console stream failed";
		pthread_mutex_unlock(&k->mu);
	}
	while (why == NULL && (events & VIR_STREAM_EVENT_READABLE) &&
	    total < LV_CONSOLE_READ_MAX) {
		pthread_mutex_lock(&k->mu);
		n = k->dead ? -2 : virStreamRecv(k->st, buf, sizeof(buf));
		pthread_mutex_unlock(&k->mu);
		if (n == -2)
			break;
		if (n == 0)
			why = "the console closed (the guest stopped or "
			    "moved away)";
		else if (n < 0)
			why = "the console stream failed";
		else
			lv_console_tell(k, buf, (size_t)n);
		total += n > 0 ? (size_t)n : 0;
	}
	if (why == NULL && (events & (VIR_STREAM_EVENT_ERROR |
	    VIR_STREAM_EVENT_HANGUP)))
		why = "the console hung up";
	if (why == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	if (k->dead)
		why = NULL;
	k->dead = true;
	if (k->registered) {
		virStreamEventRemoveCallback(k->st);
		k->registered = false;
	}
	pthread_mutex_unlock(&k->mu);
	if (why)
		lv_console_tell(k, why, 0);
}

struct lv_console_open {
	virStreamPtr st;
};

static int
lv_console_open_dom(virDomainPtr d, void *arg)
{
	struct lv_console_open *o = arg;
	virErrorPtr e;

	if (virDomainOpenConsole(d, NULL, o->st, 0) == 0)
		return 0;
	e = virGetLastError();
	/* another client (virsh console) has it: libvirt says "failed" */
	if (e && e->message && strstr(e->message, "Active console session")) {
		err_set(ERR_CONFLICT, "the console is open elsewhere (another "
		    "client such as virsh console has it)");
		return LV_REPORTED;
	}
	return -1;
}

int
lv_console_open(struct backend_conn *bc, const char *uuid,
    backend_console_fn fn, void *opaque, struct backend_console **out)
{
	struct backend_console *k = calloc(1, sizeof(*k));
	struct lv_console_open o;

	*out = NULL;
	if (k == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	pthread_mutex_init(&k->mu, NULL);
	pthread_mutex_init(&k->cb_mu, NULL);
	k->fn = fn;
	k->opaque = opaque;
	if ((k->c = lv_get(bc)) == NULL)
		goto fail;
	if ((k->st = virStreamNew(k->c, VIR_STREAM_NONBLOCK)) == NULL) {
		lv_fail("make a stream");
		goto fail;
	}
	o.st = k->st;
	if (lv_on_domain(k->c, bc->uri, uuid, "open the console", 0,
	    lv_console_open_dom, &o) < 0)
		goto fail;
	/* no free callback: lv_console_reap frees k */
	if (virStreamEventAddCallback(k->st, VIR_STREAM_EVENT_READABLE |
	    VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP,
	    lv_console_event, k, NULL) < 0) {
		lv_fail("watch the console stream");
		virStreamAbort(k->st);
		goto fail;
	}
	k->registered = true;
	*out = k;
	return 0;
fail:
	lv_console_free(k);
	return -1;
}

int
lv_console_write(struct backend_conn *bc, struct backend_console *k,
    const void *buf, size_t n)
{
	int r = 0;

	(void)bc;
	pthread_mutex_lock(&k->mu);
	if (k->dead) {
		r = err_set(ERR_CONFLICT, "the console has closed");
	} else if (n > sizeof(k->out) - k->nout) {
		r = err_set(ERR_UNAVAILABLE, "the console is not taking "
		    "input this fast");
		err_set_retryable(true);
	} else {
		memcpy(k->out + k->nout, buf, n);
		k->nout += n;
		if (lv_console_flush(k) < 0)
			r = lv_fail("write to the console");
	}
	pthread_mutex_unlock(&k->mu);
	return r;
}

/* The one-shot timer of lv_console_close, on libvirt's event thread. */
static void
lv_console_reap(int timer, void *opaque)
{
	struct backend_console *k = opaque;

	virEventRemoveTimeout(timer);
	if (k->registered)
		virStreamEventRemoveCallback(k->st);
	if (!k->dead)
		virStreamAbort(k->st);
	lv_console_free(k);
}

void
lv_console_close(struct backend_conn *bc, struct backend_console *k)
{
	(void)bc;
	if (k == NULL)
		return;
	/* waits for a call of fn under way; none after this */
	pthread_mutex_lock(&k->cb_mu);
	k->fn = NULL;
	pthread_mutex_unlock(&k->cb_mu);
	pthread_mutex_lock(&k->mu);
	/* what was typed goes first, as far as it goes without waiting */
	if (!k->dead && lv_console_flush(k) < 0)
		k->dead = true;
	pthread_mutex_unlock(&k->mu);
	/* k may be gone as soon as this returns: nothing of it after */
	if (virEventAddTimeout(0, lv_console_reap, k, NULL) < 0)
		log_warnx("libvirt: cannot let a console stream go: %s",
		    virGetLastErrorMessage());
}

/* --- the keyboard --- */

struct lv_keys {
	const struct key_combo *combos;
	size_t n;
	int hold_ms;
};

/*
 * One virDomainSendKey per combo: the keys of one call are pressed
 * together, so "aa" needs two.  QEMU queues them, in order, with the hold
 * time between press and release, and drops what does not fit in its
 * input queue: so they go in chunks, each waited out before the next
 * (and the last before the reply, so the guest has them all by then).
 */
static int
lv_send_keys_dom(virDomainPtr d, void *arg)
{
	const struct lv_keys *k = arg;
	struct timespec pause;

	for (size_t i = 0; i < k->n; i++) {
		unsigned int codes[KEYMAP_COMBO_MAX];
		long ms = (long)k->hold_ms * LV_KEYS_CHUNK;

		memcpy(codes, k->combos[i].keys, sizeof(codes));
		if (virDomainSendKey(d, VIR_KEYCODE_SET_LINUX,
		    (unsigned int)k->hold_ms, codes, k->combos[i].n, 0) < 0)
			return -1;
		if ((i + 1) % LV_KEYS_CHUNK != 0 && i + 1 != k->n)
			continue;
		pause.tv_sec = ms / 1000;
		pause.tv_nsec = (ms % 1000) * 1000000L;
		nanosleep(&pause, NULL);
	}
	return 0;
}

int
lv_send_keys(struct backend_conn *bc, const char *uuid,
    const struct key_combo *combos, size_t n, int hold_ms)
{
	struct lv_keys k = { combos, n, hold_ms };

	return lv_with_domain(bc, uuid, "send keys to the domain", 0,
	    lv_send_keys_dom, &k);
}

/* --- the console's log: the tail of a file on the host --- */

/*
 * The name of the transient pool made over a log directory that no pool
 * covers yet.  Transient: it is gone when libvirtd restarts, and made
 * again at the next read.
 */
#define LV_LOG_POOL "hangar-console-logs"

/* The pool over directory dir on c, made (transient) when none is. */
static virStoragePoolPtr
lv_log_pool(virConnectPtr c, const char *uri, const char *dir)
{
	virStoragePoolPtr p = lv_pool_by_path(c, uri, dir);
	char *xml;

	if (p != NULL || err_last()->code != ERR_NOT_FOUND)
		return p;
	err_clear();
	if ((xml = domain_xml_pool(LV_LOG_POOL, dir)) == NULL)
		return NULL;
	if ((p = virStoragePoolCreateXML(c, xml, 0)) == NULL)
		lv_fail("open the console log's directory as a storage pool");
	free(xml);
	return p;
}

/* The last bytes of volume v (at most *n) into buf; *n the count. */
static int
lv_vol_tail(virConnectPtr c, virStorageVolPtr v, char *buf, size_t *n)
{
	virStorageVolInfo info;
	virStreamPtr st = NULL;
	unsigned long long off, len;
	size_t got = 0;
	int r = -1, k;

	if (virStorageVolGetInfo(v, &info) < 0)
		return lv_fail("read the console log's size");
	len = info.capacity < *n ? info.capacity : *n;
	off = info.capacity - len;
	*n = 0;
	if (len == 0)
		return 0;
	if ((st = virStreamNew(c, 0)) == NULL)
		return lv_fail("make a stream");
	if (virStorageVolDownload(v, st, off, len, 0) < 0) {
		lv_fail("read the console log");
		goto done;
	}
	while (got < len && (k = virStreamRecv(st, buf + got,
	    (size_t)len - got)) > 0)
		got += (size_t)k;
	if (k < 0 || virStreamFinish(st) < 0) {
		lv_fail("read the console log");
		virStreamAbort(st);
		goto done;
	}
	*n = got;
	r = 0;
done:
	virStreamFree(st);
	return r;
}

int
lv_file_tail(struct backend_conn *bc, const char *path, char *buf,
    size_t *n)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	char dir[1024];
	const char *slash = strrchr(path, '/');
	int r = -1;

	if (c == NULL)
		return -1;
	if (slash == NULL || slash == path ||
	    (size_t)(slash - path) >= sizeof(dir)) {
		err_set(ERR_INTERNAL, "'%s' is not a file's full path", path);
		goto done;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((p = lv_log_pool(c, bc->uri, dir)) == NULL)
		goto done;
	/* a file new since the pool was last looked at needs a refresh (of
	 * the whole directory: only then); the size of one it knows is read
	 * afresh by virStorageVolGetInfo */
	if ((v = virStorageVolLookupByPath(c, path)) == NULL &&
	    virStoragePoolRefresh(p, 0) < 0) {
		lv_fail("look at the console log's directory");
		goto done;
	}
	if (v == NULL && (v = virStorageVolLookupByPath(c, path)) == NULL) {
		lv_fail("find the console log");
		goto done;
	}
	r = lv_vol_tail(c, v, buf, n);
done:
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return r;
}
