#!/usr/bin/env bash
#
# snapshots.sh - VM snapshots against a real libvirtd and QEMU guests:
#   - a disk snapshot of a stopped VM: a marker written into the disk image
#     beforehand (qemu-io, guest-independent) comes back on revert;
#   - a snapshot with memory of a running / paused VM reverts to running /
#     paused; one without memory of a running VM reverts the disks and
#     leaves the VM stopped;
#   - the parent tree, in hangar and in libvirt, also after a delete;
#   - bad input: 404, 409, 400 with the field named;
#   - scheduled snapshots with keep-N retention;
#   - deleting the VM removes its snapshots everywhere.
# Usage: BUILD=build tests/integration/snapshots.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init snaps
hangard_start || t_summary

S=${T_PFX}s

# marker WRITE|READ PATTERN: write or verify 64 KiB of PATTERN at offset 1 MiB
# of the VM's disk image (the VM must be stopped)
marker() {
	local op=$1 pat=$2 out
	out=$(qemu-io -f qcow2 -c "$op -P $pat 1M 64k" "$IMG" 2>&1) || return 1
	! grep -qi 'fail\|error' <<<"$out"
}

# snaps_api: "name:parent" of each snapshot in hangar, sorted
snaps_api() {
	curl -fsS "$HANGARD_URL/v1/vms/$S/snapshots" |
		jq -r '.snapshots[] | .name + ":" + (.parent // "")' | sort | tr '\n' ' '
}

# snaps_lv: the same from libvirt
snaps_lv() {
	local n p
	for n in $(t_virsh snapshot-list --name "$S_ID" 2>/dev/null); do
		p=$(t_virsh snapshot-parent "$S_ID" "$n" 2>/dev/null) || p=''
		echo "$n:$p"
	done | sort | tr '\n' ' '
}

idle() {
	[ "$(curl -fsS "$HANGARD_URL/v1/vms/$S" | jq -r .operation)" = null ]
}

# --- a stopped VM and a marker in its disk
t_http POST "/v1/vms?wait=60" \
	"{\"name\":\"$S\",\"memory_mib\":64,\"disk_gib\":1}"
t_expect_status 201 "create $S (stopped)"
S_ID=$(t_json .id)
IMG=$T_TMP/images/$S_ID.qcow2
t_check "the disk image is at $IMG" test -f "$IMG"
t_check "write marker 0xaa into the stopped VM's disk" marker write 0xaa

t_http POST "/v1/vms/$S/snapshots?wait=60" \
	'{"name":"s1","description":"before <b> & \"quotes\"\nline two"}'
t_expect_status 201 "snapshot s1 of the stopped VM"
t_expect_json .status ready "s1 is ready"
t_expect_json .memory false "s1 has no memory"
t_expect_json .consistency stopped "s1 of the stopped VM: consistency stopped"
t_expect_json .vm_state stopped "s1 was taken stopped"
t_expect_json .parent null "s1 is a root"
t_expect_json .description $'before <b> & "quotes"\nline two' \
	"s1 keeps its description as given"
t_eq "Location names the snapshot" "$T_LOCATION" "/v1/vms/$S_ID/snapshots/s1"
t_eq "libvirt has s1" "$(t_virsh snapshot-list --name "$S_ID" | tr -d ' \n')" s1
t_match "libvirt kept the description escaped, as text" \
	"$(t_virsh snapshot-dumpxml "$S_ID" s1)" \
	'<description>before &lt;b&gt; &amp; (&quot;|")quotes(&quot;|")'

t_check "overwrite the marker with 0xbb" marker write 0xbb
t_check "the disk now holds 0xbb" marker read 0xbb
t_http POST "/v1/vms/$S/snapshots/s1/revert?wait=60" ''
t_expect_status 200 "revert to s1"
t_expect_json .status succeeded "the revert succeeded"
t_expect_json .kind snapshot_revert "it is a snapshot_revert operation"
t_check "the disk holds 0xaa again after the revert" marker read 0xaa
t_check_not "... and not 0xbb" marker read 0xbb
t_http GET "/v1/vms/$S"
t_expect_json .state stopped "$S is stopped after reverting to a stopped snapshot"
t_eq "virsh: $S shut off" "$(t_domstate "$S_ID")" "shut off"

