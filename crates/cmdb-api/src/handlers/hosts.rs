//! 40-hosts.md: hosts, their relations to modules, transfers and cloud areas. Each handler
//! decodes the body, runs one store operation and shapes `data`.

use cmdb_domain::DomainError;
use cmdb_store::ops::hosts::{self, CloneHosts};
use cmdb_store::ops::{cloud_areas, host_queries, host_transfer};
use serde_json::{json, Map, Value};

use super::{read, write};
use crate::error::ApiError;
use crate::request::ApiRequest;
use crate::AppState;

fn body(req: &ApiRequest) -> Result<Map<String, Value>, ApiError> {
    req.filter()
}

/// An integer body field: absent/null → `None`; not an integer → 1199009 naming it.
fn opt_int(body: &Map<String, Value>, key: &str) -> Result<Option<i64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| DomainError::NeedInt(key.into()).into()),
    }
}

/// A required integer body field (absent → 1199010).
fn req_int(body: &Map<String, Value>, key: &str) -> Result<i64, ApiError> {
    opt_int(body, key)?.ok_or_else(|| DomainError::NeedSet(key.into()).into())
}

/// The business of a request: the v3 path parameter, else the body field; 1199009 when not an
/// integer, 1199010 when absent.
fn biz_of(req: &ApiRequest, body: &Map<String, Value>) -> Result<i64, ApiError> {
    if let Some(raw) = req.path.get("bk_biz_id") {
        return raw
            .trim()
            .parse()
            .map_err(|_| DomainError::NeedInt("bk_biz_id".into()).into());
    }
    req_int(body, "bk_biz_id")
}

/// A list of integer ids (`bk_host_id` of the transfers); a non-array or non-integer element
/// is 1199000 (Go's decoder fails).
fn id_array(body: &Map<String, Value>, key: &str) -> Result<Vec<i64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_i64()
                    .ok_or(ApiError::Domain(DomainError::JsonUnmarshal))
            })
            .collect(),
        Some(_) => Err(DomainError::JsonUnmarshal.into()),
    }
}

/// `bk_host_id` of delete_host / update_host: a comma-separated string of ids (`"1,2,3"`), or a
/// number; another type → `wrong_type`, a piece that is not an integer → 1199006.
fn host_id_list(
    body: &Map<String, Value>,
    wrong_type: fn(String) -> DomainError,
) -> Result<Vec<i64>, ApiError> {
    match body.get("bk_host_id") {
        None | Some(Value::Null) => Err(DomainError::NeedSet("bk_host_id".into()).into()),
        Some(Value::String(s)) => s
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<i64>()
                    .map_err(|_| DomainError::ParamsInvalid("bk_host_id".into()).into())
            })
            .collect(),
        Some(v @ Value::Number(_)) => v
            .as_i64()
            .map(|id| vec![id])
            .ok_or_else(|| DomainError::ParamsInvalid("bk_host_id".into()).into()),
        Some(_) => Err(wrong_type("bk_host_id".into()).into()),
    }
}

// ---------------------------------------------------------------------------------------------
// add

