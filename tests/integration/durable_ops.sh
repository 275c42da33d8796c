#!/usr/bin/env bash
#
# durable_ops.sh - operations that survive a crash, are not done twice, and
# can be called off:
#   1. hangard SIGKILLed while its workers are inside libvirt calls (the
#      libvirt host is frozen with SIGSTOP first, so the kill lands in the
#      middle of a create, a delete and snapshots for certain), then
#      started again: every interrupted operation is settled and says how,
#      nothing stays queued or running, and the store equals libvirt
#      (domains, volumes, snapshots; the database passes integrity_check).
#      Once with nothing more done by libvirt, once with libvirt finishing
#      the work after hangard died (done here with virsh, as the frozen
#      libvirtd would have), once with a create killed while libvirt really
#      is starting its domain.
#   2. Idempotency-Key: a retried create, snapshot and pause act once and
#      get the first reply again; a different body with the same key is
#      422; a bad key is 400; a key whose first request still runs is 409.
#   3. DELETE /v1/operations/{id}: a queued create (one worker, kept busy
#      by a start held in a frozen libvirtd; a slow stop waiting alongside
#      holds none) leaves nothing behind; the running stop and a
#      running create stop part-way; a running start, a finished operation
#      and an unknown id are refused.
# Usage: BUILD=build tests/integration/durable_ops.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init dur
T0=$SECONDS
# room for a dozen 1-vCPU guests on a small machine
HANGARD_CONF_EXTRA='cpu_ratio = 16'

# --- the libvirt host's libvirtd, to freeze (SIGSTOP) and thaw (SIGCONT)
LV_PID=''
LV_FROZEN=0
if [ -n "${LVHOST_DIR:-}" ] && [ "$(cat "$LVHOST_DIR/uri" 2>/dev/null)" = "$T_LV_URI" ]; then
	LV_PID=$(_lvhost_pidfile "$LVHOST_DIR/libvirtd.pid")
