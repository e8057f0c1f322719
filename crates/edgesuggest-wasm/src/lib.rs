//! WebAssembly bindings for edgesuggest, for the browser and node (`wasm-bindgen`).
//!
//! Type conversions only: every decision is made by the engine, which is tested natively. A
//! suggester searches one index version: a base segment, the deltas layered over it (oldest
//! first) and an optional blocklist (`Suggester.fromSegments`), or a base alone
//! (`Suggester.load`).
//! Results cross the boundary in one call per query: all strings concatenated into one JS
//! string and all numbers in one `Float64Array` view, turned into objects by a few lines of
//! JavaScript. Measured in node on npm.tsv: 11.7 µs per query (mean), against 17.3 µs when the
//! same results went through a JSON string and `JSON.parse`; setting each field through the
//! boundary costs a call per field.
//!
//! Names are snake_case, as in the HTTP API: a suggestion object here has exactly the fields
//! of the worker's and the CLI's JSON (`word_start`, `edits`, …), and options are spelled like
//! the HTTP parameters (`prefix_length`, `exact_first`), so a page can switch between the
//! in-page engine and the edge without converting anything.

mod json;

use edgesuggest::{Fuzziness, Searcher, Segment, Stack, SuggestOptions, MAX_DELTAS};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

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
  /** The phrase's categories, when it has any. */
  categories?: string[];
  /** Typos between the query and the matched prefix (0 for an exact prefix). */
  edits: number;
  /** True when the query matched at the start of a later word ("york" in "New York"). */
  word_start: boolean;
}

/** The answer to one query: suggestions best first, and whether the work budget cut it short. */
export type Suggestions = Suggestion[] & { truncated: boolean };

/** Options for `Suggester.suggest`, spelled like the HTTP API's parameters. Unknown names are
 * refused, so a misspelled option never goes unnoticed. */
export interface SuggestOptions {
  /** How many suggestions, an integer from 0 (none) to 1000 (default 10). */
  k?: number;
  /** Typos allowed: "auto" (0 under 3 characters, 1 for 3-5, 2 above), 0, 1 or 2 (default 0). */
  fuzzy?: "auto" | 0 | 1 | 2;
  /** Leading characters that must match exactly when fuzzy (default 1). */
  prefix_length?: number;
  /** Only suggestions in at least one of these categories. */
  categories?: string[];
  /** Put the phrase equal to the whole query first (default true). */
  exact_first?: boolean;
  /** Work budget in visited index nodes (default 100000). */
  max_visits?: number;
}

/** What a loaded suggester holds: its segments in stack order (base, deltas, blocklist). */
export interface SuggesterInfo {
  segments: Array<{
    kind: "base" | "delta" | "blocklist";
    format_version: number;
    normalizer: { id: number; version: number };
    word_starts: boolean;
    categories: string[];
    suggestions: number;
    source_rows: number;
    bytes: number;
    sections: Record<string, number>;
  }>;
  /** The base's suggestions (deltas add and delete some; each segment lists its own). */
  suggestions: number;
  /** All segments' bytes. */
  bytes: number;
}
"#;

