// Entry module: instantiates the wasm module (imported as a compiled WebAssembly.Module, never
// compiled at run time) with its wasm-bindgen glue, and exports the fetch handler.
import * as glue from "./index_bg.js";
import wasmModule from "./index_bg.wasm";

const instance = new WebAssembly.Instance(wasmModule, { "./index_bg.js": glue });
glue.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

export default {
  fetch(request, env, ctx) {
    return glue.fetch(request, env, ctx);
  },
};
