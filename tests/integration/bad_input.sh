#!/usr/bin/env bash
#
# bad_input.sh - every malformed, out-of-range or misdirected request gets
# the right 4xx status and a problem+json body (never a 5xx), and nothing
# of it reaches libvirt: no domain, no volume, no file.
#
# Usage: BUILD=build tests/integration/bad_input.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init bad
hangard_start || t_summary

OK=${T_PFX}ok              # the one legitimate VM
W=wait=60

# bad NAME STATUS [FIELD] -- METHOD URL [BODY]: the request gets problem
# STATUS (and names FIELD when given)
bad() {
	local name=$1 status=$2 field=''
	shift 2
	if [ "$1" != -- ]; then field=$1; shift; fi
	shift
	t_http "$@"
	t_expect_problem "$status" "$name: $status"
	if [ -n "$field" ]; then
		t_expect_json .field "$field" "$name: field is $field"
	fi
}

# create_bad NAME FIELD JSON: POST /v1/vms JSON gets 400 naming FIELD
create_bad() {
	bad "$1" 400 "$2" -- POST "/v1/vms?$W" "$3"
}

t_http POST "/v1/vms?$W" "{\"name\":\"$OK\",\"vcpus\":1,\"memory_mib\":64,\"disk_gib\":1}"
t_expect_status 201 "create the legitimate vm $OK"
t_expect_json .state stopped "$OK is stopped"
OK_ID=$(t_json .id)

# --- bodies that are not what POST /v1/vms takes
bad "malformed JSON" 400 -- POST "/v1/vms?$W" '{"name":"bad-m",'
bad "truncated string" 400 -- POST "/v1/vms?$W" '{"name":"bad-m'
bad "empty body" 400 -- POST "/v1/vms?$W" ''
bad "JSON array body" 400 -- POST "/v1/vms?$W" '[]'
bad "JSON string body" 400 -- POST "/v1/vms?$W" '"bad-s"'
bad "JSON null body" 400 -- POST "/v1/vms?$W" 'null'
bad "trailing garbage" 400 -- POST "/v1/vms?$W" '{"name":"bad-t"} x'
printf '{"name":"bad-\xff\xfe"}' >"$T_TMP/badutf8.json"
bad "invalid UTF-8" 400 -- POST "/v1/vms?$W" "@$T_TMP/badutf8.json"
create_bad "unknown field" bogus '{"name":"bad-u","bogus":1}'
create_bad "unknown nested field name" bogus '{"name":"bad-u","vcpus":1,"bogus":{"a":1}}'

create_bad "vcpus as a string" vcpus '{"name":"bad-v","vcpus":"two"}'
create_bad "vcpus as a float" vcpus '{"name":"bad-v","vcpus":1.5}'
create_bad "vcpus null" vcpus '{"name":"bad-v","vcpus":null}'
create_bad "start as a string" start '{"name":"bad-v","start":"yes"}'
create_bad "memory_mib as a bool" memory_mib '{"name":"bad-v","memory_mib":true}'
create_bad "vcpus 0" vcpus '{"name":"bad-v","vcpus":0}'
create_bad "vcpus 257" vcpus '{"name":"bad-v","vcpus":257}'
create_bad "vcpus -1" vcpus '{"name":"bad-v","vcpus":-1}'
create_bad "memory_mib -1" memory_mib '{"name":"bad-v","memory_mib":-1}'
create_bad "memory_mib 15" memory_mib '{"name":"bad-v","memory_mib":15}'
# (a JSON parser may refuse these two before any field is looked at)
bad "memory_mib 2^63" 400 -- POST "/v1/vms?$W" '{"name":"bad-v","memory_mib":9223372036854775808}'
create_bad "disk_gib 10^12" disk_gib '{"name":"bad-v","disk_gib":1000000000000}'
create_bad "disk_gib 0" disk_gib '{"name":"bad-v","disk_gib":0}'
create_bad "disk_gib 65537" disk_gib '{"name":"bad-v","disk_gib":65537}'

