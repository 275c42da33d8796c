/*
 * test_seed.c - unit tests of the NoCloud seed: the checks of host names
 * and SSH keys (common/cloudinit.c), the meta-data and network-config
 * hangar writes, and the ISO image built in memory (common/seediso.c,
 * daemon/seed.c) written to a temp file and read back with isoinfo
 * (genisoimage): volume id cidata, Joliet and Rock Ridge, each file's
 * name and bytes; the same input gives the same bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cloudinit.h"
#include "common/error.h"
#include "common/seediso.h"
#include "daemon/ops_int.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIoYBwqJ7qP2L/f3dyu79" \
	"biwHW0xs/QjVym+NUofLk7j ci@test"
#define ECDSA "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbml" \
	"zdHAyNTYAAABBBGn5wE9ppzCTsvj/rGdDzEjddnrMcU1Q+bmCcHKW+xAniZph3s0aLoIS" \
	"mazUEm0kMGqOjLhxBsl1etIHtNu5o7U="
#define UUID "0b6c1b7e-4a0c-4f59-9a53-2f1f6c3f6b11"

static char iso_path[64];

static void
refused_with(int r, const char *field)
{
	assert_int_equal(r, -1);
	assert_int_equal(err_last()->code, ERR_INVALID);
	assert_string_equal(err_last()->field, field);
	err_clear();
}

static void
test_hostname(void **state)
{
	static const char *const good[] = { "ci-one", "a", "web1.example.org",
	    "A0-9z", "x123456789012345678901234567890123456789012345678901234"
	    "56789012" };
	static const char *const bad[] = { "", "a;b", "a<b", "a\nb", "-a",
	    "a-", "a..b", ".a", "a.", "a_b", "a b", "a$(id)", "é",
	    "x1234567890123456789012345678901234567890123456789012345678901"
	    "234" };
	char big[300];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(cloudinit_check_hostname("h", good[i]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused_with(cloudinit_check_hostname("cloud_init.hostname",
		    bad[i]), "cloud_init.hostname");
	memset(big, 'a', sizeof(big));
	for (int i = 50; i < 299; i += 51)
		big[i] = '.';
	big[299] = '\0';
	refused_with(cloudinit_check_hostname("h", big), "h");
}

static void
test_keys(void **state)
{
	static const char *const bad[] = {
	    "", "ssh-ed25519", "ssh-ed25519 ", "ssh-foo AAAA",
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIoYBwqJ7qP2L/f3dyu79biwHW0x"
	    "s/QjVym+NUofLk7j\nssh-rsa AAAA",                 /* a newline */
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIoYBwqJ7qP2L/f3dyu79biwHW0x"
	    "s/QjVym+NUofLk7j a\tb",                           /* a tab */
	    "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIIoYBwqJ7qP2L/f3dyu79biwHW0xs/Qj"
	    "Vym+NUofLk7j",                                  /* not rsa */
	    "ssh-ed25519 AAAA$C3NzaC1lZDI1NTE5",             /* not base64 */
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5A",             /* cut */
	    "command=\"x\" " ED25519,                        /* options */
	    "ssh-ed25519 ====",
	};

	(void)state;
	assert_int_equal(cloudinit_check_key("k", ED25519), 0);
	assert_int_equal(cloudinit_check_key("k", ECDSA), 0);
	assert_int_equal(cloudinit_check_key("k", ECDSA " a comment: 'x'"),
	    0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused_with(cloudinit_check_key(
		    "cloud_init.ssh_authorized_keys[0]", bad[i]),
		    "cloud_init.ssh_authorized_keys[0]");
}

static void
test_meta_data(void **state)
{
	const char *keys[] = { ED25519, ECDSA };
	char *md = cloudinit_meta_data(UUID, "ci-one", keys, 2);
	json_t *j = json_loads(md, 0, NULL);

	(void)state;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j,
	    "instance-id")), UUID);
	assert_string_equal(json_string_value(json_object_get(j,
	    "local-hostname")), "ci-one");
	assert_int_equal(json_array_size(json_object_get(j, "public-keys")),
	    2);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(j, "public-keys"), 1)), ECDSA);
	json_decref(j);
	free(md);
	md = cloudinit_meta_data(UUID, NULL, NULL, 0);
	assert_string_equal(md, "{\n  \"instance-id\": \"" UUID "\"\n}");
	free(md);
}

