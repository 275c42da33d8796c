/*
 * place.h - placing a VM: gather the request's group, run the scheduler on
 * the view, and (unless it is a dry run) commit the VM, its operation and
 * its claim in one transaction while the view is held still.
 */
#ifndef HANGAR_PLACE_H
#define HANGAR_PLACE_H

#include <stdbool.h>
#include <stddef.h>

#include "../scheduler/sched.h"
#include "../store/store.h"

struct app;

struct place_req {
	struct sched_request sr;     /* group_counts/total filled here */
	const char *group;           /* group name, or NULL */
	/* to create: the rows to insert (vm->host_id, group_id and ids are
	 * filled in here); NULL for a dry run */
	struct vm_rec *vm;
	struct disk_rec *disks;      /* its disks (vm->disk_gib: their sum) */
	const char *image_sha;       /* its root disk's image, or NULL: hosts
	                              * holding a copy are preferred */
	int ndisks;
	const char *cloud_init;      /* its cloud-init settings (JSON text)
	                              * to store, or NULL */
	struct nic_rec *nics;        /* its NICs: mac/ipv4 "" are handed out */
	int nnics;
	/* the host bridges its NICs attach to: hosts without one are
	 * refused (filter "bridges") */
	const char *bridges[VM_NICS_MAX];
	int nbridges;
	struct op_rec *op;
	/* a test environment's VM: linked to env_id as env_role in the same
	 * transaction (0: none) */
	int64_t env_id;
	const char *env_role;
	/* a move whose source is lost (an evacuation): the VM's row points
	 * at the destination in its operation's own transaction (the claim
	 * is the row's from then on), and the view's claim on the source is
	 * let go (place_move with an op) */
	bool move_row;
};

/* Every host's verdict, for the explain output (owned; place_out_free). */
struct place_out {
	int pick;                    /* index into hosts, or -1 */
	size_t n;
	struct place_host {
		char name[SCHED_NAME_MAX];
		struct sched_free free;
		struct sched_verdict v;
	} *hosts;
};

/*
 * Place the VM.  Returns 0 with the chosen host (and, when creating, the
 * rows committed), or -1: ERR_NO_CAPACITY naming each host's reason,
 * ERR_NOT_FOUND for an unknown group or host.  When out is given, every
 * host is judged and its verdict kept there, success or not.
 */
int place_vm(struct app *app, struct place_req *pr, struct place_out *out);

/*
 * Choose where VM vm moves (pr->sr.host: that host, checked by the
 * filters unless force; NULL: the scheduler's pick among the others) and,
 * when op is given, record the operation (op->params gets "to" and
 * "to_id" added) in one transaction while the view holds a claim for the
 * VM on the destination as well as the source.  The destination's record
 * into *dest.  out as for place_vm.
 */
int place_move(struct app *app, const struct vm_rec *vm, struct place_req *pr,
    struct op_rec *op, struct host_rec *dest, struct place_out *out);
void place_out_free(struct place_out *out);

#endif
