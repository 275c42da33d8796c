/*
 * fuzz_xml.c - libFuzzer target for the XML documents hangar hands to
 * libvirt (src/backends/domain_xml.c): domain_xml_domain,
 * domain_xml_snapshot, domain_xml_volume and domain_xml_pool, fed hostile
 * strings in every slot a user string reaches.
 *
 * Input: byte 0 holds flags (bit 0: a disk; bit 1: snapshot memory;
 * bit 2: no description; bit 3: vCPU and memory ceilings), bytes 1-8 a number (memory, vCPUs, GiB), the
 * rest up to six strings separated by NUL bytes: name, uuid, domain type,
 * arch, disk path, description (missing ones are "").
 * Checks: each document is parsed back with libxml2 (strictly) and
 * reduced to a skeleton (fuzz.h).  When every string is valid XML text
 * (UTF-8 of XML 1.0 Chars) the document must parse and equal the expected
 * one exactly: the same elements, attributes and values, and each
 * string's text read back unchanged.  When a string is not, the
 * generator may refuse it (NULL with an error) or the document may fail
 * to parse (libvirt would refuse it; the API's validators must
 * keep such strings out, see fuzz_body), but if it parses it must have
 * the expected shape: never an injected element or attribute.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *str[6] = { "", "", "", "", "", "" };
	struct vm_spec vs;
	struct vm_disk_spec disk;
	struct snap_spec ss;
	uint8_t flags;
	int64_t num = 0;
	char *in;
	size_t off = 0;
	int n = 0;
	bool ok;

	if (size < 9)
		return 0;
	flags = data[0];
	memcpy(&num, data + 1, 8);
	in = malloc(size - 9 + 1);
	if (in == NULL)
		abort();
	memcpy(in, data + 9, size - 9);
	in[size - 9] = '\0';
	/* NUL-separated strings: each is what strlen sees */
	while (n < 6 && off <= size - 9) {
		str[n++] = in + off;
		off += strlen(in + off) + 1;
	}

	ok = true;
	for (int i = 0; i < 6; i++)
		ok = ok && fuzz_xml_text_ok(str[i]);

	memset(&vs, 0, sizeof(vs));
	vs.name = str[0];
	vs.uuid = str[1];
	vs.domain_type = str[2];
	vs.arch = str[3];
	memset(&disk, 0, sizeof(disk));
	disk.dev = "vda";
	disk.path = str[4];
	vs.disks = &disk;
	vs.ndisks = (flags & 1) ? 1 : 0;
	vs.memory_mib = num;
	vs.vcpus = (int)(num >> 32);
	/* bit 3: room to grow (resize): the ceilings, a balloon */
	if (flags & 8) {
		vs.max_vcpus = (int)((uint32_t)vs.vcpus ^ (uint32_t)num);
		vs.max_memory_mib = (int64_t)((uint64_t)num ^ 0x5555);
	}
	fuzz_check_domain(&vs, ok);

	memset(&ss, 0, sizeof(ss));
	ss.name = str[0];
	ss.description = (flags & 4) ? NULL : str[5];
	ss.memory = (flags & 2) != 0;
	fuzz_check_snapshot(&ss, ok);

	fuzz_check_volume(str[0], num, ok);
	fuzz_check_pool(str[0], str[4], ok);
	free(in);
	return 0;
}
