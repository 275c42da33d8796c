/*
 * console.c - a VM's serial console, shared by its clients: one backend
 * console per VM (the hypervisor allows one), opened when the first
 * client attaches and closed when the last one leaves; what the guest
 * prints goes to every client; one client at a time may write (another
 * that wants to write is refused unless it takes over, which ends the
 * previous writer); typing a text opens the console for a moment when
 * nobody has it, or presses its keys on the VM's keyboard.  Also where
 * the console's log file is on a host, and reading its tail (across a
 * rotation by virtlogd).  Nothing here knows of HTTP or WebSockets: a client
 * is two hooks (api/console.c bridges them to a WebSocket).
 *
 * Locks: mu guards the list and every console and client on it.  open_mu
 * is held while a backend console is opened or closed, so that a console
 * being closed is gone before the next one opens, and so that mu is never
 * held across those calls: closing waits for the backend's event thread
 * to leave our output hook, which takes mu.  The hooks are called with mu
 * held and must only note what happened and return.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

#define CONSOLE_TYPE_WAIT_S 2
/* how long a typed key is held down: long enough for a slow (TCG) guest
 * to read each scancode from its PS/2 controller */
#define CONSOLE_KEY_HOLD_MS 10

/* Where libvirt's virtlogd keeps a domain's serial console output. */
#define CONSOLE_LOG_DIR "/var/log/libvirt/qemu"

/* One VM's open backend console and its clients. */
struct console_vm {
	char uuid[UUID_STR_LEN];
	char name[NAME_MAX_LEN];
	struct backend_conn *bc;
	struct backend_console *con;
	struct console_client *clients;
	struct console_client *writer;   /* or NULL */
	int users;                       /* clients and typists */
	bool dead;                       /* the backend console ended */
	uint64_t printed;                /* bytes the guest printed */
	bool listed;                     /* on consoles.vms */
	struct consoles *cs;
	struct console_vm *next;
};

struct console_client {
	struct console_vm *cv;
	const struct console_hooks *h;
	void *arg;
	bool ended;                      /* told: nothing more comes */
	struct console_client *next;
};

struct consoles {
	struct app *app;
	pthread_mutex_t mu, open_mu;
	pthread_cond_t printed;          /* a console printed, or ended */
	struct console_vm *vms;
};

void
console_log_path(const char *uuid, char *out, size_t len)
{
	snprintf(out, len, "%s/%s-serial.log", CONSOLE_LOG_DIR, uuid);
}

