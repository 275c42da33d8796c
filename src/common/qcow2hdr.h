/*
 * qcow2hdr.h - the backing file name in a qcow2 header, rewritten in
 * place (qcow2hdr.c): what `qemu-img rebase -u` does to the first
 * cluster, done to a copy of it while the image streams to another host
 * (a linked clone moved cold: its overlay must name the destination's
 * base, not the source's).
 *
 * Pure functions of a buffer: no I/O, no allocation.  Every offset read
 * from the header is checked against the buffer and the first cluster
 * before it is used.  Errors are reported once (common/error.h,
 * ERR_UNPROCESSABLE) and -1 returned.
 *
 *	size_t need;
 *
 *	receive QCOW2_HDR_PROBE bytes into buf;
 *	if (qcow2_cluster0(buf, got, &need) == -1)
 *		return -1;
 *	receive the rest of need bytes into buf (need <= QCOW2_CLUSTER_MAX);
 *	if (qcow2_set_backing(buf, need, "/pool/base-....qcow2") == -1)
 *		return -1;
 *	send buf, then the rest of the file as it is.
 */
#ifndef HANGAR_QCOW2HDR_H
#define HANGAR_QCOW2HDR_H

#include <stddef.h>

#define QCOW2_HDR_PROBE    24          /* magic .. cluster_bits */
#define QCOW2_CLUSTER_MAX  (2u << 20)  /* cluster_bits 21, as qemu */
#define QCOW2_BACKING_MAX  1023        /* qemu's limit on the name */

/*
 * The size of the first cluster of the qcow2 image whose first len
 * bytes are h (len >= QCOW2_HDR_PROBE): 0 with *need set (512 ..
 * QCOW2_CLUSTER_MAX), or -1 when it is not a qcow2 version 2 or 3
 * header with cluster_bits between 9 and 21.
 */
int qcow2_cluster0(const unsigned char *h, size_t len, size_t *need);

/*
 * Make the qcow2 header in buf (the whole first cluster: len bytes, at
 * least the cluster size) name backing as its backing file: the name at
 * backing_file_offset is overwritten, backing_file_size set to its
 * length, and what is left of a longer old name zeroed.  Nothing else
 * changes (the backing format extension stays).  -1 with buf untouched
 * when the header is not valid, has no backing file, keeps its name or
 * another table where the new one would not fit (past the first cluster,
 * or over the header and its extensions), or backing is empty or longer
 * than QCOW2_BACKING_MAX.
 */
int qcow2_set_backing(unsigned char *buf, size_t len, const char *backing);

#endif
