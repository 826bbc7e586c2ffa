//! The bk-cmdb domain: what a model, an attribute, an instance and a filter *are*, and the rules
//! they obey, independent of how they travel (HTTP) or where they rest (SQL).
//!
//! Architecture invariant: this crate does no I/O. It may not depend on tokio, axum, rusqlite or
//! postgres; `crates/cmdb/tests/api/tidy.rs` fails the build when it does.

pub mod association;
pub mod attribute;
pub mod error;
pub mod filter;
pub mod host;
pub mod model;
pub mod time;
pub mod watch;

pub use error::DomainError;
