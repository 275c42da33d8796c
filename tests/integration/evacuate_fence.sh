#!/usr/bin/env bash
#
# evacuate_fence.sh - issue 13 §4 without a guest OS: a lost host fenced
# by its fence action, and its VM recovered from shared storage.  Three
# libvirt hosts of its own (tests/lib/lvhost.sh): h1 (hangard's `local`,
# pool $T_TMP/images), h2 and h3 sharing one pool directory
# ($T_TMP/shared: the same files at the same path).  VM S (64 MiB, a
# 1 GiB disk without an OS and a NoCloud seed, running, never backed up)
# lives on h2.
# Checked:
#   - bad input: a fence that is not an argument vector of strings, or
#     whose program is not an absolute path (400 naming fence); evacuate
#     with a non-boolean confirm_host_down (400 naming it), of an unknown
#     host (404), of a host that answers (409);
#   - h2 down: a fence action that exits 1 refuses the evacuation (409
#     naming confirm_host_down, saying how it failed) and fences nothing;
#     one that exits 0 fences h2 without the operator's word (`hangar host
#     evacuate h2`); S comes up on h3 from its disks (only h3 keeps its
#     disks where h2 did), running, nothing lost (vm.evacuated
#     source shared);
#   - unfence while h2 does not answer: 409;
#   - h2 back: its stale (defined) S is undefined there, S's disk file
#     stays (it is what S runs on now), S still runs on h3; `hangar host
#     unfence h2` re-admits it.
# Usage: BUILD=build tests/integration/evacuate_fence.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init evfence nohost
declare -A LV URI
for h in h1 h2 h3; do
	LV[$h]=${T_PFX}$h
	if ! t_lvhost_start "${LV[$h]}"; then
		t_fail "start libvirt host $h" "see above"
		t_summary
	fi
	URI[$h]=$LVHOST_URI
done
T_LV_URI=${URI[h1]}
HANGARD_CONF_EXTRA=$'reconcile_interval_s = 2\ncpu_ratio = 16' hangard_start || t_summary
W=wait=120
CLI=("$BUILD/hangar" --url "unix:$HANGARD_SOCK")
lv() {
	local h=$1
	shift
	lvhost_virsh "${LV[$h]}" "$@"
}
events() { curl -sS -m 10 "$T_BASE/v1/events?since=0&follow=false&type=$1"; }

mkdir -p "$T_TMP/shared"
for h in h2 h3; do
	t_http POST /v1/hosts "$(jq -nc --arg n "$h" --arg u "${URI[$h]}" \
		--arg p "$T_TMP/shared" '{name: $n, uri: $u, pool_path: $p, cpu_ratio: 16}')"
	t_expect_status 201 "register $h with the shared pool directory: 201"
done

# --- bad input
for bad in '"/bin/true"' '["bin/true"]' '[1]' '["/bin/true",""]' \
	'["/bin/true","a\u0001b"]' '{"program":"/bin/true"}'; do
	t_http PATCH /v1/hosts/h2 "{\"fence\":$bad}"
	t_expect_problem 400 "fence $bad: 400"
	t_expect_json .field fence "fence $bad: the 400 names fence"
done
t_http GET /v1/hosts/h2
t_expect_json .fence null "h2 has no fence action after the refused ones"

t_http POST "/v1/vms?$W" "$(jq -nc --arg n "${T_PFX}s" '{name: $n, vcpus: 1,
	memory_mib: 64, disk_gib: 1, start: true, host: "h2",
	cloud_init: {hostname: "s"}}')"
t_expect_status 201 "create S on h2 with a NoCloud seed, running, never backed up: 201"
t_expect_json '[.disks[] | select(.device == "cdrom")] | length' 1 "S has a seed (a CD-ROM)"
S=${T_PFX}s
S_ID=$(t_json .id)
VOL=$(t_json '.disks[0].volume')
t_check "S's disk is in the shared directory" test -e "$T_TMP/shared/$VOL"

t_http POST /v1/hosts/h2/evacuate '{"confirm_host_down":"yes"}'
t_expect_problem 400 "evacuate with confirm_host_down \"yes\": 400"
t_expect_json .field confirm_host_down "the 400 names confirm_host_down"
t_http POST /v1/hosts/nope/evacuate '{"confirm_host_down":true}'
t_expect_problem 404 "evacuate an unknown host: 404"
t_http POST /v1/hosts/h2/evacuate '{"confirm_host_down":true}'
t_expect_problem 409 "evacuate h2 while it answers: 409"

