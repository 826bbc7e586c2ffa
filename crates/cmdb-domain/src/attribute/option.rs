//! The typed `option` of an attribute. Stored options are JSON of many historical shapes (bounds
//! as numbers or strings, options as JSON text ...); they are parsed here once, leniently, into
//! [`AttrOption`] so value validation and default fill never re-read raw JSON. The stricter rules
//! for *new* definitions (required keys, length caps) live in `define.rs`.

use regex::Regex;
use serde_json::{Map, Value};

use super::formats::{number_as_i64, parse_finite_f64};
use super::PropertyType;
use crate::error::DomainError;

/// One choice of an `enum`/`enummulti` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumOption {
    /// The value stored in instances.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Part of the value filled when the key is absent on create.
    pub is_default: bool,
}

/// One referenced instance of an `enumquote` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumQuoteItem {
    /// Model of the referenced instance.
    pub bk_obj_id: String,
    /// Id of the referenced instance (never 0).
    pub bk_inst_id: i64,
}

/// The parsed `option` of an attribute; which variant appears depends on the property type.
#[derive(Debug, Clone)]
pub enum AttrOption {
    /// No option: types without one, or a string type whose regex is `""`/null.
    None,
    /// The compiled regex of a `singlechar`/`longchar` attribute (unanchored search, like Go's
    /// `regexp.MatchString`).
    Regex(Regex),
    /// Inclusive bounds of an `int` attribute; an unbounded side is `i64::MIN`/`i64::MAX`.
    IntRange {
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
    /// Inclusive bounds of a `float` attribute; an unbounded side is ±infinity.
    FloatRange {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// The choices of an `enum`/`enummulti` attribute, in stored order.
    Enum(Vec<EnumOption>),
    /// The allowed strings of a `list` attribute.
    List(Vec<String>),
    /// The referenced instances of an `enumquote` attribute.
    EnumQuote(Vec<EnumQuoteItem>),
}

impl PartialEq for AttrOption {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::None, Self::None) => true,
            (Self::Regex(a), Self::Regex(b)) => a.as_str() == b.as_str(),
            (Self::IntRange { min: a, max: b }, Self::IntRange { min: c, max: d }) => {
                a == c && b == d
            }
            (Self::FloatRange { min: a, max: b }, Self::FloatRange { min: c, max: d }) => {
                a == c && b == d
            }
            (Self::Enum(a), Self::Enum(b)) => a == b,
            (Self::List(a), Self::List(b)) => a == b,
            (Self::EnumQuote(a), Self::EnumQuote(b)) => a == b,
            _ => false,
        }
    }
}

/// The error every malformed stored option reports.
fn bad_option() -> DomainError {
    DomainError::IsInvalid("option".to_string())
}

/// True for the "no option" encodings bk-cmdb treats alike: null and `""`.
fn is_unset(raw: &Value) -> bool {
    match raw {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Options may be stored as JSON text (older clients); decode it, else use the value as is.
fn decoded(raw: &Value) -> Result<Value, DomainError> {
    match raw {
        Value::String(text) => serde_json::from_str(text).map_err(|_| bad_option()),
        other => Ok(other.clone()),
    }
}

/// How strictly a `{min, max}` object is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bounds {
    /// Stored option: a missing or null key means unbounded.
    Lenient,
    /// New definition: both keys must be present (`""` still means unbounded).
    Strict,
}

/// Reads one bound: `""` (or, leniently, absent/null) is `None` = unbounded.
fn bound<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    mode: Bounds,
) -> Result<Option<&'a Value>, DomainError> {
    match map.get(key) {
        None | Some(Value::Null) if mode == Bounds::Lenient => Ok(None),
        None | Some(Value::Null) => Err(bad_option()),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => Ok(Some(v)),
    }
}

/// Parses the bounds of an `int` option; min ≤ max.
pub(crate) fn parse_int_range(raw: &Value, mode: Bounds) -> Result<(i64, i64), DomainError> {
    if mode == Bounds::Lenient && is_unset(raw) {
        return Ok((i64::MIN, i64::MAX));
    }
    let value = if mode == Bounds::Lenient {
        decoded(raw)?
    } else {
        raw.clone()
    };
    let Value::Object(map) = &value else {
        return Err(bad_option());
    };
    let read = |key: &str, unbounded: i64| -> Result<i64, DomainError> {
        match bound(map, key, mode)? {
            None => Ok(unbounded),
            Some(v) => int_of(v).ok_or_else(bad_option),
        }
    };
    let min = read("min", i64::MIN)?;
    let max = read("max", i64::MAX)?;
    if min > max {
        return Err(bad_option());
    }
    Ok((min, max))
}

