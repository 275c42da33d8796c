/*
 * test_xml.c - unit tests of backends/domain_xml.c: the domain, storage
 * pool, storage volume and domain snapshot documents hangar hands to
 * libvirt.
 *
 * Golden files in tests/golden/xml/ pin the output byte for byte; each
 * case below names its file.  Run from the repository root (as `make
 * check` does).  HANGAR_REGOLD=1 rewrites the golden files from what the
 * code writes now; review the diff before committing it.
 *
 * Hostile values (markup, entities, quotes, CDATA ends) must come out
 * escaped: each document is parsed back with libxml2 and checked with
 * XPath, so an injected element shows up as a changed element count.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "backends/backend.h"
#include "common/error.h"

#define GOLDEN_DIR "tests/golden/xml"

/* --- golden files --- */

/* All of path, malloc'd and NUL-terminated; NULL when it cannot be read. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nb;

			cap = (len + 4096 + 1) * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
		if (n < 4096)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static void
write_golden(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* Compare got (which this function frees) with GOLDEN_DIR/name. */
static void
assert_golden(char *got, const char *name)
{
	char path[512], *want;
	const char *regold = getenv("HANGAR_REGOLD");
	size_t i;

	if (got == NULL)
		fail_msg("%s: no document: %s", name, err_last()->msg);
	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	if (regold && strcmp(regold, "1") == 0) {
		write_golden(path, got);
		free(got);
		return;
	}
	if ((want = slurp(path)) == NULL)
		fail_msg("cannot read %s (run from the repository root; "
		    "HANGAR_REGOLD=1 creates it)", path);
	if (strcmp(got, want) != 0) {
		for (i = 0; got[i] && got[i] == want[i]; i++)
			;
		print_error("%s differs at byte %zu; got:\n%s\n", path, i, got);
		free(want);
		free(got);
		fail_msg("%s does not match (HANGAR_REGOLD=1 rewrites it)",
		    path);
	}
	free(want);
	free(got);
}

static const struct vm_disk_spec disk_web1[] = {
	{ .dev = "vda", .path = "/var/lib/hangar/images/web1.qcow2" },
};

static const struct vm_spec spec_kvm_disk = {
	.uuid = "6f1c0a8e-3b7d-4c52-9e1a-0d2b3c4d5e6f",
	.name = "web1",
	.vcpus = 2,
	.memory_mib = 2048,
	.domain_type = "kvm",
	.arch = "x86_64",
	.disks = disk_web1,
	.ndisks = 1,
};

static const struct vm_spec spec_qemu_nodisk = {
	.uuid = "00000000-0000-4000-8000-000000000001",
	.name = "tiny",
	.vcpus = 1,
	.memory_mib = 64,
	.domain_type = "qemu",
	.arch = "aarch64",
};

static const struct vm_disk_spec disk_db0[] = {
	{ .dev = "vda", .path = "/srv/pool/db-0.qcow2" },
};

static const struct vm_spec spec_qemu_disk = {
	.uuid = "ffffffff-ffff-4fff-bfff-ffffffffffff",
	.name = "db-0",
	.vcpus = 256,
	.memory_mib = 4194304,
	.domain_type = "qemu",
	.arch = "x86_64",
	.disks = disk_db0,
	.ndisks = 1,
};

/* an image-backed root disk: an overlay on a cached base, itself on one */
static const char *const chain[] = {
	"/var/lib/hangar/images/base-9f86d081.qcow2",
	"/var/lib/hangar/images/base-0c1e2d3f.raw", NULL,
};
static const char *const chain_fmt[] = { "qcow2", "raw", NULL };

static const struct vm_disk_spec disk_backed[] = {
	{ .dev = "vda", .format = "qcow2", .bus = "virtio",
	  .path = "/var/lib/hangar/images/a1b2-vda.qcow2", .backing = chain,
	  .backing_format = chain_fmt, .boot_order = 1 },
};

static const struct vm_spec spec_backed = {
	.uuid = "a1b2c3d4-0000-4000-8000-00000000000b",
	.name = "from-image",
	.vcpus = 1,
	.memory_mib = 512,
	.domain_type = "qemu",
	.arch = "x86_64",
	.machine = "pc",
	.serial_log = "/var/log/libvirt/qemu/from-image-serial.log",
	.disks = disk_backed,
	.ndisks = 1,
};

