// The wasm engine in node against the native engine and two JavaScript libraries users would
// pick instead (MiniSearch autoSuggest, FlexSearch), on the same phrases and the same queries.
//
//   node bench/wasm-node.mjs DATA.tsv SEGMENT PKG_NODE_DIR NATIVE_LATENCY_BIN NPM_MODULES [--smoke]
//
// Every figure is measured in this run; ratios are against edgesuggest wasm in this process.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadOracle } from "../www/tests/oracle.mjs";

const [dataPath, segmentPath, pkgDir, nativeBin, npmModules] = process.argv.slice(2);
const smoke = process.argv.includes("--smoke");
const require = createRequire(join(npmModules, "noop.js"));
const MiniSearch = require("minisearch");
const FlexSearch = require("flexsearch");
const { Suggester } = createRequire(import.meta.url)(resolve(pkgDir, "edgesuggest_wasm.js"));

const rows = readFileSync(dataPath, "utf8").split("\n").filter(Boolean).map((line) => {
  const tab = line.lastIndexOf("\t");
  return { phrase: line.slice(0, tab), score: Number(line.slice(tab + 1)) };
});

// Fixed-seed queries: prefixes of 1–6 characters of uniformly drawn phrases.
let seed = 0x2545f4914f6cdd1dn;
const rand = (n) => {
  seed ^= seed << 13n; seed &= (1n << 64n) - 1n;
  seed ^= seed >> 7n;
  seed ^= seed << 17n; seed &= (1n << 64n) - 1n;
  return Number(seed % BigInt(n));
};
const perLength = smoke ? 50 : 500;
const queries = [];
for (let len = 1; len <= 6; len++) {
  for (let i = 0; i < perLength; i++) queries.push([...rows[rand(rows.length)].phrase].slice(0, len).join(""));
}

function stats(times) {
  const s = Float64Array.from(times).sort();
  const at = (p) => s[Math.round((s.length - 1) * p)];
  return { median: at(0.5), p99: at(0.99) };
}
// Times each query on its own. Slow engines get a time budget: after `budgetMs` the remaining
// rounds are skipped (each query is still run at least once, so every prefix length counts).
function timeAll(fn, rounds, budgetMs = smoke ? 2_000 : 30_000) {
  const started = Date.now();
  for (const q of queries.slice(0, 200)) fn(q); // warm up
  const byLen = new Map();
  const all = [];
  for (let r = 0; r < rounds; r++) {
    if (r > 0 && Date.now() - started > budgetMs) break;
    for (const q of queries) {
      const t = process.hrtime.bigint();
      fn(q);
      const us = Number(process.hrtime.bigint() - t) / 1e3;
      all.push(us);
      const len = [...q].length;
      if (!byLen.has(len)) byLen.set(len, []);
      byLen.get(len).push(us);
    }
  }
  return { all: stats(all), byLen: new Map([...byLen].map(([k, v]) => [k, stats(v)])) };
}
const rounds = smoke ? 1 : 5;

// --- edgesuggest wasm ---------------------------------------------------------------------
const heapBefore = process.memoryUsage();
const bytes = readFileSync(segmentPath);
const t0 = process.hrtime.bigint();
const suggester = Suggester.load(bytes);
suggester.suggest("a", { k: 10 });
const firstAnswerMs = Number(process.hrtime.bigint() - t0) / 1e6;
const heapAfter = process.memoryUsage();
const wasm = timeAll((q) => suggester.suggest(q, { k: 10 }), rounds);

// --- native, same queries ---------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), "edgesuggest-bench-"));
writeFileSync(join(dir, "queries.txt"), queries.join("\n") + "\n");
const native = JSON.parse(
  execFileSync(nativeBin, [segmentPath, join(dir, "queries.txt"), String(rounds)], { encoding: "utf8" }),
);

// --- oracle for overlap ------------------------------------------------------------------------
const oracle = loadOracle(dataPath);
const expected = new Map(queries.map((q) => [q, oracle.suggest(q, 10)]));
const overlap = (fn) => {
  let hit = 0, total = 0;
  for (const q of queries) {
    const want = expected.get(q);
    const got = new Set(fn(q));
    total += want.length;
    hit += want.filter((t) => got.has(t)).length;
  }
  return total ? hit / total : 1;
};

