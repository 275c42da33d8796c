# shellcheck shell=bash
#
# backup_bench.sh - issue 13's rows of bench/run.sh: backups and clones
# against what a user would do with virsh and virt-clone.
#
#   B1  a full backup of a running VM (the tiny test guest,
#       tests/lib/guest.sh) with a 2 GiB data disk filled with non-zero
#       data (qemu-io, before its first start): POST /v1/vms/{vm}/backups
#       ?wait (push-mode job with a checkpoint, every disk into
#       backup_dir, each file hashed (SHA-256) and fsync'ed) against
#       `virsh backup-begin` of the same disks with the same target
#       format (qcow2) and a checkpoint too, timed until
#       `virsh domjobinfo` shows the job gone.  BENCH_B1_ROUNDS rounds,
#       the sides in turn; each side's files are removed after its round
#       (the last hangar one is kept for B2).
#   B2  an incremental backup after the guest wrote 64 MiB (typed on its
#       console: `yes | head -c 64M | dd of=/dev/vdb`), against the full
#       one of B1: seconds and bytes kept.
#   B3  a linked clone of that VM (stopped) to running: POST
#       /v1/vms/{vm}/clone?wait {"mode":"linked","start":true} against
#       `virt-clone --auto-clone` + `virsh start` of the same domain.
#       hangar's clone keeps the root disk an overlay over the image and
#       flattens the data disk (over no image) straight from the stopped
#       source's volume, once; virt-clone copies every disk whole once.
#       BENCH_B3_ROUNDS rounds, the sides in turn.
#
# Not a script of its own: bench/run.sh sources it and uses its helpers
# (row, note, log, now_us, stop_pid, hangard_up, lv_up, $LV_URI, $T,
# $BUILD).  The rows run on run.sh's namespaced libvirtd with a hangard
# of their own ("bk": backup_dir $T/bk-backups, which that host sees, so
# the job writes there directly), stopped by pid after the last B row.
#   BUILD=build bash bench/run.sh B1 B2 B3
# The page cache is not dropped (the machine is shared).

B1_ROUNDS=${BENCH_B1_ROUNDS:-3}
B3_ROUNDS=${BENCH_B3_ROUNDS:-2}
BK_UP='' BK_WHY='' BK_PID='' BK_URL='' BK_ID='' BK_DOM='' BK_FULL=''

bk_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b - a) / 1e6 }'; }
bk_mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
bk_api() { curl -sS --max-time 900 -H 'Content-Type: application/json' "$@"; }
bk_virsh() { virsh -q -c "$LV_URI" "$@"; }

# bk_type TEXT: typed on the guest's console
bk_type() {
	bk_api -o /dev/null -X POST "$BK_URL/v1/vms/bk1/console/type" \
		-d "{\"text\":\"$1\\n\"}"
}
bk_log_has() {
	curl -sS -m 5 "$BK_URL/v1/vms/bk1/console/log" | tr -d '\r' | grep -aqE -- "$1"
}

