# shellcheck shell=bash
# shellcheck disable=SC2034 # SOAK_SETTLE_MS, SOAK_VIOLATIONS, SOAK_SUMMARY: read by soak.sh
#
# tests/soak/lib.sh - the pieces of the kill -9 soak (tests/soak/soak.sh):
# random requests fired in the background, the crash and restart, and the
# invariants checked after each restart.  Source it after
# tests/lib/testlib.sh and t_init; it uses T_TMP, T_PFX, T_POOL, T_LV_URI,
# HANGARD_* and T_BASE from there.
#
# Bookkeeping, per cycle, in $SOAK_CD (a directory of the cycle):
#   N.meta    the request as JSON: {i, kind, name, method, path, body, key,
#             dup_of (index of the request it repeats with the same key,
#             or null), retry_of (a request retried after the restart)}
#   N.code    the HTTP status curl saw (000: no answer: hangard died first)
#   N.body    the reply body;  N.hdr  the reply headers
# The knowledge used to pick requests (SOAK_STATE[name] = state or
# "absent", SOAK_SNAPS[name] = its snapshot names) comes from the store
# after the previous cycle's checks; requests are picked from it, so most
# are valid, and the ones that are not (a stale state) get their 404/409.
#
# Functions:
#   soak_rand N            R = a random number in 0..N-1, from SOAK_RNG
#                          (seeded with SOAK_SEED; call it in no subshell)
#   soak_burst CYCLE N     fire N random requests (at most SOAK_INFLIGHT
#                          running at once) in the background
#   soak_crash             SIGKILL hangard, wait for it and for the curls
#   soak_restart           hangard_start, quietly (its ok line is not
#                          counted: the cycle's line says it)
#   soak_retry_lost        after the restart, send again once each request
#                          with an Idempotency-Key that got no answer
#   soak_settle SECS       wait until no operation is queued or running
#   soak_check CYCLE       gather the store and libvirt and check every
#                          invariant; sets SOAK_VIOLATIONS (one per line)
#                          and SOAK_SUMMARY
#   soak_learn             refresh SOAK_STATE / SOAK_SNAPS / the ledger

SOAK_NAMES=${SOAK_NAMES:-4}
SOAK_INFLIGHT=${SOAK_INFLIGHT:-6}
SOAK_VMJSON='"vcpus":1,"memory_mib":64,"disk_gib":1'
declare -A SOAK_STATE=() SOAK_SNAPS=()
SOAK_CD=''
SOAK_NREQ=0
SOAK_PIDS=()
SOAK_VIOLATIONS=''
SOAK_SUMMARY=''
SOAK_SNAPSEQ=0
SOAK_T0=''
SOAK_RNG=${SOAK_SEED:-1}

soak_rand() {
	# an LCG of its own: $RANDOM is also drawn by lvhost_free_port (each
	# hangard start), which would make a seed replay nothing
	SOAK_RNG=$(((SOAK_RNG * 1103515245 + 12345) % 2147483648))
	R=$(((SOAK_RNG >> 8) % $1))
}

# soak_vm K: the name of VM number K of the pool
soak_vm() {
	printf '%sv%d' "$T_PFX" "$1"
}

# soak_send I KIND NAME METHOD PATH BODY KEY [DUP_OF [RETRY_OF]]: fire one
# request in the background; its results land in $SOAK_CD/I.*
soak_send() {
	local i=$1 kind=$2 name=$3 method=$4 path=$5 body=$6 key=$7
	local dup=${8:-null} retry=${9:-null} f=$SOAK_CD/$1 args=()
	jq -cn --argjson i "$i" --arg kind "$kind" --arg name "$name" \
		--arg method "$method" --arg path "$path" --arg body "$body" \
		--arg key "$key" --argjson dup "$dup" --argjson retry "$retry" \
		'{i: $i, kind: $kind, name: $name, method: $method, path: $path,
		  body: $body, key: $key, dup_of: $dup, retry_of: $retry}' >"$f.meta"
	args=(-sS -o "$f.body" -D "$f.hdr" -X "$method" --max-time 40
		-w '%{http_code}' -H 'Expect:')
	[ -n "$key" ] && args+=(-H "Idempotency-Key: $key")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	: >"$f.body"
	: >"$f.hdr"
	curl "${args[@]}" "$T_BASE$path" >"$f.code" 2>"$f.err" &
	SOAK_PIDS+=("$!")
}

