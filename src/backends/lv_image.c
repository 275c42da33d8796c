/*
 * lv_image.c - volumes made from images: a cached base volume uploaded
 * from hangard's image library through a libvirt stream (the same call
 * for a local or a remote host), a linked clone (a qcow2 overlay over a
 * base), a full clone (a copy of a base made by libvirt on the host),
 * a raw volume put from memory through the same stream (a NoCloud seed),
 * and a volume downloaded whole into a local file (a template).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/error.h"
#include "lv_int.h"

/* Create volume from xml in pool; its handle, or NULL with an error. */
static virStorageVolPtr
lv_vol_new(virConnectPtr c, const char *pool, const char *xml,
    virStoragePoolPtr *pp)
{
	virStorageVolPtr v;

	if ((*pp = virStoragePoolLookupByName(c, pool)) == NULL) {
		lv_fail("find the storage pool");
		return NULL;
	}
	if ((v = virStorageVolCreateXML(*pp, xml, 0)) == NULL)
		lv_fail("create the volume");
	return v;
}

/* The path of v into path_out; 0, or -1 with an error. */
static int
lv_vol_path_of(virStorageVolPtr v, char *path_out, size_t len)
{
	char *path = virStorageVolGetPath(v);

	if (path == NULL)
		return lv_fail("read the volume's path");
	snprintf(path_out, len, "%s", path);
	free(path);
	return 0;
}

/* virStreamSendAll's source: the local file. */
static int
lv_upload_read(virStreamPtr st, char *buf, size_t n, void *opaque)
{
	int fd = *(int *)opaque;
	ssize_t r;

	(void)st;
	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return (int)r;
}

/* virStreamSendAll's source for volume_put: bytes in memory. */
struct lv_mem {
	const char *p;
	size_t left;
};

static int
lv_put_read(virStreamPtr st, char *buf, size_t n, void *opaque)
{
	struct lv_mem *m = opaque;

	(void)st;
	if (n > m->left)
		n = m->left;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (int)n;
}

/* Send len bytes read by src(opaque) into volume v. */
static int
lv_upload_stream(virConnectPtr c, virStorageVolPtr v,
    virStreamSourceFunc src, void *opaque, unsigned long long len)
{
	virStreamPtr st = virStreamNew(c, 0);
	int r = -1;

	if (st == NULL)
		return lv_fail("open a stream to the host");
	if (virStorageVolUpload(v, st, 0, len, 0) < 0) {
		lv_fail("start the upload");
	} else if (virStreamSendAll(st, src, opaque) < 0) {
		lv_fail("send the image");
		virStreamAbort(st);
	} else if (virStreamFinish(st) < 0) {
		lv_fail("finish the upload");
	} else {
		r = 0;
	}
	virStreamFree(st);
	return r;
}

int
lv_volume_upload(struct backend_conn *bc, const char *pool, const char *vol,
    const char *file, int64_t bytes, char *path_out, size_t path_len)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	char *xml = NULL;
	off_t len;
	int fd = -1, r = -1;

	if (c == NULL)
		return -1;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (len = lseek(fd, 0, SEEK_END)) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		err_set(ERR_INTERNAL, "cannot read image file '%s': %s", file,
		    strerror(errno));
		goto done;
	}
	if ((xml = domain_xml_volume_bytes(vol, bytes)) == NULL ||
	    (v = lv_vol_new(c, pool, xml, &p)) == NULL)
		goto done;
	if (lv_upload_stream(c, v, lv_upload_read, &fd,
	    (unsigned long long)len) < 0 ||
	    virStoragePoolRefresh(p, 0) < 0 ||
	    lv_vol_path_of(v, path_out, path_len) < 0) {
		virStorageVolDelete(v, 0);     /* no half-uploaded base */
		goto done;
	}
	r = 0;
done:
	if (fd >= 0)
		close(fd);
	free(xml);
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return r;
}

int
lv_volume_put(struct backend_conn *bc, const char *pool, const char *vol,
    const void *data, size_t len, char *path_out, size_t path_len)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	struct lv_mem m = { data, len };
	char *xml = NULL;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((xml = domain_xml_volume_raw(vol, (int64_t)len)) == NULL ||
	    (v = lv_vol_new(c, pool, xml, &p)) == NULL)
		goto done;
	if (lv_upload_stream(c, v, lv_put_read, &m,
	    (unsigned long long)len) < 0 ||
	    lv_vol_path_of(v, path_out, path_len) < 0) {
		virStorageVolDelete(v, 0);     /* no half-written file */
		goto done;
	}
	r = 0;
