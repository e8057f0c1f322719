use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{LargeListBuilder, LargeStringBuilder, ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray,
    UInt64Array,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use super::*;
use crate::{Event, EventType, RowOut, SignalsError};

fn event(ts: u64, kind: EventType) -> Event {
    Event::new(ts, kind, &format!("u{}", ts % 7))
}

fn sample_events() -> Vec<Event> {
    let mut search = event(1_764_633_600_000, EventType::Search);
    search.q = Some("New York".into());
    search.results = Some(120);
    search.session = Some("s1".into());
    let mut shown = event(1_764_633_600_001, EventType::Impression);
    shown.q = Some("new y".into());
    shown.suggestions = Some(vec!["New York City".into(), "New York Mills".into()]);
    shown.response_id = Some("r9".into());
    shown.variant = Some("A".into());
    shown.index = Some("cities".into());
    shown.version = Some("42".into());
    let mut nothing_shown = event(1_764_633_600_002, EventType::Impression);
    nothing_shown.suggestions = Some(vec![]);
    let mut click = event(1_764_633_601_200, EventType::Click);
    click.text = Some("New York City".into());
    click.position = Some(0);
    let mut zero = event(5, EventType::Search);
    zero.q = Some("ünïcödé 東京".into());
    zero.results = Some(0);
    vec![search, shown, nothing_shown, click, zero]
}

/// Every row of an event file: (row, event or reason).
/// Each row's number and what was read from it.
type Rows<T> = Vec<(u64, Result<T, String>)>;

fn read_all_events(path: &Path) -> Result<Rows<Event>, SignalsError> {
    let mut out = Vec::new();
    read_events(path, &mut |row, event| {
        out.push((row, event));
        Ok(())
    })?;
    Ok(out)
}

fn read_all_rows(path: &Path) -> Result<Rows<ScoredRow>, SignalsError> {
    let mut out = Vec::new();
    read_rows(path, &mut |row, r| {
        out.push((row, r));
        Ok::<(), SignalsError>(())
    })?;
    Ok(out)
}

/// Writes one batch as it is (any schema), row groups of `group_rows`.
fn write_batch(path: &Path, columns: Vec<(&str, ArrayRef)>, group_rows: usize) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn strs(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

fn ints(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

#[test]
fn events_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.parquet");
    let events = sample_events();
    write_events(&path, &events).unwrap();
    let read = read_all_events(&path).unwrap();
    let rows: Vec<u64> = read.iter().map(|(r, _)| *r).collect();
    assert_eq!(rows, vec![1, 2, 3, 4, 5]);
    let back: Vec<Event> = read.into_iter().map(|(_, e)| e.unwrap()).collect();
    assert_eq!(back, events);
    // Only the target remains: the temporary file was renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn many_events_stream_in_batches_with_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.parquet");
    let mut writer = EventWriter::create(&path).unwrap();
    for i in 0..20_000u64 {
        let mut e = event(i, EventType::Search);
        e.q = Some(format!("q{i}"));
        writer.push(&e).unwrap();
    }
    writer.finish().unwrap();
    let mut n = 0u64;
    read_events(&path, &mut |row, e| {
        n += 1;
        assert_eq!(row, n);
        assert_eq!(e.unwrap().q, Some(format!("q{}", row - 1)));
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 20_000);
}

#[test]
fn other_layouts_are_read_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.parquet");
    let mut lists = LargeListBuilder::new(LargeStringBuilder::new());
    lists.values().append_value("a");
    lists.values().append_value("b");
    lists.append(true);
    lists.append(false);
    write_batch(
        &path,
        vec![
            ("extra", strs(&[Some("x"), None])),
            ("version", Arc::new(Int64Array::from(vec![Some(7), None]))),
            ("suggestions", Arc::new(lists.finish())),
            ("user", Arc::new(LargeStringArray::from(vec!["u1", "u2"]))),
            ("type", strs(&[Some("impression"), Some("search")])),
            ("results", Arc::new(UInt64Array::from(vec![None, Some(3)]))),
            ("ts", Arc::new(Int32Array::from(vec![10, 20]))),
            ("q", strs(&[None, Some("x")])),
        ],
        1000,
    );
    let read = read_all_events(&path).unwrap();
    let first = read[0].1.as_ref().unwrap();
    assert_eq!(first.suggestions, Some(vec!["a".into(), "b".into()]));
    assert_eq!(first.version.as_deref(), Some("7"));
    assert_eq!((first.ts, first.user.as_str()), (10, "u1"));
    let second = read[1].1.as_ref().unwrap();
    assert_eq!((second.kind, second.results), (EventType::Search, Some(3)));
}

#[test]
fn bad_rows_are_reported_by_number_across_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.parquet");
    let mut lists = ListBuilder::new(StringBuilder::new());
    for i in 0..7 {
        if i == 6 {
            lists.values().append_null();
        }
        lists.append(i == 6);
    }
    write_batch(
        &path,
        vec![
            (
                "ts",
                ints(&[Some(1), None, Some(-5), Some(1), Some(1), Some(1), Some(1)]),
            ),
            (
                "type",
                strs(&[
                    Some("search"),
                    Some("search"),
                    Some("search"),
                    None,
                    Some("hover"),
                    Some("search"),
                    Some("impression"),
                ]),
            ),
            ("user", strs(&[Some("u"); 7])),
            (
                "q",
                strs(&[
                    Some("ok"),
                    Some("a"),
                    Some("a"),
                    Some("a"),
                    Some("a"),
                    None,
                    None,
                ]),
            ),
            ("suggestions", Arc::new(lists.finish())),
        ],
        2,
    );
    let read = read_all_events(&path).unwrap();
    let reasons: Vec<String> = read
        .iter()
        .map(|(_, r)| r.clone().err().unwrap_or_default())
        .collect();
    assert_eq!(
        read.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    assert_eq!(reasons[0], "");
    assert!(reasons[1].contains("\"ts\" is null"), "{}", reasons[1]);
    assert!(reasons[2].contains("negative \"ts\" -5"), "{}", reasons[2]);
    assert!(reasons[3].contains("\"type\" is null"), "{}", reasons[3]);
    assert!(reasons[4].contains("unknown \"type\""), "{}", reasons[4]);
    assert!(reasons[5].contains("needs \"q\""), "{}", reasons[5]);
    assert!(
        reasons[6].contains("suggestions[0] is null"),
        "{}",
        reasons[6]
    );
}

#[test]
fn missing_or_mistyped_columns_fail_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let no_ts = dir.path().join("no_ts.parquet");
    write_batch(
        &no_ts,
        vec![
            ("type", strs(&[Some("search")])),
            ("user", strs(&[Some("u")])),
        ],
        10,
    );
    let err = read_all_events(&no_ts).unwrap_err().to_string();
    assert!(
        err.contains("column `ts` is missing") && err.contains("INT64"),
        "{err}"
    );

    let text_ts = dir.path().join("text_ts.parquet");
    write_batch(
        &text_ts,
        vec![
            ("ts", strs(&[Some("1")])),
            ("type", strs(&[Some("search")])),
            ("user", strs(&[Some("u")])),
        ],
        10,
    );
    let err = read_all_events(&text_ts).unwrap_err().to_string();
    assert!(err.contains("column `ts` has type Utf8"), "{err}");

    let float_pos = dir.path().join("float_pos.parquet");
    write_batch(
        &float_pos,
        vec![
            ("ts", ints(&[Some(1)])),
            ("type", strs(&[Some("click")])),
            ("user", strs(&[Some("u")])),
            ("position", Arc::new(Float64Array::from(vec![1.0]))),
        ],
        10,
    );
    let err = read_all_events(&float_pos).unwrap_err().to_string();
    assert!(err.contains("column `position` has type Float64"), "{err}");
}

#[test]
fn broken_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.parquet");
    write_events(&good, &sample_events()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let broken = dir.path().join("broken.parquet");
    for cut in [0, 4, bytes.len() / 2, bytes.len() - 9, bytes.len() - 1] {
        std::fs::write(&broken, &bytes[..cut]).unwrap();
        let err = read_all_events(&broken).unwrap_err().to_string();
        assert!(err.contains("not a readable Parquet file"), "{err}");
    }
    std::fs::write(&broken, b"ts,type,user\n1,search,u\n").unwrap();
    assert!(read_all_events(&broken).is_err());
    assert!(matches!(
        read_all_events(&dir.path().join("absent.parquet")),
        Err(SignalsError::Io { .. })
    ));
}

#[test]
fn flipped_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.parquet");
    write_events(&events, &sample_events()).unwrap();
    let rows = dir.path().join("rows.parquet");
    let row = |i: u64| RowOut {
        phrase: format!("p{}", i % 5),
        score: i,
        popularity: 1.0,
        users: 3,
        impressions: 2.0,
        clicks: 1.0,
        ctr: 0.5,
    };
    write_rows(&rows, &(0..50).map(row).collect::<Vec<_>>()).unwrap();
    let broken = dir.path().join("flipped.parquet");
    for good in [events, rows] {
        let bytes = std::fs::read(&good).unwrap();
        // Every byte, three ways: whatever the outcome (often still readable), no panic.
        for at in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut copy = bytes.clone();
                copy[at] ^= flip;
                std::fs::write(&broken, &copy).unwrap();
                let _ = read_all_events(&broken);
                let _ = read_all_rows(&broken);
            }
        }
    }
}

