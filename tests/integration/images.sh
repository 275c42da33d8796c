#!/usr/bin/env bash
#
# images.sh - the image library through the REST API (curl) and the CLI:
# uploads of qcow2, raw, vmdk, vhd, vhdx and an OVA made from one
# small raw image of known content, listed, shown, exported in every
# format and compared with the original (cmp), deleted; an OVA of two
# disks made two images, and a VM from it (`hangar vm create --from-ova`,
# on a libvirt host of its own); then hostile and
# broken uploads (a backing file, an external data file, a vmdk extent on
# /etc/passwd, a false format claim, an 8 EiB header, a truncated qcow2,
# an empty body, a client gone after 10 MiB, the store filling up, an
# OVA whose second disk is refused or its name taken, a crash while an
# OVA's second disk converts), each refused with a 4xx problem naming the
# reason, and after each nothing left: no row, no file in image_dir or
# its .staging/.
#
# Needs no libvirt host (test:///default): images live where hangard
# runs; only the VM from an OVA starts one (t_lvhost_start).
# The image store filling up needs a tmpfs (root); without one it is
# skipped with a note.
# Usage: BUILD=build tests/integration/images.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init images nohost
T_LV_URI=test:///default
HANGARD_CONF_EXTRA='image_max_gib = 1' hangard_start || t_summary
LIB=$T_TMP/library
W=wait=60
FULL_MNT=''
trap '[ -z "$FULL_MNT" ] || umount "$FULL_MNT"; t_cleanup' EXIT

# upload FILE QUERY [CTYPE]: POST /v1/images?QUERY&wait=60 with FILE as
# the body
upload() {
	T_HTTP_CTYPE=${3:-application/octet-stream} \
		t_http POST "/v1/images?$2&$W" "@$1"
}

# staged: the files in image_dir/.staging, one per line
staged() {
	find "$LIB/.staging" -mindepth 1 -printf '%f\n' 2>/dev/null | sort
}

# library: the qcow2 files in image_dir, one per line
library() {
	find "$LIB" -mindepth 1 -maxdepth 1 -name '*.qcow2' -printf '%f\n' \
		2>/dev/null | sort
}

# names: the image names the API lists, space-separated
names() {
	t_http GET /v1/images
	t_json '[.images[].name] | join(" ")'
}

# nothing_left LABEL NAME: no row NAME, nothing staged, no other file
nothing_left() {
	local before=$LIB_BEFORE
	t_http GET "/v1/images/$2"
	t_expect_status 404 "$1: no row"
	t_wait_for 5 test -z "$(staged)"
	t_eq "$1: nothing in .staging" "$(staged)" ""
	t_eq "$1: no file in image_dir" "$(library)" "$before"
}

# refused LABEL NAME FILE FORMAT STATUS FIELD: the upload is refused with
# STATUS naming FIELD (by the request, or by its operation), nothing left
refused() {
	local label=$1 name=$2 file=$3 fmt=$4 status=$5 field=$6
	upload "$file" "name=$name&format=$fmt"
	if [ "$T_STATUS" = 200 ]; then
		t_expect_json .status failed "$label: the import failed"
		t_expect_json .error.status "$status" "$label: $status"
		t_expect_json .error.field "$field" "$label: names $field"
		printf '#   %s: %s\n' "$label" "$(t_json .error.detail)"
	else
		t_expect_problem "$status" "$label: $status"
		t_expect_json .field "$field" "$label: names $field"
	fi
	nothing_left "$label" "$name"
}

# --- images of known content
D=$T_TMP/src
mkdir -p "$D"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$D/disk.raw"
head -c $((4 * 1024 * 1024)) /dev/zero >>"$D/disk.raw"
qemu-img convert -f raw -O qcow2 "$D/disk.raw" "$D/disk.qcow2"
qemu-img convert -f raw -O vmdk "$D/disk.raw" "$D/disk.vmdk"
qemu-img convert -f raw -O vpc -o force_size=on "$D/disk.raw" "$D/disk.vhd"
qemu-img convert -f raw -O vhdx "$D/disk.raw" "$D/disk.vhdx"
SIZE=$(stat -c %s "$D/disk.raw")

# --- 1. imports, one per format, with ?wait
for f in qcow2 raw vmdk vhd vhdx; do
	sum=$(sha256sum "$D/disk.$f" | cut -d' ' -f1)
	upload "$D/disk.$f" "name=img-$f&format=$f&sha256=$sum&os=linux"
	t_expect_status 200 "import $f: 200 (finished within ?wait)"
	t_expect_json .kind image_import "import $f: an image_import operation"
	t_expect_json .status succeeded "import $f: succeeded"
	t_http GET "/v1/images/img-$f"
	t_expect_json .state ready "img-$f is ready"
	t_expect_json .source_format "$f" "img-$f: source_format $f"
	t_expect_json .virtual_size "$SIZE" "img-$f: virtual_size $SIZE"
	t_expect_json .sha256_upload "$sum" "img-$f: sha256 of the upload"
	t_expect_json .os linux "img-$f: os linux"
	file=$(ls "$LIB"/"$(t_json .operation)".qcow2 2>/dev/null)
	t_eq "img-$f: its qcow2 is in image_dir" "$(sha256sum <"$file" | cut -d' ' -f1)" "$(t_json .sha256)"
