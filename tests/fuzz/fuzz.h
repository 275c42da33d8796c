/*
 * fuzz.h - what the libFuzzer targets in tests/fuzz/ share:
 *  - FUZZ_CHECK, which turns a broken invariant into a crash that
 *    libFuzzer records (input saved), and FUZZ_KNOWN for the checks of
 *    bugs already reported;
 *  - fuzz_check_rc, the error-slot invariant of hangar's validators;
 *  - an independent UTF-8 decoder and the XML 1.0 Char test;
 *  - an XML checker that parses a document back and reduces it to a
 *    one-line skeleton to compare with the expected one, so an injected
 *    element, attribute, comment, PI, CDATA or entity shows up as a
 *    difference; and the expected skeletons of the documents of
 *    src/backends/domain_xml.c (fuzz_check_domain and friends).
 *
 * Everything here is static inline: each target is one translation unit.
 */
#ifndef HANGAR_FUZZ_H
#define HANGAR_FUZZ_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "backends/backend.h"
#include "common/error.h"

/* Abort (a crash for libFuzzer, input saved) when cond is false. */
#define FUZZ_CHECK(cond, ...) do {					\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);	\
} while (0)

static inline void fuzz_fail(const char *file, int line, const char *cond,
    const char *fmt, ...) __attribute__((format(printf, 4, 5), noreturn));

static inline void
fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n==fuzz== invariant broken at %s:%d: %s\n==fuzz== ",
	    file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/*
 * A check that found a bug which is reported and not yet fixed in src/:
 * FUZZ_KNOWN("name", cond, ...) crashes like FUZZ_CHECK, unless the
 * environment says HANGAR_FUZZ_KNOWN=skip (tests/fuzz/run --smoke does,
 * so `make check` does not fail at random on a bug already known; full
 * runs keep finding it).  Turn one into a FUZZ_CHECK once its fix lands.
 */
static inline bool
fuzz_known_skip(void)
{
	static int skip = -1;

	if (skip < 0) {
		const char *e = getenv("HANGAR_FUZZ_KNOWN");

		skip = e != NULL && strcmp(e, "skip") == 0;
	}
	return skip;
}

#define FUZZ_KNOWN(name, cond, ...) do {				\
	if (!(cond) && !fuzz_known_skip())				\
		fuzz_fail(__FILE__, __LINE__, "known bug " name ": " #cond, \
		    __VA_ARGS__);					\
} while (0)

/* A NUL-terminated copy of data[0..size) (malloc'd; never NULL). */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * A validator returned rc.  -1 must leave an error of one of the codes a
 * client may be given for bad input (ERR_INVALID, or ERR_UNPROCESSABLE)
 * with a message; 0 must be 0.  what names the call in the report.
 */
static inline void
fuzz_check_rc(int rc, const char *what)
{
	const struct err *e = err_last();

	FUZZ_CHECK(rc == 0 || rc == -1, "%s returned %d", what, rc);
	if (rc == 0)
		return;
	FUZZ_CHECK(e->code == ERR_INVALID || e->code == ERR_UNPROCESSABLE,
	    "%s failed with code %d (%s): %s", what, (int)e->code,
	    err_code_name(e->code), e->msg);
	FUZZ_CHECK(e->msg[0] != '\0', "%s failed with an empty message",
	    what);
	FUZZ_CHECK(memchr(e->msg, '\0', sizeof(e->msg)) != NULL &&
	    memchr(e->field, '\0', sizeof(e->field)) != NULL,
	    "%s left an unterminated error", what);
}

/* --- UTF-8 and XML text --- */

/*
 * Decode the UTF-8 sequence at s[0..n) (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF) into *cp; its length, or 0 if invalid.
 * Written independently of src/common/utf8.c, to check it.
 */
static inline size_t
fuzz_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Is s (NUL-terminated) valid UTF-8? */
static inline bool
fuzz_utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;
	uint32_t cp;

	while (i < n) {
		if ((k = fuzz_utf8_decode(u + i, n - i, &cp)) == 0)
			return false;
		i += k;
	}
	return true;
}

/* Is s valid UTF-8 made only of XML 1.0 Chars (what may appear as text)? */
static inline bool
fuzz_xml_text_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;
	uint32_t c;

	while (i < n) {
		if ((k = fuzz_utf8_decode(u + i, n - i, &c)) == 0)
			return false;
		if (!(c == 0x9 || c == 0xa || c == 0xd ||
		    (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
		    (c >= 0x10000 && c <= 0x10ffff)))
			return false;
		i += k;
	}
	return true;
}

