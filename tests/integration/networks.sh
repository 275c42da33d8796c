#!/usr/bin/env bash
#
# networks.sh - hangar's networks on real libvirt hosts, each in a network
# namespace of its own (LVHOST_NETNS=1: its bridges, dnsmasq and iptables
# rules are its own; nothing leaves the machine).  A nat and an isolated
# network are made on the host (virsh net-list, net-dumpxml); bad input
# (an overlapping range, a name with ../, a bridge name with shell
# metacharacters, a malformed range or gateway) is a 4xx naming the field
# and reaches no host; PATCH changes only the description; a network
# deleted is gone from the host; a host registered later gets every
# network, and so does a host that comes back after being down with its
# network removed behind hangar's back; a network deleted while a host is
# down is removed from it when it comes back, unless the one there of
# that name is not hangar's (another uuid).
# Usage: BUILD=build tests/integration/networks.sh
# Its own hosts: in the guest lane, it keeps the two lanes about as long
# lane: guest
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init networks nohost
if ! LVHOST_NETNS=1 t_lvhost_start nw1; then
	t_fail "start a libvirt host in its own network namespace" "see above"
	t_summary
fi
T_LV_URI=$LVHOST_URI
HANGARD_CONF_EXTRA="reconcile_interval_s = 1" hangard_start || t_summary

# nets HOST: the host's active hangar networks, "name autostart" lines
nets() {
	lvhost_virsh "$1" net-list --name | grep '^hangar-' | sort | tr '\n' ' '
}
# problem STATUS FIELD NAME: the reply is a problem naming FIELD
problem() {
	t_expect_problem "$1" "$3: $1"
	t_expect_json .field "$2" "$3: names $2"
}

# --- a nat network and an isolated one, on the host
t_http POST /v1/networks '{"name":"lan","mode":"nat",
	"ipv4":{"cidr":"10.77.0.0/24"},"description":"the LAN"}'
t_expect_status 201 "create nat network lan: 201"
t_expect_json .ipv4.gateway 10.77.0.1 "lan: the gateway is the range's first address"
t_expect_json .ipv4.dhcp true "lan: DHCP by default"
t_expect_json .libvirt_name hangar-lan "lan: libvirt's name"
LAN_BR=$(t_json .bridge)
t_match "lan: its own bridge name, <= 15 characters" "$LAN_BR" '^hgn[0-9]{1,12}$'
t_eq "the Location header names it" "$T_LOCATION" "/v1/networks/lan"
x=$(lvhost_virsh nw1 net-dumpxml hangar-lan)
t_match "virsh: lan forwards with NAT" "$x" "<forward mode='nat'"
t_match "virsh: lan's bridge" "$x" "<bridge name='$LAN_BR'"
t_match "virsh: lan's address" "$x" "<ip address='10.77.0.1' prefix='24'>"
t_check_not "virsh: lan hands out no dynamic range" grep -q "<range" <<<"$x"
t_match "virsh: lan autostarts" "$(lvhost_virsh nw1 net-info hangar-lan)" "Autostart: +yes"

t_http POST /v1/networks '{"name":"iso","mode":"isolated",
	"ipv4":{"cidr":"10.78.0.0/24","gateway":"10.78.0.254"}}'
t_expect_status 201 "create isolated network iso: 201"
x=$(lvhost_virsh nw1 net-dumpxml hangar-iso)
t_check_not "virsh: iso does not forward" grep -q "<forward" <<<"$x"
t_match "virsh: iso's gateway address" "$x" "<ip address='10.78.0.254' prefix='24'"
t_eq "virsh: both are active on the host" "$(nets nw1)" "hangar-iso hangar-lan "

