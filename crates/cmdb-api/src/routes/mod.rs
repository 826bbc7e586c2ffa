//! Builds the ESB router and the v3 router from the one route table, and runs every request
//! through the same pipeline: read the body (10 MiB cap), authenticate, resolve identity and
//! language, call the handler, render the envelope, log one line.

pub mod table;

use std::collections::HashMap;
use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, on, MethodFilter, MethodRouter};
use axum::Router;
use cmdb_domain::DomainError;
use cmdb_store::ops::OpContext;
use serde_json::{Map, Value};

use crate::auth::{header, Credentials};
use crate::envelope::{Answer, Data, Surface};
use crate::error::codes::{describe, Lang};
use crate::error::ApiError;
use crate::request::ApiRequest;
use crate::AppState;
use table::{Route, ROUTES};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// The whole HTTP surface: ESB routes, v3 routes, `/healthz`, `/livez`.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/livez", get(livez))
        .route("/api/c/compapi/v2/cc/{name}", any(esb))
        .route("/api/c/compapi/v2/cc/{name}/", any(esb))
        .route("/api/c/compapi/cc/{name}", any(esb))
        .route("/api/c/compapi/cc/{name}/", any(esb));
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for (index, route) in ROUTES.iter().enumerate() {
        let filter = method_filter(&route.method);
        let handler = move |state: State<AppState>,
                            path: Path<HashMap<String, String>>,
                            RawQuery(query): RawQuery,
                            headers: HeaderMap,
                            method: Method,
                            body: Body| {
            let query = query_params(query.as_deref());
            v3(state, index, path, query, headers, method, body)
        };
        match by_path.iter_mut().find(|(p, _)| *p == route.path) {
            Some((_, mr)) => {
                let taken = std::mem::take(mr);
                *mr = taken.on(filter, handler);
            }
            None => by_path.push((route.path, on(filter, handler))),
        }
    }
    for (path, mr) in by_path {
        app = app.route(path, mr.fallback(v3_method_not_allowed));
    }
    app.fallback(v3_not_found).with_state(state)
}

fn method_filter(m: &Method) -> MethodFilter {
    match *m {
        Method::GET => MethodFilter::GET,
        Method::PUT => MethodFilter::PUT,
        Method::DELETE => MethodFilter::DELETE,
        _ => MethodFilter::POST,
    }
}

/// Readiness: the server answers and its database does (a load balancer stops sending work to
/// a node whose database is away).
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {e}"),
        )
            .into_response(),
    }
}

/// Liveness: the process answers HTTP, whatever its database does (a supervisor must not restart
/// a server only because PostgreSQL restarts; it recovers by itself). Touching nothing, it is
/// also the benchmarks' no-op ceiling.
async fn livez() -> &'static str {
    "ok"
}

fn request_id(headers: &HeaderMap) -> String {
    header(
        headers,
        &["x-bkapi-request-id", "x-request-id", "cc_request_id"],
    )
    .map(str::to_string)
    .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_header(header(
        headers,
        &[
            "blueking-language",
            "x-bkcmdb-language",
            "http_blueking_language",
            "accept-language",
        ],
    ))
}

fn error_answer(e: &ApiError, lang: Lang) -> Answer {
    let (status, code, message) = describe(e, lang);
    let data = match e {
        ApiError::WithData(_, data) => data.clone(),
        _ => Value::Null,
    };
    let mut answer = Answer {
        status,
        code,
        message,
        data: Data::Json(data),
        headers: Vec::new(),
    };
    if matches!(e, ApiError::Auth(_)) {
        answer
            .headers
            .push(("x-bkapi-error-code", "1640001".into()));
        answer
            .headers
            .push(("x-bkapi-error-message", answer.message.clone()));
    }
    if let ApiError::Store(inner) = e {
        tracing::error!(error = %inner, "store failure");
    }
    answer
}

/// Body bytes → JSON. Empty body = `{}`; invalid JSON → `None` (answered 1199000 after auth).
async fn read_body(body: Body) -> Result<Option<Value>, ApiError> {
    let bytes = to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ApiError::BodyTooLarge)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Value::Object(Map::new())));
    }
    Ok(serde_json::from_slice::<Value>(&bytes).ok())
}

/// GET bodies come from the query string; digits become integers except for string fields.
fn query_body(raw: Option<&str>) -> Map<String, Value> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default();
    let mut map = Map::new();
    for (k, v) in pairs {
        let keep_string = k == "bk_supplier_account"
            || k.starts_with("bk_app")
            || k == "bk_username"
            || k == "bk_token";
        let value = match v.parse::<i64>() {
            Ok(n) if !keep_string => Value::from(n),
            _ => Value::String(v),
        };
        map.insert(k, value);
    }
    map
}

/// A v3 query string as name → value (the first occurrence of a name wins; undecodable → none).
fn query_params(raw: Option<&str>) -> HashMap<String, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default();
    let mut map = HashMap::new();
    for (k, v) in pairs {
        map.entry(k).or_insert(v);
    }
    map
}

fn supplier_from(headers: &HeaderMap, body: Option<&Map<String, Value>>) -> Option<String> {
    let from_body = body
        .and_then(|b| b.get("bk_supplier_account"))
        .and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    from_body.or_else(|| {
        header(
            headers,
            &[
                "x-bkcmdb-supplier-account",
                "x-bkapi-supplier-account",
                "http_bk_supplier_account",
                "http_blueking_supplier_id",
                "bk_supplier_account",
            ],
        )
        .map(str::to_string)
    })
}

