//! Store-layer errors. Domain rule violations detected while a transaction runs travel as
//! [`StoreError::Domain`], so one `Result` type covers a whole operation.

use cmdb_domain::DomainError;
use thiserror::Error;

/// What can go wrong below the API.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A domain rule failed inside the operation.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A unique constraint of the database refused the write. `constraint` names it as the
    /// backend reports it (SQLite: `table.col,...`; PostgreSQL: the constraint name).
    #[error("unique constraint violated: {constraint}")]
    UniqueViolation {
        /// Backend-specific name of the constraint.
        constraint: String,
    },
    /// A foreign key refused the write: the referenced row is gone (a racing delete) or rows
    /// still refer to the one being deleted. `constraint` names it as the backend reports it.
    #[error("foreign key constraint violated: {constraint}")]
    ForeignKeyViolation {
        /// Backend-specific name of the constraint.
        constraint: String,
    },
    /// The database cannot be reached (down, restarting, closed). Retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Stored data does not have the shape this version expects.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Any other backend failure.
    #[error("database error: {0}")]
    Backend(String),
}

impl StoreError {
    /// True when this is a unique-constraint violation on a constraint whose name contains
    /// `needle` (table or index name).
    pub fn is_unique_on(&self, needle: &str) -> bool {
        matches!(self, StoreError::UniqueViolation { constraint } if constraint.contains(needle))
    }
}
