#!/usr/bin/env bash
# One Debian boot (and its second boot, from the restored disk, on h2);
# tests/run gives it
# timeout: 1500
# lane: guest
#
# evacuate.sh - issue 13 §4, disaster recovery: a host is lost and its VM
# is brought back on another host from its backups.  Two libvirt hosts,
# each in a network namespace of its own (LVHOST_NETNS=1), with pools of
# their own (no shared storage): h1 (hangard's `local`) and h2.  A nat
# network lan (10.77.0.0/24, the same on both hosts, inside each).
#
# One real Debian 12 guest A on h1 with a NIC on lan writes f1 (backed up:
# full), f2 (backed up: incremental), f3 (not backed up).  A tiny VM T,
# stopped, never backed up, is on h1 too (never booted).  Checked:
#   - evacuating h1 while hangar reaches it: 409 saying to drain it;
#   - h1's libvirtd and QEMU killed (SIGKILL), its pool directory and its
#     libvirt definitions wiped;
#   - evacuating it without confirm_host_down: 400 naming that field;
#   - with it: h1 is fenced; A comes up on h2 with the data of the last
#     backup (f1 and f2 there, f3 not), the same MAC and IP (h2's lan has
#     its DHCP host), reachable by SSH; the operation's progress and the
#     vm.evacuated event say which backup it was restored from and how old
#     it was; T is reported not recoverable (no backup, no shared
#     storage) and stays on h1, and the operation fails saying so;
#   - nothing is placed on the fenced h1 (a create there: 409 "fenced");
#   - h1's libvirtd started again with a stale definition of A that
#     autostarts (A's uuid and name, its disks and NICs left out): hangar
#     destroys and undefines it there (event host.stale_domain_removed)
#     and A still runs on h2 only;
#   - `hangar host unfence` re-admits h1; everything deleted.
# Usage: BUILD=build tests/integration/evacuate.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init evac nohost
declare -A LV URI
for h in h1 h2; do
	LV[$h]=${T_PFX}$h
	if ! LVHOST_NETNS=1 t_lvhost_start "${LV[$h]}"; then
		t_fail "start libvirt host $h in its own network namespace" "see above"
		t_summary
	fi
	URI[$h]=$LVHOST_URI
done
T_LV_URI=${URI[h1]}
HANGARD_CONF_EXTRA=$'reconcile_interval_s = 2\ncpu_ratio = 16' hangard_start || t_summary
W=wait=300
CLI=("$BUILD/hangar" --url "unix:$HANGARD_SOCK")

# lv HOST ARG...: virsh against HOST
lv() {
	local h=$1
	shift
	lvhost_virsh "${LV[$h]}" "$@"
}
# hosts HOST NET: the static DHCP hosts of network NET on HOST, "mac ip"
hosts() {
	lv "$1" net-dumpxml "hangar-$2" |
		sed -nE "s/.*<host mac='([^']*)'( name='[^']*')? ip='([^']*)'.*/\1 \3/p" | sort
}
# gssh HOST CMD...: run CMD in the guest over SSH from inside HOST's
# network namespace (where lan's bridge is).  Patient: a TCG guest on a
# loaded machine is slow to answer.
gssh() {
	local pid
	pid=$(cat "$(lvhost_dir "${LV[$1]}")/unshare.pid")
	shift
	timeout 120 nsenter -t "$pid" -n ssh -i "$T_TMP/key/id" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o BatchMode=yes -o ConnectTimeout=60 -o LogLevel=ERROR \
		"debian@$GIP" "$@"
}
# since T0: whole seconds since T0 (t_ns_now, ms)
since() { echo $((($(t_ns_now) - $1) / 1000)); }
# events TYPE: the events of TYPE so far (SSE text)
events() { curl -sS -m 10 "$T_BASE/v1/events?since=0&follow=false&type=$1"; }

