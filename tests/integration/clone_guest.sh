#!/usr/bin/env bash
#
# clone_guest.sh - a clone of a RUNNING real Debian 12 guest (issue 13's
# test): a libvirt host in a network namespace of its own with a nat
# network, a Debian guest A made from the image with a cloud-init seed
# (an SSH key), booted until SSH answers; then A is cloned while it runs
# (its filesystems frozen through its agent, then paused while its disk
# is copied) into B, started.  Checked: A kept running and answers SSH;
# B runs with its own MAC and address, its cloud-init sees a new
# instance (provisioning done again), and B has its own SSH host keys
# (ssh-keyscan), its own machine-id and its own host name; both are
# reachable by SSH from the host's namespace.  Then everything deleted:
# no domain, volume or DHCP host left.
# Usage: BUILD=build tests/integration/clone_guest.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
# One Debian boot (the source), then its clone's, under TCG; tests/run
# gives it
# timeout: 1500
# lane: guest
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init cg nohost
guest_netns_hangard
W=wait=300

hosts() { t_dhcp_hosts "$LV" "$1"; }
gssh() { guest_ssh "$NS_PID" "$@"; }
# hostkeys IP: the guest's SSH host keys, as ssh-keyscan sees them
hostkeys() {
	timeout 30 nsenter -t "$NS_PID" -n ssh-keyscan -T 10 "$1" 2>/dev/null |
		awk '{ print $2 " " $3 }' | sort
}
provisioned() {
	[ "$(curl -fsS -m 5 "$T_BASE/v1/vms/$1" | jq -r .provisioning)" = done ]
}
since() { echo $((($(t_ns_now) - $1) / 1000)); }

# --- 1. network, image, key, and the source A booted
t_http POST /v1/networks '{"name":"lan","mode":"nat","ipv4":{"cidr":"10.81.0.0/24"}}'
t_expect_status 201 "create nat network lan 10.81.0.0/24: 201"
guest_debian_import deb "wait=600"
guest_ssh_key
A=${T_PFX}a B=${T_PFX}b
T0=$(t_ns_now)
t_http POST "/v1/vms?$W" "$(jq -nc --arg n "$A" --arg k "$KEY" \
	'{name: $n, vcpus: 1, memory_mib: 512, image: "deb", start: true,
	  placement: {domain_type: "qemu"}, nics: [{network: "lan"}],
	  cloud_init: {ssh_authorized_keys: [$k]}}')"
t_expect_status 201 "create $A from the Debian image on lan, started: 201"
A_ID=$(t_json .id) A_MAC=$(t_json .nics[0].mac) A_IP=$(t_json .nics[0].ipv4)
if t_wait_for 480 provisioned "$A"; then
	t_ok "$A: provisioning done ($(since "$T0") s)"
else
	t_fail "$A: provisioning reaches done" "$(curl -sf "$T_BASE/v1/vms/$A" | jq -r .provisioning)"
fi
t_check "ssh debian@$A_IP ($A)" t_wait_for 120 gssh "$A_IP" true
A_KEYS=$(hostkeys "$A_IP")
A_MID=$(gssh "$A_IP" cat /etc/machine-id 2>/dev/null)
t_match "$A: ssh-keyscan sees its host keys" "$A_KEYS" "ssh-ed25519 "
t_match "$A: its machine-id" "$A_MID" "^[0-9a-f]{32}$"
t_eq "$A: its host name is its name" "$(gssh "$A_IP" hostname 2>&1)" "$A"
gssh "$A_IP" 'echo from-the-source | sudo tee /var/tmp/hangar-clone-marker >/dev/null && sync'

# --- 2. clone it while it runs
T1=$(t_ns_now)
t_http POST "/v1/vms/$A/clone?$W" "{\"name\":\"$B\",\"start\":true}"
t_expect_json '.kind + " " + .status' "clone succeeded" \
	"clone the running $A -> $B, started: succeeded ($(since "$T1") s)"
