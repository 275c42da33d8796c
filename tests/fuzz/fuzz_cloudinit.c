/*
 * fuzz_cloudinit.c - libFuzzer target for the checks of what hangar
 * writes into a NoCloud seed itself (src/common/cloudinit.c) and for
 * body_where (src/api/body.c), which names the field a byte of a request
 * body is in when the body is not UTF-8.
 *
 * Input: byte 0 picks what runs on the rest (a string cut at its first
 * NUL, as C strings are; body_where gets the raw bytes):
 *   0  cloudinit_check_hostname
 *   1  cloudinit_check_key
 *   2  body_where at each position (byte 1 of the input: a step)
 *   3  cloudinit_meta_data with the string as host name and key
 * Checks:
 *  - no crash, leak or undefined behaviour;
 *  - a refusal is ERR_INVALID naming the given field, with a message;
 *  - an accepted host name is 1-253 bytes of [A-Za-z0-9.-], no label
 *    empty, over 63 or with a hyphen at either end;
 *  - an accepted key is one line of printable text that starts with a
 *    key type and a space, followed by base64 characters;
 *  - body_where's field is NUL-terminated inside its buffer;
 *  - meta-data is JSON that gives back instance-id, the host name and
 *    the key unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/req.h"
#include "common/cloudinit.h"
#include "common/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
fuzz_hostname_ok(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-' ||
			    s[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-", s[i]))
			return false;
		label++;
	}
	return true;
}

static bool
fuzz_key_ok(const char *s)
{
	const char *sp = strchr(s, ' '), *blob;
	size_t bl;

	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	if (sp == NULL || sp == s)
		return false;
	blob = sp + 1;
	bl = strcspn(blob, " ");
	return bl > 0 && bl % 4 == 0 && strspn(blob, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/=") == bl;
}

static void
fuzz_refused(int r, const char *field)
{
	FUZZ_CHECK(r == -1 && err_last()->code == ERR_INVALID &&
	    strcmp(err_last()->field, field) == 0 && err_last()->msg[0],
	    "refusal without its field: '%s'", err_last()->msg);
	err_clear();
}

static void
fuzz_meta(const char *s)
{
	const char *keys[1] = { s };
	char *md = cloudinit_meta_data("u-1", s, keys, 1);
	json_t *j = md ? json_loads(md, 0, NULL) : NULL;

	FUZZ_CHECK(md == NULL || j != NULL, "meta-data is no JSON: %s", md);
	if (j) {
		FUZZ_CHECK(strcmp(json_string_value(json_object_get(j,
		    "instance-id")), "u-1") == 0, "instance-id changed");
		FUZZ_CHECK(s[0] == '\0' || strcmp(json_string_value(
		    json_object_get(j, "local-hostname")), s) == 0,
		    "host name changed");
		FUZZ_CHECK(strcmp(json_string_value(json_array_get(
		    json_object_get(j, "public-keys"), 0)), s) == 0,
		    "key changed");
	}
	json_decref(j);
	free(md);
	err_clear();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, field[ERR_FIELD_MAX];
	size_t step;

	if (size == 0)
		return 0;
	s = fuzz_strndup(data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		if (cloudinit_check_hostname("cloud_init.hostname", s) == 0)
			FUZZ_CHECK(fuzz_hostname_ok(s), "host name '%s' "
			    "accepted", s);
		else
			fuzz_refused(-1, "cloud_init.hostname");
		break;
	case 1:
		if (cloudinit_check_key("k[0]", s) == 0)
			FUZZ_CHECK(fuzz_key_ok(s), "key '%s' accepted", s);
		else
			fuzz_refused(-1, "k[0]");
		break;
	case 2:
		step = size > 1 ? (size_t)data[1] % 7 + 1 : 1;
		for (size_t pos = 0; pos <= size - 1; pos += step) {
			memset(field, 'x', sizeof(field));
			body_where((const char *)data + 1, size - 1, pos,
			    field, sizeof(field));
			FUZZ_CHECK(memchr(field, '\0', sizeof(field)) != NULL,
			    "field not terminated at %zu", pos);
		}
		break;
	default:
		fuzz_meta(s);
		break;
	}
	free(s);
	return 0;
}