# soak_reap: wait for finished curls until fewer than SOAK_INFLIGHT run
soak_reap() {
	local p live=()
	for p in "${SOAK_PIDS[@]}"; do
		if kill -0 "$p" 2>/dev/null; then live+=("$p"); else wait "$p" 2>/dev/null; fi
	done
	SOAK_PIDS=("${live[@]}")
}

# soak_pick: choose one request from what is known; sets P_KIND P_NAME
# P_METHOD P_PATH P_BODY
soak_pick() {
	local name st nsnap snaps wait='wait=0'
	soak_rand "$SOAK_NAMES"
	name=$(soak_vm "$R")
	st=${SOAK_STATE[$name]:-absent}
	snaps=${SOAK_SNAPS[$name]:-}
	nsnap=$(wc -w <<<"$snaps")
	# now and then a request that holds its reply until the operation
	# ends, so the kill also lands on waiting clients
	soak_rand 5
	[ "$R" = 0 ] && wait='wait=20'
	P_NAME=$name
	P_BODY=''
	P_METHOD=POST
	# weights per state: a table of "kind weight" pairs
	local table
	case $st in
	absent) table='create 12 create_start 12 start 1 delete 1 snapshot 1' ;;
	stopped) table='start 10 snapshot 5 snapdel 4 delete 5 create 1 pause 1 stop 1' ;;
	running) table='stop 6 pause 8 snapshot_mem 6 snapdel 3 delete 4 start 1 resume 1' ;;
	paused) table='resume 8 stop 4 snapshot_mem 5 snapdel 3 delete 4 pause 1' ;;
	*) table='start 3 stop 3 pause 2 resume 2 snapshot 2 snapdel 2 delete 3' ;;
	esac
	# no more than 3 snapshots per VM: delete one instead
	if [ "$nsnap" -ge 3 ]; then
		table=${table//snapshot_mem /snapdel }
		table=${table//snapshot /snapdel }
	fi
	local -a t
	read -r -a t <<<"$table"
	local total=0 k
	for ((k = 1; k < ${#t[@]}; k += 2)); do total=$((total + t[k])); done
	soak_rand "$total"
	for ((k = 1; k < ${#t[@]}; k += 2)); do
		if [ "$R" -lt "${t[k]}" ]; then break; fi
		R=$((R - t[k]))
	done
	P_KIND=${t[k - 1]}
	case $P_KIND in
	create | create_start)
		local start=false
		[ "$P_KIND" = create_start ] && start=true
		P_KIND=create
		P_PATH="/v1/vms?$wait"
		P_BODY="{\"name\":\"$name\",$SOAK_VMJSON,\"start\":$start}"
		;;
	start | pause | resume)
		P_PATH="/v1/vms/$name/$P_KIND?$wait"
		;;
	stop)
		P_PATH="/v1/vms/$name/stop?$wait"
		P_BODY='{"force":true}'
		;;
	delete)
		P_METHOD=DELETE
		P_PATH="/v1/vms/$name?$wait"
		;;
	snapshot | snapshot_mem)
		local mem=false
		[ "$P_KIND" = snapshot_mem ] && mem=true
		P_KIND=snapshot
		SOAK_SNAPSEQ=$((SOAK_SNAPSEQ + 1))
		P_PATH="/v1/vms/$name/snapshots?$wait"
		P_BODY="{\"name\":\"s$SOAK_SNAPSEQ\",\"memory\":$mem}"
		;;
	snapdel)
		local -a sn
		read -r -a sn <<<"$snaps"
		P_METHOD=DELETE
		if [ "${#sn[@]}" = 0 ]; then
			P_PATH="/v1/vms/$name/snapshots/none?$wait"
		else
			soak_rand "${#sn[@]}"
			P_PATH="/v1/vms/$name/snapshots/${sn[R]}?$wait"
		fi
		;;
	esac
}

# soak_burst CYCLE N: see above
soak_burst() {
	local cycle=$1 n=$2 i key
	SOAK_T0=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
	SOAK_NREQ=0
	SOAK_PIDS=()
	for ((i = 0; i < n; i++)); do
		while soak_reap; [ "${#SOAK_PIDS[@]}" -ge "$SOAK_INFLIGHT" ]; do
			sleep 0.02
		done
		key=''
		soak_rand 3
		[ "$R" = 0 ] && key="soak-$SOAK_SEED-$cycle-$i"
		# now and then repeat an earlier request of the burst that had a
		# key, with the same key: 409 while it runs, else its reply again
		soak_rand 6
		if [ "$R" = 0 ] && [ "$SOAK_NREQ" -gt 0 ]; then
			local j m
			for ((j = SOAK_NREQ - 1; j >= 0; j--)); do
				m=$SOAK_CD/$j.meta
				[ "$(jq -r .key "$m")" != '' ] || continue
				soak_send "$SOAK_NREQ" "$(jq -r .kind "$m")" "$(jq -r .name "$m")" \
					"$(jq -r .method "$m")" "$(jq -r .path "$m")" \
					"$(jq -r .body "$m")" "$(jq -r .key "$m")" "$j"
				SOAK_NREQ=$((SOAK_NREQ + 1))
				break
			done
			[ "$j" -ge 0 ] && continue
		fi
		soak_pick
		soak_send "$SOAK_NREQ" "$P_KIND" "$P_NAME" "$P_METHOD" "$P_PATH" "$P_BODY" "$key"
		SOAK_NREQ=$((SOAK_NREQ + 1))
		soak_rand 150
		sleep "0.$(printf '%03d' "$R")"
	done
}

# soak_crash: SIGKILL hangard; every curl of the burst then ends
soak_crash() {
	local p
	kill -KILL "$HANGARD_PID" 2>/dev/null
	wait "$HANGARD_PID" 2>/dev/null
	HANGARD_PID=''
	for p in "${SOAK_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	SOAK_PIDS=()
}

# soak_restart: hangard_start without its ok line (printed on failure)
soak_restart() {
	local passed=$T_PASSED out=$T_TMP/start.out
	if hangard_start >"$out" 2>&1; then
		T_PASSED=$passed
		return 0
	fi
	cat "$out"
	return 1
}

# soak_retry_lost: send each keyed request that got no answer once more
soak_retry_lost() {
	local i m n=$SOAK_NREQ
	SOAK_PIDS=()
	for ((i = 0; i < n; i++)); do
		[ "$(cat "$SOAK_CD/$i.code" 2>/dev/null)" = 000 ] || continue
		m=$SOAK_CD/$i.meta
		[ "$(jq -r .key "$m")" != '' ] || continue
		soak_send "$SOAK_NREQ" "$(jq -r .kind "$m")" "$(jq -r .name "$m")" \
			"$(jq -r .method "$m")" "$(jq -r .path "$m")" \
			"$(jq -r .body "$m")" "$(jq -r .key "$m")" null "$i"
		SOAK_NREQ=$((SOAK_NREQ + 1))
	done
	for i in "${SOAK_PIDS[@]}"; do wait "$i" 2>/dev/null; done
	SOAK_PIDS=()
}

# soak_busy: the number of queued + running operations ("" if no answer)
soak_busy() {
	local q r
	q=$(curl -fsS -m 10 "$T_BASE/v1/operations?status=queued&limit=1000" | jq '.operations | length') &&
		r=$(curl -fsS -m 10 "$T_BASE/v1/operations?status=running&limit=1000" | jq '.operations | length') &&
		echo $((q + r))
}

# soak_settle SECS: wait until nothing is queued or running; sets
# SOAK_SETTLE_MS; returns 1 if it did not happen within SECS
soak_settle() {
	local t0 n
	t0=$(t_ns_now)
	while :; do
		n=$(soak_busy)
		[ "$n" = 0 ] && break
		if [ $(($(t_ns_now) - t0)) -ge $(($1 * 1000)) ]; then
			SOAK_SETTLE_MS=$(($(t_ns_now) - t0))
			return 1
		fi
		sleep 0.2
	done
	SOAK_SETTLE_MS=$(($(t_ns_now) - t0))
}

# soak_requests_json: every request of the cycle with its outcome, as one
# JSON array on stdout
soak_requests_json() {
	local i f
	for ((i = 0; i < SOAK_NREQ; i++)); do
		f=$SOAK_CD/$i
		jq -c --arg code "$(cat "$f.code" 2>/dev/null)" \
			--arg replayed "$(_t_header idempotent-replayed "$f.hdr" 2>/dev/null)" \
			--rawfile raw "$f.body" \
			'. + {code: ($code | if . == "" then "000" else . end),
			      replayed: ($replayed == "true"),
			      raw: $raw, reply: (try ($raw | fromjson) catch null)}' "$f.meta"
	done | jq -cs .
}