#[wasm_bindgen(inline_js = r#"
const OPTION_FIELDS = ["k", "fuzzy", "prefix_length", "exact_first", "max_visits", "categories"];
function describe(v) {
  if (typeof v === "number") return String(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : "a " + typeof v;
}
// The options of the last `readOptions` that had no quick form, packed (see `readOptions` in Rust).
let packed = "";
export function readOptions(o, packAlways) {
  packed = "";
  if (o === undefined || o === null) return 0;
  if (typeof o !== "object" || Array.isArray(o)) {
    packed = "!" + describe(o);
    return -1;
  }
  for (const name of Object.keys(o)) {
    if (!OPTION_FIELDS.includes(name)) {
      packed = "?" + name;
      return -1;
    }
  }
  // Each field read once, in the order of OPTION_FIELDS: a getter runs once per call.
  const values = [o.k, o.fuzzy, o.prefix_length, o.exact_first, o.max_visits, o.categories];
  const quick = packAlways ? -1 : quickForm(values);
  if (quick < 0) packed = packValues(values);
  return quick;
}
export function takePacked() {
  return packed;
}
// 0 for undefined, v + 1 for an integer v in [0, limit), -1 for anything else.
function small(v, limit) {
  if (v === undefined) return 0;
  return Number.isInteger(v) && v >= 0 && v < limit ? v + 1 : -1;
}
// The common options as one number (see QUICK_FIELDS in Rust), or -1 for what needs packing.
function quickForm([k, fuzzy, prefixLength, exactFirst, maxVisits, categories]) {
  if (categories !== undefined) return -1;
  const kq = small(k, 2047), pq = small(prefixLength, 127), vq = small(maxVisits, 2097151);
  const fq = fuzzy === undefined ? 0 : fuzzy === "auto" ? 4 : fuzzy === 0 || fuzzy === 1 || fuzzy === 2 ? fuzzy + 1 : -1;
  const eq = exactFirst === undefined ? 0 : exactFirst === true ? 2 : exactFirst === false ? 1 : -1;
  if (kq < 0 || pq < 0 || vq < 0 || fq < 0 || eq < 0) return -1;
  return kq + fq * 2 ** 11 + pq * 2 ** 14 + eq * 2 ** 21 + vq * 2 ** 23;
}
function packValues(values) {
  let out = "";
  for (const v of values) {
    let field;
    if (v === undefined) field = "u";
    // Integers only (as text): anything else is refused by Rust without parsing floats.
    else if (typeof v === "number") field = Number.isSafeInteger(v) && v >= 0 ? "n" + String(v) : "x" + describe(v);
    else if (typeof v === "string") field = "s" + v;
    else if (typeof v === "boolean") field = v ? "b1" : "b0";
    else if (Array.isArray(v) && v.every((c) => typeof c === "string")) field = "a" + v.join("\u001e");
    else field = "x" + describe(v);
    out += (out ? "\u001f" : "") + field;
  }
  return out;
}
export function noResults(truncated) {
  const out = [];
  out.truncated = truncated;
  return out;
}
export function buildResults(strings, numbers, truncated) {
  const out = new Array(numbers.length / 8);
  let at = 0;
  for (let i = 0, j = 0; j < numbers.length; i++, j += 8) {
    const textLength = numbers[j + 3];
    // Fields in the order of the HTTP API's JSON, so both serialize identically.
    const result = {
      text: strings.slice(at, at + textLength),
      score: numbers[j],
      highlight: [numbers[j + 1], numbers[j + 2]],
    };
    at += textLength;
    const payloadLength = numbers[j + 4];
    if (payloadLength >= 0) {
      result.payload = JSON.parse(strings.slice(at, at + payloadLength));
      at += payloadLength;
    }
    const categoriesLength = numbers[j + 7];
    if (categoriesLength > 0) {
      result.categories = strings.slice(at, at + categoriesLength).split(",");
      at += categoriesLength;
    }
    result.edits = numbers[j + 5];
    result.word_start = numbers[j + 6] === 1;
    out[i] = result;
  }
  out.truncated = truncated;
  return out;
}
"#)]
extern "C" {
    /// Reads a `SuggestOptions` object in one call (reading each field through the boundary
    /// cost ~5 µs per query). The common options (non-negative integers that fit their
    /// fields, `fuzzy` 0, 1, 2 or "auto", booleans, no categories) come back as one number,
    /// laid out as [`QUICK_FIELDS`] says (Rust then checks the ranges); 0 for `undefined`.
    /// Anything else gives -1 and leaves the object packed into a string for `takePacked`:
    /// per field `u` (undefined), `n<number>`, `s<string>`, `b0`/`b1`, `a<strings joined by
    /// U+001E>` or `x<what it is>` (anything else, including
    /// numbers that are not non-negative safe integers: `xNaN`, `x-1`, `xnull`), joined by
    /// U+001F in the order of `OPTION_FIELDS`; an unknown option name packs as `?<name>`,
    /// anything but a plain object as `!<what it is>`. Rust validates either form the same
    /// way. The number saves the string's copy into the module and its parse: 0.4–0.5 µs of
    /// a call. `packAlways` (tests) packs every object, the oracle of the quick form.
    ///
    /// `catch`: a getter or proxy trap of the caller's object can throw. Uncaught, the
    /// exception would unwind through the Rust frames of `suggest` and leave its `&mut self`
    /// borrowed for good, so every later call would fail.
    #[wasm_bindgen(js_name = readOptions, catch)]
    fn read_options_js(options: &JsValue, pack_always: bool) -> Result<f64, JsValue>;

    /// The string `readOptions` packed when it returned -1.
    #[wasm_bindgen(js_name = takePacked)]
    fn take_packed() -> String;

    /// An empty `Suggestions` array: without strings or numbers to read, about 0.12 µs
    /// cheaper than `buildResults` with nothing in them (in node).
    #[wasm_bindgen(js_name = noResults)]
    fn no_results(truncated: bool) -> JsValue;

    /// Builds `Suggestion` objects from the packed form that `suggest` writes.
    #[wasm_bindgen(js_name = buildResults, catch)]
    fn build_results(strings: &str, numbers: &[f64], truncated: bool) -> Result<JsValue, JsValue>;
}

/// The most segments [`Suggester::from_segments`] takes: a base, the engine's limit of deltas
/// and a blocklist.
const MAX_SEGMENTS: usize = MAX_DELTAS + 2;

/// A loaded index version (a base, its deltas and an optional blocklist) and reusable search
/// buffers.
#[wasm_bindgen]
pub struct Suggester {
    stack: Stack<Vec<u8>>,
    searcher: Searcher,
    out: String,
    numbers: Vec<f64>,
}

#[wasm_bindgen]
impl Suggester {
    /// Loads one base segment (as written by `edgesuggest build`), verifying the checksum.
    /// Throws an `Error` with the engine's message on corrupt or incompatible bytes, or on a
    /// delta or blocklist segment (those need a base: use `fromSegments`).
    pub fn load(bytes: &[u8]) -> Result<Suggester, JsError> {
        let segment = Segment::load(bytes.to_vec()).map_err(|e| JsError::new(&e.to_string()))?;
        Suggester::over(Stack::new(segment, Vec::new(), None))
    }

    /// Loads an index version from its segments in manifest order: the base first, then the
    /// deltas oldest first, then at most one blocklist (`[base, ...deltas, blocklist?]`), each
    /// a `Uint8Array` verified by its checksum. Answers as if the deltas had been applied to
    /// the base, hiding what the blocklist lists. Throws an `Error` naming the segment on
    /// corrupt bytes, and the engine's message on a bad stack (no base, a segment of the wrong
    /// kind, deltas built with another word-start setting than the base, too many deltas).
    #[wasm_bindgen(js_name = fromSegments)]
    pub fn from_segments(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] segments: &JsValue,
    ) -> Result<Suggester, JsError> {
        let list = segment_list(segments)?;
        let count = list.len();
        let mut loaded = Vec::with_capacity(count);
        for (i, bytes) in list.into_iter().enumerate() {
            let segment = Segment::load(bytes)
                .map_err(|e| JsError::new(&format!("segment {} of {count}: {e}", i + 1)))?;
            loaded.push(segment);
        }
        Suggester::over(Stack::from_segments(loaded))
    }

    /// The best suggestions for `query`: the phrase equal to the query first (unless
    /// `exact_first: false`), then fewer typos, then full-phrase before word-start matches,
    /// then score. Throws an `Error` naming the option on invalid options, and on a query
    /// beyond the engine's limits (over 64 KiB, or over 1024 bytes once normalized). The query
    /// arrives through `TextEncoder`, so an unpaired surrogate in it is searched as U+FFFD.
    #[wasm_bindgen(unchecked_return_type = "Suggestions")]
    pub fn suggest(
        &mut self,
        query: &str,
        #[wasm_bindgen(unchecked_param_type = "SuggestOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, JsError> {
        let options = match options {
            // `undefined` and `null` arrive as `None` without a call into JavaScript.
            None => SuggestOptions::default(),
            Some(options) => options_of(&options, false)?,
        };
        let found = self
            .searcher
            .search(&self.stack, query, &options)
            .map_err(|e| JsError::new(&e.to_string()))?;
        if found.items.is_empty() {
            return Ok(no_results(found.truncated));
        }
        self.out.clear();
        self.numbers.clear();
        for hit in &found.items {
            let (start, end) = hit.highlight_utf16();
            self.out.push_str(hit.text);
            // Scores are exact up to 2^53, as with any JSON number in JavaScript.
            self.numbers.extend_from_slice(&[
                hit.score as f64,
                f64::from(start),
                f64::from(end),
                utf16_len(hit.text),
                hit.payload.map_or(-1.0, utf16_len),
                f64::from(hit.edits),
                f64::from(u8::from(hit.word_start)),
                hit.categories.map_or(0.0, utf16_len),
            ]);
            if let Some(payload) = hit.payload {
                self.out.push_str(payload);
            }
            if let Some(categories) = hit.categories {
                self.out.push_str(categories);
            }
        }
        build_results(&self.out, &self.numbers, found.truncated)
            .map_err(|_| JsError::new("a payload in this segment is not valid JSON"))
    }

    /// Each segment's kind, format version, counts and sizes, in stack order.
    #[wasm_bindgen(unchecked_return_type = "SuggesterInfo")]
    pub fn info(&self) -> Result<JsValue, JsError> {
        let segments = self.stack.segments().iter().chain(self.stack.blocklist());
        let json = json::info(segments.map(|s| (s.kind().name(), s.info())));
        js_sys::JSON::parse(&json).map_err(|_| JsError::new("internal error: invalid info JSON"))
    }
}

