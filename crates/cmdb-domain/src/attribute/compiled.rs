//! An attribute prepared for validating many values: its type resolved and its `option` parsed
//! once. Building one never fails, so a model whose stored metadata is broken still loads; the
//! breakage surfaces as an error on the first value that needs the broken part.

use super::option::AttrOption;
use super::PropertyType;
use crate::error::DomainError;
use crate::model::Attribute;

/// An [`Attribute`] with its type and option parsed. Cloning copies the record (the compiled
/// regex is shared); callers that cache many of these should hold them in an `Arc`.
#[derive(Debug, Clone)]
pub struct CompiledAttribute {
    /// The stored record.
    pub attr: Attribute,
    /// The parsed `bk_property_type`; `None` for a type nobody knows (values → 1199085).
    pub ptype: Option<PropertyType>,
    /// The parsed `option`, or why the stored option is unusable.
    pub option: Result<AttrOption, DomainError>,
}

impl CompiledAttribute {
    /// Resolves the type and parses the option. Never fails.
    pub fn new(attr: Attribute) -> Self {
        let ptype = PropertyType::parse(&attr.bk_property_type);
        let option = match ptype {
            Some(t) => AttrOption::parse(t, &attr.option),
            None => Ok(AttrOption::None),
        };
        Self {
            attr,
            ptype,
            option,
        }
    }

    /// The attribute's key inside instances (`bk_property_id`).
    pub fn id(&self) -> &str {
        &self.attr.bk_property_id
    }

    /// The display name, which bk-cmdb puts into value-validation messages.
    pub fn name(&self) -> &str {
        &self.attr.bk_property_name
    }
}

impl From<Attribute> for CompiledAttribute {
    fn from(attr: Attribute) -> Self {
        Self::new(attr)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builders shared by the attribute tests.

    use serde_json::{json, Value};

    use super::CompiledAttribute;
    use crate::model::Attribute;

    /// A bare attribute record of type `ptype` (id `f`, name `Field`).
    pub(crate) fn attr(ptype: &str) -> Attribute {
        serde_json::from_value(json!({
            "id": 1,
            "bk_obj_id": "cc_test",
            "bk_property_id": "f",
            "bk_property_name": "Field",
            "bk_property_type": ptype,
        }))
        .unwrap()
    }

    /// A compiled attribute with the given option, default, required and multiple flags.
    pub(crate) fn compiled(
        ptype: &str,
        option: Value,
        default: Value,
        required: bool,
        multiple: bool,
    ) -> CompiledAttribute {
        let mut a = attr(ptype);
        a.option = option;
        a.default = default;
        a.isrequired = required;
        a.ismultiple = multiple;
        CompiledAttribute::new(a)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::compiled;
    use super::*;
    use serde_json::json;

    #[test]
    fn shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CompiledAttribute>();
        assert_send_sync::<std::sync::Arc<CompiledAttribute>>();
    }

    #[test]
    fn never_fails() {
        let ca = compiled("int", json!({"min": "x"}), json!(null), false, false);
        assert_eq!(ca.ptype, Some(PropertyType::Int));
        assert!(ca.option.is_err());
        let ca = compiled("foreignkey", json!("whatever"), json!(null), false, false);
        assert_eq!(ca.ptype, None);
        assert_eq!(ca.option, Ok(AttrOption::None));
        let ca = compiled("singlechar", json!("^[a-z]+$"), json!(null), false, false);
        assert!(matches!(ca.option, Ok(AttrOption::Regex(_))));
        assert_eq!(ca.id(), "f");
        assert_eq!(ca.name(), "Field");
    }
}
