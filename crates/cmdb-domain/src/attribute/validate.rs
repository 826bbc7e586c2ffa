//! Validation of one instance value against its attribute (20-instances §3.3), shared by create
//! and update. It returns the value to store — trimmed strings, normalised times, numeric text
//! turned into numbers — so callers never store what they did not validate. Errors are the
//! *inner* codes with the attribute's `bk_property_name` as `%s`; callers wrap them (§3.1 step 9).

use serde_json::Value;

use super::compiled::CompiledAttribute;
use super::formats::{
    contains_nul, float_to_value, is_date, is_json_integer, is_positive_id, is_timezone,
    is_user_list, normalize_time_value, number_as_i64, parse_finite_f64,
};
use super::option::AttrOption;
use super::PropertyType;
use crate::error::DomainError;

/// Byte limit of a `singlechar` value.
pub const SINGLECHAR_MAX_BYTES: usize = 256;
/// Byte limit of a `longchar` value.
pub const LONGCHAR_MAX_BYTES: usize = 2000;
/// Byte limit of an `objuser` value.
pub const OBJUSER_MAX_BYTES: usize = 2000;
/// Byte limit of an `id_rule` value.
pub const ID_RULE_MAX_BYTES: usize = 256;
/// Most quoted-instance ids one `innertable` value may carry.
pub const INNERTABLE_MAX_IDS: usize = 50;

/// Singlechar attributes whose values may not contain the topology path separator `##`.
const TOPO_NAME_FIELDS: [&str; 3] = ["bk_biz_name", "bk_set_name", "bk_module_name"];

/// Validates `value` for the attribute and returns the normalised value to store.
///
/// * String values are trimmed of leading/trailing whitespace first (§3.2); any string holding
///   U+0000 is refused with 1199006.
/// * `null` (and `""` for the string-like types) passes unless `isrequired` → 1199010.
/// * `time` values are stored in the normalised wire form ([`crate::time::normalize_time`]);
///   `float` numeric strings become numbers; integral floats (`5.0`) become integers.
/// * `enumquote`/`innertable` ids are checked for shape only; the caller checks they exist.
/// * `id_rule` accepts any string ≤ 256 bytes including `""`; generation is the caller's job.
pub fn validate_value(ca: &CompiledAttribute, value: &Value) -> Result<Value, DomainError> {
    let v = Check { ca };
    if contains_nul(value) {
        return Err(v.params_invalid());
    }
    let Some(ptype) = ca.ptype else {
        return Err(DomainError::UnexpectedType);
    };
    let trimmed;
    let value = match value {
        Value::String(s) => {
            trimmed = Value::String(s.trim().to_string());
            &trimmed
        }
        other => other,
    };
    match ptype {
        PropertyType::Singlechar => v.text(value, SINGLECHAR_MAX_BYTES, true),
        PropertyType::Longchar => v.text(value, LONGCHAR_MAX_BYTES, false),
        PropertyType::Int => v.int(value),
        PropertyType::Float => v.float(value),
        PropertyType::Enum => v.enumeration(value),
        PropertyType::Enummulti => v.enum_multi(value),
        PropertyType::Enumquote => v.enum_quote(value),
        PropertyType::Date => v.date(value),
        PropertyType::Time => v.time(value),
        PropertyType::Timezone => v.timezone(value),
        PropertyType::Bool => v.boolean(value),
        PropertyType::List => v.list(value),
        PropertyType::Objuser => v.user(value),
        PropertyType::Organization => v.organization(value),
        PropertyType::Innertable => v.inner_table(value),
        PropertyType::IdRule => v.id_rule(value),
        PropertyType::Table => v.table(value),
    }
}

/// The per-type checks, sharing the attribute and its error constructors.
struct Check<'a> {
    ca: &'a CompiledAttribute,
}

