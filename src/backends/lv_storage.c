/*
 * lv_storage.c - the libvirt backend's storage: finding the pool at a
 * directory, making sure a pool exists at its directory and is active,
 * creating and deleting volumes, finding a volume's path, and copying a
 * volume to another host through libvirt streams (a qcow2 overlay's
 * backing file name rewritten on the way, common/qcow2hdr.c).
 *
 * A pool is known by its name but stands for its directory: a pool of
 * the asked name that libvirt keeps at another directory is refused
 * (ERR_CONFLICT), never used, so that no disk lands elsewhere than where
 * the host was told to keep them.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/xmlwriter.h>
#include <libxml/xpath.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/path.h"
#include "../common/qcow2hdr.h"
#include "lv_int.h"

/*
 * The target directory of pool p into path (normalized); 0, or -1 with
 * an error.
 */
static int
lv_pool_path(virStoragePoolPtr p, char *path, size_t len)
{
	char *xml = virStoragePoolGetXMLDesc(p, 0), raw[4096];
	xmlXPathContextPtr ctx = NULL;
	xmlDocPtr doc;

	if (xml == NULL)
		return lv_fail("describe the storage pool");
	raw[0] = '\0';
	doc = lv_xml_read(xml, "pool.xml");
	free(xml);
	if (doc && (ctx = xmlXPathNewContext(doc)) != NULL)
		lv_xpath(ctx, "string(/pool/target/path)", raw, sizeof(raw));
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	if (ctx == NULL)
		return err_set(ERR_BACKEND, "cannot parse a storage pool's "
		    "description");
	path_norm(raw, path, len);
	return 0;
}

/*
 * The pool whose target directory is path, whatever its name (free with
 * virStoragePoolFree); NULL and ERR_NOT_FOUND when there is none, NULL
 * with another error when the pools could not be listed.
 */
virStoragePoolPtr
lv_pool_by_path(virConnectPtr c, const char *uri, const char *path)
{
	virStoragePoolPtr *list = NULL, found = NULL;
	char at[4096];
	int n;

	if ((n = virConnectListAllStoragePools(c, &list, 0)) < 0) {
		lv_fail("list the storage pools");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		if (found == NULL &&
		    lv_pool_path(list[i], at, sizeof(at)) == 0 &&
		    path_same(at, path))
			found = list[i];
		else
			virStoragePoolFree(list[i]);
	}
	free(list);
	if (found == NULL)
		err_set(ERR_NOT_FOUND, "no storage pool is at '%s' on host "
		    "'%s'", path, uri);
	else
		err_clear();    /* a pool that could not be described */
	return found;
}

int
lv_pool_find(struct backend_conn *bc, const char *path, char *name_out,
    size_t name_len)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p;
	const char *name;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((p = lv_pool_by_path(c, bc->uri, path)) != NULL) {
		if ((name = virStoragePoolGetName(p)) == NULL) {
			lv_fail("read the storage pool's name");
		} else {
			snprintf(name_out, name_len, "%s", name);
			r = 0;
		}
		virStoragePoolFree(p);
	}
	virConnectClose(c);
	return r;
}

/*
 * Pool named pool on c, defined (built, autostarted) at path when there
 * is none; NULL with an error.  ERR_CONFLICT when a pool of that name is
 * at another directory: its volumes are not where the caller wants them.
 */
