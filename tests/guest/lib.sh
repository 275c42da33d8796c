# shellcheck shell=bash
#
# lib.sh - the part the guest image builders (build-debian.sh,
# build-tiny.sh) share: the image cache and the boot disk layout.
# Sourced by them, not by tests (tests use tests/lib/guest.sh).
#
# The cache:  ${HANGAR_GUEST_CACHE:-/var/cache/hangar-tests/guest}/KEY/NAME
# where KEY hashes the recipe: the builder script and this file.  A changed
# recipe gets a new KEY, so an image is rebuilt exactly when its recipe
# changes (not when Debian publishes new packages).  Old keys are left for
# whoever cleans the cache.
#
# Functions:
#   gl_cached_build NAME RECIPE_FILE BUILD_FN
#       If KEY/NAME exists, print its path.  Otherwise take KEY/.lock
#       (flock, waits at most HANGAR_GUEST_LOCK_TIMEOUT s, default 1800, for
#       another run that builds it), look again, and else run
#       BUILD_FN TMPDIR OUT (under the caller's set -e) in a fresh KEY/.build.XXXXXX (same filesystem,
#       removed afterwards, also on failure or a signal) and rename OUT to
#       KEY/NAME when it succeeded.  Prints the path as its last stdout line;
#       everything else goes to stderr.  HANGAR_GUEST_REBUILD=1 rebuilds
#       even if the image is there.
#   gl_boot_fat IMG KIB LABEL SYSLINUX_CFG FILE...
#       A FAT16 file system image IMG of KIB KiB (mkfs.vfat -C) holding
#       FILE... (mcopy, by their base names) and syslinux.cfg, with
#       syslinux's boot sector and ldlinux.sys/.c32 installed (syslinux
#       --install works on the image file itself, through mtools) for
#       BIOS, and syslinux.efi as /EFI/BOOT/BOOTX64.EFI with ldlinux.e64
#       and the same syslinux.cfg for UEFI (OVMF finds the removable-media
#       path on any FAT partition, an ESP type is not needed).
#   gl_disk OUT_RAW TOTAL_MIB BOOT_IMG [ROOT_IMG]
#       A raw MBR disk of TOTAL_MIB MiB: partition 1 (bootable, FAT16, type
#       6) from 1 MiB holds BOOT_IMG, partition 2 (Linux) ROOT_IMG right
#       after it to the end of the disk; syslinux's mbr.bin in the first
#       440 bytes.  No loop device, mount or chroot.
#   gl_qcow2 RAW OUT
#       RAW as a compressed qcow2 (compression_type=zstd).
#   gl_log MSG...     "guest: MSG" on stderr with the seconds since start
#   gl_die MSG...     gl_log MSG and exit 1

GL_T0=${EPOCHREALTIME/[.,]/}

gl_log() {
	local now=${EPOCHREALTIME/[.,]/}
	printf 'guest: [%3d s] %s\n' $(((now - GL_T0) / 1000000)) "$*" >&2
}

gl_die() {
	gl_log "ERROR: $*"
	exit 1
}

# _gl_key FILE...: the first 16 hex digits of a sha256 over the files.
_gl_key() {
	cat -- "$@" | sha256sum | cut -c1-16
}

gl_cached_build() {
	local name=$1 recipe=$2 fn=$3 key base dir out tmp
	local lib=${BASH_SOURCE[0]}
	key=$(_gl_key "$recipe" "$lib") || gl_die "cannot hash $recipe"
	base=${HANGAR_GUEST_CACHE:-/var/cache/hangar-tests/guest}
	dir=$base/$key
	out=$dir/$name
	if [ -s "$out" ] && [ "${HANGAR_GUEST_REBUILD:-0}" != 1 ]; then
		echo "$out"
		return 0
	fi
	mkdir -p "$dir" || gl_die "cannot create $dir"
	exec 9>>"$dir/.lock" || gl_die "cannot open $dir/.lock"
	if ! flock -n 9; then
		gl_log "another run builds $out; waiting for it"
		flock -w "${HANGAR_GUEST_LOCK_TIMEOUT:-1800}" 9 ||
			gl_die "timed out waiting for the lock on $dir/.lock"
	fi
	if [ -s "$out" ] && [ "${HANGAR_GUEST_REBUILD:-0}" != 1 ]; then
		exec 9>&-
		echo "$out"
		return 0
	fi
	# we hold the lock: any build dir left is from a run that was killed
	# (--one-file-system: never into a mount a killed mmdebstrap left)
	rm -rf --one-file-system "$dir"/.build.*
	tmp=$(mktemp -d "$dir/.build.XXXXXX") || gl_die "mktemp in $dir"
	# shellcheck disable=SC2064,SC2154 # expand now: tmp and name are local
	trap "_gl_rc=\$?; rm -rf --one-file-system '$tmp'; [ \$_gl_rc = 0 ] || gl_log 'building $name failed; nothing cached'" EXIT
	trap 'exit 130' INT TERM HUP
	gl_log "building $name (recipe key $key) in $tmp"
	# called plainly (not in an || list) so that the builder's set -e
	# stays in force inside BUILD_FN
	"$fn" "$tmp" "$tmp/$name"
	[ -s "$tmp/$name" ] || gl_die "the build made no $name"
	mv -f "$tmp/$name" "$out" || gl_die "cannot move the image to $out"
	rm -rf --one-file-system "$tmp"
	trap - EXIT INT TERM HUP
	exec 9>&-
	gl_log "done: $out ($(du -m "$out" | cut -f1) MiB on disk)"
	echo "$out"
}

