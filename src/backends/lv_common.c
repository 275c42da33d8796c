/*
 * lv_common.c - what every file of the libvirt backend uses: libvirt's
 * errors turned into ours, reading the XML libvirt gives us, and running
 * a function on a domain found by its UUID.
 */
#include <stdio.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "../common/error.h"
#include "lv_int.h"

/* Turn libvirt's error e (may be NULL) into ours; returns -1. */
int
lv_fail_err(const char *what, virErrorPtr e)
{
	const char *msg = e && e->message ? e->message : "unknown error";
	enum err_code code = ERR_BACKEND;

	if (e) {
		switch (e->code) {
		case VIR_ERR_NO_DOMAIN:
		case VIR_ERR_NO_STORAGE_VOL:
		case VIR_ERR_NO_STORAGE_POOL:
		case VIR_ERR_NO_DOMAIN_SNAPSHOT:
		case VIR_ERR_NO_NETWORK:
		case VIR_ERR_NO_INTERFACE:
			code = ERR_NOT_FOUND;
			break;
		case VIR_ERR_OPERATION_INVALID:
			code = ERR_CONFLICT;
			break;
		case VIR_ERR_NO_CONNECT:
		case VIR_ERR_INVALID_CONN:
		case VIR_ERR_RPC:
		case VIR_ERR_SYSTEM_ERROR:
		case VIR_ERR_AUTH_FAILED:
			code = ERR_UNAVAILABLE;
			break;
		case VIR_ERR_NO_SUPPORT:
			code = ERR_UNSUPPORTED;
			break;
		default:
			break;
		}
	}
	return err_set(code, "libvirt could not %s: %s", what, msg);
}

/* Turn libvirt's last error into ours; returns -1. */
int
lv_fail(const char *what)
{
	return lv_fail_err(what, virGetLastError());
}

/* Evaluate an XPath string over a document; "" when absent. */
void
lv_xpath(xmlXPathContextPtr ctx, const char *expr, char *out, size_t len)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(
	    (const xmlChar *)expr, ctx);

	out[0] = '\0';
	if (o && o->type == XPATH_STRING && o->stringval)
		snprintf(out, len, "%s", (const char *)o->stringval);
	xmlXPathFreeObject(o);
}

/* An XML document libvirt gave us; NULL when it does not parse. */
xmlDocPtr
lv_xml_read(const char *xml, const char *name)
{
	return xmlReadMemory(xml, (int)strlen(xml), name, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* The nodes expr selects (free with xmlXPathFreeObject), and how many. */
xmlXPathObjectPtr
lv_xpath_nodes(xmlXPathContextPtr ctx, const char *expr, int *n)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(LV_XC(expr), ctx);

	*n = o && o->type == XPATH_NODESET && o->nodesetval ?
	    o->nodesetval->nodeNr : 0;
	return o;
}

/* lv_xpath relative to node (ctx->node is left pointing at it). */
void
lv_xpath_at(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr,
    char *out, size_t len)
{
	ctx->node = node;
	lv_xpath(ctx, expr, out, len);
}

/*
 * Run fn on the domain with this UUID, on connection c to uri
 * (lv_on_domain) or on bc's shared connection (lv_with_domain); see
 * lv_dom_fn in lv_int.h.
 */
int
lv_on_domain(virConnectPtr c, const char *uri, const char *uuid,
    const char *what, int missing_ok, lv_dom_fn fn, void *arg)
{
	virDomainPtr d;
	int r = -1;

	d = virDomainLookupByUUIDString(c, uuid);
	if (d == NULL) {
		virErrorPtr e = virGetLastError();

		if (e && e->code == VIR_ERR_NO_DOMAIN) {
			r = missing_ok ? 0 : err_set(ERR_NOT_FOUND,
			    "domain %s does not exist on host '%s'", uuid,
			    uri);
		} else {
			r = lv_fail("look the domain up");
		}
	} else {
		r = fn(d, arg);
		if (r == LV_REPORTED)
			r = -1;
		else if (r < 0)
			r = lv_fail(what);
		else
			r = 0;
		virDomainFree(d);
	}
	return r;
}

int
lv_with_domain(struct backend_conn *bc, const char *uuid, const char *what,
    int missing_ok, lv_dom_fn fn, void *arg)
{
	virConnectPtr c = lv_get(bc);
	int r;

	if (c == NULL)
		return -1;
	r = lv_on_domain(c, bc->uri, uuid, what, missing_ok, fn, arg);
	virConnectClose(c);
	return r;
}
