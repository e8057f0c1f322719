// How fast a worker in local workerd (Miniflare) can read one large KV value and hash it, by
// strategy: the whole value as an ArrayBuffer (what the worker does), with Web Crypto's
// SHA-256 after it, or as a stream, read chunk by chunk, fed to a `crypto.DigestStream` as it
// arrives, or teed into one. Each strategy runs in a fresh Miniflare, rounds alternated.
//
//   EDGESUGGEST_WORKER_NPM=~/.cache/edgesuggest/worker-npm/node_modules \
//     NODE22 bench/kv-read.mjs SEGMENT [ROUNDS]
//
// Prints one line per run: strategy, its result (bytes, chunks or hash prefix), the
// milliseconds inside the worker, and the round trip seen from node.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(join(process.env.EDGESUGGEST_WORKER_NPM, "noop.js"));
const { Miniflare } = require("miniflare");

const worker = `
const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
const stream = (kv) => kv.get("big", { type: "stream" });
async function* chunks(r) {
  const g = r.getReader();
  for (;;) { const { done, value } = await g.read(); if (done) return; yield value; }
}
const strategies = {
  async buffer(kv) { return (await kv.get("big", "arrayBuffer")).byteLength; },
  async bufferDigest(kv) {
    const b = await kv.get("big", "arrayBuffer");
    return hex(await crypto.subtle.digest("SHA-256", b)).slice(0, 8);
  },
  async streamRead(kv) { let n = 0; for await (const _ of chunks(await stream(kv))) n++; return n + " chunks"; },
  async streamDigest(kv) {
    const d = new crypto.DigestStream("SHA-256"), w = d.getWriter();
    for await (const c of chunks(await stream(kv))) await w.write(c);
    await w.close();
    return hex(await d.digest).slice(0, 8);
  },
  async streamTee(kv) {
    const [a, b] = (await stream(kv)).tee();
    const d = new crypto.DigestStream("SHA-256"), piped = b.pipeTo(d);
    const n = (await new Response(a).arrayBuffer()).byteLength;
    await piped;
    return hex(await d.digest).slice(0, 8) + " " + n;
  },
};
export default {
  async fetch(req, env) {
    const s = new URL(req.url).searchParams.get("s"), t = Date.now();
    const out = await strategies[s](env.KV);
    return new Response(s + " " + out + " " + (Date.now() - t) + " ms");
  },
};`;
const value = readFileSync(process.argv[2]);
const rounds = Number(process.argv[3] ?? 4);
for (let round = 0; round < rounds; round++) {
  for (const s of ["buffer", "bufferDigest", "streamRead", "streamDigest", "streamTee"]) {
    const mf = new Miniflare({
      modules: true, script: worker, kvNamespaces: ["KV"],
      compatibilityDate: "2026-07-30",
    });
    await mf.ready;
    await (await mf.getKVNamespace("KV")).put("big", value);
    const t = performance.now();
    const text = await (await mf.dispatchFetch("http://localhost/?s=" + s)).text();
    console.log(`${text} (round trip ${(performance.now() - t).toFixed(1)} ms)`);
    await mf.dispose();
  }
}
