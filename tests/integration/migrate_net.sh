#!/usr/bin/env bash
# One Debian boot and a TCG live migration of 512 MiB; tests/run gives it
# timeout: 2400
# lane: guest
#
# migrate_net.sh - issue 12: live migration keeps a VM's MAC and IP, and
# an SSH session into the guest survives the move.  Three libvirt hosts,
# each in a network namespace of its own (LVHOST_NETNS=1): h1 (hangard's
# `local`) and h2 share one pool directory (shared storage: only memory
# moves) and sit on one shared segment (lvhost_segment_*: a switch in a
# namespace this test made, each host's own bridge br0 joined to it, the
# hosts' libvirtd and QEMU reaching each other over it); h3 has no br0.
# A "client" namespace (10.213.0.1) is on the segment too.  Nothing here
# has a route off the machine: 10.213.0.0/24 lives only in these
# namespaces, the nat network only inside each host's.
#
# One real Debian 12 guest (TCG, 512 MiB), made by one POST /v1/vms:
# NIC 0 on the bridge network `seg` (br0, 10.213.0.0/24: hangar runs no
# DHCP there, so cloud-init's network-config carries the static address),
# NIC 1 on the nat network `lan` (10.77.0.0/24, the same on every host).
# Checked:
#   - the guest has its static address on seg, its lease on lan;
#   - a dry run to h3 fails the placement with "no bridge 'br0'", one to
#     h2 passes, its bridge check saying br0 is there;
#   - an SSH session from the client prints a counter every 0.5 s while
#     the VM live-migrates h1 -> h2 through POST /v1/vms/{vm}/migrate: the
#     same ssh process and remote shell go on (no reconnect), the counter
#     has no hole, and the move adds at most 5 s to its widest gap (both
#     printed: a starved TCG guest is late on its own);
#   - after: the VM is on h2 only (API, virsh), GET shows the same MACs
#     and ipv4s, `ip -o addr` in the guest the same addresses, h2's lan
#     has the NIC's DHCP host and h1's not; a renewal of lan's lease
#     inside the guest gets the same address from h2's dnsmasq;
#   - the VM and networks deleted: no domain, no DHCP host left.
# Usage: BUILD=build tests/integration/migrate_net.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init mnet nohost
declare -A LV URI
SEG=${T_PFX}seg
for h in h1 h2 h3; do
	LV[$h]=${T_PFX}$h
	if ! LVHOST_NETNS=1 t_lvhost_start "${LV[$h]}"; then
		t_fail "start libvirt host $h in its own network namespace" "see above"
		t_summary
	fi
	URI[$h]=$LVHOST_URI
done
if ! t_lvseg_start "$SEG" ||
	! lvhost_segment_join "$SEG" "${LV[h1]}" 10.213.0.250/24 ||
	! lvhost_segment_join "$SEG" "${LV[h2]}" 10.213.0.251/24 ||
	! lvhost_segment_client "$SEG" cli 10.213.0.1/24; then
	t_fail "make the shared segment (h1, h2 and the client on it)" "see above"
	t_summary
fi
t_ok "a shared segment: h1 and h2 with br0 on it, a client at 10.213.0.1"
T_LV_URI=${URI[h1]}
HANGARD_CONF_EXTRA=$'reconcile_interval_s = 2\ncpu_ratio = 16' hangard_start || t_summary
W=wait=300

