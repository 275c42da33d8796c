/*
 * ops_int.h - between the operation engine (ops.c) and the per-kind
 * runners (ops_vm.c).
 */
#ifndef HANGAR_OPS_INT_H
#define HANGAR_OPS_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "app.h"

/* What one run of one operation works with. */
struct op_ctx {
	struct app *app;
	struct op_rec op;
	struct vm_rec vm;            /* the VM as it was when the run began */
	struct host_rec host;
	struct backend_conn *bc;     /* the VM's host (borrowed from fleet) */
	json_t *params;              /* the operation's parameters (owned) */
	/* results, for the closing transaction: */
	bool delete_row;             /* remove the VM's row (delete, rollback) */
	bool unsettled;              /* outcome unknown (host unreachable):
	                              * keep the operation running and
	                              * recover it again later */
	bool have_state;             /* observed is known */
	enum vm_state observed;
};

struct op_runner {
	/* Do the operation.  0, or -1 with err_last() set. */
	int (*run)(struct op_ctx *x);
	/*
	 * Finish an operation that a previous daemon left running, by asking
	 * the backend what really happened.  0 = it completed, -1 with an
	 * error = it failed (or was rolled back).
	 */
	int (*recover)(struct op_ctx *x);
	/*
	 * When the host cannot be reached before anything was done, the VM's
	 * row goes with the failed operation (a create that never started
	 * leaves nothing behind).
	 */
	bool drop_if_unreached;
};

extern const struct op_runner ops_runners[OP_KIND__COUNT];

/* Record progress on the operation (best effort). */
void ops_step(struct op_ctx *x, const char *step);
/* Ask the backend for the VM's state into x->observed; 0 or -1. */
int ops_observe(struct op_ctx *x);

#endif
