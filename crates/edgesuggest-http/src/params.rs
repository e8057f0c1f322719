//! Strict parsing of `/v1/suggest` parameters: every malformed input is a 400 with a reason,
//! never a guess.

use edgesuggest::{Fuzziness, SuggestOptions, DEFAULT_K};

/// Longest query accepted, in bytes after percent-decoding: the engine's limit on the
/// normalized query, which the engine then applies after normalization (a `q` within this
/// can still expand past it and get the same `q_too_long`).
pub const MAX_QUERY_BYTES: usize = edgesuggest::MAX_QUERY_BYTES;
/// Largest `k`.
pub const MAX_K: usize = 50;
/// Largest `prefix_length` (characters that must match exactly before a typo counts).
pub const MAX_PREFIX_LENGTH: usize = 16;
/// Most categories one request may filter by. Not the engine's `MAX_CATEGORIES`, which bounds
/// the categories one segment may define.
pub const MAX_CATEGORIES_PER_REQUEST: usize = 32;

/// A parameter error: `code` for programs, `message` for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    /// Which check failed, e.g. `bad_k` (the `code` of the 400 body).
    pub code: &'static str,
    /// What was wrong and what is accepted.
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
    /// `q`, decoded, as the client typed it (the engine normalizes it).
    pub query: String,
    /// `index`, when given.
    pub index: Option<String>,
    /// k, fuzzy, prefix_length, cat, exact_first (the budget stays the engine's default).
    pub options: SuggestOptions,
    /// `uid`: the app's key for this user (experiment assignment), when given.
    pub uid: Option<String>,
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

/// The decoded values of the parameters `/v1/suggest` knows, each given at most once.
#[derive(Debug, Clone, Default)]
struct RawParams {
    q: Option<String>,
    k: Option<String>,
    index: Option<String>,
    fuzzy: Option<String>,
    prefix_length: Option<String>,
    cat: Option<String>,
    exact_first: Option<String>,
    uid: Option<String>,
}

impl RawParams {
    /// Splits and decodes the raw query string. Unknown parameters are ignored, like cache
    /// busters; a known one given twice is an error rather than a guess at which one counts.
    fn collect(raw_query: &str) -> Result<RawParams, BadRequest> {
        let mut raw = RawParams::default();
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode_component(name).map_err(|e| bad("bad_encoding", e))?;
            let Some(slot) = raw.slot(&name) else {
                continue;
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
        Ok(raw)
    }

    /// Where the parameter called `name` goes, if it is one of ours.
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "q" => &mut self.q,
            "k" => &mut self.k,
            "index" => &mut self.index,
            "fuzzy" => &mut self.fuzzy,
            "prefix_length" => &mut self.prefix_length,
            "cat" => &mut self.cat,
            "exact_first" => &mut self.exact_first,
            "uid" => &mut self.uid,
            _ => return None,
        })
    }
}

/// Parses the raw query string (without `?`) of `/v1/suggest`. Errors are reported in a fixed
/// order: encoding and duplicates, then q, k, fuzzy, prefix_length, exact_first, cat.
pub fn parse_suggest(raw_query: &str) -> Result<SuggestParams, BadRequest> {
    let raw = RawParams::collect(raw_query)?;
    let query = parse_query(raw.q.clone())?;
    let mut options = SuggestOptions::with_k(parse_k(raw.k.as_deref())?);
    parse_options(&raw, &mut options)?;
    Ok(SuggestParams {
        query,
        index: raw.index,
        options,
        uid: raw.uid.map(parse_uid).transpose()?,
    })
}

/// fuzzy, prefix_length, exact_first and cat, in that order, into `options` when given.
fn parse_options(raw: &RawParams, options: &mut SuggestOptions) -> Result<(), BadRequest> {
    if let Some(raw) = &raw.fuzzy {
        // `to_string`: the engine's parse error is a message today and an error type that
        // displays the same message tomorrow; this reads both.
        options.fuzzy = Fuzziness::parse(raw).map_err(|e| bad("bad_fuzzy", e.to_string()))?;
    }
    if let Some(raw) = &raw.prefix_length {
        options.prefix_length = parse_prefix_length(raw)?;
    }
    if let Some(raw) = &raw.exact_first {
        options.exact_first = parse_exact_first(raw)?;
    }
    if let Some(raw) = &raw.cat {
        options.categories = parse_categories(raw)?;
    }
    Ok(())
}

/// `uid`: 1–128 bytes of visible ASCII other than `;`, `,`, `"` and `\`.
fn parse_uid(uid: String) -> Result<String, BadRequest> {
    let ok = |b: u8| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\');
    if uid.is_empty() || uid.len() > 128 || !uid.bytes().all(ok) {
        return Err(bad(
            "bad_uid",
            format!(
                "`uid` must be 1–128 characters of visible ASCII other than ; , \" \\, got {}",
                shown(&uid)
            ),
        ));
    }
    Ok(uid)
}