fi
if [ -z "$LV_PID" ]; then
	# a host of someone else's: whoever listens on the URI's port
	lv_port=${T_LV_URI##*:}
	lv_port=${lv_port%%/*}
	LV_PID=$(ss -Htlnp "sport = :$lv_port" 2>/dev/null |
		sed -n 's/.*"libvirtd",pid=\([0-9]*\).*/\1/p' | head -n 1)
fi
if [ -z "$LV_PID" ] || [ "$(cat "/proc/$LV_PID/comm" 2>/dev/null)" != libvirtd ]; then
	t_fail "find the libvirtd of $T_LV_URI" "no libvirtd pid (LVHOST_DIR=${LVHOST_DIR:-unset})"
	t_summary
fi
echo "# libvirtd of $T_LV_URI: pid $LV_PID"

lv_freeze() {
	LV_FROZEN=1
	kill -STOP "$LV_PID"
}

lv_thaw() {
	kill -CONT "$LV_PID" 2>/dev/null
	LV_FROZEN=0
}

# whatever happens, libvirtd runs again before t_cleanup talks to it
# shellcheck disable=SC2154 # _rc is set in the trap itself
trap '_rc=$?; [ "$LV_FROZEN" = 0 ] || kill -CONT "$LV_PID" 2>/dev/null; (exit $_rc); t_cleanup' EXIT

hangard_start || t_summary

# crash: SIGKILL hangard, as a power cut would stop it
crash() {
	kill -KILL "$HANGARD_PID" 2>/dev/null
	wait "$HANGARD_PID" 2>/dev/null
	HANGARD_PID=''
}

# op_is ID STATUS: the operation has that status now
op_is() {
	[ "$(curl -fsS -m 10 "$HANGARD_URL/v1/operations/$1" | jq -r .status)" = "$2" ]
}

# images: the files in hangard's pool directory, one per line
images() {
	find "$T_TMP/images" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort
}

# ih METHOD URL KEY [BODY]: t_http with an Idempotency-Key header: KEY ""
# sends the header empty.  Also sets T_REPLAYED (the Idempotent-Replayed
# header, "" when absent).
ih() {
	local method=$1 url=$2 key=$3 out hdr args=()
	[[ $url == /* ]] && url="$T_BASE$url"
	T_REQ="$method $2 (Idempotency-Key)"
	out=$(mktemp "$T_TMP/http.XXXXXX") || return 1
	hdr=$(mktemp "$T_TMP/http.XXXXXX") || return 1
	args=(-sS -o "$out" -D "$hdr" -X "$method" --max-time "$T_HTTP_TIMEOUT"
		-w '%{http_code}' -H 'Expect:')
	if [ -z "$key" ]; then
		args+=(-H 'Idempotency-Key;')
	else
		args+=(-H "Idempotency-Key: $key")
	fi
	[ "$#" -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	T_STATUS=$(curl "${args[@]}" "$url" 2>/dev/null)
	[ -n "$T_STATUS" ] || T_STATUS=000
	T_BODY=$(cat "$out")
	T_CTYPE=$(_t_header content-type "$hdr")
	T_LOCATION=$(_t_header location "$hdr")
	T_REPLAYED=$(_t_header idempotent-replayed "$hdr")
	rm -f "$out" "$hdr"
}

# canon: JSON on stdin, keys sorted, compact (to compare two replies)
canon() {
	jq -cS . 2>/dev/null
}

# consistent LABEL: the store and libvirt agree on everything (6 checks)
consistent() {
	local label=$1 ids id rows doms vols want bad='' a l
	t_http GET "/v1/operations?status=running"
	t_expect_json '.operations | length' 0 "$label: no operation is left running"
	t_http GET "/v1/operations?status=queued"
	t_expect_json '.operations | length' 0 "$label: no operation is left queued"
	t_http GET /v1/vms
	ids=$(t_json '.vms[].id')
	rows=$(t_json '.vms[] | .name + " " + .id' | sort)
	for id in $ids; do
		t_virsh domstate "$id" >/dev/null 2>&1 || bad+=" $id"
	done
	t_eq "$label: every VM row's domain exists in libvirt" "$bad" ""
	doms=$(for d in $(t_virsh list --all --name 2>/dev/null | grep -- "^$T_PFX"); do
		echo "$d $(t_virsh domuuid "$d" 2>/dev/null | sed '/^$/d')"
	done | sort)
	t_eq "$label: the $T_PFX* domains in libvirt are exactly the VM rows" \
		"$(tr '\n' ' ' <<<"$doms")" "$(tr '\n' ' ' <<<"$rows")"
	t_virsh pool-refresh "$T_POOL" >/dev/null 2>&1
	vols=$(t_virsh vol-list "$T_POOL" 2>/dev/null | awk 'NF {print $1}' | sort | tr '\n' ' ')
	want=$(for id in $ids; do echo "$id.qcow2"; done | sort | tr '\n' ' ')
	t_eq "$label: the volumes in pool $T_POOL are exactly the VM rows' disks" "$vols" "$want"
	t_eq "$label: the pool directory holds exactly those disks" \
		"$(images | tr '\n' ' ')" "$want"
	bad=''
	for id in $ids; do
		a=$(curl -fsS -m 10 "$HANGARD_URL/v1/vms/$id/snapshots" |
			jq -r '.snapshots[] | .name + ":" + .status' | sort | tr '\n' ' ')
		l=$(t_virsh snapshot-list --name "$id" 2>/dev/null | sed '/^ *$/d; s/$/:ready/' |
			sort | tr '\n' ' ')
		[ "$a" = "$l" ] || bad+="$id: hangar '$a', libvirt '$l'; "
	done
	t_eq "$label: each VM's snapshots in the store equal libvirt's (all ready)" "$bad" ""
	t_eq "$label: PRAGMA integrity_check of hangar.db" \
		"$(sqlite3 -cmd '.timeout 5000' "$T_TMP/hangar.db" 'PRAGMA integrity_check' 2>&1)" ok
}

# wait_running LABEL OP...: each operation reaches status running
wait_running() {
	local label=$1 op
	shift
	for op in "$@"; do
		t_check "$label: operation $op is running (blocked in libvirt)" \
			t_wait_for 10 op_is "$op" running
	done
}

# settled OP STATUS [ERRTYPE] LABEL: after a restart, the operation ended
# with STATUS (and, when failed, an error of type ERRTYPE)
settled() {
	local op=$1 st=$2 et=$3 label=$4
	t_http GET "/v1/operations/$op?wait=30"
	t_expect_status 200 "$label: the operation is finished"
	t_expect_json .status "$st" "$label: it $st"
	if [ -n "$et" ]; then
		t_expect_json .error.type "urn:hangar:problem:$et" "$label: its error is $et"
		t_match "$label: the error detail says what happened" "$(t_json .error.detail)" \
			'daemon stopped'
	else
		t_expect_json .error null "$label: no error"
	fi
}

if ! command -v sqlite3 >/dev/null; then
	t_fail "the sqlite3 CLI is installed" "apt-get install sqlite3"
	t_summary
fi

VMJSON='"memory_mib":64,"disk_gib":1,"vcpus":1'
K=${T_PFX}keep      # stopped: disk snapshots
R=${T_PFX}run       # running: snapshots with memory, pause, the slow stop
D1=${T_PFX}del1
D2=${T_PFX}del2
C1=${T_PFX}c1
C2=${T_PFX}c2
C3=${T_PFX}c3

for v in "$K" "$R" "$D1" "$D2"; do
	start=true
	[ "$v" = "$K" ] && start=false
	t_http POST "/v1/vms?wait=60" "{\"name\":\"$v\",$VMJSON,\"start\":$start}"
	t_expect_status 201 "create $v (start $start)"
done
K_ID=$(curl -fsS "$HANGARD_URL/v1/vms/$K" | jq -r .id)
R_ID=$(curl -fsS "$HANGARD_URL/v1/vms/$R" | jq -r .id)
D1_ID=$(curl -fsS "$HANGARD_URL/v1/vms/$D1" | jq -r .id)
D2_ID=$(curl -fsS "$HANGARD_URL/v1/vms/$D2" | jq -r .id)
t_eq "virsh: $R running before the crashes" "$(t_domstate "$R_ID")" running
t_http POST "/v1/vms/$K/snapshots?wait=60" '{"name":"base"}'
t_expect_status 201 "snapshot base of $K"
consistent "before any crash"

# ============================================================ 1. crashes
# --- crash A: libvirt frozen under a create, a delete and two snapshots;
# libvirt does nothing more for them after hangard dies
echo "# crash A: create, delete, snapshot (stopped), snapshot with memory (running)"
t1=$SECONDS
lv_freeze
# the create waits for its end, with a key: its reply is never sent
C1_KEY=c1-$RANDOM-$$
C1_BODY="{\"name\":\"$C1\",$VMJSON,\"start\":true}"
curl -sS -o /dev/null -m 60 -X POST -H 'Expect:' -H "Idempotency-Key: $C1_KEY" \
	-H 'Content-Type: application/json' --data-binary "$C1_BODY" \
	"$HANGARD_URL/v1/vms?wait=60" 2>/dev/null &
C1_CURL=$!
t_check "A: create $C1 (wait=60, with a key) is journaled with libvirt frozen" \
	t_wait_for 10 bash -c "curl -fsS '$HANGARD_URL/v1/operations?vm=$C1' | jq -e '.operations | length == 1'"
t_http GET "/v1/operations?vm=$C1"
C1_ID=$(t_json '.operations[0].vm_id')
C1_OP=$(t_json '.operations[0].id')
t_http DELETE "/v1/vms/$D1"
t_expect_status 202 "A: delete $D1 accepted with libvirt frozen"
D1_OP=$(t_json .id)
t_http POST "/v1/vms/$K/snapshots" '{"name":"s-lost","memory":false,"description":"cut short"}'
t_expect_status 202 "A: snapshot s-lost of stopped $K accepted"
t_expect_json .kind snapshot_create "A: the reply is a snapshot_create operation"
KS_OP=$(t_json .id)
t_http POST "/v1/vms/$R/snapshots" '{"name":"m-lost","memory":true}'
t_expect_status 202 "A: snapshot m-lost with memory of running $R accepted"
RS_OP=$(t_json .id)
wait_running A "$C1_OP" "$D1_OP" "$KS_OP" "$RS_OP"
t_http GET "/v1/vms/$K/snapshots"
t_expect_json '[.snapshots[] | select(.name == "s-lost") | .status] | join(",")' creating \
	"A: s-lost is listed as creating while it is taken"
crash
lv_thaw
wait "$C1_CURL"
hangard_start || t_summary

settled "$C1_OP" failed interrupted "A: create $C1"
t_http GET "/v1/vms/$C1"
t_expect_problem 404 "A: $C1 was rolled back: no row"
t_eq "A: virsh: no domain $C1" "$(t_domstate "$C1_ID")" absent
ih POST "/v1/vms?wait=60" "$C1_KEY" "$C1_BODY"
t_expect_status 202 "A: retrying the create with its key after the restart: 202"
t_expect_json .id "$C1_OP" "A: ... with the operation the first request recorded"
t_expect_json .status failed "A: ... which failed"
t_eq "A: ... marked replayed" "$T_REPLAYED" true
t_http GET "/v1/vms/$C1"
t_expect_problem 404 "A: the retry made no VM $C1"
settled "$D1_OP" succeeded "" "A: delete $D1"
t_http GET "/v1/vms/$D1"
t_expect_problem 404 "A: $D1 is deleted: no row"
t_eq "A: virsh: no domain $D1" "$(t_domstate "$D1_ID")" absent
settled "$KS_OP" failed interrupted "A: snapshot s-lost"
t_http GET "/v1/vms/$K/snapshots/s-lost"
t_expect_problem 404 "A: s-lost was forgotten"
settled "$RS_OP" failed interrupted "A: snapshot m-lost"
t_http GET "/v1/vms/$R/snapshots/m-lost"
t_expect_problem 404 "A: m-lost was forgotten"
t_http GET "/v1/vms/$R"
t_expect_json .state running "A: $R shows running"
t_expect_json .operation null "A: $R has no operation left"
t_eq "A: virsh: $R still running" "$(t_domstate "$R_ID")" running
consistent "A"
t_http POST "/v1/vms/$K/snapshots?wait=60" '{"name":"s-lost"}'
t_expect_status 201 "A: the name s-lost is free again"
echo "# crash A took $((SECONDS - t1)) s"

# --- crash B: the same, but libvirt carries out what it was asked after
# hangard died (done here with virsh): the disk, domain and start of a
# create, the power-off and undefine of a delete, both snapshots
echo "# crash B: libvirt finishes the interrupted calls after hangard died"
t1=$SECONDS
lv_freeze
t_http POST /v1/vms "{\"name\":\"$C2\",$VMJSON,\"start\":true}"
t_expect_status 201 "B: create $C2 accepted with libvirt frozen"
C2_ID=$(t_json .id)
C2_OP=$(t_json .operation)
t_http DELETE "/v1/vms/$D2"
t_expect_status 202 "B: delete $D2 accepted"
D2_OP=$(t_json .id)
t_http POST "/v1/vms/$K/snapshots" '{"name":"s-late"}'
t_expect_status 202 "B: snapshot s-late of $K accepted"
KS_OP=$(t_json .id)
t_http POST "/v1/vms/$R/snapshots" '{"name":"m-late","memory":true}'
t_expect_status 202 "B: snapshot m-late of $R accepted"
RS_OP=$(t_json .id)
wait_running B "$C2_OP" "$D2_OP" "$KS_OP" "$RS_OP"
crash
lv_thaw
dtype=$(t_expected_domain_type)
cat >"$T_TMP/c2.xml" <<EOF
<domain type='$dtype'>
  <name>$C2</name>
  <uuid>$C2_ID</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$T_TMP/images/$C2_ID.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
EOF
t_check "B: libvirt makes $C2's disk after the crash" \
	t_virsh vol-create-as "$T_POOL" "$C2_ID.qcow2" 1G --format qcow2
t_check "B: libvirt defines $C2 after the crash" t_virsh define "$T_TMP/c2.xml"
t_check "B: libvirt starts $C2 after the crash" t_virsh start "$C2_ID"
t_check "B: libvirt powers $D2 off after the crash" t_virsh destroy "$D2_ID"
t_check "B: libvirt undefines $D2 after the crash" t_virsh undefine "$D2_ID"
t_check "B: libvirt takes s-late of $K after the crash" \
	t_virsh snapshot-create-as "$K_ID" s-late
t_check "B: libvirt takes m-late (with memory) of $R after the crash" \
	t_virsh snapshot-create-as "$R_ID" m-late
hangard_start || t_summary

settled "$C2_OP" failed interrupted "B: create $C2"
t_http GET "/v1/vms/$C2"
t_expect_problem 404 "B: $C2 was rolled back: no row"
t_eq "B: virsh: the domain libvirt made for $C2 is gone" "$(t_domstate "$C2_ID")" absent
settled "$D2_OP" succeeded "" "B: delete $D2"
t_http GET "/v1/vms/$D2"
t_expect_problem 404 "B: $D2 is deleted: no row"
settled "$KS_OP" succeeded "" "B: snapshot s-late (made by libvirt) is adopted"
t_http GET "/v1/vms/$K/snapshots/s-late"
t_expect_status 200 "B: s-late is in the store"
t_expect_json .status ready "B: s-late is ready"
t_expect_json .parent "$(t_virsh snapshot-parent "$K_ID" s-late 2>/dev/null | sed '/^$/d')" \
	"B: s-late's parent is libvirt's"
settled "$RS_OP" succeeded "" "B: snapshot m-late (made by libvirt) is adopted"
t_http GET "/v1/vms/$R/snapshots/m-late"
t_expect_json .status ready "B: m-late is ready"
t_expect_json .vm_state running "B: m-late was taken running"
t_eq "B: virsh: $R still running" "$(t_domstate "$R_ID")" running
consistent "B"
echo "# crash B took $((SECONDS - t1)) s"

# --- crash C: no freeze; hangard killed while libvirt really is starting
# the new domain (the slowest step of a create): either it had finished,
# or it is rolled back, whatever libvirt did after the kill
echo "# crash C: a create killed during its start, libvirt not frozen"
t1=$SECONDS
t_http POST /v1/vms "{\"name\":\"$C3\",$VMJSON,\"start\":true}"
t_expect_status 201 "C: create $C3 accepted"
C3_ID=$(t_json .id)
C3_OP=$(t_json .operation)
seen=''
for ((i = 0; i < 500; i++)); do
	seen=$(curl -fsS -m 5 "$HANGARD_URL/v1/operations/$C3_OP" | jq -r '.status + "/" + .step')
	case $seen in
	running/starting | succeeded/* | failed/* | cancelled/*) break ;;
	esac
	sleep 0.01
done
crash
echo "# C: killed hangard when the create was '$seen'"
t_match "C: the create got as far as starting before the kill" "$seen" '^(running/starting|succeeded/)'
hangard_start || t_summary
t_http GET "/v1/operations/$C3_OP?wait=30"
t_expect_status 200 "C: the create of $C3 is settled"
st=$(t_json .status)
if [ "$st" = succeeded ]; then
	echo "# C: the create had finished before the kill"
	t_http GET "/v1/vms/$C3"
	t_expect_status 200 "C: $C3 (finished before the kill) exists"
	t_eq "C: virsh: $C3 running" "$(t_domstate "$C3_ID")" running
else
	t_eq "C: the interrupted create of $C3 failed" "$st" failed
	t_expect_json .error.type urn:hangar:problem:interrupted "C: its error is interrupted"
	t_http GET "/v1/vms/$C3"
	t_expect_problem 404 "C: $C3 was rolled back: no row"
	t_eq "C: virsh: no domain $C3" "$(t_domstate "$C3_ID")" absent
fi
consistent "C"
echo "# crash C took $((SECONDS - t1)) s"

# ======================================================= 2. idempotency
echo "# Idempotency-Key"
I=${T_PFX}idem
KEY=create-$RANDOM-$$
ih POST "/v1/vms?wait=60" "$KEY" "{\"name\":\"$I\",$VMJSON}"
t_expect_status 201 "create $I with an Idempotency-Key: 201"
I_ID=$(t_json .id)
first=$(canon <<<"$T_BODY")
first_loc=$T_LOCATION
t_eq "the first reply is not marked replayed" "$T_REPLAYED" ""
# the same request, other whitespace and key order
ih POST "/v1/vms?wait=60" "$KEY" "{ \"disk_gib\": 1, \"vcpus\":1, \"memory_mib\" : 64, \"name\": \"$I\" }"
t_expect_status 201 "the same key and body again: 201 again"
t_eq "the retry says Idempotent-Replayed: true" "$T_REPLAYED" true
t_expect_json .id "$I_ID" "the retry names the same VM id"
t_eq "the retry's body is the first reply" "$(canon <<<"$T_BODY")" "$first"
t_eq "the retry's Location is the first one" "$T_LOCATION" "$first_loc"
t_http GET /v1/vms
t_expect_json "[.vms[] | select(.name == \"$I\")] | length" 1 "one VM named $I in the store"
t_eq "one domain named $I in libvirt" \
	"$(t_virsh list --all --name 2>/dev/null | grep -cx -- "$I")" 1
t_http GET "/v1/operations?vm=$I"
t_expect_json '[.operations[] | select(.kind == "create")] | length' 1 "one create operation for $I"
ih POST "/v1/vms?wait=60" "$KEY" "{\"name\":\"$I\",$VMJSON,\"start\":true}"
t_expect_problem 422 "the same key with another body: 422"
t_expect_json .field Idempotency-Key "the 422 names Idempotency-Key"
t_eq "the 422 is not a replay" "$T_REPLAYED" ""

# a snapshot, twice with one key
KEY=snap-$RANDOM-$$
ih POST "/v1/vms/$I/snapshots?wait=60" "$KEY" '{"name":"once","memory":false,"description":"k"}'
t_expect_status 201 "snapshot 'once' of $I with a key: 201"
first=$(canon <<<"$T_BODY")
ih POST "/v1/vms/$I/snapshots?wait=60" "$KEY" '{"description":"k","memory":false,"name":"once"}'
t_expect_status 201 "the same snapshot request again: 201 (not 409 name taken)"
t_eq "the snapshot retry is marked replayed" "$T_REPLAYED" true
t_eq "the snapshot retry's body is the first reply" "$(canon <<<"$T_BODY")" "$first"
t_http GET "/v1/operations?vm=$I"
t_expect_json '[.operations[] | select(.kind == "snapshot_create")] | length' 1 \
	"one snapshot_create operation for $I"
t_eq "libvirt has the snapshot once" "$(t_virsh snapshot-list --name "$I_ID" 2>/dev/null | sed '/^ *$/d')" once

# a pause, twice with one key
KEY=pause-$RANDOM-$$
ih POST "/v1/vms/$R/pause?wait=60" "$KEY"
t_expect_status 200 "pause $R with a key: 200"
t_expect_json .status succeeded "the pause succeeded"
P_OP=$(t_json .id)
ih POST "/v1/vms/$R/pause?wait=60" "$KEY"
t_expect_status 200 "the same pause again: 200 (not 409 already paused)"
t_eq "the pause retry is marked replayed" "$T_REPLAYED" true
t_expect_json .id "$P_OP" "the pause retry names the same operation"
t_http GET "/v1/operations?vm=$R"
t_expect_json '[.operations[] | select(.kind == "pause")] | length' 1 "one pause operation for $R"
t_eq "virsh: $R paused" "$(t_domstate "$R_ID")" paused
t_http POST "/v1/vms/$R/resume?wait=60"
t_expect_json .status succeeded "resume $R"

# a refused request is not remembered: the key can be used again
KEY=retry-$RANDOM-$$
ih POST "/v1/vms" "$KEY" '{"name":"NOT VALID","memory_mib":64}'
t_expect_problem 400 "a bad create with a key: 400"
ih POST "/v1/vms" "$KEY" '{"name":"NOT VALID","memory_mib":64}'
t_expect_problem 400 "the same bad create again: 400 again, not a replay"
t_eq "the 400 is not marked replayed" "$T_REPLAYED" ""
I2=${T_PFX}idem2
ih POST "/v1/vms?wait=60" "$KEY" "{\"name\":\"$I2\",$VMJSON}"
t_expect_status 201 "the key of a refused request serves a new one: 201, not 422"
t_eq "... and it is no replay" "$T_REPLAYED" ""

# a delete, twice with one key: the second is no 404
KEY=delete-$RANDOM-$$
ih DELETE "/v1/vms/$I2?wait=60" "$KEY"
t_expect_status 200 "delete $I2 with a key: 200"
t_expect_json .status succeeded "the delete succeeded"
DEL_OP=$(t_json .id)
ih DELETE "/v1/vms/$I2?wait=60" "$KEY"
t_expect_status 200 "the same delete again: 200 (not 404)"
t_eq "the delete retry is marked replayed" "$T_REPLAYED" true
t_expect_json .id "$DEL_OP" "the delete retry names the same operation"

# bad keys
P="{\"name\":\"${T_PFX}p\",$VMJSON}"
ih POST /v1/placements "" "$P"
t_expect_problem 400 "an empty Idempotency-Key: 400"
t_expect_json .field Idempotency-Key "the 400 names Idempotency-Key"
ih POST /v1/placements "$(printf 'k%.0s' $(seq 256))" "$P"
t_expect_problem 400 "a 256-character Idempotency-Key: 400"
t_expect_json .field Idempotency-Key "the 400 names Idempotency-Key"
ih POST /v1/placements "two words" "$P"
t_expect_problem 400 "an Idempotency-Key with a space: 400"
ih POST /v1/placements "caf$(printf '\xc3\xa9')" "$P"
t_expect_problem 400 "an Idempotency-Key with a non-ASCII byte: 400"
ih POST /v1/placements "$(printf 'k%.0s' $(seq 255))" "$P"
t_expect_status 200 "a 255-character Idempotency-Key is fine: 200"

# a key whose first request is still being processed: 409, retryable
I3=${T_PFX}idem3
KEY=pending-$RANDOM-$$
lv_freeze
curl -sS -o "$T_TMP/pending.body" -w '%{http_code}' -m 60 -X POST -H 'Expect:' \
	-H "Idempotency-Key: $KEY" -H 'Content-Type: application/json' \
	--data-binary "{\"name\":\"$I3\",$VMJSON}" "$HANGARD_URL/v1/vms?wait=30" \
	>"$T_TMP/pending.code" 2>/dev/null &
PEND_PID=$!
t_check "the first create of $I3 is under way (libvirt frozen)" t_wait_for 10 bash -c \
	"curl -fsS '$HANGARD_URL/v1/operations?vm=$I3' | jq -e '.operations[0].status == \"running\"'"
ih POST "/v1/vms?wait=30" "$KEY" "{\"name\":\"$I3\",$VMJSON}"
lv_thaw
t_expect_problem 409 "the same key while the first request runs: 409"
t_expect_json .retryable true "the 409 is retryable"
wait "$PEND_PID"
t_eq "the first request of $I3 ends 201" "$(cat "$T_TMP/pending.code")" 201
I3_ID=$(jq -r .id "$T_TMP/pending.body")
ih POST "/v1/vms?wait=30" "$KEY" "{\"name\":\"$I3\",$VMJSON}"
t_expect_status 201 "once it is done, the retry gets its 201"
t_expect_json .id "$I3_ID" "... with the same VM id"
t_eq "... marked replayed" "$T_REPLAYED" true
t_http GET /v1/vms
t_expect_json "[.vms[] | select(.name == \"$I3\")] | length" 1 "one VM named $I3"
consistent "after the idempotent requests"

# ============================================================ 3. cancel
echo "# cancel, with one worker"
hangard_stop
HANGARD_CONF_EXTRA=$'cpu_ratio = 16\nworkers = 1'
hangard_start || t_summary
B=${T_PFX}queued
C4=${T_PFX}c4
H=${T_PFX}hold
t_http POST "/v1/vms?wait=60" "{\"name\":\"$H\",$VMJSON}"
t_expect_status 201 "create $H (stopped), to hold the worker later"
t_http POST "/v1/vms/$R/stop" '{"timeout_s":120}'
t_expect_status 202 "a slow stop of $R (its guest ignores ACPI)"
STOP_OP=$(t_json .id)
t_check "the stop is running" t_wait_for 10 op_is "$STOP_OP" running
# a waiting stop holds no worker: the one worker is free for a start,
# which libvirt, frozen, then holds
lv_freeze
t_http POST "/v1/vms/$H/start"
t_expect_status 202 "start $H while the stop waits"
H_OP=$(t_json .id)
t_check "the start of $H runs (the waiting stop left the worker free)" \
	t_wait_for 10 op_is "$H_OP" running
t_http POST /v1/vms "{\"name\":\"$B\",$VMJSON,\"start\":true}"
t_expect_status 201 "create $B while the worker is busy: 201"
B_ID=$(t_json .id)
B_OP=$(t_json .operation)
sleep 1
t_http GET "/v1/operations/$B_OP"
t_expect_json .status queued "the create of $B stays queued"
t_http DELETE "/v1/operations/$B_OP"
t_expect_status 200 "cancel the queued create: 200"
t_expect_json .status cancelled "the queued create is cancelled"
t_expect_json .kind create "the reply is the create operation"
lv_thaw
t_http GET "/v1/operations/$H_OP?wait=30"
t_expect_json .status succeeded "the start of $H ends once libvirt runs again"
t_http GET "/v1/operations/$B_OP"
t_expect_json .status cancelled "GET says the create is cancelled"
t_http GET "/v1/vms/$B"
t_expect_problem 404 "$B is gone with its create"
t_eq "virsh: no domain $B" "$(t_domstate "$B_ID")" absent
t_check_not "virsh: no volume $B_ID.qcow2" t_virsh vol-info --pool "$T_POOL" "$B_ID.qcow2"
t_check_not "no disk file of $B" test -e "$T_TMP/images/$B_ID.qcow2"
t_http DELETE "/v1/operations/$B_OP"
t_expect_problem 409 "cancel the cancelled create again: 409"
t_http GET "/v1/operations/$STOP_OP"
t_expect_json .status running "the stop still runs"
t_http DELETE "/v1/operations/$STOP_OP?wait=30"
t_expect_status 200 "cancel the running stop with wait=30: 200 once it stopped"
t_expect_json .status cancelled "the stop is cancelled"
t_eq "virsh: $R still running" "$(t_domstate "$R_ID")" running
t_http GET "/v1/vms/$R"
t_expect_json .desired_state running "$R is desired running again"
t_expect_json .state running "$R shows running"
t_expect_json .operation null "$R has no operation"
t_http DELETE "/v1/operations/$STOP_OP"
t_expect_problem 409 "cancel the cancelled stop again: 409"

t_http GET "/v1/operations?vm=$I"
I_CREATE=$(t_json '[.operations[] | select(.kind == "create")][0].id')
t_http DELETE "/v1/operations/$I_CREATE"
t_expect_problem 409 "cancel a succeeded operation: 409"
t_http DELETE "/v1/operations/$(cat /proc/sys/kernel/random/uuid)"
t_expect_problem 404 "cancel an unknown operation: 404"
t_http DELETE "/v1/operations/not-an-id"
t_check "cancel a malformed id: a 4xx problem" bash -c "[[ '$T_STATUS' == 4?? ]]"

# a running create (held in libvirt) stops part-way: nothing left
lv_freeze
t_http POST /v1/vms "{\"name\":\"$C4\",$VMJSON,\"start\":true}"
t_expect_status 201 "create $C4 with libvirt frozen"
C4_ID=$(t_json .id)
C4_OP=$(t_json .operation)
t_check "the create of $C4 is running" t_wait_for 10 op_is "$C4_OP" running
t_http DELETE "/v1/operations/$C4_OP"
lv_thaw
t_expect_status 202 "cancel the running create: 202 while it stops"
t_expect_json .status running "the reply shows it still running"
t_http GET "/v1/operations/$C4_OP?wait=30"
t_expect_json .status cancelled "the running create ends cancelled"
t_http GET "/v1/vms/$C4"
t_expect_problem 404 "$C4 is gone"
t_eq "virsh: no domain $C4" "$(t_domstate "$C4_ID")" absent
t_check_not "no disk file of $C4" test -e "$T_TMP/images/$C4_ID.qcow2"

# a running start cannot be stopped part-way
t_http POST "/v1/vms/$K/start"
t_expect_status 202 "start $K"
SOP=$(t_json .id)
t_check "the start of $K succeeded" t_wait_for 30 op_is "$SOP" succeeded
t_http POST "/v1/vms/$K/stop?wait=60" '{"force":true}'
t_expect_json .status succeeded "force-stop $K"
lv_freeze
t_http POST "/v1/vms/$K/start"
SOP=$(t_json .id)
t_check "the start of $K is running (held in libvirt)" t_wait_for 10 op_is "$SOP" running
t_http DELETE "/v1/operations/$SOP"
lv_thaw
t_expect_problem 409 "cancel a running start: 409"
t_match "the 409 says it cannot be stopped part-way" "$(t_json .detail)" 'part-way'
t_http GET "/v1/operations/$SOP?wait=30"
t_expect_json .status succeeded "the start goes on and succeeds"
t_eq "virsh: $K running" "$(t_domstate "$K_ID")" running

# the event log
curl -sS -m 10 "$HANGARD_URL/v1/events?since=0&follow=false&type=operation.cancelled" >"$T_TMP/ev"
cancelled_ops=$(sed -n 's/^data: //p' "$T_TMP/ev" | jq -r .operation | sort | tr '\n' ' ')
t_eq "operation.cancelled events: the queued create, the stop, the running create" \
	"$cancelled_ops" "$(printf '%s\n' "$B_OP" "$STOP_OP" "$C4_OP" | sort | tr '\n' ' ')"
consistent "after the cancels"

# --- clean up through the API
for v in $(curl -fsS "$HANGARD_URL/v1/vms" | jq -r '.vms[].name'); do
	t_http DELETE "/v1/vms/$v?wait=60"
	t_expect_json .status succeeded "delete $v"
done
t_eq "at the end: no $T_PFX* domain on the host" \
	"$(t_virsh list --all --name 2>/dev/null | grep -- "^$T_PFX")" ""
t_eq "at the end: images dir is empty" "$(images)" ""
hangard_stop
echo "# durable_ops took $((SECONDS - T0)) s"
t_summary
