//! `edgesuggest build` on Parquet rows: the same segment as from TSV, bad rows by row number,
//! file-level errors instead of panics.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array};
use assert_cmd::Command;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use predicates::prelude::*;
use predicates::str::contains;

/// Rows of the bundled sample used here: enough for several row groups and record batches.
const ROWS: usize = 3000;

fn cli() -> Command {
    Command::cargo_bin("edgesuggest").unwrap()
}

fn build(inputs: &[&Path], segment: &Path) -> Command {
    let mut cmd = cli();
    cmd.arg("build").args(inputs).arg("-o").arg(segment);
    cmd
}

/// One row of `data/cities-10k.tsv`: phrase, score, payload, categories.
struct City {
    phrase: String,
    score: u64,
    payload: String,
    categories: String,
}

/// The first `ROWS` lines of the bundled sample, as text and parsed.
fn cities() -> (String, Vec<City>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/cities-10k.tsv");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().take(ROWS).collect();
    let parsed = lines
        .iter()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            City {
                phrase: f[0].to_string(),
                score: f[1].parse().unwrap(),
                payload: f[2].to_string(),
                categories: f[3].to_string(),
            }
        })
        .collect();
    (lines.join("\n") + "\n", parsed)
}

/// Writes one batch to a Parquet file in row groups of 1,000.
fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(1000))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

/// Categories as a LIST of UTF8.
fn category_lists(cities: &[City]) -> ArrayRef {
    let mut lists = ListBuilder::new(StringBuilder::new());
    for city in cities {
        for c in city.categories.split(',') {
            lists.values().append_value(c);
        }
        lists.append(true);
    }
    Arc::new(lists.finish())
}

fn segment_of(dir: &Path, input: &Path, name: &str) -> Vec<u8> {
    let seg = dir.join(name);
    build(&[input], &seg).assert().success();
    std::fs::read(seg).unwrap()
}

#[test]
fn parquet_and_tsv_build_the_same_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (tsv_text, cities) = cities();
    let tsv = dir.path().join("cities.tsv");
    std::fs::write(&tsv, tsv_text).unwrap();

    // Columns in another order, an extra column, Int64 scores, list categories.
    let lists = dir.path().join("lists.parquet");
    write_parquet(
        &lists,
        vec![
            ("extra", strings(cities.iter().map(|_| "ignored"))),
            ("categories", category_lists(&cities)),
            (
                "payload",
                strings(cities.iter().map(|c| c.payload.as_str())),
            ),
            (
                "score",
                Arc::new(
                    cities
                        .iter()
                        .map(|c| c.score as i64)
                        .collect::<Int64Array>(),
                ),
            ),
            ("phrase", strings(cities.iter().map(|c| c.phrase.as_str()))),
        ],
    );
    // Float scores, comma-separated text categories.
    let text = dir.path().join("text.parquet");
    write_parquet(
        &text,
        vec![
            ("phrase", strings(cities.iter().map(|c| c.phrase.as_str()))),
            (
                "score",
                Arc::new(
                    cities
                        .iter()
                        .map(|c| c.score as f64)
                        .collect::<Float64Array>(),
                ),
            ),
            (
                "payload",
                strings(cities.iter().map(|c| c.payload.as_str())),
            ),
            (
                "categories",
                strings(cities.iter().map(|c| c.categories.as_str())),
            ),
        ],
    );
    let from_tsv = segment_of(dir.path(), &tsv, "tsv.seg");
    assert_eq!(segment_of(dir.path(), &lists, "lists.seg"), from_tsv);
    assert_eq!(segment_of(dir.path(), &text, "text.seg"), from_tsv);
}

/// Six rows: two good, four bad (rows 2, 3, 4, 6).
fn bad_rows_file(dir: &Path) -> PathBuf {
    let path = dir.join("bad.parquet");
    let phrases: Vec<Option<&str>> = vec![
        Some("paris"),
        Some("rome"),
        Some("oslo"),
        None,
        Some("lima"),
        Some("kyiv"),
    ];
    let scores = vec![
        Some(10.0),
        Some(-3.0),
        Some(2.5),
        Some(4.0),
        Some(7.0),
        Some(1.0),
    ];
    let payloads: Vec<Option<&str>> = vec![
        Some("{\"id\":1}"),
        None,
        None,
        None,
        Some(" "),
        Some("{oops"),
    ];
    write_parquet(
        &path,
        vec![
            ("phrase", Arc::new(StringArray::from(phrases)) as ArrayRef),
            ("score", Arc::new(Float64Array::from(scores))),
            ("payload", Arc::new(StringArray::from(payloads))),
        ],
    );
    path
}

