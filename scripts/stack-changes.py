"""Writes change sets and a blocklist over a TSV of phrases, for the wasm stack parity test.

    python3 scripts/stack-changes.py data/cities-10k.tsv OUT_DIR

OUT_DIR/delta-1.ndjson deletes every third phrase, gives every fourth a new score, payload
and categories, and adds a new phrase for every ninth. OUT_DIR/delta-2.ndjson (layered after
it) brings back every sixth phrase (deleted by delta 1) and deletes every eighth (some of
which delta 1 rescored). OUT_DIR/blocklist.txt hides a few top phrases and two prefixes.
Deterministic: the same input gives the same files.
"""

import json
import os
import sys


def phrases(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 2 and fields[0]:
                yield fields[0], int(fields[1])


def upsert(phrase, score, i):
    return {"op": "upsert", "phrase": phrase, "score": score,
            "payload": {"delta": i}, "categories": ["changed", "capital" if i % 2 else "million"]}


def main(data, out):
    rows = list(phrases(data))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "delta-1.ndjson"), "w", encoding="utf-8") as f:
        for i, (phrase, score) in enumerate(rows):
            if i % 3 == 0:
                change = {"op": "delete", "phrase": phrase}
            elif i % 4 == 0:
                change = upsert(phrase, score * 7 % 30_000_000 + 1, i)
            else:
                continue
            f.write(json.dumps(change, ensure_ascii=False) + "\n")
        for i, (phrase, score) in enumerate(rows):
            if i % 9 == 0:
                f.write(json.dumps(upsert(phrase + " Nord", score + 1, i), ensure_ascii=False) + "\n")
    with open(os.path.join(out, "delta-2.ndjson"), "w", encoding="utf-8") as f:
        for i, (phrase, score) in enumerate(rows):
            if i % 6 == 0:
                change = upsert(phrase, score // 2 + 1, i)
            elif i % 8 == 0:
                change = {"op": "delete", "phrase": phrase}
            else:
                continue
            f.write(json.dumps(change, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "blocklist.txt"), "w", encoding="utf-8") as f:
        f.write("# phrases\n")
        for phrase, _ in rows[1:40:5]:
            f.write(phrase + "\n")
        f.write("# prefixes\nsanta *\nka*\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: stack-changes.py DATA.tsv OUT_DIR")
    main(sys.argv[1], sys.argv[2])
