//! Validation of attribute *definitions* for create_object_attribute and update_object_attribute
//! (10-models §4.1, §4.2): ids, names, type, `ismultiple`, the per-type `option` and `default`,
//! unit and placeholder. These rules are stricter than the lenient parse of stored options in
//! `option.rs`: a new definition must be well-formed, while stored ones must merely load.
//! Checks that need the database (model exists, duplicates, group exists, mainline model) belong
//! to the caller; [`check_mainline_required`] is the pure half of the mainline rule.

use serde_json::{Map, Value};

use super::compiled::CompiledAttribute;
use super::fill::fill_for;
use super::formats::{contains_nul, is_strict_id, number_as_i64};
use super::option::{
    parse_enum, parse_enum_quote, parse_float_range, parse_int_range, parse_list, parse_regex,
    AttrOption, Bounds,
};
use super::validate::{
    validate_value, LONGCHAR_MAX_BYTES, OBJUSER_MAX_BYTES, SINGLECHAR_MAX_BYTES,
};
use super::PropertyType;
use crate::error::DomainError;
use crate::model::Attribute;

/// Longest `bk_property_id`, in characters.
pub const PROPERTY_ID_MAX_CHARS: usize = 128;
/// Longest `bk_property_name`, in characters.
pub const PROPERTY_NAME_MAX_CHARS: usize = 128;
/// Longest `unit`, in characters.
pub const UNIT_MAX_CHARS: usize = 20;
/// Longest `placeholder`, in characters.
pub const PLACEHOLDER_MAX_CHARS: usize = 2000;
/// Longest regex option of a string type, in characters.
pub const REGEX_OPTION_MAX_CHARS: usize = 2000;
/// Most elements of an enum or list option.
pub const OPTION_ARRAY_MAX: usize = 200;
/// Longest enum id/name or list element, in characters.
pub const OPTION_VALUE_MAX_CHARS: usize = 128;
/// Most sub-attributes in an `innertable` header.
pub const TABLE_HEADER_MAX: usize = 8;
/// Most `longchar` sub-attributes in an `innertable` header.
pub const TABLE_LONGCHAR_MAX: usize = 2;
/// Most default rows of an `innertable` option.
pub const TABLE_DEFAULT_ROWS_MAX: usize = 10;

/// Types whose attributes hold one value; `ismultiple: true` is refused for them (1199012).
pub fn supports_multiple(ptype: PropertyType) -> bool {
    matches!(
        ptype,
        PropertyType::Enummulti
            | PropertyType::Enumquote
            | PropertyType::Objuser
            | PropertyType::Organization
            | PropertyType::Innertable
            | PropertyType::Table
    )
}

/// The `ismultiple` a create body that omits the key gets: true for `objuser`, `organization`,
/// `enumquote` and `enummulti`, false otherwise. The [`Attribute`] record cannot tell "absent"
/// from `false`, so the caller applies this before [`validate_new_attribute`] when the body
/// lacks `ismultiple`.
pub fn default_ismultiple(ptype: PropertyType) -> bool {
    matches!(
        ptype,
        PropertyType::Objuser
            | PropertyType::Organization
            | PropertyType::Enumquote
            | PropertyType::Enummulti
    )
}

/// Mainline models take no required attributes (1101092). `is_mainline` comes from the caller's
/// association lookup.
pub fn check_mainline_required(attr: &Attribute, is_mainline: bool) -> Result<(), DomainError> {
    if is_mainline && attr.isrequired {
        return Err(DomainError::MainlineRequiredAttr);
    }
    Ok(())
}

/// Which parts of a definition a check covers (all on create; the touched ones on update).
#[derive(Debug, Clone, Copy, Default)]
struct Parts {
    name: bool,
    group: bool,
    unit: bool,
    placeholder: bool,
    description: bool,
    creator: bool,
    multiple: bool,
    option: bool,
    default: bool,
}

impl Parts {
    const ALL: Parts = Parts {
        name: true,
        group: true,
        unit: true,
        placeholder: true,
        description: true,
        creator: true,
        multiple: true,
        option: true,
        default: true,
    };
}

fn invalid(field: &str) -> DomainError {
    DomainError::IsInvalid(field.to_string())
}

fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Validates and normalises a new attribute definition in place.
///
/// Trims `bk_property_id`, `bk_property_name`, `bk_property_type`, `unit`, `placeholder` and
/// string defaults; an empty group becomes `default`; `isonly` forces `isrequired`; `objuser`
/// forces `ismultiple`; enum/enummulti/enumquote/id_rule/innertable defaults become null;
/// `default: ""` means no default. `ispre` is taken as given (the caller forces it false for
/// client requests, which makes the `bk_`/`_bk` id prefixes unavailable).
///
/// Errors: missing id/name/type 1199010; id longer than 128 characters 1199073; id not
/// `^[a-zA-Z]\w*$` 1199011 (with the id); reserved prefix 1199011 `bk_property_id`; name longer
/// than 128 characters 1199073; unknown type 1199011 `bk_property_type`; `ismultiple` on a
/// single-value type 1199012; option errors 1199008/1199011/1199073/1199092/1101109/1199035;
/// bad default 1199011 `default`; unit > 20 / placeholder > 2000 characters 1199073; U+0000 in
/// any text 1199006.
pub fn validate_new_attribute(attr: &mut Attribute) -> Result<(), DomainError> {
    attr.bk_property_id = attr.bk_property_id.trim().to_string();
    attr.bk_property_name = attr.bk_property_name.trim().to_string();
    attr.bk_property_type = attr.bk_property_type.trim().to_string();
    for (field, text) in [
        ("bk_property_id", &attr.bk_property_id),
        ("bk_property_name", &attr.bk_property_name),
        ("bk_property_type", &attr.bk_property_type),
    ] {
        if text.is_empty() {
            return Err(DomainError::NeedSet(field.to_string()));
        }
    }
    check_property_id(attr)?;
    let ptype = match PropertyType::parse(&attr.bk_property_type) {
        Some(PropertyType::Table) | None => return Err(invalid("bk_property_type")),
        Some(t) => t,
    };
    if attr.isonly {
        attr.isrequired = true;
    }
    check_parts(attr, Some(ptype), Parts::ALL)
}

