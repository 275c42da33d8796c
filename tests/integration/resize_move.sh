#!/usr/bin/env bash
#
# resize_move.sh - a resize placed like a create, with the tiny guest on
# two real libvirt hosts (tests/lib/lvhost.sh): `local` (hangard's) made
# small (256 MiB of memory to give, ram_ratio 1) and h2.
#   1. a growth local cannot take: 409 with local's verdict (filter
#      memory), nothing changed, nothing claimed;
#   2. a growth it can take, live: the claim on local follows (GET
#      /v1/hosts/local allocated), libvirt's balloon target too;
#   3. two concurrent growths that fit one at a time but not together:
#      exactly one is taken, the other is 409 (never overcommitted);
#   4. the same growth with allow_move: one operation of kind resize that
#      moves the VM live to h2 and resizes it there; its progress shows
#      both steps; the VM runs on h2 only, at the new size; the claims
#      are on h2 only;
#   5. live vCPU hotplug (virsh vcpucount) and a next-boot change of a
#      stopped VM applied when it starts.
# Usage: BUILD=build tests/integration/resize_move.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
# timeout: 900
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init rszm nohost
declare -A LVNAME URI
for h in local h2; do
	LVNAME[$h]=${T_PFX}${h/local/h1}
	if ! t_lvhost_start "${LVNAME[$h]}"; then
		t_fail "start libvirt host $h" "see above"
		t_summary
	fi
	URI[$h]=$LVHOST_URI
done
T_LV_URI=${URI[local]}
HANGARD_CONF_EXTRA=$'reconcile_interval_s = 2\ncpu_ratio = 16' hangard_start || t_summary
W=wait=180
lv() {
	local h=$1
	shift
	lvhost_virsh "${LVNAME[$h]}" "$@"
}
alloc() { curl -sS -m 5 "$T_BASE/v1/hosts/$1" | jq -r .allocated.memory_mib; }
field() { t_json .field; }

# local: 256 MiB to give (reserved = its memory - 256)
t_http GET /v1/hosts/local
MEM=$(t_json .memory_mib)
t_http PATCH /v1/hosts/local "{\"reserved\":{\"vcpus\":0,\"memory_mib\":$((MEM - 256)),\"disk_gib\":0},\"ram_ratio\":1}"
t_expect_status 200 "make local small: 256 MiB to give"
mkdir -p "$T_TMP/images-h2"
t_http POST /v1/hosts "{\"name\":\"h2\",\"uri\":\"${URI[h2]}\",\"pool_path\":\"$T_TMP/images-h2\",\"cpu_ratio\":16}"
t_expect_status 201 "register h2: 201"

if ! TINY=$(guest_image tiny); then
	t_fail "build the tiny test guest" "see above"
	t_summary