/// An experiment arm's options, checked by the same rules as a request's, applied over a
/// request's own (an arm decides what its users get).
#[derive(Debug, Clone, Default)]
pub struct ArmOptions {
    k: Option<usize>,
    rest: SuggestOptions,
    raw: RawParams,
}

impl ArmOptions {
    /// Overrides what the arm sets in `options`.
    pub fn apply(&self, options: &mut SuggestOptions) {
        if let Some(k) = self.k {
            options.k = k;
        }
        let (raw, rest) = (&self.raw, &self.rest);
        if raw.fuzzy.is_some() {
            options.fuzzy = rest.fuzzy;
        }
        if raw.prefix_length.is_some() {
            options.prefix_length = rest.prefix_length;
        }
        if raw.exact_first.is_some() {
            options.exact_first = rest.exact_first;
        }
        if raw.cat.is_some() {
            options.categories = rest.categories.clone();
        }
    }
}

/// Parses an arm's `options` (`k`, `fuzzy`, `prefix_length`, `exact_first`, `cat`).
pub fn arm_options(arm: &edgesuggest_events::Arm) -> Result<ArmOptions, BadRequest> {
    let pairs = arm.option_pairs().map_err(|e| bad("bad_arm", e))?;
    let mut raw = RawParams::default();
    for (name, value) in pairs {
        if let Some(slot) = raw.slot(&name).filter(|_| name != "q" && name != "index") {
            *slot = Some(value);
        }
    }
    let k = raw.k.as_deref().map(|k| parse_k(Some(k))).transpose()?;
    let mut rest = SuggestOptions::default();
    parse_options(&raw, &mut rest)?;
    Ok(ArmOptions { k, rest, raw })
}

/// `q`: required, at most [`MAX_QUERY_BYTES`].
fn parse_query(q: Option<String>) -> Result<String, BadRequest> {
    let query =
        q.ok_or_else(|| bad("missing_q", "parameter `q` is required: /v1/suggest?q=new"))?;
    if query.len() > MAX_QUERY_BYTES {
        return Err(bad(
            "q_too_long",
            format!(
                "`q` is {} bytes; at most {MAX_QUERY_BYTES} are accepted",
                query.len()
            ),
        ));
    }
    Ok(query)
}

/// The engine refuses queries and options beyond its limits: a 400, as for a bad parameter
/// (a query of 255 bytes can normalize to thousands). `None` for every other engine error,
/// which on a loaded segment means corruption or a bug: an internal error.
pub fn engine_refusal(e: &edgesuggest::Error) -> Option<BadRequest> {
    let code = match e {
        edgesuggest::Error::QueryTooLong { .. } => "q_too_long",
        edgesuggest::Error::BadOption { option: "k", .. } => "bad_k",
        edgesuggest::Error::BadOption { .. } => "bad_option",
        _ => return None,
    };
    Some(bad(code, e.to_string()))
}

/// At most 20 characters of a bad value, quoted, for an error message.
fn shown(raw: &str) -> String {
    let head: String = raw.chars().take(20).collect();
    format!("{head:?}")
}

/// `k`: 1 to [`MAX_K`], the engine's [`DEFAULT_K`] when absent.
fn parse_k(k: Option<&str>) -> Result<usize, BadRequest> {
    let Some(raw) = k else {
        return Ok(DEFAULT_K);
    };
    match raw.parse::<usize>() {
        Ok(k) if (1..=MAX_K).contains(&k) => Ok(k),
        _ => Err(bad(
            "bad_k",
            format!(
                "`k` must be an integer from 1 to {MAX_K}, got {}",
                shown(raw)
            ),
        )),
    }
}

/// `prefix_length`: 0 to [`MAX_PREFIX_LENGTH`].
fn parse_prefix_length(raw: &str) -> Result<usize, BadRequest> {
    match raw.parse::<usize>() {
        Ok(n) if n <= MAX_PREFIX_LENGTH => Ok(n),
        _ => Err(bad(
            "bad_prefix_length",
            format!(
                "`prefix_length` must be an integer from 0 to {MAX_PREFIX_LENGTH}, got {}",
                shown(raw)
            ),
        )),
    }
}

/// `exact_first`: true or false, 1 or 0.
fn parse_exact_first(raw: &str) -> Result<bool, BadRequest> {
    match raw {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad(
            "bad_exact_first",
            "`exact_first` must be true or false (or 1 or 0)",
        )),
    }
}

