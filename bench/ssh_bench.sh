# shellcheck shell=bash
#
# ssh_bench.sh - issue 12's "image to SSH-ready" row of bench/run.sh.
#
#   S1  from an image to `ssh debian@GUEST true` answering, the real
#       Debian 12 cloud image (tests/lib/guest.sh), one guest at a time,
#       BENCH_S1_ROUNDS rounds (2), the sides alternating:
#       hangar: `hangar vm create --image deb --network lan --ssh-key
#         KEY.pub --hostname s1guest --vcpus 1 --memory 512 --machine pc
#         --start --wait-ip`, `hangar vm ip`, then SSH polled;
#       peer (what people do today): `qemu-img create -b` an overlay of
#         the same base file hangar's linked clones use, a seed made by
#         `cloud-localds` (the same key and host name), `virsh net-update
#         add ip-dhcp-host` (a fixed MAC and address), `virt-install
#         --import --noautoconsole` (same vCPUs, memory, machine, domain
#         type, virtio disk, NIC), then SSH polled.
#       Both clocks stop at the first `ssh ... true` that succeeds (from
#       inside the host's network namespace, nsenter, 0.5 s between
#       tries); cloud-init may still be running then, on both sides.
#
# Its own libvirt host (LVHOST_NETNS=1: bridges and dnsmasq in a network
# namespace of its own, nothing leaves the machine; LVHOST_NO_KVM=1: the
# host offers only domain type qemu (TCG), as the Debian guest under this
# machine's nested KVM stops at boot with a KVM internal error, and hangar
# vm create has no option for the domain type) and hangard ("s1",
# image_dir $T/s1-library).  hangar's VMs are on a nat network hangar
# made (lan, 10.79.0.0/24); the peer's on a nat network of its own made
# with `virsh net-create` (10.80.0.0/24), so hangard's network
# reconciliation never meets the peer's DHCP host.  A VM "s1warm"
# (created, never started) keeps the image's base copy in the host's pool
# for the whole row, so neither side pays the first upload of the image.
# Not a script of its own: bench/run.sh sources it (row, note, log,
# stop_pid, hangard_up, $T, $BUILD).  BUILD=build bash bench/run.sh S1

S1_ROUNDS=${BENCH_S1_ROUNDS:-2}
S1_UP=''

s1_not_run() {
	row S1 "image -> SSH answering, s" "not run" "cloud-localds + virt-install --import" "-" "-" "<= 1.0x" "-"
	note "S1 not run: $1"
}

# s1_ssh IP: one try of `ssh debian@IP true` from the host's namespace
s1_ssh() {
	timeout 15 nsenter -t "$S1_NS" -n ssh -i "$T/s1-key/id" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o BatchMode=yes -o ConnectTimeout=3 -o LogLevel=ERROR \
		"debian@$1" true </dev/null >/dev/null 2>&1
}

# s1_poll IP: until SSH answers (at most 600 s); 1 on timeout
s1_poll() {
	local t0
	t0=$(now_us)
	until s1_ssh "$1"; do
		[ $(($(now_us) - t0)) -gt 600000000 ] && return 1
		sleep 0.5
	done
}

s1_virsh() { virsh -q -c "$S1_URI" "$@"; }
s1_cli() { "$BUILD/hangar" --url "unix:$T/s1.sock" --timeout 900 "$@"; }

