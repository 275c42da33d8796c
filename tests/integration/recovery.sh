#!/usr/bin/env bash
#
# recovery.sh - hangard killed (SIGKILL) in the middle of an operation, then
# started again: the journal lets it settle what it was doing by asking
# libvirt, so nothing stays in a transitional state and nothing is left
# half-made.  (Issue 6 grows this into a randomized soak.)
# Usage: BUILD=build tests/integration/recovery.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init recov
hangard_start || t_summary

A=${T_PFX}a
B=${T_PFX}b

# crash: SIGKILL hangard, as a power cut would stop it
crash() {
	kill -KILL "$HANGARD_PID" 2>/dev/null
	wait "$HANGARD_PID" 2>/dev/null
	HANGARD_PID=''
}

# --- a stop interrupted while it waits for the guest: the next hangard
# takes it up (asks the guest again, waits its timeout, powers off)
t_http POST "/v1/vms?wait=60" "{\"name\":\"$A\",\"memory_mib\":64,\"disk_gib\":1,\"start\":true}"
t_expect_status 201 "create $A running"
A_ID=$(t_json .id)
t_http POST "/v1/vms/$A/stop" '{"timeout_s":6}'
t_expect_status 202 "stop $A (ACPI, 6 s) accepted"
OP=$(t_json .id)
t_check "stop $A is running before the kill" t_wait_for 10 \
	bash -c "curl -fsS '$HANGARD_URL/v1/operations/$OP' | jq -e '.status == \"running\"' >/dev/null"
crash
hangard_start || t_summary
t_check "the next hangard takes the stop up again" \
	grep -q "op $OP: stop vm '$A' (recovering after a restart)" "$T_TMP/hangard.log"
t_http GET "/v1/operations/$OP?wait=30"
t_expect_status 200 "the interrupted stop is finished after the restart"
t_expect_json .status succeeded "... and succeeds: the guest, asked again, is powered off at its timeout"
t_http GET "/v1/vms/$A"
t_expect_json .state stopped "$A shows the state libvirt reports"
t_expect_json .operation null "$A has no operation left running"
t_eq "virsh agrees: $A shut off" "$(t_domstate "$A_ID")" "shut off"

# --- a create interrupted at once: rolled back, nothing left
t_http POST "/v1/vms" "{\"name\":\"$B\",\"memory_mib\":64,\"disk_gib\":1,\"start\":true}"
t_expect_status 201 "create $B accepted"
B_ID=$(t_json .id)
B_OP=$(t_json .operation)
crash
hangard_start || t_summary
t_http GET "/v1/operations/$B_OP?wait=30"
t_expect_status 200 "the create of $B is settled after the restart"
st=$(t_json .status)
if [ "$st" = succeeded ]; then
	# it had finished before the kill: then it must be whole
	t_http GET "/v1/vms/$B"
	t_expect_status 200 "$B (finished before the kill) exists"
	t_eq "virsh: $B running" "$(t_domstate "$B_ID")" running
else
	t_eq "the interrupted create of $B failed" "$st" failed
	t_http GET "/v1/vms/$B"
	t_expect_status 404 "$B was rolled back: no row"
	t_eq "virsh: no domain $B" "$(t_domstate "$B_ID")" absent
	t_check_not "no disk of $B in the pool dir" test -e "$T_TMP/images/$B_ID.qcow2"
fi
t_http GET "/v1/operations?status=running"
t_expect_json '.operations | length' 0 "no operation is left running"
t_http GET "/v1/operations?status=queued"
t_expect_json '.operations | length' 0 "no operation is left queued"

# --- clean up through the API
for v in "$A" "$B"; do
	t_http DELETE "/v1/vms/$v?wait=60"
	[ "$T_STATUS" = 404 ] || t_expect_json .status succeeded "delete $v"
done
t_eq "no disks left" "$(find "$T_TMP/images" -mindepth 1 | wc -l)" 0
hangard_stop
t_summary