create_bad "missing name" name '{"vcpus":1,"memory_mib":64,"disk_gib":1}'
create_bad "name not a string" name '{"name":123}'
create_bad "name with XML" name '{"name":"a</name><x>"}'
create_bad "name ../../etc" name '{"name":"../../etc"}'
create_bad "name of 64 characters" name "{\"name\":\"$(printf 'a%.0s' {1..64})\"}"
create_bad "name with non-ASCII" name '{"name":"Ünï"}'
create_bad "name starting with -" name '{"name":"-abc"}'
create_bad "name shaped like a uuid" name '{"name":"0b6e2a4e-2f7c-4d3b-9d55-1c4f6ad2e0b1"}'
create_bad "name in upper case" name '{"name":"ABC"}'
create_bad "empty name" name '{"name":""}'
bad "name with a NUL" 400 -- POST "/v1/vms?$W" '{"name":"a\u0000b"}'
create_bad "name with a space" name '{"name":"a b"}'
create_bad "name with a dot" name '{"name":"a.b"}'
create_bad "name with a newline" name '{"name":"a\nb"}'

# --- size, media type, nesting
{
	printf '{"name":"bad-big","pad":"'
	head -c $((1024 * 1024 + 1024)) /dev/zero | tr '\0' x
	printf '"}'
} >"$T_TMP/big.json"
bad "body over 1 MiB" 413 -- POST "/v1/vms?$W" "@$T_TMP/big.json"
T_HTTP_CTYPE=text/plain \
	bad "Content-Type text/plain" 415 -- POST "/v1/vms?$W" '{"name":"bad-ct"}'
T_HTTP_CTYPE=application/x-www-form-urlencoded \
	bad "Content-Type form" 415 -- POST "/v1/vms?$W" '{"name":"bad-ct"}'
printf '[%.0s' {1..10000} >"$T_TMP/deep.json"
bad "10000 [ (unbalanced)" 400 -- POST "/v1/vms?$W" "@$T_TMP/deep.json"
{
	printf '{"name":"bad-deep","vcpus":'
	printf '[%.0s' {1..10000}
	printf ']%.0s' {1..10000}
	printf '}'
} >"$T_TMP/deep2.json"
bad "10000 [ nested, balanced" 400 -- POST "/v1/vms?$W" "@$T_TMP/deep2.json"

# --- ?wait out of range (the request must be refused, not run)
bad "?wait=abc" 400 -- POST "/v1/vms?wait=abc" '{"name":"bad-w1","memory_mib":64,"disk_gib":1}'
bad "?wait=9999" 400 -- POST "/v1/vms?wait=9999" '{"name":"bad-w2","memory_mib":64,"disk_gib":1}'
bad "?wait=-1" 400 -- POST "/v1/vms?wait=-1" '{"name":"bad-w3","memory_mib":64,"disk_gib":1}'
bad "?wait= (empty)" 400 -- POST "/v1/vms?wait=" '{"name":"bad-w4","memory_mib":64,"disk_gib":1}'
bad "start ?wait=abc" 400 -- POST "/v1/vms/$OK/start?wait=abc"
bad "start ?wait=301" 400 -- POST "/v1/vms/$OK/start?wait=301"
t_eq "no operation ran for the refused ?wait requests" \
	"$(t_domstate "$OK_ID")" "shut off"

# --- operation bodies
bad "stop timeout_s 0" 400 timeout_s -- POST "/v1/vms/$OK/stop?$W" '{"timeout_s":0}'
bad "stop timeout_s 3601" 400 timeout_s -- POST "/v1/vms/$OK/stop?$W" '{"timeout_s":3601}'
bad "stop force as a string" 400 force -- POST "/v1/vms/$OK/stop?$W" '{"force":"yes"}'
bad "stop unknown field" 400 bogus -- POST "/v1/vms/$OK/stop?$W" '{"bogus":true}'
bad "reboot unknown field" 400 timeout_s -- POST "/v1/vms/$OK/reboot?$W" '{"timeout_s":5}'
bad "stop malformed body" 400 -- POST "/v1/vms/$OK/stop?$W" '{"force":'

