// Prints the size of each file raw, gzipped (level 9) and brotli-compressed (quality 11): what
// a module or a segment costs over the wire. Used by build.sh after each wasm build, by
// bench/worker.sh, and (its `wireSizes`) by bench/report.mjs for each segment.
//
//   node scripts/sizes.mjs FILE...
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

/** The bytes' size raw, gzipped at level 9 and brotli-compressed at quality 11. */
export function wireSizes(bytes) {
  const gzip = gzipSync(bytes, { level: 9 }).length;
  const brotli = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  return { raw: bytes.length, gzip, brotli };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const file of process.argv.slice(2)) {
    const { raw, gzip, brotli } = wireSizes(readFileSync(file));
    console.log(`${file}: ${raw} bytes raw, ${gzip} gzip, ${brotli} brotli`);
  }
}
