#!/usr/bin/env python3
"""Writes the seeds of the state-machine fuzz targets (Fuzz/Seeds/{swimSequence,swarmEvents,
intake,manifestInstall}): a few runs each, spelled in the choices the checks read (see
Sources/FuzzChecks/*Check.swift; FuzzInput reads bytes, big-endian integers, and `below`/`pick`
take one byte modulo the count). Raw-mode seeds reuse the decoder targets' seeds. Run it again
after changing how a check reads its input; FuzzRegressionTests checks that every seed still
reaches its machine and keeps every property."""
import os
import struct
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fuzz", "Seeds")


def u16(n): return struct.pack(">H", n)
def u32(n): return struct.pack(">I", n)


def write(check, name, data):
    os.makedirs(os.path.join(root, check), exist_ok=True)
    with open(os.path.join(root, check, name), "wb") as f:
        f.write(bytes(data))


def seed_file(check, name):
    with open(os.path.join(root, check, name), "rb") as f:
        return f.read()


# --- swimSequence: flags, incarnation offset, rng seed (u16), then steps -----------------------
ME = 0x08  # update id byte: bit 3 = this node; else pool[b & 7] (ids 2...9)
ALIVE, SUSPECT, DEAD, LEFT = 0x00, 0x10, 0x20, 0x30


def inc(k):  # an incarnation 995 + k (k < 32)
    return bytes([k << 3])


def update(kind, who, incarnation, extra=b""):
    return bytes([kind | who]) + incarnation + extra


def alive(who, k, address=0, metadata=b""):
    return update(ALIVE, who, inc(k), bytes([len(metadata)]) + metadata + bytes([address]))


def suspect(who, k, by=0): return update(SUSPECT, who, inc(k), bytes([by]))
def dead(who, k, by=0): return update(DEAD, who, inc(k), bytes([by]))


def message(kind, updates, seq=1, sender_from=0, sender=0, request=False):
    # kind: 0 ping 1 ack 2 ping-req 3 nack 4 gossip 5 push-pull
    k = kind | (0x40 if request else 0)
    head = bytes([0, k, seq, sender_from, len(updates)]) + b"".join(updates)
    if kind == 2:
        head += bytes([1])  # ping-req target
    return head + bytes([sender])


def tick(step):  # index into SwimSequenceCheck.advances
    return bytes([4, step])


members = [alive(0, 1, 0), alive(1, 1, 1), alive(2, 1, 2, b"v=1.0.0")]
write("swimSequence", "join-and-probe", bytes([0, 0]) + u16(1)
      + bytes([8, 2, 0, 1])                                   # join two seeds
      + message(5, members, request=False)                    # their state comes back
      + tick(7) + message(1, [], seq=1) + tick(7) + tick(7)   # probe acked, probes go on
      + bytes([6]) + bytes([6]) + bytes([10]))                # wake at deadlines; push-pull
write("swimSequence", "suspect-refute", bytes([2, 5]) + u16(2)
      + message(4, members) + message(4, [suspect(ME, 5), suspect(0, 1)])  # suspicions of me and of a member
      + tick(3) + tick(6) + bytes([7]) + u16(3) + b"abc"      # new metadata
      + tick(7) + tick(9) + message(0, [alive(0, 2)], seq=9)  # a member refutes
      + tick(9) + tick(10))
write("swimSequence", "dead-and-back", bytes([1, 0]) + u16(3)
      + message(4, members) + message(2, [dead(1, 1)], seq=4) + tick(6) + tick(7)
      + bytes([11]) + message(3, [alive(1, 3)], seq=4) + tick(9) + bytes([11])
      + message(4, [update(LEFT, 2, inc(1))]) + tick(10) + bytes([9]) + tick(7))
for name in ["ack-alive", "gossip-suspect", "ping-req"]:
    datagram = seed_file("gossipPacket", name)[1:]
    write("swimSequence", "raw-" + name, bytes([0, 0]) + u16(4) + bytes([2]) + u16(len(datagram)) + datagram + bytes([0]) + tick(7))
stream = seed_file("gossipPacket", "push-pull")[1:]
write("swimSequence", "raw-push-pull", bytes([0, 0]) + u16(5) + bytes([3]) + u16(len(stream)) + stream + bytes([0]) + tick(7) + bytes([10]))

# --- swarmEvents: count, rng seed (u16), largest size, held share, settings a b c, seed (u16) ---
DEFAULT_A = 2 | 2 << 2 | 3 << 4            # window 4, min 2, max 64, endgame moves, no rate
DEFAULT_B = 3 | 2 << 2 | 2 << 4 | 2 << 6   # 4 MiB cap, random first 4, 3 strikes, 2 copies
DEFAULT_C = 1 << 2 | 2 << 4                # endgame after 500 ms, budget 1/8, time-out 15 s


def swarm(count, largest, held, a=DEFAULT_A, b=DEFAULT_B, c=DEFAULT_C):
    return bytes([count]) + u16(7) + bytes([largest, held, a, b, c]) + u16(11)


def ev(op, peer, *rest): return bytes([op, peer] + list(rest))


