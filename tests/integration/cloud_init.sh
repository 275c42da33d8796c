#!/usr/bin/env bash
#
# cloud_init.sh - a VM's NoCloud seed, made by hangard (POST /v1/vms
# "cloud_init"), checked against libvirt, the pool and the seed's own
# bytes (isoinfo), on two real libvirt hosts:
#   1. a VM with cloud_init (machine pc): a CD-ROM on IDE in the API and
#      in `virsh dumpxml`, its volume <uuid>-cidata.iso in the pool, an
#      ISO 9660 volume labelled cidata with meta-data (instance-id = the
#      VM's id, local-hostname, public-keys), user-data exactly as sent,
#      vendor-data; on q35 the CD-ROM is on virtio-scsi, and snapshots
#      (with memory) and their revert work with it; with no hostname
#      the VM's name is the host name; `hangar vm create --ssh-key
#      --hostname --user-data` sends the same; a delete removes the seed;
#   2. bad input (user_data over 64 KiB, the whole over 64 KiB, bytes that
#      are not UTF-8, a hostname with ';', '<' or a newline, a key with a
#      newline, an unknown field): 400 naming the field, and no row, no
#      domain, no volume, no file;
#   3. the seed moves with the VM: a live migration with its disks copied
#      (libvirt does not copy a read-only CD-ROM: hangard puts the seed on
#      the destination first) and a cold one back; the seed on each side
#      as the VM is, the same bytes;
#   4. a create killed (SIGKILL) while its seed is being put into the pool
#      (libvirtd let run 2 ms at a time until the file is there, the
#      create still running): after a restart nothing is left;
#   5. the real Debian 12 guest (tests/lib/guest.sh) made from an image
#      with cloud_init {hostname ci-one, a key made by ssh-keygen, a
#      user_data runcmd writing a marker and the default user's
#      authorized_keys to the serial console}: its console shows
#      "ci-one login:", the marker and the key.  One Debian boot.
# Usage: BUILD=build tests/integration/cloud_init.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
# One Debian boot under TCG, among libvirt-only checks; tests/run gives it
# timeout: 1200
# lane: guest
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init ci nohost
W=wait=120
LVNAME1=${T_PFX}h1 LVNAME2=${T_PFX}h2
if ! t_lvhost_start "$LVNAME1"; then
	t_fail "start libvirt host h1" "see above"
	t_summary
fi
URI1=$LVHOST_URI LV1_DIR=$LVHOST_DIR
if ! t_lvhost_start "$LVNAME2"; then
	t_fail "start libvirt host h2" "see above"
	t_summary
fi
URI2=$LVHOST_URI
T_LV_URI=$URI1
POOL1=$T_TMP/images POOL2=$T_TMP/images-h2
LV_PID=$(_lvhost_pidfile "$LV1_DIR/libvirtd.pid")
LV_FROZEN=0
# whatever happens, libvirtd runs again before t_cleanup talks to it
# shellcheck disable=SC2154 # _rc is set in the trap itself
trap '_rc=$?; [ "$LV_FROZEN" = 0 ] || kill -CONT "$LV_PID" 2>/dev/null; (exit $_rc); t_cleanup' EXIT
HANGARD_CONF_EXTRA='cpu_ratio = 16'
hangard_start || t_summary
mkdir -p "$POOL2"
t_http POST /v1/hosts "{\"name\":\"h2\",\"uri\":\"$URI2\",\"pool_path\":\"$POOL2\",\"cpu_ratio\":16}"
t_expect_status 201 "register h2 (a pool directory of its own): 201"

# ------------------------------------------------------------------ helpers

lv1() { lvhost_virsh "$LVNAME1" "$@"; }
lv2() { lvhost_virsh "$LVNAME2" "$@"; }

# files DIR: the files in a pool directory, sorted, space-separated
files() {
	find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort | tr '\n' ' '
}

# doms: the domains of this test on both hosts
doms() {
	{ lv1 list --all --name; lv2 list --all --name; } 2>/dev/null | grep -c -- "^$T_PFX"
}

