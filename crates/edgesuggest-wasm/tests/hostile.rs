//! Hostile input through the module's JavaScript face: every call goes through the glue that
//! `wasm-bindgen` generates (string encoding, option objects, thrown errors), as a page's
//! `suggester.suggest(query, options)` does. Each must throw a readable `Error` or answer
//! within bounds; never trap (a `WebAssembly.RuntimeError`, after which the instance cannot be
//! trusted) and never leave the suggester unusable. Runs in node and headless Chromium with
//! the other `wasm-bindgen-test` files; `./build.sh test-wasm` writes the fixture first.
#![cfg(target_arch = "wasm32")]

use edgesuggest_wasm::Suggester;
use js_sys::{Array, BigInt, Function, JsString, Object, Reflect, Symbol, WebAssembly, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const SEGMENT: &[u8] = include_bytes!("fixture/cities.seg");

/// The engine's limit on a normalized query, in UTF-8 bytes.
const MAX_QUERY_BYTES: usize = 1024;

/// A loaded suggester as JavaScript holds it: the glue's wrapper object and its `suggest`.
struct Js {
    this: JsValue,
    suggest: Function,
}

impl Js {
    fn load() -> Js {
        let this = JsValue::from(Suggester::load(SEGMENT).unwrap());
        let suggest = Reflect::get(&this, &"suggest".into()).unwrap();
        Js {
            this,
            suggest: suggest.unchecked_into(),
        }
    }

    /// `suggester.suggest(query, options)`, as JavaScript calls it.
    fn call(&self, query: &JsValue, options: &JsValue) -> Result<JsValue, JsValue> {
        self.suggest.call2(&self.this, query, options)
    }

    /// The suggestions' texts; fails the test on a throw.
    fn texts(&self, query: &JsValue, options: &JsValue) -> Vec<String> {
        let answer = self
            .call(query, options)
            .unwrap_or_else(|e| panic!("threw {}", describe(&e)));
        Array::from(&answer)
            .iter()
            .map(|s| {
                Reflect::get(&s, &"text".into())
                    .unwrap()
                    .as_string()
                    .unwrap()
            })
            .collect()
    }

    /// The answer as JSON, or the thrown error's message (a trap fails the test).
    fn outcome(&self, query: &JsValue, options: &JsValue) -> Result<String, String> {
        match self.call(query, options) {
            Ok(answer) => Ok(JSON::stringify(&answer).unwrap().into()),
            Err(e) => Err(error_message(&e)),
        }
    }

    /// The message of the `Error` the call throws; fails the test on an answer or a trap.
    fn error(&self, query: &JsValue, options: &JsValue) -> String {
        match self.call(query, options) {
            Ok(answer) => panic!("answered {}", JSON::stringify(&answer).unwrap()),
            Err(e) => error_message(&e),
        }
    }

    /// Still answers an ordinary query like a fresh suggester.
    fn assert_alive(&self) {
        let texts = self.texts(&"par".into(), &JsValue::UNDEFINED);
        assert_eq!(
            texts.first().map(String::as_str),
            Some("Paris"),
            "{texts:?}"
        );
    }
}

/// The message of a thrown `Error`; fails the test on a trap or on anything but an `Error`.
fn error_message(thrown: &JsValue) -> String {
    assert!(
        !thrown.is_instance_of::<WebAssembly::RuntimeError>(),
        "trapped: {}",
        describe(thrown)
    );
    let message: String = thrown
        .dyn_ref::<js_sys::Error>()
        .unwrap_or_else(|| panic!("threw a non-Error: {thrown:?}"))
        .message()
        .into();
    assert!(!message.contains("unreachable"), "{message}");
    message
}

fn describe(thrown: &JsValue) -> String {
    thrown
        .dyn_ref::<js_sys::Error>()
        .map_or_else(|| format!("{thrown:?}"), |e| e.to_string().into())
}

/// `{ name: value }`.
fn options(name: &str, value: &JsValue) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &name.into(), value).unwrap();
    o.into()
}

