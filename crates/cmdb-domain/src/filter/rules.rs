//! The rule-tree walker shared by the two `{condition, rules}` languages: the QueryFilter
//! ("querybuilder", 00-protocol.md §9.2) and the pkg/filter expression (§9.3). They have the same
//! JSON shape and differ only in the operator set, the value checks and the limits, so one walker
//! parameterised by [`Lang`] and [`Limits`] keeps their common behaviour from drifting apart.

use serde_json::{Map, Value};

use super::ast::{CmpOp, Expr, FieldInfo, FieldType, StrMatch};
use super::common::{
    and, as_count, eq, fits, index, invalid, is_basic, is_scalar, join, kind, like, member, not,
    ordered, time_cmp, time_from_secs, time_from_str, Kind,
};
use super::FieldCatalog;
use crate::error::DomainError;

/// Size limits of a rule tree. Depth counts an atomic rule as 1 and a combined node (or a
/// `filter_object` / `filter_array` rule) as 1 + the depth of its children, so with
/// `max_depth = 3` "combined → combined → atomic" is the deepest tree accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum depth (see above).
    pub max_depth: usize,
    /// Maximum number of elements of an `in` / `not_in` array (`None` = unlimited).
    pub max_in: Option<usize>,
    /// Maximum number of rules of an `OR` node (`None` = unlimited).
    pub max_or_rules: Option<usize>,
    /// Maximum number of rules of any combined node (`None` = unlimited).
    pub max_rules: Option<usize>,
}

impl Limits {
    /// QueryFilter as most endpoints validate it (`metadata.CommonSearchFilter`, the
    /// `*_property_filter` of search_business / search_set): depth 3, `in` ≤ 500, `OR` ≤ 20.
    pub const QUERY_FILTER: Limits = Limits {
        max_depth: 3,
        max_in: Some(500),
        max_or_rules: Some(20),
        max_rules: None,
    };
    /// QueryFilter of the host list endpoints (`ListHostsParameter.Validate`): only depth 3 and
    /// the same-element-type rule.
    pub const HOST_QUERY_FILTER: Limits = Limits {
        max_depth: 3,
        max_in: None,
        max_or_rules: None,
        max_rules: None,
    };
    /// pkg/filter expressions of search/count_object_instances: depth 3, ≤ 50 rules in any
    /// combined node, `in` / `not_in` ≤ 500.
    pub const EXPRESSION: Limits = Limits {
        max_depth: 3,
        max_in: Some(500),
        max_or_rules: None,
        max_rules: Some(50),
    };
}

/// Which of the two languages is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// §9.2: top must be combined; field regex; no value-vs-field type checks.
    QueryFilter,
    /// §9.3: more operators; values must fit the field type.
    Expression,
}

struct Walker<'a> {
    lang: Lang,
    limits: &'a Limits,
}

/// Parses a whole filter. `null` = no filter ([`Expr::True`]).
pub(crate) fn parse(
    value: &Value,
    catalog: &dyn FieldCatalog,
    path: &str,
    lang: Lang,
    limits: &Limits,
) -> Result<Expr, DomainError> {
    let w = Walker { lang, limits };
    let obj = match value {
        Value::Null => return Ok(Expr::True),
        Value::Object(obj) => obj,
        _ => return Err(invalid(path)),
    };
    if lang == Lang::QueryFilter && !obj.contains_key("condition") {
        // Top level must be combined (an atomic rule or anything else is refused).
        return Err(invalid(path));
    }
    w.rule(obj, catalog, path, 1)
}