#[test]
fn bad_rows_are_reported_by_row_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let input = bad_rows_file(dir.path());
    let seg = dir.path().join("bad.seg");
    let name = input.display().to_string();
    build(&[&input], &seg)
        .assert()
        .failure()
        .stderr(contains(format!("{name}:row 2: negative score -3")))
        .stderr(contains(format!("{name}:row 3: non-integer score 2.5")))
        .stderr(contains(format!("{name}:row 4: \"phrase\" is null")))
        .stderr(contains(format!("{name}:row 6: payload is not valid JSON")))
        .stderr(contains("4 bad row(s), more than --max-errors 0"));
    assert!(!seg.exists());
    build(&[&input], &seg)
        .args(["--max-errors", "3"])
        .assert()
        .failure()
        .stderr(contains("more than --max-errors 3"));
    build(&[&input], &seg)
        .args(["--max-errors", "4"])
        .assert()
        .success()
        .stdout(contains("suggestions      2"));
}

#[test]
fn integer_types_and_missing_columns() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("u32.parquet");
    write_parquet(
        &small,
        vec![
            ("phrase", strings(["a b", "c d"].into_iter())),
            ("score", Arc::new(UInt32Array::from(vec![1, 2]))),
        ],
    );
    build(&[&small], &dir.path().join("u32.seg"))
        .assert()
        .success();

    let no_score = dir.path().join("noscore.parquet");
    write_parquet(
        &no_score,
        vec![
            ("phrase", strings(["a"].into_iter())),
            ("count", Arc::new(Int64Array::from(vec![1]))),
        ],
    );
    build(&[&no_score], &dir.path().join("x.seg"))
        .assert()
        .failure()
        .stderr(contains("column `score` is missing"))
        .stderr(contains("phrase, count"));

    let text_score = dir.path().join("textscore.parquet");
    write_parquet(
        &text_score,
        vec![
            ("phrase", strings(["a"].into_iter())),
            ("score", strings(["1"].into_iter())),
        ],
    );
    build(&[&text_score], &dir.path().join("x.seg"))
        .assert()
        .failure()
        .stderr(contains("column `score` has type Utf8"));
}

#[test]
fn broken_parquet_files_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cities) = cities();
    let good = dir.path().join("good.parquet");
    write_parquet(
        &good,
        vec![
            ("phrase", strings(cities.iter().map(|c| c.phrase.as_str()))),
            (
                "score",
                Arc::new(
                    cities
                        .iter()
                        .map(|c| c.score as i64)
                        .collect::<Int64Array>(),
                ),
            ),
        ],
    );
    let bytes = std::fs::read(&good).unwrap();
    let seg = dir.path().join("x.seg");
    let cases: [(&str, &[u8]); 4] = [
        ("empty.parquet", b""),
        ("garbage.parquet", b"phrase\tscore\nparis\t1\n"),
        ("head.parquet", &bytes[..bytes.len() / 2]),
        ("tail.parquet", &bytes[bytes.len() / 2..]),
    ];
    for (name, content) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        build(&[&path], &seg)
            .assert()
            .code(1)
            .stderr(contains("not a readable Parquet file").or(contains("corrupt Parquet file")))
            .stderr(contains("panicked").not());
    }
    // Damage inside the data pages: an error or (rarely) rows, never a panic.
    for at in (8..bytes.len() - 8).step_by(bytes.len() / 40) {
        let mut copy = bytes.clone();
        copy[at] ^= 0x5a;
        let path = dir.path().join("flipped.parquet");
        std::fs::write(&path, &copy).unwrap();
        let out = build(&[&path], &seg)
            .args(["--max-errors", "100000"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "byte {at}: {stderr}");
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "byte {at}"
        );
    }
    assert!(!seg.exists() || std::fs::read(&seg).is_ok());
}

#[test]
fn parquet_on_stdin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    cli()
        .args(["build", "-", "--format", "parquet", "-o"])
        .arg(dir.path().join("x.seg"))
        .write_stdin("PAR1")
        .assert()
        .failure()
        .stderr(contains("Parquet cannot be read from stdin"));
}