# lv HOST ARG...: virsh against HOST
lv() {
	local h=$1
	shift
	lvhost_virsh "${LV[$h]}" "$@"
}
# hosts HOST NET: the static DHCP hosts of network NET on HOST, "mac ip"
hosts() { t_dhcp_hosts "${LV[$1]}" "$2"; }
CLI_PID=$(lvhost_segment_pid "$SEG" cli)
# cssh CMD...: run CMD in the guest at 10.213.0.2 over SSH from the client.
# Patient: a TCG guest on a loaded machine was seen to take over 30 s
# to send sshd's banner.
cssh() {
	GUEST_SSH_TIMEOUT=${CSSH_TIMEOUT:-180} GUEST_SSH_CONNECT=150 \
		guest_ssh "$CLI_PID" "$GIP" "$@"
}
# gaddrs: `ip -o -4 addr` in the guest (three tries)
gaddrs() {
	local i out=''
	for ((i = 0; i < 3; i++)); do
		out=$(cssh ip -o -4 addr 2>&1) && break
	done
	echo "$out"
}
# stamp: each line read, after the client's clock in µs
stamp() {
	local l
	while IFS= read -r l; do
		printf '%s %s\n' "${EPOCHREALTIME/[.,]/}" "$l"
	done
}
# n_lines: how many counter lines the session printed so far
n_lines() { grep -c '^[0-9]* [0-9][0-9]*$' "$T_TMP/counter"; }
# op_done ID: wait (up to 15 min) until operation ID ends; its reply in T_BODY
op_done() {
	local i
	for ((i = 0; i < 3; i++)); do
		T_HTTP_TIMEOUT=330 t_http GET "/v1/operations/$1?wait=300"
		[ "$T_STATUS" = 200 ] && return 0
	done
	return 1
}
# since T0: whole seconds since T0 (t_ns_now, ms)
since() { echo $((($(t_ns_now) - $1) / 1000)); }

# --- 1. hosts, networks, image, key
for h in h2 h3; do
	t_http POST /v1/hosts "$(jq -nc --arg n "$h" --arg u "${URI[$h]}" \
		--arg p "$T_TMP/images" '{name: $n, uri: $u, pool_path: $p, cpu_ratio: 16}')"
	t_expect_status 201 "register $h (the same pool directory as local): 201"
done
t_http POST /v1/networks '{"name":"seg","mode":"bridge","bridge":"br0","ipv4":{"cidr":"10.213.0.0/24","gateway":"10.213.0.1"}}'
t_expect_status 201 "create bridge network seg on br0, 10.213.0.0/24: 201"
t_expect_json .ipv4.dhcp false "seg: hangar runs no DHCP on a bridge network"
t_http POST /v1/networks '{"name":"lan","mode":"nat","ipv4":{"cidr":"10.77.0.0/24"}}'
t_expect_status 201 "create nat network lan 10.77.0.0/24 (on every host): 201"
for h in h1 h2; do
	t_eq "virsh: lan is active on $h" "$(lv "$h" net-list --name | grep -c '^hangar-lan$')" 1
done
guest_debian_import deb "$W"
guest_ssh_key

# --- 2. the guest, on h1, under TCG: this machine's nested KVM stops
# the image's syslinux with "KVM internal error. Suberror: 1"
A=${T_PFX}a
T0=$(t_ns_now)
t_http POST "/v1/vms?$W" "$(jq -nc --arg n "$A" --arg k "$KEY" \
	'{name: $n, vcpus: 1, memory_mib: 512, image: "deb", start: true,
	  host: "local", placement: {domain_type: "qemu"},
	  nics: [{network: "seg"}, {network: "lan"}],
	  cloud_init: {hostname: "mig1", ssh_authorized_keys: [$k]}}')"
t_expect_status 201 "create $A (TCG) on seg and lan, on h1, started: 201"
t_expect_json .host local "$A: on local (h1)"
t_expect_json '[.nics[] | .network + " " + .ipv4] | join(",")' \
	"seg 10.213.0.2,lan 10.77.0.2" "$A: hangar gave it 10.213.0.2 on seg, 10.77.0.2 on lan"
GIP=10.213.0.2
MACS=$(t_json '[.nics[].mac] | join(",")')
LAN_MAC=$(t_json .nics[1].mac)
t_eq "virsh: NIC 0 is on h1's br0 with its MAC" \
	"$(lv h1 domiflist "$A" | awk '{print $2, $3, $5}' | head -n 1)" \
	"bridge br0 ${MACS%%,*}"
t_eq "virsh: h1's lan has its DHCP host" "$(hosts h1 lan)" "$LAN_MAC 10.77.0.2"
# SSH answers once the guest is up (provisioning is guest_net.sh's; a
# loaded machine makes a TCG boot slow: be patient)
if t_wait_for 900 cssh true; then
	t_ok "ssh debian@$GIP from the client namespace, over the segment ($(since "$T0") s)"
else
	t_fail "ssh debian@$GIP from the client namespace" "$(cssh true 2>&1 | tail -n 3)"
	t_summary
