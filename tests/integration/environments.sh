#!/usr/bin/env bash
#
# environments.sh - test environments (POST /v1/environments) on a real
# libvirt host in a network namespace of its own (LVHOST_NETNS=1: the
# environment's network, its bridge and dnsmasq stay there), with the
# tiny busybox guest imported as an image:
#   - bad input (a name with ../ or too long, count 0 or over the limit,
#     a bad ttl, NICs asked for, an unknown image, a bad range) is a 400
#     naming the field, and leaves nothing;
#   - ci: 1 db + 5 web VMs up in one call (one operation, its children
#     the six creates): all running, each with one NIC on the private
#     network hangar-env-ci with an address of its range (libvirt's DHCP
#     hosts say the same); a taken name is a 409; a VM of it cannot be
#     deleted alone; PATCH moves its expiry; DELETE leaves no domain,
#     volume, seed, libvirt network or row;
#   - big: an environment that cannot fit (a VM finds no room) is a
#     409 naming that VM with every host's verdict, and leaves nothing;
#   - the CLI (env up FILE, list, show, extend); a ttl cut to 5 s
#     removes the environment by itself; an expiry passing
#     while hangard is down is acted on when it is back (kept in the
#     store); hangard SIGKILLed while one is made: it ends ready or
#     removed, nothing left half made.
# Usage: BUILD=build tests/integration/environments.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
# Six tiny guests booting under TCG on a shared 2-core machine; tests/run gives it
# timeout: 900
# Its own hosts: in the guest lane, it keeps the two lanes about as long
# lane: guest
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init envs nohost
LV=${T_PFX}h
if ! LVHOST_NETNS=1 t_lvhost_start "$LV"; then
	t_fail "start a libvirt host in its own network namespace" "see above"
	t_summary
fi
T_LV_URI=$LVHOST_URI
CONF=$'reconcile_interval_s = 2\ncpu_ratio = 16'
HANGARD_CONF_EXTRA=$CONF hangard_start || t_summary
W=wait=300
TCG='"placement":{"domain_type":"qemu"}'

if ! TINY=$(guest_image tiny); then
	t_fail "build the tiny test guest" "see above"
	t_summary
fi
code=$(curl -sS -m 300 -o "$T_TMP/import.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/octet-stream' -T "$TINY" \
	"$T_BASE/v1/images?name=tiny&format=qcow2&$W")
t_eq "import the tiny guest: 200" "$code" 200

# problem STATUS FIELD WHAT: the reply is a problem naming FIELD
problem() {
	t_expect_problem "$1" "$3: $1"
	t_expect_json .field "$2" "$3: names $2"
}
# doms PREFIX: the host's domains whose names start with PREFIX
doms() { lvhost_virsh "$LV" list --all --name | grep -c "^$1" ; }
# vols: the pool's volumes other than the image's copy (disks, seeds)
vols() {
	find "$T_TMP/images" -mindepth 1 -maxdepth 1 ! -name 'base-*' \
		-printf '%f ' 2>/dev/null
}
# net NAME: is the libvirt network hangar-env-NAME on the host?
net() { lvhost_virsh "$LV" net-list --all --name | grep -qx "hangar-env-$1"; }
# nothing_left NAME WHAT: no row, VM, domain, volume or network of env NAME
nothing_left() {
	t_http GET "/v1/environments/$1"
	t_expect_status 404 "$2: no environment $1"
	t_http GET "/v1/networks/env-$1"
	t_expect_status 404 "$2: no network env-$1"
	t_eq "$2: no VM $1-*" "$(curl -sS "$T_BASE/v1/vms" |
		jq "[.vms[] | select(.name | startswith(\"$1-\"))] | length")" 0
	t_eq "$2: virsh: no domain $1-*" "$(doms "$1-")" 0
	t_check_not "$2: virsh: no network hangar-env-$1" net "$1"
	t_eq "$2: no disk or seed volume in the pool" "$(vols)" ""
}
# env NAME TTL VMS: a create body
env() { # (CIDR: the network's range, 10.91.0.0/24 by default)
	printf '{"name":"%s","ttl":"%s","network":{"cidr":"%s"},"vms":%s}' \
		"$1" "$2" "${CIDR:-10.91.0.0/24}" "$3"
}
vm() { # ROLE COUNT [EXTRA [MEMORY_MIB]]: one entry of "vms"
	printf '{"name":"%s","count":%s,"image":"tiny","memory_mib":%s,%s%s}' \
		"$1" "$2" "${4:-96}" "$TCG" "${3:+,$3}"
}

