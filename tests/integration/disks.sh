#!/usr/bin/env bash
#
# disks.sh - a VM is a list of disks: created with several on several
# buses, one added to a running guest and to a stopped one, grown live and
# offline, removed; each step checked against what libvirt says (virsh
# domblklist, the inactive definition, qemu-img on the files), and after
# the VM is deleted no file of it is left.  The guest clock, Hyper-V and
# graphics: UTC, none and none by default, local time, the Hyper-V
# enlightenments and VNC on a unix socket for a VM made from an image
# whose os hint is windows (started, so QEMU takes them), the first two
# overridden through the CLI, graphics in the body.  Also the refusals: a shrink,
# the boot disk, an unknown disk, a disk the host has no room for, and
# malformed disk lists.
# Usage: BUILD=build tests/integration/disks.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init disks
hangard_start || t_summary

A=${T_PFX}a
W=wait=120

# blk VM [--inactive]: "dev file" lines of the domain's disks, by dev
blk() {
	t_virsh domblklist "$@" | awk '{print $1, $2}' | sort
}

# vsize FILE: the virtual size in bytes qemu-img reads from a disk file
vsize() {
	qemu-img info -U --output=json "$1" | jq -r '."virtual-size"'
}

# op_ok NAME: the last reply is a finished, succeeded operation
op_ok() {
	t_expect_status 200 "$1: 200 with the finished operation"
	t_expect_json .status succeeded "$1: succeeded"
}

