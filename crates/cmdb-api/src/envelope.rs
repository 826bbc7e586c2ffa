//! The two response envelopes (00-protocol §4): ESB `{result, code, message, permission,
//! request_id, data}` and v3 `{result, bk_error_code, bk_error_msg, permission, data}`. Every
//! response of the API, success or failure, is built here so no key is ever omitted.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
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
/// answers, such as a business tree of 100k+ nodes, skip building a `Value` tree and are copied
/// into the envelope as they are).
#[derive(Debug)]
pub enum Data {
    /// A value.
    Json(Value),
    /// Serialised JSON, embedded verbatim.
    Raw(RawJson),
}

/// JSON text produced by `serde_json` itself ([`Data::raw`] is its only constructor), so it is
/// valid by construction and is embedded without being parsed again.
#[derive(Debug)]
pub struct RawJson(Vec<u8>);

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
        Ok(Data::Raw(RawJson(out)))
    }

    fn len_hint(&self) -> usize {
        match self {
            Data::Json(_) => 0,
            Data::Raw(r) => r.0.len(),
        }
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match self {
            Data::Json(v) => serde_json::to_writer(out, v),
            Data::Raw(r) => {
                out.extend_from_slice(&r.0);
                Ok(())
            }
        }
    }
}

/// Writes `"key":` followed by `value` as JSON.
fn field<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    key: &str,
    value: &T,
) -> Result<(), serde_json::Error> {
    out.push(if out.is_empty() { b'{' } else { b',' });
    serde_json::to_writer(&mut *out, key)?;
    out.push(b':');
    serde_json::to_writer(out, value)
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
        // Keys in alphabetical order, as they always were; sized up front so a large raw answer
        // is copied once.
        let mut body = Vec::with_capacity(self.data.len_hint() + 256);
        let data_field = |out: &mut Vec<u8>| -> Result<(), serde_json::Error> {
            out.extend_from_slice(b",\"data\":");
            self.data.write(out)
        };
        let written = match surface {
            Surface::Esb => field(&mut body, "code", &self.code)
                .and_then(|()| data_field(&mut body))
                .and_then(|()| field(&mut body, "message", &self.message))
                .and_then(|()| field(&mut body, "permission", &()))
                .and_then(|()| field(&mut body, "request_id", request_id))
                .and_then(|()| field(&mut body, "result", &(self.code == 0))),
            Surface::V3 => field(&mut body, "bk_error_code", &self.code)
                .and_then(|()| field(&mut body, "bk_error_msg", &self.message))
                .and_then(|()| data_field(&mut body))
                .and_then(|()| field(&mut body, "permission", &()))
                .and_then(|()| field(&mut body, "result", &(self.code == 0))),
        };
        body.push(b'}');
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
