# shellcheck shell=bash
#
# images_bench.sh - issue 11's rows of bench/run.sh: the image library
# against what a user would do by hand with qemu-img and virsh.
#
#   I1  import throughput: a raw image of BENCH_I1_GIB GiB (the first half
#       from /dev/urandom, the second half written zeros: real blocks, not
#       a hole) through POST /v1/images (upload + inspect + convert to
#       qcow2), against `qemu-img convert -f raw -O qcow2` of the same file
#       on the same disk; and the same content as a vmdk (made here with
#       qemu-img convert -O vmdk, monolithicSparse) against
#       `qemu-img convert -f vmdk -O qcow2`; and against the same steps as
#       hangard's by hand (a durable copy hashed on the way, convert, hash,
#       fsync).  BENCH_I1_ROUNDS rounds, the sides in turn.
#   I2  BENCH_I2_VMS concurrent POST /v1/vms?wait (not started) from one
#       imported image (the tiny test guest, tests/lib/guest.sh), linked
#       clones against full copies ("clone":"full"): wall time until all
#       are defined, bytes in the host's pool directory (du -sb), and the
#       number of base-*.qcow2 files there.  BENCH_I2_ROUNDS rounds each;
#       a base left in the pool after the deletes is reported in the
#       notes and removed with virsh vol-delete, so each round starts
#       without it.
#   I3  the first VM from an image on a host whose pool does not hold it
#       (the image of I1, uploaded into the pool through a libvirt stream)
#       against `virsh vol-create-as` + `virsh vol-upload` of the same
#       qcow2 file into the same pool.  BENCH_I3_ROUNDS rounds.
#
# Not a script of its own: bench/run.sh sources it and uses its helpers
# (row, note, now_us, stop_pid, hangard_up, lv_up, $T, $BUILD).  The rows
# run on run.sh's namespaced libvirtd, with a hangard of their own ("img":
# image_dir $T/img-library, pool hb-img in $T/img-images, cpu_ratio 100
# so that I2's VMs fit on 2 CPUs), stopped by pid after the last I row.
# Run them with
#   BUILD=build bash bench/run.sh I1 I2 I3
#   make bench BENCH_ROWS="I1 I2 I3"
# The page cache is not dropped (the machine is shared): every side reads
# a file that was just written or read, from memory.

I1_GIB=${BENCH_I1_GIB:-2}
I1_ROUNDS=${BENCH_I1_ROUNDS:-3}
I2_VMS=${BENCH_I2_VMS:-20}
I2_ROUNDS=${BENCH_I2_ROUNDS:-2}
I3_ROUNDS=${BENCH_I3_ROUNDS:-5}
IMG_UP='' IMG_WHY='' IMG_PID='' IMG_URL='' IMG_CURL_HOME=''
IMG_LIB=$T/img-library
IMG_POOL=$T/img-images
IMG_RAW=''                 # the I1 raw image, made once (I1 and I3)

# img_up: run.sh's libvirt host and a hangard "img" on it with an image
# library in the temp dir; curl is pointed at that hangard
img_up() {
	if [ -z "$IMG_UP" ] && [ -z "$IMG_WHY" ]; then
		if ! lv_up; then
			IMG_WHY=$LV_WHY
		elif ! hangard_up img "$LV_URI" "image_dir = $IMG_LIB
image_max_gib = 64
cpu_ratio = 100
reserved_vcpus = 0"; then
			IMG_WHY="hangard did not start: $(grep -v '^ *$' "$T/img.log" | tail -1)"
			stop_pid "$H_PID"
		else
			IMG_PID=$H_PID IMG_URL=$H_URL IMG_CURL_HOME=$H_CURL_HOME
			IMG_UP=1
		fi
	fi
	[ -n "$IMG_UP" ] || return 1
	export CURL_HOME=$IMG_CURL_HOME
}

# img_down_after ROW: stop hangard "img" when ROW is the last I row asked
img_down_after() {
	local r last=''
	for r in $ROWS; do
		case $r in I[123] | i[123]) last=${r^^} ;; esac
	done
	[ "$last" = "$1" ] && [ -n "$IMG_PID" ] && stop_pid "$IMG_PID"
	[ "$last" = "$1" ] && IMG_UP='' IMG_PID=''
	return 0
}

