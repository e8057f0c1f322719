"""Flips one bit of the middle byte of a file, in place.

    python3 scripts/flip-byte.py FILE

build.sh makes the browser tests' corrupt segment with it: the checksum must catch the change.
"""

import sys

path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[len(data) // 2] ^= 0x20
open(path, "wb").write(bytes(data))
