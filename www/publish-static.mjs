// Publishes an index version into a static site, in the layout the page reads (the KV layout
// of crates/edgesuggest-manifest, with each KV key K served as the file `data/K`):
//
//   data/seg/<sha256>/<chunk_bytes>/<n>   chunk n of a segment, cut every chunk_bytes bytes:
//                                         content-addressed, immutable, written once
//   data/<index>.manifest.<version>.json  one immutable manifest version (manifest format v2)
//   data/<index>.manifest.json            the pointer: a copy of the live version's manifest
//
// Chunks are written first, then the version, then the pointer (each file by write + rename),
// so a reader never sees a manifest naming missing chunks.
//
//   node www/publish-static.mjs SITE_DIR INDEX VERSION [--parent N] KIND=FILE...
//     KIND is base, delta or blocklist, in manifest order: the base, deltas oldest first, then
//     at most one blocklist. Prints the manifest.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Chunk size: the CLI publisher's default (KV values max out at 25 MiB). */
export const CHUNK_BYTES = 20 << 20;

/** The manifest format version written. */
export const MANIFEST_VERSION = 2;

const KINDS = ["base", "delta", "blocklist"];

/** The suggestion count in a segment's header (u64 little-endian at byte 24). */
function headerSuggestions(bytes) {
  if (bytes.length < 32) return 0;
  return Number(Buffer.from(bytes).readBigUInt64LE(24));
}

/** Writes `data` to `path` through a temporary file and a rename: never a partial file. */
async function writeAtomically(path, data) {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp${process.pid}`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

/**
 * The manifest entry of one segment, and its chunks as `[key, bytes]`. `entries` defaults to
 * the header's suggestion count (deletes and blocked phrases are not counted then).
 */
export function segmentEntry(bytes, kind, entries = headerSuggestions(bytes)) {
  if (!KINDS.includes(kind)) {
    throw new Error(`segment kind ${JSON.stringify(kind)} is not one of ${KINDS.join(", ")}`);
  }
  if (bytes.length === 0) throw new Error(`the ${kind} segment is empty: build it again`);
  const hash = createHash("sha256").update(bytes).digest("hex");
  const chunks = [];
  for (let n = 0, at = 0; at < bytes.length; n++, at += CHUNK_BYTES) {
    chunks.push([`seg/${hash}/${CHUNK_BYTES}/${n}`, bytes.subarray(at, at + CHUNK_BYTES)]);
  }
  const entry = { hash, size: bytes.length, kind, entries, chunks: chunks.map(([key]) => key) };
  return { entry, chunks };
}

/**
 * Writes `segments` (`[{ kind, bytes, entries? }]`, in manifest order) as version `version`
 * of `index` under `siteDir/data`, and makes it the live version. Returns the manifest.
 */
export async function publishStatic(siteDir, { index, version, parent, created, segments }) {
  if (!/^[a-z0-9_-]{1,64}$/.test(index)) {
    throw new Error(`index name ${JSON.stringify(index)} is not 1-64 characters of [a-z0-9_-]`);
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new Error(`version ${version} is not a positive integer`);
  }
  const data = join(siteDir, "data");
  const entries = [];
  for (const { kind, bytes, entries: count } of segments) {
    const { entry, chunks } = segmentEntry(bytes, kind, count);
    for (const [key, chunk] of chunks) {
      // Content-addressed: an existing chunk already holds exactly these bytes.
      if (!existsSync(join(data, key))) await writeAtomically(join(data, key), chunk);
    }
    entries.push(entry);
  }
  const manifest = {
    manifest_version: MANIFEST_VERSION,
    index,
    version,
    created: created ?? new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    ...(parent === undefined ? {} : { parent }),
    segments: entries,
  };
  const text = `${JSON.stringify(manifest)}\n`;
  await writeAtomically(join(data, `${index}.manifest.${version}.json`), text);
  await writeAtomically(join(data, `${index}.manifest.json`), text);
  return manifest;
}

/** The command line: `SITE_DIR INDEX VERSION [--parent N] KIND=FILE...`. */
async function main(args) {
  const [siteDir, index, version, ...rest] = args;
  let parent;
  const segments = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--parent") {
      parent = Number(rest[++i]);
      continue;
    }
    const [kind, file] = rest[i].split(/=(.*)/s);
    if (!file) throw new Error(`${JSON.stringify(rest[i])} is not KIND=FILE (base=cities.seg)`);
    segments.push({ kind, bytes: new Uint8Array(await readFile(file)) });
  }
  if (!siteDir || !index || !version || segments.length === 0) {
    throw new Error("usage: publish-static.mjs SITE_DIR INDEX VERSION [--parent N] KIND=FILE...");
  }
  const manifest = await publishStatic(siteDir, { index, version: Number(version), parent, segments });
  console.log(JSON.stringify(manifest));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`publish-static: ${e.message}`);
    process.exit(1);
  });
}
