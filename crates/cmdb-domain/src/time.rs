//! Time as bk-cmdb shows it: RFC 3339 with milliseconds (trailing zeros dropped) in the server's
//! offset, like Go's `time.Time` JSON. Stored instants are Unix milliseconds; formatting happens at
//! the edge so every response renders one clock reading identically.

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

/// The server's UTC offset, read once per call from the local zone.
pub fn server_offset() -> FixedOffset {
    *Local::now().offset()
}

/// Formats Unix milliseconds exactly as Go marshals `time.Time` (00-protocol §8):
/// `2022-01-05T17:28:27.069+08:00`, trailing zeros of the fraction dropped (no fraction at all
/// for whole seconds), `Z` for UTC. Because the width varies, stored times are never compared as
/// text: filters compare instants (see `cmdb-store`'s compiler).
pub fn format_millis(millis: i64) -> String {
    let offset = server_offset();
    let utc = DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default();
    format_datetime(&utc.with_timezone(&offset))
}

/// Formats a fixed-offset time in the stored wire form (see [`format_millis`]).
pub fn format_datetime(t: &DateTime<FixedOffset>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let ms = t.timestamp_subsec_millis();
    let mut frac = String::new();
    if ms != 0 {
        frac = format!(".{ms:03}");
        while frac.ends_with('0') {
            frac.pop();
        }
    }
    let offset = if t.offset().local_minus_utc() == 0 {
        "Z".to_string()
    } else {
        t.format("%:z").to_string()
    };
    format!("{base}{frac}{offset}")
}

/// Formats Unix milliseconds as `YYYY-MM-DD hh:mm:ss` in server local time (audit `operation_time`).
pub fn format_millis_plain(millis: i64) -> String {
    let offset = server_offset();
    let utc = DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default();
    utc.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Parses the date/time forms bk-cmdb accepts in queries and `time` attributes:
/// `2006-01-02 15:04:05` (server local time), RFC 3339, and `2006-01-02` (local midnight).
pub fn parse_query_time(text: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t);
    }
    let offset = server_offset();
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return offset.from_local_datetime(&naive).single();
    }
    if text.len() == 10 {
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return offset
                .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
                .single();
        }
    }
    None
}

/// Converts any accepted time form to the stored wire form (server offset, Go format), so that
/// stored times compare correctly as strings.
pub fn normalize_time(text: &str) -> Option<String> {
    let t = parse_query_time(text)?;
    Some(format_millis(t.timestamp_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_fraction() {
        let t = DateTime::parse_from_rfc3339("2022-01-05T17:28:27.069+08:00").unwrap();
        assert_eq!(format_datetime(&t), "2022-01-05T17:28:27.069+08:00");
        let t = DateTime::parse_from_rfc3339("2022-01-05T17:28:27.670+08:00").unwrap();
        assert_eq!(format_datetime(&t), "2022-01-05T17:28:27.67+08:00");
        let t = DateTime::parse_from_rfc3339("2022-01-05T17:28:27+00:00").unwrap();
        assert_eq!(format_datetime(&t), "2022-01-05T17:28:27Z");
    }

    #[test]
    fn query_forms() {
        assert!(parse_query_time("2021-05-13 01:00:00").is_some());
        assert!(parse_query_time("2021-05-13").is_some());
        assert!(parse_query_time("2021-05-13T01:00:00Z").is_some());
        assert!(parse_query_time("2021/05/13").is_none());
    }
}
