//! What an answer says about the index version it came from: the version number, when it was
//! published, and its age; and the RFC 3339 form `edgesuggest publish` writes. Plain data and
//! arithmetic (the caller passes the time), so it is tested natively.

/// The published-at time of a version, as the manifest's `created` gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// The manifest's `created`, verbatim (RFC 3339).
    pub text: String,
    /// The same instant in milliseconds since the epoch; `None` when `text` is not the RFC 3339
    /// UTC form `edgesuggest publish` writes (the version still serves, without an age).
    pub ms: Option<f64>,
}

impl Created {
    /// Reads the manifest's `created`.
    pub fn parse(text: &str) -> Created {
        Created {
            text: text.to_string(),
            ms: rfc3339_ms(text),
        }
    }

    /// Whole seconds from publication to `now_ms`; 0 for a clock behind the publisher's.
    pub fn age_seconds(&self, now_ms: f64) -> Option<u64> {
        self.ms
            .map(|created| ((now_ms - created) / 1000.0).max(0.0) as u64)
    }
}

/// Milliseconds since the epoch of an RFC 3339 UTC time, `YYYY-MM-DDTHH:MM:SS[.fff]Z` (or
/// `+00:00`); `None` for anything else.
pub fn rfc3339_ms(text: &str) -> Option<f64> {
    let (date, time) = text.split_once(['T', 't'])?;
    let time = time
        .strip_suffix(['Z', 'z'])
        .or_else(|| time.strip_suffix("+00:00"))?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    // Four-digit years, as RFC 3339 has them: no overflow below.
    let in_range = (0..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..61).contains(&second);
    if !in_range || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The first three digits of the fraction, zero-padded: whole milliseconds, truncated.
    let millis = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0i64, |n, digit| n * 10 + i64::from(digit - b'0'));
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some((seconds * 1000 + millis) as f64)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since 1970 (civil-from-days, proleptic Gregorian).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_times_publish_writes() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            rfc3339_ms("2026-12-01T00:00:00Z"),
            Some(1_796_083_200_000.0)
        );
        assert_eq!(rfc3339_ms("2000-02-29T00:00:00Z"), Some(951_782_400_000.0));
        assert_eq!(
            rfc3339_ms("2026-12-01T00:00:01.250Z"),
            Some(1_796_083_201_250.0)
        );
        // Fractions of any length: whole milliseconds, truncated.
        for (fraction, millis) in [
            ("5", 500.0),
            ("05", 50.0),
            ("123456", 123.0),
            ("9999999", 999.0),
        ] {
            assert_eq!(
                rfc3339_ms(&format!("2026-12-01T00:00:01.{fraction}Z")),
                Some(1_796_083_201_000.0 + millis),
                "{fraction}"
            );
        }
        assert_eq!(
            rfc3339_ms("2026-12-01T00:00:01+00:00"),
            Some(1_796_083_201_000.0)
        );
        for bad in [
            "",
            "yesterday",
            "2026-12-01",
            "2026-12-01T00:00:00",
            "2026-13-01T00:00:00Z",
            "2026-12-01T00:00:00+02:00",
            "2026-12-01T00:00:00.x1Z",
            "2026-12-01T24:00:00Z",
            "99999999999999-12-01T00:00:00Z",
            "-5-12-01T00:00:00Z",
        ] {
            assert_eq!(rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_age_is_whole_seconds_and_never_negative() {
        let created = Created::parse("2026-12-01T00:00:00Z");
        let at = 1_796_083_200_000.0;
        assert_eq!(created.age_seconds(at + 41_999.0), Some(41));
        assert_eq!(created.age_seconds(at - 5_000.0), Some(0));
        assert_eq!(Created::parse("soon").age_seconds(at), None);
    }

    #[test]
    fn rfc3339_is_the_publishers_form() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_083_200), "2026-12-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