done
t_eq "the list holds all five" "$(names)" "img-qcow2 img-raw img-vhd img-vhdx img-vmdk"
t_eq "nothing left in .staging" "$(staged)" ""

# --- 1b. an OVA of one disk: its disk is the image, its OVF the spec
# ova_make DIR HREF: DIR/vm.ova of DIR/vm.ovf (2 vCPUs, 2048 MiB, Debian,
# one SCSI disk HREF) and whatever DIR holds besides
ova_make() {
	cat >"$1/vm.ovf" <<-EOF
	<?xml version="1.0" encoding="UTF-8"?>
	<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
	<References><File ovf:id="file1" ovf:href="$2"/></References>
	<DiskSection><Info>disks</Info><Disk ovf:capacity="8" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
	<VirtualSystem ovf:id="vm"><Info>a VM</Info>
	<OperatingSystemSection ovf:id="101"><Info>os</Info><Description>Debian GNU/Linux 12</Description></OperatingSystemSection>
	<VirtualHardwareSection><Info>hw</Info>
	<Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
	<Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>2048</rasd:VirtualQuantity></Item>
	<Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
	<Item><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
	</VirtualHardwareSection>
	</VirtualSystem>
	</Envelope>
	EOF
	(cd "$1" && tar --format=ustar -cf vm.ova vm.ovf $(ls | grep -v '^vm\.o'))
}
mkdir -p "$T_TMP/ova"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$D/disk.raw" "$T_TMP/ova/disk1.vmdk"
ova_make "$T_TMP/ova" disk1.vmdk
upload "$T_TMP/ova/vm.ova" "name=img-ova&format=ova"
t_expect_json .status succeeded "import an OVA of one disk: succeeded"
t_http GET /v1/images/img-ova
t_expect_json .virtual_size "$SIZE" "img-ova: the disk's virtual_size"
t_expect_json .ova_spec.vcpus 2 "img-ova: spec vcpus from the OVF"
t_expect_json .ova_spec.memory_mib 2048 "img-ova: spec memory_mib from the OVF"
t_expect_json .ova_spec.os linux "img-ova: spec os from the OVF"
t_expect_json '.ova_spec.disks[0].bus' scsi "img-ova: spec disk bus from the OVF"
curl -sS -o "$T_TMP/out.raw" "$T_BASE/v1/images/img-ova/file?format=raw"
t_check "img-ova exported as raw equals the original" cmp "$T_TMP/out.raw" "$D/disk.raw"
t_http DELETE /v1/images/img-ova
t_expect_status 200 "img-ova deleted"

# --- 1c. an OVA of two disks: one image each, all in one import
# ova_make2 DIR: DIR/vm.ova of DIR/vm.ovf (2 vCPUs, 1024 MiB, disk1.vmdk
# on a SCSI controller, then disk2.vmdk on an IDE one) and DIR's vmdks
ova_make2() {
	cat >"$1/vm.ovf" <<-EOF
	<?xml version="1.0" encoding="UTF-8"?>
	<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
	<References><File ovf:id="file1" ovf:href="disk1.vmdk"/><File ovf:id="file2" ovf:href="disk2.vmdk"/></References>
	<DiskSection><Info>disks</Info>
	<Disk ovf:capacity="8" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
	<Disk ovf:capacity="2" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk2" ovf:fileRef="file2" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
	</DiskSection>
	<VirtualSystem ovf:id="vm"><Info>a VM</Info>
	<OperatingSystemSection ovf:id="101"><Info>os</Info><Description>Debian GNU/Linux 12</Description></OperatingSystemSection>
	<VirtualHardwareSection><Info>hw</Info>
	<Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
	<Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
	<Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
	<Item><rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceType>5</rasd:ResourceType></Item>
	<Item><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>5</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
	<Item><rasd:HostResource>ovf:/disk/vmdisk2</rasd:HostResource><rasd:InstanceID>6</rasd:InstanceID><rasd:Parent>4</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
	</VirtualHardwareSection>
	</VirtualSystem>
	</Envelope>
	EOF
	(cd "$1" && tar --format=ustar -cf vm.ova vm.ovf disk1.vmdk disk2.vmdk)
}
mkdir -p "$T_TMP/ova2"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$D/disk2.raw"
SIZE2=$(stat -c %s "$D/disk2.raw")
cp "$T_TMP/ova/disk1.vmdk" "$T_TMP/ova2/disk1.vmdk"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$D/disk2.raw" "$T_TMP/ova2/disk2.vmdk"
ova_make2 "$T_TMP/ova2"
upload "$T_TMP/ova2/vm.ova" "name=ova2&format=ova&os=linux"
t_expect_json .status succeeded "import an OVA of two disks: succeeded"
t_expect_json .progress.disks 2 "its progress counts both disks"
ova2_op=$(t_json .id)
t_eq "two images, NAME and NAME-disk2" "$(names)" "img-qcow2 img-raw img-vhd img-vhdx img-vmdk ova2 ova2-disk2"
t_http GET /v1/images/ova2
t_expect_json .state ready "ova2 is ready"
t_expect_json .virtual_size "$SIZE" "ova2: the first disk's virtual_size"
t_expect_json .ova_spec.vcpus 2 "ova2: spec vcpus 2"
t_expect_json .ova_spec.memory_mib 1024 "ova2: spec memory_mib 1024"
t_expect_json '[.ova_spec.disks[] | "\(.image):\(.bus)"] | join(" ")' \
	"ova2:scsi ova2-disk2:ide" "ova2: spec disks in order, with image and bus"
