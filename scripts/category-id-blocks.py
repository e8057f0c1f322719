"""Prints, for each segment given, the bytes its `category ids` section would take in each
block size the format allows (64 to 4,096 ranks, see docs/FORMAT.md), and the size it has.

    python3 scripts/category-id-blocks.py npm-cat.seg cities-cat.seg

BENCHMARKS.md's table of block sizes comes from it. It decodes the section as the engine
does, from the header's section table, and counts what the builder would write.
"""

import struct
import sys

CATEGORY_IDS = 10


def section(data, kind):
    """The bytes of the section of `kind`, or None."""
    count = struct.unpack_from("<I", data, 40)[0]
    for i in range(count):
        k, _, offset, length = struct.unpack_from("<IIQQ", data, 48 + 24 * i)
        if k == kind:
            return data[offset : offset + length]
    return None


def numbers(ids, ranks):
    """Each rank's set number, decoded from the section `ids`."""
    block = struct.unpack_from("<I", ids, 0)[0]
    blocks = -(-ranks // block)
    start = 8 + 16 * blocks
    out = []
    for b in range(blocks):
        base, offset, width = struct.unpack_from("<QIB", ids, 8 + 16 * b)
        n = min(block, ranks - b * block)
        bits = int.from_bytes(ids[start + offset : start + offset + (n * width + 7) // 8], "little")
        out.extend(base - ((bits >> (j * width)) & ((1 << width) - 1)) for j in range(n))
    return block, out


def packed_len(values, block):
    """The section's bytes in blocks of `block` ranks: preamble, entries, packed bits."""
    total = 8
    for i in range(0, len(values), block):
        chunk = values[i : i + block]
        width = (max(chunk) - min(chunk)).bit_length()
        total += 16 + (len(chunk) * width + 7) // 8
    return total


def main(paths):
    sizes = [64 << s for s in range(7)]
    print("| segment | " + " | ".join(f"{s:,}" for s in sizes) + " | as built |")
    print("|---|" + "---:|" * (len(sizes) + 1))
    for path in paths:
        data = open(path, "rb").read()
        ids = section(data, CATEGORY_IDS)
        if ids is None:
            print(f"| {path} | no category ids |")
            continue
        ranks = struct.unpack_from("<Q", data, 24)[0]
        block, values = numbers(ids, ranks)
        cells = " | ".join(f"{packed_len(values, s):,}" for s in sizes)
        print(f"| {path} | {cells} | {len(ids):,} in blocks of {block:,} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