/// `add_host_to_resource`: `{"success": [row keys]}`; any failed row → 1110004 with the row
/// report in `data` (nothing written).
pub async fn add_host_to_resource(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = opt_int(&body, "bk_biz_id")?.unwrap_or(0);
    let host_info = match body.get("host_info") {
        None | Some(Value::Null) => return Err(DomainError::NeedSet("host_info".into()).into()),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let ctx = req.ctx;
    let report = write(&s.store, move |tx| {
        hosts::add_to_resource(tx, &ctx, biz_id, &host_info)
    })
    .await?;
    if report.failed() {
        let mut data = json!({"success": report.success, "error": report.error});
        if !report.update_error.is_empty() {
            data["update_error"] = json!(report.update_error);
        }
        return Err(ApiError::WithData(DomainError::HostCreateFailed, data));
    }
    Ok(json!({"success": report.success}))
}

/// `add_host_to_resource_pool`: `{"success": [{index, bk_host_id}], "error": [{index,
/// error_message}]}` (empty lists omitted); with any error the answer is 1110004 and still
/// carries the lists (the successful hosts stay created).
pub async fn add_host_to_resource_pool(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let hosts_info = match body.get("host_info") {
        None | Some(Value::Null) => return Err(DomainError::NeedSet("host_info".into()).into()),
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(DomainError::NeedSet("host_info".into()).into())
        }
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let directory = opt_int(&body, "directory")?.unwrap_or(0);
    let ctx = req.ctx;
    let report = write(&s.store, move |tx| {
        hosts::add_to_resource_pool(tx, &ctx, &hosts_info, directory)
    })
    .await?;
    let mut data = Map::new();
    if !report.success.is_empty() {
        data.insert(
            "success".into(),
            Value::Array(
                report
                    .success
                    .iter()
                    .map(|(i, id)| json!({"index": i, "bk_host_id": id}))
                    .collect(),
            ),
        );
    }
    if !report.error.is_empty() {
        data.insert(
            "error".into(),
            Value::Array(
                report
                    .error
                    .iter()
                    .map(|(i, msg)| json!({"index": i, "error_message": msg}))
                    .collect(),
            ),
        );
        return Err(ApiError::WithData(
            DomainError::HostCreateFailed,
            Value::Object(data),
        ));
    }
    Ok(Value::Object(data))
}

/// `add_host_to_business_idle`: `{"bk_host_ids": [...]}`.
pub async fn add_host_to_business_idle(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = opt_int(&body, "bk_biz_id")?.unwrap_or(0);
    let list = match body.get("bk_host_list") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let ctx = req.ctx;
    let ids = write(&s.store, move |tx| {
        hosts::add_to_business_idle(tx, &ctx, biz_id, &list)
    })
    .await?;
    Ok(json!({"bk_host_ids": ids}))
}

// ---------------------------------------------------------------------------------------------
// update / delete / clone / base info

/// `delete_host`: `data: null`.
pub async fn delete_host(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let ids = host_id_list(&body, DomainError::ParamsInvalid)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| hosts::delete_hosts(tx, &ctx, &ids)).await?;
    Ok(Value::Null)
}

/// `update_host`: attributes top-level or (legacy ESB) inside `data`; `data: null`.
pub async fn update_host(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let ids = host_id_list(&body, DomainError::IsInvalid)?;
    let mut payload = match body.get("data") {
        Some(Value::Object(inner)) => inner.clone(),
        _ => body.clone(),
    };
    for key in ["bk_host_id", "bk_cloud_id", "metadata"] {
        payload.remove(key);
    }
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        hosts::update_hosts(tx, &ctx, &ids, &payload)
    })
    .await?;
    Ok(Value::Null)
}

/// `batch_update_host`: `update: [{bk_host_id, properties}]`; `data: null`.
pub async fn batch_update_host(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let items = match body.get("update") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let obj = item.as_object().ok_or(DomainError::JsonUnmarshal)?;
                let id = obj
                    .get("bk_host_id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| DomainError::NeedSet("bk_host_id".into()))?;
                let props = match obj.get("properties") {
                    Some(Value::Object(p)) => p.clone(),
                    None | Some(Value::Null) => Map::new(),
                    Some(_) => return Err(DomainError::JsonUnmarshal),
                };
                Ok((id, props))
            })
            .collect::<Result<Vec<_>, DomainError>>()?,
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let ctx = req.ctx;
    write(&s.store, move |tx| hosts::batch_update(tx, &ctx, &items)).await?;
    Ok(Value::Null)
}

/// `clone_host_property`: `bk_biz_id`, `bk_cloud_id` and either `bk_org_ip` + `bk_dst_ip` or
/// `bk_org_id` + `bk_dst_id` (neither, a half pair, ids ≤ 0 or both forms → 1199011);
/// `data: null`.
pub async fn clone_host_property(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = req_int(&body, "bk_biz_id")?;
    let cloud = req_int(&body, "bk_cloud_id")?;
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (org_ip, dst_ip) = (text("bk_org_ip"), text("bk_dst_ip"));
    let (org_id, dst_id) = (opt_int(&body, "bk_org_id")?, opt_int(&body, "bk_dst_id")?);
    let invalid = |f: &str| ApiError::Domain(DomainError::IsInvalid(f.into()));
    let which = match (org_ip, dst_ip, org_id, dst_id) {
        (Some(a), Some(b), None, None) => CloneHosts::Ips(a, b),
        (None, None, Some(a), Some(b)) if a > 0 && b > 0 => CloneHosts::Ids(a, b),
        (Some(_), None, _, _) | (None, Some(_), _, _) => return Err(invalid("bk_dst_ip")),
        _ => return Err(invalid("bk_org_id")),
    };
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        hosts::clone_property(tx, &ctx, biz_id, cloud, &which)
    })
    .await?;
    Ok(Value::Null)
}