t_http GET /v1/images/ova2-disk2
t_expect_json .state ready "ova2-disk2 is ready"
t_expect_json .operation "$ova2_op" "ova2-disk2: made by the same import"
t_expect_json .virtual_size "$SIZE2" "ova2-disk2: the second disk's virtual_size"
t_expect_json .source_format ova "ova2-disk2: source_format ova"
t_expect_json .os linux "ova2-disk2: os as asked"
t_expect_json .ova_spec null "ova2-disk2: no spec of its own"
t_check "ova2-disk2: its file is <op>.d2.qcow2" test -e "$LIB/$ova2_op.d2.qcow2"
curl -sS -o "$T_TMP/out.raw" "$T_BASE/v1/images/ova2-disk2/file?format=raw"
t_check "ova2-disk2 exported as raw equals the second disk" cmp "$T_TMP/out.raw" "$D/disk2.raw"
curl -sS -o "$T_TMP/out.raw" "$T_BASE/v1/images/ova2/file?format=raw"
t_check "ova2 exported as raw equals the first disk" cmp "$T_TMP/out.raw" "$D/disk.raw"

# a VM from the OVA (hangar vm create --from-ova), on a real libvirt
# host registered for it, created stopped
cli() { "$BUILD/hangar" --url "unix:$HANGARD_SOCK" "$@"; }

# pr_image NAME: import a 1 MiB raw image of content of its own as NAME;
# its sha256 into SHA
pr_image() {
	head -c 1048576 /dev/urandom >"$D/$1.raw"
	upload "$D/$1.raw" "name=$1&format=raw"
	t_expect_json .status succeeded "import $1"
	t_http GET "/v1/images/$1"
	SHA=$(t_json .sha256)
}

# leave_copy VM IMAGE: a disk made from IMAGE added to VM and removed,
# the host's copy of IMAGE made immutable meanwhile, so that the removal's
# prune fails and leaves it (as a crash between the removal and its prune
# would): the copy is then nobody's, and still recorded
leave_copy() {
	local base
	t_http POST "/v1/vms/$1/disks?wait=60" "{\"image\":\"$2\"}"
	t_expect_json .status succeeded "$1: add a disk made from $2"
	base=$(ls "$PL" | grep "^base-$(cur_sha "$2")")
	chattr +i "$PL/$base"
	t_http DELETE "/v1/vms/$1/disks/vdb?wait=60"
	t_expect_json .status succeeded "$1: remove that disk"
	chattr -i "$PL/$base"
	t_check "the copy of $2 is left on lv" test -e "$PL/$base"
}
cur_sha() { curl -sS -m 10 "$T_BASE/v1/images/$1" | jq -r .sha256; }

