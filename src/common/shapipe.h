/*
 * shapipe.h - a SHA-256 computed on a thread of its own, over blocks the
 * caller fills, so that hashing overlaps whatever the caller does with
 * the same bytes (receive them, write them, read them from a file).
 *
 * Example (what an upload does with each chunk the network hands it):
 *	struct shapipe *p = shapipe_start();
 *	...
 *	struct shapipe_buf *b = shapipe_buf(p);   (waits for a free block)
 *	copy into b->data + b->len, up to b->cap; when full:
 *	write b->data to the file, then shapipe_push(p);
 *	...
 *	shapipe_finish(p, dig);   (the last, partial block too; frees p)
 * shapipe_abort(p) stops it without a digest (frees p; NULL is fine).
 * One producer thread per pipe; blocks are hashed in the order pushed.
 */
#ifndef HANGAR_SHAPIPE_H
#define HANGAR_SHAPIPE_H

#include <stddef.h>

#define SHAPIPE_BLOCK (1U << 20)  /* bytes per block */
#define SHAPIPE_BLOCKS 4          /* blocks in flight */

struct shapipe;

struct shapipe_buf {
	unsigned char *data;
	size_t len, cap;
};

/* A pipe with its thread; NULL with the error set (ERR_INTERNAL). */
struct shapipe *shapipe_start(void);
/* The block being filled (it may hold bytes already: len of cap). */
struct shapipe_buf *shapipe_buf(struct shapipe *p);
/* Hand the block being filled to the thread (a no-op when empty). */
void shapipe_push(struct shapipe *p);
/* Push what is left, wait for the digest, free p. */
void shapipe_finish(struct shapipe *p, unsigned char dig[32]);
/* Stop without a digest and free p. */
void shapipe_abort(struct shapipe *p);

#endif