impl Walker<'_> {
    fn rule(
        &self,
        obj: &Map<String, Value>,
        catalog: &dyn FieldCatalog,
        path: &str,
        level: usize,
    ) -> Result<Expr, DomainError> {
        if obj.contains_key("condition") {
            self.combined(obj, catalog, path, level)
        } else if obj.contains_key("operator") {
            self.atomic(obj, catalog, path, level)
        } else {
            // "no query filter found"
            Err(invalid(path))
        }
    }

    fn combined(
        &self,
        obj: &Map<String, Value>,
        catalog: &dyn FieldCatalog,
        path: &str,
        level: usize,
    ) -> Result<Expr, DomainError> {
        let is_or = match obj.get("condition").and_then(Value::as_str) {
            Some("AND") => false,
            Some("OR") => true,
            _ => return Err(invalid(&join(path, "condition"))),
        };
        let rules_path = join(path, "rules");
        let rules = match obj.get("rules") {
            Some(Value::Array(rules)) if !rules.is_empty() => rules,
            _ => return Err(invalid(&rules_path)),
        };
        let cap = if is_or {
            min_opt(self.limits.max_or_rules, self.limits.max_rules)
        } else {
            self.limits.max_rules
        };
        if cap.is_some_and(|cap| rules.len() > cap) {
            return Err(invalid(&rules_path));
        }
        // A combined node needs one more level for its children.
        if level >= self.limits.max_depth {
            return Err(invalid(&rules_path));
        }
        let mut parts = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let rule_path = index(&rules_path, i);
            let r = r.as_object().ok_or_else(|| invalid(&rule_path))?;
            parts.push(self.rule(r, catalog, &rule_path, level + 1)?);
        }
        Ok(if is_or {
            Expr::Or(parts)
        } else {
            Expr::And(parts)
        })
    }

    fn atomic(
        &self,
        obj: &Map<String, Value>,
        catalog: &dyn FieldCatalog,
        path: &str,
        level: usize,
    ) -> Result<Expr, DomainError> {
        let field_path = join(path, "field");
        let op_path = join(path, "operator");
        let value_path = join(path, "value");
        let op = obj
            .get("operator")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&op_path))?;
        let name = match obj.get("field") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            _ => return Err(invalid(&field_path)),
        };
        if self.lang == Lang::QueryFilter && !query_filter_field_ok(name) {
            return Err(invalid(&field_path));
        }
        let field = catalog.lookup(name).ok_or_else(|| invalid(&field_path))?;
        let v = obj.get("value").unwrap_or(&Value::Null);
        let exp = self.lang == Lang::Expression;
        let bad = || invalid(&value_path);

        // Per-operator value checks shared by both languages, then the extra "fits the field"
        // check of pkg/filter.
        let fit = |v: &Value| -> Result<(), DomainError> {
            if exp && !fits(field.ty, v) {
                Err(bad())
            } else {
                Ok(())
            }
        };
        let text = |v: &Value| -> Result<String, DomainError> {
            match v {
                Value::String(s) if !s.is_empty() => {
                    fit(v)?;
                    Ok(s.clone())
                }
                _ => Err(bad()),
            }
        };
        let number = |v: &Value| -> Result<(), DomainError> {
            if v.is_number() {
                fit(v)
            } else {
                Err(bad())
            }
        };

        let expr = match op {
            "equal" | "not_equal" => {
                if !is_basic(v) {
                    return Err(bad());
                }
                fit(v)?;
                let e = eq(&field, v);
                if op == "not_equal" {
                    not(e)
                } else {
                    e
                }
            }
            "in" | "not_in" => {
                let items = v.as_array().ok_or_else(bad)?;
                self.check_in(items, &field, exp).map_err(|_| bad())?;
                member(&field, items, op == "not_in")
            }
            "less" | "less_or_equal" | "greater" | "greater_or_equal" => {
                number(v)?;
                ordered(&field, cmp_op(op), v)
            }
            "datetime_less"
            | "datetime_less_or_equal"
            | "datetime_greater"
            | "datetime_greater_or_equal" => {
                let t = match v {
                    Value::String(s) => time_from_str(s),
                    Value::Number(_) if exp => time_from_secs(v),
                    _ => None,
                }
                .ok_or_else(bad)?;
                fit(v)?;
                time_cmp(&field, cmp_op(&op["datetime_".len()..]), t)
            }
            "begins_with" => like(&field, StrMatch::Prefix, &text(v)?, false),
            "not_begins_with" => not(like(&field, StrMatch::Prefix, &text(v)?, false)),
            "contains" => like(&field, StrMatch::Contains, &text(v)?, true),
            "not_contains" => not(like(&field, StrMatch::Contains, &text(v)?, false)),
            "ends_with" => like(&field, StrMatch::Suffix, &text(v)?, false),
            "not_ends_with" => not(like(&field, StrMatch::Suffix, &text(v)?, false)),
            "begins_with_i" if exp => like(&field, StrMatch::Prefix, &text(v)?, true),
            "not_begins_with_i" if exp => not(like(&field, StrMatch::Prefix, &text(v)?, true)),
            "contains_s" if exp => like(&field, StrMatch::Contains, &text(v)?, false),
            "not_contains_i" if exp => not(like(&field, StrMatch::Contains, &text(v)?, true)),
            "ends_with_i" if exp => like(&field, StrMatch::Suffix, &text(v)?, true),
            "not_ends_with_i" if exp => not(like(&field, StrMatch::Suffix, &text(v)?, true)),
            "is_empty" => Expr::IsEmpty {
                field: field.clone(),
            },
            "is_not_empty" => {
                let not_empty = not(Expr::IsEmpty {
                    field: field.clone(),
                });
                if exp {
                    // pkg/filter means "an array with elements": absent / null do not match.
                    and(vec![
                        not(Expr::IsNull {
                            field: field.clone(),
                        }),
                        not_empty,
                    ])
                } else {
                    // querybuilder is `$ne: []`, which absent fields satisfy.
                    not_empty
                }
            }
            "is_null" => Expr::IsNull {
                field: field.clone(),
            },
            "is_not_null" => not(Expr::IsNull {
                field: field.clone(),
            }),
            "exist" | "not_exist" => Expr::Exists {
                field: field.clone(),
                exists: op == "exist",
            },
            "size" if exp => {
                if !matches!(field.ty, FieldType::Array | FieldType::Json) {
                    return Err(bad());
                }
                let len = as_count(v)
                    .and_then(|n| i64::try_from(n).ok())
                    .ok_or_else(bad)?;
                Expr::Size {
                    field: field.clone(),
                    len,
                }
            }
            "filter_object" if exp => {
                if field.ty != FieldType::Json || field.column.is_some() {
                    return Err(bad());
                }
                let scope = ObjectScope {
                    inner: catalog,
                    prefix: &field.name,
                };
                self.nested(v, &scope, &value_path, level)?
            }
            "filter_array" if exp => {
                if !matches!(field.ty, FieldType::Array | FieldType::Json) || field.column.is_some()
                {
                    return Err(bad());
                }
                let scope = ArrayScope { array: &field };
                self.nested(v, &scope, &value_path, level)?
            }
            // Unknown, or `between` / `not_between` / `like` which exist only in docs.
            _ => return Err(invalid(&op_path)),
        };
        Ok(expr)
    }

    /// The sub-rule of `filter_object` / `filter_array`: one level deeper than the rule itself.
    fn nested(
        &self,
        v: &Value,
        scope: &dyn FieldCatalog,
        path: &str,
        level: usize,
    ) -> Result<Expr, DomainError> {
        if level >= self.limits.max_depth {
            return Err(invalid(path));
        }
        let obj = v.as_object().ok_or_else(|| invalid(path))?;
        self.rule(obj, scope, path, level + 1)
    }

    /// `in` / `not_in` arrays: element kinds, same kind, size cap.
    fn check_in(&self, items: &[Value], field: &FieldInfo, exp: bool) -> Result<(), ()> {
        if self.limits.max_in.is_some_and(|cap| items.len() > cap) {
            return Err(());
        }
        if exp {
            // pkg/filter: non-empty, no nulls, every element fits the field.
            if items.is_empty() || !items.iter().all(|v| is_basic(v) && fits(field.ty, v)) {
                return Err(());
            }
        } else if !items.iter().all(is_scalar) {
            // querybuilder: basic values, null allowed.
            return Err(());
        }
        let mut first: Option<Kind> = None;
        for k in items.iter().map(kind).filter(|k| *k != Kind::Null) {
            match first {
                None => first = Some(k),
                Some(f) if f != k => return Err(()),
                Some(_) => {}
            }
        }
        Ok(())
    }
}

