//! 30-topology.md: the mainline topology. So far the business endpoints (§5.1–§5.5) and the
//! internal modules of a business (§5.18).

use cmdb_domain::DomainError;
use cmdb_store::ops::business;
use serde_json::{Map, Value};

use super::instances::found_json;
use super::{read, write};
use crate::error::ApiError;
use crate::request::ApiRequest;
use crate::AppState;

/// The instance payload of a create/update body: the object in `data` when the body has one
/// (legacy ESB form, 00-protocol §1.2), else the body without credentials, tenant, path keys
/// and `metadata`.
fn payload(req: &ApiRequest) -> Result<Map<String, Value>, ApiError> {
    let mut body = req.data()?;
    if let Some(Value::Object(inner)) = body.get("data") {
        body = inner.clone();
    }
    body.remove("metadata");
    Ok(body)
}

fn biz_param(req: &ApiRequest) -> Result<i64, ApiError> {
    req.path_i64("bk_biz_id", DomainError::NeedInt, "bk_biz_id")
}

/// `search_business`: `{count, info}`.
pub async fn search_business(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let found = read(&s.store, move |tx| business::search(tx, &body)).await?;
    Ok(found_json(found))
}

/// `create_business`: the stored business.
pub async fn create_business(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = payload(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| business::create(tx, &ctx, &body)).await
}

/// `update_business`: `data: null`.
pub async fn update_business(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let body = payload(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        business::update(tx, &ctx, biz_id, &body)
    })
    .await?;
    Ok(Value::Null)
}

/// `update_business_enable_status`: archive (`flag` = `disabled`) or restore (`enable`, with an
/// optional new `bk_biz_name`); `data: null`.
pub async fn update_business_enable_status(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    let flag = req.path_str("flag")?;
    let biz_id = biz_param(&req)?;
    let name = req.object()?.get("bk_biz_name").cloned();
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        business::update_status(tx, &ctx, biz_id, &flag, name.as_ref())
    })
    .await?;
    Ok(Value::Null)
}

/// `delete_business`: `bk_biz_id` is a list of ids (a single integer is accepted as a list of
/// one); `data: null`.
pub async fn delete_business(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let ids: Vec<i64> = match req.object()?.get("bk_biz_id") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_i64()
                    .ok_or(ApiError::Domain(DomainError::JsonUnmarshal))
            })
            .collect::<Result<_, _>>()?,
        Some(v @ Value::Number(_)) => {
            vec![v
                .as_i64()
                .ok_or(ApiError::Domain(DomainError::JsonUnmarshal))?]
        }
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let ctx = req.ctx;
    write(&s.store, move |tx| business::delete(tx, &ctx, &ids)).await?;
    Ok(Value::Null)
}

/// `get_biz_internal_module`: the idle-pool set and its internal modules.
pub async fn get_biz_internal_module(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    read(&s.store, move |tx| business::internal_modules(tx, biz_id)).await
}
