#!/usr/bin/env bash
#
# metrics.sh - GET /metrics with the real Prometheus (2.42, Debian's
# `prometheus` package): a tiny busybox guest (tests/lib/guest.sh) booted
# once; Prometheus, started here on loopback with a temp config and
# storage dir, scrapes hangard every second, on the metrics_listen
# address (no credentials) and on the API listener (a reader token), and
# its query API answers rate(hangar_vm_cpu_seconds_total{vm=...}) for the
# guest with a value above 0.  `promtool check metrics` passes on a
# scrape.  Access: no token on the API listener is 401, a reader token
# is enough, the metrics_listen address needs none and serves nothing
# but /metrics.  What the scrape says is checked against the API (the
# VM's labels, the host's capacity, operations, route patterns rather
# than paths).  A second libvirt host, frozen with SIGSTOP, does not
# hold a scrape up: it answers in well under 2 s, the host soon shows
# hangar_host_up 0, and 1 again once thawed.  Bad metrics_listen values
# are refused with a clear message.
# Usage: BUILD=build tests/integration/metrics.sh
# timeout: 900
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init metrics
VM=${T_PFX}m1
MPORT=$(lvhost_free_port 2) || t_summary
PPORT=$((MPORT + 1))
MURL=http://127.0.0.1:$MPORT
PROM=http://127.0.0.1:$PPORT
PROM_PID='' H2_PID='' H2_FROZEN=0
# whatever happens: Prometheus stopped (by pid), the second host thawed
# shellcheck disable=SC2154 # _rc is set in the trap itself
trap '_rc=$?; [ "$H2_FROZEN" = 0 ] || kill -CONT "$H2_PID" 2>/dev/null
	[ -z "$PROM_PID" ] || { kill -TERM "$PROM_PID"; wait "$PROM_PID"; } 2>/dev/null
	(exit $_rc); t_cleanup' EXIT

# --- bad config values: refused with a clear message, nothing started
badconf() {
	local want=$1 out
	printf '%s\n' "$2" >"$T_TMP/bad.conf"
	out=$("$BUILD/hangard" --check --config "$T_TMP/bad.conf" 2>&1)
	t_check_not "config '$2': refused" test "$?" = 0
	t_match "... saying: $want" "$out" "$want"
}
badconf "expected HOST:PORT \\(metrics are served over TCP only\\)" 'metrics_listen = unix:/tmp/m.sock'
badconf "the port must be a number from 1 to 65535" 'metrics_listen = 127.0.0.1:70000'
badconf "metrics_listen address '9100' is not valid: expected HOST:PORT" 'metrics_listen = 9100'
badconf "is also a listen address" "$(printf 'listen = 127.0.0.1:8470\nmetrics_listen = 127.0.0.1:8470')"

HANGARD_CONF_EXTRA="metrics_listen = 127.0.0.1:$MPORT
cpu_ratio = 16"
hangard_start || t_summary

# --- access
code=$(curl -q -sS -o "$T_TMP/p.json" -w '%{http_code}' "$HANGARD_URL/metrics")
T_STATUS=$code T_CTYPE=application/problem+json T_BODY=$(cat "$T_TMP/p.json") T_REQ="GET /metrics (no token)"
t_expect_problem 401 "GET /metrics on the API listener without a token: 401"
t_http POST /v1/tokens '{"name":"prom","role":"reader"}'
RTOK=$(t_json .token)
code=$(curl -q -sS -o "$T_TMP/m.txt" -D "$T_TMP/m.hdr" -w '%{http_code}' \
	-H "Authorization: Bearer $RTOK" "$HANGARD_URL/metrics")
t_eq "GET /metrics with a reader token: 200" "$code" 200
t_match "... text/plain; version=0.0.4" "$(tr -d '\r' <"$T_TMP/m.hdr" | grep -i '^content-type:')" \
	'text/plain; version=0.0.4'
code=$(curl -q -sS -o "$T_TMP/l.txt" -w '%{http_code}' "$MURL/metrics")
t_eq "GET /metrics on metrics_listen, no credentials: 200" "$code" 200
t_match "... the same families" "$(grep -c '^# TYPE' "$T_TMP/l.txt")" "^$(grep -c '^# TYPE' "$T_TMP/m.txt")\$"
code=$(curl -q -sS -o "$T_TMP/p.json" -w '%{http_code}' "$MURL/v1/vms")
T_STATUS=$code T_CTYPE=application/problem+json T_BODY=$(cat "$T_TMP/p.json") T_REQ="GET /v1/vms (metrics_listen)"
t_expect_problem 404 "metrics_listen serves nothing but /metrics: GET /v1/vms is 404"
code=$(curl -q -sS -o "$T_TMP/p.json" -w '%{http_code}' -X POST "$MURL/metrics")
T_STATUS=$code T_CTYPE=application/problem+json T_BODY=$(cat "$T_TMP/p.json") T_REQ="POST /metrics (metrics_listen)"
t_expect_problem 405 "POST /metrics on metrics_listen: 405"

