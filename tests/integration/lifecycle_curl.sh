#!/usr/bin/env bash
#
# lifecycle_curl.sh - a VM's whole life through the REST API (curl), each
# step checked against what libvirt itself says (virsh).
#
# Runs a real hangard against a real libvirtd in a private namespace
# (tests/run's shared one when HANGAR_LV_URI is set, else its own).  VMs are
# named curl-*; nothing else on the libvirt host is touched.
# Usage: BUILD=build tests/integration/lifecycle_curl.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init curl
hangard_start || t_summary

A=${T_PFX}a
B=${T_PFX}b
W=wait=60

# vm_state NAME: the VM's .state per the API ("absent" on 404)
vm_state() {
	t_http GET "/v1/vms/$1"
	if [ "$T_STATUS" = 404 ]; then echo absent; else t_json .state; fi
}

# images: the files in hangard's pool directory, one per line
images() {
	find "$T_TMP/images" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort
}

# op NAME VERB [BODY]: POST /v1/vms/NAME/VERB?wait=60 and check that the
# operation finished: 200, kind VERB, status succeeded.
op() {
	local name=$1 verb=$2
	if [ "$#" -ge 3 ]; then
		t_http POST "/v1/vms/$name/$verb?$W" "$3"
	else
		t_http POST "/v1/vms/$name/$verb?$W"
	fi
	t_expect_status 200 "$verb $name ${3:-}: 200 with the finished operation"
	t_expect_json .kind "$verb" "$verb $name: operation kind $verb"
	t_expect_json .status succeeded "$verb $name: operation succeeded"
	t_expect_json .vm "$name" "$verb $name: operation names the vm"
}

# --- service and host
t_http GET /v1
t_expect_status 200
t_match "GET /v1: JSON Content-Type" "$T_CTYPE" '^application/json'
t_expect_json .name hangar
t_expect_json .api v1
t_match "GET /v1: version" "$(t_json .version)" '^[0-9]+\.[0-9]+\.[0-9]+'

dtype=$(t_expected_domain_type)
echo "# the libvirt host offers domain type $dtype"
t_http GET /v1/hosts
t_expect_status 200
t_expect_json '[.hosts[].name] | index("local") != null' true "GET /v1/hosts lists host local"
t_http GET /v1/hosts/local
t_expect_status 200
t_expect_json .name local
t_expect_json .state ready
t_expect_json .domain_type "$dtype"
t_expect_json .arch x86_64
t_expect_json .uri "$T_LV_URI"
t_expect_json '.cpus > 0' true
t_expect_json '.memory_mib > 0' true
t_http GET /v1/hosts/nosuchhost
t_expect_problem 404

# --- create (stopped)
t_http POST "/v1/vms?$W" "{\"name\":\"$A\",\"vcpus\":1,\"memory_mib\":64,\"disk_gib\":1}"
t_expect_status 201 "create $A: 201"
t_expect_json .name "$A"
t_expect_json .state stopped "create $A: stopped after the wait"
t_expect_json .vcpus 1
t_expect_json .memory_mib 64
t_expect_json .disk_gib 1
t_expect_json .host local
A_ID=$(t_json .id)
t_match "create $A: id is a uuid" "$A_ID" '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
t_eq "create $A: Location /v1/vms/{id}" "$T_LOCATION" "/v1/vms/$A_ID"
t_eq "create $A: virsh says shut off" "$(t_domstate "$A_ID")" "shut off"
t_eq "create $A: one disk file in the images dir" "$(images | wc -l)" 1
disk=$(t_virsh domblklist "$A_ID" --details 2>/dev/null | awk '$2 == "disk" {print $4}')
t_match "create $A: the domain's disk is in $T_TMP/images" "$disk" "^$T_TMP/images/"
t_check "create $A: the disk file exists" test -f "$disk"
t_match "create $A: disk is qcow2 of 1 GiB" \
	"$(qemu-img info --force-share "$disk" 2>/dev/null | tr '\n' ' ')" \
	'file format: qcow2.*virtual size: 1 GiB'
