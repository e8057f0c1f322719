//! The builder's faults corpus (`tests/faults/`, plus large inputs made at run time): each kind
//! of damaged input has its documented behaviour (the table in the crate's README). A bad row is
//! reported as `file:line: reason` and counted against `--max-errors`; an accepted row gets the
//! documented normalization; an input that cannot be read to its end fails the build and writes
//! nothing; a killed build never leaves a partial segment.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn cli() -> Command {
    Command::cargo_bin("edgesuggest").unwrap()
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/faults")
}

/// One suggestion as `query --json` shows it (categories sorted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Sugg {
    text: String,
    score: u64,
    payload: Option<String>,
    categories: Vec<String>,
}

fn sugg(text: &str, score: u64) -> Sugg {
    Sugg {
        text: text.to_string(),
        score,
        payload: None,
        categories: Vec::new(),
    }
}

impl Sugg {
    fn payload(mut self, payload: &str) -> Sugg {
        self.payload = Some(payload.to_string());
        self
    }

    fn cats(mut self, cats: &[&str]) -> Sugg {
        self.categories = cats.iter().map(|c| c.to_string()).collect();
        self.categories.sort();
        self
    }
}

/// Every suggestion of a segment, sorted.
fn all_suggestions(seg: &Path) -> Vec<Sugg> {
    let out = cli()
        .args(["query", seg.to_str().unwrap(), "", "-k", "1000", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let answer: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(answer["truncated"], false);
    let mut all: Vec<Sugg> = answer["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut categories: Vec<String> = s["categories"]
                .as_array()
                .map(|c| c.iter().map(|c| c.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            categories.sort();
            Sugg {
                text: s["text"].as_str().unwrap().to_string(),
                score: s["score"].as_u64().unwrap(),
                payload: s.get("payload").map(Value::to_string),
                categories,
            }
        })
        .collect();
    all.sort();
    all
}

/// `edgesuggest build FILE -o SEGMENT` run in `dir`, so messages name FILE as given.
fn build_in(dir: &Path, file: &str, seg: &Path) -> Command {
    let mut cmd = cli();
    cmd.current_dir(dir)
        .args(["build", file, "-o", seg.to_str().unwrap()]);
    cmd
}

/// The `bad row:` lines of a build's stderr.
fn bad_rows(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.starts_with("bad row: "))
        .map(str::to_string)
        .collect()
}

/// Asserts the bad rows are exactly `bad` (line, piece of the reason), in order.
fn assert_bad_rows(file: &str, stderr: &[u8], bad: &[(u64, &str)]) {
    let got = bad_rows(stderr);
    let all = String::from_utf8_lossy(stderr);
    assert_eq!(got.len(), bad.len(), "{file}: bad rows {got:#?}\n{all}");
    for (got, (line, reason)) in got.iter().zip(bad) {
        let prefix = format!("bad row: {file}:{line}: ");
        assert!(
            got.starts_with(&prefix) && got[prefix.len()..].contains(reason),
            "{file}: wanted {prefix}…{reason}…, got {got}"
        );
    }
}

/// Builds `file` of `dir`: the bad rows are exactly `bad` and fail the build without
/// `--max-errors`, are skipped with `--max-errors` their count (and not one fewer), and the
/// segment then holds exactly `good`.
fn check_in(dir: &Path, file: &str, bad: &[(u64, &str)], good: &[Sugg]) {
    let out_dir = tempfile::tempdir().unwrap();
    let seg = out_dir.path().join("out.seg");
    let n = bad.len() as u64;
    if n > 0 {
        let out = build_in(dir, file, &seg)
            .assert()
            .code(1)
            .get_output()
            .clone();
        assert_bad_rows(file, &out.stderr, bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!(
            "{n} bad row(s), more than --max-errors 0; nothing"
        )));
        let fewer = (n - 1).to_string();
        build_in(dir, file, &seg)
            .args(["--max-errors", &fewer])
            .assert()
            .code(1);
        assert!(
            !seg.exists(),
            "{file}: a refused build wrote {}",
            seg.display()
        );
    }
    let out = build_in(dir, file, &seg)
        .args(["--max-errors", &n.to_string()])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_bad_rows(file, &out.stderr, bad);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("rows rejected    {n}\n")),
        "{file}: {stdout}"
    );
    let mut good = good.to_vec();
    good.sort();
    assert_eq!(all_suggestions(&seg), good, "{file}");
}

