#!/usr/bin/env bash
#
# adopt_net.sh - adopting orphan domains that have NICs, on a libvirt host
# in its own network namespace (LVHOST_NETNS=1) with a hangar nat network
# lan.  A domain the store lost (its NIC on hangar-lan, a static DHCP
# entry left on the network, the tiny guest leasing that address) is
# adopted with its NIC: same MAC and model, the address it leases kept.
# A stopped orphan on lan with no entry gets a new address of lan's range
# and its DHCP entry on the host (and leases it once started); an e1000
# NIC stays e1000.  An orphan whose NIC is on a network
# hangar does not know, or of a model hangar does not keep, is refused
# (422 naming the NIC) and leaves no row.  Deleting the adopted VMs
# removes their DHCP entries.
# Usage: BUILD=build tests/integration/adopt_net.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init adoptnet nohost
if ! LVHOST_NETNS=1 t_lvhost_start an1; then
	t_fail "start a libvirt host in its own network namespace" "see above"
	t_summary
fi
T_LV_URI=$LVHOST_URI
HANGARD_CONF_EXTRA="reconcile_interval_s = 2" hangard_start || t_summary

# hosts: lan's static DHCP hosts on an1, "mac ip" lines
hosts() {
	lvhost_virsh an1 net-dumpxml hangar-lan |
		sed -nE "s/.*<host mac='([^']*)'.* ip='([^']*)'.*/\1 \2/p" | sort
}
leased() {
	lvhost_virsh an1 net-dhcp-leases hangar-lan --mac "$1" | grep -q " $2/"
}
# orphan NAME MAC NETXML MODEL: define (not start) a tiny-guest domain
# behind hangar's back: an overlay of the tiny image outside the pool and
# one NIC (NETXML: its type and source)
orphan() {
	qemu-img create -q -f qcow2 -b "$TINY" -F qcow2 "$T_TMP/$1.qcow2" &&
		cat >"$T_TMP/$1.xml" <<-EOF &&
		<domain type='qemu'>
		  <name>$1</name>
		  <memory unit='MiB'>128</memory>
		  <vcpu>1</vcpu>
		  <os><type arch='x86_64'>hvm</type></os>
		  <devices>
		    <disk type='file' device='disk'>
		      <driver name='qemu' type='qcow2'/>
		      <source file='$T_TMP/$1.qcow2'/>
		      <target dev='vda' bus='virtio'/>
		    </disk>
		    <interface $3>
		      <mac address='$2'/>
		      $4
		    </interface>
		    <serial type='pty'/>
		  </devices>
		</domain>
		EOF
		lvhost_virsh an1 define "$T_TMP/$1.xml" >/dev/null
}
novm() {
	t_http GET "/v1/vms/$1"
	t_expect_status 404 "$2: no VM row"
}

t_http POST /v1/networks '{"name":"lan","mode":"nat","ipv4":{"cidr":"10.79.0.0/24"}}'
t_expect_status 201 "create nat network lan: 201"
if ! TINY=$(guest_image tiny); then
	t_fail "build the tiny guest" "see above"
	t_summary
fi

# --- a domain the store lost: it leases 10.79.0.77 from an entry left
# on the network
O1=${T_PFX}o1 M1=52:54:00:7a:00:01
orphan "$O1" "$M1" "type='network'><source network='hangar-lan'/" \
	"<model type='virtio'/>" || t_fail "define $O1" "see above"
lvhost_virsh an1 net-update hangar-lan add ip-dhcp-host \
	"<host mac='$M1' ip='10.79.0.77'/>" --live --config >/dev/null
lvhost_virsh an1 start "$O1" >/dev/null
t_check "$O1 leases 10.79.0.77" t_wait_for 120 leased "$M1" 10.79.0.77
t_http POST "/v1/hosts/local/orphans/$O1/adopt" '{}'
t_expect_status 201 "adopt $O1, a running domain with a NIC on lan"
t_expect_json '.nics | length' 1 "$O1: one NIC"
t_expect_json .nics[0].network lan "$O1: on lan"
t_expect_json .nics[0].mac "$M1" "$O1: its MAC kept"
t_expect_json .nics[0].model virtio "$O1: its model kept"
t_expect_json .nics[0].ipv4 10.79.0.77 "$O1: the address it leases kept"
t_check "lan's DHCP entry for $O1 is unchanged" \
	grep -qx "$M1 10.79.0.77" <<<"$(hosts)"

