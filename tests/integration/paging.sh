#!/usr/bin/env bash
#
# paging.sh - paging through lists and conditional requests, on libvirt's
# test driver (no QEMU): PAGING_VMS (default 5,000) VMs made through the
# API on one test:/// host, then
#   - GET /v1/vms paged by name with ?limit=100, following the Link
#     headers, while VMs are created and deleted ahead of and behind the
#     cursor: strictly in order, every VM that lived through the walk
#     exactly once, none deleted before the cursor reached it, each made
#     ahead of it once; by creation too; operations newest first;
#   - ?limit, ?sort and ?after refused with 400 naming the field; the
#     filters; a small list (groups) paged in memory the same way;
#   - ETag on GET, 304 for If-None-Match, 412 for a stale If-Match on
#     PATCH, DELETE and an action (and nothing changed), success with the
#     current one, and two PATCHes racing with the same If-Match: one 200
#     and one 412, every time.
#
# Usage: BUILD=build tests/integration/paging.sh
# timeout: 900
# shellcheck disable=SC2317 # functions run through t_wait_for
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init paging nohost

NV=${PAGING_VMS:-5000}
PAR=16

# one roomy test-driver host: 256 CPUs, 128 GiB; its pool is the test
# driver's fixed 100 GiB, so disk_ratio lets 1-GiB disks overcommit it
cat >"$T_TMP/node.xml" <<EOF
<node>
  <cpu><mhz>2000</mhz><model>i686</model><nodes>1</nodes><sockets>1</sockets>
  <cores>256</cores><threads>1</threads><active>256</active></cpu>
  <memory>$((128 * 1048576))</memory>
</node>
EOF
T_LV_URI="test://$T_TMP/node.xml"
HANGARD_CONF_EXTRA="cpu_ratio = 64
ram_ratio = 1.0
disk_ratio = 100
reserved_vcpus = 0
reserved_memory_mib = 0
reserved_disk_gib = 0"
hangard_start || t_summary

# ================================================================ make NV
# p00001..pNNNNN, sent in a shuffled order (so name order and creation
# order differ), by one curl with PAR transfers at a time
vm_body() { printf '{"name":"%s","vcpus":1,"memory_mib":16,"disk_gib":1}' "$1"; }
seq -f 'p%05g' 1 "$NV" | shuf >"$T_TMP/names"
first=1
while read -r n; do
	# "next" between transfers (a last one would start an empty one)
	[ "$first" = 1 ] || printf 'next\n'
	first=0
	printf 'url = "%s/v1/vms"\nrequest = "POST"\n' "$T_BASE"
	printf 'header = "Authorization: Bearer %s"\n' "$HANGAR_TEST_TOKEN"
	printf 'header = "Content-Type: application/json"\n'
	printf "data-binary = %s\n" "\"$(vm_body "$n" | sed 's/"/\\"/g')\""
	printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
done <"$T_TMP/names" >"$T_TMP/creates.curl"
t0=$(t_ns_now)
curl -sS -q --parallel --parallel-max "$PAR" -K "$T_TMP/creates.curl" \
	>"$T_TMP/creates.codes" 2>"$T_TMP/creates.err"
echo "# $NV creates answered in $(($(t_ns_now) - t0)) ms ($PAR at a time)"
t_eq "all $NV creates got 201" \
	"$(sort "$T_TMP/creates.codes" | uniq -c | awk '{print $2 ":" $1}' | paste -sd ' ')" \
	"201:$NV"
settled() {
	t_http GET "/v1/vms?state=creating&limit=1"
	[ "$(t_json '.vms | length')" = 0 ] && [ -z "$T_LINK" ]
}
t_check "every create settles within 300 s" t_wait_for 300 settled

# next_url: the URL of T_LINK's rel="next", or "" (none: the last page)
next_url() {
	sed -n 's/^<\([^>]*\)>; rel="next"$/\1/p' <<<"$T_LINK"
}

