//! SHA-256 of segment bytes with the runtime's Web Crypto (`crypto.subtle.digest`): native
//! code, so checking a fetched segment against the hash the manifest names costs far less CPU
//! than hashing in WebAssembly, and adds nothing to the module.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// `crypto.subtle.digest(algorithm, data)`.
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = digest, catch)]
    fn subtle_digest(algorithm: &str, data: &Uint8Array) -> Result<Promise, JsValue>;
}

/// The SHA-256 of `bytes`, lowercase hex. JavaScript's crypto: call it only from code that
/// runs in a worker.
pub async fn sha256_hex(bytes: &[u8]) -> Result<String, String> {
    let failed = |e: JsValue| format!("SHA-256 with crypto.subtle failed: {e:?}");
    // SAFETY: the view of the module's memory is used by this one call only, and `digest`
    // takes a copy of its data before it returns (Web Crypto: "get a copy of the bytes held
    // by the data parameter"), so the memory cannot grow or change under it; no copy of a
    // whole segment is made for it.
    let view = unsafe { Uint8Array::view(bytes) };
    let promise = subtle_digest("SHA-256", &view).map_err(failed)?;
    let digest = JsFuture::from(promise).await.map_err(failed)?;
    Ok(hex(&Uint8Array::new(&digest).to_vec()))
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    }
}
