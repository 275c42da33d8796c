/*
 * fuzz_page.c - libFuzzer target for the parsers of client text that
 * paging and conditional requests added: the ?after= cursor
 * (page_cursor_decode, src/api/page.c) and the If-Match /
 * If-None-Match lists (precond_match, src/api/precond.c).
 *
 * Input: an If-Match value up to the first '\n', then a cursor (each cut
 * at a NUL, as libmicrohttpd hands over C strings).
 * Checks:
 *  - precond_match answers 1, 0 or -1; "*" alone always matches; a list
 *    that matches weakly but not strongly holds a W/ tag;
 *  - a cursor that decodes is canonical: encoding what it decoded to
 *    gives the same text back, and its fields fit the buffers, hold no
 *    NUL and its id is not empty; small buffers are never overrun
 *    (ASan: they are exactly that size).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/req.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_match(const char *h)
{
	int strong = precond_match(h, "\"42\"", false);
	int weak = precond_match(h, "\"42\"", true);

	FUZZ_CHECK(strong >= -1 && strong <= 1, "precond_match gave %d",
	    strong);
	FUZZ_CHECK((strong < 0) == (weak < 0), "strong %d, weak %d: one "
	    "parse", strong, weak);
	FUZZ_CHECK(!(strong == 1 && weak != 1), "matched strongly, not "
	    "weakly");
	FUZZ_CHECK(!(weak == 1 && strong == 0) || strstr(h, "W/") != NULL,
	    "a weak-only match without a W/ tag");
}

static void
check_cursor(const char *text)
{
	char sort[64], *key = malloc(PAGE_KEY_MAX), *id = malloc(8);
	char again[PAGE_CURSOR_TEXT + 1];

	if (key == NULL || id == NULL)
		abort();
	if (page_cursor_decode(text, sort, sizeof(sort), key, PAGE_KEY_MAX,
	    id, 8) == 0) {
		FUZZ_CHECK(id[0] != '\0', "a cursor with an empty id");
		FUZZ_CHECK(strlen(id) < 8 && strlen(sort) < sizeof(sort),
		    "fields longer than their buffers");
		FUZZ_CHECK(page_cursor_encode(sort, key, id, again,
		    sizeof(again)) == 0, "a decoded cursor does not encode");
		FUZZ_CHECK(strcmp(again, text) == 0, "cursor '%s' encodes "
		    "back as '%s'", text, again);
	}
	free(key);
	free(id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_strndup(data, size), *nl = strchr(in, '\n');
	const char *cursor = "";

	if (nl != NULL) {
		*nl = '\0';
		cursor = nl + 1;
	}
	check_match(in);
	check_cursor(cursor);
	free(in);
	return 0;
}
