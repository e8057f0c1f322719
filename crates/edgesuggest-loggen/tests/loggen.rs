//! `edgesuggest-loggen`: determinism, NDJSON and Parquet agree, every event is valid, and the
//! logs hold the features the aggregation is tested on.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use assert_cmd::Command;
use edgesuggest_loggen::model::{generate, Config, EXCLUDED_TERMS};
use edgesuggest_loggen::phrases::Phrases;
use edgesuggest_loggen::BUNDLED_PHRASES;
use edgesuggest_signals::{parquet, Event, EventType};

fn loggen(args: &[&str], out: &Path) {
    Command::cargo_bin("edgesuggest-loggen")
        .unwrap()
        .args(args)
        .arg("-o")
        .arg(out)
        .arg("--quiet")
        .assert()
        .success();
}

fn read_parquet(path: &Path) -> Vec<Event> {
    let mut events = Vec::new();
    parquet::read_events(path, &mut |row, event| {
        events.push(event.unwrap_or_else(|e| panic!("row {row}: {e}")));
        Ok(())
    })
    .unwrap();
    events
}

#[test]
fn same_seed_same_bytes_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["ndjson", "ndjson.gz", "parquet"] {
        let a = dir.path().join(format!("a.{format}"));
        let b = dir.path().join(format!("b.{format}"));
        let args = ["--events", "20000", "--seed", "5", "--format", format];
        loggen(&args, &a);
        loggen(&args, &b);
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{format}"
        );
    }
    let c = dir.path().join("c.ndjson");
    loggen(&["--events", "20000", "--seed", "6"], &c);
    assert_ne!(
        std::fs::read(&c).unwrap(),
        std::fs::read(dir.path().join("a.ndjson")).unwrap()
    );
}

#[test]
fn ndjson_and_parquet_hold_the_same_valid_events() {
    let dir = tempfile::tempdir().unwrap();
    let (nd, pq) = (dir.path().join("e.ndjson"), dir.path().join("e.parquet"));
    let args = ["--events", "30000", "--seed", "9", "--users", "300"];
    loggen(&args, &nd);
    loggen(&[&args[..], &["--format", "parquet"]].concat(), &pq);
    let from_parquet = read_parquet(&pq);
    let text = std::fs::read_to_string(&nd).unwrap();
    let from_ndjson: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(from_parquet.len(), 30_000);
    assert_eq!(from_ndjson.len(), 30_000);
    for (i, (a, b)) in from_parquet.iter().zip(&from_ndjson).enumerate() {
        assert_eq!(&serde_json::to_value(a).unwrap(), b, "event {i}");
        a.validate().unwrap();
    }
    assert!(from_parquet.windows(2).all(|w| w[0].ts <= w[1].ts));
}

#[test]
fn minute_files_follow_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("edgesuggest-loggen")
        .unwrap()
        .args([
            "--rate",
            "20",
            "--minutes",
            "3",
            "--quiet",
            "--minute-files",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let minute = dir.path().join("events/2026/11/01/00");
    let mut names: Vec<String> = std::fs::read_dir(&minute)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["00", "01", "02"]);
    let file = minute.join("01/loggen-1.ndjson.gz");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(file).unwrap()),
        &mut text,
    )
    .unwrap();
    for line in text.lines() {
        let ts = serde_json::from_str::<serde_json::Value>(line).unwrap()["ts"]
            .as_u64()
            .unwrap();
        assert_eq!((ts - 1_793_491_200_000) / 60_000, 1);
    }
}

fn sample(events: u64) -> Vec<Event> {
    let phrases = Phrases::parse(BUNDLED_PHRASES, "cities").unwrap();
    let config = Config {
        seed: 3,
        users: 2000,
        start_ms: 1_793_491_200_000,
        span_ms: 7 * 86_400_000,
        events,
        zipf: 1.0,
        spam_users: 3,
        typo_rate: 0.05,
        index: "cities".into(),
        experiment: None,
    };
    generate(&phrases, &config, &|_| {})
}

/// A search's text as the aggregation keys it, roughly: case and spacing folded.
fn folded(q: &str) -> String {
    q.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[test]
fn the_logs_hold_what_the_aggregation_is_tested_on() {
    let events = sample(100_000);
    assert_eq!(events.len(), 100_000);
    events.iter().for_each(|e| e.validate().unwrap());
    let searches: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == EventType::Search)
        .collect();
    let clicks = events.iter().filter(|e| e.kind == EventType::Click).count();
    assert!(clicks > 1_000, "{clicks} clicks");

    // Spam: a user searching one phrase hundreds of times.
    let mut per_user_q: HashMap<(&str, &str), usize> = HashMap::new();
    for s in &searches {
        *per_user_q
            .entry((&s.user, s.q.as_deref().unwrap()))
            .or_default() += 1;
    }
    let spammers = per_user_q.values().filter(|&&n| n >= 200).count();
    assert_eq!(spammers, 3);

    // Zero-result searches, typos among them.
    let zero = searches.iter().filter(|s| s.results == Some(0)).count();
    assert!(zero > 50, "{zero} zero-result searches");

    // Both arms, and clicks at several positions, mostly near the top.
    let variants: HashSet<&str> = events.iter().filter_map(|e| e.variant.as_deref()).collect();
    assert_eq!(variants, HashSet::from(["A", "B"]));
    let positions: Vec<u64> = events.iter().filter_map(|e| e.position).collect();
    let top = positions.iter().filter(|&&p| p == 0).count();
    assert!(top * 2 > positions.len() && positions.iter().any(|&p| p >= 3));

    // Excluded terms, each searched by several users.
    for term in EXCLUDED_TERMS {
        let users: HashSet<&str> = searches
            .iter()
            .filter(|s| s.q.as_deref() == Some(*term))
            .map(|s| s.user.as_str())
            .collect();
        assert!(users.len() >= 3, "{term}: {} users", users.len());
    }

    // Case and spacing variants of one phrase.
    let mut forms: HashMap<String, HashSet<&str>> = HashMap::new();
    for s in &searches {
        let q = s.q.as_deref().unwrap();
        forms.entry(folded(q)).or_default().insert(q);
    }
    assert!(
        forms.values().any(|f| f.len() >= 3),
        "no phrase searched in 3 forms"
    );
    assert!(searches
        .iter()
        .any(|s| s.q.as_deref().unwrap().contains("  ")));

    // Impressions join clicks by response id.
    let shown: HashSet<&str> = events
        .iter()
        .filter(|e| e.kind == EventType::Impression)
        .filter_map(|e| e.response_id.as_deref())
        .collect();
    assert!(events
        .iter()
        .filter(|e| e.kind == EventType::Click)
        .all(|c| shown.contains(c.response_id.as_deref().unwrap())));
}
