/*
 * ticker.h - a thread that calls fn(arg) every period_ms until stopped
 * (ticker.c): the loops of hangard's periodic work (scheduled snapshots,
 * following provisioning).  fn runs on the ticker's thread, one call at a
 * time; ticker_stop waits for a call under way to end.
 */
#ifndef HANGAR_TICKER_H
#define HANGAR_TICKER_H

struct ticker;

/* Start it; NULL with an error (what names it: "the snapshot scheduler"). */
struct ticker *ticker_start(int period_ms, void (*fn)(void *arg), void *arg,
    const char *what);
/* Stop it and free it; NULL is fine. */
void ticker_stop(struct ticker *t);

#endif
