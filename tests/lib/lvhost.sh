# shellcheck shell=bash
#
# lvhost.sh - run isolated libvirt "hosts" on this one machine, for tests.
#
# A host is a libvirtd + virtlogd pair living in its own mount + UTS
# namespace (unshare --mount --uts --propagation private).  Inside it,
# /etc/libvirt, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt and
# /run/libvirt are private directories of the host's state dir, /run is a
# private tmpfs (so the machine's own /run/libvirt sockets are not even
# visible), and the hostname is the host's NAME.  libvirtd listens only on
# 127.0.0.1:PORT with auth "none" (tests only!); clients reach it at
#   qemu+tcp://127.0.0.1:PORT/system
# Nothing of the machine's own libvirt (/etc/libvirt, /var/lib/libvirt,
# /run/libvirt, its libvirtd) is read, written or stopped.  Several hosts
# can run at once: each has its own host_uuid, hostname, state dir and a
# block of 64 ports starting at PORT:
#   PORT          libvirtd's TCP listener
#   PORT+1..31    qemu migration ports         (migration_port_min/max)
#   PORT+32..47   VNC/SPICE ports              (remote_display_port_min/max)
#   PORT+48..63   VNC websocket ports          (remote_websocket_port_min/max)
# PORT must be in 6000..65471 (libvirt wants display ports >= 5900).
#
# Every mount inside uses `mount -n`: libmount would otherwise create
# /run/mount/utab in the machine's real /run before the private tmpfs hides
# it.  qemu.conf turns off per-guest mount namespaces and cgroups (cgroupfs
# is shared by all hosts on the machine; two hosts' guests may share a
# name), runs qemu as root with no security driver.
#
# Domain type: this machine's /dev/kvm works (nested KVM, though cpuinfo
# shows no vmx/svm), so `virsh capabilities` offers kvm as well as qemu;
# tests ask the host (t_expected_domain_type) instead of assuming one.
#
# The unshare'd process execs libvirtd in the foreground, so the pid the
# caller gets is libvirtd's and the namespace (and every mount in it) lives
# exactly as long as libvirtd, virtlogd and the guests it started.
#
# Functions (source this file from bash):
#   lvhost_start NAME PORT
#       Create $HANGAR_TEST_TMP/lvhost-NAME (HANGAR_TEST_TMP is created with
#       mktemp -d and exported when unset), write a clean configuration
#       (no domain, network or pool definitions; nothing autostarts, so no
#       dnsmasq or bridge is ever needed), start virtlogd + libvirtd in the
#       namespace, and wait (at most LVHOST_START_TIMEOUT s, default 60)
#       until `virsh -c URI version` answers.  Sets and exports LVHOST_URI,
#       LVHOST_PORT, LVHOST_DIR; prints "# lvhost NAME: URI ..." (a TAP
#       comment).  On failure prints the reason and the log tails to stderr,
#       stops whatever it started and returns 1.  Call it directly, not in
#       $(...): the background libvirtd must be a child of your shell.
#       With LVHOST_NETNS=1 the host also gets its own network namespace
#       (unshare --net), so the bridges, dnsmasq and iptables rules of its
#       libvirt networks are its own, as on a real machine.  It is reached
#       through a veth pair: lvh<PORT> (10.254.A.B+1/30) in the machine's
#       namespace, eth0 (10.254.A.B+2/30) inside, where the /30 is the
#       PORT/64'th of 10.254.0.0/16 (used only here); libvirtd listens on
#       the inside address instead of 127.0.0.1, so the URI is
#       qemu+tcp://10.254.A.B+2:PORT/system.  The namespace has no default
#       route: nothing a guest sends leaves it but to the veth's peer.
#       /sys is mounted again inside, so sysfs shows the host's own
#       interfaces.  lvhost_up restarts such a host the same way.
#   lvhost_stop NAME
#       Destroy every domain still active on the host, stop libvirtd,
#       every qemu it started (by the pids in its private /run/libvirt/qemu)
#       and virtlogd, each by pid (SIGTERM, then SIGKILL after a timeout),
#       then any process still left in the host's mount namespace, and
#       remove the state dir (kept when HANGAR_KEEP=1).  Safe to call twice
#       or for a host that never started.  Returns 1 if a process survived.
#   lvhost_down NAME
#       Take a running host down but keep it: the same stops as
#       lvhost_stop (its active guests are destroyed first; defined domains,
#       pools and the whole state dir stay), for tests of an unreachable
#       host.  Returns 1 if a process survived.
#   lvhost_up NAME
#       Start a host taken down by lvhost_down again, on the same state
#       dir, port and host_uuid (a fresh namespace; stale runtime files in
#       run/ are removed first).  Waits and reports like lvhost_start; on
#       failure the host stays down.
#   lvhost_uri NAME          print the host's URI
#   lvhost_dir NAME          print the host's state dir
#   lvhost_virsh NAME ARG... run virsh against the host (bounded: 60 s)
#   lvhost_free_port [N]     print a port P such that P..P+N-1 (N default
#                            64) are free on 127.0.0.1, below the ephemeral
#                            range; random start, checked with `ss -ltn`
#   lvhost_log_tail NAME     print the tails of the host's logs (stderr)
#
# A shared segment (LVHOST_NETNS hosts only), as a LAN between machines:
#   lvhost_segment_start SEG
#       A network namespace (held by a `sleep infinity` of ours, its pid
#       in $HANGAR_TEST_TMP/lvseg-SEG/switch.pid) with a bridge `sw`, the
#       "switch".  Nothing in it has a route anywhere: frames only go
#       between the namespaces joined to it.  Use addresses of a private
#       range used only there (tests use 10.213.0.0/24).
#   lvhost_segment_join SEG HOST ADDR/PREFIX [BRIDGE]
#       Give the running netns host HOST a bridge BRIDGE (default br0,
#       the same name on every host, as in production) with ADDR, joined
#       to the switch by a veth pair (seg0 in the host, sg<PORT> on the
#       switch).  Each two joined hosts reach each other's libvirtd
#       address (the inside end of the veth, see LVHOST_NETNS) over the
#       segment: a /32 route each way through the other's ADDR.  So a
#       peer-to-peer live migration between them (libvirtd to libvirtd,
#       QEMU to QEMU on tcp://<that address>) crosses the segment, and
#       nothing needs forwarding in the machine's own namespace.  The
#       bridge lives in the host's network namespace: lvhost_down takes
#       it away (join again after lvhost_up).
#   lvhost_segment_client SEG NAME ADDR/PREFIX
#       A namespace of its own on the switch (a third machine on the LAN:
#       eth0 with ADDR, no other route), held like the switch.
#   lvhost_segment_pid SEG NAME   print the pid holding client NAME's
#                                 namespace (for nsenter -t PID -n)
#   lvhost_segment_exec SEG NAME CMD...
#       run CMD in client NAME's network namespace (nsenter -n)
#   lvhost_segment_stop SEG
#       Stop every process still in a client's or the switch's namespace
#       (an ssh the test left running there, say), then the holders, by
#       pid: the namespaces, their veth pairs (and so the hosts' seg0
#       ends) go with them; the hosts' bridges go when the hosts stop.
#       Removes the state dir.  Safe to call twice.  Returns 1 if a
#       process survived.
#
# Segment state ($HANGAR_TEST_TMP/lvseg-SEG): switch.pid, client-NAME.pid,
# hosts (a line "NAME INSIDE-ADDR SEGMENT-ADDR" per joined host).
#
# State dir layout ($HANGAR_TEST_TMP/lvhost-NAME):
#   etc/ lib/ log/ cache/ run/   bound on /etc/libvirt, /var/lib/libvirt,
#                                /var/log/libvirt, /var/cache/libvirt,
#                                /run/libvirt inside the namespace
#   libvirtd.pid virtlogd.pid    pid files (outside /run)
#   libvirtd.out                 libvirtd's and the setup script's stderr
#   uri port mntns               what lvhost_stop needs
#   netns                        present for an LVHOST_NETNS host
#   down                         present while lvhost_down has it down
#
# libvirtd probes every qemu binary on its first start, about 8 s here; the
# first host to start saves its capabilities cache in LVHOST_CAPS_CACHE
# (default $HANGAR_TEST_TMP/.qemu-caps) and later hosts start from a copy
# of it (about 0.2 s); libvirt re-probes by itself when it does not fit.
#
# Environment: HANGAR_TEST_TMP, HANGAR_KEEP=1 (keep state dirs),
# LVHOST_CAPS_CACHE, LVHOST_START_TIMEOUT (seconds, default 60),
# LVHOST_LOG_LEVEL (libvirt's 1 debug .. 4 error, default 3),
# LVHOST_LOG_MAX_SIZE (virtlogd's max_size: a guest's log is rotated there).

