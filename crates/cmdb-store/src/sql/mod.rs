//! SQL machinery shared by both backends: a builder that keeps text and parameters together, and
//! the compiler from the filter AST to a parameterised `WHERE` fragment.

pub mod compile;

use crate::SqlValue;

/// SQL text plus its parameters, built together so a value can only enter as a parameter.
#[derive(Debug, Default, Clone)]
pub struct SqlBuilder {
    /// SQL text with `?` placeholders.
    pub sql: String,
    /// Parameters in placeholder order.
    pub params: Vec<SqlValue>,
}

impl SqlBuilder {
    /// Empty builder.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends trusted SQL text (never user input).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }
    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<SqlValue>) -> &mut Self {
        self.sql.push('?');
        self.params.push(value.into());
        self
    }
}
