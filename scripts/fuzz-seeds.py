#!/usr/bin/env python3
"""Writes Fuzz/Seeds/<check>/: small valid inputs for each fuzz target to start from.
Run from the repository root; the unit test FuzzRegressionTests checks that every seed decodes."""
import os, struct

root = "Fuzz/Seeds"
def put(check, name, data):
    os.makedirs(f"{root}/{check}", exist_ok=True)
    with open(f"{root}/{check}/{name}", "wb") as f:
        f.write(data)

node = bytes(range(16))
other = bytes(range(16, 32))
def address(host=b"127.0.0.1", port=7946):
    return bytes([len(host)]) + host + struct.pack(">H", port)
def alive(meta=b'{"zone":"a"}'):
    return bytes([1]) + other + struct.pack(">Q", 1_700_000_000) + address() + struct.pack(">H", len(meta)) + meta
def head(kind):
    return b"BG" + bytes([1, kind])

notice = open("Manifests/hello-fleet/1.0.0.manifest.minisig", "rb").read()
manifest = open("Manifests/hello-fleet/1.0.0.manifest", "rb").read()
put("gossipPacket", "ping", b"\0" + head(1) + struct.pack(">I", 7) + node + b"\0")
put("gossipPacket", "ack-alive", b"\0" + head(2) + struct.pack(">I", 7) + node + b"\1" + alive())
put("gossipPacket", "ping-req", b"\0" + head(3) + struct.pack(">I", 8) + node + address() + b"\0")
put("gossipPacket", "gossip-suspect", b"\0" + head(5) + node + b"\1" + bytes([2]) + other + struct.pack(">Q", 3) + node)
put("gossipPacket", "notice", b"\0" + head(7) + node + struct.pack(">H", len(notice)) + notice)
put("gossipPacket", "push-pull", b"\1" + head(6) + node + b"\1" + struct.pack(">H", 2) + alive() + bytes([4]) + node + struct.pack(">Q", 9))

digest = bytes(range(100, 132))
put("transferFrame", "hello", bytes([1, 1]) + node)
put("transferFrame", "get-manifest", bytes([2]) + digest)
put("transferFrame", "manifest", bytes([3]) + digest + manifest)
put("transferFrame", "have-query", bytes([4]) + digest)
put("transferFrame", "have", bytes([5]) + digest + struct.pack(">I", 11) + bytes([0xff, 0x05]))
put("transferFrame", "request", bytes([6]) + digest)
put("transferFrame", "chunk", bytes([7]) + digest + b"some chunk bytes")
put("transferFrame", "missing", bytes([8]) + digest)
put("transferFrame", "cancel", bytes([9]) + digest)
put("transferFrame", "has", bytes([10]) + digest)

for v in ("1.0.0", "1.1.0"):
    put("manifest", v, open(f"Manifests/hello-fleet/{v}.manifest", "rb").read())
    put("notice", v, open(f"Manifests/hello-fleet/{v}.manifest.minisig", "rb").read())
