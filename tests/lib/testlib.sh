# shellcheck shell=bash
#
# testlib.sh - assertions, HTTP helpers and hangard start/stop for the
# integration tests (tests/integration/*.sh).  Source it from bash, after
# `set -u`; it sources lvhost.sh too.
#
# Output is TAP-like: one `ok - NAME` or `not ok - NAME: why` per check,
# diagnostics as `# ...` lines, and t_summary's `N passed, N failed`.
#
# Setup and teardown:
#   t_init ID [nohost]
#                     start a test script: ID (e.g. "curl") names its temp
#                     dir T_TMP (/tmp/hangar-ID.XXXXXX, short enough for a
#                     unix socket path), its libvirt pool T_POOL
#                     (hangar-ID) and its VM prefix T_PFX ("ID-").  Uses the
#                     shared libvirt host of tests/run when HANGAR_LV_URI is
#                     set, else starts its own with lvhost_start.  Sets
#                     T_LV_URI and a trap that runs t_cleanup on exit.
#                     With "nohost" it neither uses nor starts a libvirt
#                     host: the script sets T_LV_URI itself (the URI
#                     hangard_start gives as --host-uri), e.g. to a host
#                     of t_lvhost_start or a test:/// URI.
#   t_lvhost_start NAME
#                     start one more libvirt host (lvhost_start, on a free
#                     block of ports, tried up to 3 times) that t_cleanup
#                     stops; sets LVHOST_URI/LVHOST_PORT/LVHOST_DIR.  Its
#                     state dir is under HANGAR_TEST_TMP (T_TMP when unset).
#   t_lvseg_start SEG
#                     start a shared segment (lvhost_segment_start) that
#                     t_cleanup stops before the hosts.
#   t_cleanup         (trap) stop hangard, remove this script's domains
#                     (names starting with T_PFX) and pool from the libvirt
#                     host, stop the host if the script started it, stop
#                     the hosts of t_lvhost_start, remove
#                     T_TMP (kept, with the hangard log tail printed, when
#                     something failed or HANGAR_KEEP=1).
#   t_summary         print `N passed, N failed` for this script; exit 1 on
#                     any failure or when nothing was checked, else 0.
#
# Assertions (each counts one check):
#   t_ok NAME / t_fail NAME WHY
#   t_check NAME CMD...        ok when CMD exits 0
#   t_check_not NAME CMD...    ok when CMD exits non-zero
#   t_eq NAME GOT WANT         string equality
#   t_match NAME GOT REGEX     bash regex match
#
# HTTP (curl; URL may be a path, which is put after $T_BASE):
#   t_http METHOD URL [BODY]   sets T_STATUS, T_BODY, T_CTYPE, T_LOCATION,
#                              T_ELAPSED (seconds, as a decimal) and
#                              T_REQ ("METHOD URL").  A BODY is sent with
#                              Content-Type application/json unless
#                              T_HTTP_CTYPE says otherwise; BODY "@FILE"
#                              sends a file.  Bounded by T_HTTP_TIMEOUT
#                              (default 120 s).  Status 000 = no answer.
#   t_expect_status STATUS [NAME]
#   t_expect_json EXPR VALUE [NAME]   `jq -r EXPR` of T_BODY equals VALUE
#   t_expect_problem STATUS [NAME]    status STATUS, Content-Type
#                              application/problem+json, body has type,
#                              title, status (= STATUS), detail, retryable
#   t_json EXPR                print `jq -r EXPR` of T_BODY
#
# hangard:
#   hangard_start              start $BUILD/hangard (BUILD defaults to
#                              build) on unix:$T_TMP/hangard.sock and
#                              127.0.0.1:<free port>, db $T_TMP/hangar.db,
#                              host $T_LV_URI, config $T_TMP/hangard.conf
#                              (pool_path $T_TMP/images, image_dir
#                              $T_TMP/library, pool_name $T_POOL,
#                              stop_timeout_s 5, then the lines of
#                              HANGARD_CONF_EXTRA if set), stderr to
#                              $T_TMP/hangard.log; waits (HANGARD_START_TIMEOUT,
#                              default 30 s) until GET /v1 answers.  Sets
#                              HANGARD_PID, HANGARD_PORT, HANGARD_SOCK,
#                              HANGARD_URL and T_BASE.
#                              Access control: the first start makes an
#                              admin token "test" in the database
#                              (HANGAR_TEST_TOKEN) and exports it to every
#                              client of the script and its subshells:
#                              CURL_HOME=$T_TMP, whose .curlrc adds
#                              "Authorization: Bearer ..." to every curl
#                              (t_http, direct curls; `curl -q` opts out),
#                              and HANGAR_TOKEN for the hangar CLI.
#   hangard_stop               SIGTERM by pid, wait (HANGARD_STOP_TIMEOUT,
#                              default 30 s), then SIGKILL; checks (one
#                              check) that it exited 0 and that its log has
#                              no sanitizer report.
#
# libvirt:
#   t_virsh ARG...             virsh -q against T_LV_URI (bounded: 60 s)
#   t_domstate DOM             the domain's state ("running", "shut off",
#                              "paused", ...) or "absent"
#   t_expected_domain_type     kvm if the libvirt host offers it for
#                              x86_64, else qemu
#   t_wait_for SECS CMD...     run CMD every 0.2 s until it succeeds or
#                              SECS pass (returns 1 then)
#   t_ns_now                   monotonic-ish time in ms (for durations)

