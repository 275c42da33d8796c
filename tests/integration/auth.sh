#!/usr/bin/env bash
#
# auth.sh - access control, end to end.
#
#   1. The route table, from `hangard --routes` (so this cannot drift from
#      the code), walked as: TCP with no token, a wrong token, a revoked
#      token, a token of each role; the unix socket as root, as a user with
#      no role (setpriv: uid 65534, a gid that is no group's), as a member
#      of unix_reader_group (primary gid) and of unix_operator_group
#      (supplementary), and as the no-role user with a reader token.  Each
#      request must be refused (401/403) exactly when the table says so.
#      A request expected to be refused names real things (the VM
#      authz-vm, the group authz-g, the token authz-t, a real operation
#      and plan) and carries a body that would act if it got through; one
#      expected to pass names things that do not exist and carries an
#      unknown field, so it gets a 4xx and changes nothing.  The inventory
#      must be the same after the walk.
#   2. Tokens: POST/GET/DELETE /v1/tokens, `hangard token create|list|
#      revoke` against the running daemon's database, 401/403 bodies and
#      headers, auth before the body is read, the CLI's $HANGAR_TOKEN.
#   3. HTTPS (tls_cert/tls_key): curl --cacert works, plain HTTP to it
#      does not; tls_client_ca: no certificate or one from another CA is
#      403, the CA's is let in; a plain non-loopback listener is refused at
#      start (exit 2).
#   4. No token ever appears in hangard.log.
#
# Runs against libvirt's test:///default driver: no libvirt host needed.
# Needs setpriv (util-linux) and openssl.
# Usage: BUILD=build tests/integration/auth.sh
set -u
# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"

t_init auth nohost
T_LV_URI=test:///default
# nobody must reach the socket (the dir stays unlistable for others)
chmod 0711 "$T_TMP"
READER_GID=$(getent group nogroup | cut -d: -f3)
OPERATOR_GID=$(getent group users | cut -d: -f3)
NOROLE_GID=65533
HANGARD_CONF_EXTRA="socket_mode = 0666
unix_reader_group = nogroup
unix_operator_group = users"
hangard_start || t_summary

# the tokens handed to curl by testlib (.curlrc) are the admin's; every
# request below is made with `curl -q` (no .curlrc) and says who it is
ADMIN0=$HANGAR_TEST_TOKEN

# qcurl ARGS...: curl without the .curlrc, bounded
qcurl() {
	curl -q -sS --max-time 30 -H 'Expect:' "$@"
}

# as_root METHOD PATH [BODY]: a request over the unix socket as root;
# sets T_STATUS and T_BODY (like t_http)
as_root() {
	local args=(-o "$T_TMP/root.out" -w '%{http_code}' -X "$1")
	[ "$#" -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	T_STATUS=$(qcurl "${args[@]}" --unix-socket "$HANGARD_SOCK" "http://hangar$2" 2>/dev/null)
	T_BODY=$(cat "$T_TMP/root.out")
	T_REQ="$1 $2 (root)"
}

# --- tokens of every role, made through the API
declare -A TOK
for role in reader operator admin; do
	as_root POST /v1/tokens "{\"name\":\"t-$role\",\"role\":\"$role\"}"
	t_expect_status 201 "POST /v1/tokens makes a $role token"
	TOK[$role]=$(t_json .token)
done
t_match "a token is hgr_ and 43 base64url characters" "${TOK[reader]}" '^hgr_[A-Za-z0-9_-]{43}$'
t_expect_json '.role' admin
t_expect_json 'has("hash")' false "the create reply holds no hash"

# one made by `hangard token create` while the daemon runs, then revoked
# by `hangard token revoke`: the daemon must stop taking it at once
REVOKED=$("$BUILD/hangard" token create --db "$T_TMP/hangar.db" --name t-revoked \
	--role admin 2>"$T_TMP/cli.err")
t_eq "hangard token create: exit 0" "$?" 0
t_match "hangard token create prints only the token" "$REVOKED" '^hgr_[A-Za-z0-9_-]{43}$'
t_eq "the new token works at once" \
	"$(qcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $REVOKED" "$HANGARD_URL/v1/tokens")" 200
