#!/usr/bin/env bash
#
# run.sh - issue 7: hangar side by side with what a user would pick
# instead, measured in one run on this machine, printed as ONE table.
#
#   P1  create->running: POST /v1/vms {"start":true}?wait against virsh
#       (vol-create-as + define + start of the same domain XML, same pool,
#       same libvirtd), hyperfine, 20 runs each, interleaved in rounds
#   P2  GET /v1/vms/{id}: wrk -t1 -c64 against nginx serving the same JSON
#       from a file; over unix sockets, bench/httpload.c against LXD's
#       GET /1.0/instances/{name}; servers pinned to CPU 0, clients to 1
#   P3  placements per second in process (bench/place_bench.c)
#   P4  durable creates per second through the API (test driver) against
#       a raw SQLite loop writing the same rows (bench/p4_raw.c)
#   P5  hangard's RSS with 10,000 hosts and 100,000 VMs (bench/p5_fill.c)
#       against LXD's RSS at idle
#   P6  live migration (bench/migrate_bench.sh) against virsh migrate
#   P7  virsh suspend/resume behind hangar's back -> GET and the event
#       stream
#   I1  issue 11 (bench/images_bench.sh): a 2 GiB raw image, and a vmdk
#       of it, through POST /v1/images against qemu-img convert
#   I2  20 concurrent creates from one image: linked clones against full
#       copies, time and bytes in the host's pool
#   I3  the first VM from an image on a host without it (a libvirt
#       stream upload) against virsh vol-create-as + vol-upload
#   C1  issue 12 (bench/console_bench.sh): the serial console's round
#       trip, a key to its echo, over the WebSocket against virsh console
#   S1  issue 12 (bench/ssh_bench.sh): the Debian image to SSH answering,
#       hangar vm create against cloud-localds + virt-install --import
#   B1  issue 13 (bench/backup_bench.sh): a full backup of a running VM
#       with a 2 GiB disk against virsh backup-begin; B2 an incremental
#       one after 64 MiB of writes against that full one; B3 a linked
#       clone to running against virt-clone + virsh start
#   M1  issue 14 (bench/metrics_bench.sh): GET /metrics of 1,000 VMs on
#       test-driver hosts against nginx serving the same bytes
#   D1  issue 14: GET /v1/vms/{vm}/drift with BENCH_D1_VMS VMs on a
#       test-driver host (one VM's drift asks for its own domain only)
#       against GET /v1/drift (every domain listed and compared)
#
# Everything it starts (namespaced libvirtd, hangard, nginx, LXD) runs
# from a temp dir, on loopback, and is stopped by pid at the end; the
# machine's own libvirt and services are never touched.  A benchmark: it
# never fails on speed.  A row that cannot run here is still printed,
# with the reason.  The table is also kept in $BUILD/bench/table.md.
#
# Usage: BUILD=build bench/run.sh [P1 P2 ...]      (default: all rows)
# Environment: BENCH_KEEP=1 keeps the temp dir; BENCH_P1_ROUNDS (4) x
# BENCH_P1_RUNS (5) runs per side; BENCH_P2_SECS (10) x BENCH_P2_ROUNDS
# (2, the best counts); BENCH_P4_N (2000);
# BENCH_P4_CLIENTS (32); BENCH_P5_HOSTS (10000); BENCH_P5_VMS (100000);
# BENCH_P6_ROUNDS (3); BENCH_P7_SAMPLES (20); BENCH_I1_GIB (2);
# BENCH_I1_ROUNDS (3); BENCH_I2_VMS (20); BENCH_I2_ROUNDS (2);
# BENCH_I3_ROUNDS (5); BENCH_C1_ROUNDS (3); BENCH_C1_KEYS (20);
# BENCH_S1_ROUNDS (2); BENCH_M1_HOSTS (10), BENCH_M1_VMS (1000),
# BENCH_M1_RUNS (20); BENCH_D1_VMS (1000); BENCH_B1_ROUNDS (3);
# BENCH_B3_ROUNDS (2).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
# shellcheck source=tests/lib/lvhost.sh
. tests/lib/lvhost.sh

# the rows that need no libvirt host first, then the three on one
# namespaced libvirtd, then P6 (two hosts of its own); printed P1..P7,
# then I1..I3 (on the same libvirtd as P1, a hangard of their own)
ROWS=${*:-P3 P4 P5 M1 D1 P1 P2 P7 I1 I2 I3 C1 B1 B2 B3 S1 P6}
P1_ROUNDS=${BENCH_P1_ROUNDS:-4}
P1_RUNS=${BENCH_P1_RUNS:-5}
P2_SECS=${BENCH_P2_SECS:-10}
P2_ROUNDS=${BENCH_P2_ROUNDS:-2}
P4_N=${BENCH_P4_N:-2000}
P4_CLIENTS=${BENCH_P4_CLIENTS:-32}
P5_HOSTS=${BENCH_P5_HOSTS:-10000}
P5_VMS=${BENCH_P5_VMS:-100000}
P6_ROUNDS=${BENCH_P6_ROUNDS:-3}
P7_SAMPLES=${BENCH_P7_SAMPLES:-20}
NCPU=$(nproc)
LAST_CPU=$((NCPU - 1))

T=$(mktemp -d /tmp/hangar-bench.XXXXXX) || exit 1
export HANGAR_TEST_TMP=$T
export LVHOST_CAPS_CACHE=$T/.qemu-caps
TABLE=$T/table
NOTES=$T/notes
: >"$TABLE"
: >"$NOTES"
PIDS=''                    # hangards and nginx, stopped by pid
LV_UP='' LV_WHY='' LV_URI=''
LXD_PID='' LXD_WHY='' LXD_NS='' LXD_RSS_KB='' LXD_PATH='' LXD_NOTE=''
T_START=${EPOCHREALTIME/[.,]/}

log() { printf '[bench %5.1fs] %s\n' "$(elapsed_s)" "$*" >&2; }
elapsed_s() {
	local t=${EPOCHREALTIME/[.,]/}
	awk -v a="$t" -v b="$T_START" 'BEGIN { printf "%.1f", (a - b) / 1e6 }'
}
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
note() { printf '%s\n' "$*" >>"$NOTES"; }

# row ID MEASURE HANGAR PEER PEER_VALUE RATIO TARGET MET
row() {
	local IFS='|'
	printf '%s\n' "$*" >>"$TABLE"
}