/* three disks on three buses, the second one bootable after the first */
static const struct vm_disk_spec disk_three[] = {
	{ .dev = "vda", .path = "/p/three-vda.qcow2", .boot_order = 1 },
	{ .dev = "sda", .bus = "scsi", .path = "/p/three-sda.qcow2",
	  .boot_order = 2 },
	{ .dev = "sdb", .bus = "sata", .format = "raw",
	  .path = "/p/three-sdb.raw" },
};

static const struct vm_spec spec_three = {
	.uuid = "33333333-3333-4333-8333-333333333333",
	.name = "three",
	.vcpus = 4,
	.memory_mib = 4096,
	.domain_type = "kvm",
	.arch = "x86_64",
	.machine = "q35",
	.firmware = "uefi",
	.disks = disk_three,
	.ndisks = 3,
};

/* two NICs, a libvirt network's and a host bridge's: a list, in order */
static const struct vm_nic_spec nic_two[] = {
	{ "network", "hangar-lan", "52:54:00:0a:00:01", "virtio" },
	{ "bridge", "br0", "52:54:00:0a:00:02", "e1000" },
};

static const struct vm_spec spec_nics = {
	.uuid = "44444444-4444-4444-8444-444444444444", .name = "nics",
	.vcpus = 1, .memory_mib = 256, .domain_type = "qemu",
	.arch = "x86_64", .disks = disk_three, .ndisks = 1,
	.nics = nic_two, .nnics = 2,
};

/* a root disk and a CD-ROM (e.g. a cloud-init seed) on IDE */
static const struct vm_disk_spec disk_cdrom[] = {
	{ .dev = "vda", .path = "/p/cd-vda.qcow2", .boot_order = 1 },
	{ .dev = "hdc", .device = "cdrom", .bus = "ide", .format = "raw",
	  .path = "/p/cd-seed.iso" },
};

static const struct vm_spec spec_cdrom = {
	.uuid = "cdcdcdcd-cdcd-4cdc-8cdc-cdcdcdcdcdcd",
	.name = "cd",
	.vcpus = 1,
	.memory_mib = 256,
	.domain_type = "qemu",
	.arch = "x86_64",
	.machine = "pc",
	.disks = disk_cdrom,
	.ndisks = 2,
};

/* the NoCloud seed on q35: a CD-ROM on virtio-scsi (the cloud kernels
 * lack AHCI, q35 has no IDE) */
static const struct vm_disk_spec disk_seed_q35[] = {
	{ .dev = "vda", .path = "/p/ci.qcow2", .boot_order = 1 },
	{ .dev = "sda", .device = "cdrom", .bus = "scsi", .format = "raw",
	  .path = "/p/ci-cidata.iso" },
};

static const struct vm_spec spec_seed_q35 = {
	.uuid = "c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1",
	.name = "ci",
	.vcpus = 1,
	.memory_mib = 512,
	.domain_type = "qemu",
	.arch = "x86_64",
	.machine = "q35",
	.disks = disk_seed_q35,
	.ndisks = 2,
};

/* a Windows guest: SATA root disk, local-time clock, Hyper-V */
static const struct vm_disk_spec disk_win[] = {
	{ .dev = "sda", .bus = "sata", .path = "/p/win-sda.qcow2",
	  .boot_order = 1 },
};

static const struct vm_spec spec_windows = {
	.uuid = "77777777-7777-4777-8777-777777777777",
	.name = "win",
	.vcpus = 2,
	.memory_mib = 4096,
	.domain_type = "kvm",
	.arch = "x86_64",
	.machine = "q35",
	.clock = "localtime",
	.hyperv = true,
	.graphics = "vnc",
	.disks = disk_win,
	.ndisks = 1,
};

static void
test_golden_domain_kvm_disk(void **state)
{
	(void)state;
	assert_golden(domain_xml_domain(&spec_kvm_disk),
	    "domain-kvm-disk.xml");
}

static void
test_golden_domain_qemu_nodisk(void **state)
{
	(void)state;
	assert_golden(domain_xml_domain(&spec_qemu_nodisk),
	    "domain-qemu-nodisk.xml");
}

static void
test_golden_domain_qemu_disk(void **state)
{
	(void)state;
	assert_golden(domain_xml_domain(&spec_qemu_disk),
	    "domain-qemu-disk.xml");
}

