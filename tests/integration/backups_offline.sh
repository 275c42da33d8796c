#!/usr/bin/env bash
#
# backups_offline.sh - backups of a STOPPED VM against a real libvirtd
# and QEMU, with the tiny busybox guest (tests/lib/guest.sh): hangar
# starts the domain paused for the job (no guest code runs), runs the
# same push-mode backup with checkpoints, and destroys it again.
#   - a full backup of a stopped VM whose data disk holds a marker
#     written into its file (qemu-io): it succeeds, offline; the VM is
#     stopped afterwards (GET and virsh), and was never seen running;
#   - the VM started, a second marker written by the guest, stopped
#     again: an incremental backup of it is small, backed by the full
#     one, and its archive holds both markers (the dirty bitmaps went
#     through the stop and the paused start);
#   - a restore from the incremental brings both markers back;
#   - hangard SIGKILLed as the paused domain starts, and while it copies
#     a large disk: after a restart the recovery finishes or undoes the
#     backup, the domain is gone and the VM stopped, and what is kept is
#     whole (or nothing is);
#   - a backup cancelled while it copies leaves the VM stopped, and
#     nothing of it;
#   - with backup_direct = 0 the same backup goes beside the disk and
#     through a libvirt stream, and leaves nothing in the host's pool.
# Usage: BUILD=build tests/integration/backups_offline.sh
# timeout: 600
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init bkoff
hangard_start || t_summary
VM=${T_PFX}b1
BK=$T_TMP/backups

if ! TINY=$(guest_image tiny); then
	t_fail "build the tiny test guest" "see above"
	t_summary