/* --- a growing string --- */

struct fuzz_sb {
	char *s;
	size_t len, cap;
};

static inline void
fuzz_sb_putn(struct fuzz_sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;

		if ((b->s = realloc(b->s, cap)) == NULL)
			abort();
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static inline void
fuzz_sb_put(struct fuzz_sb *b, const char *s)
{
	fuzz_sb_putn(b, s, strlen(s));
}

/* s with every byte outside printable ASCII, and the skeleton's own
 * punctuation, written as \xNN: the skeleton stays unambiguous. */
static inline void
fuzz_sb_text(struct fuzz_sb *b, const char *s)
{
	char hex[8];

	for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
		if (*u < 0x20 || *u >= 0x7f || strchr("<>=\"\\{}|", *u)) {
			snprintf(hex, sizeof(hex), "\\x%02x", *u);
			fuzz_sb_put(b, hex);
		} else {
			fuzz_sb_putn(b, (const char *)u, 1);
		}
	}
}

/* --- XML skeletons ---
 *
 * A skeleton is the document as one line: an element is
 * <NAME a="v" ...>CHILDREN</NAME>, a leaf element's text is {TEXT}, every
 * other node (comment, PI, CDATA, entity reference, DTD, text next to
 * child elements that is not blank) is |KIND|.  Names keep their prefix
 * ("hangar:vm"); namespace declarations are attributes ("xmlns:hangar").
 * With with_text false every {TEXT} and attribute value is {*} / "*",
 * which compares only the shape.
 */

static inline bool
fuzz_blank(const xmlChar *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

static inline void
fuzz_xml_node(struct fuzz_sb *b, xmlNodePtr n, bool with_text)
{
	bool elems = false;

	for (xmlNodePtr c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			elems = true;
	fuzz_sb_put(b, "<");
	if (n->ns && n->ns->prefix) {
		fuzz_sb_text(b, (const char *)n->ns->prefix);
		fuzz_sb_put(b, ":");
	}
	fuzz_sb_text(b, (const char *)n->name);
	for (xmlNsPtr ns = n->nsDef; ns; ns = ns->next) {
		fuzz_sb_put(b, " xmlns");
		if (ns->prefix) {
			fuzz_sb_put(b, ":");
			fuzz_sb_text(b, (const char *)ns->prefix);
		}
		fuzz_sb_put(b, "=\"");
		fuzz_sb_text(b, with_text ? (const char *)ns->href : "*");
		fuzz_sb_put(b, "\"");
	}
	for (xmlAttrPtr a = n->properties; a; a = a->next) {
		xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);

		fuzz_sb_put(b, " ");
		if (a->ns && a->ns->prefix) {
			fuzz_sb_text(b, (const char *)a->ns->prefix);
			fuzz_sb_put(b, ":");
		}
		fuzz_sb_text(b, (const char *)a->name);
		fuzz_sb_put(b, "=\"");
		fuzz_sb_text(b, with_text ? (v ? (const char *)v : "") : "*");
		fuzz_sb_put(b, "\"");
		xmlFree(v);
	}
	fuzz_sb_put(b, ">");
	if (!elems && n->children) {
		/* a leaf: all of its children must be plain text */
		bool plain = true;

		for (xmlNodePtr c = n->children; c; c = c->next)
			if (c->type != XML_TEXT_NODE)
				plain = false;
		if (plain) {
			xmlChar *t = xmlNodeGetContent(n);

			fuzz_sb_put(b, "{");
			fuzz_sb_text(b, with_text ? (t ? (const char *)t : "") :
			    "*");
			fuzz_sb_put(b, "}");
			xmlFree(t);
		} else {
			for (xmlNodePtr c = n->children; c; c = c->next) {
				char kind[32];

				snprintf(kind, sizeof(kind), "|%d|",
				    (int)c->type);
				fuzz_sb_put(b, kind);
			}
		}
	} else {
		for (xmlNodePtr c = n->children; c; c = c->next) {
			char kind[32];

			if (c->type == XML_ELEMENT_NODE) {
				fuzz_xml_node(b, c, with_text);
				continue;
			}
			if (c->type == XML_TEXT_NODE && fuzz_blank(c->content))
				continue;   /* the writer's indentation */
			snprintf(kind, sizeof(kind), "|%d|", (int)c->type);
			fuzz_sb_put(b, kind);
		}
	}
	fuzz_sb_put(b, "</");
	if (n->ns && n->ns->prefix) {
		fuzz_sb_text(b, (const char *)n->ns->prefix);
		fuzz_sb_put(b, ":");
	}
	fuzz_sb_text(b, (const char *)n->name);
	fuzz_sb_put(b, ">");
}

static inline void
fuzz_xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* Once per process: libxml2 set up, its messages silenced. */
static inline void
fuzz_xml_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, fuzz_xml_quiet);
}