static void
test_golden_domain_devices(void **state)
{
	(void)state;
	assert_golden(domain_xml_domain(&spec_backed),
	    "domain-backing-chain.xml");
	assert_golden(domain_xml_domain(&spec_three), "domain-three-disks.xml");
	assert_golden(domain_xml_domain(&spec_cdrom), "domain-cdrom.xml");
	assert_golden(domain_xml_domain(&spec_seed_q35),
	    "domain-seed-q35.xml");
	assert_golden(domain_xml_domain(&spec_windows), "domain-windows.xml");
	assert_golden(domain_xml_domain(&spec_nics), "domain-nics.xml");
	assert_golden(domain_xml_nic_device(&nic_two[1]), "nic-bridge.xml");
}


static void
test_golden_pool(void **state)
{
	(void)state;
	assert_golden(domain_xml_pool("hangar", "/var/lib/hangar/images"),
	    "pool.xml");
}

static void
test_golden_volume(void **state)
{
	(void)state;
	assert_golden(domain_xml_volume("web1.qcow2", 10), "volume.xml");
	assert_golden(domain_xml_volume_overlay("a1b2.qcow2", 20,
	    "/var/lib/hangar/images/base-9f86d081.qcow2"),
	    "volume-overlay.xml");
	assert_golden(domain_xml_volume_bytes("base-9f86d081.qcow2",
	    2147483648), "volume-bytes.xml");
	assert_golden(domain_xml_volume("big", 65536), "volume-big.xml");
	assert_golden(domain_xml_volume_raw("c1c1-cidata.iso", 374784),
	    "volume-raw.xml");
}

static const struct snap_spec snap_plain = {
	.name = "before-upgrade",
	.description = NULL,
	.memory = false,
};

static const struct snap_spec snap_desc = {
	.name = "s1",
	.description = "kernel <6.1> & \"glibc\" 'pinned'",
	.memory = false,
};

static const struct snap_spec snap_memory = {
	.name = "live",
	.description = "with RAM",
	.memory = true,
};

static void
test_golden_snapshot(void **state)
{
	struct snap_spec empty = snap_plain;

	(void)state;
	assert_golden(domain_xml_snapshot(&snap_plain), "snapshot.xml");
	assert_golden(domain_xml_snapshot(&snap_desc), "snapshot-desc.xml");
	assert_golden(domain_xml_snapshot(&snap_memory),
	    "snapshot-memory.xml");
	/* an empty description is none at all */
	empty.description = "";
	assert_golden(domain_xml_snapshot(&empty), "snapshot.xml");
}

static const struct net_spec net_nat = {
	.name = "hangar-lan", .uuid = "6f1c3c2e-8b0a-4c57-9d61-0a4f7e2b9c10",
	.mode = "nat", .bridge = "hgn12", .address = "10.77.0.1",
	.prefix = 24, .dhcp = true,
};

static void
test_golden_network(void **state)
{
	struct net_spec iso = net_nat;
	const struct net_dhcp_host h = { "52:54:00:12:34:56", "10.77.0.2",
	    "web1" };

	(void)state;
	iso.mode = "isolated";
	iso.dhcp = false;
	assert_golden(network_xml_network(&net_nat), "network-nat.xml");
	assert_golden(network_xml_network(&iso), "network-isolated.xml");
	assert_golden(network_xml_dhcp_host(&h), "network-dhcp-host.xml");
}

/* --- parsing back --- */

struct parsed {
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
};

static void
parse(struct parsed *p, const char *xml)
{
	assert_non_null(xml);
	p->doc = xmlReadMemory(xml, (int)strlen(xml), "test.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (p->doc == NULL)
		fail_msg("not well-formed XML:\n%s", xml);
	p->ctx = xmlXPathNewContext(p->doc);
	assert_non_null(p->ctx);
}

static void
parsed_free(struct parsed *p)
{
	xmlXPathFreeContext(p->ctx);
	xmlFreeDoc(p->doc);
}

/* The XPath expression's string value, malloc'd. */
static char *
xp_string(struct parsed *p, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr,
	    p->ctx);
	char *s;

	if (o == NULL || o->type != XPATH_STRING || o->stringval == NULL)
		fail_msg("XPath %s gave no string", expr);
	s = strdup((const char *)o->stringval);
	xmlXPathFreeObject(o);
	assert_non_null(s);
	return s;
}

