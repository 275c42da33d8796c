#!/usr/bin/env bash
#
# migration.sh - moving VMs between three real libvirt hosts:
#   1. the pre-flight (POST /v1/vms/{vm}/migrate?dry_run=1): every check
#      passes and nothing moves; a host made too small fails `capacity`
#      (and a refused storage mode fails `storage_mode`);
#   2. a live migration with its disk copied (local -> h2): progress with
#      libvirt's job numbers, the domain and its disk on h2 only, the old
#      volume gone, event vm.migrated;
#   3. a live migration over shared storage (local -> h3): the very same
#      file (path and inode) before and after;
#   4. a VM with snapshots (one with memory) over shared storage: libvirt
#      on the destination has them, the API's list is unchanged, the memory
#      snapshot reverts there; a live copy of it is refused (copy_storage);
#   5. a cold migration with its disk copied, then a start there;
#   6. a cancelled live migration (bandwidth 1 MiB/s, 32 MiB of data in the
#      disk): the VM keeps running on the source, the copy is removed;
#   7. a drain of h2 (3 running VMs, one in a strict anti-affinity group
#      with a VM on local): children with parent = the drain, maintenance,
#      undrain;
#   8. a consolidation plan that frees h2 (executed once; 409 the second
#      time) and a rebalance plan (its shape);
#   9. the inventory equals libvirt on every host (domains, states, pool
#      volumes), with no operation left queued or running; also after the
#      delete of a VM that moved twice.
# Every step is checked through virsh on both ends as well as the API.
#
# Starts its own three libvirt hosts (tests/lib/lvhost.sh): the first is
# hangard's `local` (pool $T_TMP/images); h2 is registered with a pool
# directory of its own while its libvirt already has a pool named like
# hangard's ($T_POOL) elsewhere, from "an earlier install" (its disks must
# not go there), then moved by PATCH to $T_TMP/images-h2 (local storage);
# h3 with the same pool directory as local.  Sharing is found (a marker
# file), not declared: local and h2 declare the same `storage` and share
# nothing, h3 declares none and shares local's directory.  Guests are 64
# MiB, 1 vCPU, 1 GiB qcow2 without an OS (kvm or qemu, as the host
# offers).
#
# Usage: BUILD=build tests/integration/migration.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init migr nohost

HOSTS="local h2 h3"
W=wait=120
declare -A URI LVNAME POOLDIR ID POOL
POOLDIR[local]=$T_TMP/images
POOLDIR[h2]=$T_TMP/images-h2
POOLDIR[h3]=$T_TMP/images
T_START=$(t_ns_now)

for h in $HOSTS; do
	LVNAME[$h]=${T_PFX}${h/local/h1}
	if ! t_lvhost_start "${LVNAME[$h]}"; then
		t_fail "start libvirt host $h" "see above"
		t_summary
	fi
	URI[$h]=$LVHOST_URI
done
T_LV_URI=${URI[local]}
HANGARD_CONF_EXTRA="reconcile_interval_s = 5
cpu_ratio = 16"
hangard_start || t_summary

# ------------------------------------------------------------------ helpers

# lv HOST ARG...: virsh against HOST's libvirtd
lv() {
	local h=$1
	shift
	lvhost_virsh "${LVNAME[$h]}" "$@"
}

# elapsed T0: seconds since T0 (ms from t_ns_now), as N.NN
elapsed() {
	local d=$(($(t_ns_now) - $1))
	printf '%d.%02d' $((d / 1000)) $((d % 1000 / 10))
}

# vm_body NAME [JQ-FILTER]: a create body for a 64 MiB, 1 vCPU, 1 GiB VM
vm_body() {
	jq -nc --arg n "$1" "{name: \$n, vcpus: 1, memory_mib: 64, disk_gib: 1} | ${2:-.}"
}

# create NAME [JQ-FILTER]: POST /v1/vms?wait and expect 201, in its final
# state (running with start); remembers its id in ID[NAME]
create() {
	local want=stopped
	t_http POST "/v1/vms?$W" "$(vm_body "$@")"
	[[ ${2:-} == *start* ]] && want=running
	t_expect_status 201 "create $1 ${2:-}: 201"
	t_expect_json .state "$want" "create $1: $want"
	ID[$1]=$(t_json .id)
}

# api VM EXPR: `jq -r EXPR` of GET /v1/vms/VM ("absent" on 404)
api() {
	t_http GET "/v1/vms/$1"
	if [ "$T_STATUS" = 200 ]; then t_json "$2"; else echo absent; fi
}

# doms HOST [running]: the domains on HOST (defined, or running), sorted,
# one a line; "virsh-failed" when libvirt does not answer, so that no check
# of an absence can pass by mistake
doms() {
	local out flag=--all
	[ "${2:-}" = running ] && flag=''
	if out=$(lv "$1" list $flag --name 2>/dev/null); then
		awk 'NF { print $1 }' <<<"$out" | sort
	else
		echo virsh-failed
	fi
}

# virsh_hosts DOM [running]: the hosts whose libvirtd has DOM (defined, or
# running), space-separated, in host order
virsh_hosts() {
	local h out='' d
	for h in $HOSTS; do
		d=$(doms "$h" "${2:-}")
		if [ "$d" = virsh-failed ]; then
			out+="${out:+ }$h?"
		elif grep -qx -- "$1" <<<"$d"; then
			out+="${out:+ }$h"
		fi
	done
	echo "$out"
}

# domstate HOST DOM: the domain's state on HOST, or "absent"
domstate() {
	local s
	if s=$(lv "$1" domstate "$2" 2>/dev/null); then
		echo "${s%%$'\n'*}"
	elif grep -qx -- "$2" <<<"$(doms "$1")"; then
		echo "unreadable"
	elif [ "$(doms "$1")" = virsh-failed ]; then
		echo virsh-failed
	else
		echo absent
	fi
}

# disk HOST DOM: the file behind DOM's disk on HOST (domblklist)
disk() {
	lv "$1" domblklist --details "$2" 2>/dev/null | awk '$2 == "disk" { print $4; exit }'
}