# cd_of XML DEV: "bus file" of the CD-ROM DEV in a domain's XML
cd_of() {
	xmllint --xpath "concat(//disk[@device='cdrom'][target/@dev='$2']/target/@bus, ' ', //disk[@device='cdrom'][target/@dev='$2']/source/@file, ' ', count(//disk[@device='cdrom'][target/@dev='$2']/readonly))" - <<<"$1" 2>/dev/null
}

# iso_file ISO NAME: the file NAME of the seed (Rock Ridge names)
iso_file() {
	isoinfo -R -i "$1" -x "/$2" 2>/dev/null
}

KEY_DIR=$T_TMP/keys
mkdir -p "$KEY_DIR"
ssh-keygen -q -t ed25519 -N '' -C "hangar-ci@$T_PFX" -f "$KEY_DIR/id" || t_fail "ssh-keygen" "failed"
KEY=$(cat "$KEY_DIR/id.pub")
USER_DATA=$'#cloud-config\nruncmd:\n  - [sh, -c, "echo hangar-ci-marker > /dev/ttyS0"]\n'

# body NAME JQ: a create body for a 64 MiB VM with an empty 1 GiB disk on
# host local
body() {
	jq -nc --arg n "$1" --arg k "$KEY" --arg u "$USER_DATA" \
		"{name: \$n, vcpus: 1, memory_mib: 64, disk_gib: 1, host: \"local\"} | ${2:-.}"
}

# ============================================================= 1. the seed
echo "# --- 1. the seed of a VM on machine pc"
A=${T_PFX}a
t_http POST "/v1/vms?$W" "$(body "$A" '.cloud_init = {hostname: "ci-a", ssh_authorized_keys: [$k], user_data: $u, vendor_data: "#cloud-config\n{}\n"}')"
t_expect_status 201 "create $A with cloud_init: 201"
A_ID=$(t_json .id)
t_expect_json '[.disks[] | select(.device == "cdrom") | [.dev, .bus, .format, .volume, .size_gib] | join(" ")] | join(",")' \
	"hda ide raw $A_ID-cidata.iso 0" "$A: the API shows a CD-ROM hda on IDE, raw, its volume <uuid>-cidata.iso, 0 GiB"
t_expect_json .disk_gib 1 "$A: the seed claims no room (disk_gib 1)"
SEED_A=$POOL1/$A_ID-cidata.iso
t_eq "virsh dumpxml: hda is a read-only CD-ROM on IDE, the seed's file" \
	"$(cd_of "$(lv1 dumpxml "$A")" hda)" "ide $SEED_A 1"
t_match "virsh vol-list: the pool has $A_ID-cidata.iso" "$(lv1 vol-list "$T_POOL" 2>&1)" "$A_ID-cidata.iso"
t_match "isoinfo: an ISO 9660 volume labelled cidata" "$(isoinfo -d -i "$SEED_A" 2>&1)" $'Volume id: cidata\n'
t_match "isoinfo: with Rock Ridge" "$(isoinfo -d -i "$SEED_A" 2>&1)" 'Rock Ridge signatures'
t_eq "isoinfo: its files (Rock Ridge names)" "$(isoinfo -R -f -i "$SEED_A" | sort | tr '\n' ' ')" \
	"/meta-data /user-data /vendor-data "
MD=$(iso_file "$SEED_A" meta-data)
t_eq "meta-data: instance-id is the VM's id" "$(jq -r '."instance-id"' <<<"$MD")" "$A_ID"
t_eq "meta-data: local-hostname ci-a" "$(jq -r '."local-hostname"' <<<"$MD")" ci-a
t_eq "meta-data: public-keys, the key as sent" "$(jq -r '."public-keys"[0]' <<<"$MD")" "$KEY"
t_eq "user-data: the user's, byte for byte" "$(iso_file "$SEED_A" user-data | od -c)" "$(printf '%s' "$USER_DATA" | od -c)"
t_eq "vendor-data: as sent" "$(iso_file "$SEED_A" vendor-data)" $'#cloud-config\n{}'
t_http POST "/v1/vms/$A/disks/hda/resize" '{"size_gib":2}'
t_expect_problem 409 "growing the seed's CD-ROM: 409"