# --- resources that do not exist, routes, methods
bad "GET unknown vm" 404 -- GET /v1/vms/bad-nosuch
bad "start unknown vm" 404 -- POST "/v1/vms/bad-nosuch/start?$W"
bad "DELETE unknown vm" 404 -- DELETE "/v1/vms/bad-nosuch?$W"
bad "GET unknown vm by uuid" 404 -- GET /v1/vms/00000000-0000-4000-8000-000000000000
bad "GET unknown operation" 404 -- GET /v1/operations/00000000-0000-4000-8000-000000000000
bad "GET unknown host" 404 -- GET /v1/hosts/bad-nosuch
bad "unknown route /v1/nothing" 404 -- GET /v1/nothing
bad "unknown route /nothing" 404 -- GET /nothing
bad "unknown verb on a vm" 404 -- POST "/v1/vms/$OK/explode"
bad "unknown route /v2/vms" 404 -- GET /v2/vms
bad "PUT /v1/vms" 405 -- PUT /v1/vms '{"name":"bad-put"}'
bad "DELETE /v1/vms" 405 -- DELETE /v1/vms
bad "PUT /v1/hosts" 405 -- PUT /v1/hosts '{}'
bad "POST /v1/hosts without name" 400 -- POST /v1/hosts '{}'
bad "GET /v1/vms/NAME/start" 405 -- GET "/v1/vms/$OK/start"
bad "PUT /v1/vms/NAME" 405 -- PUT "/v1/vms/$OK" '{}'
bad "PATCH /v1/vms/NAME with nothing to change" 400 -- PATCH "/v1/vms/$OK" '{}'
bad "PATCH /v1/vms/NAME name (not changeable)" 400 -- PATCH "/v1/vms/$OK" '{"name":"x"}'
bad "POST snapshots, name with a NUL" 400 -- POST "/v1/vms/$OK/snapshots" '{"name":"a\u0000b"}'
bad "POST snapshots, XML in the name" 400 name -- POST "/v1/vms/$OK/snapshots" '{"name":"<x/>"}'
{
	printf '{"name":"'
	head -c $((1024 * 1024 + 1024)) /dev/zero | tr '\0' a
	printf '"}'
} >"$T_TMP/bigname.json"
bad "POST snapshots, name over 1 MiB" 413 -- POST "/v1/vms/$OK/snapshots" "@$T_TMP/bigname.json"
bad "POST snapshots, name of 100 chars" 400 name -- POST "/v1/vms/$OK/snapshots" "{\"name\":\"$(printf 'a%.0s' $(seq 100))\"}"
bad "POST snapshots, description a number" 400 -- POST "/v1/vms/$OK/snapshots" '{"name":"a","description":5}'
bad "POST snapshots, memory a string" 400 -- POST "/v1/vms/$OK/snapshots" '{"name":"a","memory":"yes"}'
bad "POST revert with a body field" 400 -- POST "/v1/vms/$OK/snapshots/x/revert" '{"force":true}'
bad "DELETE /v1/operations/unknown" 404 -- DELETE "/v1/operations/nope"
bad "GET /v1/events?since=1e3" 400 -- GET "/v1/events?since=1e3"
bad "PATCH schedule, a number" 400 -- PATCH "/v1/vms/$OK" '{"snapshot_schedule":5}'
bad "PATCH schedule, 61 minutes" 400 snapshot_schedule -- PATCH "/v1/vms/$OK" '{"snapshot_schedule":"61 * * * *"}'
bad "PATCH retention keep too big" 400 snapshot_retention.keep -- PATCH "/v1/vms/$OK" '{"snapshot_retention":{"keep":100000}}'
bad "PATCH retention unknown field" 400 -- PATCH "/v1/vms/$OK" '{"snapshot_retention":{"count":3}}'
bad "POST /v1/vms with a bad schedule" 400 snapshot_schedule -- POST /v1/vms '{"name":"sch","snapshot_schedule":"@every 0s"}'
bad "GET ?limit=1001" 400 -- GET "/v1/operations?limit=1001"
bad "GET ?limit=abc" 400 -- GET "/v1/operations?limit=abc"

# --- state conflicts
bad "pause a stopped vm" 409 -- POST "/v1/vms/$OK/pause?$W"
t_match "pause a stopped vm: detail names the vm" "$(t_json .detail)" "$OK"
t_match "pause a stopped vm: detail names the state" "$(t_json .detail)" stopped
t_expect_json .type urn:hangar:problem:conflict "pause a stopped vm: type conflict"
bad "resume a stopped vm" 409 -- POST "/v1/vms/$OK/resume?$W"
bad "duplicate name" 409 -- POST "/v1/vms?$W" "{\"name\":\"$OK\",\"memory_mib\":64,\"disk_gib\":1}"
t_match "duplicate name: detail names the vm" "$(t_json .detail)" "$OK"