static double
xp_number(struct parsed *p, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr,
	    p->ctx);
	double d;

	if (o == NULL || o->type != XPATH_NUMBER)
		fail_msg("XPath %s gave no number", expr);
	d = o->floatval;
	xmlXPathFreeObject(o);
	return d;
}

static void
assert_xp_string(struct parsed *p, const char *expr, const char *want)
{
	char *got = xp_string(p, expr);

	if (strcmp(got, want) != 0) {
		print_error("%s: got '%s', want '%s'\n", expr, got, want);
		free(got);
		fail();
	}
	free(got);
}

/* Shape of a document: element counts that an injection would change. */
struct shape {
	double top, all, attrs;
};

static struct shape
shape_of(struct parsed *p, const char *root)
{
	struct shape s;
	char expr[128];

	snprintf(expr, sizeof(expr), "count(/%s/*)", root);
	s.top = xp_number(p, expr);
	s.all = xp_number(p, "count(//*)");
	s.attrs = xp_number(p, "count(//@*)");
	return s;
}

static void
assert_same_shape(struct parsed *p, const char *root, struct shape want)
{
	struct shape got = shape_of(p, root);

	assert_true(got.top == want.top);
	assert_true(got.all == want.all);
	assert_true(got.attrs == want.attrs);
	assert_true(xp_number(p, "count(//x)") == 0);
	assert_true(xp_number(p, "count(//comment())") == 0);
	assert_true(xp_number(p, "count(//processing-instruction())") == 0);
}

static const char *const hostile[] = {
	"</name><x/>",
	"a&b",
	"&amp;&lt;&#60;&xxe;",
	"q\"u'o\"te",
	"]]>",
	"<![CDATA[x]]>",
	"<!-- c --><?pi x?>",
	"</name><x a=\"1\"/><name>",
	"' x='1",
	"\" x=\"1",
	"</source><x/><source file='",
	"tab\there, caf\xc3\xa9",
};

static void
test_domain_parses_back(void **state)
{
	struct parsed p;
	char *xml;

	(void)state;
	xml = domain_xml_domain(&spec_kvm_disk);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domain/@type)", "kvm");
	assert_xp_string(&p, "string(/domain/name)", "web1");
	assert_xp_string(&p, "string(/domain/uuid)", spec_kvm_disk.uuid);
	assert_xp_string(&p, "string(/domain/memory)", "2048");
	assert_xp_string(&p, "string(/domain/memory/@unit)", "MiB");
	assert_xp_string(&p, "string(/domain/vcpu)", "2");
	assert_xp_string(&p, "string(/domain/os/type/@arch)", "x86_64");
	assert_xp_string(&p, "string(/domain/os/type)", "hvm");
	assert_xp_string(&p, "string(/domain/devices/disk/source/@file)",
	    spec_kvm_disk.disks[0].path);
	assert_xp_string(&p, "string(/domain/devices/disk/driver/@type)",
	    "qcow2");
	assert_xp_string(&p, "string(/domain/metadata/*[local-name()='vm']"
	    "/@id)", spec_kvm_disk.uuid);
	assert_xp_string(&p, "namespace-uri(/domain/metadata/*)",
	    "urn:hangar:vm:1");
	assert_true(xp_number(&p, "count(/domain/devices/disk)") == 1);
	parsed_free(&p);
	free(xml);

	xml = domain_xml_domain(&spec_qemu_nodisk);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domain/@type)", "qemu");
	assert_true(xp_number(&p, "count(/domain/devices/disk)") == 0);
	/* serial, console, the guest agent's channel, memballoon */
	assert_true(xp_number(&p, "count(/domain/devices/*)") == 4);
	assert_xp_string(&p, "string(/domain/devices/channel[@type='unix']"
	    "/target[@type='virtio']/@name)", "org.qemu.guest_agent.0");
	parsed_free(&p);
	free(xml);
}

/* The guest clock: UTC unless asked; a Windows guest's clock in local
 * time, its timers and Hyper-V enlightenments; either one on its own. */
