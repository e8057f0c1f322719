//! Change sets (hysteresis, min-change, the published set) and the state (lock, versions,
//! half-life, retried inputs).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use edgesuggest_signals::state::State;
use edgesuggest_signals::Params;

/// Parses a change set into (op, phrase, score).
fn parse_changes(text: &str) -> Vec<(String, String, Option<u64>)> {
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["op"].as_str().unwrap().to_string(),
                v["phrase"].as_str().unwrap().to_string(),
                v["score"].as_u64(),
            )
        })
        .collect()
}

fn changes_run(
    dir: &Path,
    inputs: Vec<std::path::PathBuf>,
    params: &Params,
    now: Option<u64>,
) -> Vec<(String, String, Option<u64>)> {
    let mut opts = options(dir, inputs, params.clone());
    opts.changes = Some(dir.join("changes.ndjson"));
    opts.now = now;
    run_with(&opts).unwrap();
    parse_changes(&read(&dir.join("changes.ndjson")))
}

#[test]
fn hysteresis_keeps_a_published_key_in_the_band_and_deletes_below() {
    let dir = tempfile::tempdir().unwrap();
    let params = Params {
        half_life_ms: DAY,
        ..Params::default()
    };
    // "oslo": pop 3 at T0. "bergen": pop 3 at T0 − 1.737 d, so 0.9 at T0: in the band, new.
    let mut events: Vec<Ev> = ["a", "b", "c"]
        .iter()
        .map(|u| search(T0, u, "Oslo"))
        .collect();
    let early = T0 - (1.737 * DAY as f64) as u64;
    events.extend(["a", "b", "c"].iter().map(|u| search(early, u, "Bergen")));
    let input = dir.path().join("e.ndjson");
    write_events(&input, &events);
    let first = changes_run(dir.path(), vec![input], &params, Some(T0));
    // A new key needs min-count: bergen (0.9) is not published.
    assert_eq!(first, [("upsert".into(), "Oslo".into(), Some(3000))]);
    // pop(T) = 3 · 2^(−Δ/1d): 0.9 at Δ = log2(3/0.9) d ≈ 1.737 d (in the band 0.75..1).
    let in_band = T0 + (1.737 * DAY as f64) as u64;
    assert_eq!(changes_run(dir.path(), vec![], &params, Some(in_band)), []);
    let explain = read(&dir.path().join("explain.tsv"));
    assert!(explain.contains("SKIP\tOslo\tmin-count\t"), "{explain}");
    // 0.7 at Δ ≈ 2.1 d: below 0.75, deleted.
    let below = T0 + (2.1 * DAY as f64) as u64;
    assert_eq!(
        changes_run(dir.path(), vec![], &params, Some(below)),
        [("delete".into(), "Oslo".into(), None)]
    );
    // Nothing left to change.
    assert_eq!(
        changes_run(dir.path(), vec![], &params, Some(below + DAY)),
        []
    );
}

#[test]
fn min_change_republishes_only_large_moves() {
    let dir = tempfile::tempdir().unwrap();
    let params = Params {
        half_life_ms: 10 * DAY,
        ..Params::default()
    };
    let events: Vec<Ev> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|u| search(T0, u, "lima"))
        .collect();
    let input = dir.path().join("e.ndjson");
    write_events(&input, &events);
    assert_eq!(
        changes_run(dir.path(), vec![input], &params, Some(T0)),
        [("upsert".into(), "lima".into(), Some(5000))]
    );
    // 5 · 2^(−1/10) = 4.665: −6.7%, under 10%: no line.
    assert_eq!(changes_run(dir.path(), vec![], &params, Some(T0 + DAY)), []);
    // 5 · 2^(−2/10) = 4.353: −12.9% of the published 5000: upsert.
    assert_eq!(
        changes_run(dir.path(), vec![], &params, Some(T0 + 2 * DAY)),
        [("upsert".into(), "lima".into(), Some(4353))]
    );
    // A new display form with more searches: upsert with the new display.
    let more = dir.path().join("f.ndjson");
    let forms: Vec<Ev> = ["f", "g", "h", "i", "j", "k"]
        .iter()
        .map(|u| search(T0 + 2 * DAY, u, "LIMA"))
        .collect();
    write_events(&more, &forms);
    let lines = changes_run(dir.path(), vec![more], &params, Some(T0 + 2 * DAY));
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0].0.as_str(), lines[0].1.as_str()),
        ("upsert", "LIMA")
    );
}

