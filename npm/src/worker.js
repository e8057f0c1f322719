// The entry for Cloudflare Workers (the `workerd` condition): workerd imports a .wasm file as
// a compiled WebAssembly.Module (code generation at run time is not allowed there), which the
// `web` glue instantiates synchronously when this module is evaluated.
import { initSync, Suggester } from "./web/edgesuggest_wasm.js";
import wasmModule from "./web/edgesuggest_wasm_bg.wasm";
import { addLoaders } from "./loader.js";

initSync({ module: wasmModule });

/**
 * Nothing to do in a Worker (the wasm is ready once this module is imported); here so that
 * code shared with the browser entry can call it.
 * @returns {Promise<void>}
 */
export function initWasm() {
  return Promise.resolve();
}

addLoaders(Suggester, initWasm);

export { Suggester };