/// A JavaScript string from UTF-16 code units, well-formed or not.
fn utf16(units: &[u16]) -> JsValue {
    JsString::from_char_code(units).into()
}

fn fuzzy_auto() -> JsValue {
    options("fuzzy", &"auto".into())
}

/// wasm-bindgen hands a JS string to a `&str` parameter through `TextEncoder`, which replaces
/// each unpaired surrogate with U+FFFD: such a query answers exactly like the same text with
/// U+FFFD in its place (nothing traps, nothing is refused). The same holds for strings inside
/// options.
#[wasm_bindgen_test]
fn lone_surrogates_answer_as_u_fffd() {
    let js = Js::load();
    let queries: [&[u16]; 5] = [
        &[0xD800],
        &[0x73, 0x61, 0xD800],         // "sa" + lone high surrogate
        &[0xDC00, 0x73, 0x61],         // lone low surrogate + "sa"
        &[0x6E, 0xDBFF, 0xDBFF, 0x77], // "n", two high surrogates, "w"
        &[0x6E, 0x65, 0x77, 0x20, 0xDFFF],
    ];
    for units in queries {
        let hostile = utf16(units);
        assert!(!hostile.unchecked_ref::<JsString>().is_valid_utf16());
        let replaced = JsValue::from(String::from_utf16_lossy(units));
        for opts in [JsValue::UNDEFINED, fuzzy_auto()] {
            let got = js.outcome(&hostile, &opts);
            assert!(got.is_ok(), "{units:x?}: {got:?}");
            assert_eq!(got, js.outcome(&replaced, &opts), "{units:x?}");
        }
    }
    // A category named by a lone surrogate is an unknown category: it matches nothing.
    let cats = Array::of1(&utf16(&[0xD800]));
    let texts = js.texts(&"s".into(), &options("categories", &cats));
    assert!(texts.is_empty(), "{texts:?}");
    // An option name with one is still an unknown name.
    let o = Object::new();
    Reflect::set(&o, &utf16(&[0x6B, 0xD800]), &JsValue::from(1)).unwrap();
    let message = js.error(&"s".into(), &o.into());
    assert!(message.contains("unknown option"), "{message}");
    js.assert_alive();
}

/// Megabyte queries throw (or would answer within `k`) instead of exhausting memory:
/// a typo-tolerant search of a 1 MB query needs gigabytes of automaton.
#[wasm_bindgen_test]
fn very_long_queries_throw_or_answer_within_bounds() {
    let js = Js::load();
    let megabyte = JsValue::from("a".repeat(1 << 20));
    let ligatures = JsValue::from("\u{FDFA}".repeat(100_000));
    let spaced = JsValue::from(format!("{}new", " ".repeat(1 << 20)));
    let fuzzy_two = Object::new();
    Reflect::set(&fuzzy_two, &"fuzzy".into(), &2.into()).unwrap();
    Reflect::set(&fuzzy_two, &"prefix_length".into(), &0.into()).unwrap();
    for query in [&megabyte, &ligatures, &spaced] {
        for opts in [JsValue::UNDEFINED, fuzzy_auto(), fuzzy_two.clone().into()] {
            match js.outcome(query, &opts) {
                Ok(json) => {
                    let n = Array::from(&JSON::parse(&json).unwrap()).length();
                    assert!(n <= 10, "{n} answers");
                }
                Err(message) => assert!(message.contains("query"), "{message}"),
            }
            js.assert_alive();
        }
    }
}

