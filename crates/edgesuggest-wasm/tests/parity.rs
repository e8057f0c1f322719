//! The wasm engine answers exactly like the native CLI: for a segment built natively from the
//! bundled data, every query of `tests/fixtures/cities-queries.txt` gives the same suggestions
//! (order and every field, serialized to the same JSON) as `edgesuggest query --batch --json`. Runs under
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
const EXPECTED_FUZZY: &str = include_str!("fixture/expected-fuzzy.ndjson");
const EXPECTED_FILTERED: &str = include_str!("fixture/expected-filtered.ndjson");

fn options(k: u32) -> Object {
    let o = Object::new();
    Reflect::set(&o, &"k".into(), &JsValue::from(k)).unwrap();
    o
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
        let got = suggester.suggest(query, Some(options(10).into())).unwrap();
        assert_eq!(cli_shape(&got), want_json, "query {query:?}");
        non_empty += usize::from(Array::from(&got).length() > 0);
    }
    assert!(non_empty > 400, "only {non_empty} queries had suggestions");
}

#[wasm_bindgen_test]
fn highlight_is_in_utf16_units_under_folding() {
    let mut suggester = Suggester::load(SEGMENT).unwrap();
    let got = suggester.suggest("sao", Some(options(1).into())).unwrap();
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
    // 0 is valid (no suggestions); tests/hostile.rs covers every other kind of bad value.
    let e = suggester
        .suggest("s", Some(options(1001).into()))
        .unwrap_err();
    assert!(error_message(e).contains("options.k"));
}