# --- the same fields refused by a dry run as by a create
bad "placements: on_drift destroy" 400 on_drift -- POST /v1/placements '{"name":"pl","on_drift":"destroy"}'
bad "placements: snapshot_schedule garbage" 400 snapshot_schedule -- POST /v1/placements '{"name":"pl","snapshot_schedule":"garbage"}'
bad "placements: snapshot_retention.keep a string" 400 snapshot_retention.keep -- POST /v1/placements '{"name":"pl","snapshot_retention":{"keep":"2"}}'
t_http POST /v1/placements '{"name":"pl","on_drift":"alert","snapshot_schedule":"@every 6h","snapshot_retention":{"keep":2}}'
t_expect_status 200 "placements: good VM settings pass"

# --- Allow: on a 405 only, never on another reply of a path with more
# than one method
bad "POST /v1/vms, vcpus 0" 400 vcpus -- POST /v1/vms '{"name":"bad-al","vcpus":0}'
t_eq "a 400 on POST /v1/vms carries no Allow" "$T_ALLOW" ""
bad "DELETE /v1/vms/NAME/snapshots/none" 404 -- DELETE "/v1/vms/$OK/snapshots/none"
t_eq "a 404 of a route that matched carries no Allow" "$T_ALLOW" ""
t_http GET /v1/vms
t_eq "a 200 on GET /v1/vms carries no Allow" "$T_ALLOW" ""
bad "PATCH /v1/vms" 405 -- PATCH /v1/vms '{}'
t_eq "a 405 names the methods in Allow" "$T_ALLOW" "GET, POST"

# --- text: limits count characters, control characters include C1
E512=$(printf '\xc3\xa9%.0s' {1..512})
t_http POST "/v1/vms/$OK/snapshots?$W" "{\"name\":\"bad-e512\",\"description\":\"$E512\"}"
t_expect_status 201 "a description of 512 'é' (1024 bytes, 512 characters) is taken"
t_expect_json '.description | length' 512 "... and kept whole"
t_http DELETE "/v1/vms/$OK/snapshots/bad-e512?$W"
t_expect_status 200 "... and its snapshot deleted"
E1024=$(printf '\xc3\xa9%.0s' {1..1024})
bad "a description of 1024 'é'" 400 description -- POST "/v1/vms/$OK/snapshots" "{\"name\":\"bad-e\",\"description\":\"$E1024\"}"
t_match "... says what it counts" "$(t_json .detail)" "at most 1023 characters.*not 1024"
bad "a description with U+0085 (NEL)" 400 description -- POST "/v1/vms/$OK/snapshots" '{"name":"bad-c1","description":"a\u0085b"}'
bad "a description with U+009B (CSI)" 400 description -- POST "/v1/vms/$OK/snapshots" '{"name":"bad-c1","description":"\u009b31m"}'
bad "a description with DEL" 400 description -- POST "/v1/vms/$OK/snapshots" '{"name":"bad-c1","description":"a\u007fb"}'
bad "a host pool_path with U+009B" 400 pool_path -- POST /v1/hosts '{"name":"bad-h","uri":"test:///default","pool_path":"/srv/\u009bx"}'