fn min_opt(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn cmp_op(op: &str) -> CmpOp {
    match op {
        "less" => CmpOp::Lt,
        "less_or_equal" => CmpOp::Lte,
        "greater" => CmpOp::Gt,
        _ => CmpOp::Gte,
    }
}

/// `^[a-zA-Z0-9][\d\w\-_.]*$` with Go's ASCII `\w`.
fn query_filter_field_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Sub-fields of a `filter_object` field: `sub` is looked up as `parent.sub`.
struct ObjectScope<'a> {
    inner: &'a dyn FieldCatalog,
    prefix: &'a str,
}

impl FieldCatalog for ObjectScope<'_> {
    fn lookup(&self, field: &str) -> Option<FieldInfo> {
        self.inner.lookup(&format!("{}.{}", self.prefix, field))
    }
}

/// Fields of a `filter_array` sub-rule: `element` is "any element" (the array field with
/// element semantics), a decimal index is that position.
struct ArrayScope<'a> {
    array: &'a FieldInfo,
}

impl FieldCatalog for ArrayScope<'_> {
    fn lookup(&self, field: &str) -> Option<FieldInfo> {
        if field == super::ast::ELEMENT_FIELD {
            return Some(self.array.clone().with_array_elements());
        }
        if !field.is_empty() && field.len() <= 9 && field.bytes().all(|b| b.is_ascii_digit()) {
            return Some(FieldInfo::doc(
                format!("{}.{}", self.array.name, field),
                FieldType::Json,
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_pattern() {
        assert!(query_filter_field_ok("bk_host_innerip"));
        assert!(query_filter_field_ok("0a.b-c"));
        assert!(!query_filter_field_ok("_a"));
        assert!(!query_filter_field_ok("a b"));
        assert!(!query_filter_field_ok("a$"));
        assert!(!query_filter_field_ok("ä"));
        assert!(!query_filter_field_ok(""));
    }

    #[test]
    fn min_of_caps() {
        assert_eq!(min_opt(Some(20), Some(50)), Some(20));
        assert_eq!(min_opt(None, Some(50)), Some(50));
        assert_eq!(min_opt(Some(20), None), Some(20));
        assert_eq!(min_opt(None, None), None);
    }
}
