/*
 * test_ova.c - unit tests of common/ova.c and ova_tar.c: an OVA built
 * here with tar (ustar, pax and GNU formats, long names) of an OVF we
 * write (2 vCPUs, 2048 MiB, one SCSI disk) and a streamOptimized vmdk
 * made by qemu-img, then hostile ones: members named '../x' or
 * absolute, a missing disk, a symlink, a duplicate, cut XML, a
 * billion-laughs DTD, an external entity, a URL href, a qcow2 with a
 * backing file posing as the vmdk; and 4 threads probing at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "imgtest.h"

/* An OVF of 2 vCPUs, 2048 MiB, one SCSI disk with file href; prolog goes
 * before the Envelope (a DOCTYPE), "cut" leaves the document unclosed. */
static void
write_ovf(const char *name, const char *prolog, const char *href, bool cut)
{
	FILE *f = fopen(path(name), "w");

	if (f == NULL)
		fail_msg("cannot write %s", name);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n%s\n"
	    "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
	    "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
	    "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	    "CIM_ResourceAllocationSettingData\">\n"
	    "<References><File ovf:id=\"file1\" ovf:href=\"%s\"/>"
	    "</References>\n<DiskSection><Info>disks</Info>"
	    "<Disk ovf:capacity=\"3\" ovf:capacityAllocationUnits=\"byte * "
	    "2^20\" ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\" ovf:format="
	    "\"http://www.vmware.com/interfaces/specifications/vmdk.html"
	    "#streamOptimized\"/></DiskSection>\n"
	    "<VirtualSystem ovf:id=\"vm\"><Info>a VM</Info>\n"
	    "<OperatingSystemSection ovf:id=\"101\"><Info>os</Info>"
	    "<Description>Debian GNU/Linux 12</Description>"
	    "</OperatingSystemSection>\n<VirtualHardwareSection><Info>hw"
	    "</Info>\n<Item><rasd:InstanceID>1</rasd:InstanceID>"
	    "<rasd:ResourceType> 3 </rasd:ResourceType>"
	    "<rasd:VirtualQuantity>\n 2\n</rasd:VirtualQuantity></Item>\n"
	    "<Item><rasd:AllocationUnits>"
	    "byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>2"
	    "</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType>"
	    "<rasd:VirtualQuantity>2048</rasd:VirtualQuantity></Item>\n"
	    "<Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>"
	    "lsilogic</rasd:ResourceSubType><rasd:ResourceType>6"
	    "</rasd:ResourceType></Item>\n<Item><rasd:HostResource>"
	    "ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4"
	    "</rasd:InstanceID><rasd:Parent>\n\t3 </rasd:Parent>"
	    "<rasd:ResourceType>17</rasd:ResourceType></Item>\n"
	    "</VirtualHardwareSection>\n"
	    "</VirtualSystem>\n%s", prolog, href, cut ? "" : "</Envelope>\n");
	fclose(f);
}

static void
test_ova(void **state)
{
	struct ova_info oi;
	struct img_info ii, di;
	char lname[160];
	int fd;

	(void)state;
	sh("mkdir -p ova && qemu-img create -q -f raw ova/r.raw 3M && "
	    "qemu-img convert -O vmdk -o subformat=streamOptimized ova/r.raw "
	    "ova/disk1.vmdk");
	write_ovf("ova/vm.ovf", "", "disk1.vmdk", false);
	sh("cd ova && tar --format=ustar -cf ../good.ova vm.ovf disk1.vmdk && "
	    "tar --format=pax -cf ../pax.ova ./vm.ovf ./disk1.vmdk && "
	    "tar --format=gnu -cf ../gnu.ova vm.ovf disk1.vmdk");
	accepted("ova", ova("good.ova", &oi));
	assert_int_equal(oi.vcpus, 2);
	assert_int_equal(oi.memory_mib, 2048);
	assert_string_equal(oi.os, "linux");
	assert_string_equal(oi.firmware, "");
	assert_int_equal(oi.ndisks, 1);
	assert_string_equal(oi.disks[0].file, "disk1.vmdk");
	assert_string_equal(oi.disks[0].bus, "scsi");
	assert_int_equal(oi.disks[0].info.format, IMG_FMT_VMDK);
	assert_string_equal(oi.disks[0].info.subformat, "streamOptimized");
	assert_int_equal(oi.disks[0].info.virtual_size, 3 << 20);
	assert_true(oi.disks[0].offset % 512 == 0);
	/* the member range probes the same alone */
	fd = open(path("good.ova"), O_RDONLY);
	assert_true(fd >= 0);
	accepted("member", img_probe_fd(fd, oi.disks[0].offset,
	    oi.disks[0].size, &di));
	close(fd);
	assert_int_equal(di.virtual_size, 3 << 20);
	/* the whole file is an OVA */
	accepted("probe ova", probe("good.ova", &ii));
	assert_int_equal(ii.format, IMG_FMT_OVA);
	accepted("claim ova", img_accept(&ii, IMG_FMT_OVA, 0));
	accepted("pax ova", ova("pax.ova", &oi));
	assert_string_equal(oi.disks[0].file, "disk1.vmdk");
	accepted("gnu ova", ova("gnu.ova", &oi));
	/* a name past ustar's 100 bytes: a pax path, a GNU long name */
	snprintf(lname, sizeof(lname), "%0150d.vmdk", 7);
	sh("mkdir -p long && cp ova/disk1.vmdk long/%s", lname);
	write_ovf("long/vm.ovf", "", lname, false);
	sh("cd long && tar --format=pax -cf ../long.ova vm.ovf %s && "
	    "tar --format=gnu -cf ../longgnu.ova vm.ovf %s", lname, lname);
	accepted("pax long name", ova("long.ova", &oi));
	assert_string_equal(oi.disks[0].file, lname);
	accepted("GNU long name", ova("longgnu.ova", &oi));
	assert_string_equal(oi.disks[0].file, lname);
}