#[wasm_bindgen_test]
fn corrupt_and_future_segments_throw_readable_errors() {
    let mut bad = SEGMENT.to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    let message = error_message(Suggester::load(&bad).err().unwrap());
    assert!(message.contains("checksum"), "{message}");

    let newest = edgesuggest::format::FORMAT_VERSION;
    let mut future = SEGMENT.to_vec();
    future[8..12].copy_from_slice(&(newest + 1).to_le_bytes());
    let message = error_message(Suggester::load(&future).err().unwrap());
    assert!(
        message.contains(&format!("version {}", newest + 1))
            && message.contains(&format!("1 to {newest}")),
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
    let v = Reflect::get(&segments.get(0), &"format_version".into()).unwrap();
    // Word starts need version 2, the top lists of a segment this size version 5, its
    // categories' sets version 6, their own top lists version 7 (which this module accepts
    // and does not read), its display forms marked as title-cased keys version 8, its
    // categories' cuts version 9 and its set numbers in blocks wider than 64 version 10.
    assert_eq!(v.as_f64(), Some(10.0));
    let word_starts = Reflect::get(&segments.get(0), &"word_starts".into()).unwrap();
    assert_eq!(word_starts, JsValue::TRUE);
    let categories = Array::from(&Reflect::get(&segments.get(0), &"categories".into()).unwrap());
    assert!(
        categories.includes(&"capital".into(), 0),
        "categories listed"
    );
}

/// The native CLI's answers under typo tolerance, and under a category filter with typos
/// and exact-first off, for every fixture query: same suggestions, every field the CLI
/// prints (text, score, highlight, payload, categories, edits, word_start).
#[wasm_bindgen_test]
fn feature_options_answer_like_the_native_cli() {
    let mut suggester = Suggester::load(SEGMENT).unwrap();
    let queries: Vec<&str> = QUERIES.split('\n').collect();
    let fuzzy = Object::new();
    Reflect::set(&fuzzy, &"fuzzy".into(), &"auto".into()).unwrap();
    let filtered = Object::new();
    Reflect::set(&filtered, &"fuzzy".into(), &JsValue::from(1)).unwrap();
    Reflect::set(&filtered, &"exact_first".into(), &JsValue::FALSE).unwrap();
    let cats = Array::of2(&"capital".into(), &"million".into());
    Reflect::set(&filtered, &"categories".into(), &cats).unwrap();
    let mut seen = (0, 0, 0);
    for (options, expected) in [(fuzzy, EXPECTED_FUZZY), (filtered, EXPECTED_FILTERED)] {
        for (query, line) in queries.iter().zip(expected.lines()) {
            let want = JSON::parse(line).unwrap();
            let want_json: String =
                JSON::stringify(&Reflect::get(&want, &"suggestions".into()).unwrap())
                    .unwrap()
                    .into();
            let got = suggester
                .suggest(query, Some(options.clone().into()))
                .unwrap();
            assert_eq!(cli_shape(&got), want_json, "query {query:?}");
            let truncated = Reflect::get(&got, &"truncated".into()).unwrap();
            assert_eq!(truncated, Reflect::get(&want, &"truncated".into()).unwrap());
            for item in Array::from(&got).iter() {
                let edits = Reflect::get(&item, &"edits".into())
                    .unwrap()
                    .as_f64()
                    .unwrap();
                seen.0 += usize::from(edits > 0.0);
                seen.1 += usize::from(
                    Reflect::get(&item, &"word_start".into())
                        .unwrap()
                        .is_truthy(),
                );
                seen.2 += usize::from(
                    !Reflect::get(&item, &"categories".into())
                        .unwrap()
                        .is_undefined(),
                );
            }
        }
    }
    assert!(seen.0 > 100 && seen.1 > 50 && seen.2 > 100, "{seen:?}");
}

#[wasm_bindgen_test]
fn bad_options_throw_naming_the_field() {
    let mut suggester = Suggester::load(SEGMENT).unwrap();
    for (field, value) in [
        ("fuzzy", JsValue::from(3)),
        ("fuzzy", JsValue::from("often")),
        ("prefix_length", JsValue::from(-1)),
        ("exact_first", JsValue::from("yes")),
        ("categories", JsValue::from("city")),
        ("max_visits", JsValue::from(0)),
        // Misspelled or camelCase names are refused, never ignored.
        ("prefixLength", JsValue::from(1)),
        ("exactfirst", JsValue::from(false)),
    ] {
        let o = Object::new();
        Reflect::set(&o, &field.into(), &value).unwrap();
        let message = error_message(suggester.suggest("par", Some(o.into())).unwrap_err());
        assert!(
            message.contains(field) || message.contains("fuzzy"),
            "{field}: {message}"
        );
    }
}

/// A wasm result serialized as JSON: the objects have the CLI's and the worker's fields in
/// the same order, so the strings must be equal (the array's `truncated` is not serialized).
fn cli_shape(results: &JsValue) -> String {
    JSON::stringify(results).unwrap().into()
}

/// Empty answers (no match, or a work budget spent before any) are arrays whose `truncated`
/// says what the engine's does, for queries of every fixture length under budgets from 1
/// visit up; both kinds of empty answer occur.
#[wasm_bindgen_test]
fn empty_answers_say_whether_the_budget_cut_them_short() {
    let mut suggester = Suggester::load(SEGMENT).unwrap();
    let segment = edgesuggest::Segment::load(SEGMENT).unwrap();
    let mut searcher = edgesuggest::Searcher::new();
    let mut seen = (0, 0);
    for query in QUERIES.split('\n').chain(["zzqqxx", "qqqqqqqq"]) {
        for visits in [1u32, 3, 10, 100_000] {
            let native_options = edgesuggest::SuggestOptions {
                fuzzy: edgesuggest::Fuzziness::Edits(2),
                max_visits: visits as usize,
                ..Default::default()
            };
            let want = searcher.search(&segment, query, &native_options).unwrap();
            let options = Object::new();
            Reflect::set(&options, &"fuzzy".into(), &JsValue::from(2)).unwrap();
            Reflect::set(&options, &"max_visits".into(), &JsValue::from(visits)).unwrap();
            let got = suggester.suggest(query, Some(options.into())).unwrap();
            assert!(Array::is_array(&got));
            let truncated = Reflect::get(&got, &"truncated".into()).unwrap();
            assert_eq!(
                truncated,
                JsValue::from_bool(want.truncated),
                "{query:?} {visits}"
            );
            assert_eq!(Array::from(&got).length() as usize, want.items.len());
            if want.items.is_empty() {
                match want.truncated {
                    true => seen.0 += 1,
                    false => seen.1 += 1,
                }
            }
        }
    }
    assert!(
        seen.0 > 0 && seen.1 > 0,
        "empty answers, cut short and not: {seen:?}"
    );
}