# soak_libvirt_json IDS...: what libvirt has, as JSON: domains with the
# test prefix, the pool's volumes, the pool dir's files, and for each
# domain (of IDS and the prefix) its state and snapshots
soak_libvirt_json() {
	local doms vols files cmd='' id all
	doms=$(t_virsh list --all --uuid --name 2>/dev/null |
		awk -v p="$T_PFX" 'NF == 2 && index($2, p) == 1 {print $1 " " $2}')
	t_virsh pool-refresh "$T_POOL" >/dev/null 2>&1
	vols=$(t_virsh vol-list "$T_POOL" 2>/dev/null | awk 'NF {print $1}')
	files=$(find "$T_TMP/images" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null)
	all=$( (printf '%s\n' "$@"; awk '{print $1}' <<<"$doms") | sed '/^$/d' | sort -u)
	for id in $all; do
		cmd+="echo @@state $id; domstate $id; echo @@snaps $id; snapshot-list --name $id; "
	done
	{
		echo "@@doms"
		printf '%s\n' "$doms"
		echo "@@vols"
		printf '%s\n' "$vols"
		echo "@@files"
		printf '%s\n' "$files"
		[ -n "$cmd" ] && timeout 60 virsh -c "$T_LV_URI" "$cmd" 2>/dev/null
	} | jq -Rn '
		reduce (inputs | select(length > 0)) as $l
		  ({sec: null, id: null, domains: [], vols: [], files: [], state: {}, snaps: {}};
		   if ($l | startswith("@@")) then
		     ($l | ltrimstr("@@") | split(" ")) as $w
		     | .sec = $w[0] | .id = $w[1]
		     | if .sec == "snaps" then .snaps[.id] = [] else . end
		   elif .sec == "doms" then
		     ($l | split(" ")) as $w | .domains += [{uuid: $w[0], name: $w[1]}]
		   elif .sec == "vols" then .vols += [$l]
		   elif .sec == "files" then .files += [$l]
		   elif .sec == "state" then
		     (if .state[.id] == null then .state[.id] = $l else . end)
		   elif .sec == "snaps" then .snaps[.id] += [$l | gsub("^ +| +$"; "")]
		   else . end)
		| del(.sec, .id)'
}