impl Suggester {
    /// A suggester over `stack`, or the engine's reason for refusing it.
    fn over(stack: edgesuggest::Result<Stack<Vec<u8>>>) -> Result<Suggester, JsError> {
        let stack = stack.map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Suggester {
            stack,
            searcher: Searcher::new(),
            out: String::with_capacity(1024),
            numbers: Vec::with_capacity(64),
        })
    }
}

/// The bytes of `fromSegments`' argument: an array of 1 to [`MAX_SEGMENTS`] `Uint8Array`s.
fn segment_list(segments: &JsValue) -> Result<Vec<Vec<u8>>, JsError> {
    if !js_sys::Array::is_array(segments) {
        return Err(JsError::new(
            "fromSegments takes an array of Uint8Array segments: [base, ...deltas, blocklist?]",
        ));
    }
    let array: &js_sys::Array = segments.unchecked_ref();
    let count = array.length() as usize;
    if count == 0 || count > MAX_SEGMENTS {
        return Err(JsError::new(&format!(
            "fromSegments got {count} segments: give a base, at most {MAX_DELTAS} deltas and at \
             most one blocklist (compact long delta chains into a new base)"
        )));
    }
    let mut out = Vec::with_capacity(count);
    for (i, value) in array.iter().enumerate() {
        let bytes = value.dyn_into::<js_sys::Uint8Array>().map_err(|_| {
            JsError::new(&format!(
                "segment {} of {count} is not a Uint8Array: pass each segment's bytes",
                i + 1
            ))
        })?;
        out.push(bytes.to_vec());
    }
    Ok(out)
}

