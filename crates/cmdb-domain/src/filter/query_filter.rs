//! The QueryFilter ("querybuilder", 00-protocol.md §9.2) used by the `*_property_filter`
//! parameters, search_set's `filter` and the instance-association searches. Its limits differ per
//! endpoint family, so the entry point takes a [`Limits`]; [`parse_query_filter`] is the common
//! case.

use serde_json::Value;

use super::ast::Expr;
use super::rules::{self, Lang, Limits};
use super::FieldCatalog;
use crate::error::DomainError;

/// Parses a QueryFilter with [`Limits::QUERY_FILTER`] (depth ≤ 3, `in` ≤ 500, `OR` ≤ 20).
/// `null` = no filter ([`Expr::True`]).
///
/// Rules: the top node must be combined; `condition` is `AND` or `OR` (upper case); `rules` is a
/// non-empty array; `field` matches `^[a-zA-Z0-9][\d\w\-_.]*$` and is known to `catalog`;
/// operators and value types as in the §9.2 table (`in` elements all of one JSON type, nulls
/// allowed; `between` / `not_between` refused). String operators become [`Expr::Like`] (literal:
/// upstream's unescaped regex is not reproduced), `datetime_*` become [`Expr::TimeCmp`].
///
/// Every problem is 1199006 naming the offending path, e.g.
/// `host_property_filter.rules[1].value`.
pub fn parse_query_filter(
    value: &Value,
    catalog: &dyn FieldCatalog,
    path: &str,
) -> Result<Expr, DomainError> {
    parse_query_filter_with(value, catalog, path, &Limits::QUERY_FILTER)
}

