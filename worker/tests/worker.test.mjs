// The built worker in real workerd (Miniflare 4), with KV seeded from `edgesuggest publish`
// output. Run by `./build.sh test` under node 22 with EDGESUGGEST_CLI (the native CLI),
// EDGESUGGEST_WORKER_NPM (miniflare's node_modules) and DATA_TSV (bundled data).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cli, get, sleep, startWorker, work } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const DATA = process.env.DATA_TSV;
const QUERIES = resolve(here, "../../tests/fixtures/cities-queries.txt");
const instances = [];

after(async () => {
  await Promise.all(instances.map((mf) => mf.dispose()));
});

let counter = 0;
/** Builds a segment from TSV text and publishes it; returns the bulk-put entries. */
function publish(tsvPath, { version, chunkBytes = 100_000, index = "cities" } = {}) {
  const dir = join(work, `p${counter++}`);
  cli("build", tsvPath, "-o", join(dir + ".seg"), "-q", "--word-starts");
  cli("publish", dir + ".seg", "--index", index, "--out-dir", dir, "--version", String(version),
    "--chunk-bytes", String(chunkBytes));
  return {
    chunks: JSON.parse(readFileSync(join(dir, "chunks.json"), "utf8")),
    manifest: JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")),
  };
}

/** Applies `publish --out-dir` output in its order: chunks, the immutable version, the pointer. */
async function seed(mf, { chunks = [], version = [], manifest }) {
  const kv = await mf.getKVNamespace("SEGMENTS");
  for (const e of [...chunks, ...version, ...manifest]) {
    await kv.put(e.key, e.base64 ? Buffer.from(e.value, "base64") : e.value);
  }
}

/** Builds one segment with the CLI: `base` from TSV (word starts), `delta` from NDJSON
 * changes (word starts, like its base), `blocklist` from a list. Returns its path. */
function buildSegment(kind, text) {
  const name = join(work, `s${counter++}`);
  const input = name + { base: ".tsv", delta: ".ndjson", blocklist: ".txt" }[kind];
  writeFileSync(input, text);
  const flags = { base: ["--word-starts"], delta: ["--delta", "--word-starts"], blocklist: ["--blocklist"] }[kind];
  cli("build", ...flags, input, "-o", name + ".seg", "-q");
  return { kind, path: name + ".seg" };
}

/** The three bulk files `edgesuggest publish|rollback --out-dir DIR` writes, to apply in
 * order: new chunks, the immutable version, the pointer (absent files are empty). */
function readBulk(dir) {
  const read = (name) => existsSync(join(dir, name)) ? JSON.parse(readFileSync(join(dir, name), "utf8")) : [];
  return { chunks: read("chunks.json"), version: read("version.json"), manifest: read("manifest.json") };
}

/** `edgesuggest publish ARGS...` for index `cities` with the publisher's store `store`. */
function cliPublish(store, ...args) {
  const dir = join(work, `p${counter++}`);
  cli("publish", ...args, "--index", "cities", "--out-dir", dir, "--store", store,
    "--chunk-bytes", "100000");
  return readBulk(dir);
}

/** `edgesuggest rollback --to VERSION` for index `cities`: only the pointer. */
function cliRollback(store, version) {
  const dir = join(work, `p${counter++}`);
  cli("rollback", "--index", "cities", "--to", String(version), "--out-dir", dir, "--store", store);
  return readBulk(dir);
}

/** The KV entries of one version made of `segments` (manifest order), shaped as `edgesuggest
 * publish --out-dir` writes them, for versions the CLI refuses to publish (bytes that do not
 * hash to their name, segments that form no stack): what a buggy or hostile publisher could
 * put in KV. `stored` holds the chunk keys already written. */
function publishVersion(segments, { index = "cities", version, parent, chunkBytes = 100_000, stored }) {
  const chunks = [];
  const entries = segments.map(({ kind, path }) => {
    const bytes = readFileSync(path);
    const hash = createHash("sha256").update(bytes).digest("hex");
    const keys = [];
    for (let n = 0; n * chunkBytes < bytes.length; n++) {
      const key = `seg/${hash}/${chunkBytes}/${n}`;
      keys.push(key);
      if (stored.has(key)) continue;
      stored.add(key);
      const value = bytes.subarray(n * chunkBytes, (n + 1) * chunkBytes).toString("base64");
      chunks.push({ key, value, base64: true });
    }
    return { hash, size: bytes.length, kind, entries: 0, chunks: keys };
  });
  const value = JSON.stringify({
    manifest_version: 2, index, version,
    created: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    ...(parent === undefined ? {} : { parent }),
    segments: entries,
  });
  return {
    chunks,
    version: [{ key: `manifest/${index}/${version}`, value }],
    manifest: [{ key: `manifest/${index}`, value }],
  };
}


