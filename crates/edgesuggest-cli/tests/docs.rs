//! Shell completions and man pages are generated from the same definitions as `--help`:
//! every command appears in each, the bash script parses, and `man --out-dir` writes a page
//! per command.

use assert_cmd::Command;

fn cli() -> Command {
    Command::cargo_bin("edgesuggest").unwrap()
}

/// The command names `edgesuggest --help` lists.
fn commands() -> Vec<String> {
    let out = cli().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let section = help.split("Commands:").nth(1).unwrap();
    let names: Vec<String> = section
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Wrapped descriptions are indented further than names.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect();
    assert!(names.len() >= 15, "{names:?}");
    names
}

#[test]
fn completions_know_every_command_and_bash_parses_them() {
    let names = commands();
    for shell in ["bash", "zsh", "fish"] {
        let out = cli().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell} lacks {name}");
        }
        assert!(script.contains("listen"), "{shell} lacks serve's options");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edgesuggest.bash");
    std::fs::write(
        &path,
        cli().args(["completions", "bash"]).output().unwrap().stdout,
    )
    .unwrap();
    let parsed = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .unwrap();
    assert!(parsed.success(), "bash -n refused the completion script");
    let refused = cli().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("possible values"));
}

#[test]
fn man_writes_one_page_per_command() {
    let page = cli().arg("man").output().unwrap();
    assert!(page.status.success());
    let page = String::from_utf8(page.stdout).unwrap();
    assert!(
        page.contains(".TH edgesuggest 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    let dir = tempfile::tempdir().unwrap();
    cli()
        .arg("man")
        .arg("--out-dir")
        .arg(dir.path())
        .assert()
        .success();
    let names = commands();
    for name in names
        .iter()
        .map(|n| format!("edgesuggest-{n}"))
        .chain(["edgesuggest".into()])
    {
        let path = dir.path().join(format!("{name}.1"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("no {name}.1"));
        assert!(text.contains(&format!(".TH {name} 1")), "{name}");
    }
    let pages = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(pages, names.len() + 1);
}
