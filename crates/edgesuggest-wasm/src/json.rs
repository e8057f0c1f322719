//! Minimal JSON writing for `info()` (no serde: it would double the module size for one fixed
//! shape).

use std::fmt::Write;

use edgesuggest::SegmentInfo;

/// The `SuggesterInfo` object for segments in stack order, each with its kind (`base`,
/// `delta`, `blocklist`). `suggestions` is the first segment's (the base's), `bytes` the sum.
pub(crate) fn info<'a>(segments: impl Iterator<Item = (&'a str, SegmentInfo)>) -> String {
    let mut list = String::from("[");
    let mut suggestions = None;
    let mut bytes = 0u64;
    for (i, (kind, info)) in segments.enumerate() {
        if i > 0 {
            list.push(',');
        }
        suggestions.get_or_insert(info.suggestions);
        bytes = bytes.saturating_add(info.bytes);
        list.push_str(&segment(kind, &info));
    }
    list.push(']');
    format!(
        "{{\"segments\":{list},\"suggestions\":{},\"bytes\":{bytes}}}",
        suggestions.unwrap_or(0)
    )
}

/// One segment's object in `SuggesterInfo.segments`.
fn segment(kind: &str, info: &SegmentInfo) -> String {
    let mut sections = String::from("{");
    for (i, (name, bytes)) in info.sections.iter().enumerate() {
        if i > 0 {
            sections.push(',');
        }
        string(&mut sections, name);
        let _ = write!(sections, ":{bytes}");
    }
    sections.push('}');
    let mut categories = String::from("[");
    for (i, (name, _)) in info.categories.iter().enumerate() {
        if i > 0 {
            categories.push(',');
        }
        string(&mut categories, name);
    }
    categories.push(']');
    let mut kind_json = String::new();
    string(&mut kind_json, kind);
    format!(
        "{{\"kind\":{kind_json},\"format_version\":{},\"normalizer\":{{\"id\":{},\"version\":{}}},\
         \"word_starts\":{},\"categories\":{categories},\"suggestions\":{},\"source_rows\":{},\
         \"bytes\":{},\"sections\":{sections}}}",
        info.format_version,
        info.normalizer.0,
        info.normalizer.1,
        info.word_starts,
        info.suggestions,
        info.source_rows,
        info.bytes
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
