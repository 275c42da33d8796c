#!/usr/bin/env bash
#
# scale.sh - placement over 1,000 simulated hosts, no QEMU.
#
# Each host is libvirt's test driver with its own node description
# (test:///ABS/PATH/host-N.xml: a <node> with <cpu> and <memory> in KiB;
# its capabilities say arch i686, domain type "test", and its storage
# pools are in memory with a fixed 100 GiB).  hangard keeps one connection
# per host, so each host's domains live in hangard's own process for as
# long as it runs.  Host N has 2..16 CPUs (2 + 2 x (N mod 8)) and 4..40
# GiB (4 x (1 + N mod 10)); every window of 100 consecutive hosts holds
# every size, and hosts with N mod 20 = 0 carry the label zone=z1.  One
# host in the middle, n(NH/2), is the biggest: 44 GiB, so spread (most
# free memory first, in GiB after placing) must send it the first four
# 1-GiB VMs before any 40-GiB host gets one.
#
# Checks: registration of 1,000 hosts through POST /v1/hosts (timed), the
# dry run explains all of them, spread sends the first VMs to the biggest
# hosts, hundreds of creates (timed) never overcommit a host, a labelled
# burst fills exactly the capacity of its 50 hosts, and deletes release
# every claim.  The whole run is bounded (about 1 min on 2 cores).
#
# Usage: BUILD=build tests/integration/scale.sh
#   SCALE_HOSTS (default 1000, at most 1000: one page of GET /v1/hosts),
#   SCALE_VMS (unlabelled creates, default 300)
# shellcheck disable=SC2317 # functions run through t_wait_for
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init scale nohost

NH=${SCALE_HOSTS:-1000}
NV=${SCALE_VMS:-300}
FIRST=40                 # sequential creates that must land on the biggest hosts
NZ=200                   # concurrent creates for the zone=z1 hosts
PAR=8                    # parallel clients
HDIR=$T_TMP/hosts
mkdir -p "$HDIR" "$T_TMP/req"

# node_xml CPUS MEM_GIB: a test driver node description
node_xml() {
	printf '<node>\n  <cpu>\n    <mhz>2000</mhz>\n    <model>i686</model>\n'
	printf '    <nodes>1</nodes>\n    <sockets>1</sockets>\n'
	printf '    <cores>%d</cores>\n    <threads>1</threads>\n' "$1"
	printf '    <active>%d</active>\n  </cpu>\n' "$1"
	printf '  <memory>%d</memory>\n</node>\n' $(($2 * 1048576))
}
BIG=$((NH / 2))          # the one biggest host
cpus_of() { echo $((2 + 2 * ($1 % 8))); }
gib_of() { if [ "$1" = "$BIG" ]; then echo 44; else echo $((4 * (1 + $1 % 10))); fi; }

for ((i = 1; i <= NH; i++)); do
	node_xml "$(cpus_of "$i")" "$(gib_of "$i")" >"$HDIR/host-$i.xml"
done
node_xml 2 1 >"$HDIR/local.xml"

T_LV_URI="test://$HDIR/local.xml"
HANGARD_CONF_EXTRA="cpu_ratio = 1.0
ram_ratio = 1.0
disk_ratio = 1.0
reserved_vcpus = 0
reserved_memory_mib = 0
reserved_disk_gib = 0"
hangard_start || t_summary

t_http GET /v1/hosts/local
t_expect_json .domain_type test "the test driver's local host: domain type test"
t_expect_json .arch i686 "the test driver's local host: arch i686"
t_expect_json .cpus 2 "local: 2 CPUs from its node XML"
t_expect_json .memory_mib 1024 "local: 1024 MiB from its node XML"
t_http DELETE /v1/hosts/local
t_expect_status 200 "DELETE /v1/hosts/local: 200"

# par_post KIND URL: POST every $T_TMP/req/KIND-*.json to URL with PAR
# parallel clients; each reply goes to FILE.out, its status to FILE.code
par_post() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	find "$T_TMP/req" -name "$1-*.json" -print0 |
		xargs -0 -P "$PAR" -n 16 sh -c '
			url=$0
			for f; do
				curl -sS -o "$f.out" -w "%{http_code}" -X POST \
					-H "Content-Type: application/json" -H "Expect:" \
					--max-time 120 --data-binary "@$f" "$url" \
					>"$f.code" 2>"$f.err"
			done' "$2"
}

