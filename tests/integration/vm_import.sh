#!/usr/bin/env bash
#
# vm_import.sh - POST /v1/vms/import, with the tiny busybox guest, across
# two hangar instances (each its own database, backup_dir and libvirt
# host in a network namespace of its own; one after the other):
#   1. hangar A backs up a running VM (a data disk with a marker the
#      guest wrote, a NIC on an isolated network, a NoCloud seed) and
#      exports the archive; hangar B (which has no image at all) imports
#      it: the VM boots there, reads the marker off its data disk, keeps
#      its MAC and address (free on B), its disks stand alone;
#   2. in A, {"backup": id} while the source still runs: its MAC and
#      address are taken, so the new VM gets new ones and the reply says
#      so; the marker is on its data disk; its DHCP host is the new pair;
#   3. hostile archives refused in B with a 4xx naming what was wrong
#      and nothing left (no VM, volume, staged file, DHCP host): a bad
#      checksum, a truncated tar, members named ../../etc/x and /etc/x,
#      an extra member, hostile disk names in the manifest, a spec with
#      a network B does not have or a bad bus, an oversized manifest, a
#      qcow2 with a backing file; a wrong content type (415),
#      no name (400), a taken name (409), an unknown backup (404);
#   4. the CLI: hangar vm import FILE --name N (streams the file);
#   5. hangard killed while an import's operation is inside libvirt: once
#      started again, the import is failed and nothing of it is left; a
#      stray staged archive is removed at start.
# Usage: BUILD=build tests/integration/vm_import.sh
# shellcheck disable=SC2317 # functions run through t_wait_for
# timeout: 900
# lane: guest
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init vmimport nohost
LVA=${T_PFX}a LVB=${T_PFX}b
if ! LVHOST_NETNS=1 t_lvhost_start "$LVA" || ! LVHOST_NETNS=1 t_lvhost_start "$LVB"; then
	t_fail "start two libvirt hosts in network namespaces of their own" "see above"
	t_summary
fi
TOP=$T_TMP
W=wait=300
VM=${T_PFX}s

# hosts LV: the static DHCP hosts of network lan on lvhost LV, "mac ip"
hosts() {
	lvhost_virsh "$1" net-dumpxml hangar-lan |
		sed -nE "s/.*<host mac='([^']*)'( name='[^']*')? ip='([^']*)'.*/\1 \3/p" | sort
}
log_has() {
	curl -sS -m 5 "$T_BASE/v1/vms/$1/console/log" | tr -d '\r' | grep -aqE -- "$2"
}
type_cmd() {
	t_http POST "/v1/vms/$1/console/type" "{\"text\":\"$2\\n\"}"
}
# run VM CMD DONE: type CMD (which prints DONE at its end) until DONE is
# seen (busybox's line editing may eat what arrives while it asks the
# terminal where its cursor is)
run() {
	local try
	for try in 1 2 3; do
		type_cmd "$1" "$2"
		t_wait_for 15 log_has "$1" "^$3" && return 0
	done
	return 1
}
# has FILE MIB TEXT: the qcow2 FILE holds TEXT at MIB MiB
has() {
	qemu-io -f qcow2 -U -r -c "read -v $(($2 * 1048576)) 16" "$1" 2>/dev/null | grep -q "$3"
}
# post_tar FILE QUERY [CTYPE]: POST FILE (streamed, curl -T) to the
# import; T_STATUS, T_BODY, T_CTYPE as t_http sets them
post_tar() {
	local out hdr
	out=$(mktemp "$T_TMP/http.XXXXXX") hdr=$(mktemp "$T_TMP/http.XXXXXX")
	T_REQ="POST /v1/vms/import?$2 ($(basename "$1"))"
	T_STATUS=$(curl -sS -o "$out" -D "$hdr" -X POST -T "$1" -H 'Expect:' \
		-H "Content-Type: ${3:-application/x-tar}" --max-time 300 \
		-w '%{http_code}' "$T_BASE/v1/vms/import?$2" 2>/dev/null)
	T_BODY=$(cat "$out")
	T_CTYPE=$(_t_header content-type "$hdr")
	rm -f "$out" "$hdr"
}
lan() {
	t_http POST /v1/networks '{"name":"lan","mode":"isolated","ipv4":{"cidr":"10.79.0.0/24"}}'
	t_expect_status 201 "$1: create isolated network lan 10.79.0.0/24"
}

# ==================================================== hangar A: the source
T_LV_URI=$(lvhost_uri "$LVA")
T_TMP=$TOP/a && mkdir -p "$T_TMP"
HANGARD_CONF_EXTRA=$'cpu_ratio = 16' hangard_start || t_summary
lan A
if ! TINY=$(guest_image tiny); then
	t_fail "build the tiny test guest" "see above"
	t_summary
