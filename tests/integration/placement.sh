#!/usr/bin/env bash
#
# placement.sh - multi-host placement against three real libvirt hosts:
# host registration (POST/PATCH/DELETE /v1/hosts), spread and pack, 50
# concurrent creates against small hosts, a strict anti-affinity group,
# labels, an explicit (and forced) host, maintenance, an unreachable host
# and its return, and the dry run POST /v1/placements.  Where the API says
# a VM lives is checked against what each host's libvirtd says (virsh).
#
# Starts its own three libvirt hosts (tests/lib/lvhost.sh: h1, h2, h3, each
# a libvirtd in a private namespace with its own block of ports); the
# shared host of tests/run is not used.  hangard (reconcile_interval_s 2,
# a 256 MiB reserve per host in its config) starts with h1 as its `local`
# host, which is deleted; h1..h3 are then registered through the API (h3
# with its reserve and labels in the body) and made small: reserved memory
# is set from each host's memory so each takes exactly CAP guests of 64 MiB
# (reserved = memory - CAP x 64, ram_ratio 1).  For the unreachable host,
# h3's libvirtd is stopped and started again on the same state dir and
# port (lvhost_down / lvhost_up).  VM disks are 1 GiB qcow2 files in
# $T_TMP/images, the pool path every host shares (the hosts share this
# machine's filesystem).  VMs are named place-*; guests only run (64 MiB,
# kvm or qemu as the host offers) in the anti-affinity part.
#
# Usage: BUILD=build tests/integration/placement.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init place nohost

CAP=3                    # 64-MiB guests per host
HOSTS="h1 h2 h3"
W=wait=60
declare -A URI LVNAME

for h in $HOSTS; do
	LVNAME[$h]=${T_PFX}$h
	if ! t_lvhost_start "${LVNAME[$h]}"; then
		t_fail "start libvirt host $h" "see above"
		t_summary
	fi
	URI[$h]=$LVHOST_URI
done
T_LV_URI=${URI[h1]}
HANGARD_CONF_EXTRA="reconcile_interval_s = 2
cpu_ratio = 2.0
reserved_vcpus = 0
reserved_memory_mib = 256
reserved_disk_gib = 0"
hangard_start || t_summary

# ------------------------------------------------------------------ helpers

# vm_body NAME [JQ-FILTER]: a create body for a 64 MiB, 1 vCPU, 1 GiB VM,
# amended by JQ-FILTER (e.g. '.host = "h2"')
vm_body() {
	jq -nc --arg n "$1" "{name: \$n, vcpus: 1, memory_mib: 64, disk_gib: 1} | ${2:-.}"
}

# create NAME [JQ-FILTER]: POST /v1/vms?wait=60 and expect 201 stopped
# (running with start); prints nothing, leaves the reply in T_*
create() {
	local want=stopped
	t_http POST "/v1/vms?$W" "$(vm_body "$@")"
	[[ ${2:-} == *start* ]] && want=running
	t_expect_status 201 "create $1 ${2:-}: 201"
	t_expect_json .state "$want" "create $1: $want after the wait"
}

# api_host VM: the host the API says VM is on ("absent" on 404)
api_host() {
	t_http GET "/v1/vms/$1"
	if [ "$T_STATUS" = 200 ]; then t_json .host; else echo absent; fi
}

# virsh_hosts DOM [--all]: the hosts whose libvirtd has domain DOM (defined,
# or with "running" only running), space-separated, in host order
virsh_hosts() {
	local h out='' flag=--all
	[ "${2:-}" = running ] && flag=''
	for h in $HOSTS; do
		[ -e "$(lvhost_dir "${LVNAME[$h]}")/down" ] && continue
		if lvhost_virsh "${LVNAME[$h]}" list $flag --name 2>/dev/null |
			grep -qx -- "$1"; then
			out+="${out:+ }$h"
		fi
	done
	echo "$out"
}

# on_host VM HOST [running]: the API and virsh both say VM is on HOST
# (and only there)
on_host() {
	t_eq "$1: the API says host $2" "$(api_host "$1")" "$2"
	t_eq "$1: virsh finds the domain on $2 only${3:+ (running)}" \
		"$(virsh_hosts "$1" "${3:-}")" "$2"
}

