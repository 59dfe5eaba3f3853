#!/usr/bin/env python3
"""Watches a page in a running headless Chromium over the DevTools protocol
(standard library only: a minimal WebSocket client), for the live-mode browser
test of reefer-report (scripts/test-report.sh).

    cdp-watch.py DEVTOOLS_PORT URL SECONDS EXPRESSION

Opens URL in a new tab, then evaluates EXPRESSION (JavaScript returning a
string) every 0.5 s for SECONDS and prints each distinct result on its own line.
--dump-dom cannot do this: it dumps once, at the load event, and virtual time
never advances while a server-sent event stream is open."""
import base64, json, os, socket, sys, time, urllib.request

port, url, seconds, expr = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]

for _ in range(100):
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?{url}", method="PUT")
        target = json.load(urllib.request.urlopen(req, timeout=2))
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("no DevTools endpoint")
ws_path = target["webSocketDebuggerUrl"].split(f"127.0.0.1:{port}", 1)[1]

sock = socket.create_connection(("127.0.0.1", port), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall(
    f"GET {ws_path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
)
buf = b""
while b"\r\n\r\n" not in buf:
    buf += sock.recv(4096)
buf = buf.split(b"\r\n\r\n", 1)[1]


def send(obj):
    data = json.dumps(obj).encode()
    mask = os.urandom(4)
    head = bytes([0x81])
    n = len(data)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def recv_exact(n):
    global buf
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk
    out, buf = buf[:n], buf[n:]
    return out


def recv():
    """One text message (the server never masks nor fragments what we ask for)."""
    b0, b1 = recv_exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(recv_exact(2), "big")
    elif n == 127:
        n = int.from_bytes(recv_exact(8), "big")
    payload = recv_exact(n)
    return json.loads(payload) if b0 & 0x0F == 1 else None


seen, msg_id, end = None, 0, time.time() + seconds
while time.time() < end:
    msg_id += 1
    send({"id": msg_id, "method": "Runtime.evaluate", "params": {"expression": expr, "returnByValue": True}})
    while True:
        m = recv()
        if m and m.get("id") == msg_id:
            break
    value = m.get("result", {}).get("result", {}).get("value")
    if value is not None and value != seen:
        print(value, flush=True)
        seen = value
    time.sleep(0.5)