t_match "create $A: domain type $dtype" \
	"$(t_virsh dumpxml "$A_ID" 2>/dev/null | head -1)" "type=.$dtype."
t_http GET "/v1/vms/$A_ID"
t_expect_status 200 "GET the vm by id"
t_expect_json .name "$A" "GET by id: name"
t_http GET /v1/vms
t_expect_json "[.vms[].name] | index(\"$A\") != null" true "GET /v1/vms lists $A"

# --- start, pause, resume, reboot
op "$A" start
t_eq "start: virsh says running" "$(t_domstate "$A_ID")" running
t_http GET "/v1/vms/$A"
t_expect_json .state running "start: GET says running"
t_expect_json .desired_state running "start: desired running"
t_expect_json .observed_state running "start: observed running"
t_expect_json .operation null "start: no operation pending"
t_expect_json .provisioning null "a VM without a cloud-init seed: provisioning null (not followed)"

op "$A" pause
t_eq "pause: virsh says paused" "$(t_domstate "$A_ID")" paused
t_eq "pause: GET says paused" "$(vm_state "$A")" paused

op "$A" resume
t_eq "resume: virsh says running" "$(t_domstate "$A_ID")" running
t_eq "resume: GET says running" "$(vm_state "$A")" running

op "$A" reboot '{"force":true}'
t_eq "reboot force: virsh says running" "$(t_domstate "$A_ID")" running
t_eq "reboot force: GET says running" "$(vm_state "$A")" running

# --- the guest agent: every domain has its channel; nothing in this
# guest answers on it, and hangar says so at once
t_eq "virsh: $A has the guest agent's channel" \
	"$(t_virsh dumpxml "$A_ID" | grep -c "name='org.qemu.guest_agent.0'")" 1
t0=$(t_ns_now)
t_http GET "/v1/vms/$A/guest"
ms=$(($(t_ns_now) - t0))
t_expect_status 200 "GET /guest of $A (no agent in it): 200"
t_expect_json .agent "not connected" "GET /guest: the agent is not connected"
t_match "GET /guest: says why, in libvirt's words" "$(t_json .reason)" 'agent'
t_check "GET /guest without an agent answers at once (${ms} ms < 3000)" test "$ms" -lt 3000

# --- graceful stop: no OS answers ACPI, so hangard powers off after 2 s
t0=$(t_ns_now)
op "$A" stop '{"timeout_s":2}'
ms=$(($(t_ns_now) - t0))
echo "# graceful stop took ${ms} ms"
t_check "stop timeout_s 2: took >= 2 s (${ms} ms)" test "$ms" -ge 2000
t_check "stop timeout_s 2: took < 15 s (${ms} ms)" test "$ms" -lt 15000
t_eq "stop timeout_s 2: virsh says shut off" "$(t_domstate "$A_ID")" "shut off"
t_eq "stop timeout_s 2: GET says stopped" "$(vm_state "$A")" stopped
t_check "stop timeout_s 2: it was the ACPI button (no agent)" \
	grep -q "vm '$A' ignored the ACPI shutdown for 2 s" "$T_TMP/hangard.log"
t_http GET "/v1/vms/$A/guest"
t_expect_problem 409 "GET /guest of a stopped vm: 409"
t_match "... naming its state" "$(t_json .detail)" 'is stopped'

# --- forced stop is at once
op "$A" start
t_eq "start again: virsh says running" "$(t_domstate "$A_ID")" running
t0=$(t_ns_now)
op "$A" stop '{"force":true}'
ms=$(($(t_ns_now) - t0))
t_check "stop force: at once (< 3 s: ${ms} ms)" test "$ms" -lt 3000
t_eq "stop force: virsh says shut off" "$(t_domstate "$A_ID")" "shut off"
t_eq "stop force: GET says stopped" "$(vm_state "$A")" stopped

