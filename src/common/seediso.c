/*
 * seediso.c - an ISO 9660 image built in memory with libisofs (Debian's
 * libisofs-dev): the NoCloud seed of cloud-init, a volume labelled
 * "cidata" holding meta-data, user-data and the like.  cloud-init finds
 * it by its label (blkid: TYPE=iso9660, LABEL=cidata) and mounts it;
 * Linux then reads the Rock Ridge names ("meta-data", not
 * "META_DAT.;1"), Joliet is there for readers without Rock Ridge.
 * Nothing touches a file: the files come from memory and the image is
 * read back from libisofs's burn source into memory.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* libisofs.h declares a few functions as f() (no prototype) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
/* without libburn: libisofs.h then defines struct burn_source itself */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs.h>
#pragma GCC diagnostic pop

#include "error.h"
#include "seediso.h"

#define SEEDISO_SECTOR 2048

static pthread_once_t seediso_once = PTHREAD_ONCE_INIT;
static int seediso_init_rc;

static void
seediso_init(void)
{
	/* bit0: no locale from the environment (names are ASCII) */
	seediso_init_rc = iso_init_with_flag(1);
	if (seediso_init_rc >= 0)
		iso_set_msgs_severities((char *)"NEVER", (char *)"NEVER",
		    (char *)"libisofs");
}

/* File f as a node of the image's root, read-only for everybody. */
static int
seediso_add(IsoImage *img, const struct seediso_file *f)
{
	IsoStream *st = NULL;
	IsoFile *node = NULL;
	unsigned char *copy = malloc(f->len ? f->len : 1);

	if (copy == NULL)
		return -1;
	memcpy(copy, f->data, f->len);
	if (iso_memory_stream_new(copy, f->len, &st) < 0) {
		free(copy);
		return -1;
	}
	/* the new node takes the stream's reference */
	if (iso_image_add_new_file(img, iso_image_get_root(img), f->name, st,
	    &node) < 0) {
		iso_stream_unref(st);
		return -1;
	}
	iso_node_set_permissions((IsoNode *)node, 0444);
	return 0;
}

static IsoWriteOpts *
seediso_opts(time_t when)
{
	IsoWriteOpts *o = NULL;

	/* profile 0: ISO level 1 names under Rock Ridge and Joliet ones */
	if (iso_write_opts_new(&o, 0) < 0)
		return NULL;
	if (iso_write_opts_set_rockridge(o, 1) < 0 ||
	    iso_write_opts_set_joliet(o, 1) < 0 ||
	    /* "cidata" as it is, not "CIDATA": what genisoimage -V writes */
	    iso_write_opts_set_relaxed_vol_atts(o, 1) < 0 ||
	    /* Joliet names as they are: "meta-data", not "meta-data.;1" */
	    iso_write_opts_set_omit_version_numbers(o, 2) < 0 ||
	    iso_write_opts_set_no_force_dots(o, 2) < 0 ||
	    iso_write_opts_set_replace_mode(o, 1, 1, 1, 1) < 0 ||
	    iso_write_opts_set_default_uid(o, 0) < 0 ||
	    iso_write_opts_set_default_gid(o, 0) < 0 ||
	    iso_write_opts_set_default_file_mode(o, 0444) < 0 ||
	    iso_write_opts_set_default_dir_mode(o, 0555) < 0 ||
	    iso_write_opts_set_replace_timestamps(o, 2) < 0 ||
	    iso_write_opts_set_default_timestamp(o, when) < 0 ||
	    iso_write_opts_set_always_gmt(o, 1) < 0 ||
	    iso_write_opts_set_pvd_times(o, when, when, 0, when, (char *)"")
	    < 0) {
		iso_write_opts_free(o);
		return NULL;
	}
	return o;
}

/* Every sector of the burn source into a new buffer. */
static int
seediso_read(struct burn_source *bs, unsigned char **out, size_t *len)
{
	off_t size = bs->get_size(bs);
	unsigned char *buf;
	size_t got = 0;

	if (size <= 0 || (buf = malloc((size_t)size)) == NULL)
		return -1;
	while (got + SEEDISO_SECTOR <= (size_t)size &&
	    bs->read_xt(bs, buf + got, SEEDISO_SECTOR) == SEEDISO_SECTOR)
		got += SEEDISO_SECTOR;
	if (got != (size_t)size) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = got;
	return 0;
}

int
seediso_build(const char *label, const struct seediso_file *f, size_t n,
    time_t when, unsigned char **out, size_t *len)
{
	struct burn_source *bs = NULL;
	IsoWriteOpts *o = NULL;
	IsoImage *img = NULL;
	int r = -1;

	*out = NULL;
	*len = 0;
	pthread_once(&seediso_once, seediso_init);
	if (seediso_init_rc < 0)
		return err_set(ERR_INTERNAL, "libisofs did not start (%d)",
		    seediso_init_rc);
	if (iso_image_new(label, &img) < 0)
		return err_set(ERR_INTERNAL, "cannot make an ISO image");
	iso_image_set_volume_id(img, label);
	for (size_t i = 0; i < n; i++)
		if (seediso_add(img, &f[i]) < 0) {
			err_set(ERR_INTERNAL, "cannot add '%s' to the ISO "
			    "image", f[i].name);
			goto done;
		}
	if ((o = seediso_opts(when)) == NULL ||
	    iso_image_create_burn_source(img, o, &bs) < 0) {
		err_set(ERR_INTERNAL, "cannot start writing the ISO image");
		goto done;
	}
	if (seediso_read(bs, out, len) < 0) {
		bs->cancel(bs);
		err_set(ERR_INTERNAL, "cannot write the ISO image");
	} else {
		r = 0;
	}
	bs->free_data(bs);
	free(bs);
done:
	if (o)
		iso_write_opts_free(o);
	iso_image_unref(img);
	return r;
}
