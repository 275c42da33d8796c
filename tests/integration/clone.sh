#!/usr/bin/env bash
#
# clone.sh - clones and templates with the tiny busybox guest, against two
# libvirt hosts in network namespaces of their own (a network on them
# must stay inside the machine):
#   - a linked clone of a stopped VM made from an image: new id, MAC,
#     address, seed (instance-id = the clone's id, its own host name); a
#     marker written into the source's disk is in the clone's; its disk
#     is an overlay over the host's copy of the image;
#   - a linked clone of that clone backs onto the image too, not onto
#     the clone's disk; a full clone stands alone (no backing file);
#   - a clone of a RUNNING source, started: both run, the source was
#     paused only while its disks were copied;
#   - a template of a stopped VM is a ready library image (no backing
#     file, hashed) with the marker, and 5 VMs made from it all boot;
#   - bad input: a taken name (409), a bad name or mode (400), an
#     unknown host (404) or VM (404), a template of a running VM (409),
#     a taken image name (409);
#   - a clone onto a host whose pool is full fails and leaves nothing
#     (no row, no domain, no volume, no DHCP host); once it has room the
#     same clone works across hosts.
# Usage: BUILD=build tests/integration/clone.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
# A dozen tiny guests, a few booted at once under TCG; tests/run gives it
# timeout: 900
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init clone nohost
SMALL=$T_TMP/small
mkdir -p "$SMALL" "$T_TMP/pool2"
# h2's pool: a tmpfs of 1 GiB (placement lets a 1 GiB VM in) with room
# for one file besides its root (nr_inodes=2): the image's copy fits, the
# clone's disk does not (ENOSPC).  Mounted before h2's libvirtd starts, so
# its mount namespace has it; it costs no memory until written.
SMALL_MNT=''
if mount -t tmpfs -o size=1g,nr_inodes=2 hangar-clone-small "$SMALL" 2>/dev/null; then
	SMALL_MNT=$SMALL
fi
cleanup_small() { [ -z "$SMALL_MNT" ] || umount "$SMALL_MNT" 2>/dev/null; SMALL_MNT=''; }
# the tmpfs goes before t_cleanup removes the temp dir (its status kept)
trap 'rc=$?; cleanup_small; (exit $rc); t_cleanup' EXIT
LV=${T_PFX}h LV2=${T_PFX}h2
if ! LVHOST_NETNS=1 t_lvhost_start "$LV" || ! LVHOST_NETNS=1 t_lvhost_start "$LV2"; then
	t_fail "start two libvirt hosts in network namespaces of their own" "see above"
	cleanup_small
	t_summary
fi
T_LV_URI=$(lvhost_uri "$LV") URI2=$(lvhost_uri "$LV2")
LOGDIR=$(lvhost_dir "$LV")/log/qemu
HANGARD_CONF_EXTRA=$'cpu_ratio = 16' hangard_start || { cleanup_small; t_summary; }
W=wait=300
POOL1=$T_TMP/images

lv1() { lvhost_virsh "$LV" "$@"; }
lv2() { lvhost_virsh "$LV2" "$@"; }
# hosts NET [HOST]: the static DHCP hosts of network NET on host 1 (or
# the lvhost HOST), "mac ip"
hosts() { t_dhcp_hosts "${2:-$LV}" "$1"; }
# marker write|read PATTERN FILE: 64 KiB of PATTERN at 60 MiB (past the
# tiny guest's boot partition, unused) of a stopped
# VM's qcow2 disk (through its backing chain)
marker() {
	local out
	out=$(qemu-io -f qcow2 -c "$1 -P $2 60M 64k" "$3" 2>&1) || return 1
	! grep -qi 'fail\|error\|pattern' <<<"$out" || { echo "$out" >&2; return 1; }
}
backing() { qemu-img info -U --output=json "$1" | jq -r '."backing-filename" // ""'; }
iso_file() { isoinfo -R -i "$1" -x "/$2"; }
vm() { curl -fsS -m 10 "$T_BASE/v1/vms/$1"; }
clone() { t_http POST "/v1/vms/$1/clone?$W" "$2"; }
serial() { echo "$LOGDIR/$1-serial.log"; }

# --- setup: a network, the tiny image, a stopped VM made from it
t_http POST /v1/networks '{"name":"lan","mode":"isolated","ipv4":{"cidr":"10.79.0.0/24"}}'
t_expect_status 201 "create isolated network lan 10.79.0.0/24: 201"
if ! TINY=$(guest_image tiny); then
	t_fail "build the tiny test guest" "see above"
	cleanup_small
	t_summary