# img_spread [DECIMALS]: "median (min-max, n)" of the numbers on stdin
img_spread() {
	sort -n | awk -v d="${1:-1}" '{ a[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		f = "%." d "f"
		printf f " (" f "-" f ", %d)\n", m, a[1], a[NR], NR }'
}
img_median() { img_spread | awk '{ print $1 }'; }
img_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b - a) / 1e6 }'; }
img_us() { date -u -d "$1" +%s%6N; }    # an API timestamp in microseconds
img_mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# img_import NAME FORMAT FILE: POST /v1/images, streamed with curl -T;
# prints the seconds it took, returns 1 (reason in $T/img-import.json)
# unless the import succeeded
img_import() {
	local t0 t1 code
	t0=$(now_us)
	code=$(curl -sS --max-time 1200 -o "$T/img-import.json" -w '%{http_code}' \
		-T "$3" -X POST -H 'Content-Type: application/octet-stream' \
		"$IMG_URL/v1/images?name=$1&format=$2&wait=1200")
	t1=$(now_us)
	[ "$code" = 200 ] && [ "$(jq -r .status "$T/img-import.json")" = succeeded ] || return 1
	img_secs "$t0" "$t1"
}

img_delete() { curl -sS --max-time 120 -o /dev/null -X DELETE "$IMG_URL/v1/images/$1"; }

# img_make_raw: $T/i1.raw, I1_GIB GiB, the first half random
img_make_raw() {
	[ -n "$IMG_RAW" ] && return 0
	local half=$((I1_GIB * 512))
	log "I: making a $I1_GIB GiB raw image ($half MiB random, $half MiB zeros)"
	dd if=/dev/urandom of="$T/i1.raw" bs=1M count="$half" iflag=fullblock status=none &&
		dd if=/dev/zero of="$T/i1.raw" bs=1M count="$half" seek="$half" \
			conv=notrunc status=none || return 1
	IMG_RAW=$T/i1.raw
}

# i1_side FORMAT FILE: one round of each side; appends the seconds to
# $T/i1-FORMAT.h and .p (and the output's fsync to .s)
i1_side() {
	local fmt=$1 file=$2 s t0 t1 t2
	t0=$(now_us)
	if s=$(img_import "i1-$fmt" "$fmt" "$file"); then
		echo "$s" >>"$T/i1-$fmt.h"
		# upload (until the operation exists) and import, in seconds
		t1=$(img_us "$(jq -r .created_at "$T/img-import.json")")
		t2=$(img_us "$(jq -r .finished_at "$T/img-import.json")")
		echo "$(img_secs "$t0" "$t1")+$(img_secs "$t1" "$t2")" >>"$T/i1-$fmt.ops"
	else
		note "I1 $fmt: an import failed: $(head -c 300 "$T/img-import.json")"
	fi
	img_delete "i1-$fmt"
	t0=$(now_us)
	qemu-img convert -f "$fmt" -O qcow2 "$file" "$T/i1-peer.qcow2" &&
		{ t1=$(now_us); sync "$T/i1-peer.qcow2"; t2=$(now_us); }
	if [ -n "${t2:-}" ]; then
		img_secs "$t0" "$t1" >>"$T/i1-$fmt.p"
		img_secs "$t1" "$t2" >>"$T/i1-$fmt.s"
	else
		note "I1 $fmt: qemu-img convert failed"
	fi
	rm -f "$T/i1-peer.qcow2"
	# the same steps by hand: a durable copy with its sha256, convert,
	# the output's sha256, fsync (openssl: SHA-NI, ~800 MiB/s here, where
	# coreutils' sha256sum does ~300)
	t0=$(now_us)
	if tee "$T/i1-stage" <"$file" | openssl dgst -sha256 >/dev/null &&
		sync "$T/i1-stage" &&
		qemu-img convert -f "$fmt" -O qcow2 "$T/i1-stage" "$T/i1-peer.qcow2" &&
		openssl dgst -sha256 "$T/i1-peer.qcow2" >/dev/null &&
		sync "$T/i1-peer.qcow2"; then
		img_secs "$t0" "$(now_us)" >>"$T/i1-$fmt.m"
	else
		note "I1 $fmt: the steps by hand failed"
	fi
	rm -f "$T/i1-stage" "$T/i1-peer.qcow2"
}