// --- MiniSearch -------------------------------------------------------------------------------
let t = process.hrtime.bigint();
const mini = new MiniSearch({ fields: ["phrase"], storeFields: ["phrase", "score"] });
mini.addAll(rows.map((r, id) => ({ id, ...r })));
const miniBuildMs = Number(process.hrtime.bigint() - t) / 1e6;
const miniSuggest = (q) => mini.autoSuggest(q, { prefix: true }).slice(0, 10).map((s) => s.suggestion);
const miniSearch = (q) =>
  mini
    .search(q, { prefix: true, combineWith: "AND", boostDocument: (id, term, stored) => Math.log1p(stored.score) })
    .slice(0, 10)
    .map((r) => r.phrase);
const miniAuto = timeAll(miniSuggest, rounds);
const miniDocs = timeAll(miniSearch, rounds);

// --- FlexSearch -------------------------------------------------------------------------------
t = process.hrtime.bigint();
const flex = new FlexSearch.Index({ tokenize: "forward" });
rows.forEach((r, id) => flex.add(id, r.phrase)); // in descending score order
const flexBuildMs = Number(process.hrtime.bigint() - t) / 1e6;
const flexSearch = (q) => flex.search(q, { limit: 10 }).map((id) => rows[id].phrase);
const flexTimes = timeAll(flexSearch, rounds);

// --- report -----------------------------------------------------------------------------------
const wasmOverlap = overlap((q) => suggester.suggest(q, { k: 10 }).map((s) => s.text));
const f = (x) => x.toFixed(2);
const out = [];
out.push(`data: ${dataPath} (${rows.length} rows); ${queries.length} queries (prefixes of 1–6 characters), ${rounds} rounds`);
out.push("");
out.push("| engine | median µs | p99 µs | ratio of medians vs edgesuggest wasm | top-10 overlap with the exact oracle |");
out.push("|---|---:|---:|---:|---:|");
const line = (name, s, ov) =>
  out.push(`| ${name} | ${f(s.median)} | ${f(s.p99)} | ${(s.median / wasm.all.median).toFixed(2)}× | ${(ov * 100).toFixed(1)}% |`);
line("edgesuggest native (Rust, same queries)", { median: native.all.median_us, p99: native.all.p99_us }, wasmOverlap);
line("edgesuggest wasm, `suggest` → JS objects", wasm.all, wasmOverlap);
line("MiniSearch 7.2 `autoSuggest` (prefix)", miniAuto.all, overlap(miniSuggest));
line("MiniSearch 7.2 `search` (prefix, boosted by score)", miniDocs.all, overlap(miniSearch));
line("FlexSearch 0.8 `Index` (forward)", flexTimes.all, overlap(flexSearch));
out.push("");
out.push("| prefix chars | native median µs | wasm median µs | wasm / native | wasm p99 µs |");
out.push("|---:|---:|---:|---:|---:|");
for (let len = 1; len <= 6; len++) {
  const n = native.by_length[String(len)];
  const w = wasm.byLen.get(len);
  if (!n || !w) continue;
  out.push(`| ${len} | ${f(n.median_us)} | ${f(w.median)} | ${(w.median / n.median_us).toFixed(2)}× | ${f(w.p99)} |`);
}
out.push("");
out.push(`segment bytes → first answer (Suggester.load incl. checksum + one query): ${firstAnswerMs.toFixed(2)} ms`);
out.push(
  `memory after load: heapUsed +${((heapAfter.heapUsed - heapBefore.heapUsed) / 1e6).toFixed(1)} MB, ` +
    `external +${((heapAfter.external - heapBefore.external) / 1e6).toFixed(1)} MB, ` +
    `rss +${((heapAfter.rss - heapBefore.rss) / 1e6).toFixed(1)} MB (segment ${(bytes.length / 1e6).toFixed(1)} MB)`,
);
out.push(`build: MiniSearch ${miniBuildMs.toFixed(0)} ms, FlexSearch ${flexBuildMs.toFixed(0)} ms (in process)`);
console.log(out.join("\n"));