fi
ADDRS=$(gaddrs)
t_match "in $A: 10.213.0.2/24, static from the seed's network-config" "$ADDRS" ' inet 10\.213\.0\.2/24 '
t_match "in $A: 10.77.0.2/24 on lan (DHCP)" "$ADDRS" ' inet 10\.77\.0\.2/24 '

# --- 3. where it may go
t_http POST "/v1/vms/$A/migrate?dry_run=1" '{"host":"h3"}'
t_expect_json .ok false "dry run to h3 (no br0): not ok"
t_match "dry run to h3: the placement says h3 has no bridge br0" \
	"$(t_json '.checks[] | select(.name == "capacity") | .reason')" "no bridge 'br0'"
t_http POST "/v1/vms/$A/migrate?dry_run=1" '{"host":"h2"}'
t_expect_json .ok true "dry run to h2: ok ($(t_json '[.checks[] | select(.pass | not) | .reason] | join("; ")'))"
t_expect_json .copy_storage false "dry run to h2: shared storage, only memory moves"
t_match "dry run to h2: its network check sees br0 there" \
	"$(t_json '.checks[] | select(.name == "network") | .reason')" "bridge 'br0' is on the destination"

# --- 4. an SSH session, and the move
: >"$T_TMP/counter"
# shellcheck disable=SC2016 # the guest's shell expands them
(CSSH_TIMEOUT=1200 cssh 'echo "shell $$"; i=0; while :; do echo $i; i=$((i+1)); sleep 0.5; done' |
	stamp >>"$T_TMP/counter") &
SESSION=$!
t_check "the SSH session runs: its counter reaches 6" t_wait_for 300 bash -c \
	"[ \$(grep -c '^[0-9]* [0-9][0-9]*\$' '$T_TMP/counter') -ge 6 ]"
SSH_PID=$(pgrep -f -n "^ssh -i $T_TMP/key/id .*i=0; while" || true)
SHELL_LINE=$(sed -n 's/^[0-9]* shell //p' "$T_TMP/counter")
M0=$(t_ns_now)
MS0=${EPOCHREALTIME/[.,]/}
T_HTTP_TIMEOUT=330 t_http POST "/v1/vms/$A/migrate?wait=300" '{"host":"h2","live":true}'
if [ "$T_STATUS" = 202 ] || [ "$T_STATUS" = 200 ]; then
	[ "$T_STATUS" = 200 ] || op_done "$(t_json .id)"
fi
MS1=${EPOCHREALTIME/[.,]/}
t_expect_status 200 "live-migrate $A h1 -> h2, waited for: 200"
t_expect_json '[.kind, .status] | join(" ")' "migrate succeeded" \
	"migrate succeeded ($(since "$M0") s; downtime $(t_json .progress.downtime_ms) ms)"
# the session goes on after the move
N1=$(n_lines)
t_check "the counter goes on after the move (6 more lines)" t_wait_for 60 bash -c \
	"[ \$(grep -c '^[0-9]* [0-9][0-9]*\$' '$T_TMP/counter') -ge $((N1 + 6)) ]"
if [ -n "$SSH_PID" ] && _lvhost_alive "$SSH_PID"; then
	t_ok "the same ssh process (pid $SSH_PID) is still connected"
else
	t_fail "the same ssh process is still connected" "pid '${SSH_PID}' is gone"
fi
t_eq "one remote shell for the whole session (no reconnect)" \
	"$(sed -n 's/^[0-9]* shell //p' "$T_TMP/counter")" "$SHELL_LINE"
# the counter: 0, 1, 2, ... with no hole; the widest gap around the move
read -r first holes gap pre <<<"$(awk -v s="$MS0" -v e="$MS1" '
	$2 ~ /^[0-9]+$/ {
		if (n == 0) first = $2; else if ($2 != last + 1) holes++
		if (n > 0 && $1 >= s - 5000000 && prev <= e + 5000000 && $1 - prev > gap)
			gap = $1 - prev
		if (n > 0 && $1 < s - 5000000 && $1 - prev > pre)
			pre = $1 - prev
		last = $2; prev = $1; n++
	}
	END { printf "%s %d %d %d\n", n ? first : "none", holes, gap, pre }' "$T_TMP/counter")"
