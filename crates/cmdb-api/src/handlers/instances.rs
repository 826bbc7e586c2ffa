//! 20-instances.md: general instances.

use cmdb_domain::DomainError;
use cmdb_store::ops::instances;
use serde_json::{json, Map, Value};

use super::{read, write};
use crate::error::ApiError;
use crate::request::ApiRequest;
use crate::AppState;

fn obj_param(req: &ApiRequest) -> Result<String, ApiError> {
    req.path_str("bk_obj_id")
}

/// `create_inst`.
pub async fn create_inst(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = obj_param(&req)?;
    let mut body = req.data()?;
    body.remove("metadata");
    let ctx = req.ctx;
    write(&s.store, move |tx| instances::create(tx, &ctx, &obj, &body)).await
}

/// `batch_create_inst`: per-item results, never an overall failure for item errors.
pub async fn batch_create_inst(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = obj_param(&req)?;
    let details: Vec<Map<String, Value>> = match req.object()?.get("details") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::Object(m) => {
                    let mut m = m.clone();
                    m.remove("metadata");
                    Ok(m)
                }
                _ => Err(ApiError::Domain(DomainError::JsonUnmarshal)),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let ctx = req.ctx;
    let lang = req.lang;
    let result = write(&s.store, move |tx| {
        instances::batch_create(tx, &ctx, &obj, &details)
    })
    .await?;
    Ok(super::batch_answer(result, lang))
}

fn inst_id_param(req: &ApiRequest) -> Result<i64, ApiError> {
    req.path_i64("bk_inst_id", DomainError::NeedInt, "inst_id")
}

/// `update_inst`.
pub async fn update_inst(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = obj_param(&req)?;
    let id = inst_id_param(&req)?;
    let body = req.data()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        instances::update(tx, &ctx, &obj, id, &body)
    })
    .await?;
    Ok(Value::Null)
}

/// `batch_update_inst`: all items in one transaction.
pub async fn batch_update_inst(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = obj_param(&req)?;
    let items = match req.object()?.get("update") {
        Some(Value::Array(items)) => items.clone(),
        None | Some(Value::Null) => return Err(DomainError::NeedSet("update".into()).into()),
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        let id = item.get("inst_id").and_then(Value::as_i64).unwrap_or(0);
        if id == 0 {
            return Err(DomainError::ParamsInvalid("inst_id".into()).into());
        }
        let data = match item.get("datas") {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(DomainError::JsonUnmarshal.into()),
        };
        parsed.push((id, data));
    }
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        instances::batch_update(tx, &ctx, &obj, &parsed)
    })
    .await?;
    Ok(Value::Null)
}

/// `delete_inst`.
pub async fn delete_inst(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = obj_param(&req)?;
    let id = inst_id_param(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| instances::delete(tx, &ctx, &obj, &[id])).await?;
    Ok(Value::Null)
}

/// `batch_delete_inst`: `{"delete":{"inst_ids":[...]}}`.
pub async fn batch_delete_inst(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = obj_param(&req)?;
    let ids: Vec<i64> = match req.object()?.get("delete").and_then(|d| d.get("inst_ids")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(xs)) => xs
            .iter()
            .map(|x| {
                x.as_i64()
                    .ok_or(ApiError::Domain(DomainError::JsonUnmarshal))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let ctx = req.ctx;
    write(&s.store, move |tx| instances::delete(tx, &ctx, &obj, &ids)).await?;
    Ok(Value::Null)
}

/// `{count, info}` (`count` only when it was computed).
pub(crate) fn found_json(found: instances::Found) -> Value {
    let mut out = Map::new();
    if let Some(c) = found.count {
        out.insert("count".into(), Value::from(c));
    }
    out.insert("info".into(), Value::Array(found.info));
    Value::Object(out)
}

/// `search_inst`.
pub async fn search_inst(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = obj_param(&req)?;
    let body = req.filter()?;
    let found = read(&s.store, move |tx| instances::search_inst(tx, &obj, &body)).await?;
    Ok(found_json(found))
}

/// `search_inst_by_object`.
pub async fn search_inst_by_object(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = obj_param(&req)?;
    let body = req.filter()?;
    let found = read(&s.store, move |tx| {
        instances::search_by_object(tx, &obj, &body)
    })
    .await?;
    Ok(found_json(found))
}

/// `search_object_instances`: `{info}` without count.
pub async fn search_object_instances(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = obj_param(&req)?;
    let body = req.filter()?;
    let found = read(&s.store, move |tx| {
        instances::search_object_instances(tx, &obj, &body, false)
    })
    .await?;
    Ok(found_json(found))
}

/// `count_object_instances`: `{count}`.
pub async fn count_object_instances(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = obj_param(&req)?;
    let body = req.filter()?;
    let found = read(&s.store, move |tx| {
        instances::search_object_instances(tx, &obj, &body, true)
    })
    .await?;
    Ok(json!({ "count": found.count.unwrap_or(0) }))
}
