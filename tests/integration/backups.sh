#!/usr/bin/env bash
#
# backups.sh - backups of a running VM with libvirt's backup API against a
# real libvirtd and QEMU, with the tiny busybox guest (tests/lib/guest.sh)
# booted once: it writes markers onto its data disk (dd on /dev/vdb, typed
# on its serial console) between backups, and each check reads them back
# out of what hangar kept:
#   - a full backup, then incrementals (push mode, checkpoints taken in
#     libvirt): recorded with parent, size, per-disk SHA-256 that matches
#     the files under backup_dir; an incremental's file is small and
#     backed by its parent's; nothing is left in the host's pool;
#   - the archive (tar: manifest.json + one flattened qcow2 per disk):
#     qemu-img check passes, the manifest's digests match, the
#     incremental's vdb holds both markers, the full one's only the first;
#   - deleting a middle backup and then the full one folds them into
#     their child: it still holds every marker (and becomes full);
#   - a checkpoint libvirt lost (its metadata deleted, as a migration
#     does) is defined again from the store for the next incremental;
#   - bad input: an unknown mode (400), an incremental with nothing to
#     build on (409), unknown VM or backup (404);
#   - the CLI: hangar vm backup, hangar backup list|show|archive|delete;
#   - restore in place of the stopped VM: its disks become the backup's
#     (the later marker gone, an overwritten one back), on new volumes
#     without a base, the old ones removed; it boots again; bad input
#     (running vm, unknown backup) refused with nothing changed.
# Backups of a stopped VM, and a crash in the middle of one, are in
# backups_offline.sh.
# Usage: BUILD=build tests/integration/backups.sh
# timeout: 900
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init backups
hangard_start || t_summary
VM=${T_PFX}b1
BK=$T_TMP/backups
CLI=("$BUILD/hangar" --url "unix:$HANGARD_SOCK")

if ! TINY=$(guest_image tiny); then
	t_fail "build the tiny test guest" "see above"
	t_summary
