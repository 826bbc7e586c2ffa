//! Attribute types and the validation of values against them (10-models §4, 20-instances §3.3).
//!
//! An attribute's `option` is parsed once into a typed [`AttrOption`] when the attribute is
//! loaded ([`CompiledAttribute::new`]), so a write does not re-read JSON options per value.
//! Validators are pure functions table-tested per type.

pub mod compiled;
pub mod define;
pub mod fill;
pub mod formats;
pub mod names;
pub mod option;
pub mod unique;
pub mod validate;

pub use compiled::CompiledAttribute;
pub use define::{
    check_mainline_required, default_ismultiple, supports_multiple, validate_attribute_update,
    validate_new_attribute,
};
pub use fill::fill_value;
pub use names::{
    check_no_bk_prefix, validate_mainline_inst_name, validate_model_id, validate_model_name,
};
pub use option::{AttrOption, EnumOption, EnumQuoteItem};
pub use unique::{unique_key_part, unique_key_type_allowed};
pub use validate::validate_value;

/// Every bk-cmdb property type. Exhaustive: adding one forces every `match` to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyType {
    /// Short string (≤ 256 bytes), optional regex.
    Singlechar,
    /// Long string (≤ 2000 bytes), optional regex.
    Longchar,
    /// 64-bit integer with optional min/max.
    Int,
    /// Number with optional min/max.
    Float,
    /// One option id.
    Enum,
    /// Several option ids.
    Enummulti,
    /// References to instances of another model.
    Enumquote,
    /// `YYYY-MM-DD`.
    Date,
    /// Date and time.
    Time,
    /// Time-zone name.
    Timezone,
    /// JSON bool.
    Bool,
    /// One of a list of strings.
    List,
    /// Comma-separated user names.
    Objuser,
    /// Organisation ids.
    Organization,
    /// Quoted-instance table.
    Innertable,
    /// Generated id.
    IdRule,
    /// Legacy table of sub-attributes.
    Table,
}

impl PropertyType {
    /// Parses the wire name (`singlechar`, `enummulti` ...).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "singlechar" => Self::Singlechar,
            "longchar" => Self::Longchar,
            "int" => Self::Int,
            "float" => Self::Float,
            "enum" => Self::Enum,
            "enummulti" => Self::Enummulti,
            "enumquote" => Self::Enumquote,
            "date" => Self::Date,
            "time" => Self::Time,
            "timezone" => Self::Timezone,
            "bool" => Self::Bool,
            "list" => Self::List,
            "objuser" => Self::Objuser,
            "organization" => Self::Organization,
            "innertable" => Self::Innertable,
            "id_rule" => Self::IdRule,
            "table" => Self::Table,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Singlechar => "singlechar",
            Self::Longchar => "longchar",
            Self::Int => "int",
            Self::Float => "float",
            Self::Enum => "enum",
            Self::Enummulti => "enummulti",
            Self::Enumquote => "enumquote",
            Self::Date => "date",
            Self::Time => "time",
            Self::Timezone => "timezone",
            Self::Bool => "bool",
            Self::List => "list",
            Self::Objuser => "objuser",
            Self::Organization => "organization",
            Self::Innertable => "innertable",
            Self::IdRule => "id_rule",
            Self::Table => "table",
        }
    }
}
