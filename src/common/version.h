/* version.h - the one place hangar's version is written down. */
#ifndef HANGAR_VERSION_H
#define HANGAR_VERSION_H
#define HANGAR_VERSION "0.1.0"
#endif