# --- bad input: 400 naming the field, nothing made
t_http POST /v1/environments "$(env ../x 1h "[$(vm db 1)]")"
problem 400 name "a name with ../"
t_http POST /v1/environments "$(env abcdefghijklmnopqrstuvwxy 1h "[$(vm db 1)]")"
problem 400 name "a name of 25 characters"
t_http POST /v1/environments "$(env bad 1h "[$(vm db 0)]")"
problem 400 'vms[0].count' "count 0"
t_http POST /v1/environments "$(env bad 1h "[$(vm db 1),$(vm web 101)]")"
problem 400 'vms[1].count' "count over the limit"
t_http POST /v1/environments "$(env bad 1h "[$(vm db 60),$(vm web 60)]")"
problem 400 vms "more than 100 VMs in all"
t_http POST /v1/environments "$(env bad soon "[$(vm db 1)]")"
problem 400 ttl "a ttl that is not a duration"
t_http POST /v1/environments "$(env bad 31d "[$(vm db 1)]")"
problem 400 ttl "a ttl over 30 days"
t_http POST /v1/environments "$(env bad 1h "[$(vm 'd/b' 1)]")"
problem 400 'vms[0].name' "a role with /"
t_http POST /v1/environments "$(env bad 1h "[$(vm db 1),$(vm db 1)]")"
problem 400 vms "a role twice"
t_http POST /v1/environments "$(env bad 1h "[$(vm db 1 '"nics":[{"network":"x"}]')]")"
problem 400 'vms[0].nics' "NICs asked for"
t_http POST /v1/environments "$(env bad 1h "[$(vm db 1 '"vcpus":0')]")"
problem 400 'vms[0].vcpus' "a VM field out of range"
t_http POST /v1/environments "$(env bad 1h '[{"name":"db","image":"nosuch"}]')"
t_expect_json .field 'vms[0].image' "an unknown image: names vms[0].image"
t_http POST /v1/environments '{"name":"bad","network":{"cidr":"10.91.0.1/24"},"vms":[{"name":"db","image":"tiny"}]}'
problem 400 network.cidr "a range with host bits"
t_http POST /v1/environments '{"name":"bad","network":{"cidr":"10.91.0.0/24","mode":"bridge"},"vms":[{"name":"db","image":"tiny"}]}'
problem 400 network.mode "a bridge network"
nothing_left bad "after bad input"

# --- ci: 1 + 5 VMs in one call
T0=$(t_ns_now)
t_http POST "/v1/environments?$W" "$(env ci 1h "[$(vm db 1),$(vm web 5)]")"
t_expect_json .status succeeded "environment ci (1 db + 5 web): succeeded"
t_expect_json .kind env_create "... one env_create operation"
OP=$(t_json .id)
t_ok "ci made in $((($(t_ns_now) - T0) / 1000)) s"
t_eq "its children: the six creates, all succeeded" "$(curl -sS \
	"$T_BASE/v1/operations?limit=100" | jq -r --arg p "$OP" \
	'[.operations[] | select(.parent == $p) | .kind + ":" + .status] |
	(unique | join(" ")) + " " + (length | tostring)')" "create:succeeded 6"
t_http GET /v1/environments/ci
t_expect_json .state ready "ci: ready"
t_expect_json '.vms | length' 6 "ci: six VMs"
t_expect_json '[.vms[].name] | sort | join(" ")' \
	"ci-db-1 ci-web-1 ci-web-2 ci-web-3 ci-web-4 ci-web-5" "ci: VMs named <env>-<role>-<i>"
t_expect_json '[.vms[] | select(.role == "web")] | length' 5 "ci: five of role web"
t_expect_json '[.vms[].addresses[] | select(startswith("10.91.0."))] | unique | length' 6 \
	"ci: six different addresses in 10.91.0.0/24"