# pool_at HOST DIR: the name of the pool libvirt on HOST has at DIR
pool_at() {
	local p
	for p in $(lv "$1" pool-list --all --name 2>/dev/null); do
		if [ "$(lv "$1" pool-dumpxml "$p" 2>/dev/null |
			sed -n 's:.*<path>\(.*\)</path>.*:\1:p')" = "$2" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# vols HOST: the volumes libvirt lists in HOST's pool (refreshed first:
# another host may have changed a shared directory), sorted, one a line;
# fails when libvirt does not answer
vols() {
	local out
	lv "$1" pool-refresh "${POOL[$1]}" >/dev/null 2>&1 || return 1
	out=$(lv "$1" vol-list "${POOL[$1]}" 2>/dev/null) || return 1
	awk 'NF { print $1 }' <<<"$out" | sort
}

# has_vol HOST FILE: HOST's pool lists volume FILE
has_vol() {
	local v
	v=$(vols "$1") && grep -qx -- "$2" <<<"$v"
}

# lacks_vol HOST FILE: HOST's pool answers and does not list FILE
lacks_vol() {
	local v
	v=$(vols "$1") && ! grep -qx -- "$2" <<<"$v"
}

# is_on VM HOST [STATE]: the API and virsh agree VM is on HOST, only there,
# and (virsh) in STATE ("running" by default)
is_on() {
	local vm=$1 h=$2 want=${3:-running}
	t_eq "$vm: the API says host $h" "$(api "$vm" .host)" "$h"
	t_eq "$vm: virsh finds its domain on $h only" "$(virsh_hosts "$vm")" "$h"
	t_eq "$vm: virsh on $h says $want" "$(domstate "$h" "$vm")" "$want"
}

# last_op VM: the newest operation of VM (GET /v1/operations?vm=)
last_op() {
	t_http GET "/v1/operations?vm=$1&limit=1"
	t_json '.operations[0] | [.kind, .status] | join(" ")'
}

# no_active: no operation is queued or running
no_active() {
	local n=0 s
	for s in queued running; do
		t_http GET "/v1/operations?status=$s&limit=1000"
		n=$((n + $(t_json '.operations | length')))
	done
	[ "$n" = 0 ]
}

# dry VM BODY: POST /v1/vms/VM/migrate?dry_run=1
dry() {
	t_http POST "/v1/vms/$1/migrate?dry_run=1" "$2"
}

# check_of NAME: "pass reason" of check NAME in the dry run in T_BODY
check_of() {
	t_json ".checks[] | select(.name == \"$1\") | \"\\(.pass) \\(.reason)\""
}

# events TYPE: the data of every event of TYPE so far, one JSON a line
events() {
	curl -sS -m 10 "$T_BASE/v1/events?since=0&follow=false&type=$1" |
		sed -n 's/^data: //p'
}

# inventory WHEN: the inventory equals libvirt on every host (see 9.)
inventory() {
	local when=$1 h rows want got files st
	t_http GET /v1/vms
	rows=$T_BODY
	for h in $HOSTS; do
		want=$(jq -r --arg h "$h" '.vms[] | select(.host == $h) | .name' <<<"$rows" | sort | tr '\n' ' ')
		got=$(doms "$h" | grep -- "^$T_PFX\|^virsh-failed" | tr '\n' ' ')
		t_eq "$when: $h's domains (virsh) are exactly the VMs the API puts there" "$got" "$want"
		for v in $(jq -r --arg h "$h" '.vms[] | select(.host == $h) | .name' <<<"$rows"); do
			st=$(domstate "$h" "$v")
			case $st in "shut off") st=stopped ;; esac
			t_eq "$when: $v's state in the API is what virsh on $h says" \
				"$(jq -r --arg v "$v" '.vms[] | select(.name == $v) | .state' <<<"$rows")" "$st"
		done
	done
	# pools: local and h3 share one directory, so each sees the disks of both
	for h in $HOSTS; do
		if [ "$h" = h2 ]; then
			want=$(jq -r '.vms[] | select(.host == "h2") | .id + ".qcow2"' <<<"$rows" | sort | tr '\n' ' ')
		else
			want=$(jq -r '.vms[] | select(.host == "local" or .host == "h3") | .id + ".qcow2"' <<<"$rows" | sort | tr '\n' ' ')
		fi
		if got=$(vols "$h"); then
			got=$(printf '%s\n' "$got" | sed '/^$/d' | tr '\n' ' ')
		else
			got=virsh-failed
		fi
		t_eq "$when: $h's pool (vol-list) holds exactly the disks of the VMs on it${h/h2/}" "$got" "$want"
		files=$(find "${POOLDIR[$h]}" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort | tr '\n' ' ')
		t_eq "$when: ${POOLDIR[$h]#"$T_TMP"/} holds exactly those files" "$files" "$want"
	done
	# claims: what each host counts is what the VMs on it take
	t_http GET /v1/hosts
	for h in $HOSTS; do
		t_eq "$when: $h counts its VMs' claims (vms, vcpus, memory, disk)" \
			"$(jq -r --arg h "$h" '.hosts[] | select(.name == $h) | [.vms, .allocated.vcpus, .allocated.memory_mib, .allocated.disk_gib] | join(",")' <<<"$T_BODY")" \
			"$(jq -r --arg h "$h" '[.vms[] | select(.host == $h)] | [length, (map(.vcpus) | add // 0), (map(.memory_mib) | add // 0), (map(.disk_gib) | add // 0)] | join(",")' <<<"$rows")"
	done
	t_check "$when: no operation queued or running" no_active
	t_eq "$when: no VM has an operation" \
		"$(jq -r '[.vms[] | select(.operation != null) | .name] | join(" ")' <<<"$rows")" ""
}

# ============================================================= the hosts
echo "# --- hosts"
t_http PATCH /v1/hosts/local '{"storage":"shared1"}'
t_expect_status 200 "PATCH local storage shared1: 200"
t_expect_json .storage shared1 "local: storage shared1"
t_expect_json .cpu_ratio 16 "local: cpu_ratio 16 from the config"
# h2's libvirt has a pool named $T_POOL from an earlier install, elsewhere
OLDDIR=$T_TMP/old-h2
mkdir -p "$OLDDIR" "${POOLDIR[h2]}" "$T_TMP/images-h2-first"
lv h2 pool-define-as "$T_POOL" dir --target "$OLDDIR" >/dev/null &&
	lv h2 pool-start "$T_POOL" >/dev/null
