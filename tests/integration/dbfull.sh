#!/usr/bin/env bash
#
# dbfull.sh - the database's filesystem fills up under a running hangard
# (issue 6, section 2): hangard runs in its own mount namespace with its
# database directory on a small tmpfs, which is then filled to the last
# byte.  While it is full:
#   - every write (create, with and without ?wait and Idempotency-Key,
#     PATCH, pause, stop, snapshot, delete, a group, a host PATCH) gets 503
#     application/problem+json, type ...:unavailable, retryable true, a
#     detail that names the database, at once: never a 500, never a hang;
#   - reads still work, and nothing is half-done: no domain, volume or file
#     for a refused create, no pause, snapshot or delete in libvirt;
#   - a change made behind hangard's back (virsh suspend) and an operation
#     that was running when the disk filled cannot be recorded;
# then the filler is removed and, without restarting the daemon, the same
# requests work, the same Idempotency-Key is accepted anew, the missed
# state change and the interrupted operation are settled; a second fill
# and release works the same; PRAGMA integrity_check is ok before and after
# a clean SIGTERM stop, and hangard.log has no 500.
#
# All requests go over the unix socket (root is an admin there, whatever
# the access control says).  The tmpfs lives as long as hangard or a
# holder process started with it (stopped at the end), so the database can
# be checked after hangard has stopped.
# Usage: BUILD=build tests/integration/dbfull.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init dbf
T0=$SECONDS
DBDIR=$T_TMP/db
DB=$DBDIR/hangar.db
mkdir -p "$DBDIR"
HOLDER=''
# the holder keeps the namespace (and the tmpfs) alive; stop it on exit
# shellcheck disable=SC2154 # _rc is set in the trap itself
trap '_rc=$?; [ -z "$HOLDER" ] || kill "$HOLDER" 2>/dev/null; (exit $_rc); t_cleanup' EXIT

if ! command -v sqlite3 >/dev/null || ! command -v nsenter >/dev/null; then
	t_fail "sqlite3 and nsenter are installed" "apt-get install sqlite3 util-linux"
	t_summary
fi

# dbf_start: hangard_start (tests/lib/testlib.sh), but in a new mount
# namespace whose DBDIR is a 4 MiB tmpfs
dbf_start() {
	local i limit=${HANGARD_START_TIMEOUT:-30}
	HANGARD_PORT=$(lvhost_free_port 1) || return 1
	HANGARD_SOCK=$T_TMP/hangard.sock
	HANGARD_URL=http://127.0.0.1:$HANGARD_PORT
	T_BASE=$HANGARD_URL
	mkdir -p "$T_TMP/images"
	cat >"$T_TMP/hangard.conf" <<-EOF
		# written by tests/integration/dbfull.sh
		pool_name = $T_POOL
		pool_path = $T_TMP/images
		stop_timeout_s = 5
		shutdown_timeout_s = 10
		reconcile_interval_s = 2
		cpu_ratio = 16
	EOF
	rm -f "$T_TMP/holder.pid"
	# unshare execs sh, which execs hangard: $! is hangard's pid
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare --mount --propagation private sh -c '
		mount -n -t tmpfs -o size=4m,mode=0700 hangar-dbfull "$1" || exit 97
		sleep 86400 </dev/null >/dev/null 2>&1 &
		echo $! >"$2"
		shift 2
		exec "$@"' sh "$DBDIR" "$T_TMP/holder.pid" \
		"$BUILD/hangard" --listen "unix:$HANGARD_SOCK" \
		--listen "127.0.0.1:$HANGARD_PORT" --db "$DB" \
		--host-uri "$T_LV_URI" --config "$T_TMP/hangard.conf" \
		--log-level debug </dev/null >>"$T_TMP/hangard.log" 2>&1 &
	HANGARD_PID=$!
	for ((i = 0; i < limit * 10; i++)); do
		[ -z "$HOLDER" ] && [ -s "$T_TMP/holder.pid" ] && HOLDER=$(cat "$T_TMP/holder.pid")
		if ! _lvhost_alive "$HANGARD_PID"; then
			wait "$HANGARD_PID"
			t_fail "hangard starts (db on a tmpfs)" "it exited with status $? during start"
			tail -n 20 "$T_TMP/hangard.log" | sed 's/^/#   /'
			HANGARD_PID=''
			return 1
		fi
		if curl -q -fsS --max-time 2 -o /dev/null --unix-socket "$HANGARD_SOCK" \
			http://hangar/v1 2>/dev/null; then
			t_ok "hangard (db on a 4 MiB tmpfs of its own) answers GET /v1 within ${limit}s"
			return 0
		fi
		sleep 0.1
	done
	t_fail "hangard starts (db on a tmpfs)" "GET /v1 did not answer within ${limit}s"
	tail -n 20 "$T_TMP/hangard.log" | sed 's/^/#   /'
	return 1
}

