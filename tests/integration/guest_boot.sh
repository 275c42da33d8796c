#!/usr/bin/env bash
#
# guest_boot.sh - from an image file to a booting guest: real guest
# operating systems, built from Debian packages (tests/guest/), imported
# through the API as qcow2, raw, VMware vmdk, Hyper-V vhd and vhdx, and
# each booted as a VM made from its image, its serial console read until
# the kernel and systemd reach a login prompt.  Also: the image copied to
# the host once however many VMs are made from it at once, linked clones
# sharing that copy, a full clone standing alone, an image in use not
# deletable, and nothing of a VM, its clones or the host's copy left
# after the deletes.  The last Debian guest's qemu-guest-agent is asked
# through GET /guest, and its graceful stop goes through the agent.
# Usage: BUILD=build tests/integration/guest_boot.sh
# Five Debian boots under TCG, two at a time: ~5 min on a quiet 2-core
# machine, much more on a busy one; tests/run gives it
# timeout: 1200
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init boot
hangard_start || t_summary
# The guests run as domain type qemu (TCG), as on a machine without KVM:
# where /dev/kvm is a nested KVM (this kind of machine), its emulation of
# these guests' boot code fails ("KVM internal error ... emulation
# failure"), and TCG is what CI machines without KVM have anyway.
TCG='"placement":{"domain_type":"qemu"}'

W=wait=300
LOGDIR=${T_LV_DIR:+$T_LV_DIR/log/qemu}

# import NAME FORMAT FILE: POST the file to /v1/images (streamed from
# disk by curl -T: --data-binary would read 2 GiB into memory) and wait
import() {
	local code
	code=$(curl -sS -m 600 -o "$T_TMP/import.json" -w '%{http_code}' \
		-X POST -H 'Content-Type: application/octet-stream' -T "$3" \
		"$T_BASE/v1/images?name=$1&format=$2&$W")
	T_BODY=$(cat "$T_TMP/import.json" 2>/dev/null)
	t_eq "import ${3##*/} as $1 ($2) with curl: 200" "$code" 200
	t_expect_json .status succeeded "import $1: succeeded"
}

# import_cli NAME FORMAT FILE: the same with `hangar image import`
import_cli() {
	local out
	out=$("$BUILD/hangar" --url "unix:$HANGARD_SOCK" image import "$1" \
		"$3" --format "$2" 2>&1)
	t_eq "hangar image import ${3##*/} as $1 ($2): exit 0" "$?" 0
	t_match "... prints the ready image" "$out" "state: ready"
}

# console NAME: the file the VM's serial console is logged to
console() {
	t_http GET "/v1/vms/$1"
	echo "$LOGDIR/$(t_json .id)-serial.log"
}

if ! TINY=$(guest_image tiny) || ! DEB=$(guest_image debian); then
	t_fail "build the test guests from Debian packages" "see above"
	t_summary
fi
t_ok "test guests: $TINY, $DEB"

# --- plumbing with the tiny guest: one image, three VMs at once
import tiny qcow2 "$TINY"
t_http GET /v1/images/tiny
t_expect_json .state ready "image tiny: ready"
SHA=$(t_json .sha256)
pids=()
for i in 1 2 3; do
	t_http POST /v1/vms "{\"name\":\"${T_PFX}t$i\",\"vcpus\":1,\"memory_mib\":128,\"image\":\"tiny\",\"start\":true,$TCG}" &
	pids+=($!)
done
wait "${pids[@]}"   # not hangard, which runs in the background too
# is_running VM: the API shows it running
is_running() {
	[ "$(curl -sS -m 5 "$T_BASE/v1/vms/$1" | jq -r .state)" = running ]
}
for i in 1 2 3; do
	t_check "${T_PFX}t$i from image tiny: running within 120 s" \
		t_wait_for 120 is_running "${T_PFX}t$i"
	t_http GET "/v1/vms/${T_PFX}t$i"
	t_expect_json '.disks[0].image' tiny "${T_PFX}t$i: its root disk is made from tiny"
	t_expect_json .domain_type qemu "${T_PFX}t$i: runs as asked, domain type qemu"
	t_eq "virsh: ${T_PFX}t$i is a qemu (TCG) domain" \
		"$(t_virsh dumpxml "${T_PFX}t$i" | sed -n "1s/.*type='\([a-z]*\)'.*/\1/p")" qemu
done
t_eq "the host got one copy of the image, however many VMs asked" \
	"$(find "$T_TMP/images" -name "base-$SHA.qcow2" | wc -l)" 1
t_http GET "/v1/vms/${T_PFX}t1"
ID1=$(t_json .id)
t_eq "t1's disk is an overlay on the host's copy (qemu-img)" \
	"$(qemu-img info -U --output=json "$T_TMP/images/$ID1.qcow2" | jq -r '."backing-filename"')" \
	"$T_TMP/images/base-$SHA.qcow2"
