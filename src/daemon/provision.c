/*
 * provision.c - following cloud-init inside the guests hangar gave a
 * seed: every PROVISION_TICK_MS, each running VM whose provisioning is
 * pending or running is asked, through its guest agent, what
 * `cloud-init status` says (guest-exec: no SSH, no network needed), and
 * the answer is recorded: pending -> running -> done | error, with a
 * vm.provisioned event at the end (store_vm_set_provisioning).
 *
 * A guest whose agent does not answer yet (still booting) stays as it
 * is and is asked again at the next tick.  The asks run one after the
 * other on the ticker's thread, each bounded by the backend (agent
 * timeouts) and PROVISION_EXEC_MS, so a hung guest delays the others by
 * that much at most and never holds an operation worker.  The guest's
 * `timeout` ends an ask before hangard stops waiting for it: an ask
 * left running in a slow (TCG, loaded) guest while the next ones start
 * piled up, one Python each, until the guest ran out of memory.  The
 * same tick looks for a booting guest's first address (addrs_watch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/guestexec.h"
#include "../common/log.h"
#include "../common/ticker.h"
#include "app.h"

#define PROVISION_TICK_MS 3000
#define PROVISION_EXEC_MS 60000

struct provision_set {
	int64_t id;
	const char *state;
};

static int
provision_set_tx(struct store_conn *c, void *arg)
{
	const struct provision_set *a = arg;

	return store_vm_set_provisioning(c, a->id, a->state);
}

/* Ask v's guest; record a change.  Quiet while the agent is not there. */
static void
provision_one(struct app *app, const struct vm_rec *v)
{
	/* killed in the guest (50 s) before hangard gives up (60 s) */
	static const char *const argv[] = { "timeout", "-s", "KILL", "50",
	    "cloud-init", "status", NULL };
	struct guestexec_status *st = calloc(1, sizeof(*st));
	struct provision_set a = { v->id, NULL };
	struct backend_conn *bc;

	if (st == NULL)
		return;
	if ((bc = fleet_conn(app->fleet, v->host_id)) == NULL ||
	    backend_guest_exec(bc, v->uuid, argv, PROVISION_EXEC_MS, st) < 0) {
		log_debug("provision: vm '%s': %s", v->name, err_last()->msg);
		err_clear();
		free(st);
		return;
	}
	a.state = guestexec_cloudinit_state(st->out, st->exitcode);
	if (a.state == NULL)
		log_warnx("provision: vm '%s': cloud-init status said nothing "
		    "known (exit %d)", v->name, st->exitcode);
	else if (strcmp(a.state, v->provisioning) != 0 &&
	    store_tx(app->store, provision_set_tx, &a) < 0)
		log_warnx("provision: vm '%s': %s", v->name, err_last()->msg);
	else if (strcmp(a.state, v->provisioning) != 0)
		log_info("provision: vm '%s': cloud-init is %s", v->name,
		    a.state);
	free(st);
}

static void
provision_tick(void *arg)
{
	struct app *app = arg;
	struct vm_list l = { NULL, 0, 0 };
	struct store_conn *c = store_read_begin(app->store);
	int r = store_vm_each_provisioning(c, vm_list_add, &l);

	store_read_end(c);
	if (r < 0)
		log_warnx("provision: cannot list vms: %s", err_last()->msg);
	for (size_t i = 0; r == 0 && i < l.n &&
	    !__atomic_load_n(&app->stopping, __ATOMIC_RELAXED); i++)
		provision_one(app, &l.v[i]);
	vm_list_free(&l);
	/* a booting guest's first address, between the reconcile sweeps */
	addrs_watch(app);
}

struct ticker *
provision_start(struct app *app)
{
	return ticker_start(PROVISION_TICK_MS, provision_tick, app,
	    "the provisioning follower");
}
