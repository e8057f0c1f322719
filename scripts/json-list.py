"""Prints the non-empty lines of stdin, stripped, as one JSON array of strings.

    printf '%s\n' a b | python3 scripts/json-list.py    # ["a", "b"]

build.sh uses it to write the list of the site's shell files into the service worker.
"""

import json
import sys

print(json.dumps([line.strip() for line in sys.stdin if line.strip()]))