t_eq "h2: libvirt already has pool $T_POOL at old-h2" "$(pool_at h2 "$OLDDIR")" "$T_POOL"
t_http POST /v1/hosts "{\"name\":\"h2\",\"uri\":\"${URI[h2]}\",\"pool_path\":\"$T_TMP/images-h2-first\",\"storage\":\"shared1\",\"cpu_ratio\":16}"
t_expect_status 201 "register h2 (a pool directory of its own, storage shared1 declared): 201"
t_expect_json .pool_path "$T_TMP/images-h2-first" "h2: pool_path"
t_match "h2: a pool of its own at images-h2-first, named by the path" \
	"$(pool_at h2 "$T_TMP/images-h2-first")" "^$T_POOL-[0-9a-f]{8}\$"
# an empty host's pool moves
t_http PATCH /v1/hosts/h2 "{\"pool_path\":\"${POOLDIR[h2]}\"}"
t_expect_status 200 "PATCH h2 pool_path (no VM there): 200"
t_expect_json .pool_path "${POOLDIR[h2]}" "h2: the new pool_path"
t_expect_json '.resources.disk_gib.physical > 0' true "h2: the new pool's capacity"
POOL[h2]=$(pool_at h2 "${POOLDIR[h2]}")
t_match "h2: a pool of its own at images-h2" "${POOL[h2]}" "^$T_POOL-[0-9a-f]{8}\$"
t_eq "h2: the old $T_POOL is still at old-h2, left alone" "$(pool_at h2 "$OLDDIR")" "$T_POOL"
t_http PATCH /v1/hosts/h2 '{"pool_path":"relative/dir"}'
t_expect_problem 400 "PATCH h2 pool_path relative: 400"
t_http POST /v1/hosts "{\"name\":\"h3\",\"uri\":\"${URI[h3]}\",\"pool_path\":\"${POOLDIR[h3]}/\",\"cpu_ratio\":16}"
t_expect_status 201 "register h3 (local's pool directory, no storage declared): 201"
t_expect_json .storage null "h3: no storage declared"
t_http GET /v1/hosts
t_expect_json '[.hosts[] | "\(.name):\(.state):\(.cpu_ratio)"] | sort | join(",")' \
	"h2:ready:16,h3:ready:16,local:ready:16" "three hosts ready, cpu_ratio 16"
for h in local h3; do
	POOL[$h]=$(pool_at "$h" "${POOLDIR[$h]}")
	t_eq "$h: libvirt has pool $T_POOL (the configured name) at ${POOLDIR[$h]}" "${POOL[$h]}" "$T_POOL"
done

# ================================================================ the VMs
echo "# --- VMs on local"
A=${T_PFX}a B=${T_PFX}b C=${T_PFX}c D=${T_PFX}d E=${T_PFX}e
for v in "$A" "$B" "$C"; do create "$v" '.host = "local" | .start = true'; done
create "$D" '.host = "local"'
create "$E" '.host = "local"'
for v in "$A" "$B" "$C"; do is_on "$v" local; done
is_on "$D" local "shut off"

# ========================================================== 1. pre-flight
echo "# --- 1. pre-flight"
dry "$A" '{"host":"h2"}'
t_expect_status 200 "dry run A -> h2: 200"
t_expect_json .ok true "dry run A -> h2: ok"
t_expect_json '[.vm, .from, .host, .mode, .copy_storage] | join(" ")' "$A local h2 live true" \
	"dry run A -> h2: vm, from, host, mode live, copy_storage true"
t_expect_json '[.checks[].name] | sort | join(",")' \
	"capacity,cpu,emulator,machine,network,state,storage,storage_mode" \
	"dry run A -> h2: checks state, capacity, storage_mode, cpu, machine, emulator, network, storage"
t_expect_json '[.checks[] | select(.pass != true or (.reason | type) != "string" or (.reason | length) == 0) | .name] | join(",")' "" \
	"dry run A -> h2: every check passes with a reason"
dry "$B" '{"host":"h3"}'
t_expect_json '[.ok, .copy_storage] | join(" ")' "true false" "dry run B -> h3: ok, the disk stays (shared)"
t_match "dry run B -> h3: storage_mode says the sharing was found" "$(check_of storage_mode)" \
	"^true hosts '(local|h3)' and '(local|h3)' share storage: both see '${POOLDIR[local]}'"
dry "$A" '{"host":"h2"}'
t_match "dry run A -> h2: storage_mode says local and h2 share nothing (whatever they declare)" \
	"$(check_of storage_mode)" "^true hosts '(local|h2)' and '(local|h2)' do not share storage"
dry "$A" '{"host":"h2","copy_storage":false}'
t_expect_json .ok false "dry run A -> h2 with copy_storage false: not ok"
t_match "... storage_mode fails, naming copy_storage" "$(check_of storage_mode)" '^false .*copy_storage'
echo "# failing checks: $(t_json '[.checks[] | select(.pass | not) | .name + ": " + .reason] | join("; ")')"
dry "$A" '{}'
t_expect_json .ok true "dry run A without a host: ok"
t_match "dry run A without a host: the scheduler picks another host" "$(t_json .host)" '^h[23]$'
dry "${T_PFX}nosuch" '{"host":"h2"}'
t_expect_problem 404 "dry run of an unknown VM: 404"
# h2 too small: ram_ratio 0.001 leaves it a few MiB
t_http PATCH /v1/hosts/h2 '{"ram_ratio":0.001}'
t_expect_status 200 "PATCH h2 ram_ratio 0.001: 200"
t_expect_json '.resources.memory_mib.capacity < 64' true \
	"h2's memory capacity is now below 64 MiB ($(t_json .resources.memory_mib.capacity))"
