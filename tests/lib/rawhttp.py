#!/usr/bin/env python3
"""rawhttp.py - HTTP requests that curl will not send, for the tests.

    rawhttp.py PORT one [--half-close] < REQUEST
        send REQUEST (bytes, as they are) to 127.0.0.1:PORT, shut down the
        sending side when --half-close, read the reply to its end and print
        it as one JSON object: {"status", "ctype", "allow", "body"}
        (status 0: no reply).
    rawhttp.py PORT halfclose N METHOD PATH [BODY]
        N requests, each on its own connection, each half-closed once sent
        (shutdown(SHUT_WR), as `curl` does not but some clients do); print
        how many got a whole reply, and the statuses: "K/N 200,200,...".

The token comes from HANGAR_TEST_TOKEN (tests/lib/testlib.sh).  Every
connection gives up after 5 s.
"""
import json
import os
import socket
import sys


def exchange(port, data, half_close):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def parse(reply):
    out = {"status": 0, "ctype": "", "allow": "", "body": ""}
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/"):
        return out
    out["status"] = int(lines[0].split()[1])
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-type":
            out["ctype"] = value.strip()
        elif name.lower() == "allow":
            out["allow"] = value.strip()
    out["body"] = body.decode("utf-8", "replace")
    return out


def request(method, path, body):
    token = os.environ.get("HANGAR_TEST_TOKEN", "")
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, path)
    head += "Authorization: Bearer %s\r\n" % token
    if body:
        head += "Content-Type: application/json\r\n"
    head += "Content-Length: %d\r\n\r\n" % len(body.encode())
    return head.encode() + body.encode()


def main():
    port = int(sys.argv[1])
    if sys.argv[2] == "one":
        data = sys.stdin.buffer.read()
        half = "--half-close" in sys.argv[3:]
        print(json.dumps(parse(exchange(port, data, half))))
        return 0
    n, method, path = int(sys.argv[3]), sys.argv[4], sys.argv[5]
    body = sys.argv[6] if len(sys.argv) > 6 else ""
    got, statuses = 0, []
    for _ in range(n):
        st = parse(exchange(port, request(method, path, body), True))
        statuses.append(str(st["status"]))
        got += st["status"] != 0
    print("%d/%d %s" % (got, n, ",".join(statuses)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
