/*
 * bkmanifest.h - the manifest.json of a backup archive (the tar that
 * GET /v1/vms/{vm}/backups/{id}/archive streams), read strictly: an
 * archive to import is hostile input (bkmanifest.c).
 *
 *	{"format": "hangar-backup", "version": 1, "backup": {...},
 *	 "vm": {the VM's spec}, "disks": [{"dev", "file", "format",
 *	 "sha256", "bytes"}]}
 *
 * Errors are ERR_UNPROCESSABLE naming field "archive", their sentence
 * starting "manifest.json: " and naming the member at fault
 * ("manifest.json: disks[1].sha256 is not 64 lowercase hex digits").
 */
#ifndef HANGAR_BKMANIFEST_H
#define HANGAR_BKMANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define BKM_TEXT_MAX    (256u * 1024)   /* manifest.json's bytes, at most */
#define BKM_DISKS_MAX   16
#define BKM_DEV_MAX     8               /* "vda", "sdb", "hdc": short */
#define BKM_FILE_MAX    32              /* "disks/<dev>.qcow2" */
#define BKM_BYTES_MAX   (1ull << 46)    /* a disk member, at most */

struct bkm_disk {
	char dev[BKM_DEV_MAX + 1];
	char file[BKM_FILE_MAX];
	char sha256[65];                /* lowercase hex */
	uint64_t bytes;
};

struct bkm {
	json_t *vm;                     /* the spec (an object; owned) */
	int ndisks;
	struct bkm_disk disks[BKM_DISKS_MAX];
};

/* Parse text[len] into *m (zeroed first; bkm_free always right). */
int bkm_parse(const char *text, size_t len, struct bkm *m);
void bkm_free(struct bkm *m);
/*
 * The tar's member names (n of them) against the manifest: exactly
 * "manifest.json" and each disk's file, each once; -1 naming the first
 * extra, repeated or missing one.
 */
int bkm_members(const struct bkm *m, const char *const *names, int n);

#endif