/// Applies an update body to `existing` and validates the result with the rules of
/// [`validate_new_attribute`], for the parts the body touches (so an update of the name does not
/// fail on an old option that today's rules would refuse).
///
/// Ignored keys: `id`, `bk_obj_id`, `bk_property_id`, `bk_property_type`, `ispre`,
/// `bk_supplier_account`, `create_time`, `last_time`, `bk_property_group_name`,
/// `bk_template_id`, `bk_biz_id`, and any key that is not an attribute field. Typed keys must
/// have their type: text fields 1199007, flags 1199025, `bk_property_index` 1199009.
pub fn validate_attribute_update(
    existing: &Attribute,
    patch: &Map<String, Value>,
) -> Result<Attribute, DomainError> {
    let mut next = existing.clone();
    let mut parts = Parts::default();
    for (key, value) in patch {
        let field = key.as_str();
        match field {
            "bk_property_name" => {
                next.bk_property_name = text_field(field, value)?;
                parts.name = true;
            }
            "bk_property_group" => {
                next.bk_property_group = text_field(field, value)?;
                parts.group = true;
            }
            "unit" => {
                next.unit = text_field(field, value)?;
                parts.unit = true;
            }
            "placeholder" => {
                next.placeholder = text_field(field, value)?;
                parts.placeholder = true;
            }
            "description" => {
                next.description = text_field(field, value)?;
                parts.description = true;
            }
            "creator" => {
                next.creator = text_field(field, value)?;
                parts.creator = true;
            }
            "editable" => next.editable = flag_field(field, value)?,
            "isrequired" => next.isrequired = flag_field(field, value)?,
            "isreadonly" => next.isreadonly = flag_field(field, value)?,
            "isonly" => next.isonly = flag_field(field, value)?,
            "bk_issystem" => next.bk_issystem = flag_field(field, value)?,
            "bk_isapi" => next.bk_isapi = flag_field(field, value)?,
            "ismultiple" => {
                next.ismultiple = flag_field(field, value)?;
                parts.multiple = true;
            }
            "bk_property_index" => {
                next.bk_property_index = match value {
                    Value::Number(n) => number_as_i64(n),
                    _ => None,
                }
                .ok_or_else(|| DomainError::NeedInt(field.to_string()))?;
            }
            "option" => {
                next.option = value.clone();
                parts.option = true;
            }
            "default" => {
                next.default = value.clone();
                parts.default = true;
            }
            _ => {}
        }
    }
    if next.isonly {
        next.isrequired = true;
    }
    let ptype = PropertyType::parse(&next.bk_property_type);
    if ptype.is_none() && (parts.multiple || parts.option || parts.default) {
        return Err(invalid("bk_property_type"));
    }
    check_parts(&mut next, ptype, parts)?;
    Ok(next)
}

fn text_field(field: &str, value: &Value) -> Result<String, DomainError> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| DomainError::NeedString(field.to_string()))
}

fn flag_field(field: &str, value: &Value) -> Result<bool, DomainError> {
    value
        .as_bool()
        .ok_or_else(|| DomainError::NeedBool(field.to_string()))
}

/// `bk_property_id` rules (10-models §4.2); the id is already trimmed and non-empty.
fn check_property_id(attr: &Attribute) -> Result<(), DomainError> {
    let id = attr.bk_property_id.as_str();
    if char_len(id) > PROPERTY_ID_MAX_CHARS {
        return Err(DomainError::TooLong(
            "bk_property_id".to_string(),
            PROPERTY_ID_MAX_CHARS as u64,
        ));
    }
    if !is_strict_id(id) {
        return Err(DomainError::IsInvalid(id.to_string()));
    }
    if !attr.ispre && (id.starts_with("bk_") || id.starts_with("_bk")) {
        return Err(invalid("bk_property_id"));
    }
    Ok(())
}

/// `bk_property_name` rules: trimmed, non-empty, ≤ 128 characters.
fn check_property_name(attr: &mut Attribute) -> Result<(), DomainError> {
    attr.bk_property_name = attr.bk_property_name.trim().to_string();
    if attr.bk_property_name.is_empty() {
        return Err(DomainError::NeedSet("bk_property_name".to_string()));
    }
    if char_len(&attr.bk_property_name) > PROPERTY_NAME_MAX_CHARS {
        return Err(DomainError::TooLong(
            "bk_property_name".to_string(),
            PROPERTY_NAME_MAX_CHARS as u64,
        ));
    }
    Ok(())
}

/// Trims `text` and checks its length in characters.
fn check_trimmed(text: &mut String, field: &str, max_chars: usize) -> Result<(), DomainError> {
    *text = text.trim().to_string();
    if char_len(text) > max_chars {
        return Err(DomainError::TooLong(field.to_string(), max_chars as u64));
    }
    Ok(())
}

/// The shared body of create and update validation.
fn check_parts(
    attr: &mut Attribute,
    ptype: Option<PropertyType>,
    parts: Parts,
) -> Result<(), DomainError> {
    check_nul(attr, parts)?;
    if parts.name {
        check_property_name(attr)?;
    }
    if parts.group && attr.bk_property_group.trim().is_empty() {
        attr.bk_property_group = "default".to_string();
    }
    if let Some(ptype) = ptype {
        if parts.multiple {
            if ptype == PropertyType::Objuser {
                attr.ismultiple = true;
            } else if attr.ismultiple && !supports_multiple(ptype) {
                return Err(DomainError::MultipleNotAllowed(ptype.as_str().to_string()));
            }
        }
        if parts.option || parts.multiple || parts.default {
            let option = check_option(ptype, attr, parts.option || parts.multiple)?;
            if parts.default || parts.option {
                check_default(ptype, &option, attr)?;
            }
        }
    }
    if parts.unit {
        check_trimmed(&mut attr.unit, "unit", UNIT_MAX_CHARS)?;
    }
    if parts.placeholder {
        check_trimmed(&mut attr.placeholder, "placeholder", PLACEHOLDER_MAX_CHARS)?;
    }
    Ok(())
}