async fn esb(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let rid = request_id(&headers);
    let lang = lang_of(&headers);
    let answer = match esb_inner(
        &state,
        &name,
        query.as_deref(),
        &method,
        &headers,
        body,
        lang,
    )
    .await
    {
        Ok(data) => Answer::ok(data),
        Err(e) => error_answer(&e, lang),
    };
    log_request(&rid, &method, &name, answer.code, started);
    answer.render(Surface::Esb, &rid)
}

async fn esb_inner(
    state: &AppState,
    name: &str,
    query: Option<&str>,
    method: &Method,
    headers: &HeaderMap,
    body: Body,
    lang: Lang,
) -> Result<Data, ApiError> {
    let route = ROUTES
        .iter()
        .find(|r| r.esb == Some(name))
        .ok_or_else(|| ApiError::UnknownApi(name.to_string()))?;
    let query_map = query_body(query);
    let parsed = if *method == Method::GET {
        Some(Value::Object(query_map.clone()))
    } else {
        read_body(body).await?
    };
    let body_obj = parsed.as_ref().and_then(Value::as_object);
    let creds = Credentials::gather(headers, body_obj, Some(&query_map));
    let (app_code, user) = creds.verify(&state.apps).map_err(ApiError::Auth)?;
    let user = user.ok_or(ApiError::Auth(crate::error::AuthFailure::NoUser))?;
    let Some(body) = parsed else {
        return Err(DomainError::JsonUnmarshal.into());
    };
    let supplier = supplier_from(headers, body.as_object()).unwrap_or_else(|| "0".into());
    let mut path = HashMap::new();
    if let Some(obj) = body.as_object() {
        for param in route.params() {
            if param == "bk_supplier_account" {
                path.insert(param.to_string(), supplier.clone());
                continue;
            }
            match obj.get(param) {
                Some(Value::String(s)) => {
                    path.insert(param.to_string(), s.clone());
                }
                Some(Value::Number(n)) => {
                    path.insert(param.to_string(), n.to_string());
                }
                Some(other) if !other.is_null() => {
                    path.insert(param.to_string(), other.to_string());
                }
                _ => {}
            }
        }
    }
    let req = ApiRequest {
        ctx: OpContext {
            user,
            supplier,
            app_code,
            now: cmdb_domain::time::now_millis(),
        },
        lang,
        body,
        path,
        query: HashMap::new(),
        surface: Surface::Esb,
    };
    (route.handler)(state.clone(), req).await
}

async fn v3(
    State(state): State<AppState>,
    index: usize,
    Path(path): Path<HashMap<String, String>>,
    query: HashMap<String, String>,
    headers: HeaderMap,
    method: Method,
    body: Body,
) -> Response {
    let started = Instant::now();
    let rid = request_id(&headers);
    let lang = lang_of(&headers);
    let route = ROUTES.get(index);
    let name = route.map_or("", |r| r.esb.unwrap_or(r.path));
    let answer = match route {
        Some(route) => match v3_inner(&state, route, (path, query), &headers, body, lang).await {
            Ok(data) => Answer::ok(data),
            Err(e) => error_answer(&e, lang),
        },
        None => error_answer(&ApiError::RouteNotFound(404), lang),
    };
    log_request(&rid, &method, name, answer.code, started);
    answer.render(Surface::V3, &rid)
}

async fn v3_inner(
    state: &AppState,
    route: &Route,
    (path, query): (HashMap<String, String>, HashMap<String, String>),
    headers: &HeaderMap,
    body: Body,
    lang: Lang,
) -> Result<Data, ApiError> {
    let parsed = read_body(body).await?;
    let creds = Credentials::gather(headers, None, None);
    let (app_code, user) = creds.verify(&state.apps).map_err(ApiError::Auth)?;
    let user = user
        .or_else(|| header(headers, &["x-bkcmdb-user", "bk_user"]).map(str::to_string))
        .ok_or(ApiError::MissingIdentity("user"))?;
    let supplier = supplier_from(headers, None).ok_or(ApiError::MissingIdentity("owner_id"))?;
    let Some(body) = parsed else {
        return Err(DomainError::JsonUnmarshal.into());
    };
    let req = ApiRequest {
        ctx: OpContext {
            user,
            supplier,
            app_code,
            now: cmdb_domain::time::now_millis(),
        },
        lang,
        body,
        path,
        query,
        surface: Surface::V3,
    };
    (route.handler)(state.clone(), req).await
}

async fn v3_not_found(headers: HeaderMap, method: Method, uri: axum::http::Uri) -> Response {
    let rid = request_id(&headers);
    let answer = error_answer(&ApiError::RouteNotFound(404), lang_of(&headers));
    log_request(&rid, &method, uri.path(), answer.code, Instant::now());
    answer.render(Surface::V3, &rid)
}

async fn v3_method_not_allowed(headers: HeaderMap) -> Response {
    let rid = request_id(&headers);
    error_answer(&ApiError::RouteNotFound(405), lang_of(&headers)).render(Surface::V3, &rid)
}

fn log_request(rid: &str, method: &Method, api: &str, code: i64, started: Instant) {
    tracing::info!(
        request_id = rid,
        method = %method,
        api = api,
        code = code,
        duration_us = started.elapsed().as_micros() as u64,
        "request"
    );
}