# --- a running guest
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
t_http GET "/v1/vms/$VM"
ID=$(t_json .id)
HOST=$(t_json .host)

# scrape [FILE]: metrics_listen's text into FILE ($T_TMP/s.txt)
scrape() { curl -q -sS -m 10 -o "${1:-$T_TMP/s.txt}" "$MURL/metrics"; }
# val REGEX: the value of the first sample line matching REGEX in s.txt
val() { grep -E -- "$1" "$T_TMP/s.txt" | head -n 1 | awk '{ print $NF }'; }
pos() { awk -v v="$1" 'BEGIN { exit !(v + 0 > 0) }'; }
sleep 3
scrape
t_check "promtool check metrics passes on a scrape" promtool check metrics <"$T_TMP/s.txt"
t_eq "hangar_vm_info joins the labels" \
	"$(grep -c "^hangar_vm_info{vm=\"$VM\",vm_id=\"$ID\",host=\"$HOST\",image=\"tiny\",group=\"\"} 1\$" "$T_TMP/s.txt")" 1
t_eq "hangar_vm_state: running is 1" "$(val "^hangar_vm_state\\{vm=\"$VM\",state=\"running\"\\}")" 1
t_eq "hangar_vm_state: stopped is 0" "$(val "^hangar_vm_state\\{vm=\"$VM\",state=\"stopped\"\\}")" 0
t_check "hangar_vm_cpu_seconds_total > 0" pos "$(val "^hangar_vm_cpu_seconds_total\\{vm=\"$VM\"\\}")"
t_check "hangar_vm_disk_read_bytes_total of vda > 0 (it booted from it)" \
	pos "$(val "^hangar_vm_disk_read_bytes_total\\{vm=\"$VM\",disk=\"vda\"\\}")"
t_check "hangar_vm_memory_available_bytes > 0" pos "$(val "^hangar_vm_memory_available_bytes\\{vm=\"$VM\"\\}")"
t_check "hangar_vm_memory_used_bytes > 0" pos "$(val "^hangar_vm_memory_used_bytes\\{vm=\"$VM\"\\}")"
t_eq "hangar_vm_memory_bytes: 128 MiB" "$(val "^hangar_vm_memory_bytes\\{vm=\"$VM\"\\}")" 134217728
t_eq "hangar_host_up of $HOST: 1" "$(val "^hangar_host_up\\{host=\"$HOST\"\\}")" 1
t_http GET "/v1/hosts/$HOST"
t_eq "hangar_host_vcpus_capacity is the API's" "$(val "^hangar_host_vcpus_capacity\\{host=\"$HOST\"\\}")" \
	"$(t_json '.resources.vcpus.capacity | floor')"
t_eq "hangar_host_vcpus_allocated is the API's" "$(val "^hangar_host_vcpus_allocated\\{host=\"$HOST\"\\}")" \
	"$(t_json '.resources.vcpus.allocated | floor')"
t_eq "hangar_host_memory_allocated_bytes is the API's" "$(val "^hangar_host_memory_allocated_bytes\\{host=\"$HOST\"\\}")" \
	"$(t_json '.resources.memory_mib.allocated * 1048576 | floor')"
t_eq "hangar_host_vms: 1" "$(val "^hangar_host_vms\\{host=\"$HOST\"\\}")" 1
t_check "hangar_operations_total: the create succeeded" \
	grep -q '^hangar_operations_total{kind="create",outcome="succeeded"} [1-9]' "$T_TMP/s.txt"
t_check "hangar_operation_duration_seconds has the create" \
	grep -q '^hangar_operation_duration_seconds_count{kind="create"} [1-9]' "$T_TMP/s.txt"
t_check "hangar_api_requests_total: GET /v1/vms/* by pattern" \
	grep -q '^hangar_api_requests_total{method="GET",route="/v1/vms/\*",code="200"} [1-9]' "$T_TMP/s.txt"
t_check "hangar_api_requests_total: the GET /metrics without a token is a 401 (unauthenticated)" \
	grep -q '^hangar_api_requests_total{method="GET",route="(unauthenticated)",code="401"} 1$' "$T_TMP/s.txt"
t_check "hangar_api_requests_total: the reader's GET /metrics is a 200" \
	grep -q '^hangar_api_requests_total{method="GET",route="/metrics",code="200"} [1-9]' "$T_TMP/s.txt"