# ============================================================ the big walk
# By name, 100 at a time.  After every 5th page: delete one VM ahead of
# the cursor (never to be seen) and one behind it (seen already), create
# one behind it (a...: never seen) and one ahead of it (q...: seen once).
echo "# --- walking $NV VMs by name while VMs come and go"
: >"$T_TMP/walk"
: >"$T_TMP/gone_ahead"
: >"$T_TMP/gone_behind"
: >"$T_TMP/made_ahead"
sort "$T_TMP/names" >"$T_TMP/sorted"
url="/v1/vms?limit=100"
pages=0 bad_page='' mut_bad=''
t0=$(t_ns_now)
while [ -n "$url" ]; do
	t_http GET "$url"
	if [ "$T_STATUS" != 200 ]; then
		bad_page="$url: $T_STATUS $(_t_cut "$T_BODY")"
		break
	fi
	t_json '.vms[].name' >>"$T_TMP/walk"
	pages=$((pages + 1))
	url=$(next_url)
	if [ -n "$url" ] && ((pages % 5 == 0)); then
		last=$(tail -n 1 "$T_TMP/walk")
		ahead=$(awk -v l="$last" '$0 > l' "$T_TMP/sorted" | sed -n '150p')
		behind=$(awk -v l="$last" '$0 < l' "$T_TMP/sorted" | sed -n '3p')
		for v in $ahead $behind; do
			t_http DELETE "/v1/vms/$v?wait=30"
			[ "$T_STATUS" = 200 ] || mut_bad+=" delete $v: $T_STATUS"
		done
		[ -z "$ahead" ] || echo "$ahead" >>"$T_TMP/gone_ahead"
		[ -z "$behind" ] || echo "$behind" >>"$T_TMP/gone_behind"
		sed -i "/^$ahead\$/d; /^$behind\$/d" "$T_TMP/sorted"
		t_http POST /v1/vms "$(vm_body "a$pages")"
		[ "$T_STATUS" = 201 ] || mut_bad+=" create a$pages: $T_STATUS"
		t_http POST /v1/vms "$(vm_body "q$pages")"
		[ "$T_STATUS" = 201 ] || mut_bad+=" create q$pages: $T_STATUS"
		echo "q$pages" >>"$T_TMP/made_ahead"
	fi
done
echo "# walked $pages pages in $(($(t_ns_now) - t0)) ms (with the changes)"
t_eq "every page answered 200" "$bad_page" ""
t_eq "every create and delete during the walk succeeded" "${mut_bad# }" ""
t_eq "the walk is strictly in name order (so no VM twice)" \
	"$(LC_ALL=C sort -uc "$T_TMP/walk" 2>&1 && echo ordered)" ordered
t_eq "every p-VM that lived through the walk was seen exactly once" \
	"$(grep '^p' "$T_TMP/walk" | grep -vxFf "$T_TMP/gone_behind" | md5sum)" \
	"$(md5sum <"$T_TMP/sorted")"
t_eq "every VM deleted behind the cursor was seen (once: in order)" \
	"$(grep -cxFf "$T_TMP/gone_behind" "$T_TMP/walk")" \
	"$(wc -l <"$T_TMP/gone_behind")"
t_eq "no VM deleted ahead of the cursor was seen" \
	"$(grep -cxFf "$T_TMP/gone_ahead" "$T_TMP/walk")" 0
t_eq "every VM made ahead of the cursor was seen once" \
	"$(grep -cxFf "$T_TMP/made_ahead" "$T_TMP/walk")" "$(wc -l <"$T_TMP/made_ahead")"
t_eq "no VM made behind the cursor was seen" "$(grep -c '^a' "$T_TMP/walk")" 0
t_check "the walk took at least $((NV / 100)) pages" test "$pages" -ge $((NV / 100))

# by creation: the same set, in creation order, no duplicates
full=$((NV < 1000 ? NV : 1000))
t_http GET "/v1/vms?limit=1000"
t_expect_json '.vms | length' "$full" "limit=1000: $full VMs"
url="/v1/vms?sort=created&limit=1000"
: >"$T_TMP/bycreated"
while [ -n "$url" ]; do
	t_http GET "$url"
	[ "$T_STATUS" = 200 ] || break
	t_json '.vms[] | "\(.created_at) \(.id) \(.name)"' >>"$T_TMP/bycreated"
	url=$(next_url)
done
t_eq "by creation: every VM once, in (created_at, id) order" \
	"$(LC_ALL=C sort -c "$T_TMP/bycreated" 2>&1 && awk '{print $3}' "$T_TMP/bycreated" | sort | uniq -d | wc -l)" 0
