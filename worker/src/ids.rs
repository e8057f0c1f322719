//! Random ids from the runtime's `crypto.randomUUID()`: answers, event requests and new users'
//! keys must not collide across isolates, which a per-isolate counter or `Math.random` cannot
//! promise.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `crypto.randomUUID()`: 122 random bits from a cryptographic source.
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    fn random_uuid() -> String;
}

/// 32 lowercase hex digits (a random UUID without its dashes). JavaScript's crypto: call it
/// only from code that runs in a worker.
pub fn random_id() -> String {
    random_uuid().replace('-', "")
}
