// The edge worker in local workerd (Miniflare 4) on the suite's queries (see bench/native.rs):
// per-request latency by prefix length as a client on the same machine sees it, next to the
// round trip of the trivial /v1/ping route measured in the same run (the difference is the
// search and its JSON; workers' clocks are too coarse to time microseconds inside). L2 cache
// off: every request searches.
//
//   EDGESUGGEST_CLI=... EDGESUGGEST_WORKER_NPM=... node bench/worker-latency.mjs OUT_DIR [--smoke]
//
// Publishes OUT_DIR/plain.seg with `edgesuggest publish`, seeds a local KV namespace with it,
// warms the isolate (first request loads the index) and writes OUT_DIR/worker.json.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { normalizePhrase } from "../tests/common/oracle.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const [outDir] = process.argv.slice(2);
const smoke = process.argv.includes("--smoke");
const require = createRequire(join(process.env.EDGESUGGEST_WORKER_NPM, "noop.js"));
const { Miniflare } = require("miniflare");

const work = mkdtempSync(join(tmpdir(), "edgesuggest-bench-worker-"));
execFileSync(process.env.EDGESUGGEST_CLI, ["publish", join(outDir, "plain.seg"), "--index", "bench",
  "--out-dir", work, "--version", "1"]);
const chunks = JSON.parse(readFileSync(join(work, "chunks.json"), "utf8"));
const manifest = JSON.parse(readFileSync(join(work, "manifest.json"), "utf8"));

const mf = new Miniflare({
  modules: true,
  scriptPath: resolve(here, "../worker/build/shim.mjs"),
  modulesRules: [
    { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  compatibilityDate: "2026-07-30",
  kvNamespaces: ["SEGMENTS"],
  bindings: { INDEXES: "bench", REFRESH_SECONDS: "3600", CACHE_MAX_AGE: "0", MEMORY_BUDGET_BYTES: "100000000" },
});
await mf.ready;
const kv = await mf.getKVNamespace("SEGMENTS");
for (const e of [...chunks, ...manifest]) await kv.put(e.key, e.base64 ? Buffer.from(e.value, "base64") : e.value);

const queries = readFileSync(join(outDir, "queries.tsv"), "utf8").split("\n").filter(Boolean).map((line) => {
  const [kind, len, text, expected] = line.split("\t");
  return { kind, len: Number(len), text, expected: expected ? expected.split("\u001f") : [] };
});

async function ask(q, extra = "") {
  const r = await mf.dispatchFetch(`http://localhost/v1/suggest?q=${encodeURIComponent(q)}&k=10${extra}`);
  const body = await r.json();
  if (r.status !== 200) throw new Error(`${q}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

const coldStarted = performance.now();
await ask("a");
const coldMs = performance.now() - coldStarted;

async function time(kind, extra) {
  const mine = queries.filter((q) => q.kind === kind);
  const limit = smoke ? 60 : 1200;
  // Interleave lengths so the sample covers each.
  const byLen = new Map();
  for (const q of mine) (byLen.get(q.len) ?? byLen.set(q.len, []).get(q.len)).push(q);
  const sample = [];
  for (let i = 0; sample.length < Math.min(limit, mine.length); i++) {
    for (const list of byLen.values()) if (i < list.length) sample.push(list[i]);
  }
  for (const q of sample.slice(0, 50)) await ask(q.text, extra); // warm up
  const client = new Map();
  let hit = 0, total = 0;
  for (const q of sample) {
    const t = performance.now();
    const body = await ask(q.text, extra);
    const us = (performance.now() - t) * 1000;
    (client.get(q.len) ?? client.set(q.len, []).get(q.len)).push(us);
    const got = new Set(body.suggestions.map((s) => normalizePhrase(s.text)));
    total += q.expected.length;
    hit += q.expected.filter((k) => got.has(k)).length;
  }
  const stats = (m) => Object.fromEntries([...m].sort((a, b) => a[0] - b[0]).map(([len, v]) => {
    v.sort((a, b) => a - b);
    return [len, { median_us: v[Math.round((v.length - 1) / 2)], p99_us: v[Math.round((v.length - 1) * 0.99)], queries: v.length }];
  }));
  return { client: stats(client), overlap: total ? hit / total : 1 };
}

const pings = [];
for (let i = 0; i < (smoke ? 60 : 1200); i++) {
  const t = performance.now();
  const r = await mf.dispatchFetch("http://localhost/v1/ping");
  await r.text();
  pings.push((performance.now() - t) * 1000);
}
pings.sort((a, b) => a - b);
const ping = { median_us: pings[Math.round((pings.length - 1) / 2)], p99_us: pings[Math.round((pings.length - 1) * 0.99)] };
const prefix = await time("prefix", "");
const fuzzy = await time("fuzzy", "&fuzzy=1");
await mf.dispose();
writeFileSync(join(outDir, "worker.json"), JSON.stringify([
  {
    engine: "edgesuggest worker (workerd, request round trip)",
    index_bytes: readFileSync(join(outDir, "plain.seg")).length,
    cold_ms: coldMs,
    latency: prefix.client,
    fuzzy: fuzzy.client,
    overlap: prefix.overlap,
    fuzzy_overlap: fuzzy.overlap,
    ping: ping,
    notes: `Miniflare dispatchFetch from node on the same machine (HTTP + JSON included; L2 off); ` +
      `/v1/ping round trip in the same run: median ${ping.median_us.toFixed(0)} µs, p99 ${ping.p99_us.toFixed(0)} µs`,
  },
]));
console.error(`worker: wrote ${join(outDir, "worker.json")} (cold load ${coldMs.toFixed(0)} ms)`);