fi
code=$(curl -sS -m 300 -o "$T_TMP/import.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/octet-stream' -T "$TINY" \
	"$T_BASE/v1/images?name=tiny&format=qcow2&$W")
t_eq "import the tiny guest: 200" "$code" 200

A=${T_PFX}a B=${T_PFX}b
# create NAME MEM: a started tiny guest on local, 1 vCPU of 2, MEM of 512
create() {
	t_http POST "/v1/vms?$W" "{\"name\":\"$1\",\"vcpus\":1,\"max_vcpus\":2,\"memory_mib\":$2,\"max_memory_mib\":512,\"image\":\"tiny\",\"start\":true,\"host\":\"local\",\"placement\":{\"domain_type\":\"qemu\"}}"
	t_expect_status 201 "create $1 on local ($2 MiB of 512), started: 201"
	t_expect_json .state running "$1: running"
}
create "$A" 64
A_ID=$(t_json .id)
create "$B" 64
t_eq "local: 128 MiB claimed" "$(alloc local)" 128

# --- 1. a growth local cannot take
t_http PATCH "/v1/vms/$A" '{"memory_mib":384}'
t_expect_problem 409 "PATCH $A to 384 MiB: local has 192 more, not 320: 409"
t_expect_json '.hosts[0].name + " " + .hosts[0].filter' "local memory" \
	"... with local's verdict: the memory filter"
t_match "... which says why" "$(t_json .hosts[0].reason)" "MiB free of 256 .*384 asked"
t_http GET "/v1/vms/$A"
t_expect_json '"\(.memory_mib) \(.host) \(.operation)"' "64 local null" "$A: unchanged"
t_eq "local: still 128 MiB claimed" "$(alloc local)" 128

# --- 2. a growth it can take, live
t_http PATCH "/v1/vms/$A?$W" '{"memory_mib":128}'
t_expect_json '"\(.status) \(.kind) \(.params.apply)"' "succeeded resize live" \
	"PATCH $A to 128 MiB: a live resize"
t_eq "local: 192 MiB claimed" "$(alloc local)" 192
t_match "virsh: its definition has 128 MiB" "$(lv local dumpxml --inactive "$A_ID")" \
	"<currentMemory unit='KiB'>131072</currentMemory>"

# --- 3. two growths of 48 MiB that fit one at a time, not together
# (64 MiB left): A to 176, B to 112 at once
pids=()
for v in "$A:176" "$B:112"; do
	curl -sS -o /dev/null -w '%{http_code}\n' -X PATCH -H 'Content-Type: application/json' \
		--data "{\"memory_mib\":${v#*:}}" "$T_BASE/v1/vms/${v%:*}?$W" >"$T_TMP/race-${v%:*}" &
	pids+=($!)
done
wait "${pids[@]}"   # these two only: hangard is a child too
t_eq "concurrent: one 200, one 409" "$(cat "$T_TMP/race-$A" "$T_TMP/race-$B" | sort | tr '\n' ' ')" "200 409 "
t_check "local: never more than its 256 MiB claimed" test "$(alloc local)" -le 256

# --- 4. allow_move: moved live to h2, then resized
t_http PATCH "/v1/vms/$A?$W" '{"memory_mib":448,"allow_move":true}'
t_expect_json '"\(.status) \(.kind) \(.params.apply) \(.params.to)"' \
	"succeeded resize live h2" "PATCH $A 448 MiB, allow_move: one resize operation, moved to h2"
t_expect_json '[.progress.steps[] | .step + ":" + .status] | join(",")' \
	"move:done,resize:done" "... its progress shows both steps done"
t_http GET "/v1/vms/$A"
t_expect_json '"\(.memory_mib) \(.host) \(.state)"' "448 h2 running" "$A: 448 MiB, on h2, running"
t_eq "virsh: $A runs on h2" "$(lv h2 domstate "$A_ID" 2>&1)" running
t_match "virsh: ... and is gone from local" "$(lv local domstate "$A_ID" 2>&1)" "failed to get domain"
t_match "virsh: its definition on h2 has 448 MiB" "$(lv h2 dumpxml --inactive "$A_ID")" \
	"<currentMemory unit='KiB'>458752</currentMemory>"
t_eq "h2: 448 MiB claimed" "$(alloc h2)" 448
t_eq "local: only $B's claim is left" "$(alloc local)" \
	"$(curl -sS "$T_BASE/v1/vms/$B" | jq -r .memory_mib)"
t_http PATCH "/v1/vms/$B" '{"memory_mib":4096,"allow_move":true}'
t_expect_problem 400 "PATCH $B beyond its max_memory_mib, allow_move or not: 400"
t_eq "... naming memory_mib" "$(field)" memory_mib

# --- 5. vCPUs live, and the next boot of a stopped VM
t_http PATCH "/v1/vms/$A?$W" '{"vcpus":2}'
t_expect_json '"\(.status) \(.params.apply)"' "succeeded live" "PATCH $A 2 vCPUs: live"
t_eq "virsh: 2 vCPUs live on h2" "$(lv h2 vcpucount "$A_ID" --live --active)" 2
t_http POST "/v1/vms/$B/stop?$W" '{"force":true}'
t_http PATCH "/v1/vms/$B?$W" '{"vcpus":2,"memory_mib":96}'
t_expect_json '"\(.status) \(.params.apply)"' "succeeded next_boot" "PATCH stopped $B: next_boot"
B_ID=$(curl -sS "$T_BASE/v1/vms/$B" | jq -r .id)
t_http POST "/v1/vms/$B/start?$W" '{}'
t_expect_json .status succeeded "start $B"
t_eq "virsh: $B boots with 2 vCPUs" "$(lv local vcpucount "$B_ID" --live --active)" 2
t_match "virsh: ... and 96 MiB (its balloon's target; the tiny guest has no
	balloon driver to reach it)" "$(lv local dumpxml --inactive "$B_ID")" \
	"<currentMemory unit='KiB'>98304</currentMemory>"

for v in "$A" "$B"; do
	t_http DELETE "/v1/vms/$v?$W"
	t_expect_json .status succeeded "delete $v"
done
t_eq "local and h2: nothing claimed" "$(alloc local) $(alloc h2)" "0 0"
t_summary
