/*
 * man.c - placeholder, filled below.
 */
#include "hangar.h"

int
manual(struct cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return 0;
}
