/*
 * vms_int.h - what vms.c (reading VMs) shares with vms_ops.c (the routes
 * that record operations on them).
 */
#ifndef HANGAR_VMS_INT_H
#define HANGAR_VMS_INT_H

#include <jansson.h>

#include "req.h"

#define VMS_WAIT_MAX 300         /* seconds a reply may be held */

/* A new random uuid, as text, into out[UUID_STR_LEN]. */
void vms_new_uuid(char *out);
/* The error of failed operation o, set as this thread's; returns -1. */
int vms_op_error(const struct op_rec *o);
/* The new VM's row of a parsed create request (a new uuid, its
 * hardware, its disks' volumes named; pr's disks pointed at buf's). */
struct place_req;
struct placements_buf;
void vms_new_row(struct place_req *pr, struct placements_buf *buf,
    const char *name, struct vm_rec *vm);
/* The snapshot schedule and retention of body into v (400 naming the
 * field when malformed). */
int vms_schedule_parse(json_t *body, struct vm_rec *v);
/* The VM's NICs into nics[VM_NICS_MAX]; their count, or -1. */
int vms_nics(struct req *r, const struct vm_rec *v, struct nic_rec *nics);
/* The VM with its disks and NICs, as a jansson tree. */
json_t *vms_json_nics(const struct vm_rec *v, const struct disk_rec *d,
    int n, const struct nic_rec *nics, int k);

#endif
