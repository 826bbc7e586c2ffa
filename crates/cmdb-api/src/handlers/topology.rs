//! 30-topology.md: the mainline topology. So far the business endpoints (§5.1–§5.5), sets and
//! modules (§5.6–§5.16), the internal modules of a business (§5.18) and the topology reads
//! (§5.17, §5.19–§5.22).

use cmdb_domain::DomainError;
use cmdb_store::ops::business;
use cmdb_store::ops::sets_modules::{self, Level};
use cmdb_store::ops::topo_tree;
use cmdb_store::ops::topology::{self, TopoOptions};
use cmdb_store::StoreError;
use serde_json::{Map, Value};

use super::instances::found_json;
use super::{read, to_data, write};
use crate::envelope::{Data, RawJson};
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

fn set_param(req: &ApiRequest) -> Result<i64, ApiError> {
    req.path_i64("bk_set_id", DomainError::NeedInt, "bk_set_id")
}

fn module_param(req: &ApiRequest) -> Result<i64, ApiError> {
    req.path_i64("bk_module_id", DomainError::NeedInt, "bk_module_id")
}

/// `create_set`: the stored set.
pub async fn create_set(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let body = payload(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        sets_modules::create_set(tx, &ctx, biz_id, &body)
    })
    .await
}

/// `search_set`: `{count, info}`.
pub async fn search_set(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let body = req.filter()?;
    let found = read(&s.store, move |tx| {
        sets_modules::search_set(tx, biz_id, &body)
    })
    .await?;
    Ok(found_json(found))
}

/// `update_set`: `data: null`.
pub async fn update_set(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let set_id = set_param(&req)?;
    let body = payload(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        sets_modules::update_set(tx, &ctx, biz_id, set_id, &body)
    })
    .await?;
    Ok(Value::Null)
}

/// `delete_set`: `data: null`.
pub async fn delete_set(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let set_id = set_param(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        sets_modules::delete_sets(tx, &ctx, biz_id, &[set_id])
    })
    .await?;
    Ok(Value::Null)
}

/// `batch_delete_set`: `delete.inst_ids` (a non-empty list of ids, else 1199010 -- a
/// documented deviation: upstream would match every set of the business); `data: null`.
pub async fn batch_delete_set(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let ids: Vec<i64> = match req.object()?.get("delete") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(delete)) => match delete.get("inst_ids") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_i64()
                        .ok_or(ApiError::Domain(DomainError::JsonUnmarshal))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(DomainError::JsonUnmarshal.into()),
        },
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    if ids.is_empty() {
        return Err(DomainError::NeedSet("inst_ids".into()).into());
    }
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        sets_modules::delete_sets(tx, &ctx, biz_id, &ids)
    })
    .await?;
    Ok(Value::Null)
}

/// `find_set_batch`: an array of sets.
pub async fn find_set_batch(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    find_batch(s, req, Level::Set).await
}

/// `find_module_batch`: an array of modules.
pub async fn find_module_batch(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    find_batch(s, req, Level::Module).await
}

async fn find_batch(s: AppState, req: ApiRequest, level: Level) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let body = req.filter()?;
    let found = read(&s.store, move |tx| {
        sets_modules::find_batch(tx, level, biz_id, &body)
    })
    .await?;
    Ok(Value::Array(found))
}

/// `create_module`: the stored module.
pub async fn create_module(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let set_id = set_param(&req)?;
    let body = payload(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        sets_modules::create_module(tx, &ctx, biz_id, set_id, &body)
    })
    .await
}

/// `search_module`: `{count, info}`. The set comes from the path; when that is absent or 0, a
/// `bk_set_id` of the body (then part of the filter body) is honoured.
pub async fn search_module(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let body = req.filter()?;
    let mut set_id = match req.path.get("bk_set_id") {
        None => 0,
        Some(_) => set_param(&req)?,
    };
    if set_id == 0 {
        set_id = match body.get("bk_set_id") {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_i64()
                .ok_or(ApiError::Domain(DomainError::NeedInt("bk_set_id".into())))?,
        };
    }
    let found = read(&s.store, move |tx| {
        sets_modules::search_module(tx, biz_id, set_id, &body)
    })
    .await?;
    Ok(found_json(found))
}

/// `update_module`: `data: null`.
pub async fn update_module(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let set_id = set_param(&req)?;
    let module_id = module_param(&req)?;
    let body = payload(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        sets_modules::update_module(tx, &ctx, biz_id, set_id, module_id, &body)
    })
    .await?;
    Ok(Value::Null)
}

/// `delete_module`: `data: null`.
pub async fn delete_module(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let set_id = set_param(&req)?;
    let module_id = module_param(&req)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        sets_modules::delete_module(tx, &ctx, biz_id, set_id, module_id)
    })
    .await?;
    Ok(Value::Null)
}

/// `search_biz_inst_topo`: the business's instance tree as a one-element array. `level` is
/// accepted and ignored (the full depth is always returned); the v3 query-string flags
/// `with_default` (any non-empty value) and `need_sort=true` are honoured.
pub async fn search_biz_inst_topo(s: AppState, req: ApiRequest) -> Result<Data, ApiError> {
    let biz_id = biz_param(&req)?;
    let opts = TopoOptions {
        with_default: req.query_flag("with_default"),
        need_sort: req.query.get("need_sort").map(String::as_str) == Some("true"),
    };
    // 100k+ nodes: written as JSON text by the store, on the read's blocking thread, into the
    // buffer that becomes the response body.
    let raw = read(&s.store, move |tx| {
        let mut raw = RawJson::new();
        topo_tree::write_biz_inst_topo(tx, biz_id, opts, raw.json_mut())?;
        Ok(raw)
    })
    .await?;
    Ok(Data::Raw(raw))
}

/// `get_mainline_object_topo`: the mainline chain, one object per level.
pub async fn get_mainline_object_topo(s: AppState, _req: ApiRequest) -> Result<Value, ApiError> {
    let chain = read(&s.store, topology::mainline_objects).await?;
    to_data(&chain)
}

/// `find_topo_node_paths`: each resolvable node of `bk_nodes` with its ancestor path,
/// serialised straight into the envelope (up to 1000 nodes × a path each: no `Value` tree).
pub async fn find_topo_node_paths(s: AppState, req: ApiRequest) -> Result<Data, ApiError> {
    let biz_id = biz_param(&req)?;
    let body = req.filter()?;
    let paths = read(&s.store, move |tx| topology::node_paths(tx, biz_id, &body)).await?;
    let hint = paths
        .iter()
        .map(|p| 96 + 96 * p.bk_paths.iter().map(Vec::len).sum::<usize>());
    Data::raw(&paths, hint.sum()).map_err(|e| ApiError::Store(StoreError::Backend(e.to_string())))
}

/// `find_module_with_relation`: `{count, info}` of the business's modules.
pub async fn find_module_with_relation(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let biz_id = biz_param(&req)?;
    let body = req.filter()?;
    let found = read(&s.store, move |tx| {
        topology::modules_with_relation(tx, biz_id, &body)
    })
    .await?;
    Ok(found_json(found))
}

/// `find_brief_biz_topo_node_relation`: an array of `{bk_biz_id, src_id, dest_id}`.
pub async fn find_brief_biz_topo_node_relation(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    let body = req.filter()?;
    let relations = read(&s.store, move |tx| topology::brief_node_relation(tx, &body)).await?;
    to_data(&relations)
}