t_eq "by creation: as many VMs as by name" "$(wc -l <"$T_TMP/bycreated")" \
	"$(($(wc -l <"$T_TMP/sorted") + 2 * $(wc -l <"$T_TMP/made_ahead")))"

# the CLI follows the Link headers: the whole list, 100 at a time
out=$(HANGAR_URL=$HANGARD_URL "$BUILD/hangar" -o json vm list 2>&1)
t_eq "hangar vm list: every VM, page after page" \
	"$(jq -r '.vms[].name' <<<"$out" | LC_ALL=C sort | md5sum)" \
	"$(awk '{print $3}' "$T_TMP/bycreated" | LC_ALL=C sort | md5sum)"

# operations: newest first, every one once
url="/v1/operations?limit=1000"
: >"$T_TMP/ops"
while [ -n "$url" ]; do
	t_http GET "$url"
	[ "$T_STATUS" = 200 ] || break
	t_json '.operations[] | "\(.created_at) \(.id)"' >>"$T_TMP/ops"
	url=$(next_url)
done
t_eq "operations: newest first, none twice" \
	"$(LC_ALL=C sort -rc "$T_TMP/ops" 2>&1 && sort -u "$T_TMP/ops" | wc -l)" \
	"$(wc -l <"$T_TMP/ops")"
t_check "operations: at least one per VM made" test "$(wc -l <"$T_TMP/ops")" -ge "$NV"

# ======================================================= refused, filters
for q in limit=0 limit=1001 limit=x sort=size after=nope 'after=AAAA'; do
	t_http GET "/v1/vms?$q"
	t_expect_problem 400 "GET /v1/vms?$q: 400"
	t_expect_json .field "${q%%=*}" "GET /v1/vms?$q names ${q%%=*}"
done
t_http GET "/v1/vms?limit=2"
by_name=$(next_url)
t_http GET "$by_name&sort=created"
t_expect_problem 400 "a cursor made for sort=name, used with sort=created: 400"
t_expect_json .field after "... naming after"
t_http GET "/v1/hosts?sort=nope"
t_expect_json .field sort "GET /v1/hosts?sort=nope names sort"
t_http GET "/v1/vms?state=bogus"
t_expect_problem 400 "state=bogus: 400"
t_http GET "/v1/vms?host=local&limit=1000"
t_expect_json '.vms | length' "$full" "host=local: a full page"
t_http GET "/v1/vms?host=nohost"
t_expect_json '.vms | length' 0 "host=nohost: none"
t_http GET "/v1/vms?image=nothing"
t_expect_json '.vms | length' 0 "image=nothing: none"
t_http GET "/v1/vms?network=nothing"
t_expect_json '.vms | length' 0 "network=nothing: none"
t_http GET "/v1/hosts?label=zone=z9"
t_expect_json '.hosts | length' 0 "hosts label=zone=z9: none"
t_http GET "/v1/hosts?state=ready"
t_expect_json '.hosts | length' 1 "hosts state=ready: local"

# a small list, paged in memory: 5 groups, 2 at a time
for g in g5 g3 g1 g4 g2; do
	t_http POST /v1/groups "{\"name\":\"$g\",\"policy\":\"anti-affinity\"}"
done
url="/v1/groups?limit=2"
seen='' n=0
while [ -n "$url" ] && ((n < 10)); do
	t_http GET "$url"
	seen+=$(t_json '[.groups[].name] | join(",")')";"
	url=$(next_url)
	n=$((n + 1))
done
t_eq "groups, 2 at a time, by name, Link until the end" "$seen" "g1,g2;g3,g4;g5;"

# ================================================================= ETags
echo "# --- ETag, If-None-Match, If-Match"
vm=etag1
t_http POST "/v1/vms?wait=30" "$(vm_body "$vm")"
t_expect_status 201 "a VM of its own for the ETag checks"
t_http GET "/v1/vms/$vm"
t_expect_status 200
etag=$T_ETAG
t_match "GET /v1/vms/$vm has a strong ETag" "$etag" '^"[0-9]+"$'
T_HTTP_HDR="If-None-Match: $etag" t_http GET "/v1/vms/$vm"
t_expect_status 304 "If-None-Match with the current ETag: 304"
t_eq "... with no body" "$T_BODY" ""
t_eq "... and the ETag" "$T_ETAG" "$etag"
T_HTTP_HDR='If-None-Match: "1"' t_http GET "/v1/vms/$vm"
t_expect_status 200 "If-None-Match with an old ETag: 200"
T_HTTP_HDR='If-Match: 7' t_http PATCH "/v1/vms/$vm" '{"on_drift":"alert"}'
t_expect_problem 400 "a malformed If-Match: 400"