"$BUILD/hangard" token revoke t-revoked --db "$T_TMP/hangar.db" 2>>"$T_TMP/cli.err"
t_eq "hangard token revoke: exit 0" "$?" 0
# the daemon keeps tokens in memory and rereads them when the database
# changed (within 5 ms of a commit by another process)
code=$(qcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $REVOKED" "$HANGARD_URL/v1/tokens")
t_eq "the token revoked by the CLI is refused at the next request" "$code" 401
WRONG=hgr_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' | head -c 43)

# --- the things a refused request names (it must not touch them)
as_root POST '/v1/vms?wait=60' '{"name":"authz-vm","vcpus":1,"memory_mib":16,"disk_gib":1,"start":true}'
t_expect_status 201 "the VM authz-vm is created and started"
OP_ID=$(t_json .id)
as_root POST /v1/groups '{"name":"authz-g","policy":"anti-affinity"}'
t_expect_status 201 "the group authz-g is created"
# a bridge network: no libvirt network (bridge, dnsmasq) on the shared host
as_root POST /v1/networks '{"name":"authz-n","mode":"bridge","bridge":"br-authz"}'
t_expect_status 201 "the network authz-n is created"
as_root POST /v1/plans/consolidation '{}'
PLAN_ID=$(t_json .id)
t_match "a plan is made (POST /v1/plans/consolidation: $T_STATUS)" "$PLAN_ID" '^[0-9a-f-]{36}$'
as_root POST /v1/tokens '{"name":"authz-t","role":"reader"}'
t_expect_status 201 "the token authz-t is made"
AUTHZ_T=$(t_json .token)

# inventory: what must not change while requests are refused
inventory() {
	local s
	as_root GET /v1/vms
	s=$(t_json '[.vms[] | [.name, .desired_state, .state, .host] | join(":")] | join(",")')
	as_root GET /v1/hosts
	s+=" | $(t_json '[.hosts[] | [.name, .maintenance, .state] | tostring] | join(",")')"
	as_root GET /v1/groups
	s+=" | $(t_json '[.groups[].name] | join(",")')"
	as_root GET /v1/networks
	s+=" | $(t_json '[.networks[] | [.name, .description] | join(":")] | join(",")')"
	as_root GET /v1/tokens
	s+=" | $(t_json '[.tokens[] | [.name, .role, .revoked_at] | tostring] | join(",")')"
	as_root GET '/v1/operations?limit=1000'
	s+=" | $(t_json '[.operations[] | [.id, .status] | join(":")] | join(",")')"
	printf '%s' "$s"
}
t_wait_for 20 bash -c "curl -q -sS --unix-socket '$HANGARD_SOCK' http://h/v1/vms/authz-vm | jq -e '.state == \"running\"'"
BEFORE=$(inventory)
t_match "the inventory holds authz-vm running" "$BEFORE" 'authz-vm:running:running'

# --- 1. the route table
mapfile -t ROUTES < <("$BUILD/hangard" --routes)
t_check "hangard --routes prints the table" test "${#ROUTES[@]}" -gt 40
t_match "the walk includes POST /v1/images/prune (operator)" \
	"$(printf '%s\n' "${ROUTES[@]}" | grep ' /v1/images/prune ')" \
	'^POST +/v1/images/prune +operator$'

rank() {
	case $1 in none) echo 0 ;; reader) echo 1 ;; operator) echo 2 ;; admin) echo 3 ;; *) echo 9 ;; esac
}
bad_roles=''
for r in "${ROUTES[@]}"; do
	read -r _m _p role <<<"$r"
	[ "$(rank "$role")" -ge 1 ] && [ "$(rank "$role")" -le 3 ] || bad_roles+=" [$r]"
done
t_eq "every route names a role" "$bad_roles" ''