static void
test_domain_clock(void **state)
{
	struct vm_spec s = spec_kvm_disk;
	struct parsed p;
	char *xml;

	(void)state;
	xml = domain_xml_domain(&spec_kvm_disk);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domain/clock/@offset)", "utc");
	assert_true(xp_number(&p, "count(/domain/clock/timer)") == 0);
	assert_true(xp_number(&p, "count(/domain/features/hyperv)") == 0);
	assert_true(xp_number(&p, "count(/domain/features/acpi)") == 1);
	assert_true(xp_number(&p, "count(/domain/devices/graphics)") == 0);
	assert_true(xp_number(&p, "count(/domain/devices/video)") == 0);
	parsed_free(&p);
	free(xml);

	xml = domain_xml_domain(&spec_windows);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domain/clock/@offset)", "localtime");
	assert_xp_string(&p, "string(/domain/clock/timer[@name='hypervclock']"
	    "/@present)", "yes");
	assert_xp_string(&p, "string(/domain/clock/timer[@name='hpet']"
	    "/@present)", "no");
	assert_xp_string(&p, "string(/domain/clock/timer[@name='rtc']"
	    "/@tickpolicy)", "catchup");
	assert_xp_string(&p, "string(/domain/features/hyperv/relaxed/@state)",
	    "on");
	assert_xp_string(&p, "string(/domain/features/hyperv/vapic/@state)",
	    "on");
	assert_xp_string(&p, "string(/domain/features/hyperv/spinlocks"
	    "/@retries)", "8191");
	assert_true(xp_number(&p, "count(/domain/features/acpi)") == 1);
	/* VNC on a unix socket only: no port, no TCP listen address */
	assert_true(xp_number(&p, "count(/domain/devices/graphics)") == 1);
	assert_xp_string(&p, "string(/domain/devices/graphics/@type)", "vnc");
	assert_xp_string(&p, "string(/domain/devices/graphics/listen/@type)",
	    "socket");
	assert_true(xp_number(&p, "count(/domain/devices/graphics/@port | "
	    "/domain/devices/graphics/@listen | "
	    "/domain/devices/graphics/listen/@address)") == 0);
	assert_xp_string(&p, "string(/domain/devices/video/model/@type)",
	    "vga");
	parsed_free(&p);
	free(xml);

	/* local time without Hyper-V (a Linux guest dual-booting) */
	s.clock = "localtime";
	xml = domain_xml_domain(&s);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domain/clock/@offset)", "localtime");
	assert_true(xp_number(&p, "count(/domain/clock/timer)") == 0);
	assert_true(xp_number(&p, "count(/domain/features/hyperv)") == 0);
	parsed_free(&p);
	free(xml);
}

/* The lists come out as lists: every disk, in order, each its own. */
static void
test_domain_disk_lists(void **state)
{
	struct parsed p;
	char *xml;

	(void)state;
	xml = domain_xml_domain(&spec_three);
	parse(&p, xml);
	assert_true(xp_number(&p, "count(/domain/devices/disk)") == 3);
	assert_xp_string(&p, "string(/domain/devices/disk[2]/target/@dev)",
	    "sda");
	assert_xp_string(&p, "string(/domain/devices/disk[2]/target/@bus)",
	    "scsi");
	assert_xp_string(&p, "string(/domain/devices/disk[3]/driver/@type)",
	    "raw");
	assert_xp_string(&p, "string(/domain/devices/disk[2]/boot/@order)",
	    "2");
	assert_true(xp_number(&p, "count(/domain/devices/disk[3]/boot)") == 0);
	/* per-device boot order and <os><boot> exclude each other */
	assert_true(xp_number(&p, "count(/domain/os/boot)") == 0);
	assert_xp_string(&p, "string(/domain/os/@firmware)", "efi");
	assert_xp_string(&p, "string(/domain/os/type/@machine)", "q35");
	assert_true(xp_number(&p, "count(/domain/devices/controller"
	    "[@type='scsi'][@model='virtio-scsi'])") == 1);
	parsed_free(&p);
	free(xml);

	xml = domain_xml_domain(&spec_backed);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domain/devices/disk/backingStore/"
	    "source/@file)", chain[0]);
	assert_xp_string(&p, "string(/domain/devices/disk/backingStore/"
	    "backingStore/format/@type)", "raw");
	/* the chain ends in an empty element: nothing left to probe */
	assert_true(xp_number(&p, "count(/domain/devices/disk/backingStore/"
	    "backingStore/backingStore/*)") == 0);
	assert_true(xp_number(&p, "count(/domain/devices/disk/backingStore/"
	    "backingStore/backingStore)") == 1);
	assert_xp_string(&p, "string(/domain/devices/serial/log/@file)",
	    spec_backed.serial_log);
	assert_xp_string(&p, "string(/domain/devices/serial/log/@append)",
	    "on");
	assert_xp_string(&p, "string(/domain/devices/serial/@type)", "pty");
	assert_xp_string(&p, "string(/domain/devices/console/@type)", "pty");
	assert_xp_string(&p, "string(/domain/devices/console/target/@type)",
	    "serial");
	parsed_free(&p);
	free(xml);

	xml = domain_xml_domain(&spec_cdrom);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domain/devices/disk[2]/@device)",
	    "cdrom");
	assert_true(xp_number(&p, "count(/domain/devices/disk[2]/readonly)")
	    == 1);
	parsed_free(&p);
	free(xml);
}