/// Parses the bounds of a `float` option; min ≤ max.
pub(crate) fn parse_float_range(raw: &Value, mode: Bounds) -> Result<(f64, f64), DomainError> {
    if mode == Bounds::Lenient && is_unset(raw) {
        return Ok((f64::NEG_INFINITY, f64::INFINITY));
    }
    let value = if mode == Bounds::Lenient {
        decoded(raw)?
    } else {
        raw.clone()
    };
    let Value::Object(map) = &value else {
        return Err(bad_option());
    };
    let read = |key: &str, unbounded: f64| -> Result<f64, DomainError> {
        match bound(map, key, mode)? {
            None => Ok(unbounded),
            Some(v) => float_of(v).ok_or_else(bad_option),
        }
    };
    let min = read("min", f64::NEG_INFINITY)?;
    let max = read("max", f64::INFINITY)?;
    if min > max {
        return Err(bad_option());
    }
    Ok((min, max))
}

/// An integer given as a JSON number or as decimal text (`5`, `"5"`, `"-5"`, `5.0`).
pub(crate) fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => number_as_i64(n),
        Value::String(s) => s.parse::<i64>().ok(),
        _ => None,
    }
}

/// A finite number given as a JSON number or as numeric text.
pub(crate) fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => parse_finite_f64(s),
        _ => None,
    }
}

/// Parses the stored choices of an `enum`/`enummulti` attribute. Every element needs a non-empty
/// string `id` and `name` and `type: "text"`; `is_default` absent/null counts as false.
pub(crate) fn parse_enum(raw: &Value) -> Result<Vec<EnumOption>, DomainError> {
    if is_unset(raw) {
        return Ok(Vec::new());
    }
    let Value::Array(items) = decoded(raw)? else {
        return Err(bad_option());
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(map) = item else {
                return Err(bad_option());
            };
            let text = |key: &str| match map.get(key) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                _ => Err(bad_option()),
            };
            let id = text("id")?;
            let name = text("name")?;
            if map.get("type").and_then(Value::as_str) != Some("text") {
                return Err(bad_option());
            }
            let is_default = match map.get("is_default") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(bad_option()),
            };
            Ok(EnumOption {
                id,
                name,
                is_default,
            })
        })
        .collect()
}

/// Parses the strings of a `list` attribute: a non-empty array of strings.
pub(crate) fn parse_list(raw: &Value) -> Result<Vec<String>, DomainError> {
    let Value::Array(items) = raw else {
        return Err(bad_option());
    };
    if items.is_empty() {
        return Err(bad_option());
    }
    items
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(bad_option))
        .collect()
}

/// Parses the references of an `enumquote` attribute: `[{bk_obj_id, bk_inst_id ≠ 0}]`.
pub(crate) fn parse_enum_quote(raw: &Value) -> Result<Vec<EnumQuoteItem>, DomainError> {
    if is_unset(raw) {
        return Ok(Vec::new());
    }
    let Value::Array(items) = decoded(raw)? else {
        return Err(bad_option());
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(map) = item else {
                return Err(bad_option());
            };
            let bk_obj_id = match map.get("bk_obj_id") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                _ => return Err(bad_option()),
            };
            let bk_inst_id = map
                .get("bk_inst_id")
                .and_then(int_of)
                .filter(|id| *id != 0)
                .ok_or_else(bad_option)?;
            Ok(EnumQuoteItem {
                bk_obj_id,
                bk_inst_id,
            })
        })
        .collect()
}

/// Compiles a string type's regex option; `""`/null means no regex.
pub(crate) fn parse_regex(raw: &Value) -> Result<AttrOption, DomainError> {
    match raw {
        Value::Null => Ok(AttrOption::None),
        Value::String(s) if s.is_empty() => Ok(AttrOption::None),
        Value::String(s) => Regex::new(s)
            .map(AttrOption::Regex)
            .map_err(|_| DomainError::RegexInvalid(s.clone())),
        other => Err(DomainError::RegexInvalid(other.to_string())),
    }
}

