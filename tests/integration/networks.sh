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
# network removed behind hangar's back.
# Usage: BUILD=build tests/integration/networks.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

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
	"ipv4":{"cidr":"10.78.0.0/24","gateway":"10.78.0.254","dhcp":false}}'
t_expect_status 201 "create isolated network iso: 201"
x=$(lvhost_virsh nw1 net-dumpxml hangar-iso)
t_check_not "virsh: iso does not forward" grep -q "<forward" <<<"$x"
t_match "virsh: iso's gateway address" "$x" "<ip address='10.78.0.254' prefix='24'"
t_check_not "virsh: iso has no DHCP" grep -q "<dhcp" <<<"$x"
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

# --- a bridge network needs no libvirt network
t_http POST /v1/networks '{"name":"wire","mode":"bridge","bridge":"br-wire"}'
t_expect_status 201 "create bridge network wire: 201"
t_expect_json .ipv4 null "wire: no range"
t_eq "virsh: no libvirt network for a bridge network" "$(nets nw1)" "hangar-iso hangar-lan "

# --- delete
t_http DELETE /v1/networks/iso
t_expect_status 200 "delete iso: 200"
t_eq "virsh: iso is gone from the host" "$(nets nw1)" "hangar-lan "
t_check_not "virsh: iso is not even defined" lvhost_virsh nw1 net-info hangar-iso
t_http DELETE /v1/networks/iso
t_expect_problem 404 "delete iso again: 404"
t_http DELETE /v1/networks/wire
t_expect_status 200 "delete wire: 200"

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
else
	t_fail "start a second host in its own network namespace" "see above"
fi

t_summary