# virsh_doms HOST PREFIX: sorted domain names (defined) on HOST starting
# with PREFIX
virsh_doms() {
	lvhost_virsh "${LVNAME[$1]}" list --all --name 2>/dev/null |
		awk -v p="$2" 'NF && index($0, p) == 1' | sort
}

# api_doms HOST PREFIX: sorted VM names the API places on HOST, with PREFIX
api_doms() {
	t_http GET "/v1/vms?host=$1"
	t_json '.vms[].name' | awk -v p="$2" 'NF && index($0, p) == 1' | sort
}

# delete VM...: DELETE ?wait each, expect a succeeded delete
delete() {
	local v
	for v in "$@"; do
		t_http DELETE "/v1/vms/$v?$W"
		t_expect_status 200 "delete $v: 200"
		t_expect_json .status succeeded "delete $v: succeeded"
	done
}

# host_json HOST EXPR: `jq -r EXPR` of GET /v1/hosts/HOST
host_json() {
	t_http GET "/v1/hosts/$1"
	t_json "$2"
}

# set_cap HOST MIB: reserve all but MIB of HOST's memory (ram_ratio 1)
set_cap() {
	local mem
	mem=$(host_json "$1" .memory_mib)
	t_http PATCH "/v1/hosts/$1" \
		"{\"reserved\":{\"memory_mib\":$((mem - $2))},\"ram_ratio\":1.0}"
	t_expect_status 200 "PATCH $1 reserved memory_mib $((mem - $2)): 200"
	t_expect_json .resources.memory_mib.capacity "$2" "$1: memory capacity is now $2 MiB"
}

# no_overcommit WHAT: GET /v1/hosts shows no host with allocated >
# capacity for any resource
no_overcommit() {
	t_http GET /v1/hosts
	t_expect_json '[.hosts[] | .resources | to_entries[] |
		select(.value.allocated > .value.capacity)] | length' 0 \
		"$1: no host has allocated > capacity"
}

# host_dtype HOST: kvm if HOST's libvirt offers it for x86_64, else qemu
host_dtype() {
	lvhost_virsh "${LVNAME[$1]}" capabilities 2>/dev/null |
		awk "/<arch name='x86_64'>/ {a=1} /<\/arch>/ {a=0} a && /<domain type='kvm'/ {k=1} END {print k ? \"kvm\" : \"qemu\"}"
}

# images: the files in hangard's pool directory
images() {
	find "$T_TMP/images" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort
}

# ============================================================ registration
echo "# --- registration"
t_http GET /v1/hosts/local
t_expect_status 200 "hangard registered its --host-uri as host local"
t_expect_json .uri "${URI[h1]}"
t_expect_json .state ready
local_mem=$(t_json .memory_mib)     # every host here has this machine's memory
t_http DELETE /v1/hosts/local
t_expect_status 200 "DELETE /v1/hosts/local (no VMs): 200"
t_expect_json .name local "DELETE returns the removed host"
t_http GET /v1/hosts/local
t_expect_problem 404 "local is gone"
t_http GET /v1/hosts
t_expect_json '.hosts | length' 0 "GET /v1/hosts is empty"

for h in $HOSTS; do
	if [ "$h" = h3 ]; then
		# h3 says its settings in the body
		t_http POST /v1/hosts "{\"name\":\"$h\",\"uri\":\"${URI[$h]}\",
			\"reserved\":{\"vcpus\":0,\"memory_mib\":$((local_mem - CAP * 64)),\"disk_gib\":0},
			\"ram_ratio\":1.0,\"labels\":{\"rack\":\"a\"}}"
	else
		t_http POST /v1/hosts "{\"name\":\"$h\",\"uri\":\"${URI[$h]}\"}"
	fi
	t_expect_status 201 "register $h: 201"
	t_eq "register $h: Location /v1/hosts/$h" "$T_LOCATION" "/v1/hosts/$h"
	t_expect_json .state ready "register $h: ready"
	t_expect_json '.cpus > 0' true "register $h: cpus"
	t_expect_json '.memory_mib > 0' true "register $h: memory_mib"
	t_expect_json .arch x86_64 "register $h: arch"
	dt=$(host_dtype "$h")
	t_expect_json .domain_type "$dt" "register $h: domain_type $dt (as virsh capabilities)"
	t_expect_json "(.domain_types | index(\"$dt\")) != null and (.domain_types | index(\"qemu\")) != null" \
		true "register $h: domain_types has $dt and qemu"
	# what the body does not say comes from the config
	t_expect_json .cpu_ratio 2 "register $h: cpu_ratio from the config"
	t_expect_json .resources.vcpus.reserved 0 "register $h: reserved vcpus"
	if [ "$h" = h3 ]; then
		t_expect_json .resources.memory_mib.capacity $((CAP * 64)) \
			"register h3 with reserved memory: capacity $((CAP * 64)) MiB"
		t_expect_json .labels.rack a "register h3 with labels"
	else
		t_expect_json .resources.memory_mib.reserved 256 "register $h: reserved memory from the config"
		t_expect_json .labels '{}' "register $h: no labels"
	fi
	t_expect_json '.allocated.memory_mib' 0 "register $h: nothing allocated"
