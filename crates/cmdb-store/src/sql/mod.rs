//! SQL machinery shared by both backends: a builder that keeps text and parameters together, and
//! the compiler from the filter AST to a parameterised `WHERE` fragment.

pub mod compile;

use crate::SqlValue;

/// A bound `LIMIT`/`OFFSET` value, written inside a CAST. A bare `LIMIT ?` is read by SQLite
/// (3.50) while planning, so the prepared statement is re-prepared on every execution with a new
/// value (12 % of the CPU of counting hosts per business). Inside a CAST the value is an
/// expression to the planner and one cached statement serves every page; PostgreSQL takes the
/// same text.
pub const BOUND_COUNT: &str = "CAST(? AS BIGINT)";

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
    /// Appends ` LIMIT .. OFFSET ..` for a page starting at `start` with at most `limit` rows
    /// (`None`: to the end), both as parameters so that every page shares one cached statement.
    pub fn page(&mut self, start: u64, limit: Option<u64>) -> &mut Self {
        let count = |v: u64| SqlValue::Int(i64::try_from(v).unwrap_or(i64::MAX));
        match limit {
            Some(l) => {
                self.push(" LIMIT ").push(BOUND_COUNT).params.push(count(l));
            }
            None if start > 0 => {
                self.push(" LIMIT ")
                    .push(BOUND_COUNT)
                    .params
                    .push(SqlValue::Int(i64::MAX));
            }
            None => {}
        }
        if start > 0 {
            self.push(" OFFSET ")
                .push(BOUND_COUNT)
                .params
                .push(count(start));
        }
        self
    }
}
