#!/usr/bin/env bash
#
# events.sh - the event stream (GET /v1/events, Server-Sent Events) and
# libvirt's lifecycle events, against a real libvirtd and QEMU guests:
#   - what hangar does shows up on the stream, in order, with ids;
#   - changes made behind hangar's back (virsh suspend/resume, a QEMU
#     process killed) reach GET /v1/vms and the stream within a second;
#   - a client that disconnects and comes back with Last-Event-ID gets
#     exactly the events it missed, in order, then live ones;
#   - filters, replay-only streams, bad parameters;
#   - a client that never reads does not hold up the daemon;
#   - many open streams and many ?wait requests at once: each gets its
#     answer, and a GET is answered meanwhile (the server's thread pool
#     is not held by them).
# Usage: BUILD=build tests/integration/events.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init events
hangard_start || t_summary

A=${T_PFX}a
SSE_PIDS=''

# sse_start FILE [CURL ARGS...]: a streaming client writing to FILE
sse_start() {
	local f=$1
	shift
	curl -sSN --max-time 300 "$@" >"$f" 2>"$f.err" &
	SSE_PID=$!
	SSE_PIDS+=" $SSE_PID"
}

sse_stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# ids FILE: the ids of the events in an SSE capture, one per line (the
# stream's first frame carries only an id: where it starts)
ids() {
	awk '/^id: / {id = $2} /^event: / {print id}' "$1"
}

# has_event FILE TYPE VM: the stream in FILE has an event TYPE about VM
has_event() {
	grep '^data: ' "$1" | sed 's/^data: //' |
		jq -c --arg t "$2" --arg v "$3" 'select(.type == $t and .vm == $v)' \
			2>/dev/null | grep -q .
}

# domstate_is UUID STATE: libvirt reports STATE
domstate_is() {
	[ "$(t_domstate "$1")" = "$2" ]
}

vm_state_is() {
	[ "$(curl -fsS "$HANGARD_URL/v1/vms/$1" | jq -r .state)" = "$2" ]
}

# ms_until SECS CMD...: milliseconds until CMD succeeds (or SECS pass: -1)
ms_until() {
	local secs=$1 start now
	shift
	start=$(t_ns_now)
	while :; do
		if "$@" >/dev/null 2>&1; then
			now=$(t_ns_now)
			echo $((now - start))
			return 0
		fi
		now=$(t_ns_now)
		if [ $((now - start)) -gt $((secs * 1000)) ]; then
			echo -1
			return 1
		fi
		sleep 0.02
	done
}

cleanup_sse() {
	local p
	for p in $SSE_PIDS; do sse_stop "$p"; done
}
# keep the script's exit status for t_cleanup
on_exit() {
	local rc=$?
	cleanup_sse
	(exit "$rc")
	t_cleanup
}
trap on_exit EXIT

# --- bad parameters: 400 problems, never a stream
t_http GET "/v1/events?since=abc"
t_expect_problem 400 "since=abc -> 400"
t_expect_json .field since "the problem names since"
t_http GET "/v1/events?since=-1"
t_expect_problem 400 "since=-1 -> 400"
t_http GET "/v1/events?type=VM.Paused"
t_expect_problem 400 "an upper-case type -> 400"
t_expect_json .field type "the problem names type"
t_http GET "/v1/events?type=vm.*.x"
t_expect_problem 400 "a '*' inside a type -> 400"
t_http GET "/v1/events?follow=maybe"
t_expect_problem 400 "follow=maybe -> 400"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Last-Event-ID: x1' \
	"$HANGARD_URL/v1/events")
t_eq "Last-Event-ID: x1 -> 400" "$code" 400
t_http POST "/v1/events" '{}'
t_expect_problem 405 "POST /v1/events -> 405"

# --- a live client sees what hangar does, in order
sse_start "$T_TMP/live" "$HANGARD_URL/v1/events"
LIVE=$SSE_PID
hdr=$(curl -sS -m 2 -D - -o /dev/null "$HANGARD_URL/v1/events?follow=false" |
	tr -d '\r' | awk -F': ' 'tolower($1) == "content-type" {print $2}')
