//! The audit record and change event every write appends in its own transaction
//! (60-audit-events.md), and the reads of the audit log (list_operation_audit,
//! find_audit_by_id).

use cmdb_domain::filter::page::Page;
use cmdb_domain::DomainError;
use serde_json::{json, Map, Value};

use super::OpContext;
use crate::{Dialect, SqlValue, StoreError, Tx};

/// One audited change.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// `model`, `model_instance`, `business` ...
    pub audit_type: &'static str,
    /// `model_classification`, `model`, `model_attribute`, `model_instance` ...
    pub resource_type: &'static str,
    /// `create`, `update`, `delete`, `stop`, `resume` ...
    pub action: &'static str,
    /// Business the change belongs to (0 = none).
    pub biz_id: i64,
    /// Id of the changed object (JSON number or string).
    pub resource_id: Value,
    /// Display name after the change.
    pub resource_name: String,
    /// Model the record concerns (`bk_obj_id` in the detail), if any.
    pub obj_id: Option<String>,
    /// State before (update, delete).
    pub pre_data: Option<Value>,
    /// State after (create).
    pub cur_data: Option<Value>,
    /// Submitted changes (update).
    pub update_fields: Option<Value>,
}

/// The kind of change event, named as resource_watch names them.
#[derive(Debug, Clone, Copy)]
pub enum EventType {
    /// New object.
    Create,
    /// Changed object.
    Update,
    /// Removed object.
    Delete,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Create => "create",
            EventType::Update => "update",
            EventType::Delete => "delete",
        }
    }
}

impl AuditEntry {
    /// The data-bearing `operation_detail` of §1:
    /// `{"details": {"pre_data", "cur_data", "update_fields"}, "bk_obj_id"}`.
    pub fn detail(&self) -> Value {
        let mut detail = json!({
            "details": {
                "pre_data": self.pre_data,
                "cur_data": self.cur_data,
                "update_fields": self.update_fields,
            }
        });
        if let (Some(obj), Some(map)) = (&self.obj_id, detail.as_object_mut()) {
            map.insert("bk_obj_id".into(), Value::String(obj.clone()));
        }
        detail
    }
}

/// Appends the audit record of a data-bearing change.
pub fn record(tx: &mut dyn Tx, ctx: &OpContext, entry: AuditEntry) -> Result<(), StoreError> {
    let detail = entry.detail();
    record_detail(tx, ctx, entry, detail)
}

/// Appends the record of `entry` with `operation_detail` as given instead of
/// [`AuditEntry::detail`]: for records whose detail has another documented shape (instance
/// associations name both ends; attribute records add their model's name).
pub fn record_detail(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    entry: AuditEntry,
    operation_detail: Value,
) -> Result<(), StoreError> {
    let resource_id = match entry.resource_id {
        Value::String(s) => s,
        other => other.to_string(),
    };
    tx.execute_deferred(
        "INSERT INTO audit_log (audit_type, resource_type, action, operate_from, user_name, \
         supplier, biz_id, resource_id, resource_name, operation_time, app_code, detail) \
         VALUES (?, ?, ?, 'user', ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            SqlValue::from(entry.audit_type),
            SqlValue::from(entry.resource_type),
            SqlValue::from(entry.action),
            SqlValue::from(ctx.user.as_str()),
            SqlValue::from(ctx.supplier.as_str()),
            SqlValue::Int(entry.biz_id),
            SqlValue::Text(resource_id),
            SqlValue::Text(entry.resource_name),
            SqlValue::Int(ctx.now),
            SqlValue::from(ctx.app_code.as_str()),
            SqlValue::Json(operation_detail),
        ],
        None,
    )
}