/// `get_host_base_info`: the host's attributes as `[{bk_property_id, bk_property_name,
/// bk_property_value}]`; a non-integer id → 1199009.
pub async fn get_host_base_info(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let id = match req.path.get("bk_host_id") {
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::Domain(DomainError::NeedInt("bk_host_id".into())))?,
        None => req_int(&body(&req)?, "bk_host_id")?,
    };
    let info = read(&s.store, move |tx| hosts::base_info(tx, id)).await?;
    Ok(Value::Array(info))
}

// ---------------------------------------------------------------------------------------------
// queries

/// `list_biz_hosts`: `{count, info}`.
pub async fn list_biz_hosts(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = biz_of(&req, &body)?;
    read(&s.store, move |tx| {
        host_queries::list_biz_hosts(tx, biz_id, &body)
    })
    .await
}

/// `list_biz_hosts_topo`: `{count, info: [{host, topo}]}`.
pub async fn list_biz_hosts_topo(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = biz_of(&req, &body)?;
    read(&s.store, move |tx| {
        host_queries::list_biz_hosts_topo(tx, biz_id, &body)
    })
    .await
}

/// `list_hosts_without_biz`: `{count, info}`.
pub async fn list_hosts_without_biz(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    read(&s.store, move |tx| {
        host_queries::list_hosts_without_biz(tx, &body)
    })
    .await
}

/// `list_resource_pool_hosts`: `{count, info}`.
pub async fn list_resource_pool_hosts(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    read(&s.store, move |tx| {
        host_queries::list_resource_pool_hosts(tx, &body)
    })
    .await
}

/// `find_host_topo_relation`: `{count, page, data}`.
pub async fn find_host_topo_relation(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = biz_of(&req, &body)?;
    let supplier = req.ctx.supplier.clone();
    read(&s.store, move |tx| {
        host_queries::find_host_topo_relation(tx, &supplier, biz_id, &body)
    })
    .await
}

/// `find_host_biz_relations`: an array of relation rows.
pub async fn find_host_biz_relations(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let supplier = req.ctx.supplier.clone();
    read(&s.store, move |tx| {
        host_queries::find_host_biz_relations(tx, &supplier, &body)
    })
    .await
}

/// `find_host_by_topo`: `{count, info}`.
pub async fn find_host_by_topo(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = biz_of(&req, &body)?;
    read(&s.store, move |tx| {
        host_queries::find_host_by_topo(tx, biz_id, &body)
    })
    .await
}

/// `find_module_host_relation`: `{count, relation: [{host, modules}]}`.
pub async fn find_module_host_relation(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = biz_of(&req, &body)?;
    read(&s.store, move |tx| {
        host_queries::find_module_host_relation(tx, biz_id, &body)
    })
    .await
}

/// `find_host_relations_with_topo`: `{count, info}`.
pub async fn find_host_relations_with_topo(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = biz_of(&req, &body)?;
    let supplier = req.ctx.supplier.clone();
    read(&s.store, move |tx| {
        host_queries::find_host_relations_with_topo(tx, &supplier, biz_id, &body)
    })
    .await
}

/// `list_host_total_mainline_topo`: `{count, info: [{host, topo}]}`.
pub async fn list_host_total_mainline_topo(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = biz_of(&req, &body)?;
    read(&s.store, move |tx| {
        host_queries::list_host_total_mainline_topo(tx, biz_id, &body)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// transfers

/// `transfer_host_module`: `data: null`.
pub async fn transfer_host_module(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = req_int(&body, "bk_biz_id")?;
    let hosts = id_array(&body, "bk_host_id")?;
    let modules = id_array(&body, "bk_module_id")?;
    let increment = match body.get("is_increment") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        host_transfer::transfer_host_module(tx, &ctx, biz_id, &hosts, &modules, increment)
    })
    .await?;
    Ok(Value::Null)
}

async fn to_internal(s: AppState, req: ApiRequest, dflt: i64) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = req_int(&body, "bk_biz_id")?;
    let hosts = id_array(&body, "bk_host_id")?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        host_transfer::transfer_to_internal(tx, &ctx, biz_id, &hosts, dflt)
    })
    .await?;
    Ok(Value::Null)
}