done
t_http GET /v1/hosts
hosts_before=$(t_json '[.hosts[].name] | join(",")')
t_eq "GET /v1/hosts lists h1,h2,h3" "$hosts_before" "h1,h2,h3"

for bad in '"cpu_ratio":0' '"ram_ratio":-1' '"disk_ratio":1001' '"ram_ratio":"2"' \
	'"cpu_ratio":null'; do
	field=${bad%%\":*}
	field=${field#\"}
	t_http POST /v1/hosts "{\"name\":\"hx\",\"uri\":\"${URI[h1]}\",$bad}"
	t_expect_problem 400 "register with $bad: 400"
	t_expect_json .field "$field" "register with $bad: names field $field"
done
t_http POST /v1/hosts '{"name":"hx","uri":"qemu+tcp://127.0.0.1:1/system"}'
t_expect_problem 422 "register an unreachable URI: 422"
t_expect_json .field uri "422 names field uri"
t_match "422 carries libvirt's words" "$(t_json .detail)" \
	"unable to connect to server at '127.0.0.1:1'.*Connection refused"
t_http POST /v1/hosts "{\"name\":\"h2\",\"uri\":\"${URI[h3]}\"}"
t_expect_problem 409 "register a taken name: 409"
t_expect_json .field name "409 names field name"
t_http POST /v1/hosts "{\"name\":\"hx\",\"uri\":\"${URI[h1]}\",\"labels\":{\"Rack\":\"b\"}}"
t_expect_problem 400 "register with label key Rack: 400"
t_http GET /v1/hosts
t_eq "after the refused registrations GET /v1/hosts is unchanged" \
	"$(t_json '[.hosts[].name] | join(",")')" "$hosts_before"
t_http GET /v1/hosts/hx
t_expect_problem 404 "host hx was not stored"
t_http PATCH /v1/hosts/h1 '{"ram_ratio":0}'
t_expect_problem 400 "PATCH ram_ratio 0: 400"
t_expect_json .field ram_ratio
t_http PATCH /v1/hosts/nosuch '{"maintenance":true}'
t_expect_problem 404 "PATCH an unknown host: 404"

# ================================================================== spread
echo "# --- spread and pack"
# h1 200, h2 224, h3 256 MiB: most free memory first gives h3, h2, h1
set_cap h1 200
set_cap h2 224
set_cap h3 256
create "${T_PFX}s1"
on_host "${T_PFX}s1" h3
dt=$(host_dtype h3)
t_match "${T_PFX}s1: domain type $dt" \
	"$(lvhost_virsh "${LVNAME[h3]}" dumpxml "${T_PFX}s1" 2>/dev/null | head -1)" "type=.$dt."
create "${T_PFX}s2"
on_host "${T_PFX}s2" h2
create "${T_PFX}s3"
on_host "${T_PFX}s3" h1
# free now h1 136, h2 160, h3 192: pack takes the tightest fit
create "${T_PFX}p1" '.placement.policy = "pack"'
on_host "${T_PFX}p1" h1
create "${T_PFX}p2" '.placement.policy = "pack"'
on_host "${T_PFX}p2" h1
create "${T_PFX}p3" '.placement.policy = "pack"'
on_host "${T_PFX}p3" h2
t_http GET /v1/hosts/h1
t_expect_json .vms 3 "h1 has 3 VMs"
t_expect_json .allocated.memory_mib 192 "h1 allocated 192 MiB"
t_expect_json .resources.memory_mib.free 8 "h1 has 8 MiB free"
no_overcommit "after spread and pack"
t_http POST /v1/vms "$(vm_body "${T_PFX}pbad" '.placement.policy = "fullest"')"
t_expect_problem 400 "placement.policy fullest: 400"
t_expect_json .field placement.policy
delete "${T_PFX}s1" "${T_PFX}s2" "${T_PFX}s3" "${T_PFX}p1" "${T_PFX}p2" "${T_PFX}p3"
for h in $HOSTS; do
	t_http GET "/v1/hosts/$h"
	t_expect_json '[.vms, .allocated.vcpus, .allocated.memory_mib, .allocated.disk_gib] | join(",")' \
		0,0,0,0 "$h: claims released after the deletes"
	t_eq "$h: no domain left" "$(virsh_doms "$h" "$T_PFX")" ""
	set_cap "$h" $((CAP * 64))
done

# ============================================================= concurrency
echo "# --- 50 concurrent creates against $((3 * CAP)) slots"
N=50
cdir=$T_TMP/concurrent
mkdir -p "$cdir"
pids=()
for ((i = 1; i <= N; i++)); do
	q=''
	((i % 2)) && q="?$W"
	(
		while [ ! -e "$cdir/go" ]; do sleep 0.01; done
		exec curl -sS -o "$cdir/$i.body" -w '%{http_code}' -X POST \
			-H 'Content-Type: application/json' -H 'Expect:' \
			--max-time 120 --data-binary "$(vm_body "${T_PFX}c$i")" \
			"$T_BASE/v1/vms$q" >"$cdir/$i.code" 2>"$cdir/$i.err"
	) &
	pids+=($!)
done
sleep 0.5
t0=$(t_ns_now)
: >"$cdir/go"
for p in "${pids[@]}"; do wait "$p"; done
echo "# $N concurrent creates answered in $(($(t_ns_now) - t0)) ms"
n201=0 n409=0 nother=0 bad409=''
for ((i = 1; i <= N; i++)); do
	code=$(cat "$cdir/$i.code" 2>/dev/null)
	case $code in
	201) n201=$((n201 + 1)) ;;
	409)
		n409=$((n409 + 1))
		jq -e '(.type | endswith(":no-capacity")) and .status == 409 and
			(.hosts | length) == 3 and
			([.hosts[] | select(.fits == false and .filter == "memory" and
				(.reason | test("0 MiB free of 192"))
				and .chosen == false)] | length) == 3 and
			([.hosts[].name] | sort) == ["h1","h2","h3"]' \
			"$cdir/$i.body" >/dev/null 2>&1 || bad409+=" c$i"
		;;
	*)
		nother=$((nother + 1))
		echo "# c$i: status '$code': $(head -c 300 "$cdir/$i.body" 2>/dev/null) $(head -c 200 "$cdir/$i.err")"
		;;
	esac