/// The limit is on the normalized query: whitespace collapses, U+FDFA grows to 33 bytes.
#[wasm_bindgen_test]
fn query_limit_counts_normalized_bytes() {
    let js = Js::load();
    let at_limit = JsValue::from("a".repeat(MAX_QUERY_BYTES));
    assert!(js.texts(&at_limit, &fuzzy_auto()).is_empty());
    let over = JsValue::from("a".repeat(MAX_QUERY_BYTES + 1));
    let message = js.error(&over, &JsValue::UNDEFINED);
    assert!(
        message.contains("query is too long") && message.contains("1024"),
        "{message}"
    );
    // 31 ligatures normalize to 1023 bytes, 32 to 1056 (raw: 93 and 96 bytes).
    assert!(js
        .texts(&"\u{FDFA}".repeat(31).into(), &JsValue::UNDEFINED)
        .is_empty());
    let message = js.error(&"\u{FDFA}".repeat(32).into(), &JsValue::UNDEFINED);
    assert!(
        message.contains("the normalized query is over 1024 bytes"),
        "{message}"
    );
    // Collapsed whitespace does not count.
    let spaced = JsValue::from(format!("{}new york", " \t".repeat(4096)));
    assert_eq!(
        js.texts(&spaced, &JsValue::UNDEFINED)
            .first()
            .map(String::as_str),
        Some("New York City")
    );
}

/// `k` is an integer from 0 to 1000 (0: no suggestions); anything else throws naming `k`.
#[wasm_bindgen_test]
fn k_is_an_integer_from_0_to_1000() {
    let js = Js::load();
    let k = |v: JsValue| options("k", &v);
    assert!(js.texts(&"s".into(), &k(0.into())).is_empty());
    assert!(js.texts(&"s".into(), &k((-0.0).into())).is_empty());
    assert_eq!(js.texts(&"s".into(), &k(1.into())).len(), 1);
    let many = js.texts(&"s".into(), &k(1000.into())).len();
    assert!((100..=1000).contains(&many), "{many}");
    let two_53 = 9_007_199_254_740_992.0;
    for (value, shown) in [
        (JsValue::from(-1), "-1"),
        (1001.into(), "1001"),
        (f64::NAN.into(), "NaN"),
        (f64::INFINITY.into(), "Infinity"),
        (f64::NEG_INFINITY.into(), "-Infinity"),
        (two_53.into(), "9007199254740992"),
        ((two_53 - 1.0).into(), "9007199254740991"),
        (1e308.into(), "1e+308"),
        (2.5.into(), "2.5"),
        ("10".into(), "a string"),
        (JsValue::TRUE, "true"),
        (JsValue::NULL, "null"),
        (Object::new().into(), "an object"),
        (Array::of1(&10.into()).into(), "an array"),
        (BigInt::from(10).into(), "a bigint"),
    ] {
        let message = js.error(&"s".into(), &k(value));
        assert_eq!(
            message,
            format!("options.k must be an integer from 0 to 1000, not {shown}")
        );
    }
    js.assert_alive();
}

/// `fuzzy` is "auto" (any case) or 0, 1 or 2, as a number or a string.
#[wasm_bindgen_test]
fn fuzzy_is_auto_or_0_to_2() {
    let js = Js::load();
    for good in [JsValue::from("AUTO"), "2".into(), 0.into(), 2.into()] {
        js.texts(&"lodnon".into(), &options("fuzzy", &good));
    }
    for bad in [
        JsValue::from(3),
        (-1).into(),
        f64::NAN.into(),
        1.5.into(),
        "often".into(),
        "".into(),
        "3".into(),
        "a".repeat(1 << 20).into(),
        JsValue::TRUE,
        JsValue::NULL,
        Array::of1(&1.into()).into(),
        Object::new().into(),
    ] {
        let message = js.error(&"lodnon".into(), &options("fuzzy", &bad));
        assert!(
            message.starts_with("options.fuzzy must be \"auto\", 0, 1 or 2, not "),
            "{message}"
        );
        assert!(
            message.len() < 200,
            "quotes at most a short prefix: {message}"
        );
    }
    js.assert_alive();
}

