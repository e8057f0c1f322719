// Entry module: instantiates the wasm module (imported as a compiled WebAssembly.Module, never
// compiled at run time) with its wasm-bindgen glue, and exports the fetch handler and the
// events queue's consumer.
import * as glue from "./index_bg.js";
import wasmModule from "./index_bg.wasm";

const instance = new WebAssembly.Instance(wasmModule, { "./index_bg.js": glue });
glue.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

// The consumer is plain I/O (group, gzip, put): it lives here rather than in the wasm so that
// gzip is the runtime's native CompressionStream instead of a deflate implementation shipped
// in the module.

/** `events/YYYY/MM/DD/HH/mm/` of a time in ms (UTC). */
function minuteFolder(ms) {
  const iso = new Date(ms).toISOString(); // 2026-12-02T05:26:00.000Z
  return `events/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}/${iso.slice(14, 16)}/`;
}

/** Hex SHA-256 of the sorted message ids: the same messages always make the same file name. */
async function fileId(messages) {
  const ids = messages.map((m) => m.id).sort().join("\n");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(ids));
  return [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function gzip(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

let faultsLeft = null;

/** A test hook (`EVENTS_CONSUMER_FAULTS`, off unless set): throw after writing the first N
 * batches and before acknowledging them, the worst moment to fail. */
function injectFault(env) {
  faultsLeft ??= Number(env.EVENTS_CONSUMER_FAULTS ?? 0) || 0;
  if (faultsLeft > 0) {
    faultsLeft--;
    throw new Error("injected consumer fault (EVENTS_CONSUMER_FAULTS)");
  }
}

/** Writes a batch of queued events (each message: one accepted request's NDJSON) to R2, one
 * gzipped NDJSON file per minute of the messages' send times, named by the hash of its message
 * ids so that a redelivered batch overwrites its own file; acknowledges each message once its
 * file is written. A failure before that leaves the messages to the queue's retries. */
async function consume(batch, env) {
  const bucket = env[env.EVENTS_BUCKET_BINDING ?? "EVENTS_BUCKET"];
  if (!bucket) throw new Error("no R2 binding EVENTS_BUCKET: add [[r2_buckets]] to wrangler.toml");
  const byMinute = new Map();
  for (const message of batch.messages) {
    const folder = minuteFolder(message.timestamp.getTime());
    if (!byMinute.has(folder)) byMinute.set(folder, []);
    byMinute.get(folder).push(message);
  }
  for (const [folder, messages] of byMinute) {
    const text = messages.map((m) => String(m.body)).join("");
    const key = `${folder}${await fileId(messages)}.ndjson.gz`;
    await bucket.put(key, await gzip(text), {
      httpMetadata: { contentType: "application/gzip" },
      customMetadata: { messages: String(messages.length) },
    });
    injectFault(env);
    for (const m of messages) m.ack();
  }
}

export default {
  fetch(request, env, ctx) {
    return glue.fetch(request, env, ctx);
  },
  queue(batch, env) {
    return consume(batch, env);
  },
};
