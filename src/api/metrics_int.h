/*
 * metrics_int.h - between the two files of GET /metrics: metrics.c (the
 * text, the route's handler) and metrics_listen.c (the metrics_listen
 * address, served without credentials).  server.c calls
 * metrics_api_start() and metrics_api_stop() with the API.
 */
#ifndef HANGAR_METRICS_INT_H
#define HANGAR_METRICS_INT_H

#include <stddef.h>

#include <microhttpd.h>

struct app;

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* metrics.c */
/* The whole exposition (malloc'd, *len bytes), or NULL with the error. */
char *metrics_text(struct app *app, size_t *len);
/* ... as a 200 response, or NULL with the error. */
struct MHD_Response *metrics_response(struct app *app);
/* The statistics cache and the metrics_listen address (if set): 0, or
 * -1 with the error (the address cannot be bound). */
int metrics_api_start(struct app *app);
void metrics_api_stop(void);

/* metrics_listen.c */
int metrics_listen_start(struct app *app);
void metrics_listen_stop(void);

#endif
