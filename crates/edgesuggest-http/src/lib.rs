//! The HTTP API of edgesuggest, shared by the Cloudflare Worker and the native server
//! (`edgesuggest serve`): one parameter parser and one set of bodies, so a request is accepted
//! or refused alike and answered with the same JSON wherever it lands.
//!
//! - [`params`]: strict parsing of `/v1/suggest`'s query string (every malformed input is a
//!   400 with a code and a reason, never a guess).
//! - [`body`]: the suggest answer `{"query", "index", "version", …, "suggestions", …}`, the
//!   error body `{"error": {"code", "message"}}`, and the headers both surfaces send.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod body;
pub mod params;
pub mod version;

pub use body::{error_body, SuggestBody};
pub use params::{parse_suggest, BadRequest, SuggestParams};
