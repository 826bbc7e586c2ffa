//! The one filter AST. Every field in it is a resolved [`FieldInfo`]; values are JSON values whose
//! shape the parsers have already checked against the operator.

use serde_json::Value;

/// Broad storage type of a field, enough to pick SQL comparison semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Integer number.
    Int,
    /// Any number.
    Float,
    /// String (singlechar, longchar, enum, list, objuser, timezone ...).
    Text,
    /// JSON bool.
    Bool,
    /// Date/time. In the JSON document it is stored as the wire-format string of
    /// [`crate::time::normalize_time`] (server offset, comparable as text); in a real column it is
    /// stored as Unix milliseconds (`INTEGER` / `BIGINT`). Compare it with [`Expr::TimeCmp`], which
    /// carries both forms.
    Time,
    /// JSON array (enummulti, organization ...).
    Array,
    /// Mixed or unknown JSON.
    Json,
}

/// The pseudo-field name that [`Expr::AnyElement`] predicates use for "the current element".
pub const ELEMENT_FIELD: &str = "element";

/// Where a field lives and how it compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    /// The wire name (`bk_inst_name`), or a dotted path for a sub-field (`obj.sub`, from
    /// `filter_object`) or an array position (`arr.2`, from `filter_array`). The SQL compiler
    /// re-checks every segment against `^[A-Za-z_][A-Za-z0-9_]*$` (positions: `^[0-9]+$`) before
    /// it writes the literal JSON path, and refuses anything else.
    pub name: String,
    /// Storage type.
    pub ty: FieldType,
    /// A real column holding this field (indexed), if any; otherwise it lives in the JSON
    /// document column under `name`.
    pub column: Option<&'static str>,
    /// The stored value is an array and equality/`in` mean "some element equals" (host IP fields).
    pub array_elements: bool,
}

impl FieldInfo {
    /// A field stored in the JSON document under `name`.
    pub fn doc(name: impl Into<String>, ty: FieldType) -> Self {
        FieldInfo {
            name: name.into(),
            ty,
            column: None,
            array_elements: false,
        }
    }

    /// A field stored in the real column `column`.
    pub fn column(name: impl Into<String>, column: &'static str, ty: FieldType) -> Self {
        FieldInfo {
            name: name.into(),
            ty,
            column: Some(column),
            array_elements: false,
        }
    }

    /// The same field with "some element equals" semantics (see [`FieldInfo::array_elements`]).
    pub fn with_array_elements(mut self) -> Self {
        self.array_elements = true;
        self
    }
}

/// Ordered comparison / equality operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>` (also true when the field is absent, as Mongo's `$ne`)
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
}

/// String matching without regex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrMatch {
    /// `value%`
    Prefix,
    /// `%value`
    Suffix,
    /// `%value%`
    Contains,
}

/// A filter over the rows of one model.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Matches everything.
    True,
    /// Matches nothing.
    False,
    /// All must hold (empty = true).
    And(Vec<Expr>),
    /// One must hold (empty = false).
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// Compare with a scalar (number, string, bool, or null for Eq/Ne).
    Cmp {
        /// Field.
        field: FieldInfo,
        /// Operator.
        op: CmpOp,
        /// Scalar JSON value.
        value: Value,
    },
    /// Compare date/times: `value` is already normalised to the stored wire form, `millis` is the
    /// same instant as Unix milliseconds (what a real column of type [`FieldType::Time`] holds).
    TimeCmp {
        /// Field.
        field: FieldInfo,
        /// Operator.
        op: CmpOp,
        /// Normalised time text ([`crate::time::normalize_time`]).
        value: String,
        /// The same instant in Unix milliseconds.
        millis: i64,
    },
    /// Membership in a list of scalars (`null` allowed as an element).
    In {
        /// Field.
        field: FieldInfo,
        /// Scalars.
        values: Vec<Value>,
        /// `not_in` / `$nin`.
        negate: bool,
    },
    /// Regular-expression match (Rust `regex` syntax, which covers the Go RE2 syntax used upstream).
    Regex {
        /// Field.
        field: FieldInfo,
        /// Pattern.
        pattern: String,
        /// `(?i)`.
        case_insensitive: bool,
    },
    /// Literal substring/prefix/suffix match.
    Like {
        /// Field.
        field: FieldInfo,
        /// Kind of match.
        kind: StrMatch,
        /// Literal text (no wildcards).
        value: String,
        /// Case-insensitive.
        case_insensitive: bool,
    },
    /// Field present (true) or absent (false).
    Exists {
        /// Field.
        field: FieldInfo,
        /// Expected presence.
        exists: bool,
    },
    /// Field is JSON null or absent (`is_null`); wrap in Not for `is_not_null`.
    IsNull {
        /// Field.
        field: FieldInfo,
    },
    /// Field is an empty array (`is_empty`); wrap in Not for `is_not_empty`.
    IsEmpty {
        /// Field.
        field: FieldInfo,
    },
    /// Array length equals `len` (`size`, `$size`).
    Size {
        /// Field.
        field: FieldInfo,
        /// Length.
        len: i64,
    },
    /// Array contains all of `values` (`$all`).
    All {
        /// Field.
        field: FieldInfo,
        /// Scalars.
        values: Vec<Value>,
    },
    /// Some element of the array field satisfies `pred`, whose fields are the pseudo-field
    /// [`ELEMENT_FIELD`] (a [`FieldInfo`] with `name == "element"`) standing for the element.
    AnyElement {
        /// Field.
        field: FieldInfo,
        /// Predicate on one element.
        pred: Box<Expr>,
    },
}