done
t_eq "concurrent creates: exactly $((3 * CAP)) got 201" "$n201" $((3 * CAP))
t_eq "concurrent creates: the other $((N - 3 * CAP)) got 409" "$n409" $((N - 3 * CAP))
t_eq "concurrent creates: no other status" "$nother" 0
t_eq "every 409 is no-capacity with each host's memory verdict" "${bad409# }" ""
if [ -n "$bad409" ]; then
	f=${bad409# c}
	echo "# e.g. c${f%% *}: $(head -c 600 "$cdir/${f%% *}.body")"
fi
for ((i = 1; i <= N; i++)); do
	if [ "$(cat "$cdir/$i.code")" = 409 ]; then
		echo "# a 409 body: $(head -c 400 "$cdir/$i.body")"
		break
	fi
done
# a 201 without ?wait only says the create was accepted: its operation
# must succeed too
opsbad=''
for ((i = 1; i <= N; i++)); do
	[ "$(cat "$cdir/$i.code")" = 201 ] || continue
	op=$(jq -r .operation "$cdir/$i.body" 2>/dev/null)
	[ "$op" = null ] && continue          # ?wait: already final
	t_http GET "/v1/operations/$op?wait=60"
	if [ "$(t_json .status)" != succeeded ]; then
		opsbad+=" c$i"
		echo "# c$i: create operation $(t_json .status): $(t_json .error.detail)"
	fi
done
t_eq "every accepted create's operation succeeded" "${opsbad# }" ""
settled() {
	t_http GET /v1/vms
	[ "$(t_json '[.vms[] | select(.state == "creating")] | length')" = 0 ]
}
t_check "concurrent creates: every accepted create settles within 60 s" t_wait_for 60 settled
t_http GET /v1/vms
t_expect_json '[.vms[] | select(.name | startswith("'"${T_PFX}c"'"))] | length' $((3 * CAP)) \
	"GET /v1/vms lists exactly $((3 * CAP)) of them"
t_expect_json '[.vms[] | select(.state != "stopped")] | length' 0 "all of them are stopped"
no_overcommit "after the concurrent creates"
for h in $HOSTS; do
	t_http GET "/v1/hosts/$h"
	t_expect_json '[.vms, .allocated.memory_mib, .resources.memory_mib.free] | join(",")' \
		"$CAP,$((CAP * 64)),0" "$h: full ($CAP VMs, $((CAP * 64)) MiB allocated, 0 free)"
	t_eq "$h: virsh has exactly the domains the API puts there" \
		"$(virsh_doms "$h" "${T_PFX}c" | tr '\n' ' ')" "$(api_doms "$h" "${T_PFX}c" | tr '\n' ' ')"
done
t_eq "one qcow2 per accepted create in the pool dir" "$(images | wc -l)" $((3 * CAP))
# delete them all, concurrently too
t_http GET /v1/vms
mapfile -t cvms < <(t_json '.vms[].name' | grep -- "^${T_PFX}c")
pids=()
for v in "${cvms[@]}"; do
	curl -sS -o "$cdir/$v.del" -w '%{http_code}' -X DELETE --max-time 120 \
		"$T_BASE/v1/vms/$v?$W" >"$cdir/$v.delcode" 2>/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
ndel=0
for v in "${cvms[@]}"; do
	[ "$(cat "$cdir/$v.delcode")" = 200 ] &&
		[ "$(jq -r .status "$cdir/$v.del" 2>/dev/null)" = succeeded ] && ndel=$((ndel + 1))
done
t_eq "concurrent deletes: all ${#cvms[@]} succeeded" "$ndel" "${#cvms[@]}"
for h in $HOSTS; do
	t_http GET "/v1/hosts/$h"
	t_expect_json '[.vms, .allocated.vcpus, .allocated.memory_mib, .allocated.disk_gib] | join(",")' \
		0,0,0,0 "$h: claims released (allocated back to 0)"
	t_eq "$h: no domain left" "$(virsh_doms "$h" "$T_PFX")" ""
done
t_eq "pool dir empty after the deletes" "$(images)" ""

# =========================================================== anti-affinity
echo "# --- strict anti-affinity"
t_http POST /v1/groups '{"name":"aa","policy":"anti-affinity"}'
t_expect_status 201 "create group aa: 201"
t_expect_json .strict true "group aa is strict by default"
for i in 1 2 3; do
	create "${T_PFX}a$i" '.group = "aa" | .start = true'
done
declare -A seen=()
aa_ok=1
for i in 1 2 3; do
	h=$(virsh_hosts "${T_PFX}a$i" running)
	t_eq "${T_PFX}a$i: the API and virsh (running) agree on the host" "$(api_host "${T_PFX}a$i")" "$h"
	[ -n "$h" ] && [ -z "${seen[$h]:-}" ] || aa_ok=0
	seen[$h]=1
done
t_eq "the 3 anti-affinity VMs run on 3 different hosts" "$aa_ok" 1
t_http POST "/v1/vms?$W" "$(vm_body "${T_PFX}a4" '.group = "aa"')"
t_expect_problem 409 "a 4th member: 409"
t_match "a 4th member: type no-capacity" "$(t_json .type)" ':no-capacity$'
t_expect_json '[.hosts[] | select(.filter == "group" and (.reason | test("anti-affinity group .aa.")))] | length' 3 \
	"a 4th member: every host refused by filter group, naming group aa"
t_http GET /v1/groups/aa
t_expect_json '.members | length' 3 "group aa has 3 members"
t_expect_json '[.members[].host] | unique | length' 3 "group aa's members are on 3 hosts"
t_http DELETE /v1/groups/aa
t_expect_problem 409 "DELETE group aa with members: 409"
delete "${T_PFX}a1" "${T_PFX}a2" "${T_PFX}a3"
t_http DELETE /v1/groups/aa
t_expect_status 200 "DELETE group aa once empty: 200"

# ================================================================== labels
echo "# --- labels"
t_http PATCH /v1/hosts/h2 '{"labels":{"rack":"b"}}'
t_expect_status 200 "PATCH h2 labels rack=b: 200"
t_expect_json .labels.rack b
create "${T_PFX}l1" '.placement.labels = {"rack": "b"}'
on_host "${T_PFX}l1" h2
t_http POST "/v1/vms?$W" "$(vm_body "${T_PFX}l2" '.placement.labels = {"rack": "zzz"}')"
t_expect_problem 409 "placement.labels rack=zzz: 409"
t_expect_json '[.hosts[] | select(.filter == "labels")] | length' 3 "rack=zzz: every host refused by filter labels"
t_expect_json '.hosts[] | select(.name == "h2") | .reason' "label rack is 'b', 'zzz' asked" \
	"rack=zzz: h2's reason names both values"
t_expect_json '.hosts[] | select(.name == "h1") | .reason | test("no label rack")' true \
	"rack=zzz: h1's reason says it has no label rack"
t_expect_json '.hosts[] | select(.name == "h3") | .reason' "label rack is 'a', 'zzz' asked" \
	"rack=zzz: h3's reason names its rack a"
t_http GET "/v1/vms/${T_PFX}l2"
t_expect_problem 404 "the refused VM was not stored"

# ============================================================ explicit host
echo "# --- explicit host"
create "${T_PFX}e1" '.host = "h2"'
on_host "${T_PFX}e1" h2
create "${T_PFX}e2" '.host = "h2"'
on_host "${T_PFX}e2" h2
t_http POST "/v1/vms?$W" "$(vm_body "${T_PFX}e3" '.host = "h2"')"
t_expect_problem 409 "host h2 when h2 is full: 409"
t_expect_json '.hosts[] | select(.name == "h2") | .filter' memory "full h2: filter memory"
t_expect_json '.hosts[] | select(.name == "h2") | .reason | test("0 MiB free of 192")' true \
	"full h2: the reason says 0 MiB free of 192"
t_expect_json '[.hosts[] | select(.name != "h2") | .filter] | unique | join(",")' host \
	"full h2: the other hosts are refused by filter host"
t_http POST "/v1/vms?$W" "$(vm_body "${T_PFX}e3" '.force = true')"
t_expect_problem 400 "force without host: 400"
t_expect_json .field force
t_http POST "/v1/vms?$W" "$(vm_body "${T_PFX}e3" '.host = "nosuch"')"
t_expect_problem 404 "an unknown host: 404"
t_expect_json .field host
# docs: "force":true with "host" skips the filters, so a full host takes it
create "${T_PFX}e3" '.host = "h2" | .force = true'
on_host "${T_PFX}e3" h2
t_http GET /v1/hosts/h2
t_expect_json .vms 4 "forced: h2 has 4 VMs"
t_expect_json .resources.memory_mib.allocated 256 "forced: h2 allocated 256 MiB (over its 192)"
t_expect_json .resources.memory_mib.free 0 "forced: h2 shows 0 free, not negative"
delete "${T_PFX}e1" "${T_PFX}e2" "${T_PFX}e3" "${T_PFX}l1"
t_http PATCH /v1/hosts/h2 '{"labels":{}}'
t_expect_json .labels '{}' "PATCH labels {} clears them"

# ============================================================= maintenance
echo "# --- maintenance"
t_http PATCH /v1/hosts/h1 '{"maintenance":true}'
t_expect_status 200 "PATCH h1 maintenance true: 200"
t_expect_json .state maintenance
t_expect_json .maintenance true
t_http POST /v1/placements "$(vm_body "${T_PFX}dry")"
t_expect_status 200 "dry run with h1 in maintenance: 200"
t_expect_json '.hosts[] | select(.name == "h1") | [.filter, .reason] | join(": ")' \
	"state: host is in maintenance" "dry run: h1 refused by filter state"
t_match "dry run: another host is chosen" "$(t_json .host)" '^h[23]$'
create "${T_PFX}m1"
create "${T_PFX}m2"
t_eq "maintenance: no new VM on h1 (virsh)" "$(virsh_doms h1 "$T_PFX")" ""
t_match "maintenance: m1 and m2 on h2/h3" "$(api_host "${T_PFX}m1") $(api_host "${T_PFX}m2")" '^h[23] h[23]$'
t_http PATCH /v1/hosts/h1 '{"maintenance":false}'
t_expect_json .state ready "PATCH h1 maintenance false: ready"
t_http POST /v1/placements "$(vm_body "${T_PFX}dry")"
t_expect_json '.hosts[] | select(.name == "h1") | .fits' true "dry run: h1 fits again"
create "${T_PFX}m3"
on_host "${T_PFX}m3" h1

# ============================================================= unreachable
echo "# --- an unreachable host"
create "${T_PFX}u1" '.host = "h3"'
on_host "${T_PFX}u1" h3
t_http GET /v1/vms
nvms=$(t_json '.vms | length')
h3vms=$(api_doms h3 "$T_PFX" | tr '\n' ' ')
t0=$(t_ns_now)
if lvhost_down "${LVNAME[h3]}"; then
	t_ok "h3's libvirtd stopped"
else
	t_fail "h3's libvirtd stopped" "lvhost_down failed"
fi
h3_state() {
	t_http GET /v1/hosts
	[ "$(t_json '.hosts[] | select(.name == "h3") | .state')" = "$1" ]
}
t_check "GET /v1/hosts shows h3 unreachable within 20 s" t_wait_for 20 h3_state unreachable
echo "# h3 seen unreachable $(($(t_ns_now) - t0)) ms after lvhost_down began"
u1_state() { t_http GET "/v1/vms/${T_PFX}u1"; [ "$(t_json .state)" = "$1" ]; }
t_check "u1 (on h3) shows state unknown within 20 s" t_wait_for 20 u1_state unknown
t_http POST /v1/placements "$(vm_body "${T_PFX}dry")"
t_expect_json '.hosts[] | select(.name == "h3") | [.filter, .reason] | join(": ")' \
	"state: host is unreachable" "dry run: h3 refused by filter state"
t_http POST "/v1/vms?$W" "$(vm_body "${T_PFX}u2" '.host = "h3"')"
t_expect_problem 409 "create on unreachable h3: 409"
create "${T_PFX}u2"
t_match "a create while h3 is down goes elsewhere" "$(api_host "${T_PFX}u2")" '^h[12]$'
t_http GET /v1/vms
t_eq "nothing was deleted while h3 is unreachable" "$(t_json '.vms | length')" $((nvms + 1))
t_eq "h3's VMs are still listed on h3" "$(api_doms h3 "$T_PFX" | tr '\n' ' ')" "$h3vms"
t_http DELETE /v1/hosts/h3
t_expect_problem 409 "DELETE unreachable h3 with VMs: 409"
if lvhost_up "${LVNAME[h3]}"; then
	t_ok "h3's libvirtd started again (same state dir and port)"
	t0=$(t_ns_now)
	# the backoff has doubled from 1 s while it was down: allow 70 s
	t_check "GET /v1/hosts shows h3 ready again within 70 s" t_wait_for 70 h3_state ready
	echo "# h3 seen ready after $(($(t_ns_now) - t0)) ms"
	t_check "u1 shows stopped again within 20 s" t_wait_for 20 u1_state stopped
	t_eq "h3's domains survived (virsh)" "$(virsh_doms h3 "$T_PFX" | tr '\n' ' ')" "$h3vms"
	t_http POST /v1/placements "$(vm_body "${T_PFX}dry" '.host = "h3"')"
	t_expect_json .host h3 "dry run: h3 takes VMs again"
else
	t_fail "h3's libvirtd started again" "lvhost_up failed (see above)"
fi

# ============================================================== dry run
echo "# --- POST /v1/placements"
t_http GET /v1/vms
nvms=$(t_json '.vms | length')
ndoms=0
for h in $HOSTS; do ndoms=$((ndoms + $(virsh_doms "$h" "" | wc -l))); done
t_http GET /v1/hosts
hosts=$T_BODY
t_http POST /v1/placements "$(vm_body "${T_PFX}dry")"
t_expect_status 200 "POST /v1/placements: 200"
t_match "JSON" "$T_CTYPE" '^application/json'
t_expect_json .policy spread
t_expect_json '.hosts | length' 3 "a verdict for each of the 3 hosts"
t_expect_json '[.hosts[] | select(.fits and (.score | type) == "number" and
	(.weighers | has("free_memory") and has("vms") and has("group")) and
	(has("filter") | not))] | length' 3 "every fitting host has a score and weighers"