#[test]
fn rows_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.parquet");
    let rows = vec![
        RowOut {
            phrase: "new york".into(),
            score: 1500,
            popularity: 1.5,
            users: 3,
            impressions: 10.0,
            clicks: 1.0,
            ctr: 0.05,
        },
        RowOut {
            phrase: "paris".into(),
            score: 7,
            popularity: 0.007,
            users: 9,
            impressions: 0.0,
            clicks: 0.0,
            ctr: 0.05,
        },
    ];
    write_rows(&path, &rows).unwrap();
    let read = read_all_rows(&path).unwrap();
    let got: Vec<(String, u64)> = read
        .into_iter()
        .map(|(_, r)| r.unwrap())
        .map(|r| (r.phrase, r.score))
        .collect();
    assert_eq!(got, vec![("new york".into(), 1500), ("paris".into(), 7)]);
}

/// Six rows with float scores: a whole one with categories and a payload, then a fraction, a
/// negative, a null, a NaN with a null phrase, and one past the largest score.
fn write_float_scores(path: &std::path::Path) {
    let mut cats = ListBuilder::new(StringBuilder::new());
    for i in 0..6 {
        cats.values().append_value(format!("c{i}"));
        cats.append(true);
    }
    let scores = [
        Some(2.0),
        Some(2.5),
        Some(-3.0),
        None,
        Some(f64::NAN),
        Some(1e30),
    ];
    write_batch(
        path,
        vec![
            ("score", Arc::new(Float64Array::from(scores.to_vec()))),
            (
                "phrase",
                strs(&[Some("a"), Some("b"), Some("c"), Some("d"), None, Some("f")]),
            ),
            ("categories", Arc::new(cats.finish())),
            (
                "payload",
                strs(&[Some("{\"u\":1}"), None, None, None, None, None]),
            ),
        ],
        100,
    );
}

