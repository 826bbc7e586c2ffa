//! API-layer errors: everything a request can fail with, from bad credentials to a broken
//! database. [`codes`] turns each into its HTTP status, bk-cmdb code and localised message.

pub mod codes;

use cmdb_domain::DomainError;
use cmdb_store::StoreError;
use thiserror::Error;

/// Why a request failed.
#[derive(Debug, Error)]
pub enum ApiError {
    /// A domain rule failed (validation, not found, duplicate ...).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A domain rule failed, and the answer still carries `data` (partial-success reports such
    /// as add_host_to_resource_pool's per-row results, 00-protocol §4.1).
    #[error("{0}")]
    WithData(DomainError, serde_json::Value),
    /// The store failed for a reason that is not a domain rule.
    #[error("{0}")]
    Store(StoreError),
    /// ESB/v3 credential problem (HTTP 401).
    #[error("authentication failed: {0:?}")]
    Auth(AuthFailure),
    /// A v3 request lacks its user or supplier account (HTTP 500, upstream rdapi behaviour).
    #[error("missing identity {0}")]
    MissingIdentity(&'static str),
    /// Unknown ESB api name (HTTP 404).
    #[error("api {0} not found")]
    UnknownApi(String),
    /// Unknown v3 route (HTTP 404/405 with code -1).
    #[error("route not found")]
    RouteNotFound(u16),
    /// Body above the size limit (HTTP 413).
    #[error("body too large")]
    BodyTooLarge,
}

/// The three documented ESB credential failures (00-protocol §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// `bk_app_code` or `bk_app_secret` missing.
    MissingApp,
    /// Unknown app or wrong secret.
    BadSecret,
    /// No user could be resolved.
    NoUser,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => ApiError::Domain(d),
            other => ApiError::Store(other),
        }
    }
}
