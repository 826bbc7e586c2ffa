//! The shared id and name rules of 10-models §1 (classification, model and group ids and names)
//! and the mainline instance-name rule of 20-instances §3.1 step 9.3. They sit with the
//! attribute rules because they use the same strict-id pattern and length counting.

use serde_json::Value;

use super::formats::{is_go_space, is_strict_id};
use crate::error::DomainError;

/// Longest ModelID / ModelName, in characters.
pub const MODEL_ID_MAX_CHARS: usize = 128;
/// Longest mainline instance name, in characters.
pub const MAINLINE_NAME_MAX_CHARS: usize = 256;

/// Characters a mainline instance name may not contain (besides whitespace).
const MAINLINE_FORBIDDEN: [char; 11] = ['\\', '|', '/', ':', '*', ',', '<', '>', '"', '?', '#'];

/// A JSON string that is not empty, else 1199007 / 1199010.
fn required_string(field: &str, value: &Value) -> Result<String, DomainError> {
    match value {
        Value::String(s) if s.is_empty() => Err(DomainError::NeedSet(field.to_string())),
        Value::String(s) => Ok(s.clone()),
        _ => Err(DomainError::NeedString(field.to_string())),
    }
}

/// ModelID rule (classification id, model id, group id ...): a JSON string (1199007),
/// non-empty (1199010), ≤ 128 characters (1199073), `^[a-zA-Z]\w*$` (1199011 naming `field`).
pub fn validate_model_id(field: &str, value: &Value) -> Result<String, DomainError> {
    let id = required_string(field, value)?;
    if id.chars().count() > MODEL_ID_MAX_CHARS {
        return Err(DomainError::TooLong(
            field.to_string(),
            MODEL_ID_MAX_CHARS as u64,
        ));
    }
    if !is_strict_id(&id) {
        return Err(DomainError::IsInvalid(field.to_string()));
    }
    Ok(id)
}

/// ModelName rule (classification, model, group names): a JSON string (1199007), non-empty
/// (1199010), ≤ 128 characters (1199073); U+0000 → 1199006. Not trimmed.
pub fn validate_model_name(field: &str, value: &Value) -> Result<String, DomainError> {
    let name = required_string(field, value)?;
    if name.chars().count() > MODEL_ID_MAX_CHARS {
        return Err(DomainError::TooLong(
            field.to_string(),
            MODEL_ID_MAX_CHARS as u64,
        ));
    }
    if name.contains('\0') {
        return Err(DomainError::ParamsInvalid(field.to_string()));
    }
    Ok(name)
}

/// Classification and model ids may not start with `bk` in any case (reserved for built-ins):
/// 1199011 naming `field`.
pub fn check_no_bk_prefix(field: &str, id: &str) -> Result<(), DomainError> {
    let reserved = id
        .get(..2)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("bk"));
    if reserved {
        return Err(DomainError::IsInvalid(field.to_string()));
    }
    Ok(())
}

/// `bk_inst_name` of a mainline-level instance (20-instances §3.1 step 9.3): a string (1199007),
/// trimmed of spaces, non-empty (1199010), ≤ 256 characters (1199073), and free of whitespace and
/// of `\ | / : * , < > " ? #` (1199006). Returns the trimmed name.
pub fn validate_mainline_inst_name(value: &Value) -> Result<String, DomainError> {
    const FIELD: &str = "bk_inst_name";
    let Value::String(raw) = value else {
        return Err(DomainError::NeedString(FIELD.to_string()));
    };
    let name = raw.trim_matches(' ');
    if name.is_empty() {
        return Err(DomainError::NeedSet(FIELD.to_string()));
    }
    if name.chars().count() > MAINLINE_NAME_MAX_CHARS {
        return Err(DomainError::TooLong(
            FIELD.to_string(),
            MAINLINE_NAME_MAX_CHARS as u64,
        ));
    }
    if name
        .chars()
        .any(|c| is_go_space(c) || c == '\0' || MAINLINE_FORBIDDEN.contains(&c))
    {
        return Err(DomainError::ParamsInvalid(FIELD.to_string()));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use DomainError::*;

    fn f() -> String {
        "bk_obj_id".to_string()
    }

    #[test]
    fn model_ids() {
        let cases = [
            (json!("switch"), Ok("switch".to_string())),
            (json!("Switch_2"), Ok("Switch_2".to_string())),
            (json!("a".repeat(128)), Ok("a".repeat(128))),
            (json!("a".repeat(129)), Err(TooLong(f(), 128))),
            (json!(""), Err(NeedSet(f()))),
            (json!(null), Err(NeedString(f()))),
            (json!(12), Err(NeedString(f()))),
            (json!("1switch"), Err(IsInvalid(f()))),
            (json!("sw-1"), Err(IsInvalid(f()))),
            (json!(" switch"), Err(IsInvalid(f()))),
            (json!("交换机"), Err(IsInvalid(f()))),
            (json!("a\u{0}"), Err(IsInvalid(f()))),
        ];
        for (value, want) in cases {
            assert_eq!(validate_model_id("bk_obj_id", &value), want, "{value}");
        }
    }

    #[test]
    fn model_names() {
        let g = || "bk_obj_name".to_string();
        let cases = [
            (json!("交换机"), Ok("交换机".to_string())),
            (json!(" spaced "), Ok(" spaced ".to_string())),
            (json!("名".repeat(128)), Ok("名".repeat(128))),
            (json!("名".repeat(129)), Err(TooLong(g(), 128))),
            (json!(""), Err(NeedSet(g()))),
            (json!(false), Err(NeedString(g()))),
            (json!("a\u{0}b"), Err(ParamsInvalid(g()))),
        ];
        for (value, want) in cases {
            assert_eq!(validate_model_name("bk_obj_name", &value), want, "{value}");
        }
    }

    #[test]
    fn bk_prefix() {
        for (id, reserved) in [
            ("bk_switch", true),
            ("BKswitch", true),
            ("bK", true),
            ("Bk_x", true),
            ("b", false),
            ("switch_bk", false),
            ("abk", false),
            ("", false),
            ("b\u{e9}", false),
        ] {
            let got = check_no_bk_prefix("bk_obj_id", id);
            assert_eq!(got.is_err(), reserved, "{id:?}");
            if reserved {
                assert_eq!(got, Err(IsInvalid(f())));
            }
        }
    }

    #[test]
    fn mainline_names() {
        let n = || "bk_inst_name".to_string();
        let cases = [
            (json!("region-1"), Ok("region-1".to_string())),
            (json!("  region  "), Ok("region".to_string())),
            (json!("华南区"), Ok("华南区".to_string())),
            (json!("名".repeat(256)), Ok("名".repeat(256))),
            (json!("名".repeat(257)), Err(TooLong(n(), 256))),
            (json!(""), Err(NeedSet(n()))),
            (json!("   "), Err(NeedSet(n()))),
            (json!(1), Err(NeedString(n()))),
            (json!(null), Err(NeedString(n()))),
            (json!("a b"), Err(ParamsInvalid(n()))),
            (json!("a\tb"), Err(ParamsInvalid(n()))),
            (json!("\tab"), Err(ParamsInvalid(n()))),
        ];
        for (value, want) in cases {
            assert_eq!(validate_mainline_inst_name(&value), want, "{value}");
        }
        for c in ['\\', '|', '/', ':', '*', ',', '<', '>', '"', '?', '#'] {
            let value = json!(format!("a{c}b"));
            assert_eq!(
                validate_mainline_inst_name(&value),
                Err(ParamsInvalid(n())),
                "{c}"
            );
        }
    }
}