fi
code=$(curl -sS -m 300 -o "$T_TMP/import.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/octet-stream' -T "$TINY" \
	"$T_BASE/v1/images?name=tiny&format=qcow2&wait=300")
t_eq "import the tiny guest: 200" "$code" 200

# --- bad input before there is a VM or a backup
t_http POST "/v1/vms/${T_PFX}nope/backups" '{"mode":"full"}'
t_expect_problem 404 "backup of an unknown vm: 404"

t_http POST "/v1/vms?wait=120" "{\"name\":\"$VM\",\"vcpus\":1,\"memory_mib\":128,\"image\":\"tiny\",\"disks\":[{\"size_gib\":1}],\"start\":false,\"placement\":{\"domain_type\":\"qemu\"}}"
t_expect_status 201 "create $VM (stopped) with a data disk"
ID=$(t_json .id)
t_http POST "/v1/vms/$VM/start?wait=60"
t_expect_json .status succeeded "start $VM"
t_http POST "/v1/vms/$VM/backups" '{"mode":"weekly"}'
t_expect_problem 400 "mode weekly: 400"
t_expect_json .field mode "... naming mode"
t_http POST "/v1/vms/$VM/backups" '{"mode":"full","extra":1}'
t_expect_problem 400 "an unknown field: 400"
t_http POST "/v1/vms/$VM/backups" '{"mode":"incremental"}'
t_expect_problem 409 "an incremental backup with no full one: 409"
t_expect_json .field mode "... naming mode"
t_eq "... and nothing recorded" "$(curl -sS "$T_BASE/v1/vms/$VM/backups" | jq '.backups | length')" 0

log_has() {
	curl -sS -m 5 "$T_BASE/v1/vms/$VM/console/log" | tr -d '\r' | grep -aqE -- "$1"
}
t_check "$VM: login prompt within 120 s" t_wait_for 120 log_has "$GUEST_LOGIN_RE"
# type TEXT: typed on the console (a login first, harmless when logged in)
type_cmd() {
	t_http POST "/v1/vms/$VM/console/type" "{\"text\":\"$1\\n\"}"
}
type_cmd root
sleep 2
# mark NAME MIB: the guest writes 4 KiB of "NAME" lines at MIB MiB of vdb
# and syncs, then says "NAME-done"
# (typed again when the shell missed it: busybox's line editing may eat
# what arrives while it asks the terminal where its cursor is; writing the
# same bytes twice is harmless)
mark() {
	local try
	for try in 1 2 3; do
		type_cmd "yes $1 | head -c 4096 | dd of=/dev/vdb bs=4096 seek=$(($2 * 256)) conv=notrunc 2>/dev/null; sync; echo $1-done"
		t_wait_for 15 log_has "^$1-done" && break
	done
	t_check "the guest wrote $1 at $2 MiB" log_has "^$1-done"
}
# backup MODE: take one, wait for it; BID its id
backup() {
	t_http POST "/v1/vms/$VM/backups?wait=300" "{\"mode\":\"$1\"}"
	t_expect_status 200 "$1 backup: finished within the wait"
	t_expect_json .status succeeded "$1 backup: succeeded"
	t_expect_json .kind backup "... an operation of kind backup"
	BID=$(t_json .params.backup)
}
# has IMG MIB NAME: the qcow2 IMG holds NAME at MIB MiB
has() {
	qemu-io -f qcow2 -r -c "read -v $(($2 * 1048576)) 16" "$1" 2>/dev/null | grep -q "$3"
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
# manifest_ok DIR: each disk in DIR's manifest is there, whole, as digested
manifest_ok() {
	local f s bad=0
	while read -r f s; do
		[ "$(sha256sum "$1/$f" | cut -d' ' -f1)" = "$s" ] || bad=1
		qemu-img check -q -f qcow2 "$1/$f" || bad=1
		[ -z "$(qemu-img info --output=json "$1/$f" | jq -r '."backing-filename" // empty')" ] || bad=1
	done < <(jq -r '.disks[] | "\(.file) \(.sha256)"' "$1/manifest.json")
	[ $bad = 0 ]
}

# has_cp NAME: libvirt knows checkpoint NAME of the VM
has_cp() {
	virsh -c "$T_LV_URI" checkpoint-list "$ID" --name 2>/dev/null | grep -qx "$1"
}
# has_all BID DIR: the archive of BID holds all three markers
has_all() {
	archive "$1" "$2" && has "$2/disks/vdb.qcow2" 1 AAAA &&
		has "$2/disks/vdb.qcow2" 2 BBBB && has "$2/disks/vdb.qcow2" 3 CCCC
}

# --- a full backup, then an incremental one after more writes
mark AAAA 1
backup full
FULL=$BID
t_expect_json .params.direct true "... written into backup_dir directly (the host sees it: the probe said so)"
t_eq "... no probe file left in backup_dir" "$(ls -A "$BK" | grep -c '^\.probe-')" 0
t_http GET "/v1/vms/$VM/backups/$FULL"
t_expect_status 200 "GET the full backup"
t_expect_json .mode full "... mode full"
t_expect_json .parent null "... no parent"
t_expect_json .status ready "... ready"
t_expect_json '[.disks[].dev] | join(",")' vda,vdb "... both disks"
t_expect_json .spec.name "$VM" "... the vm's spec recorded"
t_expect_json '.spec.disks | length' 2 "... with its disks"
t_check "... every recorded sha256 is its file's" shas_match "$FULL"
t_check "... libvirt has its checkpoint" has_cp "hangar-$FULL"
t_eq "... nothing left in the host's pool" "$(ls "$T_TMP/images" | grep -c '\.backup\.')" 0

mark BBBB 2
backup incremental
INC1=$BID
t_http GET "/v1/vms/$VM/backups/$INC1"
t_expect_json .mode incremental "incremental: mode incremental"
t_expect_json .parent "$FULL" "... its parent is the full one"
t_check "... every recorded sha256 is its file's" shas_match "$INC1"
t_eq "... its vdb is backed by the full one's" \
	"$(qemu-img info --output=json "$BK/$ID/$INC1/vdb.qcow2" | jq -r '."backing-filename"')" \
	"../$FULL/vdb.qcow2"
fsize=$(curl -sS "$T_BASE/v1/vms/$VM/backups/$FULL" | jq .size)
isize=$(curl -sS "$T_BASE/v1/vms/$VM/backups/$INC1" | jq .size)
t_check "... and much smaller ($isize < $fsize / 4 bytes)" test "$isize" -lt $((fsize / 4))
t_http GET "/v1/vms/$VM/backups"
t_expect_json '[.backups[].id] | join(",")' "$FULL,$INC1" "list: both, oldest first"

# --- the archives
t_check "archive of the incremental: a tar" archive "$INC1" "$T_TMP/a-inc1"
t_check "... manifest: format hangar-backup" test "$(jq -r .format "$T_TMP/a-inc1/manifest.json")" = hangar-backup
t_check "... manifest: the vm's spec" test "$(jq -r .vm.name "$T_TMP/a-inc1/manifest.json")" = "$VM"
t_check "... every disk whole (qemu-img check, no backing file), digests match" manifest_ok "$T_TMP/a-inc1"
t_check "... its vdb holds the first marker" has "$T_TMP/a-inc1/disks/vdb.qcow2" 1 AAAA
t_check "... and the second" has "$T_TMP/a-inc1/disks/vdb.qcow2" 2 BBBB
t_check "archive of the full one" archive "$FULL" "$T_TMP/a-full"
t_check "... digests match" manifest_ok "$T_TMP/a-full"
t_check "... its vdb holds the first marker" has "$T_TMP/a-full/disks/vdb.qcow2" 1 AAAA
t_check_not "... but not the later one" has "$T_TMP/a-full/disks/vdb.qcow2" 2 BBBB
t_eq "... the tar lists manifest.json first" "$(tar -tf "$T_TMP/a-full.tar" | head -n 1)" manifest.json

# --- a checkpoint libvirt lost is defined again
virsh -c "$T_LV_URI" checkpoint-delete "$ID" "hangar-$INC1" --metadata >/dev/null 2>&1
t_check_not "libvirt lost the incremental's checkpoint" has_cp "hangar-$INC1"
mark CCCC 3
backup incremental
INC2=$BID
t_check "... the next incremental defined it again" has_cp "hangar-$INC1"
t_expect_json .params.mode incremental "... and was incremental"
t_http GET "/v1/vms/$VM/backups/$INC2"
t_expect_json .parent "$INC1" "... on the previous one"
t_check "... its archive holds all three markers" has_all "$INC2" "$T_TMP/a-inc2"

# --- deleting parents folds them into the child
t_http DELETE "/v1/vms/$VM/backups/$INC1"
t_expect_status 200 "delete the middle backup: 200"
t_http GET "/v1/vms/$VM/backups/$INC2"
t_expect_json .parent "$FULL" "... its child now builds on the full one"
t_check "... its recorded sha256 are its files' again" shas_match "$INC2"
t_check "... its files are gone" test ! -e "$BK/$ID/$INC1"
t_http DELETE "/v1/vms/$VM/backups/$FULL"
t_expect_status 200 "delete the full backup: 200"
t_http GET "/v1/vms/$VM/backups/$INC2"
t_expect_json .parent null "... the last one stands alone"
t_expect_json .mode full "... and is full now"
t_check "... its sha256 match" shas_match "$INC2"
t_check "... its archive is complete" archive "$INC2" "$T_TMP/a-inc2b"
t_check "... whole, digests match" manifest_ok "$T_TMP/a-inc2b"
for m in "1 AAAA" "2 BBBB" "3 CCCC"; do
	# shellcheck disable=SC2086
	t_check "... holds marker ${m#* }" has "$T_TMP/a-inc2b/disks/vdb.qcow2" $m
done
t_http GET "/v1/vms/$VM/backups/$FULL"
t_expect_problem 404 "the deleted one: 404"
t_http DELETE "/v1/vms/$VM/backups/$FULL"
t_expect_problem 404 "deleting it again: 404"
t_http GET "/v1/vms/$VM/backups/$FULL/archive"
t_expect_problem 404 "its archive: 404"

# --- the CLI
out=$("${CLI[@]}" vm backup "$VM" --incremental 2>&1)
t_eq "hangar vm backup --incremental: exit 0" "$?" 0
out=$("${CLI[@]}" backup list "$VM" 2>&1)
t_eq "hangar backup list: exit 0" "$?" 0
t_eq "... two backups" "$(grep -c incremental <<<"$out")$(grep -c full <<<"$out")" 11
LAST=$(curl -sS "$T_BASE/v1/vms/$VM/backups" | jq -r '.backups[-1].id')
out=$("${CLI[@]}" backup show "$VM" "$LAST" 2>&1)
t_match "hangar backup show: its parent" "$out" "$INC2"
"${CLI[@]}" backup archive "$VM" "$LAST" -o "$T_TMP/cli.tar" >/dev/null 2>&1
t_eq "hangar backup archive -o: exit 0" "$?" 0
t_eq "... a tar with the manifest and two disks" "$(tar -tf "$T_TMP/cli.tar" | sort | tr '\n' ' ')" "disks/vda.qcow2 disks/vdb.qcow2 manifest.json "
"${CLI[@]}" backup delete "$VM" "$INC2" >/dev/null 2>&1
t_eq "hangar backup delete (the parent): exit 0" "$?" 0
t_http GET "/v1/vms/$VM/backups/$LAST"
t_expect_json .mode full "... its child is full now"
out=$("${CLI[@]}" backup show "$VM" nope 2>&1)
t_match "hangar backup show of an unknown backup: says so" "$out" "no backup"
t_eq "nothing left in the host's pool" "$(ls "$T_TMP/images" | grep -c '\.backup\.')" 0

# --- restore in place
# vdb_file: the file of the VM's vdb, as libvirt has it
vdb_file() {
	virsh -c "$T_LV_URI" domblklist "$ID" | awk '$1 == "vdb" { print $2 }'
}
mark ZZZZ 1
mark DDDD 4
t_http POST "/v1/vms/$VM/restore" "{\"backup\":\"$LAST\"}"
t_expect_problem 409 "restore of a running vm: 409"
t_http POST "/v1/vms/$VM/stop?wait=60" '{"force":true}'
t_expect_json .status succeeded "stop $VM"
OLD_VDB=$(vdb_file)
t_http POST "/v1/vms/$VM/restore" '{"backup":"0000"}'
t_expect_problem 404 "restore from an unknown backup: 404"
t_expect_json .field backup "... naming backup"
t_http POST "/v1/vms/$VM/restore" '{}'
t_expect_problem 400 "restore without a backup: 400"
t_eq "... the disks untouched" "$(vdb_file)" "$OLD_VDB"
t_http POST "/v1/vms/$VM/restore?wait=300" "{\"backup\":\"$LAST\"}"
t_expect_json .status succeeded "restore $VM from the full backup"
t_expect_json .kind restore "... an operation of kind restore"
NEW_VDB=$(vdb_file)
t_check "... vdb is a new volume" test "$NEW_VDB" != "$OLD_VDB"
t_check "... the old one is gone" test ! -e "$OLD_VDB"
t_check "... the new one stands alone (no backing file)" \
	test -z "$(qemu-img info -U --output=json "$NEW_VDB" | jq -r '."backing-filename" // empty')"
t_check "... the overwritten marker is back" has "$NEW_VDB" 1 AAAA
t_check "... the others are there" has "$NEW_VDB" 3 CCCC
t_check_not "... the later one is gone" has "$NEW_VDB" 4 DDDD
t_http GET "/v1/vms/$VM"
t_expect_json '[.disks[] | select(.dev == "vdb") | .volume] | .[0]' "$(basename "$NEW_VDB")" "... hangar's disk row names it"
t_http POST "/v1/vms/$VM/start?wait=60"
t_expect_json .status succeeded "... and the vm starts on it"
t_http POST "/v1/vms/$VM/stop?wait=60" '{"force":true}'
out=$("${CLI[@]}" backup restore "$VM" "$LAST" 2>&1)
t_eq "hangar backup restore: exit 0" "$?" 0
t_check "... vdb is a new volume again" test "$(vdb_file)" != "$NEW_VDB"
t_check "... the previous one is gone" test ! -e "$NEW_VDB"
t_eq "nothing left in backup_dir/.staging" "$(ls -A "$BK/.staging" | wc -l)" 0
t_http POST "/v1/vms/$VM/start?wait=60"
t_expect_json .status succeeded "start $VM after the restore"
t_http POST "/v1/vms/$VM/backups?wait=300" '{"mode":"incremental"}'
t_expect_json .status failed "an incremental backup after a restore fails"
t_expect_json .error.status 409 "... as a conflict"
t_match "... asking for a full one" "$(t_json .error.detail)" "take a full backup"
t_eq "... and is not listed" "$(curl -sS "$T_BASE/v1/vms/$VM/backups" | jq '[.backups[] | select(.status != "ready")] | length')" 0
backup full
t_expect_json .status succeeded "a full one after the restore works"

t_summary