fi
code=$(curl -sS -m 300 -o /dev/null -w '%{http_code}' -X POST \
	-H 'Content-Type: application/octet-stream' -T "$TINY" \
	"$T_BASE/v1/images?name=tiny&format=qcow2&$W")
t_eq "A: import the tiny image" "$code" 200
t_http POST "/v1/vms?$W" "$(jq -nc --arg n "$VM" '{name: $n, vcpus: 1,
	memory_mib: 128, image: "tiny", disks: [{size_gib: 1}], start: true,
	placement: {domain_type: "qemu"}, nics: [{network: "lan"}],
	cloud_init: {}}')"
t_expect_status 201 "A: create $VM (tiny, a 1 GiB data disk, on lan, a seed), running"
S_MAC=$(t_json .nics[0].mac) S_IP=$(t_json .nics[0].ipv4)
t_check "A: $VM boots to a login prompt" t_wait_for 120 log_has "$VM" "$GUEST_LOGIN_RE"
type_cmd "$VM" root
sleep 2
t_check "A: the guest writes IMPMARK7 at 1 MiB of vdb" run "$VM" \
	"yes IMPMARK7 | head -c 4096 | dd of=/dev/vdb bs=4096 seek=256 conv=notrunc 2>/dev/null; sync; echo W-done" W-done
t_http POST "/v1/vms/$VM/backups?$W" '{"mode":"full"}'
t_expect_json .status succeeded "A: a full backup of the running $VM"
BID=$(t_json .params.backup)
code=$(curl -sS -f -m 300 -o "$TOP/s.tar" -w '%{http_code}' "$T_BASE/v1/vms/$VM/backups/$BID/archive")
t_eq "A: its archive exported" "$code" 200

# --- 2. {"backup": id} while the source runs: MAC and address taken
C=${T_PFX}c
t_http POST "/v1/vms/import?name=$C&start=false&$W" "{\"backup\":\"$BID\"}"
t_expect_status 201 "A: import backup $BID as $C while $VM runs: 201"
C_MAC=$(t_json .nics[0].mac) C_IP=$(t_json .nics[0].ipv4)
t_expect_json .state stopped "A: $C is made, stopped as asked"
t_check_not "A: $C got a new MAC ($C_MAC; $VM has $S_MAC)" test "$C_MAC" = "$S_MAC"
t_check_not "A: $C got a new address ($C_IP; $VM has $S_IP)" test "$C_IP" = "$S_IP"
t_expect_json '[.import.changed[] | .field + " " + .was + " " + .now] | join(",")' \
	"mac $S_MAC $C_MAC,ipv4 $S_IP $C_IP" "A: the reply says both were taken and what they became"
t_expect_json '[.disks[] | select(.device == "disk") | .dev] | join(",")' vda,vdb \
	"A: $C has the source's disks"
C_VDB=$T_TMP/images/$(t_json '.disks[] | select(.dev == "vdb") | .volume')
t_check "A: $C's vdb holds the marker" has "$C_VDB" 1 IMPMARK7
t_eq "A: lan's DHCP hosts are $VM's and $C's" "$(hosts "$LVA")" \
	"$(printf '%s\n' "$S_MAC $S_IP" "$C_MAC $C_IP" | sort)"
t_http GET "/v1/operations/$(t_json .import.operation)"
t_expect_json '.kind + " " + .status' "vm_import succeeded" "A: its operation: vm_import, succeeded"
hangard_stop

# ==================================================== hangar B: the target
T_LV_URI=$(lvhost_uri "$LVB")
T_TMP=$TOP/b && mkdir -p "$T_TMP"
unset HANGAR_TEST_TOKEN
HANGARD_CONF_EXTRA=$'cpu_ratio = 16' hangard_start || t_summary
lan B
t_http GET /v1/images
t_expect_json '.images | length' 0 "B: has no image at all"

# --- 1. the archive moved between the two
post_tar "$TOP/s.tar" "name=$VM&$W"
t_expect_status 201 "B: import A's archive as $VM: 201"
t_expect_json .state running "B: $VM runs"
t_expect_json .nics[0].mac "$S_MAC" "B: $VM kept its MAC (free here)"
t_expect_json .nics[0].ipv4 "$S_IP" "B: $VM kept its address"
t_expect_json '.import.changed | length' 0 "B: the reply says nothing changed"
t_expect_json '[.disks[] | .dev + ":" + .device + ":" + .bus + ":" + (.size_gib | tostring)] | join(",")' \
	"$(tar -xOf "$TOP/s.tar" manifest.json | jq -r '[.vm.disks[] | .dev + ":" + .device + ":" + .bus + ":" + (.size_gib | tostring)] | join(",")')" \
	"B: the same devices, buses and sizes as the source (its seed too)"
