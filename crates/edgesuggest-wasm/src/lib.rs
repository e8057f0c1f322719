//! WebAssembly bindings for edgesuggest, for the browser and node (`wasm-bindgen`).
//!
//! Type conversions only: every decision is made by the engine, which is tested natively.
//! One call crosses the boundary per query: results are serialized to one JSON string here
//! and turned into objects by the JavaScript engine's native `JSON.parse`, which is much
//! cheaper than setting each field through the boundary.

mod json;

use edgesuggest::{Searcher, Segment};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** One suggestion. */
export interface Suggestion {
  /** Display text (the most popular surface form). */
  text: string;
  /** Score (merged over all surface forms). Exact up to 2^53. */
  score: number;
  /** The span of `text` that the query matched, in UTF-16 code units: `[start, end)`. */
  highlight: [number, number];
  /** The phrase's JSON payload, when it has one. */
  payload?: Record<string, unknown>;
}

/** Options for `Suggester.suggest`. */
export interface SuggestOptions {
  /** How many suggestions, 1 to 1000 (default 10). */
  k?: number;
}

/** What a loaded suggester holds. */
export interface SuggesterInfo {
  segments: Array<{
    formatVersion: number;
    normalizer: { id: number; version: number };
    suggestions: number;
    sourceRows: number;
    bytes: number;
    sections: Record<string, number>;
  }>;
  suggestions: number;
  bytes: number;
}
"#;

/// Largest `k` accepted: a typeahead never shows more, and it bounds the work per call.
const MAX_K: u32 = 1000;

/// A loaded segment and reusable search buffers.
#[wasm_bindgen]
pub struct Suggester {
    segment: Segment<Vec<u8>>,
    searcher: Searcher,
    out: String,
}

#[wasm_bindgen]
impl Suggester {
    /// Loads segment bytes (as written by `edgesuggest build`), verifying the checksum.
    /// Throws an `Error` with the engine's message on corrupt or incompatible bytes.
    pub fn load(bytes: &[u8]) -> Result<Suggester, JsError> {
        let segment = Segment::load(bytes.to_vec()).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Suggester {
            segment,
            searcher: Searcher::new(),
            out: String::with_capacity(1024),
        })
    }

    /// The best suggestions for `query`, by score descending.
    #[wasm_bindgen(unchecked_return_type = "Suggestion[]")]
    pub fn suggest(
        &mut self,
        query: &str,
        #[wasm_bindgen(unchecked_param_type = "SuggestOptions")] options: Option<js_sys::Object>,
    ) -> Result<JsValue, JsError> {
        let k = read_k(options.as_ref())?;
        let json = self.suggest_json(query, k)?;
        js_sys::JSON::parse(json).map_err(|_| JsError::new("internal error: invalid result JSON"))
    }

    /// Like `suggest`, but returns the JSON text (for callers that forward it, like a worker).
    #[wasm_bindgen(js_name = suggestJson)]
    pub fn suggest_json_js(&mut self, query: &str, k: Option<u32>) -> Result<String, JsError> {
        let k = check_k(k.unwrap_or(10))?;
        self.suggest_json(query, k).map(str::to_owned)
    }

    /// Format version, counts and sizes.
    #[wasm_bindgen(unchecked_return_type = "SuggesterInfo")]
    pub fn info(&self) -> Result<JsValue, JsError> {
        let json = json::info(&self.segment.info());
        js_sys::JSON::parse(&json).map_err(|_| JsError::new("internal error: invalid info JSON"))
    }
}

impl Suggester {
    fn suggest_json(&mut self, query: &str, k: u32) -> Result<&str, JsError> {
        let hits = self
            .searcher
            .suggest(&self.segment, query, k as usize)
            .map_err(|e| JsError::new(&e.to_string()))?;
        json::suggestions(&mut self.out, &hits);
        Ok(&self.out)
    }
}

fn read_k(options: Option<&js_sys::Object>) -> Result<u32, JsError> {
    let Some(options) = options else {
        return Ok(10);
    };
    let k = js_sys::Reflect::get(options, &JsValue::from_str("k"))
        .map_err(|_| JsError::new("options.k could not be read"))?;
    if k.is_undefined() {
        return Ok(10);
    }
    match k.as_f64() {
        Some(v) if v.fract() == 0.0 && (1.0..=f64::from(MAX_K)).contains(&v) => Ok(v as u32),
        _ => Err(JsError::new(&format!(
            "options.k must be an integer from 1 to {MAX_K}"
        ))),
    }
}

fn check_k(k: u32) -> Result<u32, JsError> {
    if (1..=MAX_K).contains(&k) {
        Ok(k)
    } else {
        Err(JsError::new(&format!(
            "k must be an integer from 1 to {MAX_K}, got {k}"
        )))
    }
}