# codes KIND: "N CODE" lines for the replies to KIND-*.json
codes() {
	awk 1 "$T_TMP/req/$1"-*.json.code 2>/dev/null | sort | uniq -c |
		awk '{print $2 ":" $1}' | paste -sd ' '
}

# ============================================================ registration
echo "# --- registering $NH hosts"
for ((i = 1; i <= NH; i++)); do
	labels='{}'
	((i % 20 == 0)) && labels='{"zone":"z1"}'
	printf '{"name":"n%d","uri":"test://%s/host-%d.xml","labels":%s}\n' \
		"$i" "$HDIR" "$i" "$labels" >"$T_TMP/req/host-$i.json"
done
t0=$(t_ns_now)
par_post host "$T_BASE/v1/hosts"
ms=$(($(t_ns_now) - t0))
echo "# registered $NH hosts in $ms ms ($PAR clients)"
T_REG_MS=$ms
t_eq "all $NH registrations got 201" "$(codes host)" "201:$NH"
t0=$(t_ns_now)
t_http GET "/v1/hosts?limit=1000"
echo "# GET /v1/hosts with $NH hosts: $(($(t_ns_now) - t0)) ms, ${#T_BODY} bytes"
hosts=$T_BODY
t_expect_json '.hosts | length' "$NH" "GET /v1/hosts lists $NH hosts"
t_expect_json '[.hosts[] | select(.state != "ready")] | length' 0 "all are ready"
# the facts are the node XMLs': compare every host
want=$(for ((i = 1; i <= NH; i++)); do
	echo "n$i $(cpus_of "$i") $(($(gib_of "$i") * 1024))"
done | sort)
t_eq "every host's cpus and memory_mib are its node XML's" \
	"$(jq -r '.hosts[] | "\(.name) \(.cpus) \(.memory_mib)"' <<<"$hosts" | sort | md5sum)" \
	"$(md5sum <<<"$want")"
t_expect_json '[.hosts[] | select(.labels.zone == "z1")] | length' $((NH / 20)) \
	"$((NH / 20)) hosts carry zone=z1"
t_expect_json '[.hosts[] | select(.resources.disk_gib.capacity != 100)] | length' 0 \
	"every host's pool: 100 GiB (the test driver's)"
declare -A MEM
while read -r n m; do MEM[$n]=$m; done < <(jq -r '.hosts[] | "\(.name) \(.memory_mib)"' <<<"$hosts")

# ================================================================ dry run
echo "# --- dry run over $NH hosts"
body='{"name":"dry","vcpus":1,"memory_mib":1024,"disk_gib":1}'
t0=$(t_ns_now)
t_http POST /v1/placements "$body"
echo "# POST /v1/placements over $NH hosts: $(($(t_ns_now) - t0)) ms, ${#T_BODY} bytes"
t_expect_status 200 "POST /v1/placements: 200"
t_expect_json '.hosts | length' "$NH" "the dry run explains all $NH hosts"
t_expect_json '[.hosts[] | select(.fits and (.score | type) == "number" and (.weighers | type) == "object")] | length' \
	"$NH" "every host fits, each with a score and weighers"
t_expect_json '[.hosts[] | select(.chosen)] | length' 1 "one host is chosen"
dry_host=$(t_json .host)
t_eq "the dry run chooses the biggest host n$BIG" "$dry_host" "n$BIG"
t_expect_json '.host == ([.hosts[]] | max_by(.free.memory_mib) | .name)' true \
	"the dry run's choice has the most free memory"
t_http POST /v1/placements '{"name":"dry","vcpus":1,"memory_mib":1024,"disk_gib":1,"placement":{"labels":{"zone":"z1"}}}'
t_expect_json '[.hosts[] | select(.fits)] | length' $((NH / 20)) "zone=z1: $((NH / 20)) hosts fit"
t_expect_json '[.hosts[] | select(.filter == "labels")] | length' $((NH - NH / 20)) \
	"zone=z1: the others are refused by filter labels"
