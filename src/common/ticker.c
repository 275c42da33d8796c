/*
 * ticker.c - a periodic thread (see ticker.h): a condition variable
 * waited on with a deadline, so that ticker_stop wakes it at once.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "error.h"
#include "ticker.h"
#include "types.h"

struct ticker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	int period_ms;
	void (*fn)(void *arg);
	void *arg;
};

static void *
ticker_loop(void *arg)
{
	struct ticker *t = arg;
	struct timespec ts;
	int64_t at;

	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		at = time_now_ms() + t->period_ms;
		ts.tv_sec = (time_t)(at / 1000);
		ts.tv_nsec = (long)(at % 1000) * 1000000L;
		pthread_cond_timedwait(&t->cond, &t->mu, &ts);
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->mu);
		t->fn(t->arg);
		pthread_mutex_lock(&t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

struct ticker *
ticker_start(int period_ms, void (*fn)(void *arg), void *arg,
    const char *what)
{
	struct ticker *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	t->period_ms = period_ms;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cond, NULL);
	if (pthread_create(&t->thread, NULL, ticker_loop, t) != 0) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->mu);
		free(t);
		err_set(ERR_INTERNAL, "cannot start %s", what);
		return NULL;
	}
	return t;
}

void
ticker_stop(struct ticker *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->mu);
	free(t);
}
