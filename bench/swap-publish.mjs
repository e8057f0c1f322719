// Publishes prepared versions of an index into wrangler's local KV on a schedule, while
// `wrangler dev` serves from that same KV (bench/swap.sh runs it next to wrk):
//
//   node bench/swap-publish.mjs KV_PERSIST_DIR NAMESPACE_ID PLAN_FILE
//
// Each PLAN_FILE line is `OFFSET_MS DIR valid|corrupt`, DIR holding the chunks.json and
// manifest.json that `edgesuggest publish --out-dir` wrote. OFFSET_MS after the start, the
// chunks are put first and the manifest last: the order `edgesuggest publish --local` keeps.
// For `corrupt`, one bit of the middle byte of the segment is flipped before the put (as
// scripts/flip-byte.py does): publish verifies segments, so damaged bytes reach KV only this
// way; the size is unchanged, so only the segment checksum can catch it.
//
// Prints `ready EPOCH_MS` once set up (offsets count from then), then one line per publish:
// `EPOCH_MS VERSION KIND`. One Miniflare instance on wrangler's
// persistence directory does every put: `wrangler kv bulk put --local` starts a runtime per
// call, seconds each on a small machine, too slow for a publish every few seconds.
// EDGESUGGEST_WORKER_NPM names the node_modules holding miniflare.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const [persistDir, namespaceId, planFile] = process.argv.slice(2);
if (!planFile || !process.env.EDGESUGGEST_WORKER_NPM) {
  console.error("usage: EDGESUGGEST_WORKER_NPM=DIR node bench/swap-publish.mjs KV_PERSIST_DIR NAMESPACE_ID PLAN_FILE");
  process.exit(2);
}
const require = createRequire(join(process.env.EDGESUGGEST_WORKER_NPM, "noop.js"));
const { Miniflare } = require("miniflare");

const plan = readFileSync(planFile, "utf8").trim().split("\n").map((line) => {
  const [offset, dir, kind] = line.split(" ");
  return { offset: Number(offset), dir, kind };
});

/** The bulk-put entries of one publish, the chunks' bytes damaged when `corrupt`. */
function entries({ dir, kind }) {
  const read = (name) => JSON.parse(readFileSync(join(dir, name), "utf8"));
  const chunks = read("chunks.json").map((e) => ({ key: e.key, bytes: Buffer.from(e.value, "base64") }));
  if (kind === "corrupt") flipMiddleBit(chunks.map((c) => c.bytes));
  const [manifest] = read("manifest.json");
  return { chunks, manifest, version: JSON.parse(manifest.value).version };
}

/** Flips bit 0x20 of the middle byte of the concatenation of `parts`, in place. */
function flipMiddleBit(parts) {
  let at = Math.floor(parts.reduce((n, p) => n + p.length, 0) / 2);
  for (const part of parts) {
    if (at < part.length) {
      part[at] ^= 0x20;
      return;
    }
    at -= part.length;
  }
}

const mf = new Miniflare({
  modules: true,
  script: "export default { fetch() { return new Response('') } }",
  kvNamespaces: { SEGMENTS: namespaceId },
  kvPersist: persistDir,
});
try {
  const kv = await mf.getKVNamespace("SEGMENTS");
  const prepared = plan.map((step) => ({ ...step, ...entries(step) }));
  const start = Date.now();
  console.log(`ready ${start}`);
  for (const step of prepared) {
    await sleep(Math.max(0, start + step.offset - Date.now()));
    for (const chunk of step.chunks) await kv.put(chunk.key, chunk.bytes);
    await kv.put(step.manifest.key, step.manifest.value);
    console.log(`${Date.now()} ${step.version} ${step.kind}`);
  }
} finally {
  await mf.dispose();
}
