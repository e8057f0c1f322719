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

/// Most categories one request may filter by.
pub const MAX_CATEGORIES: usize = 32;

/// The parsed parameters of one suggest request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestParams {
    pub query: String,
    pub index: Option<String>,
    /// k, fuzzy, prefix_length, cat, exact_first (the budget stays the engine's default).
    pub options: edgesuggest::SuggestOptions,
}

impl SuggestParams {
    /// Everything but the raw query and the index that changes the answer, as a stable
    /// string (for cache keys).
    pub fn options_key(&self) -> String {
        let o = &self.options;
        format!(
            "k={}&fuzzy={}&prefix_length={}&exact_first={}&cat={}",
            o.k,
            o.fuzzy,
            o.prefix_length,
            o.exact_first,
            o.categories.join(",")
        )
    }
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
    let mut fuzzy = None;
    let mut prefix_length = None;
    let mut categories = None;
    let mut exact_first = None;
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_component(name).map_err(|e| bad("bad_encoding", e))?;
        let slot = match name.as_str() {
            "q" => &mut query,
            "k" => &mut k,
            "index" => &mut index,
            "fuzzy" => &mut fuzzy,
            "prefix_length" => &mut prefix_length,
            "cat" => &mut categories,
            "exact_first" => &mut exact_first,
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
    let mut options = edgesuggest::SuggestOptions::with_k(k);
    if let Some(raw) = fuzzy {
        options.fuzzy =
            edgesuggest::Fuzziness::parse(&raw).map_err(|e| bad("bad_fuzzy", e.to_string()))?;
    }
    if let Some(raw) = prefix_length {
        options.prefix_length = match raw.parse::<usize>() {
            Ok(n) if n <= 16 => n,
            _ => {
                let shown: String = raw.chars().take(20).collect();
                return Err(bad(
                    "bad_prefix_length",
                    format!("`prefix_length` must be an integer from 0 to 16, got {shown:?}"),
                ));
            }
        };
    }
    if let Some(raw) = exact_first {
        options.exact_first = match raw.as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(bad(
                    "bad_exact_first",
                    "`exact_first` must be true or false (or 1 or 0)",
                ))
            }
        };
    }
    if let Some(raw) = categories {
        let mut list: Vec<String> = raw
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        if list.is_empty() {
            return Err(bad(
                "bad_cat",
                "`cat` lists no category: /v1/suggest?q=par&cat=city,capital",
            ));
        }
        if list.len() > MAX_CATEGORIES {
            return Err(bad(
                "bad_cat",
                format!(
                    "`cat` lists {} categories; at most {MAX_CATEGORIES}",
                    list.len()
                ),
            ));
        }
        list.sort();
        list.dedup();
        options.categories = list;
    }
    Ok(SuggestParams {
        query,
        index,
        options,
    })
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
            (p.query.as_str(), p.options.k, p.index.as_deref()),
            ("new y", 5, Some("cities"))
        );
        assert_eq!(parse_suggest("q=").unwrap().options.k, DEFAULT_K);
        let p = parse_suggest("q=a&fuzzy=auto&prefix_length=2&cat=city,%20capital&exact_first=0")
            .unwrap();
        assert_eq!(p.options.fuzzy, edgesuggest::Fuzziness::Auto);
        assert_eq!(p.options.prefix_length, 2);
        assert_eq!(p.options.categories, ["capital", "city"]);
        assert!(!p.options.exact_first);
        assert_eq!(parse_suggest("q=a&fuzzy=3").unwrap_err().code, "bad_fuzzy");
        assert_eq!(
            parse_suggest("q=a&prefix_length=x").unwrap_err().code,
            "bad_prefix_length"
        );
        assert_eq!(
            parse_suggest("q=a&exact_first=maybe").unwrap_err().code,
            "bad_exact_first"
        );
        assert_eq!(parse_suggest("q=a&cat=,").unwrap_err().code, "bad_cat");
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