/// Options are an object (or undefined/null for the defaults) with known names only, each
/// field of its type; a wrong one throws naming it.
#[wasm_bindgen_test]
fn options_must_be_an_object_of_known_fields() {
    let js = Js::load();
    assert_eq!(js.texts(&"s".into(), &JsValue::NULL).len(), 10);
    assert_eq!(js.texts(&"s".into(), &Object::new().into()).len(), 10);
    for (value, shown) in [
        (JsValue::from(5), "5"),
        ("k".into(), "a string"),
        (JsValue::TRUE, "a boolean"),
        (Symbol::for_("k").into(), "a symbol"),
        (BigInt::from(5).into(), "a bigint"),
        (Array::new().into(), "an array"),
        (Array::of1(&10.into()).into(), "an array"),
        (js.suggest.clone().into(), "a function"),
    ] {
        let message = js.error(&"s".into(), &value);
        assert_eq!(
            message,
            format!("options must be an object (or undefined), not {shown}")
        );
    }
    let long_name = "x".repeat(1 << 20);
    for name in ["K", "limit", "prefixLength", "", long_name.as_str()] {
        let message = js.error(&"s".into(), &options(name, &1.into()));
        assert!(message.starts_with("unknown option "), "{message}");
        assert!(message.len() < 300, "quotes at most a short prefix");
    }
    for (name, value) in [
        ("prefix_length", JsValue::from(-1)),
        ("prefix_length", 65.into()),
        ("prefix_length", "1".into()),
        ("max_visits", 0.into()),
        ("max_visits", f64::NAN.into()),
        ("exact_first", "yes".into()),
        ("exact_first", 1.into()),
        ("categories", "capital".into()),
        ("categories", Array::of1(&1.into()).into()),
        ("categories", Array::of1(&JsValue::NULL).into()),
    ] {
        let message = js.error(&"s".into(), &options(name, &value));
        assert!(
            message.starts_with(&format!("options.{name} must be ")),
            "{message}"
        );
    }
    js.assert_alive();
}

/// The caller's getters and proxy traps run while options are read: whatever they throw
/// becomes the call's error, and the suggester stays usable (an exception unwinding through
/// the Rust frames would leave it borrowed, refusing every later call).
#[wasm_bindgen_test]
fn throwing_options_leave_the_suggester_usable() {
    let js = Js::load();
    let getter = |body: &str| {
        let o = Object::new();
        let descriptor = Object::new();
        let get = Function::new_with_args("", body);
        Reflect::set(&descriptor, &"get".into(), &get).unwrap();
        Reflect::set(&descriptor, &"enumerable".into(), &JsValue::TRUE).unwrap();
        Object::define_property(&o, &"k".into(), &descriptor);
        JsValue::from(o)
    };
    let message = js.error(&"par".into(), &getter("throw new Error('boom')"));
    assert_eq!(message, "options could not be read: boom");
    js.assert_alive();
    let message = js.error(&"par".into(), &getter("throw 42"));
    assert_eq!(
        message,
        "options could not be read: a non-Error value was thrown"
    );
    js.assert_alive();
    // A proxy whose key listing throws.
    let make_proxy = Function::new_no_args(
        "return new Proxy({}, { ownKeys() { throw new TypeError('no keys'); } })",
    );
    let proxy = make_proxy.call0(&JsValue::UNDEFINED).unwrap();
    let message = js.error(&"par".into(), &proxy);
    assert_eq!(message, "options could not be read: no keys");
    js.assert_alive();
    // A getter that calls back into the same suggester: the inner call is refused (it would
    // alias the outer one's `&mut self`), the outer one reports it, and both calls end.
    let reentrant =
        Function::new_with_args("s", "return { get k() { s.suggest('a'); return 5; } };")
            .call1(&JsValue::UNDEFINED, &js.this)
            .unwrap();
    let message = js.error(&"par".into(), &reentrant);
    assert!(
        message.starts_with("options could not be read: "),
        "{message}"
    );
    js.assert_alive();
}