/// `cat`: a comma-separated list of 1 to [`MAX_CATEGORIES_PER_REQUEST`] categories, sorted
/// and deduplicated so equal filters share a cache key.
fn parse_categories(raw: &str) -> Result<Vec<String>, BadRequest> {
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
    if list.len() > MAX_CATEGORIES_PER_REQUEST {
        return Err(bad(
            "bad_cat",
            format!(
                "`cat` lists {} categories; at most {MAX_CATEGORIES_PER_REQUEST}",
                list.len()
            ),
        ));
    }
    list.sort();
    list.dedup();
    Ok(list)
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
        let long = format!("q={}", "a".repeat(MAX_QUERY_BYTES + 1));
        assert_eq!(parse_suggest(&long).unwrap_err().code, "q_too_long");
        assert!(parse_suggest(&format!("q={}", "a".repeat(MAX_QUERY_BYTES))).is_ok());
    }

    #[test]
    fn uid_is_checked() {
        assert_eq!(
            parse_suggest("q=a&uid=app-42").unwrap().uid.as_deref(),
            Some("app-42")
        );
        assert_eq!(parse_suggest("q=a").unwrap().uid, None);
        for bad in ["", "a%3Bb", "a%20b", "%C3%A9"] {
            let err = parse_suggest(&format!("q=a&uid={bad}")).unwrap_err();
            assert_eq!(err.code, "bad_uid", "{bad}");
        }
        let long = format!("q=a&uid={}", "x".repeat(129));
        assert_eq!(parse_suggest(&long).unwrap_err().code, "bad_uid");
    }

    fn arm(options: &str) -> edgesuggest_events::Arm {
        let json = format!(
            r#"{{"experiment":"x","arms":[{{"name":"A","index":"i","weight":1,"options":{options}}}]}}"#
        );
        edgesuggest_events::Experiment::parse(&json).unwrap().arms[0].clone()
    }

    #[test]
    fn arm_options_override_only_what_they_set() {
        let mut p = parse_suggest("q=a&k=3&cat=us&exact_first=false").unwrap();
        let o = arm_options(&arm(r#"{"fuzzy":"auto","k":7,"prefix_length":0}"#)).unwrap();
        o.apply(&mut p.options);
        assert_eq!(p.options.k, 7);
        assert_eq!(p.options.fuzzy, edgesuggest::Fuzziness::Auto);
        assert_eq!(p.options.prefix_length, 0);
        assert_eq!(p.options.categories, ["us"]);
        assert!(!p.options.exact_first);
        let o = arm_options(&arm(r#"{"exact_first":true,"cat":"a,b"}"#)).unwrap();
        o.apply(&mut p.options);
        assert!(p.options.exact_first);
        assert_eq!(p.options.categories, ["a", "b"]);
        // Values pass the request parser's checks.
        for bad in [
            r#"{"k":0}"#,
            r#"{"fuzzy":"9"}"#,
            r#"{"exact_first":"maybe"}"#,
        ] {
            assert!(arm_options(&arm(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_categories_per_request() {
        let cats = |n: usize| {
            (0..n)
                .map(|i| format!("c{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let at_limit = parse_suggest(&format!("q=a&cat={}", cats(MAX_CATEGORIES_PER_REQUEST)));
        assert_eq!(
            at_limit.unwrap().options.categories.len(),
            MAX_CATEGORIES_PER_REQUEST
        );
        let over = parse_suggest(&format!("q=a&cat={}", cats(MAX_CATEGORIES_PER_REQUEST + 1)));
        assert_eq!(
            over.unwrap_err().message,
            "`cat` lists 33 categories; at most 32"
        );
        let dup = parse_suggest("q=a&cat=b,a,b").unwrap();
        assert_eq!(dup.options.categories, ["a", "b"]);
    }

    #[test]
    fn reports_errors_in_a_fixed_order_with_their_messages() {
        // Encoding and duplicates come first, then q, k, fuzzy, prefix_length, exact_first.
        assert_eq!(
            parse_suggest("k=0&q=a&q=b").unwrap_err().code,
            "duplicate_parameter"
        );
        assert_eq!(parse_suggest("k=0").unwrap_err().code, "missing_q");
        assert_eq!(parse_suggest("q=a&k=0&fuzzy=9").unwrap_err().code, "bad_k");
        let e = parse_suggest("q=a&fuzzy=9&prefix_length=x").unwrap_err();
        assert_eq!(e.code, "bad_fuzzy");
        assert!(e.message.contains("auto, 0, 1 or 2"), "{}", e.message);
        assert_eq!(
            parse_suggest("q=a&prefix_length=17").unwrap_err().message,
            "`prefix_length` must be an integer from 0 to 16, got \"17\""
        );
        assert_eq!(
            parse_suggest("q=a&k=aaaaaaaaaaaaaaaaaaaaaaaaa")
                .unwrap_err()
                .message,
            "`k` must be an integer from 1 to 50, got \"aaaaaaaaaaaaaaaaaaaa\""
        );
        let p = parse_suggest("q=a&cache_buster=1&index=towns").unwrap();
        assert_eq!(p.index.as_deref(), Some("towns"));
        assert_eq!(p.options, SuggestOptions::with_k(DEFAULT_K));
    }
}