t_eq "the counter starts at 0 and never skips or restarts" "$first $holes" "0 0"
# A starved TCG guest is late on its own (gaps of 4.7 s were seen with no
# move on a loaded machine): the move may add at most 5 s to the widest
# gap the session showed before it (and never more than 30 s in all)
GAP_MS=$((gap / 1000)) PRE_MS=$((pre / 1000))
LIMIT_MS=$((PRE_MS > 500 ? PRE_MS + 5000 : 5500))
echo "# counter: $(n_lines) lines; widest gap before the move $PRE_MS ms, around it $GAP_MS ms"
if [ "$GAP_MS" -gt 0 ] && [ "$GAP_MS" -le "$LIMIT_MS" ] && [ "$GAP_MS" -lt 30000 ]; then
	t_ok "the widest gap in the counter around the move: $GAP_MS ms (before it: $PRE_MS ms; lines every 500 ms)"
else
	t_fail "the widest gap in the counter around the move is at most $LIMIT_MS ms" "$GAP_MS ms"
fi
kill "$SESSION" 2>/dev/null
[ -n "$SSH_PID" ] && kill "$SSH_PID" 2>/dev/null
wait "$SESSION" 2>/dev/null

# --- 5. where it is now, with what
t_http GET "/v1/vms/$A"
t_expect_json .host h2 "GET: $A is on h2"
t_expect_json .state running "GET: $A is running"
t_expect_json '[.nics[].mac] | join(",")' "$MACS" "GET: the same MACs"
t_expect_json '[.nics[].ipv4] | join(",")' "10.213.0.2,10.77.0.2" "GET: the same ipv4s"
t_eq "virsh: the domain runs on h2" "$(lv h2 domstate "$A" 2>&1)" running
t_eq "virsh: h1 has no such domain" "$(lv h1 list --all --name | grep -c "^$A\$")" 0
t_eq "virsh: on h2 NIC 0 is on br0 with the same MAC" \
	"$(lv h2 domiflist "$A" | awk '{print $2, $3, $5}' | head -n 1)" \
	"bridge br0 ${MACS%%,*}"
t_eq "virsh: h2's lan has the NIC's DHCP host" "$(hosts h2 lan)" "$LAN_MAC 10.77.0.2"
t_eq "virsh: h1's lan has none left" "$(hosts h1 lan)" ""
ADDRS=$(gaddrs)
t_match "in $A after the move: still 10.213.0.2/24" "$ADDRS" ' inet 10\.213\.0\.2/24 '
t_match "in $A after the move: still 10.77.0.2/24" "$ADDRS" ' inet 10\.77\.0\.2/24 '
# lan's lease, renewed from h2's dnsmasq (the DHCP host is there)
IFC=$(cssh ip -o link 2>/dev/null | awk -v m="$LAN_MAC" 'index($0, m) { sub(":$", "", $2); print $2 }')
# (its output through a file: the dhclient left running holds it open)
if [ -n "$IFC" ] && cssh "sudo timeout 60 dhclient -1 -v $IFC >/tmp/dh.log 2>&1; cat /tmp/dh.log" \
	>"$T_TMP/dhclient.log" 2>&1; then
	t_match "in $A: dhclient on $IFC gets 10.77.0.2 again" "$(cat "$T_TMP/dhclient.log")" 'DHCPACK of 10\.77\.0\.2 '
else
	t_fail "in $A: renew lan's lease with dhclient on '$IFC'" "$(tail -n 5 "$T_TMP/dhclient.log" 2>/dev/null)"
fi
t_match "virsh: h2's dnsmasq leased 10.77.0.2 to the NIC" \
	"$(lv h2 net-dhcp-leases hangar-lan 2>&1)" "$LAN_MAC .* 10\.77\.0\.2/24"

# --- 6. delete everything: nothing is left
t_http DELETE "/v1/vms/$A?$W"
t_expect_json .status succeeded "delete $A: succeeded"
for h in h1 h2; do
	t_eq "virsh: no domain is left on $h" "$(lv "$h" list --all --name | grep -c .)" 0
	t_eq "virsh: no DHCP host is left on $h's lan" "$(hosts "$h" lan)" ""
done
for n in seg lan; do
	t_http DELETE "/v1/networks/$n"
	t_expect_status 200 "delete network $n: 200"
done
t_summary
