//! The wasm engine answers exactly like the native CLI: for a segment built natively from the
//! bundled data, every query of `tests/fixtures/cities-queries.txt` gives the same suggestions
//! (order, text, score) as `edgesuggest query --batch --json`. Runs under
//! `wasm-bindgen-test-runner` in node and in headless Chromium; `./build.sh test` writes the
//! fixture (segment and the CLI's answers) first.
#![cfg(target_arch = "wasm32")]

use edgesuggest_wasm::Suggester;
use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const SEGMENT: &[u8] = include_bytes!("fixture/cities.seg");
const QUERIES: &str = include_str!("fixture/queries.txt");
const EXPECTED: &str = include_str!("fixture/expected.ndjson");

fn options(k: u32) -> Object {
    let o = Object::new();
    Reflect::set(&o, &"k".into(), &JsValue::from(k)).unwrap();
    o
}

/// `[{text, score}]` of a result array, as JSON text.
fn text_and_score(results: &JsValue) -> String {
    let out = Array::new();
    for item in Array::from(results).iter() {
        let o = Object::new();
        for field in ["text", "score"] {
            Reflect::set(
                &o,
                &field.into(),
                &Reflect::get(&item, &field.into()).unwrap(),
            )
            .unwrap();
        }
        out.push(&o);
    }
    JSON::stringify(&out).unwrap().into()
}

fn error_message(e: wasm_bindgen::JsError) -> String {
    let v: JsValue = e.into();
    v.dyn_into::<js_sys::Error>().unwrap().message().into()
}

#[wasm_bindgen_test]
fn answers_like_the_native_cli() {
    let mut suggester = Suggester::load(SEGMENT).unwrap();
    let queries: Vec<&str> = QUERIES.split('\n').collect();
    let expected: Vec<&str> = EXPECTED.lines().collect();
    assert!(
        expected.len() >= 500,
        "only {} expected answers",
        expected.len()
    );
    let mut non_empty = 0;
    for (query, line) in queries.iter().zip(&expected) {
        let want = JSON::parse(line).unwrap();
        assert_eq!(
            Reflect::get(&want, &"query".into())
                .unwrap()
                .as_string()
                .as_deref(),
            Some(*query)
        );
        let want_suggestions = Reflect::get(&want, &"suggestions".into()).unwrap();
        let want_json: String = JSON::stringify(&want_suggestions).unwrap().into();
        let got = suggester.suggest(query, Some(options(10))).unwrap();
        assert_eq!(text_and_score(&got), want_json, "query {query:?}");
        non_empty += usize::from(Array::from(&got).length() > 0);
    }
    assert!(non_empty > 400, "only {non_empty} queries had suggestions");
}

#[wasm_bindgen_test]
fn highlight_is_in_utf16_units_under_folding() {
    let mut suggester = Suggester::load(SEGMENT).unwrap();
    let got = suggester.suggest("sao", Some(options(1))).unwrap();
    let first = Array::from(&got).get(0);
    assert_eq!(
        Reflect::get(&first, &"text".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("São Paulo")
    );
    let hl: Vec<f64> = Array::from(&Reflect::get(&first, &"highlight".into()).unwrap())
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(hl, [0.0, 3.0]);
}

#[wasm_bindgen_test]
fn default_k_and_bad_k() {
    let mut suggester = Suggester::load(SEGMENT).unwrap();
    assert_eq!(
        Array::from(&suggester.suggest("s", None).unwrap()).length(),
        10
    );
    for bad in [0u32, 1001] {
        let e = suggester.suggest("s", Some(options(bad))).unwrap_err();
        assert!(error_message(e).contains("options.k"));
    }
}

#[wasm_bindgen_test]
fn corrupt_and_future_segments_throw_readable_errors() {
    let mut bad = SEGMENT.to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    let message = error_message(Suggester::load(&bad).err().unwrap());
    assert!(message.contains("checksum"), "{message}");

    let mut future = SEGMENT.to_vec();
    future[8..12].copy_from_slice(&7u32.to_le_bytes());
    let message = error_message(Suggester::load(&future).err().unwrap());
    assert!(
        message.contains("version 7") && message.contains("version 1"),
        "{message}"
    );

    let message = error_message(Suggester::load(b"not a segment").err().unwrap());
    assert!(message.contains("not an edgesuggest segment"), "{message}");
}

#[wasm_bindgen_test]
fn info_reports_counts() {
    let suggester = Suggester::load(SEGMENT).unwrap();
    let info = suggester.info().unwrap();
    let suggestions = Reflect::get(&info, &"suggestions".into())
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(suggestions > 9_000.0);
    let segments = Array::from(&Reflect::get(&info, &"segments".into()).unwrap());
    let v = Reflect::get(&segments.get(0), &"formatVersion".into()).unwrap();
    assert_eq!(v.as_f64(), Some(1.0));
}