async function start(vars = {}) {
  const mf = await startWorker(vars);
  instances.push(mf);
  return mf;
}

const suggestPath = (q, k = 10) => `/v1/suggest?q=${encodeURIComponent(q)}&k=${k}`;
const base = publish(DATA, { version: 1 });

test("answers equal the native CLI for every fixture query", async () => {
  const mf = await start();
  await seed(mf, base);
  const queries = readFileSync(QUERIES, "utf8").split("\n").slice(0, -1);
  assert.ok(queries.length >= 300);
  const seg = join(work, "p0.seg");
  const expected = cli("query", seg, "--batch", QUERIES, "-k", "10").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(expected.length, queries.length);
  let nonEmpty = 0;
  for (const [i, q] of queries.entries()) {
    const r = await get(mf, suggestPath(q));
    assert.equal(r.status, 200, `${q}: ${r.text}`);
    assert.equal(r.json.query, q);
    assert.equal(r.json.version, 1);
    // The CLI and the worker answer with the same objects (one shared JSON shape).
    const got = r.json.suggestions;
    assert.deepEqual(got, expected[i].suggestions, `query ${JSON.stringify(q)}`);
    assert.equal(r.json.truncated, false);
    nonEmpty += got.length > 0;
  }
  assert.ok(nonEmpty > 400);
  const first = (await get(mf, suggestPath("sao", 1))).json.suggestions[0];
  assert.deepEqual(first.highlight, [0, 3]);
});

test("typo tolerance, categories, word starts and exact-first equal the native CLI", async () => {
  const mf = await start({ CACHE_MAX_AGE: "0" });
  await seed(mf, base);
  const queries = readFileSync(QUERIES, "utf8").split("\n").slice(0, 150);
  const seg = join(work, "p0.seg");
  const settings = [
    [{ fuzzy: "auto" }, ["--fuzzy", "auto"]],
    [{ fuzzy: "2", prefix_length: "0" }, ["--fuzzy", "2", "--prefix-length", "0"]],
    [{ cat: "capital,million" }, ["--cat", "capital,million"]],
    [{ cat: "us", fuzzy: "1", exact_first: "false" }, ["--cat", "us", "--fuzzy", "1", "--no-exact-first"]],
  ];
  let fuzzy = 0, wordStarts = 0, filtered = 0;
  for (const [params, flags] of settings) {
    const expected = cli("query", seg, "--batch", QUERIES, "-k", "10", ...flags)
      .trim().split("\n").map((l) => JSON.parse(l));
    for (const [i, q] of queries.entries()) {
      const search = new URLSearchParams({ q, k: "10", ...params });
      const r = await get(mf, `/v1/suggest?${search}`);
      assert.equal(r.status, 200, `${q}: ${r.text}`);
      const got = r.json.suggestions;
      assert.deepEqual(got, expected[i].suggestions, `${search}`);
      assert.equal(r.json.truncated, expected[i].truncated);
      fuzzy += got.filter((s) => s.edits > 0).length;
      wordStarts += got.filter((s) => s.word_start).length;
      filtered += params.cat ? got.length : 0;
    }
  }
  assert.ok(fuzzy > 100 && wordStarts > 50 && filtered > 100, JSON.stringify({ fuzzy, wordStarts, filtered }));
  // "york" finds New York at its second word, highlighted there, with its payload.
  const york = (await get(mf, "/v1/suggest?q=york")).json.suggestions;
  const ny = york.find((s) => s.text === "New York City" || s.text === "New York");
  assert.ok(ny && ny.word_start, JSON.stringify(york));
  assert.deepEqual(ny.highlight, [4, 8]);
  assert.equal(ny.payload.country, "US");
});