# --- bad input: 4xx naming the field, nothing reaches libvirt or the store
t_http POST /v1/networks '{"name":"over","mode":"nat","ipv4":{"cidr":"10.77.0.128/25"}}'
problem 409 ipv4.cidr "a range overlapping lan"
t_match "the overlap names lan" "$(t_json .detail)" "lan"
t_http POST /v1/networks '{"name":"lan","mode":"nat","ipv4":{"cidr":"10.79.0.0/24"}}'
problem 409 name "a taken name"
t_http POST /v1/networks '{"name":"../x","mode":"nat","ipv4":{"cidr":"10.80.0.0/24"}}'
problem 400 name "a name with ../"
t_http POST /v1/networks '{"name":"br","mode":"bridge","bridge":"br0;rm -rf /"}'
problem 400 bridge "a bridge name with shell metacharacters"
t_http POST /v1/networks '{"name":"br","mode":"bridge","bridge":"br0<x/>"}'
problem 400 bridge "a bridge name with XML metacharacters"
t_http POST /v1/networks '{"name":"br","mode":"bridge","bridge":"a-very-long-bridge-name"}'
problem 400 bridge "a bridge name over 15 characters"
t_http POST /v1/networks '{"name":"m","mode":"routed","ipv4":{"cidr":"10.80.0.0/24"}}'
problem 400 mode "an unknown mode"
t_http POST /v1/networks '{"name":"m","mode":"nat","ipv4":{"cidr":"10.80.0.1/24"}}'
problem 400 ipv4.cidr "a range with host bits"
t_http POST /v1/networks '{"name":"m","mode":"nat","ipv4":{"cidr":"10.80.0.0/31"}}'
problem 400 ipv4.cidr "a range too small for guests"
t_http POST /v1/networks '{"name":"m","mode":"nat","ipv4":{"cidr":"10.80.0.0/24","gateway":"10.81.0.1"}}'
problem 400 ipv4.gateway "a gateway outside the range"
t_http POST /v1/networks '{"name":"m","mode":"nat","ipv4":{"cidr":"10.80.0.0/24","gateway":"10.80.0.1</ip>"}}'
problem 400 ipv4.gateway "a gateway with XML in it"
t_http POST /v1/networks '{"name":"m","mode":"nat"}'
problem 400 ipv4 "a nat network without a range"
t_http POST /v1/networks '{"name":"m","mode":"nat","bridge":"br0","ipv4":{"cidr":"10.80.0.0/24"}}'
problem 400 bridge "a nat network with a bridge"
t_http POST /v1/networks '{"name":"m","mode":"nat","ipv4":{"cidr":"10.80.0.0/24","x":1}}'
problem 400 ipv4.x "an unknown field"
t_eq "virsh: still just lan and iso on the host" "$(nets nw1)" "hangar-iso hangar-lan "
t_http GET /v1/networks
t_expect_json '[.networks[].name] | join(",")' iso,lan "GET /v1/networks: iso, lan"

# --- PATCH: the description only
t_http PATCH /v1/networks/lan '{"description":"office"}'
t_expect_status 200 "PATCH lan's description: 200"
t_expect_json .description office "PATCH: the new description"
t_http PATCH /v1/networks/lan '{"ipv4":{"cidr":"10.90.0.0/24"}}'
problem 400 ipv4 "PATCH of the range"
t_http GET /v1/networks/lan
t_expect_json .ipv4.cidr 10.77.0.0/24 "the range is unchanged"