static virStoragePoolPtr
lv_pool_define(virConnectPtr c, const char *uri, const char *pool,
    const char *path)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(c, pool);
	char *xml = NULL, at[4096];
	struct err e;

	if (p == NULL) {
		if ((xml = domain_xml_pool(pool, path)) == NULL)
			return NULL;
		p = virStoragePoolDefineXML(c, xml, 0);
		free(xml);
		if (p != NULL) {
			if (virStoragePoolBuild(p, 0) < 0 &&
			    virStoragePoolIsActive(p) != 1) {
				lv_fail("build the storage pool");
				virStoragePoolFree(p);
				return NULL;
			}
			virStoragePoolSetAutostart(p, 1);
			log_info("libvirt: defined storage pool '%s' at '%s' "
			    "on '%s'", pool, path, uri);
			return p;
		}
		/* another connection to the same libvirtd (two hosts on one
		 * libvirtd, looked at from two threads) may have defined it
		 * first */
		lv_fail("define the storage pool");
		err_save(&e);
		if ((p = virStoragePoolLookupByName(c, pool)) == NULL) {
			err_restore(&e);
			return NULL;
		}
	}
	if (lv_pool_path(p, at, sizeof(at)) < 0)
		goto fail;
	if (!path_same(at, path)) {
		err_set(ERR_CONFLICT, "storage pool '%s' on host '%s' is at "
		    "'%s', not at '%s'", pool, uri, at, path);
		goto fail;
	}
	return p;
fail:
	virStoragePoolFree(p);
	return NULL;
}

int
lv_pool_ensure(struct backend_conn *bc, const char *pool, const char *path,
    int64_t *cap_gib, int64_t *avail_gib)
{
	virStoragePoolInfo info;
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((p = lv_pool_define(c, bc->uri, pool, path)) == NULL)
		goto done;
	if (virStoragePoolIsActive(p) == 0) {
		/* building a dir pool only creates its directory if missing;
		 * a pool another thread started meanwhile is fine */
		if (virStoragePoolBuild(p, 0) < 0 &&
		    virStoragePoolIsActive(p) != 1) {
			lv_fail("build the storage pool");
			goto done;
		}
		if (virStoragePoolCreate(p, 0) < 0 &&
		    virStoragePoolIsActive(p) != 1) {
			lv_fail("start the storage pool");
			goto done;
		}
	}
	if (virStoragePoolGetInfo(p, &info) < 0) {
		lv_fail("read the storage pool's capacity");
		goto done;
	}
	*cap_gib = (int64_t)(info.capacity >> 30);
	*avail_gib = (int64_t)(info.available >> 30);
	r = 0;
done:
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return r;
}

/*
 * A new volume in pool from its description xml (taken: freed here);
 * its path into path_out.  A volume made whose path cannot be read is
 * removed again.
 */
int
lv_volume_create_xml(struct backend_conn *bc, const char *pool, char *xml,
    char *path_out, size_t path_len)
{
	virConnectPtr c;
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	char *path = NULL;
	int r = -1;

	if (xml == NULL)
		return -1;
	if ((c = lv_get(bc)) == NULL) {
		free(xml);
		return -1;
	}
	if ((p = virStoragePoolLookupByName(c, pool)) == NULL) {
		lv_fail("find the storage pool");
		goto done;
	}
	if ((v = virStorageVolCreateXML(p, xml, 0)) == NULL) {
		lv_fail("create the disk volume");
		goto done;
	}
	if ((path = virStorageVolGetPath(v)) == NULL) {
		lv_fail("read the disk volume's path");
		virStorageVolDelete(v, 0);
		goto done;
	}
	snprintf(path_out, path_len, "%s", path);
	r = 0;
done:
	free(path);
	free(xml);
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return r;
}

int
lv_volume_create(struct backend_conn *bc, const char *pool, const char *vol,
    int64_t gib, char *path_out, size_t path_len)
{
	return lv_volume_create_xml(bc, pool, domain_xml_volume(vol, gib),
	    path_out, path_len);
}

int
lv_volume_delete(struct backend_conn *bc, const char *pool, const char *vol)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((p = virStoragePoolLookupByName(c, pool)) == NULL) {
		/* no pool, no volume in it: already gone */
		virErrorPtr e = virGetLastError();

		r = e && e->code == VIR_ERR_NO_STORAGE_POOL ? 0 :
		    lv_fail("find the storage pool");
		goto done;
	}
	/* the pool's view may be stale: refresh before looking */
	virStoragePoolRefresh(p, 0);
	if ((v = virStorageVolLookupByName(p, vol)) == NULL) {
		/* only "no such volume" means already gone: any other error
		 * must not let the caller forget a disk that is still there */
		virErrorPtr e = virGetLastError();

		r = e && e->code == VIR_ERR_NO_STORAGE_VOL ? 0 :
		    lv_fail("look the disk volume up");
		goto done;
	}
	if (virStorageVolDelete(v, 0) < 0) {
		lv_fail("delete the disk volume");
		goto done;
	}
	r = 0;