/// [`parse_query_filter`] with explicit limits (host list endpoints:
/// [`Limits::HOST_QUERY_FILTER`]).
pub fn parse_query_filter_with(
    value: &Value,
    catalog: &dyn FieldCatalog,
    path: &str,
    limits: &Limits,
) -> Result<Expr, DomainError> {
    rules::parse(value, catalog, path, Lang::QueryFilter, limits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::common::like;
    use crate::filter::test_catalog::{catalog, f};
    use crate::filter::{CmpOp, StrMatch};
    use serde_json::json;

    fn p(v: Value) -> Result<Expr, DomainError> {
        parse_query_filter(&v, &catalog(), "filter")
    }

    fn bad(path: &str) -> Result<Expr, DomainError> {
        Err(DomainError::ParamsInvalid(path.to_string()))
    }

    fn and1(rule: Value) -> Value {
        json!({"condition": "AND", "rules": [rule]})
    }

    fn atom(field: &str, op: &str, value: Value) -> Value {
        json!({"field": field, "operator": op, "value": value})
    }

    fn one(field: &str, op: &str, value: Value) -> Result<Expr, DomainError> {
        p(and1(atom(field, op, value))).map(|e| match e {
            Expr::And(mut v) if v.len() == 1 => v.pop().unwrap(),
            other => other,
        })
    }

    fn cmp(name: &str, op: CmpOp, value: Value) -> Expr {
        Expr::Cmp {
            field: f(name),
            op,
            value,
        }
    }

    #[test]
    fn example_from_the_spec() {
        let v = json!({"condition": "AND", "rules": [
            {"field": "name", "operator": "equal", "value": "127.0.0.1"},
            {"condition": "OR", "rules": [
                {"field": "name", "operator": "not_in", "value": ["3"]},
                {"field": "size", "operator": "equal", "value": 0}]}]});
        assert_eq!(
            p(v),
            Ok(Expr::And(vec![
                cmp("name", CmpOp::Eq, json!("127.0.0.1")),
                Expr::Or(vec![
                    Expr::In {
                        field: f("name"),
                        values: vec![json!("3")],
                        negate: true
                    },
                    cmp("size", CmpOp::Eq, json!(0)),
                ]),
            ]))
        );
        assert_eq!(p(Value::Null), Ok(Expr::True));
    }

    #[test]
    fn every_operator() {
        assert_eq!(
            one("size", "not_equal", json!(1)),
            Ok(Expr::Not(Box::new(cmp("size", CmpOp::Eq, json!(1)))))
        );
        assert_eq!(
            one("size", "less", json!(1)),
            Ok(cmp("size", CmpOp::Lt, json!(1)))
        );
        assert_eq!(
            one("size", "less_or_equal", json!(1)),
            Ok(cmp("size", CmpOp::Lte, json!(1)))
        );
        assert_eq!(
            one("size", "greater", json!(1.5)),
            Ok(cmp("size", CmpOp::Gt, json!(1.5)))
        );
        assert_eq!(
            one("size", "greater_or_equal", json!(1)),
            Ok(cmp("size", CmpOp::Gte, json!(1)))
        );
        let n = f("name");
        let nl = |e| Ok(Expr::Not(Box::new(e)));
        assert_eq!(
            one("name", "begins_with", json!("a")),
            Ok(like(&n, StrMatch::Prefix, "a", false))
        );
        assert_eq!(
            one("name", "not_begins_with", json!("a")),
            nl(like(&n, StrMatch::Prefix, "a", false))
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
            one("name", "ends_with", json!("a")),
            Ok(like(&n, StrMatch::Suffix, "a", false))
        );
        assert_eq!(
            one("name", "not_ends_with", json!("a")),
            nl(like(&n, StrMatch::Suffix, "a", false))
        );
        assert_eq!(
            one("tags", "is_empty", Value::Null),
            Ok(Expr::IsEmpty { field: f("tags") })
        );
        assert_eq!(
            one("tags", "is_not_empty", json!(1)),
            nl(Expr::IsEmpty { field: f("tags") })
        );
        assert_eq!(
            one("name", "is_null", Value::Null),
            Ok(Expr::IsNull { field: f("name") })
        );
        assert_eq!(
            one("name", "is_not_null", Value::Null),
            nl(Expr::IsNull { field: f("name") })
        );
        assert_eq!(
            one("name", "exist", Value::Null),
            Ok(Expr::Exists {
                field: f("name"),
                exists: true
            })
        );
        assert_eq!(
            one("name", "not_exist", Value::Null),
            Ok(Expr::Exists {
                field: f("name"),
                exists: false
            })
        );
        match one("create_time", "datetime_less", json!("2021-05-13")) {
            Ok(Expr::TimeCmp { op: CmpOp::Lt, .. }) => {}
            other => panic!("{other:?}"),
        }
        match one(
            "create_time",
            "datetime_greater_or_equal",
            json!("2021-05-13T01:00:00+08:00"),
        ) {
            Ok(Expr::TimeCmp { op: CmpOp::Gte, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn value_checks() {
        assert_eq!(
            one("name", "equal", Value::Null),
            bad("filter.rules[0].value")
        );
        assert_eq!(
            one("name", "equal", json!([1])),
            bad("filter.rules[0].value")
        );
        assert_eq!(
            one("size", "less", json!("1")),
            bad("filter.rules[0].value")
        );
        assert_eq!(
            one("name", "contains", json!("")),
            bad("filter.rules[0].value")
        );
        assert_eq!(
            one("name", "contains", json!(1)),
            bad("filter.rules[0].value")
        );
        assert_eq!(
            one("create_time", "datetime_less", json!("yesterday")),
            bad("filter.rules[0].value")
        );
        // querybuilder takes no numeric timestamps
        assert_eq!(
            one("create_time", "datetime_less", json!(1_600_000_000)),
            bad("filter.rules[0].value")
        );
        // No type check against the field in the querybuilder.
        assert_eq!(
            one("size", "equal", json!("x")),
            Ok(cmp("size", CmpOp::Eq, json!("x")))
        );
    }

    #[test]
    fn in_arrays() {
        assert_eq!(
            one("name", "in", json!(["a", null, "b"])),
            Ok(Expr::In {
                field: f("name"),
                values: vec![json!("a"), Value::Null, json!("b")],
                negate: false
            })
        );
        assert_eq!(
            one("name", "in", json!([])),
            Ok(Expr::In {
                field: f("name"),
                values: vec![],
                negate: false
            })
        );
        assert_eq!(
            one("name", "in", json!(["a", 1])),
            bad("filter.rules[0].value")
        );
        assert_eq!(
            one("name", "in", json!([{"a": 1}])),
            bad("filter.rules[0].value")
        );
        assert_eq!(one("name", "in", json!("a")), bad("filter.rules[0].value"));
        let ok: Vec<Value> = (0..500).map(|i| json!(i)).collect();
        assert!(one("size", "in", Value::Array(ok.clone())).is_ok());
        let mut over = ok;
        over.push(json!(500));
        assert_eq!(
            one("size", "not_in", Value::Array(over.clone())),
            bad("filter.rules[0].value")
        );
        // Host endpoints: no cap, still the same-type rule.
        let host = |v: Value| {
            parse_query_filter_with(
                &and1(atom("size", "in", v)),
                &catalog(),
                "host_property_filter",
                &Limits::HOST_QUERY_FILTER,
            )
        };
        assert!(host(Value::Array(over)).is_ok());
        assert_eq!(
            host(json!([1, "1"])),
            bad("host_property_filter.rules[0].value")
        );
    }

    #[test]
    fn structure_errors() {
        // top must be combined
        assert_eq!(p(atom("name", "equal", json!("a"))), bad("filter"));
        assert_eq!(p(json!([1])), bad("filter"));
        assert_eq!(p(json!({})), bad("filter"));
        // upper case only
        assert_eq!(
            p(json!({"condition": "and", "rules": [atom("name", "equal", json!("a"))]})),
            bad("filter.condition")
        );
        assert_eq!(
            p(json!({"condition": "AND", "rules": []})),
            bad("filter.rules")
        );
        assert_eq!(p(json!({"condition": "AND"})), bad("filter.rules"));
        assert_eq!(
            p(json!({"condition": "AND", "rules": [{"field": "name"}]})),
            bad("filter.rules[0]")
        );
        assert_eq!(
            p(json!({"condition": "AND", "rules": [1]})),
            bad("filter.rules[0]")
        );
        assert_eq!(one("nope", "equal", json!(1)), bad("filter.rules[0].field"));
        assert_eq!(
            one("$where", "equal", json!(1)),
            bad("filter.rules[0].field")
        );
        assert_eq!(
            p(and1(json!({"operator": "equal", "value": 1}))),
            bad("filter.rules[0].field")
        );
        assert_eq!(
            one("name", "between", json!([1, 2])),
            bad("filter.rules[0].operator")
        );
        assert_eq!(
            one("name", "not_between", json!([1, 2])),
            bad("filter.rules[0].operator")
        );
        // pkg/filter-only operators are unknown here
        assert_eq!(
            one("name", "contains_s", json!("a")),
            bad("filter.rules[0].operator")
        );
        assert_eq!(
            one("tags", "size", json!(1)),
            bad("filter.rules[0].operator")
        );
        assert_eq!(
            p(and1(json!({"field": "name", "operator": 1}))),
            bad("filter.rules[0].operator")
        );
    }

    #[test]
    fn depth_limit() {
        let depth3 = json!({"condition": "AND", "rules": [
            {"condition": "OR", "rules": [atom("name", "equal", json!("a"))]}]});
        assert!(p(depth3).is_ok());
        let depth4 = json!({"condition": "AND", "rules": [
            {"condition": "OR", "rules": [
                {"condition": "AND", "rules": [atom("name", "equal", json!("a"))]}]}]});
        assert_eq!(p(depth4), bad("filter.rules[0].rules[0].rules"));
    }

    #[test]
    fn or_limit() {
        let rules =
            |n: usize| -> Vec<Value> { (0..n).map(|i| atom("size", "equal", json!(i))).collect() };
        assert!(p(json!({"condition": "OR", "rules": rules(20)})).is_ok());
        assert_eq!(
            p(json!({"condition": "OR", "rules": rules(21)})),
            bad("filter.rules")
        );
        // AND nodes are unlimited
        assert!(p(json!({"condition": "AND", "rules": rules(300)})).is_ok());
        assert!(parse_query_filter_with(
            &json!({"condition": "OR", "rules": rules(21)}),
            &catalog(),
            "f",
            &Limits::HOST_QUERY_FILTER
        )
        .is_ok());
    }
}
