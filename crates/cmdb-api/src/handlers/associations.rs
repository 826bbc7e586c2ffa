//! 50-associations.md: association kinds, model associations, instance associations, and
//! search_inst_association_topo (20-instances §11). Each handler decodes the body, runs one
//! store operation and shapes `data`.

use cmdb_domain::association::{BATCH_CREATE_LIMIT, DETAIL_LIMIT, SEARCH_LIMIT};
use cmdb_domain::filter::Page;
use cmdb_domain::DomainError;
use cmdb_store::ops::associations::{self as ops, LinkQuery, WithInstQuery};
use serde_json::{json, Map, Value};

use super::{read, to_data, write};
use crate::error::ApiError;
use crate::request::ApiRequest;
use crate::AppState;

fn id_param(req: &ApiRequest) -> Result<i64, ApiError> {
    req.path_i64("id", DomainError::NeedInt, "id")
}

/// An integer body field: absent/null → `None`; not an integer → 1199006 naming it.
fn opt_int(body: &Map<String, Value>, key: &str) -> Result<Option<i64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => ops::id_of(Some(v))
            .map(Some)
            .ok_or_else(|| DomainError::ParamsInvalid(key.into()).into()),
    }
}

/// A string body field: absent/null → empty; not a string → 1199006 naming it.
fn str_field(body: &Map<String, Value>, key: &str) -> Result<String, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(DomainError::ParamsInvalid(key.into()).into()),
    }
}

fn object_field(body: &Map<String, Value>, key: &str) -> Result<Map<String, Value>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(DomainError::ParamsInvalid(key.into()).into()),
    }
}

// --- association kinds (v3 only) ---

/// `POST /api/v3/find/associationtype`: `{"count","info"}`.
pub async fn search_kinds(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let (count, info) = read(&s.store, move |tx| ops::search_kinds(tx, &body)).await?;
    Ok(json!({ "count": count, "info": to_data(&info)? }))
}

/// `POST /api/v3/create/associationtype`: `{"id": N}`.
pub async fn create_kind(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.data()?;
    let ctx = req.ctx;
    let kind = write(&s.store, move |tx| ops::create_kind(tx, &ctx, &body)).await?;
    Ok(json!({ "id": kind.id }))
}

/// `PUT /api/v3/update/associationtype/{id}`.
pub async fn update_kind(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = id_param(&req)?;
    let body = req.data()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| ops::update_kind(tx, &ctx, id, &body)).await?;
    Ok(Value::Null)
}

/// `DELETE /api/v3/delete/associationtype/{id}`.
pub async fn delete_kind(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = id_param(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| ops::delete_kind(tx, &ctx, id)).await?;
    Ok(Value::Null)
}

// --- model associations ---

/// `find_object_association`: array of model-association records.
pub async fn find_object_association(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let cond = object_field(&req.filter()?, "condition")?;
    let found = read(&s.store, move |tx| ops::find_object_associations(tx, &cond)).await?;
    to_data(&found)
}

/// `POST /api/v3/create/objectassociation`: the created record.
pub async fn create_object_association(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.data()?;
    let ctx = req.ctx;
    let created = write(&s.store, move |tx| {
        ops::create_object_association(tx, &ctx, &body)
    })
    .await?;
    to_data(&created)
}

/// `PUT /api/v3/update/objectassociation/{id}`.
pub async fn update_object_association(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = req.path_i64("id", DomainError::ParamsInvalid, "id")?;
    let body = req.data()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        ops::update_object_association(tx, &ctx, id, &body)
    })
    .await?;
    Ok(Value::Null)
}

/// `DELETE /api/v3/delete/objectassociation/{id}`.
pub async fn delete_object_association(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = req.path_i64("id", DomainError::ParamsInvalid, "id")?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        ops::delete_object_association(tx, &ctx, id)
    })
    .await?;
    Ok(Value::Null)
}

// --- instance associations ---

/// `add_instance_association`: `{"id": <new link id>}`. Absent fields decode to ""/0 as in
/// upstream's struct decoding, so they fail the existence checks (1101046 / 1101073 / 1101074).
pub async fn add_instance_association(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let key = str_field(&body, "bk_obj_asst_id")?;
    let src = opt_int(&body, "bk_inst_id")?.unwrap_or(0);
    let dst = opt_int(&body, "bk_asst_inst_id")?.unwrap_or(0);
    let ctx = req.ctx;
    let id = write(&s.store, move |tx| ops::add(tx, &ctx, &key, src, dst)).await?;
    Ok(json!({ "id": id }))
}

