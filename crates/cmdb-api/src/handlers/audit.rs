//! 60-audit-events.md: the operation audit (list_operation_audit, find_audit_by_id) and the
//! resource_watch change stream.

use std::time::Duration;

use cmdb_domain::watch::{self, Cursor, WatchKind};
use cmdb_domain::DomainError;
use cmdb_store::ops::audit;
use cmdb_store::ops::events::{self, ChainEvent, WatchFilter};
use serde_json::{json, Map, Value};

use super::read;
use crate::error::ApiError;
use crate::request::ApiRequest;
use crate::AppState;

/// `list_operation_audit`: `{count, info}`.
pub async fn list_operation_audit(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    read(&s.store, move |tx| audit::list(tx, &body)).await
}

/// `find_audit_by_id`: the full records.
pub async fn find_audit_by_id(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    read(&s.store, move |tx| audit::find_by_ids(tx, &body)).await
}

/// Longest a cursor watch waits for a matching event.
const LONG_POLL: Duration = Duration::from_secs(20);
/// Most events in one answer.
const WATCH_PAGE: usize = 200;
/// How long an error answer is held back (upstream's 500 ms), so that a client retrying in a
/// tight loop on a bad request does not spin.
const ERROR_DELAY: Duration = Duration::from_millis(500);

/// How often a waiting watch looks at the database although no commit woke it: only a
/// fallback, since this process's commits wake it and so do other processes' on a shared
/// database (`cmdb_store::follow_other_writers`) -- unless the database was away meanwhile.
const FALLBACK_POLL: Duration = Duration::from_secs(1);

/// A checked resource_watch request.
struct WatchRequest {
    kind: WatchKind,
    filter: WatchFilter,
    fields: Vec<String>,
    mode: Mode,
}

enum Mode {
    /// The decoded cursor and the text the client sent (given back when nothing happened).
    Cursor(Cursor, String),
    StartFrom(i64),
    Now,
}

fn strings(body: &Map<String, Value>, key: &str) -> Result<Vec<String>, DomainError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| DomainError::WatchRequest(format!("{key} must be strings")))
            })
            .collect(),
        Some(_) => Err(DomainError::WatchRequest(format!("{key} must be a list"))),
    }
}

/// Checks a request the way upstream's `WatchEventOptions.Validate` does (§2).
fn parse_watch(
    resource: &str,
    body: &Map<String, Value>,
    retention: Duration,
    now_ms: i64,
) -> Result<WatchRequest, DomainError> {
    let kind = watch::kind_named(resource)
        .ok_or_else(|| DomainError::WatchRequest(format!("unsupported resource: {resource}")))?;
    let types = strings(body, "bk_event_types")?;
    if let Some(bad) = types
        .iter()
        .find(|t| !watch::EVENT_TYPES.contains(&t.as_str()))
    {
        return Err(DomainError::WatchRequest(format!(
            "unsupported event type: {bad}"
        )));
    }
    let fields = strings(body, "bk_fields")?;
    if kind.fields_required && fields.is_empty() {
        return Err(DomainError::WatchRequest(format!(
            "bk_fields is required for resource {resource}"
        )));
    }
    let sub_resource = match body.get("bk_filter") {
        None | Some(Value::Null) => None,
        Some(Value::Object(f)) => match f.get("bk_sub_resource") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(DomainError::WatchRequest(
                    "bk_sub_resource must be a string".into(),
                ))
            }
        },
        Some(_) => {
            return Err(DomainError::WatchRequest(
                "bk_filter must be an object".into(),
            ))
        }
    };
    if sub_resource.is_some() && !kind.sub_resource {
        return Err(DomainError::WatchRequest(format!(
            "bk_sub_resource is not supported for resource {resource}"
        )));
    }
    let cursor = match body.get("bk_cursor") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some((watch::decode_cursor(s)?, s.clone())),
        Some(_) => {
            return Err(DomainError::WatchRequest(
                "bk_cursor must be a string".into(),
            ))
        }
    };
    let start_from = match body.get("bk_start_from") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(0) => None,
            Some(v) => Some(v),
            None => return Err(DomainError::ParamsInvalid("bk_start_from".into())),
        },
        Some(_) => return Err(DomainError::ParamsInvalid("bk_start_from".into())),
    };
    let mode = match (cursor, start_from) {
        (Some(_), Some(_)) => {
            return Err(DomainError::WatchRequest(
                "bk_cursor and bk_start_from can not be set at the same time".into(),
            ))
        }
        (Some((c, text)), None) => Mode::Cursor(c, text),
        (None, Some(secs)) => {
            let oldest = (now_ms - retention.as_millis() as i64).div_euclid(1000);
            if secs < oldest || secs > now_ms.div_euclid(1000) {
                return Err(DomainError::ParamsInvalid("bk_start_from".into()));
            }
            Mode::StartFrom(secs)
        }
        (None, None) => Mode::Now,
    };
    Ok(WatchRequest {
        kind,
        filter: WatchFilter {
            resource: kind.name.to_string(),
            types,
            sub_resource,
        },
        fields,
        mode,
    })
}

