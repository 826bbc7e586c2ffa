//! Small pieces shared by the filter parsers: error paths, JSON value classification, time
//! conversion and the expression builders that every language maps its operators onto. Keeping
//! them in one place is what makes `equal` in the QueryFilter mean exactly what `$eq` means in a
//! legacy condition.

use serde_json::Value;

use super::ast::{CmpOp, Expr, FieldInfo, FieldType, StrMatch};
use crate::error::DomainError;
use crate::time;

/// `path.key`, or `key` when `path` is empty.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `path[index]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// 1199006 naming `path`.
pub(crate) fn invalid(path: &str) -> DomainError {
    DomainError::ParamsInvalid(path.to_string())
}

/// The JSON kinds the filter languages distinguish ("same type" checks of `in` arrays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// The kind of `v`.
pub(crate) fn kind(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(_) => Kind::Number,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Object,
    }
}

/// Number, bool or string (not null).
pub(crate) fn is_basic(v: &Value) -> bool {
    matches!(kind(v), Kind::Bool | Kind::Number | Kind::String)
}

/// Number, bool, string or null.
pub(crate) fn is_scalar(v: &Value) -> bool {
    is_basic(v) || v.is_null()
}

/// A non-negative integral JSON number (`3`, `3.0`).
pub(crate) fn as_count(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let f = v.as_f64()?;
    if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 {
        Some(f as u64)
    } else {
        None
    }
}

/// A parsed query time: the stored wire text and Unix milliseconds.
pub(crate) struct QueryTime {
    pub text: String,
    pub millis: i64,
}

/// Parses a date/time query string (`2006-01-02 15:04:05`, RFC 3339, `2006-01-02`).
pub(crate) fn time_from_str(s: &str) -> Option<QueryTime> {
    let t = time::parse_query_time(s)?;
    let millis = t.timestamp_millis();
    Some(QueryTime {
        text: time::format_millis(millis),
        millis,
    })
}

/// Interprets a JSON number as Unix seconds (pkg/filter `datetime_*`).
pub(crate) fn time_from_secs(v: &Value) -> Option<QueryTime> {
    let secs = v.as_f64()?;
    let millis = secs * 1000.0;
    // chrono supports roughly ±262000 years; stay well inside i64 and that range.
    if !millis.is_finite() || millis.abs() > 8.0e15 {
        return None;
    }
    let millis = millis.round() as i64;
    Some(QueryTime {
        text: time::format_millis(millis),
        millis,
    })
}

/// `field op time`.
pub(crate) fn time_cmp(field: &FieldInfo, op: CmpOp, t: QueryTime) -> Expr {
    Expr::TimeCmp {
        field: field.clone(),
        op,
        value: t.text,
        millis: t.millis,
    }
}

/// Equality as all languages mean it. On a [`FieldType::Time`] field a string that parses as a
/// date/time is compared as that instant (the stored form differs from what clients send).
pub(crate) fn eq(field: &FieldInfo, value: &Value) -> Expr {
    if field.ty == FieldType::Time {
        if let Some(t) = value.as_str().and_then(time_from_str) {
            return time_cmp(field, CmpOp::Eq, t);
        }
    }
    Expr::Cmp {
        field: field.clone(),
        op: CmpOp::Eq,
        value: value.clone(),
    }
}

/// Ordered comparison; on a time field a date/time string compares as an instant.
pub(crate) fn ordered(field: &FieldInfo, op: CmpOp, value: &Value) -> Expr {
    if field.ty == FieldType::Time {
        if let Some(t) = value.as_str().and_then(time_from_str) {
            return time_cmp(field, op, t);
        }
    }
    Expr::Cmp {
        field: field.clone(),
        op,
        value: value.clone(),
    }
}

/// Membership; on a time field whose values are all date/time strings, the instants.
pub(crate) fn member(field: &FieldInfo, values: &[Value], negate: bool) -> Expr {
    if field.ty == FieldType::Time && !values.is_empty() {
        let times: Option<Vec<QueryTime>> = values
            .iter()
            .map(|v| v.as_str().and_then(time_from_str))
            .collect();
        if let Some(times) = times {
            let any = Expr::Or(
                times
                    .into_iter()
                    .map(|t| time_cmp(field, CmpOp::Eq, t))
                    .collect(),
            );
            return if negate { not(any) } else { any };
        }
    }
    Expr::In {
        field: field.clone(),
        values: values.to_vec(),
        negate,
    }
}

/// Literal substring/prefix/suffix match.
pub(crate) fn like(field: &FieldInfo, kind: StrMatch, value: &str, case_insensitive: bool) -> Expr {
    Expr::Like {
        field: field.clone(),
        kind,
        value: value.to_string(),
        case_insensitive,
    }
}

/// Negation.
pub(crate) fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

/// Conjunction that does not wrap a single operand.
pub(crate) fn and(mut parts: Vec<Expr>) -> Expr {
    if parts.len() == 1 {
        parts.pop().unwrap_or(Expr::True)
    } else {
        Expr::And(parts)
    }
}

/// Checks that `pattern` compiles as a regular expression (Rust `regex` syntax, a superset of
/// what Go's RE2 accepts for practical patterns).
pub(crate) fn check_regex(pattern: &str, path: &str) -> Result<(), DomainError> {
    regex::Regex::new(pattern)
        .map(|_| ())
        .map_err(|_| invalid(path))
}

/// Does `ty` accept the basic JSON value `v` (pkg/filter "value type must fit the field type")?
pub(crate) fn fits(ty: FieldType, v: &Value) -> bool {
    match ty {
        FieldType::Int | FieldType::Float => v.is_number(),
        FieldType::Text => v.is_string(),
        FieldType::Bool => v.is_boolean(),
        FieldType::Time => v.is_number() || v.as_str().and_then(time_from_str).is_some(),
        FieldType::Array | FieldType::Json => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("c", "a"), "c.a");
        assert_eq!(index("c.rules", 2), "c.rules[2]");
    }

    #[test]
    fn counts() {
        assert_eq!(as_count(&json!(3)), Some(3));
        assert_eq!(as_count(&json!(3.0)), Some(3));
        assert_eq!(as_count(&json!(3.5)), None);
        assert_eq!(as_count(&json!(-1)), None);
        assert_eq!(as_count(&json!("3")), None);
    }

    #[test]
    fn secs() {
        let t = time_from_secs(&json!(1_600_000_000)).unwrap();
        assert_eq!(t.millis, 1_600_000_000_000);
        assert!(time_from_secs(&json!(1e300)).is_none());
    }

    #[test]
    fn fitting() {
        assert!(fits(FieldType::Int, &json!(1.5)));
        assert!(!fits(FieldType::Int, &json!("1")));
        assert!(fits(FieldType::Time, &json!("2021-05-13")));
        assert!(fits(FieldType::Time, &json!(1)));
        assert!(!fits(FieldType::Time, &json!("soon")));
        assert!(fits(FieldType::Json, &json!("x")));
    }
}
