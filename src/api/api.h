/*
 * api.h - the REST API server (libmicrohttpd): what the daemon sees.
 */
#ifndef HANGAR_API_H
#define HANGAR_API_H

#include <stdio.h>

struct app;
struct api;

/*
 * Listen on every address in app->cfg.listen ("unix:PATH" or HOST:PORT)
 * and serve requests.  NULL with err_last() set when an address cannot be
 * bound.
 */
struct api *api_start(struct app *app);
/* Stop accepting new connections; requests under way go on, event
 * streams end. */
void api_quiesce(struct api *a);
/* Stop serving and free everything; removes the unix sockets. */
void api_stop(struct api *a);

/* VM vm as a backup records it: as GET /v1/vms/{vm} shows it, with its
 * cloud-init settings (the daemon's backup scheduler is given it).  NULL
 * with the error set. */
struct json_t *api_backup_spec(struct app *app, const char *vm);

/* Print the route table, one "METHOD PATTERN ROLE" line per route
 * (hangard --routes).  0, or -1 when out cannot be written. */
int api_print_routes(FILE *out);

#endif