# --- create with three disks on three buses, started
t_http POST "/v1/vms?$W" "{\"name\":\"$A\",\"vcpus\":1,\"memory_mib\":64,
	\"disk_gib\":1,\"disks\":[{\"size_gib\":2,\"bus\":\"scsi\"},
	{\"size_gib\":1,\"bus\":\"sata\"}],\"start\":true}"
t_expect_status 201 "create $A with three disks: 201"
t_expect_json .state running "create $A: running"
t_expect_json .disk_gib 4 "create $A: disk_gib is the sum of its disks"
t_expect_json '[.disks[].dev] | join(",")' vda,sda,sdb "create $A: disks vda, sda, sdb"
t_expect_json '[.disks[].bus] | join(",")' virtio,scsi,sata "create $A: their buses"
t_expect_json '.disks[0].boot_order' 1 "create $A: it boots from vda"
t_expect_json '.firmware + " " + .machine' "bios pc" "create $A: bios on pc"
t_expect_json '.clock + " " + (.hyperv | tostring)' "utc false" \
	"create $A (no image): clock utc, no Hyper-V"
ID=$(t_json .id)
VDA=$T_TMP/images/$ID.qcow2
SDA=$T_TMP/images/$ID-sda.qcow2
SDB=$T_TMP/images/$ID-sdb.qcow2
t_eq "virsh: the domain's disks are the VM's list" "$(blk "$A")" \
	"$(printf 'sda %s\nsdb %s\nvda %s' "$SDA" "$SDB" "$VDA")"
t_eq "sda is 2 GiB" "$(vsize "$SDA")" $((2 << 30))
t_match "virsh: sda is on a virtio-scsi controller" \
	"$(t_virsh dumpxml "$A")" "<controller type='scsi' index='0' model='virtio-scsi'"
x=$(t_virsh dumpxml "$A")
t_match "virsh: $A's clock is UTC" "$x" "<clock offset='utc'"
t_check_not "virsh: $A has no Hyper-V features" grep -q '<hyperv' <<<"$x"
log=$(t_virsh dumpxml "$A" | sed -n "s/.*<log file='\([^']*\)'.*/\1/p" | head -n 1)
t_eq "virsh: the serial console is logged" "$log" "/var/log/libvirt/qemu/$ID-serial.log"
if [ -n "$T_LV_DIR" ]; then
	t_check "the serial log exists on the host" test -e "$T_LV_DIR/log/qemu/$ID-serial.log"
fi
t_http GET "/v1/vms/$A/disks/sda"
t_expect_json .size_gib 2 "GET .../disks/sda: 2 GiB"
t_http GET "/v1/vms/$A/disks"
t_expect_json '.disks | length' 3 "GET .../disks: three"

# --- hot-plug a disk into the running guest
t_http POST "/v1/vms/$A/disks?$W" '{"size_gib":1}'
op_ok "add a disk to running $A"
t_expect_json .kind disk_add
VDB=$T_TMP/images/$ID-vdb.qcow2
t_match "virsh: the running guest has vdb" "$(blk "$A")" "vdb $VDB"
t_match "virsh: so has its definition" "$(blk "$A" --inactive)" "vdb $VDB"
t_http GET "/v1/vms/$A"
t_expect_json .disk_gib 5 "$A: disk_gib 5 with vdb"

# --- grow it live, then refusals
t_http POST "/v1/vms/$A/disks/vdb/resize?$W" '{"size_gib":3}'
op_ok "grow vdb of running $A to 3 GiB"
t_eq "the guest's vdb is 3 GiB (virsh domblkinfo)" \
	"$(t_virsh domblkinfo "$A" vdb | awk '/Capacity/ {print $2}')" $((3 << 30))
t_http GET "/v1/vms/$A/disks/vdb"
t_expect_json .size_gib 3
t_http POST "/v1/vms/$A/disks/vdb/resize" '{"size_gib":2}'
t_expect_problem 400 "shrinking vdb: 400"
t_expect_json .field size_gib "shrinking: names size_gib"
t_http POST "/v1/vms/$A/disks/vdz/resize" '{"size_gib":9}'
t_expect_problem 404 "growing an unknown disk: 404"
t_http DELETE "/v1/vms/$A/disks/vda"
t_expect_problem 409 "removing the boot disk: 409"
t_http POST "/v1/vms/$A/disks" '{"size_gib":60000}'
t_expect_problem 409 "a disk the host has no room for: 409"
t_http GET "/v1/vms/$A"
t_expect_json .disk_gib 7 "... and nothing was claimed (1+2+1+3 GiB)"
t_http POST "/v1/vms/$A/disks" '{"size_gib":1,"bus":"floppy"}'
t_expect_problem 400 "bus floppy: 400"
t_expect_json .field bus
t_http POST "/v1/vms/$A/disks" '{"bus":"virtio"}'
t_expect_problem 400 "no size: 400"
t_expect_json .field size_gib

# --- unplug it from the running guest
t_http DELETE "/v1/vms/$A/disks/vdb?$W"
op_ok "remove vdb from running $A"
t_check_not "virsh: vdb is gone from the definition" \
	bash -c "virsh -q -c '$T_LV_URI' domblklist --inactive '$A' | grep -q '^ *vdb '"
t_check_not "its file is gone" test -e "$VDB"
t_http GET "/v1/vms/$A"
t_expect_json .disk_gib 4 "$A: back to 4 GiB"

# --- stopped: add to the definition, grow the file
t_http POST "/v1/vms/$A/stop?$W" '{"force":true}'
op_ok "stop $A"
t_http POST "/v1/vms/$A/disks?$W" '{"size_gib":1,"bus":"sata"}'
op_ok "add a sata disk to stopped $A"
SDC=$T_TMP/images/$ID-sdc.qcow2
t_match "virsh: the definition has sdc" "$(blk "$A" --inactive)" "sdc $SDC"
t_http POST "/v1/vms/$A/disks/sdc/resize?$W" '{"size_gib":2}'
op_ok "grow stopped $A's sdc"
t_eq "sdc's file is 2 GiB (qemu-img)" "$(vsize "$SDC")" $((2 << 30))
# --- a snapshot holds every disk; a revert brings every disk back
t_http POST "/v1/vms/$A/snapshots?$W" '{"name":"s1"}'
t_expect_status 201 "snapshot s1 of stopped $A (four disks): 201"
for f in "$VDA" "$SDA" "$SDB" "$SDC"; do
	t_match "qemu-img: s1 is inside ${f##*/}" \
		"$(qemu-img snapshot -U -l "$f" 2>&1)" ' s1 '
done
t_check "write a mark into sdb after s1" bash -c \
	"qemu-io -f qcow2 -c 'write -P 0x7e 1M 64k' '$SDB' >/dev/null"
t_http POST "/v1/vms/$A/snapshots/s1/revert?$W"
t_expect_json .status succeeded "revert $A to s1"
t_check_not "sdb no longer holds the mark written after s1" bash -c \
	"qemu-io -r -U -f qcow2 -c 'read -P 0x7e 1M 64k' '$SDB' >/dev/null"
t_http DELETE "/v1/vms/$A/snapshots/s1?$W"
t_expect_json .status succeeded "delete snapshot s1"

t_http POST "/v1/vms/$A/start?$W"
op_ok "start $A with four disks"
t_eq "virsh: the running guest has four disks" "$(blk "$A" | wc -l)" 4

# --- UEFI on q35 (OVMF from Debian), its disk on SATA; as domain type
# qemu (TCG): this machine's nested KVM fails on firmware code
U=${T_PFX}u
t_http POST "/v1/vms?$W" "{\"name\":\"$U\",\"vcpus\":1,\"memory_mib\":128,
	\"disk_gib\":1,\"disk_bus\":\"sata\",\"firmware\":\"uefi\",
	\"machine\":\"q35\",\"start\":true,
	\"placement\":{\"domain_type\":\"qemu\"}}"
t_expect_status 201 "create $U, uefi on q35: 201"
t_expect_json .state running "$U: running"
t_expect_json '.firmware + " " + .machine + " " + .disks[0].dev' "uefi q35 sda"
x=$(t_virsh dumpxml "$U")
t_match "virsh: $U's machine is a q35" "$x" "machine='pc-q35"
t_match "virsh: $U boots OVMF" "$x" "<loader [^>]*>[^<]*OVMF"
sleep 3
t_http GET "/v1/vms/$U"
t_expect_json .state running "$U: still running a few seconds into its firmware"
t_http DELETE "/v1/vms/$U?$W"
t_expect_status 200 "delete $U"

# --- the guest clock, Hyper-V and graphics follow the image's os hint (windows),
# unless asked: a blank image (SeaBIOS finds nothing to boot, and waits),
# run as domain type qemu (TCG): this machine's nested KVM has no Hyper-V
# MSRs (QEMU aborts: "failed to set MSR 0x40000021"), TCG takes them
head -c 1048576 /dev/zero >"$T_TMP/blank.raw"
T_HTTP_CTYPE=application/octet-stream \
	t_http POST "/v1/images?name=win&format=raw&os=windows&wait=60" "@$T_TMP/blank.raw"
t_expect_json .status succeeded "import image win (os windows)"
WIN=${T_PFX}win
t_http POST "/v1/vms?$W" "{\"name\":\"$WIN\",\"memory_mib\":128,
	\"image\":\"win\",\"start\":true,\"placement\":{\"domain_type\":\"qemu\"}}"
t_expect_status 201 "create $WIN from image win, started: 201"
t_expect_json '[.state, .clock, (.hyperv | tostring), .disks[0].bus] | join(" ")' \
	"running localtime true sata" "$WIN: running; clock localtime, Hyper-V, root disk on sata"
x=$(t_virsh dumpxml "$WIN")
t_match "virsh: $WIN's clock is local time" "$x" "<clock offset='localtime'>"
t_match "virsh: $WIN has the Hyper-V reference clock" "$x" "<timer name='hypervclock' present='yes'/>"
t_match "virsh: $WIN has no HPET" "$x" "<timer name='hpet' present='no'/>"
t_match "virsh: $WIN has Hyper-V relaxed timing" "$x" "<relaxed state='on'/>"
t_match "virsh: $WIN has the Hyper-V virtual APIC" "$x" "<vapic state='on'/>"
t_match "virsh: $WIN has Hyper-V spinlocks, 8191 retries" "$x" "<spinlocks state='on' retries='8191'/>"
t_expect_json .graphics vnc "$WIN: graphics vnc (the os hint's default)"
t_match "virsh: $WIN has VNC on a unix socket" "$x" "<listen type='socket'"
sleep 2
t_eq "virsh: $WIN is still running (QEMU took them)" "$(t_domstate "$WIN")" running
# the CLI overrides both
out=$("$BUILD/hangar" --url "unix:$HANGARD_SOCK" -o json vm create "${WIN}2" \
	--image win --memory 128 --clock utc --no-hyperv 2>&1)
t_eq "hangar vm create --image win --clock utc --no-hyperv: exit 0" "$?" 0
t_eq "... makes it with clock utc, no Hyper-V" \
	"$(jq -r '.clock + " " + (.hyperv | tostring)' <<<"$out" 2>/dev/null)" "utc false"
x=$(t_virsh dumpxml "${WIN}2")
t_match "virsh: ${WIN}2's clock is UTC" "$x" "<clock offset='utc'"
t_check_not "virsh: ${WIN}2 has no Hyper-V features" grep -q '<hyperv' <<<"$x"
t_http POST "/v1/vms?$W" "{\"name\":\"${WIN}3\",\"memory_mib\":64,
	\"disk_gib\":1,\"clock\":\"localtime\",\"hyperv\":true}"
t_expect_json '.clock + " " + (.hyperv | tostring)' "localtime true" \
	"no image, clock localtime and hyperv asked: as asked"
t_match "virsh: ${WIN}3 has them" "$(t_virsh dumpxml "${WIN}3")" \
	"<clock offset='localtime'>.*<timer name='hypervclock' present='yes'/>"
for v in "$WIN" "${WIN}2" "${WIN}3"; do
	t_http DELETE "/v1/vms/$v?$W"
	t_expect_status 200 "delete $v"
done
t_http POST "/v1/vms?$W" "{\"name\":\"${WIN}4\",\"memory_mib\":64,
	\"image\":\"win\",\"graphics\":\"none\"}"
t_expect_json .graphics none "from image win, graphics none asked: none"
t_check_not "virsh: ${WIN}4 has no graphics" grep -q '<graphics' \
	<<<"$(t_virsh dumpxml "${WIN}4")"
t_http DELETE "/v1/vms/${WIN}4?$W"
t_expect_status 200 "delete ${WIN}4"
t_http DELETE /v1/images/win
t_expect_status 200 "delete image win"

# --- create refusals
bad() {
	t_http POST /v1/vms "$1"
	t_expect_problem 400 "create with $1: 400"
	t_expect_json .field "$2" "... names $2"
}
bad "{\"name\":\"${T_PFX}b\",\"disks\":{}}" disks
bad "{\"name\":\"${T_PFX}b\",\"disks\":[{\"bus\":\"virtio\"}]}" 'disks[0].size_gib'
bad "{\"name\":\"${T_PFX}b\",\"disks\":[{\"size_gib\":1,\"x\":1}]}" 'disks[0].x'
bad "{\"name\":\"${T_PFX}b\",\"disks\":[{\"size_gib\":1,\"bus\":\"usb\"}]}" 'disks[0].bus'
bad "{\"name\":\"${T_PFX}b\",\"disk_bus\":\"ide\",\"machine\":\"q35\"}" disk_bus
bad "{\"name\":\"${T_PFX}b\",\"firmware\":\"coreboot\"}" firmware
bad "{\"name\":\"${T_PFX}b\",\"machine\":\"isapc\"}" machine
bad "{\"name\":\"${T_PFX}b\",\"clock\":\"gmt\"}" clock
bad "{\"name\":\"${T_PFX}b\",\"hyperv\":\"yes\"}" hyperv
bad "{\"name\":\"${T_PFX}b\",\"disk_bus\":\"ide\",\"disks\":[{\"size_gib\":1,\"bus\":\"ide\"},{\"size_gib\":1,\"bus\":\"ide\"},{\"size_gib\":1,\"bus\":\"ide\"},{\"size_gib\":1,\"bus\":\"ide\"}]}" 'disks[3].bus'
t_http GET "/v1/vms/${T_PFX}b"
t_expect_problem 404 "no vm was made by the refused creates"

# --- delete: every disk goes
t_http DELETE "/v1/vms/$A?$W"
t_expect_status 200 "delete $A"
t_eq "no file of $A is left in the pool" \
	"$(find "$T_TMP/images" -name "$ID*" | wc -l)" 0
t_check_not "virsh: no domain $A" t_virsh dominfo "$A"

t_summary