t_eq "the stream is text/event-stream" "$hdr" "text/event-stream"

t_http POST "/v1/vms?wait=60" \
	"{\"name\":\"$A\",\"memory_mib\":64,\"disk_gib\":1,\"start\":true}"
t_expect_status 201 "create $A running"
A_ID=$(t_json .id)
t_check "the live stream shows vm.created for $A" \
	t_wait_for 5 has_event "$T_TMP/live" vm.created "$A"
t_check "the live stream shows vm.started for $A" \
	t_wait_for 5 has_event "$T_TMP/live" vm.started "$A"
t_check "the live stream shows operation.succeeded for the create" \
	t_wait_for 5 has_event "$T_TMP/live" operation.succeeded "$A"
order=$(grep '^data: ' "$T_TMP/live" | sed 's/^data: //' |
	jq -r --arg v "$A" 'select(.vm == $v) | .type' | tr '\n' ' ')
t_match "the create's events come in order" "$order" \
	'^operation.queued operation.running (operation.progress )*vm.created vm.started operation.succeeded $'
t_check "live ids increase strictly" \
	bash -c "awk '/^id: / {id = \$2} /^event: / {print id}' '$T_TMP/live' | awk 'NR > 1 && \$1 <= p {exit 1} {p = \$1}'"
evjson=$(grep '^data: ' "$T_TMP/live" | sed 's/^data: //' |
	jq -c --arg v "$A" 'select(.vm == $v and .type == "vm.started")' | head -1)
t_eq "vm.started says previous -> state" \
	"$(jq -r '.data.previous + " -> " + .data.state' <<<"$evjson")" "stopped -> running"
t_eq "vm.started names the vm id and host" \
	"$(jq -r '.vm_id + " " + .host' <<<"$evjson")" "$A_ID local"
t_match "vm.started has an RFC 3339 time" "$(jq -r .time <<<"$evjson")" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$'

# --- changes behind hangar's back: virsh suspend / resume
t_virsh suspend "$A_ID" >/dev/null
ms=$(ms_until 5 vm_state_is "$A" paused)
echo "# virsh suspend -> GET shows paused after ${ms} ms"
t_check "virsh suspend shows in GET within 1 s (${ms} ms)" \
	test "$ms" -ge 0 -a "$ms" -le 1000
t_check "virsh suspend shows on the stream as vm.paused" \
	t_wait_for 1 has_event "$T_TMP/live" vm.paused "$A"
t_http GET "/v1/vms/$A"
t_expect_json .observed_state paused "$A observed paused"
t_expect_json .desired_state running "$A still desired running (drift is visible)"
t_virsh resume "$A_ID" >/dev/null
ms=$(ms_until 5 vm_state_is "$A" running)
echo "# virsh resume -> GET shows running after ${ms} ms"
t_check "virsh resume shows in GET within 1 s (${ms} ms)" \
	test "$ms" -ge 0 -a "$ms" -le 1000
t_check "virsh resume shows on the stream as vm.resumed" \
	t_wait_for 1 has_event "$T_TMP/live" vm.resumed "$A"

# --- a QEMU process killed: crashed.  libvirt 9.0 itself takes 1.2-2 s
# to notice (virsh domstate says running until then), so the second is
# counted from when libvirt knows.
qpid=$(pgrep -f "guest=$A," | head -1)
t_check "the QEMU process of $A is found" test -n "$qpid"
[ -n "$qpid" ] && kill -KILL "$qpid"
lv_ms=$(ms_until 10 domstate_is "$A_ID" "shut off")
ms=$(ms_until 5 vm_state_is "$A" crashed)
echo "# QEMU killed -> libvirt shut off after ${lv_ms} ms, then GET crashed after ${ms} ms"
t_check "libvirt sees the killed QEMU (${lv_ms} ms)" test "$lv_ms" -ge 0
t_check "a killed QEMU shows as crashed in GET within 1 s of libvirt (${ms} ms)" \
	test "$ms" -ge 0 -a "$ms" -le 1000
t_check "a killed QEMU shows on the stream as vm.crashed" \
	t_wait_for 1 has_event "$T_TMP/live" vm.crashed "$A"
