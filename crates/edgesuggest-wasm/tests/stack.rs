//! The wasm engine over a stack answers exactly like the native engine: for the bundled base,
//! two deltas and a blocklist (`scripts/stack-changes.py`), every fixture query gives the same
//! suggestions, every field serialized to the same JSON, as the native CLI over the same
//! segments (`edgesuggest query BASE --delta ... --blocklist ... --batch`). A bad stack is a
//! thrown `Error` with the engine's message, never a trap. Runs in node and headless Chromium
//! with the other `wasm-bindgen-test` files; `./build.sh test-wasm` writes the fixture first.
#![cfg(target_arch = "wasm32")]

use edgesuggest_wasm::Suggester;
use js_sys::{Array, Function, Object, Reflect, Uint8Array, WebAssembly, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const BASE: &[u8] = include_bytes!("fixture/cities.seg");
const DELTA_1: &[u8] = include_bytes!("fixture/delta-1.seg");
const DELTA_2: &[u8] = include_bytes!("fixture/delta-2.seg");
const BLOCKLIST: &[u8] = include_bytes!("fixture/blocklist.seg");
const DELTA_NO_WORD_STARTS: &[u8] = include_bytes!("fixture/delta-no-word-starts.seg");
const QUERIES: &str = include_str!("fixture/queries.txt");
const EXPECTED_BASE: &str = include_str!("fixture/expected.ndjson");
const EXPECTED_PLAIN: &str = include_str!("fixture/expected-stack-plain.ndjson");
const EXPECTED_FUZZY: &str = include_str!("fixture/expected-stack-fuzzy.ndjson");

/// A JavaScript array of the segments' bytes, as a page passes them.
fn segments(list: &[&[u8]]) -> Array {
    list.iter()
        .map(|bytes| JsValue::from(Uint8Array::from(*bytes)))
        .collect()
}

fn full_stack() -> Suggester {
    Suggester::from_segments(&segments(&[BASE, DELTA_1, DELTA_2, BLOCKLIST]).into()).unwrap()
}

fn options(fuzzy: bool) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &"k".into(), &JsValue::from(10)).unwrap();
    if fuzzy {
        Reflect::set(&o, &"fuzzy".into(), &"auto".into()).unwrap();
    }
    o.into()
}

/// The `suggestions` of one expected `--batch` line, as JSON, after checking its query.
fn expected_suggestions(line: &str, query: &str) -> String {
    let want = JSON::parse(line).unwrap();
    let got_query = Reflect::get(&want, &"query".into()).unwrap().as_string();
    assert_eq!(got_query.as_deref(), Some(query));
    JSON::stringify(&Reflect::get(&want, &"suggestions".into()).unwrap())
        .unwrap()
        .into()
}

/// The fixture queries, one a line (a trailing space is part of a query), as the CLI's
/// `--batch` reads them: no query after the last newline.
fn queries() -> impl Iterator<Item = &'static str> {
    QUERIES.strip_suffix('\n').unwrap_or(QUERIES).split('\n')
}

#[wasm_bindgen_test]
fn a_stack_answers_like_the_native_engine() {
    let mut suggester = full_stack();
    let queries: Vec<&str> = queries().collect();
    for (fuzzy, expected) in [(false, EXPECTED_PLAIN), (true, EXPECTED_FUZZY)] {
        let lines: Vec<&str> = expected.lines().collect();
        assert_eq!(lines.len(), queries.len(), "one expected answer per query");
        for (query, line) in queries.iter().zip(&lines) {
            let got = suggester.suggest(query, Some(options(fuzzy))).unwrap();
            let got_json: String = JSON::stringify(&got).unwrap().into();
            assert_eq!(
                got_json,
                expected_suggestions(line, query),
                "query {query:?}, fuzzy {fuzzy}"
            );
        }
    }
}

/// The deltas and the blocklist change most answers: the parity above is not the base's.
#[wasm_bindgen_test]
fn the_stack_changes_the_base_answers() {
    let mut suggester = full_stack();
    let mut changed = 0;
    for (query, line) in queries().zip(EXPECTED_BASE.lines()) {
        let got: String = JSON::stringify(&suggester.suggest(query, Some(options(false))).unwrap())
            .unwrap()
            .into();
        changed += usize::from(got != expected_suggestions(line, query));
    }
    assert!(
        changed > 300,
        "only {changed} answers differ from the base's"
    );
    // A blocked phrase ("London") and a blocked prefix ("ka*") never appear.
    for query in ["lond", "ka"] {
        let texts = texts(&suggester.suggest(query, Some(options(false))).unwrap());
        assert!(
            texts
                .iter()
                .all(|t| t != "London" && !t.to_lowercase().starts_with("ka")),
            "{texts:?}"
        );
    }
}

