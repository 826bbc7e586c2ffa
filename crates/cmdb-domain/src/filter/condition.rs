//! The legacy Mongo-style `condition` languages (00-protocol.md §9.1): the map form
//! `{field: value | {"$op": value}}` used by most older search APIs, and the list form
//! `[{"field", "operator", "value"}]` used by search_inst's per-model conditions and by
//! `set_cond` / `module_cond`. Both bind every field through the [`FieldCatalog`] so an unknown
//! name is a 1199006 here instead of a silent "matches nothing" in the database.

use serde_json::{Map, Value};

use super::ast::{CmpOp, Expr, FieldInfo, StrMatch};
use super::common::{
    and, as_count, check_regex, eq, index, invalid, is_basic, is_scalar, join, like, member, not,
    ordered,
};
use super::FieldCatalog;
use crate::error::DomainError;

/// How `$regex` values of the list form are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexMode {
    /// As regular expressions (Rust `regex` syntax; invalid → 1199006).
    Pattern,
    /// As literal text with the metacharacters escaped, i.e. a substring match (search_inst's
    /// conditions on the target model, 20-instances.md §8). Compiled to [`Expr::Like`].
    Literal,
}

/// Parses a legacy condition map (00-protocol.md §9.1). Top-level keys are ANDed; `null` means "no
/// condition" ([`Expr::True`]).
///
/// * bare scalar = equality (`null` matches absent or null, as in Mongo);
/// * operator objects: `$eq $ne $in $nin $lt $lte $gt $gte $regex`(+`$options: "i"`)
///   `$exists $not $all $size $multilike`; several operators on one field are ANDed;
/// * logical keys `$and $or $nor` take non-empty arrays of condition maps;
/// * on [`super::FieldType::Time`] fields, date/time strings compare as instants;
/// * fields with `array_elements` get element semantics in the compiler.
///
/// Errors: a non-object `value` → 1199000; an unknown field, an unknown or misplaced operator or a
/// value of the wrong shape → 1199006 naming the offending path (`condition.bk_x.$in`).
pub fn parse_condition(
    value: &Value,
    catalog: &dyn FieldCatalog,
    path: &str,
) -> Result<Expr, DomainError> {
    match value {
        Value::Null => Ok(Expr::True),
        Value::Object(map) => parse_map(map, catalog, path),
        _ => Err(DomainError::JsonUnmarshal),
    }
}

/// Parses the list form `[{"field": f, "operator": "$eq", "value": v}, ...]` (items ANDed;
/// `null` or `[]` = no condition). `operator` is any operator of [`parse_condition`] except the
/// logical ones; `$in`/`$nin` with a `null` value mean an empty list (as upstream). With
/// [`RegexMode::Literal`], `$regex` / `$multilike` strings are literal substrings.
///
/// Errors: not an array / an item not an object → 1199000; a missing `field`/`operator` → 1199006
/// naming it (`condition.host[0].operator`); unknown field or operator, bad value → 1199006.
pub fn parse_condition_list(
    value: &Value,
    catalog: &dyn FieldCatalog,
    path: &str,
    regex: RegexMode,
) -> Result<Expr, DomainError> {
    let items = match value {
        Value::Null => return Ok(Expr::True),
        Value::Array(items) => items,
        _ => return Err(DomainError::JsonUnmarshal),
    };
    let mut parts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = index(path, i);
        let obj = item.as_object().ok_or(DomainError::JsonUnmarshal)?;
        let field_path = join(&item_path, "field");
        let name = match obj.get("field") {
            Some(Value::String(s)) if !s.is_empty() => s,
            _ => return Err(invalid(&field_path)),
        };
        let op = match obj.get("operator") {
            Some(Value::String(s)) if LIST_OPERATORS.contains(&s.as_str()) => s.as_str(),
            _ => return Err(invalid(&join(&item_path, "operator"))),
        };
        let field = catalog.lookup(name).ok_or_else(|| invalid(&field_path))?;
        let value_path = join(&item_path, "value");
        let raw = obj.get("value").unwrap_or(&Value::Null);
        let empty = Value::Array(Vec::new());
        let v = match (op, raw) {
            ("$in" | "$nin", Value::Null) => &empty,
            _ => raw,
        };
        let expr = match (op, regex) {
            ("$regex", RegexMode::Literal) => {
                let s = v.as_str().ok_or_else(|| invalid(&value_path))?;
                like(&field, StrMatch::Contains, s, false)
            }
            ("$multilike", _) => multilike(&field, v, &value_path)?,
            _ => operator(&field, op, v, None, &value_path)?,
        };
        parts.push(expr);
    }
    Ok(and(parts))
}