/// The spec's change rules computed by brute force over every key, from the oracle's sums.
fn expected_changes(
    events: &[Ev],
    now: u64,
    params: &Params,
    published: &mut BTreeMap<String, (String, u64)>,
) -> Vec<(String, String, Option<u64>)> {
    let mut lines = Vec::new();
    for (key, k) in oracle(events) {
        let (display, _, score, gate) = judge(&key, &k, now, params, params.min_count);
        let relaxed = judge(
            &key,
            &k,
            now,
            params,
            params.min_count * (1.0 - params.hysteresis),
        )
        .3
        .is_none();
        match published.get(&key).cloned() {
            None if gate.is_none() => {
                lines.push(("upsert".to_string(), display.clone(), Some(score)));
                published.insert(key, (display, score));
            }
            None => {}
            Some((old, _)) if !relaxed => {
                lines.push(("delete".to_string(), old, None));
                published.remove(&key);
            }
            Some((old, p)) => {
                let moved = (score as f64 - p as f64).abs() > params.min_change * p as f64;
                if gate.is_none() && (display != old || moved) {
                    lines.push(("upsert".to_string(), display.clone(), Some(score)));
                    published.insert(key, (display, score));
                }
            }
        }
    }
    lines
}

#[test]
fn change_sets_match_a_full_scan_run_after_run() {
    let params = Params {
        half_life_ms: 6 * HOUR,
        min_users: 2,
        ..Params::default()
    };
    let events = random_events(7, 4000, T0, 2 * DAY, 15);
    let dir = tempfile::tempdir().unwrap();
    let mut published = BTreeMap::new();
    let mut applied: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let chunks = 12;
    let (mut upserts, mut deletes) = (0, 0);
    for i in 0..=chunks + 6 {
        // The last runs bring no events: only decay (the due-time queue) changes things.
        let upto = (events.len() * (i.min(chunks) + 1) / (chunks + 1)).min(events.len());
        let from = events.len() * i.min(chunks + 1) / (chunks + 1);
        let batch = if i <= chunks {
            &events[from..upto]
        } else {
            &events[0..0]
        };
        let input = dir.path().join(format!("b{i}.ndjson"));
        write_events(&input, batch);
        let seen = &events[..upto];
        let now = watermark(seen) + i.saturating_sub(chunks) as u64 * 2 * HOUR;
        let got = changes_run(dir.path(), vec![input], &params, Some(now));
        let want = expected_changes(seen, now, &params, &mut published);
        assert_eq!(got, want, "run {i}");
        upserts += got.iter().filter(|c| c.0 == "upsert").count();
        deletes += got.iter().filter(|c| c.0 == "delete").count();
        for (op, phrase, score) in got {
            let key = edgesuggest::normalize_phrase(&phrase);
            match op.as_str() {
                "upsert" => applied.insert(key, (phrase, score.unwrap())),
                _ => applied.remove(&key),
            };
        }
        assert_eq!(applied, published);
    }
    assert!(
        upserts > 10 && deletes > 3,
        "{upserts} upserts, {deletes} deletes"
    );
}

#[test]
fn a_retried_input_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("e.ndjson");
    write_events(&input, &["a", "b", "c"].map(|u| search(T0, u, "quito")));
    let opts = options(dir.path(), vec![input.clone()], Params::default());
    run_with(&opts).unwrap();
    let state = State::dump(&dir.path().join("state")).unwrap();
    let (_, messages) = run_with(&opts).unwrap();
    assert!(messages[0].contains("already aggregated"), "{messages:?}");
    assert_eq!(read(&dir.path().join("rows.tsv")), "quito\t3000\n");
    assert_eq!(State::dump(&dir.path().join("state")).unwrap(), state);
    // Same path, new content: read.
    write_events(&input, &["d"].map(|u| search(T0, u, "quito")));
    run_with(&opts).unwrap();
    assert_eq!(read(&dir.path().join("rows.tsv")), "quito\t4000\n");
}