t_http POST /v1/placements '{"name":"dry","vcpus":32,"memory_mib":1024,"disk_gib":1}'
t_expect_json .host null "32 vCPUs: no host"
t_expect_json '[.hosts[] | select(.filter == "vcpus")] | length' "$NH" "32 vCPUs: every host refused by filter vcpus"

# ============================================================ first VMs
echo "# --- $FIRST sequential creates: spread"
t0=$(t_ns_now)
first_bad='' first_hosts=''
for ((i = 1; i <= FIRST; i++)); do
	t_http POST "/v1/vms?wait=30" "{\"name\":\"f$i\",\"vcpus\":1,\"memory_mib\":1024,\"disk_gib\":1}"
	if [ "$T_STATUS" != 201 ] || [ "$(t_json .state)" != stopped ]; then
		first_bad+=" f$i:$T_STATUS"
		continue
	fi
	h=$(t_json .host)
	first_hosts+=" $h"
	[ "${MEM[$h]}" -ge 40960 ] || first_bad+=" f$i:$h(${MEM[$h]} MiB)"
done
ms=$(($(t_ns_now) - t0))
echo "# $FIRST sequential creates (?wait) in $ms ms"
t_eq "the first $FIRST VMs are created, all on hosts of >= 40 GiB" "${first_bad# }" ""
read -r -a fh <<<"$first_hosts"
t_eq "f1 lands where the dry run just said ($dry_host)" "${fh[0]:-}" "$dry_host"
t_eq "spread: f1..f4 all go to the biggest host n$BIG (44 GiB, then 43, 42, 41 free)" \
	"${fh[*]:0:4}" "n$BIG n$BIG n$BIG n$BIG"