# --- requests refused before a handler runs are problem+json too
# rawone: the request written into $T_TMP/raw.req sent as it is; the reply
# into T_STATUS, T_CTYPE, T_ALLOW, T_BODY (as t_http leaves them)
rawone() {
	local j
	j=$(python3 tests/lib/rawhttp.py "$HANGARD_PORT" one <"$T_TMP/raw.req")
	T_STATUS=$(jq -r .status <<<"$j")
	T_CTYPE=$(jq -r .ctype <<<"$j")
	T_ALLOW=$(jq -r .allow <<<"$j")
	T_BODY=$(jq -r .body <<<"$j")
}
LONG=$(head -c 102400 /dev/zero | tr '\0' a)
AUTH="Authorization: Bearer $HANGAR_TEST_TOKEN"
printf 'GET /v1/vms/%s HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n' "$LONG" "$AUTH" >"$T_TMP/raw.req"
rawone
t_expect_problem 414 "a URL of 100 KB: 414"
printf 'GET /v1/vms?x=%s HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n' "${LONG:0:9000}" "$AUTH" >"$T_TMP/raw.req"
rawone
t_expect_problem 414 "a query of 9 KB: 414"
printf 'GET /v1/vms HTTP/1.1\r\nHost: x\r\n%s\r\nX-Pad: %s\r\n\r\n' "$AUTH" "${LONG:0:71680}" >"$T_TMP/raw.req"
rawone
t_expect_problem 431 "a header of 70 KB: 431"
{
	printf 'GET /v1/vms HTTP/1.1\r\nHost: x\r\n%s\r\n' "$AUTH"
	for i in {1..40}; do printf 'X-Pad-%d: %s\r\n' "$i" "${LONG:0:1000}"; done
	printf '\r\n'
} >"$T_TMP/raw.req"
rawone
t_expect_problem 431 "40 headers of 1 KB: 431"
printf 'GET /v1/vms/%s HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n' "${LONG:0:1000}" "$AUTH" >"$T_TMP/raw.req"
rawone
t_expect_problem 404 "a URL of 1 KB is looked up (404)"

# --- a request sent whole and then half-closed still gets its reply, on
# the pool and on a thread of its own (GET /v1/hosts)
for path in /v1 /v1/hosts "/v1/vms?wait=1"; do
	got=$(python3 tests/lib/rawhttp.py "$HANGARD_PORT" halfclose 20 GET "$path")
	t_eq "20 half-closed GET $path: every one answered" "${got%% *}" 20/20
done
got=$(python3 tests/lib/rawhttp.py "$HANGARD_PORT" halfclose 10 POST /v1/vms '{"name":"bad-hc","vcpus":0}')
t_eq "10 half-closed refused POST /v1/vms: every one answered" "$got" \
	"10/10 $(printf '400,%.0s' {1..10} | sed 's/,$//')"

# --- the edges that must pass
MAX=$(printf 'b%.0s' {1..63})
t_http POST "/v1/vms?$W" "{\"name\":\"$MAX\",\"memory_mib\":16,\"disk_gib\":1}"
t_expect_status 201 "a name of 63 characters and memory_mib 16 are accepted"
t_http DELETE "/v1/vms/$MAX?$W"
t_expect_json .status succeeded "delete the 63-character vm"

# --- nothing reached libvirt
t_http GET /v1
t_expect_status 200 "hangard still answers"
t_http GET /v1/vms
t_expect_json '[.vms[].name] | join(",")' "$OK" "GET /v1/vms holds only $OK"
t_eq "virsh: the only bad-* domain is $OK" \
	"$(t_virsh list --all --name 2>/dev/null | grep -- "^$T_PFX" | tr '\n' ' ')" "$OK "
stray=$(t_virsh list --all --name 2>/dev/null |
	grep -E '^(a</name>|\.\./|-abc|ABC|Ünï|a b|a\.b|bad-(m|t|u|v|s|big|ct|deep|w[0-9]|put))' | tr '\n' ' ')
t_eq "virsh: none of the refused names became a domain" "$stray" ""
t_eq "the images dir holds only $OK's disk" \
	"$(find "$T_TMP/images" -mindepth 1 -maxdepth 1 | wc -l)" 1
t_eq "the pool holds one volume" "$(t_virsh vol-list "$T_POOL" 2>/dev/null | sed '/^ *$/d' | wc -l)" 1
t_check_not "nothing was written outside the images dir (../../etc)" \
	test -e "$T_TMP/etc"
t_eq "no refused snapshot reached libvirt" \
	"$(t_virsh snapshot-list --name "$OK_ID" 2>/dev/null | sed '/^ *$/d' | wc -l)" 0
t_http GET "/v1/vms/$OK/snapshots"
t_expect_json '.snapshots | length' 0 "no refused snapshot was recorded"

t_http DELETE "/v1/vms/$OK?$W"
t_expect_json .status succeeded "delete $OK"
t_eq "at the end: images dir is empty" \
	"$(find "$T_TMP/images" -mindepth 1 -maxdepth 1 | wc -l)" 0

hangard_stop
t_summary