static void
test_domain_hostile(void **state)
{
	struct vm_spec spec = spec_kvm_disk;
	struct vm_disk_spec disk = disk_web1[0];
	struct parsed p;
	struct shape base;
	char *xml;

	spec.disks = &disk;

	(void)state;
	xml = domain_xml_domain(&spec);
	parse(&p, xml);
	base = shape_of(&p, "domain");
	parsed_free(&p);
	free(xml);

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		/* in element text, attribute values, everywhere at once */
		spec.name = hostile[i];
		spec.uuid = hostile[i];
		disk.path = hostile[i];
		spec.domain_type = hostile[i];
		spec.arch = hostile[i];
		xml = domain_xml_domain(&spec);
		if (xml == NULL)
			fail_msg("hostile[%zu]: %s", i, err_last()->msg);
		parse(&p, xml);
		assert_xp_string(&p, "string(/domain/name)", hostile[i]);
		assert_xp_string(&p, "string(/domain/uuid)", hostile[i]);
		assert_xp_string(&p, "string(/domain/@type)", hostile[i]);
		assert_xp_string(&p, "string(/domain/os/type/@arch)",
		    hostile[i]);
		assert_xp_string(&p,
		    "string(/domain/devices/disk/source/@file)", hostile[i]);
		assert_xp_string(&p, "string(/domain/metadata/*/@id)",
		    hostile[i]);
		assert_true(xp_number(&p, "count(/domain/name)") == 1);
		assert_same_shape(&p, "domain", base);
		parsed_free(&p);
		free(xml);
	}
}

static void
test_pool_hostile(void **state)
{
	struct parsed p;
	struct shape base;
	char *xml;

	(void)state;
	xml = domain_xml_pool("hangar", "/var/lib/hangar/images");
	parse(&p, xml);
	assert_xp_string(&p, "string(/pool/@type)", "dir");
	assert_xp_string(&p, "string(/pool/name)", "hangar");
	assert_xp_string(&p, "string(/pool/target/path)",
	    "/var/lib/hangar/images");
	base = shape_of(&p, "pool");
	parsed_free(&p);
	free(xml);

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		xml = domain_xml_pool(hostile[i], hostile[i]);
		assert_non_null(xml);
		parse(&p, xml);
		assert_xp_string(&p, "string(/pool/name)", hostile[i]);
		assert_xp_string(&p, "string(/pool/target/path)", hostile[i]);
		assert_same_shape(&p, "pool", base);
		parsed_free(&p);
		free(xml);
	}
}

static void
test_volume_hostile(void **state)
{
	struct parsed p;
	struct shape base;
	char *xml;

	(void)state;
	xml = domain_xml_volume("web1.qcow2", 7);
	parse(&p, xml);
	assert_xp_string(&p, "string(/volume/name)", "web1.qcow2");
	assert_xp_string(&p, "string(/volume/capacity)", "7");
	assert_xp_string(&p, "string(/volume/capacity/@unit)", "GiB");
	assert_xp_string(&p, "string(/volume/allocation)", "0");
	assert_xp_string(&p, "string(/volume/target/format/@type)", "qcow2");
	base = shape_of(&p, "volume");
	parsed_free(&p);
	free(xml);

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		xml = domain_xml_volume(hostile[i], 1);
		assert_non_null(xml);
		parse(&p, xml);
		assert_xp_string(&p, "string(/volume/name)", hostile[i]);
		assert_same_shape(&p, "volume", base);
		parsed_free(&p);
		free(xml);
	}
}

