/*
 * bkmanifest.c - the strict reader of a backup archive's manifest.json
 * (bkmanifest.h says its shape).  Every member of the envelope and of
 * each disk is checked for its type and its words: no member it does
 * not know, no repeated key (JSON_REJECT_DUPLICATES), no NUL in a
 * string, a device name of a few lowercase letters and digits, each
 * disk's file exactly "disks/<dev>.qcow2" (so no path, "..", absolute
 * name or odd byte can reach a file name), a SHA-256 of 64 lowercase
 * hex digits, a size in bytes in range, no device twice.  The VM's spec
 * ("vm") is only required to be an object here: the importer turns the
 * members it uses into a create request and checks them as a create's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bkmanifest.h"
#include "error.h"

static int bkm_refuse(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
bkm_refuse(const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set_field(ERR_UNPROCESSABLE, "archive", "manifest.json: %s",
	    msg);
}

/* Only keys of allowed[n] in o; where names o in the error. */
static int
bkm_keys(json_t *o, const char *const *allowed, size_t n, const char *where)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		size_t i;

		for (i = 0; i < n && strcmp(k, allowed[i]) != 0; i++)
			;
		if (i == n)
			return bkm_refuse("%s has a member '%.64s' hangar does "
			    "not know", where, k);
	}
	return 0;
}

/* A string member of o, no longer than max; NULL (error set) if not. */
static const char *
bkm_str(json_t *o, const char *key, size_t max, const char *where)
{
	json_t *v = json_object_get(o, key);
	char f[96];

	snprintf(f, sizeof(f), "%s%s%s", where, where[0] ? "." : "", key);
	if (!json_is_string(v) || strlen(json_string_value(v)) !=
	    json_string_length(v) || json_string_length(v) > max) {
		if (v == NULL)
			bkm_refuse("%s is missing", f);
		else
			bkm_refuse("%s must be a string of at most %zu "
			    "characters", f, max);
		return NULL;
	}
	return json_string_value(v);
}

static bool
bkm_only(const char *s, const char *set)
{
	return s[0] != '\0' && strspn(s, set) == strlen(s);
}

/* A device name: a lowercase letter, then lowercase letters or digits. */
static bool
bkm_dev_ok(const char *dev)
{
	return dev[0] >= 'a' && dev[0] <= 'z' &&
	    bkm_only(dev, "abcdefghijklmnopqrstuvwxyz0123456789");
}

static int
bkm_disk(json_t *e, const char *where, struct bkm_disk *d)
{
	static const char *const keys[] = { "dev", "file", "format", "sha256",
	    "bytes" };
	const char *dev, *file, *fmt, *sha;
	json_t *bytes;
	char want[BKM_FILE_MAX], f[48];

	if (!json_is_object(e))
		return bkm_refuse("%s must be an object", where);
	if (bkm_keys(e, keys, 5, where) < 0 ||
	    (dev = bkm_str(e, "dev", BKM_DEV_MAX, where)) == NULL ||
	    (file = bkm_str(e, "file", BKM_FILE_MAX - 1, where)) == NULL ||
	    (fmt = bkm_str(e, "format", 8, where)) == NULL ||
	    (sha = bkm_str(e, "sha256", 64, where)) == NULL)
		return -1;
	if (!bkm_dev_ok(dev))
		return bkm_refuse("%s.dev must be a device name (a lowercase "
		    "letter, then lowercase letters or digits), not '%s'", where,
		    dev);
	snprintf(want, sizeof(want), "disks/%s.qcow2", dev);
	if (strcmp(file, want) != 0)
		return bkm_refuse("%s.file must be the member of its device, "
		    "'%s'", where, want);
	if (strcmp(fmt, "qcow2") != 0)
		return bkm_refuse("%s.format must be 'qcow2'", where);
	if (strlen(sha) != 64 || !bkm_only(sha, "0123456789abcdef"))
		return bkm_refuse("%s.sha256 must be 64 lowercase hex digits",
		    where);
	bytes = json_object_get(e, "bytes");
	snprintf(f, sizeof(f), "%s.bytes", where);
	if (!json_is_integer(bytes) || json_integer_value(bytes) < 1 ||
	    (uint64_t)json_integer_value(bytes) > BKM_BYTES_MAX)
		return bkm_refuse("%s must be a size in bytes, 1 to 2^46", f);
	snprintf(d->dev, sizeof(d->dev), "%s", dev);
	snprintf(d->file, sizeof(d->file), "%s", file);
	snprintf(d->sha256, sizeof(d->sha256), "%s", sha);
	d->bytes = (uint64_t)json_integer_value(bytes);
	return 0;
}