static void
test_network_config(void **state)
{
	const struct cloudinit_nic nics[] = {
		{ "52:54:00:00:00:01", NULL, NULL, NULL },
		{ "52:54:00:00:00:02", "10.213.0.5/24", "10.213.0.1", NULL },
		{ "52:54:00:00:00:03", "10.77.0.9/16", NULL, "10.77.0.1" },
	};
	char *nc = cloudinit_network_config(nics, 3);
	json_t *j = json_loads(nc, 0, NULL), *e, *n;

	(void)state;
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
	e = json_object_get(j, "ethernets");
	assert_int_equal(json_object_size(e), 3);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(e, "nic1"), "match"), "macaddress")), nics[1].mac);
	/* DHCP: nothing but the match and dhcp4 */
	n = json_object_get(e, "nic0");
	assert_true(json_is_true(json_object_get(n, "dhcp4")));
	assert_int_equal(json_object_size(n), 2);
	/* static, with the default route */
	n = json_object_get(e, "nic1");
	assert_true(json_is_false(json_object_get(n, "dhcp4")));
	assert_int_equal(json_array_size(json_object_get(n, "addresses")), 1);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(n, "addresses"), 0)), "10.213.0.5/24");
	assert_string_equal(json_string_value(json_object_get(n, "gateway4")),
	    "10.213.0.1");
	assert_null(json_object_get(n, "nameservers"));
	/* static, no route, a name server */
	n = json_object_get(e, "nic2");
	assert_null(json_object_get(n, "gateway4"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_object_get(n, "nameservers"), "addresses"), 0)), "10.77.0.1");
	json_decref(j);
	free(nc);
	assert_null(cloudinit_network_config(NULL, 0));
	assert_int_equal(err_last()->code, ERR_NONE);
}

/* A NIC of x on a network of the given mode, range, gateway and DHCP. */
static void
nic_on(struct op_ctx *x, const char *mac, const char *ipv4,
    const char *mode, const char *cidr, const char *gw, bool dhcp)
{
	struct nic_rec *n = &x->nics[x->nnics];
	struct network_rec *w = &x->nic_nets[x->nnics++];

	snprintf(n->dev, sizeof(n->dev), "net%d", x->nnics - 1);
	snprintf(n->mac, sizeof(n->mac), "%s", mac);
	snprintf(n->ipv4, sizeof(n->ipv4), "%s", ipv4);
	snprintf(w->mode, sizeof(w->mode), "%s", mode);
	snprintf(w->cidr, sizeof(w->cidr), "%s", cidr);
	snprintf(w->gateway, sizeof(w->gateway), "%s", gw);
	w->dhcp = dhcp;
	if (strcmp(mode, "bridge") == 0)
		snprintf(w->bridge, sizeof(w->bridge), "br0");
}

/* Which NICs get a static address in the seed, and with what. */
static void
test_nics_cloudinit(void **state)
{
	static struct op_ctx x;
	struct cloudinit_nic out[VM_NICS_MAX];
	char addr[VM_NICS_MAX][OPS_NIC_CIDR_LEN];

	(void)state;
	memset(&x, 0, sizeof(x));
	/* a bridge network with a range: static, and the default route */
	nic_on(&x, "52:54:00:00:00:01", "10.213.0.2", "bridge",
	    "10.213.0.0/24", "10.213.0.1", false);
	/* nat with DHCP: the hosts' dnsmasq hands the address out */
	nic_on(&x, "52:54:00:00:00:02", "10.77.0.2", "nat", "10.77.0.0/24",
	    "10.77.0.1", true);
	/* isolated without DHCP: static, its dnsmasq as name server, but
	 * no second default route */
	nic_on(&x, "52:54:00:00:00:03", "10.78.0.7", "isolated",
	    "10.78.0.0/16", "10.78.0.1", false);
	/* a bridge network without a range: the segment's own DHCP */
	nic_on(&x, "52:54:00:00:00:04", "", "bridge", "", "", false);
	ops_nics_cloudinit(&x, out, addr);
	assert_string_equal(out[0].address, "10.213.0.2/24");
	assert_string_equal(out[0].gateway, "10.213.0.1");
	assert_null(out[0].dns);
	assert_string_equal(out[1].mac, "52:54:00:00:00:02");
	assert_null(out[1].address);
	assert_string_equal(out[2].address, "10.78.0.7/16");
	assert_null(out[2].gateway);
	assert_string_equal(out[2].dns, "10.78.0.1");
	assert_string_equal(out[3].mac, "52:54:00:00:00:04");
	assert_null(out[3].address);
	/* behind a NIC on DHCP (which brings a router) a static one gets
	 * no default route */
	memset(&x, 0, sizeof(x));
	nic_on(&x, "52:54:00:00:00:05", "10.77.0.3", "nat", "10.77.0.0/24",
	    "10.77.0.1", true);
	nic_on(&x, "52:54:00:00:00:06", "10.213.0.3", "bridge",
	    "10.213.0.0/24", "10.213.0.1", false);
	ops_nics_cloudinit(&x, out, addr);
	assert_null(out[0].address);
	assert_string_equal(out[1].address, "10.213.0.3/24");
	assert_null(out[1].gateway);
}

/* Run cmd (with %s the image's path); its whole output, malloc'd. */
static char *
run(const char *fmt, const char *arg)
{
	char cmd[512], *out = calloc(1, 1 << 20);
	size_t n = 0, r;
	FILE *p;

	snprintf(cmd, sizeof(cmd), fmt, iso_path, arg);
	assert_non_null(p = popen(cmd, "r"));
	while ((r = fread(out + n, 1, (1 << 20) - 1 - n, p)) > 0)
		n += r;
	assert_int_equal(pclose(p), 0);
	return out;
}

