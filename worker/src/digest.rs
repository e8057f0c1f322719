//! SHA-256 of segment bytes, and the HMAC-SHA256 of their attestation, with the runtime's Web
//! Crypto (`crypto.subtle`): native code, so checking a fetched segment against the hash the
//! manifest names costs far less CPU than hashing in WebAssembly, and adds nothing to the
//! module. One call does both, hex included: each call and await across into JavaScript
//! costs the worker bundle more than these few lines of JavaScript do.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use worker::wasm_bindgen_futures::JsFuture;

// `h`: the SHA-256 in lowercase hex. With a key `k` and an attestation `m`: whether `m` is
// the HMAC-SHA256 of `p + h` under `k` (`crypto.subtle.verify` compares in constant time);
// a malformed `m` decodes to other bytes (NaN is 0) or another length, and fails.
#[wasm_bindgen(inline_js = "export async function check(d,k,m,p){\
const s=crypto.subtle,e=new TextEncoder,a={name:'HMAC',hash:'SHA-256'},\
h=[...new Uint8Array(await s.digest('SHA-256',d))].map(b=>b.toString(16).padStart(2,'0')).join('');\
return[h,!!(k&&m)&&await s.verify(a,await s.importKey('raw',e.encode(k),a,!1,['verify']),\
Uint8Array.from(m.match(/../g)||[],x=>parseInt(x,16)),e.encode(p+h))]}")]
extern "C" {
    /// Resolves to `[sha256 hex, attested]` (see above); `k` or `m` empty: not attested.
    #[wasm_bindgen(catch)]
    fn check(data: &Uint8Array, k: &str, m: &str, p: &str) -> Result<Promise, JsValue>;
}

/// What Web Crypto found of a segment's bytes.
pub struct Checked {
    /// Their SHA-256, lowercase hex.
    pub sha256: String,
    /// Whether `attestation` is the HMAC-SHA256 under `key` of `prefix` followed by that hash.
    pub attested: bool,
}

/// The SHA-256 of `bytes`, and whether `attestation` (lowercase hex) is the HMAC-SHA256 under
/// `key` of `prefix` + that hash (false when either is empty). JavaScript's crypto: call it
/// only from code that runs in a worker.
pub async fn check_bytes(
    bytes: &[u8],
    (key, attestation, prefix): (&str, &str, &str),
) -> Result<Checked, String> {
    let failed = |e: JsValue| format!("SHA-256 or HMAC with crypto.subtle failed: {e:?}");
    // SAFETY: the view of the module's memory is used by this one call only, and `digest`
    // takes a copy of its data before it returns (Web Crypto: "get a copy of the bytes held
    // by the data parameter"), so the memory cannot grow or change under it; no copy of a
    // whole segment is made for it.
    let view = unsafe { Uint8Array::view(bytes) };
    let promise = check(&view, key, attestation, prefix).map_err(failed)?;
    let found = Array::from(&JsFuture::from(promise).await.map_err(failed)?);
    Ok(Checked {
        sha256: found.get(0).as_string().unwrap_or_default(),
        attested: found.get(1).as_bool() == Some(true),
    })
}