gl_boot_fat() {
	local img=$1 kib=$2 label=$3 cfg=$4 f
	shift 4
	rm -f "$img"
	mkfs.vfat -C -F 16 -n "$label" "$img" "$kib" >/dev/null ||
		gl_die "mkfs.vfat $img"
	for f in "$@"; do
		mcopy -i "$img" "$f" "::/$(basename "$f")" || gl_die "mcopy $f"
	done
	mcopy -i "$img" "$cfg" ::/syslinux.cfg || gl_die "mcopy syslinux.cfg"
	syslinux --install "$img" || gl_die "syslinux --install $img"
	mmd -i "$img" ::/EFI ::/EFI/BOOT || gl_die "mmd /EFI/BOOT"
	mcopy -i "$img" "$GL_SYSLINUX_EFI" ::/EFI/BOOT/BOOTX64.EFI ||
		gl_die "mcopy syslinux.efi"
	mcopy -i "$img" "$GL_LDLINUX_E64" ::/EFI/BOOT/ldlinux.e64 ||
		gl_die "mcopy ldlinux.e64"
	mcopy -i "$img" "$cfg" ::/EFI/BOOT/syslinux.cfg ||
		gl_die "mcopy EFI/BOOT/syslinux.cfg"
}

GL_SYSLINUX_EFI=/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi
GL_LDLINUX_E64=/usr/lib/syslinux/modules/efi64/ldlinux.e64

# gl_need_tools CMD...: die naming scripts/deps unless every CMD and the
# syslinux files are there.
gl_need_tools() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null ||
			gl_die "$c is missing: run scripts/deps guest"
	done
	for c in /usr/lib/syslinux/mbr/mbr.bin "$GL_SYSLINUX_EFI" "$GL_LDLINUX_E64"; do
		[ -r "$c" ] || gl_die "$c is missing: run scripts/deps guest"
	done
}

gl_disk() {
	local raw=$1 total=$2 boot=$3 root=${4:-} bmib rmib mbr
	mbr=/usr/lib/syslinux/mbr/mbr.bin
	[ -r "$mbr" ] || gl_die "no $mbr (package syslinux-common)"
	bmib=$((($(stat -c %s "$boot") + 1048575) / 1048576))
	rm -f "$raw"
	truncate -s "${total}M" "$raw" || gl_die "truncate $raw"
	if [ -n "$root" ]; then
		rmib=$((total - 1 - bmib))
		[ "$(stat -c %s "$root")" -le $((rmib * 1048576)) ] ||
			gl_die "root image larger than ${rmib} MiB"
		printf 'label: dos\nunit: sectors\n%s\n%s\n' \
			"start=2048, size=$((bmib * 2048)), type=6, bootable" \
			"start=$(((1 + bmib) * 2048)), size=$((rmib * 2048)), type=83" |
			sfdisk -q "$raw" >/dev/null || gl_die "sfdisk $raw"
	else
		printf 'label: dos\nunit: sectors\n%s\n' \
			"start=2048, size=$((bmib * 2048)), type=6, bootable" |
			sfdisk -q "$raw" >/dev/null || gl_die "sfdisk $raw"
	fi
	dd if="$boot" of="$raw" bs=1M seek=1 conv=notrunc,sparse status=none ||
		gl_die "dd boot partition"
	if [ -n "$root" ]; then
		dd if="$root" of="$raw" bs=1M seek=$((1 + bmib)) \
			conv=notrunc,sparse status=none || gl_die "dd root partition"
	fi
	dd if="$mbr" of="$raw" bs=440 count=1 conv=notrunc status=none ||
		gl_die "dd mbr.bin"
}

gl_qcow2() {
	qemu-img convert -f raw -O qcow2 -c -o compression_type=zstd "$1" "$2" ||
		gl_die "qemu-img convert $1"
}
