//! The only crate that knows bk-cmdb's wire protocol: ESB (`/api/c/compapi/v2/cc/<name>/`) and
//! native v3 routes built from ONE route table ([`routes::table`]), credential checks, the
//! response envelope, and the single mapping from errors to bk-cmdb codes ([`error::codes`]).
//!
//! Handlers are thin: decode the request, call one store operation, shape the result.

pub mod auth;
pub mod envelope;
pub mod error;
mod handlers;
pub mod request;
pub mod routes;

use std::collections::HashMap;
use std::sync::Arc;

use cmdb_store::Store;

pub use routes::router;

/// Shared state of every request.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Configured apps: `bk_app_code` → `bk_app_secret`.
    pub apps: Arc<HashMap<String, String>>,
    /// How long change events are kept (resource_watch's `bk_start_from` may reach that far).
    pub event_retention: std::time::Duration,
}