# s1_setup: the host, hangard, lan, the image, the key, the warm VM, the
# peer's network and pool.  Sets S1_URI, S1_NS, S1_PID, S1_BASE, S1_DT.
s1_setup() {
	local deb code disk
	# shellcheck source=tests/lib/guest.sh
	. tests/lib/guest.sh
	deb=$(guest_image debian 2>"$T/s1-guest.err") ||
		{ S1_WHY="no Debian image: $(tail -1 "$T/s1-guest.err")"; return 1; }
	LVHOST_NETNS=1 LVHOST_NO_KVM=1 lvhost_start s1 "$(lvhost_free_port 64)" >/dev/null 2>"$T/s1-lvhost.err" ||
		{ S1_WHY="the libvirt host did not start: $(tail -1 "$T/s1-lvhost.err")"; return 1; }
	S1_UP=1 S1_URI=$LVHOST_URI
	S1_NS=$(cat "$LVHOST_DIR/unshare.pid")
	hangard_up s1 "$S1_URI" "image_dir = $T/s1-library" ||
		{ S1_WHY="hangard did not start: $(tail -1 "$T/s1.log")"; return 1; }
	S1_PID=$H_PID
	s1_cli network create lan --mode nat --cidr 10.79.0.0/24 >"$T/s1-net.out" 2>&1 ||
		{ S1_WHY="network create: $(tail -1 "$T/s1-net.out")"; return 1; }
	code=$(curl -sS --max-time 900 -o "$T/s1-import.json" -w '%{http_code}' \
		--unix-socket "$T/s1.sock" -X POST -T "$deb" \
		-H 'Content-Type: application/octet-stream' \
		"http://h/v1/images?name=deb&format=qcow2&wait=900")
	[ "$code" = 200 ] || { S1_WHY="image import: $code $(head -c 200 "$T/s1-import.json")"; return 1; }
	mkdir -p "$T/s1-key"
	ssh-keygen -q -t ed25519 -N '' -C hangar-bench-s1 -f "$T/s1-key/id" || return 1
	s1_cli vm create s1warm --image deb --vcpus 1 --memory 512 --machine pc \
		>"$T/s1-warm.out" 2>&1 ||
		{ S1_WHY="the warm VM: $(tail -1 "$T/s1-warm.out")"; return 1; }
	disk=$(s1_virsh domblklist s1warm --details | awk '$2 == "disk" { print $4; exit }')
	S1_BASE=$(qemu-img info -U --output=json "$disk" | jq -r '."full-backing-filename" // empty')
	S1_DT=$(s1_virsh dumpxml --inactive s1warm | sed -n "s/^<domain type='\([a-z]*\)'.*/\1/p")
	if [ -z "$S1_BASE" ] || [ -z "$S1_DT" ]; then
		S1_WHY="no base image or domain type behind s1warm ($disk)"
		return 1
	fi
	mkdir -p "$T/s1-peer"
	cat >"$T/s1-peer-net.xml" <<-EOF
		<network><name>s1peer</name><forward mode='nat'/>
		<bridge name='s1pbr0' stp='on' delay='0'/>
		<ip address='10.80.0.1' netmask='255.255.255.0'>
		<dhcp><range start='10.80.0.100' end='10.80.0.199'/></dhcp></ip></network>
	EOF
	if ! s1_virsh net-create "$T/s1-peer-net.xml" >/dev/null ||
		! s1_virsh pool-create-as s1peer dir --target "$T/s1-peer" >/dev/null; then
		S1_WHY="the peer's network or pool could not be made"
		return 1
	fi
}

# s1_hangar R: one round of hangar's side; "create_s total_s" on stdout
s1_hangar() {
	local n=s1h$1 t0 t1 ip
	t0=$(now_us)
	s1_cli vm create "$n" --image deb --network lan --ssh-key "$T/s1-key/id.pub" \
		--hostname s1guest --vcpus 1 --memory 512 --machine pc --start --wait-ip \
		>"$T/s1-$n.out" 2>&1 || { log "S1: $n: $(tail -1 "$T/s1-$n.out")"; return 1; }
	t1=$(now_us)
	ip=$(s1_cli vm ip "$n" | head -1)
	s1_poll "$ip" || { log "S1: $n: no SSH at $ip"; return 1; }
	echo "$(((t1 - t0) / 1000)) $((($(now_us) - t0) / 1000))"
	s1_cli vm delete "$n" >/dev/null 2>&1
}

# s1_peer R: one round of the peer's side; "define_s total_s" on stdout
s1_peer() {
	local n=s1p$1 d=$T/s1-peer t0 t1 mac=52:54:00:5b:01:0$1 ip=10.80.0.20$1
	local host="<host mac='$mac' name='s1guest' ip='$ip'/>"
	t0=$(now_us)
	printf '#cloud-config\nssh_authorized_keys:\n  - %s\n' "$(cat "$T/s1-key/id.pub")" >"$d/$n-ud"
	printf 'instance-id: %s\nlocal-hostname: s1guest\n' "$n" >"$d/$n-md"
	{ qemu-img create -q -f qcow2 -b "$S1_BASE" -F qcow2 "$d/$n.qcow2" &&
		cloud-localds "$d/$n-seed.iso" "$d/$n-ud" "$d/$n-md" &&
		s1_virsh pool-refresh s1peer &&
		s1_virsh net-update s1peer add ip-dhcp-host "$host" --live &&
		virt-install --connect "$S1_URI" --import --noautoconsole --name "$n" \
			--vcpus 1 --memory 512 --machine pc --virt-type "$S1_DT" \
			--osinfo debian11 --graphics none \
			--disk "vol=s1peer/$n.qcow2,bus=virtio" \
			--disk "vol=s1peer/$n-seed.iso,device=cdrom" \
			--network "network=s1peer,mac=$mac,model=virtio"; } \
		>"$T/s1-$n.out" 2>&1 || { log "S1: $n: $(tail -1 "$T/s1-$n.out")"; return 1; }
	t1=$(now_us)
	s1_poll "$ip" || { log "S1: $n: no SSH at $ip"; return 1; }
	echo "$(((t1 - t0) / 1000)) $((($(now_us) - t0) / 1000))"
	s1_virsh destroy "$n" >/dev/null 2>&1
	s1_virsh undefine "$n" >/dev/null 2>&1
	s1_virsh net-update s1peer delete ip-dhcp-host "$host" --live >/dev/null 2>&1
	rm -f "$d/$n"*
}

