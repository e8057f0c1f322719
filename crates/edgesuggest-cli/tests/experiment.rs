//! `edgesuggest experiment`: a configuration is checked, then written as the one KV entry the
//! worker reads; a bad one writes nothing and says why; `--stop` deletes the entry.

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

fn cli() -> Command {
    Command::cargo_bin("edgesuggest").unwrap()
}

#[test]
fn a_good_configuration_becomes_the_experiment_entry() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ctr.json");
    std::fs::write(
        &config,
        r#"{"experiment":"ctr-1","arms":[{"name":"control","index":"cities","weight":50},
            {"name":"ctr","index":"cities-ctr","options":{"fuzzy":"auto"},"weight":50},
            {"name":"holdout","holdout":true,"weight":0}]}"#,
    )
    .unwrap();
    let out = dir.path().join("kv");
    cli()
        .args(["experiment", config.to_str().unwrap(), "--out-dir"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("wrangler kv bulk put"));
    let bulk: Value =
        serde_json::from_slice(&std::fs::read(out.join("experiment.json")).unwrap()).unwrap();
    assert_eq!(bulk[0]["key"], "experiment");
    let stored: Value = serde_json::from_str(bulk[0]["value"].as_str().unwrap()).unwrap();
    assert_eq!(stored["experiment"], "ctr-1");
    assert_eq!(stored["arms"][1]["options"]["fuzzy"], "auto");
    assert_eq!(stored["arms"][2]["holdout"], true);

    cli()
        .args(["experiment", "--stop", "--out-dir"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("wrangler kv bulk delete"));
    let keys: Value =
        serde_json::from_slice(&std::fs::read(out.join("experiment-stop.json")).unwrap()).unwrap();
    assert_eq!(keys, serde_json::json!(["experiment"]));
}

#[test]
fn a_bad_configuration_writes_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kv");
    let cases = [
        (r#"{"experiment":"x","arms":[]}"#, "1 to 16"),
        (
            r#"{"experiment":"x","arms":[{"name":"A","weight":1}]}"#,
            "holdout",
        ),
        (
            r#"{"experiment":"x","arms":[{"name":"A","index":"i","weight":1,"options":{"q":"x"}}]}"#,
            "unknown option",
        ),
        ("not json", "not an experiment"),
    ];
    for (json, why) in cases {
        let config = dir.path().join("bad.json");
        std::fs::write(&config, json).unwrap();
        cli()
            .args(["experiment", config.to_str().unwrap(), "--out-dir"])
            .arg(&out)
            .assert()
            .failure()
            .stderr(contains(why));
        assert!(!out.join("experiment.json").exists(), "{json}");
    }
    cli()
        .args(["experiment", "--out-dir"])
        .arg(&out)
        .assert()
        .code(2);
}