if [ -n "$LOGDIR" ]; then
	for i in 1 2 3; do
		s=$(guest_wait_console "$(console "${T_PFX}t$i")" "$GUEST_LOGIN_RE" 120) &&
			t_ok "${T_PFX}t$i: its console reaches a login prompt (${s} s)" ||
			t_fail "${T_PFX}t$i: login prompt" "see above"
	done
fi
t_http POST "/v1/vms/${T_PFX}t1/disks?$W" '{"image":"tiny"}'
t_expect_json .status succeeded "hot-plug a second disk made from tiny into running t1"
t_http GET "/v1/vms/${T_PFX}t1/disks/vdb"
t_expect_json '[.image, .size_gib] | join(" ")' "tiny 1" "t1's vdb: from tiny, the image's size"
t_eq "t1's vdb is an overlay on the same copy (qemu-img)" \
	"$(qemu-img info -U --output=json "$T_TMP/images/$ID1-vdb.qcow2" | jq -r '."backing-filename"')" \
	"$T_TMP/images/base-$SHA.qcow2"
t_match "virsh: the running t1 has vdb" "$(t_virsh domblklist "${T_PFX}t1")" "vdb "
t_http DELETE /v1/images/tiny
t_expect_problem 409 "deleting an image that backs disks: 409"
t_http POST "/v1/vms?$W" "{\"name\":\"${T_PFX}full\",\"memory_mib\":128,\"image\":\"tiny\",\"clone\":\"full\",\"disk_gib\":1}"
t_expect_status 201 "a full clone of tiny: 201"
FID=$(t_json .id)
t_eq "the full clone stands alone (no backing file)" \
	"$(qemu-img info -U --output=json "$T_TMP/images/$FID.qcow2" | jq -r '."backing-filename" // "none"')" none
t_eq "... and is 1 GiB" \
	"$(qemu-img info -U --output=json "$T_TMP/images/$FID.qcow2" | jq -r '."virtual-size"')" $((1 << 30))
t_http POST /v1/vms "{\"name\":\"${T_PFX}small\",\"image\":\"tiny\",\"disk_gib\":0}"
t_expect_problem 400 "disk_gib 0 from an image: 400"
t_http POST /v1/vms "{\"name\":\"${T_PFX}none\",\"image\":\"nosuch\"}"
t_expect_problem 422 "an image not in the library: 422"
t_expect_json .field image
# all four at once: whichever commits last removes the host's copy
pids=()
for v in t1 t2 t3 full; do
	curl -sS -m 300 -o "$T_TMP/del-$v.json" -X DELETE \
		"$T_BASE/v1/vms/${T_PFX}$v?$W" &
	pids+=($!)
done
wait "${pids[@]}"
for v in t1 t2 t3 full; do
	t_eq "delete ${T_PFX}$v (four at once): succeeded" \
		"$(jq -r .status "$T_TMP/del-$v.json" 2>/dev/null)" succeeded
done
t_eq "the host's copy went with the last disks that used it, deleted at once" \
	"$(find "$T_TMP/images" -name 'base-*' | wc -l)" 0
# a full copy needs no copy of the image afterwards
t_http POST "/v1/vms?$W" "{\"name\":\"${T_PFX}full2\",\"memory_mib\":128,\"image\":\"tiny\",\"clone\":\"full\"}"
t_expect_status 201 "another full clone of tiny: 201"
t_eq "a full clone leaves no copy of the image on the host" \
	"$(find "$T_TMP/images" -name 'base-*' | wc -l)" 0
t_http DELETE "/v1/vms/${T_PFX}full2?$W"
t_expect_json .status succeeded "delete ${T_PFX}full2"
t_http DELETE /v1/images/tiny
t_expect_status 200 "delete image tiny once unused: 200"