struct consoles *
consoles_new(struct app *app)
{
	struct consoles *cs = calloc(1, sizeof(*cs));

	if (cs == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	cs->app = app;
	pthread_mutex_init(&cs->mu, NULL);
	pthread_mutex_init(&cs->open_mu, NULL);
	pthread_cond_init(&cs->printed, NULL);
	return cs;
}

/* Every client has gone by now (api_stop ended them). */
void
consoles_free(struct consoles *cs)
{
	if (cs == NULL)
		return;
	pthread_mutex_destroy(&cs->mu);
	pthread_mutex_destroy(&cs->open_mu);
	pthread_cond_destroy(&cs->printed);
	free(cs);
}

/* Take cv off the list (mu held). */
static void
console_unlist(struct consoles *cs, struct console_vm *cv)
{
	for (struct console_vm **p = &cs->vms; *p; p = &(*p)->next)
		if (*p == cv) {
			*p = cv->next;
			break;
		}
	cv->listed = false;
}

/* Tell cl it is over (mu held), once. */
static void
console_end(struct console_client *cl, int code, const char *why)
{
	if (cl->ended)
		return;
	cl->ended = true;
	cl->h->ended(cl->arg, code, why);
}

/* The backend's hook, on its event thread: output, or the end. */
static void
console_on_output(void *opaque, const char *data, size_t n)
{
	struct console_vm *cv = opaque;
	struct consoles *cs = cv->cs;

	pthread_mutex_lock(&cs->mu);
	if (n == 0) {
		cv->dead = true;
		if (cv->listed)
			console_unlist(cs, cv);
		for (struct console_client *cl = cv->clients; cl; cl = cl->next)
			console_end(cl, CONSOLE_END_GONE, data);
	} else {
		cv->printed += n;
		for (struct console_client *cl = cv->clients; cl; cl = cl->next)
			if (!cl->ended)
				cl->h->output(cl->arg, data, n);
	}
	pthread_cond_broadcast(&cs->printed);
	pthread_mutex_unlock(&cs->mu);
}

/* The VM's console must be running (or paused: it opens, and waits). */
static int
console_check_state(const struct vm_rec *v)
{
	if (strcmp(v->state, "running") == 0 || strcmp(v->state, "paused") == 0)
		return 0;
	return err_set(ERR_CONFLICT, "vm '%s' is %s: its console is there "
	    "only while it runs", v->name, v->state);
}

/*
 * The open console of v, one more user on it (open_mu held): the listed
 * one, or a new one.  NULL with the error.
 */
static struct console_vm *
console_get(struct consoles *cs, const struct vm_rec *v)
{
	struct console_vm *cv;

	pthread_mutex_lock(&cs->mu);
	for (cv = cs->vms; cv; cv = cv->next)
		if (strcmp(cv->uuid, v->uuid) == 0)
			break;
	if (cv)
		cv->users++;
	pthread_mutex_unlock(&cs->mu);
	if (cv)
		return cv;
	if (console_check_state(v) < 0)
		return NULL;
	if ((cv = calloc(1, sizeof(*cv))) == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	snprintf(cv->uuid, sizeof(cv->uuid), "%s", v->uuid);
	snprintf(cv->name, sizeof(cv->name), "%s", v->name);
	cv->cs = cs;
	cv->users = 1;
	if ((cv->bc = fleet_conn(cs->app->fleet, v->host_id)) == NULL ||
	    backend_console_open(cv->bc, v->uuid, console_on_output, cv,
	    &cv->con) < 0) {
		free(cv);
		return NULL;
	}
	pthread_mutex_lock(&cs->mu);
	if (!cv->dead) {
		cv->next = cs->vms;
		cs->vms = cv;
		cv->listed = true;
	}
	pthread_mutex_unlock(&cs->mu);
	return cv;
}

/* One user fewer on cv (open_mu held): the last one closes it. */
static void
console_put(struct consoles *cs, struct console_vm *cv)
{
	bool last;

	pthread_mutex_lock(&cs->mu);
	last = --cv->users == 0;
	if (last && cv->listed)
		console_unlist(cs, cv);
	pthread_mutex_unlock(&cs->mu);
	if (!last)
		return;
	backend_console_close(cv->bc, cv->con);
	free(cv);
}

int
console_attach(struct app *app, const struct vm_rec *v, bool write,
    bool takeover, const struct console_hooks *h, void *arg,
    struct console_client **out)
{
	struct consoles *cs = app->consoles;
	struct console_client *cl = calloc(1, sizeof(*cl)), *old = NULL;
	struct console_vm *cv;
	int r = 0;

	*out = NULL;
	if (cl == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	pthread_mutex_lock(&cs->open_mu);
	if ((cv = console_get(cs, v)) == NULL) {
		pthread_mutex_unlock(&cs->open_mu);
		free(cl);
		return -1;
	}
	pthread_mutex_lock(&cs->mu);
	if (write && cv->writer && !takeover) {
		r = err_set(ERR_CONFLICT, "someone is typing on the console of "
		    "vm '%s': attach to watch (mode=read), or take it over "
		    "(takeover=1)", v->name);
	} else {
		cl->cv = cv;
		cl->h = h;
		cl->arg = arg;
		cl->next = cv->clients;
		cv->clients = cl;
		if (write) {
			old = cv->writer;
			cv->writer = cl;
		}
		if (old)
			console_end(old, CONSOLE_END_TAKEN, "another client "
			    "took the console over");
	}
	pthread_mutex_unlock(&cs->mu);
	if (r < 0) {
		console_put(cs, cv);
		free(cl);
	} else {
		*out = cl;
	}
	pthread_mutex_unlock(&cs->open_mu);
	return r;
}

int
console_write(struct console_client *cl, const void *buf, size_t n)
{
	struct console_vm *cv = cl->cv;
	struct consoles *cs = cv->cs;
	int r;

	pthread_mutex_lock(&cs->mu);
	if (cv->writer != cl)
		r = err_set(ERR_FORBIDDEN, "this client only watches the "
		    "console of vm '%s'", cv->name);
	else if (cv->dead)
		r = err_set(ERR_CONFLICT, "the console of vm '%s' has ended",
		    cv->name);
	else
		r = backend_console_write(cv->bc, cv->con, buf, n);
	pthread_mutex_unlock(&cs->mu);
	return r;
}

void
console_detach(struct console_client *cl)
{
	struct console_vm *cv;
	struct consoles *cs;

	if (cl == NULL)
		return;
	cv = cl->cv;
	cs = cv->cs;
	pthread_mutex_lock(&cs->open_mu);
	pthread_mutex_lock(&cs->mu);
	for (struct console_client **p = &cv->clients; *p; p = &(*p)->next)
		if (*p == cl) {
			*p = cl->next;
			break;
		}
	if (cv->writer == cl)
		cv->writer = NULL;
	pthread_mutex_unlock(&cs->mu);
	console_put(cs, cv);
	pthread_mutex_unlock(&cs->open_mu);
	free(cl);
}

int
console_type(struct app *app, const struct vm_rec *v, const char *text,
    size_t n)
{
	struct consoles *cs = app->consoles;
	struct console_vm *cv;
	struct timespec until;
	uint64_t printed;
	int r;

	pthread_mutex_lock(&cs->open_mu);
	cv = console_get(cs, v);
	pthread_mutex_unlock(&cs->open_mu);      /* not held while waiting */
	if (cv == NULL)
		return -1;
	pthread_mutex_lock(&cs->mu);
	printed = cv->printed;
	r = cv->dead ? err_set(ERR_CONFLICT, "the console of vm '%s' has "
	    "ended", v->name) : backend_console_write(cv->bc, cv->con, text, n);
	/* a console opened for this only is closed once the guest has
	 * echoed something (it has read the text), or after a moment */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CONSOLE_TYPE_WAIT_S;
	while (r == 0 && cv->users == 1 && !cv->dead &&
	    cv->printed == printed &&
	    pthread_cond_timedwait(&cs->printed, &cs->mu, &until) == 0)
		;
	pthread_mutex_unlock(&cs->mu);
	pthread_mutex_lock(&cs->open_mu);
	console_put(cs, cv);
	pthread_mutex_unlock(&cs->open_mu);
	return r;
}

int
console_keys(struct app *app, const struct vm_rec *v,
    const struct key_combo *combos, size_t n)
{
	struct backend_conn *bc;

	if (console_check_state(v) < 0 ||
	    (bc = fleet_conn(app->fleet, v->host_id)) == NULL)
		return -1;
	return backend_send_keys(bc, v->uuid, combos, n, CONSOLE_KEY_HOLD_MS);
}

/* The last *n bytes of file path on bc into buf (a file that is not
 * there has none). */
static int
console_log_file(struct backend_conn *bc, const char *path, char *buf,
    size_t *n)
{
	if (backend_file_tail(bc, path, buf, n) == 0)
		return 0;
	if (err_last()->code != ERR_NOT_FOUND)
		return -1;
	/* never started on this host (yet), or never rotated: nothing */
	err_clear();
	*n = 0;
	return 0;
}

/*
 * virtlogd rotates the log when it reaches its max_size (virtlogd.conf):
 * the file is renamed PATH.1 (and .1 to .2, ...) and a new one begun, the
 * bytes running on from one to the other.  So a tail longer than the
 * current file takes the rest from the end of PATH.1.  (A rotation between
 * the two reads would show the newest bytes twice: it happens once per
 * max_size bytes printed, and the next read is right again.)
 */
int
console_log(struct app *app, const struct vm_rec *v, char *buf, size_t *n)
{
	struct backend_conn *bc = fleet_conn(app->fleet, v->host_id);
	char path[256], older[264], *prev;
	size_t want = *n, got, k;

	if (bc == NULL)
		return -1;
	console_log_path(v->uuid, path, sizeof(path));
	if (console_log_file(bc, path, buf, n) < 0)
		return -1;
	if ((got = *n) == want)
		return 0;
	k = want - got;
	if ((prev = malloc(k)) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(older, sizeof(older), "%s.1", path);
	if (console_log_file(bc, older, prev, &k) < 0) {
		free(prev);
		return -1;
	}
	memmove(buf + k, buf, got);
	memcpy(buf, prev, k);
	free(prev);
	*n = got + k;
	return 0;
}