_LVHOST_LIB=$(readlink -f "${BASH_SOURCE[0]}")

lvhost_dir() {
	printf '%s/lvhost-%s\n' "${HANGAR_TEST_TMP:-/nonexistent}" "$1"
}

lvhost_uri() {
	cat "$(lvhost_dir "$1")/uri"
}

lvhost_virsh() {
	local uri
	uri=$(lvhost_uri "$1") || return 1
	shift
	timeout 60 virsh -q -c "$uri" "$@"
}

lvhost_log_tail() {
	local d f
	d=$(lvhost_dir "$1")
	for f in "$d/libvirtd.out" "$d/log/libvirtd.log" "$d/log/virtlogd.log"; do
		[ -s "$f" ] || continue
		echo "--- tail of $f" >&2
		tail -n 25 "$f" >&2
	done
}

# lvhost_free_port [N]: see above.
lvhost_free_port() {
	local n=${1:-64} lo hi used base p i tries
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	: "$hi"
	hi=$((lo - n))                  # stay below the ephemeral range
	lo=10000
	[ "$hi" -gt "$lo" ] || { lo=6000; hi=$((65535 - n)); }
	used=" $(ss -Htln 2>/dev/null | awk '{ sub(/.*:/, "", $4); printf "%s ", $4 }')"
	for ((tries = 0; tries < 200; tries++)); do
		base=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
		base=$((base - base % n))
		[ "$base" -ge "$lo" ] || continue
		for ((i = 0; i < n; i++)); do
			p=$((base + i))
			case $used in *" $p "*) continue 2 ;; esac
		done
		# a host in a network namespace of its own listens there
		[ -e "/sys/class/net/lvh$base" ] && continue
		echo "$base"
		return 0
	done
	echo "lvhost_free_port: no block of $n free ports found" >&2
	return 1
}

