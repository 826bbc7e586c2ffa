//! How attribute values take part in unique rules (10-models §6). Upstream enforces each rule
//! with a MongoDB unique index partial on the stored JSON type; this module states the same
//! semantics as data so any backend can build an equivalent key.

use serde_json::Value;

use super::formats::number_text;
use super::PropertyType;

/// The canonical text of `value` as one key of a unique rule, or `None` when the value escapes
/// the rule (then the whole instance is outside that rule's index).
///
/// * String-typed keys (`singlechar`, `longchar`, `enum`, `date`, `list`, and other text types)
///   take part whenever a JSON string is stored, **including `""`** — two instances leaving a
///   singlechar key empty collide.
/// * `int`/`float` keys take part only when a number is stored; `5`, `5.0` and `5e0` give the
///   same text. `null` escapes.
/// * Anything else escapes.
///
/// Callers combining several parts must do so unambiguously (e.g. as a JSON array of the parts).
pub fn unique_key_part(ptype: PropertyType, value: &Value) -> Option<String> {
    match (ptype, value) {
        (PropertyType::Int | PropertyType::Float, Value::Number(n)) => Some(number_text(n)),
        (
            PropertyType::Singlechar
            | PropertyType::Longchar
            | PropertyType::Enum
            | PropertyType::Date
            | PropertyType::List
            | PropertyType::Time
            | PropertyType::Timezone
            | PropertyType::Objuser
            | PropertyType::IdRule,
            Value::String(s),
        ) => Some(s.clone()),
        _ => None,
    }
}

/// Whether an attribute of `ptype` may be a key of a unique rule (else 1113035): single-key rules
/// take `singlechar`, `int`, `float`, `list`; multi-key rules also `enum` and `date`.
pub fn unique_key_type_allowed(ptype: PropertyType, single_key_rule: bool) -> bool {
    match ptype {
        PropertyType::Singlechar | PropertyType::Int | PropertyType::Float | PropertyType::List => {
            true
        }
        PropertyType::Enum | PropertyType::Date => !single_key_rule,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(name: &str) -> PropertyType {
        PropertyType::parse(name).unwrap()
    }

    #[test]
    fn key_parts() {
        let cases = [
            ("singlechar", json!("abc"), Some("abc")),
            ("singlechar", json!(""), Some("")),
            ("singlechar", json!(null), None),
            ("enum", json!("e1"), Some("e1")),
            ("date", json!("2024-02-29"), Some("2024-02-29")),
            ("list", json!(""), Some("")),
            ("int", json!(5), Some("5")),
            ("int", json!(5.0), Some("5")),
            ("float", json!(5), Some("5")),
            ("float", json!(5.0), Some("5")),
            ("float", json!(2.5), Some("2.5")),
            ("float", json!(-0.0), Some("0")),
            ("int", json!(null), None),
            ("int", json!("5"), None),
            ("float", json!(""), None),
            ("singlechar", json!(5), None),
            ("bool", json!(true), None),
            ("enummulti", json!(["a"]), None),
            ("organization", json!([1]), None),
        ];
        for (ptype, value, want) in cases {
            assert_eq!(
                unique_key_part(t(ptype), &value).as_deref(),
                want,
                "{ptype} {value}"
            );
        }
    }

    #[test]
    fn allowed_key_types() {
        for name in ["singlechar", "int", "float", "list"] {
            assert!(unique_key_type_allowed(t(name), true), "{name} single");
            assert!(unique_key_type_allowed(t(name), false), "{name} multi");
        }
        for name in ["enum", "date"] {
            assert!(!unique_key_type_allowed(t(name), true), "{name} single");
            assert!(unique_key_type_allowed(t(name), false), "{name} multi");
        }
        for name in [
            "longchar",
            "enummulti",
            "enumquote",
            "time",
            "timezone",
            "bool",
            "objuser",
            "organization",
            "innertable",
            "id_rule",
            "table",
        ] {
            assert!(!unique_key_type_allowed(t(name), true), "{name} single");
            assert!(!unique_key_type_allowed(t(name), false), "{name} multi");
        }
    }
}
