/*
 * config_int.h - what config.c shares with config_args.c (the flags).
 */
#ifndef HANGAR_CONFIG_INT_H
#define HANGAR_CONFIG_INT_H

#include <stddef.h>

#include "config.h"

#define CONFIG_SHOW_MAX 64	/* bytes of a bad value quoted in a message */
#define CONFIG_WHY_MAX 512	/* a setter's reason phrase */

/* "..." when s is longer than what a message shows of it, else "". */
const char *config_ellipsis(const char *s);
/* Set key (a row of config_keys[]) from value; the reason for a refusal,
 * as a phrase without the key, into why. */
int config_apply_key(struct config *c, const char *key, const char *value,
    char *why, size_t whylen);

#endif
