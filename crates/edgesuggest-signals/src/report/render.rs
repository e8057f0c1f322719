//! The report as a terminal table or as one JSON object, and the plan's text.

use std::fmt::Write;

use super::analysis::{Report, SRM_ALPHA};
use super::metrics::ArmMetrics;

/// A rate as a percentage with two decimals, `–` for none.
fn pct(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |v| format!("{:.2}%", v * 100.0))
}

/// A number with `digits` decimals, `–` for none.
fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.digits$}"))
}

/// A p-value: 4 decimals, or `< 0.0001`.
fn p_value(v: Option<f64>) -> String {
    match v {
        None => "–".to_string(),
        Some(p) if p < 1e-4 => "< 0.0001".to_string(),
        Some(p) => format!("{p:.4}"),
    }
}

/// The report as one JSON object (pretty, with a final newline).
pub fn render_json(report: &Report) -> String {
    // Serializing plain structs of numbers and strings cannot fail; an empty object would
    // only hide a bug, so the error is spelled out instead.
    match serde_json::to_string_pretty(report) {
        Ok(text) => text + "\n",
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

/// The report as a table for the terminal: a header, the arms, the comparisons, the SRM
/// check, the guardrails (failures in capitals), the daily CTR.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    header(&mut out, report);
    arms_table(&mut out, report);
    comparisons(&mut out, report);
    srm(&mut out, report);
    guardrails(&mut out, report);
    daily(&mut out, report);
    out
}

fn header(out: &mut String, report: &Report) {
    let s = &report.skipped;
    let _ =
        writeln!(
        out,
        "experiment {}: {} events from {} input(s); skipped {} of other experiments, {} without \
         variant, {} bad line(s)",
        report.experiment, report.events, report.inputs, s.other_experiment, s.no_variant,
        s.bad_lines
    );
    if report.users_in_several_arms > 0 {
        let _ = writeln!(
            out,
            "WARNING: {} user(s) appear in more than one arm; assignment should be sticky",
            report.users_in_several_arms
        );
    }
    out.push('\n');
}

/// The columns of the arms table: title and the cell of an arm.
type Column = (&'static str, fn(&ArmMetrics) -> String);

const COLUMNS: [Column; 12] = [
    ("users", |a| a.users.to_string()),
    ("sessions", |a| a.sessions.to_string()),
    ("impressions", |a| a.impressions.to_string()),
    ("clicks", |a| a.clicks.to_string()),
    ("CTR", |a| pct(a.ctr)),
    ("MRR", |a| num(a.mrr, 3)),
    ("saved", |a| num(a.keystrokes_saved, 2)),
    ("zero-sugg", |a| pct(a.zero_suggestion_rate)),
    ("errors", |a| pct(a.error_share)),
    ("p50 ms", |a| num(a.latency_p50_ms, 2)),
    ("p95 ms", |a| num(a.latency_p95_ms, 2)),
    ("took_us n", |a| a.latency_samples.to_string()),
];

fn arms_table(out: &mut String, report: &Report) {
    let name = |a: &ArmMetrics| match a.name == report.control {
        true => format!("{} (control)", a.name),
        false => a.name.clone(),
    };
    let mut rows = vec![std::iter::once("arm".to_string())
        .chain(COLUMNS.iter().map(|(t, _)| t.to_string()))
        .collect::<Vec<_>>()];
    for arm in &report.arms {
        let cells = COLUMNS.iter().map(|(_, cell)| cell(arm));
        rows.push(std::iter::once(name(arm)).chain(cells).collect());
    }
    table(out, &rows);
    out.push('\n');
}

/// Rows of cells, the first column left-aligned, the others right-aligned, widths fitted.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            match c {
                0 => line.push_str(&format!("{cell}{}", " ".repeat(pad))),
                _ => line.push_str(&format!("  {}{cell}", " ".repeat(pad))),
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn comparisons(out: &mut String, report: &Report) {
    for c in &report.comparisons {
        let pp = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:+.2}", v * 100.0));
        let _ = writeln!(
            out,
            "{} vs {}: CTR {} pp, 95% CI [{}, {}] pp, z = {}, p = {}",
            c.arm,
            c.control,
            pp(c.diff),
            pp(c.ci_low),
            pp(c.ci_high),
            num(c.z, 3),
            p_value(c.p_value)
        );
    }
}

fn srm(out: &mut String, report: &Report) {
    let s = &report.srm;
    let users: Vec<String> = s
        .arms
        .iter()
        .map(|a| match a.expected {
            Some(e) => format!("{} {} (expected {e:.1})", a.arm, a.users),
            None => format!("{} {} (weight 0)", a.arm, a.users),
        })
        .collect();
    let verdict = match s.flagged {
        true => {
            "SAMPLE RATIO MISMATCH: the split is not what was configured; do not trust \
                 the comparisons before finding out why"
        }
        false => "ok",
    };
    let _ = writeln!(
        out,
        "\nsample ratio: users {}; chi² = {}, df {}, p = {} (flagged below {SRM_ALPHA}): {verdict}",
        users.join(", "),
        num(s.chi_square, 3),
        s.df,
        p_value(s.p_value),
    );
    if !s.unexpected_arms.is_empty() {
        let _ = writeln!(
            out,
            "SAMPLE RATIO MISMATCH: users in arm(s) of weight 0 or not configured: {}",
            s.unexpected_arms.join(", ")
        );
    }
}

fn guardrails(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "\nguardrails (latency p95 ≤ {} ms, error share ≤ {}):",
        report.max_latency_p95_ms, report.max_error_share
    );
    for g in &report.guardrails {
        let _ = writeln!(
            out,
            "  {}: latency p95 {}, error share {}",
            g.arm,
            g.latency_p95.label(),
            g.error_share.label()
        );
    }
    let failed = report.failed_guardrails();
    if !failed.is_empty() {
        let _ = writeln!(out, "GUARDRAIL FAILED: {}", failed.join(", "));
    }
}

fn daily(out: &mut String, report: &Report) {
    let mut days: Vec<&str> = report
        .daily
        .iter()
        .flat_map(|a| a.days.iter().map(|d| d.day.as_str()))
        .collect();
    days.sort_unstable();
    days.dedup();
    let _ = writeln!(out, "\ndaily CTR (UTC):");
    let mut rows = vec![std::iter::once("day".to_string())
        .chain(report.daily.iter().map(|a| a.arm.clone()))
        .collect::<Vec<_>>()];
    for day in days {
        let cells = report.daily.iter().map(|a| {
            let ctr = a.days.iter().find(|d| d.day == day).map(|d| d.ctr);
            pct(ctr)
        });
        rows.push(std::iter::once(day.to_string()).chain(cells).collect());
    }
    table(out, &rows);
}

/// The text of `--plan`: the users per arm and what they mean.
pub fn plan_text(users: u64, baseline: f64, mde: f64, alpha: f64, power: f64) -> String {
    format!(
        "{users} users per arm\n\nto detect an absolute CTR change of {mde} over {baseline} \
         ({baseline} → {}) with a two-sided two-proportion z-test at alpha {alpha} and power \
         {power}. The test counts impressions as independent trials: the figure is users at \
         one impression per user. A user's impressions are correlated, so run until this many \
         users per arm, not this many impressions.\n",
        baseline + mde
    )
}