done:
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	virConnectClose(c);
	return r;
}

/* --- volumes, between hosts --- */

/*
 * Volume vol of pool on c (free with virStorageVolFree), its pool into
 * *pp (free with virStoragePoolFree); the pool is refreshed first.  NULL
 * with an error (ERR_NOT_FOUND for a missing pool or volume).
 */
virStorageVolPtr
lv_vol_lookup(virConnectPtr c, const char *uri, const char *pool,
    const char *vol, virStoragePoolPtr *pp)
{
	virStoragePoolPtr p;
	virStorageVolPtr v;
	virErrorPtr e;

	*pp = NULL;
	if ((p = virStoragePoolLookupByName(c, pool)) == NULL) {
		e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_STORAGE_POOL)
			err_set(ERR_NOT_FOUND, "storage pool '%s' does not "
			    "exist on host '%s'", pool, uri);
		else
			lv_fail("find the storage pool");
		return NULL;
	}
	/* the pool's view may be stale: refresh before looking */
	virStoragePoolRefresh(p, 0);
	if ((v = virStorageVolLookupByName(p, vol)) == NULL) {
		e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_STORAGE_VOL)
			err_set(ERR_NOT_FOUND, "volume '%s' does not exist in "
			    "storage pool '%s' on host '%s'", vol, pool, uri);
		else
			lv_fail("look the volume up");
		virStoragePoolFree(p);
		return NULL;
	}
	*pp = p;
	return v;
}

int
lv_volume_path(struct backend_conn *bc, const char *pool, const char *vol,
    char *path_out, size_t path_len)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v;
	char *path = NULL;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((v = lv_vol_lookup(c, bc->uri, pool, vol, &p)) == NULL)
		goto done;
	if ((path = virStorageVolGetPath(v)) == NULL) {
		lv_fail("read the volume's path");
	} else {
		snprintf(path_out, path_len, "%s", path);
		r = 0;
	}
	free(path);
	virStorageVolFree(v);
	virStoragePoolFree(p);
done:
	virConnectClose(c);
	return r;
}

int
lv_volume_resize(struct backend_conn *bc, const char *pool, const char *vol,
    int64_t gib)
{
	virConnectPtr c = lv_get(bc);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v;
	virStorageVolInfo info;
	unsigned long long want = (unsigned long long)gib << 30;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((v = lv_vol_lookup(c, bc->uri, pool, vol, &p)) == NULL)
		goto done;
	if (virStorageVolGetInfo(v, &info) < 0)
		lv_fail("read the volume's size");
	else if (info.capacity >= want)
		r = 0;          /* grown already (a retried resize) */
	else if (virStorageVolResize(v, want, 0) < 0)
		lv_fail("grow the volume");
	else
		r = 0;
	virStorageVolFree(v);
	virStoragePoolFree(p);
done:
	virConnectClose(c);
	return r;
}

/* The format libvirt gives volume v (qcow2, raw, ...) into fmt. */
static int
lv_vol_format(virStorageVolPtr v, char *fmt, size_t len)
{
	char *xml = virStorageVolGetXMLDesc(v, 0);
	xmlDocPtr doc;
	xmlXPathContextPtr ctx = NULL;

	if (xml == NULL)
		return lv_fail("describe the volume");
	doc = lv_xml_read(xml, "volume.xml");
	free(xml);
	if (doc && (ctx = xmlXPathNewContext(doc)) != NULL)
		lv_xpath(ctx, "string(/volume/target/format/@type)", fmt, len);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	if (ctx == NULL)
		return err_set(ERR_BACKEND, "cannot parse a volume's "
		    "description");
	if (fmt[0] == '\0')
		snprintf(fmt, len, "raw");
	return 0;
}

