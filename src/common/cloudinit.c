/*
 * cloudinit.c - the parts of a NoCloud seed hangar writes itself
 * (meta-data, a network-config matching NICs by MAC: DHCP, or the
 * static address hangar gave a NIC where no DHCP server hands it out)
 * and the checks of the host name and the SSH keys that go into them.
 * Both documents are JSON, which cloud-init reads with its YAML loader:
 * jansson does the quoting, nothing is pasted into YAML by hand.
 *
 * Why meta-data carries the keys and the host name: cloud-init applies
 * its datasource's public-keys (to the image's default user) and
 * local-hostname whatever the user-data is (a cloud-config, a script, a
 * MIME multipart), so the user's user-data never has to be rewritten or
 * merged; what a user-data cloud-config says itself (hostname:,
 * ssh_authorized_keys:) comes on top, as cloud-init does it.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cloudinit.h"
#include "error.h"

int
cloudinit_check_hostname(const char *field, const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > CLOUDINIT_HOSTNAME_MAX)
		return err_set_field(ERR_INVALID, field, "%s must be 1 to %d "
		    "characters", field, CLOUDINIT_HOSTNAME_MAX);
	for (size_t i = 0; i <= len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				break;
			label = 0;
			if (ch == '\0')
				return 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)))
			break;
		label++;
	}
	return err_set_field(ERR_INVALID, field, "%s must be a host name: "
	    "labels of letters, digits and '-' (not first or last, at most "
	    "63 each) joined by dots", field);
}

/* The key types OpenSSH takes in authorized_keys (sshkey.c) */
static const char *const cloudinit_key_types[] = {
	"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
	"ssh-dss",
};

static int
cloudinit_b64(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/*
 * Decode the first bytes of the base64 blob b[0..n) (n a multiple of 4,
 * '=' only as padding at the end) into out[max]; the count decoded, or
 * -1 when it is not base64.
 */
static long
cloudinit_b64_head(const char *b, size_t n, unsigned char *out, size_t max)
{
	size_t got = 0;

	if (n == 0 || n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		uint32_t w = 0;
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			unsigned char ch = (unsigned char)b[i + k];

			if (ch == '=' && i + 4 == n && k >= 2 &&
			    (k == 3 || b[i + 3] == '=')) {
				v[k] = 0;
				pad++;
				continue;
			}
			if ((v[k] = cloudinit_b64(ch)) < 0)
				return -1;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		for (int k = 0; k < 3 - pad && got < max; k++)
			out[got++] = (unsigned char)(w >> (16 - 8 * k));
	}
	return (long)got;
}

/* The blob starts with its type as an SSH string (uint32 length, bytes) */
static bool
cloudinit_blob_is(const char *b, size_t n, const char *type)
{
	unsigned char head[64];
	size_t tl = strlen(type);
	long got = cloudinit_b64_head(b, n, head, sizeof(head));

	if (got < 4 || tl > sizeof(head) - 4 || (size_t)got < 4 + tl)
		return false;
	return head[0] == 0 && head[1] == 0 && head[2] == 0 &&
	    head[3] == tl && memcmp(head + 4, type, tl) == 0;
}

int
cloudinit_check_key(const char *field, const char *s)
{
	size_t len = strlen(s), tl, bl;
	const char *blob;
	size_t i, t;

	if (len == 0 || len > CLOUDINIT_KEY_MAX)
		return err_set_field(ERR_INVALID, field, "%s must be 1 to %d "
		    "bytes", field, CLOUDINIT_KEY_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return err_set_field(ERR_INVALID, field, "%s must be "
			    "one line without control characters", field);
	tl = strcspn(s, " ");
	for (t = 0; t < sizeof(cloudinit_key_types) /
	    sizeof(cloudinit_key_types[0]); t++)
		if (strlen(cloudinit_key_types[t]) == tl &&
		    strncmp(s, cloudinit_key_types[t], tl) == 0)
			break;
	if (t == sizeof(cloudinit_key_types) / sizeof(cloudinit_key_types[0]))
		return err_set_field(ERR_INVALID, field, "%s must start with "
		    "a key type such as ssh-ed25519, ssh-rsa or "
		    "ecdsa-sha2-nistp256 (no options)", field);
	if (s[tl] != ' ')
		return err_set_field(ERR_INVALID, field, "%s has no key after "
		    "its type", field);
	blob = s + tl + 1;
	bl = strcspn(blob, " ");
	if (!cloudinit_blob_is(blob, bl, cloudinit_key_types[t]))
		return err_set_field(ERR_INVALID, field, "%s: the key is not "
		    "a base64 %s key", field, cloudinit_key_types[t]);
	return 0;
}

char *
cloudinit_meta_data(const char *instance_id, const char *hostname,
    const char *const *keys, size_t n)
{
	json_t *md = json_object(), *k = json_array();
	char *out = NULL;

	if (md == NULL || k == NULL ||
	    json_object_set_new(md, "instance-id", json_string(instance_id)))
		goto done;
	if (hostname && hostname[0] &&
	    json_object_set_new(md, "local-hostname", json_string(hostname)))
		goto done;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(k, json_string(keys[i])) < 0)
			goto done;
	if (n > 0 && json_object_set(md, "public-keys", k) < 0)
		goto done;
	out = json_dumps(md, JSON_INDENT(2) | JSON_ENSURE_ASCII |
	    JSON_PRESERVE_ORDER);
done:
	json_decref(k);
	json_decref(md);
	if (out == NULL)
		err_set(ERR_INTERNAL, "cannot write the seed's meta-data");
	return out;
}

/* One NIC's entry: DHCP, or its static address (see cloudinit.h). */
static json_t *
cloudinit_nic_json(const struct cloudinit_nic *n)
{
	json_t *e;

	if (n->address == NULL)
		return json_pack("{s:{s:s}, s:b}", "match", "macaddress",
		    n->mac, "dhcp4", 1);
	e = json_pack("{s:{s:s}, s:b, s:[s]}", "match", "macaddress", n->mac,
	    "dhcp4", 0, "addresses", n->address);
	if (e && n->gateway && json_object_set_new(e, "gateway4",
	    json_string(n->gateway)) < 0)
		goto fail;
	if (e && n->dns && json_object_set_new(e, "nameservers",
	    json_pack("{s:[s]}", "addresses", n->dns)) < 0)
		goto fail;
	return e;
fail:
	json_decref(e);
	return NULL;
}

char *
cloudinit_network_config(const struct cloudinit_nic *nics, size_t n)
{
	json_t *nc, *eth;
	char *out = NULL, name[32];

	if (n == 0)
		return NULL;
	nc = json_pack("{s:i, s:{}}", "version", 2, "ethernets");
	eth = json_object_get(nc, "ethernets");
	for (size_t i = 0; eth && i < n; i++) {
		snprintf(name, sizeof(name), "nic%zu", i);
		if (json_object_set_new(eth, name,
		    cloudinit_nic_json(&nics[i])) < 0)
			goto done;
	}
	if (eth)
		out = json_dumps(nc, JSON_INDENT(2) | JSON_ENSURE_ASCII |
		    JSON_PRESERVE_ORDER);
done:
	json_decref(nc);
	if (out == NULL)
		err_set(ERR_INTERNAL, "cannot write the seed's network-config");
	return out;
}
