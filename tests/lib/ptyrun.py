#!/usr/bin/env python3
"""ptyrun.py - run a shell command on a pseudo-terminal and drive it like a
user at a terminal would (for `hangar vm console`, which puts a terminal
in raw mode): a script of steps, then everything it printed on stdout
(carriage returns removed).

Usage: ptyrun.py [--timeout S] 'SHELL COMMAND' STEP...
  wait:REGEX   read until REGEX (Python re, multiline) matches the output
  send:TEXT    type TEXT (\\r, \\n, \\xNN escapes; \\x1d is Ctrl-])
  sleep:S
At the end it waits (the same timeout) for the command to exit.  Exit 1
when a step or the wait failed (the output is printed anyway).
"""
import os
import pty
import re
import select
import sys
import time


def main(argv):
    timeout = 30.0
    if argv[0] == "--timeout":
        timeout = float(argv[1])
        argv = argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("sh", ["sh", "-c", argv[0]])
    out = b""
    ok = True

    def pump(limit):
        nonlocal out
        r, _, _ = select.select([fd], [], [], limit)
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                return False
            out += d
            return bool(d)
        return True

    for st in argv[1:]:
        kind, _, arg = st.partition(":")
        end = time.monotonic() + timeout
        if kind == "wait":
            rx = re.compile(arg.encode(), re.M)
            while not rx.search(out.replace(b"\r", b"")):
                if time.monotonic() > end or not pump(0.1):
                    print("ptyrun: no /%s/" % arg, file=sys.stderr)
                    ok = False
                    break
        elif kind == "send":
            os.write(fd, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif kind == "sleep":
            time.sleep(float(arg))
        if not ok:
            break
    end = time.monotonic() + timeout
    status = None
    while status is None and time.monotonic() < end:
        pump(0.1)
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            status = st
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        print("ptyrun: the command did not exit", file=sys.stderr)
        ok = False
    while pump(0.05) and select.select([fd], [], [], 0)[0]:
        pass
    sys.stdout.write(out.replace(b"\r", b"").decode(errors="replace"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
