// Types of every entry of "edgesuggest" (browser, bundler, Worker and Node share one API).
import type { Suggestion, Suggestions, SuggestOptions, SuggesterInfo } from "./web/edgesuggest_wasm.js";

export type { Suggestion, Suggestions, SuggestOptions, SuggesterInfo };

/** Where the engine's wasm comes from (browsers only: Node and Workers load it themselves). */
export type WasmSource = string | URL | Request | Response | BufferSource | WebAssembly.Module;

/** A segment's bytes, as written by `edgesuggest build`. */
export type SegmentBytes = Uint8Array | ArrayBuffer | ArrayBufferView;

export interface LoadOptions {
  /** Browsers: the engine's wasm (default: `edgesuggest_wasm_bg.wasm` next to the package's
   * glue). With esbuild, `import wasm from "edgesuggest/wasm"` and `--loader:.wasm=file`. */
  wasm?: WasmSource;
  /** The fetch function to use (default: the global `fetch`). */
  fetch?: typeof fetch;
  /** Passed to fetch: headers, credentials, cache mode, an abort signal. */
  init?: RequestInit;
}

/** A loaded index version: a base segment, or a base with deltas and a blocklist. */
export declare class Suggester {
  private constructor();
  /** Fetches a segment (or a stack `[base, ...deltas, blocklist?]`) and loads it. Rejects
   * with an Error naming the URL and the HTTP status when the server does not answer 2xx, and
   * with the engine's message on corrupt bytes. Node also reads `file:` URLs. */
  static fromUrl(url: string | URL | Array<string | URL>, options?: LoadOptions): Promise<Suggester>;
  /** Loads a segment (or a stack `[base, ...deltas, blocklist?]`) from bytes. */
  static fromBytes(bytes: SegmentBytes | SegmentBytes[], options?: LoadOptions): Promise<Suggester>;
  /** Synchronous load of one base segment; the wasm must be ready (browsers: `initWasm()`). */
  static load(bytes: Uint8Array): Suggester;
  /** Synchronous load of a stack; the wasm must be ready (browsers: `initWasm()`). */
  static fromSegments(segments: Uint8Array[]): Suggester;
  /** The best suggestions for `query`, best first. Throws on invalid options. */
  suggest(query: string, options?: SuggestOptions): Suggestions;
  /** The loaded segments' kinds, counts and sizes. */
  info(): SuggesterInfo;
  /** Frees the engine's memory for this suggester now (it is otherwise freed when collected). */
  free(): void;
}

/** Initializes the engine's wasm once (the loaders do it for you). Browsers: choose where the
 * wasm comes from, or start its download early. Node and Workers: resolves at once. */
export declare function initWasm(wasm?: WasmSource): Promise<void>;