static void
test_snapshot_parses_back(void **state)
{
	struct parsed p;
	char *xml;

	(void)state;
	xml = domain_xml_snapshot(&snap_plain);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domainsnapshot/name)", "before-upgrade");
	assert_true(xp_number(&p, "count(/domainsnapshot/description)") == 0);
	assert_xp_string(&p, "string(/domainsnapshot/memory/@snapshot)", "no");
	/* libvirt picks internal disk snapshots for qcow2 by itself */
	assert_true(xp_number(&p, "count(/domainsnapshot/disks)") == 0);
	assert_true(xp_number(&p, "count(/domainsnapshot/*)") == 2);
	parsed_free(&p);
	free(xml);

	xml = domain_xml_snapshot(&snap_desc);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domainsnapshot/description)",
	    snap_desc.description);
	assert_xp_string(&p, "string(/domainsnapshot/memory/@snapshot)", "no");
	parsed_free(&p);
	free(xml);

	xml = domain_xml_snapshot(&snap_memory);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domainsnapshot/name)", "live");
	assert_xp_string(&p, "string(/domainsnapshot/description)",
	    "with RAM");
	assert_xp_string(&p, "string(/domainsnapshot/memory/@snapshot)",
	    "internal");
	parsed_free(&p);
	free(xml);
}

/* A full backup of vda and vdb, the seed on vdc left out. */
static const struct backup_spec backup_full = {
	.checkpoint = "hangar-1111",
	.disks = {
		{ "vda", "/var/lib/hangar/images/u.backup.1111.vda.qcow2" },
		{ "vdb", "/var/lib/hangar/images/u.backup.1111.vdb.qcow2" },
		{ "vdc", NULL },
	},
	.ndisks = 3,
};

static void
test_golden_backup(void **state)
{
	struct backup_spec incr = backup_full;
	struct backup_spec evil = backup_full;

	(void)state;
	assert_golden(domain_xml_backup(&backup_full), "backup-full.xml");
	assert_golden(domain_xml_checkpoint(&backup_full), "checkpoint.xml");
	incr.incremental = "hangar-0000";
	assert_golden(domain_xml_backup(&incr), "backup-incremental.xml");
	/* what a path or name holds is escaped, never markup */
	evil.incremental = "c'\"<x/>&";
	evil.disks[0].target = "/p/<disk name='evil'/>&.qcow2";
	assert_golden(domain_xml_backup(&evil), "backup-hostile.xml");
}

static void
test_backup_parses_back(void **state)
{
	struct backup_spec incr = backup_full;
	struct parsed p;
	char *xml;

	(void)state;
	incr.incremental = "hangar-0000";
	xml = domain_xml_backup(&incr);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domainbackup/@mode)", "push");
	assert_xp_string(&p, "string(/domainbackup/incremental)",
	    "hangar-0000");
	assert_true(xp_number(&p, "count(/domainbackup/disks/disk)") == 3);
	assert_xp_string(&p, "string(/domainbackup/disks/disk[@name='vdb']/"
	    "target/@file)", backup_full.disks[1].target);
	assert_xp_string(&p, "string(/domainbackup/disks/disk[@name='vdb']/"
	    "driver/@type)", "qcow2");
	assert_xp_string(&p, "string(/domainbackup/disks/disk[@name='vdc']/"
	    "@backup)", "no");
	assert_true(xp_number(&p, "count(/domainbackup/disks/disk[@name="
	    "'vdc']/*)") == 0);
	parsed_free(&p);
	free(xml);

	xml = domain_xml_checkpoint(&backup_full);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domaincheckpoint/name)", "hangar-1111");
	assert_xp_string(&p, "string(/domaincheckpoint/disks/disk[@name="
	    "'vda']/@checkpoint)", "bitmap");
	assert_xp_string(&p, "string(/domaincheckpoint/disks/disk[@name="
	    "'vdc']/@checkpoint)", "no");
	parsed_free(&p);
	free(xml);

	/* a full one names no checkpoint to start from */
	xml = domain_xml_backup(&backup_full);
	parse(&p, xml);
	assert_true(xp_number(&p, "count(/domainbackup/incremental)") == 0);
	parsed_free(&p);
	free(xml);
}