impl AttrOption {
    /// Parses a stored `option` for `ptype`. Never panics; junk yields an error
    /// (`RegexInvalid` for a bad regex, `IsInvalid("option")` otherwise). Types without an
    /// option (date, time, bool, objuser, id_rule, innertable ...) always give [`AttrOption::None`].
    pub fn parse(ptype: PropertyType, raw: &Value) -> Result<Self, DomainError> {
        match ptype {
            PropertyType::Singlechar | PropertyType::Longchar => parse_regex(raw),
            PropertyType::Int => {
                parse_int_range(raw, Bounds::Lenient).map(|(min, max)| Self::IntRange { min, max })
            }
            PropertyType::Float => parse_float_range(raw, Bounds::Lenient)
                .map(|(min, max)| Self::FloatRange { min, max }),
            PropertyType::Enum | PropertyType::Enummulti => parse_enum(raw).map(Self::Enum),
            PropertyType::List => parse_list(raw).map(Self::List),
            PropertyType::Enumquote => parse_enum_quote(raw).map(Self::EnumQuote),
            PropertyType::Date
            | PropertyType::Time
            | PropertyType::Timezone
            | PropertyType::Bool
            | PropertyType::Objuser
            | PropertyType::Organization
            | PropertyType::Innertable
            | PropertyType::IdRule
            | PropertyType::Table => Ok(Self::None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(t: &str, raw: Value) -> Result<AttrOption, DomainError> {
        AttrOption::parse(PropertyType::parse(t).unwrap(), &raw)
    }

    #[test]
    fn regex_options() {
        assert_eq!(parse("singlechar", json!(null)), Ok(AttrOption::None));
        assert_eq!(parse("singlechar", json!("")), Ok(AttrOption::None));
        assert_eq!(
            parse("longchar", json!("^a+$")),
            Ok(AttrOption::Regex(Regex::new("^a+$").unwrap()))
        );
        assert_eq!(
            parse("singlechar", json!("(")),
            Err(DomainError::RegexInvalid("(".into()))
        );
        assert_eq!(
            parse("singlechar", json!(5)),
            Err(DomainError::RegexInvalid("5".into()))
        );
        assert_eq!(
            parse("singlechar", json!({"a": 1})),
            Err(DomainError::RegexInvalid("{\"a\":1}".into()))
        );
    }

    #[test]
    fn int_options() {
        let range = |min, max| Ok(AttrOption::IntRange { min, max });
        let cases = [
            (json!(null), range(i64::MIN, i64::MAX)),
            (json!(""), range(i64::MIN, i64::MAX)),
            (json!({"min": 1, "max": 100}), range(1, 100)),
            (json!({"min": "1", "max": "100"}), range(1, 100)),
            (json!({"min": "", "max": ""}), range(i64::MIN, i64::MAX)),
            (json!({"min": "-5", "max": ""}), range(-5, i64::MAX)),
            (json!({"min": 2.0, "max": 3}), range(2, 3)),
            (json!({}), range(i64::MIN, i64::MAX)),
            (json!({"min": null, "max": 7}), range(i64::MIN, 7)),
            (json!("{\"min\":\"1\",\"max\":\"9\"}"), range(1, 9)),
            (json!({"min": 5, "max": 5}), range(5, 5)),
        ];
        for (raw, want) in cases {
            assert_eq!(parse("int", raw.clone()), want, "{raw}");
        }
        for raw in [
            json!({"min": 10, "max": 1}),
            json!({"min": "a", "max": 1}),
            json!({"min": 1.5, "max": 3}),
            json!({"min": true}),
            json!({"max": "99999999999999999999"}),
            json!([1, 2]),
            json!(7),
            json!("not json"),
        ] {
            assert_eq!(parse("int", raw.clone()), Err(bad_option()), "{raw}");
        }
    }

    #[test]
    fn float_options() {
        assert_eq!(
            parse("float", json!({"min": "1.5", "max": 2})),
            Ok(AttrOption::FloatRange { min: 1.5, max: 2.0 })
        );
        assert_eq!(
            parse("float", json!({"min": "", "max": ""})),
            Ok(AttrOption::FloatRange {
                min: f64::NEG_INFINITY,
                max: f64::INFINITY
            })
        );
        assert_eq!(
            parse("float", json!({"min": 3, "max": 2.5})),
            Err(bad_option())
        );
        assert_eq!(parse("float", json!({"min": "inf"})), Err(bad_option()));
        assert_eq!(parse("float", json!({"min": "x"})), Err(bad_option()));
    }

    #[test]
    fn strict_bounds_need_both_keys() {
        assert!(parse_int_range(&json!({"min": 1}), Bounds::Strict).is_err());
        assert!(parse_int_range(&json!({"min": 1, "max": null}), Bounds::Strict).is_err());
        assert_eq!(
            parse_int_range(&json!({"min": "", "max": ""}), Bounds::Strict),
            Ok((i64::MIN, i64::MAX))
        );
        assert!(parse_int_range(&json!("{\"min\":1,\"max\":2}"), Bounds::Strict).is_err());
        assert!(parse_float_range(&json!({"max": 1}), Bounds::Strict).is_err());
    }

    #[test]
    fn enum_options() {
        let raw = json!([
            {"id": "a", "name": "A", "type": "text", "is_default": true},
            {"id": "b", "name": "B", "type": "text"},
            {"id": "c", "name": "C", "type": "text", "is_default": null}
        ]);
        let Ok(AttrOption::Enum(opts)) = parse("enum", raw.clone()) else {
            panic!("enum option did not parse")
        };
        assert_eq!(opts.len(), 3);
        assert!(opts[0].is_default && !opts[1].is_default && !opts[2].is_default);
        assert_eq!(
            parse("enummulti", json!(raw.to_string())),
            parse("enum", raw)
        );
        assert_eq!(parse("enum", json!(null)), Ok(AttrOption::Enum(vec![])));
        for bad in [
            json!([{"id": "", "name": "A", "type": "text"}]),
            json!([{"id": "a", "name": "", "type": "text"}]),
            json!([{"id": 1, "name": "A", "type": "text"}]),
            json!([{"id": "a", "name": "A", "type": "int"}]),
            json!([{"id": "a", "name": "A"}]),
            json!([{"id": "a", "name": "A", "type": "text", "is_default": "yes"}]),
            json!(["a"]),
            json!({"id": "a"}),
            json!(3),
        ] {
            assert_eq!(parse("enum", bad.clone()), Err(bad_option()), "{bad}");
        }
    }

    #[test]
    fn list_and_quote_options() {
        assert_eq!(
            parse("list", json!(["x", "y"])),
            Ok(AttrOption::List(vec!["x".into(), "y".into()]))
        );
        assert_eq!(parse("list", json!([])), Err(bad_option()));
        assert_eq!(parse("list", json!(null)), Err(bad_option()));
        assert_eq!(parse("list", json!(["x", 1])), Err(bad_option()));
        assert_eq!(
            parse("enumquote", json!([{"bk_obj_id": "host", "bk_inst_id": 3}])),
            Ok(AttrOption::EnumQuote(vec![EnumQuoteItem {
                bk_obj_id: "host".into(),
                bk_inst_id: 3
            }]))
        );
        assert_eq!(
            parse("enumquote", json!(null)),
            Ok(AttrOption::EnumQuote(vec![]))
        );
        assert_eq!(
            parse("enumquote", json!([{"bk_obj_id": "host", "bk_inst_id": 0}])),
            Err(bad_option())
        );
        assert_eq!(
            parse("enumquote", json!([{"bk_obj_id": "", "bk_inst_id": 1}])),
            Err(bad_option())
        );
        assert_eq!(
            parse("enumquote", json!([{"bk_inst_id": 1}])),
            Err(bad_option())
        );
    }

    #[test]
    fn option_free_types() {
        for t in [
            "date",
            "time",
            "timezone",
            "bool",
            "objuser",
            "organization",
            "innertable",
            "id_rule",
            "table",
        ] {
            assert_eq!(
                parse(t, json!({"junk": [1, 2]})),
                Ok(AttrOption::None),
                "{t}"
            );
        }
    }
}