/// U+0000 cannot be stored anywhere (00-protocol §4.3).
fn check_nul(attr: &Attribute, parts: Parts) -> Result<(), DomainError> {
    let texts = [
        (parts.name, "bk_property_name", &attr.bk_property_name),
        (parts.group, "bk_property_group", &attr.bk_property_group),
        (parts.unit, "unit", &attr.unit),
        (parts.placeholder, "placeholder", &attr.placeholder),
        (parts.description, "description", &attr.description),
        (parts.creator, "creator", &attr.creator),
    ];
    for (touched, field, text) in texts {
        if touched && text.contains('\0') {
            return Err(DomainError::ParamsInvalid(field.to_string()));
        }
    }
    for (touched, field, value) in [
        (parts.option, "option", &attr.option),
        (parts.default, "default", &attr.default),
    ] {
        if touched && contains_nul(value) {
            return Err(DomainError::ParamsInvalid(field.to_string()));
        }
    }
    Ok(())
}

/// Validates the option of `ptype` with the rules for new definitions when `strict`, else only
/// parses it (an update that changes the default but keeps an old option); returns it parsed.
fn check_option(
    ptype: PropertyType,
    attr: &Attribute,
    strict: bool,
) -> Result<AttrOption, DomainError> {
    if !strict {
        return AttrOption::parse(ptype, &attr.option);
    }
    let raw = &attr.option;
    let lost = || DomainError::LostField("option".to_string());
    match ptype {
        PropertyType::Singlechar | PropertyType::Longchar => {
            if let Value::String(s) = raw {
                if char_len(s) > REGEX_OPTION_MAX_CHARS {
                    return Err(DomainError::TooLong(
                        "option".to_string(),
                        REGEX_OPTION_MAX_CHARS as u64,
                    ));
                }
            }
            parse_regex(raw)
        }
        PropertyType::Int => match raw {
            Value::Null => Err(lost()),
            _ => parse_int_range(raw, Bounds::Strict)
                .map(|(min, max)| AttrOption::IntRange { min, max }),
        },
        PropertyType::Float => match raw {
            Value::Null => Err(lost()),
            _ => parse_float_range(raw, Bounds::Strict)
                .map(|(min, max)| AttrOption::FloatRange { min, max }),
        },
        PropertyType::Enum | PropertyType::Enummulti => {
            check_enum_option(raw, attr.ismultiple)?;
            parse_enum(raw).map(AttrOption::Enum)
        }
        PropertyType::List => {
            check_list_option(raw)?;
            parse_list(raw).map(AttrOption::List)
        }
        PropertyType::Enumquote => {
            let items = parse_enum_quote(raw)?;
            if let Some(first) = items.first() {
                if items.iter().any(|q| q.bk_obj_id != first.bk_obj_id) {
                    return Err(invalid("option"));
                }
            }
            Ok(AttrOption::EnumQuote(items))
        }
        PropertyType::Bool => match raw {
            Value::Null | Value::Bool(_) => Ok(AttrOption::None),
            _ => Err(invalid("option")),
        },
        PropertyType::IdRule => match raw {
            Value::Null => Err(lost()),
            _ => Ok(AttrOption::None),
        },
        PropertyType::Innertable => {
            check_table_option(raw)?;
            Ok(AttrOption::None)
        }
        PropertyType::Date
        | PropertyType::Time
        | PropertyType::Timezone
        | PropertyType::Objuser
        | PropertyType::Organization
        | PropertyType::Table => Ok(AttrOption::None),
    }
}

/// Enum choices of a new definition: ≤ 200 elements of `{id ≤ 128, name ≤ 128, type: "text",
/// is_default: bool}`; exactly one default unless multiple (1199092).
fn check_enum_option(raw: &Value, multiple: bool) -> Result<(), DomainError> {
    let items = match raw {
        Value::Null => return Err(DomainError::LostField("option".to_string())),
        Value::Array(items) => items,
        _ => return Err(invalid("option")),
    };
    if items.len() > OPTION_ARRAY_MAX {
        return Err(DomainError::TooLong(
            "option".to_string(),
            OPTION_ARRAY_MAX as u64,
        ));
    }
    let mut defaults = 0usize;
    for item in items {
        let Value::Object(map) = item else {
            return Err(invalid("option"));
        };
        check_enum_text(map, "id")?;
        check_enum_text(map, "name")?;
        if map.get("type").and_then(Value::as_str) != Some("text") {
            return Err(invalid("option type"));
        }
        match map.get("is_default") {
            Some(Value::Bool(true)) => defaults += 1,
            Some(Value::Bool(false)) => {}
            _ => return Err(invalid("option default")),
        }
    }
    if !multiple && defaults != 1 {
        return Err(DomainError::EnumDefaultCount("option".to_string()));
    }
    Ok(())
}

/// One text member (`id`/`name`) of an enum choice.
fn check_enum_text(map: &Map<String, Value>, key: &str) -> Result<(), DomainError> {
    let field = format!("option {key}");
    match map.get(key) {
        None | Some(Value::Null) => Err(DomainError::NeedSet(field)),
        Some(Value::String(s)) if s.is_empty() => Err(DomainError::NeedSet(field)),
        Some(Value::String(s)) if char_len(s) > OPTION_VALUE_MAX_CHARS => {
            Err(DomainError::TooLong(field, OPTION_VALUE_MAX_CHARS as u64))
        }
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(DomainError::NeedString(field)),
    }
}

/// List strings of a new definition: non-empty, ≤ 200 strings of ≤ 128 characters.
fn check_list_option(raw: &Value) -> Result<(), DomainError> {
    let items = match raw {
        Value::Null => return Err(DomainError::LostField("option".to_string())),
        Value::Array(items) if !items.is_empty() => items,
        _ => return Err(invalid("option")),
    };
    if items.len() > OPTION_ARRAY_MAX {
        return Err(DomainError::TooLong(
            "option".to_string(),
            OPTION_ARRAY_MAX as u64,
        ));
    }
    for item in items {
        match item {
            Value::String(s) if char_len(s) > OPTION_VALUE_MAX_CHARS => {
                return Err(DomainError::TooLong(
                    "option".to_string(),
                    OPTION_VALUE_MAX_CHARS as u64,
                ))
            }
            Value::String(_) => {}
            _ => return Err(invalid("option")),
        }
    }
    Ok(())
}

