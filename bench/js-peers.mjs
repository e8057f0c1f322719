// The JavaScript side of the benchmark suite: edgesuggest's wasm module in node, and the two
// libraries a front-end engineer would pick instead (MiniSearch, FlexSearch), on the suite's
// keys and queries (see bench/native.rs).
//
//   node --expose-gc bench/js-peers.mjs OUT_DIR PKG_NODE_DIR NPM_MODULES [--smoke]
//
// Writes OUT_DIR/js.json in the suite's format. Every library indexes the same normalized keys;
// documents are added in descending weight order and MiniSearch's ranking is boosted by the
// weight, so each gets its best shot at the exact top-10 (the overlap column shows how close).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { normalizePhrase } from "../tests/common/oracle.mjs";

const [outDir, pkgDir, npmModules] = process.argv.slice(2);
const smoke = process.argv.includes("--smoke");
const require = createRequire(join(npmModules, "noop.js"));
const MiniSearch = require("minisearch");
const FlexSearch = require("flexsearch");
const { Suggester } = createRequire(import.meta.url)(resolve(pkgDir, "edgesuggest_wasm.js"));

const keys = readFileSync(join(outDir, "keys.tsv"), "utf8").split("\n").filter(Boolean).map((line) => {
  const tab = line.lastIndexOf("\t");
  return { key: line.slice(0, tab), weight: Number(line.slice(tab + 1)) };
});
const queries = readFileSync(join(outDir, "queries.tsv"), "utf8").split("\n").filter(Boolean).map((line) => {
  const [kind, len, text, expected] = line.split("\t");
  return { kind, len: Number(len), text, expected: expected ? expected.split("\u001f") : [] };
});
const rounds = smoke ? 1 : 3;

function percentile(sorted, p) {
  return sorted[Math.round((sorted.length - 1) * p)];
}