/* A thread probing good.ova (and a hostile one) 50 times: 0 if all went
 * as expected. */
static void *
ova_thread(void *arg)
{
	struct ova_info oi;
	intptr_t bad = 0;
	int i;

	(void)arg;
	for (i = 0; i < 50; i++) {
		if (ova("good.ova", &oi) != 0 || oi.vcpus != 2)
			bad++;
		if (ova("cut.ova", &oi) != -1 ||
		    strstr(err_last()->msg, "well-formed") == NULL)
			bad++;
	}
	return (void *)bad;
}

/* Threads at once: libxml2 set up once, each error in its own slot. */
static void
test_ova_threads(void **state)
{
	pthread_t t[4];
	void *bad;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, ova_thread, NULL),
		    0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
	}
}

static void
test_ova_hostile(void **state)
{
	struct ova_info oi;

	(void)state;
	/* test_ova made ova/vm.ovf and ova/disk1.vmdk */
	sh("cd ova && tar --format=ustar -P --transform='s,^disk,../disk,' "
	    "-cf ../dotdot.ova vm.ovf disk1.vmdk 2>/dev/null");
	refused("../", ova("dotdot.ova", &oi), "file", "..");
	sh("cd ova && tar --format=ustar -P -cf ../abs.ova vm.ovf "
	    "\"$PWD/disk1.vmdk\" 2>/dev/null");
	refused("absolute", ova("abs.ova", &oi), "file", "member named");
	sh("cd ova && tar --format=ustar -cf ../missing.ova vm.ovf");
	refused("missing disk", ova("missing.ova", &oi), "file",
	    "does not hold");
	sh("cd ova && ln -sf /etc/passwd link.vmdk && tar --format=ustar "
	    "-cf ../link.ova vm.ovf link.vmdk disk1.vmdk");
	refused("symlink", ova("link.ova", &oi), "file", "link");
	sh("cd ova && tar --format=ustar --transform='s,^r.raw,disk1.vmdk,' "
	    "-cf ../dup.ova vm.ovf disk1.vmdk r.raw");
	refused("duplicate", ova("dup.ova", &oi), "file", "twice");

	sh("mkdir -p ova2 && cp ova/disk1.vmdk ova2/");
	write_ovf("ova2/vm.ovf", "", "disk1.vmdk", true);
	sh("cd ova2 && tar --format=ustar -cf ../cut.ova vm.ovf disk1.vmdk");
	refused("malformed XML", ova("cut.ova", &oi), "file", "well-formed");
	write_ovf("ova2/vm.ovf", "<!DOCTYPE Envelope [\n"
	    "<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
	    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
	    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
	    "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
	    "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
	    "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
	    "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
	    "]>", "&g;", false);
	sh("cd ova2 && tar --format=ustar -cf ../bomb.ova vm.ovf disk1.vmdk");
	refused("entity bomb", ova("bomb.ova", &oi), "file", "DTD");
	write_ovf("ova2/vm.ovf", "<!DOCTYPE Envelope [<!ENTITY x SYSTEM "
	    "\"file:///etc/passwd\">]>", "&x;", false);
	sh("cd ova2 && tar --format=ustar -cf ../xxe.ova vm.ovf disk1.vmdk");
	refused("external entity", ova("xxe.ova", &oi), "file", "DTD");
	write_ovf("ova2/vm.ovf", "", "http://evil.example/disk1.vmdk", false);
	sh("cd ova2 && tar --format=ustar -cf ../url.ova vm.ovf disk1.vmdk");
	refused("URL", ova("url.ova", &oi), "file", "disk1.vmdk");

	/* the OVF says vmdk; the member is a qcow2 with a backing file */
	sh("mkdir -p ova3 && qemu-img create -q -f qcow2 ova3/b.qcow2 1G && "
	    "qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 ova3/disk1.vmdk");
	write_ovf("ova3/vm.ovf", "", "disk1.vmdk", false);
	sh("cd ova3 && tar --format=ustar -cf ../q.ova vm.ovf disk1.vmdk");
	refused("qcow2 inside", ova("q.ova", &oi), "file", "backing");
	sh("cd ova3 && qemu-img create -q -f qcow2 disk1.vmdk 1G && "
	    "tar --format=ustar -cf ../q2.ova vm.ovf disk1.vmdk");
	refused("qcow2 called vmdk", ova("q2.ova", &oi), "file", "vmdk");
	sh("head -c 3000 good.ova > short.ova");
	refused("truncated tar", ova("short.ova", &oi), "file", "truncated");
	sh("head -c 10000 /dev/urandom > rand.ova");
	refused("not a tar", ova("rand.ova", &oi), "file", "tar");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ova),
		cmocka_unit_test(test_ova_hostile),
		cmocka_unit_test(test_ova_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