B_ID=$(t_json .id)
t_check_not "B: a new id" test "$B_ID" = "$(jq -r .vm.id <(tar -xOf "$TOP/s.tar" manifest.json))"
t_eq "B: virsh knows it by that id" "$(lvhost_virsh "$LVB" domuuid "$VM")" "$B_ID"
t_eq "B: its root disk stands alone (no backing file)" \
	"$(qemu-img info -U --output=json "$T_TMP/images/$B_ID.qcow2" | jq -r '."backing-filename" // ""')" ""
t_eq "B: lan's DHCP hosts are $VM's" "$(hosts "$LVB")" "$S_MAC $S_IP"
t_check "B: $VM boots (the tiny guest's banner)" t_wait_for 120 log_has "$VM" "$GUEST_TINY_BANNER"
t_check "B: ... to a login prompt" t_wait_for 120 log_has "$VM" "$GUEST_LOGIN_RE"
type_cmd "$VM" root
sleep 2
t_check "B: the guest reads the marker written on A off its vdb" run "$VM" \
	"dd if=/dev/vdb bs=4096 skip=256 count=1 2>/dev/null | head -c 9; echo R-done" IMPMARK7
t_http GET "/v1/vms/$VM/nics"
t_expect_json '.nics[0].mac' "$S_MAC" "B: GET nics agrees"

# --- 3. hostile archives, refused with nothing left
X=$TOP/x && mkdir -p "$X" && tar -xf "$TOP/s.tar" -C "$X"
# left: what an import could leave behind, as one text
left() {
	lvhost_virsh "$LVB" vol-list --pool "$T_POOL" 2>/dev/null | awk 'NR > 2 {print $1}' | sort
	find "$T_TMP/backups" -type f 2>/dev/null | sort
	curl -sS "$T_BASE/v1/vms" | jq -r '[.vms[].name] | sort | join(",")'
	lvhost_virsh "$LVB" list --all --name | sort
	hosts "$LVB"
}
BEFORE=$(left)
# mk NAME PY: a variant of the archive, made by python PY (which gets m,
# the manifest as a dict, and members, a list of [name, bytes]) into
# $X/NAME.tar
mk() {
	python3 - "$X" "$X/$1.tar" <<-EOF
		import hashlib, io, json, sys, tarfile
		src, out = sys.argv[1], sys.argv[2]
		m = json.load(open(src + "/manifest.json"))
		members = [[d["file"], open(src + "/" + d["file"], "rb").read()] for d in m["disks"]]
		$2
		man = m if isinstance(m, bytes) else json.dumps(m).encode()
		with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
		    for name, data in [["manifest.json", man]] + members:
		        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o640
		        t.addfile(ti, io.BytesIO(data))
	EOF
}
# refused NAME STATUS PATTERN: NAME.tar refused with STATUS, its detail
# matching PATTERN, nothing left behind
refused() {
	post_tar "$X/$1.tar" "name=${T_PFX}bad&$W" "${4:-application/x-tar}"
	t_expect_problem "$2" "hostile $1: refused with $2"
	t_match "... naming it" "$(t_json .detail)" "$3"
	t_eq "... nothing left (volumes, staged files, VMs, domains, DHCP hosts)" "$(left)" "$BEFORE"
}
mk good ''
post_tar "$X/good.tar" "name=$VM"
t_expect_problem 409 "an archive under a taken name: 409"
t_expect_json .field name "... naming name"
mk badsum 'm["disks"][1]["sha256"] = "0" * 64'
refused badsum 422 'manifest.json: disks\[1\]\.sha256 mismatch for disks/vdb\.qcow2'
head -c $(($(stat -c %s "$X/good.tar") / 2)) "$X/good.tar" >"$X/trunc.tar"
refused trunc 422 'the archive is truncated'
mk dotdot 'members.append(["../../etc/x", b"boom"])'
refused dotdot 422 "'\.\./\.\./etc/x', with '\.\.' in it"
mk abs 'members.append(["/etc/x", b"boom"])'
refused abs 422 "the archive has a member named '/etc/x'"
mk extra 'members.append(["disks/extra.txt", b"boom"])'
refused extra 422 "disks/extra.txt.*does not list"
mk twice 'members.append(members[0])'
refused twice 422 "the archive holds 'disks/vda.qcow2' twice"
mk hostdev 'm["disks"][0]["dev"] = "../../etc"; m["disks"][0]["file"] = "disks/../../etc.qcow2"'
refused hostdev 422 'manifest.json: disks\[0\]\.dev'
mk hostfile 'm["disks"][0]["file"] = "/etc/passwd"'
refused hostfile 422 'manifest.json: disks\[0\]\.file'
mk nonet 'm["vm"]["nics"][0]["network"] = "nope"'
refused nonet 422 "manifest.json: vm: there is no network 'nope'"
mk badbus 'm["vm"]["disks"][0]["bus"] = "../../x"'
refused badbus 422 'manifest.json: vm: disk_bus must be virtio, sata, scsi or ide'
mk big 'm = json.dumps(m).encode() + b" " * (300 * 1024)'
refused big 422 'manifest.json: it is larger than'
qemu-img create -q -f qcow2 -F raw -b /etc/passwd "$X/backed.qcow2" 1G
mk backed 'members[1][1] = open(src + "/backed.qcow2", "rb").read(); m["disks"][1]["sha256"] = hashlib.sha256(members[1][1]).hexdigest(); m["disks"][1]["bytes"] = len(members[1][1])'
refused backed 422 'disks/vdb\.qcow2: .*backing'
refused good 415 "application/x-tar" text/plain
post_tar "$X/good.tar" "$W"
t_expect_problem 400 "no name: 400"
t_expect_json .field name "... naming name"
t_http POST "/v1/vms/import?name=${T_PFX}bad" '{"backup":"00000000-0000-0000-0000-000000000000"}'
t_expect_problem 404 "an unknown backup: 404"
t_http POST "/v1/vms/import?name=${T_PFX}bad" '{"backup":1}'
t_expect_problem 400 "a backup that is not a string: 400"
t_eq "... nothing left" "$(left)" "$BEFORE"