B_ID=$(t_json .vm_id)
t_match "hangard: $A's filesystems were frozen through its agent for the copy" \
	"$(grep -c "froze [0-9]* filesystem(s) of vm '$A'" "$T_TMP/hangard.log")" "^[1-9]"
t_eq "virsh: $A runs (paused only for the copy)" "$(t_domstate "$A")" running
t_check "$A still answers SSH" gssh "$A_IP" true
t_http GET "/v1/vms/$B"
t_expect_json .state running "$B: running"
B_MAC=$(t_json .nics[0].mac) B_IP=$(t_json .nics[0].ipv4)
t_check_not "$B: its own MAC ($B_MAC; $A has $A_MAC)" test "$B_MAC" = "$A_MAC"
t_check_not "$B: its own address ($B_IP; $A has $A_IP)" test "$B_IP" = "$A_IP"
t_eq "virsh: lan's DHCP hosts are A's and B's" "$(hosts lan)" \
	"$(printf '%s\n' "$A_MAC $A_IP" "$B_MAC $B_IP" | sort)"
if t_wait_for 480 provisioned "$B"; then
	t_ok "$B: cloud-init ran as a new instance, provisioning done ($(since "$T1") s)"
else
	t_fail "$B: provisioning reaches done" "$(curl -sf "$T_BASE/v1/vms/$B" | jq -r .provisioning)"
	tail -n 30 "$LV_DIR/log/qemu/$B_ID-serial.log" | tr -d '\r' | cat -v | sed 's/^/# | /'
fi
if t_wait_for 120 gssh "$B_IP" true; then
	t_ok "ssh debian@$B_IP ($B) with the key"
else
	t_fail "ssh debian@$B_IP ($B)" "$(gssh "$B_IP" true 2>&1 | tail -n 3)"
fi
B_KEYS=$(hostkeys "$B_IP")
t_match "$B: ssh-keyscan sees its host keys" "$B_KEYS" "ssh-ed25519 "
t_check_not "$B: its SSH host keys are not $A's" test "$B_KEYS" = "$A_KEYS"
B_MID=$(gssh "$B_IP" cat /etc/machine-id 2>/dev/null)
t_match "$B: a machine-id" "$B_MID" "^[0-9a-f]{32}$"
t_check_not "$B: its machine-id ($B_MID) is not $A's ($A_MID)" test "$B_MID" = "$A_MID"
t_eq "$B: its host name is its name" "$(gssh "$B_IP" hostname 2>&1)" "$B"
t_eq "$B: it has the file $A wrote before the clone" \
	"$(gssh "$B_IP" cat /var/tmp/hangar-clone-marker 2>&1)" from-the-source
t_match "$B: its address is $B_IP" "$(gssh "$B_IP" ip -o -4 addr 2>&1)" " inet ${B_IP//./\\.}/24 "
t_eq "$A: its machine-id is unchanged" "$(gssh "$A_IP" cat /etc/machine-id 2>&1)" "$A_MID"
t_eq "$A: its SSH host keys are unchanged" "$(hostkeys "$A_IP")" "$A_KEYS"
t_check "$A reaches $B over lan" gssh "$A_IP" ping -c 2 -W 5 "$B_IP"

# --- 3. delete both: nothing is left
for v in "$B" "$A"; do
	t_http DELETE "/v1/vms/$v?$W"
	t_expect_json .status succeeded "delete $v: succeeded"
done
t_eq "virsh: no domain is left" "$(lvhost_virsh "$LV" list --all --name | grep -c .)" 0
t_eq "no volume is left in the pool" \
	"$(find "$T_TMP/images" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null)" ""
t_eq "virsh: no DHCP host is left on lan" "$(hosts lan)" ""
t_http DELETE /v1/networks/lan
t_expect_status 200 "delete network lan: 200"
t_summary