static int
bkm_disks(json_t *a, struct bkm *m)
{
	size_t i;
	json_t *e;

	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > BKM_DISKS_MAX)
		return bkm_refuse("disks must be an array of 1 to %d disks",
		    BKM_DISKS_MAX);
	json_array_foreach(a, i, e) {
		char where[32];

		snprintf(where, sizeof(where), "disks[%zu]", i);
		if (bkm_disk(e, where, &m->disks[i]) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->disks[j].dev, m->disks[i].dev) == 0)
				return bkm_refuse("%s.dev '%s' is listed twice",
				    where, m->disks[i].dev);
		m->ndisks++;
	}
	return 0;
}

int
bkm_parse(const char *text, size_t len, struct bkm *m)
{
	static const char *const keys[] = { "format", "version", "backup",
	    "vm", "disks" };
	json_error_t je;
	json_t *j, *v;
	const char *fmt;
	int r = -1;

	memset(m, 0, sizeof(*m));
	if (len > BKM_TEXT_MAX)
		return bkm_refuse("it is larger than %u bytes", BKM_TEXT_MAX);
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return bkm_refuse("it is not a JSON object (%.200s)", j ?
		    "another JSON value" : je.text);
	}
	v = json_object_get(j, "version");
	if (bkm_keys(j, keys, 5, "the manifest") < 0 ||
	    (fmt = bkm_str(j, "format", 32, "")) == NULL)
		goto done;
	if (strcmp(fmt, "hangar-backup") != 0)
		bkm_refuse("format must be 'hangar-backup'");
	else if (!json_is_integer(v) || json_integer_value(v) != 1)
		bkm_refuse("version must be 1 (this hangar reads no other)");
	else if (json_object_get(j, "backup") &&
	    !json_is_object(json_object_get(j, "backup")))
		bkm_refuse("backup must be an object");
	else if (!json_is_object(json_object_get(j, "vm")))
		bkm_refuse("vm must be an object: the spec of the VM");
	else if (bkm_disks(json_object_get(j, "disks"), m) == 0) {
		m->vm = json_incref(json_object_get(j, "vm"));
		r = 0;
	}
done:
	json_decref(j);
	if (r < 0)
		m->ndisks = 0;
	return r;
}

void
bkm_free(struct bkm *m)
{
	json_decref(m->vm);
	m->vm = NULL;
}

int
bkm_members(const struct bkm *m, const char *const *names, int n)
{
	int seen[BKM_DISKS_MAX + 1] = { 0 };

	for (int i = 0; i < n; i++) {
		int k = -1;

		if (strcmp(names[i], "manifest.json") == 0)
			k = BKM_DISKS_MAX;
		for (int d = 0; k < 0 && d < m->ndisks; d++)
			if (strcmp(names[i], m->disks[d].file) == 0)
				k = d;
		if (k < 0)
			return err_set_field(ERR_UNPROCESSABLE, "archive",
			    "the archive holds '%.200s', which manifest.json "
			    "does not list", names[i]);
		if (seen[k]++)
			return err_set_field(ERR_UNPROCESSABLE, "archive",
			    "the archive holds '%.200s' twice", names[i]);
	}
	for (int d = 0; d < m->ndisks; d++)
		if (!seen[d])
			return err_set_field(ERR_UNPROCESSABLE, "archive",
			    "manifest.json: disks[%d].file '%s' is not in the "
			    "archive", d, m->disks[d].file);
	if (!seen[BKM_DISKS_MAX])
		return err_set_field(ERR_UNPROCESSABLE, "archive", "the archive "
		    "has no manifest.json");
	return 0;
}
