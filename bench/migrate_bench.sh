#!/usr/bin/env bash
#
# migrate_bench.sh - live migration through hangar's API against
# `virsh migrate` of the same kind of guest between the same two hosts, in
# one run (issue 7's P6).  Two namespaced libvirt hosts share one pool
# directory (shared storage, as both hangar and virsh then leave the disk
# where it is); guest X is hangar's, guest Y is defined with virsh from X's
# XML (another name, uuid and disk).  Each round moves X there and back
# through POST /v1/vms/X/migrate?wait, and Y there and back with
#   virsh migrate --live --p2p --persistent --undefinesource --unsafe
#         --migrateuri tcp://127.0.0.1 Y qemu+tcp://127.0.0.1:PORT/system
# (the same flags hangar uses), timing each one-way move end to end, and
# reads the downtime libvirt measured (hangar: the operation's progress;
# virsh: domjobinfo --completed on the destination).  Prints medians, p95
# and the ratio.  A benchmark: it never fails on speed.
#
# Usage: BUILD=build bench/migrate_bench.sh [ROUNDS]   (default 5)
# With BENCH_OUT=FILE it also writes the numbers there as shell
# assignments (am ap ad vm vp vd: medians, p95 and downtime in ms, for
# hangar and virsh), for bench/run.sh.  With BENCH_LOG=FILE it keeps
# hangard's log there (the temp dir is removed on exit).  Every move's time
# is printed too: the runs are noisy, the spread matters.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
ROUNDS=${1:-5}
# shellcheck source=tests/lib/lvhost.sh
. tests/lib/lvhost.sh

T=$(mktemp -d /tmp/hangar-mbench.XXXXXX)
export HANGAR_TEST_TMP=$T
HPID=''
cleanup() {
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
	[ -n "${BENCH_LOG:-}" ] && cp "$T/log" "$BENCH_LOG"
	lvhost_stop mba >/dev/null 2>&1
	lvhost_stop mbb >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

lvhost_start mba "$(lvhost_free_port 64)" >/dev/null || exit 1
UA=$LVHOST_URI
lvhost_start mbb "$(lvhost_free_port 64)" >/dev/null || exit 1
UB=$LVHOST_URI
mkdir -p "$T/pool"
P=$(lvhost_free_port 1)
H=http://127.0.0.1:$P
cat >"$T/h.conf" <<EOF
pool_name = mbench
pool_path = $T/pool
cpu_ratio = 16
EOF
# TCP needs a token: an admin one, sent by every curl below (.curlrc)
H_TOKEN=$("$BUILD/hangard" token create --db "$T/h.db" --name bench --role admin) ||
	{ echo "cannot create a token"; exit 1; }
printf 'header = "Authorization: Bearer %s"\n' "$H_TOKEN" >"$T/.curlrc"
export CURL_HOME=$T
"$BUILD/hangard" --listen "127.0.0.1:$P" --db "$T/h.db" --host-uri "$UA" \
	--config "$T/h.conf" --log-level warn >"$T/log" 2>&1 &
HPID=$!
for _ in $(seq 100); do curl -fs "$H/v1" >/dev/null && break; sleep 0.1; done
api() { curl -fsS -H 'Content-Type: application/json' "$@"; }
api -X PATCH "$H/v1/hosts/local" -d '{"storage":"bench"}' >/dev/null
api -X POST "$H/v1/hosts" -d "{\"name\":\"b\",\"uri\":\"$UB\",\"pool_path\":\"$T/pool\",\"storage\":\"bench\",\"cpu_ratio\":16}" >/dev/null || exit 1
X_ID=$(api -X POST "$H/v1/vms?wait=60" -d '{"name":"bx","memory_mib":64,"disk_gib":1,"start":true,"host":"local"}' | jq -r .id)
[ -n "$X_ID" ] && [ "$X_ID" != null ] || { echo "cannot create the guest"; exit 1; }

# Y: X's definition with its own name, uuid and disk
qemu-img create -f qcow2 "$T/pool/by.qcow2" 1G >/dev/null
virsh -q -c "$UA" dumpxml "$X_ID" |
	sed -e "s|<name>bx</name>|<name>by</name>|" -e '/<uuid>/d' \
	    -e "s|$T/pool/$X_ID.qcow2|$T/pool/by.qcow2|" \
	    -e '/<hangar:vm/d' >"$T/by.xml"
virsh -q -c "$UA" define "$T/by.xml" >/dev/null && virsh -q -c "$UA" start by >/dev/null ||
	{ echo "cannot define the virsh guest"; exit 1; }

HOSTS=(local b)
URIS=("$UA" "$UB")
api_ms=() virsh_ms=() api_down=() virsh_down=()
for ((r = 0; r < ROUNDS; r++)); do
	for dir in 1 0; do
		t0=$(now_ms)
		out=$(api -X POST "$H/v1/vms/bx/migrate?wait=300" -d "{\"host\":\"${HOSTS[$dir]}\"}")
		t1=$(now_ms)
		[ "$(jq -r .status <<<"$out")" = succeeded ] || { echo "api migrate failed: $out"; exit 1; }
		api_ms+=($((t1 - t0)))
		api_down+=("$(jq -r '.progress.downtime_ms // -1' <<<"$out")")
		from=${URIS[$((1 - dir))]}
		to=${URIS[$dir]}
		t0=$(now_ms)
		virsh -q -c "$from" migrate --live --p2p --persistent --undefinesource \
			--unsafe --migrateuri tcp://127.0.0.1 by "$to" >/dev/null ||
			{ echo "virsh migrate failed"; exit 1; }
		t1=$(now_ms)
		virsh_ms+=($((t1 - t0)))
		virsh_down+=("$(virsh -q -c "$to" domjobinfo --completed by 2>/dev/null |
			awk -F: '/^Total downtime/ {gsub(/[^0-9]/, "", $2); print $2}')")
	done
done

stats() { # median p95 of the arguments
	printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		p = a[int(NR * 0.95 + 0.999)]; if (p == "") p = a[NR]
		printf "%d %d", m, p }'
}
read -r am ap <<<"$(stats "${api_ms[@]}")"
read -r vm vp <<<"$(stats "${virsh_ms[@]}")"
read -r ad _ <<<"$(stats "${api_down[@]}")"
read -r vd _ <<<"$(stats "${virsh_down[@]:-0}")"
echo "P6 live migration, 64 MiB guest, shared storage, $((ROUNDS * 2)) moves each"
printf '  %-28s %8s %8s %12s\n' "" "median" "p95" "downtime"
printf '  %-28s %6d ms %6d ms %9d ms\n' "hangar POST .../migrate?wait" "$am" "$ap" "$ad"
printf '  %-28s %6d ms %6d ms %9d ms\n' "virsh migrate (same flags)" "$vm" "$vp" "$vd"
echo "  every move, hangar: ${api_ms[*]} ms"
echo "  every move, virsh:  ${virsh_ms[*]} ms"
awk -v a="$am" -v v="$vm" 'BEGIN { printf "  ratio hangar/virsh (median): %.3f  (target <= 1.05)\n", a / v }'
if [ -n "${BENCH_OUT:-}" ]; then
	printf 'am=%d ap=%d ad=%d vm=%d vp=%d vd=%d\n' "$am" "$ap" "$ad" "$vm" "$vp" "$vd" >"$BENCH_OUT"
fi