# the invariants, as a jq program: inputs $reqs (soak_requests_json), $vms
# (GET /v1/vms), $ops (GET /v1/operations?limit=1000), $lv
# (soak_libvirt_json), $snaps ({vm id: GET .../snapshots}), $prev (the
# ledger: [{id,name}] of the rows after the previous cycle), $t0 (when the
# cycle's burst began); prints one violation per line
# shellcheck disable=SC2016 # jq variables
SOAK_JQ_CHECK='
def vmid: if .kind != null and .vm_id != null then .vm_id else .id end;
def acked: (.code | test("^2"));
def desc: "request #\(.i) \(.method) \(.path)\(if .key != "" then " [key \(.key)]" else "" end)";
def statemap: {"shut off": "stopped", "running": "running", "paused": "paused",
               "crashed": "crashed", "in shutdown": "running", "pmsuspended": "paused"};
($vms.vms | map({key: .id, value: .}) | from_entries) as $rows
| ($ops.operations) as $O
| ([$O[] | select(.kind == "delete" and .status == "succeeded") | .vm_id]) as $deleted
| ($lv.domains | map({key: .uuid, value: .name}) | from_entries) as $doms
| [
  # 1. no 500 for any request, ever; other 5xx are listed too
  ($reqs[] | select(.code | test("^5")) |
    "\(desc) got \(.code): \(.raw | .[0:300])"),
  # 2. the same key, the same request: never done twice
  ($reqs[] | select(.dup_of != null or .retry_of != null) | . as $r
   | $reqs[] | select(.i == ($r.dup_of // $r.retry_of)) | . as $o
   | select(($r | acked) and ($o | acked) and $r.reply != null and $o.reply != null)
   | select(($r.reply | vmid) != ($o.reply | vmid))
   | "\($r | desc) repeats #\($o.i) with its key but names \($r.reply | vmid), not \($o.reply | vmid)"),
  # 3. an acknowledged create: its operation exists; succeeded -> row and
  # domain (unless deleted since); failed -> neither, nor a disk
  ($reqs[] | select(.kind == "create" and acked and .reply != null) | . as $r
   | ($r.reply | vmid) as $id
   | [$O[] | select(.kind == "create" and .vm_id == $id)] as $c
   | if ($c | length) == 0 then
       "\($r | desc) was acknowledged (\($r.code), vm \($id)) but no create operation of it exists"
     elif $c[0].status == "succeeded" then
       (if $rows[$id] == null and ($deleted | index($id)) == null then
          "\($r | desc): create of \($r.name) (\($id)) succeeded but there is no row (and no delete of it succeeded)"
        else empty end)
     elif ($c[0].status == "failed" or $c[0].status == "cancelled") then
       (if $rows[$id] != null then "\($r | desc): create of \($r.name) (\($id)) \($c[0].status) but its row exists" else empty end),
       (if $doms[$id] != null or (($lv.state[$id] // "") != "") then "\($r | desc): create of \($r.name) (\($id)) \($c[0].status) but libvirt has its domain" else empty end),
       (if ($lv.vols | index("\($id).qcow2")) != null or ($lv.files | index("\($id).qcow2")) != null then "\($r | desc): create of \($r.name) (\($id)) \($c[0].status) but its disk is left" else empty end)
     else
       "\($r | desc): create operation \($c[0].id) is still \($c[0].status)"
     end),
  # 4. an acknowledged operation (202/200 OPERATION) was journaled
  ($reqs[] | select(acked and .reply != null and .reply.kind != null) | . as $r
   | select([$O[] | select(.id == $r.reply.id)] | length == 0)
   | "\($r | desc): acknowledged operation \($r.reply.id) (\($r.reply.kind)) is not in the journal"),
  # 5. every VM of the previous ledger is still there, unless deleted
  ($prev[] | . as $p | select($rows[$p.id] == null and ($deleted | index($p.id)) == null)
   | "VM \(.name) (\(.id)) existed after the last cycle; now it has no row and no delete of it succeeded"),
  # 6. a delete that succeeded left nothing
  ($deleted | unique[] | . as $id
   | (if $rows[$id] != null then "delete of \($id) succeeded but its row exists" else empty end),
     (if $doms[$id] != null then "delete of \($id) succeeded but libvirt still has domain \($doms[$id])" else empty end),
     (if ($lv.vols + $lv.files | index("\($id).qcow2")) != null then "delete of \($id) succeeded but its disk is left" else empty end)),
  # 6b. deletes are idempotent and run again after a crash (docs/api.md):
  # one that fails left a VM or snapshot the client asked to be gone
  ($O[] | select(.created_at >= $t0 and .status == "failed"
                 and (.kind == "delete" or .kind == "snapshot_delete"))
   | "\(.kind) of \(.vm) (operation \(.id), step \(.step)) failed: \(.error.type | ltrimstr("urn:hangar:problem:")): \(.error.detail)"),
  # 7. nothing queued or running
  ($O[] | select(.status == "queued" or .status == "running")
   | "operation \(.id) (\(.kind) \(.vm)) is still \(.status) after recovery"),
  # 8. each row: its domain (same uuid and name), its disk, its snapshots
  ($vms.vms[] | . as $v
   | (if ($lv.state[$v.id] // "") == "" then "row \($v.name) (\($v.id)) has no domain in libvirt"
      elif $doms[$v.id] != $v.name then "row \($v.name) (\($v.id)): libvirt names the domain \($doms[$v.id])"
      else empty end),
     (if ($lv.vols | index("\($v.id).qcow2")) == null then "row \($v.name): no volume \($v.id).qcow2 in the pool" else empty end),
     (if ($lv.files | index("\($v.id).qcow2")) == null then "row \($v.name): no file \($v.id).qcow2 in the pool dir" else empty end),
     ([($snaps[$v.id].snapshots // [])[] | select(.status != "ready") | .name] as $nr
      | if ($nr | length) > 0 then "row \($v.name): snapshots not ready after recovery: \($nr | join(","))" else empty end),
     (([($snaps[$v.id].snapshots // [])[] | .name] | sort) as $a
      | (($lv.snaps[$v.id] // []) | sort) as $l
      | if $a != $l then "row \($v.name): snapshots in hangar [\($a | join(","))], in libvirt [\($l | join(","))]" else empty end),
     (if $v.operation != null then "row \($v.name) still has operation \($v.operation)" else empty end)),
  # 9. each prefixed domain has its row
  ($lv.domains[] | select($rows[.uuid] == null or $rows[.uuid].name != .name)
   | "libvirt domain \(.name) (\(.uuid)) has no row"),
  # 10. each volume and file of the pool belongs to a row
  (($lv.vols[] | select(($rows[rtrimstr(".qcow2")] // null) == null)
    | "volume \(.) in pool has no row"),
   ($lv.files[] | select(($rows[rtrimstr(".qcow2")] // null) == null)
    | "file \(.) in the pool dir has no row"))
  ] | .[]'

# the observed state of each row against libvirt: one mismatch per line
# shellcheck disable=SC2016
SOAK_JQ_STATES='
def statemap: {"shut off": "stopped", "running": "running", "paused": "paused",
               "crashed": "crashed", "in shutdown": "running", "pmsuspended": "paused"};
$vms.vms[] | . as $v | ($lv.state[$v.id] // "") as $s
| select($s != "" and (statemap[$s] // $s) != $v.observed_state)
| "row \($v.name): observed_state \($v.observed_state) (state \($v.state)) but libvirt says \($s)"'

# soak_gather: GET /v1/vms, the operations, each VM's snapshots and
# libvirt, into $SOAK_CD/{vms,ops,snaps,lv}.json; returns 1 if hangard
# did not answer
soak_gather() {
	local id
	curl -fsS -m 20 "$T_BASE/v1/vms" >"$SOAK_CD/vms.json" || return 1
	curl -fsS -m 20 "$T_BASE/v1/operations?limit=1000" >"$SOAK_CD/ops.json" || return 1
	for id in $(jq -r '.vms[].id' "$SOAK_CD/vms.json"); do
		printf '{"%s":' "$id"
		curl -fsS -m 20 "$T_BASE/v1/vms/$id/snapshots" || printf null
		printf '}\n'
	done | jq -cs 'add // {}' >"$SOAK_CD/snaps.json"
	# shellcheck disable=SC2046
	soak_libvirt_json $(jq -r '.vms[].id' "$SOAK_CD/vms.json") >"$SOAK_CD/lv.json"
}

# soak_check CYCLE: see above
soak_check() {
	local i v='' s='' ic nvm nsnap rc ops
	soak_requests_json >"$SOAK_CD/reqs.json"
	# observed states: libvirt events and the start-up sweep settle them;
	# give them a few seconds (the other checks use the last gather)
	for ((i = 0; i < 20; i++)); do
		if ! soak_gather; then
			SOAK_VIOLATIONS="hangard did not answer GET /v1/vms, /v1/operations or .../snapshots after the restart"
			return
		fi
		s=$(jq -rn --slurpfile vms "$SOAK_CD/vms.json" --slurpfile lv "$SOAK_CD/lv.json" \
			'$vms[0] as $vms | $lv[0] as $lv | '"$SOAK_JQ_STATES" 2>&1)
		[ -z "$s" ] && break
		sleep 0.25
	done
	v=$(jq -rn --slurpfile reqs "$SOAK_CD/reqs.json" --slurpfile vms "$SOAK_CD/vms.json" \
		--slurpfile ops "$SOAK_CD/ops.json" --slurpfile lv "$SOAK_CD/lv.json" \
		--slurpfile snaps "$SOAK_CD/snaps.json" --slurpfile prev "$T_TMP/ledger.json" \
		--arg t0 "$SOAK_T0" '$reqs[0] as $reqs | $vms[0] as $vms | $ops[0] as $ops | $lv[0] as $lv
		 | $snaps[0] as $snaps | $prev[0] as $prev | '"$SOAK_JQ_CHECK" 2>&1)
	rc=$?
	if [ "$rc" != 0 ]; then
		v="the checker failed (a bug of the test; inputs kept in $SOAK_CD/*.json): $v"
		cp "$T_TMP/ledger.json" "$SOAK_CD/ledger.json"
	fi
	[ -n "$s" ] && v+=${v:+$'\n'}$s
	ic=$(sqlite3 -cmd '.timeout 5000' "$T_TMP/hangar.db" 'PRAGMA integrity_check' 2>&1)
	[ "$ic" = ok ] || v+=${v:+$'\n'}"PRAGMA integrity_check: $(_t_cut "$ic")"
	SOAK_VIOLATIONS=$v
	nvm=$(jq '.vms | length' "$SOAK_CD/vms.json")
	nsnap=$(jq '[.[].snapshots // [] | length] | add // 0' "$SOAK_CD/snaps.json")
	ops=$(jq -r --arg t "$SOAK_T0" '[.operations[] | select(.created_at >= $t)] |
		"\(length) ops (\([.[] | select(.status == "succeeded")] | length) succeeded, " +
		"\([.[] | select(.status == "failed")] | length) failed, " +
		"\([.[] | select(.error.type? == "urn:hangar:problem:interrupted")] | length) interrupted)"' \
		"$SOAK_CD/ops.json")
	SOAK_SUMMARY="$ops; $nvm VMs, $nsnap snapshots; ok: acked creates+ops, ledger, deletes, domains, disks, snapshots, states, nothing queued/running, integrity_check"
}

# soak_outcomes: "N requests: A accepted, C 4xx, L no answer, R retried"
soak_outcomes() {
	jq -r '"\(length) requests (\([.[] | select(.code | test("^2"))] | length) accepted, " +
		"\([.[] | select(.code | test("^4"))] | length) refused, " +
		"\([.[] | select(.code == "000")] | length) unanswered, " +
		"\([.[] | select(.dup_of != null)] | length) dup, " +
		"\([.[] | select(.retry_of != null)] | length) retried)"' "$SOAK_CD/reqs.json"
}

# soak_learn: refresh SOAK_STATE, SOAK_SNAPS and the ledger from the last
# soak_gather (before the first: an empty ledger, every name absent)
soak_learn() {
	local k name st id
	if [ -z "$SOAK_CD" ] || [ ! -s "$SOAK_CD/vms.json" ] || [ ! -s "$SOAK_CD/snaps.json" ]; then
		[ -s "$T_TMP/ledger.json" ] || echo '[]' >"$T_TMP/ledger.json"
		return 0
	fi
	for ((k = 0; k < SOAK_NAMES; k++)); do
		name=$(soak_vm "$k")
		SOAK_STATE[$name]=absent
		SOAK_SNAPS[$name]=''
	done
	while read -r name st id; do
		[ -n "$name" ] || continue
		SOAK_STATE[$name]=$st
		SOAK_SNAPS[$name]=$(jq -r --arg id "$id" '(.[$id].snapshots // [])[].name' \
			"$SOAK_CD/snaps.json" | tr '\n' ' ')
	done < <(jq -r '.vms[] | "\(.name) \(.state) \(.id)"' "$SOAK_CD/vms.json")
	jq -c '[.vms[] | {id, name}]' "$SOAK_CD/vms.json" >"$T_TMP/ledger.new" &&
		mv "$T_TMP/ledger.new" "$T_TMP/ledger.json"
}