/*
 * Parse xml (strictly: no recovery, no network, no entity expansion) and
 * return its skeleton (malloc'd), or NULL when it is not well-formed.
 */
static inline char *
fuzz_xml_skeleton(const char *xml, bool with_text)
{
	struct fuzz_sb b = { NULL, 0, 0 };
	xmlDocPtr d;

	fuzz_xml_init();
	d = xmlReadMemory(xml, (int)strlen(xml), "hangar.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (d == NULL)
		return NULL;
	fuzz_sb_put(&b, "");
	if (d->intSubset || d->extSubset)
		fuzz_sb_put(&b, "|dtd|");
	for (xmlNodePtr c = d->children; c; c = c->next) {
		char kind[32];

		if (c->type == XML_ELEMENT_NODE) {
			fuzz_xml_node(&b, c, with_text);
			continue;
		}
		snprintf(kind, sizeof(kind), "|%d|", (int)c->type);
		fuzz_sb_put(&b, kind);
	}
	xmlFreeDoc(d);
	return b.s;
}

/*
 * Check a document built from inputs: when text_ok (every input string
 * was valid XML text) it must exist, parse and its skeleton equal want
 * exactly; otherwise it may be NULL with an error set (the caller clears
 * the slot first) or not parse, but if it parses it must have want's
 * shape (no element or attribute more or less).  what names the
 * generator in reports.
 */
static inline void
fuzz_xml_expect(const char *what, const char *xml, const char *want,
    bool text_ok)
{
	char *got, *got_shape, *want_shape;

	if (xml == NULL) {
		/* refusing is fine for what is not XML text, if it says so */
		FUZZ_CHECK(!text_ok, "%s returned NULL: %s", what,
		    err_last()->msg);
		FUZZ_CHECK(err_last()->code != ERR_NONE &&
		    err_last()->msg[0] != '\0', "%s returned NULL with no "
		    "error", what);
		return;
	}
	got = fuzz_xml_skeleton(xml, true);
	if (text_ok) {
		FUZZ_CHECK(got != NULL, "%s wrote XML that does not parse:\n%s",
		    what, xml);
		FUZZ_CHECK(strcmp(got, want) == 0, "%s wrote\n%s\nwhich reads "
		    "back as\n%s\nnot\n%s", what, xml, got, want);
		free(got);
		return;
	}
	if (got == NULL)
		return;
	free(got);
	/*
	 * The shape: the same document with every attribute value blanked
	 * and every leaf text dropped (a string the writer mangled may read
	 * back empty: no text node at all).
	 */
	got_shape = fuzz_xml_skeleton(xml, false);
	if (got_shape) {
		char *p;

		while ((p = strstr(got_shape, "{*}")) != NULL)
			memmove(p, p + 3, strlen(p + 3) + 1);
	}
	want_shape = NULL;
	{
		/* blank the texts of want: {..} -> "", ="..." -> ="*" */
		struct fuzz_sb b = { NULL, 0, 0 };

		fuzz_sb_put(&b, "");
		for (const char *p = want; *p; p++) {
			if (*p == '{') {
				p = strchr(p, '}');
			} else if (*p == '"') {
				fuzz_sb_put(&b, "\"*\"");
				p = strchr(p + 1, '"');
			} else {
				fuzz_sb_putn(&b, p, 1);
			}
		}
		want_shape = b.s;
	}
	FUZZ_CHECK(got_shape && strcmp(got_shape, want_shape) == 0,
	    "%s wrote\n%s\nwhose shape is\n%s\nnot\n%s", what, xml,
	    got_shape ? got_shape : "(none)", want_shape);
	free(got_shape);
	free(want_shape);
}

/* --- the documents of src/backends/domain_xml.c, as skeletons ---
 *
 * fuzz_check_X(args, text_ok) builds the expected skeleton of what
 * domain_xml_X(args) must write, runs it, and checks the document with
 * fuzz_xml_expect (text_ok: every string argument is valid XML text).
 */

/* <el>{text}</el> as a skeleton (an empty text is no child at all) */
static inline void
fuzz_want_leaf(struct fuzz_sb *b, const char *el, const char *attrs,
    const char *text)
{
	fuzz_sb_put(b, "<");
	fuzz_sb_put(b, el);
	fuzz_sb_put(b, attrs);
	fuzz_sb_put(b, ">");
	if (text[0]) {
		fuzz_sb_put(b, "{");
		fuzz_sb_text(b, text);
		fuzz_sb_put(b, "}");
	}
	fuzz_sb_put(b, "</");
	fuzz_sb_put(b, el);
	fuzz_sb_put(b, ">");
}

/* ' name="value"' */
static inline void
fuzz_want_attr(struct fuzz_sb *b, const char *name, const char *value)
{
	fuzz_sb_put(b, " ");
	fuzz_sb_put(b, name);
	fuzz_sb_put(b, "=\"");
	fuzz_sb_text(b, value);
	fuzz_sb_put(b, "\"");
}

static inline void
fuzz_check_domain(const struct vm_spec *sp, bool text_ok)
{
	struct fuzz_sb b = { NULL, 0, 0 }, a = { NULL, 0, 0 };
	char num[32];
	char *xml;

	fuzz_sb_put(&b, "<domain");
	fuzz_want_attr(&b, "type", sp->domain_type);
	fuzz_sb_put(&b, ">");
	fuzz_want_leaf(&b, "name", "", sp->name);
	fuzz_want_leaf(&b, "uuid", "", sp->uuid);
	fuzz_sb_put(&b, "<metadata><hangar:vm xmlns:hangar=\"urn:hangar:vm:1\"");
	fuzz_want_attr(&b, "id", sp->uuid);
	fuzz_sb_put(&b, "></hangar:vm></metadata>");
	snprintf(num, sizeof(num), "%" PRId64, sp->max_memory_mib >
	    sp->memory_mib ? sp->max_memory_mib : sp->memory_mib);
	fuzz_want_leaf(&b, "memory", " unit=\"MiB\"", num);
	if (sp->max_memory_mib > sp->memory_mib) {
		snprintf(num, sizeof(num), "%" PRId64, sp->memory_mib);
		fuzz_want_leaf(&b, "currentMemory", " unit=\"MiB\"", num);
	}
	if (sp->max_vcpus > sp->vcpus) {
		char cur[48];

		snprintf(cur, sizeof(cur), " current=\"%d\"", sp->vcpus);
		snprintf(num, sizeof(num), "%d", sp->max_vcpus);
		fuzz_want_leaf(&b, "vcpu", cur, num);
	} else {
		snprintf(num, sizeof(num), "%d", sp->vcpus);
		fuzz_want_leaf(&b, "vcpu", "", num);
	}
	fuzz_sb_put(&b, "<os>");
	fuzz_sb_put(&a, "");
	fuzz_want_attr(&a, "arch", sp->arch);
	fuzz_want_leaf(&b, "type", a.s, "hvm");
	fuzz_sb_put(&b, "<boot dev=\"hd\"></boot></os><features><acpi></acpi>");
	/* a Windows guest's Hyper-V and clock (test_xml pins them) */
	if (sp->hyperv)
		fuzz_sb_put(&b, "<hyperv><relaxed state=\"on\"></relaxed>"
		    "<vapic state=\"on\"></vapic><spinlocks state=\"on\" "
		    "retries=\"8191\"></spinlocks></hyperv>");
	fuzz_sb_put(&b, "</features><clock offset=\"");
	fuzz_sb_put(&b, sp->clock && strcmp(sp->clock, "localtime") == 0 ?
	    "localtime" : "utc");
	fuzz_sb_put(&b, "\">");
	if (sp->hyperv)
		fuzz_sb_put(&b, "<timer name=\"rtc\" tickpolicy=\"catchup\">"
		    "</timer><timer name=\"pit\" tickpolicy=\"delay\"></timer>"
		    "<timer name=\"hpet\" present=\"no\"></timer>"
		    "<timer name=\"hypervclock\" present=\"yes\"></timer>");
	fuzz_sb_put(&b, "</clock>"
	    "<on_poweroff>{destroy}</on_poweroff>"
	    "<on_reboot>{restart}</on_reboot>"
	    "<on_crash>{destroy}</on_crash><devices>");
	/* the oracle knows one plain virtio qcow2 disk (test_xml pins the
	 * rest of the device lists) */
	if (sp->ndisks == 1) {
		fuzz_sb_put(&b, "<disk type=\"file\" device=\"disk\">"
		    "<driver name=\"qemu\" type=\"qcow2\"></driver><source");
		fuzz_want_attr(&b, "file", sp->disks[0].path);
		fuzz_sb_put(&b, "></source><target dev=\"vda\" bus=\"virtio\">"
		    "</target></disk>");
	}
	fuzz_sb_put(&b, "<serial type=\"pty\"></serial>"
	    "<console type=\"pty\"><target type=\"serial\" port=\"0\">"
	    "</target></console>"
	    "<channel type=\"unix\"><target type=\"virtio\" "
	    "name=\"org.qemu.guest_agent.0\"></target></channel>");
	/* a graphical console: VNC on a unix socket, a VGA display */
	if (sp->graphics && strcmp(sp->graphics, "vnc") == 0)
		fuzz_sb_put(&b, "<graphics type=\"vnc\"><listen type=\"socket\">"
		    "</listen></graphics><video><model type=\"vga\"></model>"
		    "</video>");
	fuzz_sb_put(&b, "<memballoon model=\"");
	fuzz_sb_put(&b, sp->max_memory_mib > 0 ? "virtio" : "none");
	fuzz_sb_put(&b, "\"></memballoon></devices></domain>");

	err_clear();
	xml = domain_xml_domain(sp);
	fuzz_xml_expect("domain_xml_domain", xml, b.s, text_ok);
	free(xml);
	free(a.s);
	free(b.s);
}

static inline void
fuzz_check_snapshot(const struct snap_spec *sp, bool text_ok)
{
	struct fuzz_sb b = { NULL, 0, 0 };
	char *xml;

	fuzz_sb_put(&b, "<domainsnapshot>");
	fuzz_want_leaf(&b, "name", "", sp->name);
	if (sp->description && sp->description[0])
		fuzz_want_leaf(&b, "description", "", sp->description);
	fuzz_sb_put(&b, sp->memory ? "<memory snapshot=\"internal\"></memory>" :
	    "<memory snapshot=\"no\"></memory>");
	fuzz_sb_put(&b, "</domainsnapshot>");
	err_clear();
	xml = domain_xml_snapshot(sp);
	fuzz_xml_expect("domain_xml_snapshot", xml, b.s, text_ok);
	free(xml);
	free(b.s);
}

static inline void
fuzz_check_volume(const char *name, int64_t gib, bool text_ok)
{
	struct fuzz_sb b = { NULL, 0, 0 };
	char num[32];
	char *xml;

	fuzz_sb_put(&b, "<volume>");
	fuzz_want_leaf(&b, "name", "", name);
	snprintf(num, sizeof(num), "%" PRId64, gib);
	fuzz_want_leaf(&b, "capacity", " unit=\"GiB\"", num);
	fuzz_want_leaf(&b, "allocation", "", "0");
	/* qcow2 v3: compat 1.1 (dirty bitmaps for checkpoints) */
	fuzz_sb_put(&b, "<target><format type=\"qcow2\"></format>"
	    "<compat>{1.1}</compat></target></volume>");
	err_clear();
	xml = domain_xml_volume(name, gib);
	fuzz_xml_expect("domain_xml_volume", xml, b.s, text_ok);
	free(xml);
	free(b.s);
}

static inline void
fuzz_check_pool(const char *name, const char *path, bool text_ok)
{
	struct fuzz_sb b = { NULL, 0, 0 };
	char *xml;

	fuzz_sb_put(&b, "<pool type=\"dir\">");
	fuzz_want_leaf(&b, "name", "", name);
	fuzz_sb_put(&b, "<target>");
	fuzz_want_leaf(&b, "path", "", path);
	fuzz_sb_put(&b, "</target></pool>");
	err_clear();
	xml = domain_xml_pool(name, path);
	fuzz_xml_expect("domain_xml_pool", xml, b.s, text_ok);
	free(xml);
	free(b.s);
}

#endif