test("bad parameters give their 400s, unknown routes and indexes 404, never a 500", async () => {
  const mf = await start();
  await seed(mf, base);
  const cases = [
    ["/v1/suggest", 400, "missing_q"],
    ["/v1/suggest?k=3", 400, "missing_q"],
    [`/v1/suggest?q=${"a".repeat(1025)}`, 400, "q_too_long"],
    // 255 bytes as sent, about 2.8 KB once NFKD expands U+FDFA: refused after normalization.
    [`/v1/suggest?q=${encodeURIComponent("\uFDFA".repeat(85))}&fuzzy=2`, 400, "q_too_long"],
    // A URL of 9 KB, and malformed or hostile percent-encoding.
    [`/v1/suggest?q=${"%61".repeat(3_000)}`, 400, "q_too_long"],
    [`/v1/suggest?q=a&cat=${"x,".repeat(3_000)}x`, 400, "bad_cat"],
    ["/v1/suggest?q=%", 400, "bad_encoding"],
    ["/v1/suggest?q=%%", 400, "bad_encoding"],
    ["/v1/suggest?q=%zz", 400, "bad_encoding"],
    ["/v1/suggest?q=%ED%A0%80", 400, "bad_encoding"], // a UTF-16 surrogate in UTF-8
    ["/v1/suggest?q=%C0%AF", 400, "bad_encoding"], // an overlong encoding
    ["/v1/suggest?q=a&k=9007199254740993", 400, "bad_k"],
    ["/v1/suggest?q=a&k=NaN", 400, "bad_k"],
    ["/v1/suggest?q=a&k=-1", 400, "bad_k"],
    ["/v1/suggest?q=a&k=1e2", 400, "bad_k"],
    ["/v1/suggest?q=a&prefix_length=99999999999999999999", 400, "bad_prefix_length"],
    ["/v1/suggest?q=a&k=0", 400, "bad_k"],
    ["/v1/suggest?q=a&k=51", 400, "bad_k"],
    ["/v1/suggest?q=a&k=ten", 400, "bad_k"],
    ["/v1/suggest?q=%E0%A4%A", 400, "bad_encoding"],
    ["/v1/suggest?q=%FF", 400, "bad_encoding"],
    ["/v1/suggest?q=a&q=b", 400, "duplicate_parameter"],
    ["/v1/suggest?q=a&index=nope", 404, "unknown_index"],
    ["/v1/suggest?q=a&fuzzy=3", 400, "bad_fuzzy"],
    ["/v1/suggest?q=a&prefix_length=-1", 400, "bad_prefix_length"],
    ["/v1/suggest?q=a&exact_first=yes", 400, "bad_exact_first"],
    ["/v1/suggest?q=a&cat=", 400, "bad_cat"],
    ["/nowhere", 404, "not_found"],
  ];
  for (const [path, status, code] of cases) {
    const r = await get(mf, path);
    assert.equal(r.status, status, `${path}: ${r.text}`);
    assert.equal(r.json?.error?.code, code, path);
    assert.ok(r.json.error.message.length > 10, path);
  }
  // URLs of 100 KB: the runtime refuses them before the worker runs (431), a client error.
  for (const path of [`/v1/suggest?q=${"%61".repeat(33_000)}`, `/v1/suggest?q=a&cat=${"x,".repeat(50_000)}x`]) {
    const r = await get(mf, path);
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} for a ${path.length}-byte URL`);
  }
  // Bounded answers: the longest query, NUL bytes, a fuzzy query of 1,024 distinct-character
  // bytes (typo tolerance covers its last 32 bytes), an empty one.
  const bounded = [
    `/v1/suggest?q=${"a".repeat(1024)}`,
    "/v1/suggest?q=a%00b",
    `/v1/suggest?q=${encodeURIComponent("東京大阪".repeat(85))}&fuzzy=2&prefix_length=0`,
    "/v1/suggest?q=&k=50&fuzzy=auto",
    "/v1/suggest?q=%20%20%20",
  ];
  for (const path of bounded) {
    const r = await get(mf, path);
    assert.equal(r.status, 200, `${path.slice(0, 80)}: ${r.text.slice(0, 200)}`);
    assert.ok(Array.isArray(r.json.suggestions), path.slice(0, 80));
  }
  const post = await get(mf, "/v1/suggest?q=a", { method: "POST" });
  assert.equal(post.status, 405);
});

test("CORS headers and preflight", async () => {
  const mf = await start({ CORS_ORIGINS: "https://app.example" });
  await seed(mf, base);
  const pre = await get(mf, "/v1/suggest?q=a", {
    method: "OPTIONS",
    headers: { origin: "https://app.example", "access-control-request-method": "GET" },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get("access-control-allow-methods"), /GET/);
  assert.equal(pre.headers.get("access-control-allow-origin"), "https://app.example");
  const ok = await get(mf, "/v1/suggest?q=a", { headers: { origin: "https://app.example" } });
  assert.equal(ok.headers.get("access-control-allow-origin"), "https://app.example");
  // A page on another origin may read the timings and the answering version and its age.
  assert.equal(ok.headers.get("access-control-expose-headers"),
    "server-timing, x-edgesuggest-version, x-edgesuggest-version-age");
  assert.equal(ok.headers.get("x-edgesuggest-version"), String(ok.json.version));
  assert.equal(ok.headers.get("x-edgesuggest-version-age"), String(ok.json.version_age_seconds));
  const other = await get(mf, "/v1/suggest?q=a", { headers: { origin: "https://evil.example" } });
  assert.equal(other.headers.get("access-control-allow-origin"), null);
  const health = await get(mf, "/v1/health", { headers: { origin: "https://app.example" } });
  assert.equal(health.headers.get("access-control-allow-origin"), "https://app.example");
});

test("an empty KV gives 503 JSON with Retry-After", async () => {
  const mf = await start();
  const r = await get(mf, suggestPath("new"));
  assert.equal(r.status, 503);
  assert.equal(r.json.error.code, "not_published");
  assert.match(r.json.error.message, /edgesuggest publish/);
  assert.ok(Number(r.headers.get("retry-after")) > 0);
  assert.equal((await get(mf, "/v1/health")).status, 200);
});

test("50 concurrent requests on a cold isolate load each chunk once", async () => {
  // Three fresh isolates: request coalescing across requests is timing-sensitive.
  for (let round = 0; round < 3; round++) {
    const mf = await start();
    await seed(mf, base);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => get(mf, suggestPath(["new", "sa", "los", "b", "mu"][i % 5]))),
    );
    for (const r of results) assert.equal(r.status, 200, r.text);
    const health = (await get(mf, "/v1/health")).json;
    const reads = health.stats.kv_reads;
    const chunkKeys = base.chunks.map((c) => c.key);
    assert.ok(chunkKeys.length >= 3, "the test publishes several chunks");
    for (const key of chunkKeys) assert.equal(reads[key], 1, `${key}: ${JSON.stringify(reads)}`);
    assert.equal(reads["manifest/cities"], 1);
    assert.equal(health.stats.loads, 1);
    assert.equal(health.loaded[0].version, 1);
    await mf.dispose();
    instances.splice(instances.indexOf(mf), 1);
  }
});

test("a new version is served after the refresh interval; bad versions keep the last good one", async () => {
  const mf = await start({ REFRESH_SECONDS: "1" });
  await seed(mf, base);
  assert.equal((await get(mf, suggestPath("zzyzx"))).json.version, 1);

  // v2 adds a phrase.
  const tsv = join(work, "v2.tsv");
  writeFileSync(tsv, readFileSync(DATA, "utf8") + "Zzyzx Test Town\t123\n");
  await seed(mf, publish(tsv, { version: 2 }));
  const waitFor = async (predicate, what) => {
    for (let i = 0; i < 40; i++) {
      await sleep(250);
      const r = await get(mf, suggestPath("zzyzx"));
      if (predicate(r.json)) return r.json;
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  const v2 = await waitFor((j) => j.version === 2, "version 2");
  assert.deepEqual(v2.suggestions.map((s) => s.text), ["Zzyzx Test Town"]);

  // v3: a chunk is corrupt in KV. v4: a chunk is missing. Both keep v2 serving.
  const kv = await mf.getKVNamespace("SEGMENTS");
  const v3 = publish(DATA, { version: 3, chunkBytes: 90_000 });
  const corrupt = Buffer.from(v3.chunks[1].value, "base64");
  corrupt[100] ^= 0xff;
  for (const [i, c] of v3.chunks.entries()) {
    await kv.put(c.key, i === 1 ? corrupt : Buffer.from(c.value, "base64"));
  }
  await kv.put(v3.manifest[0].key, v3.manifest[0].value);
  const failuresBefore = (await get(mf, "/v1/health")).json.stats.load_failures;
  for (let i = 0; i < 12; i++) {
    await sleep(250);
    const r = await get(mf, suggestPath("zzyzx"));
    assert.equal(r.status, 200);
    assert.equal(r.json.version, 2, "a corrupt v3 must not replace v2");
  }
  const health = (await get(mf, "/v1/health")).json;
  assert.ok(health.stats.load_failures > failuresBefore, JSON.stringify(health.stats));

  const v4 = publish(DATA, { version: 4, chunkBytes: 80_000 });
  await kv.put(v4.manifest[0].key, v4.manifest[0].value); // manifest without its chunks
  for (let i = 0; i < 12; i++) {
    await sleep(250);
    assert.equal((await get(mf, suggestPath("zzyzx"))).json.version, 2, "a v4 with missing chunks must not replace v2");
  }

  // A good v5 is picked up again.
  await seed(mf, publish(DATA, { version: 5 }));
  await waitFor((j) => j.version === 5, "version 5");
});

test("an index larger than the memory budget is refused clearly, and the isolate lives on", async () => {
  const mf = await start({ MEMORY_BUDGET_BYTES: "100000" });
  await seed(mf, base);
  const r = await get(mf, suggestPath("new"));
  assert.equal(r.status, 503);
  assert.equal(r.json.error.code, "index_too_large");
  assert.match(r.json.error.message, /memory budget of 100000 bytes/);
  assert.equal((await get(mf, "/v1/health")).status, 200);
  assert.equal((await get(mf, "/v1/ping")).text, "ok");
});

test("L2: a repeated query is served from the Cache API with Server-Timing", async () => {
  const mf = await start();
  await seed(mf, base);
  const first = await get(mf, suggestPath("MÜN"));
  assert.match(first.headers.get("server-timing"), /kv;dur=.*check;dur=.*load;dur=.*search;dur=.*cache;desc=miss/);
  assert.match(first.headers.get("cache-control"), /max-age=60/);
  let hit = null;
  for (let i = 0; i < 20 && !hit; i++) {
    await sleep(100);
    const again = await get(mf, suggestPath("mün")); // same normalized query
    if (/cache;desc=hit/.test(again.headers.get("server-timing"))) hit = again;
  }
  assert.ok(hit, "no cache hit");
  assert.equal(hit.json.query, "mün", "a cache hit echoes its own raw query");
  assert.deepEqual(hit.json.suggestions, first.json.suggestions);
  assert.ok((await get(mf, "/v1/health")).json.stats.l2_hits >= 1);
});

test("the memory budget evicts the least recently used index", async () => {
  // Room for one copy of the bundled index, not two.
  const budget = Math.floor(statSync(join(work, "p0.seg")).size * 1.5);
  const mf = await start({ INDEXES: "cities,towns", MEMORY_BUDGET_BYTES: String(budget) });
  await seed(mf, base);
  // Other bytes than cities': indexes holding the same segment would share it.
  const towns = join(work, "towns.tsv");
  writeFileSync(towns, readFileSync(DATA, "utf8") + "Townsville Test\t1\n");
  await seed(mf, publish(towns, { version: 9, index: "towns" }));
  assert.equal((await get(mf, suggestPath("new"))).status, 200);
  let health = (await get(mf, "/v1/health")).json;
  assert.deepEqual(health.loaded.map((l) => l.index), ["cities"]);
  const townsAnswer = await get(mf, suggestPath("new") + "&index=towns");
  assert.equal(townsAnswer.status, 200);
  assert.equal(townsAnswer.json.index, "towns");
  assert.equal(townsAnswer.json.version, 9);
  health = (await get(mf, "/v1/health")).json;
  assert.deepEqual(health.loaded.map((l) => l.index), ["towns"]);
  assert.equal(health.stats.evictions, 1);
  assert.ok(health.bytes_held <= budget);
  // The held segment lives in the wasm memory the health body reports.
  assert.ok(health.wasm_memory_bytes >= health.bytes_held, JSON.stringify(health));
  assert.equal(health.wasm_memory_bytes % 65536, 0);
  // Asking for the evicted index loads it again (and evicts the other).
  assert.equal((await get(mf, suggestPath("new"))).json.index, "cities");
  assert.equal((await get(mf, "/v1/health")).json.stats.evictions, 2);
});

test("under continuous requests, a base, two deltas and a rollback: versions are live, deltas cost their own bytes, changes show within the budget", async (t) => {
  // The budget worker/README.md documents for local KV: REFRESH_SECONDS, plus 1 s of slack
  // for the background load and the polling here.
  const REFRESH_SECONDS = 1;
  const budgetMs = REFRESH_SECONDS * 1000 + 1000;
  const mf = await start({ REFRESH_SECONDS: String(REFRESH_SECONDS) });
  const base = buildSegment("base", readFileSync(DATA, "utf8") + "Zzyzx Alpha\t500\nZzyzx Beta\t400\n");
  const d1 = buildSegment("delta", '{"op":"delete","phrase":"Zzyzx Alpha"}\n{"op":"upsert","phrase":"Zzyzx Gamma","score":300}\n');
  const d2 = buildSegment("delta", '{"op":"upsert","phrase":"Zzyzx Delta","score":200}\n');
  const blocked = buildSegment("blocklist", "zzyzx beta\n");
  // What each version answers to "zzyzx": an answer must match the version it names.
  const expected = {
    1: ["Zzyzx Alpha", "Zzyzx Beta"],
    2: ["Zzyzx Beta", "Zzyzx Gamma"],
    3: ["Zzyzx Gamma", "Zzyzx Delta"],
  };
  const store = join(work, `store${counter++}`);
  const v1 = cliPublish(store, base.path, "--version", "1");
  const v2 = cliPublish(store, "--delta", d1.path, "--version", "2");
  const v3 = cliPublish(store, "--delta", d2.path, "--blocklist", blocked.path, "--version", "3");
  assert.equal(JSON.parse(v3.version[0].value).parent, 2);
  assert.ok(v1.chunks.length >= 3, "the base spans several chunks");
  assert.equal(v2.chunks.length, 1, "a delta publish adds only the delta's chunk");

  // The pointer's history: which version was live from when (the write's start) to when
  // (the next write's end).
  const live = [];
  const movePointer = async (entries, versionNumber) => {
    const from = performance.now();
    await seed(mf, entries);
    const at = performance.now();
    if (live.length) live[live.length - 1].to = at;
    live.push({ version: versionNumber, from, at });
    return at;
  };
  await movePointer(v1, 1);

  const answers = [];
  const failures = [];
  let stop = false;
  const client = async (q) => {
    while (!stop) {
      const start = performance.now();
      const r = await get(mf, `/v1/suggest?q=${q}&k=5`);
      const end = performance.now();
      if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
      else answers.push({ start, end, json: r.json, header: r.headers.get("x-edgesuggest-version"),
        age: r.headers.get("x-edgesuggest-version-age") });
      await sleep(5);
    }
  };
  const clients = ["zzyzx", "zzyzx", "zzy", "ZZYZX"].map(client);
  const firstAfter = async (at, version) => {
    for (let waited = 0; waited < 10_000; waited += 20) {
      const hit = answers.find((a) => a.start >= at && a.json.version === version);
      if (hit) return hit.end - at;
      await sleep(20);
    }
    assert.fail(`version ${version} never answered`);
  };
  const freshness = {};
  try {
    await firstAfter(0, 1);
    await sleep(1500);
    const at2 = await movePointer(v2, 2);
    freshness.delta1 = await firstAfter(at2, 2);
    await sleep(1500);
    const at3 = await movePointer(v3, 3);
    freshness.delta2_and_blocklist = await firstAfter(at3, 3);
    await sleep(1500);
    const atBack = await movePointer(cliRollback(store, 2), 2);
    freshness.rollback = await firstAfter(atBack, 2);
    await sleep(1500);
  } finally {
    stop = true;
    await Promise.all(clients);
  }
  t.diagnostic(`publish → first answer from the new version (ms): ${JSON.stringify(freshness)}`);
  t.diagnostic(`${answers.length} answers, ${failures.length} failed`);

  assert.deepEqual(failures, []);
  assert.ok(answers.length > 200, `${answers.length} answers`);
  for (const [what, ms] of Object.entries(freshness)) assert.ok(ms <= budgetMs, `${what}: ${ms} ms`);
  for (const a of answers) {
    const v = a.json.version;
    // Whole versions only: the suggestions are exactly the named version's.
    assert.deepEqual(a.json.suggestions.map((s) => s.text), expected[v], `version ${v}`);
    assert.equal(a.header, String(v));
    assert.match(a.json.version_created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(a.age, String(a.json.version_age_seconds));
    assert.ok(a.json.version_age_seconds < 60, a.age);
    // Live at that moment: the pointer named it during the request, or it was replaced less
    // than the budget before the request started.
    const ok = live.some((l) => l.version === v && l.from <= a.end && (l.to === undefined || a.start <= l.to + budgetMs));
    assert.ok(ok, `version ${v} answered in [${a.start}, ${a.end}]; pointer history ${JSON.stringify(live)}`);
  }
  // The deleted phrase (v2 on) and the blocklisted one (v3 until the rollback) are gone
  // from every answer that started one budget after the pointer moved.
  const [, p2, p3, pBack] = live;
  for (const a of answers.filter((a) => a.start > p2.at + budgetMs)) {
    assert.ok(!a.json.suggestions.some((s) => s.text === "Zzyzx Alpha"), "deleted phrase served");
  }
  for (const a of answers.filter((a) => a.start > p3.at + budgetMs && a.end < pBack.at)) {
    assert.ok(!a.json.suggestions.some((s) => s.text === "Zzyzx Beta"), "blocklisted phrase served");
  }

  // Each chunk was read once: the deltas' publishes read only their own chunks, the rollback
  // none, the base never again.
  const health = (await get(mf, "/v1/health")).json;
  const reads = health.stats.kv_reads;
  for (const e of [...v1.chunks, ...v2.chunks, ...v3.chunks]) assert.equal(reads[e.key], 1, `${e.key}: ${JSON.stringify(reads)}`);
  assert.equal(health.stats.segments_fetched, 4);
  assert.equal(health.stats.segments_reused, 5, "v2 reuses the base, v3 and the rollback base and delta");
  assert.equal(health.stats.load_failures, 0);
  // L2 answered many of them, and never across versions (its keys include the version).
  assert.ok(health.stats.l2_hits > 100, JSON.stringify(health.stats));
  const [held] = health.loaded;
  assert.equal(held.version, 2);
  assert.equal(held.parent, 1);
  assert.deepEqual(held.segments.map((s) => s.kind), ["base", "delta"]);
  assert.deepEqual(held.segments.map((s) => s.hash), JSON.parse(v2.version[0].value).segments.map((s) => s.hash));
  assert.equal(typeof held.age_seconds, "number");
  assert.equal(health.bytes_held, held.bytes);
});

test("a version whose segments do not hash to their names or do not form a stack keeps the last good one", async () => {
  const mf = await start({ REFRESH_SECONDS: "0.2" });
  const stored = new Set();
  const base = buildSegment("base", readFileSync(DATA, "utf8"));
  await seed(mf, publishVersion([base], { version: 1, stored }));
  assert.equal((await get(mf, suggestPath("new"))).json.version, 1);
  const kv = await mf.getKVNamespace("SEGMENTS");
  const keepsServing = async (what) => {
    const before = (await get(mf, "/v1/health")).json.stats.load_failures;
    for (let i = 0; i < 8; i++) {
      await sleep(150);
      const r = await get(mf, suggestPath("new"));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.version, 1, what);
      assert.equal(r.headers.get("x-edgesuggest-version"), "1");
    }
    assert.ok((await get(mf, "/v1/health")).json.stats.load_failures > before, what);
  };
  // A delta whose chunk holds another delta of the same size: well-formed, so only the hash
  // tells.
  const delta = buildSegment("delta", '{"op":"upsert","phrase":"Zzyzx","score":1}\n');
  const other = buildSegment("delta", '{"op":"upsert","phrase":"Qqqqq","score":1}\n');
  assert.equal(statSync(other.path).size, statSync(delta.path).size);
  const swapped = publishVersion([base, delta], { version: 2, parent: 1, stored });
  swapped.chunks[0].value = readFileSync(other.path).toString("base64");
  await seed(mf, swapped);
  await keepsServing("a chunk of other bytes");
  // A delta built without word starts over a base built with them: no stack forms.
  const plain = join(work, `s${counter++}.seg`);
  const changes = join(work, `c${counter++}.ndjson`);
  writeFileSync(changes, '{"op":"upsert","phrase":"Zzyzx","score":1}\n');
  cli("build", "--delta", changes, "-o", plain, "-q");
  await seed(mf, publishVersion([base, { kind: "delta", path: plain }], { version: 3, parent: 1, stored }));
  await keepsServing("a delta built unlike its base");
  // A base listed as a delta.
  const aBase = buildSegment("base", "Qqq\t1\n");
  await seed(mf, publishVersion([base, { kind: "delta", path: aBase.path }], { version: 4, parent: 1, stored }));
  await keepsServing("a base listed as a delta");
});

test("a cold isolate refuses a segment whose header says another kind than its manifest entry, naming both", async () => {
  const mf = await start();
  const delta = buildSegment("delta", '{"op":"upsert","phrase":"Zzyzx","score":1}\n');
  await seed(mf, publishVersion([{ kind: "base", path: delta.path }], { version: 1, stored: new Set() }));
  const r = await get(mf, suggestPath("new"));
  assert.equal(r.status, 503, r.text);
  assert.equal(r.json.error.code, "load_failed");
  const message = "is a delta segment, the manifest lists it as a base";
  assert.ok(r.json.error.message.includes(message), `${r.json.error.message} lacks ${message}`);
});

test("chunks holding more bytes, fewer bytes or none are refused with the counts; the last good version keeps serving", async () => {
  const data = readFileSync(DATA, "utf8");
  /** Version `version` of a base from the data plus `extra` rows, its chunks changed by
   * `change(chunks, size)`, which returns the message the worker must give. */
  const tampered = (version, extra, change) => {
    const segment = buildSegment("base", data + extra);
    const v = publishVersion([segment], { version, parent: version > 1 ? 1 : undefined, stored: new Set() });
    assert.ok(v.chunks.length >= 3, "the test reads several chunks in order");
    return { v, message: change(v.chunks, statSync(segment.path).size) };
  };
  const bytes = (chunk) => Buffer.from(chunk.value, "base64");
  const cases = [
    (chunks, size) => {
      const last = chunks.at(-1);
      last.value = Buffer.concat([bytes(last), Buffer.from("extra")]).toString("base64");
      return `is ${size + 5} bytes in KV, the manifest says ${size}`;
    },
    (chunks, size) => {
      const last = chunks.at(-1);
      last.value = bytes(last).subarray(0, bytes(last).length - 7).toString("base64");
      return `is ${size - 7} bytes in KV, the manifest says ${size}`;
    },
    (chunks) => `chunk \`${chunks.splice(1, 1)[0].key}\` is missing from KV`,
  ];
  // A cold isolate has nothing else to serve: the 503 says what is wrong.
  for (const change of cases) {
    const mf = await start();
    const { v, message } = tampered(1, "", change);
    await seed(mf, v);
    const r = await get(mf, suggestPath("new"));
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error.code, "load_failed");
    assert.ok(r.json.error.message.includes(message), `${r.json.error.message} lacks ${message}`);
    await mf.dispose();
    instances.splice(instances.indexOf(mf), 1);
  }
  // With a good version loaded, each bad one (other bytes, so none is held already) is
  // refused and the good one keeps answering.
  const mf = await start({ REFRESH_SECONDS: "0.2" });
  await seed(mf, publishVersion([buildSegment("base", data)], { version: 1, stored: new Set() }));
  const expected = (await get(mf, suggestPath("new"))).json;
  assert.equal(expected.version, 1);
  for (const [i, change] of cases.entries()) {
    const before = (await get(mf, "/v1/health")).json.stats.load_failures;
    await seed(mf, tampered(i + 2, `Zzq${i}\t1\n`, change).v);
    for (let n = 0; n < 6; n++) {
      await sleep(150);
      const r = await get(mf, suggestPath("new"));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual([r.json.version, r.json.suggestions], [1, expected.suggestions]);
    }
    assert.ok((await get(mf, "/v1/health")).json.stats.load_failures > before, `case ${i}`);
  }
});

