#!/bin/bash
# smoke.sh - prove that the test guest images boot under libvirt: builds
# (or reuses) both images, starts a private libvirtd (tests/lib/lvhost.sh)
# and boots, one after the other, each on plain libvirt (no hangard):
#   tiny   qcow2 overlay of the cached image   128 MiB
#   debian qcow2 overlay of the cached image   512 MiB
#   debian vmdk (monolithicSparse) converted from it
#   seed   qcow2 overlay + a NoCloud seed disk (vfat "CIDATA", meta-data
#          and user-data with a runcmd that writes a marker to ttyS0):
#          cloud-init names the host "seed", runs the runcmd, finishes
#   uefi   tiny (256 MiB) and debian again, booted by OVMF (<os
#          firmware='efi'>, no secure boot) through the same FAT
#          partition's syslinux.efi
# 1 vCPU, machine pc, disk on virtio, no NIC, serial pty logged to a file
# + a console pty, domain type qemu (TCG, as on CI without /dev/kvm).  For
# each it waits for the kernel's first line and the login prompt in the
# serial log, then presses the ACPI power button and waits for power-off.  It also converts the image to vpc (VHD, force_size=on) and
# checks the virtual size stays 2 GiB.  Prints TAP-like lines with the
# timings; exits 1 if anything failed.  Not part of `make check`.
#
# Usage: tests/guest/smoke.sh [tiny] [debian] [vmdk] [vpc] [seed] [uefi]
#   (as root; default: all six; vpc also boots the VHD when given
#   explicitly; uefi needs the ovmf package)
# Environment: GUEST_DOMAIN_TYPE (qemu, or kvm to compare), GUEST_BOOT_TIMEOUT
#   (s per boot, default 300), HANGAR_KEEP=1 (keep the temp dir and logs),
#   HANGAR_GUEST_CACHE (see build-debian.sh).
set -eu

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/lvhost.sh
. "$HERE/../lib/lvhost.sh"
# shellcheck source=tests/lib/guest.sh
. "$HERE/../lib/guest.sh"

DTYPE=${GUEST_DOMAIN_TYPE:-qemu}
LIMIT=${GUEST_BOOT_TIMEOUT:-300}
what=${*:-tiny debian vmdk vpc seed uefi}
FW=bios
boot_vpc=0
[ $# -gt 0 ] && case " $* " in *" vpc "*) boot_vpc=1 ;; esac
failed=0
host_up=0

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; failed=1; }
now() { echo "${EPOCHREALTIME/[.,]/}"; }
secs() { local us=$(($2 - $1)); printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10)); }

# make our own temp dir (lvhost would make one, but in $(...) it is lost)
HANGAR_TEST_TMP=$(mktemp -d /tmp/hangar-guest-smoke.XXXXXX)
export HANGAR_TEST_TMP
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ "$host_up" = 1 ] && lvhost_stop smoke >/dev/null
	if [ "${HANGAR_KEEP:-0}" = 1 ] || [ "$failed" = 1 ]; then
		echo "# kept $HANGAR_TEST_TMP"
	else
		rm -rf "$HANGAR_TEST_TMP"
	fi
}
trap cleanup EXIT

# domain_xml NAME MEM_MIB DISK FORMAT LOG [SEED_RAW]; FW=efi: boot by UEFI
domain_xml() {
	local seed='' os_fw='' fw=''
	if [ "$FW" = efi ]; then
		os_fw=" firmware='efi'"
		fw="<firmware><feature enabled='no' name='secure-boot'/></firmware>"
	fi
	[ -n "${6:-}" ] && seed="<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$6'/><target dev='vdb' bus='virtio'/><readonly/></disk>"
	cat <<-EOF
		<domain type='$DTYPE'>
		  <name>$1</name>
		  <memory unit='MiB'>$2</memory>
		  <vcpu>1</vcpu>
		  <os$os_fw><type arch='x86_64' machine='pc'>hvm</type>$fw<boot dev='hd'/></os>
		  <features><acpi/></features>
		  <on_poweroff>destroy</on_poweroff>
		  <on_reboot>restart</on_reboot>
		  <on_crash>destroy</on_crash>
		  <devices>
		    <disk type='file' device='disk'>
		      <driver name='qemu' type='$4'/>
		      <source file='$3'/>
		      <target dev='vda' bus='virtio'/>
		    </disk>
		    $seed
		    <serial type='pty'><log file='$5' append='off'/><target port='0'/></serial>
		    <console type='pty'><target type='serial' port='0'/></console>
		  </devices>
		</domain>
	EOF
}