# --- bad input
t_http POST "/v1/vms/$S/snapshots" '{"name":"m","memory":true}'
t_expect_problem 409 "memory of a stopped VM -> 409"
t_expect_json .field memory "the problem names memory"
t_http POST "/v1/vms/$S/snapshots" '{"name":"s1"}'
t_expect_problem 409 "a name already used -> 409"
t_expect_json .field name "the problem names name"
t_http POST "/v1/vms/$S/snapshots" '{"name":"../etc"}'
t_expect_problem 400 "a name with '/' -> 400"
t_expect_json .field name "the problem names name"
t_http POST "/v1/vms/$S/snapshots" '{"name":"-x"}'
t_expect_problem 400 "a name starting with '-' -> 400"
t_http POST "/v1/vms/$S/snapshots" "{\"name\":\"$(printf 'a%.0s' $(seq 64))\"}"
t_expect_problem 400 "a 64-character name -> 400"
t_http POST "/v1/vms/$S/snapshots" '{"name":"x","description":"a\u0001b"}'
t_expect_problem 400 "a control character in the description -> 400"
t_expect_json .field description "the problem names description"
t_http POST "/v1/vms/$S/snapshots" '{"name":"x","colour":"red"}'
t_expect_problem 400 "an unknown field -> 400"
t_http POST "/v1/vms/$S/snapshots" '{}'
t_expect_problem 400 "no name -> 400"
t_http POST "/v1/vms/$S/snapshots/nope/revert" ''
t_expect_problem 404 "revert to a missing snapshot -> 404"
t_http DELETE "/v1/vms/$S/snapshots/nope"
t_expect_problem 404 "delete a missing snapshot -> 404"
t_http GET "/v1/vms/$S/snapshots/nope"
t_expect_problem 404 "show a missing snapshot -> 404"
t_http GET "/v1/vms/${T_PFX}nobody/snapshots"
t_expect_problem 404 "snapshots of a missing vm -> 404"
t_eq "nothing was made by the refused requests" \
	"$(t_virsh snapshot-list --name "$S_ID" | tr -d ' \n')" s1

# --- with memory, running: reverts to running
t_http POST "/v1/vms/$S/start?wait=60" ''
t_expect_json .status succeeded "start $S"
t_http POST "/v1/vms/$S/snapshots?wait=60" '{"name":"s2","memory":true}'
t_expect_status 201 "snapshot s2 with memory of the running VM"
t_expect_json .memory true "s2 has memory"
t_expect_json .consistency memory "s2: consistency memory (the whole machine)"
t_expect_json .vm_state running "s2 was taken running"
t_expect_json .parent s1 "s2's parent is s1 (the snapshot reverted to)"
t_eq "libvirt: s2's parent is s1" "$(t_virsh snapshot-parent "$S_ID" s2)" s1
t_http POST "/v1/vms/$S/stop?wait=60" '{"force":true}'
t_expect_json .status succeeded "stop $S"
t_http POST "/v1/vms/$S/snapshots/s2/revert?wait=60" ''
t_expect_json .status succeeded "revert to s2"
t_eq "virsh: $S running again after reverting to s2" "$(t_domstate "$S_ID")" running
t_http GET "/v1/vms/$S"
t_expect_json .state running "$S shows running"
t_expect_json .desired_state running "$S is desired running"

# --- a transitional VM refuses a snapshot (an ACPI stop the guest ignores)
t_http POST "/v1/vms/$S/stop" '{"timeout_s":120}'
t_expect_status 202 "a slow stop of $S"
STOP_OP=$(t_json .id)
t_check "the stop is running" t_wait_for 10 bash -c \
	"curl -fsS '$HANGARD_URL/v1/operations/$STOP_OP' | jq -e '.status == \"running\"'"
t_http POST "/v1/vms/$S/snapshots" '{"name":"busy"}'
t_expect_problem 409 "a snapshot of a VM in a transitional state -> 409"
t_match "the 409 says what is in progress" "$(t_json .detail)" "$STOP_OP"
t_http DELETE "/v1/operations/$STOP_OP?wait=30"
t_expect_json .status cancelled "cancel the slow stop"
t_check "$S is idle again" t_wait_for 10 idle

