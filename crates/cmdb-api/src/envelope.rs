//! The two response envelopes (00-protocol §4): ESB `{result, code, message, permission,
//! request_id, data}` and v3 `{result, bk_error_code, bk_error_msg, permission, data}`. Every
//! response of the API, success or failure, is built here so no key is ever omitted.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Which surface a request came in on; decides the envelope shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/api/c/compapi/...`
    Esb,
    /// `/api/v3/...`
    V3,
}

/// A finished answer before it is rendered for its surface.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status (200 for everything that reached cmdb logic).
    pub status: StatusCode,
    /// 0 on success, otherwise the bk-cmdb error code.
    pub code: i64,
    /// `success` or the localised error text.
    pub message: String,
    /// The payload.
    pub data: Value,
    /// Extra response headers (`X-Bkapi-Error-Code` on ESB auth failures).
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    /// A successful answer carrying `data`.
    pub fn ok(data: Value) -> Self {
        Self {
            status: StatusCode::OK,
            code: 0,
            message: "success".into(),
            data,
            headers: Vec::new(),
        }
    }

    /// Renders the answer in the envelope of `surface`, echoing `request_id`.
    pub fn render(self, surface: Surface, request_id: &str) -> Response {
        let body = match surface {
            Surface::Esb => json!({
                "result": self.code == 0,
                "code": self.code,
                "message": self.message,
                "permission": Value::Null,
                "request_id": request_id,
                "data": self.data,
            }),
            Surface::V3 => json!({
                "result": self.code == 0,
                "bk_error_code": self.code,
                "bk_error_msg": self.message,
                "permission": Value::Null,
                "data": self.data,
            }),
        };
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert("x-request-id", v.clone());
            headers.insert("x-bkapi-request-id", v);
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        (self.status, headers, axum::Json(body)).into_response()
    }
}
