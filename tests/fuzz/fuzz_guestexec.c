/*
 * fuzz_guestexec.c - libFuzzer target for what hangar reads from a
 * guest's agent (src/common/guestexec.c): guest-exec and
 * guest-exec-status replies, and cloud-init's status text.  The guest
 * writes all of it.
 *
 * Input: the text, NUL-terminated here (the agent's replies reach us as C
 * strings from libvirt); its first byte, also the exit code for
 * guestexec_cloudinit_state.
 * Checks: the output is cut at GUESTEXEC_OUT_MAX and NUL-terminated at
 * out_len; a state is NULL or one of the four; a pid is positive.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/guestexec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guestexec_status st;
	char *s = malloc(size + 1);
	const char *state;
	long long pid = 0;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (guestexec_pid(s, &pid) == 0)
		FUZZ_CHECK(pid > 0, "pid %lld", pid);
	if (guestexec_status_parse(s, &st) == 0) {
		FUZZ_CHECK(st.out_len <= GUESTEXEC_OUT_MAX, "out_len %zu",
		    st.out_len);
		FUZZ_CHECK(st.out[st.out_len] == '\0', "%s", "no NUL");
		FUZZ_CHECK(st.exitcode >= -1 && st.exitcode <= 255,
		    "exitcode %d", st.exitcode);
	}
	state = guestexec_cloudinit_state(s, size ? data[0] : 0);
	FUZZ_CHECK(state == NULL || strcmp(state, "pending") == 0 ||
	    strcmp(state, "running") == 0 || strcmp(state, "done") == 0 ||
	    strcmp(state, "error") == 0, "state %s", state);
	free(s);
	return 0;
}