static void
test_snapshot_hostile(void **state)
{
	struct snap_spec spec = snap_memory;
	struct parsed p;
	struct shape base;
	char *xml;

	(void)state;
	xml = domain_xml_snapshot(&spec);
	parse(&p, xml);
	base = shape_of(&p, "domainsnapshot");
	parsed_free(&p);
	free(xml);

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		spec.name = hostile[i];
		spec.description = hostile[i];
		xml = domain_xml_snapshot(&spec);
		if (xml == NULL)
			fail_msg("hostile[%zu]: %s", i, err_last()->msg);
		parse(&p, xml);
		assert_xp_string(&p, "string(/domainsnapshot/name)",
		    hostile[i]);
		assert_xp_string(&p, "string(/domainsnapshot/description)",
		    hostile[i]);
		assert_xp_string(&p,
		    "string(/domainsnapshot/memory/@snapshot)", "internal");
		assert_true(xp_number(&p, "count(/domainsnapshot/name)") == 1);
		assert_true(xp_number(&p, "count(/domainsnapshot/memory)") ==
		    1);
		assert_same_shape(&p, "domainsnapshot", base);
		parsed_free(&p);
		free(xml);
	}
}

static void
test_numbers(void **state)
{
	struct vm_spec spec = spec_qemu_nodisk;
	struct parsed p;
	char *xml;

	(void)state;
	/* 64-bit sizes are written in full, not cut to int */
	spec.memory_mib = INT64_C(8796093022208);
	xml = domain_xml_domain(&spec);
	parse(&p, xml);
	assert_xp_string(&p, "string(/domain/memory)", "8796093022208");
	parsed_free(&p);
	free(xml);

	xml = domain_xml_volume("v", INT64_C(4398046511104));
	parse(&p, xml);
	assert_xp_string(&p, "string(/volume/capacity)", "4398046511104");
	parsed_free(&p);
	free(xml);
}

/* Names the writer escapes: a hostile host name stays one attribute. */
static void
test_network_parses_back(void **state)
{
	struct parsed p;
	struct shape want;
	struct net_dhcp_host h = { "52:54:00:12:34:56", "10.77.0.2", "web1" };
	char *xml = network_xml_network(&net_nat);

	(void)state;
	parse(&p, xml);
	free(xml);
	assert_xp_string(&p, "string(/network/forward/@mode)", "nat");
	assert_xp_string(&p, "string(/network/bridge/@name)", "hgn12");
	assert_xp_string(&p, "string(/network/ip/@prefix)", "24");
	assert_true(xp_number(&p, "count(/network/ip/dhcp/range)") == 0);
	parsed_free(&p);
	parse(&p, xml = network_xml_dhcp_host(&h));
	free(xml);
	want = shape_of(&p, "host");
	parsed_free(&p);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		h.name = hostile[i];
		parse(&p, xml = network_xml_dhcp_host(&h));
		free(xml);
		assert_same_shape(&p, "host", want);
		assert_xp_string(&p, "string(/host/@name)", hostile[i]);
		parsed_free(&p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_domain_kvm_disk),
		cmocka_unit_test(test_golden_domain_qemu_nodisk),
		cmocka_unit_test(test_golden_domain_qemu_disk),
		cmocka_unit_test(test_golden_domain_devices),
		cmocka_unit_test(test_domain_disk_lists),
		cmocka_unit_test(test_domain_clock),
		cmocka_unit_test(test_golden_pool),
		cmocka_unit_test(test_golden_volume),
		cmocka_unit_test(test_golden_snapshot),
		cmocka_unit_test(test_domain_parses_back),
		cmocka_unit_test(test_domain_hostile),
		cmocka_unit_test(test_pool_hostile),
		cmocka_unit_test(test_volume_hostile),
		cmocka_unit_test(test_snapshot_parses_back),
		cmocka_unit_test(test_snapshot_hostile),
		cmocka_unit_test(test_golden_backup),
		cmocka_unit_test(test_backup_parses_back),
		cmocka_unit_test(test_golden_network),
		cmocka_unit_test(test_network_parses_back),
		cmocka_unit_test(test_numbers),
	};
	int rc;

	xmlInitParser();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return rc;
}
