#!/usr/bin/env bash
#
# lifecycle_cli.sh - a VM's whole life through the `hangar` CLI, over the
# unix socket and over HTTP ($HANGAR_URL), each step checked against virsh
# and the CLI's exit status; -o json output must parse with jq.
#
# Usage: BUILD=build tests/integration/lifecycle_cli.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init cli
hangard_start || t_summary

A=${T_PFX}a
B=${T_PFX}b
CLI_OUT='' CLI_ERR='' CLI_RC=0

# run ARG...: run the CLI against the unix socket (bounded: 120 s); sets
# CLI_OUT, CLI_ERR, CLI_RC
run() {
	local e
	e=$(mktemp "$T_TMP/cli.XXXXXX")
	CLI_OUT=$(HANGAR_URL='' timeout 120 "$BUILD/hangar" --url "unix:$HANGARD_SOCK" "$@" 2>"$e")
	CLI_RC=$?
	CLI_ERR=$(cat "$e")
	rm -f "$e"
}

# ok_run NAME ARG...: run, expect exit 0
ok_run() {
	local name=$1
	shift
	run "$@"
	if [ "$CLI_RC" = 0 ]; then
		t_ok "$name"
	else
		t_fail "$name" "hangar $* exited $CLI_RC; stderr: $(_t_cut "$CLI_ERR")"
	fi
}

# json_of NAME EXPR WANT: `jq -r EXPR` of CLI_OUT equals WANT
json_of() {
	local got
	if ! got=$(jq -r "$2" <<<"$CLI_OUT" 2>/dev/null); then
		t_fail "$1" "output is not JSON: $(_t_cut "$CLI_OUT")"
		return
	fi
	t_eq "$1" "$got" "$3"
}

# vm_json NAME: `hangar -o json vm show NAME` into CLI_OUT
vm_json() {
	run -o json vm show "$1"
}

images() {
	find "$T_TMP/images" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null
}

dtype=$(t_expected_domain_type)

# --- hosts
ok_run "host list" host list
t_match "host list shows local" "$CLI_OUT" '(^|[[:space:]])local[[:space:]]'
ok_run "-o json host list" -o json host list
json_of "-o json host list: .hosts[0].name" '.hosts[0].name' local
ok_run "host show local" host show local
t_match "host show local: domain_type" "$CLI_OUT" "domain_type: $dtype"
ok_run "-o json host show local" -o json host show local
json_of "-o json host show: domain_type" .domain_type "$dtype"
run host show nosuchhost
t_eq "host show nosuchhost: exit 1" "$CLI_RC" 1
t_match "host show nosuchhost: detail on stderr" "$CLI_ERR" nosuchhost

# --- create (stopped)
ok_run "vm create $A" vm create "$A" --vcpus 1 --memory 64 --disk 1
vm_json "$A"
json_of "vm show $A: stopped" .state stopped
json_of "vm show $A: vcpus 1" .vcpus 1
json_of "vm show $A: memory 64" .memory_mib 64
json_of "vm show $A: disk 1" .disk_gib 1
A_ID=$(jq -r .id <<<"$CLI_OUT" 2>/dev/null)
t_eq "create: virsh says shut off" "$(t_domstate "$A_ID")" "shut off"
t_eq "create: one disk file" "$(images | wc -l)" 1
ok_run "vm list" vm list
t_match "vm list shows $A" "$CLI_OUT" "(^|[[:space:]])${A}[[:space:]]"
ok_run "-o json vm list" -o json vm list
json_of "-o json vm list has $A" "[.vms[].name] | index(\"$A\") != null" true
ok_run "vm show $A (table)" vm show "$A"
t_match "vm show $A: state line" "$CLI_OUT" 'state: stopped'

# --- a failing command: exit 1, the server's detail on stderr
run vm pause "$A"
t_eq "vm pause (stopped vm): exit 1" "$CLI_RC" 1
t_match "vm pause (stopped vm): stderr names the vm" "$CLI_ERR" "$A"
t_match "vm pause (stopped vm): stderr names the state" "$CLI_ERR" stopped
t_eq "vm pause (stopped vm): virsh still shut off" "$(t_domstate "$A_ID")" "shut off"

# --- start, pause, resume, reboot, stop
ok_run "vm start $A" vm start "$A"
t_eq "start: virsh running" "$(t_domstate "$A_ID")" running
vm_json "$A"
json_of "start: vm show running" .state running
ok_run "vm pause $A" vm pause "$A"
t_eq "pause: virsh paused" "$(t_domstate "$A_ID")" paused
ok_run "vm resume $A" vm resume "$A"
t_eq "resume: virsh running" "$(t_domstate "$A_ID")" running
ok_run "vm reboot $A --force" vm reboot "$A" --force
t_eq "reboot --force: virsh running" "$(t_domstate "$A_ID")" running
ok_run "-o json vm reboot $A" -o json vm reboot "$A"
t_check "-o json vm reboot: output is JSON" jq -e . <<<"$CLI_OUT"
t_eq "reboot (ACPI): virsh running" "$(t_domstate "$A_ID")" running