_T_LIBDIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source=tests/lib/lvhost.sh
. "$_T_LIBDIR/lvhost.sh"

T_PASSED=0
T_FAILED=0
T_SCRIPT=$(basename "${0:-test}" .sh)
T_BASE=${T_BASE:-}
export T_ELAPSED T_LOCATION  # read by the test scripts
T_HTTP_TIMEOUT=${T_HTTP_TIMEOUT:-120}
T_STATUS='' T_BODY='' T_CTYPE='' T_LOCATION='' T_ELAPSED=0 T_REQ=''
T_TMP='' T_LV_URI='' T_LV_DIR='' T_LV_OWN='' T_POOL='' T_PFX='' T_LV_HOSTS='' T_LV_SEGS=''
HANGARD_PID='' HANGARD_PORT='' HANGARD_SOCK='' HANGARD_URL=''
BUILD=${BUILD:-build}

# ---------------------------------------------------------------- assertions

t_ok() {
	T_PASSED=$((T_PASSED + 1))
	printf 'ok - %s\n' "$1"
}

t_fail() {
	T_FAILED=$((T_FAILED + 1))
	printf 'not ok - %s: %s\n' "$1" "$2"
}

t_check() {
	local name=$1 err
	shift
	# run in this shell (callers may rely on its side effects); keep
	# stderr to say why it failed
	if "$@" >/dev/null 2>"${T_TMP:-/tmp}/.t_check.err"; then
		t_ok "$name"
	else
		err=$(tail -c 2000 "${T_TMP:-/tmp}/.t_check.err" 2>/dev/null)
		t_fail "$name" "'$*' failed${err:+: $(_t_cut "$err")}"
	fi
}

t_check_not() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then t_fail "$name" "'$*' succeeded"; else t_ok "$name"; fi
}

t_eq() {
	if [ "$2" = "$3" ]; then
		t_ok "$1"
	else
		t_fail "$1" "got '$(_t_cut "$2")', want '$3'"
	fi
}

t_match() {
	if [[ $2 =~ $3 ]]; then
		t_ok "$1"
	else
		t_fail "$1" "'$(_t_cut "$2")' does not match /$3/"
	fi
}

t_summary() {
	printf '%d passed, %d failed\n' "$T_PASSED" "$T_FAILED"
	[ "$T_FAILED" = 0 ] && [ "$T_PASSED" -gt 0 ]
	exit $?
}

