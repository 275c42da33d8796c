/*
 * vms_import.h - between the import's body (vms_import_tar.c: the sink
 * that stages an archive or takes a small JSON body, and the checks of
 * the archive) and its handler (vms_import.c).
 */
#ifndef HANGAR_VMS_IMPORT_H
#define HANGAR_VMS_IMPORT_H

#include <stdbool.h>

#include "../common/bkmanifest.h"
#include "../common/imgprobe_int.h"
#include "req.h"
#include "spool.h"

#define VMI_JSON_MAX (16u * 1024)    /* a {"backup": id} body, at most */

struct vmi_up {
	struct app *app;
	bool tar;                        /* the body is an archive */
	char id[UUID_STR_LEN];           /* the import operation's, to be */
	struct spool sp;                 /* the staged tar; path "" once gone */
	uint64_t len, max;
	char *json;                      /* a JSON body (malloc'd) */
	size_t jlen;
	struct tar_list tl;              /* the archive's members */
	/* the disks taken out of it, removed on close unless the
	 * operation took them over (nstaged = 0) */
	char staged[BKM_DISKS_MAX][CONFIG_STR_MAX + 128];
	int nstaged;
};

/* The archive's manifest, read and checked against its members. */
int vmi_manifest(struct vmi_up *u, struct bkm *m);
/*
 * Each disk of m checked (its member's size, its qcow2 header by the
 * image probe: no backing file, a virtual size within its row's
 * size_gib in d[n]) and taken out to backup_dir/.staging/<id>-<dev>.qcow2
 * with its SHA-256 checked as it is copied; then the tar is removed.
 */
int vmi_disks(struct vmi_up *u, const struct bkm *m, const struct disk_rec *d,
    int n);

#endif