# --- a stopped orphan on lan with no entry: a new address and its entry
O2=${T_PFX}o2 M2=52:54:00:7a:00:02
orphan "$O2" "$M2" "type='network'><source network='hangar-lan'/" \
	"<model type='virtio'/>" || t_fail "define $O2" "see above"
t_http POST "/v1/hosts/local/orphans/$O2/adopt" '{}'
t_expect_status 201 "adopt $O2, stopped, on lan without a DHCP entry"
A2=$(t_json .nics[0].ipv4)
t_match "$O2: an address of lan's range" "$A2" '^10\.79\.0\.[0-9]+$'
t_check "$O2: not the address $O1 holds" test "$A2" != 10.79.0.77
t_check "lan has $O2's DHCP entry ($M2 $A2)" grep -qx "$M2 $A2" <<<"$(hosts)"
lvhost_virsh an1 start "$O2" >/dev/null
t_check "$O2 leases $A2 once started" t_wait_for 120 leased "$M2" "$A2"

# an e1000 NIC is kept as e1000 (not started: the tiny guest's kernel
# has virtio drivers only)
O6=${T_PFX}o6 M6=52:54:00:7a:00:06
orphan "$O6" "$M6" "type='network'><source network='hangar-lan'/" \
	"<model type='e1000'/>" || t_fail "define $O6" "see above"
t_http POST "/v1/hosts/local/orphans/$O6/adopt" '{}'
t_expect_status 201 "adopt $O6, an e1000 NIC on lan"
t_expect_json .nics[0].model e1000 "$O6: its model kept"
A6=$(t_json .nics[0].ipv4)

# --- NICs hangar cannot keep: refused, nothing recorded
O3=${T_PFX}o3
orphan "$O3" 52:54:00:7a:00:03 "type='network'><source network='default'/" \
	"<model type='virtio'/>" || t_fail "define $O3" "see above"
t_http POST "/v1/hosts/local/orphans/$O3/adopt" '{}'
t_expect_problem 422 "adopt $O3, its NIC on libvirt's default network: 422"
t_match "the problem names the NIC and its network" "$(t_json .detail)" \
	"52:54:00:7a:00:03.*network 'default'.*not on a hangar network"
novm "$O3" "$O3 refused"
O4=${T_PFX}o4
orphan "$O4" 52:54:00:7a:00:04 "type='network'><source network='hangar-lan'/" \
	"<model type='rtl8139'/>" || t_fail "define $O4" "see above"
t_http POST "/v1/hosts/local/orphans/$O4/adopt" '{}'
t_expect_problem 422 "adopt $O4, an rtl8139 NIC: 422"
t_match "the problem names the model" "$(t_json .detail)" "rtl8139"
novm "$O4" "$O4 refused"
O5=${T_PFX}o5
orphan "$O5" "$M1" "type='network'><source network='hangar-lan'/" \
	"<model type='virtio'/>" || t_fail "define $O5" "see above"
t_http POST "/v1/hosts/local/orphans/$O5/adopt" '{}'
t_expect_problem 409 "adopt $O5, whose MAC is $O1's: 409"
novm "$O5" "$O5 refused"
t_eq "lan's DHCP entries are the adopted VMs' only" "$(hosts)" \
	"$(printf '%s\n' "$M1 10.79.0.77" "$M2 $A2" "$M6 $A6" | sort)"

# --- deleted: their DHCP entries go with them
for v in "$O1" "$O2" "$O6"; do
	t_http DELETE "/v1/vms/$v?wait=120"
	t_expect_json .status succeeded "delete the adopted $v"
done
t_eq "lan has no DHCP entry left" "$(hosts)" ""
t_http DELETE /v1/networks/lan
t_expect_status 200 "delete lan once no NIC uses it"
for v in "$O3" "$O4" "$O5"; do
	lvhost_virsh an1 undefine "$v" >/dev/null
done
t_summary