dry "$A" '{"host":"h2"}'
t_expect_status 200 "dry run A -> small h2: 200"
t_expect_json .ok false "dry run A -> small h2: not ok"
t_match "dry run A -> small h2: capacity fails, saying memory" "$(check_of capacity)" '^false .*(memory|MiB)'
echo "# capacity check: $(check_of capacity)"
t_http POST "/v1/vms/$A/migrate" '{"host":"h2"}'
t_expect_problem 409 "migrate A -> small h2 for real: 409"
t_http PATCH /v1/hosts/h2 '{"ram_ratio":1.0}'
t_expect_json .ram_ratio 1 "h2: ram_ratio back to 1"
dry "$A" '{"host":"h2"}'
t_expect_json .ok true "dry run A -> h2 passes again"
is_on "$A" local
t_http GET "/v1/operations?limit=1000"
t_expect_json '[.operations[] | select(.kind == "migrate")] | length' 0 "the dry runs made no operation"

# ===================================================== 2. live, copied disk
echo "# --- 2. live migration, disk copied (A: local -> h2)"
A_VOL=${ID[$A]}.qcow2
t_eq "A's disk on local is in local's pool" "$(disk local "$A")" "${POOLDIR[local]}/$A_VOL"
t0=$(t_ns_now)
t_http POST "/v1/vms/$A/migrate?$W" '{"host":"h2"}'
echo "# A: live migration with its disk took $(elapsed "$t0") s"
t_expect_status 200 "migrate A -> h2 ?wait: 200"
t_expect_json '[.kind, .status] | join(" ")' "migrate succeeded" "migrate A: succeeded"
t_expect_json '[.progress.data_total, .progress.data_processed, .progress.downtime_ms] | map(type) | join(",")' \
	"number,number,number" "migrate A: progress has data_total, data_processed, downtime_ms"
t_expect_json '.progress.data_total > 0 and .progress.data_processed > 0 and .progress.downtime_ms >= 0' true \
	"migrate A: data_total, data_processed > 0, downtime_ms >= 0"
echo "# A: progress $(t_json '.progress | tojson')"
A_OP=$(t_json .id)
is_on "$A" h2
t_expect_json '.params | [.from, .copy_storage] | join(" ")' "local true" "migrate A: params say from local, copied"
t_eq "A: its disk on h2 is in h2's pool" "$(disk h2 "$A")" "${POOLDIR[h2]}/$A_VOL"
t_check "A: its file is in images-h2" test -e "${POOLDIR[h2]}/$A_VOL"
t_check_not "A: nothing went to the old pool's old-h2" test -e "$OLDDIR/$A_VOL"
t_http PATCH /v1/hosts/h2 "{\"pool_path\":\"$T_TMP/images-h2-first\"}"
t_expect_problem 409 "PATCH h2 pool_path with A on it: 409"
t_expect_json .field pool_path "... naming pool_path"
t_match "... saying it holds a VM" "$(t_json .detail)" 'holds 1 VM'
t_http GET /v1/hosts/h2
t_expect_json .pool_path "${POOLDIR[h2]}" "h2: pool_path unchanged"
# a VM made before pools were per directory: its disk is in h2's old
# $T_POOL (moved there by hand, its domain pointed at it); a delete finds
# it there and removes it
L=${T_PFX}legacy
create "$L" '.host = "h2"'
L_VOL=${ID[$L]}.qcow2
mv "${POOLDIR[h2]}/$L_VOL" "$OLDDIR/$L_VOL"
lv h2 dumpxml "$L" | sed "s:${POOLDIR[h2]}/$L_VOL:$OLDDIR/$L_VOL:" >"$T_TMP/legacy.xml"
lv h2 define "$T_TMP/legacy.xml" >/dev/null
lv h2 pool-refresh "${POOL[h2]}" >/dev/null
lv h2 pool-refresh "$T_POOL" >/dev/null
t_eq "legacy: its domain's disk is in old-h2" "$(disk h2 "$L")" "$OLDDIR/$L_VOL"
t_http DELETE "/v1/vms/$L?$W"
t_expect_json .status succeeded "delete legacy: succeeded"
t_check_not "legacy: its disk in old-h2 is gone" test -e "$OLDDIR/$L_VOL"
t_eq "legacy: its domain is gone" "$(domstate h2 "$L")" absent
t_check "A: h2's pool lists its volume" has_vol h2 "$A_VOL"
t_check "A: local's pool no longer lists its volume" lacks_vol local "$A_VOL"
t_check_not "A: the old file is gone" test -e "${POOLDIR[local]}/$A_VOL"
t_eq "A: the API shows it running" "$(api "$A" .state)" running
t_eq "A: its newest operation (GET /v1/operations?vm=) is the migrate" "$(last_op "$A")" "migrate succeeded"
ev=$(events vm.migrated | jq -c --arg v "$A" 'select(.vm == $v)')
t_eq "event vm.migrated for A: host h2, data.from local, operation" \
	"$(jq -r '[.host, .data.from, .operation] | join(" ")' <<<"$ev" 2>/dev/null)" "h2 local $A_OP"
t_http GET /v1/hosts/local
t_expect_json .vms 4 "local counts 4 VMs after A left"
t_http GET /v1/hosts/h2
t_expect_json '[.vms, .allocated.memory_mib] | join(",")' "1,64" "h2 counts A (1 VM, 64 MiB)"

# ==================================================== 3. live, shared disk
echo "# --- 3. live migration over shared storage (B: local -> h3)"
B_PATH=$(disk local "$B")
B_INODE=$(stat -c %i "$B_PATH" 2>/dev/null)
t_eq "B's disk on local" "$B_PATH" "${POOLDIR[local]}/${ID[$B]}.qcow2"
t0=$(t_ns_now)
t_http POST "/v1/vms/$B/migrate?$W" '{"host":"h3"}'
echo "# B: live migration over shared storage took $(elapsed "$t0") s"
t_expect_json '[.status, .params.copy_storage] | join(" ")' "succeeded false" "migrate B -> h3: succeeded, not copied"
is_on "$B" h3
t_eq "B: the disk path on h3 is the one it had on local" "$(disk h3 "$B")" "$B_PATH"
t_eq "B: the same file (inode $B_INODE), no copy" "$(stat -c %i "$B_PATH" 2>/dev/null)" "$B_INODE"
t_eq "B: one file for it in the shared directory" \
	"$(find "$T_TMP" -name "${ID[$B]}*" ! -name '*-serial.log' | wc -l)" 1
