// The entry for browsers and bundlers: wasm-bindgen's `web` output, whose wasm is fetched and
// compiled by streaming once, before the first segment loads.
import init, { Suggester } from "./web/edgesuggest_wasm.js";
import { addLoaders } from "./loader.js";

let started = null;

/**
 * Initializes the engine's wasm once (the loaders call it; call it yourself to choose where
 * the wasm comes from, or to start its download early).
 * @param {string | URL | Response | BufferSource | WebAssembly.Module} [wasm]  by default
 *   `edgesuggest_wasm_bg.wasm` next to the glue (`new URL(…, import.meta.url)`): right when
 *   the package is served as is, or by a bundler that rewrites that pattern (webpack 5, Vite).
 *   esbuild does not: give it the URL of `edgesuggest/wasm` imported with `--loader:.wasm=file`.
 * @returns {Promise<void>}
 */
export function initWasm(wasm) {
  // A failed start (offline, a 404) may be retried by the next call.
  started ??= init(wasm === undefined ? undefined : { module_or_path: wasm }).then(
    () => undefined,
    (e) => {
      started = null;
      throw new Error(`edgesuggest: the engine's wasm could not be loaded: ${e?.message ?? e}`, { cause: e });
    },
  );
  return started;
}

addLoaders(Suggester, (options) => initWasm(options?.wasm));

export { Suggester };
