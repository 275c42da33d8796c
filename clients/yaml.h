/*
 * yaml.h - `-o yaml`: a jansson value as a YAML document (yaml.c).
 */
#ifndef HANGAR_YAML_H
#define HANGAR_YAML_H

#include <stdio.h>

#include <jansson.h>

int	 yaml_write(FILE *, const json_t *);

#endif