# stats: median and p95 (nearest rank) of the numbers on stdin
stats() {
	sort -n | awk '{ a[NR] = $1 } END {
		if (NR == 0) { print "- -"; exit }
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		r = int(NR * 0.95 + 0.999999); if (r > NR) r = NR
		printf "%.1f %.1f\n", m, a[r] }'
}
kv() { # kv KEY LINE: the value of KEY=... in a key=value line
	sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2fx", a / b }'; }
yesno() { if awk "BEGIN { exit !($1) }"; then echo yes; else echo no; fi; }
# get_all BASE PATH ITEMS: the whole list, 1,000 a page, following the
# Link headers, as one {"ITEMS": [...]} on stdout
get_all() {
	local url="$2?limit=1000" hdr
	hdr=$(mktemp) || return 1
	while [ -n "$url" ]; do
		curl -fsS -D "$hdr" "$1$url" || break
		url=$(sed -n 's/^[Ll]ink: <\([^>]*\)>; rel="next"\r*$/\1/p' "$hdr")
	done | jq -s --arg k "$3" '{($k): (map(.[$k]) | add)}'
	rm -f "$hdr"
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
# stop_pid PID [SECS]: SIGTERM, wait, SIGKILL
stop_pid() {
	local pid=$1 secs=${2:-30} i
	alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# hangard_up NAME URI [CONF LINES]: start $BUILD/hangard on
# unix:$T/NAME.sock and 127.0.0.1:<free port>, db $T/NAME.db, pool
# hb-NAME in $T/NAME-images; waits up to HANGARD_WAIT s (60).  TCP needs a
# token: an admin token "bench" is made in the database first, and
# $T/curl-NAME/.curlrc sends it (CURL_HOME is pointed there: every curl
# of this script, and of what it starts, talks to that hangard).  Sets
# H_PID, H_SOCK, H_PORT, H_URL, H_TOKEN, H_CURL_HOME.
hangard_up() {
	local name=$1 uri=$2 extra=${3:-} i
	H_CURL_HOME=$T/curl-$name
	mkdir -p "$H_CURL_HOME"
	H_TOKEN=$("$BUILD/hangard" token create --db "$T/$name.db" --name bench \
		--role admin 2>>"$T/$name.log") || H_TOKEN=''
	if [ -n "$H_TOKEN" ]; then
		(umask 077 && printf 'header = "Authorization: Bearer %s"\n' "$H_TOKEN" \
			>"$H_CURL_HOME/.curlrc")
	fi
	export CURL_HOME=$H_CURL_HOME
	H_PORT=$(lvhost_free_port 1) || return 1
	H_SOCK=$T/$name.sock
	H_URL=http://127.0.0.1:$H_PORT
	mkdir -p "$T/$name-images"
	{
		echo "pool_name = hb-$name"
		echo "pool_path = $T/$name-images"
		echo "stop_timeout_s = 5"
		echo "shutdown_timeout_s = 10"
		[ -n "$extra" ] && printf '%s\n' "$extra"
	} >"$T/$name.conf"
	"$BUILD/hangard" --listen "unix:$H_SOCK" --listen "127.0.0.1:$H_PORT" \
		--db "$T/$name.db" --host-uri "$uri" --config "$T/$name.conf" \
		</dev/null >>"$T/$name.log" 2>&1 &
	H_PID=$!
	PIDS+=" $H_PID"
	for ((i = 0; i < ${HANGARD_WAIT:-60} * 20; i++)); do
		alive "$H_PID" || { tail -5 "$T/$name.log" >&2; return 1; }
		curl -fs --max-time 2 -o /dev/null "$H_URL/v1" && return 0
		sleep 0.05
	done
	echo "hangard $name did not answer within ${HANGARD_WAIT:-60}s" >&2
	return 1
}

api() { curl -sS --max-time 120 -H 'Content-Type: application/json' "$@"; }

# ------------------------------------------------------------ the machine
machine_header() {
	local cpu mem v_lxd v_nginx v_wrk
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	v_nginx=$(nginx -v 2>&1 | sed 's/.*nginx\///')
	v_wrk=$(wrk -v 2>&1 | awk 'NR == 1 { sub(/.*\//, "", $2); sub(/-.*/, "", $2); print $2 }')
	v_lxd=$(lxd --version 2>/dev/null)
	echo "machine: $NCPU CPUs ($cpu), $mem RAM, /dev/kvm $([ -c /dev/kvm ] && echo present || echo absent); load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg)"
	local rev
	rev=${BENCH_REV:-$(git describe --always --dirty 2>/dev/null)} || rev='not a git checkout'
	[ -n "$rev" ] || rev='not a git checkout'
	echo "versions: hangard $("$BUILD/hangard" --version 2>/dev/null | awk '{ print $2 }') ($rev)," \
		"libvirt $(libvirtd --version 2>/dev/null | awk '{ print $NF }')," \
		"QEMU $(qemu-system-x86_64 --version 2>/dev/null | awk 'NR == 1 { print $4 }')," \
		"nginx ${v_nginx:-absent}, wrk ${v_wrk:-absent}, LXD ${v_lxd:-absent}," \
		"SQLite $(pkg-config --modversion sqlite3 2>/dev/null)," \
		"hyperfine $(hyperfine --version 2>/dev/null | awk '{ print $2 }')"
}

# ------------------------------------------------------- libvirt + hangard
# lv_up: a namespaced libvirtd and a hangard on it (P1, P2, P7)
lv_up() {
	[ -n "$LV_UP" ] && return 0
	[ -n "$LV_WHY" ] && return 1
	local i
	log "starting a namespaced libvirtd"
	for i in 1 2 3; do
		lvhost_start bench "$(lvhost_free_port 64)" >/dev/null 2>"$T/lvhost.err" && break
		lvhost_stop bench >/dev/null 2>&1
	done
	if [ -z "${LVHOST_URI:-}" ]; then
		LV_WHY="the namespaced libvirtd did not start: $(tail -1 "$T/lvhost.err")"
		return 1
	fi
	LV_URI=$LVHOST_URI
	rm -f "$T/lv.db" "$T/lv.db-wal" "$T/lv.db-shm"    # a fresh inventory
	if ! hangard_up lv "$LV_URI"; then
		LV_WHY="hangard did not start on the libvirt host: $(grep -v '^ *$' "$T/lv.log" | tail -1)"
		stop_pid "$H_PID"
		lvhost_stop bench >/dev/null 2>&1
		return 1
	fi
	LV_PID=$H_PID LV_SOCK=$H_SOCK LV_PORT=$H_PORT LV_URL=$H_URL
	LV_TOKEN=$H_TOKEN LV_CURL_HOME=$H_CURL_HOME
	LV_UP=1
}

# lv_use: lv_up, and point curl at that hangard's token
lv_use() {
	lv_up || return 1
	export CURL_HOME=$LV_CURL_HOME
}

# bearer TOKEN: the header wrk and httpload send on TCP ("" without one)
bearer() { [ -n "$1" ] && printf 'Authorization: Bearer %s' "$1"; }

lv_down() {
	[ -n "${LV_PID:-}" ] && stop_pid "$LV_PID"
	# the host too, even when hangard did not come up on it (safe when
	# it never started)
	lvhost_stop bench >/dev/null 2>&1
	LV_UP='' LV_PID=''
}

# -------------------------------------------------------------------- LXD
# lxd_up: LXD 5.0 with its own LXD_DIR in $T, in its own mount and network
# namespace (its mounts go with it; it reaches no network: no image
# server, no instance-type refresh), an image built here from an empty
# rootfs, a dir storage pool and one container instance (created, not
# started).  Sets LXD_PID, LXD_PATH (what P2 asks for), LXD_RSS_KB.
lxd_up() {
	[ -n "$LXD_PID" ] && return 0
	[ -n "$LXD_WHY" ] && return 1
	if ! command -v lxd >/dev/null || ! command -v lxc >/dev/null; then
		LXD_WHY="lxd is not installed (scripts/deps bench installs it)"
		return 1
	fi
	log "starting LXD (LXD_DIR in the temp dir)"
	export LXD_DIR=$T/lxd LXD_CONF=$T/lxc-conf
	mkdir -p "$LXD_DIR" "$LXD_CONF" "$T/lxd-img/rootfs/sbin" \
		"$T/lxd-img/rootfs/etc" "$T/lxd-img/rootfs/dev" \
		"$T/lxd-img/rootfs/proc" "$T/lxd-img/rootfs/sys" \
		"$T/lxd-img/rootfs/tmp"
	chmod 711 "$LXD_DIR"
	unshare --mount --net --propagation private \
		lxd --group root --logfile "$LXD_DIR/lxd.log" \
		</dev/null >"$T/lxd.out" 2>&1 &
	LXD_PID=$!
	if ! timeout 60 lxd waitready --timeout 55 >/dev/null 2>&1; then
		LXD_WHY="lxd did not become ready: $(tail -1 "$T/lxd.out")"
		return 1
	fi
	LXD_NS=$(readlink "/proc/$LXD_PID/ns/mnt")
	cat >"$T/lxd-img/metadata.yaml" <<-EOF
		architecture: $(uname -m)
		creation_date: $(date +%s)
		properties:
		  description: hangar bench image (an empty rootfs, built locally)
		  os: none
		  release: none
	EOF
	printf '#!/bin/sh\nexec sleep infinity\n' >"$T/lxd-img/rootfs/sbin/init"
	chmod 755 "$T/lxd-img/rootfs/sbin/init"
	tar -C "$T/lxd-img" -czf "$T/lxd-img.tar.gz" metadata.yaml rootfs
	LXD_PATH=/1.0/instances/c1
	if ! { lxc image import "$T/lxd-img.tar.gz" --alias bench &&
		lxc storage create bench dir &&
		lxc profile device add default root disk path=/ pool=bench &&
		lxc init bench c1; } >"$T/lxd-setup.log" 2>&1 ||
		! curl -fs --unix-socket "$LXD_DIR/unix.socket" -o /dev/null "http://lxd/1.0/instances/c1"; then
		LXD_PATH=/1.0/instances
		LXD_NOTE="no instance could be made ($(grep -i error "$T/lxd-setup.log" | tail -1)); GET /1.0/instances instead"
	fi
	sleep 3             # settle, then its RSS at idle
	LXD_RSS_KB=$(rss_kb "$LXD_PID")
}

lxd_down() {
	[ -n "$LXD_PID" ] || return 0
	local p
	stop_pid "$LXD_PID" 30
	# anything it left in its namespace (it should leave nothing)
	if [ -n "$LXD_NS" ]; then
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$LXD_NS" ] &&
				stop_pid "${p#/proc/}" 5
		done
	fi
	LXD_PID=''
}

cleanup() {
	local p
	lxd_down
	for p in $PIDS; do stop_pid "$p" 30; done
	lv_down
	s1_down
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source=bench/images_bench.sh
. bench/images_bench.sh
# shellcheck source=bench/console_bench.sh
. bench/console_bench.sh
# shellcheck source=bench/ssh_bench.sh
. bench/ssh_bench.sh
# shellcheck source=bench/backup_bench.sh
. bench/backup_bench.sh
# shellcheck source=bench/metrics_bench.sh
. bench/metrics_bench.sh

# ====================================================================== P1
p1() {
	local q r tag wid
	if ! lv_use; then
		row P1 "create->running" "not run" "virsh" "-" "-" "<= 1.05x" "-"
		note "P1 not run: $LV_WHY"
		return
	fi
	log "P1: create->running, hangar vs virsh, ${P1_ROUNDS}x${P1_RUNS} runs each"
	# the domain XML hangar writes, read back from libvirt once
	api -o "$T/p1w.json" -X POST "$LV_URL/v1/vms?wait=60" \
		-d '{"name":"p1w","vcpus":1,"memory_mib":64,"disk_gib":1,"start":true}'
	wid=$(jq -r .id "$T/p1w.json" 2>/dev/null)
	if [ "$(jq -r .state "$T/p1w.json" 2>/dev/null)" != running ]; then
		row P1 "create->running" "create failed" "virsh" "-" "-" "<= 1.05x" "-"
		note "P1 not run: the first create failed: $(head -c 300 "$T/p1w.json")"
		return
	fi
	virsh -q -c "$LV_URI" dumpxml --inactive "$wid" |
		sed -e 's|<name>p1w</name>|<name>p1v</name>|' -e '/<uuid>/d' \
		    -e '/<hangar:vm /d' \
		    -e "s|$T/lv-images/$wid.qcow2|$T/lv-images/p1v.qcow2|" >"$T/p1v.xml"
	api -o /dev/null -X DELETE "$LV_URL/v1/vms/p1w?wait=60"
	# what each side runs, as scripts hyperfine starts with bash (no shell
	# in between); the same bash start-up is in both
	q="-q -c $LV_URI"
	cat >"$T/p1-hangar.sh" <<-EOF
		curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \\
		    '$LV_URL/v1/vms?wait=60' \\
		    -d '{"name":"p1h","vcpus":1,"memory_mib":64,"disk_gib":1,"start":true}'
	EOF
	cat >"$T/p1-hangar-prep.sh" <<-EOF
		curl -sS -o /dev/null -X DELETE '$LV_URL/v1/vms/p1h?wait=60'
	EOF
	cat >"$T/p1-virsh3.sh" <<-EOF
		set -e
		virsh $q vol-create-as hb-lv p1v.qcow2 1G --allocation 0 --format qcow2 >/dev/null
		virsh $q define $T/p1v.xml >/dev/null
		virsh $q start p1v >/dev/null
	EOF
	cat >"$T/p1-virsh1.sh" <<-EOF
		virsh $q 'vol-create-as hb-lv p1v.qcow2 1G --allocation 0 --format qcow2; define $T/p1v.xml; start p1v' >/dev/null
	EOF
	cat >"$T/p1-virsh-prep.sh" <<-EOF
		virsh $q destroy p1v >/dev/null 2>&1
		virsh $q undefine p1v >/dev/null 2>&1
		virsh $q vol-delete p1v.qcow2 --pool hb-lv >/dev/null 2>&1
		true
	EOF
	for ((r = 0; r < P1_ROUNDS; r++)); do
		hyperfine -N --style none --runs "$P1_RUNS" \
			$([ "$r" = 0 ] && echo "--warmup 1") \
			--export-json "$T/p1-$r.json" \
			--prepare "bash $T/p1-hangar-prep.sh" --command-name hangar "bash $T/p1-hangar.sh" \
			--prepare "bash $T/p1-virsh-prep.sh" --command-name virsh3 "bash $T/p1-virsh3.sh" \
			--prepare "bash $T/p1-virsh-prep.sh" --command-name virsh1 "bash $T/p1-virsh1.sh" \
			>"$T/p1-$r.out" 2>&1 || { cat "$T/p1-$r.out" >&2; break; }
	done
	# clean up after the last runs
	bash "$T/p1-hangar-prep.sh" >/dev/null 2>&1
	bash "$T/p1-virsh-prep.sh" >/dev/null 2>&1
	for tag in hangar virsh3 virsh1; do
		cat "$T"/p1-*.json 2>/dev/null |
			jq -r --arg n "$tag" '.results[] | select(.command == $n) | .times[] | . * 1000' |
			stats >"$T/p1.$tag"
	done
	local hm hp v3m v3p v1m v1p n
	read -r hm hp <"$T/p1.hangar"
	read -r v3m v3p <"$T/p1.virsh3"
	read -r v1m v1p <"$T/p1.virsh1"
	n=$(cat "$T"/p1-*.json 2>/dev/null | jq -r '.results[] | select(.command == "hangar") | .times | length' | paste -sd+ | bc)
	row P1 "create->running, ms median / p95 ($n runs each)" "$hm / $hp" \
		"virsh vol-create-as; define; start (3 virsh runs)" "$v3m / $v3p" \
		"$(ratio "$hm" "$v3m")" "<= 1.05x" "$(yesno "$hm <= 1.05 * $v3m")"
	row P1 "(same, vs one virsh session)" "$hm / $hp" \
		"virsh 'vol-create-as; define; start' (1 connection)" "$v1m / $v1p" \
		"$(ratio "$hm" "$v1m")" "<= 1.05x" "$(yesno "$hm <= 1.05 * $v1m")"
	note "P1: the same libvirtd (namespaced, $LV_URI), the same pool (hb-lv, a directory pool), the same guest (64 MiB, 1 vCPU, an empty 1 GiB qcow2, domain type $(sed -n "s/.*<domain type='\\([a-z]*\\)'.*/\\1/p" "$T/p1v.xml" | head -1)); hyperfine -N, $P1_ROUNDS rounds of $P1_RUNS runs of each side in turn (plus one warm-up each), each side's delete as hyperfine's --prepare (not timed). hangar: one 'curl -X POST /v1/vms?wait=60 {\"start\":true}': hangard commits the VM row and its operation, a worker creates the volume (virStorageVolCreateXML, qcow2, 1 GiB, allocation 0), defines the domain (virDomainDefineXMLFlags, no schema validation: the XML is hangard's own), starts it (virDomainCreate), reads its state and commits the outcome durably (the steps on the way are committed without an fsync of their own), then curl gets the 201. virsh: the domain XML hangard wrote (virsh dumpxml --inactive of a hangar VM, with another name, no uuid, no hangar metadata), 'virsh vol-create-as hb-lv p1v.qcow2 1G --allocation 0 --format qcow2', 'virsh define' (no --validate), 'virsh start': as three virsh runs (three connections), and as one virsh run of the three commands (one connection). Delete: hangar DELETE ?wait; virsh destroy, undefine, vol-delete."
}

# ====================================================================== P2
# wrk_line URL: "rps p50_ms p99_ms"
wrk_line() {
	local h
	h=$(bearer "${2:-}")
	taskset -c "$LAST_CPU" wrk -t1 -c64 -d"${P2_SECS}s" --latency ${h:+-H "$h"} "$1" 2>&1 |
		awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		     /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
		     /^Requests\/sec/ { rps = $2 }
		     /Non-2xx/ { bad = $NF }
		     END { printf "%.0f %.2f %.2f %s\n", rps, p50, p99, bad + 0 }'
}
# hl_line TARGET PATH: "rps p50_ms p99_ms errors+non-2xx"
hl_line() {
	local out
	out=$(taskset -c "$LAST_CPU" "$BUILD/bench/httpload" -c 64 -d "$P2_SECS" "$1" "$2")
	echo "$out" >>"$T/p2-httpload.log"
	awk -v r="$(kv rps "$out")" -v a="$(kv p50_ms "$out")" -v b="$(kv p99_ms "$out")" \
		-v e="$(kv errors "$out")" -v c="$(kv codes "$out")" \
		'BEGIN { n = split(c, x, ","); bad = e; for (i = 1; i <= n; i++) if (x[i] !~ /^2/) { split(x[i], y, ":"); bad += y[2] }
		         printf "%.0f %.2f %.2f %d\n", r, a, b, bad }'
}

# best: the line with the highest first field (req/s)
best() { sort -k1,1nr | head -1; }

p2() {
	local id port ngx="$T/nginx" npid hw nw hu lu r
	if ! lv_use; then
		row P2 "GET /v1/vms/{id}" "not run" "nginx" "-" "-" ">= 0.5x" "-"
		note "P2 not run: $LV_WHY"
		return
	fi
	log "P2: GET /v1/vms/{id}: hangard vs nginx (wrk), hangard vs LXD (unix sockets)"
	id=$(api -X POST "$LV_URL/v1/vms?wait=60" \
		-d '{"name":"p2","vcpus":1,"memory_mib":64,"disk_gib":1}' | jq -r .id)
	case $id in
	'' | null)
		row P2 "GET /v1/vms/{id}" "not run" "nginx" "-" "-" ">= 0.5x" "-"
		note "P2 not run: the VM to read could not be made"
		return
		;;
	esac
	mkdir -p "$ngx/tmp"
	# nginx's worker runs as www-data: let it reach the body
	chmod 711 "$T"
	chmod 755 "$ngx"
	curl -fsS -o "$ngx/vm.json" "$LV_URL/v1/vms/$id"
	chmod 644 "$ngx/vm.json"
	port=$(lvhost_free_port 1)
	cat >"$ngx/nginx.conf" <<-EOF
		# bench/run.sh: nginx serving hangard's reply to GET /v1/vms/$id
		worker_processes 1;
		daemon off;
		pid $ngx/nginx.pid;
		error_log $ngx/error.log warn;
		events { worker_connections 1024; }
		http {
		    access_log off;
		    keepalive_requests 100000000;
		    client_body_temp_path $ngx/tmp;
		    proxy_temp_path $ngx/tmp;
		    fastcgi_temp_path $ngx/tmp;
		    uwsgi_temp_path $ngx/tmp;
		    scgi_temp_path $ngx/tmp;
		    server {
		        listen 127.0.0.1:$port;
		        location = /v1/vms/$id {
		            default_type application/json;
		            add_header Cache-Control no-store;
		            alias $ngx/vm.json;
		        }
		    }
		}
	EOF
	taskset -c 0 nginx -e "$ngx/error.log" -p "$ngx" -c "$ngx/nginx.conf" \
		</dev/null >"$ngx/out" 2>&1 &
	npid=$!
	PIDS+=" $npid"
	for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/v1/vms/$id" && break; sleep 0.1; done
	if ! cmp -s "$ngx/vm.json" <(curl -fsS "http://127.0.0.1:$port/v1/vms/$id"); then
		nw="- - - -"
		note "P2: nginx did not serve the body: $(tail -2 "$ngx/error.log" "$ngx/out" 2>/dev/null | tr '\n' ' ')"
	fi
	taskset -a -p -c 0 "$LV_PID" >/dev/null
	# a short warm-up of each, then P2_ROUNDS rounds of hangard then
	# nginx; each side's best round counts (this machine is shared: load
	# from elsewhere only ever slows a round down)
	taskset -c "$LAST_CPU" wrk -t1 -c64 -d1s ${LV_TOKEN:+-H "$(bearer "$LV_TOKEN")"} \
		"$LV_URL/v1/vms/$id" >/dev/null 2>&1
	[ -z "${nw:-}" ] && taskset -c "$LAST_CPU" wrk -t1 -c64 -d1s "http://127.0.0.1:$port/v1/vms/$id" >/dev/null 2>&1
	: >"$T/p2-h" ; : >"$T/p2-n"
	for ((r = 0; r < P2_ROUNDS; r++)); do
		wrk_line "$LV_URL/v1/vms/$id" "$LV_TOKEN" >>"$T/p2-h"
		[ -z "${nw:-}" ] && wrk_line "http://127.0.0.1:$port/v1/vms/$id" >>"$T/p2-n"
	done
	hw=$(best <"$T/p2-h")
	[ -z "${nw:-}" ] && nw=$(best <"$T/p2-n")
	stop_pid "$npid"
	set -- $hw
	local h_rps=$1 h_50=$2 h_99=$3 h_bad=$4
	set -- $nw
	local n_rps=$1 n_50=$2 n_99=$3
	row P2 "GET /v1/vms/{id} over TCP (wrk -t1 -c64 -d${P2_SECS}s, best of $P2_ROUNDS): req/s; p50/p99 ms" \
		"$h_rps; $h_50/$h_99" "nginx 1 worker, same body from a file" \
		"$n_rps; $n_50/$n_99" "$(ratio "$h_rps" "$n_rps")" ">= 0.5x" \
		"$([ "$n_rps" = - ] && echo - || yesno "$h_rps >= 0.5 * $n_rps")"
	[ "$h_bad" != 0 ] && note "P2: hangard answered $h_bad non-2xx replies under wrk"
	note "P2 over TCP hangard checks a bearer token on every request (Authorization: Bearer, an admin token made for the run; wrk sends it); over its unix socket the peer's uid (root) is the credential. Body: $(wc -c <"$ngx/vm.json") bytes of JSON (hangard's reply to GET /v1/vms/{id}, a stopped 64 MiB VM); nginx: 1 worker, access_log off, keep-alive; both servers pinned to CPU 0 (taskset, every thread), wrk and httpload to CPU $LAST_CPU; rounds alternate hangard and its peer, each side's best round is shown (all rounds: hangard TCP $(cut -d' ' -f1 "$T/p2-h" | paste -sd/), nginx $(cut -d' ' -f1 "$T/p2-n" 2>/dev/null | paste -sd/) req/s)"

	# unix sockets: the same tool against hangard and LXD
	if lxd_up; then
		taskset -a -p -c 0 "$LXD_PID" >/dev/null
		"$BUILD/bench/httpload" -c 64 -d 1 "unix:$LV_SOCK" "/v1/vms/$id" >/dev/null
		"$BUILD/bench/httpload" -c 64 -d 1 "unix:$LXD_DIR/unix.socket" "$LXD_PATH" >/dev/null
		: >"$T/p2-hu" ; : >"$T/p2-lu"
		for ((r = 0; r < P2_ROUNDS; r++)); do
			hl_line "unix:$LV_SOCK" "/v1/vms/$id" >>"$T/p2-hu"
			hl_line "unix:$LXD_DIR/unix.socket" "$LXD_PATH" >>"$T/p2-lu"
		done
		hu=$(best <"$T/p2-hu")
		lu=$(best <"$T/p2-lu")
		taskset -a -p -c "0-$LAST_CPU" "$LXD_PID" >/dev/null
		set -- $hu
		local u_rps=$1 u_50=$2 u_99=$3 u_bad=$4
		set -- $lu
		local l_rps=$1 l_50=$2 l_99=$3 l_bad=$4
		row P2 "GET over unix sockets (bench/httpload -c64 -d${P2_SECS}, best of $P2_ROUNDS): req/s; p50/p99 ms" \
			"$u_rps; $u_50/$u_99" "LXD GET $LXD_PATH" "$l_rps; $l_50/$l_99" \
			"$(ratio "$u_rps" "$l_rps")" ">= 5x" "$(yesno "$u_rps >= 5 * $l_rps")"
		[ "$u_bad" != 0 ] && note "P2: hangard answered $u_bad errors or non-2xx replies over its unix socket"
		[ "$l_bad" != 0 ] && note "P2: LXD answered $l_bad errors or non-2xx replies"
		note "P2 LXD: lxd --group root, LXD_DIR in the temp dir, own mount + network namespace; GET $LXD_PATH ($(curl -fsS --unix-socket "$LXD_DIR/unix.socket" "http://lxd$LXD_PATH" | wc -c) bytes), an instance (container, not started) made from an image built here from an empty rootfs, in a dir storage pool; all rounds: hangard $(cut -d' ' -f1 "$T/p2-hu" | paste -sd/), LXD $(cut -d' ' -f1 "$T/p2-lu" | paste -sd/) req/s. ${LXD_NOTE}"
	else
		row P2 "GET over unix sockets" "not run" "LXD" "-" "-" ">= 5x" "-"
		note "P2 LXD not run: $LXD_WHY"
	fi
	taskset -a -p -c "0-$LAST_CPU" "$LV_PID" >/dev/null
	api -o /dev/null -X DELETE "$LV_URL/v1/vms/p2?wait=60"
}

# ====================================================================== P3
p3() {
	local out line
	log "P3: placements in process"
	if ! out=$("$BUILD/bench/place_bench" 20000 2>&1); then
		row P3 "placements/s" "not run" "-" "-" "-" ">= 20,000/s, p99 <= 1 ms" "-"
		note "P3 not run: $out"
		return
	fi
	echo "$out" >"$T/p3.out"
	# | hosts | VMs | placed | placements/s | p50 us | p99 us | max us |
	while IFS='|' read -r _ hosts vms _ pps p50 p99 _; do
		hosts=${hosts// /} vms=${vms// /} pps=${pps// /} p50=${p50// /} p99=${p99// /}
		row P3 "placements in process, $hosts hosts, $vms VMs: per s; p50/p99 us" \
			"$pps; $p50/$p99" "published: Kubernetes ~800/s at 5k nodes; Nomad C1M ~3,750/s" \
			"-" "$(ratio "$pps" 3750) Nomad" ">= 20,000/s, p99 <= 1 ms" \
			"$(yesno "$pps >= 20000 && $p99 <= 1000")"
	done < <(grep -E '^\| +[0-9]' <<<"$out")
}

# ====================================================================== P4
p4_unfinished() {
	local q r
	q=$(curl -fsS "$H_URL/v1/operations?status=queued&limit=1" | jq '.operations | length')
	r=$(curl -fsS "$H_URL/v1/operations?status=running&limit=1" | jq '.operations | length')
	[ "$q" = 0 ] && [ "$r" = 0 ]
}

p4() {
	local out t0 t1 t2 acc_rate done_rate sync i raw_a raw_f raw_s
	log "P4: $P4_N creates through the API (test driver, $P4_CLIENTS clients) vs a raw SQLite loop"
	if ! hangard_up p4 test:///default "cpu_ratio = 1000
ram_ratio = 1000
disk_ratio = 1000
reserved_vcpus = 0
reserved_memory_mib = 0"; then
		row P4 "durable creates/s" "not run" "raw SQLite" "-" "-" ">= 1,000/s and >= 0.3x" "-"
		note "P4 not run: hangard did not start on test:///default"
		return
	fi
	t0=$(now_us)
	out=$("$BUILD/bench/httpload" -c "$P4_CLIENTS" -d 300 -n "$P4_N" -m POST \
		${H_TOKEN:+-H "$(bearer "$H_TOKEN")"} \
		-b '{"name":"p4-%d","vcpus":1,"memory_mib":64,"disk_gib":1}' \
		"127.0.0.1:$H_PORT" /v1/vms)
	t1=$(now_us)
	echo "$out" >"$T/p4-api.out"
	for ((i = 0; i < 6000; i++)); do
		p4_unfinished && break
		sleep 0.05
	done
	t2=$(now_us)
	local ok
	ok=$(kv codes "$out" | tr ',' '\n' | awk -F: '$1 == 201 { print $2 }')
	ok=${ok:-0}
	acc_rate=$(awk -v n="$ok" -v t="$((t1 - t0))" 'BEGIN { printf "%.0f", n / (t / 1e6) }')
	done_rate=$(awk -v n="$ok" -v t="$((t2 - t0))" 'BEGIN { printf "%.0f", n / (t / 1e6) }')
	local failed
	failed=$(curl -fsS "$H_URL/v1/operations?status=failed&limit=1000" | jq '.operations | length')
	stop_pid "$H_PID"
	[ "$ok" = "$P4_N" ] || note "P4: only $ok of $P4_N creates got 201 ($(kv codes "$out"), errors $(kv errors "$out"))"
	# the peer: median of three runs of each mode
	for mode in accept full split; do
		for i in 1 2 3; do
			"$BUILD/bench/p4_raw" "$T/raw.db" "$P4_N" "$mode" 2>/dev/null
		done | sed -n 's/.*creates_per_s=\([0-9.]*\).*/\1/p' | stats | awk '{ print $1 }' >"$T/p4.$mode"
	done
	raw_a=$(cat "$T/p4.accept") raw_f=$(cat "$T/p4.full") raw_s=$(cat "$T/p4.split")
	sync=$(grep -o 'synchronous = [A-Z]*' src/store/store.c | head -1)
	row P4 "durable creates/s, accepted (201 = VM + operation committed), $P4_CLIENTS clients" \
		"$acc_rate/s (p50/p99 $(kv p50_ms "$out")/$(kv p99_ms "$out") ms)" \
		"raw C loop: same rows, 1 tx per create" "$raw_a/s" "$(ratio "$acc_rate" "$raw_a")" \
		">= 1,000/s and >= 0.3x" "$(yesno "$acc_rate >= 1000 && $acc_rate >= 0.3 * $raw_a")"
	row P4 "durable creates/s, completed (operation succeeded)" "$done_rate/s" \
		"raw: all rows of a finished create, 1 tx" "$raw_f/s" "$(ratio "$done_rate" "$raw_f")" \
		">= 1,000/s and >= 0.3x" "$(yesno "$done_rate >= 1000 && $done_rate >= 0.3 * $raw_f")"
	note "P4: hangard with --host-uri test:///default, SQLite journal_mode=WAL, ${sync:-synchronous=?} (src/store/store.c), $P4_N POST /v1/vms (1 vCPU, 64 MiB, 1 GiB, no start) from $P4_CLIENTS keep-alive connections (bench/httpload); 'accepted' is the rate of 201 replies, 'completed' counts until every create operation had finished (${failed:-?} failed). Raw (bench/p4_raw.c, same schema made by store_open, same PRAGMAs, prepared statements, one thread, median of 3): accept = vms row + operations row + operation.queued event per transaction; full = vms row + finished operations row + the 6 events of a create per transaction; split = the rows of 'full' in 5 durable transactions, as hangard committed them before its group commit (bench/RESULTS.md, fix 2): $raw_s/s. synchronous = FULL is the setting of every durable commit; hangard commits concurrent requests together (one fsync per batch) and writes operation steps without an fsync of their own."
}

# ====================================================================== P5
p5() {
	local t0 t1 rss hwm rss2 hwm2 ms_h ms_v lxd_kb fill nready
	log "P5: hangard RSS with $P5_HOSTS hosts and $P5_VMS VMs"
	if ! fill=$("$BUILD/bench/p5_fill" "$T/p5.db" "$P5_HOSTS" "$P5_VMS" 2>&1 | tail -1) ||
		[ "${fill#p5_fill: }" = "$fill" ]; then
		row P5 "RSS" "not run" "LXD idle" "-" "-" "<= 64 MiB" "-"
		note "P5 not run: $fill"
		return
	fi
	T_P5_LAUNCH=$(now_us)
	if ! HANGARD_WAIT=300 hangard_up p5 test:///default "log_level = warn"; then
		row P5 "RSS" "did not start" "LXD idle" "-" "-" "<= 64 MiB" "-"
		note "P5: hangard did not start with $P5_HOSTS hosts in 300 s"
		return
	fi
	t1=$(now_us)
	sleep 2
	rss=$(rss_kb "$H_PID") hwm=$(hwm_kb "$H_PID")
	t0=$(now_us)
	get_all "$H_URL" /v1/hosts hosts >"$T/p5-hosts.json"
	ms_h=$((($(now_us) - t0) / 1000))
	t0=$(now_us)
	get_all "$H_URL" /v1/vms vms >"$T/p5-vms.json"
	ms_v=$((($(now_us) - t0) / 1000))
	sleep 1
	rss2=$(rss_kb "$H_PID") hwm2=$(hwm_kb "$H_PID")
	nready=$(jq '[.hosts[] | select(.state == "ready")] | length' "$T/p5-hosts.json" 2>/dev/null)
	stop_pid "$H_PID"
	lxd_kb=-
	lxd_up && lxd_kb=$LXD_RSS_KB
	row P5 "hangard RSS, $P5_HOSTS hosts + $P5_VMS VMs, idle after start: MiB (peak)" \
		"$(mib "$rss") ($(mib "$hwm"))" "LXD at idle (1 instance)" \
		"$([ "$lxd_kb" = - ] && echo "- ($LXD_WHY)" || mib "$lxd_kb")" \
		"$([ "$lxd_kb" = - ] && echo - || ratio "$rss" "$lxd_kb")" "<= 64 MiB" \
		"$(yesno "$rss <= 65536")"
	note "P5: inventory written straight into SQLite by bench/p5_fill.c (${fill#p5_fill: }); every host's URI is test:///default (libvirt's test driver, one instance shared in process by all connections; hangard still opens one connection per host); the VMs' domains do not exist there, so they are stored as observed 'unknown', which is what hangard's sweep records anyway. hangard answered GET /v1 $(awk -v a="$t1" -v b="$T_P5_LAUNCH" 'BEGIN { printf "%.1f", (a - b) / 1e6 }') s after it was started, with ${nready:-?} hosts ready; after GET /v1/hosts (every page, 1,000 a page: ${ms_h} ms in all, $(wc -c <"$T/p5-hosts.json") bytes) and GET /v1/vms (the same: ${ms_v} ms, $(wc -c <"$T/p5-vms.json") bytes): RSS $(mib "$rss2") MiB, peak $(mib "$hwm2") MiB. LXD: VmRSS of the lxd process of P2, 3 s after its setup, before any load."
}

# ====================================================================== P6
p6() {
	local out am ap ad vm vp vd
	log "P6: live migration, $P6_ROUNDS rounds (bench/migrate_bench.sh)"
	if ! BENCH_OUT=$T/p6.kv LVHOST_CAPS_CACHE=$LVHOST_CAPS_CACHE BUILD=$BUILD \
		bash bench/migrate_bench.sh "$P6_ROUNDS" >"$T/p6.out" 2>&1 || [ ! -s "$T/p6.kv" ]; then
		row P6 "live migration total" "not run" "virsh migrate" "-" "-" "<= 1.05x" "-"
		note "P6 not run: $(grep -v '^#' "$T/p6.out" | tail -2 | tr '\n' ' ')"
		return
	fi
	. "$T/p6.kv"
	row P6 "live migration, 64 MiB guest, shared storage ($((P6_ROUNDS * 2)) moves): ms median / p95; downtime" \
		"$am / $ap; $ad ms" "virsh migrate --live --p2p --persistent --undefinesource" \
		"$vm / $vp; $vd ms" "$(ratio "$am" "$vm")" "<= 1.05x" "$(yesno "$am <= 1.05 * $vm")"
}

# ====================================================================== P7
p7() {
	local id i t0 tv tg ts n0 line fifo sse spid rpid
	if ! lv_use; then
		row P7 "virsh suspend -> hangar" "not run" "-" "-" "-" "<= 1 s" "-"
		note "P7 not run: $LV_WHY"
		return
	fi
	log "P7: virsh suspend/resume -> GET and the event stream, $P7_SAMPLES samples"
	api -o "$T/p7.json" -X POST "$LV_URL/v1/vms?wait=60" \
		-d '{"name":"p7","vcpus":1,"memory_mib":64,"disk_gib":1,"start":true}'
	id=$(jq -r .id "$T/p7.json" 2>/dev/null)
	if [ "$(jq -r .state "$T/p7.json" 2>/dev/null)" != running ]; then
		row P7 "virsh suspend -> hangar" "not run" "-" "-" "-" "<= 1 s" "-"
		note "P7 not run: the guest could not be made: $(head -c 300 "$T/p7.json")"
		return
	fi
	fifo=$T/p7.fifo sse=$T/p7.sse
	mkfifo "$fifo"
	curl -sSN --max-time 600 "$LV_URL/v1/events?type=vm.*" >"$fifo" 2>/dev/null &
	spid=$!
	PIDS+=" $spid"
	while IFS= read -r line; do
		printf '%s %s\n' "${EPOCHREALTIME/[.,]/}" "$line"
	done <"$fifo" >"$sse" &
	rpid=$!
	PIDS+=" $rpid"
	sleep 0.5
	: >"$T/p7.get" ; : >"$T/p7.sse.ms"; : >"$T/p7.virsh"
	: >"$T/p7r.get" ; : >"$T/p7r.sse.ms"
	# p7_one VIRSHCMD STATE EVENT GETFILE SSEFILE
	p7_one() {
		local cmd=$1 state=$2 ev=$3 k tsse
		n0=$(grep -c "event: $ev\$" "$sse")
		t0=$(now_us)
		virsh -q -c "$LV_URI" "$cmd" "$id" >/dev/null
		tv=$(now_us)
		# at most 5 s each
		while [ $(($(now_us) - t0)) -lt 5000000 ]; do
			curl -fs "$LV_URL/v1/vms/$id" | grep -q "\"state\":\"$state\"" && break
			sleep 0.005
		done
		tg=$(now_us)
		while [ $(($(now_us) - t0)) -lt 5000000 ]; do
			[ "$(grep -c "event: $ev\$" "$sse")" -gt "$n0" ] && break
			sleep 0.005
		done
		tsse=$(grep " event: $ev\$" "$sse" | sed -n "$((n0 + 1))p" | cut -d' ' -f1)
		echo $(((tg - t0) / 1000)) >>"$4"
		[ -n "$tsse" ] && echo $(((tsse - t0) / 1000)) >>"$5"
		echo $(((tv - t0) / 1000)) >>"$T/p7.virsh"
	}
	for ((i = 0; i < P7_SAMPLES; i++)); do
		p7_one suspend paused vm.paused "$T/p7.get" "$T/p7.sse.ms"
		p7_one resume running vm.resumed "$T/p7r.get" "$T/p7r.sse.ms"
	done
	stop_pid "$spid"
	stop_pid "$rpid"
	api -o /dev/null -X DELETE "$LV_URL/v1/vms/p7?wait=60"
	local gm gp sm sp rgm rgp rsm rsp vmed ns
	read -r gm gp < <(stats <"$T/p7.get")
	read -r sm sp < <(stats <"$T/p7.sse.ms")
	read -r rgm rgp < <(stats <"$T/p7r.get")
	read -r rsm rsp < <(stats <"$T/p7r.sse.ms")
	read -r vmed _ < <(stats <"$T/p7.virsh")
	ns=$(wc -l <"$T/p7.sse.ms")
	row P7 "virsh suspend -> GET /v1/vms/{id} paused, ms median / p95 ($P7_SAMPLES)" \
		"$gm / $gp" "Nova's periodic sync: 600 s" "600000" "-" "<= 1 s" "$(yesno "$gp <= 1000")"
	row P7 "virsh suspend -> vm.paused on GET /v1/events, ms median / p95 ($ns)" \
		"$sm / $sp" "-" "-" "-" "<= 1 s" "$(yesno "${sp/-/99999} <= 1000 && $ns == $P7_SAMPLES")"
	note "P7: time from starting 'virsh suspend' (its own run, connect included, takes $vmed ms median) to GET /v1/vms/{id} showing paused (polled every ~10 ms with curl) and to the vm.paused event arriving on an open GET /v1/events?type=vm.* stream (read line by line, stamped on arrival). virsh resume the other way: GET $rgm / $rgp ms, stream $rsm / $rsp ms (median / p95)."
}

# ====================================================================== D1
d1() {
	local n=${BENCH_D1_VMS:-1000} out one all i
	log "D1: drift of one VM among $n (test driver) vs GET /v1/drift"
	if ! hangard_up d1 test:///default "cpu_ratio = 1000
ram_ratio = 1000
disk_ratio = 1000
reserved_vcpus = 0
reserved_memory_mib = 0"; then
		row D1 "drift of one VM" "not run" "GET /v1/drift" "-" "-" "-" "-"
		note "D1 not run: hangard did not start on test:///default"
		return
	fi
	out=$("$BUILD/bench/httpload" -c 8 -d 300 -n "$n" -m POST \
		${H_TOKEN:+-H "$(bearer "$H_TOKEN")"} \
		-b '{"name":"d1-%d","vcpus":1,"memory_mib":64,"disk_gib":1}' \
		"127.0.0.1:$H_PORT" /v1/vms)
	for ((i = 0; i < 6000; i++)); do
		p4_unfinished && break
		sleep 0.05
	done
	one=$("$BUILD/bench/httpload" -c 1 -d 60 -n 200 \
		${H_TOKEN:+-H "$(bearer "$H_TOKEN")"} "127.0.0.1:$H_PORT" /v1/vms/d1-7/drift)
	all=$("$BUILD/bench/httpload" -c 1 -d 120 -n 10 \
		${H_TOKEN:+-H "$(bearer "$H_TOKEN")"} "127.0.0.1:$H_PORT" /v1/drift)
	stop_pid "$H_PID"
	row D1 "GET /v1/vms/{vm}/drift, $(kv codes "$out" | sed 's/.*201:\([0-9]*\).*/\1/') VMs on a test-driver host, p50/p99" \
		"$(kv p50_ms "$one")/$(kv p99_ms "$one") ms" "GET /v1/drift (every VM, every domain listed)" \
		"$(kv p50_ms "$all") ms" "$(ratio "$(kv p50_ms "$one")" "$(kv p50_ms "$all")")" \
		"does not grow with the VMs" "-"
	note "D1: hangard on test:///default, $n VMs created through the API ($(kv codes "$out")); one VM's drift ($(kv codes "$one"), 200 requests on one connection) asks its host for its own domain (a lookup and its state), where GET /v1/drift ($(kv codes "$all"), 10 requests) lists every domain with its definition. Before issue 14 a VM's drift did the whole listing too."
}

# ================================================================== main
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "temp dir $T; rows: $ROWS"
for r in $ROWS; do
	case $r in
	P1 | p1) p1 ;;
	P2 | p2) p2 ;;
	P3 | p3) p3 ;;
	P4 | p4) p4 ;;
	P5 | p5) p5 ;;
	P6 | p6)
		# two libvirt hosts of its own: let go of ours first
		lv_down
		p6
		;;
	P7 | p7) p7 ;;
	I1 | i1) i1 ;;
	I2 | i2) i2 ;;
	I3 | i3) i3 ;;
	C1 | c1) c1 ;;
	S1 | s1) s1 ;;
	B1 | b1) b1 ;;
	B2 | b2) b2 ;;
	B3 | b3) b3 ;;
	M1 | m1) m1 ;;
	D1 | d1) d1 ;;
	*) echo "bench: unknown row '$r'" >&2 ;;
	esac
done
lv_down
lxd_down

# ================================================================= table
{
	echo "# hangar benchmarks (issue 7), $(date -u +%Y-%m-%dT%H:%MZ), $(elapsed_s) s"
	echo
	machine_header
	echo
	echo "| # | measure | hangar | peer | peer value | ratio | target | met |"
	echo "|---|---|---|---|---|---|---|---|"
	for r in P1 P2 P3 P4 P5 P6 P7 I1 I2 I3 C1 S1 M1 D1 B1 B2 B3; do
		if grep -q "^$r|" "$TABLE"; then
			grep "^$r|" "$TABLE" | awk -F'|' '{ printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; printf "\n" }'
		fi
	done
	echo
	sed 's/^/- /' "$NOTES"
} >"$T/table.md"
mkdir -p "$BUILD/bench"
cp "$T/table.md" "$BUILD/bench/table.md"
cat "$T/table.md"
