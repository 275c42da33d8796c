#!/bin/bash
# build-tiny.sh - build (once) the tiny stand-in guest: Debian's
# busybox-static and Debian 12's cloud kernel, booting from a small disk
# into an initramfs in a few seconds, even under TCG.  For plumbing tests
# (disk formats, console bytes, DHCP), not for cloud-init/SSH/agent tests.
#
# Usage: tests/guest/build-tiny.sh          (as root)
#   Prints the image's path as the last line on stdout (progress goes to
#   stderr); exits non-zero, with nothing cached, if the build fails.
#   The image is ${HANGAR_GUEST_CACHE:-/var/cache/hangar-tests/guest}/KEY/
#   tiny.qcow2, KEY a hash of this file and lib.sh (see lib.sh).  About
#   10 s; needs the Debian archive and the packages of `scripts/deps guest`.
#   Environment: as build-debian.sh.
#
# What the guest does on ttyS0 (kernel command line console=ttyS0,115200n8):
#   the kernel's messages, then the fixed line
#       hangar-tiny-guest: up, kernel <release>
#   then "hangar tiny guest" (/etc/issue) and the prompt "tiny login: ".
#   root logs in without a password.  On tty1 (the first virtual
#   terminal, which the PS/2 keyboard types into, with or without a
#   display) a root shell, no login: keys sent with virDomainSendKey run
#   commands there (console.sh types `echo MARK >/dev/ttyS0`).  It loads
#   the virtio modules (pci, blk, net, console) and button/evdev, runs
#   busybox acpid (the ACPI power button powers it off) and udhcpc on
#   every ethN there is, in the background.  Nothing is written to its
#   disk.
# The image: 64 MiB virtual, compressed qcow2 (zstd), MBR with one
#   bootable FAT16 partition "HANGARTINY": vmlinuz, initrd.img, syslinux
#   for BIOS and /EFI/BOOT/BOOTX64.EFI (syslinux.efi) for UEFI; by UEFI it
#   needs 256 MiB of memory (syslinux.efi cannot place the kernel in 128).
set -eu

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/guest/lib.sh
. "$HERE/lib.sh"

TOTAL_MIB=64
MODULES="virtio_pci virtio_blk virtio_net virtio_console button evdev"