fn texts(answer: &JsValue) -> Vec<String> {
    Array::from(answer)
        .iter()
        .map(|s| {
            Reflect::get(&s, &"text".into())
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect()
}

#[wasm_bindgen_test]
fn info_lists_the_segments_in_stack_order() {
    let info = full_stack().info().unwrap();
    let kinds: Vec<String> = Array::from(&Reflect::get(&info, &"segments".into()).unwrap())
        .iter()
        .map(|s| {
            Reflect::get(&s, &"kind".into())
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect();
    assert_eq!(kinds, ["base", "delta", "delta", "blocklist"]);
    let bytes = Reflect::get(&info, &"bytes".into())
        .unwrap()
        .as_f64()
        .unwrap();
    let total = BASE.len() + DELTA_1.len() + DELTA_2.len() + BLOCKLIST.len();
    assert_eq!(bytes, total as f64);
}

/// `Suggester.fromSegments(value)` called from JavaScript: the thrown value's message, or
/// `None` when it answered. A trap fails the test.
fn from_segments_js(value: &JsValue) -> Option<String> {
    let some = JsValue::from(Suggester::load(BASE).unwrap());
    let class = Reflect::get(&some, &"constructor".into()).unwrap();
    let from: Function = Reflect::get(&class, &"fromSegments".into())
        .unwrap()
        .unchecked_into();
    match from.call1(&class, value) {
        Ok(_) => None,
        Err(e) => {
            assert!(
                !e.is_instance_of::<WebAssembly::RuntimeError>(),
                "trapped: {e:?}"
            );
            let error = e.dyn_into::<js_sys::Error>().expect("an Error");
            Some(error.message().into())
        }
    }
}

#[wasm_bindgen_test]
fn bad_stacks_throw_the_engines_message() {
    let mut corrupt = DELTA_1.to_vec();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 1;
    let mut too_many = vec![DELTA_1; 66];
    too_many[0] = BASE;
    let cases: Vec<(JsValue, &str)> = vec![
        (
            segments(&[DELTA_1]).into(),
            "the first segment is a delta segment, expected a base",
        ),
        (
            segments(&[DELTA_1, BASE]).into(),
            "the first segment is a delta segment, expected a base",
        ),
        (
            segments(&[BASE, BASE]).into(),
            "delta 1 is a base segment, expected a delta",
        ),
        (segments(&[BLOCKLIST]).into(), "no base segment"),
        (
            segments(&[BASE, BLOCKLIST, BLOCKLIST]).into(),
            "more than one blocklist",
        ),
        (
            segments(&[BASE, DELTA_NO_WORD_STARTS]).into(),
            "word starts",
        ),
        (
            segments(&[BASE, &corrupt]).into(),
            "segment 2 of 2: segment checksum mismatch",
        ),
        (segments(&too_many).into(), "fromSegments got 66 segments"),
        (segments(&[]).into(), "fromSegments got 0 segments"),
        (
            JsValue::from(Uint8Array::from(BASE)),
            "takes an array of Uint8Array",
        ),
        (JsValue::UNDEFINED, "takes an array of Uint8Array"),
        (
            Array::of2(&Uint8Array::from(BASE).into(), &"bytes".into()).into(),
            "segment 2 of 2 is not a Uint8Array",
        ),
    ];
    for (value, want) in cases {
        let message =
            from_segments_js(&value).unwrap_or_else(|| panic!("accepted; wanted {want:?}"));
        assert!(message.contains(want), "{message:?} does not say {want:?}");
    }
    // A good stack still loads and answers afterwards: nothing was left broken.
    assert_eq!(
        from_segments_js(&segments(&[BASE, DELTA_1, BLOCKLIST]).into()),
        None
    );
    let mut suggester = full_stack();
    assert!(!texts(&suggester.suggest("par", None).unwrap()).is_empty());
}

#[wasm_bindgen_test]
fn load_takes_a_base_alone() {
    let message = from_load(DELTA_1);
    assert!(message.contains("expected a base"), "{message}");
    let message = from_load(BLOCKLIST);
    assert!(message.contains("expected a base"), "{message}");
}

fn from_load(bytes: &[u8]) -> String {
    let e: JsValue = Suggester::load(bytes).err().unwrap().into();
    e.dyn_into::<js_sys::Error>().unwrap().message().into()
}