/// Hands this transaction's change events to the sequencer (PostgreSQL): one statement at
/// commit puts them in the outbox, in the order they were appended, unnumbered and without a
/// lock; the sequencer numbers them once they are committed ([`super::events::sequence`],
/// migration 0008). `?` is the JSON array of the events, each
/// `[resource, event_type, obj_id, inst_id, created_at, detail]`. At commit rather than at once
/// so that a transaction's events are one statement, and so the outbox order follows the order
/// in which conflicting writers got their row locks (a writer that waited for another's row
/// reaches its commit after that one committed).
const OUTBOX_EVENTS: &str = "INSERT INTO event_outbox \
     (resource, event_type, obj_id, inst_id, created_at, detail) \
     SELECT ev.e->>0, ev.e->>1, ev.e->>2, (ev.e->>3)::bigint, (ev.e->>4)::bigint, ev.e->5 \
     FROM jsonb_array_elements(?::jsonb) WITH ORDINALITY AS ev(e, ord) ORDER BY ev.ord";

/// Appends a change event for resource_watch (`resource` is the watch kind, e.g.
/// `object_instance`; `doc` the object after the change, or before it for deletes). Its place
/// in the event chain is drawn from the event clock: at once on SQLite (one writer at a time,
/// so drawing order is commit order), by the sequencer after commit on PostgreSQL
/// ([`OUTBOX_EVENTS`]).
pub fn event(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    resource: &str,
    event_type: EventType,
    obj_id: &str,
    inst_id: i64,
    doc: &Value,
) -> Result<(), StoreError> {
    match tx.dialect() {
        Dialect::Sqlite => {
            let params = [
                SqlValue::from(resource),
                SqlValue::from(event_type.as_str()),
                SqlValue::from(obj_id),
                SqlValue::Int(inst_id),
                SqlValue::Int(ctx.now),
                SqlValue::Json(doc.clone()),
            ];
            tx.execute_deferred(
                "UPDATE event_clock SET seq = seq + 1 WHERE id = 1",
                &[],
                None,
            )?;
            tx.execute_deferred(
                "INSERT INTO change_event (seq, resource, event_type, obj_id, inst_id, \
                 created_at, detail) VALUES ((SELECT seq FROM event_clock WHERE id = 1), \
                 ?, ?, ?, ?, ?, ?)",
                &params,
                None,
            )
        }
        Dialect::Postgres => tx.at_commit_append(
            OUTBOX_EVENTS,
            json!([resource, event_type.as_str(), obj_id, inst_id, ctx.now, doc]),
        ),
    }
}

/// An object that is being removed, as its delete audit record and change event describe it.
#[derive(Debug, Clone, Copy)]
pub struct Removed<'a> {
    /// Audit type (`model_instance`, `business`, `business_resource`, `host` ...).
    pub audit_type: &'static str,
    /// Audit resource type (`model_instance`, `set`, `host` ...).
    pub resource_type: &'static str,
    /// resource_watch kind of the event (`object_instance`, `set`, `host` ...).
    pub watch: &'static str,
    /// Business the object belonged to (0 = none).
    pub biz_id: i64,
    /// Its model.
    pub obj_id: &'a str,
    /// Its id.
    pub inst_id: i64,
    /// Its display name.
    pub name: &'a str,
    /// Its last document: the audit record's `pre_data` and the event's detail.
    pub doc: &'a Value,
}

/// Appends the `delete` audit record and the `delete` change event of a removed object. Why one
/// helper: instances, topology nodes and hosts are removed by different operations, and their
/// delete records must not drift apart (same `pre_data`, same event detail).
pub fn removed(tx: &mut dyn Tx, ctx: &OpContext, r: Removed<'_>) -> Result<(), StoreError> {
    record(
        tx,
        ctx,
        AuditEntry {
            audit_type: r.audit_type,
            resource_type: r.resource_type,
            action: "delete",
            biz_id: r.biz_id,
            resource_id: Value::from(r.inst_id),
            resource_name: r.name.to_string(),
            obj_id: Some(r.obj_id.to_string()),
            pre_data: Some(r.doc.clone()),
            cur_data: None,
            update_fields: None,
        },
    )?;
    event(
        tx,
        ctx,
        r.watch,
        EventType::Delete,
        r.obj_id,
        r.inst_id,
        r.doc,
    )
}

// ---------------------------------------------------------------------------------------------
// Reading audit records (list_operation_audit, find_audit_by_id)

/// Largest page of list_operation_audit and largest id list of find_audit_by_id.
pub const AUDIT_PAGE_MAX: u64 = 200;