done:
	free(xml);
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return r;
}

int
lv_volume_overlay(struct backend_conn *bc, const char *pool, const char *vol,
    int64_t gib, const char *backing, char *path_out, size_t path_len)
{
	return lv_volume_create_xml(bc, pool, domain_xml_volume_overlay(vol,
	    gib, backing), path_out, path_len);
}

/*
 * Grow v to gib GiB unless it is that big already: libvirt refuses any
 * resize below the volume's allocation, even to its own size, and a
 * copy of a disk whose every cluster is written (its data plus qcow2's
 * tables) is allocated past its capacity.
 */
static int
lv_vol_grow(virStorageVolPtr v, int64_t gib)
{
	unsigned long long want = (unsigned long long)gib << 30;
	virStorageVolInfo info;

	if (virStorageVolGetInfo(v, &info) == 0 && info.capacity >= want)
		return 0;
	virResetLastError();
	if (virStorageVolResize(v, want, 0) < 0)
		return lv_fail("grow the disk to its size");
	return 0;
}

int
lv_volume_clone(struct backend_conn *bc, const char *pool, const char *src,
    const char *vol, int64_t gib, char *path_out, size_t path_len)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr sv, v = NULL;
	char *xml;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((sv = lv_vol_lookup(c, bc->uri, pool, src, &p)) == NULL) {
		virConnectClose(c);
		return -1;
	}
	if ((xml = domain_xml_volume(vol, gib)) != NULL &&
	    (v = virStorageVolCreateXMLFrom(p, xml, sv, 0)) == NULL)
		lv_fail("copy the image into the disk");
	if (v && lv_vol_grow(v, gib) == 0 &&
	    lv_vol_path_of(v, path_out, path_len) == 0)
		r = 0;
	if (v && r < 0)
		virStorageVolDelete(v, 0);
	free(xml);
	if (v)
		virStorageVolFree(v);
	virStorageVolFree(sv);
	virStoragePoolFree(p);
	virConnectClose(c);
	return r;
}

/* Write all of buf[0..n) to fd; 0, or -1 with an error. */
static int
lv_write_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	for (size_t off = 0; off < n; off += (size_t)w) {
		do
			w = write(fd, buf + off, n - off);
		while (w < 0 && errno == EINTR);
		if (w < 0)
			return err_set(errno == ENOSPC ? ERR_INSUFFICIENT_STORAGE :
			    ERR_UNAVAILABLE, "cannot write the downloaded volume: "
			    "%s", strerror(errno));
	}
	return 0;
}

#define LV_DOWNLOAD_BUF (256 * 1024)

int
lv_volume_download(struct backend_conn *bc, const char *pool,
    const char *vol, int fd, int64_t *bytes)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v;
	virStreamPtr st = NULL;
	char *buf = malloc(LV_DOWNLOAD_BUF);
	bool open_ = false;
	int n, r = -1;

	*bytes = 0;
	if (c == NULL || buf == NULL) {
		free(buf);
		if (c)
			virConnectClose(c);
		return c ? err_set(ERR_INTERNAL, "out of memory") : -1;
	}
	if ((v = lv_vol_lookup(c, bc->uri, pool, vol, &p)) == NULL)
		goto done;
	if ((st = virStreamNew(c, 0)) == NULL) {
		lv_fail("open a stream");
		goto done;
	}
	if (virStorageVolDownload(v, st, 0, 0, 0) < 0) {
		lv_fail("read the volume");
		goto done;
	}
	open_ = true;
	while ((n = virStreamRecv(st, buf, LV_DOWNLOAD_BUF)) > 0) {
		if (lv_write_all(fd, buf, (size_t)n) < 0)
			goto done;
		*bytes += n;
	}
	if (n < 0) {
		lv_fail("read the volume");
		goto done;
	}
	open_ = false;
	if (virStreamFinish(st) < 0) {
		lv_fail("read the volume to its end");
		goto done;
	}
	r = 0;
done:
	if (open_)
		virStreamAbort(st);
	if (st)
		virStreamFree(st);
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	free(buf);
	return r;
}
