//! Text and number formats shared by value validation, default fill and definition checks:
//! calendar dates, time stamps, time-zone names, user lists, strict ids and canonical numbers.
//! Each rule lives here once so the instance path and the attribute-definition path cannot drift.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::{Number, Value};

/// Smallest `f64` that no longer fits an `i64` (2^63).
const I64_BOUND: f64 = 9_223_372_036_854_775_808.0;

/// Checks `text` against a byte shape where `d` stands for an ASCII digit and every other byte
/// must match literally.
fn has_shape(text: &[u8], shape: &[u8]) -> bool {
    text.len() == shape.len()
        && text.iter().zip(shape).all(|(c, s)| match s {
            b'd' => c.is_ascii_digit(),
            lit => c == lit,
        })
}

/// `YYYY-MM-DD` that is a real calendar day (Go `time.Parse(time.DateOnly)`): months 01–12, day
/// valid for the month, leap years honoured.
pub fn is_date(text: &str) -> bool {
    has_shape(text.as_bytes(), b"dddd-dd-dd") && NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

/// True when `text` is one of the two accepted `time` forms: `YYYY-MM-DD hh:mm:ss` (server local
/// time) or RFC 3339 with `T`, optional fraction and `Z`/`±hh:mm`.
pub fn is_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    if has_shape(bytes, b"dddd-dd-dd dd:dd:dd") {
        return NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").is_ok();
    }
    match bytes.get(..19) {
        Some(head) if bytes.len() > 19 && has_shape(head, b"dddd-dd-ddTdd:dd:dd") => {
            DateTime::parse_from_rfc3339(text).is_ok()
        }
        _ => false,
    }
}

/// The stored form of a `time` value (server offset, Go RFC 3339 rendering), or `None` when the
/// text is not an accepted time (or names a local time that does not exist).
pub fn normalize_time_value(text: &str) -> Option<String> {
    if !is_time(text) {
        return None;
    }
    crate::time::normalize_time(text)
}

/// bk-cmdb's time-zone pattern `^[a-zA-Z0-9\-−_/+]+$` (the `−` is U+2212).
pub fn is_timezone(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '\u{2212}' | '_' | '/' | '+'))
}

/// bk-cmdb's user-list pattern `^(\d|[a-zA-Z])([a-zA-Z0-9@.,_-])*$`.
pub fn is_user_list(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphanumeric() => {
            chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | ',' | '_' | '-'))
        }
        _ => false,
    }
}

/// bk-cmdb's strict id pattern `^[a-zA-Z]\w*$` with Go's ASCII-only `\w`.
pub fn is_strict_id(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    }
}

/// An integral `f64` that fits an `i64`, as that integer.
fn integral_f64(f: f64) -> Option<i64> {
    (f.is_finite() && f.fract() == 0.0 && (-I64_BOUND..I64_BOUND).contains(&f)).then_some(f as i64)
}

/// The integer held by a JSON number: any `i64`, or an integral float within `i64` (`5.0` → 5).
/// `None` for fractions and for integers beyond `i64`.
pub fn number_as_i64(n: &Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.is_u64() {
        return None;
    }
    n.as_f64().and_then(integral_f64)
}

/// True when a JSON value is an integer number (`i64`/`u64`, not a float literal).
pub fn is_json_integer(value: &Value) -> bool {
    matches!(value, Value::Number(n) if n.is_i64() || n.is_u64())
}

/// True when a JSON value is an integer number > 0 that fits an `i64`.
pub fn is_positive_id(value: &Value) -> bool {
    matches!(value, Value::Number(n) if n.as_i64().is_some_and(|i| i > 0))
}

/// A float as the JSON number to store: integral values within `i64` become integers (Go prints
/// a float64 `5` as `5`, not `5.0`). `None` for NaN and infinities.
pub fn float_to_value(f: f64) -> Option<Value> {
    if let Some(i) = integral_f64(f) {
        return Some(Value::from(i));
    }
    Number::from_f64(f).map(Value::Number)
}

/// Parses a numeric string like Go's `strconv.ParseFloat`, keeping only finite results.
pub fn parse_finite_f64(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Canonical decimal text of a JSON number: `5`, `5.0` and `5e0` all give `"5"`.
pub fn number_text(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) => match integral_f64(f) {
            Some(i) => i.to_string(),
            None => format!("{f}"),
        },
        None => n.to_string(),
    }
}