fi
code=$(curl -sS -m 300 -o "$T_TMP/import.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/octet-stream' -T "$TINY" \
	"$T_BASE/v1/images?name=tiny&format=qcow2&wait=300")
t_eq "import the tiny guest: 200" "$code" 200
t_http POST "/v1/vms?wait=120" "{\"name\":\"$VM\",\"vcpus\":1,\"memory_mib\":128,\"image\":\"tiny\",\"disks\":[{\"size_gib\":1}],\"start\":false,\"placement\":{\"domain_type\":\"qemu\"}}"
t_expect_json .state stopped "create $VM (stopped) with a 1 GiB data disk"
ID=$(t_json .id)

# vdb_file: the file of the VM's vdb, as libvirt has it
vdb_file() {
	virsh -c "$T_LV_URI" domblklist "$ID" | awk '$1 == "vdb" { print $2 }'
}
# has IMG MIB NAME: the qcow2 IMG holds NAME at MIB MiB
has() {
	qemu-io -f qcow2 -r -U -c "read -v $(($2 * 1048576)) 16" "$1" 2>/dev/null | grep -q "$3"
}
# archive BID DIR: the archive of BID untarred into DIR
archive() {
	rm -rf "$2" && mkdir -p "$2" &&
		curl -sS -f -o "$2.tar" "$T_BASE/v1/vms/$VM/backups/$1/archive" &&
		tar -xf "$2.tar" -C "$2"
}
# shas_match BID: every disk's recorded sha256 is that of its file
shas_match() {
	local j bad=0 f s
	j=$(curl -sS "$T_BASE/v1/vms/$VM/backups/$1")
	while read -r f s; do
		[ "$(sha256sum "$BK/$f" | cut -d' ' -f1)" = "$s" ] || bad=1
	done < <(jq -r '.disks[] | "\(.file) \(.sha256)"' <<<"$j")
	[ "$(jq '.disks | length' <<<"$j")" -gt 0 ] && [ $bad = 0 ]
}
# stopped_everywhere: hangar and libvirt both say the VM is off
stopped_everywhere() {
	[ "$(curl -sS "$T_BASE/v1/vms/$VM" | jq -r .state)" = stopped ] &&
		[ "$(t_domstate "$ID")" = "shut off" ]
}
# backup MODE: take one of the stopped VM, wait for it; BID its id
backup() {
	t_http POST "/v1/vms/$VM/backups?wait=300" "{\"mode\":\"$1\"}"
	t_expect_json .status succeeded "$1 backup of the stopped vm: succeeded"
	t_expect_json .params.offline true "... taken offline (domain started paused)"
	BID=$(t_json .params.backup)
}

# --- a full backup of the stopped VM
VDB=$(vdb_file)
qemu-io -f qcow2 -c "write -P 0x41 $((1 * 1048576)) 4096" "$VDB" >/dev/null
t_check "a marker written into the stopped vm's vdb" has "$VDB" 1 AAAA
# the domain's states while the backup runs, as libvirt says them
( for i in $(seq 300); do t_domstate "$ID"; sleep 0.1; done ) >"$T_TMP/states" 2>/dev/null &
WATCH=$!
backup full
FULL=$BID
kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null
t_check "... libvirt saw its domain paused meanwhile" grep -qx paused "$T_TMP/states"
t_check_not "... and never running (no guest code ran)" grep -qx running "$T_TMP/states"
t_check "... the vm is stopped afterwards (GET and virsh)" stopped_everywhere
t_http GET "/v1/vms/$VM/backups/$FULL"
t_expect_json .status ready "... the backup is ready"
t_expect_json '[.disks[].dev] | join(",")' vda,vdb "... with both disks"
t_check "... every recorded sha256 is its file's" shas_match "$FULL"
t_check "... its archive's vdb holds the marker" eval 'archive "$FULL" "$T_TMP/a-full" && has "$T_TMP/a-full/disks/vdb.qcow2" 1 AAAA'
t_eq "... no event says it started, paused or stopped" \
	"$(curl -sS -m 10 "$T_BASE/v1/events?since=0&follow=false&vm=$VM&type=vm.started,vm.paused,vm.stopped" | grep -c '^event: ')" 0

# --- started, written to by its guest, stopped: then an incremental one
t_http POST "/v1/vms/$VM/start?wait=60"
t_expect_json .status succeeded "start $VM"
log_has() {
	curl -sS -m 5 "$T_BASE/v1/vms/$VM/console/log" | tr -d '\r' | grep -aqE -- "$1"
}
t_check "$VM: login prompt within 120 s" t_wait_for 120 log_has "$GUEST_LOGIN_RE"
type_cmd() {
	t_http POST "/v1/vms/$VM/console/type" "{\"text\":\"$1\\n\"}"
}
type_cmd root
sleep 2
for try in 1 2 3; do
	type_cmd "yes BBBB | head -c 4096 | dd of=/dev/vdb bs=4096 seek=512 conv=notrunc 2>/dev/null; sync; echo BBBB-done"
	t_wait_for 15 log_has "^BBBB-done" && break
done
t_check "the guest wrote a second marker at 2 MiB" log_has "^BBBB-done"
t_http POST "/v1/vms/$VM/stop?wait=60" '{"force":true}'
t_expect_json .status succeeded "stop $VM"
backup incremental
INC=$BID
t_http GET "/v1/vms/$VM/backups/$INC"
t_expect_json .parent "$FULL" "... its parent is the full one"
fsize=$(curl -sS "$T_BASE/v1/vms/$VM/backups/$FULL" | jq '.size // 0')
isize=$(curl -sS "$T_BASE/v1/vms/$VM/backups/$INC" | jq '.size // 1')
t_check "... it is small ($isize < $fsize / 4 bytes)" test "$isize" -lt $((fsize / 4))
t_check "... every recorded sha256 is its file's" shas_match "$INC"
t_check "... the vm is stopped afterwards" stopped_everywhere
t_check "its archive holds the first marker" eval 'archive "$INC" "$T_TMP/a-inc" && has "$T_TMP/a-inc/disks/vdb.qcow2" 1 AAAA'
t_check "... and the guest's" has "$T_TMP/a-inc/disks/vdb.qcow2" 2 BBBB

# --- restore from the incremental
qemu-io -f qcow2 -c "write -P 0x5a $((1 * 1048576)) 4096" "$(vdb_file)" >/dev/null
t_http POST "/v1/vms/$VM/restore?wait=300" "{\"backup\":\"$INC\"}"
t_expect_json .status succeeded "restore $VM from the incremental backup"
t_check "... the first marker is back" has "$(vdb_file)" 1 AAAA
t_check "... the guest's too" has "$(vdb_file)" 2 BBBB
t_check "... the vm is stopped" stopped_everywhere

# --- hangard killed in the middle of a backup of the stopped VM
# 768 MiB of data on vdb: the paused domain copies for a few seconds
qemu-io -f qcow2 -c "write -P 0x43 $((8 * 1048576)) 768M" "$(vdb_file)" >/dev/null
paused() { [ "$(t_domstate "$ID")" = paused ]; }
job_runs() { paused && virsh -c "$T_LV_URI" domjobinfo "$ID" 2>/dev/null | grep -q 'Operation: *Backup'; }
# crash WHEN CONF: a full backup, hangard SIGKILLed once WHEN (a
# function) holds, started again with the config line CONF; then the
# recovery must leave the VM stopped with no domain, and what it kept
# whole (or nothing)
crash() {
	local op kbid
	t_http POST "/v1/vms/$VM/backups" '{"mode":"full"}'
	t_expect_status 202 "a full backup of the large disk: accepted"
	op=$(t_json .id)
	kbid=$(t_json .params.backup)
	t_check "... $1 within 60 s" t_wait_for 60 "$1"
	kill -KILL "$HANGARD_PID" 2>/dev/null
	wait "$HANGARD_PID" 2>/dev/null
	HANGARD_PID=''
	t_ok "hangard SIGKILLed then ($1)"
	HANGARD_CONF_EXTRA=$2 hangard_start || t_summary
	t_http GET "/v1/operations/$op?wait=300"
	t_match "the backup's operation ended after the restart: $(t_json .status)" "$(t_json .status)" '^(succeeded|failed)$'
	t_check "... the vm is stopped (GET and virsh)" stopped_everywhere
	t_eq "... no domain of it runs" "$(virsh -c "$T_LV_URI" list --uuid --state-running --state-paused | grep -c "$ID")" 0
	if [ "$(t_json .status)" = succeeded ]; then
		t_check "... the backup it finished is whole" shas_match "$kbid"
	else
		t_http GET "/v1/vms/$VM/backups/$kbid"
		t_expect_problem 404 "... the backup it undid is gone"
		t_check "... with its files" test ! -e "$BK/$ID/$kbid"
	fi
}
# as soon as the domain runs paused (the job may not have begun), and
# once the job copies (QEMU goes on without hangard: the recovery finds
# it running or done); the stream route from then on
crash paused ""
crash job_runs "backup_direct = 0"

# --- a backup of the stopped VM cancelled while its job copies
t_http POST "/v1/vms/$VM/backups" '{"mode":"full"}'
t_expect_status 202 "another full backup: accepted"
OP=$(t_json .id)
KBID=$(t_json .params.backup)
t_check "... its job copies within 60 s" t_wait_for 60 job_runs
t_http DELETE "/v1/operations/$OP?wait=120"
t_match "cancelled while it copies: it ended $(t_json .status)" "$(t_json .status)" '^(cancelled|succeeded)$'
t_check "... the vm is stopped (GET and virsh)" stopped_everywhere
if [ "$(t_json .status)" = cancelled ]; then
	t_http GET "/v1/vms/$VM/backups/$KBID"
	t_expect_problem 404 "... nothing of it is kept"
fi

# --- through a stream (backup_direct = 0)
backup full
t_expect_json .params.direct false "... not written directly (backup_direct = 0)"
t_check "... every recorded sha256 is its file's" shas_match "$BID"
t_eq "... nothing left in the host's pool" "$(ls "$T_TMP/images" | grep -c '\.backup\.')" 0
t_check "... the vm is stopped afterwards" stopped_everywhere

t_summary