# --- NICs, with the tiny guest
TCG='"placement":{"domain_type":"qemu"}'
W=wait=300
# hosts NET: the static DHCP hosts of network NET on nw1, "mac ip name"
# (a VM's first NIC's entry is named after the VM, the others are not)
hosts() {
	lvhost_virsh nw1 net-dumpxml "hangar-$1" |
		sed -nE "s/.*<host mac='([^']*)'( name='([^']*)')? ip='([^']*)'.*/\1 \4 \3/p" |
		sed 's/ $//' | sort
}
# leased NET MAC IP: the network's DHCP server leased IP to MAC
leased() {
	lvhost_virsh nw1 net-dhcp-leases "hangar-$1" --mac "$2" | grep -q " $3/"
}
# seen VM IDX IP: hangar shows the VM's NIC IDX seen with IP (a lease)
seen() {
	curl -sf "$T_BASE/v1/vms/$1" | jq -e ".nics[$2].addresses |
		map(select(.source == \"lease\" and .address == \"$3\")) | length == 1"
}
domains() {
	lvhost_virsh nw1 list --all --name | grep -c .
}
if TINY=$(guest_image tiny); then
	code=$(curl -sS -m 600 -o "$T_TMP/import.json" -w '%{http_code}' \
		-X POST -H 'Content-Type: application/octet-stream' -T "$TINY" \
		"$T_BASE/v1/images?name=tiny&format=qcow2&$W")
	t_eq "import the tiny guest: 200" "$code" 200
else
	t_fail "build the tiny guest" "see above"
fi
G1=${T_PFX}g1
t_http POST "/v1/vms?$W" "{\"name\":\"$G1\",\"memory_mib\":128,\"image\":\"tiny\",
	\"start\":true,$TCG,\"nics\":[{\"network\":\"lan\"}]}"
t_expect_status 201 "create $G1 with a NIC on lan: 201"
t_expect_json .nics[0].ipv4 10.77.0.2 "$G1: the lowest free address of lan"
t_expect_json .nics[0].model virtio "$G1: a virtio NIC"
t_expect_json .nics[0].network lan "$G1: on lan"
MAC1=$(t_json .nics[0].mac)
t_match "$G1: a MAC under 52:54:00" "$MAC1" '^52:54:00(:[0-9a-f]{2}){3}$'
x=$(lvhost_virsh nw1 dumpxml "$G1")
t_match "virsh: $G1 has an interface on hangar-lan" "$x" "<source network='hangar-lan'"
t_match "virsh: with its MAC" "$x" "<mac address='$MAC1'/>"
t_eq "virsh: lan has $G1's static DHCP host" "$(hosts lan)" "$MAC1 10.77.0.2 $G1"
t_check "the guest leases exactly 10.77.0.2 (virsh net-dhcp-leases)" \
	t_wait_for 120 leased lan "$MAC1" 10.77.0.2
t_check "hangar shows $G1 seen at 10.77.0.2 (source lease)" \
	t_wait_for 30 seen "$G1" 0 10.77.0.2
ev=$(curl -sf -m 20 "$T_BASE/v1/events?since=0&follow=false&type=vm.address&vm=$G1" |
	sed -n 's/^data: //p')
t_eq "a vm.address event says so, once (source lease)" \
	"$(jq -r 'select(.data.source == "lease") |
		.data.mac + " " + .data.address + " " + .data.source' <<<"$ev")" \
	"$MAC1 10.77.0.2 lease"
# every event is of one of the three sources, one per address and source
t_eq "the vm.address events name a known source, none twice" \
	"$(jq -r '.data.source' <<<"$ev" | sort | uniq -c | awk '$1 != 1 || ($2 != "lease" && $2 != "agent" && $2 != "arp")')" ""

# two NICs on two networks, MAC and address asked for (the tiny guest's
# kernel has virtio drivers only: e1000 is checked on a VM not started)
G2=${T_PFX}g2
MAC2=52:54:00:aa:bb:cc
t_http POST "/v1/vms?$W" "{\"name\":\"$G2\",\"memory_mib\":128,\"image\":\"tiny\",
	\"start\":true,$TCG,\"nics\":[{\"network\":\"lan\",\"mac\":\"52:54:00:AA:BB:CC\",
	\"ipv4\":\"10.77.0.50\",\"model\":\"virtio\"},{\"network\":\"iso\"}],
	\"cloud_init\":{}}"
t_expect_status 201 "create $G2 with NICs on lan and iso: 201"
t_expect_json '[.nics[] | [.dev, .network, .mac, .ipv4, .model] | join(" ")] | join(",")' \
	"net0 lan $MAC2 10.77.0.50 virtio,net1 iso $(t_json .nics[1].mac) 10.78.0.1 virtio" \
	"$G2: both NICs, as asked and as handed out"
MAC3=$(t_json .nics[1].mac)
# its cloud-init seed's network-config (hangar's own: none was given)
# configures both NICs, each matched by its MAC
G2_NC=$(isoinfo -R -i "$T_TMP/images/$(t_json .id)-cidata.iso" -x /network-config 2>&1)
t_match "$G2's seed: a network-config matching net0 by its MAC" "$G2_NC" "$MAC2"
t_match "... and net1 by its" "$G2_NC" "$MAC3"
t_eq "virsh: $G2's interfaces, in order" \
	"$(lvhost_virsh nw1 domiflist "$G2" | awk '{print $2, $3, $4, $5}' | tr '\n' ,)" \
	"network hangar-lan virtio $MAC2,network hangar-iso virtio $MAC3,"
t_check "the guest leases 10.77.0.50 on lan" t_wait_for 120 leased lan "$MAC2" 10.77.0.50
t_check "... and 10.78.0.1 on iso" t_wait_for 60 leased iso "$MAC3" 10.78.0.1
t_check "hangar shows both" t_wait_for 30 sh -c "curl -sf $T_BASE/v1/vms/$G2 |
	jq -e '[.nics[] | [.addresses[] | select(.source == \"lease\") | .address]] == [[\"10.77.0.50\"], [\"10.78.0.1\"]]'"
t_eq "hangar vm ip $G2: its first NIC's address" \
	"$(timeout 30 "$BUILD/hangar" --url "unix:$HANGARD_SOCK" vm ip "$G2")" 10.77.0.50

# hot-plug a third NIC into running g2, then unplug it
t_http POST "/v1/vms/$G2/nics?$W" '{"network":"iso","ipv4":"10.78.0.7"}'
t_expect_status 200 "hot-plug a NIC on iso into running $G2: 200"
t_expect_json .status succeeded "hot-plug: succeeded"
t_expect_json .kind nic_add "hot-plug: a nic_add operation"
t_http GET "/v1/vms/$G2/nics"
t_expect_json '[.nics[] | .dev + " " + (.ipv4 // "-")] | join(",")' \
	"net0 10.77.0.50,net1 10.78.0.1,net2 10.78.0.7" "$G2's NICs: net2 added"
MAC4=$(t_json .nics[2].mac)
t_match "virsh: the running guest has it" \
	"$(lvhost_virsh nw1 domiflist "$G2")" "hangar-iso +virtio +$MAC4"
t_match "virsh: so has its definition" \
	"$(lvhost_virsh nw1 domiflist "$G2" --inactive)" "$MAC4"
t_match "virsh: iso has its DHCP host" "$(hosts iso)" "$MAC4 10.78.0.7"
t_http POST "/v1/vms/$G2/nics" "{\"network\":\"lan\",\"mac\":\"$MAC4\"}"
problem 409 mac "hot-plug a NIC with a taken MAC"
t_http POST "/v1/vms/$G2/nics" '{"network":"lan","ipv4":"10.77.0.50"}'
problem 409 ipv4 "hot-plug a NIC with a taken address"
t_http POST "/v1/vms/$G2/nics" '{"network":"lan","ipv4":"10.99.0.5"}'
problem 400 ipv4 "hot-plug a NIC with an address outside the range"
t_http DELETE "/v1/vms/$G2/nics/$MAC4?$W"
t_expect_json .status succeeded "unplug net2 from $G2: succeeded"
t_check_not "virsh: the guest no longer has it" grep -q "$MAC4" \
	<<<"$(lvhost_virsh nw1 domiflist "$G2")$(lvhost_virsh nw1 domiflist "$G2" --inactive)"
t_eq "virsh: nor iso its DHCP host" "$(hosts iso)" "$MAC3 10.78.0.1"
t_http DELETE "/v1/vms/$G2/nics/52:54:00:00:00:99"
t_expect_problem 404 "unplug a NIC the VM has not: 404"

# bad NICs: nothing is made, nothing is left
before="$(domains) | $(hosts lan) | $(hosts iso)"
bad() {
	t_http POST /v1/vms "{\"name\":\"${T_PFX}bad\",\"memory_mib\":64,\"disk_gib\":1,\"nics\":[$1]}"
	problem "$2" "$3" "$4"
}
bad '{"network":"lan","mac":"52:54:00:aa:bb"}' 400 nics[0].mac "a malformed MAC"
bad '{"network":"lan","mac":"01:00:5e:00:00:01"}' 400 nics[0].mac "a multicast MAC"
bad '{"network":"lan","mac":"52:54:00:aa:bb:cc"}' 409 nics[0].mac "a taken MAC"
bad '{"network":"lan","ipv4":"10.77.0.50"}' 409 nics[0].ipv4 "a taken address"
bad '{"network":"lan","ipv4":"10.78.0.9"}' 400 nics[0].ipv4 "an address outside the range"
bad '{"network":"lan","ipv4":"10.77.0.1"}' 400 nics[0].ipv4 "the gateway's address"
bad '{"network":"lan","ipv4":"10.77.0.255"}' 400 nics[0].ipv4 "the broadcast address"
bad '{"network":"lan","ipv4":"10.77.0.3<x/>"}' 400 nics[0].ipv4 "an address with XML in it"
bad '{"network":"nope"}' 422 nics[0].network "an unknown network"
bad '{"network":"../lan"}' 400 nics[0].network "a network name with ../"
bad '{"network":"lan","model":"rtl8139"}' 400 nics[0].model "an unknown model"
bad '{"network":"lan"},{"network":"iso","mac":"52:54:00:aa:bb:cc"}' 409 nics[1].mac "the second NIC's MAC taken"
t_eq "no VM, domain or DHCP host was left by the bad NICs" \
	"$(domains) | $(hosts lan) | $(hosts iso)" "$before"
t_http GET "/v1/vms/${T_PFX}bad"
t_expect_status 404 "no VM row was left"

t_http DELETE /v1/networks/lan
problem 409 name "delete lan while NICs use it"
t_match "... says how many" "$(t_json .detail)" "2 NIC"
t_eq "virsh: lan is still there" "$(nets nw1)" "hangar-iso hangar-lan "

# a deleted VM's DHCP host goes, and its address is free again, but is
# not handed out at once: dnsmasq keeps G1's lease on it (for the old
# MAC) for the lease's whole life, so a new VM gets the next address
t_http DELETE "/v1/vms/$G1?$W"
t_expect_status 200 "delete $G1: 200"
t_eq "virsh: $G1's DHCP host is gone" "$(hosts lan)" "$MAC2 10.77.0.50 $G2"
t_match "virsh: but its lease on 10.77.0.2 stays" \
	"$(lvhost_virsh nw1 net-dhcp-leases hangar-lan)" "$MAC1 .* 10.77.0.2/"
t_http POST "/v1/vms?$W" "{\"name\":\"${T_PFX}g3\",\"memory_mib\":64,\"disk_gib\":1,
	\"nics\":[{\"network\":\"lan\",\"model\":\"e1000\"}]}"
t_expect_json .nics[0].ipv4 10.77.0.3 "a new VM gets the next address, not $G1's leased one"
t_match "virsh: its NIC is an e1000" \
	"$(lvhost_virsh nw1 domiflist "${T_PFX}g3")" "hangar-lan +e1000"
t_http DELETE "/v1/vms/${T_PFX}g3?$W"
t_http DELETE "/v1/vms/$G2?$W"
t_expect_status 200 "delete $G2: 200"
t_eq "virsh: no DHCP host is left on lan or iso" "$(hosts lan)$(hosts iso)" ""

# --- a bridge network needs no libvirt network
t_http POST /v1/networks '{"name":"wire","mode":"bridge","bridge":"br-wire"}'
t_expect_status 201 "create bridge network wire: 201"
t_expect_json .ipv4 null "wire: no range"
t_eq "virsh: no libvirt network for a bridge network" "$(nets nw1)" "hangar-iso hangar-lan "
# placement: a host without the bridge is refused, and says why
WIRE='{"name":"'"${T_PFX}w"'","memory_mib":64,"disk_gib":1,"nics":[{"network":"wire"}]}'
t_http POST /v1/placements "$WIRE"
t_expect_json '.hosts[0].fits' false "dry run: nw1 lacks br-wire"
t_expect_json '.hosts[0].filter' bridges "dry run: the bridges filter refuses it"
t_match "dry run: it names the bridge" "$(t_json .hosts[0].reason)" "no bridge 'br-wire'"
t_http POST /v1/vms "$WIRE"
t_expect_problem 409 "create a VM on wire where no host has br-wire: 409"
NS_PID=$(cat "$(lvhost_dir nw1)/unshare.pid")
nsenter -t "$NS_PID" -n ip link add br-wire type bridge
t_http POST /v1/placements "$WIRE"
t_expect_json '.hosts[0].fits' true "dry run: nw1 fits once it has br-wire"
t_http POST "/v1/vms?$W" "$WIRE"
t_expect_status 201 "create ${T_PFX}w on wire: 201"
t_expect_json .nics[0].ipv4 null "${T_PFX}w: no address on a network without a range"
t_match "virsh: its interface is on the bridge" \
	"$(lvhost_virsh nw1 domiflist "${T_PFX}w")" "bridge +br-wire"
t_http DELETE "/v1/vms/${T_PFX}w?$W"
t_expect_status 200 "delete ${T_PFX}w: 200"
# a bridge network with a range: no DHCP of hangar's there, so the seed's
# network-config gives the guest its address, statically
t_http POST /v1/networks '{"name":"wire4","mode":"bridge","bridge":"br-wire","ipv4":{"cidr":"10.82.0.0/24"}}'
t_expect_status 201 "create bridge network wire4 on br-wire, 10.82.0.0/24: 201"
t_http POST "/v1/vms?$W" '{"name":"'"${T_PFX}w4"'","memory_mib":64,"disk_gib":1,"nics":[{"network":"wire4"}],"cloud_init":{}}'
t_expect_status 201 "create ${T_PFX}w4 on wire4 with a seed: 201"
t_expect_json .nics[0].ipv4 10.82.0.2 "${T_PFX}w4: hangar gave it 10.82.0.2"
W4_NC=$(isoinfo -R -i "$T_TMP/images/$(t_json .id)-cidata.iso" -x /network-config 2>&1)
t_eq "${T_PFX}w4's seed: its MAC, no DHCP, 10.82.0.2/24 and the gateway" \
	"$(jq -c '.ethernets.nic0 | [.match.macaddress, .dhcp4, .addresses, .gateway4]' <<<"$W4_NC" 2>&1)" \
	"[\"$(t_json .nics[0].mac)\",false,[\"10.82.0.2/24\"],\"10.82.0.1\"]"
t_http DELETE "/v1/vms/${T_PFX}w4?$W"
t_expect_status 200 "delete ${T_PFX}w4: 200"
t_http DELETE /v1/networks/wire4
t_expect_status 200 "delete wire4: 200"
nsenter -t "$NS_PID" -n ip link del br-wire

# --- delete
t_http DELETE /v1/networks/iso
t_expect_status 200 "delete iso: 200"
t_eq "virsh: iso is gone from the host" "$(nets nw1)" "hangar-lan "
t_check_not "virsh: iso is not even defined" lvhost_virsh nw1 net-info hangar-iso
t_http DELETE /v1/networks/iso
t_expect_problem 404 "delete iso again: 404"
t_http DELETE /v1/networks/wire
t_expect_status 200 "delete wire: 200"

# --- the CLI
cli() { timeout 120 "$BUILD/hangar" --url "unix:$HANGARD_SOCK" "$@"; }
out=$(cli network create cli-net --mode isolated --cidr 10.81.0.0/24 --description "from the CLI" 2>&1)
t_eq "hangar network create: exit 0" "$?" 0
t_match "... prints the network" "$out" "libvirt_name: hangar-cli-net"
t_match "hangar network list: a table of them" "$(cli network list)" \
	"cli-net +isolated +10.81.0.0/24 +hgn[0-9]+ +0"
out=$(cli -o json vm create "${T_PFX}c" --memory 64 --disk 1 --network cli-net --network lan 2>&1)
t_eq "hangar vm create --network cli-net --network lan: exit 0" "$?" 0
t_eq "... two NICs, in order" "$(jq -r '[.nics[].network] | join(",")' <<<"$out")" "cli-net,lan"
t_eq "hangar vm ip: the address hangar gave it, before any boot" \
	"$(cli vm ip "${T_PFX}c")" "$(jq -r '.nics[0].ipv4' <<<"$out")"
out=$(cli --timeout 5 vm create "${T_PFX}c2" --memory 64 --disk 1 --network lan --wait-ip 2>&1)
t_eq "vm create --wait-ip of a VM never started: exit 1 at --timeout" "$?" 1
t_match "... saying no address was seen" "$out" "an address still none seen after 5 s"
cli vm delete "${T_PFX}c2" >/dev/null 2>&1
cli vm delete "${T_PFX}c" >/dev/null 2>&1
t_wait_for 60 sh -c "! curl -sf $T_BASE/v1/vms/${T_PFX}c >/dev/null"
out=$(cli network delete cli-net 2>&1)
t_eq "hangar network delete cli-net: exit 0" "$?" 0
out=$(cli network create bad --mode nat --cidr 10.77.0.0/16 2>&1)
t_eq "hangar network create with an overlapping range: exit 1" "$?" 1
t_match "... and says why" "$out" "overlaps network 'lan'"

# --- a host registered later gets the network
if LVHOST_NETNS=1 t_lvhost_start nw2; then
	t_http POST /v1/hosts "{\"name\":\"nw2\",\"uri\":\"$LVHOST_URI\"}"
	t_expect_status 201 "register host nw2: 201"
	t_eq "virsh: the new host has lan" "$(nets nw2)" "hangar-lan "
	t_match "virsh: with the same bridge" \
		"$(lvhost_virsh nw2 net-dumpxml hangar-lan)" "<bridge name='$LAN_BR'"
	# removed behind hangar's back while the host is down: back with it
	lvhost_virsh nw2 net-destroy hangar-lan >/dev/null
	lvhost_virsh nw2 net-undefine hangar-lan >/dev/null
	lvhost_down nw2
	t_wait_for 20 sh -c "curl -sf $T_BASE/v1/hosts/nw2 | jq -e '.state == \"unreachable\"'"
	t_http GET /v1/hosts/nw2
	t_expect_json .state unreachable "nw2 is seen unreachable"
	lvhost_up nw2
	t_wait_for 60 sh -c "curl -sf $T_BASE/v1/hosts/nw2 | jq -e '.state == \"ready\"'"
	t_eq "virsh: nw2 has lan again once it is back" "$(nets nw2)" "hangar-lan "
	# deleted while the host is down: gone from it once it is back; a
	# libvirt network of the same name that hangar did not make (another
	# uuid) is left alone.  gone1 and gone2 on both hosts; on nw2, gone2
	# is swapped behind hangar's back for a network of its own.
	t_http POST /v1/networks '{"name":"gone1","mode":"isolated","ipv4":{"cidr":"10.83.0.0/24"}}'
	t_expect_status 201 "create isolated network gone1: 201"
	t_http POST /v1/networks '{"name":"gone2","mode":"isolated","ipv4":{"cidr":"10.84.0.0/24"}}'
	t_expect_status 201 "create isolated network gone2: 201"
	t_eq "virsh: nw2 has gone1 and gone2" "$(nets nw2)" "hangar-gone1 hangar-gone2 hangar-lan "
	lvhost_virsh nw2 net-destroy hangar-gone2 >/dev/null
	lvhost_virsh nw2 net-undefine hangar-gone2 >/dev/null
	cat >"$T_TMP/foreign.xml" <<-EOF
		<network><name>hangar-gone2</name>
		<uuid>0badc0de-0000-4000-8000-00000000f00d</uuid>
		<bridge name='foreign0'/></network>
	EOF
	lvhost_virsh nw2 net-define "$T_TMP/foreign.xml" >/dev/null
	lvhost_down nw2
	t_wait_for 20 sh -c "curl -sf $T_BASE/v1/hosts/nw2 | jq -e '.state == \"unreachable\"'"
	t_http DELETE /v1/networks/gone1
	t_expect_status 200 "delete gone1 while nw2 is down: 200"
	t_http DELETE /v1/networks/gone2
	t_expect_status 200 "delete gone2 while nw2 is down: 200"
	t_eq "virsh: nw1 has neither" "$(nets nw1)" "hangar-lan "
	lvhost_up nw2
	t_wait_for 60 sh -c "curl -sf $T_BASE/v1/hosts/nw2 | jq -e '.state == \"ready\"'"
	all=$(lvhost_virsh nw2 net-list --all --name | grep '^hangar-' | sort | tr '\n' ' ')
	t_eq "virsh: nw2 back: gone1 removed, the other hangar-gone2 kept" \
		"$all" "hangar-gone2 hangar-lan "
	t_eq "... the one kept is the one hangar did not make" \
		"$(lvhost_virsh nw2 net-uuid hangar-gone2)" "0badc0de-0000-4000-8000-00000000f00d"
	lvhost_virsh nw2 net-undefine hangar-gone2 >/dev/null
else
	t_fail "start a second host in its own network namespace" "see above"
fi

# --- a booting guest's first address shows within seconds, not at the
# next reconcile sweep (here 10 minutes away): hangard looks for the
# lease of a running VM's NIC that has none every few seconds
hangard_stop
HANGARD_CONF_EXTRA="reconcile_interval_s = 600" hangard_start || t_summary
G5=${T_PFX}g5
t_http POST "/v1/vms?$W" "{\"name\":\"$G5\",\"memory_mib\":128,\"image\":\"tiny\",
	\"host\":\"local\",\"start\":true,$TCG,\"nics\":[{\"network\":\"lan\"}]}"
t_expect_status 201 "create $G5 with a NIC on lan (sweep every 600 s): 201"
G5_MAC=$(t_json .nics[0].mac) G5_IP=$(t_json .nics[0].ipv4)
t_check "the guest leases $G5_IP" t_wait_for 120 leased lan "$G5_MAC" "$G5_IP"
t0=$(t_ns_now)
t_check "hangar shows it within 15 s of the lease, long before the sweep" \
	t_wait_for 15 sh -c "curl -sf $T_BASE/v1/vms/$G5 | jq -e '.nics[0].addresses[0].address == \"$G5_IP\"'"
echo "# $G5's address shown $(($(t_ns_now) - t0)) ms after its lease"
t_http DELETE "/v1/vms/$G5?$W"
t_expect_json .status succeeded "delete $G5"

t_summary