#[test]
fn bad_lines_over_the_limit_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("e.ndjson");
    let mut text: String = ["a", "b", "c"]
        .map(|u| search(T0, u, "quito").line() + "\n")
        .concat();
    text.push_str("{\"ts\":\"soon\",\"type\":\"search\",\"user\":\"u\",\"q\":\"x\"}\n");
    std::fs::write(&input, &text).unwrap();
    let mut opts = options(dir.path(), vec![input.clone()], Params::default());
    let mut messages = Vec::new();
    let err = edgesuggest_signals::run(&opts, &mut |m| messages.push(m.to_string())).unwrap_err();
    assert!(err.to_string().contains("1 bad line(s)"), "{err}");
    assert_eq!(
        messages,
        [format!(
            "{}:4: \"ts\" must be an integer ≥ 0 (milliseconds since the epoch), not \"soon\"",
            input.display()
        )]
    );
    assert!(!dir.path().join("state/state.redb").exists());
    assert!(!dir.path().join("rows.tsv").exists());
    opts.max_errors = 1;
    let (summary, _) = run_with(&opts).unwrap();
    assert!(summary.contains("bad lines        1"), "{summary}");
    assert_eq!(read(&dir.path().join("rows.tsv")), "quito\t3000\n");
}

#[test]
fn state_refuses_another_half_life_a_bad_version_and_a_second_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("e.ndjson");
    write_events(&input, &[search(T0, "a", "quito")]);
    let opts = options(dir.path(), vec![input.clone()], Params::default());
    run_with(&opts).unwrap();
    let other = options(
        dir.path(),
        vec![],
        Params {
            half_life_ms: DAY,
            ..Params::default()
        },
    );
    assert!(run_with(&other).unwrap_err().contains("--half-life"));
    // The lock: a second run while one holds it fails at once.
    let lock = edgesuggest_signals::state::StateLock::acquire(&dir.path().join("state")).unwrap();
    assert!(run_with(&opts).unwrap_err().contains("locked"));
    drop(lock);
    let path = dir.path().join("state/state.redb");
    set_format(&path, 99);
    assert!(run_with(&opts).unwrap_err().contains("format version 99"));
    set_format(&path, 2);
    run_with(&opts).unwrap();
    // Not a state at all, or one whose pages were overwritten.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[..4096].fill(0x5a);
    std::fs::write(&path, &bytes).unwrap();
    assert!(run_with(&opts).unwrap_err().contains("damaged"));
    std::fs::write(&path, b"not a database").unwrap();
    assert!(run_with(&opts).unwrap_err().contains("damaged"));
}