t_eq "virsh: $A is shut off" "$(t_domstate "$A_ID")" "shut off"

# --- disconnect, miss events, reconnect with Last-Event-ID
sse_stop "$LIVE"
LAST=$(ids "$T_TMP/live" | tail -1)
t_check "the first client saw events (last id $LAST)" test -n "$LAST"
t_http POST "/v1/vms/$A/start?wait=60" ''
t_expect_json .status succeeded "start $A while the client is away"
t_http POST "/v1/vms/$A/pause?wait=60" ''
t_expect_json .status succeeded "pause $A while the client is away"
t_http POST "/v1/vms/$A/resume?wait=60" ''
t_expect_json .status succeeded "resume $A while the client is away"
missed=$(curl -sS -m 10 "$HANGARD_URL/v1/events?since=$LAST&follow=false" |
	awk '/^id: / {id = $2} /^event: / {print id}' | tr '\n' ' ')
t_check "events were made while the client was away ($missed)" test -n "$missed"

sse_start "$T_TMP/again" -H "Last-Event-ID: $LAST" "$HANGARD_URL/v1/events"
AGAIN=$SSE_PID
n_missed=$(wc -w <<<"$missed")
t_check "the reconnected client gets the $n_missed missed events" \
	t_wait_for 5 bash -c "[ \$(grep -c '^event: ' '$T_TMP/again') -ge $n_missed ]"
got=$(ids "$T_TMP/again" | head -n "$n_missed" | tr '\n' ' ')
t_eq "exactly the missed events, in order, nothing before them" "$got" "$missed"
first=$(ids "$T_TMP/again" | head -1)
t_eq "the replay starts right after Last-Event-ID" "$first" "$((LAST + 1))"
t_check "no id is missing in the replay" \
	bash -c "awk '/^id: / {id = \$2} /^event: / {print id}' '$T_TMP/again' | awk 'NR > 1 && \$1 != p + 1 {exit 1} {p = \$1}'"
replayed=$(grep '^data: ' "$T_TMP/again" | sed 's/^data: //' |
	jq -r --arg v "$A" 'select(.vm == $v and (.type | startswith("vm."))) | .type' |
	tr '\n' ' ')
t_eq "the replay holds the vm changes made meanwhile" "$replayed" \
	"vm.started vm.paused vm.resumed "
# ... then live ones
t_http POST "/v1/vms/$A/pause?wait=60" ''
t_expect_json .status succeeded "pause $A after the reconnect"
t_check "the reconnected client then gets live events (vm.paused)" \
	t_wait_for 5 bash -c "grep '^data: ' '$T_TMP/again' | sed 's/^data: //' |
		jq -e 'select(.type == \"vm.paused\")' | grep -q . &&
		[ \$(grep -c '\"type\":\"vm.paused\"' '$T_TMP/again') -ge 2 ]"
dups=$(ids "$T_TMP/again" | sort | uniq -d | wc -l)
t_eq "no event is delivered twice" "$dups" 0
sse_stop "$AGAIN"

# ?since= works like Last-Event-ID
n1=$(curl -sS -m 10 "$HANGARD_URL/v1/events?since=$LAST&follow=false" | grep -c '^event: ')
t_check "?since=$LAST&follow=false replays and ends ($n1 events)" test "$n1" -gt "$n_missed"

# --- filters
curl -sS -m 10 "$HANGARD_URL/v1/events?since=0&follow=false&type=vm.*&vm=$A" >"$T_TMP/f1"
t_check "type=vm.* returns only vm events" \
	bash -c "grep '^event: ' '$T_TMP/f1' | grep -qv '^event: vm\.' && exit 1 || exit 0"
t_check "type=vm.* returns some" grep -q '^event: vm\.paused' "$T_TMP/f1"
curl -sS -m 10 "$HANGARD_URL/v1/events?since=0&follow=false&type=operation.succeeded,vm.crashed&vm=$A_ID" >"$T_TMP/f2"
types=$(sed -n 's/^event: //p' "$T_TMP/f2" | sort -u | tr '\n' ' ')
t_eq "a type list and vm by id filter exactly" "$types" "operation.succeeded vm.crashed "
curl -sS -m 10 "$HANGARD_URL/v1/events?since=0&follow=false&vm=nobody" >"$T_TMP/f3"
t_eq "an unknown vm filter gives no events" "$(grep -c '^event: ' "$T_TMP/f3")" 0
t_match "... but the stream still says where it stands" "$(head -3 "$T_TMP/f3" | tr '\n' ' ')" \
	'^retry: 1000 id: [0-9]+ '

