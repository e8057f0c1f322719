"""Damages the main FST's root node of a segment and reseals it, in place.

    python3 scripts/craft-segment.py FILE

The result passes the checksum but not open's structural validation of the FST nodes: it
stands for a crafted segment, or for one damaged before its checksum was written. build.sh
makes the browser tests' invalid segment with it. Layout: docs/FORMAT.md (section table,
`fst` section, trailer); the standard library has no XXH64, so it is written out below.
"""

import struct
import sys

MASK = (1 << 64) - 1
P1 = 0x9E3779B185EBCA87
P2 = 0xC2B2AE3D27D4EB4F
P3 = 0x165667B19E3779F9
P4 = 0x85EBCA77C2B2AE63
P5 = 0x27D4EB2F165667C5

HEADER_LEN = 48
SECTION_ENTRY_LEN = 24
TRAILER_LEN = 12
FST_KIND = 1
# The FST's footer: key count (8), root address (8), CRC-32C (4); the root node's state byte
# sits just before it (its address is the section length - 21).
FST_FOOTER_LEN = 20


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & MASK


def lane(acc, value):
    acc = (acc + value * P2) & MASK
    return (rotl(acc, 31) * P1) & MASK


def merge(acc, value):
    acc ^= lane(0, value)
    return (acc * P1 + P4) & MASK


def xxh64(data, seed=0):
    """XXH64 as specified in xxHash's doc/xxhash_spec.md."""
    n, at = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & MASK, (seed + P2) & MASK, seed, (seed - P1) & MASK]
        while at + 32 <= n:
            words = struct.unpack_from("<4Q", data, at)
            v = [lane(a, w) for a, w in zip(v, words)]
            at += 32
        acc = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & MASK
        for a in v:
            acc = merge(acc, a)
    else:
        acc = (seed + P5) & MASK
    acc = (acc + n) & MASK
    while at + 8 <= n:
        acc ^= lane(0, struct.unpack_from("<Q", data, at)[0])
        acc = (rotl(acc, 27) * P1 + P4) & MASK
        at += 8
    if at + 4 <= n:
        acc ^= (struct.unpack_from("<I", data, at)[0] * P1) & MASK
        acc = (rotl(acc, 23) * P2 + P3) & MASK
        at += 4
    while at < n:
        acc ^= (data[at] * P5) & MASK
        acc = (rotl(acc, 11) * P1) & MASK
        at += 1
    acc ^= acc >> 33
    acc = (acc * P2) & MASK
    acc ^= acc >> 29
    acc = (acc * P3) & MASK
    return acc ^ (acc >> 32)


def fst_section(data):
    """(offset, length) of the main FST section, from the section table."""
    (count,) = struct.unpack_from("<I", data, 40)
    for i in range(count):
        kind, _, offset, length = struct.unpack_from("<IIQQ", data, HEADER_LEN + i * SECTION_ENTRY_LEN)
        if kind == FST_KIND:
            return offset, length
    sys.exit("no fst section")


def reseal(data):
    body = len(data) - TRAILER_LEN
    struct.pack_into("<Q", data, body, xxh64(bytes(data[:body])))


def main():
    path = sys.argv[1]
    data = bytearray(open(path, "rb").read())
    body = len(data) - TRAILER_LEN
    if struct.unpack_from("<Q", data, body)[0] != xxh64(bytes(data[:body])):
        sys.exit(f"{path}: checksum mismatch before crafting")
    offset, length = fst_section(data)
    root = offset + length - FST_FOOTER_LEN - 1
    # A state byte of 0 is an any-transitions node whose count is in the byte before it; every
    # kind of root then reads a count or pack sizes from bytes that are not one.
    data[root] = 0
    reseal(data)
    open(path, "wb").write(bytes(data))


if __name__ == "__main__":
    main()