/// [`check_in`] for a file of the corpus.
fn check(file: &str, bad: &[(u64, &str)], good: &[Sugg]) {
    check_in(&corpus(), file, bad, good);
}

/// A build of `file` in the corpus that fails as a whole: `message` on stderr, nothing written,
/// whatever `--max-errors` says.
fn check_fails(dir: &Path, file: &str, message: &str) {
    let out_dir = tempfile::tempdir().unwrap();
    let seg = out_dir.path().join("out.seg");
    for stderr in failed_builds(dir, file, &seg) {
        assert!(
            stderr.contains(message),
            "{file}: wanted {message:?} in {stderr}"
        );
        assert!(!seg.exists(), "{file}: a failed build wrote a segment");
    }
}

/// Builds `file` with `--max-errors 0` and with no practical limit, requires exit code 1 from
/// both, and returns their stderr.
fn failed_builds(dir: &Path, file: &str, seg: &Path) -> Vec<String> {
    ["0", "1000000"]
        .iter()
        .map(|max_errors| {
            let out = build_in(dir, file, seg)
                .args(["--max-errors", max_errors])
                .assert()
                .code(1)
                .get_output()
                .clone();
            String::from_utf8_lossy(&out.stderr).into_owned()
        })
        .collect()
}

const NUL_HINT: &str = "NUL comes from binary or UTF-16 input";
const LATER_BOM: &str = "byte-order mark (U+FEFF) at the start of the row, not of the file";

#[test]
fn bom_at_the_start_of_a_file_is_skipped() {
    // Were the mark kept, "\u{feff}Hello" would be a suggestion of its own.
    check("bom.tsv", &[], &[sugg("Hello", 8)]);
    check("bom.ndjson", &[], &[sugg("Zürich", 3)]);
    check("bom.csv", &[], &[sugg("Oslo", 5)]);
    // Inside gzip too: the mark is looked for in the decompressed text.
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(corpus().join("bom.tsv")).unwrap())
        .unwrap();
    std::fs::write(dir.path().join("bom.tsv.gz"), gz.finish().unwrap()).unwrap();
    check_in(dir.path(), "bom.tsv.gz", &[], &[sugg("Hello", 8)]);
}

#[test]
fn bom_at_the_start_of_a_later_row_is_a_bad_row() {
    check("bom-later.tsv", &[(2, LATER_BOM)], &[sugg("Hello", 5)]);
    check(
        "bom-later.ndjson",
        &[(2, LATER_BOM), (3, LATER_BOM)],
        &[sugg("a", 1)],
    );
    check("bom-later.csv", &[(3, LATER_BOM)], &[sugg("Oslo", 4)]);
}

