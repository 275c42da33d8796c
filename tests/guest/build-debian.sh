#!/bin/bash
# build-debian.sh - build (once) a bootable Debian 12 (bookworm) cloud image
# from Debian packages only, for the integration tests.
#
# Usage: tests/guest/build-debian.sh        (as root)
#   Prints the image's path as the last line on stdout (progress goes to
#   stderr); exits non-zero, with nothing cached, if the build fails.
#   The image is ${HANGAR_GUEST_CACHE:-/var/cache/hangar-tests/guest}/KEY/
#   debian12.qcow2, KEY a hash of this file and lib.sh: it is built only
#   when the recipe changed, and two runs asking at once build it once
#   (see lib.sh).  1 to 3 minutes; needs the Debian archive (apt's
#   mirror) and the packages of `scripts/deps guest`.
#
# Environment: HANGAR_GUEST_CACHE, HANGAR_GUEST_REBUILD=1 (build anyway),
#   HANGAR_GUEST_LOCK_TIMEOUT, HANGAR_DEBIAN_MIRROR (an mmdebstrap MIRROR
#   argument; default: deb.debian.org with bookworm-updates and -security).
#
# The image: 2 GiB virtual, compressed qcow2 (zstd), MBR with
#   1. FAT16 "HANGARBOOT", bootable: vmlinuz, initrd.img, syslinux for
#      BIOS and /EFI/BOOT/BOOTX64.EFI (syslinux.efi) for UEFI
#   2. ext4 "hangar-root": mmdebstrap minbase + the packages below
# Kernel command line: root=LABEL=hangar-root ro console=ttyS0,115200n8.
# cloud-init reads only NoCloud (a seed ISO/vfat labelled cidata) and
# otherwise falls back to None; `locale: false` (minbase has no locales).
# No user can log in until cloud-init made one: root is locked, no
# password.  SSH host keys are made on first boot (cloud-init, or ssh's
# ExecStartPre), so clones do not share them.  Serial getty on ttyS0.
set -eu

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/guest/lib.sh
. "$HERE/lib.sh"

ROOT_LABEL=hangar-root
TOTAL_MIB=2048
FSTAB="LABEL=$ROOT_LABEL / ext4 defaults,errors=remount-ro 0 1"
PACKAGES="linux-image-cloud-amd64,systemd-sysv,udev,dbus,kmod,e2fsprogs,\
iproute2,ifupdown,isc-dhcp-client,netbase,openssh-server,qemu-guest-agent,\
cloud-init,cloud-guest-utils,sudo,iputils-ping"

# Before the kernel is installed (--essential-hook) the fstab is written and
# initramfs-tools is told the root's type: its fsck hook ignores the
# fstab's type for / and probes the device, which does not exist while the
# initrd is made; without fsck in the initrd the root is not checked there.

