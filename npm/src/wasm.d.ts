// `import wasm from "edgesuggest/wasm"`: the engine's .wasm file as a bundler gives it (with
// esbuild's file loader, or a bundler's asset modules): its URL, for `initWasm` or the loaders'
// `wasm` option.
declare const url: string;
export default url;
