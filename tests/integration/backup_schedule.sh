#!/usr/bin/env bash
#
# backup_schedule.sh - scheduled backups and their retention (VM fields
# backup_schedule, backup_retention, backup_full_every; daemon/bsched.c)
# against a real libvirtd and QEMU, with one tiny busybox guest
# (tests/lib/guest.sh) that writes a marker onto its data disk before the
# schedule starts:
#   - bad values are 400 naming the field, on create and PATCH, and
#     change nothing; GET shows what was set;
#   - "@every 5s" with keep 2: the VM gets backups on its own, marked
#     scheduled, the first full and the next incremental on it; the third
#     makes the retention delete the oldest (through the delete path, which
#     folds it into its child): two are left, the older one now full, and
#     the newest one's archive is whole and still holds the marker written
#     before the first (pruned) backup;
#   - a backup taken by hand is never pruned;
#   - hangard stopped for more than two intervals and started again: the
#     schedule goes on, with one catch-up backup, not one per missed time;
#   - a stopped VM: about one try per due time (a refusal logged, today),
#     no storm;
#   - PATCH backup_schedule null: no more backups; the CLI sets and shows
#     the fields.
# Usage: BUILD=build tests/integration/backup_schedule.sh
# timeout: 300
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init bsched
hangard_start || t_summary
VM=${T_PFX}bs
CLI=("$BUILD/hangar" --url "unix:$HANGARD_SOCK")

if ! TINY=$(guest_image tiny); then
	t_fail "build the tiny test guest" "see above"
	t_summary
