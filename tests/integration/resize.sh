#!/usr/bin/env bash
#
# resize.sh - PATCH /v1/vms/{vm} with vcpus / memory_mib (issue 13, 1).
# One libvirt host in a network namespace of its own with a nat network,
# and ONE Debian 12 guest (TCG) made with max_vcpus 2 and max_memory_mib
# 768 at 1 vCPU and 512 MiB, SSH'd into from the host's namespace.
# Checked: the bad bodies (400 naming the field); a stopped VM asked
# "live" (409); a resize its host cannot take (409 with the host's
# verdict, nothing changed); a live growth seen by libvirt AND inside the
# guest (nproc, MemTotal); a next-boot change that leaves the running
# guest alone, is in the inactive definition, and is seen in the guest
# after it is stopped and started; `hangar vm resize`.
# Usage: BUILD=build tests/integration/resize.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
# One Debian boot (and its restart) under TCG, on a shared, loaded
# machine; tests/run gives it
# timeout: 2400
# lane: guest
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init rsz nohost
guest_netns_hangard
W=wait=300

gssh() { GUEST_SSH_TIMEOUT=120 GUEST_SSH_CONNECT=60 guest_ssh "$NS_PID" "$@"; }
# within SECS CMD...: CMD succeeds before SECS seconds have passed (by the
# clock: a TCG guest's ssh can take a minute to answer one try)
within() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 2
	done
}
# provisioned: cloud-init is done in the guest (hangard follows it)
provisioned() {
	curl -fsS -m 5 "$T_BASE/v1/vms/$A" | jq -e '.provisioning == "done"'
}
# memtotal IP: the guest's MemTotal in MiB
# (one string: ssh hands the remote shell its arguments joined)
memtotal() { gssh "$1" "awk '/^MemTotal:/ { print int(\$2 / 1024) }' /proc/meminfo"; }
# field: the problem's field
field() { t_json .field; }

# --- 1. a small stopped VM: the bad bodies, live on a stopped VM, room
S=${T_PFX}s
t_http POST "/v1/vms?$W" "{\"name\":\"$S\",\"vcpus\":1,\"memory_mib\":64,\"max_memory_mib\":4194304,\"placement\":{\"domain_type\":\"qemu\"}}"
t_expect_status 201 "create stopped $S (1 vCPU, 64 MiB, max_memory_mib 4 TiB): 201"
t_expect_json '"\(.max_vcpus) \(.max_memory_mib)"' "4 4194304" \
	"$S: max_vcpus defaults to 4, max_memory_mib as asked"
x=$(t_virsh dumpxml "$S")
t_match "virsh: <vcpu current='1'>4</vcpu>" "$x" "<vcpu placement='static' current='1'>4</vcpu>"
t_match "virsh: a virtio balloon" "$x" "<memballoon model='virtio'"
for b in '{"vcpus":5}=vcpus' '{"vcpus":0}=vcpus' '{"vcpus":"2"}=vcpus' \
	'{"vcpus":1.5}=vcpus' '{"memory_mib":8}=memory_mib' \
	'{"vcpus":2,"apply":"soon"}=apply' '{"apply":"live"}=vcpus' \
	'{"vcpus":2,"allow_move":"yes"}=allow_move' \
	'{"vcpus":2,"on_drift":"alert"}=on_drift' '{"vcpus":1}=vcpus'; do
	t_http PATCH "/v1/vms/$S" "${b%=*}"
	t_expect_problem 400 "PATCH $S ${b%=*}: 400"
	t_eq "... naming ${b#*=}" "$(field)" "${b#*=}"
done
t_http PATCH "/v1/vms/$S" '{"vcpus":2,"apply":"live"}'
t_expect_problem 409 "PATCH $S live while it is stopped: 409"
t_eq "... naming apply" "$(field)" apply
t_http PATCH "/v1/vms/$S" '{"memory_mib":4194304}'
t_expect_problem 409 "PATCH $S to 4 TiB: its host cannot take it: 409"
t_expect_json '.hosts | length' 1 "... with the host's verdict"
t_expect_json '.hosts[0].filter' memory "... refused by the memory filter"
t_http GET "/v1/vms/$S"
t_expect_json '"\(.vcpus) \(.memory_mib) \(.state)"' "1 64 stopped" "$S: unchanged"
t_http PATCH "/v1/vms/$S?$W" '{"vcpus":3,"memory_mib":96}'
t_expect_json '"\(.status) \(.params.apply)"' "succeeded next_boot" \
	"PATCH $S vcpus 3, 96 MiB: a stopped VM's resize is for the next boot"