/*
 * <volume> for a copy: name, capacity in bytes, allocation 0 (the upload
 * fills it) and format; written with libxml2's writer.  malloc'd, or
 * NULL with an error.
 */
static char *
lv_vol_copy_xml(const char *name, unsigned long long bytes, const char *fmt)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	char num[32], *out = NULL;
	int rc = w ? 0 : -1;

	snprintf(num, sizeof(num), "%llu", bytes);
	if (rc >= 0)
		rc = xmlTextWriterStartElement(w, LV_XC("volume"));
	if (rc >= 0)
		rc = xmlTextWriterWriteElement(w, LV_XC("name"), LV_XC(name));
	if (rc >= 0)
		rc = xmlTextWriterStartElement(w, LV_XC("capacity"));
	if (rc >= 0)
		rc = xmlTextWriterWriteAttribute(w, LV_XC("unit"),
		    LV_XC("bytes"));
	if (rc >= 0)
		rc = xmlTextWriterWriteString(w, LV_XC(num));
	if (rc >= 0)
		rc = xmlTextWriterEndElement(w);
	if (rc >= 0)
		rc = xmlTextWriterWriteElement(w, LV_XC("allocation"),
		    LV_XC("0"));
	if (rc >= 0)
		rc = xmlTextWriterStartElement(w, LV_XC("target"));
	if (rc >= 0)
		rc = xmlTextWriterStartElement(w, LV_XC("format"));
	if (rc >= 0)
		rc = xmlTextWriterWriteAttribute(w, LV_XC("type"), LV_XC(fmt));
	if (rc >= 0)
		rc = xmlTextWriterEndDocument(w);
	xmlFreeTextWriter(w);          /* flushes into buf */
	if (rc >= 0)
		out = strdup((const char *)xmlBufferContent(buf));
	xmlBufferFree(buf);
	if (out == NULL)
		err_set(ERR_INTERNAL, "cannot write a volume's description");
	return out;
}

#define LV_COPY_BUF (256 * 1024)

/*
 * A failed stream transfer.  libvirt reports a file's I/O error (say, no
 * space left on the destination) as VIR_ERR_SYSTEM_ERROR, like a broken
 * connection: while c is alive it is the hypervisor's refusal
 * (ERR_BACKEND), not an unreachable host.  Returns -1.
 */
static int
lv_fail_stream(virConnectPtr c, const char *what)
{
	virError e;
	int r;

	memset(&e, 0, sizeof(e));
	virCopyLastError(&e);
	if (e.code == VIR_ERR_SYSTEM_ERROR && virConnectIsAlive(c) == 1)
		r = err_set(ERR_BACKEND, "libvirt could not %s: %s", what,
		    e.message ? e.message : "unknown error");
	else
		r = lv_fail_err(what, &e);
	virResetError(&e);
	return r;
}

/*
 * Receive from in (on sc) into buf until it holds want bytes or the
 * stream ends (virStreamRecv may return fewer than asked); *got counts
 * what buf holds.  0, or -1 with an error.
 */