/// Rewrites the format version recorded in a state database.
fn set_format(path: &std::path::Path, version: u32) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
        let mut meta = txn.open_table(def).unwrap();
        meta.insert("format", version.to_le_bytes().as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn state_roundtrips_bit_exactly_with_sketches() {
    // 200 users: past the exact set, into the sketch.
    let events: Vec<Ev> = (0..200)
        .map(|u| search(T0 + u, &format!("u{u}"), "big city"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("e.ndjson");
    write_events(&input, &events);
    let opts = options(dir.path(), vec![input], Params::default());
    run_with(&opts).unwrap();
    let explain = read(&dir.path().join("explain.tsv"));
    let users: f64 = parse_explain(&explain)[0].fields["users"].parse().unwrap();
    assert!((users - 200.0).abs() <= 200.0 * 0.03, "{users}");
    // Loading and saving without a change keeps every record.
    let dir_state = dir.path().join("state");
    let bytes = State::dump(&dir_state).unwrap();
    State::load(&dir_state).unwrap().save(&dir_state).unwrap();
    assert_eq!(State::dump(&dir_state).unwrap(), bytes);
    // A run with no input rewrites the same explain (estimates survive the save).
    run_with(&options(dir.path(), vec![], Params::default())).unwrap();
    assert_eq!(read(&dir.path().join("explain.tsv")), explain);
}

#[test]
fn a_run_reads_only_the_keys_its_events_name_and_the_due_ones() {
    // A history of 2,000 keys, each searched by three users: all published.
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("history.ndjson");
    let history: Vec<Ev> = (0..2000u64)
        .flat_map(|k| ["a", "b", "c"].map(|u| search(T0 + k, u, &format!("city {k}"))))
        .collect();
    write_events(&first, &history);
    let mut opts = options(dir.path(), vec![first], Params::default());
    (opts.rows, opts.explain) = (None, None);
    opts.changes = Some(dir.path().join("changes-1.ndjson"));
    let summary = edgesuggest_signals::run(&opts, &mut |_| {}).unwrap();
    assert_eq!((summary.keys, summary.keys_loaded), (2000, 0));
    assert_eq!(summary.changes, Some((2000, 0)));
    // A minute later: two known keys and a new one. Only the two are read; the change set
    // holds exactly what changed.
    let minute = dir.path().join("minute.ndjson");
    write_events(
        &minute,
        &[
            search(T0 + 60_000, "d", "city 7"),
            search(T0 + 60_001, "d", "city 8"),
            search(T0 + 60_002, "d", "new town"),
        ],
    );
    opts.inputs = vec![minute];
    opts.changes = Some(dir.path().join("changes-2.ndjson"));
    let summary = edgesuggest_signals::run(&opts, &mut |_| {}).unwrap();
    assert_eq!((summary.keys, summary.keys_loaded), (2001, 2));
    assert!(summary.to_string().contains("2001 (2 read from the state)"));
    let changes = read(&dir.path().join("changes-2.ndjson"));
    assert_eq!(
        changes,
        "{\"op\":\"upsert\",\"phrase\":\"city 7\",\"score\":4000}\n\
         {\"op\":\"upsert\",\"phrase\":\"city 8\",\"score\":4000}\n"
    );
    // Rows need every key: then all are read.
    opts.rows = Some(dir.path().join("rows.tsv"));
    opts.inputs = vec![];
    let summary = edgesuggest_signals::run(&opts, &mut |_| {}).unwrap();
    assert_eq!(summary.keys_loaded, 2001);
    assert_eq!(read(&dir.path().join("rows.tsv")).lines().count(), 2000);
}

#[test]
fn a_damaged_state_is_an_error_never_a_panic() {
    // A state of a few hundred keys, published, with dedup pairs and inputs.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("e.ndjson");
    let events: Vec<Ev> = (0..300u64)
        .flat_map(|k| ["a", "b", "c"].map(|u| search(T0 + k, u, &format!("town {k}"))))
        .collect();
    write_events(&input, &events);
    let mut opts = options(dir.path(), vec![input.clone()], Params::default());
    opts.changes = Some(dir.path().join("changes.ndjson"));
    run_with(&opts).unwrap();
    let good = std::fs::read(dir.path().join("state/state.redb")).unwrap();
    let more = dir.path().join("more.ndjson");
    write_events(&more, &[search(T0 + 9_000, "d", "town 7")]);
    // Bytes changed anywhere in the file: the run answers Ok or a clear error.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut refused, mut accepted) = (0, 0);
    for round in 0..60 {
        let mut bytes = good.clone();
        for _ in 0..[1, 4, 32][round % 3] {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = next() as u8;
        }
        let case = dir.path().join(format!("case{round}"));
        std::fs::create_dir_all(case.join("state")).unwrap();
        std::fs::write(case.join("state/state.redb"), &bytes).unwrap();
        let mut opts = options(&case, vec![more.clone()], Params::default());
        opts.changes = Some(case.join("changes.ndjson"));
        match run_with(&opts) {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert!(e.contains("state"), "round {round}: {e}");
                refused += 1;
            }
        }
    }
    assert!(
        refused > 5 && accepted > 5,
        "{refused} refused, {accepted} accepted"
    );
}