# _lvhost_alive PID: true while PID runs (a zombie counts as gone).
_lvhost_alive() {
	local st
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}

# _lvhost_kill PID SECONDS: SIGTERM, wait, SIGKILL, wait; reap if a child.
# Returns 1 if PID still runs at the end.
_lvhost_kill() {
	local pid=$1 secs=$2 i
	_lvhost_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		_lvhost_alive "$pid" || break
		sleep 0.1
	done
	if _lvhost_alive "$pid"; then
		echo "# lvhost: pid $pid ignored SIGTERM for ${secs}s; SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			_lvhost_alive "$pid" || break
			sleep 0.1
		done
	fi
	wait "$pid" 2>/dev/null
	! _lvhost_alive "$pid"
}

# _lvhost_pidfile FILE: print the pid in FILE if it is a number.
_lvhost_pidfile() {
	local pid
	[ -r "$1" ] || return 1
	read -r pid <"$1" || [ -n "${pid:-}" ] || return 1
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	echo "$pid"
}

# _lvhost_in_ns PID NS [DIR]: true if PID lives in mount namespace NS
# and, with DIR (a host's state dir), that namespace has DIR's mounts.
# A namespace's id is an inode number, reused once the namespace is gone:
# after a host's processes died, another program's new namespace may
# carry the same id, and its processes are not ours to stop.
_lvhost_in_ns() {
	[ -n "$2" ] && [ "$(readlink "/proc/$1/ns/mnt" 2>/dev/null)" = "$2" ] ||
		return 1
	[ -z "${3:-}" ] && return 0
	grep -qF "$(basename "$(dirname "$3")")/$(basename "$3")/" \
		"/proc/$1/mountinfo" 2>/dev/null
}

# _lvhost_ns_pids NS DIR: every pid in mount namespace NS, the one with
# host DIR's mounts (see _lvhost_in_ns).
_lvhost_ns_pids() {
	local p
	[ -n "$1" ] || return 0
	for p in /proc/[0-9]*; do
		_lvhost_in_ns "${p#/proc/}" "$1" "$2" && echo "${p#/proc/}"
	done
	return 0
}

# Write the host's clean configuration into DIR/etc.
_lvhost_write_config() {
	local d=$1 name=$2 port=$3 addr=$4 uuid level=${LVHOST_LOG_LEVEL:-3}
	uuid=$(cat /proc/sys/kernel/random/uuid)
	mkdir -p "$d/etc/qemu" "$d/etc/storage" "$d/etc/secrets" \
		"$d/lib" "$d/log/qemu" "$d/cache" "$d/run" || return 1
	cat >"$d/etc/libvirtd.conf" <<-EOF
		# lvhost $name: written by tests/lib/lvhost.sh (tests only)
		listen_tcp = 1
		listen_tls = 0
		listen_addr = "$addr"
		tcp_port = "$port"
		auth_tcp = "none"
		auth_unix_ro = "none"
		auth_unix_rw = "none"
		unix_sock_group = "root"
		host_uuid = "$uuid"
		log_outputs = "$level:file:/var/log/libvirt/libvirtd.log"
	EOF
	cat >"$d/etc/qemu.conf" <<-EOF
		# lvhost $name: written by tests/lib/lvhost.sh (tests only)
		user = "root"
		group = "root"
		dynamic_ownership = 0
		remember_owner = 0
		security_driver = "none"
		# no per-guest mount namespace, no cgroups: cgroupfs is shared by
		# every host on the machine, and guests of two hosts may have the
		# same name and id
		namespaces = []
		cgroup_controllers = []
		stdio_handler = "logd"
		vnc_listen = "127.0.0.1"
		spice_listen = "127.0.0.1"
		migration_port_min = $((port + 1))
		migration_port_max = $((port + 31))
		remote_display_port_min = $((port + 32))
		remote_display_port_max = $((port + 47))
		remote_websocket_port_min = $((port + 48))
		remote_websocket_port_max = $((port + 63))
	EOF
	cat >"$d/etc/virtlogd.conf" <<-EOF
		log_outputs = "$level:file:/var/log/libvirt/virtlogd.log"
		max_size = ${LVHOST_LOG_MAX_SIZE:-2097152}
	EOF
	: >"$d/etc/libvirt.conf"
	echo "$uuid" >"$d/host_uuid"
}