/// `transfer_host_to_idlemodule`: `data: null`.
pub async fn transfer_host_to_idlemodule(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    to_internal(s, req, hosts::IDLE).await
}

/// `transfer_host_to_faultmodule`: `data: null`.
pub async fn transfer_host_to_faultmodule(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    to_internal(s, req, hosts::FAULT).await
}

/// `transfer_host_to_recyclemodule`: `data: null` (`bk_set_id` / `bk_module_id` ignored).
pub async fn transfer_host_to_recyclemodule(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    to_internal(s, req, hosts::RECYCLE).await
}

/// `transfer_host_to_resourcemodule`: `data: null`.
pub async fn transfer_host_to_resourcemodule(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = req_int(&body, "bk_biz_id")?;
    let hosts = id_array(&body, "bk_host_id")?;
    let module = opt_int(&body, "bk_module_id")?.unwrap_or(0);
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        host_transfer::transfer_to_resource_pool(tx, &ctx, biz_id, &hosts, module)
    })
    .await?;
    Ok(Value::Null)
}

/// `transfer_resourcehost_to_idlemodule`: `data: null`.
pub async fn transfer_resourcehost_to_idlemodule(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = req_int(&body, "bk_biz_id")?;
    let hosts = id_array(&body, "bk_host_id")?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        host_transfer::assign_from_pool(tx, &ctx, biz_id, &hosts)
    })
    .await?;
    Ok(Value::Null)
}

/// `transfer_sethost_to_idle_module`: `data: null`.
pub async fn transfer_sethost_to_idle_module(
    s: AppState,
    req: ApiRequest,
) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let biz_id = opt_int(&body, "bk_biz_id")?.unwrap_or(0);
    let set_id = opt_int(&body, "bk_set_id")?.unwrap_or(0);
    let module_id = opt_int(&body, "bk_module_id")?.unwrap_or(0);
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        host_transfer::set_hosts_to_idle(tx, &ctx, biz_id, set_id, module_id)
    })
    .await?;
    Ok(Value::Null)
}

/// `transfer_host_across_biz`: `data: null`.
pub async fn transfer_host_across_biz(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    let src = req_int(&body, "src_bk_biz_id")?;
    let dst = req_int(&body, "dst_bk_biz_id")?;
    let hosts = id_array(&body, "bk_host_id")?;
    let module = req_int(&body, "bk_module_id")?;
    let ctx = req.ctx;
    write(&s.store, move |tx| {
        host_transfer::across_biz(tx, &ctx, src, dst, &hosts, module)
    })
    .await?;
    Ok(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// cloud areas

fn cloud_param(req: &ApiRequest, body: &Map<String, Value>) -> Result<i64, ApiError> {
    match req.path.get("bk_cloud_id") {
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .map_err(|_| DomainError::ParamsInvalid("bk_cloud_id".into()).into()),
        None => match body.get("bk_cloud_id") {
            Some(v) => v
                .as_i64()
                .ok_or_else(|| DomainError::ParamsInvalid("bk_cloud_id".into()).into()),
            None => Err(DomainError::NeedSet("bk_cloud_id".into()).into()),
        },
    }
}

/// `search_cloud_area`: `{count, info}`.
pub async fn search_cloud_area(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = body(&req)?;
    read(&s.store, move |tx| cloud_areas::search(tx, &body)).await
}

/// `create_cloud_area`: `{"created": {"origin_index": 0, "id": n}}`.
pub async fn create_cloud_area(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let body = req.data()?;
    let ctx = req.ctx;
    let id = write(&s.store, move |tx| cloud_areas::create(tx, &ctx, &body)).await?;
    Ok(json!({"created": {"origin_index": 0, "id": id}}))
}

/// `update_cloud_area`: `data: null`.
pub async fn update_cloud_area(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let full = body(&req)?;
    let id = cloud_param(&req, &full)?;
    let body = req.data()?;
    let ctx = req.ctx;
    write(&s.store, move |tx| cloud_areas::update(tx, &ctx, id, &body)).await?;
    Ok(Value::Null)
}

/// `delete_cloud_area`: `data: null`.
pub async fn delete_cloud_area(s: AppState, req: ApiRequest) -> Result<Value, ApiError> {
    let full = body(&req)?;
    let id = cloud_param(&req, &full)?;
    let ctx = req.ctx;
    write(&s.store, move |tx| cloud_areas::delete(tx, &ctx, id)).await?;
    Ok(Value::Null)
}