# --- delete a running VM
op "$A" start
t_eq "start before delete: virsh says running" "$(t_domstate "$A_ID")" running
t_http DELETE "/v1/vms/$A?$W"
t_expect_status 200 "delete $A (running): 200 with the finished operation"
t_expect_json .kind delete
t_expect_json .status succeeded "delete $A: operation succeeded"
t_http GET "/v1/vms/$A"
t_expect_problem 404 "delete $A: GET is 404 afterwards"
t_http GET "/v1/vms/$A_ID"
t_expect_problem 404 "delete $A: GET by id is 404 afterwards"
t_check_not "delete $A: virsh dominfo fails" t_virsh dominfo "$A_ID"
t_check_not "delete $A: not in virsh list --all" \
	bash -c "timeout 60 virsh -q -c '$T_LV_URI' list --all --name | grep -qx -- '$A'"
t_eq "delete $A: images dir is empty" "$(images)" ""
t_eq "delete $A: virsh vol-list $T_POOL is empty" \
	"$(t_virsh vol-list "$T_POOL" 2>&1 | sed '/^ *$/d')" ""

# --- create with start:true
t_http POST "/v1/vms?$W" "{\"name\":\"$B\",\"vcpus\":1,\"memory_mib\":64,\"disk_gib\":1,\"start\":true}"
t_expect_status 201 "create $B with start: 201"
t_expect_json .state running "create $B with start: running after the wait"
B_ID=$(t_json .id)
t_eq "create $B with start: virsh says running" "$(t_domstate "$B_ID")" running

# --- without ?wait: 202 + Location, then wait on the operation
op "$B" stop '{"force":true}'
t_http POST "/v1/vms/$B/start"
t_expect_status 202 "start $B without wait: 202"
t_expect_json .kind start "start $B without wait: body is the operation"
t_match "start $B without wait: status queued|running|succeeded" "$(t_json .status)" \
	'^(queued|running|succeeded)$'
OP=$(t_json .id)
t_eq "start $B without wait: Location /v1/operations/{id}" "$T_LOCATION" "/v1/operations/$OP"
t_http GET "${T_LOCATION:-/v1/operations/$OP}?wait=30"
t_expect_status 200 "GET the start operation with wait=30: 200"
t_expect_json .status succeeded "the start operation succeeded"
t_expect_json .vm_id "$B_ID"
t_match "the operation has finished_at" "$(t_json .finished_at)" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
t_eq "start $B without wait: virsh says running" "$(t_domstate "$B_ID")" running

# --- a second operation while one runs: 409
t_http POST "/v1/vms/$B/stop" '{"timeout_s":3}'
t_expect_status 202 "stop $B timeout_s 3 without wait: 202"
OP=$(t_json .id)
t_http POST "/v1/vms/$B/pause"
t_expect_problem 409 "pause $B during its stop: 409"
t_match "409 detail names the vm" "$(t_json .detail)" "$B"
t_http GET "/v1/vms/$B"
t_match "during the stop: state stopping" "$(t_json .state)" '^stopping$'
t_expect_json .operation "$OP" "during the stop: the vm names its operation"
t_http GET "/v1/operations/$OP?wait=30"
t_expect_status 200 "GET the stop operation with wait=30: 200"
t_expect_json .status succeeded "the stop operation succeeded"
t_eq "after the stop: virsh says shut off" "$(t_domstate "$B_ID")" "shut off"

t_http GET "/v1/operations?vm=$B"
t_expect_status 200
t_expect_json '.operations | length >= 4' true "GET /v1/operations?vm= lists $B's operations"
t_expect_json '.operations[0].id' "$OP" "operations are newest first"
t_expect_json "[.operations[].vm] | unique | .[0]" "$B" "operations?vm= lists only $B"

# --- clean up through the API
t_http DELETE "/v1/vms/$B?$W"
t_expect_status 200 "delete $B: 200"
t_expect_json .status succeeded "delete $B: succeeded"
t_eq "at the end: no curl-* domain on the host" \
	"$(t_virsh list --all --name 2>/dev/null | grep -- "^$T_PFX")" ""
t_eq "at the end: images dir is empty" "$(images)" ""

hangard_stop
t_summary