# boot LABEL MEM_MIB DISK FORMAT LOGIN_RE [BANNER_RE [SEED_RAW]]: boot,
# wait for the kernel, the banner (if given) and the login prompt, then
# destroy it.
# Times are seconds since `virsh create` was called.
boot() {
	local label=$1 mem=$2 disk=$3 fmt=$4 login=$5 banner=${6:-} seed=${7:-} name log xml t0 t1
	name=smoke-$label
	log=$HANGAR_TEST_TMP/$label.serial.log
	xml=$HANGAR_TEST_TMP/$label.xml
	domain_xml "$name" "$mem" "$disk" "$fmt" "$log" "$seed" >"$xml"
	t0=$(now)
	if ! lvhost_virsh smoke create "$xml" >/dev/null; then
		notok "$label: virsh create"
		return 0
	fi
	t1=$(now)
	if guest_wait_console "$log" 'Linux version [0-9]' "$LIMIT" >/dev/null; then
		ok "$label: kernel on the serial console after $(secs "$t0" "$(now)") s"
	else
		notok "$label: no kernel line"
		lvhost_virsh smoke destroy "$name" >/dev/null 2>&1 || true
		return 0
	fi
	if [ -n "$banner" ]; then
		if guest_wait_console "$log" "$banner" "$LIMIT" >/dev/null; then
			ok "$label: banner after $(secs "$t0" "$(now)") s"
		else
			notok "$label: no banner /$banner/"
		fi
	fi
	if guest_wait_console "$log" "$login" "$LIMIT" >/dev/null; then
		ok "$label: login prompt after $(secs "$t0" "$(now)") s ($fmt, $mem MiB, $DTYPE; virsh create took $(secs "$t0" "$t1") s)"
		grep -a -m1 -E "$login" "$log" | tr -d '\r' | sed 's/^/#   /'
		# what tests will use (tests/lib/guest.sh) must see it too
		if tr -d '\r' <"$log" | grep -aqE -- "$GUEST_LOGIN_RE"; then
			ok "$label: GUEST_LOGIN_RE matches"
		else
			notok "$label: GUEST_LOGIN_RE /$GUEST_LOGIN_RE/ does not match"
		fi
		acpi_off "$label" "$name"
	else
		notok "$label: no login prompt /$login/"
	fi
	lvhost_virsh smoke destroy "$name" >/dev/null 2>&1 || true
}

# acpi_off LABEL NAME: press the ACPI power button and wait (at most
# 120 s) until the guest has powered off (the transient domain is gone).
acpi_off() {
	local label=$1 name=$2 t0
	t0=$(now)
	if ! lvhost_virsh smoke shutdown --mode acpi "$name" >/dev/null; then
		notok "$label: virsh shutdown --mode acpi"
		return 0
	fi
	while lvhost_virsh smoke domstate "$name" 2>/dev/null | grep -q running; do
		[ $(($(now) - t0)) -lt 120000000 ] || break
		sleep 0.5
	done
	if lvhost_virsh smoke domstate "$name" 2>/dev/null | grep -q running; then
		notok "$label: still running 120 s after the ACPI power button"
	else
		ok "$label: powered off $(secs "$t0" "$(now)") s after the ACPI power button"
	fi
}

# image KIND: guest_image with its time; sets IMG
image() {
	local t0 t1
	t0=$(now)
	if ! IMG=$(guest_image "$1"); then
		notok "image $1"
		return 1
	fi
	t1=$(now)
	ok "image $1: $IMG ($(secs "$t0" "$t1") s, $(du -m "$IMG" | cut -f1) MiB on disk)"
}

[ "$(id -u)" = 0 ] || { echo "smoke.sh: needs root" >&2; exit 1; }

# want WHAT: true when WHAT was asked for
want() { case " $what " in *" $1 "*) return 0 ;; esac; return 1; }

# overlay IMG NAME: a qcow2 overlay of the cached IMG in the temp dir
overlay() {
	qemu-img create -q -f qcow2 -b "$1" -F qcow2 "$HANGAR_TEST_TMP/$2.qcow2"
	echo "$HANGAR_TEST_TMP/$2.qcow2"
}

