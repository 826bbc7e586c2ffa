//! The audit record and change event every write appends in its own transaction
//! (60-audit-events.md). Issue 7 exposes them; here they are only written.

use serde_json::{json, Value};

use super::OpContext;
use crate::{SqlValue, StoreError, Tx};

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

/// Appends the audit record.
pub fn record(tx: &mut dyn Tx, ctx: &OpContext, entry: AuditEntry) -> Result<(), StoreError> {
    let mut detail = json!({
        "details": {
            "pre_data": entry.pre_data,
            "cur_data": entry.cur_data,
            "update_fields": entry.update_fields,
        }
    });
    if let (Some(obj), Some(map)) = (entry.obj_id, detail.as_object_mut()) {
        map.insert("bk_obj_id".into(), Value::String(obj));
    }
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
            SqlValue::Json(detail),
        ],
        None,
    )
}

/// Appends a change event for resource_watch (`resource` is the watch kind, e.g.
/// `object_instance`; `doc` the object after the change, or before it for deletes).
pub fn event(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    resource: &str,
    event_type: EventType,
    obj_id: &str,
    inst_id: i64,
    doc: &Value,
) -> Result<(), StoreError> {
    tx.execute_deferred(
        "INSERT INTO change_event (resource, event_type, obj_id, inst_id, created_at, detail) \
         VALUES (?, ?, ?, ?, ?, ?)",
        &[
            SqlValue::from(resource),
            SqlValue::from(event_type.as_str()),
            SqlValue::from(obj_id),
            SqlValue::Int(inst_id),
            SqlValue::Int(ctx.now),
            SqlValue::Json(doc.clone()),
        ],
        None,
    )
}