t_expect_json '[.vms[].nics[].network] | unique | join(" ")' env-ci "ci: every NIC on network env-ci"
t_expect_json '.expires_at != null and .ttl_s == 3600' true "ci: it expires in 1 h"
running() {
	[ "$(curl -sS -m 5 "$T_BASE/v1/environments/ci" |
		jq '[.vms[] | select(.state == "running")] | length')" = 6 ]
}
t_check "ci: all six running within 120 s" t_wait_for 120 running
t_eq "virsh: six domains ci-*, all running" \
	"$(lvhost_virsh "$LV" list --name | grep -c '^ci-')" 6
t_check "virsh: network hangar-env-ci is on the host" net ci
t_eq "virsh: ci-web-3 has one interface, on hangar-env-ci" \
	"$(lvhost_virsh "$LV" domiflist ci-web-3 | awk '$2 == "network" {print $3}')" hangar-env-ci
t_eq "virsh: hangar-env-ci has a DHCP host per VM" "$(lvhost_virsh "$LV" \
	net-dumpxml hangar-env-ci | grep -c '<host mac=')" 6
t_http GET /v1/environments
t_expect_json '[.environments[] | .name + ":" + (.vm_count | tostring)] | join(" ")' ci:6 \
	"GET /v1/environments lists ci with its six VMs"

t_http POST /v1/environments "$(env ci 1h "[$(vm db 1)]")"
problem 409 name "a taken name"
t_http POST /v1/environments "$(env ci2 1h "[$(vm db 1)]")"
problem 409 network.cidr "a range overlapping ci's"
t_match "... it names network env-ci" "$(t_json .detail)" "env-ci"
t_http DELETE /v1/vms/ci-web-2
t_expect_problem 409 "a VM of ci deleted alone: 409"
t_match "... it says to delete the environment" "$(t_json .detail)" "environment 'ci'"
t_http PATCH /v1/environments/ci '{"ttl":"2h"}'
t_expect_json .ttl_s 7200 "PATCH ttl 2h: 200"
t_http PATCH /v1/environments/ci '{"ttl":"later"}'
problem 400 ttl "PATCH a bad ttl"

# --- big: cannot fit (a b VM finds no room); nothing is left
MEM=$(curl -sS "$T_BASE/v1/hosts" | jq '.hosts[0].memory_mib // .hosts[0].capacity.memory_mib')
PER=$((MEM / 5))
VOLS_BEFORE=$(vols)
t_http POST /v1/environments "$(CIDR=10.92.0.0/24 env big 1h "[$(vm a 1),$(vm b 8 '"start":false' "$PER")]")"
problem 409 "vms[1]" "an environment too big for the host ($PER MiB x 8 of $MEM)"
t_match "... the error names the VM that did not fit" "$(t_json .detail)" "vm 'big-b-[0-9]'"
t_expect_json '.hosts | length > 0' true "... with every host's verdict"
nothing_left_big() {
	t_http GET /v1/environments/big
	t_expect_status 404 "big: no environment"
	t_http GET /v1/networks/env-big
	t_expect_status 404 "big: no network env-big"
	t_eq "big: no VM big-*" "$(curl -sS "$T_BASE/v1/vms" |
		jq '[.vms[] | select(.name | startswith("big-"))] | length')" 0
	t_check_not "big: virsh: no network hangar-env-big" net big
	t_eq "big: virsh: no domain big-*" "$(doms big-)" 0
	t_eq "big: no volume made (the pool holds ci's, as before)" "$(vols)" "$VOLS_BEFORE"
	t_http GET '/v1/operations?limit=1000'
	t_expect_json '[.operations[] | select(.vm // "" | startswith("big-"))
		| .status] | unique | join(" ")' cancelled \
		"big: the creates placed before the refusal were cancelled, never run"
}
nothing_left_big
t_http GET /v1/environments/ci2
t_expect_status 404 "ci2 (refused for its range): no environment"
t_http GET /v1/networks/env-ci2
t_expect_status 404 "ci2: no network env-ci2"