t_check "B: h3's pool lists its volume" has_vol h3 "${ID[$B]}.qcow2"

# ================================================ 4. a VM with snapshots
echo "# --- 4. a VM with snapshots (C: local -> h3, shared)"
t_http POST "/v1/vms/$C/snapshots?wait=60" '{"name":"c1"}'
t_expect_status 201 "snapshot c1 of C"
t_http POST "/v1/vms/$C/snapshots?wait=60" '{"name":"c2","memory":true}'
t_expect_status 201 "snapshot c2 (memory) of C"
t_http GET "/v1/vms/$C/snapshots"
C_SNAPS=$(jq -c '[.snapshots[] | {name, parent, memory, vm_state, status}]' <<<"$T_BODY")
t_eq "libvirt on local has c1 and c2" "$(lv local snapshot-list --name "$C" | sort | tr -d ' ' | tr '\n' ' ')" "c1 c2 "
t_http POST "/v1/vms/$C/migrate?$W" '{"host":"h2"}'
t_expect_problem 409 "a live copy of C (snapshots) to h2: 409"
t_expect_json .field copy_storage "the 409 names copy_storage"
dry "$C" '{"host":"h2"}'
t_match "the dry run of C -> h2 says it too (storage_mode, copy_storage)" "$(check_of storage_mode)" '^false .*snapshot'
echo "# failing checks: $(t_json '[.checks[] | select(.pass | not) | .name + ": " + .reason] | join("; ")')"
t0=$(t_ns_now)
t_http POST "/v1/vms/$C/migrate?$W" '{"host":"h3"}'
echo "# C: live migration with 2 snapshots took $(elapsed "$t0") s"
t_expect_json .status succeeded "migrate C -> h3: succeeded"
is_on "$C" h3
t_eq "libvirt on h3 has c1 and c2" "$(lv h3 snapshot-list --name "$C" 2>/dev/null | sort | tr -d ' ' | tr '\n' ' ')" "c1 c2 "
t_eq "libvirt on h3: c2's parent is c1" "$(lv h3 snapshot-parent "$C" c2 2>/dev/null)" c1
t_eq "libvirt on local has no domain C (nor its snapshots)" "$(domstate local "$C")" absent
t_http GET "/v1/vms/$C/snapshots"
t_eq "GET /v1/vms/C/snapshots unchanged" "$(jq -c '[.snapshots[] | {name, parent, memory, vm_state, status}]' <<<"$T_BODY")" "$C_SNAPS"
t_http POST "/v1/vms/$C/snapshots/c2/revert?wait=60" ''
t_expect_json '[.kind, .status] | join(" ")' "snapshot_revert succeeded" "revert C to c2 on h3: succeeded"
t_eq "C: running on h3 after the revert (virsh)" "$(domstate h3 "$C")" running
t_eq "C: the API says running on h3" "$(api "$C" '[.state, .host] | join(" ")')" "running h3"
t_http POST "/v1/vms/$C/migrate?$W" '{"host":"h2"}'
t_expect_problem 409 "still: a live copy of C to h2: 409"
t_expect_json .field copy_storage "... naming copy_storage"
t_eq "C stays on h3" "$(virsh_hosts "$C")" h3
t_check "... and h2's pool has no copy of its disk" lacks_vol h2 "${ID[$C]}.qcow2"
t_eq "the refused migrations made no operation: C's newest is the revert" "$(last_op "$C")" "snapshot_revert succeeded"

# =========================================================== 5. cold
echo "# --- 5. cold migration, disk copied (D: local -> h2)"
D_VOL=${ID[$D]}.qcow2
t0=$(t_ns_now)
t_http POST "/v1/vms/$D/migrate?$W" '{"host":"h2"}'
echo "# D: cold migration took $(elapsed "$t0") s"
t_expect_json '[.status, .params.mode, .params.copy_storage] | join(" ")' "succeeded cold true" \
	"migrate stopped D -> h2: succeeded, cold, copied"
is_on "$D" h2 "shut off"
t_eq "D: the API says stopped" "$(api "$D" .state)" stopped
t_eq "D: its disk on h2 is in h2's pool" "$(disk h2 "$D")" "${POOLDIR[h2]}/$D_VOL"
t_check "D: h2's pool lists its volume" has_vol h2 "$D_VOL"
t_check "D: local's pool no longer lists it" lacks_vol local "$D_VOL"
t_check_not "D: the old file is gone" test -e "${POOLDIR[local]}/$D_VOL"
t_http POST "/v1/vms/$D/start?wait=60" ''
t_expect_json .status succeeded "start D on h2: succeeded"
is_on "$D" h2

# ========================================================== 6. cancel
echo "# --- 6. a cancelled migration (E: local -> h2 at 1 MiB/s)"
E_VOL=${ID[$E]}.qcow2
t_check "write 32 MiB into E's disk (qemu-io, while stopped)" \
	qemu-io -f qcow2 -c "write -P 0x5a 0 32M" "${POOLDIR[local]}/$E_VOL"
t_http POST "/v1/vms/$E/start?wait=60" ''
t_expect_json .status succeeded "start E"
t_http POST "/v1/vms/$E/migrate" '{"host":"h2","bandwidth_mib_s":1}'
t_expect_status 202 "migrate E -> h2 at 1 MiB/s: 202"
E_OP=$(t_json .id)
t_eq "202 Location names the operation" "$T_LOCATION" "/v1/operations/$E_OP"
moving() {
	t_http GET "/v1/operations/$E_OP"
	[ "$(t_json '.status == "running" and (.progress.data_processed // 0) > 0')" = true ]
}
t_check "E's migration runs and has moved data" t_wait_for 30 moving
echo "# E: progress before the cancel $(t_json '.progress | tojson')"
t_eq "E: the API says migrating meanwhile" "$(api "$E" .state)" migrating
t_eq "E: the destination's volume exists meanwhile" "$(has_vol h2 "$E_VOL" && echo yes)" yes
t0=$(t_ns_now)
t_http DELETE "/v1/operations/$E_OP?wait=60"
echo "# E: the cancel took $(elapsed "$t0") s"
t_expect_status 200 "DELETE the migration ?wait=60: 200"
t_expect_json .status cancelled "E's migration: cancelled"
is_on "$E" local
t_eq "E: the API says running on local" "$(api "$E" '[.state, .host, .operation] | join(" ")')" "running local "
t_check "E: h2's pool has no copy of its disk" lacks_vol h2 "$E_VOL"
t_check_not "E: no file of it in h2's directory" test -e "${POOLDIR[h2]}/$E_VOL"
t_eq "E: its disk on local is where it was" "$(disk local "$E")" "${POOLDIR[local]}/$E_VOL"
t_check "E: its data is intact (qemu-io read while it runs, shared)" \
	bash -c "qemu-io -r -U -f qcow2 -c 'read -P 0x5a 0 32M' '${POOLDIR[local]}/$E_VOL' | grep -q 'read 33554432'"