# --- Debian 12 from five formats, two booted at a time
qemu-img convert -O raw "$DEB" "$T_TMP/deb.raw"
qemu-img convert -O vmdk -o subformat=monolithicSparse "$DEB" "$T_TMP/deb.vmdk"
qemu-img convert -O vpc -o subformat=dynamic,force_size=on "$DEB" "$T_TMP/deb.vhd"
qemu-img convert -O vhdx "$DEB" "$T_TMP/deb.vhdx"
t_ok "the Debian image converted by qemu-img to raw, vmdk, vhd and vhdx"
import deb-qcow2 qcow2 "$DEB"
import_cli deb-raw raw "$T_TMP/deb.raw"
import deb-vmdk vmdk "$T_TMP/deb.vmdk"
import_cli deb-vhd vhd "$T_TMP/deb.vhd"
import deb-vhdx vhdx "$T_TMP/deb.vhdx"
rm -f "$T_TMP"/deb.*
boot_pair() {
	local f pids=()
	for f in "$@"; do
		t_http POST "/v1/vms?$W" "{\"name\":\"${T_PFX}$f\",\"vcpus\":1,\"memory_mib\":512,\"image\":\"deb-$f\",\"start\":true,$TCG}"
		t_expect_json .state running "a VM from the $f import: running"
	done
	[ -n "$LOGDIR" ] || return 0
	for f in "$@"; do
		s=$(guest_wait_console "$(console "${T_PFX}$f")" "$GUEST_LOGIN_RE" 240) &&
			t_ok "${T_PFX}$f (from $f): the kernel and systemd reach a login prompt (${s} s)" ||
			t_fail "${T_PFX}$f (from $f): login prompt" "see above"
		t_match "${T_PFX}$f: the console shows the Linux kernel" \
			"$(tr -d '\r' <"$(console "${T_PFX}$f")" | grep -a -m1 'Linux version')" 'Linux version'
	done
	[ "$1" != qcow2 ] || agent_checks "${T_PFX}qcow2"
	for f in "$@"; do
		t_http DELETE "/v1/vms/${T_PFX}$f?$W"
		t_expect_json .status succeeded "delete ${T_PFX}$f"
	done
}

# agent_checks NAME: the booted Debian guest's qemu-guest-agent, through
# GET /guest, and a graceful stop that goes through it
agent_checks() {
	local vm=$1 ms t0
	t_check "$vm: its guest agent answers within 120 s" t_wait_for 120 \
		bash -c "curl -fsS -m 10 '$T_BASE/v1/vms/$vm/guest' | jq -e '.agent == \"connected\"'"
	t_http GET "/v1/vms/$vm/guest"
	t_expect_status 200 "GET /guest of $vm: 200"
	t_expect_json .os.id debian "GET /guest: the agent says Debian"
	t_expect_json .os.version_id 12 "GET /guest: ... 12"
	t_match "GET /guest: the kernel release" "$(t_json .os.kernel_release)" 'cloud-amd64'
	t_match "GET /guest: a hostname" "$(t_json .hostname)" '.'
	t_expect_json '[.filesystems[] | select(.mountpoint == "/") | .total_bytes > 0] | length' 1 \
		"GET /guest: the root filesystem with its size"
	t_expect_json '[.interfaces[] | select(.name == "lo") | .addresses[] | select(.address == "127.0.0.1")] | length' 1 \
		"GET /guest: the loopback interface and its address"
	# a snapshot without memory of the running guest: frozen, then thawed
	t_http POST "/v1/vms/$vm/snapshots?wait=120" '{"name":"quiet","memory":false}'
	t_expect_status 201 "snapshot of $vm without memory: 201"
	t_expect_json .consistency quiesced "... its filesystems were frozen by the agent: quiesced"
	t_check "hangard froze the guest's filesystems" \
		grep -q "froze [1-9][0-9]* filesystem(s) of vm '$vm'" "$T_TMP/hangard.log"
	t_match "... and thawed them (the agent says so)" \
		"$(t_virsh qemu-agent-command "$vm" '{"execute":"guest-fsfreeze-status"}' 2>&1)" '"thawed"'
	t_http POST "/v1/vms/$vm/snapshots?wait=120" '{"name":"whole","memory":true}'
	t_expect_json .consistency memory "a snapshot with memory is not frozen: memory"
	t_match "... the guest is thawed after it too" \
		"$(t_virsh qemu-agent-command "$vm" '{"execute":"guest-fsfreeze-status"}' 2>&1)" '"thawed"'
	t0=$(t_ns_now)
	t_http POST "/v1/vms/$vm/stop?wait=120" '{"timeout_s":110}'
	ms=$(($(t_ns_now) - t0))
	t_expect_json .status succeeded "graceful stop of $vm: succeeded"
	t_eq "graceful stop of $vm: shut off (virsh)" "$(t_domstate "$vm")" "shut off"
	t_check "graceful stop of $vm: the guest shut itself down (${ms} ms < 100 s, not the power-off at 110 s)" \
		test "$ms" -lt 100000
	t_check_not "graceful stop of $vm: not powered off" \
		grep -q "vm '$vm' ignored the" "$T_TMP/hangard.log"
	t_check "graceful stop of $vm: asked through the guest agent" \
		grep -q "guest agent shutdown, power-off after 110 s" "$T_TMP/hangard.log"
}
boot_pair vmdk vhd
boot_pair vhdx raw
boot_pair qcow2
t_eq "no disk or copy is left in the pool" \
	"$(find "$T_TMP/images" -mindepth 1 | wc -l)" 0
t_summary