# --- a client that never reads must not hold the daemon up
python3 - "$HANGARD_PORT" >"$T_TMP/stuck.out" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b"GET /v1/events?since=0 HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(120)            # never read a byte
EOF
STUCK=$!
SSE_PIDS+=" $STUCK"
sse_start "$T_TMP/reader" "$HANGARD_URL/v1/events"
READER=$SSE_PID
sleep 0.5
start=$(t_ns_now)
for i in $(seq 1 10); do
	curl -sS -m 30 -X POST "$HANGARD_URL/v1/vms/$A/resume?wait=30" -o /dev/null
	curl -sS -m 30 -X POST "$HANGARD_URL/v1/vms/$A/pause?wait=30" -o /dev/null
done
took=$(($(t_ns_now) - start))
echo "# 20 operations with a stuck client connected: ${took} ms"
t_check "20 operations finish while a client never reads (${took} ms)" \
	test "$took" -lt 30000
t_check "another client still gets every one of them" \
	t_wait_for 5 bash -c "[ \$(grep -c '\"type\":\"operation.succeeded\"' '$T_TMP/reader') -ge 20 ]"
t_http GET "/v1/vms/$A"
t_expect_status 200 "GET still answers with a stuck client connected"
sse_stop "$READER"
sse_stop "$STUCK"

# --- 40 streams and 30 ?wait requests at once: none holds a thread of
# the server's pool (streams park, waits run on threads of their own)
MANY=''
for i in $(seq 1 40); do
	sse_start "$T_TMP/many.$i" "$HANGARD_URL/v1/events?type=vm.stopped&vm=$A"
	MANY+=" $SSE_PID"
done
sleep 0.5
# a guest with no OS ignores the ACPI button: the stop runs its 3 s
t_http POST "/v1/vms/$A/stop" '{"timeout_s":3}'
t_expect_status 202 "stop $A (3 s of ACPI shutdown first)"
STOP_OP=$(t_json .id)
WAITS=''
for i in $(seq 1 30); do
	curl -sS -m 30 -o "$T_TMP/wait.$i" -w '%{http_code}\n' \
		"$HANGARD_URL/v1/operations/$STOP_OP?wait=20" >"$T_TMP/wait.$i.code" 2>&1 &
	WAITS+=" $!"
done
sleep 0.5
start=$(t_ns_now)
t_http GET "/v1/vms/$A"
took=$(($(t_ns_now) - start))
t_expect_status 200 "GET answers while 30 requests wait and 40 streams are open"
t_check "... at once (${took} ms)" test "$took" -lt 1000
t_expect_json .state stopping "... and $A is still stopping"
# shellcheck disable=SC2086
wait $WAITS
t_eq "all 30 ?wait requests end with 200" \
	"$(cat "$T_TMP"/wait.*.code | grep -c '^200$')" 30
t_eq "... each with the operation finished" \
	"$(for i in $(seq 1 30); do jq -r .status "$T_TMP/wait.$i"; done | sort -u)" succeeded
t_check "all 40 streams get vm.stopped" t_wait_for 5 bash -c \
	"for i in \$(seq 1 40); do grep -q '^event: vm.stopped' '$T_TMP/many.'\$i || exit 1; done"
for p in $MANY; do sse_stop "$p"; done

# --- clean up; a stream open at shutdown must not hold hangard up
t_http DELETE "/v1/vms/$A?wait=60"
t_expect_json .status succeeded "delete $A"
sse_start "$T_TMP/last" "$HANGARD_URL/v1/events"
sleep 0.3
hangard_stop
t_check "an open stream ends when hangard stops" \
	t_wait_for 5 bash -c "! kill -0 $SSE_PID 2>/dev/null"
t_summary