# --- 1. h2, the network, the images, a key
mkdir -p "$T_TMP/pool-h2"
t_http POST /v1/hosts "$(jq -nc --arg u "${URI[h2]}" --arg p "$T_TMP/pool-h2" \
	'{name: "h2", uri: $u, pool_path: $p, cpu_ratio: 16}')"
t_expect_status 201 "register h2 with a pool of its own (no shared storage): 201"
t_http POST /v1/networks '{"name":"lan","mode":"nat","ipv4":{"cidr":"10.77.0.0/24"}}'
t_expect_status 201 "create nat network lan 10.77.0.0/24 (on every host): 201"
if ! DEB=$(guest_image debian) || ! TINY=$(guest_image tiny); then
	t_fail "build the Debian and tiny test guests from Debian packages" "see above"
	t_summary
fi
for im in deb:"$DEB" tiny:"$TINY"; do
	code=$(curl -sS -m 600 -o "$T_TMP/import.json" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/octet-stream' -T "${im#*:}" \
		"$T_BASE/v1/images?name=${im%%:*}&format=qcow2&$W")
	t_eq "import image ${im%%:*}: 200, succeeded" \
		"$code $(jq -r .status "$T_TMP/import.json")" "200 succeeded"
done
mkdir -p "$T_TMP/key"
ssh-keygen -q -t ed25519 -N '' -C "hangar-evac@$T_PFX" -f "$T_TMP/key/id" ||
	t_fail "ssh-keygen" "failed"

# --- 2. the VMs on h1: A (Debian, running, on lan), T (tiny, stopped)
A=${T_PFX}a
T=${T_PFX}t
T0=$(t_ns_now)
t_http POST "/v1/vms?$W" "$(jq -nc --arg n "$A" --arg k "$(cat "$T_TMP/key/id.pub")" \
	'{name: $n, vcpus: 1, memory_mib: 512, image: "deb", start: true,
	  host: "local", placement: {domain_type: "qemu"},
	  nics: [{network: "lan"}],
	  cloud_init: {hostname: "evac1", ssh_authorized_keys: [$k]}}')"
t_expect_status 201 "create $A (Debian, TCG) on lan, on h1, started: 201"
A_ID=$(t_json .id)
GIP=$(t_json '.nics[0].ipv4')
MAC=$(t_json '.nics[0].mac')
t_eq "$A: hangar gave it 10.77.0.2 on lan" "$GIP" 10.77.0.2
t_http POST "/v1/vms?$W" "$(jq -nc --arg n "$T" '{name: $n, vcpus: 1,
	memory_mib: 64, image: "tiny", start: false, host: "local",
	placement: {domain_type: "qemu"}}')"
t_expect_status 201 "create $T (tiny, stopped, never backed up) on h1: 201"
if t_wait_for 900 gssh h1 true; then
	t_ok "ssh debian@$GIP from h1's namespace ($(since "$T0") s)"
else
	t_fail "ssh debian@$GIP from h1's namespace" "$(gssh h1 true 2>&1 | tail -n 3)"
	t_summary
fi

# --- 3. f1, full backup, f2, incremental backup, f3 (not backed up)
# write N: /home/debian/fN holds "N", synced to the disk
write() { gssh h1 "echo $1 >/home/debian/f$1 && sync && cat /home/debian/f$1"; }
backup() {
	T_HTTP_TIMEOUT=330 t_http POST "/v1/vms/$A/backups?$W" "{\"mode\":\"$1\"}"
	t_expect_json '[.kind, .status] | join(" ")' "backup succeeded" \
		"$1 backup of $A: succeeded ($(t_json .error.detail // empty))"
}
t_eq "in $A: f1 written" "$(write 1 2>&1)" 1
backup full
t_eq "in $A: f2 written" "$(write 2 2>&1)" 2
backup incremental
t_http GET "/v1/vms/$A/backups"
LAST=$(t_json '.backups | sort_by(.created_at) | last | .id')
t_expect_json '[.backups[].mode] | sort | join(",")' "full,incremental" \
	"$A has a full and an incremental backup (the last: $LAST)"