# --- 4. the CLI streams the file
N=${T_PFX}cli
out=$("$BUILD/hangar" --url "unix:$HANGARD_SOCK" -o json vm import "$X/good.tar" --name "$N" --stopped 2>"$T_TMP/cli.err")
t_eq "hangar vm import FILE --name $N: exit 0" "$?" 0
t_eq "... prints the new VM, stopped" "$(jq -r '.name + " " + .state' <<<"$out")" "$N stopped"
t_match "... its MAC was taken (by $VM): said on stderr" "$(cat "$T_TMP/cli.err")" "mac $S_MAC was taken"
"$BUILD/hangar" --url "unix:$HANGARD_SOCK" vm import "$X/badsum.tar" --name "${T_PFX}bad" >/dev/null 2>"$T_TMP/cli.err"
t_eq "hangar vm import of a bad archive: exit 1" "$?" 1
t_match "... saying why" "$(cat "$T_TMP/cli.err")" "sha256 mismatch"

# --- 5. a crash in the middle leaves nothing: B's libvirtd frozen
# (SIGSTOP) so the import's operation hangs inside a libvirt call, then
# hangard SIGKILLed and started again
LV_PID=$(_lvhost_pidfile "$(lvhost_dir "$LVB")/libvirtd.pid")
t_check "B's libvirtd: pid $LV_PID" test "$(cat "/proc/$LV_PID/comm" 2>/dev/null)" = libvirtd
trap 'rc=$?; kill -CONT "$LV_PID" 2>/dev/null; (exit $rc); T_TMP=$TOP; t_cleanup' EXIT
BEFORE=$(left)
kill -STOP "$LV_PID"
post_tar "$X/good.tar" "name=${T_PFX}crash"
t_expect_status 201 "an import while B's libvirtd is frozen: placed (201)"
OP=$(t_json .import.operation)
op_running() { curl -sS -m 5 "$T_BASE/v1/operations/$OP" | jq -e '.status == "running"' >/dev/null; }
t_check "... its operation runs (stuck in libvirt)" t_wait_for 20 op_running
STRAY=$T_TMP/backups/.staging/$(cat /proc/sys/kernel/random/uuid).tar
echo junk >"$STRAY"
kill -KILL "$HANGARD_PID"
wait "$HANGARD_PID" 2>/dev/null
HANGARD_PID=''
kill -CONT "$LV_PID"
HANGARD_CONF_EXTRA=$'cpu_ratio = 16' hangard_start || t_summary
op_done() { curl -sS -m 5 "$T_BASE/v1/operations/$OP" | jq -e '.status == "failed"' >/dev/null; }
t_check "after the restart the import is failed (rolled back)" t_wait_for 60 op_done
t_http GET "/v1/operations/$OP"
t_expect_json .error.type urn:hangar:problem:interrupted "... as interrupted"
t_http GET "/v1/vms/${T_PFX}crash"
t_expect_status 404 "... and its VM is gone"
t_check_not "a stray staged archive is removed at start" test -e "$STRAY"
t_eq "nothing left (volumes, staged files, VMs, domains, DHCP hosts)" "$(left)" "$BEFORE"
hangard_stop
T_TMP=$TOP
t_summary
