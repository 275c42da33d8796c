#!/usr/bin/env bash
#
# drift.sh - the inventory against what libvirt really does, on real
# libvirt hosts: GET /v1/drift and /v1/vms/{vm}/drift (state drift, a
# domain gone, orphans), the on_drift policies (record, alert, enforce),
# adopting an orphan, and a libvirtd restarted under a running hangard
# (reconnect, unknown, then seen again).
# Usage: BUILD=build tests/integration/drift.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init drift
HANGARD_CONF_EXTRA='cpu_ratio = 16
reconcile_interval_s = 2'
hangard_start || t_summary

A=${T_PFX}a
B=${T_PFX}b
O=${T_PFX}orphan

vm_field() {
	curl -fsS "$HANGARD_URL/v1/vms/$1" | jq -r ".$2"
}

drift_kind() {   # drift_kind VM: the kind of its drift, or null
	curl -fsS "$HANGARD_URL/v1/vms/$1/drift" | jq -r '.drift.kind // "null"'
}

# --- state drift, recorded
t_http POST "/v1/vms?wait=60" "{\"name\":\"$A\",\"memory_mib\":64,\"disk_gib\":1,\"start\":true}"
t_expect_status 201 "create $A running"
A_ID=$(t_json .id)
t_expect_json .on_drift record "on_drift defaults to record"
t_http GET "/v1/vms/$A/drift"
t_expect_status 200 "GET /v1/vms/$A/drift"
t_expect_json .drift null "no drift while $A runs as asked"
t_virsh suspend "$A_ID" >/dev/null
t_check "$A observed paused (libvirt event)" t_wait_for 5 \
	bash -c "[ \"\$(curl -fsS $HANGARD_URL/v1/vms/$A | jq -r .observed_state)\" = paused ]"
t_http GET "/v1/vms/$A/drift"
t_expect_json .drift.kind state "the drift is a state drift"
t_expect_json .drift.desired running "... desired running"
t_expect_json .drift.observed paused "... observed paused"
t_http GET "/v1/drift"
t_expect_status 200 "GET /v1/drift"
t_check "GET /v1/drift lists $A" bash -c \
	"jq -e --arg v '$A' '.vms[] | select(.vm == \$v and .kind == \"state\")' <<<'$T_BODY'"
sleep 3
t_eq "record: hangar does nothing about it" "$(t_domstate "$A_ID")" paused
t_http GET "/v1/vms/${T_PFX}nobody/drift"
t_expect_problem 404 "drift of an unknown vm -> 404"

# --- alert: an event
t_http PATCH "/v1/vms/$A" '{"on_drift":"bogus"}'
t_expect_problem 400 "on_drift bogus -> 400"
t_expect_json .field on_drift "the problem names on_drift"
t_http PATCH "/v1/vms/$A" '{"on_drift":"alert"}'
t_expect_json .on_drift alert "on_drift alert"
t_virsh resume "$A_ID" >/dev/null
t_check "$A observed running again" t_wait_for 5 \
	bash -c "[ \"\$(curl -fsS $HANGARD_URL/v1/vms/$A | jq -r .observed_state)\" = running ]"
t_eq "no drift once it runs again" "$(drift_kind "$A")" null
t_virsh suspend "$A_ID" >/dev/null
t_check "alert: a vm.drift event says so" t_wait_for 5 bash -c \
	"curl -sS -m 5 '$HANGARD_URL/v1/events?since=0&follow=false&type=vm.drift&vm=$A' | grep -q '\"observed\":\"paused\"'"
sleep 2
t_eq "alert: hangar still does not change it" "$(t_domstate "$A_ID")" paused

# --- enforce: brought back
t_http PATCH "/v1/vms/$A" '{"on_drift":"enforce"}'
t_expect_json .on_drift enforce "on_drift enforce"
t_check "enforce: hangar resumes $A (at the next sweep)" t_wait_for 10 \
	bash -c "[ \"\$(virsh -q -c '$T_LV_URI' domstate '$A_ID' | head -1)\" = running ]"
t_check "... through a resume operation" bash -c \
	"curl -fsS '$HANGARD_URL/v1/operations?vm=$A&limit=5' | jq -e '.operations[] | select(.kind == \"resume\" and .params.reason == \"on_drift enforce\" and .status == \"succeeded\")'"
t_virsh suspend "$A_ID" >/dev/null
t_check "enforce: a virsh suspend is undone within seconds" t_wait_for 10 \
	bash -c "[ \"\$(virsh -q -c '$T_LV_URI' domstate '$A_ID' | head -1)\" = running ]"
t_virsh destroy "$A_ID" >/dev/null
t_check "enforce: a destroyed VM is started again" t_wait_for 10 \
	bash -c "[ \"\$(virsh -q -c '$T_LV_URI' domstate '$A_ID' | head -1)\" = running ]"
t_http PATCH "/v1/vms/$A" '{"on_drift":"record"}'

# --- a domain removed behind hangar's back
t_http POST "/v1/vms?wait=60" "{\"name\":\"$B\",\"memory_mib\":64,\"disk_gib\":1}"
t_expect_status 201 "create $B (stopped)"
B_ID=$(t_json .id)
t_virsh undefine "$B_ID" >/dev/null
t_check "$B's domain gone: drift kind missing" t_wait_for 5 \
	bash -c "[ \"\$(curl -fsS $HANGARD_URL/v1/vms/$B/drift | jq -r .drift.kind)\" = missing ]"