# in_ns CMD...: run CMD in hangard's mount namespace (the holder's, which
# outlives hangard)
in_ns() {
	nsenter -t "$HOLDER" -m "$@"
}

# dh METHOD PATH [BODY [KEY]]: t_http over the unix socket (sets T_STATUS,
# T_BODY, T_CTYPE, T_LOCATION, T_ELAPSED, T_REQ); KEY: an Idempotency-Key
dh() {
	local method=$1 path=$2 out hdr code args=()
	T_REQ="$method $path${4:+ (key)}"
	out=$(mktemp "$T_TMP/http.XXXXXX") || return 1
	hdr=$(mktemp "$T_TMP/http.XXXXXX") || return 1
	args=(-q -sS -o "$out" -D "$hdr" -X "$method" --max-time 60
		-w '%{http_code} %{time_total}' -H 'Expect:' --unix-socket "$HANGARD_SOCK")
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	[ -n "${4:-}" ] && args+=(-H "Idempotency-Key: $4")
	code=$(curl "${args[@]}" "http://hangar$path" 2>"$out.err")
	T_STATUS=${code%% *}
	T_ELAPSED=${code#* }
	[ -n "$T_STATUS" ] || T_STATUS=000
	T_BODY=$(cat "$out")
	T_CTYPE=$(_t_header content-type "$hdr")
	T_LOCATION=$(_t_header location "$hdr")
	[ "$T_STATUS" = 000 ] && printf '# %s: no answer: %s\n' "$T_REQ" "$(_t_cut "$(cat "$out.err")")"
	rm -f "$out" "$out.err" "$hdr"
	return 0
}

# djson PATH EXPR: jq -r EXPR of GET PATH (over the socket)
djson() {
	curl -q -fsS -m 20 --unix-socket "$HANGARD_SOCK" "http://hangar$1" | jq -r "$2"
}

# refused LABEL: the last reply is the database's 503, at once
refused() {
	t_expect_problem 503 "$1: 503 problem+json"
	t_expect_json .type urn:hangar:problem:unavailable "$1: type unavailable"
	t_expect_json .retryable true "$1: retryable"
	t_match "$1: the detail names the database" "$(t_json .detail)" '[Dd]atabase'
	t_check "$1: answered at once (${T_ELAPSED} s < 10 s)" \
		awk -v t="$T_ELAPSED" 'BEGIN {exit !(t < 10)}'
}

# fill: the tmpfs to the last byte.  The WAL is checkpointed and truncated
# first, so no write finds room in what the WAL already holds.
fill() {
	local ck
	ck=$(in_ns sqlite3 -cmd '.timeout 5000' "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' 2>&1)
	t_eq "WAL checkpointed and truncated before the fill" "$ck" "0|0|0"
	in_ns dd if=/dev/zero of="$DBDIR/filler" bs=64k >/dev/null 2>&1
	in_ns dd if=/dev/zero of="$DBDIR/filler2" bs=512 >/dev/null 2>&1
	t_eq "the tmpfs is full" "$(in_ns df --output=avail -B1 "$DBDIR" | tail -n 1 | tr -d ' ')" 0
}

unfill() {
	in_ns rm -f "$DBDIR/filler" "$DBDIR/filler2"
	t_check "the filler is gone: the tmpfs has room again" \
		bash -c "[ \"\$(nsenter -t $HOLDER -m df --output=avail -B1 '$DBDIR' | tail -n 1)\" -gt 1000000 ]"
}

integrity() {
	t_eq "$1: PRAGMA integrity_check" \
		"$(in_ns sqlite3 -cmd '.timeout 5000' "$DB" 'PRAGMA integrity_check' 2>&1)" ok
}

# images: files in the pool dir; vols: volumes in the pool
images() {
	find "$T_TMP/images" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort | tr '\n' ' '
}
vols() {
	t_virsh pool-refresh "$T_POOL" >/dev/null 2>&1
	t_virsh vol-list "$T_POOL" 2>/dev/null | awk 'NF {print $1}' | sort | tr '\n' ' '
}
doms() {
	t_virsh list --all --name 2>/dev/null | grep -- "^$T_PFX" | sort | tr '\n' ' '
}

dbf_start || t_summary
t_check "the holder of hangard's namespace is known" test -n "$HOLDER"
[ -n "$HOLDER" ] || t_summary
t_eq "hangard's database is on the tmpfs" \
	"$(in_ns findmnt -n -o FSTYPE --target "$DBDIR")" tmpfs
t_eq "... which the machine does not see" "$(findmnt -n -o FSTYPE --target "$DBDIR")" \
	"$(findmnt -n -o FSTYPE --target "$T_TMP")"

VMJSON='"vcpus":1,"memory_mib":64,"disk_gib":1'
A=${T_PFX}a          # running: pause, snapshot, delete refused
B=${T_PFX}b          # running: a slow stop in flight when the disk fills
N1=${T_PFX}new1
N2=${T_PFX}new2
N3=${T_PFX}new3
G=${T_PFX}grp
dh POST "/v1/vms?wait=60" "{\"name\":\"$A\",$VMJSON,\"start\":true}"
t_expect_status 201 "create $A running"
A_ID=$(t_json .id)
dh POST "/v1/vms?wait=60" "{\"name\":\"$B\",$VMJSON,\"start\":true}"
t_expect_status 201 "create $B running"
B_ID=$(t_json .id)
integrity "before the fill"
VOLS0=$(vols)
IMAGES0=$(images)

# ============================================================ 1. full
echo "# 1. the database's filesystem fills up"
# a stop that waits 8 s for a guest that ignores ACPI, then powers off: it
# is running when the disk fills and ends while it is full
dh POST "/v1/vms/$B/stop" '{"timeout_s":8}'
t_expect_status 202 "a slow stop of $B (ACPI, then power-off after 8 s)"
STOP_OP=$(t_json .id)
t_check "the stop of $B is running" t_wait_for 10 \
	bash -c "[ \"\$(curl -q -fsS --unix-socket '$HANGARD_SOCK' http://hangar/v1/operations/$STOP_OP | jq -r .status)\" = running ]"
fill

dh POST /v1/vms "{\"name\":\"$N1\",$VMJSON,\"start\":true}"
refused "full: create $N1"
dh POST "/v1/vms?wait=30" "{\"name\":\"$N2\",$VMJSON}"
refused "full: create $N2 ?wait=30"
KEY=dbfull-$RANDOM-$$
dh POST "/v1/vms?wait=30" "{\"name\":\"$N3\",$VMJSON}" "$KEY"
refused "full: create $N3 with an Idempotency-Key"
dh PATCH "/v1/vms/$A" '{"snapshot_schedule":"@every 6h"}'
refused "full: PATCH $A"
dh POST "/v1/vms/$A/pause"
refused "full: pause $A"
dh POST "/v1/vms/$A/pause?wait=30"
refused "full: pause $A ?wait=30"
dh POST "/v1/vms/$A/stop" '{"force":true}'
refused "full: stop $A"
dh POST "/v1/vms/$A/snapshots" '{"name":"full","memory":true}'
refused "full: snapshot $A"
dh DELETE "/v1/vms/$A"
refused "full: delete $A"
dh POST /v1/groups "{\"name\":\"$G\",\"policy\":\"anti-affinity\"}"
refused "full: create group $G"
dh PATCH /v1/hosts/local '{"labels":{"rack":"full"}}'
refused "full: PATCH host local"

t_check "full: hangard is still running" _lvhost_alive "$HANGARD_PID"
# reads
dh GET /v1
t_expect_status 200 "full: GET /v1"
dh GET /v1/vms
t_expect_status 200 "full: GET /v1/vms"
t_expect_json "[.vms[].name] | sort | join(\" \")" "$A $B" "full: the VMs are $A and $B"
dh GET "/v1/vms/$A"
t_expect_status 200 "full: GET /v1/vms/$A"
t_expect_json .state running "full: $A shows running"
t_expect_json .operation null "full: $A has no operation"
t_expect_json .snapshot_schedule null "full: $A has no schedule"
dh GET "/v1/vms/$N1"
t_expect_problem 404 "full: GET /v1/vms/$N1: 404"
dh GET "/v1/vms/$A/snapshots"
t_expect_json '.snapshots | length' 0 "full: $A has no snapshot"
dh GET "/v1/operations?vm=$A"
t_expect_status 200 "full: GET /v1/operations?vm=$A"
t_expect_json '[.operations[].kind] | join(",")' create "full: $A has only its create operation"
dh GET /v1/hosts/local
t_expect_status 200 "full: GET /v1/hosts/local"
t_expect_json '.labels | length' 0 "full: host local has no label"
dh GET /v1/groups
t_expect_json '.groups | length' 0 "full: no group"
dh GET "/v1/events?since=0&follow=false"
t_expect_status 200 "full: GET /v1/events (replay)"
# nothing half-done in libvirt
t_eq "full: libvirt has only $A and $B" "$(doms)" "$A $B "
t_eq "full: no volume was made" "$(vols)" "$VOLS0"
t_eq "full: no file was made in the pool dir" "$(images)" "$IMAGES0"
t_eq "full: virsh: $A still running (no pause, stop or delete)" "$(t_domstate "$A_ID")" running
t_eq "full: virsh: $A has no snapshot" "$(t_virsh snapshot-list --name "$A_ID" 2>/dev/null | sed '/^ *$/d')" ""
# behind hangard's back: it cannot record what it sees
t_check "full: virsh suspend $A (behind hangard's back)" t_virsh suspend "$A_ID"
t_check "full: the stop of $B powers it off after its 8 s" \
	t_wait_for 20 bash -c "[ \"\$(virsh -q -c '$T_LV_URI' domstate '$B_ID' | head -n 1)\" = 'shut off' ]"
sleep 3      # a sweep (reconcile_interval_s = 2) while full
t_check "full: hangard is still running after the sweep and the stop" _lvhost_alive "$HANGARD_PID"
dh GET "/v1/vms/$A"
t_expect_status 200 "full: GET /v1/vms/$A after the suspend"

# ======================================================= 2. room again
echo "# 2. room again, no restart"
unfill
t_check "room: the missed suspend of $A is seen (observed_state paused) within 10 s" \
	t_wait_for 10 bash -c "[ \"\$(curl -q -fsS --unix-socket '$HANGARD_SOCK' http://hangar/v1/vms/$A | jq -r .observed_state)\" = paused ]"
STUCK=0
if ! t_wait_for 15 bash -c "curl -q -fsS --unix-socket '$HANGARD_SOCK' http://hangar/v1/operations/$STOP_OP | jq -e '.status != \"running\"'"; then
	STUCK=1
	t_fail "room: the stop of $B, running when the disk filled, is settled within 15 s" \
		"still $(djson "/v1/operations/$STOP_OP" '.status + " (step " + .step + ")"') $(($(date +%s) - $(date -d "$(djson "/v1/operations/$STOP_OP" .started_at)" +%s))) s after it started; hangard.log: $(grep -F "$STOP_OP" "$T_TMP/hangard.log" | grep -v ' GET ' | tail -n 3 | cut -c1-220 | tr '\n' '|')"
else
	t_ok "room: the stop of $B, running when the disk filled, is settled within 15 s"
fi
dh GET "/v1/operations/$STOP_OP"
echo "# the stop of $B: $(t_json '.status + " " + (.error.type // "") + " " + (.error.detail // "")')"
dh GET "/v1/vms/$B"
t_expect_json .observed_state stopped "room: $B shows stopped, as libvirt says"
t_expect_json .operation null "room: $B has no operation left"

dh POST "/v1/vms?wait=60" "{\"name\":\"$N1\",$VMJSON,\"start\":true}"
t_expect_status 201 "room: create $N1 (wait=60): 201"
t_expect_json .state running "room: $N1 is running"
N1_ID=$(t_json .id)
t_eq "room: virsh: $N1 running" "$(t_domstate "$N1_ID")" running
dh POST "/v1/vms?wait=60" "{\"name\":\"$N3\",$VMJSON}" "$KEY"
t_expect_status 201 "room: create $N3 with the key refused while full: 201 (a 503 is not remembered)"
dh PATCH "/v1/vms/$A" '{"snapshot_schedule":"@every 6h"}'
t_expect_status 200 "room: PATCH $A"
t_expect_json .snapshot_schedule '@every 6h' "room: $A has its schedule"
dh PATCH "/v1/vms/$A" '{"snapshot_schedule":null}'
t_expect_status 200 "room: PATCH $A back"
dh POST "/v1/vms/$A/resume?wait=60"
t_expect_status 200 "room: resume $A (suspended behind hangard's back)"
t_expect_json .status succeeded "room: the resume succeeded"
dh POST "/v1/vms/$A/pause?wait=60"
t_expect_json .status succeeded "room: pause $A"
t_eq "room: virsh: $A paused" "$(t_domstate "$A_ID")" paused
dh POST "/v1/vms/$A/resume?wait=60"
t_expect_json .status succeeded "room: resume $A"
dh POST "/v1/vms/$A/snapshots?wait=60" '{"name":"full","memory":true}'
t_expect_status 201 "room: snapshot 'full' of $A"
t_eq "room: virsh: $A has snapshot full" \
	"$(t_virsh snapshot-list --name "$A_ID" 2>/dev/null | sed '/^ *$/d')" full
dh POST /v1/groups "{\"name\":\"$G\",\"policy\":\"anti-affinity\"}"
t_expect_status 201 "room: create group $G"
dh PATCH /v1/hosts/local '{"labels":{"rack":"full"}}'
t_expect_status 200 "room: PATCH host local"
integrity "after the first fill"

# ================================================ 3. again, then clean up
echo "# 3. a second fill and release"
fill
dh POST /v1/vms "{\"name\":\"$N2\",$VMJSON}"
refused "full again: create $N2"
dh DELETE "/v1/vms/$A"
refused "full again: delete $A"
t_eq "full again: libvirt still has $A $B $N1 $N3 only" "$(doms)" \
	"$(printf '%s\n' "$A" "$B" "$N1" "$N3" | sort | tr '\n' ' ')"
unfill
dh POST "/v1/vms?wait=60" "{\"name\":\"$N2\",$VMJSON}"
t_expect_status 201 "room again: create $N2"
LEFT=''
for v in "$A" "$B" "$N1" "$N2" "$N3"; do
	if [ "$v" = "$B" ] && [ "$STUCK" = 1 ]; then
		# one failure, reported above, not five: hangard holds $B by the
		# stop it could not record until it restarts
		echo "# $B is still held by its unrecorded stop: not deleted here"
		LEFT=$B
		continue
	fi
	dh DELETE "/v1/vms/$v?wait=60"
	t_expect_json .status succeeded "room again: delete $v"
done
B_DISK=''
[ -n "$LEFT" ] && B_DISK="$B_ID.qcow2 "
dh DELETE "/v1/groups/$G"
t_expect_status 200 "room again: delete group $G"
but=''
[ -n "$LEFT" ] && but=" (but $LEFT, held)"
t_eq "at the end: no $T_PFX* domain$but" "$(doms)" "${LEFT:+$LEFT }"
t_eq "at the end: no volume in the pool$but" "$(vols)" "$B_DISK"
t_eq "at the end: no file in the pool dir$but" "$(images)" "$B_DISK"
integrity "at the end, hangard running"
n500=$(grep -cE -- '-> 5(0[0-24-9]|[1-9][0-9])$' "$T_TMP/hangard.log")
t_eq "hangard.log: no reply was a 5xx other than 503" "$n500" 0
[ "$n500" = 0 ] || grep -E -- '-> 5(0[0-24-9]|[1-9][0-9])$' "$T_TMP/hangard.log" | head -n 5 | sed 's/^/#   /'
hangard_stop
integrity "after hangard stopped"
kill "$HOLDER" 2>/dev/null
HOLDER=''
echo "# dbfull took $((SECONDS - T0)) s"
t_summary