#[test]
fn float_scores_are_checked_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let floats = dir.path().join("floats.parquet");
    write_float_scores(&floats);
    let read = read_all_rows(&floats).unwrap();
    let first = read[0].1.as_ref().unwrap();
    assert_eq!(
        (first.score, first.payload.as_deref()),
        (2, Some("{\"u\":1}"))
    );
    assert_eq!(first.categories, Some(Categories::List(vec!["c0".into()])));
    let reasons: Vec<String> = read[1..]
        .iter()
        .map(|(_, r)| r.clone().unwrap_err())
        .collect();
    assert!(
        reasons[0].contains("non-integer score 2.5"),
        "{}",
        reasons[0]
    );
    assert!(reasons[1].contains("negative score -3"), "{}", reasons[1]);
    assert!(reasons[2].contains("missing score"), "{}", reasons[2]);
    assert!(reasons[3].contains("\"phrase\" is null"), "{}", reasons[3]);
    assert!(reasons[4].contains("over the maximum"), "{}", reasons[4]);
}

#[test]
fn rows_without_score_fail_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noscore.parquet");
    write_batch(
        &path,
        vec![("phrase", strs(&[Some("a")])), ("n", ints(&[Some(1)]))],
        10,
    );
    let err = read_all_rows(&path).unwrap_err().to_string();
    assert!(
        err.contains("column `score` is missing") && err.contains("phrase, n"),
        "{err}"
    );
}