t_check "$B shows unknown after a sweep" t_wait_for 6 \
	bash -c "[ \"\$(curl -fsS $HANGARD_URL/v1/vms/$B | jq -r .state)\" = unknown ]"
t_http GET "/v1/vms/$B"
t_expect_status 200 "the row of $B is kept (nothing is deleted behind the user's back)"

# --- an orphan, adopted
qemu-img create -f qcow2 "$T_TMP/images/orphan.qcow2" 1G >/dev/null
cat >"$T_TMP/orphan.xml" <<EOF
<domain type='$(t_expected_domain_type)'>
  <name>$O</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$T_TMP/images/orphan.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
EOF
t_virsh define "$T_TMP/orphan.xml" >/dev/null
O_ID=$(t_virsh domuuid "$O" | head -1)
t_virsh start "$O" >/dev/null
t_http GET "/v1/hosts/local/orphans"
t_expect_status 200 "GET /v1/hosts/local/orphans"
t_check "the orphan is listed, with its facts" bash -c \
	"jq -e --arg u '$O_ID' '.orphans[] | select(.uuid == \$u and .state == \"running\" and .vcpus == 1 and .memory_mib == 64 and .hangar_metadata == false)' <<<'$T_BODY'"
t_check "hangar's own VMs are not orphans" bash -c \
	"! jq -e --arg u '$A_ID' '.orphans[] | select(.uuid == \$u)' <<<'$T_BODY'"
t_http POST "/v1/hosts/local/orphans/$O_ID/adopt" '{"name":"Bad Name"}'
t_expect_problem 400 "adopt with a bad name -> 400"
t_http POST "/v1/hosts/local/orphans/nosuchdomain/adopt" '{}'
t_expect_problem 404 "adopt an unknown domain -> 404"
t_http POST "/v1/hosts/local/orphans/$O_ID/adopt" "{\"name\":\"$A\"}"
t_expect_problem 409 "adopt under a taken name -> 409"
t_http POST "/v1/hosts/local/orphans/$O/adopt" '{}'
t_expect_status 201 "adopt the orphan by its name"
t_expect_json .id "$O_ID" "it keeps its uuid"
t_expect_json .name "$O" "and its name"
t_expect_json .state running "and its state"
t_expect_json .disk_gib 1 "its disk size is read from libvirt"
t_http POST "/v1/hosts/local/orphans/$O/adopt" '{}'
t_expect_problem 409 "adopting it again -> 409"
t_http GET "/v1/hosts/local/orphans"
t_check "no longer an orphan" bash -c \
	"! jq -e --arg u '$O_ID' '.orphans[] | select(.uuid == \$u)' <<<'$T_BODY'"
t_http POST "/v1/vms/$O/pause?wait=60" ''
t_expect_json .status succeeded "the adopted VM is managed: pause"
t_eq "virsh: paused" "$(t_domstate "$O_ID")" paused
t_http DELETE "/v1/vms/$O?wait=60"
t_expect_json .status succeeded "delete the adopted VM"
t_eq "virsh: its domain is gone" "$(t_domstate "$O_ID")" absent

# --- libvirtd restarted under a running hangard
if t_lvhost_start "${T_PFX}h2"; then
	H2_URI=$LVHOST_URI
	t_http POST /v1/hosts "{\"name\":\"h2\",\"uri\":\"$H2_URI\",\"pool_path\":\"$T_TMP/images-h2\",\"cpu_ratio\":16}"
	t_expect_status 201 "register h2"
	t_http POST "/v1/vms?wait=60" "{\"name\":\"${T_PFX}c\",\"memory_mib\":64,\"disk_gib\":1,\"start\":true,\"host\":\"h2\"}"
	t_expect_status 201 "create a VM on h2"
	C_ID=$(t_json .id)
	lvhost_down "${T_PFX}h2" >/dev/null
	t_check "h2 shows unreachable" t_wait_for 15 \
		bash -c "[ \"\$(curl -fsS $HANGARD_URL/v1/hosts/h2 | jq -r .state)\" = unreachable ]"
	t_check "its VM shows unknown" t_wait_for 10 \
		bash -c "[ \"\$(curl -fsS $HANGARD_URL/v1/vms/${T_PFX}c | jq -r .state)\" = unknown ]"
	t_eq "drift: unreachable" "$(drift_kind "${T_PFX}c")" unreachable
	t_http GET /v1
	t_expect_status 200 "hangard still answers"
	lvhost_up "${T_PFX}h2" >/dev/null
	t_check "h2 is ready again (reconnected with backoff)" t_wait_for 90 \
		bash -c "[ \"\$(curl -fsS $HANGARD_URL/v1/hosts/h2 | jq -r .state)\" = ready ]"
	t_check "its VM is seen again (stopped: lvhost_down destroyed it)" t_wait_for 30 \
		bash -c "[ \"\$(curl -fsS $HANGARD_URL/v1/vms/${T_PFX}c | jq -r .state)\" = stopped ]"
	t_eq "drift: state (desired running)" "$(drift_kind "${T_PFX}c")" state
	t_http DELETE "/v1/vms/${T_PFX}c?wait=60"
	t_expect_json .status succeeded "delete the VM on h2"
	t_eq "virsh h2: gone" "$(virsh -q -c "$H2_URI" domstate "$C_ID" 2>/dev/null || echo absent)" absent
else
	t_fail "start a second libvirt host" "see above"
fi

t_http DELETE "/v1/vms/$A?wait=60"
t_expect_json .status succeeded "delete $A"
hangard_stop
t_summary