# bk_vm: the tiny guest imported, VM bk1 made with a 2 GiB data disk,
# the disk filled, the VM started and logged in on its console
bk_vm() {
	local tiny code vdb i
	# shellcheck source=tests/lib/guest.sh
	. tests/lib/guest.sh
	tiny=$(guest_image tiny 2>"$T/bk-guest.err") || return 1
	code=$(curl -sS --max-time 600 -o "$T/bk-import.json" -w '%{http_code}' \
		-T "$tiny" -X POST -H 'Content-Type: application/octet-stream' \
		"$BK_URL/v1/images?name=bk-tiny&format=qcow2&wait=600")
	[ "$code" = 200 ] || return 1
	bk_api -o "$T/bk1.json" -X POST "$BK_URL/v1/vms?wait=120" -d '{"name":"bk1","vcpus":1,"memory_mib":128,"image":"bk-tiny","disks":[{"size_gib":2}],"start":false,"placement":{"domain_type":"qemu"}}'
	BK_ID=$(jq -r .id "$T/bk1.json" 2>/dev/null)
	[ "$(jq -r .state "$T/bk1.json" 2>/dev/null)" = stopped ] || return 1
	BK_DOM=$(bk_virsh domname "$BK_ID") || return 1
	vdb=$(bk_virsh domblklist "$BK_ID" | awk '$1 == "vdb" { print $2 }')
	log "B: filling bk1's 2 GiB data disk (qemu-io)"
	# (one request of qemu-io stops short of 2 GiB)
	qemu-io -f qcow2 -c "write -P 0x5a 0 1G" -c "write -P 0x5a 1G 1G" \
		"$vdb" >/dev/null || return 1
	bk_api -o "$T/bk1-start.json" -X POST "$BK_URL/v1/vms/bk1/start?wait=120"
	[ "$(jq -r .status "$T/bk1-start.json" 2>/dev/null)" = succeeded ] || return 1
	for ((i = 0; i < 600; i++)); do
		bk_log_has 'login: ' && break
		sleep 0.2
	done
	bk_type root
	sleep 2
}

# bk_up: run.sh's libvirt host, hangard "bk" on it, and VM bk1
bk_up() {
	if [ -z "$BK_UP" ] && [ -z "$BK_WHY" ]; then
		if ! lv_up; then
			BK_WHY=$LV_WHY
		elif ! hangard_up bk "$LV_URI" "image_dir = $T/bk-library
backup_dir = $T/bk-backups
log_level = debug
cpu_ratio = 100
reserved_vcpus = 0"; then
			BK_WHY="hangard did not start: $(grep -v '^ *$' "$T/bk.log" | tail -1)"
			stop_pid "$H_PID"
		else
			BK_PID=$H_PID BK_URL=$H_URL
			if bk_vm; then
				BK_UP=1
			else
				BK_WHY="the guest could not be made: $(tail -c 300 "$T/bk1.json" "$T/bk-guest.err" 2>/dev/null | tr '\n' ' ')"
			fi
		fi
	fi
	[ -n "$BK_UP" ] || return 1
	export CURL_HOME=$H_CURL_HOME
}

# bk_down_after ROW: stop hangard "bk" when ROW is the last B row asked
bk_down_after() {
	local r last=''
	for r in $ROWS; do
		case $r in B[123] | b[123]) last=${r^^} ;; esac
	done
	[ "$last" = "$1" ] && [ -n "$BK_PID" ] && stop_pid "$BK_PID"
	[ "$last" = "$1" ] && BK_UP='' BK_PID=''
	return 0
}

# bk_hangar MODE: one backup through the API; prints "SECONDS BYTES ID"
bk_hangar() {
	local t0 t1 id
	t0=$(now_us)
	bk_api -o "$T/bk-op.json" -X POST "$BK_URL/v1/vms/bk1/backups?wait=900" \
		-d "{\"mode\":\"$1\"}"
	t1=$(now_us)
	[ "$(jq -r .status "$T/bk-op.json" 2>/dev/null)" = succeeded ] || return 1
	id=$(jq -r .params.backup "$T/bk-op.json")
	echo "$(bk_secs "$t0" "$t1") $(bk_api "$BK_URL/v1/vms/bk1/backups/$id" | jq .size) $id"
}