# --- ci down: nothing left
t_http DELETE "/v1/environments/ci?$W"
t_expect_json .status succeeded "DELETE ci: succeeded"
t_expect_json .kind env_delete "... one env_delete operation"
nothing_left ci "after ci's delete"

# --- hangard SIGKILLed while an environment is being made: once started
# again, the environment ends ready or removed, never half made
t_http POST /v1/environments "$(CIDR=10.93.0.0/24 env crash 1h "[$(vm a 3)]")"
t_expect_status 202 "environment crash: accepted"
CRASH_OP=$(t_json .id)
child_running() {
	curl -sS "$T_BASE/v1/operations?limit=1000" | jq -e --arg p "$CRASH_OP" \
		'[.operations[] | select(.parent == $p and .status == "running")] |
		length > 0' >/dev/null
}
t_check "crash: a create of it is running" t_wait_for 60 child_running
kill -KILL "$HANGARD_PID" 2>/dev/null
wait "$HANGARD_PID" 2>/dev/null
HANGARD_PID=''
HANGARD_CONF_EXTRA=$CONF hangard_start || t_summary
settled() {
	local st
	st=$(curl -sS "$T_BASE/v1/environments/crash" | jq -r '.state // .status')
	[ "$st" = ready ] || [ "$st" = 404 ]
}
t_check "crash: after the restart it is ready or removed within 180 s" t_wait_for 180 settled
t_http GET "/v1/operations/$CRASH_OP?wait=60"
CRASH_END=$(t_json .status)
t_match "crash: its operation ended ($CRASH_END)" "$CRASH_END" '^(succeeded|failed)$'
t_http GET /v1/environments/crash
if [ "$T_STATUS" = 200 ]; then
	t_expect_json '.vms | length' 3 "crash: ready, with its three VMs"
	t_http DELETE "/v1/environments/crash?$W"
	t_expect_json .status succeeded "DELETE crash: succeeded"
fi
nothing_left crash "after crash"

# --- the CLI: env up a file, list, show; extend to a 5 s ttl, which
# removes it by itself
cli() { HANGAR_URL='' timeout 300 "$BUILD/hangar" --url "unix:$HANGARD_SOCK" "$@" 2>&1; }
env tmp 1h "[$(vm a 1)]" >"$T_TMP/tmp.json"
out=$(cli env up "$T_TMP/tmp.json" --ttl 2h)
t_eq "hangar env up tmp.json --ttl 2h: exit 0" "$?" 0
t_match "... prints tmp ready with its VM and address" "$out" \
	"tmp-a-1 +a +(running|starting|stopped) .*10\.91\.0\."
out=$(cli env list)
t_match "hangar env list: tmp, ready, one VM, on env-tmp" "$out" "tmp +ready +1 +env-tmp"
out=$(cli -o json env show tmp)
t_eq "hangar -o json env show tmp: ttl 2 h" "$(jq .ttl_s <<<"$out")" 7200
out=$(cli env extend tmp 5s)
t_eq "hangar env extend tmp 5s: exit 0" "$?" 0
out=$(cli env down nosuch)
t_check_not "hangar env down nosuch: fails" test "$?" = 0
t_match "... saying it is not found" "$out" "environment 'nosuch' not found"
gone() { [ "$(curl -sS -o /dev/null -w '%{http_code}' "$T_BASE/v1/environments/$1")" = 404 ]; }
t_check "tmp: removed by itself within 60 s" t_wait_for 60 gone tmp
nothing_left tmp "after tmp expired"

# --- the expiry is in the store: it passes while hangard is down
t_http POST "/v1/environments?$W" "$(env keep 8s "[$(vm a 1 '"start":false')]")"
t_expect_json .status succeeded "environment keep with an 8 s ttl: made"
t_http GET /v1/environments/keep
EXP=$(t_json .expires_at)
hangard_stop
sleep 9
HANGARD_CONF_EXTRA=$CONF hangard_start || t_summary
t_http GET /v1/environments/keep
if [ "$T_STATUS" = 200 ]; then
	t_expect_json .expires_at "$EXP" "keep: the same expiry after the restart"
fi
t_check "keep: its expiry, passed while hangard was down, removes it within 30 s" \
	t_wait_for 30 gone keep
nothing_left keep "after keep expired"
t_summary