/** Queries of `kind` interleaved by length, so a run cut short still covers every length. */
function interleaved(kind) {
  const byLen = new Map();
  for (const q of queries.filter((q) => q.kind === kind)) {
    if (!byLen.has(q.len)) byLen.set(q.len, []);
    byLen.get(q.len).push(q);
  }
  const lists = [...byLen.values()];
  const out = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

/** Times each query of `kind` on its own. A slow engine stops after `budgetMs` (at least 20
 * queries per length), so the suite keeps its time limit; fast ones run every round. */
function time(kind, fn, budgetMs = smoke ? 1_000 : 12_000) {
  const mine = interleaved(kind);
  const lengths = new Set(mine.map((q) => q.len)).size;
  for (const q of mine.slice(0, 100)) fn(q.text); // warm up
  const started = Date.now();
  const byLen = new Map();
  let timed = 0;
  outer: for (let r = 0; r < rounds; r++) {
    for (const q of mine) {
      if (timed >= 20 * lengths && Date.now() - started > budgetMs) break outer;
      const t = process.hrtime.bigint();
      fn(q.text);
      const us = Number(process.hrtime.bigint() - t) / 1e3;
      if (!byLen.has(q.len)) byLen.set(q.len, []);
      byLen.get(q.len).push(us);
      timed++;
    }
  }
  const out = {};
  for (const [len, v] of [...byLen].sort((a, b) => a[0] - b[0])) {
    v.sort((a, b) => a - b);
    out[len] = { median_us: percentile(v, 0.5), p99_us: percentile(v, 0.99), queries: v.length };
  }
  return out;
}

/** Overlap over the first `limit` queries of `kind` (interleaved by length). */
function overlap(kind, fn, limit = smoke ? 60 : 600) {
  let hit = 0, total = 0;
  for (const q of interleaved(kind).slice(0, limit)) {
    const got = new Set(fn(q.text));
    total += q.expected.length;
    hit += q.expected.filter((k) => got.has(k)).length;
  }
  return total ? hit / total : 1;
}

/** Builds with `make`, returning [result, seconds, retained heap bytes]. */
function measureBuild(make) {
  globalThis.gc?.();
  const before = process.memoryUsage();
  const t = process.hrtime.bigint();
  const made = make();
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  globalThis.gc?.();
  const after = process.memoryUsage();
  const retained = after.heapUsed - before.heapUsed + (after.external - before.external) + (after.arrayBuffers - before.arrayBuffers);
  return [made, seconds, Math.max(0, retained)];
}

const results = [];

// --- edgesuggest wasm ---------------------------------------------------------------------
{
  const bytes = readFileSync(join(outDir, "plain.seg"));
  const [suggester, seconds, retained] = measureBuild(() => Suggester.load(bytes));
  const plain = (q) => suggester.suggest(q, { k: 10 }).map((s) => s.text);
  const fuzzy1 = (q) => suggester.suggest(q, { k: 10, fuzzy: 1 }).map((s) => s.text);
  const fuzzyAuto = (q) => suggester.suggest(q, { k: 10, fuzzy: "auto" });
  // The answers are display texts; the expected ones are keys: the text normalizes to its key.
  const asKeys = (fn) => (q) => fn(q).map(normalizePhrase);
  results.push({
    engine: "edgesuggest wasm (node)",
    load_s: seconds,
    index_bytes: bytes.length,
    retained_heap_bytes: retained,
    latency: time("prefix", plain),
    fuzzy: time("fuzzy", fuzzy1),
    fuzzy_auto: time("fuzzy", fuzzyAuto),
    overlap: overlap("prefix", asKeys(plain)),
    fuzzy_overlap: overlap("fuzzy", asKeys(fuzzy1)),
    notes: "Suggester.load (checksum included) instead of a build: segments are built natively",
  });
}

// --- MiniSearch -----------------------------------------------------------------------------
{
  const [mini, seconds, retained] = measureBuild(() => {
    const m = new MiniSearch({ fields: ["key"], storeFields: ["key", "weight"] });
    m.addAll(keys.map((k, id) => ({ id, ...k })));
    return m;
  });
  const boost = { boostDocument: (id, term, stored) => Math.log1p(stored.weight) };
  const search = (q, extra = {}) =>
    mini.search(q, { prefix: true, combineWith: "AND", ...boost, ...extra }).slice(0, 10).map((r) => r.key);
  results.push({
    engine: "MiniSearch 7.2 search (prefix, weight boost)",
    build_s: seconds,
    index_bytes: JSON.stringify(mini).length,
    retained_heap_bytes: retained,
    latency: time("prefix", (q) => search(q)),
    fuzzy: time("fuzzy", (q) => search(q, { fuzzy: 1 })),
    overlap: overlap("prefix", (q) => search(q)),
    fuzzy_overlap: overlap("fuzzy", (q) => search(q, { fuzzy: 1 })),
    notes: "term-based full-text search: ranks by BM25 × boost, not by weight alone; index bytes = JSON.stringify",
  });
  const auto = (q) => mini.autoSuggest(q, { prefix: true }).slice(0, 10).map((s) => s.suggestion);
  results.push({
    engine: "MiniSearch 7.2 autoSuggest (prefix)",
    build_s: seconds,
    index_bytes: JSON.stringify(mini).length,
    latency: time("prefix", auto),
    overlap: overlap("prefix", auto),
    notes: "suggests term combinations, not stored phrases",
  });
}

// --- FlexSearch -----------------------------------------------------------------------------
{
  const [flex, seconds, retained] = measureBuild(() => {
    const f = new FlexSearch.Index({ tokenize: "forward" });
    keys.forEach((k, id) => f.add(id, k.key)); // in descending weight order
    return f;
  });
  let exported = 0;
  await flex.export((key, data) => {
    exported += key.length + (data?.length ?? 0);
  });
  const search = (q) => flex.search(q, { limit: 10 }).map((id) => keys[id].key);
  results.push({
    engine: "FlexSearch 0.8 Index (forward)",
    build_s: seconds,
    index_bytes: exported,
    retained_heap_bytes: retained,
    latency: time("prefix", search),
    overlap: overlap("prefix", search),
    notes: "no weights: relies on insertion order; index bytes = export() payload",
  });
}

writeFileSync(join(outDir, "js.json"), JSON.stringify(results));
console.error(`js-peers: wrote ${join(outDir, "js.json")}`);
