//! The daily CTR of every arm as a self-contained SVG line chart: one polyline per arm,
//! labelled axes, a legend. No scripts, fonts or external references.

use std::fmt::Write;

use super::analysis::Report;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 400.0;
/// Plot area margins: left (y labels), right (legend), top, bottom (x labels).
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
/// Line colours, cycled (distinguishable for the common colour-vision deficiencies).
const COLOURS: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
];

/// Escapes text for SVG content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The chart of the report's daily CTR per arm.
pub fn render_svg(report: &Report) -> String {
    let days = all_days(report);
    let top = y_top(report);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(
        out,
        "<title>Daily CTR per arm, experiment {}</title>\n<rect width=\"100%\" height=\"100%\" \
         fill=\"white\"/>",
        escape(&report.experiment)
    );
    axes(&mut out, &days, top, &report.experiment);
    for (i, arm) in report.daily.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = arm
            .days
            .iter()
            .filter_map(|d| {
                let at = days.iter().position(|day| *day == d.day)?;
                Some(format!(
                    "{:.1},{:.1}",
                    x_of(at, days.len()),
                    y_of(d.ctr, top)
                ))
            })
            .collect();
        let _ = writeln!(
            out,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
        legend(&mut out, i, colour, &arm.arm);
    }
    out.push_str("</svg>\n");
    out
}

/// Every day of any arm, sorted.
fn all_days(report: &Report) -> Vec<String> {
    let mut days: Vec<String> = report
        .daily
        .iter()
        .flat_map(|a| a.days.iter().map(|d| d.day.clone()))
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

/// The top of the y axis: the highest CTR plus a tenth, rounded up to a whole percent (at
/// least 1%, so an all-zero chart still has a scale).
fn y_top(report: &Report) -> f64 {
    let max = report
        .daily
        .iter()
        .flat_map(|a| a.days.iter().map(|d| d.ctr))
        .fold(0.0, f64::max);
    ((max * 1.1 * 100.0).ceil() / 100.0).clamp(0.01, 1.0)
}

fn x_of(index: usize, count: usize) -> f64 {
    let span = WIDTH - LEFT - RIGHT;
    match count {
        0 | 1 => LEFT + span / 2.0,
        _ => LEFT + span * index as f64 / (count - 1) as f64,
    }
}

fn y_of(ctr: f64, top: f64) -> f64 {
    HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (ctr / top).clamp(0.0, 1.0)
}

/// Axes, gridlines with CTR labels, day labels (thinned to at most ~10), and titles.
fn axes(out: &mut String, days: &[String], top: f64, experiment: &str) {
    let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP);
    let _ = writeln!(
        out,
        "<path d=\"M{x0},{y1} V{y0} H{x1}\" stroke=\"#333\" fill=\"none\"/>"
    );
    for step in 0..=4 {
        let ctr = top * f64::from(step) / 4.0;
        let y = y_of(ctr, top);
        let _ = writeln!(
            out,
            "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{:.1}%</text>",
            x0 - 6.0,
            y + 4.0,
            ctr * 100.0
        );
    }
    let every = days.len().div_ceil(10).max(1);
    for (i, day) in days.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x_of(i, days.len()),
            y0 + 18.0,
            escape(day)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">day (UTC)</text>\n\
         <text transform=\"translate(16,{:.1}) rotate(-90)\" text-anchor=\"middle\">CTR</text>\n\
         <text x=\"{:.1}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">Daily CTR per arm — {}</text>",
        (x0 + x1) / 2.0,
        HEIGHT - 16.0,
        (y0 + y1) / 2.0,
        (x0 + x1) / 2.0,
        escape(experiment)
    );
}

fn legend(out: &mut String, index: usize, colour: &str, arm: &str) {
    let x = WIDTH - RIGHT + 16.0;
    let y = TOP + 10.0 + 20.0 * index as f64;
    let _ = writeln!(
        out,
        "<line x1=\"{x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"3\"/>\
         <text x=\"{}\" y=\"{}\">{}</text>",
        x + 20.0,
        x + 26.0,
        y + 4.0,
        escape(arm)
    );
}