/// `innertable` option: `{"header": [1..=8 sub-attributes], "default": [≤ 10 rows]}`; sub-types
/// int/float/bool/singlechar/enummulti/longchar (≤ 2 longchar); rows only use header ids.
fn check_table_option(raw: &Value) -> Result<(), DomainError> {
    let map = match raw {
        Value::Null => return Err(DomainError::LostField("option".to_string())),
        Value::Object(map) => map,
        _ => return Err(invalid("option")),
    };
    let header = match map.get("header") {
        Some(Value::Array(h)) if !h.is_empty() => h,
        None | Some(Value::Null) | Some(Value::Array(_)) => {
            return Err(DomainError::NeedSet("table header".to_string()))
        }
        Some(_) => return Err(invalid("option")),
    };
    if header.len() > TABLE_HEADER_MAX {
        return Err(DomainError::ExceedLimit(
            "table header".to_string(),
            TABLE_HEADER_MAX as u64,
        ));
    }
    let mut subs: Vec<CompiledAttribute> = Vec::with_capacity(header.len());
    let mut longchars = 0usize;
    for column in header {
        let sub = sub_attribute(column)?;
        let ptype = match PropertyType::parse(&sub.bk_property_type) {
            Some(
                t @ (PropertyType::Int
                | PropertyType::Float
                | PropertyType::Bool
                | PropertyType::Singlechar
                | PropertyType::Longchar
                | PropertyType::Enummulti),
            ) => t,
            _ => return Err(DomainError::IsInvalid(sub.bk_property_type.clone())),
        };
        if ptype == PropertyType::Longchar {
            longchars += 1;
            if longchars > TABLE_LONGCHAR_MAX {
                return Err(DomainError::ExceedLimit(
                    "table header long char".to_string(),
                    TABLE_LONGCHAR_MAX as u64,
                ));
            }
        }
        if subs
            .iter()
            .any(|s| s.attr.bk_property_id == sub.bk_property_id)
        {
            return Err(DomainError::IsInvalid(sub.bk_property_id.clone()));
        }
        let mut checked = sub;
        let option = check_option(ptype, &checked, true)?;
        check_default(ptype, &option, &mut checked)?;
        checked.isrequired = false;
        subs.push(CompiledAttribute::new(checked));
    }
    let rows = match map.get("default") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(rows)) => rows,
        Some(_) => return Err(invalid("option")),
    };
    if rows.len() > TABLE_DEFAULT_ROWS_MAX {
        return Err(DomainError::ExceedLimit(
            "table default".to_string(),
            TABLE_DEFAULT_ROWS_MAX as u64,
        ));
    }
    for row in rows {
        let Value::Object(cells) = row else {
            return Err(invalid("option"));
        };
        for (key, cell) in cells {
            let Some(sub) = subs.iter().find(|s| &s.attr.bk_property_id == key) else {
                return Err(DomainError::NeedSet("default key".to_string()));
            };
            validate_value(sub, cell)?;
        }
    }
    Ok(())
}

/// Reads one `innertable` header column into an [`Attribute`] and checks its id and name.
fn sub_attribute(column: &Value) -> Result<Attribute, DomainError> {
    let Value::Object(map) = column else {
        return Err(invalid("option"));
    };
    let mut record = map.clone();
    record.insert("id".to_string(), Value::from(0));
    record
        .entry("bk_obj_id")
        .or_insert(Value::String(String::new()));
    for key in ["bk_property_id", "bk_property_name", "bk_property_type"] {
        match record.get(key) {
            None | Some(Value::Null) => return Err(DomainError::NeedSet(key.to_string())),
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Err(DomainError::NeedSet(key.to_string()))
            }
            Some(Value::String(_)) => {}
            Some(_) => return Err(DomainError::NeedString(key.to_string())),
        }
    }
    let mut sub: Attribute =
        serde_json::from_value(Value::Object(record)).map_err(|_| invalid("option"))?;
    sub.bk_property_id = sub.bk_property_id.trim().to_string();
    sub.bk_property_type = sub.bk_property_type.trim().to_string();
    if char_len(&sub.bk_property_id) > PROPERTY_ID_MAX_CHARS {
        return Err(DomainError::TooLong(
            "bk_property_id".to_string(),
            PROPERTY_ID_MAX_CHARS as u64,
        ));
    }
    if !is_strict_id(&sub.bk_property_id) {
        return Err(DomainError::IsInvalid(sub.bk_property_id.clone()));
    }
    check_property_name(&mut sub)?;
    Ok(sub)
}