static void
write_iso(const unsigned char *iso, size_t len)
{
	FILE *f = fopen(iso_path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(iso, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The file name in the image holds exactly want. */
static void
assert_file(const char *name, const char *want)
{
	char *got = run("isoinfo -R -i %s -x /%s", name);

	assert_string_equal(got, want);
	free(got);
}

static void
test_iso(void **state)
{
	struct seediso_file f[] = {
		{ "meta-data", "instance-id: x\n", 15 },
		{ "user-data", "#cloud-config\n{}\n", 17 },
	};
	unsigned char *iso, *again;
	size_t len, len2;
	char *out;

	(void)state;
	assert_int_equal(seediso_build("cidata", f, 2, 1700000000, &iso,
	    &len), 0);
	assert_true(len % 2048 == 0 && len < 1024 * 1024);
	write_iso(iso, len);
	out = run("isoinfo -d -i %s", "");
	assert_non_null(strstr(out, "Volume id: cidata\n"));
	assert_non_null(strstr(out, "Joliet with UCS level 3 found"));
	assert_non_null(strstr(out, "Rock Ridge signatures version 1 found"));
	free(out);
	out = run("isoinfo -R -f -i %s", "");
	assert_string_equal(out, "/meta-data\n/user-data\n");
	free(out);
	out = run("isoinfo -J -f -i %s", "");
	assert_string_equal(out, "/meta-data\n/user-data\n");
	free(out);
	assert_file("meta-data", "instance-id: x\n");
	assert_file("user-data", "#cloud-config\n{}\n");
	/* the same input, the same bytes */
	assert_int_equal(seediso_build("cidata", f, 2, 1700000000, &again,
	    &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(iso, again, len);
	free(iso);
	free(again);
}

static void
test_seed_build(void **state)
{
	const struct cloudinit_nic nics[] = {
		{ "52:54:00:aa:bb:01", NULL, NULL, NULL },
		{ "52:54:00:aa:bb:02", "10.213.0.9/24", "10.213.0.1", NULL },
	};
	json_t *spec = json_pack("{s:s, s:[s], s:s, s:s}", "hostname",
	    "ci-one", "ssh_authorized_keys", ED25519, "user_data",
	    "#cloud-config\nruncmd:\n - [sh, -c, 'echo hi > /dev/ttyS0']\n",
	    "vendor_data", "#cloud-config\n{}\n");
	char *text = json_dumps(spec, 0), *out, *md;
	unsigned char *iso;
	size_t len;

	(void)state;
	assert_int_equal(seed_build(UUID, text, nics, 2, 1700000000, &iso,
	    &len), 0);
	write_iso(iso, len);
	free(iso);
	out = run("isoinfo -R -f -i %s", "");
	assert_string_equal(out, "/meta-data\n/network-config\n/user-data\n"
	    "/vendor-data\n");
	free(out);
	assert_file("user-data", json_string_value(json_object_get(spec,
	    "user_data")));
	assert_file("vendor-data", "#cloud-config\n{}\n");
	md = run("isoinfo -R -i %s -x /meta-data", "");
	assert_non_null(strstr(md, "\"local-hostname\": \"ci-one\""));
	assert_non_null(strstr(md, "\"instance-id\": \"" UUID "\""));
	assert_non_null(strstr(md, "ci@test"));
	free(md);
	out = run("isoinfo -R -i %s -x /network-config", "");
	assert_non_null(strstr(out, nics[1].mac));
	assert_non_null(strstr(out, "\"10.213.0.9/24\""));
	free(out);
	free(text);
	/* the user's network-config wins; no user-data: an empty config */
	json_object_del(spec, "user_data");
	json_object_set_new(spec, "network_config", json_pack("{s:i}",
	    "version", 1));
	text = json_dumps(spec, 0);
	assert_int_equal(seed_build(UUID, text, nics, 2, 1700000000, &iso,
	    &len), 0);
	write_iso(iso, len);
	free(iso);
	assert_file("user-data", CLOUDINIT_USER_DATA_NONE);
	assert_file("network-config", "{\n  \"version\": 1\n}");
	free(text);
	/* no vendor-data: hangar's, a new machine-id once per instance */
	json_object_del(spec, "vendor_data");
	text = json_dumps(spec, 0);
	assert_int_equal(seed_build(UUID, text, nics, 2, 1700000000, &iso,
	    &len), 0);
	write_iso(iso, len);
	free(iso);
	assert_file("vendor-data", CLOUDINIT_VENDOR_DATA_DEFAULT);
	free(text);
	json_decref(spec);
	assert_int_equal(seed_build(UUID, "[1]", NULL, 0, 0, &iso, &len), -1);
	err_clear();
}

static int
setup(void **state)
{
	int fd;

	(void)state;
	snprintf(iso_path, sizeof(iso_path), "/tmp/test_seed.XXXXXX");
	if ((fd = mkstemp(iso_path)) < 0)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(iso_path);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_meta_data),
		cmocka_unit_test(test_network_config),
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_seed_build),
		cmocka_unit_test(test_nics_cloudinit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
