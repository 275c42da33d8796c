# shellcheck shell=bash
#
# console_bench.sh - issue 12's console row of bench/run.sh.
#
#   C1  console round trip: a key typed to its echo on the serial console
#       of one running tiny test guest (tests/lib/guest.sh, logged in as
#       root at its shell), through hangard's WebSocket
#       (tests/lib/wsclient.py on the unix socket: a masked binary frame
#       out, the echo's frame back) against `virsh console` on the same
#       VM and the same libvirtd (bench/console_rtt.py drives it through a
#       pseudo-terminal, as a user's terminal would).  BENCH_C1_ROUNDS
#       rounds of BENCH_C1_KEYS keys each, the sides in turn (the console
#       takes one client at a time).
#
# Not a script of its own: bench/run.sh sources it and uses its helpers
# (row, note, log, stop_pid, hangard_up, lv_up, $LV_URI, $T, $BUILD).  It
# runs on run.sh's namespaced libvirtd with a hangard of its own ("con",
# image_dir $T/con-library), stopped by pid when the row is done.
#   BUILD=build bash bench/run.sh C1

C1_ROUNDS=${BENCH_C1_ROUNDS:-3}
C1_KEYS=${BENCH_C1_KEYS:-20}

# c1_not_run WHY
c1_not_run() {
	row C1 "console round trip (key -> echo), ms" "not run" "virsh console" "-" "-" "<= 1.5x" "-"
	note "C1 not run: $1"
}

# c1_vm URL: import the tiny guest and run one VM from it, logged in on
# its console; its id into C1_ID
c1_vm() {
	local tiny code i
	tiny=$(guest_image tiny 2>"$T/c1-guest.err") || return 1
	code=$(curl -sS --max-time 600 -o "$T/c1-import.json" -w '%{http_code}' \
		-T "$tiny" -X POST -H 'Content-Type: application/octet-stream' \
		"$1/v1/images?name=c1-tiny&format=qcow2&wait=600")
	[ "$code" = 200 ] || return 1
	api -o "$T/c1.json" -X POST "$1/v1/vms?wait=120" -d '{"name":"c1","vcpus":1,"memory_mib":128,"image":"c1-tiny","start":true,"placement":{"domain_type":"qemu"}}'
	C1_ID=$(jq -r .id "$T/c1.json" 2>/dev/null)
	[ "$(jq -r .state "$T/c1.json" 2>/dev/null)" = running ] || return 1
	for ((i = 0; i < 600; i++)); do
		curl -sS "$1/v1/vms/c1/console/log" | tr -d '\r' | grep -aqE 'login: ' && break
		sleep 0.2
	done
	python3 tests/lib/wsclient.py --timeout 30 "unix:$T/con.sock" /v1/vms/c1/console \
		'send:\r' 'wait:login: ' 'send:root\r' 'wait:# ' >"$T/c1-login.out" 2>&1
}

c1() {
	local url pid r h v hm vm
	if ! lv_up; then
		c1_not_run "$LV_WHY"
		return
	fi
	log "C1: console round trip, $C1_ROUNDS rounds of $C1_KEYS keys a side"
	# shellcheck source=tests/lib/guest.sh
	. tests/lib/guest.sh
	if ! hangard_up con "$LV_URI" "image_dir = $T/con-library"; then
		c1_not_run "hangard did not start: $(tail -1 "$T/con.log")"
		return
	fi
	pid=$H_PID url=$H_URL
	if ! c1_vm "$url"; then
		c1_not_run "the guest could not be made or logged in: $(tail -c 300 "$T/c1.json" "$T/c1-login.out" 2>/dev/null | tr '\n' ' ')"
		stop_pid "$pid"
		return
	fi
	: >"$T/c1.h"
	: >"$T/c1.v"
	for ((r = 0; r < C1_ROUNDS; r++)); do
		python3 tests/lib/wsclient.py --timeout 10 "unix:$T/con.sock" \
			/v1/vms/c1/console "rtt:$C1_KEYS" >"$T/c1-h.out" 2>&1
		grep '^rtt_ms' "$T/c1-h.out" >>"$T/c1.h"
		sleep 0.5        # hangard lets the console go
		# once more when libvirtd still had the console busy
		python3 bench/console_rtt.py "$LV_URI" "$C1_ID" "$C1_KEYS" \
			>"$T/c1-v.out" 2>&1 || { sleep 1 &&
			python3 bench/console_rtt.py "$LV_URI" "$C1_ID" \
			"$C1_KEYS" >>"$T/c1-v.out" 2>&1; }
		grep '^rtt_ms' "$T/c1-v.out" >>"$T/c1.v"
		sleep 0.5
	done
	api -o /dev/null -X DELETE "$url/v1/vms/c1?wait=60"
	stop_pid "$pid"
	if [ ! -s "$T/c1.h" ] || [ ! -s "$T/c1.v" ]; then
		c1_not_run "a side failed: hangar: $(tail -c 200 "$T/c1-h.out"); virsh: $(tail -c 200 "$T/c1-v.out")"
		return
	fi
	# the median of the rounds' medians; the spread of every key
	hm=$(awk '{ print $2 }' "$T/c1.h" | stats | cut -d' ' -f1)
	vm=$(awk '{ print $2 }' "$T/c1.v" | stats | cut -d' ' -f1)
	h=$(awk 'NR == 1 || $3 < lo { lo = $3 } $4 > hi { hi = $4 } END { printf "%.1f-%.1f", lo, hi }' "$T/c1.h")
	v=$(awk 'NR == 1 || $3 < lo { lo = $3 } $4 > hi { hi = $4 } END { printf "%.1f-%.1f", lo, hi }' "$T/c1.v")
	row C1 "console round trip (a key typed to its echo), ms, median (min-max)" \
		"$hm ($h)" "virsh console" "$vm ($v)" "$(ratio "$hm" "$vm")" "<= 1.5x" \
		"$(yesno "$hm <= 1.5 * $vm")"
	note "C1: one tiny guest (busybox, TCG) logged in as root; each round $C1_KEYS keys one at a time, each timed from the write to its echo arriving: hangar through GET /v1/vms/{vm}/console (WebSocket on hangard's unix socket, tests/lib/wsclient.py) and hangard's virDomainOpenConsole stream; virsh console (its own connection to the same libvirtd) through a pty (bench/console_rtt.py). $C1_ROUNDS rounds, the sides in turn. Round medians (ms): hangar $(awk '{ print $2 }' "$T/c1.h" | paste -sd' '), virsh $(awk '{ print $2 }' "$T/c1.v" | paste -sd' '). Both go through libvirtd's stream to the guest's pty; hangar adds its WebSocket hop."
}