t_http PATCH "/v1/vms/$vm" '{"on_drift":"alert"}'
t_expect_status 200 "PATCH without If-Match still works"
t_http GET "/v1/vms/$vm"
new=$T_ETAG
t_check_not "the PATCH changed the ETag" test "$new" = "$etag"
T_HTTP_HDR="If-Match: $etag" t_http PATCH "/v1/vms/$vm" '{"on_drift":"enforce"}'
t_expect_problem 412 "PATCH with a stale If-Match: 412"
t_expect_json .field If-Match "... naming If-Match"
t_expect_json .etag "$new" "... and the current ETag"
T_HTTP_HDR="If-Match: $etag" t_http DELETE "/v1/vms/$vm"
t_expect_problem 412 "DELETE with a stale If-Match: 412"
T_HTTP_HDR="If-Match: $etag" t_http POST "/v1/vms/$vm/start"
t_expect_problem 412 "POST start with a stale If-Match: 412"
t_http GET "/v1/vms/$vm"
t_expect_json '"\(.on_drift) \(.state)"' "alert stopped" \
	"after the 412s: nothing changed (on_drift alert, still stopped)"
t_eq "... and the ETag is the same" "$T_ETAG" "$new"
T_HTTP_HDR="If-Match: \"1\", $new" t_http PATCH "/v1/vms/$vm" '{"on_drift":"enforce"}'
t_expect_status 200 "PATCH with the current ETag in If-Match's list: 200"
t_expect_json .on_drift enforce "... and it changed"
t_http GET "/v1/vms/$vm"
T_HTTP_HDR="If-Match: $T_ETAG" t_http POST "/v1/vms/$vm/start?wait=30"
t_expect_status 200 "POST start with the current If-Match: 200"
t_http GET "/v1/vms/$vm"
T_HTTP_HDR="If-None-Match: *" t_http PATCH "/v1/vms/$vm" '{"on_drift":"record"}'
t_expect_problem 412 "If-None-Match: * on a VM that exists: 412"
T_HTTP_HDR="If-Match: *" t_http PATCH "/v1/vms/$vm" '{"on_drift":"record"}'
t_expect_status 200 "If-Match: * on a VM that exists: 200"

# two PATCHes racing with the same If-Match: exactly one wins, every time
race_bad=''
for i in 1 2 3 4 5 6; do
	t_http GET "/v1/vms/$vm"
	tag=$T_ETAG
	race_pids=()
	for k in 1 2; do
		curl -sS -o /dev/null -w '%{http_code}\n' -X PATCH \
			-H "If-Match: $tag" -H 'Content-Type: application/json' \
			--data-binary "{\"on_drift\":\"$([ "$k" = 1 ] && echo alert || echo record)\"}" \
			"$T_BASE/v1/vms/$vm" >"$T_TMP/race.$k" &
		race_pids+=($!)
	done
	wait "${race_pids[@]}"
	got=$(sort "$T_TMP/race.1" "$T_TMP/race.2" | paste -sd ' ')
	[ "$got" = "200 412" ] || race_bad+=" round $i: $got"
done
t_eq "two PATCHes with the same If-Match: one 200 and one 412 (6 rounds)" "${race_bad# }" ""

# other resources: a host and a group carry ETags too
t_http GET /v1/hosts/local
t_match "GET /v1/hosts/local has an ETag" "$T_ETAG" '^"[0-9]+"$'
T_HTTP_HDR='If-Match: "1"' t_http PATCH /v1/hosts/local '{"labels":{"zone":"z1"}}'
t_expect_problem 412 "PATCH a host with a stale If-Match: 412"
t_http GET /v1/groups/g1
T_HTTP_HDR="If-None-Match: $T_ETAG" t_http GET /v1/groups/g1
t_expect_status 304 "a group: 304 for its ETag"
T_HTTP_HDR='If-Match: "1"' t_http DELETE /v1/groups/g1
t_expect_problem 412 "DELETE a group with a stale If-Match: 412"
t_http GET /v1/groups/g1
t_expect_status 200 "... and it is still there"

t_summary