fi
code=$(curl -sS -m 300 -o "$T_TMP/import.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/octet-stream' -T "$TINY" \
	"$T_BASE/v1/images?name=tiny&format=qcow2&$W")
t_eq "import the tiny image: 200, succeeded" \
	"$code $(jq -r .status "$T_TMP/import.json")" "200 succeeded"
S=${T_PFX}s
t_http POST "/v1/vms?$W" "$(jq -nc --arg n "$S" '{name: $n, vcpus: 1,
	memory_mib: 128, image: "tiny", host: "local", placement: {domain_type: "qemu"},
	nics: [{network: "lan"}], cloud_init: {}}')"
t_expect_status 201 "create $S from image tiny on lan with a seed: 201"
S_ID=$(t_json .id) S_MAC=$(t_json .nics[0].mac) S_IP=$(t_json .nics[0].ipv4)
S_DISK=$POOL1/$S_ID.qcow2
BASE=$(backing "$S_DISK")
t_match "$S's disk is an overlay over the host's copy of the image" "$BASE" "/base-[0-9a-f]{64}\.qcow2$"
t_check "write marker 0x5a into $S's stopped disk" marker write 0x5a "$S_DISK"

# --- 1. a linked clone of the stopped VM
C1=${T_PFX}c1
clone "$S" "{\"name\":\"$C1\"}"
t_expect_status 200 "clone $S -> $C1 (linked, stopped): 200"
t_expect_json '.kind + " " + .status' "clone succeeded" "the clone operation succeeded"
t_expect_json .params.mode linked "its mode: linked (the default)"
C1_ID=$(t_json .vm_id)
t_http GET "/v1/vms/$C1"
t_expect_json .state stopped "$C1: stopped"
t_check_not "$C1: a new id" test "$C1_ID" = "$S_ID"
C1_MAC=$(t_json .nics[0].mac) C1_IP=$(t_json .nics[0].ipv4)
t_check_not "$C1: a new MAC ($C1_MAC, $S has $S_MAC)" test "$C1_MAC" = "$S_MAC"
t_check_not "$C1: a new address ($C1_IP, $S has $S_IP)" test "$C1_IP" = "$S_IP"
t_expect_json .nics[0].network lan "$C1: on the same network"
t_expect_json '[.disks[] | .dev + ":" + .volume] | join(",")' \
	"vda:$C1_ID.qcow2,hda:$C1_ID-cidata.iso" "$C1: its own volumes"
t_eq "virsh: $C1's domain has its id as uuid" "$(lv1 domuuid "$C1")" "$C1_ID"
t_match "virsh: $C1's NIC has its MAC" "$(lv1 domiflist "$C1")" "$C1_MAC"
t_eq "virsh: lan's DHCP hosts are $S's and $C1's" "$(hosts lan)" \
	"$(printf '%s\n' "$S_MAC $S_IP" "$C1_MAC $C1_IP" | sort)"
t_eq "$C1's disk backs onto the image's copy, as $S's does" "$(backing "$POOL1/$C1_ID.qcow2")" "$BASE"
t_check "$C1's disk has the marker written into $S's" marker read 0x5a "$POOL1/$C1_ID.qcow2"
MD=$(iso_file "$POOL1/$C1_ID-cidata.iso" meta-data)
t_eq "$C1's seed: instance-id is $C1's id" "$(jq -r '."instance-id"' <<<"$MD")" "$C1_ID"
t_eq "$C1's seed: local-hostname is $C1" "$(jq -r '."local-hostname"' <<<"$MD")" "$C1"
t_match "$C1's seed: network-config matches its MAC" \
	"$(iso_file "$POOL1/$C1_ID-cidata.iso" network-config)" "$C1_MAC"
t_match "$C1's seed: vendor-data makes a new machine-id once per instance" \
	"$(iso_file "$POOL1/$C1_ID-cidata.iso" vendor-data)" "cloud-init-per, instance, hangar-machine-id"

# --- 2. a clone of a clone; a full clone
C2=${T_PFX}c2 C3=${T_PFX}c3
clone "$C1" "{\"name\":\"$C3\"}"
t_expect_json .status succeeded "clone $C1 -> $C3 (linked): succeeded"
C3_ID=$(t_json .vm_id)
t_eq "$C3 (a clone of a clone) backs onto the image too, not onto $C1's disk" \
	"$(backing "$POOL1/$C3_ID.qcow2")" "$BASE"
