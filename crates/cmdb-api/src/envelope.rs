//! The two response envelopes (00-protocol §4): ESB `{result, code, message, permission,
//! request_id, data}` and v3 `{result, bk_error_code, bk_error_msg, permission, data}`. Every
//! response of the API, success or failure, is built here so no key is ever omitted.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// Which surface a request came in on; decides the envelope shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/api/c/compapi/...`
    Esb,
    /// `/api/v3/...`
    V3,
}

/// The `data` of an answer: a JSON value, or JSON text already serialised by the handler (large
/// answers, such as a business tree of 100k+ nodes, skip building a `Value` tree).
#[derive(Debug)]
pub enum Data {
    /// A value.
    Json(Value),
    /// Serialised JSON, embedded verbatim.
    Raw(Box<RawValue>),
}

impl From<Value> for Data {
    fn from(v: Value) -> Self {
        Data::Json(v)
    }
}

impl Data {
    /// Serialises `value` once, into JSON text for the envelope; `size_hint` (bytes) saves the
    /// buffer's regrowth copies for large answers.
    pub fn raw<T: Serialize>(value: &T, size_hint: usize) -> Result<Data, serde_json::Error> {
        let mut out = Vec::with_capacity(size_hint);
        serde_json::to_writer(&mut out, value)?;
        let text = String::from_utf8(out).map_err(serde::ser::Error::custom)?;
        RawValue::from_string(text).map(Data::Raw)
    }
}

impl Serialize for Data {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Data::Json(v) => v.serialize(s),
            Data::Raw(r) => r.serialize(s),
        }
    }
}

/// The ESB envelope, keys in the order they always had (alphabetical).
#[derive(Serialize)]
struct EsbBody<'a> {
    code: i64,
    data: &'a Data,
    message: &'a str,
    permission: (),
    request_id: &'a str,
    result: bool,
}

/// The v3 envelope.
#[derive(Serialize)]
struct V3Body<'a> {
    bk_error_code: i64,
    bk_error_msg: &'a str,
    data: &'a Data,
    permission: (),
    result: bool,
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
    pub data: Data,
    /// Extra response headers (`X-Bkapi-Error-Code` on ESB auth failures).
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    /// A successful answer carrying `data`.
    pub fn ok(data: Data) -> Self {
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
        // Sized up front: a large raw answer is copied once, not through repeated regrowth.
        let mut body = Vec::with_capacity(match &self.data {
            Data::Raw(r) => r.get().len() + 256,
            Data::Json(_) => 256,
        });
        let written = match surface {
            Surface::Esb => serde_json::to_writer(
                &mut body,
                &EsbBody {
                    code: self.code,
                    data: &self.data,
                    message: &self.message,
                    permission: (),
                    request_id,
                    result: self.code == 0,
                },
            ),
            Surface::V3 => serde_json::to_writer(
                &mut body,
                &V3Body {
                    bk_error_code: self.code,
                    bk_error_msg: &self.message,
                    data: &self.data,
                    permission: (),
                    result: self.code == 0,
                },
            ),
        };
        // Unreachable in practice (values and raw JSON always serialise); still an envelope.
        if written.is_err() {
            body = br#"{"code":1199999,"data":null,"message":"cannot encode answer","permission":null,"result":false}"#
                .to_vec();
        }
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
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        (self.status, headers, body).into_response()
    }
}