#[test]
fn crlf_line_endings_leave_no_carriage_return() {
    // A `\r` left on the last column would be a bad category, a bad score or part of a payload.
    check(
        "crlf.tsv",
        &[],
        &[
            sugg("New York", 10).payload(r#"{"id":1}"#).cats(&["city"]),
            sugg("Boston", 7),
            sugg("Paris", 9).cats(&["capital", "city"]),
            sugg("Lima", 2).cats(&["capital"]),
        ],
    );
    check(
        "crlf.ndjson",
        &[],
        &[
            sugg("Kyiv", 6).cats(&["capital"]),
            sugg("Lviv", 5).payload(r#"{"id":2}"#),
        ],
    );
    check(
        "crlf.csv",
        &[],
        &[
            sugg("Rome", 3).cats(&["capital"]),
            sugg("Lima, Peru", 2).cats(&["city"]),
        ],
    );
}

#[test]
fn nul_bytes_are_bad_rows() {
    let nul_at = |at: u32| format!("NUL byte at byte {at} of the line; {NUL_HINT}");
    let (b3, b7, b9, b0) = (nul_at(3), nul_at(7), nul_at(9), nul_at(0));
    check(
        "nul.tsv",
        &[(2, &b3), (3, &b7), (4, &b9), (5, &b0)],
        &[sugg("ok", 1)],
    );
    let phrase_nul = format!("phrase holds a NUL character at byte 1; {NUL_HINT}");
    let b14 = nul_at(14);
    check(
        "nul.ndjson",
        &[(2, &phrase_nul), (3, &b14)],
        &[sugg("ok", 1)],
    );
    check("nul.csv", &[(3, &phrase_nul)], &[sugg("ok", 1)]);
}

#[test]
fn utf16_input_is_named() {
    let (b3, b0) = (
        format!("NUL byte at byte 3 of the line; {NUL_HINT}"),
        format!("NUL byte at byte 0 of the line; {NUL_HINT}"),
    );
    let out_dir = tempfile::tempdir().unwrap();
    let seg = out_dir.path().join("out.seg");
    let out = build_in(&corpus(), "utf16.tsv", &seg)
        .args(["--max-errors", "3"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no rows to build from"))
        .get_output()
        .clone();
    assert_bad_rows("utf16.tsv", &out.stderr, &[(1, &b3), (2, &b0), (3, &b0)]);
    check_fails(
        &corpus(),
        "utf16.csv",
        "holds NUL bytes: is the input UTF-16?",
    );
}

#[test]
fn tabs_inside_fields() {
    // TSV: a tab inside a field shifts the columns.
    check(
        "tabs.tsv",
        &[
            (
                1,
                "non-integer score \"York\": scores are non-negative integers; if the phrase \
                 holds a tab, replace it with a space",
            ),
            (2, "5 tab-separated columns, at most 4"),
            (4, "the third column must be a JSON object payload"),
        ],
        &[sugg("good", 2).cats(&["city"])],
    );
    // NDJSON: an escaped tab is whitespace (folded into the key, kept in the text); a raw one
    // is invalid JSON.
    check(
        "tabs.ndjson",
        &[(3, "invalid JSON: control character")],
        &[sugg("Tab\tCity", 4)],
    );
    // CSV: a tab inside a field is whitespace too.
    check("tabs.csv", &[], &[sugg("Tab\tTown", 3)]);
}

#[test]
fn scores_out_of_range_or_not_integers() {
    let over = "is over the maximum 18446744073709551615";
    check(
        "scores.tsv",
        &[
            (2, over),
            (3, over),
            (4, "non-integer score \"NaN\""),
            (5, "non-integer score \"inf\""),
            (6, "negative score \"-inf\""),
            (7, "negative score \"-1\""),
            (8, "negative score \"-0\""),
            (9, "non-integer score \"1.5\""),
            (10, "non-integer score \"1e3\""),
            (11, "non-integer score \"0x10\""),
            (12, "non-integer score \"１２\""),
            (13, "missing score"),
        ],
        &[
            sugg("max", u64::MAX),
            sugg("plus", 5),
            sugg("spaced", 7),
            sugg("zero", 0),
        ],
    );
    check(
        "scores.ndjson",
        &[
            (2, over),
            (3, "invalid JSON: expected value"),
            (4, "non-integer score \"NaN\""),
            (5, "invalid JSON: expected value"),
            (6, "invalid JSON: number out of range"),
            (7, "negative score -1"),
            (8, "negative score"),
            (9, "non-integer score 1.5"),
            (10, "write it as a plain integer (1000)"),
            (11, "write it as a plain integer (1)"),
            (12, "score must be an integer, got true"),
            (13, "missing score"),
            (15, over),
        ],
        &[sugg("max", u64::MAX), sugg("string", 42)],
    );
    check(
        "scores.csv",
        &[
            (3, over),
            (4, "non-integer score \"NaN\""),
            (5, "negative score \"-2\""),
            (6, "non-integer score \"0.5\""),
        ],
        &[sugg("max", u64::MAX), sugg("quoted", 8)],
    );
}

#[test]
fn invalid_utf8_is_a_bad_row() {
    let utf8 = |at: u32| format!("invalid UTF-8 at byte {at} of the line; re-encode");
    let (b14, b41, b42) = (utf8(14), utf8(41), utf8(42));
    // In the phrase, in a payload string, in a category (an overlong encoding); an escaped
    // lone surrogate is invalid JSON.
    check(
        "utf8.ndjson",
        &[
            (1, &b14),
            (2, &b41),
            (3, &b42),
            (4, "invalid JSON: unexpected end of hex escape"),
        ],
        &[sugg("café", 5), sugg("escaped é", 6)],
    );
    check("utf8.tsv", &[(1, &utf8(3))], &[sugg("ok", 2)]);
    check(
        "utf8.csv",
        &[(2, "phrase: invalid UTF-8 at byte 3 of column 1")],
        &[sugg("ok", 2)],
    );
}

#[test]
fn repeated_keys_in_a_row_are_refused() {
    // A repeated top-level key is a bad row; inside a payload the last one wins.
    check(
        "dupkeys.ndjson",
        &[
            (1, "duplicate key \"score\": give each key once"),
            (2, "duplicate key \"phrase\": give each key once"),
        ],
        &[sugg("d", 2).payload(r#"{"u":2}"#)],
    );
    check("dupkeys.tsv", &[], &[sugg("e", 3).payload(r#"{"u":2}"#)]);
    // A CSV header naming a column twice (case ignored) fails the build.
    check_fails(
        &corpus(),
        "dupkeys.csv",
        "dupkeys.csv:1: the CSV header names `score` twice (columns 2 and 3); keep one",
    );
}

/// 1 MiB, the default `--max-line-bytes`.
const MAX_LINE: usize = 1 << 20;

fn too_long(len: usize) -> String {
    format!("line is {len} bytes, over the limit of {MAX_LINE} (--max-line-bytes)")
}

#[test]
fn long_lines_are_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (mb, two_mib) = ("x".repeat(1_000_000), "y".repeat(2 * MAX_LINE));
    let tsv = format!("ok\t1\n{mb}\t5\n{two_mib}\t5\nafter\t2\n");
    std::fs::write(dir.path().join("long.tsv"), tsv).unwrap();
    let json =
        |phrase: &str, score: u32| format!("{{\"phrase\":\"{phrase}\",\"score\":{score}}}\n");
    let ndjson = [
        json("ok", 1),
        json(&mb, 5),
        json(&two_mib, 5),
        json("after", 2),
    ]
    .concat();
    std::fs::write(dir.path().join("long.ndjson"), ndjson).unwrap();
    std::fs::write(
        dir.path().join("long.csv"),
        format!("phrase,score\nok,1\n{mb},5\nafter,2\n"),
    )
    .unwrap();
    // A 1 MB line is under the line limit: its phrase is over the phrase limit.
    let phrase = "phrase is 1000000 bytes after normalization, over the limit of 256";
    let good = [sugg("ok", 1), sugg("after", 2)];
    let tsv_line = too_long(2 * MAX_LINE + 2);
    check_in(
        dir.path(),
        "long.tsv",
        &[(2, phrase), (3, &tsv_line)],
        &good,
    );
    let ndjson_line = too_long(2 * MAX_LINE + json("", 5).len() - 1);
    check_in(
        dir.path(),
        "long.ndjson",
        &[(2, phrase), (3, &ndjson_line)],
        &good,
    );
    check_in(dir.path(), "long.csv", &[(3, phrase)], &good);
    // A higher --max-line-bytes reads the line; its phrase is then too long.
    let seg = dir.path().join("raised.seg");
    let out = build_in(dir.path(), "long.tsv", &seg)
        .args(["--max-errors", "2", "--max-line-bytes", "4194304"])
        .assert()
        .success()
        .get_output()
        .clone();
    let two_mib_phrase = format!("phrase is {} bytes after normalization", 2 * MAX_LINE);
    assert_bad_rows(
        "long.tsv",
        &out.stderr,
        &[(2, phrase), (3, &two_mib_phrase)],
    );
}

/// Peak memory from a build's summary, in MiB.
fn peak_mib(stdout: &[u8]) -> f64 {
    let stdout = String::from_utf8_lossy(stdout);
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("peak memory"))
        .unwrap_or_else(|| panic!("no peak memory in {stdout}"));
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn a_line_without_end_is_read_in_bounded_memory() {
    // 100 MiB without a newline, gzip-compressed to about 100 KB.
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"first\t1\n").unwrap();
    let chunk = vec![b'z'; MAX_LINE];
    for _ in 0..100 {
        gz.write_all(&chunk).unwrap();
    }
    std::fs::write(dir.path().join("endless.tsv.gz"), gz.finish().unwrap()).unwrap();
    let seg = dir.path().join("out.seg");
    let out = build_in(dir.path(), "endless.tsv.gz", &seg)
        .args(["--max-errors", "1"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_bad_rows(
        "endless.tsv.gz",
        &out.stderr,
        &[(2, &too_long(100 * MAX_LINE))],
    );
    let peak = peak_mib(&out.stdout);
    assert!(peak < 50.0, "a 100 MiB line took {peak} MiB");
    assert_eq!(all_suggestions(&seg), [sugg("first", 1)]);
}

#[test]
fn csv_record_over_the_limit_fails_the_build() {
    // A quote left open pulls every later line into one field: reading stops at the limit.
    let dir = tempfile::tempdir().unwrap();
    let csv = format!(
        "phrase,score\nok,1\n\"open,2\n{}",
        "row,3\n".repeat(400_000)
    );
    std::fs::write(dir.path().join("open.csv"), csv).unwrap();
    check_fails(
        dir.path(),
        "open.csv",
        "open.csv:3: CSV record over 1048576 bytes (--max-line-bytes): is a quote left open?",
    );
    // Under a higher limit, the record is read whole: one over-long phrase.
    let seg = dir.path().join("out.seg");
    let out = build_in(dir.path(), "open.csv", &seg)
        .args(["--max-errors", "1", "--max-line-bytes", "8000000"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_bad_rows("open.csv", &out.stderr, &[(3, "missing score")]);
    assert_eq!(all_suggestions(&seg), [sugg("ok", 1)]);
}

/// Files in `dir` whose names say they are temporary.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

#[test]
fn truncated_gzip_fails_and_keeps_the_previous_segment() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |f: &dyn Fn(u32) -> String| (0..20_000).map(f).collect::<String>();
    let inputs = [
        ("t.tsv.gz", rows(&|i| format!("p{i}\t{i}\n"))),
        (
            "t.ndjson.gz",
            rows(&|i| format!("{{\"phrase\":\"p{i}\",\"score\":{i}}}\n")),
        ),
        (
            "t.csv.gz",
            format!("phrase,score\n{}", rows(&|i| format!("p{i},{i}\n"))),
        ),
    ];
    let seg = dir.path().join("out.seg");
    std::fs::write(dir.path().join("prev.tsv"), "previous\t1\n").unwrap();
    build_in(dir.path(), "prev.tsv", &seg).assert().success();
    let previous = std::fs::read(&seg).unwrap();
    for (name, text) in inputs {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let whole = gz.finish().unwrap();
        // Cut mid-stream, in the 8-byte trailer, and in the 10-byte header.
        for len in [whole.len() / 2, whole.len() - 4, 5] {
            std::fs::write(dir.path().join(name), &whole[..len]).unwrap();
            for stderr in failed_builds(dir.path(), name, &seg) {
                assert!(
                    stderr.contains(&format!("cannot read {name} "))
                        && stderr.contains("truncated or corrupt gzip data"),
                    "{name} cut to {len}: {stderr}"
                );
                assert_eq!(
                    std::fs::read(&seg).unwrap(),
                    previous,
                    "{name} cut to {len}"
                );
                assert!(temp_files(dir.path()).is_empty(), "temporary files left");
            }
        }
        // The whole file builds.
        std::fs::write(dir.path().join(name), &whole).unwrap();
        let other = dir.path().join("whole.seg");
        build_in(dir.path(), name, &other)
            .assert()
            .success()
            .stdout(predicates::str::contains("suggestions      20000\n"));
    }
}

/// A small deterministic generator (xorshift64).
struct Gen(u64);

impl Gen {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Spellings that the normalizer folds into one key: group `g`'s key is the same for all.
fn spelling(g: usize, gen: &mut Gen, tab: bool) -> String {
    const FOLDED: [&[&str]; 3] = [
        &["São Paulo", "SAO PAULO", "Sa\u{303}o  Paulo", "são paulo"],
        &["Zürich", "ZURICH", "Zu\u{308}rich", " zürich "],
        &["ﬁle room", "FILE ROOM", "File\u{a0}Room"],
    ];
    if let Some(list) = FOLDED.get(g) {
        return list[gen.below(list.len() as u64) as usize].to_string();
    }
    match gen.below(5) {
        0 => format!("word{g} place"),
        1 => format!("WORD{g} PLACE"),
        2 => format!("Word{g} Place"),
        3 => format!("  word{g}   place "),
        _ if tab => format!("word{g}\tplace"),
        _ => format!("word{g}  Place"),
    }
}

/// One input row of the merge test, with the group its phrase belongs to.
#[derive(Debug, Clone)]
struct GenRow {
    group: usize,
    phrase: String,
    score: u64,
    payload: Option<String>,
    categories: Vec<String>,
}

fn gen_row(group: usize, gen: &mut Gen, tab: bool) -> GenRow {
    let score = match group % 7 {
        0 => u64::MAX - gen.below(3),
        _ => gen.below(4),
    };
    let payload = (gen.below(3) == 0).then(|| format!("{{\"id\":{}}}", gen.below(3)));
    let bits = gen.below(8);
    let categories = ["a", "b", "c"]
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, c)| c.to_string())
        .collect();
    GenRow {
        group,
        phrase: spelling(group, gen, tab),
        score,
        payload,
        categories,
    }
}

fn tsv_line(r: &GenRow) -> String {
    let payload = r.payload.as_deref().unwrap_or("");
    let (phrase, score, cats) = (&r.phrase, r.score, r.categories.join(","));
    format!("{phrase}\t{score}\t{payload}\t{cats}\n")
}

fn ndjson_line(r: &GenRow) -> String {
    let mut row = serde_json::json!({"phrase": r.phrase, "score": r.score});
    if let Some(p) = &r.payload {
        row["payload"] = serde_json::from_str(p).unwrap();
    }
    row["categories"] = serde_json::json!(r.categories);
    format!("{row}\n")
}

/// The documented merge, computed here: scores add up (saturating); the text and payload are
/// the row with the highest score's, ties to the byte-wise smallest text, then payload (none
/// first); categories are the union.
fn expected_merge(rows: &[GenRow]) -> Vec<Sugg> {
    let mut groups: std::collections::BTreeMap<usize, Vec<&GenRow>> = Default::default();
    for r in rows {
        groups.entry(r.group).or_default().push(r);
    }
    let mut merged: Vec<Sugg> = groups
        .values()
        .map(|group| {
            let best = group
                .iter()
                .min_by(|a, b| {
                    (std::cmp::Reverse(a.score), a.phrase.as_bytes(), &a.payload).cmp(&(
                        std::cmp::Reverse(b.score),
                        b.phrase.as_bytes(),
                        &b.payload,
                    ))
                })
                .unwrap();
            let mut categories: Vec<String> =
                group.iter().flat_map(|r| r.categories.clone()).collect();
            categories.sort();
            categories.dedup();
            Sugg {
                text: best.phrase.clone(),
                score: group.iter().fold(0u64, |s, r| s.saturating_add(r.score)),
                payload: best.payload.clone(),
                categories,
            }
        })
        .collect();
    merged.sort();
    merged
}

#[test]
fn phrases_that_normalize_alike_merge_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let mut gen = Gen(0x9e37_79b9_7f4a_7c15);
    let (mut tsv, mut ndjson, mut rows) = (String::new(), String::new(), Vec::new());
    for group in 0..300 {
        for _ in 0..1 + gen.below(6) {
            let in_tsv = gen.below(2) == 0;
            let row = gen_row(group, &mut gen, !in_tsv);
            if in_tsv {
                tsv.push_str(&tsv_line(&row));
            } else {
                ndjson.push_str(&ndjson_line(&row));
            }
            rows.push(row);
        }
    }
    std::fs::write(dir.path().join("a.tsv"), tsv).unwrap();
    std::fs::write(dir.path().join("b.ndjson"), ndjson).unwrap();
    let seg = dir.path().join("merged.seg");
    cli()
        .current_dir(dir.path())
        .args(["build", "a.tsv", "b.ndjson", "-o", seg.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "rows read        {}\n",
            rows.len()
        )))
        .stdout(predicates::str::contains("suggestions      300\n"));
    assert_eq!(all_suggestions(&seg), expected_merge(&rows));
}

/// Rows enough for a build that takes about a second.
fn big_input(seed: u64) -> String {
    const WORDS: [&str; 8] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    ];
    let mut gen = Gen(seed);
    let mut text = String::with_capacity(12 << 20);
    for i in 0..300_000 {
        let w = |g: &mut Gen| WORDS[g.below(8) as usize];
        let (a, b, c) = (w(&mut gen), w(&mut gen), w(&mut gen));
        text.push_str(&format!("{a} {b} {c} {i}\t{}\n", gen.below(1_000_000)));
    }
    text
}

/// What a killed build may leave: at `out`, nothing (when there was nothing before), the
/// previous segment or the complete new one; beside it, only hidden temporary files, which
/// `verify` refuses unless they are the complete new segment. Removes those temporary files.
fn check_after_kill(dir: &Path, out: &Path, previous: Option<&[u8]>, new: &[u8], when: &str) {
    match std::fs::read(out) {
        Err(e) => assert!(
            e.kind() == std::io::ErrorKind::NotFound && previous.is_none(),
            "{when}: {e}"
        ),
        Ok(bytes) => assert!(
            Some(&bytes[..]) == previous || bytes == new,
            "{when}: {} holds {} bytes, neither the previous nor the new segment",
            out.display(),
            bytes.len()
        ),
    }
    let known = ["big-a.tsv", "big-b.tsv", "prev.seg", "new.seg", "out.seg"];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if known.contains(&name.as_str()) {
            continue;
        }
        assert!(
            name.starts_with(".edgesuggest-") && name.ends_with(".tmp"),
            "{when}: unexpected file {name}"
        );
        if std::fs::read(&path).unwrap() != new {
            cli()
                .args(["verify", path.to_str().unwrap()])
                .assert()
                .code(1);
        }
        std::fs::remove_file(&path).unwrap();
    }
}

/// Starts `build big-b.tsv -o out.seg`.
fn start_build(dir: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("edgesuggest"))
        .current_dir(dir)
        .args(["build", "big-b.tsv", "-o", "out.seg", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// SIGKILLs `child` (if it is still running) and reaps it.
fn kill(mut child: std::process::Child) {
    let _ = child.kill();
    child.wait().unwrap();
}

/// Starts a build and kills it as soon as its temporary file appears: while it writes.
fn kill_while_writing(dir: &Path, deadline: std::time::Duration) {
    let mut child = start_build(dir);
    let started = std::time::Instant::now();
    while started.elapsed() < deadline && child.try_wait().unwrap().is_none() {
        if !temp_files(dir).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    kill(child);
}

#[test]
fn killed_build_never_leaves_a_partial_segment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("big-a.tsv"), big_input(1)).unwrap();
    std::fs::write(d.join("big-b.tsv"), big_input(2)).unwrap();
    build_in(d, "big-a.tsv", &d.join("prev.seg"))
        .assert()
        .success();
    let started = std::time::Instant::now();
    build_in(d, "big-b.tsv", &d.join("new.seg"))
        .assert()
        .success();
    let full = started.elapsed();
    let previous = std::fs::read(d.join("prev.seg")).unwrap();
    let new = std::fs::read(d.join("new.seg")).unwrap();
    assert_ne!(previous, new);
    let out = d.join("out.seg");
    for with_previous in [true, false] {
        let previous = with_previous.then_some(&previous[..]);
        for percent in [0u32, 5, 20, 40, 60, 80, 90, 95, 100, 110] {
            let _ = std::fs::remove_file(&out);
            if let Some(bytes) = previous {
                std::fs::write(&out, bytes).unwrap();
            }
            let child = start_build(d);
            std::thread::sleep(full * percent / 100);
            kill(child);
            let when = format!("killed at {percent}% (previous: {with_previous})");
            check_after_kill(d, &out, previous, &new, &when);
        }
        for attempt in 0..3 {
            let _ = std::fs::remove_file(&out);
            if let Some(bytes) = previous {
                std::fs::write(&out, bytes).unwrap();
            }
            kill_while_writing(d, full * 3);
            let when = format!("killed while writing, attempt {attempt}");
            check_after_kill(d, &out, previous, &new, &when);
        }
    }
}

#[test]
fn partial_segment_files_never_verify() {
    // What a build killed while writing leaves in its temporary file: a prefix of a segment.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.tsv"), "New York\t5\nNewark\t3\n").unwrap();
    let seg = dir.path().join("c.seg");
    build_in(dir.path(), "c.tsv", &seg).assert().success();
    let whole = std::fs::read(&seg).unwrap();
    let partial = dir.path().join(".edgesuggest-partial.seg.tmp");
    for len in [0, 1, 8, 32, whole.len() / 2, whole.len() - 1] {
        std::fs::write(&partial, &whole[..len]).unwrap();
        cli()
            .args(["verify", partial.to_str().unwrap()])
            .assert()
            .code(1);
    }
}

#[test]
fn build_help_names_the_fault_rules() {
    let out = cli()
        .args(["build", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    // Whitespace runs as one space: the text is wrapped to the terminal.
    let help = String::from_utf8(out).unwrap();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for wanted in [
        "--max-line-bytes <BYTES> Longest line (TSV, NDJSON) or CSV record read",
        "[default: 1048576]",
        "A UTF-8 byte-order mark at the start of a file and CRLF line endings are accepted",
        "An input that cannot be read to its end (truncated gzip",
        "fails the build whatever --max-errors says",
        "an existing SEGMENT is only ever replaced by a complete new one, even if the build is \
         killed",
    ] {
        assert!(help.contains(wanted), "{wanted:?} not in {help}");
    }
}