# --- without memory, running: the disks come back, the VM stays stopped
t_http POST "/v1/vms/$S/snapshots?wait=60" '{"name":"s3","memory":false}'
t_expect_status 201 "snapshot s3 without memory of the running VM"
t_expect_json .memory false "s3 says no memory"
t_expect_json .consistency crash "s3 of a running VM without an agent: consistency crash"
t_expect_json .parent s2 "s3's parent is s2"
t_http POST "/v1/vms/$S/snapshots/s3/revert?wait=60" ''
t_expect_json .status succeeded "revert to s3"
t_eq "virsh: $S shut off after a disk-only revert" "$(t_domstate "$S_ID")" "shut off"
t_http GET "/v1/vms/$S"
t_expect_json .state stopped "$S shows stopped"
t_expect_json .desired_state stopped "$S is desired stopped"

# --- with memory, paused: reverts to paused
t_http POST "/v1/vms/$S/start?wait=60" ''
t_http POST "/v1/vms/$S/pause?wait=60" ''
t_expect_json .status succeeded "pause $S"
t_http POST "/v1/vms/$S/snapshots?wait=60" '{"name":"s4","memory":true}'
t_expect_json .vm_state paused "s4 was taken paused"
t_http POST "/v1/vms/$S/resume?wait=60" ''
t_http POST "/v1/vms/$S/snapshots/s4/revert?wait=60" ''
t_expect_json .status succeeded "revert to s4"
t_eq "virsh: $S paused after reverting to s4" "$(t_domstate "$S_ID")" paused
t_http GET "/v1/vms/$S"
t_expect_json .state paused "$S shows paused"

# --- the tree, in hangar and in libvirt, across a delete
t_eq "hangar's tree equals libvirt's" "$(snaps_api)" "$(snaps_lv)"
t_http DELETE "/v1/vms/$S/snapshots/s2?wait=60"
t_expect_json .status succeeded "delete s2 (it has children)"
t_check_not "libvirt no longer has s2" bash -c \
	"virsh -q -c '$T_LV_URI' snapshot-list --name '$S_ID' | grep -qx s2"
t_http GET "/v1/vms/$S/snapshots/s3"
t_expect_json .parent s1 "s3 now hangs off s1"
t_eq "hangar's tree equals libvirt's after the delete" "$(snaps_api)" "$(snaps_lv)"
t_match "the tree" "$(snaps_api)" '^s1: s3:s1 s4:s3 $'

# --- the events
curl -sS -m 10 "$HANGARD_URL/v1/events?since=0&follow=false&type=snapshot.*&vm=$S" \
	>"$T_TMP/ev"
t_eq "snapshot events, in order" "$(sed -n 's/^event: //p' "$T_TMP/ev" | tr '\n' ' ')" \
	"snapshot.created snapshot.reverted snapshot.created snapshot.reverted snapshot.created snapshot.reverted snapshot.created snapshot.reverted snapshot.deleted "

# --- scheduled snapshots, keep 2
t_http PATCH "/v1/vms/$S" '{"snapshot_schedule":"every day"}'
t_expect_problem 400 "a bad schedule -> 400"
t_expect_json .field snapshot_schedule "the problem names snapshot_schedule"
t_http PATCH "/v1/vms/$S" '{"snapshot_retention":{"max_age":"7 days"}}'
t_expect_problem 400 "a bad max_age -> 400"
t_expect_json .field snapshot_retention.max_age "the problem names snapshot_retention.max_age"
t_http PATCH "/v1/vms/$S" '{"snapshot_retention":{"keep":-1}}'
t_expect_problem 400 "a negative keep -> 400"
t_http PATCH "/v1/vms/$S" '{}'
t_expect_problem 400 "an empty PATCH -> 400"
t_http PATCH "/v1/vms/$S" \
	'{"snapshot_schedule":"@every 2s","snapshot_retention":{"keep":2,"max_age":"1d12h"}}'
t_expect_status 200 "schedule a snapshot every 2 s, keep 2"
t_expect_json .snapshot_schedule "@every 2s" "the schedule is shown"
t_expect_json .snapshot_retention.keep 2 "keep is shown"
t_expect_json .snapshot_retention.max_age 1d12h "max_age is shown"
t_check "the schedule has taken at least 4 snapshots" t_wait_for 30 \
	bash -c "[ \$(curl -sS -m 10 '$HANGARD_URL/v1/events?since=0&follow=false&type=snapshot.created&vm=$S' | grep -c '\"snapshot\":\"auto-') -ge 4 ]"
