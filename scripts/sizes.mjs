// Prints the size of each file raw, gzipped (level 9) and brotli-compressed (quality 11): what
// a module costs over the wire. Used by build.sh after each wasm build and by bench/worker.sh.
//
//   node scripts/sizes.mjs FILE...
import { readFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

for (const file of process.argv.slice(2)) {
  const b = readFileSync(file);
  const gz = gzipSync(b, { level: 9 }).length;
  const br = brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.log(`${file}: ${b.length} bytes raw, ${gz} gzip, ${br} brotli`);
}
