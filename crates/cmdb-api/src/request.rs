//! The request as handlers see it, whichever surface it came from: the caller's context, the
//! language, the JSON body and the path parameters (from the URL on v3, from body fields on ESB).

use std::collections::HashMap;

use cmdb_domain::DomainError;
use cmdb_store::ops::OpContext;
use serde_json::{Map, Value};

use crate::auth::CREDENTIAL_KEYS;
use crate::envelope::Surface;
use crate::error::codes::Lang;
use crate::error::ApiError;

/// A decoded, authenticated request.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// Who and when.
    pub ctx: OpContext,
    /// Message language.
    pub lang: Lang,
    /// The JSON body (`{}` when empty).
    pub body: Value,
    /// Path parameters by name.
    pub path: HashMap<String, String>,
    /// Query-string parameters of a v3 request (flags such as `with_default` that upstream reads
    /// from the URL, not the body). Empty on ESB, where a GET query string is the body.
    pub query: HashMap<String, String>,
    /// Which surface it came in on.
    pub surface: Surface,
}

impl ApiRequest {
    /// The body as an object; any other JSON type is 1199000.
    pub fn object(&self) -> Result<&Map<String, Value>, ApiError> {
        self.body
            .as_object()
            .ok_or(ApiError::Domain(DomainError::JsonUnmarshal))
    }

    /// The body without credential keys, `bk_supplier_account` and path-parameter keys: what
    /// an endpoint may treat as data (00-protocol §1.2).
    pub fn data(&self) -> Result<Map<String, Value>, ApiError> {
        let mut map = self.object()?.clone();
        for k in CREDENTIAL_KEYS {
            map.remove(*k);
        }
        map.remove("bk_supplier_account");
        for k in self.path.keys() {
            map.remove(k);
        }
        Ok(map)
    }

    /// The body without credential keys only (for filters and bodies with their own shape).
    pub fn filter(&self) -> Result<Map<String, Value>, ApiError> {
        let mut map = self.object()?.clone();
        for k in CREDENTIAL_KEYS {
            map.remove(*k);
        }
        map.remove("bk_supplier_account");
        Ok(map)
    }

    /// A v3 query-string flag: present with a non-empty value (upstream's
    /// `len(QueryParameter(name)) > 0`).
    pub fn query_flag(&self, name: &str) -> bool {
        self.query.get(name).is_some_and(|v| !v.is_empty())
    }

    /// A string path parameter; absent → `'name' unassigned`.
    pub fn path_str(&self, name: &str) -> Result<String, ApiError> {
        match self.path.get(name) {
            Some(v) if !v.is_empty() => Ok(v.clone()),
            _ => Err(DomainError::NeedSet(name.to_string()).into()),
        }
    }

    /// An integer path parameter; absent or non-numeric → `err` naming `field`.
    pub fn path_i64(
        &self,
        name: &str,
        err: fn(String) -> DomainError,
        field: &str,
    ) -> Result<i64, ApiError> {
        self.path
            .get(name)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .ok_or_else(|| err(field.to_string()).into())
    }
}