echo "# --- q35, no hostname, the CLI"
Q=${T_PFX}q
t_http POST "/v1/vms?$W" "$(body "$Q" '.machine = "q35" | .cloud_init = {}')"
t_expect_status 201 "create $Q (q35, cloud_init {}): 201"
Q_ID=$(t_json .id)
t_expect_json '[.disks[] | select(.device == "cdrom") | .dev + " " + .bus] | join(",")' "sda scsi" \
	"$Q: the CD-ROM is sda on scsi (q35: no IDE, and the cloud kernel has no AHCI)"
QX=$(lv1 dumpxml "$Q")
t_eq "virsh dumpxml: sda a read-only CD-ROM on scsi" "$(cd_of "$QX" sda)" "scsi $POOL1/$Q_ID-cidata.iso 1"
t_eq "virsh dumpxml: the SCSI controller is virtio-scsi" \
	"$(xmllint --xpath "string(//controller[@type='scsi']/@model)" - <<<"$QX")" virtio-scsi
QMD=$(iso_file "$POOL1/$Q_ID-cidata.iso" meta-data)
t_eq "no hostname given: the VM's name is the host name" "$(jq -r '."local-hostname"' <<<"$QMD")" "$Q"
t_eq "no key given: no public-keys" "$(jq -r '."public-keys" // "none"' <<<"$QMD")" none
t_eq "no user_data given: an empty cloud-config" "$(iso_file "$POOL1/$Q_ID-cidata.iso" user-data)" $'#cloud-config\n{}'

# a seed does not stop snapshots: a read-only CD-ROM is left out of them
t_http POST "/v1/vms/$Q/start?$W"
t_expect_json .status succeeded "start $Q"
t_http POST "/v1/vms/$Q/snapshots?$W" '{"name":"m1","memory":true}'
t_expect_json .status ready "$Q: a snapshot with memory, the seed attached: ready"
t_http POST "/v1/vms/$Q/snapshots/m1/revert?$W"
t_expect_json .status succeeded "$Q: revert to it: succeeded"

C=${T_PFX}cli
printf '# a comment line\n\n%s\n' "$KEY" >"$KEY_DIR/keys"
printf '%s' "$USER_DATA" >"$T_TMP/user-data"
out=$("$BUILD/hangar" --url "unix:$HANGARD_SOCK" vm create "$C" --memory 64 --disk 1 --host local \
	--ssh-key "$KEY_DIR/keys" --hostname ci-cli --user-data "$T_TMP/user-data" 2>&1)
t_eq "hangar vm create --ssh-key --hostname --user-data: exit 0" "$?" 0
t_http GET "/v1/vms/$C"
C_ID=$(t_json .id)
CMD=$(iso_file "$POOL1/$C_ID-cidata.iso" meta-data)
t_eq "CLI: host name and the one key line of the file (comment and blank skipped)" \
	"$(jq -r '[."local-hostname", (."public-keys" | length), ."public-keys"[0]] | join("|")' <<<"$CMD")" "ci-cli|1|$KEY"
t_eq "CLI: user-data as in the file" "$(iso_file "$POOL1/$C_ID-cidata.iso" user-data | od -c)" "$(od -c <"$T_TMP/user-data")"
out=$("$BUILD/hangar" --url "unix:$HANGARD_SOCK" vm create "${T_PFX}cli2" --ssh-key "$T_TMP/nosuch" 2>&1)
t_eq "CLI: --ssh-key of a missing file: exit 2" "$?" 2
for v in "$Q" "$C"; do
	t_http DELETE "/v1/vms/$v?$W"
	t_expect_json .status succeeded "delete $v"
done
t_eq "the seeds of the deleted VMs are gone from the pool" "$(files "$POOL1")" "$A_ID-cidata.iso $A_ID.qcow2 "

# ============================================================ 2. bad input
echo "# --- 2. bad input"
BEFORE_ROWS=$(curl -sS "$T_BASE/v1/vms" | jq '.vms | length')
BEFORE_FILES=$(files "$POOL1")
BEFORE_DOMS=$(doms)
# bad FIELD NAME BODY: 400 naming FIELD, nothing left anywhere
bad() {
	t_http POST "/v1/vms?$W" "$3"
	t_expect_problem 400 "$2: 400"
	t_expect_json .field "$1" "... naming $1"
}
big=$(head -c $((64 * 1024 + 1)) /dev/zero | tr '\0' x)
half=$(head -c $((40 * 1024)) /dev/zero | tr '\0' x)
bad cloud_init.user_data "user_data of 64 KiB + 1" "$(body "${T_PFX}b1" ".cloud_init = {user_data: \"$big\"}")"
bad cloud_init.vendor_data "user_data and vendor_data of 40 KiB each (80 KiB in all)" \
	"$(body "${T_PFX}b2" ".cloud_init = {user_data: \"$half\", vendor_data: \"$half\"}")"
bad cloud_init.hostname "a hostname with ';'" "$(body "${T_PFX}b3" '.cloud_init = {hostname: "a;reboot"}')"
bad cloud_init.hostname "a hostname with '<'" "$(body "${T_PFX}b4" '.cloud_init = {hostname: "a<b>"}')"
bad cloud_init.hostname "a hostname with a newline" "$(body "${T_PFX}b5" '.cloud_init = {hostname: "a\nb"}')"
bad 'cloud_init.ssh_authorized_keys[1]' "a key with a newline (the second)" \
	"$(body "${T_PFX}b6" '.cloud_init = {ssh_authorized_keys: [$k, ($k + "\nssh-rsa AAAA")]}')"
bad 'cloud_init.ssh_authorized_keys[0]' "a key of no known type" \
	"$(body "${T_PFX}b7" '.cloud_init = {ssh_authorized_keys: ["ssh-foo AAAA"]}')"
bad cloud_init.shell "an unknown field in cloud_init" "$(body "${T_PFX}b8" '.cloud_init = {shell: "x"}')"
bad cloud_init.network_config "network_config not an object" "$(body "${T_PFX}b9" '.cloud_init = {network_config: "x"}')"
# bytes that are not UTF-8 inside user_data (not JSON's fault: jansson
# refuses them, the server names where they are)
printf '{"name":"%sb10","memory_mib":64,"disk_gib":1,"cloud_init":{"hostname":"x","user_data":"#cloud-config\\n\xff\xfe"}}' \
	"$T_PFX" >"$T_TMP/bad-utf8.json"
bad cloud_init.user_data "user_data with bytes that are not UTF-8" "@$T_TMP/bad-utf8.json"
t_http POST /v1/placements "$(body "${T_PFX}b11" '.cloud_init = {hostname: "a;b"}')"
t_expect_problem 400 "the dry run (POST /v1/placements) checks cloud_init too: 400"
t_eq "no VM row was made" "$(curl -sS "$T_BASE/v1/vms" | jq '.vms | length')" "$BEFORE_ROWS"
t_eq "no domain reached libvirt" "$(doms)" "$BEFORE_DOMS"
t_eq "no file was left in the pool" "$(files "$POOL1")" "$BEFORE_FILES"
t_http GET "/v1/operations?vm=${T_PFX}b1"
t_expect_json '.operations | length' 0 "no operation was recorded"

# ============================================================ 3. migration
echo "# --- 3. the seed moves with the VM"
t_http POST "/v1/vms/$A/start?$W"
t_expect_json .status succeeded "start $A (no OS: SeaBIOS waits)"
SUM_A=$(sha256sum <"$SEED_A")
t_http POST "/v1/vms/$A/migrate?$W" '{"host":"h2"}'
t_expect_json '[.status, .params.mode, .params.copy_storage] | join(" ")' "succeeded live true" \
	"live migration of $A to h2 with its disks copied: succeeded"
t_eq "on h2 the CD-ROM is the seed in h2's pool" "$(cd_of "$(lv2 dumpxml "$A")" hda)" \
	"ide $POOL2/$A_ID-cidata.iso 1"
t_eq "h2's pool holds the VM's disk and its seed" "$(files "$POOL2")" "$A_ID-cidata.iso $A_ID.qcow2 "
t_eq "the seed on h2 is the same bytes" "$(sha256sum <"$POOL2/$A_ID-cidata.iso")" "$SUM_A"
t_eq "h1's pool no longer has them" "$(files "$POOL1")" ""
t_eq "$A runs on h2" "$(lv2 domstate "$A" 2>&1 | head -n1)" running
t_http POST "/v1/vms/$A/stop?$W" '{"force":true}'
t_expect_json .status succeeded "stop $A"
t_http POST "/v1/vms/$A/migrate?$W" '{"host":"local"}'
t_expect_json '[.status, .params.mode, .params.copy_storage] | join(" ")' "succeeded cold true" \
	"cold migration of $A back to local with its disks copied: succeeded"
t_eq "on local the CD-ROM is the seed in local's pool" "$(cd_of "$(lv1 dumpxml "$A")" hda)" \
	"ide $SEED_A 1"
t_eq "local's pool holds the disk and the seed again" "$(files "$POOL1")" "$A_ID-cidata.iso $A_ID.qcow2 "
t_eq "the seed is the same bytes" "$(sha256sum <"$SEED_A")" "$SUM_A"
t_eq "h2's pool is empty" "$(files "$POOL2")" ""
t_http DELETE "/v1/vms/$A?$W"
t_expect_json .status succeeded "delete $A"
t_eq "its seed went with it" "$(files "$POOL1")" ""

# ======================================================== 4. crash recovery
echo "# --- 4. a create killed while its seed is put into the pool"
# libvirtd is frozen before the create and let run 2 ms at a time until
# the seed's file is in the pool, then hangard is SIGKILLed while the
# create is still running (inside the seed's upload or the define that
# follows it): after a restart the create is rolled back and nothing is
# left.  A slice may take the create past that point on a loaded
# machine: then the VM is deleted and it is tried again (5 times at most).
K=${T_PFX}k
mkfifo "$T_TMP/tick" && exec 9<>"$T_TMP/tick"
# tick: wait 2 ms without a child process (nobody writes the fifo)
tick() { read -r -t 0.002 -u 9 _ || :; }
# catch: 0 with libvirtd stopped, the seed in the pool and the create
# running; K_ID, K_OP, K_STEP set
catch() {
	local st
	kill -STOP "$LV_PID" && LV_FROZEN=1
	t_http POST /v1/vms "$(body "$K" '.cloud_init = {hostname: "ci-k"}')"
	K_ID=$(t_json .id) K_OP=$(t_json .operation)
	for _ in $(seq 1 20000); do
		[ -e "$POOL1/$K_ID-cidata.iso" ] && break
		kill -CONT "$LV_PID"
		tick
		kill -STOP "$LV_PID"
	done
	st=$(curl -fsS -m 5 "$T_BASE/v1/operations/$K_OP" | jq -r '.status + "|" + .step')
	K_STEP=${st#*|}
	[ -e "$POOL1/$K_ID-cidata.iso" ] && [ "${st%%|*}" = running ] && return 0
	kill -CONT "$LV_PID" && LV_FROZEN=0
	echo "# $K: the create was at '$st' when caught: again"
	curl -fsS -m 120 -o /dev/null "$T_BASE/v1/operations/$K_OP?wait=60"
	curl -fsS -m 120 -o /dev/null -X DELETE "$T_BASE/v1/vms/$K?wait=60"
	return 1
}
caught=0
for try in 1 2 3 4 5; do
	if catch; then caught=$try; break; fi
done
if [ "$caught" != 0 ]; then
	t_ok "$K: libvirtd stopped with the seed in the pool, the create running (try $caught, step '$K_STEP')"
	kill -KILL "$HANGARD_PID"
	wait "$HANGARD_PID" 2>/dev/null
	HANGARD_PID=''
	kill -CONT "$LV_PID" && LV_FROZEN=0
	hangard_start || t_summary
	op_done() { [ "$(curl -fsS -m 5 "$T_BASE/v1/operations/$K_OP" | jq -r .status)" = failed ]; }
	t_check "after a restart the create is settled as failed" t_wait_for 60 op_done
	t_http GET "/v1/operations/$K_OP"
	t_expect_json .error.type urn:hangar:problem:interrupted "... interrupted, rolled back"
	t_http GET "/v1/vms/$K"
	t_expect_status 404 "$K: no VM row"
	t_eq "$K: no domain" "$(lv1 domstate "$K" >/dev/null 2>&1 && echo present || echo absent)" absent
	t_eq "$K: no disk and no seed in the pool" "$(files "$POOL1")" ""
	t_eq "$K: libvirt's pool lists neither" "$(lv1 vol-list "$T_POOL" 2>&1 | grep -c -- "$K_ID")" 0
else
	t_fail "$K: stop libvirtd with the seed in the pool while the create runs" "missed 5 times"
fi
exec 9<&-

# ======================================================= 5. a real Debian
echo "# --- 5. the Debian 12 guest reads the seed"
if ! DEB=$(guest_image debian); then
	t_fail "build the Debian test guest from Debian packages" "see above"
	t_summary
fi
code=$(curl -sS -m 600 -o "$T_TMP/import.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/octet-stream' -T "$DEB" \
	"$T_BASE/v1/images?name=deb&format=qcow2&wait=300")
t_eq "import the Debian image: 200, succeeded" "$code $(jq -r .status "$T_TMP/import.json")" "200 succeeded"
D=${T_PFX}deb
DEB_UD=$'#cloud-config\nruncmd:\n  - [sh, -c, "echo hangar-ci-marker-$(hostname) > /dev/ttyS0; cat /home/*/.ssh/authorized_keys > /dev/ttyS0"]\n'
t_http POST "/v1/vms?wait=300" "$(jq -nc --arg n "$D" --arg k "$KEY" --arg u "$DEB_UD" \
	'{name: $n, vcpus: 1, memory_mib: 512, image: "deb", start: true, host: "local",
	  placement: {domain_type: "qemu"},
	  cloud_init: {hostname: "ci-one", ssh_authorized_keys: [$k], user_data: $u}}')"
t_expect_json .state running "create $D from the Debian image with cloud_init, started: running"
t_expect_json .provisioning pending "... its provisioning is pending: hangard follows cloud-init in it"
D_ID=$(t_json .id)
LOG=$LV1_DIR/log/qemu/$D_ID-serial.log
t_eq "virsh dumpxml: its seed is a CD-ROM on IDE" "$(cd_of "$(lv1 dumpxml "$D")" hda)" \
	"ide $POOL1/$D_ID-cidata.iso 1"
s=$(guest_wait_console "$LOG" '^ci-one login: ' 420) &&
	t_ok "the console says 'ci-one login:' (${s} s): cloud-init set the host name" ||
	t_fail "the console says 'ci-one login:'" "see above"
s=$(guest_wait_console "$LOG" 'hangar-ci-marker-ci-one' 300) &&
	t_ok "the runcmd of the user's user-data wrote its marker (${s} s)" ||
	t_fail "the runcmd marker" "see above"
s=$(guest_wait_console "$LOG" "hangar-ci@$T_PFX" 60) &&
	t_ok "the default user's authorized_keys holds the key (${s} s)" ||
	t_fail "the key in authorized_keys" "see above"
# provisioning, read by hangard through the guest agent (no SSH)
t_check "GET $D: provisioning reaches done within 240 s" t_wait_for 240 \
	bash -c "curl -fsS -m 5 '$T_BASE/v1/vms/$D' | jq -e '.provisioning == \"done\"'"
t_check "a vm.provisioned event says done" bash -c \
	"curl -fsS -m 5 '$T_BASE/v1/events?since=0&follow=false&type=vm.provisioned&vm=$D' | grep -q '\"provisioning\":\"done\"'"
t_check "hangard logged the way there (running, then done)" \
	grep -q "provision: vm '$D': cloud-init is done" "$T_TMP/hangard.log"
t_http DELETE "/v1/vms/$D?$W"
t_expect_json .status succeeded "delete $D"
t_eq "its disk and its seed are gone (the image's copy too)" "$(files "$POOL1")" ""
t_summary
