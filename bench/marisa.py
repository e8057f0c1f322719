"""marisa-trie (PyPI) on the suite's keys and queries (see bench/native.rs).

    python3 bench/marisa.py OUT_DIR [--smoke]

marisa-trie is the reference for compact static string sets: the figure that matters is its
index size. It has no weights, so top-10 means listing every key under the prefix and keeping
the 10 heaviest (O(matches), like the naive baseline). Writes OUT_DIR/marisa.json.
"""

import heapq
import json
import os
import resource
import sys
import time

import marisa_trie


def main():
    out_dir = sys.argv[1]
    smoke = "--smoke" in sys.argv
    weights = {}
    with open(os.path.join(out_dir, "keys.tsv"), encoding="utf-8") as f:
        for line in f:
            key, _, weight = line.rstrip("\n").rpartition("\t")
            weights[key] = int(weight)
    queries = []
    with open(os.path.join(out_dir, "queries.tsv"), encoding="utf-8") as f:
        for line in f:
            kind, length, text, expected = line.rstrip("\n").split("\t")
            if kind == "prefix":
                queries.append((int(length), text, expected.split("\x1f") if expected else []))

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    trie = marisa_trie.Trie(weights.keys())
    build_s = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    index_bytes = len(trie.tobytes())

    def top10(prefix):
        return heapq.nlargest(10, trie.iterkeys(prefix), key=weights.__getitem__)

    budget = 1.0 if smoke else 10.0
    by_len = {}
    started = time.perf_counter()
    for length, text, _ in queries[:200]:
        top10(text)  # warm up
    for length, text, _ in queries:
        if time.perf_counter() - started > budget and len(by_len.get(length, [])) >= 20:
            continue
        t = time.perf_counter()
        top10(text)
        by_len.setdefault(length, []).append((time.perf_counter() - t) * 1e6)
    latency = {}
    for length, times in sorted(by_len.items()):
        times.sort()
        pick = lambda p: times[round((len(times) - 1) * p)]
        latency[str(length)] = {"median_us": pick(0.5), "p99_us": pick(0.99), "queries": len(times)}
    hit = total = 0
    for _, text, expected in queries[: 60 if smoke else 600]:
        got = set(top10(text))
        total += len(expected)
        hit += sum(1 for k in expected if k in got)
    result = [{
        "engine": "marisa-trie 1.4.1 (Python)",
        "build_s": build_s,
        "index_bytes": index_bytes,
        "peak_build_rss_bytes": peak_kb * 1024,
        "latency": latency,
        "overlap": hit / total if total else 1.0,
        "notes": "keys only (no weights, no display forms); top-10 = scan every key under the prefix",
    }]
    with open(os.path.join(out_dir, "marisa.json"), "w", encoding="utf-8") as f:
        json.dump(result, f)
    print(f"marisa: wrote {os.path.join(out_dir, 'marisa.json')}", file=sys.stderr)


if __name__ == "__main__":
    main()