# fill PATTERN real|none: the pattern with each '*' named after the
# segment before it: real things, or names of nothing
fill() {
	local pat=$1 mode=$2 out='' prev='' seg v segs
	IFS=/ read -ra segs <<<"${pat#/}"
	for seg in "${segs[@]}"; do
		if [ "$seg" = '*' ]; then
			if [ "$mode" = none ]; then
				v=authz-none
			else
				case $prev in
				hosts) v=local ;;
				orphans) v=authz-orphan ;;
				groups) v=authz-g ;;
				networks) v=authz-n ;;
				vms) v=authz-vm ;;
				snapshots) v=authz-snap ;;
				operations) v=$OP_ID ;;
				plans) v=$PLAN_ID ;;
				tokens) v=authz-t ;;
				*) v=authz-x ;;
				esac
			fi
			seg=$v
		fi
		out+="/$seg"
		prev=$seg
	done
	case $out in */events) out+='?follow=false&since=0' ;; esac
	printf '%s' "$out"
}

# body METHOD PATTERN real|none: for a refused request, a body that would
# act; for an allowed one, an unknown field (400 wherever a body is read)
body() {
	[ "$1" = GET ] && return
	[ "$1" = DELETE ] && return
	if [ "$3" = none ]; then
		printf '{"authz_probe":true}'
		return
	fi
	case $2 in
	/v1/vms) printf '{"name":"authz-evil","vcpus":1,"memory_mib":16,"disk_gib":1}' ;;
	/v1/hosts) printf '{"name":"authz-evil","uri":"test:///default"}' ;;
	/v1/groups) printf '{"name":"authz-evil","policy":"affinity"}' ;;
	/v1/networks) printf '{"name":"authz-evil","mode":"bridge","bridge":"br-evil"}' ;;
	/v1/networks/\*) printf '{"description":"evil"}' ;;
	/v1/tokens) printf '{"name":"authz-evil","role":"admin"}' ;;
	/v1/vms/\*/snapshots) printf '{"name":"authz-evil"}' ;;
	/v1/vms/\*) printf '{"snapshot_schedule":"@hourly"}' ;;
	/v1/hosts/\*) printf '{"maintenance":true}' ;;
	*) printf '{}' ;;
	esac
}

# send WHO METHOD PATH BODY: the status of one request as WHO
#   tcp:TOKEN (tcp: alone = no token), unix-root, unix:UID:GID[:GROUPS][:TOKEN]
send() {
	local who=$1 method=$2 path=$3 data=$4 args=() pre=() url tok=''
	args=(-o /dev/null -w '%{http_code}' -X "$method")
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	case $who in
	tcp:*)
		tok=${who#tcp:}
		url=$HANGARD_URL$path
		;;
	unix-root)
		args+=(--unix-socket "$HANGARD_SOCK")
		url=http://hangar$path
		;;
	unix:*)
		local uid gid groups
		IFS=: read -r _ uid gid groups tok <<<"$who"
		pre=(setpriv --reuid="$uid" --regid="$gid")
		if [ -n "$groups" ]; then pre+=(--groups="$groups"); else pre+=(--clear-groups); fi
		args+=(--unix-socket "$HANGARD_SOCK")
		url=http://hangar$path
		;;
	esac
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	"${pre[@]}" curl -q -sS --max-time 30 -H 'Expect:' "${args[@]}" "$url" 2>/dev/null
}

# walk LABEL WHO ROLE: every route as WHO, whose role is ROLE (none: no
# role; anon: not even known, so 401); one check per walk, one failure
# line per route that behaved otherwise
walk() {
	local label=$1 who=$2 have=$3 r m p need want mode path code bad=0 n=0
	for r in "${ROUTES[@]}"; do
		read -r m p need <<<"$r"
		if [ "$have" = anon ]; then
			want=401
		elif [ "$(rank "$have")" -ge "$(rank "$need")" ]; then
			want=pass
		else
			want=403
		fi
		if [ "$want" = pass ]; then mode=none; else mode=real; fi
		path=$(fill "$p" "$mode")
		code=$(send "$who" "$m" "$path" "$(body "$m" "$p" "$mode")")
		n=$((n + 1))
		case $want in
		pass)
			if [ "$code" = 401 ] || [ "$code" = 403 ] || [ "$code" -ge 500 ] ||
				[ "$code" = 000 ]; then
				t_fail "$label: $m $p ($need)" "got $code, want it let in (no 401/403/5xx) [$m $path]"
				bad=$((bad + 1))
			fi
			;;
		*)
			if [ "$code" != "$want" ]; then
				t_fail "$label: $m $p ($need)" "got $code, want $want [$m $path]"
				bad=$((bad + 1))
			fi
			;;
		esac
	done
	[ "$bad" = 0 ] && t_ok "$label: all $n routes as the table says ($have)"
}

