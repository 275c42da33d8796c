#!/usr/bin/env python3
"""console_rtt.py - bench row C1's peer: `virsh console` on a VM's serial
console, driven through a pseudo-terminal (virsh refuses to run its
console without one), timing each key typed to its echo.

Usage: console_rtt.py URI DOMAIN N
Logs in as root (the tiny test guest needs no password) when it sees a
login prompt, then N times types one letter and times until it comes
back; prints "rtt_ms MEDIAN MIN MAX", erases the letters (^U) and leaves
with Ctrl-] like a user.  Exit 1 (with why) when it cannot.
"""
import os
import pty
import re
import select
import statistics
import sys
import time


def main(uri, dom, n):
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("virsh", ["virsh", "-c", uri, "console", dom])
    out = b""

    def read_until(pat, limit):
        nonlocal out
        end = time.monotonic() + limit
        while not re.search(pat, out):
            left = end - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([fd], [], [], left)
            if r:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    return False
        return True

    if not read_until(rb"Escape character", 20):
        print("virsh console did not attach: %r" % out[-300:])
        return 1
    os.write(fd, b"\r")
    if not read_until(rb"(login: |# )\S*$", 20):
        print("no prompt on the console: %r" % out[-300:])
        return 1
    if re.search(rb"login: \S*$", out):
        os.write(fd, b"root\r")
        if not read_until(rb"# \S*$", 20):
            print("no shell after logging in: %r" % out[-300:])
            return 1
    # a key nobody times first (^U: nothing on the line), as on the
    # hangar side
    os.write(fd, b"\x15")
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            out += os.read(fd, 65536)
    times = []
    for i in range(n):
        ch = bytes([ord("a") + i % 26])
        mark = len(out)
        t0 = time.monotonic()
        os.write(fd, ch)
        while ch not in out[mark:]:
            r, _, _ = select.select([fd], [], [], 10)
            if not r:
                print("no echo of %r" % ch)
                return 1
            out += os.read(fd, 65536)
        times.append((time.monotonic() - t0) * 1000)
    print("rtt_ms %.2f %.2f %.2f" % (statistics.median(times), min(times),
                                     max(times)))
    sys.stdout.flush()
    # erase the letters; then Ctrl-] on its own, as a key press comes
    os.write(fd, b"\x15")
    time.sleep(0.2)
    os.write(fd, b"\x1d")
    end = time.monotonic() + 5
    while time.monotonic() < end:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return 0
        time.sleep(0.05)
    os.kill(pid, 15)
    os.waitpid(pid, 0)
    print("virsh console did not leave on Ctrl-]")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