fi
code=$(curl -sS -m 300 -o "$T_TMP/import.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/octet-stream' -T "$TINY" \
	"$T_BASE/v1/images?name=tiny&format=qcow2&wait=300")
t_eq "import the tiny guest: 200" "$code" 200

# --- bad values: 400 naming the field, nothing made
BODY="\"vcpus\":1,\"memory_mib\":128,\"image\":\"tiny\",\"disks\":[{\"size_gib\":1}],\"placement\":{\"domain_type\":\"qemu\"}"
bad_create() {
	t_http POST /v1/vms "{\"name\":\"$VM\",$BODY,$1}"
	t_expect_problem 400 "create with $1: 400"
	t_expect_json .field "$2" "... naming $2"
}
bad_create '"backup_schedule":"@every 0s"' backup_schedule
bad_create '"backup_schedule":"61 * * * *"' backup_schedule
bad_create '"backup_schedule":5' backup_schedule
bad_create '"backup_retention":{"keep":-1}' backup_retention.keep
bad_create '"backup_retention":{"max_age":"a week"}' backup_retention.max_age
bad_create '"backup_full_every":0' backup_full_every
t_http GET "/v1/vms/$VM"
t_expect_problem 404 "... and no vm was made"

t_http POST /v1/vms "{\"name\":\"$VM\",$BODY,\"start\":true,\"backup_retention\":{\"keep\":2},\"backup_full_every\":5}"
t_expect_status 201 "create $VM (running) with a backup retention, no schedule yet"
ID=$(t_json .id)
t_expect_json .backup_schedule null "... no schedule"
t_expect_json .backup_retention.keep 2 "... keep 2"
t_expect_json .backup_retention.max_age null "... no max_age"
t_expect_json .backup_full_every 5 "... full every 5"

bad_patch() {
	t_http PATCH "/v1/vms/$VM" "$1"
	t_expect_problem 400 "PATCH $1: 400"
	t_expect_json .field "$2" "... naming $2"
}
bad_patch '{"backup_schedule":"every day"}' backup_schedule
bad_patch '{"backup_retention":{"keep":1001}}' backup_retention.keep
bad_patch '{"backup_retention":{"count":3}}' backup_retention.count
bad_patch '{"backup_full_every":"7"}' backup_full_every
bad_patch '{"backup_full_every":1001}' backup_full_every
t_http GET "/v1/vms/$VM"
t_expect_json '[.backup_schedule, .backup_retention.keep, .backup_full_every] | map(tostring) | join(" ")' \
	"null 2 5" "... nothing changed"

log_has() {
	curl -sS -m 5 "$T_BASE/v1/vms/$VM/console/log" | tr -d '\r' | grep -aqE -- "$1"
}
t_check "$VM: login prompt within 120 s" t_wait_for 120 log_has "$GUEST_LOGIN_RE"
type_cmd() {
	t_http POST "/v1/vms/$VM/console/type" "{\"text\":\"$1\\n\"}"
}
type_cmd root
sleep 2
# the marker, written before any backup (see backups.sh's mark)
for try in 1 2 3; do
	type_cmd "yes AAAA | head -c 4096 | dd of=/dev/vdb bs=4096 seek=256 conv=notrunc 2>/dev/null; sync; echo AAAA-done"
	t_wait_for 15 log_has "^AAAA-done" && break
done
t_check "the guest wrote its marker at 1 MiB of vdb" log_has "^AAAA-done"

# backups JQ: jq JQ over the VM's backups list
backups() {
	curl -sS "$T_BASE/v1/vms/$VM/backups" | jq -r "$1"
}
nready() { backups '[.backups[] | select(.status == "ready")] | length'; }
# at_least N: N ready backups
at_least() { [ "$(nready)" -ge "$1" ]; }
# idle: the VM has no operation under way
idle() { [ "$(curl -sS "$T_BASE/v1/vms/$VM" | jq -r .operation)" = null ]; }
# scheduled_lines: the scheduler's "scheduled ... backup" log lines so far
scheduled_lines() { grep -c "vm '$VM': scheduled .* backup" "$T_TMP/hangard.log"; }

# sched JQ: jq JQ over the VM's scheduled backups
sched() { backups "[.backups[] | select(.scheduled)] | $1"; }
# lines_ge N: the scheduler asked for N backups or more so far
lines_ge() { [ "$(scheduled_lines)" -ge "$1" ]; }
# kept N [FIRST]: N ready scheduled backups, the oldest FIRST
kept() {
	local j
	j=$(sched '[.[] | select(.status == "ready") | .id]')
	[ "$(jq length <<<"$j")" = "$1" ] && { [ -z "${2:-}" ] || [ "$(jq -r '.[0]' <<<"$j")" = "$2" ]; }
}

# --- the schedule: full, then incremental, then the retention
t_http PATCH "/v1/vms/$VM" '{"backup_schedule":"@every 5s"}'
t_expect_status 200 "PATCH backup_schedule @every 5s"
t_expect_json .backup_schedule "@every 5s" "... shown"
t_expect_json .backup_retention.keep 2 "... the retention kept"
T0=$(date +%s)
t_check "a first scheduled backup within 20 s" t_wait_for 20 at_least 1
t_eq "... it came after the interval, not at once" "$(($(date +%s) - T0 >= 4))" 1
S1=$(sched '.[0].id')
t_http GET "/v1/vms/$VM/backups/$S1"
t_expect_json .scheduled true "... marked scheduled"
t_expect_json .mode full "... full (the vm had none)"
t_check "a second scheduled backup within 20 s" t_wait_for 20 at_least 2
S2=$(sched '.[1].id')
t_http GET "/v1/vms/$VM/backups/$S2"
t_expect_json .mode incremental "... incremental"
t_expect_json .parent "$S1" "... on the first"
t_check "a third within 20 s" t_wait_for 20 lines_ge 3
t_check "... the retention deletes the oldest (2 kept)" t_wait_for 20 kept 2 "$S2"
t_http GET "/v1/vms/$VM/backups/$S1"
t_expect_problem 404 "... the first (full) one is gone"
t_check "... its files too" test ! -e "$T_TMP/backups/$ID/$S1"
t_http GET "/v1/vms/$VM/backups/$S2"
t_expect_json .mode full "... the second was folded onto nothing: full now"
t_expect_json .parent null "... with no parent"
S3=$(sched '.[1].id')
t_http GET "/v1/vms/$VM/backups/$S3"
t_expect_json .parent "$S2" "... the third still builds on it"
# the third's archive: whole, and it holds the marker only the pruned
# full backup had copied
mkdir -p "$T_TMP/a"
curl -sS -f -o "$T_TMP/a.tar" "$T_BASE/v1/vms/$VM/backups/$S3/archive"
t_eq "... its archive downloads" "$?" 0
tar -xf "$T_TMP/a.tar" -C "$T_TMP/a"
t_check "... its vdb passes qemu-img check" qemu-img check -q -f qcow2 "$T_TMP/a/disks/vdb.qcow2"
t_check "... and holds the marker written before the pruned backup" \
	sh -c "qemu-io -f qcow2 -r -c 'read -v 1048576 16' '$T_TMP/a/disks/vdb.qcow2' | grep -q AAAA"

# --- a hand-made backup is never pruned
hand() {
	t_wait_for 20 idle &&
		t_http POST "/v1/vms/$VM/backups?wait=120" '{"mode":"incremental"}' &&
		[ "$(t_json .status)" = succeeded ]
}
t_check "an incremental backup by hand (between scheduled ones)" t_wait_for 40 hand
HAND=$(t_json .params.backup)
t_http GET "/v1/vms/$VM/backups/$HAND"
t_expect_json .scheduled false "... not scheduled"
N=$(scheduled_lines)
t_check "two more scheduled ones within 30 s" t_wait_for 30 lines_ge $((N + 2))
t_check "... still 2 scheduled ones kept" t_wait_for 20 kept 2
t_http GET "/v1/vms/$VM/backups/$HAND"
t_expect_status 200 "... the hand-made one stays"

# --- PATCH null: no more
t_http PATCH "/v1/vms/$VM" '{"backup_schedule":null}'
t_expect_json .backup_schedule null "PATCH backup_schedule null: none"
t_check "... wait for a backup under way to end" t_wait_for 30 idle
N=$(scheduled_lines)
sleep 7
t_eq "... no more backups asked for without a schedule" "$(scheduled_lines)" "$N"

# --- a restart: the schedule goes on, one catch-up
t_http PATCH "/v1/vms/$VM" '{"backup_schedule":"@every 5s","backup_retention":{"keep":3}}'
t_expect_status 200 "the schedule again, keep 3"
t_check "a scheduled backup within 20 s" t_wait_for 20 lines_ge $(($(scheduled_lines) + 1))
t_check "... wait for it to end" t_wait_for 30 idle
hangard_stop
sleep 12
BEFORE=$(scheduled_lines)
hangard_start || t_summary
t_check "after 12 s down (2 missed times): a catch-up backup within 10 s" \
	t_wait_for 10 lines_ge $((BEFORE + 1))
sleep 2
t_eq "... only one" "$(scheduled_lines)" $((BEFORE + 1))
t_check "... and the schedule goes on" t_wait_for 20 lines_ge $((BEFORE + 2))
t_http GET "/v1/vms/$VM"
t_expect_json .backup_schedule "@every 5s" "... GET still shows it"

# --- a stopped VM: one try per due time, no storm (a stopped VM is
# backed up offline, started paused: one backup per due time; were it
# refused, one refusal logged per due time)
# tries: scheduled backups asked for plus refusals logged, so far
tries() {
	echo $(($(scheduled_lines) + $(grep -c "scheduled backup of vm '$VM' not taken" "$T_TMP/hangard.log")))
}
t_check "wait for the vm to be idle" t_wait_for 30 idle
t_http POST "/v1/vms/$VM/stop?wait=60" '{"force":true}'
t_expect_json .status succeeded "stop $VM"
N=$(tries)
sleep 11
t_check "stopped: about one try per due time ($(($(tries) - N)) in 11 s at 5 s)" \
	test $(($(tries) - N)) -ge 1 -a $(($(tries) - N)) -le 3
t_match "... a refusal names the reason" \
	"$(grep "scheduled backup of vm '$VM' not taken" "$T_TMP/hangard.log" | tail -n 1)" "stopped|^$"
t_http PATCH "/v1/vms/$VM" '{"backup_schedule":null}'
t_check "... wait for a backup under way to end" t_wait_for 30 idle

# --- the CLI
out=$("${CLI[@]}" vm update "$VM" --backup-schedule '@daily' --backup-keep 7 \
	--backup-max-age 30d --backup-full-every 7 2>&1)
t_eq "hangar vm update --backup-*: exit 0" "$?" 0
t_http GET "/v1/vms/$VM"
t_expect_json '[.backup_schedule, .backup_retention.keep, .backup_retention.max_age, .backup_full_every] | map(tostring) | join(" ")' \
	"@daily 7 30d 7" "... GET shows them"
out=$("${CLI[@]}" vm update "$VM" --backup-schedule 'every day' 2>&1)
t_eq "hangar vm update with a bad schedule: exit 1" "$?" 1
t_match "... naming the field" "$out" "backup_schedule"
out=$("${CLI[@]}" vm update "$VM" --no-backup-schedule 2>&1)
t_eq "hangar vm update --no-backup-schedule: exit 0" "$?" 0
t_http GET "/v1/vms/$VM"
t_expect_json .backup_schedule null "... none"
out=$("${CLI[@]}" vm create "${T_PFX}bs2" --vcpus 1 --memory 64 --disk 1 \
	--backup-schedule '@every 1h' --backup-keep 3 2>&1)
t_eq "hangar vm create --backup-schedule: exit 0" "$?" 0
t_http GET "/v1/vms/${T_PFX}bs2"
t_expect_json '[.backup_schedule, .backup_retention.keep, .backup_full_every] | map(tostring) | join(" ")' \
	"@every 1h 3 7" "... GET shows them (full every 7 by default)"

t_summary