# s1_fmt FILE COL: "median (round, round...)" in seconds
s1_fmt() {
	local m
	m=$(awk -v c="$2" '{ print $c / 1000 }' "$1" | stats | cut -d' ' -f1)
	echo "$m ($(awk -v c="$2" '{ printf "%s%.1f", (NR > 1 ? "/" : ""), $c / 1000 }' "$1"))"
}

s1() {
	local r load0 hm pm
	log "S1: image -> SSH answering, $S1_ROUNDS rounds a side (Debian 12)"
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	if ! s1_setup; then
		s1_not_run "$S1_WHY"
		s1_down
		return
	fi
	: >"$T/s1.h"
	: >"$T/s1.p"
	for ((r = 0; r < S1_ROUNDS; r++)); do
		if ((r % 2 == 0)); then
			s1_hangar "$r" >>"$T/s1.h" && s1_peer "$r" >>"$T/s1.p"
		else
			s1_peer "$r" >>"$T/s1.p" && s1_hangar "$r" >>"$T/s1.h"
		fi || { note "S1: round $r did not finish (see the log above); the row has the rounds that did"; break; }
		log "S1: round $r: hangar $(tail -1 "$T/s1.h"), peer $(tail -1 "$T/s1.p") (ms)"
	done
	if [ ! -s "$T/s1.h" ] || [ ! -s "$T/s1.p" ]; then
		s1_not_run "a side failed: $(tail -c 300 "$T"/s1-s1[hp]*.out 2>/dev/null | tr '\n' ' ')"
		s1_down
		return
	fi
	hm=$(s1_fmt "$T/s1.h" 2) pm=$(s1_fmt "$T/s1.p" 2)
	row S1 "image -> first \`ssh debian@guest true\` (Debian 12, 1 vCPU, 512 MiB, $S1_DT), s median (rounds)" \
		"${hm}" "cloud-localds + virt-install --import" "${pm}" \
		"$(ratio "${hm%% *}" "${pm%% *}")" "<= 1.0x" "$(yesno "${hm%% *} <= ${pm%% *}")"
	note "S1: one guest at a time on a libvirt host in its own network namespace, domain type $S1_DT (the host offers only qemu, LVHOST_NO_KVM=1; the peer is given the same), machine pc, virtio disk and NIC, the sides alternating by round. hangar: \`hangar vm create --image deb --network lan --ssh-key --hostname --start --wait-ip\` (returned after $(s1_fmt "$T/s1.h" 1) s), \`hangar vm ip\`, SSH polled. Peer: qemu-img create -b (overlay of the base copy hangar's linked clones use), cloud-localds (user-data ssh_authorized_keys, meta-data local-hostname), virsh pool-refresh, net-update add ip-dhcp-host, virt-install --import --noautoconsole --osinfo debian11 (returned after $(s1_fmt "$T/s1.p" 1) s), SSH polled. Both stop at the first \`ssh debian@IP true\` that succeeds (nsenter into the host's namespace, ConnectTimeout 3 s, 0.5 s between tries). Load average at the row's start $load0, at its end $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared)."
	s1_down
}

# s1_down: hangard and the host (safe twice; run.sh's cleanup calls it)
s1_down() {
	[ -n "${S1_PID:-}" ] && stop_pid "$S1_PID"
	S1_PID=''
	[ -n "$S1_UP" ] && lvhost_stop s1 >/dev/null 2>&1
	S1_UP=''
}