/// The audit types each `condition.category` of list_operation_audit groups (upstream's
/// `GetAuditTypesByCategory`; what the web UI's audit tabs show): business-scoped resources,
/// resource-level objects, hosts, and model metadata.
fn category_types(category: &str) -> Option<&'static [&'static str]> {
    match category {
        "business" => Some(&["business_resource"]),
        "resource" => Some(&["business", "model_instance", "cloud_resource"]),
        "host" => Some(&["host"]),
        "other" => Some(&["model", "association_kind"]),
        _ => None,
    }
}

fn text_field(cond: &Map<String, Value>, key: &str) -> Result<Option<String>, DomainError> {
    match cond.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DomainError::ParamsInvalid(key.into())),
    }
}

fn time_bound(v: Option<&Value>, key: &str) -> Result<Option<i64>, DomainError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => cmdb_domain::time::parse_query_time(s)
            .map(|t| Some(t.timestamp_millis()))
            .ok_or_else(|| DomainError::ParamsInvalid(format!("operation_time.{key}"))),
        Some(_) => Err(DomainError::ParamsInvalid(format!("operation_time.{key}"))),
    }
}

/// Compiles `condition` of list_operation_audit into a WHERE clause (§1).
fn audit_where(
    cond: &Map<String, Value>,
    dialect: Dialect,
    sql: &mut String,
    params: &mut Vec<SqlValue>,
) -> Result<(), DomainError> {
    // Substring test and the model of a record, per dialect.
    let (contains, obj_of_detail) = match dialect {
        Dialect::Sqlite => ("instr", "json_extract(detail, '$.bk_obj_id')"),
        Dialect::Postgres => ("strpos", "(detail ->> 'bk_obj_id')"),
    };
    let time = cond.get("operation_time").and_then(Value::as_object);
    let start = time_bound(time.and_then(|t| t.get("start")), "start")?;
    let end = time_bound(time.and_then(|t| t.get("end")), "end")?;
    if start.is_none() && end.is_none() {
        return Err(DomainError::NeedSet("operation_time".into()));
    }
    sql.push_str(" WHERE 1 = 1");
    if let Some(start) = start {
        sql.push_str(" AND operation_time >= ?");
        params.push(SqlValue::Int(start));
    }
    if let Some(end) = end {
        // `end` names a second: everything up to its last millisecond is in.
        sql.push_str(" AND operation_time < ?");
        params.push(SqlValue::Int(end + 1000));
    }
    match cond.get("bk_biz_id") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let biz = super::util::loose_i64(v)
                .ok_or_else(|| DomainError::NeedInt("bk_biz_id".into()))?;
            if biz != 0 {
                sql.push_str(" AND biz_id = ?");
                params.push(SqlValue::Int(biz));
            }
        }
    }
    for (key, column) in [
        ("resource_type", "resource_type"),
        ("audit_type", "audit_type"),
        ("bk_obj_id", "obj_id"),
    ] {
        if let Some(v) = text_field(cond, key)? {
            if column == "obj_id" {
                sql.push_str(&format!(" AND {obj_of_detail} = ?"));
            } else {
                sql.push_str(&format!(" AND {column} = ?"));
            }
            params.push(SqlValue::Text(v));
        }
    }
    match cond.get("resource_id") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            sql.push_str(" AND resource_id = ?");
            params.push(SqlValue::Text(s.clone()));
        }
        Some(v @ Value::Number(_)) => {
            sql.push_str(" AND resource_id = ?");
            params.push(SqlValue::Text(v.to_string()));
        }
        Some(_) => return Err(DomainError::ParamsInvalid("resource_id".into())),
    }
    match cond.get("action") {
        None | Some(Value::Null) => {}
        Some(Value::Array(actions)) if actions.is_empty() => {}
        Some(Value::Array(actions)) => {
            sql.push_str(" AND action IN (");
            for (i, a) in actions.iter().enumerate() {
                let a = a
                    .as_str()
                    .ok_or_else(|| DomainError::ParamsInvalid("action".into()))?;
                sql.push_str(if i == 0 { "?" } else { ", ?" });
                params.push(SqlValue::Text(a.to_string()));
            }
            sql.push(')');
        }
        Some(_) => return Err(DomainError::ParamsInvalid("action".into())),
    }
    if let Some(category) = text_field(cond, "category")? {
        let types = category_types(&category)
            .ok_or_else(|| DomainError::ParamsInvalid("category".into()))?;
        sql.push_str(" AND audit_type IN (");
        for (i, t) in types.iter().enumerate() {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
            params.push(SqlValue::from(*t));
        }
        sql.push(')');
    }
    let user = text_field(cond, "user")?;
    let name = text_field(cond, "resource_name")?;
    let extra = match cond.get("condition") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(DomainError::ParamsInvalid("condition".into())),
    };
    if !extra.is_empty() && (user.is_some() || name.is_some()) {
        return Err(DomainError::ParamsInvalid("condition".into()));
    }
    if let Some(user) = user {
        sql.push_str(" AND user_name = ?");
        params.push(SqlValue::Text(user));
    }
    if let Some(name) = name {
        if cond.get("fuzzy_query").and_then(Value::as_bool) == Some(true) {
            sql.push_str(&format!(" AND {contains}(resource_name, ?) > 0"));
        } else {
            sql.push_str(" AND resource_name = ?");
        }
        params.push(SqlValue::Text(name));
    }
    for item in &extra {
        let bad = || DomainError::ParamsInvalid("condition".into());
        let item = item.as_object().ok_or_else(bad)?;
        let column = match item.get("field").and_then(Value::as_str) {
            Some("user") => "user_name",
            Some("resource_name") => "resource_name",
            _ => return Err(bad()),
        };
        let values: Vec<String> = match item.get("value") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(vs)) => vs
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<Result<_, _>>()?,
            _ => return Err(bad()),
        };
        match item.get("operator").and_then(Value::as_str) {
            Some(op @ ("in" | "not_in")) => {
                if values.is_empty() {
                    if op == "in" {
                        sql.push_str(" AND 1 = 0");
                    }
                    continue;
                }
                let not = if op == "not_in" { "NOT " } else { "" };
                sql.push_str(&format!(" AND {column} {not}IN ("));
                for (i, v) in values.into_iter().enumerate() {
                    sql.push_str(if i == 0 { "?" } else { ", ?" });
                    params.push(SqlValue::Text(v));
                }
                sql.push(')');
            }
            Some("contains") => {
                let [v] = <[String; 1]>::try_from(values).map_err(|_| bad())?;
                sql.push_str(&format!(" AND {contains}({column}, ?) > 0"));
                params.push(SqlValue::Text(v));
            }
            _ => return Err(bad()),
        }
    }
    Ok(())
}