t_check "$C3's disk has the marker" marker read 0x5a "$POOL1/$C3_ID.qcow2"
clone "$S" "{\"name\":\"$C2\",\"mode\":\"full\"}"
t_expect_json .status succeeded "clone $S -> $C2 (full): succeeded"
C2_ID=$(t_json .vm_id)
t_eq "$C2 (full) has no backing file" "$(backing "$POOL1/$C2_ID.qcow2")" ""
t_check "$C2's disk has the marker" marker read 0x5a "$POOL1/$C2_ID.qcow2"
t_http GET "/v1/vms/$C2"
t_expect_json '.disks[0].image + " " + (.disks[0].base_volume // "" | tostring)' "tiny " \
	"$C2's disk: made from image tiny, over no base"
t_eq "no staging volume is left" "$(find "$POOL1" -name '*.part' | wc -l)" 0

# --- 3. bad input
clone "$S" "{\"name\":\"$C1\"}"
t_expect_problem 409 "clone into a taken name: 409"
t_expect_json .field name "... naming the field name"
clone "$S" '{"name":"bad name!"}'
t_expect_problem 400 "clone into a bad name: 400"
t_expect_json .field name "... naming the field name"
clone "$S" '{"name":"x1","mode":"thin"}'
t_expect_problem 400 "clone with mode thin: 400"
t_expect_json .field mode "... naming the field mode"
clone "$S" '{"name":"x2","host":"nohost"}'
t_expect_problem 404 "clone onto an unknown host: 404"
t_expect_json .field host "... naming the field host"
clone "${T_PFX}nope" '{"name":"x3"}'
t_expect_problem 404 "clone of an unknown VM: 404"
t_http POST "/v1/vms/$S/template" '{"image":"bad name"}'
t_expect_problem 400 "template into a bad image name: 400"
t_http POST "/v1/vms/$S/template" '{"image":"tiny"}'
t_expect_problem 409 "template into a taken image name: 409"
t_expect_json .field image "... naming the field image"
t_eq "no VM named x1, x2, x3 exists" \
	"$(curl -fsS "$T_BASE/v1/vms" | jq -r '[.vms[].name | select(test("^x[0-9]$"))] | length')" 0

# --- 4. a template of the stopped full clone; 5 VMs from it
t_http POST "/v1/vms/$C2/template?$W" '{"image":"tmpl"}'
t_expect_json '.kind + " " + .status' "template succeeded" "template $C2 -> image tmpl: succeeded"
t_http GET /v1/images/tmpl
t_expect_json .state ready "image tmpl: ready"
t_match "image tmpl: hashed" "$(t_json .sha256)" "^[0-9a-f]{64}$"
t_eq "no staging volume of the template is left in the pool" \
	"$(find "$POOL1" -name '*.template.qcow2' | wc -l)" 0
T1=${T_PFX}t1
t_http POST "/v1/vms?$W" "$(jq -nc --arg n "$T1" '{name: $n, memory_mib: 128,
	image: "tmpl", host: "local", placement: {domain_type: "qemu"}}')"
t_expect_status 201 "create $T1 from image tmpl: 201"
T1_ID=$(t_json .id)
t_check "$T1's disk (over tmpl) has $C2's marker" marker read 0x5a "$POOL1/$T1_ID.qcow2"
t_http POST "/v1/vms/$T1/start?wait=60"
for i in 2 3 4 5; do
	t_http POST "/v1/vms?$W" "$(jq -nc --arg n "${T_PFX}t$i" '{name: $n, memory_mib: 128,
		image: "tmpl", host: "local", start: true, placement: {domain_type: "qemu"}}')"
	t_expect_status 201 "create ${T_PFX}t$i from image tmpl, started: 201"
done
for i in 1 2 3 4 5; do
	id=$(vm "${T_PFX}t$i" | jq -r .id)
	if w=$(guest_wait_console "$(serial "$id")" "$GUEST_TINY_BANNER" 240); then
		t_ok "${T_PFX}t$i (from the template) boots: its banner after ${w}s"
	else
		t_fail "${T_PFX}t$i (from the template) boots" "no banner"
	fi
