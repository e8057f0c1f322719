//! Strict parsing of `/v1/suggest` parameters: every malformed input is a 400 with a reason,
//! never a guess.

/// Longest query accepted, in bytes (after percent-decoding).
pub const MAX_QUERY_BYTES: usize = 256;
/// Largest `k`.
pub const MAX_K: usize = 50;
/// `k` when absent.
pub const DEFAULT_K: usize = 10;

/// A parameter error: `code` for programs, `message` for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    pub code: &'static str,
    pub message: String,
}

fn bad(code: &'static str, message: impl Into<String>) -> BadRequest {
    BadRequest {
        code,
        message: message.into(),
    }
}

/// The parsed parameters of one suggest request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestParams {
    pub query: String,
    pub k: usize,
    pub index: Option<String>,
}

/// Decodes one `application/x-www-form-urlencoded` component strictly: `+` is a space, every
/// `%` must start two hex digits, and the result must be UTF-8.
pub fn decode_component(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                let (Some(hi), Some(lo)) = (
                    bytes.get(i + 1).and_then(|&b| hex(b)),
                    bytes.get(i + 2).and_then(|&b| hex(b)),
                ) else {
                    return Err(format!("malformed percent-encoding at byte {i}"));
                };
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| {
        format!(
            "percent-decoded text is not UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Parses the raw query string (without `?`) of `/v1/suggest`.
pub fn parse_suggest(raw_query: &str) -> Result<SuggestParams, BadRequest> {
    let mut query = None;
    let mut k = None;
    let mut index = None;
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_component(name).map_err(|e| bad("bad_encoding", e))?;
        let slot = match name.as_str() {
            "q" => &mut query,
            "k" => &mut k,
            "index" => &mut index,
            _ => continue, // unknown parameters are ignored, like cache busters
        };
        if slot.is_some() {
            return Err(bad(
                "duplicate_parameter",
                format!("parameter `{name}` given twice"),
            ));
        }
        let value = decode_component(value)
            .map_err(|e| bad("bad_encoding", format!("parameter `{name}`: {e}")))?;
        *slot = Some(value);
    }
    let query =
        query.ok_or_else(|| bad("missing_q", "parameter `q` is required: /v1/suggest?q=new"))?;
    if query.len() > MAX_QUERY_BYTES {
        return Err(bad(
            "q_too_long",
            format!(
                "`q` is {} bytes; at most {MAX_QUERY_BYTES} are accepted",
                query.len()
            ),
        ));
    }
    let k = match k {
        None => DEFAULT_K,
        Some(raw) => match raw.parse::<usize>() {
            Ok(k) if (1..=MAX_K).contains(&k) => k,
            _ => {
                let shown: String = raw.chars().take(20).collect();
                return Err(bad(
                    "bad_k",
                    format!("`k` must be an integer from 1 to {MAX_K}, got {shown:?}"),
                ));
            }
        },
    };
    Ok(SuggestParams { query, k, index })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        assert_eq!(decode_component("new+york").unwrap(), "new york");
        assert_eq!(decode_component("S%C3%A3o").unwrap(), "São");
        assert!(decode_component("%E0%A4%A").is_err());
        assert!(decode_component("%zz").is_err());
        assert!(decode_component("%FF").unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn parses() {
        let p = parse_suggest("q=new+y&k=5&index=cities").unwrap();
        assert_eq!(
            (p.query.as_str(), p.k, p.index.as_deref()),
            ("new y", 5, Some("cities"))
        );
        assert_eq!(parse_suggest("q=").unwrap().k, DEFAULT_K);
        assert_eq!(parse_suggest("k=1").unwrap_err().code, "missing_q");
        assert_eq!(parse_suggest("q=a&k=0").unwrap_err().code, "bad_k");
        assert_eq!(parse_suggest("q=a&k=51").unwrap_err().code, "bad_k");
        assert_eq!(parse_suggest("q=a&k=x").unwrap_err().code, "bad_k");
        assert_eq!(
            parse_suggest("q=a&q=b").unwrap_err().code,
            "duplicate_parameter"
        );
        assert_eq!(parse_suggest("q=%").unwrap_err().code, "bad_encoding");
        let long = format!("q={}", "a".repeat(257));
        assert_eq!(parse_suggest(&long).unwrap_err().code, "q_too_long");
        assert!(parse_suggest(&format!("q={}", "a".repeat(256))).is_ok());
    }
}