const AUDIT_COLUMNS: &str = "SELECT id, audit_type, resource_type, action, operate_from, \
     user_name, supplier, biz_id, resource_id, resource_name, operation_time, app_code, detail \
     FROM audit_log";

/// One stored record as the API shows it; `with_detail` false leaves `operation_detail` null
/// (list results).
fn audit_record(row: Vec<SqlValue>, with_detail: bool) -> Result<Value, StoreError> {
    let mut cells = row.into_iter();
    let mut next = || cells.next().unwrap_or(SqlValue::Null);
    let text = |v: SqlValue| Value::String(v.as_str().unwrap_or_default().to_string());
    let id = next().as_i64().unwrap_or(0);
    let audit_type = text(next());
    let resource_type = text(next());
    let action = text(next());
    let operate_from = text(next());
    let user = text(next());
    let supplier = text(next());
    let biz_id = next().as_i64().unwrap_or(0);
    let resource_id = match next().as_str() {
        Some(s) => s
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(s.to_string())),
        None => Value::Null,
    };
    let resource_name = text(next());
    let time = next().as_i64().unwrap_or(0);
    let code = text(next());
    let detail = next();
    let mut record = Map::new();
    record.insert("id".into(), Value::from(id));
    record.insert("audit_type".into(), audit_type);
    record.insert("resource_type".into(), resource_type);
    record.insert("action".into(), action);
    record.insert("operate_from".into(), operate_from);
    record.insert("user".into(), user);
    record.insert("bk_supplier_account".into(), supplier);
    if biz_id != 0 {
        record.insert("bk_biz_id".into(), Value::from(biz_id));
    }
    record.insert("resource_id".into(), resource_id);
    record.insert("resource_name".into(), resource_name);
    record.insert(
        "operation_time".into(),
        Value::String(cmdb_domain::time::format_millis_plain(time)),
    );
    record.insert(
        "operation_detail".into(),
        if with_detail {
            detail.to_json()?
        } else {
            Value::Null
        },
    );
    record.insert("code".into(), code);
    Ok(Value::Object(record))
}