done
for i in 1 2 3 4 5; do t_http DELETE "/v1/vms/${T_PFX}t$i?$W"; done
t_expect_json .status succeeded "the 5 VMs from the template deleted"

# --- 5. a clone of the RUNNING source, started
t_http POST "/v1/vms/$S/start?wait=60"
t_expect_json .status succeeded "start $S"
w=$(guest_wait_console "$(serial "$S_ID")" "$GUEST_TINY_BANNER" 240) &&
	t_ok "$S boots (${w}s)" || t_fail "$S boots" "no banner"
t_http POST "/v1/vms/$S/template" '{"image":"tmpl2"}'
t_expect_problem 409 "template of the running $S: 409"
t_http GET /v1/images/tmpl2
t_expect_status 404 "... and no image tmpl2 was left"
C4=${T_PFX}c4
clone "$S" "{\"name\":\"$C4\",\"start\":true}"
t_expect_json .status succeeded "clone the running $S -> $C4, started: succeeded"
C4_ID=$(t_json .vm_id)
t_eq "virsh: $S runs again (it was paused for the copy)" "$(t_domstate "$S")" running
t_eq "virsh: $C4 runs" "$(t_domstate "$C4")" running
w=$(guest_wait_console "$(serial "$C4_ID")" "$GUEST_TINY_BANNER" 240) &&
	t_ok "$C4 boots from the copy of the running disk (${w}s)" || t_fail "$C4 boots" "no banner"
t_http GET "/v1/vms/$C4"
t_check_not "$C4: a MAC of its own" test "$(t_json .nics[0].mac)" = "$S_MAC"

# --- 6. onto a host whose pool is full: nothing is left; then with room
if [ -n "$SMALL_MNT" ]; then
	t_http POST /v1/hosts "{\"name\":\"h2\",\"uri\":\"$URI2\",\"pool_path\":\"$SMALL\",\"cpu_ratio\":16}"
	t_expect_status 201 "register h2 with a pool that has room for one file: 201"
	C5=${T_PFX}c5
	clone "$C1" "{\"name\":\"$C5\",\"mode\":\"full\",\"host\":\"h2\"}"
	t_expect_json .status failed "clone $C1 onto h2 (full pool): failed"
	t_match "... for want of room" "$(t_json .error.detail)" "[Nn]o space left|full"
	t_http GET "/v1/vms/$C5"
	t_expect_status 404 "... no VM row is left"
	t_eq "... no file is left in h2's pool" "$(find "$SMALL" -mindepth 1 | wc -l)" 0
	t_eq "... no domain is left on h2" "$(lv2 list --all --name | grep -c .)" 0
	t_eq "... no DHCP host on h2's lan" "$(hosts lan "$LV2")" ""
	t_http PATCH /v1/hosts/h2 "{\"pool_path\":\"$T_TMP/pool2\"}"
	t_expect_status 200 "give h2 a pool with room: 200"
	clone "$C1" "{\"name\":\"$C5\",\"host\":\"h2\"}"
	t_expect_json .status succeeded "clone $C1 onto h2 (linked), now: succeeded"
	C5_ID=$(t_json .vm_id)
	t_http GET "/v1/vms/$C5"
	t_expect_json .host h2 "$C5 is on h2"
	t_match "$C5's disk on h2 backs onto h2's own copy of the image" \
		"$(backing "$T_TMP/pool2/$C5_ID.qcow2")" "^$T_TMP/pool2/base-[0-9a-f]{64}\.qcow2$"
	t_check "$C5's disk has the marker" marker read 0x5a "$T_TMP/pool2/$C5_ID.qcow2"
	t_eq "virsh: $C5 is defined on h2" "$(lv2 domuuid "$C5")" "$C5_ID"
	t_http DELETE "/v1/vms/$C5?$W"
	t_expect_json .status succeeded "delete $C5"
else
	printf '# skipped: a full pool on h2 (cannot mount a tmpfs)\n'
fi

# --- the end: delete everything, nothing left
for v in "$C4" "$C3" "$C2" "$C1" "$S"; do
	t_http DELETE "/v1/vms/$v?$W"
	t_expect_json .status succeeded "delete $v: succeeded"
done
t_eq "virsh: no domain is left" "$(lv1 list --all --name | grep -c .)" 0
t_eq "no volume is left in the pool" \
	"$(find "$POOL1" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null)" ""
t_eq "virsh: no DHCP host is left on lan" "$(hosts lan)" ""
hangard_stop
cleanup_small
t_summary