t_eq "no route label holds a raw path (the VM's name)" "$(grep '^hangar_api' "$T_TMP/s.txt" | grep -c "route=\"[^\"]*$VM")" 0
t_check "hangar_events_total counts vm.started" grep -q '^hangar_events_total{type="vm.started"} [1-9]' "$T_TMP/s.txt"
t_check "hangar_store_commit_duration_seconds counts durable commits" \
	grep -q '^hangar_store_commit_duration_seconds_count{durability="durable"} [1-9]' "$T_TMP/s.txt"
t_check "hangar_store_database_bytes > 0" pos "$(val '^hangar_store_database_bytes ')"

# --- Prometheus scrapes it; its query API answers for the guest's CPU
mkdir -p "$T_TMP/prom"
cat >"$T_TMP/prom.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hangar
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
  - job_name: hangar-api
    authorization:
      type: Bearer
      credentials: '$RTOK'
    static_configs:
      - targets: ['127.0.0.1:$HANGARD_PORT']
EOF
t_check "promtool check config" promtool check config "$T_TMP/prom.yml"
prometheus --config.file="$T_TMP/prom.yml" --storage.tsdb.path="$T_TMP/prom" \
	--web.listen-address="127.0.0.1:$PPORT" >"$T_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
prom_ready() { curl -q -fsS -m 2 -o /dev/null "$PROM/-/ready"; }
t_check "Prometheus ready within 60 s" t_wait_for 60 prom_ready
# query EXPR: the first result's value, or nothing
query() {
	curl -q -sS -m 10 -G "$PROM/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
rate_pos() { pos "$(query "rate(hangar_vm_cpu_seconds_total{vm=\"$VM\",job=\"hangar\"}[10s])")"; }
t_check "Prometheus: rate(hangar_vm_cpu_seconds_total{vm=\"$VM\"}[10s]) > 0 within 60 s" t_wait_for 60 rate_pos
echo "# rate of $VM's CPU: $(query "rate(hangar_vm_cpu_seconds_total{vm=\"$VM\"}[10s])") s/s"
up_is() { [ "$(query "up{job=\"$1\"}")" = 1 ]; }
t_check "Prometheus: the metrics_listen target is up" t_wait_for 20 up_is hangar
t_check "Prometheus: the API target (reader token) is up" t_wait_for 20 up_is hangar-api
t_eq "Prometheus: the host's capacity as scraped" \
	"$(query "hangar_host_vcpus_capacity{host=\"$HOST\",job=\"hangar\"}")" \
	"$(val "^hangar_host_vcpus_capacity\\{host=\"$HOST\"\\}")"
t_eq "Prometheus: every sample of the scrape was taken (no parse errors in its log)" \
	"$(grep -ci 'error' "$T_TMP/prometheus.log")" 0

# --- a frozen host holds no scrape up
if t_lvhost_start h2; then
	H2_PID=$(_lvhost_pidfile "$LVHOST_DIR/libvirtd.pid")
	t_http POST /v1/hosts "{\"name\":\"h2\",\"uri\":\"$LVHOST_URI\"}"
	t_expect_status 201 "register a second host h2"
	h2_up() { scrape && [ "$(val '^hangar_host_up\{host="h2"\}')" = "$1" ]; }
	t_check "h2: hangar_host_up 1 within 20 s" t_wait_for 20 h2_up 1
	kill -STOP "$H2_PID" && H2_FROZEN=1
	sleep 2.5          # past the statistics' cache
	slow=0
	for i in 1 2 3 4 5 6 7 8 9 10; do
		t0=$(t_ns_now)
		scrape "$T_TMP/f$i.txt"
		ms=$(($(t_ns_now) - t0))
		[ "$ms" -lt 2000 ] || slow=$((slow + 1))
		echo "# scrape $i with h2 frozen: $ms ms, h2 up $(grep '^hangar_host_up{host="h2"}' "$T_TMP/f$i.txt" | awk '{ print $2 }')"
		sleep 0.7
	done
	t_eq "10 scrapes with h2 frozen each answered within 2 s" "$slow" 0
	t_check "h2 frozen: hangar_host_up 0 within 20 s" t_wait_for 20 h2_up 0
	t_eq "... while $VM's values are still there" "$(grep -c "^hangar_vm_cpu_seconds_total{vm=\"$VM\"}" "$T_TMP/s.txt")" 1
	t_eq "... and $HOST is up" "$(val "^hangar_host_up\\{host=\"$HOST\"\\}")" 1
	kill -CONT "$H2_PID" && H2_FROZEN=0
	t_check "h2 thawed: hangar_host_up 1 again within 60 s" t_wait_for 60 h2_up 1
else
	t_fail "start a second libvirt host" "see above"
fi

t_http DELETE "/v1/vms/$VM?wait=120"
t_expect_json .status succeeded "delete $VM"
scrape
t_eq "the deleted VM has no series left" "$(grep -c "vm=\"$VM\"" "$T_TMP/s.txt")" 0
hangard_stop
t_summary
