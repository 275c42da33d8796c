/*
 * shapipe.c - a SHA-256 on a thread of its own (shapipe.h): a ring of
 * SHAPIPE_BLOCKS blocks; the producer fills the block at head and pushes
 * it, the thread hashes the block at tail and frees it.  The producer
 * waits when every block is full (the thread is behind), the thread
 * when none is.  gnutls's SHA-256 uses the CPU's SHA extensions where
 * there are some (~1.6 GB/s on one core here).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "error.h"
#include "shapipe.h"

struct shapipe {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;         /* a block was pushed, or freed */
	gnutls_hash_hd_t hash;
	struct shapipe_buf blk[SHAPIPE_BLOCKS];
	int head, tail, nfull;     /* fill head; hash tail; pushed, unhashed */
	bool done, quit;
	unsigned char *mem;
};

static void *
shapipe_main(void *arg)
{
	struct shapipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct shapipe_buf *b;

		while (p->nfull == 0 && !p->done && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->quit || p->nfull == 0)
			break;
		b = &p->blk[p->tail];
		pthread_mutex_unlock(&p->mu);
		gnutls_hash(p->hash, b->data, b->len);
		pthread_mutex_lock(&p->mu);
		b->len = 0;
		p->tail = (p->tail + 1) % SHAPIPE_BLOCKS;
		p->nfull--;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void
shapipe_free(struct shapipe *p)
{
	gnutls_hash_deinit(p->hash, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->mem);
	free(p);
}

struct shapipe *
shapipe_start(void)
{
	struct shapipe *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->mem = malloc((size_t)SHAPIPE_BLOCKS *
	    SHAPIPE_BLOCK)) == NULL) {
		free(p);
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	for (int i = 0; i < SHAPIPE_BLOCKS; i++) {
		p->blk[i].data = p->mem + (size_t)i * SHAPIPE_BLOCK;
		p->blk[i].cap = SHAPIPE_BLOCK;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (gnutls_hash_init(&p->hash, GNUTLS_DIG_SHA256) < 0) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		free(p->mem);
		free(p);
		err_set(ERR_INTERNAL, "cannot start a SHA-256");
		return NULL;
	}
	if (pthread_create(&p->thread, NULL, shapipe_main, p) != 0) {
		shapipe_free(p);
		err_set(ERR_INTERNAL, "cannot start a thread to hash on");
		return NULL;
	}
	return p;
}

struct shapipe_buf *
shapipe_buf(struct shapipe *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->nfull == SHAPIPE_BLOCKS)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return &p->blk[p->head];
}

void
shapipe_push(struct shapipe *p)
{
	pthread_mutex_lock(&p->mu);
	if (p->nfull < SHAPIPE_BLOCKS && p->blk[p->head].len > 0) {
		p->head = (p->head + 1) % SHAPIPE_BLOCKS;
		p->nfull++;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

/* Tell the thread to stop (once what is pushed is hashed, or at once). */
static void
shapipe_join(struct shapipe *p, bool quit)
{
	pthread_mutex_lock(&p->mu);
	p->done = true;
	p->quit = quit;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
}

void
shapipe_finish(struct shapipe *p, unsigned char dig[32])
{
	shapipe_buf(p);            /* the head block is free to push */
	shapipe_push(p);
	shapipe_join(p, false);
	gnutls_hash_output(p->hash, dig);
	shapipe_free(p);
}

void
shapipe_abort(struct shapipe *p)
{
	if (p == NULL)
		return;
	shapipe_join(p, true);
	shapipe_free(p);
}