t_eq "E: its newest operation is the cancelled migrate" "$(last_op "$E")" "migrate cancelled"
t_eq "operation.progress events carried its job statistics" \
	"$(events operation.progress | jq -r --arg o "$E_OP" 'select(.operation == $o and (.data.progress.data_processed // 0) > 0) | .data.kind' | sort -u)" migrate
t_eq "event operation.cancelled for it (data.kind migrate)" \
	"$(events operation.cancelled | jq -r --arg o "$E_OP" 'select(.operation == $o) | .data.kind')" migrate

inventory "after the single moves"

# ============================================================ 7. drain
echo "# --- 7. drain h2"
t_http POST /v1/groups '{"name":"g","policy":"anti-affinity","strict":true}'
t_expect_status 201 "create strict anti-affinity group g"
G0=${T_PFX}g0 G1=${T_PFX}g1
create "$G0" '.host = "local" | .group = "g" | .start = true'
create "$G1" '.host = "h2" | .group = "g" | .start = true'
t_eq "h2 runs A, D and G1 (virsh)" "$(doms h2 running | tr '\n' ' ')" "$(printf '%s\n' "$A" "$D" "$G1" | sort | tr '\n' ' ')"
t0=$(t_ns_now)
t_http POST "/v1/hosts/h2/drain?wait=300" '{}'
echo "# drain of h2 (3 VMs) took $(elapsed "$t0") s"
t_expect_status 200 "drain h2 ?wait=300: 200"
t_expect_json '[.kind, .status, .host] | join(" ")' "drain succeeded h2" "the drain succeeded"
DR=$T_BODY
DR_ID=$(t_json .id)
echo "# drain progress: $(t_json '.progress | tojson')"
t_expect_json '[.progress.total, .progress.moved, .progress.failed] | join(",")' "3,3,0" "drain: 3 moves, 3 moved, 0 failed"
t_expect_json '[.progress.moves[] | select(.status == "succeeded") | .vm] | sort | join(" ")' \
	"$(printf '%s\n' "$A" "$D" "$G1" | sort | tr '\n' ' ' | sed 's/ $//')" "drain: the 3 moves (A, D, G1) succeeded"
t_http GET /v1/hosts/h2
t_expect_json '[.state, .maintenance, .vms] | join(" ")' "maintenance true 0" "h2: maintenance, no VMs"
t_eq "virsh on h2: no running domain" "$(doms h2 running)" ""
t_eq "virsh on h2: no domain at all" "$(doms h2)" ""
for v in "$A" "$D" "$G1"; do
	to=$(jq -r --arg v "$v" '.progress.moves[] | select(.vm == $v) | .to' <<<"$DR")
	t_match "drain: $v went to local or h3 (the move says '$to')" "$to" '^(local|h3)$'
	is_on "$v" "$to"
	t_eq "drain: $v's disk is in $to's pool" "$(disk "$to" "$v")" "${POOLDIR[$to]:-?}/${ID[$v]}.qcow2"
done
t_eq "drain: G1 went to h3, away from G0 (strict anti-affinity)" "$(virsh_hosts "$G1" running)" h3
t_eq "G0 stays on local" "$(virsh_hosts "$G0" running)" local
t_http GET "/v1/operations?limit=1000"
t_expect_json "[.operations[] | select(.parent == \"$DR_ID\")] | length" 3 "3 operations have parent = the drain"
t_expect_json "[.operations[] | select(.parent == \"$DR_ID\") | select(.kind == \"migrate\" and .status == \"succeeded\") | .vm] | sort | join(\" \")" \
	"$(printf '%s\n' "$A" "$D" "$G1" | sort | tr '\n' ' ' | sed 's/ $//')" "the children are the succeeded migrations of A, D, G1"
