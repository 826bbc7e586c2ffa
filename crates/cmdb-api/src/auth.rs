//! Credentials (00-protocol §2): from the `X-Bkapi-Authorization` header (a JSON object, as the
//! official client sends), else from the JSON body, else (GET) from the query string, first
//! non-empty value per key winning. The app must be configured with exactly that secret; the
//! user is `bk_username` (project decision: `bk_token` alone cannot be resolved to a user here).

use std::collections::HashMap;

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use crate::error::AuthFailure;

/// Keys that carry credentials and are never instance data.
pub const CREDENTIAL_KEYS: &[&str] = &[
    "bk_app_code",
    "bk_app_secret",
    "bk_token",
    "bk_username",
    "access_token",
    "jwt",
];

/// Credentials gathered from all sources.
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    /// Calling app.
    pub app_code: Option<String>,
    /// Its secret.
    pub app_secret: Option<String>,
    /// Asserted user.
    pub username: Option<String>,
    /// Login token (not resolvable here).
    pub token: Option<String>,
}

fn non_empty(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

impl Credentials {
    /// Reads the credentials of a request; `body` and `query` are the fallbacks after the header.
    pub fn gather(
        headers: &HeaderMap,
        body: Option<&Map<String, Value>>,
        query: Option<&Map<String, Value>>,
    ) -> Self {
        let header: Option<Map<String, Value>> = headers
            .get("x-bkapi-authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .and_then(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            });
        let sources = [header.as_ref(), body, query];
        let pick = |key: &str| sources.iter().flatten().find_map(|m| non_empty(m.get(key)));
        Self {
            app_code: pick("bk_app_code"),
            app_secret: pick("bk_app_secret"),
            username: pick("bk_username"),
            token: pick("bk_token"),
        }
    }

    /// Checks the app against the configured table; returns `(app_code, user)` where `user` may
    /// be absent (v3 requests may take it from identity headers).
    pub fn verify(
        &self,
        apps: &HashMap<String, String>,
    ) -> Result<(String, Option<String>), AuthFailure> {
        let (Some(code), Some(secret)) = (&self.app_code, &self.app_secret) else {
            return Err(AuthFailure::MissingApp);
        };
        match apps.get(code) {
            Some(expected) if constant_time_eq(expected.as_bytes(), secret.as_bytes()) => {
                Ok((code.clone(), self.username.clone()))
            }
            _ => Err(AuthFailure::BadSecret),
        }
    }
}

/// Compares secrets without an early exit, so response timing does not reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// First present header among `names` (aliases with `_` included: axum keeps them as sent).
pub fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| {
        headers
            .get(*n)
            .and_then(|v| v.to_str().ok())
            .filter(|s| !s.is_empty())
    })
}