# copies_on_lv: the hosts' copies of images, pruned by hand
# (POST /v1/images/prune, hangar image prune) and with an image's delete,
# on host lv, kept while a disk uses them, and while lv is down
copies_on_lv() {
	echo "# --- 1d. the copies of images on host lv"
	PL=$T_TMP/pool-lv
	pr_image pr-a
	local sha_a=$SHA out op
	pr_image pr-b
	local sha_b=$SHA
	t_http POST "/v1/vms?wait=60" "{\"name\":\"${T_PFX}pa\",\"vcpus\":1,\"memory_mib\":64,\"image\":\"pr-a\",\"host\":\"lv\"}"
	t_expect_status 201 "a VM from pr-a on lv: 201"
	t_check "lv holds a copy of pr-a" test -e "$PL/base-$sha_a.qcow2"
	out=$(cli image prune --host lv 2>&1)
	t_eq "hangar image prune --host lv: exit 0" "$?" 0
	echo "$out" | sed 's/^/#   /'
	t_match "it keeps pr-a's copy, used by the VM's disk" "$out" \
		"lv +pr-a +${sha_a:0:16} +kept +used by 1 disk"
	t_match "and says so in numbers" "$out" "removed 0, kept 1, forgotten 0, unreachable 0"
	t_check "pr-a's copy is still there" test -e "$PL/base-$sha_a.qcow2"
	t_http POST "/v1/vms/${T_PFX}pa/disks?wait=60" '{"image":"pr-b"}'
	t_expect_json .status succeeded "add a disk made from pr-b"
	t_check "lv holds a copy of pr-b" test -e "$PL/base-$sha_b.qcow2"
	t_http DELETE "/v1/vms/${T_PFX}pa/disks/vdb?wait=60"
	t_expect_json .status succeeded "remove that disk"
	t_check_not "its removal took pr-b's copy along" test -e "$PL/base-$sha_b.qcow2"
	if ! chattr +i "$PL/base-$sha_a.qcow2" 2>/dev/null; then
		echo "# no chattr +i in $PL: leftover copies not made, their prune not checked"
		t_http DELETE "/v1/vms/${T_PFX}pa?wait=60"
		t_expect_json .status succeeded "delete ${T_PFX}pa"
		return
	fi
	chattr -i "$PL/base-$sha_a.qcow2"
	# a copy nobody uses, pruned
	leave_copy "${T_PFX}pa" pr-b
	t_http POST "/v1/images/prune?wait=60" '{"host":"lv"}'
	t_expect_status 200 "POST /v1/images/prune {host: lv}: 200"
	t_expect_json .kind image_prune "an image_prune operation"
	t_expect_json .status succeeded "it succeeded"
	t_expect_json '[.progress.removed, .progress.kept, .progress.forgotten] | join(" ")' \
		"1 1 0" "removed 1 (pr-b), kept 1 (pr-a)"
	t_expect_json '.progress.hosts[0].removed[0].image' pr-b "removed: pr-b's"
	t_expect_json '.progress.hosts[0].kept[0] | "\(.image): \(.reason)"' \
		"pr-a: used by 1 disk" "kept: pr-a's, used by 1 disk"
	t_check_not "pr-b's copy is gone" test -e "$PL/base-$sha_b.qcow2"
	t_check "pr-a's copy is still there" test -e "$PL/base-$sha_a.qcow2"
	# a copy whose volume went behind hangar's back: forgotten
	leave_copy "${T_PFX}pa" pr-b
	rm -f "$PL/base-$sha_b.qcow2"
	t_http POST "/v1/images/prune?wait=60" '{"image":"pr-b"}'
	t_expect_json .status succeeded "prune {image: pr-b}: succeeded"
	t_expect_json '[.progress.removed, .progress.kept, .progress.forgotten] | join(" ")' \
		"0 0 1" "its row is forgotten, nothing else looked at"
	t_http POST "/v1/images/prune?wait=60" '{"image":"pr-b"}'
	t_expect_json '[.progress.removed, .progress.kept, .progress.forgotten] | join(" ")' \
		"0 0 0" "again: nothing left to do"
	# bad requests
	t_http POST /v1/images/prune '{"host":"nosuch"}'
	t_expect_problem 422 "prune {host: nosuch}: 422"
	t_expect_json .field host "... naming host"
	t_http POST /v1/images/prune '{"image":"nosuch"}'
	t_expect_problem 422 "prune {image: nosuch}: 422"
	t_expect_json .field image "... naming image"
	t_http POST /v1/images/prune '{"hosts":"lv"}'
	t_expect_problem 400 "prune {hosts: ...}: 400"
	# an image deleted while lv is down: its copy stays until lv is back
	leave_copy "${T_PFX}pa" pr-b
	lvhost_down "${T_PFX}lv"
	lv_state() { [ "$(curl -sS -m 5 "$T_BASE/v1/hosts/lv" | jq -r .state)" = "$1" ]; }
	t_check "hangard sees lv unreachable" t_wait_for 60 lv_state unreachable
	t_http DELETE /v1/images/pr-b
	t_expect_status 200 "DELETE pr-b (no disk uses it) while lv is down: 200"
	op=$(t_json .prune_operation)
	t_match "... and it starts a prune of its copies" "$op" '^[0-9a-f-]{36}$'
	t_http POST /v1/images/prune '{"host":"lv","image":"pr-a"}'
	t_http GET "/v1/operations/$(t_json .id)?wait=30"
	t_expect_json '[.status, .error.status] | join(" ")' "failed 503" \
		"a prune of lv alone while it is down: failed 503"
	t_http GET "/v1/operations/$op?wait=8"
	t_expect_json '[.kind, .status, .progress.unreachable] | join(" ")' \
		"image_prune running 1" "the delete's prune waits for lv (running, lv unreachable)"
	t_check "pr-b's copy is still on lv's disk" test -e "$PL/base-$sha_b.qcow2"
	if lvhost_up "${T_PFX}lv"; then
		t_http GET "/v1/operations/$op?wait=120"
		t_expect_json '[.status, .progress.removed] | join(" ")' "succeeded 1" \
			"once lv is back, the delete's prune removes the copy"
		t_check_not "pr-b's copy is gone from lv" test -e "$PL/base-$sha_b.qcow2"
	else
		t_fail "bring lv back up" "see above"
	fi
	t_http DELETE "/v1/vms/${T_PFX}pa?wait=60"
	t_expect_json .status succeeded "delete ${T_PFX}pa"
	t_check_not "pr-a's copy went with the VM" test -e "$PL/base-$sha_a.qcow2"
	# a full copy of pr-a being made (lv's libvirtd frozen meanwhile):
	# pr-a is not deleted from under it
	local lvpid op_c
	lvpid=$(cat "$(lvhost_dir "${T_PFX}lv")/libvirtd.pid")
	kill -STOP "$lvpid"
	t_http POST /v1/vms "{\"name\":\"${T_PFX}pf\",\"vcpus\":1,\"memory_mib\":64,\"image\":\"pr-a\",\"clone\":\"full\",\"host\":\"lv\"}"
	t_expect_status 201 "a full copy of pr-a on lv (its libvirtd frozen): 201"
	op_c=$(t_json .operation)
	t_http DELETE /v1/images/pr-a
	t_expect_problem 409 "DELETE pr-a while the create copies it: 409"
	t_match "... naming the create" "$(t_json .detail)" "$op_c"
	kill -CONT "$lvpid"
	t_http GET "/v1/operations/$op_c?wait=60"
	t_expect_json .status succeeded "the create, thawed, succeeds"
	t_http DELETE "/v1/vms/${T_PFX}pf?wait=60"
	t_expect_json .status succeeded "delete ${T_PFX}pf"
	t_http DELETE /v1/images/pr-a
	t_expect_json .prune_operation null "DELETE pr-a, of which no host has a copy: no prune"
}
if t_lvhost_start "${T_PFX}lv"; then
	mkdir -p "$T_TMP/pool-lv"
	t_http POST /v1/hosts "{\"name\":\"lv\",\"uri\":\"$LVHOST_URI\",\"pool_path\":\"$T_TMP/pool-lv\"}"
	t_expect_status 201 "register libvirt host lv"
	out=$(cli -o json vm create "${T_PFX}ova" --from-ova ova2 --host lv 2>&1)
	t_eq "hangar vm create --from-ova ova2: exit 0" "$?" 0
	t_http GET "/v1/vms/${T_PFX}ova"
	t_expect_json .state stopped "the VM is made, stopped"
	t_expect_json .vcpus 2 "the VM: 2 vCPUs from the OVF"
	t_expect_json .memory_mib 1024 "the VM: 1024 MiB from the OVF"
	t_expect_json '[.disks[] | "\(.image):\(.bus)"] | join(" ")' \
		"ova2:scsi ova2-disk2:ide" "the VM: two disks, from the two images, on SCSI and IDE"
	t_expect_json '[.disks[].dev] | join(" ")' "sda hda" "the VM: sda and hda"
	t_expect_json '.disks[1].size_gib' 1 "the VM: disk 2 of the image's size"
	t_http DELETE /v1/images/ova2-disk2
	t_expect_problem 409 "an image a VM's disk is made from is not deleted"
	out=$(cli vm create "${T_PFX}bad" --from-ova img-raw --host lv 2>&1)
	t_eq "vm create --from-ova of an image not from an OVA: exit 2" "$?" 2
	t_match "and says why" "$out" "not imported from an OVA"
	out=$(cli vm create "${T_PFX}bad" --from-ova ova2 --image img-raw 2>&1)
	t_eq "--from-ova with --image: exit 2" "$?" 2
	t_http DELETE "/v1/vms/${T_PFX}ova?wait=60"
	t_expect_json .status succeeded "the VM is deleted"
	t_eq "host lv's pool holds nothing more (disks and image copies)" \
		"$(ls -A "$T_TMP/pool-lv")" ""
	copies_on_lv
	t_http DELETE /v1/hosts/lv
	t_expect_status 200 "host lv removed"