t_eq "the drain's moves name its children" \
	"$(jq -r '[.progress.moves[].op] | sort | join(" ")' <<<"$DR")" \
	"$(t_json "[.operations[] | select(.parent == \"$DR_ID\") | .id] | sort | join(\" \")")"
t_http POST "/v1/vms?$W" "$(vm_body "${T_PFX}x" '.host = "h2"')"
t_expect_problem 409 "create on h2 in maintenance: 409"
t_eq "... and nothing on h2" "$(doms h2)" ""
t_http POST /v1/hosts/h2/undrain ''
t_expect_status 200 "undrain h2: 200"
t_expect_json '[.state, .maintenance] | join(" ")' "ready false" "h2: ready again"

# ============================================================ 8. plans
echo "# --- 8. consolidation and rebalance plans"
P=${T_PFX}p
create "$P" '.host = "h2" | .start = true'
is_on "$P" h2
t_http POST /v1/plans/consolidation '{}'
t_expect_status 201 "POST /v1/plans/consolidation: 201"
PLAN=$T_BODY
PLAN_ID=$(t_json .id)
echo "# consolidation plan: $(t_json '{moves, freed_hosts, u: .utilisation | map_values(.hosts_in_use)} | tojson')"
t_eq "Location names the plan" "$T_LOCATION" "/v1/plans/$PLAN_ID"
t_expect_json '[.kind, .operation] | join(" ")' "consolidation " "the plan: kind consolidation, no operation yet"
t_expect_json '.freed_hosts | join(",")' h2 "the plan frees h2 (G0 and G1 may not share a host)"
t_expect_json '[.moves[] | .vm + ":" + .from + ":" + .mode] | join(",")' "$P:h2:live" "the plan moves P off h2, live"
P_TO=$(t_json '.moves[0].to')
t_match "the plan sends P to a host in use" "$P_TO" '^(local|h3)$'
t_expect_json ".moves[0].vm_id" "${ID[$P]}" "the move names P's id"
t_expect_json '.utilisation.after.hosts_in_use < .utilisation.before.hosts_in_use' true "hosts_in_use decreases"
t_expect_json '[.utilisation.before.hosts_in_use, .utilisation.after.hosts_in_use] | join(",")' 3,2 "hosts in use 3 -> 2"
t_expect_json '[.utilisation[] | .vcpus, .memory, .disk | has("mean_pct") and has("max_pct") and has("min_pct") and has("stddev_pct")] | all' true \
	"utilisation before/after: vcpus, memory, disk with mean/max/min/stddev"
is_on "$P" h2
t_http GET "/v1/plans/$PLAN_ID"
t_expect_status 200 "GET the plan: 200"
t_eq "GET shows the same moves" "$(jq -c .moves <<<"$T_BODY")" "$(jq -c .moves <<<"$PLAN")"
t0=$(t_ns_now)
t_http POST "/v1/plans/$PLAN_ID/execute?wait=300" '{}'
echo "# executing the plan took $(elapsed "$t0") s"
t_expect_status 200 "execute the plan ?wait=300: 200"
t_expect_json '[.kind, .status] | join(" ")' "plan_execute succeeded" "the plan's execution succeeded"
PX_ID=$(t_json .id)
t_expect_json '[.progress.moves[] | .vm + ":" + .to + ":" + .status] | join(",")' "$P:$P_TO:succeeded" \
	"its progress: P moved to $P_TO"
is_on "$P" "$P_TO"
t_eq "the freed h2 has no domain (virsh)" "$(doms h2)" ""
t_eq "h2's pool is empty (vol-list)" "$(vols h2 || echo virsh-failed)" ""
t_http GET "/v1/operations?limit=1000"
t_expect_json "[.operations[] | select(.parent == \"$PX_ID\") | .kind + \" \" + .status + \" \" + .vm] | join(\",\")" \
	"migrate succeeded $P" "the plan's child: P's migration"
t_http GET "/v1/plans/$PLAN_ID"
t_expect_json .operation "$PX_ID" "the plan names its operation"
t_http POST "/v1/plans/$PLAN_ID/execute?wait=60" '{}'
t_expect_problem 409 "execute the plan again: 409"
t_eq "... and P stays on $P_TO" "$(virsh_hosts "$P")" "$P_TO"

where_all() {
	local v
	for v in "$A" "$B" "$C" "$D" "$E" "$G0" "$G1" "$P"; do
		printf '%s:%s ' "$v" "$(virsh_hosts "$v")"
	done
}
before=$(where_all)
t_http POST /v1/plans/rebalance '{}'
t_expect_status 201 "POST /v1/plans/rebalance: 201"
echo "# rebalance plan: $(t_json '{moves, freed_hosts, m: .utilisation | map_values(.memory)} | tojson')"
RB_ID=$(t_json .id)
t_eq "Location names it" "$T_LOCATION" "/v1/plans/$RB_ID"
t_expect_json '[.kind, (.moves | type), (.freed_hosts | type), .operation] | join(" ")' "rebalance array array " \
	"rebalance plan: kind, moves, freed_hosts, no operation"
t_expect_json '[.moves[] | (has("vm") and has("vm_id") and has("from") and has("to") and
	(.mode == "live" or .mode == "cold") and .from != .to)] | all' true "each move has vm, vm_id, from, to, mode"
t_expect_json '(.moves | length) > 0' true "rebalance moves something off the loaded hosts (h2 is empty)"
t_expect_json '[.moves[].to] | unique | join(",")' h2 "... onto the empty h2"
t_expect_json '.utilisation.after.memory.max_pct - .utilisation.after.memory.min_pct <=
	.utilisation.before.memory.max_pct - .utilisation.before.memory.min_pct' true "the memory spread does not widen"
t_expect_json '[.utilisation.before, .utilisation.after | has("hosts_in_use") and has("vcpus") and has("memory") and has("disk")] | all' true \
	"utilisation before and after"
t_http GET "/v1/plans/$RB_ID"
t_expect_json .kind rebalance "GET the rebalance plan"
t_eq "making plans moved nothing (virsh)" "$(where_all)" "$before"

# ================================================ 8b. a VM of three disks
echo "# --- 8b. three disks, each with its own data: live to h2, cold back"
M=${T_PFX}three
create "$M" '. + {host: "local", disks: [{size_gib: 1}, {size_gib: 1, bus: "scsi"}]}'
MFILES="${ID[$M]}.qcow2 ${ID[$M]}-vdb.qcow2 ${ID[$M]}-sda.qcow2"
# marks DIR OP: write (or read back, -r) a pattern of its own into each
marks() {
	local dir=$1 op=$2 i=0 f ro=''
	[ "$op" = read ] && ro='-r -U'
	for f in $MFILES; do
		i=$((i + 1))
		# a pattern that does not match makes qemu-io exit 1
		# shellcheck disable=SC2086
		qemu-io $ro -f qcow2 -c "$op -P 0x5$i 4M 1M" "$dir/$f" >/dev/null || return 1
	done
}
t_check "write a mark into each of $M's three disks" marks "${POOLDIR[local]}" write
t_http POST "/v1/vms/$M/start?$W"
t_expect_json .status succeeded "start $M"
t_http POST "/v1/vms/$M/migrate?$W" '{"host":"h2"}'
t_expect_json '[.status, .params.mode, .params.copy_storage] | join(" ")' "succeeded live true" \
	"migrate running $M (three disks) -> h2: live, copied"
is_on "$M" h2
t_eq "$M: all three disks are in h2's pool (domblklist)" \
	"$(lv h2 domblklist "$M" | awk '{print $2}' | sort | tr '\n' ' ')" \
	"$(for f in $MFILES; do echo "${POOLDIR[h2]}/$f"; done | sort | tr '\n' ' ')"
t_check_not "$M: no file of it is left in local's pool" bash -c \
	"ls '${POOLDIR[local]}' | grep -q '${ID[$M]}'"