# i1_row FORMAT FILE LABEL
i1_row() {
	local fmt=$1 file=$2 label=$3 r h p hm pm mb hs ps met m mm ms
	: >"$T/i1-$fmt.h" ; : >"$T/i1-$fmt.p" ; : >"$T/i1-$fmt.s" ; : >"$T/i1-$fmt.ops"
	: >"$T/i1-$fmt.m"
	for ((r = 0; r < I1_ROUNDS; r++)); do
		log "I1: $fmt round $((r + 1))/$I1_ROUNDS"
		i1_side "$fmt" "$file"
	done
	mb=$((I1_GIB * 1024))
	hm=$(img_median <"$T/i1-$fmt.h") pm=$(img_median <"$T/i1-$fmt.p")
	h=$(img_spread <"$T/i1-$fmt.h") p=$(img_spread <"$T/i1-$fmt.p")
	hs=$(awk -v m="$mb" -v s="$hm" 'BEGIN { if (s + 0 > 0) printf "%.0f", m / s; else print "-" }')
	ps=$(awk -v m="$mb" -v s="$pm" 'BEGIN { if (s + 0 > 0) printf "%.0f", m / s; else print "-" }')
	met=-
	[ "$hs" != - ] && [ "$ps" != - ] && met=$(yesno "$hs >= 0.8 * $ps")
	row I1 "import of $label, $I1_GIB GiB virtual: s median (min-max, rounds); MiB/s" \
		"$h; $hs MiB/s" "qemu-img convert -f $fmt -O qcow2, same file, same disk" \
		"$p; $ps MiB/s" "$(ratio "$hs" "$ps")" ">= 0.8x" "$met"
	m=$(img_spread <"$T/i1-$fmt.m") mm=$(img_median <"$T/i1-$fmt.m")
	ms=$(awk -v m="$mb" -v s="$mm" 'BEGIN { if (s + 0 > 0) printf "%.0f", m / s; else print "-" }')
	met=-
	[ "$hs" != - ] && [ "$ms" != - ] && met=$(yesno "$hs >= 0.8 * $ms")
	row I1 "(same $fmt import, vs the same steps by hand)" "$h; $hs MiB/s" \
		"by hand: tee copy + openssl sha256; sync; qemu-img convert; openssl sha256; sync" \
		"$m; $ms MiB/s" "$(ratio "$hs" "$ms")" ">= 0.8x" "$met"
	note "I1 $fmt: all rounds hangar $(paste -sd/ <"$T/i1-$fmt.h") s, qemu-img $(paste -sd/ <"$T/i1-$fmt.p") s; an fsync of qemu-img's output afterwards (sync FILE, not in its time) took $(paste -sd/ <"$T/i1-$fmt.s") s; by hand $(paste -sd/ <"$T/i1-$fmt.m") s. hangar's time split into upload (curl's start to the import operation's created_at: the body received, hashed, written and fdatasync'ed) + import (created_at to finished_at: inspect, convert, qemu-img info, sha256 and fsync of the qcow2): $(paste -sd' ' <"$T/i1-$fmt.ops") s."
}

# ====================================================================== I1
i1() {
	if ! img_up || ! img_make_raw; then
		row I1 "image import" "not run" "qemu-img convert" "-" "-" ">= 0.8x" "-"
		note "I1 not run: ${IMG_WHY:-the raw image could not be made in $T}"
		img_down_after I1
		return
	fi
	if ! qemu-img convert -f raw -O vmdk "$IMG_RAW" "$T/i1.vmdk"; then
		note "I1: qemu-img could not make the vmdk"
	fi
	i1_row raw "$IMG_RAW" "a raw file (half random, half zeros)"
	[ -s "$T/i1.vmdk" ] &&
		i1_row vmdk "$T/i1.vmdk" "the same content as a vmdk ($(img_mib "$(stat -c %s "$T/i1.vmdk")") MiB file)"
	rm -f "$T/i1.vmdk"
	note "I1: hangar = one 'curl -T FILE -X POST /v1/images?name=N&format=F&wait=1200' until the 200 with the finished operation: the body streamed to image_dir/.staging with its SHA-256 computed on the way and fdatasync'ed, the headers inspected, qemu-img convert -f F -O qcow2 (the same command as the peer, bounded child), qemu-img info of the result, fsync, the row committed. The peer: that qemu-img convert alone, from the same file, into the same temp dir. MiB/s = the image's virtual size / median time; ratio = hangar's MiB/s / the peer's. The raw file: $I1_GIB GiB, the first half /dev/urandom, the second half written zeros. Between rounds the image is deleted (DELETE /v1/images) and the peer's output removed."
	img_down_after I1
}