walk "TCP, no token" "tcp:" anon
walk "TCP, wrong token" "tcp:$WRONG" anon
walk "TCP, revoked token" "tcp:$REVOKED" anon
t_eq "refused requests changed nothing (TCP)" "$(inventory)" "$BEFORE"
walk "unix, uid 65534, no group" "unix:65534:$NOROLE_GID::" none
walk "unix, uid 65534, wrong token" "unix:65534:$NOROLE_GID::$WRONG" anon
t_eq "refused requests changed nothing (unix)" "$(inventory)" "$BEFORE"
walk "TCP, reader token" "tcp:${TOK[reader]}" reader
walk "TCP, operator token" "tcp:${TOK[operator]}" operator
walk "TCP, admin token" "tcp:${TOK[admin]}" admin
walk "unix, root" unix-root admin
if [ -n "$READER_GID" ] && [ -n "$OPERATOR_GID" ]; then
	walk "unix, primary group nogroup (unix_reader_group)" "unix:65534:$READER_GID::" reader
	walk "unix, supplementary group users (unix_operator_group)" \
		"unix:65534:$NOROLE_GID:$OPERATOR_GID:" operator
else
	echo "# no group nogroup or users: unix_*_group walks skipped"
fi
walk "unix, uid 65534 with a reader token" "unix:65534:$NOROLE_GID::${TOK[reader]}" reader
if [ -n "$OPERATOR_GID" ]; then
	# more supplementary groups than the first SO_PEERGROUPS read takes
	many=$(seq -s, 2000 2099),$OPERATOR_GID
	# (nobody cannot write to T_TMP: the body comes back on stdout)
	out=$(setpriv --reuid=65534 --regid="$NOROLE_GID" --groups="$many" \
		curl -q -sS -w '\n%{http_code}' -X POST --unix-socket "$HANGARD_SOCK" \
		-H 'Content-Type: application/json' --data-binary '{"name":"authz-evil","policy":"affinity"}' \
		http://hangar/v1/groups)
	t_eq "unix, 101 groups, users last: 403 for an admin route" "${out##*$'\n'}" 403
	t_eq "... as operator" "$(jq -r .role <<<"${out%$'\n'*}")" operator
fi
t_eq "after every walk the inventory is the same" "$(inventory)" "$BEFORE"

# --- 2. the replies, tokens over the API and the CLI
hdr=$(qcurl -D - -o "$T_TMP/p.json" "$HANGARD_URL/v1/vms")
t_match "401 without a token: WWW-Authenticate: Bearer" "$hdr" $'[Ww][Ww][Ww]-[Aa]uthenticate: Bearer realm="hangar"\r'
T_STATUS=401 T_CTYPE=application/problem+json T_BODY=$(cat "$T_TMP/p.json") T_REQ="GET /v1/vms (no token)"
t_expect_problem 401
t_expect_json .type urn:hangar:problem:unauthorized
hdr=$(qcurl -D - -o "$T_TMP/p.json" -H "Authorization: Bearer $WRONG" "$HANGARD_URL/v1/vms")
t_match "401 for a wrong token: error=invalid_token" "$hdr" 'error="invalid_token"'
T_BODY=$(cat "$T_TMP/p.json")
t_expect_json .field Authorization "the 401 names the Authorization header"
t_expect_json .detail "the bearer token is not valid"
code=$(qcurl -o /dev/null -w '%{http_code}' -H 'Authorization: Basic YWRtaW46YWRtaW4=' "$HANGARD_URL/v1")
t_eq "Authorization: Basic: 401" "$code" 401
code=$(qcurl -o "$T_TMP/p.json" -w '%{http_code}' -H "Authorization: Bearer $REVOKED" "$HANGARD_URL/v1")
t_eq "a revoked token: 401" "$code" 401
t_match "a revoked token: said so" "$(jq -r .detail "$T_TMP/p.json")" revoked
code=$(qcurl -o "$T_TMP/p.json" -w '%{http_code}' -X POST -H "Authorization: Bearer ${TOK[reader]}" \
	-H 'Content-Type: application/json' --data-binary '{"name":"x"}' "$HANGARD_URL/v1/vms")
T_STATUS=$code T_CTYPE=application/problem+json T_BODY=$(cat "$T_TMP/p.json") T_REQ="POST /v1/vms (reader)"
t_expect_problem 403
t_expect_json .required_role operator "the 403 names the role needed"
t_expect_json .role reader "the 403 names the role held"
t_match "the 403 detail says both" "$(t_json .detail)" "needs the role operator; token 't-reader' has the role reader"
# refused before the body is read: a 2 MiB body gets 401, not 413
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T_TMP/big"
code=$(qcurl -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data-binary "@$T_TMP/big" "$HANGARD_URL/v1/vms")
t_eq "no token and a 2 MiB body: 401 before the body is read" "$code" 401

T_BASE=$HANGARD_URL
t_http GET /v1/tokens
t_expect_status 200 "GET /v1/tokens (testlib's admin token, through .curlrc)"
t_expect_json '[.tokens[] | select(has("token") or has("hash"))] | length' 0 \
	"GET /v1/tokens shows no token and no hash"
t_expect_json '[.tokens[] | select(.name == "t-revoked") | .revoked_at != null] | first' true \
	"t-revoked is listed as revoked"
t_http POST /v1/tokens '{"name":"t-reader","role":"admin"}'
t_expect_problem 409 "a name in force is taken: 409"
t_http POST /v1/tokens '{"name":"t-x","role":"root"}'
t_expect_problem 400 "an unknown role: 400"
t_expect_json .field role
t_http POST /v1/tokens '{"name":"T X","role":"reader"}'
t_expect_problem 400 "a bad name: 400"
code=$(curl -sS -o "$T_TMP/p.json" -w '%{http_code}' -X POST -H 'Idempotency-Key: k1' \
	-H 'Content-Type: application/json' --data-binary '{"name":"t-idem","role":"reader"}' \
	"$HANGARD_URL/v1/tokens")
t_eq "POST /v1/tokens refuses an Idempotency-Key (its reply would be stored)" "$code" 400
t_http DELETE /v1/tokens/t-operator
t_expect_status 200 "DELETE /v1/tokens/t-operator revokes it"
t_expect_json '.revoked_at != null' true
code=$(qcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOK[operator]}" "$HANGARD_URL/v1")
t_eq "the revoked operator token: 401 at once" "$code" 401
t_http DELETE /v1/tokens/t-nobody
t_expect_problem 404 "revoking an unknown token: 404"
t_http POST /v1/tokens '{"name":"t-operator","role":"operator"}'
t_expect_status 201 "a revoked token's name may be used again"
TOK[operator2]=$(t_json .token)

out=$("$BUILD/hangard" token list --db "$T_TMP/hangar.db" 2>&1)
t_match "hangard token list shows the tokens" "$out" 't-reader +reader'
t_check_not "hangard token list shows no token" grep -q hgr_ <<<"$out"
code=$("$BUILD/hangard" token create --db "$T_TMP/hangar.db" --name t-reader --role admin >/dev/null 2>&1; echo $?)
t_eq "hangard token create of a name in force: exit 1" "$code" 1
code=$("$BUILD/hangard" token create --db "$T_TMP/hangar.db" --name x >/dev/null 2>&1; echo $?)
t_eq "hangard token create without --role: exit 2" "$code" 2
code=$("$BUILD/hangard" token list --db "$T_TMP/no-such.db" >/dev/null 2>&1; echo $?)
t_eq "hangard token list of a missing database: exit 1" "$code" 1

# the CLI: $HANGAR_TOKEN over TCP (testlib exports the admin's)
out=$(HANGAR_URL=$HANGARD_URL "$BUILD/hangar" -o json vm list 2>&1)
t_eq "hangar over TCP with \$HANGAR_TOKEN: exit 0" "$?" 0
out=$(HANGAR_URL=$HANGARD_URL HANGAR_TOKEN=${TOK[reader]} "$BUILD/hangar" vm stop authz-vm 2>&1)
rc=$?
t_eq "hangar vm stop with a reader token: exit 1" "$rc" 1
t_match "hangar says why" "$out" 'needs the role operator'
out=$(HANGAR_URL=$HANGARD_URL HANGAR_TOKEN='' "$BUILD/hangar" vm list 2>&1)
t_eq "hangar over TCP without a token: exit 1" "$?" 1
out=$(HANGAR_URL=$HANGARD_URL HANGAR_TOKEN='' "$BUILD/hangar" --token "${TOK[reader]}" vm list 2>&1)
t_eq "hangar --token TOKEN: exit 0" "$?" 0

hangard_stop

# --- 3. HTTPS
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" -days 2 -subj /CN=localhost \
	-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' >/dev/null 2>&1
chmod 600 "$T_TMP/key.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T_TMP/ca.key" -out "$T_TMP/ca.pem" -days 2 -subj /CN=hangar-test-ca >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T_TMP/client.key" -out "$T_TMP/client.csr" -subj /CN=client >/dev/null 2>&1
openssl x509 -req -in "$T_TMP/client.csr" -CA "$T_TMP/ca.pem" -CAkey "$T_TMP/ca.key" \
	-CAcreateserial -out "$T_TMP/client.pem" -days 2 >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T_TMP/rogue.key" -out "$T_TMP/rogue.pem" -days 2 -subj /CN=rogue >/dev/null 2>&1
t_check "openssl made the certificates" test -s "$T_TMP/client.pem" -a -s "$T_TMP/rogue.pem"

# a plain listener off loopback is refused at start, and by --check
cp "$T_TMP/hangard.conf" "$T_TMP/plain.conf"
out=$("$BUILD/hangard" --config "$T_TMP/plain.conf" --listen 0.0.0.0:1 --check 2>&1)
t_eq "--check with plain 0.0.0.0: exit 2" "$?" 2
t_match "--check says why" "$out" "listen '0.0.0.0:1' is not a loopback address"
out=$(timeout 20 "$BUILD/hangard" --config "$T_TMP/plain.conf" --listen "[::]:1" \
	--db "$T_TMP/hangar.db" --host-uri "$T_LV_URI" 2>&1)
t_eq "hangard with plain [::]: exit 2" "$?" 2
t_match "hangard says why" "$out" "^hangard: listen '\[::\]:1' is not a loopback address"
{
	cat "$T_TMP/plain.conf"
	echo "tls_cert = $T_TMP/cert.pem"
	echo "tls_key = $T_TMP/key.pem"
} >"$T_TMP/tls.conf"
out=$("$BUILD/hangard" --config "$T_TMP/tls.conf" --listen 0.0.0.0:1 --check 2>&1)
t_eq "--check with 0.0.0.0 and tls_cert: OK" "$out" "configuration OK"

M_PID=''
# start_tls CONF: hangard with CONF on the unix socket and HTTPS on
# 127.0.0.1:$TLS_PORT; waits until it answers over the socket
start_tls() {
	TLS_PORT=$(lvhost_free_port 1)
	"$BUILD/hangard" --config "$1" --listen "unix:$HANGARD_SOCK" \
		--listen "127.0.0.1:$TLS_PORT" --db "$T_TMP/hangar.db" \
		--host-uri "$T_LV_URI" --log-level debug </dev/null >>"$T_TMP/hangard.log" 2>&1 &
	M_PID=$!
	HANGARD_PID=$M_PID   # t_cleanup stops it if we die
	t_wait_for 30 curl -q -fsS --unix-socket "$HANGARD_SOCK" http://h/v1
}
stop_tls() {
	kill -TERM "$M_PID" 2>/dev/null
	wait "$M_PID"
	t_eq "hangard (HTTPS) stops cleanly" "$?" 0
	HANGARD_PID='' M_PID=''
	t_check_not "hangard.log holds no sanitizer report" grep -qE \
		'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$T_TMP/hangard.log"
}

start_tls "$T_TMP/tls.conf"
t_eq "hangard with tls_cert starts" "$?" 0
code=$(qcurl -o "$T_TMP/p.json" -w '%{http_code}' --cacert "$T_TMP/cert.pem" \
	-H "Authorization: Bearer $ADMIN0" "https://127.0.0.1:$TLS_PORT/v1")
t_eq "curl --cacert https://127.0.0.1:$TLS_PORT/v1: 200" "$code" 200
t_eq "the reply came over HTTPS" "$(jq -r .name "$T_TMP/p.json")" hangar
code=$(qcurl -o /dev/null -w '%{http_code}' --cacert "$T_TMP/cert.pem" "https://127.0.0.1:$TLS_PORT/v1")
t_eq "HTTPS without a token: 401" "$code" 401
code=$(qcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN0" \
	"http://127.0.0.1:$TLS_PORT/v1" 2>/dev/null)
t_check "plain HTTP to the HTTPS listener gets no HTTP answer" test "$code" = 000
code=$(qcurl -o /dev/null -w '%{http_code}' "https://127.0.0.1:$TLS_PORT/v1" 2>/dev/null)
t_check "an untrusted server certificate is refused by curl" test "$code" = 000
out=$(HANGAR_URL=https://127.0.0.1:$TLS_PORT HANGAR_TOKEN=${TOK[reader]} \
	"$BUILD/hangar" --cacert "$T_TMP/cert.pem" -o json vm list 2>&1)
t_eq "hangar --cacert over HTTPS: exit 0" "$?" 0
t_match "hangar over HTTPS lists authz-vm" "$out" authz-vm
stop_tls

echo "tls_client_ca = $T_TMP/ca.pem" >>"$T_TMP/tls.conf"
start_tls "$T_TMP/tls.conf"
t_eq "hangard with tls_client_ca starts" "$?" 0
H=(-H "Authorization: Bearer $ADMIN0" --cacert "$T_TMP/cert.pem")
code=$(qcurl -o "$T_TMP/p.json" -w '%{http_code}' "${H[@]}" "https://127.0.0.1:$TLS_PORT/v1")
t_eq "no client certificate: 403" "$code" 403
t_match "... saying a certificate is required" "$(jq -r .detail "$T_TMP/p.json")" 'client certificate is required'
code=$(qcurl -o "$T_TMP/p.json" -w '%{http_code}' "${H[@]}" --cert "$T_TMP/rogue.pem" \
	--key "$T_TMP/rogue.key" "https://127.0.0.1:$TLS_PORT/v1")
t_eq "a certificate from another CA: 403" "$code" 403
code=$(qcurl -o /dev/null -w '%{http_code}' "${H[@]}" --cert "$T_TMP/client.pem" \
	--key "$T_TMP/client.key" "https://127.0.0.1:$TLS_PORT/v1")
t_eq "the CA's client certificate and a token: 200" "$code" 200
code=$(qcurl -o /dev/null -w '%{http_code}' --cacert "$T_TMP/cert.pem" --cert "$T_TMP/client.pem" \
	--key "$T_TMP/client.key" "https://127.0.0.1:$TLS_PORT/v1")
t_eq "the CA's client certificate without a token: 401" "$code" 401
code=$(qcurl -o /dev/null -w '%{http_code}' --unix-socket "$HANGARD_SOCK" http://h/v1)
t_eq "the unix socket wants no certificate" "$code" 200
stop_tls

# --- 4. no token in the log
leaked=''
for t in "$ADMIN0" "${TOK[reader]}" "${TOK[operator]}" "${TOK[admin]}" "${TOK[operator2]}" \
	"$REVOKED" "$WRONG" "$AUTHZ_T"; do
	[ -n "$t" ] || continue
	grep -qF -- "${t#hgr_}" "$T_TMP/hangard.log" "$T_TMP/cli.err" && leaked+=" ${t:0:8}..."
done
t_eq "no token appears in hangard.log" "$leaked" ''
t_check "hangard.log shows refusals (without the tokens)" grep -q 'refused (401)' "$T_TMP/hangard.log"

t_summary