echo "# the first $FIRST VMs went to $(tr ' ' '\n' <<<"${first_hosts# }" | sort -u | wc -l) distinct hosts; the first 8: ${fh[*]:0:8}"

# ========================================================= hundreds more
echo "# --- $NV creates, $PAR clients, mixed sizes"
for ((i = 1; i <= NV; i++)); do
	printf '{"name":"v%d","vcpus":%d,"memory_mib":%d,"disk_gib":%d}\n' \
		"$i" $((1 + i % 4)) $((512 * (1 + i % 8))) $((1 + i % 4)) >"$T_TMP/req/vm-$i.json"
done
t0=$(t_ns_now)
par_post vm "$T_BASE/v1/vms"
ms=$(($(t_ns_now) - t0))
T_CREATE_MS=$ms
echo "# $NV creates accepted in $ms ms ($PAR clients, no ?wait)"
t_eq "all $NV creates got 201" "$(codes vm)" "201:$NV"
settled() {
	t_http GET "/v1/vms?state=creating"
	[ "$(t_json '.vms | length')" = 0 ]
}
t_check "every create settles within 60 s" t_wait_for 60 settled
echo "# all $NV creates settled $(($(t_ns_now) - t0)) ms after the first was sent"
t_http GET "/v1/vms?limit=1000"
t_expect_json '.vms | length' $((FIRST + NV)) "GET /v1/vms lists $((FIRST + NV)) VMs"
t_expect_json '[.vms[] | select(.state != "stopped")] | length' 0 "all of them are stopped"

# ========================================================= labelled burst
echo "# --- $NZ concurrent creates for the $((NH / 20)) zone=z1 hosts"
t_http GET "/v1/hosts?limit=1000"
# how many 1 vCPU / 1024 MiB / 1 GiB VMs the zone's hosts can still take
zcap=$(t_json '[.hosts[] | select(.labels.zone == "z1") | .resources |
	[(.vcpus.free / 1 | floor), (.memory_mib.free / 1024 | floor),
	 (.disk_gib.free / 1 | floor)] | min] | add')
echo "# the zone=z1 hosts can take $zcap such VMs"
t_check "the zone's capacity ($zcap) is below the burst ($NZ)" test "$zcap" -lt "$NZ"
for ((i = 1; i <= NZ; i++)); do
	printf '{"name":"z%d","vcpus":1,"memory_mib":1024,"disk_gib":1,"placement":{"labels":{"zone":"z1"}}}\n' \
		"$i" >"$T_TMP/req/z-$i.json"
done
PAR=16
t0=$(t_ns_now)
par_post z "$T_BASE/v1/vms"
echo "# $NZ labelled creates answered in $(($(t_ns_now) - t0)) ms (16 clients)"
PAR=8
t_eq "exactly $zcap got 201, the other $((NZ - zcap)) 409" "$(codes z)" "201:$zcap 409:$((NZ - zcap))"
bad=0
for f in "$T_TMP"/req/z-*.json; do
	[ "$(cat "$f.code")" = 409 ] || continue
	jq -e --argjson n "$NH" '(.type | endswith(":no-capacity")) and (.hosts | length) == $n' \
		"$f.out" >/dev/null 2>&1 || bad=$((bad + 1))
done
t_eq "every 409 is no-capacity with all $NH verdicts" "$bad" 0
t_check "the burst settles within 60 s" t_wait_for 60 settled

# ================================================================ capacity
echo "# --- capacity"
t_http GET "/v1/hosts?limit=1000"
hosts=$T_BODY
t_expect_json '[.hosts[] | .resources | to_entries[] | select(.value.allocated > .value.capacity)] | length' 0 \
	"no host has allocated > capacity"
t_http GET "/v1/vms?limit=1000"
vms=$T_BODY
t_expect_json '[.vms[] | select(.state != "stopped")] | length' 0 "every VM is stopped"
t_eq "the hosts' allocations add up to the VMs' sizes" \
	"$(jq -c '[([.hosts[].allocated.vcpus] | add), ([.hosts[].allocated.memory_mib] | add), ([.hosts[].allocated.disk_gib] | add), ([.hosts[].vms] | add)]' <<<"$hosts")" \
	"$(jq -c '[([.vms[].vcpus] | add), ([.vms[].memory_mib] | add), ([.vms[].disk_gib] | add), (.vms | length)]' <<<"$vms")"
t_eq "each host's vms count matches GET /v1/vms" \
	"$(jq -r '.hosts[] | select(.vms > 0) | "\(.name) \(.vms)"' <<<"$hosts" | sort | md5sum)" \
	"$(jq -r '.vms[].host' <<<"$vms" | sort | uniq -c | awk '{print $2, $1}' | sort | md5sum)"
# shellcheck disable=SC2016 # $z is jq's
t_expect_json '[.vms[] | select(.name | startswith("z")) | .host] as $z |
	[$z[] | ltrimstr("n") | tonumber | select(. % 20 != 0)] | length' 0 \
	"every zone=z1 VM is on a zone=z1 host (nN, N mod 20 = 0)"
echo "# VMs per host: $(jq -r '[.hosts[].vms] | group_by(.) | map("\(.[0]) VMs: \(length) hosts") | join(", ")' <<<"$hosts")"
echo "# memory free after the creates (MiB): $(jq -r '[.hosts[].resources.memory_mib.free] | "min \(min), max \(max)"' <<<"$hosts")"

# ================================================================= deletes
echo "# --- deleting every VM"
t0=$(t_ns_now)
# shellcheck disable=SC2016 # expanded by the inner sh
jq -r '.vms[].name' <<<"$vms" | xargs -P "$PAR" -n 16 sh -c '
	for v; do
		curl -sS -o /dev/null -w "%{http_code}\n" -X DELETE --max-time 120 "$0/v1/vms/$v?wait=60"
	done' "$T_BASE" >"$T_TMP/deletes" 2>&1
echo "# deleted $(jq '.vms | length' <<<"$vms") VMs in $(($(t_ns_now) - t0)) ms ($PAR clients, ?wait)"
t_eq "every delete got 200" "$(sort "$T_TMP/deletes" | uniq -c | awk '{print $2 ":" $1}' | paste -sd ' ')" \
	"200:$(jq '.vms | length' <<<"$vms")"
t_http GET "/v1/hosts?limit=1000"
t_expect_json '[.hosts[] | select(.vms != 0 or .allocated.vcpus != 0 or .allocated.memory_mib != 0 or .allocated.disk_gib != 0)] | length' 0 \
	"every claim is released"
t_http GET "/v1/vms?limit=1000"
t_expect_json '.vms | length' 0 "no VM left"

echo "# timings: registration of $NH hosts ${T_REG_MS} ms; $NV creates ${T_CREATE_MS} ms"
hangard_stop
t_summary
