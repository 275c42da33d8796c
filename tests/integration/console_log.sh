#!/usr/bin/env bash
#
# console_log.sh - GET /v1/vms/{vm}/console/log?tail=N across virtlogd's
# rotation of the console's log file: on a host whose virtlogd rotates at
# 16 KiB (LVHOST_LOG_MAX_SIZE), the tiny guest's boot and a typed `seq`
# fill the log several times over; a tail longer than the current file
# is the end of FILE.1 followed by the whole current file, byte for byte
# as virtlogd wrote them (read straight from the host's log directory),
# and a tail over both is both, in that order.
# Usage: BUILD=build tests/integration/console_log.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh
# shellcheck source=tests/lib/guest.sh
. tests/lib/guest.sh

t_init console_log nohost
if ! LVHOST_LOG_MAX_SIZE=16384 t_lvhost_start cl1; then
	t_fail "start a libvirt host whose virtlogd rotates at 16 KiB" "see above"
	t_summary
fi
T_LV_URI=$LVHOST_URI
LOGDIR=$LVHOST_DIR/log/qemu
hangard_start || t_summary
VM=${T_PFX//_/-}l1
CON=/v1/vms/$VM/console
R=$RANDOM

if ! TINY=$(guest_image tiny); then
	t_fail "build the tiny test guest" "see above"
	t_summary
fi
code=$(curl -sS -m 300 -o /dev/null -w '%{http_code}' -X POST \
	-H 'Content-Type: application/octet-stream' -T "$TINY" \
	"$T_BASE/v1/images?name=tiny&format=qcow2&wait=300")
t_eq "import the tiny guest: 200" "$code" 200
t_http POST /v1/vms "{\"name\":\"$VM\",\"vcpus\":1,\"memory_mib\":128,\"image\":\"tiny\",\"start\":true,\"placement\":{\"domain_type\":\"qemu\"}}"
t_expect_status 201 "create and start $VM"
log_has() {
	curl -sS -m 10 "$T_BASE$CON/log" | tr -d '\r' | grep -aqE -- "$1"
}
t_check "console/log shows the login prompt within 120 s" t_wait_for 120 log_has "$GUEST_LOGIN_RE"

# 4001 lines of 8 bytes (with CR LF), and the shell's answer at the end
t_http POST "$CON/type" "{\"text\":\"root\\n\"}"
# keys typed before the shell is up are lost (busybox's line editing
# starts by asking the terminal where its cursor is): wait for its prompt
t_check "root's shell prompt in console/log" t_wait_for 60 log_has '/root # '
sleep 1
t_http POST "$CON/type" "{\"text\":\"seq 100000 104000; echo end-\$((9+$R))\\n\"}"
t_expect_status 200 "type a seq of 32 KiB"
t_check "... its end in console/log" t_wait_for 60 log_has "^end-$((9 + R))"
sleep 1

LOG=$(ls "$LOGDIR"/*-serial.log 2>/dev/null | head -n 1)
t_check "the host's log was rotated: $LOG.1 is there" test -s "$LOG.1"
cur=$(stat -c %s "$LOG")
old=$(stat -c %s "$LOG.1")
t_check "... the current file is under 16 KiB (rotated at 16 KiB)" test "$cur" -le 16384
cat "$LOG.1" "$LOG" >"$T_TMP/both"
n=$((cur + 5000))
curl -sS -o "$T_TMP/tail" "$T_BASE$CON/log?tail=$n"
tail -c "$n" "$T_TMP/both" >"$T_TMP/want"
t_eq "tail=$n (the current file is $cur bytes): $n bytes" "$(stat -c %s "$T_TMP/tail")" "$n"
t_check "... the end of FILE.1 then the whole current file" cmp -s "$T_TMP/tail" "$T_TMP/want"
curl -sS -o "$T_TMP/tail" "$T_BASE$CON/log?tail=1048576"
t_eq "tail=1048576: both files, $old + $cur bytes" "$(stat -c %s "$T_TMP/tail")" "$((old + cur))"
t_check "... in order" cmp -s "$T_TMP/tail" "$T_TMP/both"
curl -sS -o "$T_TMP/tail" "$T_BASE$CON/log?tail=100"
t_check "tail=100: the current file's last 100 bytes" cmp -s "$T_TMP/tail" <(tail -c 100 "$LOG")

t_http DELETE "/v1/vms/$VM?wait=60"
t_summary