/// True when any string inside `value` (object keys included) holds U+0000, which no backend can
/// store (00-protocol §4.3).
pub fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Go's ASCII `\s` set (`[\t\n\f\r ]`), used by the mainline name pattern.
pub fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{0C}' | '\r' | ' ')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates() {
        let cases = [
            ("2024-02-29", true),
            ("2023-02-28", true),
            ("2000-02-29", true),
            ("1900-02-29", false),
            ("2023-02-29", false),
            ("2024-13-01", false),
            ("2024-00-10", false),
            ("2024-04-31", false),
            ("2024-01-32", false),
            ("2024/01/02", false),
            ("2024-1-02", false),
            ("24-01-02", false),
            ("2024-01-02 ", false),
            ("+2024-01-0", false),
            ("", false),
            ("２０２４-01-02", false),
        ];
        for (text, ok) in cases {
            assert_eq!(is_date(text), ok, "{text:?}");
        }
    }

    #[test]
    fn times() {
        let cases = [
            ("2021-05-13 01:00:00", true),
            ("2024-02-29 23:59:59", true),
            ("2023-02-29 00:00:00", false),
            ("2021-05-13 24:00:00", false),
            ("2021-05-13 1:00:00", false),
            ("2021-05-13T01:00:00Z", true),
            ("2021-05-13T01:00:00+08:00", true),
            ("2021-05-13T01:00:00-05:30", true),
            ("2021-05-13T01:00:00.123Z", true),
            ("2021-05-13T01:00:00", false),
            ("2021-05-13T01:00:00+0800", false),
            ("2021-05-13 01:00:00Z", false),
            ("2021-05-13", false),
            ("2021/05/13 01:00:00", false),
            ("", false),
            ("2021-05-13T01:00:00Zjunk", false),
        ];
        for (text, ok) in cases {
            assert_eq!(is_time(text), ok, "{text:?}");
        }
    }

    #[test]
    fn time_normalisation() {
        let utc = normalize_time_value("2022-01-05T09:28:27.069Z").unwrap();
        let east = normalize_time_value("2022-01-05T17:28:27.069+08:00").unwrap();
        assert_eq!(utc, east, "one instant, one stored text");
        assert!(normalize_time_value("2022-01-05").is_none());
        assert!(normalize_time_value("2022-01-05 10:00:00").is_some());
    }

    #[test]
    fn timezones_users_ids() {
        for (tz, ok) in [
            ("Asia/Shanghai", true),
            ("UTC", true),
            ("Etc/GMT+8", true),
            ("Etc/GMT\u{2212}8", true),
            ("America/Port-au-Prince", true),
            ("", false),
            ("Asia Shanghai", false),
            ("Asia/上海", false),
        ] {
            assert_eq!(is_timezone(tz), ok, "{tz:?}");
        }
        for (user, ok) in [
            ("admin", true),
            ("admin,bob", true),
            ("0day", true),
            ("a.b@c-d_e", true),
            ("_admin", false),
            (",admin", false),
            ("ad min", false),
            ("", false),
            ("张三", false),
        ] {
            assert_eq!(is_user_list(user), ok, "{user:?}");
        }
        for (id, ok) in [
            ("a", true),
            ("cc_test1", true),
            ("A_1", true),
            ("1a", false),
            ("_a", false),
            ("a-b", false),
            ("a.b", false),
            ("a$b", false),
            ("aé", false),
            ("", false),
        ] {
            assert_eq!(is_strict_id(id), ok, "{id:?}");
        }
    }

    #[test]
    fn numbers() {
        let n = |v: Value| match v {
            Value::Number(n) => n,
            _ => unreachable!(),
        };
        assert_eq!(number_as_i64(&n(json!(5))), Some(5));
        assert_eq!(number_as_i64(&n(json!(-5))), Some(-5));
        assert_eq!(number_as_i64(&n(json!(5.0))), Some(5));
        assert_eq!(number_as_i64(&n(json!(5.5))), None);
        assert_eq!(number_as_i64(&n(json!(u64::MAX))), None);
        assert_eq!(number_as_i64(&n(json!(i64::MIN))), Some(i64::MIN));
        assert_eq!(number_as_i64(&n(json!(1e19))), None);
        assert_eq!(number_text(&n(json!(5))), "5");
        assert_eq!(number_text(&n(json!(5.0))), "5");
        assert_eq!(number_text(&n(json!(-0.0))), "0");
        assert_eq!(number_text(&n(json!(2.5))), "2.5");
        assert_eq!(number_text(&n(json!(u64::MAX))), u64::MAX.to_string());
        assert_eq!(float_to_value(5.0), Some(json!(5)));
        assert_eq!(float_to_value(5.25), Some(json!(5.25)));
        assert_eq!(float_to_value(f64::NAN), None);
        assert_eq!(parse_finite_f64("1e3"), Some(1000.0));
        assert_eq!(parse_finite_f64("inf"), None);
        assert_eq!(parse_finite_f64("NaN"), None);
        assert_eq!(parse_finite_f64("abc"), None);
        assert!(is_json_integer(&json!(3)));
        assert!(!is_json_integer(&json!(3.0)));
        assert!(is_positive_id(&json!(1)));
        assert!(!is_positive_id(&json!(0)));
        assert!(!is_positive_id(&json!(-1)));
        assert!(!is_positive_id(&json!("1")));
    }

    #[test]
    fn nul_detection() {
        assert!(contains_nul(&json!("a\u{0}b")));
        assert!(contains_nul(&json!(["ok", "\u{0}"])));
        assert!(contains_nul(&json!({"k\u{0}": 1})));
        assert!(contains_nul(&json!({"k": {"x": "\u{0}"}})));
        assert!(!contains_nul(&json!({"k": ["a", 1, null, true]})));
    }
}
