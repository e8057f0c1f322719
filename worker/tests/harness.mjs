// Shared by the worker's test files, the loop script and the events benchmark: the native CLI, Miniflare running the built worker (with
// KV, the events queue and the R2 bucket when asked), and KV seeding from `publish --out-dir`.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(process.env.EDGESUGGEST_WORKER_NPM, "noop.js"));
export const { Miniflare } = require("miniflare");
export const CLI = process.env.EDGESUGGEST_CLI;
export const work = mkdtempSync(join(tmpdir(), "edgesuggest-worker-"));

export function cli(...args) {
  return execFileSync(CLI, args, { encoding: "utf8", maxBuffer: 64 << 20 });
}

/** The bulk files `edgesuggest publish|rollback|experiment --out-dir DIR` wrote, in the order
 * to apply them (absent files are empty). */
export function readBulk(dir, names = ["chunks.json", "version.json", "manifest.json"]) {
  return names.flatMap((name) =>
    existsSync(join(dir, name)) ? JSON.parse(readFileSync(join(dir, name), "utf8")) : []);
}

/** Puts bulk entries into the worker's KV, in order. */
export async function seedEntries(mf, entries) {
  const kv = await mf.getKVNamespace("SEGMENTS");
  for (const e of entries) {
    await kv.put(e.key, e.base64 ? Buffer.from(e.value, "base64") : e.value);
  }
}

/** Miniflare running the built worker. `events`: with the queue (consumer included) and the
 * R2 bucket of wrangler.toml; `listen`: also on a free port of 127.0.0.1 (its URL is
 * `await mf.ready`), for clients other than `dispatchFetch`. */
export async function startWorker(vars = {}, { events = false, listen = false } = {}) {
  const mf = new Miniflare({
    ...(listen ? { host: "127.0.0.1", port: 0 } : {}),
    modules: true,
    scriptPath: resolve(here, "../build/shim.mjs"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-07-30",
    kvNamespaces: ["SEGMENTS"],
    ...(events ? {
      queueProducers: { EVENTS: { queueName: "edgesuggest-events" } },
      queueConsumers: { "edgesuggest-events": { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: 5, retryDelay: 0 } },
      r2Buckets: ["EVENTS_BUCKET"],
    } : {}),
    bindings: { INDEXES: "cities", REFRESH_SECONDS: "30", CACHE_MAX_AGE: "60", ...vars },
  });
  await mf.ready;
  return mf;
}

export async function get(mf, path, init) {
  const r = await mf.dispatchFetch("http://localhost" + path, init);
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every event line in the R2 bucket's minute files, with the file it came from. */
export async function eventsInR2(mf) {
  const bucket = await mf.getR2Bucket("EVENTS_BUCKET");
  const lines = [];
  let cursor;
  do {
    const page = await bucket.list({ prefix: "events/", cursor });
    for (const o of page.objects) {
      const body = Buffer.from(await (await bucket.get(o.key)).arrayBuffer());
      for (const line of gunzipSync(body).toString("utf8").split("\n").filter(Boolean)) {
        lines.push({ key: o.key, event: JSON.parse(line) });
      }
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return lines;
}

/** Waits until R2 holds at least `count` events (or `ms` pass), then returns them all. */
export async function waitForEvents(mf, count, ms = 20_000) {
  const deadline = Date.now() + ms;
  let lines = await eventsInR2(mf);
  while (lines.length < count && Date.now() < deadline) {
    await sleep(200);
    lines = await eventsInR2(mf);
  }
  return lines;
}