# i2_round KIND IMAGE: one round of I2_VMS concurrent creates; appends
# "secs bytes bases ok" to $T/i2-KIND, then deletes them all
i2_round() {
	local kind=$1 image=$2 i t0 t1 ok bytes bases left pids=()
	t0=$(now_us)
	for ((i = 1; i <= I2_VMS; i++)); do
		curl -sS --max-time 600 -o "$T/i2-$i.json" -X POST \
			-H 'Content-Type: application/json' "$IMG_URL/v1/vms?wait=300" \
			-d "{\"name\":\"i2-$i\",\"vcpus\":1,\"memory_mib\":64,\"image\":\"$image\",\"clone\":\"$kind\"}" &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(now_us)
	ok=0
	for ((i = 1; i <= I2_VMS; i++)); do
		[ "$(jq -r .state "$T/i2-$i.json" 2>/dev/null)" = stopped ] && ok=$((ok + 1))
	done
	[ "$ok" = "$I2_VMS" ] || note "I2 $kind: only $ok of $I2_VMS creates ended stopped: $(for ((i = 1; i <= I2_VMS; i++)); do jq -r 'select(.state != "stopped") | .detail // .state' "$T/i2-$i.json" 2>/dev/null; done | sort | uniq -c | head -3 | tr '\n' ' ')"
	bytes=$(du -sb "$IMG_POOL" | cut -f1)
	bases=$(find "$IMG_POOL" -maxdepth 1 -name 'base-*.qcow2' | wc -l)
	echo "$(img_secs "$t0" "$t1") $bytes $bases $ok $(du -s --block-size=1 "$IMG_POOL" | cut -f1)" >>"$T/i2-$kind"
	pids=()
	for ((i = 1; i <= I2_VMS; i++)); do
		curl -sS --max-time 600 -o /dev/null -X DELETE "$IMG_URL/v1/vms/i2-$i?wait=300" &
		pids+=($!)
	done
	wait "${pids[@]}"
	# the host's base goes (after the reply) with the last linked clone
	for ((i = 0; i < 100; i++)); do
		left=$(find "$IMG_POOL" -mindepth 1 -printf '%f\n')
		[ -z "$left" ] && break
		sleep 0.1
	done
	echo "$kind: $(echo "$left" | grep -c .)" >>"$T/i2-left"
	# a full copy does not use the base, so no delete removes it: take
	# it away behind hangard's back (it makes it again, as for a copy
	# gone from the pool), so that every round starts without it
	if [ "$left" = "$(grep '^base-' <<<"$left")" ] && [ -n "$left" ]; then
		while read -r i; do
			virsh -q -c "$LV_URI" vol-delete --pool hb-img "$i" >/dev/null
		done <<<"$left"
	fi
	left=$(find "$IMG_POOL" -mindepth 1 | wc -l)
	[ "$left" = 0 ] || note "I2 $kind: $left files left in the pool after the deletes"
}

