#!/usr/bin/env bash
#
# stop_wait.sh - a graceful stop waits for its guest without holding a
# worker.
#
# hangard runs with 2 workers.  Five VMs without an OS (SeaBIOS: nothing
# answers the ACPI button) are stopped gracefully with a 30 s timeout, so
# all five wait the whole time.  Meanwhile another VM is created and
# started: before, both workers sat in the stops' waits and the create
# queued behind them for ~30 s; now the stops are parked and it runs at
# once.  Then, against real libvirt: a parked stop is cancelled (the VM
# stays running); a VM taken down behind hangard's back (virsh destroy)
# ends its parked stop at once, through the lifecycle event, not at the
# next look; the others are powered off at their deadline; and a stop
# parked when hangard is killed is finished by the next hangard.
# Usage: BUILD=build tests/integration/stop_wait.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init stopw
HANGARD_CONF_EXTRA="workers = 2
cpu_ratio = 16"
hangard_start || t_summary

N=5
TIMEOUT=30

# mkvm NAME: create and start a 64 MiB VM with an empty disk
mkvm() {
	t_http POST "/v1/vms?wait=60" "{\"name\":\"$1\",\"vcpus\":1,\"memory_mib\":64,\"disk_gib\":1}"
	t_expect_status 201 "create $1: 201"
	t_http POST "/v1/vms/$1/start?wait=60"
	t_expect_json .status succeeded "start $1: succeeded"
}

# op_status ID: the operation's status
op_status() {
	t_http GET "/v1/operations/$1"
	t_json .status
}

# stopped_by ID SECS: the operation is finished within SECS seconds
finished() {
	local s
	s=$(op_status "$1")
	[ "$s" != queued ] && [ "$s" != running ]
}

for i in $(seq 1 $N); do mkvm "${T_PFX}$i"; done

# --- five graceful stops, all parked
declare -A OPS
for i in $(seq 1 $N); do
	t_http POST "/v1/vms/${T_PFX}$i/stop" "{\"timeout_s\":$TIMEOUT}"
	t_expect_status 202 "stop ${T_PFX}$i (timeout ${TIMEOUT}s): 202"
	OPS[$i]=$(t_json .id)
done
t_check "every stop has reached its wait (step: ACPI shutdown)" t_wait_for 20 bash -c '
	for id in "$@"; do
		curl -fsS --max-time 5 "'"$HANGARD_URL"'/v1/operations/$id" |
			jq -e ".status == \"running\" and (.step | startswith(\"ACPI shutdown\"))" >/dev/null || exit 1
	done' _ "${OPS[@]}"

# --- with 2 workers and 5 stops waiting, other work still runs at once
t0=$(t_ns_now)
t_http POST "/v1/vms?wait=60" "{\"name\":\"${T_PFX}other\",\"vcpus\":1,\"memory_mib\":64,\"disk_gib\":1}"
t_expect_status 201 "create ${T_PFX}other while 5 stops wait: 201"
t_http POST "/v1/vms/${T_PFX}other/start?wait=60"
t_expect_json .status succeeded "start ${T_PFX}other while 5 stops wait: succeeded"
ms=$(($(t_ns_now) - t0))
echo "# create + start while 5 stops waited on 2 workers: ${ms} ms"
t_check "create + start did not wait for the stops (${ms} ms < 10000)" test "$ms" -lt 10000
for i in $(seq 1 $N); do
	t_eq "stop ${T_PFX}$i still waits for its guest" "$(op_status "${OPS[$i]}")" running
done

# --- a parked stop is cancelled: the VM stays running
t_http DELETE "/v1/operations/${OPS[1]}"
t_check "cancel the parked stop of ${T_PFX}1: 2xx ($T_STATUS)" test "${T_STATUS:0:1}" = 2
t_check "the cancelled stop ends within 5 s" t_wait_for 5 finished "${OPS[1]}"
t_eq "the stop of ${T_PFX}1 was cancelled" "$(op_status "${OPS[1]}")" cancelled
t_eq "${T_PFX}1 still runs (virsh)" "$(t_domstate "${T_PFX}1")" running
t_http GET "/v1/vms/${T_PFX}1"
t_expect_json .state running "${T_PFX}1: GET says running"

# --- a guest going off ends its stop through the lifecycle event
t_virsh destroy "${T_PFX}2" >/dev/null
t0=$(t_ns_now)
t_check "the stop of ${T_PFX}2 ends within 4 s of virsh destroy" t_wait_for 4 finished "${OPS[2]}"
echo "# stop of ${T_PFX}2 ended $(($(t_ns_now) - t0)) ms after virsh destroy"
t_check "it was woken by the lifecycle event, not its next look (5 s)" \
	grep -q "op ${OPS[2]}: woken: its vm changed" "$T_TMP/hangard.log"
t_eq "the stop of ${T_PFX}2 succeeded" "$(op_status "${OPS[2]}")" succeeded
t_http GET "/v1/vms/${T_PFX}2"
t_expect_json .state stopped "${T_PFX}2: GET says stopped"

# --- hangard killed while a stop is parked: the next one finishes it
kill -KILL "$HANGARD_PID"
wait "$HANGARD_PID" 2>/dev/null
HANGARD_PID=''
hangard_start || t_summary
t_eq "after the restart: the stop of ${T_PFX}3 is still running" "$(op_status "${OPS[3]}")" running

# --- the rest are powered off at their deadline, and succeed
for i in 3 4 5; do
	t_check "the stop of ${T_PFX}$i ends by its deadline" t_wait_for $((TIMEOUT + 15)) finished "${OPS[$i]}"
	t_eq "the stop of ${T_PFX}$i succeeded" "$(op_status "${OPS[$i]}")" succeeded
	t_eq "${T_PFX}$i is shut off (virsh)" "$(t_domstate "${T_PFX}$i")" "shut off"
done
t_check "hangard logs the power-off after the ignored ACPI shutdown" \
	grep -q "vm '${T_PFX}4' ignored the ACPI shutdown for $TIMEOUT s; powering off" "$T_TMP/hangard.log"

# --- clean up
for v in 1 2 3 4 5 other; do
	t_http DELETE "/v1/vms/${T_PFX}$v?wait=60"
	t_expect_json .status succeeded "delete ${T_PFX}$v"
done
hangard_stop
t_summary