# _modules EXT KVER DEST: copy MODULES and what they need from the
# extracted tree EXT into DEST (the initramfs tree) and write
# DEST/etc/modules.order, dependencies first (modules.dep lists a module's
# dependencies in reverse load order: virtio_ring before virtio).
_modules() {
	local ext=$1 kver=$2 dest=$3 m line path d i
	local -a order=() arr
	local mdir=$ext/lib/modules/$kver
	"$ext/bin/busybox" depmod -b "$ext" "$kver"
	_visit() {
		# arr and i are its own: a recursive call must not change the
		# caller's list (virtio_pci's and virtio_net's dependencies
		# were lost that way: neither loaded)
		local p=$1 x i
		local -a arr
		for x in "${order[@]}"; do [ "$x" = "$p" ] && return 0; done
		line=$(grep -m1 "^$p:" "$mdir/modules.dep") ||
			gl_die "module $p not in modules.dep"
		read -r -a arr <<<"${line#*:}"
		for ((i = ${#arr[@]} - 1; i >= 0; i--)); do _visit "${arr[i]}"; done
		order+=("$p")
	}
	for m in $MODULES; do
		path=$(grep -m1 -E "(^|/)$m\.ko:" "$mdir/modules.dep") ||
			gl_die "module $m not found"
		_visit "${path%%:*}"
	done
	mkdir -p "$dest/lib/modules" "$dest/etc"
	: >"$dest/etc/modules.order"
	for d in "${order[@]}"; do
		cp "$mdir/$d" "$dest/lib/modules/"
		basename "$d" >>"$dest/etc/modules.order"
	done
}

# _tree DEST: the initramfs's own files.
_tree() {
	local r=$1
	mkdir -p "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/run" "$r/root" \
		"$r/var/log" "$r/etc/init.d" "$r/etc/acpi/PWRF" \
		"$r/usr/share/udhcpc"
	mknod -m 600 "$r/dev/console" c 5 1
	mknod -m 666 "$r/dev/null" c 1 3
	ln -s bin/busybox "$r/init"
	printf '%s\n' 'root::0:0:root:/root:/bin/sh' >"$r/etc/passwd"
	printf '%s\n' 'root:x:0:' >"$r/etc/group"
	printf 'hangar tiny guest\n\n' >"$r/etc/issue"
	echo tiny >"$r/etc/hostname"
	cat >"$r/etc/inittab" <<-'EOF'
		::sysinit:/etc/init.d/rcS
		ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
		tty1::respawn:-/bin/sh
		::ctrlaltdel:/sbin/reboot
		::shutdown:/bin/sync
	EOF
	cat >"$r/etc/init.d/rcS" <<-'EOF'
		#!/bin/sh
		# rcS - the tiny guest's boot script (run once by busybox init)
		mount -t proc proc /proc
		mount -t sysfs sysfs /sys
		mount -t devtmpfs devtmpfs /dev
		mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
		while read -r m; do
			insmod "/lib/modules/$m" 2>/dev/null
		done </etc/modules.order
		# the kernel's boot messages are on the console; later ones would
		# land in the middle of the login prompt
		dmesg -n 1
		hostname -F /etc/hostname
		ip link set lo up
		acpid -l /var/log/acpid.log
		for n in /sys/class/net/eth*; do
			[ -e "$n" ] || continue
			# udhcpc sends nothing on an interface that is down
			ip link set "${n##*/}" up
			udhcpc -b -q -t 20 -i "${n##*/}" >/dev/null 2>&1 &
		done
		echo "hangar-tiny-guest: up, kernel $(uname -r)"
	EOF
	chmod 755 "$r/etc/init.d/rcS"
	printf '#!/bin/sh\npoweroff\n' >"$r/etc/acpi/PWRF/00000080"
	chmod 755 "$r/etc/acpi/PWRF/00000080"
	cat >"$r/usr/share/udhcpc/default.script" <<-'EOF'
		#!/bin/sh
		# udhcpc's hook: put the lease on the interface
		case $1 in
		deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
		bound|renew)
			ip addr flush dev "$interface"
			ip addr add "$ip/${mask:-24}" dev "$interface"
			[ -n "${router:-}" ] && ip route add default via "${router%% *}"
			: >/etc/resolv.conf
			for d in ${dns:-}; do echo "nameserver $d" >>/etc/resolv.conf; done
			;;
		esac
		exit 0
	EOF
	chmod 755 "$r/usr/share/udhcpc/default.script"
}

# _build TMP OUT: see lib.sh (gl_cached_build).
_build() {
	local t=$1 out=$2 kernel kver a bmib
	local -a mirror=()
	[ -n "${HANGAR_DEBIAN_MIRROR:-}" ] && mirror=("$HANGAR_DEBIAN_MIRROR")
	gl_log "mmdebstrap --variant=extract: the cloud kernel and busybox-static"
	mmdebstrap --quiet --variant=extract --mode=root \
		--include=linux-image-cloud-amd64,busybox-static \
		bookworm "$t/ext" "${mirror[@]}" >&2
	kernel=$(find "$t/ext/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -n 1)
	[ -f "$kernel" ] || gl_die "no kernel in the extracted /boot"
	kver=${kernel##*/vmlinuz-}
	[ -x "$t/ext/bin/busybox" ] || gl_die "no busybox in the extracted tree"
	gl_log "kernel $kver; initramfs"

	mkdir -p "$t/initrd/bin" "$t/initrd/sbin" "$t/initrd/usr/bin" "$t/initrd/usr/sbin"
	cp "$t/ext/bin/busybox" "$t/initrd/bin/busybox"
	# every applet as a link, in the directory busybox itself names
	while read -r a; do
		[ -e "$t/initrd/$a" ] || ln -s /bin/busybox "$t/initrd/$a"
	done < <("$t/ext/bin/busybox" --list-full)
	_modules "$t/ext" "$kver" "$t/initrd"
	_tree "$t/initrd"
	(cd "$t/initrd" && find . | sort | "$t/ext/bin/busybox" cpio -o -H newc) |
		gzip -9n >"$t/initrd.img"
	cp "$kernel" "$t/vmlinuz"
	rm -rf --one-file-system "$t/ext"

	cat >"$t/syslinux.cfg" <<-'EOF'
		SERIAL 0 115200
		DEFAULT tiny
		PROMPT 0
		TIMEOUT 0
		LABEL tiny
		  LINUX /vmlinuz
		  INITRD /initrd.img
		  APPEND console=ttyS0,115200n8
	EOF
	bmib=$((($(stat -c %s "$t/vmlinuz") + $(stat -c %s "$t/initrd.img")) / 1048576 + 8))
	gl_boot_fat "$t/boot.img" $((bmib * 1024)) HANGARTINY "$t/syslinux.cfg" \
		"$t/vmlinuz" "$t/initrd.img"
	gl_disk "$t/disk.raw" "$TOTAL_MIB" "$t/boot.img"
	gl_qcow2 "$t/disk.raw" "$out"
	rm -f "$t/disk.raw" "$t/boot.img"
}

[ "$(id -u)" = 0 ] || gl_die "build-tiny.sh needs root (mmdebstrap, mknod)"
gl_need_tools mmdebstrap mkfs.vfat mcopy mmd syslinux sfdisk qemu-img gzip
gl_cached_build tiny.qcow2 "${BASH_SOURCE[0]}" _build