tiny_img="" deb_img=""
if want tiny || want uefi; then
	image tiny && tiny_img=$IMG
fi
if want debian || want vmdk || want vpc || want seed || want uefi; then
	image debian && deb_img=$IMG
fi

port=$(lvhost_free_port 64)
if ! lvhost_start smoke "$port"; then
	notok "lvhost_start"
	exit 1
fi
host_up=1

if want tiny && [ -n "$tiny_img" ]; then
	boot tiny 128 "$(overlay "$tiny_img" tiny)" qcow2 'tiny login:' "$GUEST_TINY_BANNER"
fi
if want debian && [ -n "$deb_img" ]; then
	boot debian 512 "$(overlay "$deb_img" debian)" qcow2 'debian login:'
fi
if want vmdk && [ -n "$deb_img" ]; then
	t0=$(now)
	qemu-img convert -O vmdk -o subformat=monolithicSparse \
		"$deb_img" "$HANGAR_TEST_TMP/debian.vmdk"
	ok "vmdk: converted in $(secs "$t0" "$(now)") s, $(du -m "$HANGAR_TEST_TMP/debian.vmdk" | cut -f1) MiB"
	boot vmdk 512 "$HANGAR_TEST_TMP/debian.vmdk" vmdk 'debian login:'
	rm -f "$HANGAR_TEST_TMP/debian.vmdk"
fi
if want vpc && [ -n "$deb_img" ]; then
	t0=$(now)
	qemu-img convert -O vpc -o force_size=on \
		"$deb_img" "$HANGAR_TEST_TMP/debian.vhd"
	t1=$(now)
	vsize=$(qemu-img info -f vpc --output=json "$HANGAR_TEST_TMP/debian.vhd" |
		sed -n 's/.*"virtual-size": *\([0-9]*\).*/\1/p')
	if [ "$vsize" = 2147483648 ]; then
		ok "vpc: converted in $(secs "$t0" "$t1") s, virtual size $vsize"
	else
		notok "vpc: virtual size $vsize, not 2147483648"
	fi
	if [ "$boot_vpc" = 1 ]; then
		boot vpc 512 "$HANGAR_TEST_TMP/debian.vhd" vpc 'debian login:'
	fi
	rm -f "$HANGAR_TEST_TMP/debian.vhd"
fi
if want seed && [ -n "$deb_img" ]; then
	sd=$HANGAR_TEST_TMP/seed
	mkdir -p "$sd"
	printf '%s\n' 'instance-id: smoke-seed-1' 'local-hostname: seed' >"$sd/meta-data"
	cat >"$sd/user-data" <<-'EOF'
		#cloud-config
		runcmd:
		  - [ sh, -c, 'echo "hangar-smoke: runcmd ran as $(id -un)" >/dev/ttyS0' ]
	EOF
	mkfs.vfat -C -n CIDATA "$sd/seed.raw" 1024 >/dev/null
	mcopy -i "$sd/seed.raw" "$sd/meta-data" "$sd/user-data" ::/
	boot seed 512 "$(overlay "$deb_img" seed)" qcow2 'seed login:' \
		'Cloud-init v\. [^ ]+ finished at' "$sd/seed.raw"
	if tr -d '\r' <"$HANGAR_TEST_TMP/seed.serial.log" |
		grep -aq '^hangar-smoke: runcmd ran as root'; then
		ok "seed: cloud-init ran the seed's runcmd"
	else
		notok "seed: no runcmd marker on the console"
	fi
fi
if want uefi; then
	FW=efi
	if [ -n "$tiny_img" ]; then
		# 256 MiB: with 128, syslinux.efi says "Failed to allocate
		# memory for kernel image"
		boot uefi-tiny 256 "$(overlay "$tiny_img" uefi-tiny)" qcow2 \
			'tiny login:' "$GUEST_TINY_BANNER"
	fi
	if [ -n "$deb_img" ]; then
		boot uefi-debian 512 "$(overlay "$deb_img" uefi-debian)" qcow2 'debian login:'
	fi
	FW=bios
fi
[ "$failed" = 0 ] && echo "# all passed" || echo "# FAILED"
exit "$failed"
