//! Filters: the three wire languages (Mongo-style `condition` maps, the `{condition, rules}`
//! QueryFilter, and pkg/filter expressions) parse into ONE AST whose fields are already bound
//! to known fields, so the SQL compiler (in `cmdb-store`) never sees an unknown name.
//!
//! Binding goes through a [`FieldCatalog`]: the caller (an operation that knows the model) says
//! which names exist, their type and where they are stored.
//!
//! Which parser for which request field:
//!
//! | request field | parser |
//! |---|---|
//! | legacy `condition` maps (search_inst_by_object, search_business, search_set, …) | [`parse_condition`] |
//! | search_inst's per-model `condition` lists, `set_cond` / `module_cond` | [`parse_condition_list`] |
//! | `*_property_filter`, search_set `filter`, instance-association `conditions` | [`parse_query_filter`] (host lists: [`parse_query_filter_with`] + [`Limits::HOST_QUERY_FILTER`]) |
//! | search/count_object_instances `conditions` | [`parse_expression`] |
//! | `time_condition` | [`parse_time_condition`] |
//! | `page` / `page.sort` | [`Page::parse`], its `validate_*` regime, [`Page::sort_fields`] |
//!
//! Every parser returns [`Expr::True`] for a JSON `null` (absent filter); combine the results
//! with [`Expr::And`].

pub mod ast;
mod common;
pub mod condition;
pub mod expression;
pub mod page;
pub mod query_filter;
mod rules;
pub mod time_condition;

pub use ast::{CmpOp, Expr, FieldInfo, FieldType, StrMatch, ELEMENT_FIELD};
pub use condition::{parse_condition, parse_condition_list, RegexMode};
pub use expression::{parse_expression, parse_expression_with};
pub use page::{parse_sort, parse_sort_at, Page};
pub use query_filter::{parse_query_filter, parse_query_filter_with};
pub use rules::Limits;
pub use time_condition::parse_time_condition;

/// Answers "is this a known field, and what is it?" for the model being queried.
pub trait FieldCatalog {
    /// The field's binding, or `None` when the name is not a field of the model (→ 1199006).
    fn lookup(&self, field: &str) -> Option<FieldInfo>;
}

/// A fixed list of fields is a catalog (linear lookup by [`FieldInfo::name`]).
impl FieldCatalog for [FieldInfo] {
    fn lookup(&self, field: &str) -> Option<FieldInfo> {
        self.iter().find(|f| f.name == field).cloned()
    }
}

impl FieldCatalog for Vec<FieldInfo> {
    fn lookup(&self, field: &str) -> Option<FieldInfo> {
        self.as_slice().lookup(field)
    }
}

#[cfg(test)]
pub(crate) mod test_catalog {
    //! A small catalog shared by the parser tests.
    use super::{FieldInfo, FieldType};

    /// name: text, size: int, flag: bool, tags: array, create_time / last_time: time,
    /// any: mixed JSON, obj: object with `obj.sub` (int), ips: array with element semantics.
    pub fn catalog() -> Vec<FieldInfo> {
        vec![
            FieldInfo::doc("name", FieldType::Text),
            FieldInfo::doc("size", FieldType::Int),
            FieldInfo::doc("flag", FieldType::Bool),
            FieldInfo::doc("tags", FieldType::Array),
            FieldInfo::doc("create_time", FieldType::Time),
            FieldInfo::doc("last_time", FieldType::Time),
            FieldInfo::doc("any", FieldType::Json),
            FieldInfo::doc("obj", FieldType::Json),
            FieldInfo::doc("obj.sub", FieldType::Int),
            FieldInfo::doc("ips", FieldType::Array).with_array_elements(),
        ]
    }

    /// The catalog entry `name` (panics in tests when missing).
    pub fn f(name: &str) -> FieldInfo {
        use super::FieldCatalog;
        catalog().lookup(name).expect("test field")
    }
}
