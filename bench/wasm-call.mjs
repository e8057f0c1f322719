// What one call of the wasm module costs in node, apart from the suite: a few fixed calls
// (no match, a listed prefix; with and without options), and each prefix query of a native
// bench run timed on its own. Run it on two builds of `pkg/node` in turn to compare them.
//
//   node bench/wasm-call.mjs calls PKG_NODE_DIR SEGMENT
//       µs per call: the minimum of 5 rounds of 200,000 calls of each case
//   node bench/wasm-call.mjs queries PKG_NODE_DIR OUT_DIR
//       OUT_DIR from `cargo bench --bench native -- DATA.tsv OUT_DIR` (plain.seg, queries.tsv):
//       the median µs by prefix length of each query's middle of 3 rounds, `{ k: 10 }`
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const [mode, pkgDir, target] = process.argv.slice(2);
if (!["calls", "queries"].includes(mode) || !pkgDir || !target) {
  console.error("usage: node bench/wasm-call.mjs calls|queries PKG_NODE_DIR SEGMENT|OUT_DIR");
  process.exit(2);
}
const { Suggester } = createRequire(import.meta.url)(resolve(pkgDir, "edgesuggest_wasm.js"));

/** µs per call of each case: the minimum over rounds of many calls in a row. */
function calls(segment) {
  const s = Suggester.load(readFileSync(segment));
  const cases = [
    ["no match (zzqqxx), no options", () => s.suggest("zzqqxx")],
    ["no match, { k: 10 }", () => s.suggest("zzqqxx", { k: 10 })],
    ["r, { k: 1 }", () => s.suggest("r", { k: 1 })],
    ["r, no options", () => s.suggest("r")],
    ["r, { k: 10 }", () => s.suggest("r", { k: 10 })],
  ];
  const n = 200_000;
  const best = cases.map(() => Infinity);
  for (let round = 0; round < 5; round++) {
    cases.forEach(([, f], i) => {
      for (let j = 0; j < n / 10; j++) f();
      const t = process.hrtime.bigint();
      for (let j = 0; j < n; j++) f();
      best[i] = Math.min(best[i], Number(process.hrtime.bigint() - t) / 1e3 / n);
    });
  }
  cases.forEach(([name], i) => console.log(`${name.padEnd(32)} ${best[i].toFixed(3)}`));
}

/** Median by prefix length of each bench query's middle timing of three. */
function queries(outDir) {
  const s = Suggester.load(readFileSync(join(outDir, "plain.seg")));
  const qs = readFileSync(join(outDir, "queries.tsv"), "utf8")
    .split("\n")
    .map((line) => line.split("\t"))
    .filter((p) => p[0] === "prefix")
    .map((p) => ({ len: Number(p[1]), text: p[2] }));
  const options = { k: 10 };
  for (const q of qs) s.suggest(q.text, options);
  const times = qs.map(() => []);
  for (let round = 0; round < 3; round++) {
    qs.forEach((q, i) => {
      const t = process.hrtime.bigint();
      s.suggest(q.text, options);
      times[i].push(Number(process.hrtime.bigint() - t) / 1e3);
    });
  }
  const byLength = new Map();
  qs.forEach((q, i) => {
    const middle = times[i].sort((a, b) => a - b)[1];
    byLength.set(q.len, [...(byLength.get(q.len) ?? []), middle]);
  });
  const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const lengths = [...byLength.keys()].sort((a, b) => a - b);
  console.log(lengths.map((len) => median(byLength.get(len)).toFixed(2)).join(" / "));
}

if (mode === "calls") calls(target);
else queries(target);