fn matches(f: &WatchFilter, e: &ChainEvent) -> bool {
    (f.types.is_empty() || f.types.contains(&e.event_type))
        && f.sub_resource.as_ref().is_none_or(|s| *s == e.obj_id)
}

fn event_json(w: &WatchRequest, e: ChainEvent) -> Value {
    json!({
        "bk_cursor": watch::encode_cursor(&w.kind, e.seq, &e.event_type, e.created_at),
        "bk_resource": w.kind.name,
        "bk_event_type": e.event_type,
        "bk_detail": watch::project(e.detail, &w.fields),
    })
}

fn watched(w: &WatchRequest, found: Vec<ChainEvent>) -> Value {
    let events: Vec<Value> = found.into_iter().map(|e| event_json(w, e)).collect();
    json!({"bk_watched": true, "bk_events": events})
}

/// Nothing to report: one event carrying the cursor to go on from (§2 Response).
fn not_watched(w: &WatchRequest, cursor: String) -> Value {
    json!({"bk_watched": false, "bk_events": [{
        "bk_cursor": cursor,
        "bk_resource": w.kind.name,
        "bk_event_type": "",
        "bk_detail": null,
    }]})
}

/// `resource_watch`: see 60-audit-events §2 for the three modes.
pub async fn resource_watch(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let answer = watch_events(&s, &req).await;
    if answer.is_err() {
        tokio::time::sleep(ERROR_DELAY).await;
    }
    answer
}

async fn watch_events(s: &AppState, req: &ApiRequest) -> Result<Value, ApiError> {
    let resource = req.path_str("bk_resource")?;
    let body = req.filter()?;
    let w = parse_watch(&resource, &body, s.event_retention, req.ctx.now)?;
    match w.mode {
        Mode::Now => from_now(s, &w).await,
        Mode::StartFrom(secs) => {
            let filter = w.filter.clone();
            let found = read(&s.store, move |tx| {
                events::since(tx, &filter, secs * 1000, WATCH_PAGE)
            })
            .await?;
            if found.is_empty() {
                // Nothing written since then: as from now (upstream).
                return from_now(s, &w).await;
            }
            Ok(watched(&w, found))
        }
        Mode::Cursor(cursor, ref text) => follow(s, &w, cursor, text).await,
    }
}

/// Mode 3: the latest event of the resource, so the client gets a current cursor.
async fn from_now(s: &AppState, w: &WatchRequest) -> Result<Value, ApiError> {
    let resource = w.filter.resource.clone();
    let latest = read(&s.store, move |tx| events::latest(tx, &resource)).await?;
    Ok(match latest {
        Some(e) if matches(&w.filter, &e) => watched(w, vec![e]),
        Some(e) => {
            let cursor = watch::encode_cursor(&w.kind, e.seq, &e.event_type, e.created_at);
            not_watched(w, cursor)
        }
        None => not_watched(w, watch::no_event_cursor()),
    })
}

/// Mode 1: the events after the cursor, waiting up to [`LONG_POLL`] for the first one. Wakes
/// on every commit (of any process, see [`FALLBACK_POLL`]).
async fn follow(
    s: &AppState,
    w: &WatchRequest,
    cursor: Cursor,
    text: &str,
) -> Result<Value, ApiError> {
    let mut commits = s.store.commit_signal().subscribe();
    commits.borrow_and_update();
    let mut seq = match cursor {
        Cursor::NoEvent => read(&s.store, events::bounds).await?.1,
        Cursor::After(seq) => seq,
    };
    // The cursor answered when nothing matched: the last event passed over, else the caller's.
    let mut passed: Option<String> = None;
    let deadline = tokio::time::Instant::now() + LONG_POLL;
    let mut first = true;
    loop {
        let filter = w.filter.clone();
        // The caller's cursor is checked against the chain in the same snapshot as the first
        // read (retention may be deleting meanwhile); every event after it is then either
        // answered or passed over, and what commits later is younger than any retention.
        let (bounds, (found, last)) = read(&s.store, move |tx| {
            Ok((
                events::bounds(tx)?,
                events::after(tx, &filter, seq, WATCH_PAGE)?,
            ))
        })
        .await?;
        let (through, latest) = bounds;
        if first && (seq < through || seq > latest) {
            return Err(DomainError::EventChainNodeNotExist.into());
        }
        first = false;
        if !found.is_empty() {
            return Ok(watched(w, found));
        }
        if let Some(last) = last {
            seq = last.seq;
            passed = Some(watch::encode_cursor(
                &w.kind,
                last.seq,
                &last.event_type,
                last.created_at,
            ));
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            break;
        }
        let wait = FALLBACK_POLL.min(deadline - now);
        tokio::select! {
            changed = commits.changed() => {
                if changed.is_err() {
                    // The store is going away: no more wake-ups, poll until the deadline.
                    tokio::time::sleep(wait).await;
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
    Ok(not_watched(w, passed.unwrap_or_else(|| text.to_string())))
}
