#!/usr/bin/env python3
"""wsclient.py - a small WebSocket client (RFC 6455) for the console tests
and the console benchmark: it speaks to hangard's GET /v1/vms/{vm}/console
over its unix socket or TCP, with nothing but the standard library, and
runs a script of steps against it.

Usage: wsclient.py [options] BASE PATH STEP...
  BASE    unix:/path/to/hangard.sock or http://127.0.0.1:PORT
  PATH    e.g. /v1/vms/web1/console?mode=read
Options:
  --token T         Authorization: Bearer T
  --proto-token T   the token as a Sec-WebSocket-Protocol entry
                    (hangar.token.T), as a browser sends it
  --timeout S       default wait of a step (10 s)
Steps (run in order; the first that fails ends it with exit 1):
  wait:REGEX        read console output until REGEX (Python re, on the
                    output so far, CRs removed) matches
  send:TEXT         a binary frame with TEXT (\\n, \\r, \\t, \\xNN escapes)
  text:TEXT         the same as a text frame
  raw:HEX           these bytes as they are (a hand-made frame)
  ping:TEXT         a ping; the next pong must carry TEXT
  close:CODE        a close frame with CODE; wait for the echo
  closed:CODE       wait until the server closes with CODE (prints reason)
  sleep:S
  rtt:N             N times: type one letter, time until it comes back;
                    prints "rtt_ms MEDIAN MIN MAX"
On a refused handshake it prints "http STATUS" and the body, exit 2.
Prints "closed CODE REASON" when the server closes.
"""
import base64
import os
import re
import socket
import statistics
import struct
import sys
import time


def connect(base):
    if base.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(base[5:])
        return s, "localhost"
    m = re.match(r"http://([^:/]+):(\d+)", base)
    s = socket.create_connection((m.group(1), int(m.group(2))))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s, m.group(1)


