//! The pkg/filter expression (00-protocol.md §9.3) of search_object_instances /
//! count_object_instances `conditions`: the QueryFilter shape with more operators
//! (`*_i` / `contains_s`, `size`, `filter_object`, `filter_array`), stricter values (they must fit
//! the field's type) and its own limits (≤ 50 rules per combined node).

use serde_json::Value;

use super::ast::Expr;
use super::rules::{self, Lang, Limits};
use super::FieldCatalog;
use crate::error::DomainError;

/// Parses a pkg/filter expression with [`Limits::EXPRESSION`] (depth ≤ 3, ≤ 50 rules per
/// combined node, `in` / `not_in` ≤ 500). `null` = no filter ([`Expr::True`]); a single atomic
/// rule at the top is accepted (upstream parses any rule there).
///
/// Semantics beyond §9.2: `contains` is case-insensitive, `contains_s` / `not_contains` /
/// `begins_with` / `ends_with` are case-sensitive, `*_i` are case-insensitive; `datetime_*` take a
/// date/time string or Unix seconds; `in` / `not_in` arrays are non-empty, without nulls, of one
/// JSON type; every compared value must fit the field type (number for int/float, string for
/// text, bool for bool, date/time for time); `size` needs an array field and a non-negative
/// integer; `is_not_empty` means "an array with elements" (absent/null do not match).
///
/// `filter_object` (field of type [`super::FieldType::Json`]): the value is a rule over sub-fields,
/// looked up in `catalog` as `parent.sub`. `filter_array` (array field): the value is a rule whose
/// `field` is `element` (any element, per atomic rule, as Mongo's implicit array matching) or a
/// decimal index (that position). Both count as one level of depth.
///
/// Every problem is 1199006 naming the offending path (`conditions.rules[0].value`).
pub fn parse_expression(
    value: &Value,
    catalog: &dyn FieldCatalog,
    path: &str,
) -> Result<Expr, DomainError> {
    parse_expression_with(value, catalog, path, &Limits::EXPRESSION)
}