def answer(peer, valid=True, k=0):  # answers its k-th request in flight
    return ev(7 if valid else 9, peer, k)


write("swarmEvents", "one-seeder", swarm(40, 3, 0) + ev(0, 0) + ev(2, 0) + answer(0) + answer(0) + ev(12, 0, 2) + answer(0))
write("swarmEvents", "partial-peers", swarm(70, 2, 1)
      + ev(0, 0) + ev(3, 0, 2) + bytes([0x55] * 9) + ev(0, 1, 1) + ev(4, 1, 3) + ev(4, 1, 65) + ev(5, 1, 1)
      + answer(0) + answer(1) + ev(11, 0, 0x80, 2) + ev(10, 0, 5) + ev(6, 1, 3) + ev(12, 0, 4)
      + ev(1, 0) + ev(0, 0) + ev(2, 0) + ev(13, 0) + answer(0))
write("swarmEvents", "liar-banned", swarm(20, 2, 0, b=3 | 2 << 2 | 2 << 4 | 2 << 6)
      + ev(0, 2) + ev(2, 2) + answer(2, False) + answer(2, False) + answer(2, False)
      + ev(0, 3) + ev(2, 3) + ev(0, 2) + answer(3) + ev(12, 0, 7) + ev(13, 0))
write("swarmEvents", "rate-limited-endgame", swarm(12, 3, 2, a=DEFAULT_A | 0x80, c=DEFAULT_C | 2)
      + ev(0, 0) + ev(2, 0) + ev(0, 1) + ev(2, 1) + ev(12, 0, 5) + answer(0) + ev(13, 0) + ev(13, 0)
      + answer(1) + ev(12, 0, 7) + ev(13, 0))

# --- intake: steps of rotation (0), notice (2), raw (3) -----------------------------------------
def rotation(epoch_shape, old, new, old_signer, new_signer, created=1_800_000_000, other_app=False, tamper=(0, 0)):
    shape = epoch_shape | (0x80 if other_app else 0)
    return bytes([0, shape, old, new, old_signer, new_signer, 7]) + u32(created) + bytes([tamper[0]]) + u16(tamper[1])


def notice(signer, manifest=0, sequence=1, version=0, app=0, channel=0, rollout=100, created=1_800_000_000, tamper=(0, 0)):
    shape = manifest  # manifests[shape & 1], its digest and size
    return (bytes([2, shape, sequence]) + u32(created)
            + bytes([version, app, channel, rollout]) + u16(3600) + bytes([signer, tamper[0]]) + u16(tamper[1]))


write("intake", "rotate-twice", rotation(0, 0, 1, 0, 1) + notice(1, sequence=2) + rotation(0, 1, 2, 1, 2)
      + notice(2, manifest=1, sequence=3, version=1) + notice(0, sequence=4))
write("intake", "jump-from-zero-and-known", rotation(4, 0, 1, 0, 1) + rotation(3, 0, 1, 5, 1) + notice(1) + notice(1, tamper=(1, 40)))
write("intake", "forgeries", rotation(0, 0, 3, 3, 3) + rotation(0, 0, 4, 0, 4) + rotation(0, 0, 1, 0, 1, tamper=(4, 30))
      + rotation(0, 0, 1, 0, 1, other_app=True) + notice(3) + notice(0, tamper=(0x20, 200)))
raw = seed_file("notice", "1.0.0")
write("intake", "raw-notice", bytes([3]) + u16(len(raw)) + raw + rotation(0, 0, 1, 0, 1))

# --- manifestInstall: raw (even first byte) or built from choices (odd) -------------------------
for name in ["1.0.0", "1.1.0"]:
    write("manifestInstall", "raw-" + name, b"\x00" + seed_file("manifest", name))
A, B, BIN, LIB, DOT, DOTDOT = 0, 1, 2, 3, 4, 5


def path(*parts, absolute=False):
    return bytes([len(parts) - 1 | (0x80 if absolute else 0)] + list(parts))


def file(p, executable=False, sizes=(10,)):
    big = any(s > 255 for s in sizes)
    kind = (2 if big else 0) | (4 if executable else 0)
    body = b"".join(u16(s - 16384) if big else bytes([s - 1]) for s in sizes)
    return bytes([kind]) + p + bytes([len(sizes) - 1]) + body


def link(p, target): return bytes([1]) + p + target


entries = [file(path(BIN, A), executable=True), link(path(B), path(BIN, A)), link(path(LIB, B), path(DOTDOT, BIN, A)),
           file(path(LIB, A), sizes=(20_000, 30_000, 17_000)), link(path(LIB, BIN), path(DOT, B, DOTDOT, A))]
write("manifestInstall", "built-tree", bytes([1, len(entries)]) + b"".join(entries) + bytes([0]))
entries = [link(path(A), path(DOT)), link(path(B), path(A, A, BIN)), file(path(BIN, BIN, BIN), executable=True)]
write("manifestInstall", "built-links", bytes([1, len(entries)]) + b"".join(entries) + bytes([0]))
print("seeds written under", os.path.normpath(root), file=sys.stderr)