# bk_split OP: where operation OP's time went, from hangard's debug log:
# "request->job begun + job + hash/fsync/rest" in seconds
bk_split() {
	grep "op $1" "$T/bk.log" | awk '
		function t(s) { split(substr(s, 12, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
		/: backup vm / && !b { b = t($1) }
		/backup job$/ { j = t($1) }
		/(hashing|copying) the backup/ { h = t($1) }
		/succeeded$/ { e = t($1) }
		END { if (j && h && e) printf "%.2f+%.2f+%.2f\n", j - b, h - j, e - h; else print "?" }'
}

# bk_peer N: one `virsh backup-begin` of vda and vdb (qcow2 targets in
# $T/bk-virsh, checkpoint peer-N); prints "SECONDS BYTES"
bk_peer() {
	local t0 t1 i
	rm -rf "$T/bk-virsh" && mkdir -p "$T/bk-virsh"
	cat >"$T/bk-peer.xml" <<-EOF
		<domainbackup mode='push'><disks>
		<disk name='vda' backup='yes' type='file'><target file='$T/bk-virsh/vda.qcow2'/><driver type='qcow2'/></disk>
		<disk name='vdb' backup='yes' type='file'><target file='$T/bk-virsh/vdb.qcow2'/><driver type='qcow2'/></disk>
		</disks></domainbackup>
	EOF
	cat >"$T/bk-peer-cp.xml" <<-EOF
		<domaincheckpoint><name>peer-$1</name><disks>
		<disk name='vda' checkpoint='bitmap'/><disk name='vdb' checkpoint='bitmap'/>
		</disks></domaincheckpoint>
	EOF
	t0=$(now_us)
	bk_virsh backup-begin "$BK_DOM" "$T/bk-peer.xml" "$T/bk-peer-cp.xml" >/dev/null || return 1
	for ((i = 0; i < 9000; i++)); do
		bk_virsh domjobinfo "$BK_DOM" | grep -q 'Job type: *None' && break
		sleep 0.1
	done
	t1=$(now_us)
	bk_virsh domjobinfo --completed "$BK_DOM" | grep -q 'Job type: *Completed' || return 1
	echo "$(bk_secs "$t0" "$t1") $(du -cb "$T/bk-virsh"/*.qcow2 | awk 'END { print $1 }')"
	rm -rf "$T/bk-virsh"
	bk_virsh checkpoint-delete "$BK_DOM" "peer-$1" >/dev/null 2>&1
}

# ====================================================================== B1
b1() {
	local r h p hm pm t0 hs
	if ! bk_up; then
		row B1 "full backup, 2 GiB disk" "not run" "virsh backup-begin" "-" "-" "<= 1.05x" "-"
		note "B1 not run: $BK_WHY"
		bk_down_after B1
		return
	fi
	: >"$T/b1.h"
	: >"$T/b1.p"
	: >"$T/b1.split"
	for ((r = 1; r <= B1_ROUNDS; r++)); do
		log "B1: round $r/$B1_ROUNDS"
		if h=$(bk_hangar full); then
			echo "$h" >>"$T/b1.h"
			bk_split "$(jq -r .id "$T/bk-op.json")" >>"$T/b1.split"
			BK_FULL=$h
			# the last one stays: B2 builds on it
			[ "$r" -lt "$B1_ROUNDS" ] &&
				bk_api -o /dev/null -X DELETE "$BK_URL/v1/vms/bk1/backups/${h##* }"
		else
			note "B1: a hangar backup failed: $(head -c 300 "$T/bk-op.json")"
		fi
		if p=$(bk_peer "$r"); then
			echo "$p" >>"$T/b1.p"
		else
			note "B1: a virsh backup-begin failed"
		fi
	done
	if [ ! -s "$T/b1.h" ] || [ ! -s "$T/b1.p" ]; then
		row B1 "full backup, 2 GiB disk" "not run" "virsh backup-begin" "-" "-" "<= 1.05x" "-"
		bk_down_after B1
		return
	fi
	hm=$(awk '{ print $1 }' "$T/b1.h" | stats | cut -d' ' -f1)
	pm=$(awk '{ print $1 }' "$T/b1.p" | stats | cut -d' ' -f1)
	# what hangar's hash costs alone: the kept backup's files, from the
	# page cache, through openssl (SHA-NI, as gnutls in hangard)
	t0=$(now_us)
	cat "$T/bk-backups/$BK_ID/${BK_FULL##* }"/*.qcow2 | openssl dgst -sha256 >/dev/null
	hs=$(bk_secs "$t0" "$(now_us)")
	row B1 "full backup of a running VM, 2 GiB data disk filled + tiny root: s, median of $B1_ROUNDS" \
		"$hm ($(awk '{ print $1 }' "$T/b1.h" | paste -sd/))" \
		"virsh backup-begin, same disks, qcow2 targets, with a checkpoint" \
		"$pm ($(awk '{ print $1 }' "$T/b1.p" | paste -sd/))" "$(ratio "$hm" "$pm")" "<= 1.05x" \
		"$(yesno "$hm <= 1.05 * $pm")"
	note "B1: hangar: POST /v1/vms/bk1/backups?wait {\"mode\":\"full\"} timed by curl, start to reply: the job writes each disk into backup_dir directly (the host sees it: the probe said so, params.direct $(jq -r .params.direct "$T/bk-op.json")), then hangard reads each file once to hash it (SHA-256; that alone, the same bytes from the page cache through openssl, takes $hs s here) and fsyncs it; it polls the job every 200 ms. hangar's rounds split (from its debug log: the request to the job begun (probe, row, checkpoint) + the job until seen done + hash, fsync and the rest), s: $(paste -sd' ' <"$T/b1.split"). virsh: backup-begin with the same two disks (vda, vdb), qcow2 targets and a checkpoint, timed until domjobinfo (polled every 100 ms) shows no job. Bytes kept: hangar $(awk '{ print $2 }' "$T/b1.h" | head -1), virsh $(awk '{ print $2 }' "$T/b1.p" | head -1). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	bk_down_after B1
}

# ====================================================================== B2
b2() {
	local i k h fs fb
	if ! bk_up || [ -z "$BK_FULL" ]; then
		row B2 "incremental backup after 64 MiB" "not run" "the full one" "-" "-" "-" "-"
		note "B2 not run: ${BK_WHY:-no full backup of B1 to build on (run B1 first)}"
		bk_down_after B2
		return
	fi
	log "B2: the guest writes 64 MiB, then an incremental backup"
	# typed again until the shell echoes it (busybox's line editing may
	# eat what arrives while it asks the terminal where its cursor is)
	for i in 1 2 3 4 5; do
		bk_type "yes BBBBBBB | head -c 67108864 | dd of=/dev/vdb bs=1M seek=256 conv=notrunc 2>/dev/null; sync; echo b2-done-$i"
		sleep 5
		bk_log_has "echo b2-done-$i" && break
	done
	for ((k = 0; k < 1200; k++)); do
		bk_log_has "^b2-done-$i" && break
		sleep 0.5
	done
	if ! h=$(bk_hangar incremental); then
		row B2 "incremental backup after 64 MiB" "not run" "the full one" "-" "-" "-" "-"
		note "B2: the incremental backup failed: $(head -c 300 "$T/bk-op.json")"
		bk_down_after B2
		return
	fi
	read -r fs fb _ <<<"$BK_FULL"
	row B2 "incremental backup after the guest wrote 64 MiB: s; MiB kept" \
		"${h%% *}; $(bk_mib "$(cut -d' ' -f2 <<<"$h")") MiB" "hangar's full backup (B1)" \
		"$fs; $(bk_mib "$fb") MiB" "$(ratio "${h%% *}" "$fs")" "-" "-"
	note "B2: 64 MiB of non-zero data written by the guest on its console (yes | head -c | dd of=/dev/vdb, then sync); the incremental backup's files hold what changed since B1's last full backup (its checkpoint), each given the full one's file as backing."
	bk_down_after B2
}

# b3_hangar: one linked clone to running; prints its seconds
b3_hangar() {
	local t0 t1
	t0=$(now_us)
	bk_api -o "$T/b3.json" -X POST "$BK_URL/v1/vms/bk1/clone?wait=900" \
		-d '{"name":"bk1c","mode":"linked","start":true}'
	t1=$(now_us)
	[ "$(jq -r .status "$T/b3.json" 2>/dev/null)" = succeeded ] || return 1
	bk_secs "$t0" "$t1"
	bk_api -o /dev/null -X DELETE "$BK_URL/v1/vms/bk1c?wait=120"
}

# b3_peer: virt-clone --auto-clone + virsh start; prints its seconds
b3_peer() {
	local t0 t1 ok=1
	t0=$(now_us)
	virt-clone --connect "$LV_URI" --original "$BK_DOM" --name bk1-peer \
		--auto-clone >"$T/b3-peer.out" 2>&1 &&
		bk_virsh start bk1-peer >/dev/null 2>&1 || ok=0
	t1=$(now_us)
	[ "$ok" = 1 ] && bk_secs "$t0" "$t1"
	bk_virsh destroy bk1-peer >/dev/null 2>&1
	bk_virsh undefine bk1-peer --remove-all-storage >/dev/null 2>&1
	[ "$ok" = 1 ]
}

# ====================================================================== B3
b3() {
	local r h p hm pm
	if ! bk_up; then
		row B3 "linked clone to running" "not run" "virt-clone + virsh start" "-" "-" "-" "-"
		note "B3 not run: $BK_WHY"
		bk_down_after B3
		return
	fi
	if ! command -v virt-clone >/dev/null; then
		row B3 "linked clone to running" "not run" "virt-clone + virsh start" "-" "-" "-" "-"
		note "B3 not run: virt-clone is not installed (scripts/deps bench installs virtinst)"
		bk_down_after B3
		return
	fi
	bk_api -o /dev/null -X POST "$BK_URL/v1/vms/bk1/stop?wait=60" -d '{"force":true}'
	: >"$T/b3.h"
	: >"$T/b3.p"
	for ((r = 1; r <= B3_ROUNDS; r++)); do
		log "B3: round $r/$B3_ROUNDS"
		if h=$(b3_hangar); then echo "$h" >>"$T/b3.h"; else
			note "B3: a hangar clone failed: $(head -c 300 "$T/b3.json")"; fi
		if p=$(b3_peer); then echo "$p" >>"$T/b3.p"; else
			note "B3: virt-clone failed: $(tail -c 300 "$T/b3-peer.out" | tr '\n' ' ')"; fi
	done
	if [ ! -s "$T/b3.h" ] || [ ! -s "$T/b3.p" ]; then
		row B3 "linked clone to running" "not run" "virt-clone + virsh start" "-" "-" "-" "-"
		bk_down_after B3
		return
	fi
	hm=$(stats <"$T/b3.h" | cut -d' ' -f1)
	pm=$(stats <"$T/b3.p" | cut -d' ' -f1)
	row B3 "clone of a stopped VM (2 GiB data disk filled + tiny root) to running: s, median of $B3_ROUNDS" \
		"$hm ($(paste -sd/ <"$T/b3.h"))" "virt-clone --auto-clone + virsh start" \
		"$pm ($(paste -sd/ <"$T/b3.p"))" "$(ratio "$hm" "$pm")" "-" "-"
	note "B3: hangar: POST /v1/vms/bk1/clone?wait {\"mode\":\"linked\",\"start\":true} timed start to reply (running): the root disk stays an overlay over the image (its overlay streamed), the data disk, over no image, of this stopped source in the clone's pool, is flattened straight from the source's volume into the clone's (qemu-img convert through libvirt, which drops internal snapshots and dirty bitmaps: ops_clone.c), its 2 GiB written once (before d918251: streamed into a staging volume, then flattened, twice); new MAC, seed, domain, start. virt-clone copies both disks whole (libvirt's volume clone, qemu-img convert) and defines the domain; then virsh start. Both on the same libvirtd and pool directory."
	bk_down_after B3
}