t0=$(t_ns_now)
ok_run "vm stop $A --timeout 2" vm stop "$A" --timeout 2
ms=$(($(t_ns_now) - t0))
t_check "stop --timeout 2: took >= 2 s (${ms} ms)" test "$ms" -ge 2000
t_eq "stop --timeout 2: virsh shut off" "$(t_domstate "$A_ID")" "shut off"
vm_json "$A"
json_of "stop: vm show stopped" .state stopped

ok_run "vm start $A (again)" vm start "$A"
t_eq "start again: virsh running" "$(t_domstate "$A_ID")" running
t0=$(t_ns_now)
ok_run "vm stop $A --force" vm stop "$A" --force
ms=$(($(t_ns_now) - t0))
t_check "stop --force: at once (< 3 s: ${ms} ms)" test "$ms" -lt 3000
t_eq "stop --force: virsh shut off" "$(t_domstate "$A_ID")" "shut off"

# --- delete a running vm
ok_run "vm start $A (before delete)" vm start "$A"
ok_run "vm delete $A" vm delete "$A"
t_eq "delete: virsh has no domain" "$(t_domstate "$A_ID")" absent
t_eq "delete: images dir empty" "$(images)" ""
run vm show "$A"
t_eq "vm show after delete: exit 1" "$CLI_RC" 1
t_match "vm show after delete: stderr says not found" "$CLI_ERR" 'not found'

# --- create --start, -o json, --no-wait, op list/show
ok_run "-o json vm create $B --start" -o json vm create "$B" --vcpus 1 --memory 64 --disk 1 --start
t_check "-o json vm create: output is JSON" jq -e . <<<"$CLI_OUT"
vm_json "$B"
json_of "create --start: running" .state running
B_ID=$(jq -r .id <<<"$CLI_OUT" 2>/dev/null)
t_eq "create --start: virsh running" "$(t_domstate "$B_ID")" running

ok_run "--no-wait vm stop $B --force" -o json --no-wait vm stop "$B" --force
json_of "--no-wait: prints the accepted operation" .kind stop
OP=$(jq -r .id <<<"$CLI_OUT" 2>/dev/null)
# shellcheck disable=SC2317 # called through t_wait_for
op_done() {
	run -o json op show "$OP"
	[ "$(jq -r .status <<<"$CLI_OUT" 2>/dev/null)" = succeeded ]
}
t_check "--no-wait: op show reaches succeeded within 30 s" t_wait_for 30 op_done
t_eq "--no-wait stop: virsh shut off" "$(t_domstate "$B_ID")" "shut off"
ok_run "op show $OP" op show "$OP"
t_match "op show: the id" "$CLI_OUT" "$OP"
ok_run "op list" op list
t_match "op list: shows the stop" "$CLI_OUT" "$OP"
ok_run "-o json op list" -o json op list
json_of "-o json op list: newest first" '.operations[0].id' "$OP"
ok_run "-o json op list --vm $B" -o json op list --vm "$B"
json_of "op list --vm: only $B" '[.operations[].vm] | unique | join(",")' "$B"

# --- HANGAR_URL over HTTP
e=$(mktemp "$T_TMP/cli.XXXXXX")
CLI_OUT=$(HANGAR_URL=$HANGARD_URL timeout 60 "$BUILD/hangar" -o json vm list 2>"$e")
CLI_RC=$?
t_eq "HANGAR_URL=$HANGARD_URL vm list: exit 0" "$CLI_RC" 0
json_of "HANGAR_URL: lists $B" "[.vms[].name] | index(\"$B\") != null" true
CLI_OUT=$(HANGAR_URL=$HANGARD_URL timeout 60 "$BUILD/hangar" vm start "$B" 2>"$e")
t_eq "HANGAR_URL vm start: exit 0" "$?" 0
t_eq "HANGAR_URL vm start: virsh running" "$(t_domstate "$B_ID")" running
rm -f "$e"

# --- usage and reachability
run vm frobnicate "$B"
t_eq "unknown verb: exit 2" "$CLI_RC" 2
run vm create
t_eq "vm create without a name: exit 2" "$CLI_RC" 2
CLI_OUT=$(timeout 60 "$BUILD/hangar" --url "unix:$T_TMP/nosuch.sock" vm list 2>/dev/null)
t_eq "unreachable socket: exit 3" "$?" 3