else
	t_fail "start a libvirt host for the VM from an OVA" "see above"
fi
for n in ova2 ova2-disk2; do
	t_http DELETE "/v1/images/$n"
	t_expect_status 200 "$n deleted"
done
t_check_not "no file of ova2 is left" test -e "$LIB/$ova2_op.qcow2"
t_check_not "no file of ova2-disk2 is left" test -e "$LIB/$ova2_op.d2.qcow2"
t_eq "after the OVA of two disks: the five images" "$(names)" "img-qcow2 img-raw img-vhd img-vhdx img-vmdk"

# --- 2. exports: raw of each equals the original; each format converts back
for f in qcow2 raw vmdk vhd vhdx; do
	curl -sS -o "$T_TMP/out.raw" "$T_BASE/v1/images/img-$f/file?format=raw"
	t_check "img-$f exported as raw equals the original" cmp "$T_TMP/out.raw" "$D/disk.raw"
done
for f in qcow2 vmdk vhd vhdx; do
	q=$f
	[ "$f" = vhd ] && q=vpc
	code=$(curl -sS -o "$T_TMP/out.$f" -w '%{http_code}' "$T_BASE/v1/images/img-raw/file?format=$f")
	t_eq "export img-raw as $f: 200" "$code" 200
	rm -f "$T_TMP/back.raw"
	qemu-img convert -f "$q" -O raw "$T_TMP/out.$f" "$T_TMP/back.raw" 2>/dev/null
	t_check "img-raw as $f, converted back, equals the original" cmp "$T_TMP/back.raw" "$D/disk.raw"
done
t_http GET "/v1/images/img-raw/file?format=ova"
t_expect_problem 400 "export as ova: 400"
t_http GET "/v1/images/nope/file"
t_expect_problem 404 "export of no image: 404"
t_eq "exports leave nothing in .staging" "$(staged)" ""

