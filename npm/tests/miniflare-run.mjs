// Runs a Worker module in Miniflare (workerd), with the segment in its KV namespace SEGMENTS,
// posts the queries to it and prints its answer. Run under Node 22 (Miniflare needs it) by
// package.test.mjs:
//   node miniflare-run.mjs WORKER_MODULE SEGMENT QUERIES_JSON
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [script, segment, queries] = process.argv.slice(2);
const { Miniflare } = createRequire(join(process.env.EDGESUGGEST_WORKER_NPM, "noop.js"))("miniflare");

const mf = new Miniflare({
  modules: true,
  scriptPath: script,
  modulesRules: [
    { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  compatibilityDate: "2026-07-30",
  kvNamespaces: ["SEGMENTS"],
});
try {
  await mf.ready;
  const kv = await mf.getKVNamespace("SEGMENTS");
  await kv.put("cities.seg", readFileSync(segment));
  const response = await mf.dispatchFetch("http://localhost/", { method: "POST", body: readFileSync(queries, "utf8") });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`the worker answered ${response.status}: ${body.slice(0, 500)}`);
  process.stdout.write(body);
} finally {
  await mf.dispose();
}