/// `list_operation_audit`: `{count, info}` of the records `body` selects, newest first unless
/// `page.sort` says otherwise.
pub fn list(tx: &mut dyn Tx, body: &Map<String, Value>) -> Result<Value, StoreError> {
    let page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    if page.limit == 0 {
        return Err(DomainError::ParamsInvalid("limit".into()).into());
    }
    if page.limit > AUDIT_PAGE_MAX {
        return Err(DomainError::PageLimitExceeded.into());
    }
    let empty = Map::new();
    let cond = match body.get("condition") {
        Some(Value::Object(c)) => c,
        None | Some(Value::Null) => &empty,
        Some(_) => return Err(DomainError::ParamsInvalid("condition".into()).into()),
    };
    let mut filter = String::new();
    let mut params = Vec::new();
    audit_where(cond, tx.dialect(), &mut filter, &mut params)?;
    let count = super::util::scalar_i64(
        &tx.query(&format!("SELECT COUNT(*) FROM audit_log{filter}"), &params)?,
    )
    .unwrap_or(0);
    let order = match page.sort.trim() {
        "operation_time" | "id" => "operation_time, id",
        "-id" | "-operation_time" | "" => "operation_time DESC, id DESC",
        other => {
            return Err(DomainError::ParamsInvalid(format!("page.sort {other}")).into());
        }
    };
    let mut select_params = params;
    select_params.push(SqlValue::Int(page.limit as i64));
    select_params.push(SqlValue::Int(page.start as i64));
    let rows = tx.query(
        &format!("{AUDIT_COLUMNS}{filter} ORDER BY {order} LIMIT CAST(? AS BIGINT) OFFSET CAST(? AS BIGINT)"),
        &select_params,
    )?;
    let info = rows
        .into_iter()
        .map(|r| audit_record(r, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"count": count, "info": info}))
}

/// `find_audit_by_id`: the full records of `id` (a list of up to 200 ids), in id order; none
/// found → 1199011 `id`.
pub fn find_by_ids(tx: &mut dyn Tx, body: &Map<String, Value>) -> Result<Value, StoreError> {
    let ids: Vec<i64> = match body.get("id") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| super::util::loose_i64(v).ok_or_else(|| DomainError::NeedInt("id".into())))
            .collect::<Result<_, _>>()?,
        Some(v @ Value::Number(_)) => {
            vec![super::util::loose_i64(v).ok_or_else(|| DomainError::NeedInt("id".into()))?]
        }
        None | Some(Value::Null) => return Err(DomainError::LostField("id".into()).into()),
        Some(_) => return Err(DomainError::NeedInt("id".into()).into()),
    };
    if ids.is_empty() {
        return Err(DomainError::LostField("id".into()).into());
    }
    if ids.len() as u64 > AUDIT_PAGE_MAX {
        return Err(DomainError::ExceedLimit("id".into(), AUDIT_PAGE_MAX).into());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let params: Vec<SqlValue> = ids.iter().map(|i| SqlValue::Int(*i)).collect();
    let rows = tx.query(
        &format!("{AUDIT_COLUMNS} WHERE id IN ({marks}) ORDER BY id"),
        &params,
    )?;
    if rows.is_empty() {
        return Err(DomainError::IsInvalid("id".into()).into());
    }
    let records = rows
        .into_iter()
        .map(|r| audit_record(r, true))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(records))
}
