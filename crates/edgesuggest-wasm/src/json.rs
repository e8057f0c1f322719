//! Minimal JSON writing for results (no serde: it would double the module size for two
//! fixed shapes).

use std::fmt::Write;

use edgesuggest::{SegmentInfo, Suggestion};

/// Writes `[{"text":…,"score":…,"highlight":[s,e],"payload":…}, …]` into `out`.
pub(crate) fn suggestions(out: &mut String, hits: &[Suggestion<'_>]) {
    out.clear();
    out.push('[');
    for (i, hit) in hits.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (start, end) = hit.highlight_utf16();
        out.push_str("{\"text\":");
        string(out, hit.text);
        let _ = write!(
            out,
            ",\"score\":{},\"highlight\":[{start},{end}]",
            hit.score
        );
        if let Some(payload) = hit.payload {
            // Payloads are validated JSON objects (checked by `edgesuggest build`).
            out.push_str(",\"payload\":");
            out.push_str(payload);
        }
        out.push('}');
    }
    out.push(']');
}

/// The `SuggesterInfo` object for one segment.
pub(crate) fn info(info: &SegmentInfo) -> String {
    let mut sections = String::from("{");
    for (i, (name, bytes)) in info.sections.iter().enumerate() {
        if i > 0 {
            sections.push(',');
        }
        string(&mut sections, name);
        let _ = write!(sections, ":{bytes}");
    }
    sections.push('}');
    let segment = format!(
        "{{\"formatVersion\":{},\"normalizer\":{{\"id\":{},\"version\":{}}},\"suggestions\":{},\
         \"sourceRows\":{},\"bytes\":{},\"sections\":{sections}}}",
        info.format_version,
        info.normalizer.0,
        info.normalizer.1,
        info.suggestions,
        info.source_rows,
        info.bytes
    );
    format!(
        "{{\"segments\":[{segment}],\"suggestions\":{},\"bytes\":{}}}",
        info.suggestions, info.bytes
    )
}

/// Writes `s` as a JSON string literal.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\n\u{1}é<img>");
        assert_eq!(out, r#""a\"b\\c\n\u0001é<img>""#);
    }
}