t_eq "in $A: f3 written (never backed up)" "$(write 3 2>&1)" 3

# --- 4. a host that answers is not evacuated
t_http POST /v1/hosts/local/evacuate '{"confirm_host_down":true}'
t_expect_problem 409 "evacuate h1 while it answers: 409"
t_match "the 409 says to drain it instead" "$(t_json .detail)" "answers.*drain"

# --- 5. h1 lost: libvirtd and QEMU killed, its pool and definitions wiped
lv h1 dumpxml "$A" >"$T_TMP/stale.xml"
D1=$(lvhost_dir "${LV[h1]}")
for f in "$D1"/run/qemu/*.pid; do
	[ -e "$f" ] && kill -KILL "$(cat "$f")"
done
kill -KILL "$(cat "$D1/unshare.pid")"
lvhost_down "${LV[h1]}" >/dev/null 2>&1
rm -rf "${T_TMP:?}/images/"* "$D1"/etc/qemu/*.xml "$D1/lib/qemu/checkpoint"
t_eq "h1 is gone: virsh cannot reach it" \
	"$(timeout 20 virsh -c "${URI[h1]}" version >/dev/null 2>&1 && echo up || echo down)" down

t_http POST /v1/hosts/local/evacuate '{}'
t_expect_problem 400 "evacuate the lost h1 without confirm_host_down: 400"
t_expect_json .field confirm_host_down "the 400 names confirm_host_down"
t_http GET /v1/hosts/local
t_expect_json .fenced_at null "h1 is not fenced by a refused evacuation"

E0=$(t_ns_now)
T_HTTP_TIMEOUT=660 t_http POST "/v1/hosts/local/evacuate?wait=600" '{"confirm_host_down":true}'
t_expect_status 200 "evacuate h1 with confirm_host_down, waited for: 200 ($(since "$E0") s)"
t_expect_json '[.kind, .status] | join(" ")' "evacuate failed" \
	"the evacuation ends failed: one VM was not recovered"
t_match "its error names $T, left on h1" "$(t_json .error.detail)" \
	"1 of 2 VM.*not recovered.*$T"
t_expect_json '[.progress.recovered, .progress.not_recovered] | join(" ")' "1 1" \
	"progress: 1 recovered, 1 not"
t_expect_json '.progress.vms[0].vm + " " + .progress.vms[0].to' "$A h2" \
	"progress: $A went to h2"
LOST=$(t_json .progress.vms[0].lost)
t_match "progress says the backup and its age: '$LOST'" "$LOST" \
	"^restored from backup $LAST taken ([0-9]+m)?[0-9]+s ago$"
t_match "progress: $T is not recoverable (no backup, no shared storage)" \
	"$(t_json '.progress.lost_vms[0].vm + ": " + .progress.lost_vms[0].why')" \
	"^$T: .*no backup.*sees its disks.*no shared storage"
t_match "event vm.evacuated of $A: from local to h2, backup $LAST and its age" \
	"$(events vm.evacuated)" "\"backup\":\"$LAST\".*\"backup_age_s\":[0-9]+"
t_http GET /v1/hosts/local
t_expect_json .state fenced "h1's state: fenced"
t_match "event host.fenced: by the operator" "$(events host.fenced)" '"by":"operator"'
t_http GET "/v1/vms/$T"
t_expect_json .host local "$T stays on h1, as it was"

# --- 6. A on h2, with the last backup's data, the same MAC and IP
t_http GET "/v1/vms/$A"
t_expect_json .id "$A_ID" "GET: $A keeps its id"
t_expect_json .host h2 "GET: $A is on h2"
t_expect_json '.nics[0].mac + " " + .nics[0].ipv4' "$MAC $GIP" "GET: the same MAC and IP"
t_eq "virsh: $A runs on h2" "$(lv h2 domstate "$A" 2>&1)" running
t_eq "virsh: h2's lan has its DHCP host" "$(hosts h2 lan)" "$MAC $GIP"
if t_wait_for 900 gssh h2 true; then
	t_ok "ssh debian@$GIP from h2's namespace, after its second boot ($(since "$E0") s since the evacuation)"
else
	t_fail "ssh debian@$GIP from h2's namespace" "$(gssh h2 true 2>&1 | tail -n 3)"
fi
t_eq "in $A on h2: f1 and f2 (the last backup's data), not f3" \
	"$(gssh h2 'cat /home/debian/f1 /home/debian/f2; ls /home/debian/f3 2>&1 | grep -c "No such"' 2>&1 | tr '\n' ' ')" "1 2 1 "
t_match "in $A on h2: its NIC has $GIP" "$(gssh h2 ip -o -4 addr 2>&1)" " inet ${GIP//./\\.}/24 "

# --- 7. nothing placed on the fenced h1
t_http POST /v1/vms "$(jq -nc --arg n "${T_PFX}x" '{name: $n, vcpus: 1,
	memory_mib: 64, image: "tiny", start: false, host: "local"}')"
t_expect_problem 409 "create a VM on the fenced h1: 409"
t_match "the 409 says h1 is fenced" "$(t_json .detail)" "fenced"

# --- 8. h1 back, with a stale definition of A that autostarts
python3 - "$T_TMP/stale.xml" "$D1/etc/qemu/$A.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
tree = ET.parse(sys.argv[1])
devs = tree.getroot().find("devices")
for tag in ("disk", "interface", "channel"):
    for e in devs.findall(tag):
        devs.remove(e)
tree.write(sys.argv[2])
EOF
mkdir -p "$D1/etc/qemu/autostart"
ln -sf "../$A.xml" "$D1/etc/qemu/autostart/$A.xml"
if lvhost_up "${LV[h1]}"; then
	t_ok "h1's libvirtd started again, with a stale $A to autostart"
else
	t_fail "start h1's libvirtd again" "see above"
fi
t_check "hangar removes the stale $A from h1 once h1 answers (event host.stale_domain_removed)" \
	t_wait_for 180 bash -c "curl -sS -m 5 '$T_BASE/v1/events?since=0&follow=false&type=host.stale_domain_removed' | grep -q '\"uuid\":\"$A_ID\"'"
t_eq "virsh: h1 has no $A left (not even defined)" "$(lv h1 list --all --name | grep -c "^$A\$")" 0
t_match "the stale $A had started on h1, and was destroyed there" \
	"$(grep -oE 'starting up|shutting down, reason=[a-z]+' "$D1/log/qemu/$A.log" | tail -n 2 | tr '\n' ,)" \
	'^starting up,shutting down, reason=destroyed,$'
t_eq "virsh: $A still runs on h2" "$(lv h2 domstate "$A" 2>&1)" running
t_check "ssh to $A on h2 still works" gssh h2 true
t_http GET /v1/hosts/local
t_expect_json '.state + " " + .connection' "fenced ready" "h1 answers and stays fenced"

# --- 9. re-admitted by the operator
if "${CLI[@]}" -o json host unfence local >"$T_TMP/unfence.json" 2>&1; then
	t_eq "hangar host unfence local: ready again" "$(jq -r .state "$T_TMP/unfence.json")" ready
else
	t_fail "hangar host unfence local" "$(cat "$T_TMP/unfence.json")"
fi

# --- 10. everything deleted
for v in "$A" "$T"; do
	t_http DELETE "/v1/vms/$v?$W"
	t_expect_json .status succeeded "delete $v: succeeded"
done
for h in h1 h2; do
	t_eq "virsh: no domain is left on $h" "$(lv "$h" list --all --name | grep -c .)" 0
done
t_http DELETE /v1/networks/lan
t_expect_status 200 "delete network lan: 200"
t_summary