/// `batch_create_instance_association`: `{"success_created":{i:id},"error_msg":{i:msg}}`.
pub async fn batch_create_instance_association(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let obj = str_field(&body, "bk_obj_id")?;
    let asst_obj = str_field(&body, "bk_asst_obj_id")?;
    let key = str_field(&body, "bk_obj_asst_id")?;
    for (name, v) in [
        ("bk_obj_id", &obj),
        ("bk_asst_obj_id", &asst_obj),
        ("bk_obj_asst_id", &key),
    ] {
        if v.is_empty() {
            return Err(DomainError::IsInvalid(name.into()).into());
        }
    }
    let details = match body.get("details") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(DomainError::ParamsInvalid("details".into()).into()),
    };
    if details.is_empty() {
        return Err(DomainError::NeedDetails.into());
    }
    if details.len() > BATCH_CREATE_LIMIT {
        return Err(DomainError::ExceedLimit("details".into(), BATCH_CREATE_LIMIT as u64).into());
    }
    let items = details
        .iter()
        .map(|d| {
            let m = d
                .as_object()
                .ok_or_else(|| ApiError::from(DomainError::ParamsInvalid("details".into())))?;
            Ok((
                opt_int(m, "bk_inst_id")?.unwrap_or(0),
                opt_int(m, "bk_asst_inst_id")?.unwrap_or(0),
            ))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let ctx = req.ctx;
    let lang = req.lang;
    let result = write(&s.store, move |tx| {
        ops::batch_create(tx, &ctx, &obj, &asst_obj, &key, &items)
    })
    .await?;
    Ok(super::batch_answer(result, lang))
}

/// `delete_instance_association`: `data: null`; a missing id is a success.
pub async fn delete_instance_association(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = req.path_str("bk_obj_id")?;
    let id = id_param(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| ops::delete(tx, &ctx, &obj, id)).await?;
    Ok(Value::Null)
}

/// `delete_related_inst_asso`: the number of deleted links.
pub async fn delete_related_inst_asso(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let ids = match body.get("id") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| ops::id_of(Some(v)).ok_or(DomainError::ParamsInvalid("id".into())))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(DomainError::ParamsInvalid("id".into()).into()),
    };
    let obj = str_field(&body, "bk_obj_id")?;
    if ids.is_empty() {
        return Err(DomainError::InputInvalid.into());
    }
    if obj.is_empty() {
        return Err(DomainError::NeedSet("bk_obj_id".into()).into());
    }
    let ctx = req.ctx;
    let n = write(&s.store, move |tx| ops::delete_many(tx, &ctx, &obj, &ids)).await?;
    Ok(Value::from(n))
}

/// `find_instance_association`: array of links (no count).
pub async fn find_instance_association(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let cond = object_field(&body, "condition")?;
    let obj = str_field(&body, "bk_obj_id")?;
    if obj.is_empty() {
        return Err(DomainError::NeedSet("bk_obj_id".into()).into());
    }
    let found = read(&s.store, move |tx| ops::find(tx, &obj, &cond)).await?;
    Ok(Value::Array(found))
}

/// `find_instassociation_with_inst`: `{"association","src"?,"dst"?}`.
pub async fn find_instassociation_with_inst(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    let obj = req.path_str("bk_obj_id")?;
    let q = WithInstQuery::parse(&req.filter()?)?;
    read(&s.store, move |tx| ops::with_inst(tx, &obj, &q)).await
}

/// `search_instance_associations`: `{"info":[…]}`.
pub async fn search_instance_associations(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = req.path_str("bk_obj_id")?;
    let q = LinkQuery::parse(&req.filter()?, true)?;
    let info = read(&s.store, move |tx| ops::search(tx, &obj, &q)).await?;
    Ok(json!({ "info": info }))
}

/// `count_instance_associations`: `{"count": n}`.
pub async fn count_instance_associations(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = req.path_str("bk_obj_id")?;
    let q = LinkQuery::parse(&req.filter()?, false)?;
    let n = read(&s.store, move |tx| ops::count(tx, &obj, &q)).await?;
    Ok(json!({ "count": n }))
}

/// `search_related_inst_asso`: array of links where the instance is source or target.
pub async fn search_related_inst_asso(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let cond = object_field(&body, "condition")?;
    let inst = opt_int(&cond, "bk_inst_id")?.filter(|i| *i != 0);
    let obj = str_field(&cond, "bk_obj_id")?;
    let (Some(inst), false) = (inst, obj.is_empty()) else {
        return Err(DomainError::NeedSet("'bk_inst_id' & 'bk_obj_id'".into()).into());
    };
    let fields = match body.get("fields") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or(DomainError::ParamsInvalid("fields".into()))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(DomainError::NeedSet("fields".into()).into()),
    };
    let page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    if page.limit > SEARCH_LIMIT {
        return Err(DomainError::PageLimitExceeded.into());
    }
    let found = read(&s.store, move |tx| {
        ops::related(tx, &obj, inst, &fields, &page)
    })
    .await?;
    Ok(Value::Array(found))
}

/// `search_inst_asst_object_inst_base_info`: `{"count","info":[{bk_inst_id,bk_inst_name}]}`.
pub async fn search_inst_asst_object_inst_base_info(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let cond = object_field(&body, "condition")?;
    let obj = str_field(&cond, "bk_obj_id")?;
    let asst_obj = str_field(&cond, "association_obj_id")?;
    let inst = opt_int(&cond, "bk_inst_id")?.unwrap_or(0);
    for (name, missing) in [
        ("bk_obj_id", obj.is_empty()),
        ("bk_inst_id", inst == 0),
        ("association_obj_id", asst_obj.is_empty()),
    ] {
        if missing {
            return Err(DomainError::NeedSet(format!("condition.{name}")).into());
        }
    }
    let is_target = match cond.get("is_target_object") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(DomainError::ParamsInvalid("is_target_object".into()).into()),
    };
    let page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    if page.limit > DETAIL_LIMIT {
        return Err(DomainError::PageLimitExceeded.into());
    }
    let limit = if page.limit == 0 { 20 } else { page.limit };
    read(&s.store, move |tx| {
        ops::base_info(tx, &obj, inst, &asst_obj, is_target, page.start, limit)
    })
    .await
}

/// `search_inst_association_topo`: the instance's targets grouped by model.
pub async fn search_inst_association_topo(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let obj = req
        .path_str("bk_obj_id")
        .map_err(|_| ApiError::from(DomainError::IsInvalid("bk_obj_id".into())))?;
    let inst = req.path_i64("bk_inst_id", DomainError::IsInvalid, "bk_inst_id")?;
    let groups = read(&s.store, move |tx| ops::topo(tx, &obj, inst)).await?;
    Ok(Value::Array(groups))
}
