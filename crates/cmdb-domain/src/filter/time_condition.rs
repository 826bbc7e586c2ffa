//! `time_condition` (00-protocol.md §8): date/time ranges on the stored timestamps that several
//! search APIs accept beside their main condition. Parsed into the same AST so it is simply ANDed
//! with the main filter.

use serde_json::Value;

use super::ast::{CmpOp, Expr};
use super::common::{and, index, invalid, join, time_cmp, time_from_str, QueryTime};
use super::FieldCatalog;
use crate::error::DomainError;

/// Parses `{"oper": "and", "rules": [{"field", "start", "end"}, ...]}`; `null` = none
/// ([`Expr::True`]).
///
/// * `oper` must be `"and"` → else 1199006 `time_condition.oper`;
/// * `rules` must be a non-empty array → else 1199010 `time_condition.rules`;
/// * `field` is required (1199010); `bk_created_at` means `create_time` and `bk_updated_at` means
///   `last_time`; the (mapped) field must be known to `catalog` (1199006);
/// * `start` / `end` are date/time strings (`2006-01-02 15:04:05`, RFC 3339, `2006-01-02`); at
///   least one is required; each rule means `start ≤ field ≤ end` (inclusive; a missing bound is
///   open). A value that does not parse → 1199006 naming it.
pub fn parse_time_condition(
    value: &Value,
    catalog: &dyn FieldCatalog,
    path: &str,
) -> Result<Expr, DomainError> {
    let obj = match value {
        Value::Null => return Ok(Expr::True),
        Value::Object(obj) => obj,
        _ => return Err(DomainError::JsonUnmarshal),
    };
    if obj.get("oper").and_then(Value::as_str) != Some("and") {
        return Err(invalid(&join(path, "oper")));
    }
    let rules_path = join(path, "rules");
    let rules = match obj.get("rules") {
        Some(Value::Array(rules)) if !rules.is_empty() => rules,
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(DomainError::NeedSet(rules_path))
        }
        Some(_) => return Err(DomainError::JsonUnmarshal),
    };
    let mut parts = Vec::with_capacity(rules.len() * 2);
    for (i, rule) in rules.iter().enumerate() {
        let rule_path = index(&rules_path, i);
        let rule = rule.as_object().ok_or(DomainError::JsonUnmarshal)?;
        let field_path = join(&rule_path, "field");
        let name = match rule.get("field") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            None | Some(Value::Null) => return Err(DomainError::NeedSet(field_path)),
            Some(Value::String(_)) => return Err(DomainError::NeedSet(field_path)),
            Some(_) => return Err(DomainError::JsonUnmarshal),
        };
        let name = match name {
            "bk_created_at" => "create_time",
            "bk_updated_at" => "last_time",
            other => other,
        };
        let field = catalog.lookup(name).ok_or_else(|| invalid(&field_path))?;
        let start = bound(rule.get("start"), &join(&rule_path, "start"))?;
        let end = bound(rule.get("end"), &join(&rule_path, "end"))?;
        if start.is_none() && end.is_none() {
            return Err(invalid(&rule_path));
        }
        if let Some(t) = start {
            parts.push(time_cmp(&field, CmpOp::Gte, t));
        }
        if let Some(t) = end {
            parts.push(time_cmp(&field, CmpOp::Lte, t));
        }
    }
    Ok(and(parts))
}

fn bound(v: Option<&Value>, path: &str) -> Result<Option<QueryTime>, DomainError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => time_from_str(s).map(Some).ok_or_else(|| invalid(path)),
        Some(_) => Err(invalid(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::test_catalog::catalog;
    use serde_json::json;

    fn p(v: Value) -> Result<Expr, DomainError> {
        parse_time_condition(&v, &catalog(), "time_condition")
    }

    fn millis(s: &str) -> i64 {
        crate::time::parse_query_time(s).unwrap().timestamp_millis()
    }

    #[test]
    fn range_is_inclusive_and_maps_aliases() {
        let e = p(json!({"oper": "and", "rules": [
            {"field": "bk_created_at", "start": "2021-05-13 01:00:00", "end": "2021-05-14 01:00:00"},
            {"field": "last_time", "end": "2021-05-14"}]}))
        .unwrap();
        let Expr::And(parts) = e else { panic!("{e:?}") };
        assert_eq!(parts.len(), 3);
        match &parts[0] {
            Expr::TimeCmp {
                field,
                op: CmpOp::Gte,
                value,
                millis: m,
            } => {
                assert_eq!(field.name, "create_time");
                assert_eq!(*m, millis("2021-05-13 01:00:00"));
                assert_eq!(value, &crate::time::format_millis(*m));
            }
            other => panic!("{other:?}"),
        }
        match &parts[1] {
            Expr::TimeCmp {
                field,
                op: CmpOp::Lte,
                millis: m,
                ..
            } => {
                assert_eq!(field.name, "create_time");
                assert_eq!(*m, millis("2021-05-14 01:00:00"));
            }
            other => panic!("{other:?}"),
        }
        match &parts[2] {
            Expr::TimeCmp {
                field,
                op: CmpOp::Lte,
                ..
            } => assert_eq!(field.name, "last_time"),
            other => panic!("{other:?}"),
        }
        assert_eq!(p(Value::Null), Ok(Expr::True));
    }

    #[test]
    fn errors() {
        let bad = |s: &str| Err(DomainError::ParamsInvalid(s.to_string()));
        let rule = json!({"field": "create_time", "start": "2021-05-13"});
        assert_eq!(
            p(json!({"oper": "or", "rules": [rule]})),
            bad("time_condition.oper")
        );
        assert_eq!(p(json!({"rules": [rule]})), bad("time_condition.oper"));
        assert_eq!(
            p(json!({"oper": "and", "rules": []})),
            Err(DomainError::NeedSet("time_condition.rules".into()))
        );
        assert_eq!(
            p(json!({"oper": "and"})),
            Err(DomainError::NeedSet("time_condition.rules".into()))
        );
        assert_eq!(
            p(json!({"oper": "and", "rules": [{"start": "2021-05-13"}]})),
            Err(DomainError::NeedSet("time_condition.rules[0].field".into()))
        );
        assert_eq!(
            p(json!({"oper": "and", "rules": [{"field": "nope", "start": "2021-05-13"}]})),
            bad("time_condition.rules[0].field")
        );
        assert_eq!(
            p(json!({"oper": "and", "rules": [{"field": "create_time", "start": "yesterday"}]})),
            bad("time_condition.rules[0].start")
        );
        assert_eq!(
            p(json!({"oper": "and", "rules": [{"field": "create_time", "end": 5}]})),
            bad("time_condition.rules[0].end")
        );
        assert_eq!(
            p(json!({"oper": "and", "rules": [{"field": "create_time"}]})),
            bad("time_condition.rules[0]")
        );
        assert_eq!(p(json!("x")), Err(DomainError::JsonUnmarshal));
    }
}