# _customize ROOT: the image's own settings, written straight into the tree.
_customize() {
	local r=$1
	printf '%s\n' "$FSTAB" >"$r/etc/fstab"
	echo debian >"$r/etc/hostname"
	printf '%s\n' '127.0.0.1 localhost' '127.0.1.1 debian' \
		'::1 localhost ip6-localhost ip6-loopback' >"$r/etc/hosts"
	mkdir -p "$r/etc/cloud/cloud.cfg.d"
	cat >"$r/etc/cloud/cloud.cfg.d/90-hangar.cfg" <<-'EOF'
		# hangar test image (tests/guest/build-debian.sh)
		datasource_list: [ NoCloud, None ]
		# minbase has no locales: the locale module would fail
		locale: false
	EOF
	# ifupdown: loopback here, the rest from cloud-init (interfaces.d)
	cat >"$r/etc/network/interfaces" <<-'EOF'
		source /etc/network/interfaces.d/*
		auto lo
		iface lo inet loopback
	EOF
	mkdir -p "$r/etc/systemd/system/getty.target.wants"
	ln -sf /lib/systemd/system/serial-getty@.service \
		"$r/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
	# every clone makes its own host keys and machine-id on first boot
	rm -f "$r"/etc/ssh/ssh_host_*
	mkdir -p "$r/etc/systemd/system/ssh.service.d"
	printf '%s\n' '[Service]' 'ExecStartPre=/usr/bin/ssh-keygen -A' \
		>"$r/etc/systemd/system/ssh.service.d/hangar-hostkeys.conf"
	: >"$r/etc/machine-id"
	# mmdebstrap copied the build machine's; DHCP writes the guest's own
	rm -f "$r/etc/resolv.conf"
	: >"$r/etc/resolv.conf"
	rm -f "$r/var/lib/dbus/machine-id"
	rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin \
		"$r"/var/log/*.log "$r"/tmp/* "$r"/var/tmp/*
}

# _build TMP OUT: see lib.sh (gl_cached_build).
_build() {
	local t=$1 out=$2 kernel initrd bmib rmib hook_fstype
	local -a mirror=()
	[ -n "${HANGAR_DEBIAN_MIRROR:-}" ] && mirror=("$HANGAR_DEBIAN_MIRROR")
	gl_log "mmdebstrap bookworm minbase (about 2 min)"
	# shellcheck disable=SC2016 # the hook's $1 (the tree) is not ours
	hook_fstype='mkdir -p "$1/etc/initramfs-tools/conf.d" &&
		echo FSTYPE=ext4 >"$1/etc/initramfs-tools/conf.d/hangar-fstype"'
	mmdebstrap --quiet --variant=minbase --mode=root \
		--include="$PACKAGES" \
		--essential-hook="printf '%s\\n' '$FSTAB' >\"\$1/etc/fstab\"" \
		--essential-hook="$hook_fstype" \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		bookworm "$t/root" "${mirror[@]}" >&2
	_customize "$t/root"
	# the one kernel the tree has (not by the /vmlinuz link: linux-base
	# makes it only when kernel-img.conf asks)
	kernel=$(find "$t/root/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -n 1)
	initrd=$t/root/boot/initrd.img-${kernel##*/vmlinuz-}
	if [ ! -f "$kernel" ] || [ ! -f "$initrd" ]; then
		gl_die "no kernel or initrd in the tree's /boot"
	fi
	gl_log "kernel $(basename "$kernel"), initrd $(du -m "$initrd" | cut -f1) MiB"

	cat >"$t/syslinux.cfg" <<-EOF
		SERIAL 0 115200
		DEFAULT debian
		PROMPT 0
		TIMEOUT 0
		LABEL debian
		  LINUX /vmlinuz
		  INITRD /initrd.img
		  APPEND root=LABEL=$ROOT_LABEL ro console=ttyS0,115200n8
	EOF
	cp "$kernel" "$t/vmlinuz"
	cp "$initrd" "$t/initrd.img"
	# room for the files, a second kernel and initrd (an upgrade), FAT
	bmib=$((($(stat -c %s "$t/vmlinuz") + $(stat -c %s "$t/initrd.img")) * 2 / 1048576 + 16))
	gl_boot_fat "$t/boot.img" $((bmib * 1024)) HANGARBOOT "$t/syslinux.cfg" \
		"$t/vmlinuz" "$t/initrd.img"

	rmib=$((TOTAL_MIB - 1 - bmib))
	gl_log "ext4 root of $rmib MiB from the tree (mkfs.ext4 -d)"
	mkfs.ext4 -q -F -L "$ROOT_LABEL" -d "$t/root" "$t/root.img" "${rmib}M" >&2
	rm -rf --one-file-system "$t/root"
	gl_disk "$t/disk.raw" "$TOTAL_MIB" "$t/boot.img" "$t/root.img"
	rm -f "$t/root.img" "$t/boot.img"
	gl_log "compressed qcow2 (zstd)"
	gl_qcow2 "$t/disk.raw" "$out"
	rm -f "$t/disk.raw"
}

[ "$(id -u)" = 0 ] || gl_die "build-debian.sh needs root (mmdebstrap --mode=root)"
gl_need_tools mmdebstrap mkfs.ext4 mkfs.vfat mcopy mmd syslinux sfdisk qemu-img
gl_cached_build debian12.qcow2 "${BASH_SOURCE[0]}" _build