class Client:
    def __init__(self, sock, timeout):
        self.s = sock
        self.buf = b""
        self.out = b""
        self.timeout = timeout
        self.close = None
        self.pongs = []

    def handshake(self, host, path, headers):
        key = base64.b64encode(os.urandom(16)).decode()
        req = "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n" \
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n" \
            "Sec-WebSocket-Version: 13\r\n" % (path, host, key)
        for h in headers:
            req += h + "\r\n"
        self.s.sendall((req + "\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            self.fill(self.timeout)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode(errors="replace").split("\r\n")
        status = int(lines[0].split()[1])
        if status != 101:
            hdrs = dict(l.split(": ", 1) for l in lines[1:] if ": " in l)
            n = int(hdrs.get("Content-Length", "0"))
            while len(self.buf) < n:
                if not self.fill(self.timeout):
                    break
            print("http %d" % status)
            print(self.buf[:n].decode(errors="replace"))
            sys.exit(2)
        return lines

    def fill(self, timeout):
        self.s.settimeout(timeout)
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return False
        if not d:
            raise EOFError
        self.buf += d
        return True

    def frame(self, op, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        h = bytes([(0x80 if fin else 0) | op])
        if n < 126:
            h += bytes([0x80 | n])
        elif n < 65536:
            h += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            h += bytes([0x80 | 127]) + struct.pack(">Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.s.sendall(h + mask + body)

    def pump(self, timeout):
        """Read one batch of frames; False on timeout."""
        if not self.parse():
            if not self.fill(timeout):
                return False
            self.parse()
        return True

    def parse(self):
        got = False
        while len(self.buf) >= 2:
            b0, b1 = self.buf[0], self.buf[1]
            n, i = b1 & 0x7f, 2
            if n == 126:
                if len(self.buf) < 4:
                    break
                n, i = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                if len(self.buf) < 10:
                    break
                n, i = struct.unpack(">Q", self.buf[2:10])[0], 10
            if len(self.buf) < i + n:
                break
            pl, self.buf = self.buf[i:i + n], self.buf[i + n:]
            got = True
            op = b0 & 0x0f
            if op in (1, 2):
                self.out += pl
            elif op == 8:
                code = struct.unpack(">H", pl[:2])[0] if len(pl) >= 2 else 1005
                self.close = (code, pl[2:].decode(errors="replace"))
                print("closed %d %s" % self.close)
                sys.stdout.flush()
            elif op == 9:
                self.frame(10, pl)
            elif op == 10:
                self.pongs.append(pl)
        return got

    def text(self):
        return self.out.decode(errors="replace").replace("\r", "")


def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1")


def step(c, st):
    kind, _, arg = st.partition(":")
    end = time.monotonic() + c.timeout
    if kind == "wait":
        rx = re.compile(arg, re.M)
        while not rx.search(c.text()):
            if c.close or time.monotonic() > end:
                tail = c.text()[-300:]
                print("no /%s/ in the output; its tail: %r" % (arg, tail))
                return False
            c.pump(max(0.01, end - time.monotonic()))
        return True
    if kind in ("send", "text"):
        c.frame(2 if kind == "send" else 1, unescape(arg))
        return True
    if kind == "raw":
        c.s.sendall(bytes.fromhex(arg))
        return True
    if kind == "ping":
        c.frame(9, arg.encode())
        while arg.encode() not in c.pongs:
            if time.monotonic() > end:
                print("no pong %r" % arg)
                return False
            c.pump(max(0.01, end - time.monotonic()))
        return True
    if kind in ("close", "closed"):
        if kind == "close":
            c.frame(8, struct.pack(">H", int(arg)) + b"bye")
        while c.close is None:
            if time.monotonic() > end:
                print("no close frame")
                return False
            try:
                c.pump(max(0.01, end - time.monotonic()))
            except EOFError:
                print("connection closed without a close frame")
                return False
        if c.close[0] != int(arg):
            print("closed with %d, not %s" % (c.close[0], arg))
            return False
        return True
    if kind == "sleep":
        time.sleep(float(arg))
        return True
    if kind == "rtt":
        return rtt(c, int(arg))
    print("unknown step %r" % st)
    return False


def rtt(c, n):
    times = []
    # a key nobody times first (^U: nothing on the line), as the peer's
    # script does: the first write after attaching is not the measure
    c.frame(2, b"\x15")
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        c.pump(0.05)
    for i in range(n):
        ch = bytes([ord("a") + i % 26])
        mark = len(c.out)
        t0 = time.monotonic()
        c.frame(2, ch)
        while ch not in c.out[mark:]:
            if time.monotonic() - t0 > c.timeout:
                print("no echo of %r" % ch)
                return False
            c.pump(0.5)
        times.append((time.monotonic() - t0) * 1000)
    c.frame(2, b"\x15")        # ^U: forget the letters typed
    print("rtt_ms %.2f %.2f %.2f" % (statistics.median(times), min(times),
                                     max(times)))
    return True


def main(argv):
    headers, timeout, say_open = [], 10.0, False
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--say-open":
            say_open = True
        elif opt == "--token":
            headers.append("Authorization: Bearer " + argv.pop(0))
        elif opt == "--proto-token":
            headers.append("Sec-WebSocket-Protocol: hangar.console, "
                           "hangar.token." + argv.pop(0))
        elif opt == "--timeout":
            timeout = float(argv.pop(0))
    base, path, steps = argv[0], argv[1], argv[2:]
    sock, host = connect(base)
    c = Client(sock, timeout)
    lines = c.handshake(host, path, headers)
    for l in lines[1:]:
        if l.lower().startswith("sec-websocket-protocol:"):
            print("protocol " + l.split(":", 1)[1].strip())
    if say_open:                 # handshake() returned: a 101
        print("open", flush=True)
    try:
        for st in steps:
            if not step(c, st):
                return 1
    except EOFError:
        print("connection closed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
