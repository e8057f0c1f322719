// Where a cold load's CPU time goes, in V8 (node), for one segment file: the steps the worker
// runs on the bytes it reads from KV, each timed alone, three runs (the first includes the
// module's compilation and the growth of its memory).
//
//   node bench/load-parts.mjs PKG_NODE_DIR SEGMENT
//
// `copy` = a fresh copy of the bytes (what a KV read hands over at least), `sha256` = the
// content-address check (WebCrypto, as the worker does), `load` = `Suggester.load`: the copy
// into the module's memory, the checksum and the validation of every FST node. workerd runs
// the same V8; the KV read itself is the rest of the worker's `kv` Server-Timing entry.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { webcrypto } from "node:crypto";

const [pkg, segment] = process.argv.slice(2);
if (!pkg || !segment) {
  console.error("usage: node bench/load-parts.mjs PKG_NODE_DIR SEGMENT");
  process.exit(2);
}
const { Suggester } = await import(resolve(pkg, "edgesuggest_wasm.js"));
const bytes = new Uint8Array(readFileSync(segment));
const ms = (t) => (performance.now() - t).toFixed(1);
console.log(`${segment}: ${bytes.length} bytes`);
for (let run = 1; run <= 3; run++) {
  let t = performance.now();
  const copy = new Uint8Array(bytes);
  const copied = ms(t);
  t = performance.now();
  await webcrypto.subtle.digest("SHA-256", copy);
  const hashed = ms(t);
  t = performance.now();
  const suggester = Suggester.load(copy);
  const loaded = ms(t);
  suggester.free();
  console.log(`run ${run}: copy ${copied} ms, sha256 ${hashed} ms, load ${loaded} ms`);
}
