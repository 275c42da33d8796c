#!/usr/bin/env bash
#
# console.sh - a VM's serial console through the API, with the tiny
# busybox guest (tests/lib/guest.sh) booted once and shared by every
# check: the WebSocket (GET /v1/vms/{vm}/console) shows the login prompt,
# logs in and gets the answer to a typed `echo`; one writer at a time (a
# second gets 409, takeover ends the first with close code 4000), readers
# share it and see what the writer makes the guest print; a reader token
# may watch but not type (403, and a watcher that sends is closed with
# 1008); the token also works as a Sec-WebSocket-Protocol entry and as
# ?access_token= (a browser cannot set headers); frames that break RFC
# 6455 close with their codes (unmasked 1002, oversize 1009, bad UTF-8
# 1007), ping gets pong, a close is echoed; console/log returns the boot
# text (and still does once the VM is stopped), console/type makes the
# guest answer, with its bad inputs, and as keys ("via":"keys", the PS/2
# keyboard typing into the guest's shell on tty1) too, and by default on a
# VM with "graphics":"vnc" (VNC on a unix socket only, checked in virsh);
# the CLI's `hangar vm type --keys` and `hangar vm console` with stdin
# from a pipe; a client attached when hangard stops is closed with
# 1001 (and hangard exits cleanly); a stopped VM's console is 409 naming
# its state, and an attached client sees the console end (1000) when the
# VM stops.
# The test client is tests/lib/wsclient.py (python3, standard library).
# Usage: BUILD=build tests/integration/console.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init console
hangard_start || t_summary
VM=${T_PFX}c1
CON=/v1/vms/$VM/console
R=$RANDOM

# ws STEP...: the test client against the unix socket (root: admin)
ws() {
	python3 tests/lib/wsclient.py --timeout 30 "unix:$HANGARD_SOCK" "$@"
}
# wst TOKEN|- PATH STEP...: the same over TCP with a bearer token
wst() {
	local tok=$1
	shift
	if [ "$tok" = - ]; then
		python3 tests/lib/wsclient.py --timeout 30 "$HANGARD_URL" "$@"
	else
		python3 tests/lib/wsclient.py --timeout 30 --token "$tok" \
			"$HANGARD_URL" "$@"
	fi
}

# t_ws NAME CMD...: CMD (the test client) exits 0; its output (in WS_OUT)
# is shown when it does not
t_ws() {
	local name=$1 rc
	shift
	WS_OUT=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		t_ok "$name"
	else
		t_fail "$name" "exit $rc"
		echo "$WS_OUT" | sed 's/^/# | /'
	fi
}

if ! TINY=$(guest_image tiny); then
	t_fail "build the tiny test guest" "see above"
	t_summary
