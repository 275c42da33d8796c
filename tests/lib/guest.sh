# shellcheck shell=bash
#
# guest.sh - real guest operating systems for the integration tests.
# Source it from bash (after `set -u`; testlib.sh users can source it too).
#
#   guest_image debian|tiny
#       Print the path of the cached guest image (a compressed qcow2 that
#       must not be written to: boot a copy or an overlay of it), building
#       it first when the recipe changed or it was never built
#       (tests/guest/build-debian.sh, about 2.5 min once; build-tiny.sh,
#       about 15 s).  The builder's progress is kept out of the output; on
#       failure prints why (the builder's last lines, as "# " comments) to
#       stderr and returns 1.  Needs root.  Cache: HANGAR_GUEST_CACHE
#       (default /var/cache/hangar-tests/guest).
#         debian  Debian 12 cloud image, 2 GiB: cloud-init (NoCloud seed
#                 labelled cidata, else None), openssh-server,
#                 qemu-guest-agent, serial getty on ttyS0 ("debian login:");
#                 no user until cloud-init makes one.
#         tiny    busybox + the same kernel, 64 MiB, boots to "tiny login:"
#                 on ttyS0 in seconds; prints "hangar-tiny-guest: up, ..."
#                 first; root logs in without a password.
#   guest_wait_console FILE REGEX TIMEOUT_S
#       Wait until the serial log FILE (e.g. a <serial><log file=...>)
#       matches the extended REGEX (grep -E, on the text with carriage
#       returns removed), at most TIMEOUT_S seconds.  Prints the seconds
#       waited (e.g. "12.3") on stdout and returns 0; on timeout prints why
#       and the log's last 20 lines to stderr and returns 1.
#
# For suites on a Debian guest over SSH (they source testlib.sh first):
#   guest_netns_hangard
#       A libvirt host ${T_PFX}h in a network namespace of its own, and
#       hangard on it (reconcile every 2 s, cpu_ratio 16, plus
#       HANGARD_CONF_EXTRA).  Sets LV, T_LV_URI, LV_DIR and NS_PID (a
#       process in the host's namespace); ends the suite when either fails.
#   guest_debian_import NAME QUERY
#       Build (or take from the cache) the Debian image and import it into
#       hangard as image NAME with QUERY (e.g. wait=600): a check.  Sets
#       DEB; ends the suite when the image cannot be built.
#   guest_ssh_key
#       A new ed25519 key pair in $T_TMP/key/id; sets KEY (the public line).
#   guest_ssh PID IP CMD...
#       Run CMD as debian@IP, over SSH with that key, from the network
#       namespace of process PID.  GUEST_SSH_TIMEOUT (default 60 s) bounds
#       the whole, GUEST_SSH_CONNECT (default 10 s) the connection.
#
# Constants for the tests:
#   GUEST_TINY_BANNER   the tiny guest's fixed line (a regex)
#   GUEST_LOGIN_RE      a login prompt on the console (a regex; not
#                       anchored at the end: on the Debian guest cloud-init's
#                       console messages can follow on the prompt's line)

_GUEST_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../guest" && pwd)
export GUEST_TINY_BANNER GUEST_LOGIN_RE
GUEST_TINY_BANNER='hangar-tiny-guest: up, kernel [^ ]+'
GUEST_LOGIN_RE='^[a-zA-Z0-9.-]+ login: '

guest_image() {
	local kind=${1:-} script err path rc=0
	case $kind in
	debian) script=$_GUEST_DIR/build-debian.sh ;;
	tiny) script=$_GUEST_DIR/build-tiny.sh ;;
	*)
		echo "guest_image: usage: guest_image debian|tiny" >&2
		return 2
		;;
	esac
	err=$(mktemp "${TMPDIR:-/tmp}/guest-image.XXXXXX") || return 1
	path=$("$script" 2>"$err") || rc=$?
	path=${path##*$'\n'}
	if [ "$rc" != 0 ] || [ -z "$path" ] || [ ! -s "$path" ]; then
		echo "guest_image: $kind: ${script##*/} failed (exit $rc):" >&2
		tail -n 25 "$err" | sed 's/^/# /' >&2
		rm -f "$err"
		return 1
	fi
	# say so when it had to build (it took minutes)
	grep -q 'guest: .* done: ' "$err" &&
		echo "# guest_image: $(grep 'guest: .* done: ' "$err" | tail -n 1)" >&2
	rm -f "$err"
	echo "$path"
}

guest_wait_console() {
	local file=${1:?usage: guest_wait_console FILE REGEX TIMEOUT_S}
	local re=${2:?usage: guest_wait_console FILE REGEX TIMEOUT_S}
	local limit=${3:?usage: guest_wait_console FILE REGEX TIMEOUT_S}
	local t0 now us
	t0=${EPOCHREALTIME/[.,]/}
	while :; do
		if [ -r "$file" ] && tr -d '\r' <"$file" | grep -aqE -- "$re"; then
			now=${EPOCHREALTIME/[.,]/}
			us=$((now - t0))
			printf '%d.%d\n' $((us / 1000000)) $((us / 100000 % 10))
			return 0
		fi
		now=${EPOCHREALTIME/[.,]/}
		if [ $((now - t0)) -ge $((limit * 1000000)) ]; then
			echo "guest_wait_console: /$re/ not in $file after ${limit}s; its tail:" >&2
			if [ -r "$file" ]; then
				tail -n 20 "$file" | tr -d '\r' | cat -v | awk '{ print "# | " $0 }' >&2
			else
				echo "# (no such file)" >&2
			fi
			return 1
		fi
		sleep 0.2
	done
}

guest_netns_hangard() {
	LV=${T_PFX}h
	if ! LVHOST_NETNS=1 t_lvhost_start "$LV"; then
		t_fail "start a libvirt host in its own network namespace" "see above"
		t_summary
	fi
	T_LV_URI=$(lvhost_uri "$LV") LV_DIR=$(lvhost_dir "$LV")
	NS_PID=$(cat "$LV_DIR/unshare.pid")
	HANGARD_CONF_EXTRA=$'reconcile_interval_s = 2\ncpu_ratio = 16'${HANGARD_CONF_EXTRA:+$'\n'$HANGARD_CONF_EXTRA} \
		hangard_start || t_summary
}

guest_debian_import() {
	local code
	if ! DEB=$(guest_image debian); then
		t_fail "build the Debian test guest from Debian packages" "see above"
		t_summary
	fi
	code=$(curl -sS -m 600 -o "$T_TMP/import.json" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/octet-stream' -T "$DEB" \
		"$T_BASE/v1/images?name=$1&format=qcow2&$2")
	t_eq "import the Debian image: 200, succeeded" \
		"$code $(jq -r .status "$T_TMP/import.json")" "200 succeeded"
}

guest_ssh_key() {
	mkdir -p "$T_TMP/key"
	ssh-keygen -q -t ed25519 -N '' -C "hangar-test@$T_PFX" -f "$T_TMP/key/id" ||
		t_fail "ssh-keygen" "failed"
	KEY=$(cat "$T_TMP/key/id.pub")
}

guest_ssh() {
	local pid=$1 ip=$2
	shift 2
	timeout "${GUEST_SSH_TIMEOUT:-60}" nsenter -t "$pid" -n ssh -i "$T_TMP/key/id" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o BatchMode=yes -o ConnectTimeout="${GUEST_SSH_CONNECT:-10}" \
		-o LogLevel=ERROR "debian@$ip" "$@"
}