/// The operators of the list form (every field operator of the map form except `$options`).
const LIST_OPERATORS: &[&str] = &[
    "$eq",
    "$ne",
    "$in",
    "$nin",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$regex",
    "$exists",
    "$not",
    "$all",
    "$size",
    "$multilike",
];

fn parse_map(
    map: &Map<String, Value>,
    catalog: &dyn FieldCatalog,
    path: &str,
) -> Result<Expr, DomainError> {
    let mut parts = Vec::with_capacity(map.len());
    for (key, v) in map {
        let key_path = join(path, key);
        match key.as_str() {
            "$and" | "$or" | "$nor" => {
                let items = match v {
                    Value::Array(items) if !items.is_empty() => items,
                    _ => return Err(invalid(&key_path)),
                };
                let mut subs = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let item_path = index(&key_path, i);
                    let obj = item.as_object().ok_or_else(|| invalid(&item_path))?;
                    subs.push(parse_map(obj, catalog, &item_path)?);
                }
                parts.push(match key.as_str() {
                    "$and" => Expr::And(subs),
                    "$or" => Expr::Or(subs),
                    _ => not(Expr::Or(subs)),
                });
            }
            k if k.starts_with('$') => return Err(invalid(&key_path)),
            name => {
                let field = catalog.lookup(name).ok_or_else(|| invalid(&key_path))?;
                parts.push(field_value(&field, v, &key_path)?);
            }
        }
    }
    Ok(and(parts))
}

/// The value of one field key: a scalar (equality) or an operator object.
fn field_value(field: &FieldInfo, v: &Value, path: &str) -> Result<Expr, DomainError> {
    match v {
        Value::Object(ops) => operators(field, ops, path),
        v if is_scalar(v) => Ok(eq(field, v)),
        // Whole-array / sub-document equality is not supported (no use in the APIs).
        _ => Err(invalid(path)),
    }
}

/// An operator object `{"$gt": 1, "$lt": 5}`: every key must be an operator; results are ANDed.
fn operators(field: &FieldInfo, ops: &Map<String, Value>, path: &str) -> Result<Expr, DomainError> {
    if ops.is_empty() || ops.keys().any(|k| !k.starts_with('$')) {
        return Err(invalid(path));
    }
    let options = match ops.get("$options") {
        None => None,
        Some(Value::String(s)) if s.is_empty() || s == "i" => Some(s.as_str()),
        Some(_) => return Err(invalid(&join(path, "$options"))),
    };
    if options.is_some() && !ops.contains_key("$regex") {
        return Err(invalid(&join(path, "$options")));
    }
    let mut parts = Vec::with_capacity(ops.len());
    for (op, v) in ops {
        if op == "$options" {
            continue;
        }
        let op_path = join(path, op);
        if op == "$multilike" {
            parts.push(multilike(field, v, &op_path)?);
            continue;
        }
        parts.push(operator(field, op, v, options, &op_path)?);
    }
    Ok(and(parts))
}

/// One operator applied to `field`. `options` is the `$options` sibling of a `$regex`.
fn operator(
    field: &FieldInfo,
    op: &str,
    v: &Value,
    options: Option<&str>,
    path: &str,
) -> Result<Expr, DomainError> {
    let cmp = |op: CmpOp| -> Result<Expr, DomainError> {
        if is_basic(v) {
            Ok(ordered(field, op, v))
        } else {
            Err(invalid(path))
        }
    };
    match op {
        "$eq" | "$ne" => {
            if !is_scalar(v) {
                return Err(invalid(path));
            }
            let e = eq(field, v);
            Ok(if op == "$ne" { not(e) } else { e })
        }
        "$in" | "$nin" => {
            let items = v.as_array().ok_or_else(|| invalid(path))?;
            if !items.iter().all(is_scalar) {
                return Err(invalid(path));
            }
            Ok(member(field, items, op == "$nin"))
        }
        "$lt" => cmp(CmpOp::Lt),
        "$lte" => cmp(CmpOp::Lte),
        "$gt" => cmp(CmpOp::Gt),
        "$gte" => cmp(CmpOp::Gte),
        "$regex" => {
            let pattern = v.as_str().ok_or_else(|| invalid(path))?;
            check_regex(pattern, path)?;
            Ok(Expr::Regex {
                field: field.clone(),
                pattern: pattern.to_string(),
                case_insensitive: options == Some("i"),
            })
        }
        "$exists" => {
            let exists = match v {
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                _ => return Err(invalid(path)),
            };
            Ok(Expr::Exists {
                field: field.clone(),
                exists,
            })
        }
        "$not" => match v {
            Value::Object(inner) => Ok(not(operators(field, inner, path)?)),
            _ => Err(invalid(path)),
        },
        "$all" => {
            let items = v.as_array().ok_or_else(|| invalid(path))?;
            if !items.iter().all(is_scalar) {
                return Err(invalid(path));
            }
            Ok(Expr::All {
                field: field.clone(),
                values: items.clone(),
            })
        }
        "$size" => {
            let len = as_count(v)
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| invalid(path))?;
            Ok(Expr::Size {
                field: field.clone(),
                len,
            })
        }
        _ => Err(invalid(path)),
    }
}