# _lvhost_ns_main NAME DIR: runs inside the new namespaces (see
# lvhost_start); ends by exec'ing libvirtd in the foreground.
_lvhost_ns_main() {
	local name=$1 d=$2 i
	set -e
	# nothing done here may leak back, whatever the caller's propagation
	mount -n --make-rprivate /
	mount -n -t tmpfs -o mode=0755,size=16m lvhost-run /run
	mkdir -p /run/libvirt /run/lock
	mount -n --bind "$d/run" /run/libvirt
	mount -n --bind "$d/etc" /etc/libvirt
	mount -n --bind "$d/lib" /var/lib/libvirt
	mount -n --bind "$d/log" /var/log/libvirt
	mount -n --bind "$d/cache" /var/cache/libvirt
	# LVHOST_NO_KVM=1: make /dev/kvm an empty file on a read-only bind,
	# so guests run under TCG as on machines without KVM.  Read-only
	# matters: libvirt counts a /dev/kvm it can open for writing as
	# usable KVM, so a writable one made its cached capabilities (no
	# kvm) stale on every look, and it probed QEMU again each time: 4 s
	# per virConnectGetCapabilities and per migration's prepare (TCG
	# moves took 6 s, against 2.4 s on a machine without /dev/kvm)
	if [ "${LVHOST_NO_KVM:-0}" = 1 ] && [ -e /dev/kvm ]; then
		: >"$d/no-kvm"
		mount -n --bind "$d/no-kvm" /dev/kvm
		mount -n -o remount,bind,ro /dev/kvm
	fi
	hostname "$name"
	[ -e "$d/netns" ] && _lvhost_ns_net "$d"
	virtlogd -d -p "$d/virtlogd.pid"
	for ((i = 0; i < 100; i++)); do
		[ -S /run/libvirt/virtlogd-sock ] && break
		sleep 0.05
	done
	set +e
	exec libvirtd --listen -p "$d/libvirtd.pid"
}

# _lvhost_net_addrs PORT: print the veth pair's two addresses (outside,
# inside) for a host on PORT: the PORT/64'th /30 of 10.254.0.0/16.
_lvhost_net_addrs() {
	local i=$(($1 / 64 % 16384))
	local a=$((i / 64)) b=$((i % 64 * 4))
	echo "10.254.$a.$((b + 1)) 10.254.$a.$((b + 2))"
}

# _lvhost_ns_net DIR: inside a host's new network namespace: sysfs of
# its own, loopback up, and eth0 (moved in by _lvhost_launch) with the
# inside address, once it is there.
_lvhost_ns_net() {
	local d=$1 port out in i
	port=$(cat "$d/port")
	read -r out in < <(_lvhost_net_addrs "$port")
	: "$out"
	mount -n -t sysfs sysfs /sys
	ip link set lo up
	for ((i = 0; i < 200; i++)); do
		ip link show eth0 >/dev/null 2>&1 && break
		sleep 0.05
	done
	ip addr add "$in/30" dev eth0
	ip link set eth0 up
}

# _lvhost_veth NAME PID: the host's veth pair, its inside end moved into
# the network namespace of PID (the unshare'd process).
_lvhost_veth() {
	local d port out in
	d=$(lvhost_dir "$1")
	port=$(cat "$d/port")
	read -r out in < <(_lvhost_net_addrs "$port")
	: "$in"
	ip link add "lvh$port" type veth peer name eth0 netns "$2" &&
		ip addr add "$out/30" dev "lvh$port" &&
		ip link set "lvh$port" up
}