impl Check<'_> {
    fn name(&self) -> String {
        self.ca.attr.bk_property_name.clone()
    }

    fn params_invalid(&self) -> DomainError {
        DomainError::ParamsInvalid(self.name())
    }

    fn is_invalid(&self) -> DomainError {
        DomainError::IsInvalid(self.name())
    }

    /// An empty value: stored as given unless the attribute is required.
    fn empty(&self, value: &Value) -> Result<Value, DomainError> {
        if self.ca.attr.isrequired {
            Err(DomainError::NeedSet(self.name()))
        } else {
            Ok(value.clone())
        }
    }

    fn text(&self, value: &Value, max_bytes: usize, single: bool) -> Result<Value, DomainError> {
        let s = match value {
            Value::Null => return self.empty(value),
            Value::String(s) => s,
            _ => return Err(DomainError::NeedString(self.name())),
        };
        if s.len() > max_bytes {
            return Err(DomainError::OverLimit);
        }
        if s.is_empty() {
            return self.empty(value);
        }
        if single
            && TOPO_NAME_FIELDS.contains(&self.ca.attr.bk_property_id.as_str())
            && s.contains("##")
        {
            return Err(self.params_invalid());
        }
        match &self.ca.option {
            Err(_) => Err(self.is_invalid()),
            Ok(AttrOption::Regex(re)) if !re.is_match(s) => {
                Err(DomainError::RegexMismatch(self.name()))
            }
            Ok(_) => Ok(value.clone()),
        }
    }

    fn int(&self, value: &Value) -> Result<Value, DomainError> {
        let n = match value {
            Value::Null => return self.empty(value),
            Value::Number(n) => n,
            _ => return Err(DomainError::NeedInt(self.name())),
        };
        let i = number_as_i64(n).ok_or_else(|| DomainError::NeedInt(self.name()))?;
        match &self.ca.option {
            Err(_) => Err(self.is_invalid()),
            Ok(AttrOption::IntRange { min, max }) if i < *min || i > *max => {
                Err(self.params_invalid())
            }
            Ok(_) => Ok(Value::from(i)),
        }
    }

    fn float(&self, value: &Value) -> Result<Value, DomainError> {
        let f = match value {
            Value::Null => return self.empty(value),
            Value::Number(n) => n.as_f64(),
            Value::String(s) => parse_finite_f64(s),
            _ => None,
        };
        let f = f.ok_or_else(|| self.is_invalid())?;
        match &self.ca.option {
            Err(_) => return Err(self.is_invalid()),
            Ok(AttrOption::FloatRange { min, max }) if f < *min || f > *max => {
                return Err(self.params_invalid())
            }
            Ok(_) => {}
        }
        if is_json_integer(value) {
            return Ok(value.clone());
        }
        float_to_value(f).ok_or_else(|| self.is_invalid())
    }

    /// The ids of an enum-like option, or the error a broken option gives.
    fn enum_ids(&self) -> Result<Vec<&str>, DomainError> {
        match &self.ca.option {
            Ok(AttrOption::Enum(opts)) => Ok(opts.iter().map(|o| o.id.as_str()).collect()),
            _ => Err(self.params_invalid()),
        }
    }

    fn enumeration(&self, value: &Value) -> Result<Value, DomainError> {
        let s = match value {
            Value::Null => return self.empty(value),
            Value::String(s) => s,
            _ => return Err(self.params_invalid()),
        };
        if self.enum_ids()?.contains(&s.as_str()) {
            Ok(value.clone())
        } else {
            Err(self.params_invalid())
        }
    }

    fn enum_multi(&self, value: &Value) -> Result<Value, DomainError> {
        let items = match value {
            Value::Null => return self.empty(value),
            Value::Array(items) => items,
            _ => return Err(self.params_invalid()),
        };
        let ids = self.enum_ids()?;
        if items.is_empty() {
            return if self.ca.attr.isrequired {
                Err(self.params_invalid())
            } else {
                Ok(value.clone())
            };
        }
        if !self.ca.attr.ismultiple && items.len() != 1 {
            return Err(DomainError::EnumDefaultCount(self.name()));
        }
        for item in items {
            match item {
                Value::String(s) if ids.contains(&s.as_str()) => {}
                _ => return Err(self.params_invalid()),
            }
        }
        Ok(value.clone())
    }

    /// Shape of an array of instance ids: positive integers; single-valued ⇒ at most one.
    fn enum_quote(&self, value: &Value) -> Result<Value, DomainError> {
        let items = match value {
            Value::Null => return self.empty(value),
            Value::Array(items) => items,
            _ => return Err(self.params_invalid()),
        };
        if items.is_empty() && self.ca.attr.isrequired {
            return Err(self.params_invalid());
        }
        if !self.ca.attr.ismultiple && items.len() > 1 {
            return Err(self.params_invalid());
        }
        if !items.iter().all(is_positive_id) {
            return Err(self.params_invalid());
        }
        Ok(value.clone())
    }

    fn date(&self, value: &Value) -> Result<Value, DomainError> {
        match value {
            Value::Null => self.empty(value),
            Value::String(s) if s.is_empty() => self.empty(value),
            Value::String(s) if is_date(s) => Ok(value.clone()),
            _ => Err(self.params_invalid()),
        }
    }

    fn time(&self, value: &Value) -> Result<Value, DomainError> {
        match value {
            Value::Null => self.empty(value),
            Value::String(s) if s.is_empty() => self.empty(value),
            Value::String(s) => normalize_time_value(s)
                .map(Value::String)
                .ok_or_else(|| self.params_invalid()),
            _ => Err(self.params_invalid()),
        }
    }

    fn timezone(&self, value: &Value) -> Result<Value, DomainError> {
        match value {
            Value::Null => self.empty(value),
            Value::String(s) if is_timezone(s) => Ok(value.clone()),
            _ => Err(DomainError::TimezoneInvalid(self.name())),
        }
    }

    fn boolean(&self, value: &Value) -> Result<Value, DomainError> {
        match value {
            Value::Null => self.empty(value),
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(DomainError::NeedBool(self.name())),
        }
    }

    fn list(&self, value: &Value) -> Result<Value, DomainError> {
        let s = match value {
            Value::Null => return self.empty(value),
            Value::String(s) => s,
            _ => return Err(self.params_invalid()),
        };
        match &self.ca.option {
            Ok(AttrOption::List(items)) if items.iter().any(|i| i == s) => Ok(value.clone()),
            _ => Err(self.params_invalid()),
        }
    }

    fn user(&self, value: &Value) -> Result<Value, DomainError> {
        let s = match value {
            Value::Null => return self.empty(value),
            Value::String(s) => s,
            _ => return Err(DomainError::NeedString(self.name())),
        };
        if s.len() > OBJUSER_MAX_BYTES {
            return Err(DomainError::OverLimit);
        }
        if s.is_empty() {
            return self.empty(value);
        }
        if !self.ca.attr.ismultiple && s.contains(',') {
            return Err(self.params_invalid());
        }
        if !is_user_list(s) {
            return Err(DomainError::RegexMismatch(self.name()));
        }
        Ok(value.clone())
    }

    fn organization(&self, value: &Value) -> Result<Value, DomainError> {
        let items = match value {
            Value::Null => return self.empty(value),
            Value::Array(items) => items,
            _ => return Err(self.params_invalid()),
        };
        if items.is_empty() {
            return if self.ca.attr.isrequired {
                Err(self.params_invalid())
            } else {
                Ok(value.clone())
            };
        }
        if !self.ca.attr.ismultiple && items.len() != 1 {
            return Err(self.params_invalid());
        }
        if !items.iter().all(is_json_integer) {
            return Err(self.is_invalid());
        }
        Ok(value.clone())
    }

    fn inner_table(&self, value: &Value) -> Result<Value, DomainError> {
        let items = match value {
            Value::Null => return self.empty(value),
            Value::Array(items) => items,
            _ => return Err(self.params_invalid()),
        };
        if items.is_empty() {
            return self.empty(value);
        }
        if items.len() > INNERTABLE_MAX_IDS {
            return Err(DomainError::ArrayLength(
                self.name(),
                INNERTABLE_MAX_IDS as u64,
            ));
        }
        if !items.iter().all(is_positive_id) {
            return Err(self.params_invalid());
        }
        Ok(value.clone())
    }

    fn id_rule(&self, value: &Value) -> Result<Value, DomainError> {
        match value {
            Value::String(s) if s.len() > ID_RULE_MAX_BYTES => Err(DomainError::OverLimit),
            Value::String(_) => Ok(value.clone()),
            _ => Err(self.params_invalid()),
        }
    }

    fn table(&self, value: &Value) -> Result<Value, DomainError> {
        match value {
            Value::Null => self.empty(value),
            Value::Array(rows) if rows.iter().all(Value::is_object) => Ok(value.clone()),
            _ => Err(self.params_invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::compiled::testing::compiled;
    use super::*;
    use serde_json::json;
    use DomainError::*;

    fn name() -> String {
        "Field".to_string()
    }

    /// One row: (value, expected result).
    type Row = (Value, Result<Value, DomainError>);

    fn run(ca: &CompiledAttribute, rows: Vec<Row>) {
        for (input, want) in rows {
            assert_eq!(
                validate_value(ca, &input),
                want,
                "{} value {input}",
                ca.attr.bk_property_type
            );
        }
    }

    fn plain(ptype: &str) -> CompiledAttribute {
        compiled(ptype, json!(null), json!(null), false, false)
    }

    fn required(ptype: &str) -> CompiledAttribute {
        compiled(ptype, json!(null), json!(null), true, false)
    }

    #[test]
    fn singlechar() {
        let ca = plain("singlechar");
        run(
            &ca,
            vec![
                (json!("abc"), Ok(json!("abc"))),
                (json!("  abc \t\n"), Ok(json!("abc"))),
                (json!(""), Ok(json!(""))),
                (json!("   "), Ok(json!(""))),
                (json!(null), Ok(json!(null))),
                (json!(5), Err(NeedString(name()))),
                (json!(true), Err(NeedString(name()))),
                (json!(["a"]), Err(NeedString(name()))),
                (json!("a".repeat(256)), Ok(json!("a".repeat(256)))),
                (json!("a".repeat(257)), Err(OverLimit)),
                // 85 × 3-byte chars = 255 bytes ok; 86 × 3 = 258 bytes too long.
                (json!("中".repeat(85)), Ok(json!("中".repeat(85)))),
                (json!("中".repeat(86)), Err(OverLimit)),
                // trimmed before counting
                (
                    json!(format!("  {}  ", "a".repeat(256))),
                    Ok(json!("a".repeat(256))),
                ),
                (json!("a\u{0}b"), Err(ParamsInvalid(name()))),
                (json!("line\u{1}ctl"), Ok(json!("line\u{1}ctl"))),
            ],
        );
        let ca = required("singlechar");
        run(
            &ca,
            vec![
                (json!(null), Err(NeedSet(name()))),
                (json!(""), Err(NeedSet(name()))),
                (json!("  "), Err(NeedSet(name()))),
                (json!("x"), Ok(json!("x"))),
            ],
        );
    }

    #[test]
    fn string_regex() {
        let ca = compiled(
            "singlechar",
            json!("^[a-z]+\\d?$"),
            json!(null),
            false,
            false,
        );
        run(
            &ca,
            vec![
                (json!("abc"), Ok(json!("abc"))),
                (json!(" abc1 "), Ok(json!("abc1"))),
                (json!("ABC"), Err(RegexMismatch(name()))),
                (json!(""), Ok(json!(""))),
            ],
        );
        // Unanchored search, like Go's MatchString.
        let ca = compiled("longchar", json!("\\d"), json!(null), false, false);
        run(
            &ca,
            vec![
                (json!("ab1cd"), Ok(json!("ab1cd"))),
                (json!("abcd"), Err(RegexMismatch(name()))),
            ],
        );
        let ca = compiled("singlechar", json!("("), json!(null), false, false);
        run(
            &ca,
            vec![
                (json!("x"), Err(IsInvalid(name()))),
                (json!(""), Ok(json!(""))),
            ],
        );
    }

    #[test]
    fn longchar_limits() {
        let ca = plain("longchar");
        run(
            &ca,
            vec![
                (json!("a".repeat(2000)), Ok(json!("a".repeat(2000)))),
                (json!("a".repeat(2001)), Err(OverLimit)),
                (json!("é".repeat(1000)), Ok(json!("é".repeat(1000)))),
                (json!("é".repeat(1001)), Err(OverLimit)),
                (json!(1), Err(NeedString(name()))),
            ],
        );
    }

    #[test]
    fn topo_names_refuse_separator() {
        let mut ca = plain("singlechar");
        ca.attr.bk_property_id = "bk_set_name".into();
        run(
            &ca,
            vec![
                (json!("a##b"), Err(ParamsInvalid(name()))),
                (json!("a#b"), Ok(json!("a#b"))),
            ],
        );
        let ca = plain("singlechar");
        run(&ca, vec![(json!("a##b"), Ok(json!("a##b")))]);
    }

    #[test]
    fn int() {
        let ca = compiled(
            "int",
            json!({"min": "1", "max": "100"}),
            json!(null),
            false,
            false,
        );
        run(
            &ca,
            vec![
                (json!(1), Ok(json!(1))),
                (json!(100), Ok(json!(100))),
                (json!(0), Err(ParamsInvalid(name()))),
                (json!(101), Err(ParamsInvalid(name()))),
                (json!(50.0), Ok(json!(50))),
                (json!(1.5), Err(NeedInt(name()))),
                (json!("5"), Err(NeedInt(name()))),
                (json!(""), Err(NeedInt(name()))),
                (json!(true), Err(NeedInt(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
        let ca = plain("int");
        run(
            &ca,
            vec![
                (json!(i64::MAX), Ok(json!(i64::MAX))),
                (json!(i64::MIN), Ok(json!(i64::MIN))),
                (json!(u64::MAX), Err(NeedInt(name()))),
                (json!(1e19), Err(NeedInt(name()))),
                (json!(-7), Ok(json!(-7))),
            ],
        );
        let ca = compiled(
            "int",
            json!({"min": "", "max": 0}),
            json!(null),
            true,
            false,
        );
        run(
            &ca,
            vec![
                (json!(-1_000_000), Ok(json!(-1_000_000))),
                (json!(1), Err(ParamsInvalid(name()))),
                (json!(null), Err(NeedSet(name()))),
            ],
        );
        let ca = compiled("int", json!({"min": "x"}), json!(null), false, false);
        run(
            &ca,
            vec![
                (json!(1), Err(IsInvalid(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
    }

    #[test]
    fn float() {
        let ca = compiled(
            "float",
            json!({"min": "0.5", "max": 10}),
            json!(null),
            false,
            false,
        );
        run(
            &ca,
            vec![
                (json!(0.5), Ok(json!(0.5))),
                (json!(10), Ok(json!(10))),
                (json!(2.25), Ok(json!(2.25))),
                (json!(2.0), Ok(json!(2))),
                (json!("3.5"), Ok(json!(3.5))),
                (json!(" 4 "), Ok(json!(4))),
                (json!("1e0"), Ok(json!(1))),
                (json!(0.4), Err(ParamsInvalid(name()))),
                (json!("10.01"), Err(ParamsInvalid(name()))),
                (json!("abc"), Err(IsInvalid(name()))),
                (json!(""), Err(IsInvalid(name()))),
                (json!("NaN"), Err(IsInvalid(name()))),
                (json!("inf"), Err(IsInvalid(name()))),
                (json!(true), Err(IsInvalid(name()))),
                (json!([1]), Err(IsInvalid(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
        let ca = compiled("float", json!(null), json!(null), true, false);
        run(
            &ca,
            vec![
                (json!(1e300), Ok(json!(1e300))),
                (json!(null), Err(NeedSet(name()))),
            ],
        );
    }

    fn enum_option(defaults: &[bool]) -> Value {
        Value::Array(
            defaults
                .iter()
                .enumerate()
                .map(|(i, d)| json!({"id": format!("e{i}"), "name": format!("E{i}"), "type": "text", "is_default": d}))
                .collect(),
        )
    }

    #[test]
    fn enumeration() {
        let ca = compiled(
            "enum",
            enum_option(&[true, false]),
            json!(null),
            false,
            false,
        );
        run(
            &ca,
            vec![
                (json!("e0"), Ok(json!("e0"))),
                (json!(" e1 "), Ok(json!("e1"))),
                (json!("E0"), Err(ParamsInvalid(name()))),
                (json!(""), Err(ParamsInvalid(name()))),
                (json!(0), Err(ParamsInvalid(name()))),
                (json!(["e0"]), Err(ParamsInvalid(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
        let ca = compiled("enum", enum_option(&[true]), json!(null), true, false);
        run(&ca, vec![(json!(null), Err(NeedSet(name())))]);
        let ca = compiled("enum", json!("garbage"), json!(null), false, false);
        run(&ca, vec![(json!("e0"), Err(ParamsInvalid(name())))]);
    }

    #[test]
    fn enum_multi() {
        let multi = compiled(
            "enummulti",
            enum_option(&[false, false, false]),
            json!(null),
            false,
            true,
        );
        run(
            &multi,
            vec![
                (json!(["e0", "e2"]), Ok(json!(["e0", "e2"]))),
                (json!(["e1"]), Ok(json!(["e1"]))),
                (json!([]), Ok(json!([]))),
                (json!(["e0", "zz"]), Err(ParamsInvalid(name()))),
                (json!(["e0", 1]), Err(ParamsInvalid(name()))),
                (json!("e0"), Err(ParamsInvalid(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
        let single = compiled(
            "enummulti",
            enum_option(&[false, false]),
            json!(null),
            true,
            false,
        );
        run(
            &single,
            vec![
                (json!(["e0"]), Ok(json!(["e0"]))),
                (json!(["e0", "e1"]), Err(EnumDefaultCount(name()))),
                (json!([]), Err(ParamsInvalid(name()))),
                (json!(null), Err(NeedSet(name()))),
            ],
        );
    }

    #[test]
    fn enum_quote_shape() {
        let ca = compiled("enumquote", json!(null), json!(null), false, true);
        run(
            &ca,
            vec![
                (json!([1, 2, 3]), Ok(json!([1, 2, 3]))),
                (json!([]), Ok(json!([]))),
                (json!([0]), Err(ParamsInvalid(name()))),
                (json!([-1]), Err(ParamsInvalid(name()))),
                (json!(["1"]), Err(ParamsInvalid(name()))),
                (json!([1.5]), Err(ParamsInvalid(name()))),
                (json!(1), Err(ParamsInvalid(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
        let single = compiled("enumquote", json!(null), json!(null), true, false);
        run(
            &single,
            vec![
                (json!([7]), Ok(json!([7]))),
                (json!([7, 8]), Err(ParamsInvalid(name()))),
                (json!([]), Err(ParamsInvalid(name()))),
                (json!(null), Err(NeedSet(name()))),
            ],
        );
    }

    #[test]
    fn date() {
        run(
            &plain("date"),
            vec![
                (json!("2024-02-29"), Ok(json!("2024-02-29"))),
                (json!(" 2024-01-02 "), Ok(json!("2024-01-02"))),
                (json!("2023-02-29"), Err(ParamsInvalid(name()))),
                (json!("2024-13-01"), Err(ParamsInvalid(name()))),
                (json!("2024/01/02"), Err(ParamsInvalid(name()))),
                (json!("2024-01-02 10:00:00"), Err(ParamsInvalid(name()))),
                (json!(20240102), Err(ParamsInvalid(name()))),
                (json!(""), Ok(json!(""))),
                (json!(null), Ok(json!(null))),
            ],
        );
        run(
            &required("date"),
            vec![
                (json!(""), Err(NeedSet(name()))),
                (json!(null), Err(NeedSet(name()))),
            ],
        );
    }

    #[test]
    fn time() {
        let stored = crate::time::normalize_time("2021-05-13T01:00:00Z").unwrap();
        let local = crate::time::normalize_time("2021-05-13 01:00:00").unwrap();
        run(
            &plain("time"),
            vec![
                (json!("2021-05-13T01:00:00Z"), Ok(json!(stored.clone()))),
                (json!("2021-05-13T09:00:00+08:00"), Ok(json!(stored))),
                (json!("2021-05-13 01:00:00"), Ok(json!(local))),
                (json!("2021-05-13"), Err(ParamsInvalid(name()))),
                (json!("2021-02-30 01:00:00"), Err(ParamsInvalid(name()))),
                (json!("yesterday"), Err(ParamsInvalid(name()))),
                (json!(1620867600), Err(ParamsInvalid(name()))),
                (json!(""), Ok(json!(""))),
                (json!(null), Ok(json!(null))),
            ],
        );
        run(&required("time"), vec![(json!(""), Err(NeedSet(name())))]);
    }

    #[test]
    fn timezone() {
        run(
            &plain("timezone"),
            vec![
                (json!("Asia/Shanghai"), Ok(json!("Asia/Shanghai"))),
                (json!(" UTC "), Ok(json!("UTC"))),
                (json!("Asia Shanghai"), Err(TimezoneInvalid(name()))),
                (json!(""), Err(TimezoneInvalid(name()))),
                (json!(8), Err(TimezoneInvalid(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
        run(
            &required("timezone"),
            vec![(json!(null), Err(NeedSet(name())))],
        );
    }

    #[test]
    fn boolean() {
        run(
            &plain("bool"),
            vec![
                (json!(true), Ok(json!(true))),
                (json!(false), Ok(json!(false))),
                (json!("true"), Err(NeedBool(name()))),
                (json!(1), Err(NeedBool(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
        run(
            &required("bool"),
            vec![
                (json!(null), Err(NeedSet(name()))),
                (json!(false), Ok(json!(false))),
            ],
        );
    }

    #[test]
    fn list() {
        let ca = compiled(
            "list",
            json!(["red", "blue", ""]),
            json!(null),
            false,
            false,
        );
        run(
            &ca,
            vec![
                (json!("red"), Ok(json!("red"))),
                (json!(" blue "), Ok(json!("blue"))),
                (json!(""), Ok(json!(""))),
                (json!("green"), Err(ParamsInvalid(name()))),
                (json!(1), Err(ParamsInvalid(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
        let ca = compiled("list", json!(["red"]), json!(null), false, false);
        run(&ca, vec![(json!(""), Err(ParamsInvalid(name())))]);
        let ca = compiled("list", json!(null), json!(null), false, false);
        run(
            &ca,
            vec![
                (json!("red"), Err(ParamsInvalid(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
    }

    #[test]
    fn objuser() {
        let multi = compiled("objuser", json!(null), json!(null), false, true);
        run(
            &multi,
            vec![
                (json!("admin"), Ok(json!("admin"))),
                (json!(" admin,bob "), Ok(json!("admin,bob"))),
                (json!("_admin"), Err(RegexMismatch(name()))),
                (json!("张三"), Err(RegexMismatch(name()))),
                (json!(""), Ok(json!(""))),
                (json!(null), Ok(json!(null))),
                (json!(1), Err(NeedString(name()))),
                (json!("a".repeat(2000)), Ok(json!("a".repeat(2000)))),
                (json!("a".repeat(2001)), Err(OverLimit)),
            ],
        );
        let single = compiled("objuser", json!(null), json!(null), true, false);
        run(
            &single,
            vec![
                (json!("admin"), Ok(json!("admin"))),
                (json!("admin,bob"), Err(ParamsInvalid(name()))),
                (json!(""), Err(NeedSet(name()))),
                (json!(null), Err(NeedSet(name()))),
            ],
        );
    }

    #[test]
    fn organization() {
        let multi = compiled("organization", json!(null), json!(null), false, true);
        run(
            &multi,
            vec![
                (json!([1, 2]), Ok(json!([1, 2]))),
                (json!([]), Ok(json!([]))),
                (json!(["1"]), Err(IsInvalid(name()))),
                (json!([1.5]), Err(IsInvalid(name()))),
                (json!(1), Err(ParamsInvalid(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
        let single = compiled("organization", json!(null), json!(null), true, false);
        run(
            &single,
            vec![
                (json!([1]), Ok(json!([1]))),
                (json!([1, 2]), Err(ParamsInvalid(name()))),
                (json!([]), Err(ParamsInvalid(name()))),
                (json!(null), Err(NeedSet(name()))),
            ],
        );
    }

    #[test]
    fn inner_table() {
        let fifty: Vec<i64> = (1..=50).collect();
        let fifty_one: Vec<i64> = (1..=51).collect();
        run(
            &plain("innertable"),
            vec![
                (json!(fifty), Ok(json!(fifty))),
                (json!(fifty_one), Err(ArrayLength(name(), 50))),
                (json!([]), Ok(json!([]))),
                (json!(null), Ok(json!(null))),
                (json!(["a"]), Err(ParamsInvalid(name()))),
                (json!([0]), Err(ParamsInvalid(name()))),
                (json!({"a": 1}), Err(ParamsInvalid(name()))),
            ],
        );
        run(
            &required("innertable"),
            vec![
                (json!([]), Err(NeedSet(name()))),
                (json!(null), Err(NeedSet(name()))),
            ],
        );
    }

    #[test]
    fn id_rule_and_table() {
        run(
            &plain("id_rule"),
            vec![
                (json!("HOST-0001"), Ok(json!("HOST-0001"))),
                (json!(""), Ok(json!(""))),
                (json!("a".repeat(256)), Ok(json!("a".repeat(256)))),
                (json!("a".repeat(257)), Err(OverLimit)),
                (json!(null), Err(ParamsInvalid(name()))),
                (json!(5), Err(ParamsInvalid(name()))),
            ],
        );
        run(
            &plain("table"),
            vec![
                (json!([{"a": 1}, {}]), Ok(json!([{"a": 1}, {}]))),
                (json!([]), Ok(json!([]))),
                (json!([1]), Err(ParamsInvalid(name()))),
                (json!({"a": 1}), Err(ParamsInvalid(name()))),
                (json!(null), Ok(json!(null))),
            ],
        );
    }

    #[test]
    fn unknown_type_and_nul() {
        run(
            &plain("foreignkey"),
            vec![
                (json!("x"), Err(UnexpectedType)),
                (json!(null), Err(UnexpectedType)),
            ],
        );
        let multi = compiled("enummulti", enum_option(&[false]), json!(null), false, true);
        run(
            &multi,
            vec![(json!(["e0", "\u{0}"]), Err(ParamsInvalid(name())))],
        );
        run(
            &plain("table"),
            vec![(json!([{"k": "\u{0}"}]), Err(ParamsInvalid(name())))],
        );
    }
}
