//! 10-models.md: classifications, models, attributes, attribute groups, unique rules.

use cmdb_domain::DomainError;
use cmdb_store::ops::{attributes, classifications, groups, mainline, objects, uniques};
use serde_json::{json, Value};

use super::{read, to_data, write};
use crate::error::ApiError;
use crate::request::ApiRequest;
use crate::AppState;

fn id_param(req: &ApiRequest) -> Result<i64, ApiError> {
    req.path_i64("id", DomainError::ParamsInvalid, "id")
}

/// `search_classifications`.
pub async fn search_classifications(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let filter = req.filter()?;
    let found = read(&s.store, move |tx| classifications::search(tx, &filter)).await?;
    to_data(&found)
}

/// `create_classification`.
pub async fn create_classification(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.data()?;
    let ctx = req.ctx;
    let created = write(&s.store, move |tx| classifications::create(tx, &ctx, &body)).await?;
    to_data(&created)
}

/// `update_classification`.
pub async fn update_classification(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = id_param(&req)?;
    let body = req.data()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        classifications::update(tx, &ctx, id, &body)
    })
    .await?;
    Ok(Value::Null)
}

/// `delete_classification`.
pub async fn delete_classification(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = id_param(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| classifications::delete(tx, &ctx, id)).await?;
    Ok(Value::Null)
}

/// `search_objects`.
pub async fn search_objects(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let filter = req.filter()?;
    let found = read(&s.store, move |tx| objects::search(tx, &filter)).await?;
    to_data(&found)
}

/// `create_object`.
pub async fn create_object(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.data()?;
    let ctx = req.ctx;
    let created = write(&s.store, move |tx| objects::create(tx, &ctx, &body)).await?;
    to_data(&created)
}

/// Add a custom mainline level (30-topology §1.1, v3 only): the created model.
pub async fn create_mainline_level(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.data()?;
    let ctx = req.ctx;
    let created = write(&s.store, move |tx| mainline::create_level(tx, &ctx, &body)).await?;
    to_data(&created)
}

/// Remove a custom mainline level (30-topology §1.2, v3 only): `data: null`.
pub async fn delete_mainline_level(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj_id = req.path_str("bk_obj_id")?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        mainline::delete_level(tx, &ctx, &obj_id)
    })
    .await?;
    Ok(Value::Null)
}

/// `update_object`.
pub async fn update_object(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = id_param(&req)?;
    let body = req.data()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| objects::update(tx, &ctx, id, &body)).await?;
    Ok(Value::Null)
}

/// `delete_object`.
pub async fn delete_object(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = id_param(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| objects::delete(tx, &ctx, id)).await?;
    Ok(Value::Null)
}

/// `search_object_topo`.
pub async fn search_object_topo(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let filter = req.filter()?;
    let edges = read(&s.store, move |tx| objects::topo(tx, &filter)).await?;
    Ok(Value::Array(edges))
}

/// `update_object_topo_graphics`: stores node positions on the models.
pub async fn update_topo_graphics(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let items = req
        .object()?
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| DomainError::NeedSet("data".into()))?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        objects::save_positions(tx, &ctx, &items)
    })
    .await?;
    Ok(Value::Null)
}

/// Companion read of the topology graph positions.
pub async fn find_topo_graphics(s: AppState, _req: ApiRequest) -> Result<Value, ApiError> {
    let nodes = read(&s.store, objects::positions).await?;
    Ok(Value::Array(nodes))
}

/// `search_object_attribute`.
pub async fn search_attributes(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let filter = req.filter()?;
    let found = read(&s.store, move |tx| attributes::search(tx, &filter)).await?;
    Ok(Value::Array(found))
}

/// `create_object_attribute` (and its business-private v3 route).
pub async fn create_attribute(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let path_biz = match req.path.get("bk_biz_id") {
        Some(_) => Some(req.path_i64("bk_biz_id", DomainError::NeedInt, "bk_biz_id")?),
        None => None,
    };
    let body = req.filter()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        attributes::create(tx, &ctx, &body, path_biz)
    })
    .await
}

/// `update_object_attribute`.
pub async fn update_attribute(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = id_param(&req)?;
    let body = req.data()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| attributes::update(tx, &ctx, id, &body)).await?;
    Ok(Value::Null)
}

/// `delete_object_attribute`.
pub async fn delete_attribute(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = id_param(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| attributes::delete(tx, &ctx, id)).await?;
    Ok(Value::Null)
}

/// Create an attribute group.
pub async fn create_group(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let ctx = req.ctx;
    let g = write(&s.store, move |tx| groups::create(tx, &ctx, &body)).await?;
    to_data(&g)
}

/// Update an attribute group.
pub async fn update_group(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| groups::update(tx, &ctx, &body)).await?;
    Ok(Value::Null)
}

/// Delete an attribute group.
pub async fn delete_group(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = id_param(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| groups::delete(tx, &ctx, id)).await?;
    Ok(Value::Null)
}

/// Move attributes between groups.
pub async fn move_group_properties(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.body.clone();
    let ctx = req.ctx;
    write(&s.store, move |tx| groups::move_properties(tx, &ctx, &body)).await?;
    Ok(Value::Null)
}

/// Groups of a model.
pub async fn find_groups(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = req.path_str("bk_obj_id")?;
    let biz = req
        .filter()?
        .get("bk_biz_id")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let found = read(&s.store, move |tx| groups::of_model(tx, &obj, biz)).await?;
    to_data(&found)
}

/// Swap two groups' indexes.
pub async fn swap_group_index(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| groups::swap_index(tx, &ctx, &body)).await?;
    Ok(Value::Null)
}

/// Create a unique rule.
pub async fn create_unique(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = req.path_str("bk_obj_id")?;
    let body = req.filter()?;
    let ctx = req.ctx;
    let id = write(&s.store, move |tx| uniques::create(tx, &ctx, &obj, &body)).await?;
    Ok(json!({ "id": id }))
}

/// Update a unique rule.
pub async fn update_unique(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = req.path_str("bk_obj_id")?;
    let id = id_param(&req)?;
    let body = req.filter()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        uniques::update(tx, &ctx, &obj, id, &body)
    })
    .await?;
    Ok(Value::Null)
}

/// Delete a unique rule.
pub async fn delete_unique(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = req.path_str("bk_obj_id")?;
    let id = id_param(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| uniques::delete(tx, &ctx, &obj, id)).await?;
    Ok(Value::Null)
}

/// Unique rules of a model.
pub async fn find_uniques(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = req.path_str("bk_obj_id")?;
    let found = read(&s.store, move |tx| uniques::of_model(tx, &obj)).await?;
    to_data(&found)
}
