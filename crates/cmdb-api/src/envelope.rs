//! The two response envelopes (00-protocol §4): ESB `{result, code, message, permission,
//! request_id, data}` and v3 `{result, bk_error_code, bk_error_msg, permission, data}`. Every
//! response of the API, success or failure, is built here so no key is ever omitted.

use axum::body::Bytes;
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
/// answers, such as a business tree of 100k+ nodes, skip building a `Value` tree and have the
/// envelope written around them in place).
#[derive(Debug)]
pub enum Data {
    /// A value.
    Json(Value),
    /// Serialised JSON, embedded verbatim.
    Raw(RawJson),
}

/// Room left in front of raw JSON for the envelope's opening: `{"code":0,"data":` (ESB) or
/// `{"bk_error_code":0,"bk_error_msg":"success","data":` (v3) is written there, and the rest of
/// the envelope appended, so a 12 MB answer goes out without being copied again.
const HEADROOM: usize = 64;

/// JSON text for `data`, after [`HEADROOM`] bytes of room for the envelope. It is embedded
/// without being parsed again, so only two writers fill it: `serde_json` ([`Data::raw`]), and
/// writers of the store that produce JSON by hand for one shape and are tested byte for byte
/// against `serde_json` ([`RawJson::new`], [`RawJson::json_mut`]).
#[derive(Debug)]
pub struct RawJson(Vec<u8>);

impl RawJson {
    /// An empty buffer with room for the envelope.
    pub fn new() -> Self {
        Self(vec![b' '; HEADROOM])
    }

    /// The buffer to append the JSON text to. Writers only append (the bytes already there
    /// are the envelope's room).
    pub fn json_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }

    /// The JSON text (empty if a writer broke the rule above; rendered as an error then).
    fn json(&self) -> Option<&[u8]> {
        self.0.get(HEADROOM..)
    }
}

impl Default for RawJson {
    fn default() -> Self {
        Self::new()
    }
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
        let mut raw = RawJson::new();
        raw.0.reserve(size_hint + 256);
        serde_json::to_writer(&mut raw.0, value)?;
        Ok(Data::Raw(raw))
    }
}

/// Writes `,"key":` (or `{"key":` when `out` is empty) followed by `value` as JSON.
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

/// Writes `,"key":` followed by `value` as JSON (never opens the object).
fn next_field<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    key: &str,
    value: &T,
) -> Result<(), serde_json::Error> {
    out.push(b',');
    serde_json::to_writer(&mut *out, key)?;
    out.push(b':');
    serde_json::to_writer(out, value)
}

/// `head`, the data's JSON, `tail`. Raw JSON gets the head written into its room and the tail
/// appended: the buffer becomes the body without a copy (the common case: the room is sized
/// for the success heads). `None` if a value cannot be serialised.
fn assemble(head: &[u8], data: Data, tail: &[u8]) -> Option<Bytes> {
    match data {
        Data::Json(v) => {
            let mut body = head.to_vec();
            serde_json::to_writer(&mut body, &v).ok()?;
            body.extend_from_slice(tail);
            Some(Bytes::from(body))
        }
        Data::Raw(raw) => {
            let json_len = raw.json()?.len();
            match HEADROOM.checked_sub(head.len()) {
                Some(start) => {
                    let mut buf = raw.0;
                    buf.get_mut(start..HEADROOM)?.copy_from_slice(head);
                    buf.extend_from_slice(tail);
                    Some(Bytes::from(buf).slice(start..))
                }
                None => {
                    let mut body = Vec::with_capacity(head.len() + json_len + tail.len());
                    body.extend_from_slice(head);
                    body.extend_from_slice(raw.json()?);
                    body.extend_from_slice(tail);
                    Some(Bytes::from(body))
                }
            }
        }
    }
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
        // Keys in alphabetical order, as they always were: the envelope up to `"data":`, the
        // data, then the rest of the envelope.
        let mut head = Vec::with_capacity(HEADROOM);
        let mut tail = Vec::with_capacity(128);
        let result = self.code == 0;
        let written = match surface {
            Surface::Esb => field(&mut head, "code", &self.code)
                .and_then(|()| next_field(&mut tail, "message", &self.message))
                .and_then(|()| next_field(&mut tail, "permission", &()))
                .and_then(|()| next_field(&mut tail, "request_id", request_id))
                .and_then(|()| next_field(&mut tail, "result", &result)),
            Surface::V3 => field(&mut head, "bk_error_code", &self.code)
                .and_then(|()| next_field(&mut head, "bk_error_msg", &self.message))
                .and_then(|()| next_field(&mut tail, "permission", &()))
                .and_then(|()| next_field(&mut tail, "result", &result)),
        };
        head.extend_from_slice(b",\"data\":");
        tail.push(b'}');
        let body = written
            .ok()
            .and_then(|()| assemble(&head, self.data, &tail));
        // Unreachable in practice (values and raw JSON always serialise); still an envelope.
        let body = body.unwrap_or_else(|| {
            Bytes::from_static(
                br#"{"code":1199999,"data":null,"message":"cannot encode answer","permission":null,"result":false}"#,
            )
        });
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