# --- 2b. the same through the CLI
sum=$(sha256sum "$D/disk.vhdx" | cut -d' ' -f1)
out=$(cli image import cli-vhdx "$D/disk.vhdx" --format vhdx --sha256 "$sum" --os windows 2>&1)
t_eq "hangar image import: exit 0" "$?" 0
t_match "hangar image import prints the ready image" "$out" "state: ready"
t_match "hangar image import: os windows" "$out" "os: windows"
out=$(cli image list 2>&1)
t_match "hangar image list shows it" "$out" "cli-vhdx +ready +vhdx"
out=$(cli -o json image show cli-vhdx | jq -r .virtual_size)
t_eq "hangar image show: virtual_size" "$out" "$SIZE"
rm -f "$T_TMP/cli.raw"
cli image export cli-vhdx "$T_TMP/cli.raw" --format raw
t_eq "hangar image export: exit 0" "$?" 0
t_check "hangar image export --format raw equals the original" cmp "$T_TMP/cli.raw" "$D/disk.raw"
out=$(cli image import cli-bad "$D/disk.raw" --format qcow2 2>&1)
t_eq "hangar image import of a false claim: exit 1" "$?" 1
t_match "and says why" "$out" "not 'qcow2' as claimed"
cli image export nope "$T_TMP/none.raw" 2>/dev/null
t_eq "hangar image export of no image: exit 1" "$?" 1
t_check_not "and leaves no file" test -e "$T_TMP/none.raw"
cli image delete cli-vhdx >/dev/null
t_eq "hangar image delete: exit 0" "$?" 0
t_eq "CLI: nothing in .staging" "$(staged)" ""

# --- 3. the request itself
LIB_BEFORE=$(library)
refused "no name" "" "$D/disk.raw" raw 400 name
refused "name with a slash" "a%2Fb" "$D/disk.raw" raw 400 name
refused "unknown format" bad1 "$D/disk.raw" zip 400 format
refused "sha256 not hex" bad2 "$D/disk.raw" "raw&sha256=xyz" 400 sha256
refused "os beos" bad3 "$D/disk.raw" "raw&os=beos" 400 os
upload "$D/disk.raw" "name=img-raw&format=raw"
t_expect_problem 409 "name taken: 409"
t_expect_json .field name "name taken: names name"
t_eq "name taken: nothing in .staging" "$(staged)" ""
t_eq "name taken: no other file in image_dir" "$(library)" "$LIB_BEFORE"
upload "$D/disk.raw" "name=bad4&format=raw" application/json
t_expect_problem 415 "Content-Type application/json: 415"
nothing_left "415" bad4
code=$(curl -sS -o "$T_TMP/p.json" -w '%{http_code}' -H 'Expect:' \
	-H 'Content-Type: application/octet-stream' \
	-H 'Content-Length: 2147483648' --data-binary @"$D/disk.raw" \
	"$T_BASE/v1/images?name=bad5&format=raw" 2>/dev/null)
t_eq "Content-Length over image_max_gib: 413" "$code" 413
nothing_left "413" bad5
refused "sha256 of other bytes" bad6 "$D/disk.raw" \
	"raw&sha256=$(printf '0%.0s' {1..64})" 422 sha256

# --- 4. hostile and broken images
H=$T_TMP/hostile
mkdir -p "$H"
qemu-img create -q -f qcow2 -F raw -b /etc/shadow -u "$H/backing.qcow2" 8M
qemu-img create -q -f qcow2 -o data_file="$H/data.raw" "$H/datafile.qcow2" 8M
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 16 FLAT "/etc/passwd" 0\n\nddb.virtualHWVersion = "4"\n' >"$H/flat.vmdk"
python3 - "$D/disk.qcow2" "$H/huge.qcow2" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[24:32] = (1 << 63).to_bytes(8, 'big')      # size: 8 EiB
open(sys.argv[2], 'wb').write(d)
PY
head -c 65536 "$D/disk.qcow2" >"$H/truncated.qcow2"
: >"$H/empty"
refused "qcow2 backed by /etc/shadow" h1 "$H/backing.qcow2" qcow2 422 file
refused "qcow2 with an external data file" h2 "$H/datafile.qcow2" qcow2 422 file
refused "vmdk extent on /etc/passwd" h3 "$H/flat.vmdk" vmdk 422 file
refused "vmdk extent on /etc/passwd, format auto" h3a "$H/flat.vmdk" auto 422 file
refused "raw claimed as qcow2" h4 "$D/disk.raw" qcow2 422 format
refused "qcow2 claimed as raw" h5 "$D/disk.qcow2" raw 422 format
refused "qcow2 claiming 8 EiB" h6 "$H/huge.qcow2" qcow2 422 file
refused "truncated qcow2" h7 "$H/truncated.qcow2" qcow2 422 file
refused "empty upload" h8 "$H/empty" raw 422 file
mkdir -p "$H/ova1" "$H/ova2"
ova_make "$H/ova1" missing.vmdk
cp "$D/disk.raw" "$H/ova2/disk1.vmdk"
ova_make "$H/ova2" disk1.vmdk
refused "OVA naming a disk it does not hold" h9 "$H/ova1/vm.ova" ova 422 file
refused "OVA whose vmdk is raw" h10 "$H/ova2/vm.ova" ova 422 file
refused "OVA claimed as vmdk" h11 "$T_TMP/ova/vm.ova" vmdk 422 format
# an OVA whose second disk is a vmdk naming /etc/passwd: neither image
mkdir -p "$H/ova3"
cp "$T_TMP/ova/disk1.vmdk" "$H/ova3/disk1.vmdk"
cp "$H/flat.vmdk" "$H/ova3/disk2.vmdk"
ova_make2 "$H/ova3"
refused "OVA whose second disk names /etc/passwd" h12 "$H/ova3/vm.ova" ova 422 file
t_http GET /v1/images/h12-disk2
t_expect_status 404 "... and no image of its second disk"
# an OVA whose second disk's name is taken: refused, the other kept
upload "$D/disk.qcow2" "name=h13-disk2&format=qcow2"
t_expect_json .status succeeded "an image h13-disk2 of its own"
LIB_BEFORE=$(library)
refused "OVA h13 whose disk 2 would be h13-disk2, taken" h13 "$T_TMP/ova2/vm.ova" ova 409 name
t_http GET /v1/images/h13-disk2
t_expect_json .source_format qcow2 "... and h13-disk2 is still the one it was"
t_http DELETE /v1/images/h13-disk2
t_expect_status 200 "h13-disk2 deleted"
LIB_BEFORE=$(library)