fi
code=$(curl -sS -m 300 -o "$T_TMP/import.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/octet-stream' -T "$TINY" \
	"$T_BASE/v1/images?name=tiny&format=qcow2&wait=300")
t_eq "import the tiny guest: 200" "$code" 200
t_http POST /v1/vms "{\"name\":\"$VM\",\"vcpus\":1,\"memory_mib\":128,\"image\":\"tiny\",\"start\":true,\"placement\":{\"domain_type\":\"qemu\"}}"
t_expect_status 201 "create and start $VM"
is_running() {
	[ "$(curl -sS -m 5 "$T_BASE/v1/vms/$VM" | jq -r .state)" = running ]
}
t_check "$VM: running within 120 s" t_wait_for 120 is_running
ID=$(curl -sS "$T_BASE/v1/vms/$VM" | jq -r .id)

# --- the domain: a pty serial port, logged, appended; its console
xml=$(t_virsh dumpxml "$ID")
t_match "virsh: <serial type='pty'>" "$xml" "<serial type='pty'>"
t_match "virsh: the serial log appends" "$xml" "<log file='/var/log/libvirt/qemu/$ID-serial.log' append='on'/>"
t_match "virsh: <console type='pty'> on the serial port" "$xml" "<console type='pty'"

# --- console/log: the boot text, without attaching
log_has() {
	curl -sS -m 10 "$T_BASE$CON/log" | tr -d '\r' | grep -aqE -- "$1"
}
t_check "console/log shows the login prompt within 120 s" t_wait_for 120 log_has "$GUEST_LOGIN_RE"
t_http GET "$CON/log"
t_expect_status 200 "GET console/log: 200"
t_match "... text/plain" "$T_CTYPE" "^text/plain"
t_match "... with the guest's banner" "$T_BODY" "$GUEST_TINY_BANNER"
t_match "... and the kernel's boot lines" "$T_BODY" "Linux version"
t_eq "console/log?tail=100: at most 100 bytes" "$(curl -sS "$T_BASE$CON/log?tail=100" | wc -c)" 100
t_http GET "$CON/log?tail=0"
t_expect_problem 400 "console/log?tail=0: 400"
t_expect_json .field tail "... naming tail"
t_http GET "/v1/vms/${T_PFX}nope/console/log"
t_expect_problem 404 "console/log of an unknown vm: 404"

# --- the WebSocket: log in and get an answer
# (the shell works out the number: the line typed is not the answer)
t_ws "WebSocket: login prompt, log in, 'echo hello-...' answered" \
	ws "$CON" 'send:\r' "wait:$GUEST_LOGIN_RE" 'send:root\r' 'wait:# ' \
	"send:echo hello-\$((40000+$R))\\r" "wait:^hello-$((40000 + R))\$"

# --- one writer at a time; takeover; readers share
ws "$CON" 'closed:4000' >"$T_TMP/w1.out" 2>&1 &
W1=$!
sleep 2
out=$(ws "$CON" 2>&1)
t_eq "a second writer: refused" "$?" 2
t_match "... 409" "$out" "^http 409"
t_match "... saying how to watch or take over" "$out" "takeover=1"
ws "$CON?mode=read" "wait:^reader-$R\$" >"$T_TMP/r1.out" 2>&1 &
RD=$!
sleep 1
t_ws "takeover=1: attached while another writes, typed, answered" \
	ws "$CON?takeover=1" "send:echo reader-\$((0+$R))\\r" "wait:^reader-$R\$"
wait "$W1"
t_match "the first writer is closed with 4000" "$(cat "$T_TMP/w1.out")" "closed 4000 another client took the console over"
t_check "a reader alongside sees what the writer made the guest print" wait "$RD"

# --- roles and tokens
t_http POST /v1/tokens '{"name":"con-reader","role":"reader"}'
RTOK=$(t_json .token)
t_http POST /v1/tokens '{"name":"con-op","role":"operator"}'
OTOK=$(t_json .token)
out=$(wst "$RTOK" "$CON?mode=write" 2>&1)
t_match "a reader token asking to type: 403" "$out" "^http 403"
t_ws "a reader token: watches by default; typing closes it with 1008" \
	wst "$RTOK" "$CON" 'send:x' 'closed:1008'
out=$(wst - "$CON?mode=read" 2>&1)
t_match "no token over TCP: 401" "$out" "^http 401"
t_ws "the token as a Sec-WebSocket-Protocol entry: types, answered" \
	python3 tests/lib/wsclient.py --proto-token "$OTOK" "$HANGARD_URL" \
	"$CON" "send:echo proto-\$((1+$R))\\r" "wait:^proto-$((1 + R))\$"
t_match "... the subprotocol hangar.console is echoed (never the token)" "$WS_OUT" "protocol hangar.console"
t_ws "the token as ?access_token=: watches; ping gets its pong" \
	wst - "$CON?mode=read&access_token=$RTOK" 'ping:p1'
out=$(wst - "$CON?access_token=nope" 2>&1)
t_match "a bad ?access_token: 401" "$out" "^http 401"
t_http GET "$CON"
t_expect_problem 400 "GET console without the WebSocket handshake: 400"
t_expect_json .field Upgrade "... naming Upgrade"

# --- frames that break the protocol, and the close handshake
t_ws "an unmasked frame: closed with 1002" \
	ws "$CON?mode=read" 'raw:820178' 'closed:1002'
# a binary frame that says it is 70000 bytes long (over the 64 KiB limit)
t_ws "a frame over the limit: closed with 1009" \
	ws "$CON?mode=read" 'raw:82ff000000000001117000000000' 'closed:1009'
t_ws "a text frame that is not UTF-8: closed with 1007" \
	ws "$CON" 'raw:8182000000ffc328' 'closed:1007'
# (an empty text fragment, a ping, then ^U: the shell's line is emptied)
t_ws "fragments with a ping between; close 3001 is echoed" \
	ws "$CON" 'raw:018000000000' 'raw:8981000000007a' \
	'raw:80810000000015' 'ping:p2' 'close:3001'
t_match "... with its code" "$WS_OUT" "closed 3001"

# --- console/type
t_http POST "$CON/type" "{\"text\":\"echo typed-\$((2+$R))\\n\"}"
t_expect_status 200 "POST console/type: 200"
t_expect_json .vm "$VM" "... naming the vm"
t_check "... the guest answers (in console/log)" t_wait_for 20 log_has "^typed-$((2 + R))$"
t_http POST "$CON/type" "{\"text\":\"$(head -c 4097 /dev/zero | tr '\0' a)\"}"
t_expect_problem 400 "console/type of 4097 bytes: 400"
t_expect_json .field text "... naming text"
t_http POST "$CON/type" '{"text":""}'
t_expect_problem 400 "console/type of nothing: 400"
T_HTTP_CTYPE=application/json t_http POST "$CON/type" "$(printf '{"text":"\xff"}')"
t_expect_problem 400 "console/type of bytes that are not UTF-8: 400"
t_http POST "$CON/type" '{"text":"x","more":1}'
t_expect_problem 400 "console/type with an unknown field: 400"
code=$(curl -q -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RTOK" \
	-H 'Content-Type: application/json' -d '{"text":"x"}' "$T_BASE$CON/type")
t_eq "console/type with a reader token: 403" "$code" 403

# --- console/type via keys: the keyboard (PS/2, virDomainSendKey) types on
# tty1, where the tiny guest has a root shell; what it runs writes to
# ttyS0, so the answer is in console/log while the command line is not
# (the number is worked out by the shell; capitals and symbols need shift;
# the answer may follow the prompt of ttyS0's own shell on its line)
t_http POST "$CON/type" "{\"text\":\"echo KEYS-\$((7+$R)) >/dev/ttyS0\\n\",\"via\":\"keys\"}"
t_expect_status 200 "POST console/type via keys: 200"
t_expect_json .via keys "... says it went as keys"
t_check "... the shell on tty1 ran it: its answer in console/log" \
	t_wait_for 20 log_has "KEYS-$((7 + R))$"
t_http POST "$CON/type" '{"text":"echo caf\u00e9","via":"keys"}'
t_expect_problem 400 "console/type via keys of a character with no key: 400"
t_expect_json .field text "... naming text"
t_match "... and its position" "$T_BODY" "position 8"
t_http POST "$CON/type" "{\"text\":\"$(head -c 1025 /dev/zero | tr '\0' a)\",\"via\":\"keys\"}"
t_expect_problem 400 "console/type via keys of 1025 characters: 400"
t_http POST "$CON/type" '{"text":"x","via":"vnc"}'
t_expect_problem 400 "console/type via something else: 400"
t_expect_json .field via "... naming via"
out=$("$BUILD/hangar" --url "unix:$HANGARD_SOCK" vm type "$VM" \
	"echo CLIK-\$((13+$R)) >/dev/ttyS0" --enter --keys 2>&1)
t_eq "hangar vm type --enter --keys: exit 0" "$?" 0
t_match "... prints the reply" "$out" "via: keys"
t_check "... the shell on tty1 ran it" t_wait_for 20 log_has "CLIK-$((13 + R))$"
out=$("$BUILD/hangar" --url "unix:$HANGARD_SOCK" vm type "$VM" "caf$(printf '\xc3\xa9')" --keys 2>&1)
t_eq "hangar vm type --keys of a character with no key: exit 1" "$?" 1
t_match "... saying where" "$out" "position 3"

# --- the CLI, stdin from a pipe
out=$(printf 'echo cli-$((3+%d))\r' "$R" | "$BUILD/hangar" --url "unix:$HANGARD_SOCK" \
	vm console "$VM" 2>&1)
t_eq "hangar vm console with a pipe: exit 0" "$?" 0
t_match "... the guest answered what it typed" "$(echo "$out" | tr -d '\r')" "cli-$((3 + R))"
out=$(printf 'x' | "$BUILD/hangar" --url "$HANGARD_URL" vm console "${T_PFX}nope" 2>&1)
t_eq "hangar vm console of an unknown vm: exit 1" "$?" 1
t_match "... saying so" "$out" "not found"

# --- the CLI on a terminal: raw mode, Ctrl-] leaves, the terminal restored
t_ws "hangar vm console on a terminal: attaches, types, answered, Ctrl-] leaves" \
	python3 tests/lib/ptyrun.py "stty -g; $BUILD/hangar --url unix:$HANGARD_SOCK vm console $VM; echo rc=\$?; stty -g" \
	'wait:Ctrl-\] leaves' "send:echo pty-\$((5+$R))\\r" "wait:^pty-$((5 + R))\$" \
	'send:\x1d' 'wait:^rc=0$'
modes=$(grep -E '^[0-9a-f]+(:[0-9a-f]+){10,}$' <<<"$WS_OUT")
t_eq "... the terminal's settings are the same after as before" \
	"$(sed -n 1p <<<"$modes")" "$(sed -n 2p <<<"$modes")"
t_match "... and were saved (two stty -g lines)" "$(wc -l <<<"$modes")" "^2$"

# --- hangard stops with a client attached: it is closed with 1001
python3 tests/lib/wsclient.py --timeout 30 --say-open "unix:$HANGARD_SOCK" \
	"$CON?mode=read" 'closed:1001' >"$T_TMP/stop.out" 2>&1 &
RD=$!
# stop hangard once the reader is attached (its upgrade answered), not
# after a guess at how long that takes
t_check "a reader attaches" t_wait_for 20 grep -q '^open$' "$T_TMP/stop.out"
hangard_stop
t_check "an attached reader is closed with 1001 when hangard stops" wait "$RD"

# --- the CLI over HTTPS: the WebSocket through libmicrohttpd's TLS
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" -days 2 -subj /CN=localhost \
	-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' >/dev/null 2>&1
chmod 600 "$T_TMP/key.pem"
{
	cat "$T_TMP/hangard.conf"
	echo "tls_cert = $T_TMP/cert.pem"
	echo "tls_key = $T_TMP/key.pem"
} >"$T_TMP/tls.conf"
TLS_PORT=$(lvhost_free_port 1)
"$BUILD/hangard" --config "$T_TMP/tls.conf" --listen "unix:$HANGARD_SOCK" \
	--listen "127.0.0.1:$TLS_PORT" --db "$T_TMP/hangar.db" --host-uri "$T_LV_URI" \
	--log-level debug </dev/null >>"$T_TMP/hangard.log" 2>&1 &
HANGARD_PID=$!          # t_cleanup stops it if we die
t_wait_for 30 curl -q -fsS --unix-socket "$HANGARD_SOCK" -o /dev/null http://h/v1
out=$(printf 'echo tls-$((6+%d))\r' "$R" | HANGAR_URL=https://127.0.0.1:$TLS_PORT \
	"$BUILD/hangar" --cacert "$T_TMP/cert.pem" vm console "$VM" 2>&1)
t_eq "hangar vm console over HTTPS (the WebSocket through TLS): exit 0" "$?" 0
t_match "... the guest answered" "$(tr -d '\r' <<<"$out")" "tls-$((6 + R))"
kill -TERM "$HANGARD_PID"
wait "$HANGARD_PID"
t_eq "hangard (HTTPS) stops cleanly" "$?" 0
HANGARD_PID=''
hangard_start || t_summary
t_ws "after the restart the console opens again, the shell answers" \
	ws "$CON" "send:echo again-\$((4+$R))\\r" "wait:^again-$((4 + R))\$"

# --- the VM stops: an attached client sees the end; then 409
ws "$CON?mode=read" 'closed:1000' >"$T_TMP/end.out" 2>&1 &
RD=$!
python3 tests/lib/ptyrun.py --timeout 60 "stty -g; $BUILD/hangar --url unix:$HANGARD_SOCK vm console --read $VM; echo rc=\$?; stty -g" \
	'wait:Ctrl-\] leaves' 'wait:^rc=' >"$T_TMP/pty-end.out" 2>&1 &
PT=$!
sleep 2
t_http POST "/v1/vms/$VM/stop?wait=60" '{"force":true}'
t_expect_status 200 "force-stop $VM"
t_check "an attached reader is closed with 1000 when the vm stops" wait "$RD"
t_check "hangar vm console on a terminal ends when the vm stops" wait "$PT"
out=$(cat "$T_TMP/pty-end.out")
t_match "... exit 0, saying why" "$out" "console closed \(the guest stopped or moved away\).*"$'\n'"rc=0"
modes=$(grep -E '^[0-9a-f]+(:[0-9a-f]+){10,}$' <<<"$out")
t_eq "... the terminal's settings restored" "$(sed -n 1p <<<"$modes")" "$(sed -n 2p <<<"$modes")"
out=$(ws "$CON" 2>&1)
t_match "the console of a stopped vm: 409" "$out" "^http 409"
t_match "... naming its state" "$out" "is stopped"
t_http POST "$CON/type" '{"text":"x"}'
t_expect_problem 409 "console/type to a stopped vm: 409"
t_http POST "$CON/type" '{"text":"x","via":"keys"}'
t_expect_problem 409 "console/type via keys to a stopped vm: 409"
t_http GET "$CON/log"
t_expect_status 200 "console/log of the stopped vm: 200"
t_match "... still shows how it booted" "$T_BODY" "$GUEST_TINY_BANNER"

t_check_not "no token reached hangard.log (not even ?access_token=)" \
	grep -qF -e "${RTOK#hgr_}" -e "${OTOK#hgr_}" "$T_TMP/hangard.log"
t_http DELETE "/v1/vms/$VM?wait=60"

# --- a graphical VM: VNC on a unix socket only, and console/type goes to
# its keyboard by default (what it types on tty1 answers on ttyS0)
VM2=${T_PFX}g2
t_http POST /v1/vms "{\"name\":\"$VM2\",\"vcpus\":1,\"memory_mib\":128,\"image\":\"tiny\",\"graphics\":\"vnc\",\"start\":true,\"placement\":{\"domain_type\":\"qemu\"}}"
t_expect_status 201 "create and start $VM2 with graphics vnc"
t_expect_json .graphics vnc "... it says so"
t_check "$VM2: its login prompt within 120 s" t_wait_for 120 sh -c \
	"curl -sS -m 10 '$T_BASE/v1/vms/$VM2/console/log' | tr -d '\r' | grep -aqE '$GUEST_LOGIN_RE'"
xml=$(t_virsh dumpxml "$(curl -sS "$T_BASE/v1/vms/$VM2" | jq -r .id)")
t_match "virsh: <graphics type='vnc'> on a unix socket" "$xml" "<listen type='socket' socket='/"
t_check_not "virsh: ... and no TCP port or address" grep -qE "<graphics[^>]*port=|listen type='address'" <<<"$xml"
t_match "virsh: a VGA display" "$xml" "<model type='vga'"
t_http POST "/v1/vms/$VM2/console/type" "{\"text\":\"echo VGA-\$((11+$R)) >/dev/ttyS0\\n\"}"
t_expect_status 200 "console/type to $VM2 without via: 200"
t_expect_json .via keys "... went as keys (its default)"
t_check "... the shell on its tty1 ran it: the answer in console/log" \
	t_wait_for 20 sh -c "curl -sS -m 10 '$T_BASE/v1/vms/$VM2/console/log' | tr -d '\r' | grep -aq 'VGA-$((11 + R))\$'"
t_http POST /v1/vms '{"name":"'"${T_PFX}g3"'","memory_mib":64,"disk_gib":1,"graphics":"spice"}'
t_expect_problem 400 "graphics spice: 400"
t_expect_json .field graphics "... naming graphics"
t_http DELETE "/v1/vms/$VM2?wait=60"
t_summary