x=$(t_virsh dumpxml --inactive "$S")
t_match "virsh: its definition has 3 vCPUs of 4" "$x" "current='3'>4</vcpu>"
t_match "virsh: ... and 96 MiB" "$x" "<currentMemory unit='KiB'>98304</currentMemory>"
t_http GET "/v1/vms/$S"
t_expect_json '"\(.vcpus) \(.memory_mib)"' "3 96" "GET $S: 3 vCPUs, 96 MiB"
# the event stream from the start, for a moment: the resize's event
ev=$(curl -sS -N -m 3 "$T_BASE/v1/events?since=0&type=vm.resized" 2>/dev/null)
t_match "event vm.resized with the new size" "$ev" "\"vm\":\"$S\".*\"data\":\\{\"vcpus\":3,\"memory_mib\":96\\}"
t_http DELETE "/v1/vms/$S?$W"
t_expect_json .status succeeded "delete $S"

# --- 2. the Debian guest
t_http POST /v1/networks '{"name":"lan","mode":"nat","ipv4":{"cidr":"10.79.0.0/24"}}'
t_expect_status 201 "create nat network lan: 201"
guest_debian_import deb "$W"
guest_ssh_key
A=${T_PFX}a IP=10.79.0.2
t_http POST "/v1/vms?$W" "$(jq -nc --arg n "$A" --arg k "$KEY" \
	'{name: $n, vcpus: 1, memory_mib: 512, max_vcpus: 2, max_memory_mib: 768,
	  image: "deb", start: true, placement: {domain_type: "qemu"},
	  nics: [{network: "lan"}], cloud_init: {ssh_authorized_keys: [$k]}}')"
t_expect_status 201 "create $A (1 vCPU of 2, 512 MiB of 768), started: 201"
T0=$(t_ns_now)
t_check "$A: cloud-init done within 20 min" within 1200 provisioned
if within 600 gssh "$IP" true; then
	t_ok "ssh into $A ($(((($(t_ns_now) - T0)) / 1000)) s after the create)"
else
	t_fail "ssh into $A" "$(gssh "$IP" true 2>&1 | tail -n 3)"
	t_summary
fi
t_eq "in $A: nproc is 1" "$(gssh "$IP" nproc)" 1
m0=$(memtotal "$IP")
t_check "in $A: MemTotal ($m0 MiB) is about 512 MiB" test "$m0" -gt 300 -a "$m0" -le 512

# --- 3. live growth
t_http PATCH "/v1/vms/$A?$W" '{"vcpus":2,"memory_mib":768}'
t_expect_json '"\(.status) \(.params.apply)"' "succeeded live" \
	"PATCH $A 2 vCPUs, 768 MiB: live (the default for a running VM)"
t_eq "virsh: 2 vCPUs live" "$(t_virsh vcpucount "$A" --live --active)" 2
t_eq "virsh: 768 MiB live" "$(t_virsh dommemstat "$A" | awk '$1 == "actual" { print $2 }')" 786432
nproc_is() { [ "$(gssh "$IP" nproc)" = "$1" ]; }
t_check "in $A: nproc is 2" within 120 nproc_is 2
m1=$(memtotal "$IP")
t_check "in $A: MemTotal grew by about 256 MiB ($m0 -> $m1)" \
	test $((m1 - m0)) -ge 200 -a $((m1 - m0)) -le 300
t_http GET "/v1/vms/$A"
t_expect_json '"\(.vcpus) \(.memory_mib) \(.state)"' "2 768 running" "GET $A: 2 vCPUs, 768 MiB, running"
t_http PATCH "/v1/vms/$A" '{"vcpus":3}'
t_expect_problem 400 "PATCH $A beyond max_vcpus: 400"

# --- 4. next boot, through the CLI
if out=$(HANGAR_URL="" timeout 300 "$BUILD/hangar" --url "unix:$HANGARD_SOCK" vm resize "$A" --vcpus 1 --memory 640 --next-boot 2>&1); then
	t_ok "hangar vm resize $A --vcpus 1 --memory 640 --next-boot"
else
	t_fail "hangar vm resize --next-boot" "$(_t_cut "$out")"
fi
t_eq "in $A: still 2 vCPUs until it boots again" "$(gssh "$IP" nproc)" 2
x=$(t_virsh dumpxml --inactive "$A")
t_match "virsh: the definition has 1 vCPU" "$x" "current='1'>2</vcpu>"
t_match "virsh: ... and 640 MiB" "$x" "<currentMemory unit='KiB'>655360</currentMemory>"
t_http POST "/v1/vms/$A/stop?$W" '{"timeout_s":240}'
t_expect_json .status succeeded "stop $A"
t_http POST "/v1/vms/$A/start?$W" '{}'
t_expect_json .status succeeded "start $A"
if within 1200 gssh "$IP" true; then
	t_ok "ssh into $A after its boot"
	t_eq "in $A: nproc is 1 after the boot" "$(gssh "$IP" nproc)" 1
	m2=$(memtotal "$IP")
	t_check "in $A: MemTotal ($m2 MiB) is about 640 MiB" test "$m2" -gt 500 -a "$m2" -le 640
else
	t_fail "ssh into $A after its boot" "$(gssh "$IP" true 2>&1 | tail -n 3)"
fi

t_http DELETE "/v1/vms/$A?$W"
t_expect_json .status succeeded "delete $A"
t_eq "virsh: no domain is left" "$(t_virsh list --all --name | grep -c .)" 0
t_summary