# --- 5. a client gone after ~10 MiB of 100 MiB
head -c $((100 * 1024 * 1024)) /dev/urandom >"$T_TMP/big.raw"
curl -sS -o /dev/null --limit-rate 10M --max-time 1 -H 'Expect:' \
	-H 'Content-Type: application/octet-stream' \
	--data-binary @"$T_TMP/big.raw" \
	"$T_BASE/v1/images?name=gone&format=raw" 2>/dev/null
nothing_left "client gone mid-upload" gone

# --- 6. Idempotency-Key: the same upload again is the first reply
key=images-$RANDOM
for i in 1 2; do
	out=$(curl -sS -D "$T_TMP/h$i" -H 'Expect:' -H "Idempotency-Key: $key" \
		-H 'Content-Type: application/octet-stream' \
		--data-binary @"$D/disk.qcow2" \
		"$T_BASE/v1/images?name=idem&format=qcow2&$W")
	id[i]=$(jq -r .id <<<"$out")
done
t_eq "Idempotency-Key: the retry gets the same operation" "${id[2]}" "${id[1]}"
t_check "Idempotency-Key: the retry is marked replayed" grep -qi '^Idempotent-Replayed: true' "$T_TMP/h2"

# --- 7. delete
t_http GET /v1/images/idem
idem_op=$(t_json .operation)
t_http DELETE /v1/images/idem
t_expect_status 200 "DELETE an image: 200"
t_http GET /v1/images/idem
t_expect_status 404 "the deleted image is gone"
t_check_not "its file is gone" test -e "$LIB/$idem_op.qcow2"
t_http DELETE /v1/images/idem
t_expect_problem 404 "DELETE it again: 404"

# frozen_import FILE QUERY NAME PGREP-ARG...: upload FILE (POST
# /v1/images?QUERY, no ?wait) and freeze the qemu-img child of hangard
# that `pgrep -P HANGARD_PID PGREP-ARG...` finds while it converts; sets
# qpid ('' when none was seen) and imp_op, the import's id
frozen_import() {
	local file=$1 query=$2 name=$3 cpid i
	shift 3
	curl -sS -o "$T_TMP/$name.json" -H 'Expect:' \
		-H 'Content-Type: application/octet-stream' \
		--data-binary @"$file" "$T_BASE/v1/images?$query" 2>/dev/null &
	cpid=$!
	qpid=''
	# frozen only if it is still running: a convert caught as it exits
	# (a zombie until hangard reaps it) freezes nothing
	for ((i = 0; i < 4000; i++)); do
		qpid=$(pgrep -P "$HANGARD_PID" "$@") || continue
		kill -STOP "$qpid" 2>/dev/null
		[[ $(ps -o stat= -p "$qpid" 2>/dev/null) == T* ]] && break
		qpid=''
	done
	wait "$cpid"
	imp_op=$(jq -r .id "$T_TMP/$name.json")
}

# crash_restart LABEL: SIGKILL hangard (and the frozen qemu-img), start
# it again; the import imp_op must have failed as interrupted
crash_restart() {
	kill -KILL "$HANGARD_PID"
	wait "$HANGARD_PID" 2>/dev/null
	kill -KILL "$qpid"
	HANGARD_PID=''
	HANGARD_CONF_EXTRA='image_max_gib = 1' hangard_start || t_summary
	t_http GET "/v1/operations/$imp_op?wait=10"
	t_expect_json .status failed "$1: the import failed"
	t_expect_json .error.type urn:hangar:problem:interrupted "... as interrupted"
}

# --- 7b. cancelling an import while qemu-img converts (frozen meanwhile)
frozen_import "$T_TMP/big.raw" "name=cancelled&format=raw" cancel -f '^qemu-img convert '
cancel_op=$imp_op
if [ -n "$qpid" ]; then
	t_http DELETE "/v1/operations/$cancel_op"
	t_expect_status 202 "cancel a running import: 202"
	t_http GET "/v1/operations/$cancel_op?wait=10"
	t_expect_json .status cancelled "the import ends cancelled"
	t_check_not "its qemu-img is gone" kill -0 "$qpid"
	nothing_left "cancelled import" cancelled