t_expect_json '[.hosts[] | select(.chosen)] | length' 1 "exactly one host is chosen"
t_expect_json '(.hosts[] | select(.chosen) | .name) == .host' true ".host is the chosen one"
t_expect_json '.host == ([.hosts[] | select(.fits)] | max_by(.free.memory_mib) | .name)' true \
	"spread: the chosen host has the most free memory"
dry=$T_BODY
for h in $HOSTS; do
	for r in vcpus memory_mib disk_gib; do
		t_eq "dry run: $h free $r = GET /v1/hosts resources.$r.free" \
			"$(jq -r --arg h "$h" --arg r "$r" '.hosts[] | select(.name == $h) | .free[$r]' <<<"$dry")" \
			"$(jq -r --arg h "$h" --arg r "$r" '.hosts[] | select(.name == $h) | .resources[$r].free' <<<"$hosts")"
	done
done
t_http POST /v1/placements "$(vm_body "${T_PFX}dry" '.placement.policy = "pack"')"
t_expect_json .policy pack
t_expect_json '.host == ([.hosts[] | select(.fits)] | min_by(.free.memory_mib) | .name)' true \
	"pack: the chosen host has the least free memory"
t_http POST /v1/placements "$(vm_body "${T_PFX}dry" '.memory_mib = 4096')"
t_expect_status 200 "a dry run nothing can take: still 200"
t_expect_json .host null "nothing fits: host null"
t_match "nothing fits: detail" "$(t_json .detail)" 'no host can take'
t_expect_json '[.hosts[] | select((.fits | not) and .filter == "memory" and (.reason | length) > 0)] | length' 3 \
	"nothing fits: each host has filter memory and a reason"