/// `$multilike`: an array of strings, each of which must occur (case-sensitively) in the value.
fn multilike(field: &FieldInfo, v: &Value, path: &str) -> Result<Expr, DomainError> {
    let items = v.as_array().ok_or_else(|| invalid(path))?;
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        let s = item.as_str().ok_or_else(|| invalid(path))?;
        parts.push(like(field, StrMatch::Contains, s, false));
    }
    Ok(if parts.is_empty() {
        Expr::True
    } else {
        and(parts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::test_catalog::{catalog, f};
    use crate::filter::FieldType;
    use serde_json::json;

    fn p(v: Value) -> Result<Expr, DomainError> {
        parse_condition(&v, &catalog(), "condition")
    }

    fn cmp(name: &str, op: CmpOp, value: Value) -> Expr {
        Expr::Cmp {
            field: f(name),
            op,
            value,
        }
    }

    fn bad(path: &str) -> Result<Expr, DomainError> {
        Err(DomainError::ParamsInvalid(path.to_string()))
    }

    #[test]
    fn null_and_empty_match_all() {
        assert_eq!(p(Value::Null), Ok(Expr::True));
        assert_eq!(p(json!({})), Ok(Expr::And(vec![])));
        assert_eq!(p(json!([1])), Err(DomainError::JsonUnmarshal));
    }

    #[test]
    fn bare_values_are_equality() {
        assert_eq!(
            p(json!({"name": "a"})),
            Ok(cmp("name", CmpOp::Eq, json!("a")))
        );
        assert_eq!(
            p(json!({"name": null, "size": 3})),
            Ok(Expr::And(vec![
                cmp("name", CmpOp::Eq, Value::Null),
                cmp("size", CmpOp::Eq, json!(3)),
            ]))
        );
        assert_eq!(p(json!({"name": [1]})), bad("condition.name"));
        assert_eq!(p(json!({"name": {"a": 1}})), bad("condition.name"));
    }

    #[test]
    fn comparison_operators() {
        assert_eq!(
            p(json!({"size": {"$gt": 1, "$lte": 5}})),
            Ok(Expr::And(vec![
                cmp("size", CmpOp::Gt, json!(1)),
                cmp("size", CmpOp::Lte, json!(5)),
            ]))
        );
        assert_eq!(
            p(json!({"size": {"$ne": 2}})),
            Ok(not(cmp("size", CmpOp::Eq, json!(2))))
        );
        assert_eq!(
            p(json!({"size": {"$eq": null}})),
            Ok(cmp("size", CmpOp::Eq, Value::Null))
        );
        assert_eq!(p(json!({"size": {"$lt": null}})), bad("condition.size.$lt"));
        assert_eq!(p(json!({"size": {"$lt": [1]}})), bad("condition.size.$lt"));
        assert_eq!(p(json!({"size": {"$eq": {}}})), bad("condition.size.$eq"));
    }

    #[test]
    fn membership() {
        assert_eq!(
            p(json!({"name": {"$in": ["a", null, 1]}})),
            Ok(Expr::In {
                field: f("name"),
                values: vec![json!("a"), Value::Null, json!(1)],
                negate: false
            })
        );
        assert_eq!(
            p(json!({"name": {"$nin": []}})),
            Ok(Expr::In {
                field: f("name"),
                values: vec![],
                negate: true
            })
        );
        assert_eq!(p(json!({"name": {"$in": "a"}})), bad("condition.name.$in"));
        assert_eq!(
            p(json!({"name": {"$in": [[1]]}})),
            bad("condition.name.$in")
        );
        assert_eq!(
            p(json!({"tags": {"$all": ["a", "b"]}})),
            Ok(Expr::All {
                field: f("tags"),
                values: vec![json!("a"), json!("b")]
            })
        );
        assert_eq!(p(json!({"tags": {"$all": 1}})), bad("condition.tags.$all"));
    }

    #[test]
    fn regex_and_options() {
        assert_eq!(
            p(json!({"name": {"$regex": "^a.*", "$options": "i"}})),
            Ok(Expr::Regex {
                field: f("name"),
                pattern: "^a.*".into(),
                case_insensitive: true
            })
        );
        assert_eq!(
            p(json!({"name": {"$regex": "x"}})),
            Ok(Expr::Regex {
                field: f("name"),
                pattern: "x".into(),
                case_insensitive: false
            })
        );
        assert_eq!(
            p(json!({"name": {"$regex": "("}})),
            bad("condition.name.$regex")
        );
        assert_eq!(
            p(json!({"name": {"$regex": 1}})),
            bad("condition.name.$regex")
        );
        assert_eq!(
            p(json!({"name": {"$regex": "a", "$options": "g"}})),
            bad("condition.name.$options")
        );
        assert_eq!(
            p(json!({"name": {"$options": "i"}})),
            bad("condition.name.$options")
        );
    }

    #[test]
    fn exists_size_not_multilike() {
        assert_eq!(
            p(json!({"name": {"$exists": false}})),
            Ok(Expr::Exists {
                field: f("name"),
                exists: false
            })
        );
        assert_eq!(
            p(json!({"name": {"$exists": 1}})),
            Ok(Expr::Exists {
                field: f("name"),
                exists: true
            })
        );
        assert_eq!(
            p(json!({"name": {"$exists": "yes"}})),
            bad("condition.name.$exists")
        );
        assert_eq!(
            p(json!({"tags": {"$size": 2}})),
            Ok(Expr::Size {
                field: f("tags"),
                len: 2
            })
        );
        assert_eq!(
            p(json!({"tags": {"$size": -1}})),
            bad("condition.tags.$size")
        );
        assert_eq!(
            p(json!({"size": {"$not": {"$gt": 3}}})),
            Ok(not(cmp("size", CmpOp::Gt, json!(3))))
        );
        assert_eq!(p(json!({"size": {"$not": 3}})), bad("condition.size.$not"));
        assert_eq!(
            p(json!({"ips": {"$multilike": ["10.", ".1"]}})),
            Ok(Expr::And(vec![
                like(&f("ips"), StrMatch::Contains, "10.", false),
                like(&f("ips"), StrMatch::Contains, ".1", false),
            ]))
        );
        assert_eq!(p(json!({"ips": {"$multilike": []}})), Ok(Expr::True));
        assert_eq!(
            p(json!({"ips": {"$multilike": [1]}})),
            bad("condition.ips.$multilike")
        );
    }

    #[test]
    fn logical_operators() {
        assert_eq!(
            p(json!({"$or": [{"name": "a"}, {"size": 1}]})),
            Ok(Expr::Or(vec![
                cmp("name", CmpOp::Eq, json!("a")),
                cmp("size", CmpOp::Eq, json!(1)),
            ]))
        );
        assert_eq!(
            p(json!({"$nor": [{"name": "a"}]})),
            Ok(not(Expr::Or(vec![cmp("name", CmpOp::Eq, json!("a"))])))
        );
        assert_eq!(
            p(json!({"$and": [{"name": "a"}]})),
            Ok(Expr::And(vec![cmp("name", CmpOp::Eq, json!("a"))]))
        );
        assert_eq!(p(json!({"$or": []})), bad("condition.$or"));
        assert_eq!(p(json!({"$or": [1]})), bad("condition.$or[0]"));
        assert_eq!(
            p(json!({"$or": [{"nope": 1}]})),
            bad("condition.$or[0].nope")
        );
    }

    #[test]
    fn unknown_names_are_rejected() {
        assert_eq!(p(json!({"nope": 1})), bad("condition.nope"));
        assert_eq!(p(json!({"$where": "1"})), bad("condition.$where"));
        assert_eq!(
            p(json!({"name": {"$elemMatch": {}}})),
            bad("condition.name.$elemMatch")
        );
        assert_eq!(
            p(json!({"name": {"$eq": 1, "x": 2}})),
            bad("condition.name")
        );
        assert_eq!(p(json!({"name": {}})), bad("condition.name"));
    }

    #[test]
    fn time_fields_compare_instants() {
        let e = p(json!({"create_time": {"$gte": "2021-05-13 01:00:00"}})).unwrap();
        match e {
            Expr::TimeCmp {
                field, op, millis, ..
            } => {
                assert_eq!(field.name, "create_time");
                assert_eq!(op, CmpOp::Gte);
                let t = crate::time::parse_query_time("2021-05-13 01:00:00").unwrap();
                assert_eq!(millis, t.timestamp_millis());
            }
            other => panic!("{other:?}"),
        }
        // A string that is not a time stays a plain comparison.
        assert_eq!(
            p(json!({"create_time": "soon"})),
            Ok(Expr::Cmp {
                field: FieldInfo::doc("create_time", FieldType::Time),
                op: CmpOp::Eq,
                value: json!("soon")
            })
        );
    }

    #[test]
    fn list_form() {
        let cat = catalog();
        let l = |v: Value, m: RegexMode| parse_condition_list(&v, &cat, "condition.host", m);
        assert_eq!(l(Value::Null, RegexMode::Pattern), Ok(Expr::True));
        assert_eq!(l(json!([]), RegexMode::Pattern), Ok(Expr::And(vec![])));
        assert_eq!(
            l(
                json!([{"field": "name", "operator": "$eq", "value": "a"},
                       {"field": "size", "operator": "$ne", "value": 1}]),
                RegexMode::Pattern
            ),
            Ok(Expr::And(vec![
                cmp("name", CmpOp::Eq, json!("a")),
                not(cmp("size", CmpOp::Eq, json!(1))),
            ]))
        );
        assert_eq!(
            l(
                json!([{"field": "name", "operator": "$regex", "value": "a.b"}]),
                RegexMode::Literal
            ),
            Ok(like(&f("name"), StrMatch::Contains, "a.b", false))
        );
        assert_eq!(
            l(
                json!([{"field": "name", "operator": "$regex", "value": "a.b"}]),
                RegexMode::Pattern
            ),
            Ok(Expr::Regex {
                field: f("name"),
                pattern: "a.b".into(),
                case_insensitive: false
            })
        );
        assert_eq!(
            l(
                json!([{"field": "name", "operator": "$in", "value": null}]),
                RegexMode::Pattern
            ),
            Ok(Expr::In {
                field: f("name"),
                values: vec![],
                negate: false
            })
        );
        assert_eq!(
            l(
                json!([{"field": "ips", "operator": "$multilike", "value": ["1"]}]),
                RegexMode::Pattern
            ),
            Ok(like(&f("ips"), StrMatch::Contains, "1", false))
        );
        assert_eq!(
            l(
                json!([{"field": "nope", "operator": "$eq", "value": 1}]),
                RegexMode::Pattern
            ),
            bad("condition.host[0].field")
        );
        assert_eq!(
            l(json!([{"field": "name", "value": 1}]), RegexMode::Pattern),
            bad("condition.host[0].operator")
        );
        assert_eq!(
            l(
                json!([{"field": "name", "operator": "$or", "value": []}]),
                RegexMode::Pattern
            ),
            bad("condition.host[0].operator")
        );
        assert_eq!(
            l(
                json!([{"field": "name", "operator": "$options", "value": "i"}]),
                RegexMode::Pattern
            ),
            bad("condition.host[0].operator")
        );
        assert_eq!(
            l(
                json!([{"field": "size", "operator": "$gte", "value": 2},
                       {"field": "size", "operator": "$nin", "value": [3]}]),
                RegexMode::Pattern
            ),
            Ok(Expr::And(vec![
                cmp("size", CmpOp::Gte, json!(2)),
                Expr::In {
                    field: f("size"),
                    values: vec![json!(3)],
                    negate: true
                },
            ]))
        );
        assert_eq!(
            l(json!([{"operator": "$eq", "value": 1}]), RegexMode::Pattern),
            bad("condition.host[0].field")
        );
        assert_eq!(
            l(json!({"a": 1}), RegexMode::Pattern),
            Err(DomainError::JsonUnmarshal)
        );
        assert_eq!(
            l(json!([1]), RegexMode::Pattern),
            Err(DomainError::JsonUnmarshal)
        );
    }
}