else
	printf '# skipped: cancelling a running import (qemu-img was not seen running)\n'
	t_http GET "/v1/operations/$cancel_op?wait=30"
	t_http DELETE /v1/images/cancelled
fi

# --- 8. a crash mid-upload: the next start removes the staged part
curl -sS -o /dev/null --limit-rate 5M --max-time 30 -H 'Expect:' \
	-H 'Content-Type: application/octet-stream' \
	--data-binary @"$T_TMP/big.raw" \
	"$T_BASE/v1/images?name=crash&format=raw" 2>/dev/null &
cpid=$!
t_wait_for 10 test -n "$(staged)"
t_check "an upload under way is staged" test -n "$(staged)"
kill -KILL "$HANGARD_PID"
wait "$HANGARD_PID" 2>/dev/null
wait "$cpid" 2>/dev/null
HANGARD_PID=''
HANGARD_CONF_EXTRA='image_max_gib = 1' hangard_start || t_summary
t_eq "after the crash: nothing in .staging" "$(staged)" ""
t_http GET /v1/images/crash
t_expect_status 404 "after the crash: no row"
t_eq "after the crash: the five images are still there" "$(names)" "img-qcow2 img-raw img-vhd img-vhdx img-vmdk"

# --- 8b. a crash while qemu-img converts: the import fails as interrupted
# (qemu-img is caught and frozen first, so the kill lands mid-import)
frozen_import "$T_TMP/big.raw" "name=crash2&format=raw" crash2 -f '^qemu-img convert '
t_match "an import accepted without ?wait" "$imp_op" '^[0-9a-f-]{36}$'
if [ -n "$qpid" ]; then
	crash_restart "after a crash mid-import"
	t_http GET /v1/images/crash2
	t_expect_status 404 "after a crash mid-import: no row"
	t_eq "after a crash mid-import: nothing in .staging" "$(staged)" ""
	t_check_not "after a crash mid-import: no library file" test -e "$LIB/$imp_op.qcow2"
else
	printf '# skipped: the crash mid-import (qemu-img was not seen running)\n'
	t_http GET "/v1/operations/$imp_op?wait=30"
	t_http DELETE /v1/images/crash2
fi

# --- 8c. a crash while the second disk of an OVA converts: neither image
# stays, nor the first disk's file already in image_dir
mkdir -p "$T_TMP/ova4"
cp "$T_TMP/ova/disk1.vmdk" "$T_TMP/ova4/disk1.vmdk"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$T_TMP/big.raw" "$T_TMP/ova4/disk2.vmdk"
ova_make2 "$T_TMP/ova4"
frozen_import "$T_TMP/ova4/vm.ova" "name=crash3&format=ova" crash3 -f 'd2\.qcow2'
if [ -n "$qpid" ]; then
	t_http GET /v1/images/crash3-disk2
	t_expect_json .state importing "mid-import: crash3-disk2 is importing"
	t_check "mid-import: the first disk is in image_dir" test -e "$LIB/$imp_op.qcow2"
	crash_restart "after a crash mid-OVA"
	for n in crash3 crash3-disk2; do
		t_http GET "/v1/images/$n"
		t_expect_status 404 "after a crash mid-OVA: no row $n"
	done
	t_eq "after a crash mid-OVA: nothing in .staging" "$(staged)" ""
	t_check_not "after a crash mid-OVA: no file of disk 1" test -e "$LIB/$imp_op.qcow2"
	t_check_not "after a crash mid-OVA: no file of disk 2" test -e "$LIB/$imp_op.d2.qcow2"
else
	printf '# skipped: the crash mid-OVA (qemu-img of disk 2 was not seen running)\n'
	t_http GET "/v1/operations/$imp_op?wait=30"
	t_http DELETE /v1/images/crash3
	t_http DELETE /v1/images/crash3-disk2
fi

# --- 9. the store fills up during an upload, then has room again
LIB_BEFORE=$(library)
if mount -t tmpfs -o size=32m hangar-images "$LIB" 2>/dev/null; then
	FULL_MNT=$LIB
	LIB_BEFORE=''
	upload "$T_TMP/big.raw" "name=full&format=raw"
	t_expect_problem 507 "upload into a full store: 507"
	t_expect_json .retryable true "507 is retryable"
	nothing_left "store full" full
	upload "$D/disk.qcow2" "name=after-full&format=qcow2"
	t_expect_json .status succeeded "a small import after the store was full works"
	t_http DELETE /v1/images/after-full
	t_expect_status 200 "and it can be deleted"
	umount "$LIB" && FULL_MNT=''
else
	printf '# skipped: the store filling up (cannot mount a tmpfs)\n'
fi

# --- the end: exactly the five images' files
t_eq "at the end: the list" "$(names)" "img-qcow2 img-raw img-vhd img-vhdx img-vmdk"
t_eq "at the end: five qcow2 files in image_dir" "$(library | wc -l)" 5
t_eq "at the end: nothing in .staging" "$(staged)" ""

hangard_stop
t_summary
