//! `edgesuggest completions SHELL` and `edgesuggest man`: shell completions and man pages,
//! generated from the same clap definitions as `--help`, so they never drift from it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Command, CommandFactory};
use clap_complete::Shell;

/// Print a shell completion script.
///
/// Load it once in the current shell, or install it where your shell looks for completions.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  source <(edgesuggest completions bash)
  edgesuggest completions bash > ~/.local/share/bash-completion/completions/edgesuggest
  edgesuggest completions zsh > \"${fpath[1]}/_edgesuggest\"
  edgesuggest completions fish > ~/.config/fish/completions/edgesuggest.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Write man pages (roff): `edgesuggest(1)` and one per command, `edgesuggest-build(1)`, ….
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  edgesuggest man | man -l -
  edgesuggest man --out-dir ~/.local/share/man/man1 && man edgesuggest-serve")]
pub struct ManArgs {
    /// Write every page into this directory instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell`.
pub fn run_completions(args: &CompletionsArgs) -> Result<()> {
    let mut command = crate::Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "edgesuggest", &mut out);
    out.flush()?;
    Ok(())
}

/// Prints the main man page, or writes all of them into `--out-dir`.
pub fn run_man(args: &ManArgs) -> Result<()> {
    let command = crate::Cli::command();
    match &args.out_dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let written = write_pages(&command, dir)?;
            eprintln!("wrote {written} man pages into {}", dir.display());
        }
    }
    Ok(())
}

/// Writes the page of `command` and of each subcommand (`edgesuggest-build.1`, …).
fn write_pages(command: &Command, dir: &std::path::Path) -> Result<usize> {
    let mut command = command.clone();
    command.build();
    let mut written = 0;
    for page in std::iter::once(command.clone()).chain(subcommand_pages(&command)) {
        let name = format!("{}.1", page.get_name());
        let path = dir.join(&name);
        let mut bytes = Vec::new();
        clap_mangen::Man::new(page).render(&mut bytes)?;
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        written += 1;
    }
    Ok(written)
}

/// Each subcommand as a page named `edgesuggest-<sub>` (help pseudo-commands left out).
fn subcommand_pages(command: &Command) -> Vec<Command> {
    command
        .get_subcommands()
        .filter(|sub| sub.get_name() != "help")
        .map(|sub| {
            let name = format!("{}-{}", command.get_name(), sub.get_name());
            sub.clone().name(name)
        })
        .collect()
}