# lvhost_start NAME PORT: see above.
lvhost_start() {
	local name=${1:?usage: lvhost_start NAME PORT} port=${2:?usage: lvhost_start NAME PORT}
	local d uri caps addr
	case $name in
	'' | *[!a-zA-Z0-9-]* | -*)
		echo "lvhost_start: bad host name '$name'" >&2
		return 1
		;;
	esac
	case $port in
	*[!0-9]* | '') echo "lvhost_start: bad port '$port'" >&2; return 1 ;;
	esac
	if [ "$port" -lt 6000 ] || [ "$port" -gt 65471 ]; then
		echo "lvhost_start: port $port not in 6000..65471" >&2
		return 1
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "lvhost_start: needs root (mount namespaces, libvirtd)" >&2
		return 1
	fi
	if [ -z "${HANGAR_TEST_TMP:-}" ]; then
		HANGAR_TEST_TMP=$(mktemp -d /tmp/hangar-test.XXXXXX) || return 1
		export HANGAR_TEST_TMP
	fi
	d=$(lvhost_dir "$name")
	if [ -e "$d" ]; then
		echo "lvhost_start: $d exists (host '$name' running?)" >&2
		return 1
	fi
	mkdir -p "$d" || return 1
	addr=127.0.0.1
	if [ "${LVHOST_NETNS:-0}" = 1 ]; then
		: >"$d/netns"
		addr=$(_lvhost_net_addrs "$port")
		addr=${addr#* }
	fi
	_lvhost_write_config "$d" "$name" "$port" "$addr" || return 1
	# the qemu capabilities cache (see the top of the file)
	caps=${LVHOST_CAPS_CACHE:-$HANGAR_TEST_TMP/.qemu-caps}
	if [ -d "$caps" ]; then
		mkdir -p "$d/cache/qemu" &&
			cp -a "$caps" "$d/cache/qemu/capabilities"
	fi
	uri="qemu+tcp://$addr:$port/system"
	echo "$uri" >"$d/uri"
	echo "$port" >"$d/port"
	if ! _lvhost_launch "$name" lvhost_start; then
		lvhost_stop "$name" >/dev/null 2>&1
		return 1
	fi
}

# _lvhost_launch NAME WHO: start libvirtd (and virtlogd) of the prepared
# state dir in a new namespace and wait until it answers; sets LVHOST_*.
# Returns 1 (after printing why, as WHO) if it did not come up; the
# caller stops what is left.
_lvhost_launch() {
	local name=$1 who=$2 d uri port pid t0 t1 i limit=${LVHOST_START_TIMEOUT:-60} ns caps
	d=$(lvhost_dir "$name")
	uri=$(cat "$d/uri") && port=$(cat "$d/port") || return 1
	caps=${LVHOST_CAPS_CACHE:-$HANGAR_TEST_TMP/.qemu-caps}
	t0=${EPOCHREALTIME/[.,]/}
	local net=()
	[ -e "$d/netns" ] && net=(--net)
	# unshare execs bash, which execs libvirtd: $! is libvirtd's pid
	# shellcheck disable=SC2016 # $0.. are expanded by the inner bash
	unshare --mount --uts "${net[@]}" --propagation private \
		bash -c '. "$0" && _lvhost_ns_main "$1" "$2"' \
		"$_LVHOST_LIB" "$name" "$d" </dev/null >>"$d/libvirtd.out" 2>&1 &
	pid=$!
	echo "$pid" >"$d/unshare.pid"
	if [ -e "$d/netns" ]; then
		for ((i = 0; i < 50; i++)); do
			[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" != \
				"$(readlink /proc/$$/ns/net)" ] && break
			sleep 0.02
		done
		if ! _lvhost_veth "$name" "$pid"; then
			echo "$who: cannot make the veth pair of '$name'" >&2
			return 1
		fi
	fi
	# the namespace is known as soon as the child has unshared
	for ((i = 0; i < 50; i++)); do
		ns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null) || break
		[ "$ns" != "$(readlink /proc/$$/ns/mnt)" ] && break
		sleep 0.02
	done
	[ -n "${ns:-}" ] && echo "$ns" >"$d/mntns"

	for ((i = 0; i < limit * 10; i++)); do
		if ! _lvhost_alive "$pid"; then
			wait "$pid" 2>/dev/null
			echo "$who: libvirtd for '$name' exited during start" >&2
			lvhost_log_tail "$name"
			return 1
		fi
		if timeout 5 virsh -q -c "$uri" version >/dev/null 2>&1; then
			break
		fi
		sleep 0.1
	done
	if ! timeout 5 virsh -q -c "$uri" version >/dev/null 2>&1; then
		echo "$who: $uri did not answer within ${limit}s" >&2
		lvhost_log_tail "$name"
		return 1
	fi
	t1=${EPOCHREALTIME/[.,]/}
	if [ ! -d "$caps" ] && [ -d "$d/cache/qemu/capabilities" ]; then
		if cp -a "$d/cache/qemu/capabilities" "$caps.$$"; then
			mv -T "$caps.$$" "$caps" 2>/dev/null || rm -rf "$caps.$$"
		fi
	fi
	LVHOST_URI=$uri
	LVHOST_PORT=$port
	LVHOST_DIR=$d
	export LVHOST_URI LVHOST_PORT LVHOST_DIR
	printf '# lvhost %s: %s up in %d.%02d s (libvirtd pid %s, state %s)\n' \
		"$name" "$uri" $(((t1 - t0) / 1000000)) \
		$(((t1 - t0) / 10000 % 100)) "$pid" "$d"
}