t_http PATCH "/v1/vms/$S" '{"snapshot_schedule":null}'
t_expect_json .snapshot_schedule null "the schedule is removed"
t_check "$S is idle" t_wait_for 10 idle
t_check "the retention still holds without the schedule: 2 kept" \
	t_wait_for 10 bash -c "[ \$(curl -fsS '$HANGARD_URL/v1/vms/$S/snapshots' | jq '[.snapshots[] | select(.scheduled)] | length') = 2 ]"
t_check "$S is idle" t_wait_for 10 idle
t_check "the retention deleted the older ones" bash -c \
	"curl -sS -m 10 '$HANGARD_URL/v1/events?since=0&follow=false&type=snapshot.deleted&vm=$S' | grep -q '\"snapshot\":\"auto-'"
t_check "hand-made snapshots are untouched by the retention" bash -c \
	"curl -fsS '$HANGARD_URL/v1/vms/$S/snapshots' | jq -e '[.snapshots[].name] | index(\"s1\") and index(\"s3\") and index(\"s4\")'"
t_eq "hangar's snapshots equal libvirt's after the schedule" "$(snaps_api)" "$(snaps_lv)"

# --- RAM state: a guest that counts in memory.  Its boot sector (written
# into the disk image with qemu-io) runs: cli; xor ax,ax; mov ds,ax;
# l: inc dword [0x7e00]; jmp l.  Paused, the counter holds still; a
# snapshot with memory must bring back exactly the value it had.
R=${T_PFX}r
t_http POST "/v1/vms?wait=60" "{\"name\":\"$R\",\"memory_mib\":64,\"disk_gib\":1}"
t_expect_status 201 "create $R (stopped)"
R_ID=$(t_json .id)
{
	printf '\xfa\x31\xc0\x8e\xd8\x66\xff\x06\x00\x7e\xeb\xf9'
	head -c 498 /dev/zero
	printf '\x55\xaa'
} >"$T_TMP/boot.bin"
t_check "write the counting boot sector into $R's disk" \
	qemu-io -f qcow2 -c "write -s $T_TMP/boot.bin 0 512" "$T_TMP/images/$R_ID.qcow2"
counter() {
	t_virsh qemu-monitor-command "$R_ID" --hmp 'xp /1wx 0x7e00' |
		awk '{print $2}' | tr -d '\r'
}
t_http POST "/v1/vms/$R/start?wait=60" ''
t_expect_json .status succeeded "start $R"
t_check "the guest counts (its counter moves)" t_wait_for 10 bash -c \
	"a=\$(virsh -q -c '$T_LV_URI' qemu-monitor-command '$R_ID' --hmp 'xp /1wx 0x7e00' | awk '{print \$2}'); sleep 0.3; b=\$(virsh -q -c '$T_LV_URI' qemu-monitor-command '$R_ID' --hmp 'xp /1wx 0x7e00' | awk '{print \$2}'); [ -n \"\$a\" ] && [ \"\$a\" != \"\$b\" ]"
t_http POST "/v1/vms/$R/pause?wait=60" ''
t_expect_json .status succeeded "pause $R"
C1=$(counter)
t_http POST "/v1/vms/$R/snapshots?wait=60" '{"name":"ram","memory":true}'
t_expect_status 201 "snapshot with memory of $R at counter $C1"
t_eq "taking the snapshot did not move the paused counter" "$(counter)" "$C1"
t_http POST "/v1/vms/$R/resume?wait=60" ''
sleep 1
t_http POST "/v1/vms/$R/pause?wait=60" ''
C2=$(counter)
t_check "the counter moved on after the snapshot ($C1 -> $C2)" \
	test -n "$C2" -a "$C2" != "$C1"
t_http POST "/v1/vms/$R/snapshots/ram/revert?wait=60" ''
t_expect_json .status succeeded "revert $R to the snapshot with memory"
t_eq "virsh: $R paused, as it was taken" "$(t_domstate "$R_ID")" paused
t_eq "the guest's RAM holds exactly the snapshot's counter" "$(counter)" "$C1"
t_http DELETE "/v1/vms/$R?wait=60"
t_expect_json .status succeeded "delete $R"

# --- deleting the VM removes its snapshots everywhere
t_http DELETE "/v1/vms/$S?wait=60"
t_expect_json .status succeeded "delete $S with its snapshots"
t_eq "virsh: the domain is gone" "$(t_domstate "$S_ID")" absent
t_check_not "the disk image is gone" test -e "$IMG"
t_http GET "/v1/vms/$S/snapshots"
t_expect_problem 404 "its snapshots are gone from the API"
t_summary