t_http POST /v1/placements '{"vcpus":1}'
t_expect_problem 400 "a dry run without name: 400"
t_http GET /v1/vms
t_eq "the dry runs created no VM" "$(t_json '.vms | length')" "$nvms"
n=0
for h in $HOSTS; do n=$((n + $(virsh_doms "$h" "" | wc -l))); done
t_eq "the dry runs defined no domain" "$n" "$ndoms"

# ============================================================ delete host
echo "# --- DELETE /v1/hosts"
t_http DELETE /v1/hosts/h1
t_expect_problem 409 "DELETE h1 with VMs: 409"
t_match "409 says how many VMs" "$(t_json .detail)" "host 'h1' still has [0-9]+ VM"
mapfile -t h1vms < <(api_doms h1 "")
delete "${h1vms[@]}"
t_http DELETE /v1/hosts/h1
t_expect_status 200 "DELETE h1 without VMs: 200"
t_http GET /v1/hosts/h1
t_expect_problem 404 "h1 is gone"
t_http GET /v1/hosts
t_expect_json '[.hosts[].name] | join(",")' h2,h3 "GET /v1/hosts lists h2,h3"
t_http POST /v1/placements "$(vm_body "${T_PFX}dry")"
t_expect_json '[.hosts[].name] | join(",")' h2,h3 "placement no longer considers h1"

# ================================================================ the end
t_http GET /v1/vms
mapfile -t rest < <(t_json '.vms[].name')
[ "${#rest[@]}" -gt 0 ] && delete "${rest[@]}"
for h in h2 h3; do
	t_eq "$h: no domain left at the end" "$(virsh_doms "$h" "")" ""
done
t_eq "pool dir empty at the end" "$(images)" ""
hangard_stop
t_summary
