"""The client of bench/rrset-batch: imports the zone, then times batches and single calls.

Each round edits 1,000 A RRsets of its own (h<k>..h<k+999>, new addresses), either as one
`PUT /rrsets` or as 1,000 `PATCH /records/{id}` one after another, and is timed from its first
request to (a) its last API answer and (b) the moment every nameserver serves the serial of its
last change (SOA asked over UDP every millisecond).
"""

import http.client
import json
import os
import random
import socket
import statistics
import struct
import sys
import time

API = os.environ["BATCH_API"].removeprefix("http://")
TOKEN = os.environ["BATCH_TOKEN"]
NS = [(h, int(p)) for h, p in (a.rsplit(":", 1) for a in os.environ["BATCH_NS"].split(","))]
ORIGIN = os.environ["BATCH_ORIGIN"]
ROUNDS = int(os.environ.get("BATCH_ROUNDS", "2"))
SIGNED = os.environ.get("BATCH_SIGNED", "0") == "1"
SIZE = 1000

conn = http.client.HTTPConnection(API, timeout=600)
last_used = time.monotonic()


def call(method, path, body=None, ctype="application/json"):
    global conn, last_used
    # The server closes a connection idle for APEX_HTTP_HEADER_TIMEOUT (10 s): after a long
    # wait, open a new one rather than write into a closed one.
    if time.monotonic() - last_used > 5:
        conn.close()
        conn = http.client.HTTPConnection(API, timeout=600)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if body is not None:
        headers["Content-Type"] = ctype
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    last_used = time.monotonic()
    if resp.status >= 300:
        sys.exit(f"{method} {path}: {resp.status} {data[:500]!r}")
    return json.loads(data) if data and resp.getheader("Content-Type", "").endswith("json") else data


def soa_serial(server, name):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 6, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(q, server)
        data, _ = s.recvfrom(4096)
    except OSError:
        return None
    finally:
        s.close()
    if struct.unpack(">H", data[:2])[0] != qid or struct.unpack(">H", data[6:8])[0] == 0:
        return None
    # Skip the question, then the answer's owner (a pointer), type, class, TTL, length, and
    # the SOA's two names: the serial follows.
    i = 12
    while data[i] != 0:
        i += 1 + data[i]
    i += 5
    i += 2 if data[i] & 0xC0 == 0xC0 else 0
    i += 10
    for _ in range(2):
        while True:
            if data[i] & 0xC0 == 0xC0:
                i += 2
                break
            if data[i] == 0:
                i += 1
                break
            i += 1 + data[i]
    return struct.unpack(">I", data[i : i + 4])[0]


def wait_served(serial, limit=600.0):
    start = time.monotonic()
    waiting = set(NS)
    while waiting:
        for ns in list(waiting):
            got = soa_serial(ns, ORIGIN)
            if got is not None and (got - serial) % 2**32 < 2**31:
                waiting.discard(ns)
        if time.monotonic() - start > limit:
            sys.exit(f"serial {serial} not served by {waiting} within {limit} s")
        if waiting:
            time.sleep(0.001)


def main():
    call("POST", "/api/v1/domains", {"name": ORIGIN})
    with open(os.environ["BATCH_ZONE_FILE"], "rb") as f:
        text = f.read()
    t = time.monotonic()
    out = call("POST", f"/api/v1/domains/{ORIGIN}/import", text, "text/dns")
    serial = out["change"]["serial"]
    if SIGNED:
        out = call("PATCH", f"/api/v1/domains/{ORIGIN}", {"dnssec": {"enabled": True}})
        serial = out["change"]["serial"]
    wait_served(serial)
    print(f"import{' and signing' if SIGNED else ''}: {out['change']['serial']} served by all "
          f"{len(NS)} nameservers {time.monotonic() - t:.1f} s after the import call")

    results = {"batch": [], "singles": []}
    first = 0
    for r in range(ROUNDS):
        for kind in ("batch", "singles"):
            names = [f"h{first + i}" for i in range(SIZE)]
            addrs = [f"10.{100 + r}.{(first + i) // 256 % 256}.{(first + i) % 256}" for i in range(SIZE)]
            first += SIZE
            if kind == "batch":
                body = [{"name": n, "type": "A", "records": [a]} for n, a in zip(names, addrs)]
                t = time.monotonic()
                out = call("PUT", f"/api/v1/domains/{ORIGIN}/rrsets", body)
                api = time.monotonic() - t
                serial = out["change"]["serial"]
                assert len(out["rrsets"]) == SIZE, len(out["rrsets"])
            else:
                ids = []
                for n in names:
                    got = call("GET", f"/api/v1/domains/{ORIGIN}/records?name={n}&type=A")
                    ids.append(got["records"][0]["id"])
                t = time.monotonic()
                for rid, a in zip(ids, addrs):
                    out = call("PATCH", f"/api/v1/domains/{ORIGIN}/records/{rid}", {"content": a})
                api = time.monotonic() - t
                serial = out["change"]["serial"]
            wait_served(serial)
            served = time.monotonic() - t
            results[kind].append((api, served))
            print(f"round {r + 1} {kind:7}: 1,000 RRsets, API {api * 1000:8.0f} ms, "
                  f"served by all nameservers {served * 1000:8.0f} ms after the first request",
                  flush=True)
    b = statistics.median(s for _, s in results["batch"])
    s = statistics.median(s for _, s in results["singles"])
    ba = statistics.median(a for a, _ in results["batch"])
    sa = statistics.median(a for a, _ in results["singles"])
    print(f"median: batch API {ba * 1000:.0f} ms, served {b * 1000:.0f} ms; "
          f"1,000 single calls API {sa * 1000:.0f} ms, served {s * 1000:.0f} ms; "
          f"batch is {s / b:.1f}x faster end to end")


main()
