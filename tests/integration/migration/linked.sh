# shellcheck shell=bash
#
# migration/linked.sh - step 8c of tests/integration/migration.sh, sourced
# by it (tests/run runs only tests/integration/*.sh): a linked clone of
# the tiny guest image with a data disk moves live local -> h2 (h2 gets
# its own copy of the image; first a move at 1 MiB/s during which a
# prune of h2 keeps that copy for it, then is cancelled), then stopped, with marks in both disks and
# an internal snapshot, cold back to local: the overlay's header names
# local's copy, both disks read the same, h2's copy is pruned, the
# snapshot is in the file and in libvirt, the guest boots, the revert
# brings the earlier mark back over local's copy.  Then a cold move to h2
# with its pool on a full 4 MiB tmpfs (mounted in h2's mount namespace)
# fails naming the disk and the image, and leaves nothing on h2.
# Uses the suite's hosts (LVNAME, POOLDIR, POOL) and helpers (create,
# is_on, api, dry, check_of, lv, lacks_vol, pool_at, domstate, elapsed).
# shellcheck disable=SC2154 # set by migration.sh

echo "# --- 8c. a linked clone moves live, then stopped (cold), over the destination's own copy of its image"
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh
# chain_sum FILE: sha256 of what a guest reads from the qcow2 FILE (its
# backing chain included), as raw
chain_sum() {
	local raw=$T_TMP/chain.raw
	qemu-img convert -U -f qcow2 -O raw "$1" "$raw" >/dev/null 2>&1 || { echo "unreadable $1"; return; }
	sha256sum <"$raw" | awk '{ print $1 }'
	rm -f "$raw"
}
# reads FILE AT PATTERN: 1 MiB at AT of the qcow2 FILE holds PATTERN
reads() {
	qemu-io -r -U -f qcow2 -c "read -P $3 $2 1M" "$1" | grep -q 'read 1048576'
}
# serial HOST VM: VM's serial console log on HOST
serial() {
	echo "$(lvhost_dir "${LVNAME[$1]}")/log/qemu/${ID[$2]}-serial.log"
}
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
		disks: [{size_gib: 1}], placement: {domain_type: "qemu"}}'
	L_ROOT=${ID[$L]}.qcow2 L_DATA=${ID[$L]}-vdb.qcow2
	t_check "$L: local holds the image's copy" test -e "${POOLDIR[local]}/$BASE"
	# 16 MiB past the image's end of its 1 GiB disk: a copy at 1 MiB/s
	# takes long enough to look at the destination meanwhile
	t_check "write 16 MiB into $L's overlay (qemu-io, while stopped)" \
		qemu-io -f qcow2 -c "write -P 0x5a 512M 16M" "${POOLDIR[local]}/$L_ROOT"
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
		"$(qemu-img info -U --output=json "${POOLDIR[h2]}/$L_ROOT" | jq -r '."backing-filename"')" \
		"${POOLDIR[h2]}/$BASE"
	t_check_not "$L: local's copy went with the last disk that used it" \
		test -e "${POOLDIR[local]}/$BASE"
	t_http POST "/v1/vms/$L/stop?$W" '{"force":true}'
	t_expect_json .status succeeded "stop $L"

	echo "# --- 8c. cold, with an internal snapshot: $L h2 -> local"
	# the root disk's marks past the image's 64 MiB (its boot files are in them)
	t_check "$L: a mark in its root disk (over the image) and one in its data disk" bash -c \
		"qemu-io -f qcow2 -c 'write -P 0x61 512M 1M' '${POOLDIR[h2]}/$L_ROOT' >/dev/null &&
		 qemu-io -f qcow2 -c 'write -P 0x62 4M 1M' '${POOLDIR[h2]}/$L_DATA' >/dev/null"
	t_http POST "/v1/vms/$L/snapshots?wait=60" '{"name":"cold1"}'
	t_expect_status 201 "snapshot cold1 of stopped $L"
	t_check "$L: cold1 is an internal snapshot of its root disk (qemu-img)" bash -c \
		"qemu-img snapshot -U -l '${POOLDIR[h2]}/$L_ROOT' | grep -qw cold1"
	t_check "$L: a second mark in its root disk, after the snapshot" \
		qemu-io -f qcow2 -c "write -P 0x63 512M 1M" "${POOLDIR[h2]}/$L_ROOT"
	SUM_ROOT=$(chain_sum "${POOLDIR[h2]}/$L_ROOT")
	SUM_DATA=$(chain_sum "${POOLDIR[h2]}/$L_DATA")
	dry "$L" '{"host":"local"}'
	t_expect_json '[.ok, .mode, .copy_storage] | join(" ")' "true cold true" \
		"dry run of stopped linked clone $L -> local: ok, cold, copied"
	t_match "... storage_mode names the image whose copy it will use" "$(check_of storage_mode)" \
		"^true .*linked clone over that host's own copy of image 'tiny'"
	t0=$(t_ns_now)
	t_http POST "/v1/vms/$L/migrate?$W" '{"host":"local"}'
	echo "# $L: cold migration of a linked clone (base uploaded first) took $(elapsed "$t0") s"
	t_expect_json '[.status, .params.mode, .params.copy_storage] | join(" ")' "succeeded cold true" \
		"migrate stopped linked clone $L -> local: succeeded, cold, copied"
	is_on "$L" local "shut off"
	t_check "$L: local got its own copy of the image again" test -e "${POOLDIR[local]}/$BASE"
	t_eq "$L: its root disk on local is an overlay on local's copy (qemu-img)" \
		"$(qemu-img info -U --output=json "${POOLDIR[local]}/$L_ROOT" | jq -r '[."backing-filename", ."backing-filename-format"] | join(" ")')" \
		"${POOLDIR[local]}/$BASE qcow2"
	t_eq "$L: libvirt's domain on local names local's copy as the backing store" \
		"$(lv local dumpxml "$L" | xmllint --xpath 'string(//disk[target/@dev="vda"]/backingStore/source/@file)' - 2>/dev/null)" \
		"${POOLDIR[local]}/$BASE"
	t_check "$L: qemu-img check finds its root disk clean" qemu-img check -U -q -f qcow2 "${POOLDIR[local]}/$L_ROOT"
	t_eq "$L: what the guest reads from its root disk is unchanged (raw sha256)" \
		"$(chain_sum "${POOLDIR[local]}/$L_ROOT")" "$SUM_ROOT"
	t_eq "$L: and from its data disk" "$(chain_sum "${POOLDIR[local]}/$L_DATA")" "$SUM_DATA"
	t_check "$L: its root disk holds the mark written after cold1" \
		reads "${POOLDIR[local]}/$L_ROOT" 512M 0x63
	t_check_not "$L: h2's copy of the image went with the last disk that used it" \
		test -e "${POOLDIR[h2]}/$BASE"
	t_check "$L: h2's pool (vol-list) no longer lists the copy" lacks_vol h2 "$BASE"
	t_check_not "$L: no disk of it is left on h2" bash -c "ls '${POOLDIR[h2]}' | grep -q '${ID[$L]}'"
	t_check "$L: cold1 came along inside its root disk (qemu-img)" bash -c \
		"qemu-img snapshot -U -l '${POOLDIR[local]}/$L_ROOT' | grep -qw cold1"
	t_eq "$L: libvirt on local has snapshot cold1" "$(lv local snapshot-list --name "$L" 2>/dev/null | tr -d ' ' | sed '/^$/d')" cold1
	rm -f "$(serial local "$L")"
	t_http POST "/v1/vms/$L/start?$W" ''
	t_expect_json .status succeeded "start $L on local"
	if s=$(guest_wait_console "$(serial local "$L")" "$GUEST_LOGIN_RE" 120); then
		t_ok "$L: the guest boots to its login prompt on local ($s s)"
	else
		t_fail "$L: the guest boots to its login prompt on local" "see above"
	fi
	t_http POST "/v1/vms/$L/stop?$W" '{"force":true}'
	t_expect_json .status succeeded "stop $L on local"
	t_http POST "/v1/vms/$L/snapshots/cold1/revert?$W" ''
	t_expect_json '[.kind, .status] | join(" ")' "snapshot_revert succeeded" "revert $L to cold1 on local"
	t_check "$L: after the revert its root disk holds the mark from before cold1" \
		reads "${POOLDIR[local]}/$L_ROOT" 512M 0x61
	t_check "$L: its data disk holds its mark" reads "${POOLDIR[local]}/$L_DATA" 4M 0x62
	t_eq "$L: still over local's copy after the revert (qemu-img)" \
		"$(qemu-img info -U --output=json "${POOLDIR[local]}/$L_ROOT" | jq -r '."backing-filename"')" \
		"${POOLDIR[local]}/$BASE"
	t_eq "$L: and its domain after the revert names local's disk over local's copy (virsh)" \
		"$(lv local dumpxml --inactive "$L" | xmllint --xpath 'concat(//disk[target/@dev="vda"]/source/@file, " ", //disk[target/@dev="vda"]/backingStore/source/@file)' - 2>/dev/null)" \
		"${POOLDIR[local]}/$L_ROOT ${POOLDIR[local]}/$BASE"

	echo "# --- 8c. a destination that cannot take the image's copy (h2's pool full)"
	FULL=$T_TMP/images-h2-full
	H2PID=$(cat "$(lvhost_dir "${LVNAME[h2]}")/libvirtd.pid")
	mkdir -p "$FULL"
	t_check "a 4 MiB tmpfs on $FULL in h2's mount namespace" \
		nsenter -t "$H2PID" -m mount -n -t tmpfs -o size=4m hangar-full "$FULL"
	t_http PATCH /v1/hosts/h2 "{\"pool_path\":\"$FULL\"}"
	t_expect_status 200 "PATCH h2 pool_path to the full directory: 200"
	FULL_POOL=$(pool_at h2 "$FULL")
	SUM_ROOT=$(chain_sum "${POOLDIR[local]}/$L_ROOT")
	t_http POST "/v1/vms/$L/migrate?$W" '{"host":"h2","force":true}'
	t_expect_json '[.status, .params.mode] | join(" ")' "failed cold" \
		"migrate $L -> h2 whose pool cannot hold the image: failed"
	echo "# the error: $(t_json .error.detail)"
	t_match "... saying the destination cannot get its copy of image tiny" "$(t_json .error.detail)" \
		"linked clone of image 'tiny', and the destination cannot get its copy of the image: "
	is_on "$L" local "shut off"
	t_eq "$L: the API says stopped on local" "$(api "$L" '[.state, .host] | join(" ")')" "stopped local"
	t_eq "h2's full pool (vol-list) holds nothing" \
		"$(lv h2 pool-refresh "$FULL_POOL" >/dev/null 2>&1 && lv h2 vol-list "$FULL_POOL" 2>/dev/null | awk 'NF { print $1 }' | tr '\n' ' ' || echo virsh-failed)" ""
	t_eq "... nor any file (seen from h2's namespace)" \
		"$(nsenter -t "$H2PID" -m find "$FULL" -mindepth 1 2>&1 | tr '\n' ' ')" ""
	t_eq "libvirt on h2 has no domain $L" "$(domstate h2 "$L")" absent
	t_eq "$L: its root disk on local is as it was" "$(chain_sum "${POOLDIR[local]}/$L_ROOT")" "$SUM_ROOT"
	t_check "$L: local keeps the image's copy" test -e "${POOLDIR[local]}/$BASE"
	t_http PATCH /v1/hosts/h2 "{\"pool_path\":\"${POOLDIR[h2]}\"}"
	t_expect_status 200 "PATCH h2 pool_path back to images-h2: 200"
	nsenter -t "$H2PID" -m umount -n "$FULL"
	t_http DELETE "/v1/vms/$L?$W"
	t_expect_json .status succeeded "delete $L"
	t_check_not "$L: local's copy went with it" test -e "${POOLDIR[local]}/$BASE"
	t_http DELETE /v1/images/tiny
	t_expect_status 200 "delete image tiny"
else
	t_fail "build the tiny test guest" "see above"
fi