# _t_cut STRING: STRING on one line, at most 300 characters.
_t_cut() {
	local s=${1//$'\n'/ }
	[ "${#s}" -gt 300 ] && s="${s:0:300}..."
	printf '%s' "$s"
}

# ---------------------------------------------------------------------- HTTP

t_http() {
	local method=$1 url=$2 out hdr code args=()
	[[ $url == /* ]] && url="$T_BASE$url"
	T_REQ="$method ${2}"
	out=$(mktemp "${T_TMP:-/tmp}/http.XXXXXX") || return 1
	hdr=$(mktemp "${T_TMP:-/tmp}/http.XXXXXX") || return 1
	args=(-sS -o "$out" -D "$hdr" -X "$method" --max-time "$T_HTTP_TIMEOUT"
		-w '%{http_code} %{time_total}' -H 'Expect:')
	if [ "$#" -ge 3 ]; then
		args+=(-H "Content-Type: ${T_HTTP_CTYPE:-application/json}"
			--data-binary "$3")
	fi
	code=$(curl "${args[@]}" "$url" 2>"$out.err")
	T_STATUS=${code%% *}
	T_ELAPSED=${code#* }
	[ -n "$T_STATUS" ] || T_STATUS=000
	T_BODY=$(cat "$out")
	T_CTYPE=$(_t_header content-type "$hdr")
	T_LOCATION=$(_t_header location "$hdr")
	if [ "$T_STATUS" = 000 ]; then
		printf '# %s: no answer: %s\n' "$T_REQ" "$(_t_cut "$(cat "$out.err")")"
	fi
	rm -f "$out" "$out.err" "$hdr"
	return 0
}

# _t_header NAME FILE: the value of the last header NAME (lower case) in FILE
_t_header() {
	awk -v h="$1:" 'tolower(substr($0, 1, length(h))) == h {
		v = substr($0, length(h) + 1); sub(/^[ \t]+/, "", v); sub(/\r$/, "", v) }
		END { print v }' "$2"
}

t_json() {
	jq -r "$1" <<<"$T_BODY" 2>/dev/null
}

t_expect_status() {
	local want=$1 name=${2:-"$T_REQ -> $1"}
	if [ "$T_STATUS" = "$want" ]; then
		t_ok "$name"
	else
		t_fail "$name" "status $T_STATUS, want $want; body: $(_t_cut "$T_BODY")"
	fi
}

t_expect_json() {
	local expr=$1 want=$2 name=${3:-"$T_REQ: $1 == $2"} got
	if ! got=$(jq -r "$expr" <<<"$T_BODY" 2>/dev/null); then
		t_fail "$name" "body is not JSON (or $expr fails): $(_t_cut "$T_BODY")"
		return
	fi
	if [ "$got" = "$want" ]; then
		t_ok "$name"
	else
		t_fail "$name" "got '$(_t_cut "$got")', want '$want'; body: $(_t_cut "$T_BODY")"
	fi
}

t_expect_problem() {
	local want=$1 name=${2:-"$T_REQ -> problem $1"} why=''
	[ "$T_STATUS" = "$want" ] || why="status $T_STATUS, want $want; "
	case $T_CTYPE in
	application/problem+json*) ;;
	*) why+="Content-Type '$T_CTYPE'; " ;;
	esac
	if jq -e 'type == "object"' <<<"$T_BODY" >/dev/null 2>&1; then
		jq -e '(.type|type) == "string" and (.type|startswith("urn:hangar:problem:"))' \
			<<<"$T_BODY" >/dev/null || why+="bad .type; "
		jq -e '(.title|type) == "string"' <<<"$T_BODY" >/dev/null || why+="no .title; "
		jq -e --argjson s "$want" '.status == $s' <<<"$T_BODY" >/dev/null ||
			why+=".status is not $want; "
		jq -e '(.detail|type) == "string" and (.detail|length) > 0' \
			<<<"$T_BODY" >/dev/null || why+="no .detail; "
		jq -e '(.retryable|type) == "boolean"' <<<"$T_BODY" >/dev/null ||
			why+="no boolean .retryable; "
	else
		why+="body is not a JSON object; "
	fi
	if [ -z "$why" ]; then
		t_ok "$name"
	else
		t_fail "$name" "${why}body: $(_t_cut "$T_BODY")"
	fi
}

# ------------------------------------------------------------------- libvirt

t_virsh() {
	timeout 60 virsh -q -c "$T_LV_URI" "$@"
}

t_domstate() {
	local s
	s=$(t_virsh domstate "$1" 2>/dev/null) || { echo absent; return 0; }
	echo "${s%%$'\n'*}"
}

t_expected_domain_type() {
	if [ -n "${HANGAR_EXPECT_DOMAIN_TYPE:-}" ]; then
		echo "$HANGAR_EXPECT_DOMAIN_TYPE"
		return
	fi
	if t_virsh capabilities 2>/dev/null |
		awk "/<arch name='x86_64'>/ {a=1} /<\/arch>/ {a=0} a && /<domain type='kvm'/ {k=1} END {exit !k}"; then
		echo kvm
	else
		echo qemu
	fi
}

t_wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	"$@" >/dev/null 2>&1
}

t_ns_now() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# -------------------------------------------------------------------- setup

t_init() {
	local id=${1:?usage: t_init ID}
	T_PFX="$id-"
	T_POOL="hangar-$id"
	T_TMP=$(mktemp -d "/tmp/hangar-$id.XXXXXX") || exit 1
	trap t_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ "${2:-}" = nohost ]; then
		[ -n "${HANGAR_TEST_TMP:-}" ] || export HANGAR_TEST_TMP=$T_TMP
		if [ ! -x "$BUILD/hangard" ]; then
			t_fail "$BUILD/hangard exists" "build it first (make)"
			exit 1
		fi
		printf '# %s: tmp %s, pool %s\n' "$T_SCRIPT" "$T_TMP" "$T_POOL"
		return 0
	fi
	if [ -n "${HANGAR_LV_URI:-}" ]; then
		T_LV_URI=$HANGAR_LV_URI
		T_LV_DIR=${HANGAR_LV_DIR:-}
	else
		export HANGAR_TEST_TMP=$T_TMP
		if ! lvhost_start "t-$id" "$(lvhost_free_port 64)"; then
			t_fail "start a libvirt host" "see above"
			exit 1
		fi
		T_LV_URI=$LVHOST_URI
		T_LV_DIR=$LVHOST_DIR
		T_LV_OWN="t-$id"
	fi
	if ! t_virsh version >/dev/null 2>&1; then
		t_fail "libvirt host $T_LV_URI answers" "virsh version failed"
		exit 1
	fi
	if [ ! -x "$BUILD/hangard" ]; then
		t_fail "$BUILD/hangard exists" "build it first (make)"
		exit 1
	fi
	printf '# %s: tmp %s, libvirt %s, pool %s\n' "$T_SCRIPT" "$T_TMP" "$T_LV_URI" "$T_POOL"
}

t_cleanup() {
	local rc=$? dom
	trap - EXIT INT TERM
	[ -n "$HANGARD_PID" ] && hangard_stop quiet
	if [ -n "$T_LV_URI" ] && [ -n "$T_PFX" ]; then
		for dom in $(t_virsh list --all --name 2>/dev/null); do
			case $dom in "$T_PFX"*) ;; *) continue ;; esac
			echo "# cleanup: removing domain $dom left on the host"
			t_virsh destroy "$dom" >/dev/null 2>&1
			t_virsh undefine --nvram "$dom" >/dev/null 2>&1 ||
				t_virsh undefine "$dom" >/dev/null 2>&1
		done
		if t_virsh pool-info "$T_POOL" >/dev/null 2>&1; then
			t_virsh pool-destroy "$T_POOL" >/dev/null 2>&1
			t_virsh pool-undefine "$T_POOL" >/dev/null 2>&1
		fi
	fi
	for dom in $T_LV_SEGS; do
		lvhost_segment_stop "$dom" || echo "# cleanup: lvhost_segment_stop $dom failed"
	done
	if [ -n "$T_LV_OWN" ]; then
		lvhost_stop "$T_LV_OWN" || echo "# cleanup: lvhost_stop $T_LV_OWN failed"
	fi
	for dom in $T_LV_HOSTS; do
		lvhost_stop "$dom" || echo "# cleanup: lvhost_stop $dom failed"
	done
	if [ -n "$T_TMP" ] && [ -d "$T_TMP" ]; then
		if [ "$T_FAILED" != 0 ] || [ "${HANGAR_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
			if [ -s "$T_TMP/hangard.log" ] && [ "$T_FAILED" != 0 ]; then
				echo "# last lines of $T_TMP/hangard.log:"
				tail -n 30 "$T_TMP/hangard.log" | sed 's/^/#   /'
			fi
			echo "# kept $T_TMP"
		else
			rm -rf "$T_TMP"
		fi
	fi
	exit "$rc"
}

# t_lvhost_start NAME: see above.
t_lvhost_start() {
	local name=$1 try
	[ -n "${HANGAR_TEST_TMP:-}" ] || export HANGAR_TEST_TMP=$T_TMP
	for try in 1 2 3; do
		# a port block found free may be taken before libvirtd binds it
		if lvhost_start "$name" "$(lvhost_free_port 64)"; then
			T_LV_HOSTS+=" $name"
			return 0
		fi
		echo "# t_lvhost_start $name: attempt $try failed"
	done
	return 1
}

# t_lvseg_start SEG: see above.
t_lvseg_start() {
	[ -n "${HANGAR_TEST_TMP:-}" ] || export HANGAR_TEST_TMP=$T_TMP
	lvhost_segment_start "$1" || return 1
	T_LV_SEGS+=" $1"
}

# t_dhcp_hosts LVHOST NET: the static DHCP hosts of hangar network NET on
# libvirt host LVHOST, one "mac ip" a line, sorted.
t_dhcp_hosts() {
	lvhost_virsh "$1" net-dumpxml "hangar-$2" |
		sed -nE "s/.*<host mac='([^']*)'( name='[^']*')? ip='([^']*)'.*/\1 \3/p" | sort
}

# ------------------------------------------------------------------- hangard

hangard_start() {
	local i limit=${HANGARD_START_TIMEOUT:-30}
	HANGARD_PORT=$(lvhost_free_port 1) || return 1
	HANGARD_SOCK=$T_TMP/hangard.sock
	HANGARD_URL=http://127.0.0.1:$HANGARD_PORT
	T_BASE=$HANGARD_URL
	mkdir -p "$T_TMP/images"
	cat >"$T_TMP/hangard.conf" <<-EOF
		# written by tests/lib/testlib.sh
		pool_name = $T_POOL
		pool_path = $T_TMP/images
		image_dir = $T_TMP/library
		backup_dir = $T_TMP/backups
		stop_timeout_s = 5
		shutdown_timeout_s = 10
	EOF
	[ -z "${HANGARD_CONF_EXTRA:-}" ] ||
		printf '%s\n' "$HANGARD_CONF_EXTRA" >>"$T_TMP/hangard.conf"
	_t_token || return 1
	"$BUILD/hangard" --listen "unix:$HANGARD_SOCK" \
		--listen "127.0.0.1:$HANGARD_PORT" --db "$T_TMP/hangar.db" \
		--host-uri "$T_LV_URI" --config "$T_TMP/hangard.conf" \
		--log-level debug </dev/null >>"$T_TMP/hangard.log" 2>&1 &
	HANGARD_PID=$!
	for ((i = 0; i < limit * 10; i++)); do
		if ! _lvhost_alive "$HANGARD_PID"; then
			wait "$HANGARD_PID"
			t_fail "hangard starts" "it exited with status $? during start"
			tail -n 20 "$T_TMP/hangard.log" | sed 's/^/#   /'
			HANGARD_PID=''
			return 1
		fi
		if curl -fsS --max-time 2 -o /dev/null "$HANGARD_URL/v1" 2>/dev/null; then
			t_ok "hangard answers GET /v1 within ${limit}s (port $HANGARD_PORT)"
			return 0
		fi
		sleep 0.1
	done
	t_fail "hangard starts" "GET /v1 did not answer within ${limit}s"
	tail -n 20 "$T_TMP/hangard.log" | sed 's/^/#   /'
	return 1
}

# _t_token: make the admin token "test" once per database (see
# hangard_start) and hand it to curl and the CLI.
_t_token() {
	if [ -z "${HANGAR_TEST_TOKEN:-}" ] || [ ! -s "$T_TMP/.curlrc" ]; then
		if ! HANGAR_TEST_TOKEN=$("$BUILD/hangard" token create \
			--db "$T_TMP/hangar.db" --name test --role admin \
			2>>"$T_TMP/hangard.log") || [ -z "$HANGAR_TEST_TOKEN" ]; then
			t_fail "hangard token create" "see $T_TMP/hangard.log"
			return 1
		fi
		(umask 077 && printf 'header = "Authorization: Bearer %s"\n' \
			"$HANGAR_TEST_TOKEN" >"$T_TMP/.curlrc")
	fi
	export HANGAR_TEST_TOKEN CURL_HOME=$T_TMP HANGAR_TOKEN=$HANGAR_TEST_TOKEN
}

# hangard_stop [quiet]: quiet (from the cleanup trap) still counts a
# failure, but prints no `ok` line.
hangard_stop() {
	local pid=$HANGARD_PID i limit=${HANGARD_STOP_TIMEOUT:-30} rc why=''
	[ -n "$pid" ] || return 0
	HANGARD_PID=''
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < limit * 10; i++)); do
		_lvhost_alive "$pid" || break
		sleep 0.1
	done
	if _lvhost_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		why="still running ${limit}s after SIGTERM (killed); "
	fi
	wait "$pid"
	rc=$?
	[ -n "$why" ] || [ "$rc" = 0 ] || why="exit status $rc after SIGTERM; "
	if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
		"$T_TMP/hangard.log" 2>/dev/null; then
		why+="sanitizer report in hangard.log; "
		grep -m 5 -E -A 8 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
			"$T_TMP/hangard.log" | sed 's/^/#   /'
	fi
	if [ -n "$why" ]; then
		t_fail "hangard stops cleanly on SIGTERM" "$why"
		return 1
	fi
	[ "${1:-}" = quiet ] || t_ok "hangard stops cleanly on SIGTERM"
	return 0
}