# _lvhost_halt NAME: stop everything the host runs (steps 1-5 of
# lvhost_stop); the state dir stays.  Returns 1 if a process survived.
_lvhost_halt() {
	local name=$1 d uri ns pid f dom rc=0 left
	d=$(lvhost_dir "$name")
	uri=$(cat "$d/uri" 2>/dev/null)
	ns=$(cat "$d/mntns" 2>/dev/null)
	pid=$(cat "$d/unshare.pid" 2>/dev/null)

	# 1. guests, through libvirt while it is up
	if _lvhost_alive "$pid" && [ -n "$uri" ]; then
		for dom in $(timeout 20 virsh -q -c "$uri" list --name 2>/dev/null); do
			timeout 20 virsh -q -c "$uri" destroy "$dom" >/dev/null 2>&1
		done
		# and its networks' dnsmasq, bridges and rules (netns hosts)
		if [ -e "$d/netns" ]; then
			for dom in $(timeout 20 virsh -q -c "$uri" net-list --name 2>/dev/null); do
				timeout 20 virsh -q -c "$uri" net-destroy "$dom" >/dev/null 2>&1
			done
		fi
	fi
	# 2. libvirtd (the unshare'd process itself, after its exec)
	if [ -n "$pid" ] && _lvhost_in_ns "$pid" "$ns" "$d"; then
		_lvhost_kill "$pid" 15 || rc=1
	fi
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	f=$(_lvhost_pidfile "$d/libvirtd.pid") &&
		[ "$f" != "$pid" ] && _lvhost_in_ns "$f" "$ns" "$d" &&
		{ _lvhost_kill "$f" 15 || rc=1; }
	# 3. guests libvirt did not get to: by their pid files
	for f in "$d"/run/qemu/*.pid; do
		[ -e "$f" ] || continue
		pid=$(_lvhost_pidfile "$f") || continue
		_lvhost_in_ns "$pid" "$ns" "$d" || continue
		_lvhost_kill "$pid" 10 || rc=1
	done
	# 4. virtlogd, after the guests whose output it holds
	if pid=$(_lvhost_pidfile "$d/virtlogd.pid") && _lvhost_in_ns "$pid" "$ns" "$d"; then
		_lvhost_kill "$pid" 10 || rc=1
	fi
	# 5. whatever else still lives in the namespace (started by the above)
	for pid in $(_lvhost_ns_pids "$ns" "$d"); do
		echo "# lvhost $name: pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)) left in the namespace; killing it" >&2
		_lvhost_kill "$pid" 5 || rc=1
	done
	# the veth pair goes with the namespace; its outside end, to be sure
	[ -e "$d/netns" ] && ip link del "lvh$(cat "$d/port")" 2>/dev/null
	left=$(_lvhost_ns_pids "$ns" "$d")
	if [ -n "$left" ]; then
		echo "lvhost_stop: pids still in $name's namespace: $left" >&2
		rc=1
	fi
	return "$rc"
}

# lvhost_stop NAME: see above.
lvhost_stop() {
	local name=${1:?usage: lvhost_stop NAME} d rc=0
	d=$(lvhost_dir "$name")
	[ -d "$d" ] || return 0
	_lvhost_halt "$name" || rc=1
	if [ "$rc" = 0 ] && [ "${HANGAR_KEEP:-0}" != 1 ]; then
		rm -rf "$d"
	elif [ "$rc" = 0 ]; then
		echo "# lvhost $name: state kept in $d" >&2
		mv "$d" "$d.stopped.$$" 2>/dev/null
	fi
	return "$rc"
}

# lvhost_down NAME: see above.
lvhost_down() {
	local name=${1:?usage: lvhost_down NAME} d rc=0
	d=$(lvhost_dir "$name")
	if [ ! -d "$d" ] || [ -e "$d/down" ]; then
		echo "lvhost_down: host '$name' is not running" >&2
		return 1
	fi
	_lvhost_halt "$name" || rc=1
	: >"$d/down"
	return "$rc"
}

# lvhost_up NAME: see above.
lvhost_up() {
	local name=${1:?usage: lvhost_up NAME} d
	d=$(lvhost_dir "$name")
	if [ ! -e "$d/down" ]; then
		echo "lvhost_up: host '$name' was not taken down by lvhost_down" >&2
		return 1
	fi
	# runtime leftovers (sockets, pid files) of the previous run
	find "$d/run" -mindepth 1 -delete 2>/dev/null
	rm -f "$d/libvirtd.pid" "$d/virtlogd.pid" "$d/mntns" "$d/unshare.pid"
	rm -f "$d/down"
	if ! _lvhost_launch "$name" lvhost_up; then
		_lvhost_halt "$name" >/dev/null 2>&1
		: >"$d/down"
		return 1
	fi
}

# --------------------------------------------------------------- segments

_lvseg_dir() {
	printf '%s/lvseg-%s\n' "${HANGAR_TEST_TMP:-/nonexistent}" "$1"
}

# _lvseg_hold FILE: start a `sleep infinity` in a network namespace of
# its own, its pid into FILE once it has unshared; its loopback up.
_lvseg_hold() {
	local pid i me
	me=$(readlink /proc/$$/ns/net)
	unshare --net sleep infinity </dev/null >/dev/null 2>&1 &
	pid=$!
	echo "$pid" >"$1"
	for ((i = 0; i < 200; i++)); do
		[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" != "$me" ] && break
		sleep 0.02
	done
	if ! _lvhost_alive "$pid" ||
		[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$me" ]; then
		echo "lvhost segment: cannot make a network namespace" >&2
		return 1
	fi
	nsenter -t "$pid" -n ip link set lo up
}

# _lvseg_held FILE: the pid in FILE if it is still our holder (a `sleep`
# in a network namespace other than ours).
_lvseg_held() {
	local pid
	pid=$(_lvhost_pidfile "$1") && _lvhost_alive "$pid" || return 1
	[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/$$/ns/net)" ] &&
		grep -qx sleep "/proc/$pid/comm" 2>/dev/null || return 1
	echo "$pid"
}

_lvseg_check_name() {
	case $1 in
	'' | *[!a-zA-Z0-9-]* | -*)
		echo "lvhost segment: bad name '$1'" >&2
		return 1
		;;
	esac
	[ "${#1}" -le 12 ] || { echo "lvhost segment: name '$1' too long" >&2; return 1; }
}

# lvhost_segment_start SEG: see the top of the file.
lvhost_segment_start() {
	local seg=${1:?usage: lvhost_segment_start SEG} d pid
	_lvseg_check_name "$seg" || return 1
	if [ -z "${HANGAR_TEST_TMP:-}" ]; then
		HANGAR_TEST_TMP=$(mktemp -d /tmp/hangar-test.XXXXXX) || return 1
		export HANGAR_TEST_TMP
	fi
	d=$(_lvseg_dir "$seg")
	if [ -e "$d" ]; then
		echo "lvhost_segment_start: $d exists" >&2
		return 1
	fi
	mkdir -p "$d" && : >"$d/hosts" || return 1
	if ! _lvseg_hold "$d/switch.pid" ||
		! pid=$(_lvseg_held "$d/switch.pid") ||
		! nsenter -t "$pid" -n ip link add sw type bridge ||
		! nsenter -t "$pid" -n ip link set sw up; then
		lvhost_segment_stop "$seg"
		return 1
	fi
	echo "# lvhost segment $seg: switch in the namespace of pid $pid"
}

# _lvseg_port SEG PEER-PID IFNAME: a veth pair from the switch (IFNAME
# there, member of sw) to PEER-PID's namespace (PEERNAME there), up.
_lvseg_port() {
	local spid=$1 ppid=$2 ifname=$3 peername=$4
	ip link add "$ifname" netns "$spid" type veth peer name "$peername" \
		netns "$ppid" &&
		nsenter -t "$spid" -n ip link set "$ifname" master sw &&
		nsenter -t "$spid" -n ip link set "$ifname" up &&
		nsenter -t "$ppid" -n ip link set "$peername" up
}

# lvhost_segment_join SEG HOST ADDR/PREFIX [BRIDGE]: see the top.
lvhost_segment_join() {
	local seg=$1 host=$2 addr=$3 br=${4:-br0} d hd hpid spid port in
	local g gin gaddr gpid
	d=$(_lvseg_dir "$seg")
	hd=$(lvhost_dir "$host")
	if ! spid=$(_lvseg_held "$d/switch.pid"); then
		echo "lvhost_segment_join: segment '$seg' is not running" >&2
		return 1
	fi
	if [ ! -e "$hd/netns" ] || ! hpid=$(_lvhost_pidfile "$hd/unshare.pid") ||
		! _lvhost_alive "$hpid"; then
		echo "lvhost_segment_join: '$host' is not a running LVHOST_NETNS host" >&2
		return 1
	fi
	port=$(cat "$hd/port")
	in=$(_lvhost_net_addrs "$port")
	in=${in#* }
	if ! { nsenter -t "$hpid" -n ip link add "$br" type bridge &&
		nsenter -t "$hpid" -n ip addr add "$addr" dev "$br" &&
		nsenter -t "$hpid" -n ip link set "$br" up &&
		_lvseg_port "$spid" "$hpid" "sg$port" seg0 &&
		nsenter -t "$hpid" -n ip link set seg0 master "$br"; }; then
		echo "lvhost_segment_join: cannot join '$host' to '$seg'" >&2
		return 1
	fi
	# each other's libvirtd over the segment
	while read -r g gin gaddr; do
		[ -n "$g" ] || continue
		gpid=$(_lvhost_pidfile "$(lvhost_dir "$g")/unshare.pid") || continue
		if ! { nsenter -t "$hpid" -n ip route add "$gin/32" via "$gaddr" &&
			nsenter -t "$gpid" -n ip route add "$in/32" via "${addr%/*}"; }; then
			echo "lvhost_segment_join: cannot route between '$host' and its peers" >&2
			return 1
		fi
	done <"$d/hosts"
	echo "$host $in ${addr%/*}" >>"$d/hosts"
	echo "# lvhost segment $seg: $host joined ($br $addr)"
}

# lvhost_segment_client SEG NAME ADDR/PREFIX: see the top of the file.
lvhost_segment_client() {
	local seg=$1 name=$2 addr=$3 d spid cpid
	_lvseg_check_name "$name" || return 1
	d=$(_lvseg_dir "$seg")
	if ! spid=$(_lvseg_held "$d/switch.pid"); then
		echo "lvhost_segment_client: segment '$seg' is not running" >&2
		return 1
	fi
	if [ -e "$d/client-$name.pid" ]; then
		echo "lvhost_segment_client: '$name' exists" >&2
		return 1
	fi
	if ! { _lvseg_hold "$d/client-$name.pid" &&
		cpid=$(_lvseg_held "$d/client-$name.pid") &&
		_lvseg_port "$spid" "$cpid" "c-$name" eth0 &&
		nsenter -t "$cpid" -n ip addr add "$addr" dev eth0; }; then
		echo "lvhost_segment_client: cannot make client '$name'" >&2
		return 1
	fi
	echo "# lvhost segment $seg: client $name ($addr) in the namespace of pid $cpid"
}

lvhost_segment_pid() {
	_lvseg_held "$(_lvseg_dir "$1")/client-$2.pid"
}

lvhost_segment_exec() {
	local pid
	pid=$(lvhost_segment_pid "$1" "$2") || {
		echo "lvhost_segment_exec: no client '$2' on '$1'" >&2
		return 1
	}
	shift 2
	nsenter -t "$pid" -n -- "$@"
}

# _lvseg_drop FILE: stop the holder in FILE and everything else in its
# network namespace (looked up while the holder keeps the namespace's
# id from being reused).  Returns 1 if a process survived.
_lvseg_drop() {
	local hold ns p rc=0
	hold=$(_lvseg_held "$1") || { rm -f "$1"; return 0; }
	ns=$(readlink "/proc/$hold/ns/net")
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$hold" ] && continue
		[ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$ns" ] || continue
		echo "# lvhost segment: pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60)) left in a namespace; stopping it" >&2
		_lvhost_kill "$p" 5 || rc=1
	done
	_lvhost_kill "$hold" 5 || rc=1
	[ "$rc" = 0 ] && rm -f "$1"
	return "$rc"
}

# lvhost_segment_stop SEG: see the top of the file.
lvhost_segment_stop() {
	local seg=${1:?usage: lvhost_segment_stop SEG} d f rc=0
	d=$(_lvseg_dir "$seg")
	[ -d "$d" ] || return 0
	for f in "$d"/client-*.pid "$d/switch.pid"; do
		[ -e "$f" ] || continue
		_lvseg_drop "$f" || rc=1
	done
	[ "$rc" = 0 ] && rm -rf "$d"
	return "$rc"
}