/// [`parse_expression`] with explicit limits.
pub fn parse_expression_with(
    value: &Value,
    catalog: &dyn FieldCatalog,
    path: &str,
    limits: &Limits,
) -> Result<Expr, DomainError> {
    rules::parse(value, catalog, path, Lang::Expression, limits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::common::like;
    use crate::filter::test_catalog::{catalog, f};
    use crate::filter::{CmpOp, FieldInfo, FieldType, StrMatch};
    use serde_json::json;

    fn p(v: Value) -> Result<Expr, DomainError> {
        parse_expression(&v, &catalog(), "conditions")
    }

    fn bad(path: &str) -> Result<Expr, DomainError> {
        Err(DomainError::ParamsInvalid(path.to_string()))
    }

    fn atom(field: &str, op: &str, value: Value) -> Value {
        json!({"field": field, "operator": op, "value": value})
    }

    fn one(field: &str, op: &str, value: Value) -> Result<Expr, DomainError> {
        p(json!({"condition": "AND", "rules": [atom(field, op, value)]})).map(|e| match e {
            Expr::And(mut v) if v.len() == 1 => v.pop().unwrap(),
            other => other,
        })
    }

    fn nl(e: Expr) -> Result<Expr, DomainError> {
        Ok(Expr::Not(Box::new(e)))
    }

    #[test]
    fn atomic_top_level_is_accepted() {
        assert_eq!(
            p(atom("name", "equal", json!("a"))),
            Ok(Expr::Cmp {
                field: f("name"),
                op: CmpOp::Eq,
                value: json!("a")
            })
        );
        assert_eq!(p(Value::Null), Ok(Expr::True));
        assert_eq!(p(json!("x")), bad("conditions"));
    }

    #[test]
    fn string_operators() {
        let n = f("name");
        assert_eq!(
            one("name", "begins_with_i", json!("a")),
            Ok(like(&n, StrMatch::Prefix, "a", true))
        );
        assert_eq!(
            one("name", "not_begins_with_i", json!("a")),
            nl(like(&n, StrMatch::Prefix, "a", true))
        );
        assert_eq!(
            one("name", "contains_s", json!("a")),
            Ok(like(&n, StrMatch::Contains, "a", false))
        );
        assert_eq!(
            one("name", "contains", json!("a")),
            Ok(like(&n, StrMatch::Contains, "a", true))
        );
        assert_eq!(
            one("name", "not_contains", json!("a")),
            nl(like(&n, StrMatch::Contains, "a", false))
        );
        assert_eq!(
            one("name", "not_contains_i", json!("a")),
            nl(like(&n, StrMatch::Contains, "a", true))
        );
        assert_eq!(
            one("name", "ends_with_i", json!("a")),
            Ok(like(&n, StrMatch::Suffix, "a", true))
        );
        assert_eq!(
            one("name", "not_ends_with_i", json!("a")),
            nl(like(&n, StrMatch::Suffix, "a", true))
        );
        assert_eq!(
            one("name", "begins_with", json!("")),
            bad("conditions.rules[0].value")
        );
    }

    #[test]
    fn values_must_fit_the_field() {
        assert_eq!(
            one("size", "equal", json!("1")),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("name", "equal", json!(1)),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("flag", "equal", json!("true")),
            bad("conditions.rules[0].value")
        );
        assert!(one("flag", "equal", json!(true)).is_ok());
        assert_eq!(
            one("name", "less", json!(1)),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("size", "contains", json!("1")),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("size", "in", json!([1, "2"])),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("name", "in", json!(["a", 1])),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("name", "in", json!([])),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("name", "in", json!(["a", null])),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("name", "equal", Value::Null),
            bad("conditions.rules[0].value")
        );
        // Mixed JSON, anything basic goes.
        assert!(one("any", "equal", json!(1)).is_ok());
        assert!(one("any", "equal", json!("1")).is_ok());
    }

    #[test]
    fn datetime_accepts_timestamps() {
        match one("create_time", "datetime_less", json!(1_600_000_000)) {
            Ok(Expr::TimeCmp {
                op: CmpOp::Lt,
                millis,
                ..
            }) => assert_eq!(millis, 1_600_000_000_000),
            other => panic!("{other:?}"),
        }
        match one(
            "create_time",
            "datetime_greater",
            json!("2021-05-13 01:00:00"),
        ) {
            Ok(Expr::TimeCmp { op: CmpOp::Gt, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(
            one("create_time", "datetime_less", json!(true)),
            bad("conditions.rules[0].value")
        );
        // equality on a time field with a time string compares instants
        match one("create_time", "equal", json!("2021-05-13")) {
            Ok(Expr::TimeCmp { op: CmpOp::Eq, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(
            one("create_time", "equal", json!("tomorrow")),
            bad("conditions.rules[0].value")
        );
    }

    #[test]
    fn array_operators() {
        assert_eq!(
            one("tags", "size", json!(2)),
            Ok(Expr::Size {
                field: f("tags"),
                len: 2
            })
        );
        assert_eq!(
            one("tags", "size", json!(-2)),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("tags", "size", json!("2")),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("name", "size", json!(2)),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("tags", "is_not_empty", Value::Null),
            Ok(Expr::And(vec![
                Expr::Not(Box::new(Expr::IsNull { field: f("tags") })),
                Expr::Not(Box::new(Expr::IsEmpty { field: f("tags") })),
            ]))
        );
    }

    #[test]
    fn filter_array_and_object() {
        // (top-level filter_array: AND → filter_array → OR would be too deep)
        let e = p(atom(
            "tags",
            "filter_array",
            json!({"condition": "OR", "rules": [
                {"field": "element", "operator": "equal", "value": "x"},
                {"field": "0", "operator": "begins_with", "value": "y"}]}),
        ));
        assert_eq!(
            e,
            Ok(Expr::Or(vec![
                Expr::Cmp {
                    field: f("tags").with_array_elements(),
                    op: CmpOp::Eq,
                    value: json!("x")
                },
                like(
                    &FieldInfo::doc("tags.0", FieldType::Json),
                    StrMatch::Prefix,
                    "y",
                    false
                ),
            ]))
        );
        // filter_array with an atomic sub-rule
        assert_eq!(
            one(
                "tags",
                "filter_array",
                atom("element", "not_equal", json!("x"))
            ),
            nl(Expr::Cmp {
                field: f("tags").with_array_elements(),
                op: CmpOp::Eq,
                value: json!("x")
            })
        );
        assert_eq!(
            one("tags", "filter_array", atom("nope", "equal", json!("x"))),
            bad("conditions.rules[0].value.field")
        );
        assert_eq!(
            one("name", "filter_array", atom("element", "equal", json!("x"))),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("tags", "filter_array", json!("x")),
            bad("conditions.rules[0].value")
        );
        assert_eq!(
            one("obj", "filter_object", atom("sub", "equal", json!(1))),
            Ok(Expr::Cmp {
                field: FieldInfo::doc("obj.sub", FieldType::Int),
                op: CmpOp::Eq,
                value: json!(1)
            })
        );
        assert_eq!(
            one("obj", "filter_object", atom("other", "equal", json!(1))),
            bad("conditions.rules[0].value.field")
        );
        assert_eq!(
            one("obj", "filter_object", atom("sub", "equal", json!("1"))),
            bad("conditions.rules[0].value.value")
        );
        assert_eq!(
            one("name", "filter_object", atom("sub", "equal", json!(1))),
            bad("conditions.rules[0].value")
        );
    }

    #[test]
    fn nested_rules_count_as_depth() {
        // AND → filter_array → atomic: depth 3, fine.
        assert!(one("tags", "filter_array", atom("element", "equal", json!("x"))).is_ok());
        // AND → filter_array → combined → atomic: depth 4.
        assert_eq!(
            one(
                "tags",
                "filter_array",
                json!({"condition": "AND", "rules": [atom("element", "equal", json!("x"))]})
            ),
            bad("conditions.rules[0].value.rules")
        );
        // AND → AND → filter_array → atomic: depth 4.
        let v = json!({"condition": "AND", "rules": [{"condition": "AND", "rules": [
            atom("tags", "filter_array", atom("element", "equal", json!("x")))]}]});
        assert_eq!(p(v), bad("conditions.rules[0].rules[0].value"));
        // top-level filter_array may hold a combined rule: depth 3.
        assert!(p(atom(
            "tags",
            "filter_array",
            json!({"condition": "AND", "rules": [atom("element", "equal", json!("x"))]})
        ))
        .is_ok());
    }

    #[test]
    fn limits() {
        let rules =
            |n: usize| -> Vec<Value> { (0..n).map(|i| atom("size", "equal", json!(i))).collect() };
        assert!(p(json!({"condition": "AND", "rules": rules(50)})).is_ok());
        assert!(p(json!({"condition": "OR", "rules": rules(50)})).is_ok());
        assert_eq!(
            p(json!({"condition": "AND", "rules": rules(51)})),
            bad("conditions.rules")
        );
        assert_eq!(
            p(json!({"condition": "OR", "rules": rules(51)})),
            bad("conditions.rules")
        );
        let in500: Vec<Value> = (0..500).map(|i| json!(i)).collect();
        assert!(one("size", "in", Value::Array(in500.clone())).is_ok());
        let mut in501 = in500;
        in501.push(json!(1));
        assert_eq!(
            one("size", "not_in", Value::Array(in501)),
            bad("conditions.rules[0].value")
        );
        let depth4 = json!({"condition": "AND", "rules": [
            {"condition": "OR", "rules": [
                {"condition": "AND", "rules": [atom("name", "equal", json!("a"))]}]}]});
        assert_eq!(p(depth4), bad("conditions.rules[0].rules[0].rules"));
        assert_eq!(
            one("name", "like", json!("a")),
            bad("conditions.rules[0].operator")
        );
        assert_eq!(
            one("name", "between", json!([1, 2])),
            bad("conditions.rules[0].operator")
        );
        assert_eq!(
            p(json!({"condition": "Or", "rules": rules(1)})),
            bad("conditions.condition")
        );
    }
}