# --- snapshots, events, cancel, schedules through the CLI
C=${T_PFX}c
ok_run "vm create $C --start" vm create "$C" --memory 64 --disk 1 --start
vm_json "$C"
C_ID=$(jq -r .id <<<"$CLI_OUT")
"$BUILD/hangar" --url "unix:$HANGARD_SOCK" -o json events --follow --vm "$C" \
	>"$T_TMP/follow.jsonl" 2>"$T_TMP/follow.err" &
FOLLOW=$!
sleep 0.5
ok_run "snapshot create $C s1 --memory" snapshot create "$C" s1 --memory \
	--description "from the cli"
t_match "snapshot create prints the snapshot" "$CLI_OUT" 's1'
t_eq "virsh has s1" "$(t_virsh snapshot-list --name "$C_ID" | tr -d ' \n')" s1
ok_run "-o json snapshot list $C" -o json snapshot list "$C"
json_of "snapshot list: s1 with memory" '.snapshots[0].name + " " + (.snapshots[0].memory|tostring)' "s1 true"
ok_run "-o json snapshot show $C s1" -o json snapshot show "$C" s1
json_of "snapshot show: its description" .description "from the cli"
run snapshot create "$C" s1
t_eq "snapshot create of a taken name: exit 1" "$CLI_RC" 1
t_match "... saying why" "$CLI_ERR" "already has a snapshot named 's1'"
run snapshot revert "$C" nope
t_eq "snapshot revert of a missing one: exit 1" "$CLI_RC" 1
ok_run "vm pause $C" vm pause "$C"
ok_run "snapshot revert $C s1" snapshot revert "$C" s1
t_eq "revert brought $C back running" "$(t_domstate "$C_ID")" running
ok_run "snapshot delete $C s1" snapshot delete "$C" s1
t_eq "virsh: no snapshot left" "$(t_virsh snapshot-list --name "$C_ID" | tr -d ' \n')" ""
ok_run "vm update $C --snapshot-schedule" vm update "$C" \
	--snapshot-schedule '0 3 * * *' --snapshot-keep 3 --snapshot-max-age 7d
vm_json "$C"
json_of "the schedule is set" '.snapshot_schedule + " " + (.snapshot_retention.keep|tostring) + " " + .snapshot_retention.max_age' \
	"0 3 * * * 3 7d"
run vm update "$C" --snapshot-schedule 'every day'
t_eq "a bad schedule: exit 1" "$CLI_RC" 1
t_match "... naming the field" "$CLI_ERR" "snapshot_schedule"
ok_run "vm update $C --no-snapshot-schedule" vm update "$C" --no-snapshot-schedule
ok_run "-o json events --vm $C (replay)" -o json events --vm "$C"
t_check "events: one JSON object per line" bash -c \
	"jq -e -s 'length > 0 and all(.[]; .id > 0)' <<<'$CLI_OUT'"
t_eq "events: the snapshot's life, in order" \
	"$(jq -r 'select(.type | startswith("snapshot.")) | .type' <<<"$CLI_OUT" | tr '\n' ' ')" \
	"snapshot.created snapshot.reverted snapshot.deleted "
DONE_OP=$(jq -r 'select(.type == "operation.succeeded") | .operation' <<<"$CLI_OUT" | tail -1)
ok_run "events --vm $C --type vm.* (table)" events --vm "$C" --type 'vm.*'
t_match "the table names the paused event" "$CLI_OUT" 'vm\.paused'
t_check "the following stream got the same events as they happened" \
	t_wait_for 5 bash -c "grep -q '\"snapshot.deleted\"' '$T_TMP/follow.jsonl'"
kill -INT "$FOLLOW" 2>/dev/null
wait "$FOLLOW"
t_eq "events --follow ends with exit 0 on SIGINT" "$?" 0
run op cancel "$DONE_OP"
t_eq "op cancel of a finished operation: exit 1" "$CLI_RC" 1
t_match "... saying it finished" "$CLI_ERR" "already succeeded"
ok_run "vm delete $C" vm delete "$C"

# --wait-ready needs a VM hangard follows (one with a cloud-init seed:
# cloud_init.sh); for one without, it says so at once and fails
run vm create "${T_PFX}nr" --vcpus 1 --memory 64 --disk 1 --wait-ready
t_eq "vm create --wait-ready of a vm without a seed: exit 1" "$CLI_RC" 1
t_match "... saying there is nothing to wait for" "$CLI_ERR" 'provisioning is not followed: the vm has no cloud-init seed'
ok_run "vm delete ${T_PFX}nr" vm delete "${T_PFX}nr"
ok_run "vm delete $B (running)" vm delete "$B"
t_eq "delete $B: virsh has no domain" "$(t_domstate "$B_ID")" absent
t_eq "at the end: no cli-* domain" \
	"$(t_virsh list --all --name 2>/dev/null | grep -- "^$T_PFX")" ""
t_eq "at the end: images dir empty" "$(images)" ""

hangard_stop
t_summary