# --- h2 lost; a fence action that fails, then one that works
t_http PATCH /v1/hosts/h2 '{"fence":["/bin/false","--power-off"]}'
t_expect_json '.fence.program + " " + (.fence.args | tostring)' "/bin/false 1" \
	"fence /bin/false: shown as its program and argument count"
lvhost_down "${LV[h2]}" >/dev/null 2>&1
t_http POST /v1/hosts/h2/evacuate '{}'
t_expect_problem 409 "evacuate h2 whose fence action exits 1: 409"
t_expect_json .field confirm_host_down "the 409 names confirm_host_down"
t_match "the 409 says the fence action failed" "$(t_json .detail)" \
	"fence action of host 'h2' \\(/bin/false\\) failed \\(exit status 1\\)"
t_http GET /v1/hosts/h2
t_expect_json .fenced_at null "a failed fence action fences nothing"
t_http PATCH /v1/hosts/h2 '{"fence":["/bin/true"]}'
t_expect_status 200 "fence /bin/true: 200"
if "${CLI[@]}" -o json host evacuate h2 >"$T_TMP/evac.json" 2>&1; then
	t_ok "hangar host evacuate h2 (no --confirm-host-down): exit 0"
else
	t_fail "hangar host evacuate h2" "$(tail -n 5 "$T_TMP/evac.json")"
fi
t_eq "the evacuation succeeded: 1 of 1 recovered" \
	"$(jq -r '[.status, .progress.recovered, .progress.total] | join(" ")' "$T_TMP/evac.json")" \
	"succeeded 1 1"
t_eq "S went to h3, nothing lost" \
	"$(jq -r '.progress.vms[0] | [.to, .lost] | join(" ")' "$T_TMP/evac.json")" "h3 nothing"
t_http GET /v1/hosts/h2
t_expect_json .state fenced "h2 is fenced"
t_match "event host.fenced: by the fence action" "$(events host.fenced)" '"by":"fence action"'
t_http GET "/v1/vms/$S"
t_expect_json '.host + " " + .state' "h3 running" "S runs on h3"
t_expect_json '.disks[0].volume' "$VOL" "S keeps its disk volume (shared)"
t_eq "virsh: S runs on h3" "$(lv h3 domstate "$S" 2>&1)" running
t_eq "virsh: S on h3 uses the same disk file, and its seed there" \
	"$(lv h3 domblklist "$S" | awk '$2 ~ /^\// { print $2 }' | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$T_TMP/shared/$VOL" "$T_TMP/shared/$S_ID-cidata.iso" | sort | tr '\n' ' ')"
t_match "event vm.evacuated: from shared storage" "$(events vm.evacuated)" \
	'"source":"shared"'
t_http POST /v1/hosts/h2/unfence
t_expect_problem 409 "unfence h2 while it does not answer: 409"

# --- h2 back with its stale S
if lvhost_up "${LV[h2]}"; then
	t_ok "h2's libvirtd started again (S still defined there)"
else
	t_fail "start h2's libvirtd again" "see above"
fi
t_check "hangar undefines the stale S on h2 once h2 answers" \
	t_wait_for 120 bash -c "curl -sS -m 5 '$T_BASE/v1/events?since=0&follow=false&type=host.stale_domain_removed' | grep -q '\"uuid\":\"$S_ID\"'"
t_eq "virsh: h2 has no S left" "$(lv h2 list --all --name | grep -c "^$S\$")" 0
t_check "S's disk file stays (S runs on it)" test -e "$T_TMP/shared/$VOL"
t_eq "virsh: S still runs on h3" "$(lv h3 domstate "$S" 2>&1)" running
if "${CLI[@]}" -o json host unfence h2 >"$T_TMP/unfence.json" 2>&1; then
	t_eq "hangar host unfence h2: ready" "$(jq -r .state "$T_TMP/unfence.json")" ready
else
	t_fail "hangar host unfence h2" "$(cat "$T_TMP/unfence.json")"
fi

t_http DELETE "/v1/vms/$S?$W"
t_expect_json .status succeeded "delete S: succeeded"
for h in h1 h2 h3; do
	t_eq "virsh: no domain is left on $h" "$(lv "$h" list --all --name | grep -c .)" 0
done
t_summary