# ====================================================================== I2
i2() {
	local tiny r kind sz lt ft lb fb lbase fbase
	# shellcheck source=tests/lib/guest.sh
	. tests/lib/guest.sh
	if ! img_up || ! tiny=$(guest_image tiny 2>"$T/i2-guest.err") ||
		! img_import i2-tiny qcow2 "$tiny" >/dev/null; then
		row I2 "$I2_VMS VMs from one image at once" "not run" "full copies" "-" "-" "1 base-*.qcow2" "-"
		note "I2 not run: ${IMG_WHY:-$(tail -1 "$T/i2-guest.err") $(head -c 300 "$T/img-import.json" 2>/dev/null)}"
		img_down_after I2
		return
	fi
	sz=$(stat -c %s "$tiny")
	: >"$T/i2-linked" ; : >"$T/i2-full" ; : >"$T/i2-left"
	for ((r = 0; r < I2_ROUNDS; r++)); do
		for kind in linked full; do
			log "I2: $I2_VMS $kind clones at once, round $((r + 1))/$I2_ROUNDS"
			i2_round "$kind" i2-tiny
		done
	done
	img_delete i2-tiny
	lt=$(cut -d' ' -f1 "$T/i2-linked" | img_spread 2)
	ft=$(cut -d' ' -f1 "$T/i2-full" | img_spread 2)
	lb=$(cut -d' ' -f2 "$T/i2-linked" | img_median)
	fb=$(cut -d' ' -f2 "$T/i2-full" | img_median)
	lbase=$(cut -d' ' -f3 "$T/i2-linked" | sort -u | paste -sd/)
	fbase=$(cut -d' ' -f3 "$T/i2-full" | sort -u | paste -sd/)
	row I2 "$I2_VMS concurrent POST /v1/vms?wait from one image (tiny guest), not started: s until all defined, median (min-max, rounds)" \
		"linked: $lt" "full copies (\"clone\":\"full\")" "$ft" "$(ratio "${lt%% *}" "${ft%% *}")" "-" "-"
	row I2 "host pool after the $I2_VMS creates: MiB (du -sb); base-*.qcow2 files" \
		"linked: $(img_mib "$lb"); $lbase base" "full copies" "$(img_mib "$fb"); $fbase base" \
		"$(ratio "$lb" "$fb")" "exactly 1 base-*.qcow2 (linked)" \
		"$([ "$lbase" = 1 ] && echo yes || echo no)"
	note "I2: the tiny test guest (tests/lib/guest.sh: busybox + kernel, a compressed qcow2 of $(img_mib "$sz") MiB) imported once; each round $I2_VMS curl processes at once, each POST /v1/vms?wait=300 {vcpus 1, memory_mib 64, image, clone}, timed from the first start to the last exit; every VM checked 'stopped' (defined); then du -sb and the base-*.qcow2 count of the pool directory, then all deleted at once (DELETE ?wait), and each round starts with no base on the host (see below), so each uploads it. hangard's default workers = 4 run the creates. Per round (s, du -sb bytes, bases, VMs defined, du allocated bytes): linked $(paste -sd'|' "$T/i2-linked"), full $(paste -sd'|' "$T/i2-full"). Files left in the pool once all deletes had returned (waited for up to 10 s), per round: $(paste -sd' ' "$T/i2-left" | sed 's/\([a-z]*\): /\1 /g'). What is left is the host's base-*.qcow2, which no delete removed: after full copies always (ops_disks_prune prunes only for a disk with a base volume, and a full copy has none); after linked clones when the last of them are deleted at once (each delete's imgcache_prune runs before its own VM row goes and counts the other VMs being deleted as users, so none removes it). The bench deletes it with virsh vol-delete (hangard makes a copy gone from the pool again), so every round starts without it."
	img_down_after I2
}