static int
lv_stream_fill(virConnectPtr sc, virStreamPtr in, char *buf, size_t want,
    size_t *got)
{
	int n;

	while (*got < want) {
		if ((n = virStreamRecv(in, buf + *got, want - *got)) < 0)
			return lv_fail_stream(sc, "read the volume");
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/* Send all of buf[0..n) into out (on dc).  0, or -1 with an error. */
static int
lv_stream_send(virConnectPtr dc, virStreamPtr out, const char *buf,
    size_t n)
{
	int w;

	for (size_t off = 0; off < n; off += (size_t)w)
		if ((w = virStreamSend(out, buf + off, n - off)) < 0)
			return lv_fail_stream(dc, "write the volume on the "
			    "destination");
	return 0;
}

/*
 * The first cluster of a qcow2 overlay from in, whole, its backing file
 * name set to backing (qcow2_set_backing), sent into out: the rest of
 * the file follows as it is.  0, or -1 with an error.
 */
static int
lv_stream_rebase(virConnectPtr sc, virStreamPtr in, virConnectPtr dc,
    virStreamPtr out, const char *backing)
{
	char *h = malloc(QCOW2_CLUSTER_MAX);
	size_t got = 0, need = 0;
	int r = -1;

	if (h == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (lv_stream_fill(sc, in, h, QCOW2_HDR_PROBE, &got) == 0 &&
	    qcow2_cluster0((unsigned char *)h, got, &need) == 0 &&
	    lv_stream_fill(sc, in, h, need, &got) == 0 &&
	    qcow2_set_backing((unsigned char *)h, got, backing) == 0)
		r = lv_stream_send(dc, out, h, got);
	free(h);
	return r;
}

/*
 * Pump all of sv (on sc) into dv (on dc) through two blocking streams,
 * byte for byte but for a new backing file name when backing is not
 * NULL.  On failure both streams are aborted.  0, or -1 with an error.
 */
static int
lv_vol_stream(virConnectPtr sc, virStorageVolPtr sv, virConnectPtr dc,
    virStorageVolPtr dv, const char *backing)
{
	virStreamPtr in = virStreamNew(sc, 0), out = virStreamNew(dc, 0);
	bool in_open = false, out_open = false;
	char *buf = malloc(LV_COPY_BUF);
	int n, r = -1;

	if (in == NULL || out == NULL) {
		lv_fail("open a stream");
		goto done;
	}
	if (buf == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		goto done;
	}
	if (virStorageVolDownload(sv, in, 0, 0, 0) < 0) {
		lv_fail_stream(sc, "read the volume");
		goto done;
	}
	in_open = true;
	if (virStorageVolUpload(dv, out, 0, 0, 0) < 0) {
		lv_fail_stream(dc, "write the volume on the destination");
		goto done;
	}
	out_open = true;
	if (backing && lv_stream_rebase(sc, in, dc, out, backing) < 0)
		goto done;
	while ((n = virStreamRecv(in, buf, LV_COPY_BUF)) > 0)
		if (lv_stream_send(dc, out, buf, (size_t)n) < 0)
			goto done;
	if (n < 0) {
		lv_fail_stream(sc, "read the volume");
		goto done;
	}
	in_open = false;
	if (virStreamFinish(in) < 0) {
		lv_fail_stream(sc, "read the volume to its end");
		goto done;
	}
	out_open = false;
	if (virStreamFinish(out) < 0) {
		lv_fail_stream(dc, "finish writing the volume on the "
		    "destination");
		goto done;
	}
	r = 0;
done:
	if (in_open)
		virStreamAbort(in);
	if (out_open)
		virStreamAbort(out);
	if (in)
		virStreamFree(in);
	if (out)
		virStreamFree(out);
	free(buf);
	return r;
}

/*
 * The copy's new volume, from its description xml, in dp (pool dst_pool
 * on host dst_uri).  NULL with an error: ERR_CONFLICT when a volume
 * called vol is already there.
 */
static virStorageVolPtr
lv_vol_create_copy(virStoragePoolPtr dp, const char *xml, const char *vol,
    const char *dst_pool, const char *dst_uri)
{
	virStorageVolPtr dv, old;
	virError lverr;

	if ((dv = virStorageVolCreateXML(dp, xml, 0)) != NULL)
		return dv;
	/*
	 * A name in use is VIR_ERR_STORAGE_VOL_EXIST from the storage
	 * driver but VIR_ERR_OPERATION_FAILED from the test driver:
	 * ask whether the name is taken instead.
	 */
	memset(&lverr, 0, sizeof(lverr));
	virCopyLastError(&lverr);
	if ((old = virStorageVolLookupByName(dp, vol)) != NULL) {
		virStorageVolFree(old);
		err_set(ERR_CONFLICT, "volume '%s' already exists in "
		    "storage pool '%s' on host '%s'", vol, dst_pool,
		    dst_uri);
	} else {
		lv_fail_err("create the volume on the destination",
		    &lverr);
	}
	virResetError(&lverr);
	return NULL;
}

/*
 * The copy is made as a new volume of the same name, capacity and format
 * whose file is then overwritten by the source's file, byte for byte
 * (qcow2 internal snapshots included: checked with cmp and `qemu-img
 * snapshot -l` between two libvirt 9.0 hosts), but for the backing file
 * name in the first cluster when backing is given (nothing else in the
 * image names it: the snapshots keep no backing name).  The upload does not
 * truncate the new file: that is fine while it starts no longer than
 * the source's, as when libvirt made both (same capacity, format and
 * cluster size; an image made elsewhere with smaller clusters could
 * leave stale bytes past its end).  The volume should
 * not be in use (a running domain's disk changes under the copy).  A
 * volume of that name already in dst_pool is a conflict, and is left
 * alone.
 */
int
lv_volume_copy(struct backend_conn *bc, const char *pool, const char *vol,
    struct backend_conn *dst, const char *dst_pool, const char *dst_vol,
    const char *backing, char *path_out, size_t path_len)
{
	virConnectPtr sc = NULL, dc = NULL;
	virStoragePoolPtr sp = NULL, dp = NULL;
	virStorageVolPtr sv = NULL, dv = NULL;
	virStorageVolInfo info;
	virErrorPtr e;
	struct err saved;
	char fmt[32], *xml = NULL, *path = NULL;
	int r = -1;

	if ((sc = lv_get(bc)) == NULL || (dc = lv_get(dst)) == NULL)
		goto done;
	if ((sv = lv_vol_lookup(sc, bc->uri, pool, vol, &sp)) == NULL)
		goto done;
	if (virStorageVolGetInfo(sv, &info) < 0) {
		lv_fail("read the volume's size");
		goto done;
	}
	if (lv_vol_format(sv, fmt, sizeof(fmt)) < 0)
		goto done;
	if ((dp = virStoragePoolLookupByName(dc, dst_pool)) == NULL) {
		e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_STORAGE_POOL)
			err_set(ERR_NOT_FOUND, "storage pool '%s' does not "
			    "exist on host '%s'", dst_pool, dst->uri);
		else
			lv_fail("find the destination's storage pool");
		goto done;
	}
	if (dst_vol == NULL)
		dst_vol = vol;
	if ((xml = lv_vol_copy_xml(dst_vol, info.capacity, fmt)) == NULL)
		goto done;
	if ((dv = lv_vol_create_copy(dp, xml, dst_vol, dst_pool, dst->uri)) ==
	    NULL)
		goto done;
	if (lv_vol_stream(sc, sv, dc, dv, backing) < 0)
		goto done;
	/* what the upload wrote: libvirt's view of the volume */
	virStoragePoolRefresh(dp, 0);
	if ((path = virStorageVolGetPath(dv)) == NULL) {
		lv_fail("read the copy's path");
		goto done;
	}
	snprintf(path_out, path_len, "%s", path);
	r = 0;
done:
	if (r < 0 && dv) {
		err_save(&saved);
		if (virStorageVolDelete(dv, 0) < 0)
			log_warnx("libvirt: the half-copied volume '%s' in "
			    "pool '%s' on '%s' stays: %s", dst_vol, dst_pool,
			    dst->uri, virGetLastErrorMessage());
		err_restore(&saved);
	}
	free(path);
	free(xml);
	if (dv)
		virStorageVolFree(dv);
	if (sv)
		virStorageVolFree(sv);
	if (dp)
		virStoragePoolFree(dp);
	if (sp)
		virStoragePoolFree(sp);
	if (dc)
		virConnectClose(dc);
	if (sc)
		virConnectClose(sc);
	return r;
}