/// Validates (and normalises) the default of a definition against its type and parsed option.
fn check_default(
    ptype: PropertyType,
    option: &AttrOption,
    attr: &mut Attribute,
) -> Result<(), DomainError> {
    let bad = || invalid("default");
    match ptype {
        PropertyType::Enum
        | PropertyType::Enummulti
        | PropertyType::Enumquote
        | PropertyType::IdRule
        | PropertyType::Innertable
        | PropertyType::Table => {
            attr.default = Value::Null;
            return Ok(());
        }
        _ => {}
    }
    if let Value::String(s) = &attr.default {
        let trimmed = s.trim();
        attr.default = if trimmed.is_empty() {
            Value::Null
        } else {
            Value::String(trimmed.to_string())
        };
    }
    let limit = match ptype {
        PropertyType::Singlechar => Some(SINGLECHAR_MAX_BYTES),
        PropertyType::Longchar => Some(LONGCHAR_MAX_BYTES),
        PropertyType::Objuser => Some(OBJUSER_MAX_BYTES),
        _ => None,
    };
    match (&attr.default, limit) {
        (Value::String(s), Some(max)) if s.len() > max => return Err(bad()),
        (Value::Array(items), _) if ptype == PropertyType::Organization && items.is_empty() => {
            return Err(bad())
        }
        _ => {}
    }
    fill_for(ptype, Some(option), attr)
        .map(|_| ())
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::super::compiled::testing::attr;
    use super::*;
    use serde_json::json;
    use DomainError::*;

    fn s(text: &str) -> String {
        text.to_string()
    }

    /// A new attribute of `ptype` with the given option and default.
    fn new_attr(ptype: &str, option: Value, default: Value) -> Attribute {
        let mut a = attr(ptype);
        a.bk_property_id = "cc_field".into();
        a.bk_property_name = "Field".into();
        a.option = option;
        a.default = default;
        a
    }

    fn check(mut a: Attribute) -> Result<Attribute, DomainError> {
        validate_new_attribute(&mut a).map(|()| a)
    }

    fn enum_opt(defaults: &[bool]) -> Value {
        Value::Array(
            defaults
                .iter()
                .enumerate()
                .map(|(i, d)| json!({"id": format!("e{i}"), "name": format!("E{i}"), "type": "text", "is_default": d}))
                .collect(),
        )
    }

    #[test]
    fn property_ids() {
        let cases: Vec<(&str, bool, Result<&str, DomainError>)> = vec![
            ("cc_field", false, Ok("cc_field")),
            ("  cc_field  ", false, Ok("cc_field")),
            ("A1_b", false, Ok("A1_b")),
            ("", false, Err(NeedSet(s("bk_property_id")))),
            ("   ", false, Err(NeedSet(s("bk_property_id")))),
            ("1abc", false, Err(IsInvalid(s("1abc")))),
            ("a-b", false, Err(IsInvalid(s("a-b")))),
            ("a.b", false, Err(IsInvalid(s("a.b")))),
            ("a$b", false, Err(IsInvalid(s("a$b")))),
            ("_bk_x", false, Err(IsInvalid(s("_bk_x")))),
            ("名字", false, Err(IsInvalid(s("名字")))),
            ("bk_x", false, Err(IsInvalid(s("bk_property_id")))),
            ("bk_x", true, Ok("bk_x")),
            ("bkx", false, Ok("bkx")),
        ];
        for (id, ispre, want) in cases {
            let mut a = new_attr("singlechar", json!(null), json!(null));
            a.bk_property_id = id.into();
            a.ispre = ispre;
            let got = check(a).map(|a| a.bk_property_id);
            assert_eq!(got, want.map(str::to_string), "{id:?}");
        }
        let mut a = new_attr("singlechar", json!(null), json!(null));
        a.bk_property_id = "a".repeat(128);
        assert!(check(a.clone()).is_ok());
        a.bk_property_id = "a".repeat(129);
        assert_eq!(check(a), Err(TooLong(s("bk_property_id"), 128)));
    }

    #[test]
    fn names_and_types() {
        let mut a = new_attr("singlechar", json!(null), json!(null));
        a.bk_property_name = "  名字  ".into();
        assert_eq!(check(a.clone()).unwrap().bk_property_name, "名字");
        a.bk_property_name = "  ".into();
        assert_eq!(check(a.clone()), Err(NeedSet(s("bk_property_name"))));
        a.bk_property_name = "名".repeat(128);
        assert!(check(a.clone()).is_ok());
        a.bk_property_name = "名".repeat(129);
        assert_eq!(check(a.clone()), Err(TooLong(s("bk_property_name"), 128)));
        a.bk_property_name = "a\u{0}".into();
        assert_eq!(check(a), Err(ParamsInvalid(s("bk_property_name"))));
        for (t, want) in [
            ("", Err(NeedSet(s("bk_property_type")))),
            ("nope", Err(IsInvalid(s("bk_property_type")))),
            ("table", Err(IsInvalid(s("bk_property_type")))),
            ("foreignkey", Err(IsInvalid(s("bk_property_type")))),
            (" date ", Ok(())),
        ] {
            let mut a = new_attr(t, json!(null), json!(null));
            assert_eq!(validate_new_attribute(&mut a), want, "{t:?}");
        }
    }

    #[test]
    fn flags_unit_placeholder_group() {
        let mut a = new_attr("singlechar", json!(null), json!(null));
        a.isonly = true;
        a.bk_property_group = " ".into();
        a.unit = "  kg ".into();
        a.placeholder = " hint ".into();
        let a = check(a).unwrap();
        assert!(a.isrequired);
        assert_eq!(a.bk_property_group, "default");
        assert_eq!((a.unit.as_str(), a.placeholder.as_str()), ("kg", "hint"));
        let mut a = new_attr("singlechar", json!(null), json!(null));
        a.unit = "单".repeat(20);
        assert!(check(a.clone()).is_ok());
        a.unit = "单".repeat(21);
        assert_eq!(check(a), Err(TooLong(s("unit"), 20)));
        let mut a = new_attr("singlechar", json!(null), json!(null));
        a.placeholder = "p".repeat(2000);
        assert!(check(a.clone()).is_ok());
        a.placeholder = "p".repeat(2001);
        assert_eq!(check(a), Err(TooLong(s("placeholder"), 2000)));
        let mut a = new_attr("singlechar", json!(null), json!(null));
        a.description = "x\u{0}".into();
        assert_eq!(check(a), Err(ParamsInvalid(s("description"))));
    }

    #[test]
    fn multiple_rules() {
        for t in [
            "singlechar",
            "longchar",
            "int",
            "float",
            "enum",
            "date",
            "time",
            "timezone",
            "bool",
            "list",
            "id_rule",
        ] {
            let option = match t {
                "int" | "float" => json!({"min": "", "max": ""}),
                "enum" => enum_opt(&[true]),
                "list" => json!(["a"]),
                "id_rule" => json!("{{global.4}}"),
                _ => json!(null),
            };
            let mut a = new_attr(t, option, json!(null));
            assert!(check(a.clone()).is_ok(), "{t} single");
            a.ismultiple = true;
            assert_eq!(check(a), Err(MultipleNotAllowed(s(t))), "{t} multiple");
        }
        let a = check(new_attr("objuser", json!(null), json!(null))).unwrap();
        assert!(a.ismultiple, "objuser is always multiple");
        for t in ["organization", "enumquote"] {
            let mut a = new_attr(t, json!(null), json!(null));
            a.ismultiple = true;
            assert!(check(a.clone()).unwrap().ismultiple);
            a.ismultiple = false;
            assert!(!check(a).unwrap().ismultiple);
        }
        assert!(default_ismultiple(PropertyType::Organization));
        assert!(default_ismultiple(PropertyType::Enumquote));
        assert!(default_ismultiple(PropertyType::Objuser));
        assert!(!default_ismultiple(PropertyType::Int));
    }

    #[test]
    fn string_options() {
        let cases = [
            (json!(null), json!(null), Ok(())),
            (json!(""), json!("anything"), Ok(())),
            (json!("^[a-z]+$"), json!("abc"), Ok(())),
            (
                json!("^[a-z]+$"),
                json!("ABC"),
                Err(IsInvalid(s("default"))),
            ),
            (json!("^[a-z]+$"), json!(5), Err(IsInvalid(s("default")))),
            (
                json!("(unclosed"),
                json!(null),
                Err(RegexInvalid(s("(unclosed"))),
            ),
            (json!(7), json!(null), Err(RegexInvalid(s("7")))),
            (
                json!("a".repeat(2001)),
                json!(null),
                Err(TooLong(s("option"), 2000)),
            ),
            (
                json!(null),
                json!("a".repeat(257)),
                Err(IsInvalid(s("default"))),
            ),
        ];
        for (option, default, want) in cases {
            let mut a = new_attr("singlechar", option.clone(), default.clone());
            assert_eq!(validate_new_attribute(&mut a), want, "{option} {default}");
        }
        let a = check(new_attr("longchar", json!(null), json!("  padded  "))).unwrap();
        assert_eq!(a.default, json!("padded"));
        let a = check(new_attr("longchar", json!(null), json!(""))).unwrap();
        assert_eq!(a.default, json!(null));
    }

    #[test]
    fn numeric_options() {
        let cases = [
            (
                "int",
                json!({"min": "1", "max": "100"}),
                json!(null),
                Ok(()),
            ),
            ("int", json!({"min": 1, "max": 100}), json!(50), Ok(())),
            ("int", json!({"min": "", "max": ""}), json!("-7"), Ok(())),
            (
                "int",
                json!({"min": "1", "max": "100"}),
                json!(101),
                Err(IsInvalid(s("default"))),
            ),
            (
                "int",
                json!({"min": "1", "max": "100"}),
                json!(1.5),
                Err(IsInvalid(s("default"))),
            ),
            (
                "int",
                json!({"min": "1", "max": "100"}),
                json!("x"),
                Err(IsInvalid(s("default"))),
            ),
            ("int", json!({"min": "1", "max": "100"}), json!(""), Ok(())),
            ("int", json!(null), json!(null), Err(LostField(s("option")))),
            (
                "int",
                json!({"min": "100", "max": "1"}),
                json!(null),
                Err(IsInvalid(s("option"))),
            ),
            (
                "int",
                json!({"min": "1"}),
                json!(null),
                Err(IsInvalid(s("option"))),
            ),
            (
                "int",
                json!({"min": "a", "max": "1"}),
                json!(null),
                Err(IsInvalid(s("option"))),
            ),
            (
                "int",
                json!("1-100"),
                json!(null),
                Err(IsInvalid(s("option"))),
            ),
            (
                "float",
                json!({"min": "0.5", "max": 9.5}),
                json!(1.25),
                Ok(()),
            ),
            (
                "float",
                json!({"min": "0.5", "max": 9.5}),
                json!("9.5"),
                Ok(()),
            ),
            (
                "float",
                json!({"min": "0.5", "max": 9.5}),
                json!(10),
                Err(IsInvalid(s("default"))),
            ),
            (
                "float",
                json!(null),
                json!(null),
                Err(LostField(s("option"))),
            ),
            (
                "float",
                json!({"min": 2, "max": 1}),
                json!(null),
                Err(IsInvalid(s("option"))),
            ),
        ];
        for (t, option, default, want) in cases {
            let mut a = new_attr(t, option.clone(), default.clone());
            assert_eq!(
                validate_new_attribute(&mut a),
                want,
                "{t} {option} {default}"
            );
        }
    }

    #[test]
    fn enum_options() {
        let long = "x".repeat(129);
        let cases: Vec<(&str, bool, Value, Result<(), DomainError>)> = vec![
            ("enum", false, enum_opt(&[true, false]), Ok(())),
            (
                "enum",
                false,
                enum_opt(&[false, false]),
                Err(EnumDefaultCount(s("option"))),
            ),
            (
                "enum",
                false,
                enum_opt(&[true, true]),
                Err(EnumDefaultCount(s("option"))),
            ),
            ("enummulti", true, enum_opt(&[true, true]), Ok(())),
            ("enummulti", true, enum_opt(&[false]), Ok(())),
            (
                "enummulti",
                false,
                enum_opt(&[false]),
                Err(EnumDefaultCount(s("option"))),
            ),
            ("enummulti", false, enum_opt(&[true, false]), Ok(())),
            ("enum", false, json!(null), Err(LostField(s("option")))),
            ("enum", false, json!("x"), Err(IsInvalid(s("option")))),
            ("enum", false, json!([1]), Err(IsInvalid(s("option")))),
            (
                "enum",
                false,
                json!([{"name": "A", "type": "text", "is_default": true}]),
                Err(NeedSet(s("option id"))),
            ),
            (
                "enum",
                false,
                json!([{"id": "", "name": "A", "type": "text", "is_default": true}]),
                Err(NeedSet(s("option id"))),
            ),
            (
                "enum",
                false,
                json!([{"id": 1, "name": "A", "type": "text", "is_default": true}]),
                Err(NeedString(s("option id"))),
            ),
            (
                "enum",
                false,
                json!([{"id": long, "name": "A", "type": "text", "is_default": true}]),
                Err(TooLong(s("option id"), 128)),
            ),
            (
                "enum",
                false,
                json!([{"id": "a", "type": "text", "is_default": true}]),
                Err(NeedSet(s("option name"))),
            ),
            (
                "enum",
                false,
                json!([{"id": "a", "name": long, "type": "text", "is_default": true}]),
                Err(TooLong(s("option name"), 128)),
            ),
            (
                "enum",
                false,
                json!([{"id": "a", "name": "A", "type": "int", "is_default": true}]),
                Err(IsInvalid(s("option type"))),
            ),
            (
                "enum",
                false,
                json!([{"id": "a", "name": "A", "type": "text"}]),
                Err(IsInvalid(s("option default"))),
            ),
            (
                "enum",
                false,
                json!([{"id": "a", "name": "A", "type": "text", "is_default": "true"}]),
                Err(IsInvalid(s("option default"))),
            ),
        ];
        for (t, multiple, option, want) in cases {
            let mut a = new_attr(t, option.clone(), json!("whatever"));
            a.ismultiple = multiple;
            let got = validate_new_attribute(&mut a);
            assert_eq!(got, want, "{t} {option}");
            if got.is_ok() {
                assert_eq!(a.default, json!(null), "enum defaults are forced null");
            }
        }
        let mut many = enum_opt(&[false; 200]);
        if let Value::Array(items) = &mut many {
            items[0]["is_default"] = json!(true);
        }
        assert!(check(new_attr("enum", many.clone(), json!(null))).is_ok());
        if let Value::Array(items) = &mut many {
            items
                .push(json!({"id": "extra", "name": "Extra", "type": "text", "is_default": false}));
        }
        assert_eq!(
            check(new_attr("enum", many, json!(null))),
            Err(TooLong(s("option"), 200))
        );
    }

    #[test]
    fn list_options() {
        let many: Vec<String> = (0..201).map(|i| format!("v{i}")).collect();
        let cases = [
            (json!(["a", "b"]), json!("b"), Ok(())),
            (json!(["a", "b"]), json!(null), Ok(())),
            (json!(["a", "b"]), json!("c"), Err(IsInvalid(s("default")))),
            (json!(null), json!(null), Err(LostField(s("option")))),
            (json!([]), json!(null), Err(IsInvalid(s("option")))),
            (json!("a,b"), json!(null), Err(IsInvalid(s("option")))),
            (json!(["a", 1]), json!(null), Err(IsInvalid(s("option")))),
            (
                json!(["x".repeat(129)]),
                json!(null),
                Err(TooLong(s("option"), 128)),
            ),
            (json!(many[..200]), json!(null), Ok(())),
            (json!(many), json!(null), Err(TooLong(s("option"), 200))),
        ];
        for (option, default, want) in cases {
            let mut a = new_attr("list", option.clone(), default.clone());
            assert_eq!(validate_new_attribute(&mut a), want, "{option} {default}");
        }
    }

    #[test]
    fn other_type_defaults() {
        let cases = [
            ("date", json!(null), json!("2024-02-29"), Ok(())),
            (
                "date",
                json!(null),
                json!("2023-02-29"),
                Err(IsInvalid(s("default"))),
            ),
            ("time", json!(null), json!("2024-01-01 10:00:00"), Ok(())),
            (
                "time",
                json!(null),
                json!("2024-01-01T10:00:00+08:00"),
                Ok(()),
            ),
            (
                "time",
                json!(null),
                json!("10:00"),
                Err(IsInvalid(s("default"))),
            ),
            ("timezone", json!(null), json!("Asia/Shanghai"), Ok(())),
            (
                "timezone",
                json!(null),
                json!("Not A Zone"),
                Err(IsInvalid(s("default"))),
            ),
            ("bool", json!(null), json!(true), Ok(())),
            ("bool", json!(true), json!(false), Ok(())),
            (
                "bool",
                json!("yes"),
                json!(null),
                Err(IsInvalid(s("option"))),
            ),
            (
                "bool",
                json!(null),
                json!("true"),
                Err(IsInvalid(s("default"))),
            ),
            ("objuser", json!(null), json!("admin,bob"), Ok(())),
            (
                "objuser",
                json!(null),
                json!("_bad"),
                Err(IsInvalid(s("default"))),
            ),
            (
                "objuser",
                json!(null),
                json!(["admin"]),
                Err(IsInvalid(s("default"))),
            ),
            ("organization", json!(null), json!([1, 2]), Ok(())),
            (
                "organization",
                json!(null),
                json!([]),
                Err(IsInvalid(s("default"))),
            ),
            (
                "organization",
                json!(null),
                json!(["1"]),
                Err(IsInvalid(s("default"))),
            ),
            (
                "id_rule",
                json!(null),
                json!(null),
                Err(LostField(s("option"))),
            ),
            (
                "enumquote",
                json!([{"bk_obj_id": "a", "bk_inst_id": 1}, {"bk_obj_id": "a", "bk_inst_id": 2}]),
                json!(null),
                Ok(()),
            ),
            (
                "enumquote",
                json!([{"bk_obj_id": "a", "bk_inst_id": 1}, {"bk_obj_id": "b", "bk_inst_id": 2}]),
                json!(null),
                Err(IsInvalid(s("option"))),
            ),
            (
                "enumquote",
                json!([{"bk_obj_id": "a", "bk_inst_id": 0}]),
                json!(null),
                Err(IsInvalid(s("option"))),
            ),
        ];
        for (t, option, default, want) in cases {
            let mut a = new_attr(t, option.clone(), default.clone());
            if t == "enumquote" || t == "organization" {
                a.ismultiple = true;
            }
            assert_eq!(
                validate_new_attribute(&mut a),
                want,
                "{t} {option} {default}"
            );
        }
        let a = check(new_attr(
            "time",
            json!(null),
            json!(" 2024-01-01 10:00:00 "),
        ))
        .unwrap();
        assert_eq!(
            a.default,
            json!("2024-01-01 10:00:00"),
            "defaults are trimmed, kept in the given form"
        );
    }

    #[test]
    fn inner_table_options() {
        let col = |id: &str, t: &str| {
            let mut c = json!({"bk_property_id": id, "bk_property_name": id.to_uppercase(), "bk_property_type": t});
            if t == "int" || t == "float" {
                c["option"] = json!({"min": "", "max": ""});
            }
            c
        };
        let ok = json!({"header": [col("a", "int"), col("b", "singlechar")], "default": [{"a": 1, "b": "x"}]});
        assert_eq!(
            validate_new_attribute(&mut new_attr("innertable", ok, json!(null))),
            Ok(())
        );
        let mut int_col = col("a", "int");
        int_col["option"] = json!({"min": "0", "max": "5"});
        let cases = [
            (json!(null), Err(LostField(s("option")))),
            (json!({"header": []}), Err(NeedSet(s("table header")))),
            (json!({}), Err(NeedSet(s("table header")))),
            (
                json!({"header": (0..9).map(|i| col(&format!("c{i}"), "int")).collect::<Vec<_>>()}),
                Err(ExceedLimit(s("table header"), 8)),
            ),
            (
                json!({"header": [col("a", "longchar"), col("b", "longchar"), col("c", "longchar")]}),
                Err(ExceedLimit(s("table header long char"), 2)),
            ),
            (
                json!({"header": [col("a", "date")]}),
                Err(IsInvalid(s("date"))),
            ),
            (
                json!({"header": [col("1a", "int")]}),
                Err(IsInvalid(s("1a"))),
            ),
            (
                json!({"header": [col("a", "int"), col("a", "bool")]}),
                Err(IsInvalid(s("a"))),
            ),
            (
                json!({"header": [{"bk_property_id": "a", "bk_property_type": "int"}]}),
                Err(NeedSet(s("bk_property_name"))),
            ),
            (
                json!({"header": [col("a", "int")], "default": [{"zz": 1}]}),
                Err(NeedSet(s("default key"))),
            ),
            (
                json!({"header": [{"bk_property_id": "a", "bk_property_name": "A", "bk_property_type": "int"}]}),
                Err(LostField(s("option"))),
            ),
            (
                json!({"header": [int_col.clone()], "default": [{"a": 9}]}),
                Err(ParamsInvalid(s("A"))),
            ),
            (json!({"header": [int_col], "default": [{"a": 3}]}), Ok(())),
            (
                json!({"header": [col("a", "int")], "default": (0..11).map(|_| json!({})).collect::<Vec<_>>()}),
                Err(ExceedLimit(s("table default"), 10)),
            ),
        ];
        for (option, want) in cases {
            let mut a = new_attr("innertable", option.clone(), json!(null));
            assert_eq!(validate_new_attribute(&mut a), want, "{option}");
        }
    }

    #[test]
    fn mainline_required() {
        let mut a = new_attr("singlechar", json!(null), json!(null));
        assert_eq!(check_mainline_required(&a, true), Ok(()));
        a.isrequired = true;
        assert_eq!(check_mainline_required(&a, false), Ok(()));
        assert_eq!(check_mainline_required(&a, true), Err(MainlineRequiredAttr));
    }

    fn patch(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn update_applies_and_ignores() {
        let existing = check(new_attr("int", json!({"min": "1", "max": "10"}), json!(5))).unwrap();
        let next = validate_attribute_update(
            &existing,
            &patch(json!({
                "id": 99, "bk_obj_id": "other", "bk_property_id": "renamed", "bk_property_type": "singlechar",
                "ispre": true, "bk_supplier_account": "9", "create_time": "x", "unknown": 1,
                "bk_property_name": "  New name ", "unit": " m ", "editable": false, "bk_property_index": 4,
                "description": "d", "isonly": true
            })),
        )
        .unwrap();
        assert_eq!(next.id, existing.id);
        assert_eq!(next.bk_obj_id, existing.bk_obj_id);
        assert_eq!(next.bk_property_id, existing.bk_property_id);
        assert_eq!(next.bk_property_type, "int");
        assert!(!next.ispre);
        assert_eq!(next.bk_supplier_account, existing.bk_supplier_account);
        assert_eq!(next.bk_property_name, "New name");
        assert_eq!(next.unit, "m");
        assert!(!next.editable);
        assert_eq!(next.bk_property_index, 4);
        assert!(next.isonly && next.isrequired);
    }

    #[test]
    fn update_revalidates_touched_parts() {
        let existing = check(new_attr("int", json!({"min": "1", "max": "10"}), json!(5))).unwrap();
        let cases = [
            (
                json!({"bk_property_name": ""}),
                Err(NeedSet(s("bk_property_name"))),
            ),
            (
                json!({"bk_property_name": 5}),
                Err(NeedString(s("bk_property_name"))),
            ),
            (json!({"editable": "yes"}), Err(NeedBool(s("editable")))),
            (
                json!({"bk_property_index": "1"}),
                Err(NeedInt(s("bk_property_index"))),
            ),
            (json!({"default": 11}), Err(IsInvalid(s("default")))),
            (
                json!({"option": {"min": "1", "max": "4"}}),
                Err(IsInvalid(s("default"))),
            ),
            (
                json!({"option": {"min": "1", "max": "4"}, "default": ""}),
                Ok(json!(null)),
            ),
            (json!({"option": null}), Err(LostField(s("option")))),
            (
                json!({"ismultiple": true}),
                Err(MultipleNotAllowed(s("int"))),
            ),
            (json!({"unit": "u".repeat(21)}), Err(TooLong(s("unit"), 20))),
            (json!({"default": 7}), Ok(json!(7))),
        ];
        for (body, want) in cases {
            let got = validate_attribute_update(&existing, &patch(body.clone())).map(|a| a.default);
            assert_eq!(got, want, "{body}");
        }
    }

    #[test]
    fn update_leaves_legacy_option_alone() {
        // A stored enum without any default (today's rules refuse it) can still be renamed.
        let mut legacy = new_attr("enum", enum_opt(&[false, false]), json!(null));
        legacy.bk_property_id = "bk_state".into();
        legacy.ispre = true;
        let renamed =
            validate_attribute_update(&legacy, &patch(json!({"bk_property_name": "State"})))
                .unwrap();
        assert_eq!(renamed.bk_property_name, "State");
        assert_eq!(
            validate_attribute_update(&legacy, &patch(json!({"option": enum_opt(&[false])}))),
            Err(EnumDefaultCount(s("option")))
        );
        let objuser = check(new_attr("objuser", json!(null), json!(null))).unwrap();
        let next =
            validate_attribute_update(&objuser, &patch(json!({"ismultiple": false}))).unwrap();
        assert!(next.ismultiple);
        let mut unknown = new_attr("singlechar", json!(null), json!(null));
        unknown.bk_property_type = "foreignkey".into();
        assert!(
            validate_attribute_update(&unknown, &patch(json!({"bk_property_name": "x"}))).is_ok()
        );
        assert_eq!(
            validate_attribute_update(&unknown, &patch(json!({"default": "x"}))),
            Err(IsInvalid(s("bk_property_type")))
        );
    }
}