/// The message of a value JavaScript threw: an `Error`'s message, or a generic description
/// (converting anything else to a string could run more of the caller's code).
fn thrown_message(thrown: &JsValue) -> String {
    thrown.dyn_ref::<js_sys::Error>().map_or_else(
        || "a non-Error value was thrown".into(),
        |e| e.message().into(),
    )
}

/// One option field as packed by `readOptions`.
enum Field<'a> {
    Undefined,
    Number(u64),
    Text(&'a str),
    Bool(bool),
    List(Vec<&'a str>),
    /// Anything else, described: "NaN", "-1", "null", "an object".
    Other(&'a str),
}

fn field(raw: &str) -> Field<'_> {
    let (tag, rest) = raw.split_at(raw.len().min(1));
    match tag {
        "u" => Field::Undefined,
        "n" => rest.parse().map_or(Field::Other(rest), Field::Number),
        "s" => Field::Text(rest),
        "b" => Field::Bool(rest == "1"),
        "a" if rest.is_empty() => Field::List(Vec::new()),
        "a" => Field::List(rest.split('\u{1e}').collect()),
        _ => Field::Other(rest),
    }
}

/// `text` cut to its first 40 characters (marked with "…"): error messages quote what the
/// caller gave, which can be megabytes long.
fn shorten(text: &str) -> String {
    const KEEP: usize = 40;
    match text.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// What a bad field held, for error messages: a number as JavaScript prints it, otherwise
/// its kind (never a string's text, which can be megabytes long).
fn describe(value: &Field) -> String {
    match value {
        Field::Undefined => "undefined".into(),
        Field::Number(n) => n.to_string(),
        Field::Text(_) => "a string".into(),
        Field::Bool(b) => b.to_string(),
        Field::List(_) => "an array".into(),
        Field::Other(what) => (*what).into(),
    }
}

/// Reads and validates a `SuggestOptions` object: its quick form when it has one (and not
/// `pack_always`), else its packed string.
fn options_of(options: &JsValue, pack_always: bool) -> Result<SuggestOptions, JsError> {
    let quick = read_options_js(options, pack_always).map_err(|e| {
        JsError::new(&format!(
            "options could not be read: {}",
            thrown_message(&e)
        ))
    })?;
    if quick < 0.0 {
        return read_options(&take_packed());
    }
    validate(&quick_fields(quick)?)
}

/// The quick form's fields from its lowest bits up (`k`, `fuzzy`, `prefix_length`,
/// `exact_first`, `max_visits`), each this many bits: 0 when absent, else the value plus one
/// (`fuzzy`: 1–3 for 0–2 edits, 4 for "auto"; `exact_first`: 1 false, 2 true). `readOptions`
/// in JavaScript writes it, and gives the packed string for anything wider.
const QUICK_FIELDS: [u32; 5] = [11, 3, 7, 2, 21];

/// The fields of a quick form, as the packed string's would be.
fn quick_fields(quick: f64) -> Result<[Field<'static>; 6], JsError> {
    let bits: u32 = QUICK_FIELDS.iter().sum();
    // Whole and in range, so the conversion is exact.
    if !(0.0..(1u64 << bits) as f64).contains(&quick) || quick.fract() != 0.0 {
        return Err(JsError::new(
            "internal error: options read as an invalid number",
        ));
    }
    let mut rest = quick as u64;
    let [k, fuzzy, prefix_length, exact_first, max_visits] = QUICK_FIELDS.map(|width| {
        let value = rest & ((1 << width) - 1);
        rest >>= width;
        value
    });
    let number = |v: u64| v.checked_sub(1).map_or(Field::Undefined, Field::Number);
    let fuzzy = match fuzzy {
        0 => Field::Undefined,
        4 => Field::Text("auto"),
        edits => Field::Number(edits - 1),
    };
    let exact_first = match exact_first {
        0 => Field::Undefined,
        flag => Field::Bool(flag == 2),
    };
    let (k, prefix_length, max_visits) = (number(k), number(prefix_length), number(max_visits));
    Ok([
        k,
        fuzzy,
        prefix_length,
        exact_first,
        max_visits,
        Field::Undefined,
    ])
}

/// Validates `SuggestOptions` (packed by `readOptions`); every bad field is an error naming it.
fn read_options(packed: &str) -> Result<SuggestOptions, JsError> {
    if packed.is_empty() {
        return Ok(SuggestOptions::default());
    }
    if let Some(name) = packed.strip_prefix('?') {
        return Err(JsError::new(&format!(
            "unknown option {:?}; options are k, fuzzy, prefix_length, exact_first, \
             max_visits and categories",
            shorten(name)
        )));
    }
    if let Some(what) = packed.strip_prefix('!') {
        return Err(JsError::new(&format!(
            "options must be an object (or undefined), not {what}"
        )));
    }
    let fields: Vec<Field> = packed.split('\u{1f}').map(field).collect();
    validate(&fields)
}

/// The options the six fields (in the order of `OPTION_FIELDS`) give; every bad field is an
/// error naming it.
fn validate(fields: &[Field]) -> Result<SuggestOptions, JsError> {
    let mut out = SuggestOptions::default();
    let [k, fuzzy, prefix_length, exact_first, max_visits, categories] = fields else {
        return Err(JsError::new(
            "options hold the control characters U+001E or U+001F, which no option accepts",
        ));
    };
    if let Some(v) = integer("k", k, 0, edgesuggest::MAX_K as u64)? {
        out.k = v;
    }
    if let Some(v) = read_fuzzy(fuzzy)? {
        out.fuzzy = v;
    }
    if let Some(v) = integer("prefix_length", prefix_length, 0, 64)? {
        out.prefix_length = v;
    }
    match exact_first {
        Field::Undefined => {}
        Field::Bool(b) => out.exact_first = *b,
        other => {
            return Err(JsError::new(&format!(
                "options.exact_first must be true or false, not {}",
                describe(other)
            )))
        }
    }
    if let Some(v) = integer("max_visits", max_visits, 1, edgesuggest::MAX_VISITS as u64)? {
        out.max_visits = v;
    }
    match categories {
        Field::Undefined => {}
        Field::List(list) => out.categories = list.iter().map(|c| c.to_string()).collect(),
        other => {
            return Err(JsError::new(&format!(
                "options.categories must be an array of strings, not {}",
                describe(other)
            )))
        }
    }
    Ok(out)
}

/// An integer option in `min..=max`, `None` when absent. Integers only: formatting or parsing
/// floats would add ~15 KB to the module.
fn integer(name: &str, value: &Field, min: u64, max: u64) -> Result<Option<usize>, JsError> {
    match value {
        Field::Undefined => Ok(None),
        // In range, so it fits a `usize` even on wasm32.
        Field::Number(v) if (min..=max).contains(v) => Ok(Some(*v as usize)),
        other => Err(JsError::new(&format!(
            "options.{name} must be an integer from {min} to {max}, not {}",
            describe(other)
        ))),
    }
}

/// `fuzzy`: "auto" (any case), or 0, 1 or 2 as a number or a string; `None` when absent.
fn read_fuzzy(value: &Field) -> Result<Option<Fuzziness>, JsError> {
    let bad = || {
        JsError::new(&format!(
            "options.fuzzy must be \"auto\", 0, 1 or 2, not {}",
            describe(value)
        ))
    };
    match value {
        Field::Undefined => Ok(None),
        Field::Text(text) => Fuzziness::parse(text).map(Some).map_err(|_| {
            JsError::new(&format!(
                "options.fuzzy must be \"auto\", 0, 1 or 2, not {:?}",
                shorten(text)
            ))
        }),
        Field::Number(n) => {
            let edits = u8::try_from(*n).map_err(|_| bad())?;
            Fuzziness::from_edits(edits).map(Some).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

/// The length of `s` in UTF-16 code units (JavaScript's), one per byte for ASCII.
fn utf16_len(s: &str) -> f64 {
    if s.is_ascii() {
        return s.len() as f64;
    }
    s.encode_utf16().count() as f64
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    /// The options read from `options`, or the error's message.
    fn read(options: &JsValue, pack_always: bool) -> Result<SuggestOptions, String> {
        options_of(options, pack_always).map_err(|e| {
            let value = JsValue::from(e);
            let error: &js_sys::Error = value.unchecked_ref();
            String::from(error.message())
        })
    }

    /// An options object with the given fields (`undefined` ones left out, as a caller would).
    fn object(fields: &[(&str, &JsValue)]) -> JsValue {
        let object = js_sys::Object::new();
        for (name, value) in fields {
            if !value.is_undefined() {
                js_sys::Reflect::set(&object, &(*name).into(), value).unwrap();
            }
        }
        object.into()
    }

    /// Every combination of edge values, in range and out, of the fields the quick form
    /// carries: the quick form reads as the packed string does (the same options or the
    /// same error), and the simple in-range ones take it.
    #[wasm_bindgen_test]
    fn the_quick_form_reads_as_the_packed_string() {
        let u = JsValue::UNDEFINED;
        let n = |v: f64| JsValue::from_f64(v);
        let ks = [
            u.clone(),
            n(0.0),
            n(10.0),
            n(1000.0),
            n(1001.0),
            n(2046.0),
            n(2047.0),
            n(-1.0),
            n(1.5),
            n(f64::NAN),
            "10".into(),
        ];
        let fuzzies = [
            u.clone(),
            n(0.0),
            n(1.0),
            n(2.0),
            n(3.0),
            "auto".into(),
            "AUTO".into(),
            "1".into(),
            JsValue::NULL,
        ];
        let prefixes = [
            u.clone(),
            n(0.0),
            n(64.0),
            n(65.0),
            n(126.0),
            n(127.0),
            n(-0.0),
        ];
        let exacts = [u.clone(), JsValue::TRUE, JsValue::FALSE, n(1.0)];
        let visits = [
            u.clone(),
            n(0.0),
            n(1.0),
            n(1_000_000.0),
            n(1_000_001.0),
            n(2_097_150.0),
            n(2_097_151.0),
        ];
        let (mut quick, mut total) = (0, 0);
        for k in &ks {
            for fuzzy in &fuzzies {
                for prefix in &prefixes {
                    for exact in &exacts {
                        for visit in &visits {
                            let options = object(&[
                                ("k", k),
                                ("fuzzy", fuzzy),
                                ("prefix_length", prefix),
                                ("exact_first", exact),
                                ("max_visits", visit),
                            ]);
                            let packed = read(&options, true);
                            assert_eq!(read(&options, false), packed, "{options:?}");
                            total += 1;
                            quick += usize::from(read_options_js(&options, false).unwrap() >= 0.0);
                        }
                    }
                }
            }
        }
        // Within the quick form's widths (validated after, as the string is): 6 of 11 k, 5
        // of 9 fuzzy, 6 of 7 prefix lengths, 3 of 4 exact_first, 6 of 7 max_visits.
        assert_eq!(quick, 6 * 5 * 6 * 3 * 6);
        assert!(total > quick);
    }

    /// `undefined`, `null`, categories, unknown names and non-objects take the string.
    #[wasm_bindgen_test]
    fn other_options_take_the_packed_string() {
        assert_eq!(read_options_js(&JsValue::UNDEFINED, false).unwrap(), 0.0);
        assert_eq!(read_options_js(&JsValue::NULL, false).unwrap(), 0.0);
        let categories = js_sys::Array::of1(&"c1".into());
        for options in [
            object(&[("categories", &categories.into())]),
            object(&[("kk", &JsValue::from_f64(1.0))]),
            JsValue::from_f64(3.0),
            js_sys::Array::new().into(),
        ] {
            assert_eq!(
                read_options_js(&options, false).unwrap(),
                -1.0,
                "{options:?}"
            );
            assert_eq!(read(&options, false), read(&options, true), "{options:?}");
        }
        let expected = SuggestOptions {
            categories: vec!["c1".into()],
            ..SuggestOptions::default()
        };
        let with_categories = object(&[("categories", &js_sys::Array::of1(&"c1".into()).into())]);
        assert_eq!(read(&with_categories, false), Ok(expected));
    }
}