test("a publisher's attestation skips the node walk only under the worker's key; forged ones are validated in full", async () => {
  const key = "attest-0123456789abcdef0123456789abcdef";
  const dir = join(work, `p${counter++}`);
  const seg = join(work, "p0.seg");
  execFileSync(process.env.EDGESUGGEST_CLI, ["publish", seg, "--index", "cities", "--out-dir", dir,
    "--version", "1", "--chunk-bytes", "100000"], { env: { ...process.env, EDGESUGGEST_ATTESTATION_KEY: key } });
  const signed = readBulk(dir);
  const entry = JSON.parse(signed.version[0].value).segments[0];
  // The oracle: node's HMAC over the message the engine's validation rules (1) name.
  const mac = (k, hash) => createHmac("sha256", k).update(`edgesuggest segment validated, rules 1: ${hash}`).digest("hex");
  assert.equal(entry.hash, createHash("sha256").update(readFileSync(seg)).digest("hex"));
  assert.equal(entry.attestation, mac(key, entry.hash));

  const queries = readFileSync(QUERIES, "utf8").split("\n").slice(0, 60);
  const expected = cli("query", seg, "--batch", QUERIES, "-k", "10").trim().split("\n").slice(0, 60)
    .map((l) => JSON.parse(l).suggestions);
  const cases = [
    { vars: { SEGMENT_ATTESTATION_KEY: key }, attested: 1 },
    { vars: { SEGMENT_ATTESTATION_KEY: "another-key-0123456789abcdef0123456789" }, attested: 0 },
    { vars: {}, attested: 0 },
  ];
  for (const { vars, attested } of cases) {
    const mf = await start(vars);
    await seed(mf, signed);
    for (const [i, q] of queries.entries()) {
      const r = await get(mf, suggestPath(q));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.suggestions, expected[i], `${JSON.stringify(vars)} ${q}`);
    }
    const stats = (await get(mf, "/v1/health")).json.stats;
    assert.deepEqual([stats.segments_fetched, stats.segments_attested], [1, attested], JSON.stringify(vars));
  }

  // Bytes whose root node claims 256 transitions, published by hand with an attestation
  // forged under another key: the worker with the real key validates them in full, refuses
  // the version and keeps serving the good one.
  const mf = await start({ SEGMENT_ATTESTATION_KEY: key, REFRESH_SECONDS: "0.2" });
  await seed(mf, signed);
  assert.equal((await get(mf, suggestPath("new"))).json.version, 1);
  const bad = Buffer.from(readFileSync(seg));
  const fstAt = Number(bad.readBigUInt64LE(48 + 8));
  const fstEnd = fstAt + Number(bad.readBigUInt64LE(48 + 16));
  bad.set([0x11, 0, 0x00], fstEnd - 20 - 3);
  const badPath = join(work, `bad${counter++}.seg`);
  writeFileSync(badPath, bad);
  const forged = publishVersion([{ kind: "base", path: badPath }], { version: 2, parent: 1, stored: new Set() });
  const value = JSON.parse(forged.version[0].value);
  value.segments[0].attestation = mac("not-the-key-0123456789abcdef0123456789", value.segments[0].hash);
  forged.version[0].value = forged.manifest[0].value = JSON.stringify(value);
  await seed(mf, forged);
  for (let i = 0; i < 6; i++) {
    await sleep(150);
    const r = await get(mf, suggestPath("new"));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 1);
  }
  const health = (await get(mf, "/v1/health")).json;
  assert.ok(health.stats.load_failures > 0);
  assert.equal(health.stats.segments_attested, 1);
});