# ====================================================================== I3
i3() {
	local lib libmib vsize r t0 t1 t2 q out i
	if ! img_up || ! img_make_raw ||
		! img_import i3 raw "$IMG_RAW" >/dev/null; then
		row I3 "first VM on a host without the image" "not run" "virsh vol-create-as + vol-upload" "-" "-" "-" "-"
		note "I3 not run: ${IMG_WHY:-$(head -c 300 "$T/img-import.json" 2>/dev/null)}"
		img_down_after I3
		return
	fi
	lib=$(find "$IMG_LIB" -maxdepth 1 -name '*.qcow2' | head -1)
	libmib=$(img_mib "$(stat -c %s "$lib")")
	vsize=$(curl -sS "$IMG_URL/v1/images/i3" | jq -r .virtual_size)
	q=(-q -c "$LV_URI")
	: >"$T/i3.h" ; : >"$T/i3.h2" ; : >"$T/i3.p"
	for ((r = 0; r < I3_ROUNDS; r++)); do
		log "I3: round $((r + 1))/$I3_ROUNDS"
		if [ $((r % 2)) = 1 ]; then i3_virsh "$lib" "$vsize"; fi
		t0=$(now_us)
		out=$(api -o "$T/i3-1.json" -w '%{http_code}' -X POST "$IMG_URL/v1/vms?wait=300" \
			-d '{"name":"i3-1","vcpus":1,"memory_mib":64,"image":"i3"}')
		t1=$(now_us)
		api -o "$T/i3-2.json" -X POST "$IMG_URL/v1/vms?wait=300" \
			-d '{"name":"i3-2","vcpus":1,"memory_mib":64,"image":"i3"}'
		t2=$(now_us)
		if [ "$out" = 201 ] && [ "$(jq -r .state "$T/i3-1.json")" = stopped ]; then
			img_secs "$t0" "$t1" >>"$T/i3.h"
		else
			note "I3: the first create failed: $(head -c 300 "$T/i3-1.json")"
		fi
		[ "$(jq -r .state "$T/i3-2.json")" = stopped ] && img_secs "$t1" "$t2" >>"$T/i3.h2"
		api -o /dev/null -X DELETE "$IMG_URL/v1/vms/i3-1?wait=300"
		api -o /dev/null -X DELETE "$IMG_URL/v1/vms/i3-2?wait=300"
		for ((i = 0; i < 100; i++)); do     # the base goes after the reply
			[ -z "$(find "$IMG_POOL" -name 'base-*')" ] && break
			sleep 0.1
		done
		[ "$i" = 100 ] && note "I3: the base stayed 10 s after the deletes"
		if [ $((r % 2)) = 0 ]; then i3_virsh "$lib" "$vsize"; fi
	done
	img_delete i3
	local hm pm
	hm=$(img_spread 2 <"$T/i3.h") pm=$(img_spread 2 <"$T/i3.p")
	row I3 "first VM from an image on a host without it ($libmib MiB qcow2, $I1_GIB GiB virtual): s median (min-max, rounds)" \
		"$hm" "virsh vol-create-as + vol-upload of the same qcow2 (2 virsh runs)" "$pm" \
		"$(ratio "${hm%% *}" "${pm%% *}")" "-" "-"
	note "I3: hangar = POST /v1/vms?wait=300 {image, linked clone, not started} on a host whose pool (hb-img, a directory pool of the namespaced libvirtd, qemu+tcp on loopback) does not hold the image: hangard creates base-<sha256>.qcow2 there (virStorageVolCreateXML, qcow2, the image's virtual size), streams the library's qcow2 into it (virStorageVolUpload + virStreamSendAll), then makes the overlay and defines the domain. A second create right after, with the base on the host: $(img_spread 2 <"$T/i3.h2") s. Both VMs are deleted each round, and the base with them. The peer: 'virsh vol-create-as hb-img i3-peer.qcow2 ${vsize}b --allocation 0 --format qcow2' then 'virsh vol-upload --pool hb-img i3-peer.qcow2 FILE' of the same library file, then vol-delete (not timed). Rounds alternate which side goes first. All rounds: hangar $(paste -sd/ <"$T/i3.h") s, virsh $(paste -sd/ <"$T/i3.p") s."
	img_down_after I3
}

# i3_virsh FILE VSIZE: one timed vol-create-as + vol-upload, then vol-delete
i3_virsh() {
	local t0 t1
	t0=$(now_us)
	if virsh "${q[@]}" vol-create-as hb-img i3-peer.qcow2 "${2}b" --allocation 0 --format qcow2 >/dev/null &&
		virsh "${q[@]}" vol-upload --pool hb-img i3-peer.qcow2 "$1"; then
		t1=$(now_us)
		img_secs "$t0" "$t1" >>"$T/i3.p"
		[ "$(stat -c %s "$IMG_POOL/i3-peer.qcow2")" = "$(stat -c %s "$1")" ] ||
			note "I3: virsh's upload is not the size of the file"
	else
		note "I3: virsh vol-create-as/vol-upload failed"
	fi
	virsh "${q[@]}" vol-delete --pool hb-img i3-peer.qcow2 >/dev/null 2>&1
}