t_http POST "/v1/vms/$M/stop?$W" '{"force":true}'
t_expect_json .status succeeded "stop $M on h2"
t_check "$M: each disk on h2 holds its own mark" marks "${POOLDIR[h2]}" read
t_http POST "/v1/vms/$M/migrate?$W" '{"host":"local"}'
t_expect_json '[.status, .params.mode] | join(" ")' "succeeded cold" "migrate stopped $M back to local: cold"
is_on "$M" local "shut off"
t_check "$M: back on local, each disk holds its own mark" marks "${POOLDIR[local]}" read
t_check_not "$M: no file of it is left in h2's pool" bash -c \
	"ls '${POOLDIR[h2]}' | grep -q '${ID[$M]}'"
t_http DELETE "/v1/vms/$M?$W"
t_expect_json .status succeeded "delete $M"
t_check_not "$M: no disk of it anywhere" bash -c \
	"find '$T_TMP' -name '${ID[$M]}*' ! -name '*-serial.log' | grep -q ."

# ==================================== 8c. a linked clone of an image, live
echo "# --- 8c. a linked clone moves live, over the destination's own copy of its image"
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh
if TINY=$(guest_image tiny); then
	code=$(curl -sS -m 300 -o /dev/null -w '%{http_code}' -X POST \
		-H 'Content-Type: application/octet-stream' -T "$TINY" \
		"$T_BASE/v1/images?name=tiny&format=qcow2&wait=300")
	t_eq "import the tiny test guest as image tiny: 200" "$code" 200
	SHA=$(curl -sS -m 10 "$T_BASE/v1/images/tiny" | jq -r .sha256)
	BASE=base-$SHA.qcow2
	L=${T_PFX}linked
	# domain type qemu: this machine's nested KVM cannot boot it
	create "$L" '. + {host: "local", image: "tiny", memory_mib: 128,
		placement: {domain_type: "qemu"}}'
	t_check "$L: local holds the image's copy" test -e "${POOLDIR[local]}/$BASE"
	# 16 MiB past the image's end of its 1 GiB disk: a copy at 1 MiB/s
	# takes long enough to look at the destination meanwhile
	t_check "write 16 MiB into $L's overlay (qemu-io, while stopped)" \
		qemu-io -f qcow2 -c "write -P 0x5a 512M 16M" "${POOLDIR[local]}/${ID[$L]}.qcow2"
	t_http POST "/v1/vms/$L/start?wait=60" ''
	t_expect_json .status succeeded "start $L"
	# a prune of h2 while L moves there: its disk rows still say local,
	# yet h2's copy of the image is what its new overlay is made over
	t_http POST "/v1/vms/$L/migrate" '{"host":"h2","bandwidth_mib_s":1}'
	t_expect_status 202 "migrate $L -> h2 at 1 MiB/s: 202"
	L_OP=$(t_json .id)
	l_moving() {
		t_http GET "/v1/operations/$L_OP"
		[ "$(t_json '.status == "running" and (.progress.data_processed // 0) > 0')" = true ]
	}
	t_check "$L's migration runs and has moved data" t_wait_for 60 l_moving
	t_check "$L: h2 got its own copy of the image meanwhile" test -e "${POOLDIR[h2]}/$BASE"
	t_http POST "/v1/images/prune?wait=30" '{"host":"h2"}'
	t_expect_json .status succeeded "prune h2 while $L moves there: succeeded"
	t_expect_json '.progress.hosts[0].kept[0].operation' "$L_OP" \
		"it keeps h2's copy for the migration under way"
	t_expect_json .progress.removed 0 "and removes nothing"
	t_check "$L: h2's copy of the image is still there" test -e "${POOLDIR[h2]}/$BASE"
	t_http GET "/v1/operations/$L_OP"
	t_expect_json .status running "$L's migration was still running through the prune"
	t_http DELETE "/v1/operations/$L_OP?wait=60"
	t_expect_json .status cancelled "cancel $L's migration"
	is_on "$L" local
	t_check_not "$L: the cancelled migration took h2's copy along" \
		test -e "${POOLDIR[h2]}/$BASE"
	t_http POST "/v1/vms/$L/migrate?$W" '{"host":"h2"}'
	t_expect_json '[.status, .params.mode, .params.copy_storage] | join(" ")' \
		"succeeded live true" "migrate running linked clone $L -> h2: live, copied"
	is_on "$L" h2
	t_check "$L: h2 got its own copy of the image" test -e "${POOLDIR[h2]}/$BASE"
	t_eq "$L: its disk on h2 is an overlay on h2's copy (qemu-img)" \
		"$(qemu-img info -U --output=json "${POOLDIR[h2]}/${ID[$L]}.qcow2" | jq -r '."backing-filename"')" \
		"${POOLDIR[h2]}/$BASE"
	t_check_not "$L: local's copy went with the last disk that used it" \
		test -e "${POOLDIR[local]}/$BASE"
	t_http POST "/v1/vms/$L/stop?$W" '{"force":true}'
	t_expect_json .status succeeded "stop $L"
	t_http POST "/v1/vms/$L/migrate?$W" '{"host":"local"}'
	t_expect_problem 409 "a cold copy of a linked clone: 409"
	t_http DELETE "/v1/vms/$L?$W"
	t_expect_json .status succeeded "delete $L"
	t_check_not "$L: h2's copy went with it" test -e "${POOLDIR[h2]}/$BASE"
	t_http DELETE /v1/images/tiny
	t_expect_status 200 "delete image tiny"
else
	t_fail "build the tiny test guest" "see above"
fi

# ======================================================= 9. the inventory
echo "# --- 9. the inventory against libvirt"
inventory "at the end"
A_HOST=$(api "$A" .host)
t_http DELETE "/v1/vms/$A?wait=60"
t_expect_json .status succeeded "delete A (moved twice) on $A_HOST"
t_eq "A: no domain anywhere" "$(virsh_hosts "$A")" ""
t_check_not "A: no volume anywhere" bash -c \
	"find '$T_TMP' -name '$A_VOL' | grep -q ."
inventory "after deleting A"
hangard_stop
echo "# migration.sh took $(elapsed "$T_START") s"
t_summary
