//! Hosts (40-hosts.md §1, §3, §5): the host model as stored, the three add operations, update,
//! batch update, clone, delete, the base-info read, and the relation primitives the transfers
//! (`host_transfer.rs`) and queries (`host_queries.rs`) share.
//!
//! Storage: a host is a row of `instance` with `obj_id = 'host'`, `inst_id = bk_host_id`
//! (sequence `host`), `biz_id = 0` and `inst_name` = its inner addresses (comma-joined, for
//! error messages and audit names without parsing documents). The six list fields are JSON
//! arrays (or null) in the document and become comma-joined strings on the way out
//! ([`cmdb_domain::host::to_wire`]). Relations live in `host_module` (one row per host and
//! module, carrying business, set and the module's `default` flag); inner addresses in
//! `host_ip`, whose partial unique index is the (cloud area, inner IP) rule among static hosts.
//! `bk_agent_id` (when non-empty) and (`bk_cloud_vendor`, `bk_cloud_inst_id`) (when both are
//! non-empty) are unique through `instance_unique` rows under pseudo rules -3 and -4.
//!
//! Race safety (several processes on one PostgreSQL database): every operation that changes
//! a host's relations first locks the host rows (`FOR UPDATE`, ascending ids, so two transfers
//! never deadlock) and only then reads the relations it validates; the target business and
//! modules are read `FOR SHARE`, so an archive (business `FOR UPDATE`) or a module deletion
//! either waits for the transfer and then sees its hosts, or wins and the transfer sees the
//! module gone. SQLite's single writer serialises all of it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cmdb_domain::filter::{FieldCatalog, FieldInfo, FieldType};
use cmdb_domain::host::{
    elements_of, is_list_field, parse_list, stored_list, wire_list, INNER_IP, INNER_IP_V6,
    LIST_FIELDS,
};
use cmdb_domain::DomainError;
use serde_json::{json, Map, Value};

use super::audit::{self, AuditEntry, EventType};
use super::instances::{
    apply_update, build_create_doc, get_doc_for_update, insert_row, insert_unique_keys,
    rewrite_row, stamp_created, stamp_updated, InstanceRow,
};
use super::schema_cache::ModelSchema;
use super::util::{first_ints, in_savepoint, is_item_error, loose_i64, scalar_i64};
use super::OpContext;
use crate::{Dialect, SqlValue, StoreError, Tx};

/// Id sequence of hosts.
pub const HOST_SEQUENCE: &str = "host";

/// Most hosts one transfer (or delete) may name (40-hosts §7).
pub const TRANSFER_LIMIT: usize = 500;

/// Most hosts one `add_host_to_business_idle` may create (§5.3).
pub const BUSINESS_IDLE_LIMIT: u64 = 200;

/// Most items one `batch_update_host` may carry (§5.6).
pub const BATCH_UPDATE_LIMIT: u64 = 1000;

/// `default` of an idle module.
pub const IDLE: i64 = 1;
/// `default` of a fault module.
pub const FAULT: i64 = 2;
/// `default` of a recycle module.
pub const RECYCLE: i64 = 3;
/// `default` of a resource-pool directory.
pub const DIRECTORY: i64 = 4;

/// Pseudo unique rule of `bk_agent_id` (non-empty values).
const AGENT_RULE: i64 = -3;
/// Pseudo unique rule of (`bk_cloud_vendor`, `bk_cloud_inst_id`) (both non-empty).
const CLOUD_INSTANCE_RULE: i64 = -4;

/// Keys of a host body the server owns: dropped before validation.
const SERVER_KEYS: &[&str] = &[
    "bk_host_id",
    "bk_biz_id",
    "bk_parent_id",
    "default",
    "bk_data_status",
    "bk_process_id",
    "bk_supplier_account",
    "create_time",
    "last_time",
    "bk_created_at",
    "bk_updated_at",
    "bk_created_by",
    "bk_updated_by",
    "bk_cloud_host_identifier",
    "metadata",
    "bk_obj_id",
    "bk_inst_id",
    "bk_inst_name",
];

/// The fields a host filter may name: the `host` model's attributes and the system fields, with
/// `bk_host_id` bound to the indexed `inst_id` column and the list fields given element
/// semantics (00-protocol §9.1). Instance-only names are not host fields.
pub struct HostCatalog<'a>(pub &'a ModelSchema);

impl FieldCatalog for HostCatalog<'_> {
    fn lookup(&self, field: &str) -> Option<FieldInfo> {
        match field {
            "bk_host_id" => Some(FieldInfo::column(field, "inst_id", FieldType::Int)),
            f if is_list_field(f) => {
                Some(FieldInfo::doc(f, FieldType::Array).with_array_elements())
            }
            "bk_cloud_id" => Some(FieldInfo::doc(field, FieldType::Int)),
            "bk_cloud_host_identifier" => Some(FieldInfo::doc(field, FieldType::Bool)),
            "bk_inst_id" | "bk_inst_name" | "bk_obj_id" | "bk_parent_id" | "bk_biz_id" => None,
            _ => self.0.lookup(field),
        }
    }
}

/// The `host` model's schema (seeded, so its absence is a broken database).
pub(crate) fn host_schema(tx: &mut dyn Tx) -> Result<Arc<ModelSchema>, StoreError> {
    host_schema_in(tx, 0)
}

/// The `host` model's schema as it applies to hosts of business `biz_id`: the global
/// attributes and that business's private ones (10-models §4: `bk_biz_id` on an attribute).
pub(crate) fn host_schema_in(tx: &mut dyn Tx, biz_id: i64) -> Result<Arc<ModelSchema>, StoreError> {
    ModelSchema::load_builtin(tx, "host", biz_id)
}

/// The business a host belongs to (every relation row of a host names the same one, 40-hosts
/// §3), 0 for an unknown host.
fn host_biz(tx: &mut dyn Tx, host_id: i64) -> Result<i64, StoreError> {
    let rows = tx.query(
        "SELECT biz_id FROM host_module WHERE host_id = ? LIMIT 1",
        &[SqlValue::Int(host_id)],
    )?;
    Ok(scalar_i64(&rows).unwrap_or(0))
}

fn int_of(doc: &Map<String, Value>, key: &str) -> i64 {
    doc.get(key).and_then(loose_i64).unwrap_or(0)
}

/// The display name of a host: its inner IPv4 addresses, else its inner IPv6 addresses.
pub(crate) fn host_name(doc: &Map<String, Value>) -> String {
    let v4 = elements_of(doc.get(INNER_IP));
    if v4.is_empty() {
        elements_of(doc.get(INNER_IP_V6)).join(",")
    } else {
        v4.join(",")
    }
}

/// `?, ?, ...` for `n` parameters.
pub(crate) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Integer parameters.
pub(crate) fn ints(ids: &[i64]) -> Vec<SqlValue> {
    ids.iter().map(|id| SqlValue::Int(*id)).collect()
}

/// Ids joined with commas (error messages).
pub(crate) fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn lock_suffix(tx: &dyn Tx, share: bool) -> &'static str {
    match (tx.dialect(), share) {
        (Dialect::Sqlite, _) => "",
        (Dialect::Postgres, true) => " FOR SHARE",
        (Dialect::Postgres, false) => " FOR UPDATE",
    }
}

/// Sorted, de-duplicated ids.
pub(crate) fn unique_ids(ids: &[i64]) -> Vec<i64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

// ---------------------------------------------------------------------------------------------
// documents

/// `bk_cloud_id` of a create body: absent → 0 unless `required` (1199010); not an integer ≥ 0 →
/// 1199009.
fn cloud_of_body(body: &Map<String, Value>, required: bool) -> Result<i64, DomainError> {
    match body.get("bk_cloud_id") {
        None | Some(Value::Null) if required => Err(DomainError::NeedSet("bk_cloud_id".into())),
        None | Some(Value::Null) => Ok(0),
        Some(v @ Value::Number(_)) => loose_i64(v)
            .filter(|c| *c >= 0)
            .ok_or_else(|| DomainError::NeedInt("bk_cloud_id".into())),
        Some(_) => Err(DomainError::NeedInt("bk_cloud_id".into())),
    }
}

/// Removes the list fields from `body` and returns them parsed to their stored form.
fn take_lists(body: &mut Map<String, Value>) -> Result<Vec<(&'static str, Value)>, DomainError> {
    let mut out = Vec::new();
    for field in LIST_FIELDS {
        if let Some(v) = body.remove(field) {
            out.push((field, stored_list(parse_list(field, &v)?)));
        }
    }
    Ok(out)
}

fn has_inner_ip(doc: &Map<String, Value>) -> bool {
    !elements_of(doc.get(INNER_IP)).is_empty() || !elements_of(doc.get(INNER_IP_V6)).is_empty()
}

/// Validates a new host's body against the `host` model and builds the document to store
/// (without id and server stamps): list fields parsed (1199006 on bad addresses), an inner
/// address required (1199010 `bk_host_innerip and bk_host_innerip_v6`), `bk_cloud_id` an
/// integer ≥ 0 (absent = 0 unless `cloud_required`), `bk_addressing` `static` unless given.
pub(crate) fn build_host_doc(
    schema: &ModelSchema,
    body: &Map<String, Value>,
    cloud_required: bool,
) -> Result<Map<String, Value>, DomainError> {
    let mut body = body.clone();
    for key in SERVER_KEYS {
        body.remove(*key);
    }
    let cloud = cloud_of_body(&body, cloud_required)?;
    body.remove("bk_cloud_id");
    let lists = take_lists(&mut body)?;
    if body.get("bk_addressing").is_none_or(Value::is_null) {
        body.insert("bk_addressing".into(), json!("static"));
    }
    let mut doc = build_create_doc(schema, &body)?;
    for field in LIST_FIELDS {
        doc.insert(field.into(), Value::Null);
    }
    for (field, value) in lists {
        doc.insert(field.into(), value);
    }
    if !has_inner_ip(&doc) {
        return Err(DomainError::NeedSet(
            "bk_host_innerip and bk_host_innerip_v6".into(),
        ));
    }
    doc.insert("bk_cloud_id".into(), Value::from(cloud));
    doc.insert("bk_cloud_host_identifier".into(), Value::Bool(false));
    Ok(doc)
}

/// A cloud area must exist before a host names it (1199011 `bk_cloud_id`); read `FOR SHARE`
/// so a racing delete_cloud_area waits and then sees the host.
fn check_cloud(tx: &mut dyn Tx, cloud: i64) -> Result<(), StoreError> {
    let lock = lock_suffix(tx, true);
    let rows = tx.query(
        &format!("SELECT 1 FROM instance WHERE obj_id = 'plat' AND inst_id = ?{lock}"),
        &[SqlValue::Int(cloud)],
    )?;
    if rows.is_empty() {
        return Err(DomainError::IsInvalid("bk_cloud_id".into()).into());
    }
    Ok(())
}

/// Writes the database-enforced keys of a host: one `host_ip` row per inner address (the
/// partial unique index refuses a second static owner in the cloud area) and the pseudo
/// unique rows of the agent id and the cloud instance.
fn write_host_keys(
    tx: &mut dyn Tx,
    host_id: i64,
    doc: &Map<String, Value>,
) -> Result<(), StoreError> {
    let cloud = int_of(doc, "bk_cloud_id");
    let is_static = i64::from(doc.get("bk_addressing").and_then(Value::as_str) != Some("dynamic"));
    for (kind, field) in [("v4", INNER_IP), ("v6", INNER_IP_V6)] {
        for ip in elements_of(doc.get(field)) {
            tx.execute_deferred(
                "INSERT INTO host_ip (host_id, kind, ip, cloud_id, static) VALUES (?, ?, ?, ?, ?)",
                &[
                    SqlValue::Int(host_id),
                    kind.into(),
                    SqlValue::Text(ip),
                    SqlValue::Int(cloud),
                    SqlValue::Int(is_static),
                ],
                Some(DomainError::Duplicate(format!("bk_cloud_id,{field}"))),
            )?;
        }
    }
    let text = |key: &str| {
        doc.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let agent = text("bk_agent_id");
    if !agent.is_empty() {
        insert_pseudo_key(tx, AGENT_RULE, json!([agent]), host_id, "bk_agent_id")?;
    }
    let (vendor, inst) = (text("bk_cloud_vendor"), text("bk_cloud_inst_id"));
    if !vendor.is_empty() && !inst.is_empty() {
        insert_pseudo_key(
            tx,
            CLOUD_INSTANCE_RULE,
            json!([vendor, inst]),
            host_id,
            "bk_cloud_vendor,bk_cloud_inst_id",
        )?;
    }
    Ok(())
}

fn insert_pseudo_key(
    tx: &mut dyn Tx,
    rule: i64,
    key: Value,
    host_id: i64,
    fields: &str,
) -> Result<(), StoreError> {
    tx.execute_deferred(
        "INSERT INTO instance_unique (rule_id, key, obj_id, inst_id) VALUES (?, ?, 'host', ?)",
        &[
            SqlValue::Int(rule),
            SqlValue::Text(key.to_string()),
            SqlValue::Int(host_id),
        ],
        Some(DomainError::Duplicate(fields.into())),
    )
}

/// A stored host document in its wire form (list fields comma-joined), as audit records and
/// change events show it: hosts read that way through every API, and the documented host
/// event carries `"bk_host_innerip": "192.168.1.1"`.
pub(crate) fn wire_doc(doc: &Map<String, Value>) -> Value {
    let mut doc = doc.clone();
    cmdb_domain::host::to_wire(&mut doc);
    Value::Object(doc)
}

/// One host audit record (`host` / `host`).
struct HostAudit<'a> {
    action: &'static str,
    host_id: i64,
    biz_id: i64,
    name: &'a str,
    pre: Option<Value>,
    cur: Option<Value>,
    fields: Option<Value>,
}

/// A stored host update, announced: its audit record (`fields` the changed attributes, under
/// business `biz_id`, 0 = none) and its change event, both with the documents in wire form.
/// `who` is (host id, business, host name).
fn record_update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    who: (i64, i64, &str),
    old: &Map<String, Value>,
    doc: &Map<String, Value>,
    fields: Map<String, Value>,
) -> Result<(), StoreError> {
    let (host_id, biz_id, name) = who;
    let doc = wire_doc(doc);
    audit_host(
        tx,
        ctx,
        HostAudit {
            action: "update",
            host_id,
            biz_id,
            name,
            pre: Some(wire_doc(old)),
            cur: Some(doc.clone()),
            fields: Some(Value::Object(fields)),
        },
    )?;
    audit::event(tx, ctx, "host", EventType::Update, "host", host_id, &doc)
}

fn audit_host(tx: &mut dyn Tx, ctx: &OpContext, a: HostAudit<'_>) -> Result<(), StoreError> {
    audit::record(
        tx,
        ctx,
        AuditEntry {
            audit_type: "host",
            resource_type: "host",
            action: a.action,
            biz_id: a.biz_id,
            resource_id: Value::from(a.host_id),
            resource_name: a.name.to_string(),
            obj_id: Some("host".into()),
            pre_data: a.pre,
            cur_data: a.cur,
            update_fields: a.fields,
        },
    )
}

/// Stores a validated host document (from [`build_host_doc`]) under a new id: the instance
/// row, its unique-rule rows and its host keys. Shared by [`insert_host`] and [`bulk_create`],
/// so generated hosts are stored exactly like hosts added through the API. Returns the id, the
/// display name and the stored document.
fn store_new_host(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    schema: &ModelSchema,
    mut doc: Map<String, Value>,
) -> Result<(i64, String, Map<String, Value>), StoreError> {
    let host_id = tx.next_id(HOST_SEQUENCE)?;
    doc.insert("bk_host_id".into(), Value::from(host_id));
    stamp_created(schema, ctx, &mut doc);
    let name = host_name(&doc);
    insert_row(
        tx,
        ctx,
        InstanceRow {
            obj_id: "host",
            inst_id: host_id,
            name: &name,
            biz_id: 0,
            parent_id: 0,
        },
        &doc,
    )?;
    insert_unique_keys(tx, schema, host_id, &doc)?;
    write_host_keys(tx, host_id, &doc)?;
    Ok((host_id, name, doc))
}

/// Stores a new host (validated document from [`build_host_doc`]) and relates it to `module`;
/// returns its id. Audited (`create`) with its `host` and `host_relation` events.
pub(crate) fn insert_host(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    schema: &ModelSchema,
    doc: Map<String, Value>,
    module: &ModuleInfo,
) -> Result<i64, StoreError> {
    check_cloud(tx, int_of(&doc, "bk_cloud_id"))?;
    let (host_id, name, doc) = store_new_host(tx, ctx, schema, doc)?;
    let doc = wire_doc(&doc);
    audit_host(
        tx,
        ctx,
        HostAudit {
            action: "create",
            host_id,
            biz_id: module.biz_id,
            name: &name,
            pre: None,
            cur: Some(doc.clone()),
            fields: None,
        },
    )?;
    audit::event(tx, ctx, "host", EventType::Create, "host", host_id, &doc)?;
    add_relation(tx, ctx, &module.relation(host_id))?;
    Ok(host_id)
}

/// Bulk path of `cmdb gen-hosts` (benchmark data, not an API operation): creates each host of
/// `hosts` (a create body, as add_host_to_business_idle takes it, and the modules it goes to)
/// with the same validation, rows and keys as the add operations ([`build_host_doc`],
/// [`store_new_host`]), and relates it to its modules. The relation invariants of 40-hosts §3
/// are checked here too (modules exist, one business, one internal module or only normal ones:
/// 1199006 `bk_module_id` otherwise). No audit records or events are written (like a data
/// import, and like `associations::bulk_link`). Returns the new ids in input order.
pub fn bulk_create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    hosts: &[(Map<String, Value>, Vec<i64>)],
) -> Result<Vec<i64>, StoreError> {
    let schema = host_schema(tx)?;
    let module_ids: Vec<i64> = hosts.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    let modules = load_modules(tx, &module_ids, true)?;
    let mut clouds_checked: Vec<i64> = Vec::new();
    let mut ids = Vec::with_capacity(hosts.len());
    for (body, targets) in hosts {
        let targets = unique_ids(targets);
        let infos: Vec<&ModuleInfo> = targets.iter().filter_map(|m| modules.get(m)).collect();
        let internal = infos.iter().filter(|m| m.dflt != 0).count();
        let consistent = !infos.is_empty()
            && infos.len() == targets.len()
            && infos.iter().all(|m| m.biz_id == infos[0].biz_id)
            && (internal == 0 || infos.len() == 1);
        if !consistent {
            return Err(DomainError::ParamsInvalid("bk_module_id".into()).into());
        }
        let doc = build_host_doc(&schema, body, true)?;
        let cloud = int_of(&doc, "bk_cloud_id");
        if !clouds_checked.contains(&cloud) {
            check_cloud(tx, cloud)?;
            clouds_checked.push(cloud);
        }
        let (host_id, _, _) = store_new_host(tx, ctx, &schema, doc)?;
        for m in infos {
            insert_relation_row(tx, &m.relation(host_id))?;
        }
        ids.push(host_id);
    }
    Ok(ids)
}

/// Applies an update body to a stored host (list fields parsed, attributes validated as for
/// instances, `bk_cloud_id` and server keys ignored) and stores it with fresh keys. A host
/// left without any inner address is refused (1199010). The attributes are those of the
/// host's business ([`host_schema_in`]): its private attributes can be set on its hosts only.
/// The caller has locked the host ([`get_doc_for_update`]), so its business cannot change
/// underneath.
pub(crate) fn update_host_doc(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    host_id: i64,
    old: Map<String, Value>,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let biz_id = host_biz(tx, host_id)?;
    let schema = &*host_schema_in(tx, biz_id)?;
    let mut body = body.clone();
    for key in SERVER_KEYS {
        body.remove(*key);
    }
    body.remove("bk_cloud_id");
    let lists = take_lists(&mut body).map_err(DomainError::wrap)?;
    let mut doc = old.clone();
    let mut applied = apply_update(schema, &mut doc, &body)?;
    for (field, value) in lists {
        doc.insert(field.into(), value.clone());
        applied.insert(field.into(), wire_list(Some(&value)));
    }
    if !has_inner_ip(&doc) {
        return Err(DomainError::NeedSet("bk_host_innerip and bk_host_innerip_v6".into()).into());
    }
    stamp_updated(schema, ctx, &mut doc);
    let name = host_name(&doc);
    rewrite_row(tx, ctx, schema, host_id, &name, &doc)?;
    tx.execute_deferred(
        "DELETE FROM host_ip WHERE host_id = ?",
        &[SqlValue::Int(host_id)],
        None,
    )?;
    write_host_keys(tx, host_id, &doc)?;
    record_update(tx, ctx, (host_id, 0, &name), &old, &doc, applied)
}

// ---------------------------------------------------------------------------------------------
// relations, modules, businesses

/// One host ↔ module relation row (40-hosts §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relation {
    /// Host.
    pub host_id: i64,
    /// Business of the module.
    pub biz_id: i64,
    /// Set of the module.
    pub set_id: i64,
    /// Module.
    pub module_id: i64,
    /// The module's `default` flag (0 = normal module).
    pub dflt: i64,
}

impl Relation {
    /// The wire row `{bk_biz_id, bk_host_id, bk_module_id, bk_set_id, bk_supplier_account}`.
    pub fn to_json(&self, supplier: &str) -> Value {
        json!({"bk_biz_id": self.biz_id, "bk_host_id": self.host_id,
               "bk_module_id": self.module_id, "bk_set_id": self.set_id,
               "bk_supplier_account": supplier})
    }
}

/// What a relation needs to know about a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Module id.
    pub id: i64,
    /// Its business.
    pub biz_id: i64,
    /// Its set.
    pub set_id: i64,
    /// Its `default` flag.
    pub dflt: i64,
    /// Its name.
    pub name: String,
}

impl ModuleInfo {
    /// The relation of `host_id` to this module.
    pub fn relation(&self, host_id: i64) -> Relation {
        Relation {
            host_id,
            biz_id: self.biz_id,
            set_id: self.set_id,
            module_id: self.id,
            dflt: self.dflt,
        }
    }
}

fn module_rows(rows: Vec<crate::Row>) -> Vec<ModuleInfo> {
    rows.into_iter()
        .filter_map(|r| {
            Some(ModuleInfo {
                id: r.first()?.as_i64()?,
                biz_id: r.get(1)?.as_i64()?,
                set_id: r.get(2)?.as_i64()?,
                dflt: r.get(3)?.as_i64()?,
                name: r.get(4)?.as_str().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

const MODULE_COLUMNS: &str = "inst_id, biz_id, parent_id, dflt, inst_name";

/// The modules among `ids` that exist, by id; read `FOR SHARE` when `lock` (writes), so they
/// cannot be deleted under a transfer.
pub(crate) fn load_modules(
    tx: &mut dyn Tx,
    ids: &[i64],
    lock: bool,
) -> Result<HashMap<i64, ModuleInfo>, StoreError> {
    let ids = unique_ids(ids);
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let lock = if lock { lock_suffix(tx, true) } else { "" };
    let rows = tx.query(
        &format!(
            "SELECT {MODULE_COLUMNS} FROM instance WHERE obj_id = 'module' AND inst_id IN ({}) \
             ORDER BY inst_id{lock}",
            marks(ids.len())
        ),
        &ints(&ids),
    )?;
    Ok(module_rows(rows).into_iter().map(|m| (m.id, m)).collect())
}

/// The first module of business `biz_id` with `default = dflt` (idle 1, fault 2, recycle 3),
/// read `FOR SHARE` on writes.
pub(crate) fn internal_module(
    tx: &mut dyn Tx,
    biz_id: i64,
    dflt: i64,
    lock: bool,
) -> Result<Option<ModuleInfo>, StoreError> {
    let lock = if lock { lock_suffix(tx, true) } else { "" };
    let rows = tx.query(
        &format!(
            "SELECT {MODULE_COLUMNS} FROM instance WHERE obj_id = 'module' AND biz_id = ? \
             AND dflt = ? ORDER BY inst_id LIMIT 1{lock}"
        ),
        &[SqlValue::Int(biz_id), SqlValue::Int(dflt)],
    )?;
    Ok(module_rows(rows).into_iter().next())
}

/// The stored business `biz_id`, read `FOR SHARE` (PostgreSQL): an archive or delete of it
/// waits for this transaction and then sees its hosts.
pub(crate) fn share_biz(
    tx: &mut dyn Tx,
    biz_id: i64,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let lock = lock_suffix(tx, true);
    let rows = tx.query(
        &format!("SELECT data FROM instance WHERE obj_id = 'biz' AND inst_id = ?{lock}"),
        &[SqlValue::Int(biz_id)],
    )?;
    match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
        Some(cell) => match cell.into_json()? {
            Value::Object(m) => Ok(Some(m)),
            _ => Err(StoreError::Corrupt(
                "business document is not an object".into(),
            )),
        },
        None => Ok(None),
    }
}

fn is_archived(doc: &Map<String, Value>) -> bool {
    doc.get("bk_data_status").and_then(Value::as_str) == Some("disabled")
}

/// A business hosts may move into: it must exist (1113006) and not be archived (1110031).
pub(crate) fn target_biz(tx: &mut dyn Tx, biz_id: i64) -> Result<(), StoreError> {
    match share_biz(tx, biz_id)? {
        None => Err(DomainError::BizNotExist(biz_id.to_string()).into()),
        Some(doc) if is_archived(&doc) => Err(DomainError::BizArchived.into()),
        Some(_) => Ok(()),
    }
}

/// The resource-pool business (`default = 1`): none → 1199079, several → 1199052.
pub fn resource_pool(tx: &mut dyn Tx) -> Result<i64, StoreError> {
    let rows = tx.query(
        "SELECT inst_id FROM instance WHERE obj_id = 'biz' AND dflt = 1 ORDER BY inst_id LIMIT 2",
        &[],
    )?;
    match rows.len() {
        0 => Err(DomainError::BizNotFound("resource pool".into()).into()),
        1 => scalar_i64(&rows).ok_or_else(|| StoreError::Corrupt("bad business id".into())),
        _ => Err(DomainError::MultipleObjects.into()),
    }
}

/// The relation rows of `host_ids`, grouped by host (hosts without rows are absent).
pub(crate) fn relations_of(
    tx: &mut dyn Tx,
    host_ids: &[i64],
) -> Result<BTreeMap<i64, Vec<Relation>>, StoreError> {
    let mut out: BTreeMap<i64, Vec<Relation>> = BTreeMap::new();
    for chunk in host_ids.chunks(TRANSFER_LIMIT) {
        let rows = tx.query(
            &format!(
                "SELECT host_id, biz_id, set_id, module_id, dflt FROM host_module \
                 WHERE host_id IN ({}) ORDER BY host_id, module_id",
                marks(chunk.len())
            ),
            &ints(chunk),
        )?;
        for r in relation_rows(rows) {
            out.entry(r.host_id).or_default().push(r);
        }
    }
    Ok(out)
}

/// Relation rows from `SELECT host_id, biz_id, set_id, module_id, dflt`.
pub(crate) fn relation_rows(rows: Vec<crate::Row>) -> Vec<Relation> {
    rows.into_iter()
        .filter_map(|r| {
            Some(Relation {
                host_id: r.first()?.as_i64()?,
                biz_id: r.get(1)?.as_i64()?,
                set_id: r.get(2)?.as_i64()?,
                module_id: r.get(3)?.as_i64()?,
                dflt: r.get(4)?.as_i64()?,
            })
        })
        .collect()
}

/// Inserts one relation row (no event: [`add_relation`] adds it; the bulk path writes none).
fn insert_relation_row(tx: &mut dyn Tx, r: &Relation) -> Result<(), StoreError> {
    tx.execute_deferred(
        "INSERT INTO host_module (host_id, module_id, biz_id, set_id, dflt) VALUES (?, ?, ?, ?, ?)",
        &[
            SqlValue::Int(r.host_id),
            SqlValue::Int(r.module_id),
            SqlValue::Int(r.biz_id),
            SqlValue::Int(r.set_id),
            SqlValue::Int(r.dflt),
        ],
        None,
    )
}

/// Inserts one relation row and its `host_relation` create event.
pub(crate) fn add_relation(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    r: &Relation,
) -> Result<(), StoreError> {
    insert_relation_row(tx, r)?;
    audit::event(
        tx,
        ctx,
        "host_relation",
        EventType::Create,
        "host",
        r.host_id,
        &r.to_json(&ctx.supplier),
    )
}

/// Deletes one relation row and records its `host_relation` delete event.
pub(crate) fn remove_relation(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    r: &Relation,
) -> Result<(), StoreError> {
    tx.execute_deferred(
        "DELETE FROM host_module WHERE host_id = ? AND module_id = ?",
        &[SqlValue::Int(r.host_id), SqlValue::Int(r.module_id)],
        None,
    )?;
    audit::event(
        tx,
        ctx,
        "host_relation",
        EventType::Delete,
        "host",
        r.host_id,
        &r.to_json(&ctx.supplier),
    )
}

/// The hosts among `ids` that exist, locked for the rest of the transaction (`FOR UPDATE` on
/// PostgreSQL, ascending ids so concurrent lockers never deadlock), as `id → name`.
pub(crate) fn lock_hosts(
    tx: &mut dyn Tx,
    ids: &[i64],
) -> Result<BTreeMap<i64, String>, StoreError> {
    let ids = unique_ids(ids);
    let lock = lock_suffix(tx, false);
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(TRANSFER_LIMIT) {
        let rows = tx.query(
            &format!(
                "SELECT inst_id, inst_name FROM instance WHERE obj_id = 'host' AND inst_id IN ({}) \
                 ORDER BY inst_id{lock}",
                marks(chunk.len())
            ),
            &ints(chunk),
        )?;
        for r in rows {
            if let Some(id) = r.first().and_then(SqlValue::as_i64) {
                let name = r.get(1).and_then(SqlValue::as_str).unwrap_or_default();
                out.insert(id, name.to_string());
            }
        }
    }
    Ok(out)
}

/// Locks hosts that must all exist (else 1199011 `bk_host_id`).
pub(crate) fn lock_existing_hosts(
    tx: &mut dyn Tx,
    ids: &[i64],
) -> Result<BTreeMap<i64, String>, StoreError> {
    let hosts = lock_hosts(tx, ids)?;
    if hosts.len() != unique_ids(ids).len() {
        return Err(DomainError::IsInvalid("bk_host_id".into()).into());
    }
    Ok(hosts)
}

/// A host's relations before and after a move.
pub(crate) struct Move {
    /// Host.
    pub host_id: i64,
    /// Its name (inner IPs), for the audit record.
    pub name: String,
    /// Rows before.
    pub old: Vec<Relation>,
    /// Rows after: never empty, one business, internal xor normal modules.
    pub new: Vec<Relation>,
}

/// Applies moves: deletes the rows that go, inserts the rows that come (existing rows stay, so
/// no duplicate (host, module) pair ever exists), one audit record per changed host (`action`:
/// `assign_host`, `unassign_host` or `transfer_host_module`) and one `host_relation` event per
/// changed row. A host that changes business first loses the values of the old business's
/// private attributes ([`clear_private_attrs`]): every move between businesses comes through
/// here, so none can skip it.
pub(crate) fn apply_moves(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    moves: &[Move],
    action: &'static str,
) -> Result<(), StoreError> {
    let mut private: HashMap<i64, Vec<String>> = HashMap::new();
    for m in moves {
        debug_assert!(!m.new.is_empty());
        debug_assert!(m.new.iter().all(|r| r.biz_id == m.new[0].biz_id));
        let (from, to) = (
            m.old.first().map(|r| r.biz_id),
            m.new.first().map(|r| r.biz_id),
        );
        if let (Some(from), Some(to)) = (from, to) {
            if from != to {
                let props = match private.entry(from) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(private_host_attrs(tx, from)?)
                    }
                };
                clear_private_attrs(tx, ctx, m, from, props)?;
            }
        }
        let removed: Vec<&Relation> = m
            .old
            .iter()
            .filter(|o| !m.new.iter().any(|n| n.module_id == o.module_id))
            .collect();
        let added: Vec<&Relation> = m
            .new
            .iter()
            .filter(|n| !m.old.iter().any(|o| o.module_id == n.module_id))
            .collect();
        if removed.is_empty() && added.is_empty() {
            continue;
        }
        for r in removed {
            remove_relation(tx, ctx, r)?;
        }
        for r in added {
            add_relation(tx, ctx, r)?;
        }
        // A host leaving a business is recorded for the business it leaves (upstream's
        // `HostTransferOpDetail`: "the previous biz if the host transfers to the resource
        // pool"), so that business's audit shows it; other moves for the business it is in.
        let biz_id = if action == "unassign_host" {
            &m.old
        } else {
            &m.new
        }
        .first()
        .map_or(0, |r| r.biz_id);
        let rows = |rs: &[Relation]| -> Value {
            Value::Array(rs.iter().map(|r| r.to_json(&ctx.supplier)).collect())
        };
        audit_host(
            tx,
            ctx,
            HostAudit {
                action,
                host_id: m.host_id,
                biz_id,
                name: &m.name,
                pre: Some(json!({"relations": rows(&m.old)})),
                cur: Some(json!({"relations": rows(&m.new)})),
                fields: None,
            },
        )?;
    }
    Ok(())
}

/// The private host attributes of business `biz_id` (those defined for it alone).
fn private_host_attrs(tx: &mut dyn Tx, biz_id: i64) -> Result<Vec<String>, StoreError> {
    if biz_id == 0 {
        return Ok(Vec::new());
    }
    Ok(host_schema_in(tx, biz_id)?
        .attrs
        .iter()
        .filter(|a| a.attr.bk_biz_id == biz_id)
        .map(|a| a.attr.bk_property_id.clone())
        .collect())
}

/// A host leaving business `from` loses its values of that business's private attributes
/// (`props`): 40-hosts §7.3 and §7.6 ("business-private attributes cleared"; the same holds
/// for every move between businesses, also out of the resource pool). They are removed from
/// the document, which is stored, audited (`update`) and sent as a host update event like any
/// other change; a host holding none of them is left untouched. The host is locked already.
fn clear_private_attrs(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    m: &Move,
    from: i64,
    props: &[String],
) -> Result<(), StoreError> {
    if props.is_empty() {
        return Ok(());
    }
    let Some(old) = get_doc_for_update(tx, "host", m.host_id)? else {
        return Ok(());
    };
    let mut doc = old.clone();
    let mut cleared = Map::new();
    for p in props {
        if doc.remove(p).is_some() {
            cleared.insert(p.clone(), Value::Null);
        }
    }
    if cleared.is_empty() {
        return Ok(());
    }
    let schema = host_schema(tx)?;
    stamp_updated(&schema, ctx, &mut doc);
    rewrite_row(tx, ctx, &schema, m.host_id, &m.name, &doc)?;
    record_update(tx, ctx, (m.host_id, from, &m.name), &old, &doc, cleared)
}

// ---------------------------------------------------------------------------------------------
// add

/// Per-row outcome of `add_host_to_resource` (§5.1): row keys that succeeded, messages of rows
/// that failed to create and of rows that failed to update.
#[derive(Debug, Default)]
pub struct ResourceAddReport {
    /// Row keys ("0", "1", ...) that were created or updated.
    pub success: Vec<String>,
    /// Messages of rows that could not be created.
    pub error: Vec<String>,
    /// Messages of rows that could not be updated.
    pub update_error: Vec<String>,
}

impl ResourceAddReport {
    /// True when some row failed (then nothing was written).
    pub fn failed(&self) -> bool {
        !self.error.is_empty() || !self.update_error.is_empty()
    }
}

fn row_message(e: &StoreError) -> String {
    match e {
        StoreError::Domain(d) => d.to_string(),
        _ => DomainError::Duplicate(String::new()).to_string(),
    }
}

/// The idle module of a business hosts may be added to (exists 1113006, not archived 1110031,
/// has an idle module 1110054 `idle`).
fn idle_target(tx: &mut dyn Tx, biz_id: i64) -> Result<ModuleInfo, StoreError> {
    target_biz(tx, biz_id)?;
    internal_module(tx, biz_id, IDLE, true)?
        .ok_or_else(|| DomainError::NamedModuleNotFound("idle".into()).into())
}

/// The existing host a row of add_host_to_resource updates: the row's `bk_host_id`, else a
/// host of the same cloud area sharing one of the row's inner addresses.
fn upsert_target(tx: &mut dyn Tx, row: &Map<String, Value>) -> Result<Option<i64>, StoreError> {
    if let Some(v) = row.get("bk_host_id").filter(|v| !v.is_null()) {
        let id = loose_i64(v).ok_or_else(|| DomainError::IsInvalid("bk_host_id".into()))?;
        return Ok(Some(id));
    }
    let cloud = cloud_of_body(row, false)?;
    let (kind, field) = if row.get(INNER_IP).is_some_and(|v| {
        !parse_list(INNER_IP, v)
            .ok()
            .flatten()
            .unwrap_or_default()
            .is_empty()
    }) {
        ("v4", INNER_IP)
    } else {
        ("v6", INNER_IP_V6)
    };
    let ips = parse_list(field, row.get(field).unwrap_or(&Value::Null))?.unwrap_or_default();
    if ips.is_empty() {
        return Err(DomainError::NeedSet("bk_host_innerip".into()).into());
    }
    let mut params: Vec<SqlValue> = vec![kind.into(), SqlValue::Int(cloud)];
    params.extend(ips.into_iter().map(SqlValue::Text));
    let rows = tx.query(
        &format!(
            "SELECT host_id FROM host_ip WHERE kind = ? AND cloud_id = ? AND ip IN ({}) \
             ORDER BY host_id LIMIT 1",
            marks(params.len() - 2)
        ),
        &params,
    )?;
    Ok(scalar_i64(&rows))
}

/// `add_host_to_resource` (§5.1): rows in ascending index order into the idle module of
/// `biz_id` (0 = the resource pool). A row naming an existing host (`bk_host_id`, or the same
/// cloud area and inner address) updates it (`import_from`, `create_time` ignored; relations
/// unchanged); other rows create hosts. All or nothing: when a row fails, every row is rolled
/// back and the report says which failed ([`ResourceAddReport::failed`]).
pub fn add_to_resource(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    host_info: &Map<String, Value>,
) -> Result<ResourceAddReport, StoreError> {
    let biz_id = if biz_id == 0 {
        resource_pool(tx)?
    } else {
        biz_id
    };
    let idle = idle_target(tx, biz_id)?;
    let schema = host_schema(tx)?;
    let mut rows: Vec<(i64, &String, &Value)> = host_info
        .iter()
        .map(|(k, v)| (k.trim().parse::<i64>().unwrap_or(i64::MAX), k, v))
        .collect();
    rows.sort_by_key(|(n, k, _)| (*n, (*k).clone()));
    let mut report = ResourceAddReport::default();
    tx.savepoint("add_hosts")?;
    for (_, key, value) in rows {
        let Some(row) = value.as_object() else {
            report
                .error
                .push(format!("{key}: {}", DomainError::JsonUnmarshal));
            continue;
        };
        let target = match upsert_target(tx, row) {
            Ok(t) => t,
            Err(e) if is_item_error(&e) => {
                report.error.push(format!("{key}: {}", row_message(&e)));
                continue;
            }
            Err(e) => return Err(e),
        };
        match target {
            Some(host_id) => {
                let mut body = row.clone();
                body.remove("import_from");
                let outcome = in_savepoint(tx, |tx| {
                    let Some(old) = get_doc_for_update(tx, "host", host_id)? else {
                        return Err(DomainError::IsInvalid("bk_host_id".into()).into());
                    };
                    update_host_doc(tx, ctx, host_id, old, &body)
                })?;
                match outcome {
                    Ok(()) => report.success.push(key.clone()),
                    Err(e) => report
                        .update_error
                        .push(format!("{key}: {}", row_message(&e))),
                }
            }
            None => {
                let outcome = in_savepoint(tx, |tx| {
                    let doc = build_host_doc(&schema, row, false)?;
                    insert_host(tx, ctx, &schema, doc, &idle)
                })?;
                match outcome {
                    Ok(_) => report.success.push(key.clone()),
                    Err(e) => report.error.push(format!("{key}: {}", row_message(&e))),
                }
            }
        }
    }
    if report.failed() {
        tx.rollback_savepoint("add_hosts")?;
    } else {
        tx.release_savepoint("add_hosts")?;
    }
    Ok(report)
}

/// Per-element outcome of `add_host_to_resource_pool` (§5.2).
#[derive(Debug, Default)]
pub struct PoolAddReport {
    /// `(index, bk_host_id)` of created hosts (committed).
    pub success: Vec<(usize, i64)>,
    /// `(index, message)` of elements that failed.
    pub error: Vec<(usize, String)>,
}

/// `add_host_to_resource_pool` (§5.2): each element creates one host (no upsert) in
/// `directory` (a resource-pool module with `default` 1 or 4, else 1199011 `directory`;
/// 0/absent = the pool's idle module). Elements need an inner address, an integer
/// `bk_cloud_id` ≥ 0. Elements are independent: the successful ones are kept even when others
/// fail.
pub fn add_to_resource_pool(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    hosts: &[Value],
    directory: i64,
) -> Result<PoolAddReport, StoreError> {
    let pool = resource_pool(tx)?;
    let target = if directory == 0 {
        idle_target(tx, pool)?
    } else {
        target_biz(tx, pool)?;
        load_modules(tx, &[directory], true)?
            .remove(&directory)
            .filter(|m| m.biz_id == pool && (m.dflt == IDLE || m.dflt == DIRECTORY))
            .ok_or_else(|| DomainError::IsInvalid("directory".into()))?
    };
    let schema = host_schema(tx)?;
    let mut report = PoolAddReport::default();
    for (index, value) in hosts.iter().enumerate() {
        let outcome = in_savepoint(tx, |tx| {
            let row = value.as_object().ok_or(DomainError::JsonUnmarshal)?;
            let doc = build_host_doc(&schema, row, true)?;
            insert_host(tx, ctx, &schema, doc, &target)
        })?;
        match outcome {
            Ok(id) => report.success.push((index, id)),
            Err(e) => report.error.push((index, row_message(&e))),
        }
    }
    Ok(report)
}

/// `add_host_to_business_idle` (§5.3): `biz_id` ≠ 0 (else 1199010), 1…200 hosts (1199010 /
/// 1199035), each with an inner address, `bk_cloud_id` and `bk_addressing` (1199010); all
/// created in the business's idle module or none. Returns the new ids in input order.
pub fn add_to_business_idle(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    hosts: &[Value],
) -> Result<Vec<i64>, StoreError> {
    if biz_id == 0 {
        return Err(DomainError::NeedSet("bk_biz_id".into()).into());
    }
    if hosts.is_empty() {
        return Err(DomainError::NeedSet("bk_host_list".into()).into());
    }
    if hosts.len() as u64 > BUSINESS_IDLE_LIMIT {
        return Err(DomainError::ExceedLimit("bk_host_list".into(), BUSINESS_IDLE_LIMIT).into());
    }
    let idle = idle_target(tx, biz_id)?;
    let schema = host_schema(tx)?;
    let mut ids = Vec::with_capacity(hosts.len());
    for value in hosts {
        let row = value.as_object().ok_or(DomainError::JsonUnmarshal)?;
        if row.get("bk_addressing").is_none_or(Value::is_null) {
            return Err(DomainError::NeedSet("bk_addressing".into()).into());
        }
        let doc = build_host_doc(&schema, row, true)?;
        ids.push(insert_host(tx, ctx, &schema, doc, &idle)?);
    }
    Ok(ids)
}

// ---------------------------------------------------------------------------------------------
// update / clone

/// `update_host` (§5.5): the same values applied to every listed host that exists (unknown ids
/// are ignored); `bk_cloud_id` is dropped; validation and unique rules as on create.
pub fn update_hosts(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    ids: &[i64],
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    for id in unique_ids(ids) {
        if let Some(old) = get_doc_for_update(tx, "host", id)? {
            update_host_doc(tx, ctx, id, old, body)?;
        }
    }
    Ok(())
}

/// `batch_update_host` (§5.6): 1…1000 items `{bk_host_id, properties}` in one transaction;
/// `bk_cloud_id` among the properties is refused (1199006 `bk_cloud_id`, the spec's
/// recommendation); an unknown host is 1199011 `bk_host_id`.
pub fn batch_update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    items: &[(i64, Map<String, Value>)],
) -> Result<(), StoreError> {
    if items.is_empty() {
        return Err(DomainError::NeedSet("update".into()).into());
    }
    if items.len() as u64 > BATCH_UPDATE_LIMIT {
        return Err(DomainError::ExceedLimit("update".into(), BATCH_UPDATE_LIMIT).into());
    }
    if items.iter().any(|(_, p)| p.contains_key("bk_cloud_id")) {
        return Err(DomainError::ParamsInvalid("bk_cloud_id".into()).into());
    }
    for (id, properties) in items {
        let Some(old) = get_doc_for_update(tx, "host", *id)? else {
            return Err(DomainError::IsInvalid("bk_host_id".into()).into());
        };
        update_host_doc(tx, ctx, *id, old, properties)?;
    }
    Ok(())
}

/// Which hosts `clone_host_property` copies between.
#[derive(Debug, Clone)]
pub enum CloneHosts {
    /// Inner IPv4 addresses of source and target.
    Ips(String, String),
    /// Host ids of source and target.
    Ids(i64, i64),
}

/// Attributes clone_host_property never copies: identity and unique-rule fields (§5.7).
const CLONE_EXCLUDED: &[&str] = &[
    "bk_host_id",
    INNER_IP,
    INNER_IP_V6,
    "bk_cloud_id",
    "bk_agent_id",
    "bk_cloud_inst_id",
    "bk_cloud_vendor",
    "create_time",
    "import_from",
];

/// The host of business `biz_id` in cloud `cloud` owning inner address `ip`, or with id `id`.
fn clone_host(
    tx: &mut dyn Tx,
    biz_id: i64,
    cloud: i64,
    ip: Option<&str>,
    id: Option<i64>,
) -> Result<Option<i64>, StoreError> {
    let host = match (ip, id) {
        (Some(ip), _) => {
            let rows = tx.query(
                "SELECT host_id FROM host_ip WHERE kind = 'v4' AND ip = ? AND cloud_id = ? \
                 ORDER BY host_id",
                &[ip.into(), SqlValue::Int(cloud)],
            )?;
            first_ints(&rows)
        }
        (None, Some(id)) => vec![id],
        (None, None) => Vec::new(),
    };
    for h in host {
        let rows = tx.query(
            "SELECT 1 FROM host_module WHERE host_id = ? AND biz_id = ? LIMIT 1",
            &[SqlValue::Int(h), SqlValue::Int(biz_id)],
        )?;
        if !rows.is_empty() {
            return Ok(Some(h));
        }
    }
    Ok(None)
}

/// `clone_host_property` (§5.7): copies the editable attributes of the source host onto the
/// target host (both of business `biz_id`; in cloud `cloud` for the IP form), except identity
/// and unique-rule fields ([`CLONE_EXCLUDED`]). Unknown hosts → 1199006.
pub fn clone_property(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    cloud: i64,
    which: &CloneHosts,
) -> Result<(), StoreError> {
    let missing = || {
        StoreError::from(DomainError::ParamsInvalid(
            "src or dst id is not exists".into(),
        ))
    };
    let (src, dst) = match which {
        CloneHosts::Ips(a, b) => (
            clone_host(tx, biz_id, cloud, Some(a), None)?,
            clone_host(tx, biz_id, cloud, Some(b), None)?,
        ),
        CloneHosts::Ids(a, b) => (
            clone_host(tx, biz_id, cloud, None, Some(*a))?,
            clone_host(tx, biz_id, cloud, None, Some(*b))?,
        ),
    };
    let (Some(src), Some(dst)) = (src, dst) else {
        return Err(missing());
    };
    if src == dst {
        return Ok(());
    }
    // Both hosts are in the business: its private attributes are copied too.
    let schema = host_schema_in(tx, biz_id)?;
    let Some(src_doc) = super::instances::get_doc(tx, "host", src)? else {
        return Err(missing());
    };
    let Some(dst_doc) = get_doc_for_update(tx, "host", dst)? else {
        return Err(missing());
    };
    let mut body = Map::new();
    for a in &schema.attrs {
        let prop = a.attr.bk_property_id.as_str();
        if !a.attr.editable || CLONE_EXCLUDED.contains(&prop) {
            continue;
        }
        if let Some(v) = src_doc.get(prop) {
            body.insert(prop.to_string(), v.clone());
        }
    }
    update_host_doc(tx, ctx, dst, dst_doc, &body)
}

// ---------------------------------------------------------------------------------------------
// delete

/// `delete_host` (§5.4): every host must currently be in the resource-pool business (an unknown
/// or other-business host → 1113002 naming them); a host associated with a live instance →
/// 1101036 (associations whose other end is gone are removed). Removes the relations, keys and
/// the host, audited.
pub fn delete_hosts(tx: &mut dyn Tx, ctx: &OpContext, ids: &[i64]) -> Result<(), StoreError> {
    let ids = unique_ids(ids);
    if ids.is_empty() {
        return Err(DomainError::NeedSet("bk_host_id".into()).into());
    }
    let pool = resource_pool(tx)?;
    let hosts = lock_hosts(tx, &ids)?;
    let relations = relations_of(tx, &ids)?;
    let foreign: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| {
            !hosts.contains_key(id)
                || relations
                    .get(id)
                    .is_none_or(|rs| rs.iter().any(|r| r.biz_id != pool))
        })
        .collect();
    if !foreign.is_empty() {
        return Err(DomainError::HostNotInBiz(join_ids(&foreign), pool).into());
    }
    for id in &ids {
        super::associations::refuse_live_links(tx, "host", *id, DomainError::InstBeenAssociated)?;
    }
    for (id, name) in hosts {
        let Some(doc) = super::instances::get_doc(tx, "host", id)? else {
            continue;
        };
        for r in relations.get(&id).map(Vec::as_slice).unwrap_or_default() {
            remove_relation(tx, ctx, r)?;
        }
        super::associations::remove_links_of(tx, ctx, "host", id)?;
        let p = [SqlValue::Int(id)];
        tx.execute_deferred("DELETE FROM host_ip WHERE host_id = ?", &p, None)?;
        tx.execute_deferred(
            "DELETE FROM instance_unique WHERE obj_id = 'host' AND inst_id = ?",
            &p,
            None,
        )?;
        tx.execute_deferred(
            "DELETE FROM instance WHERE obj_id = 'host' AND inst_id = ?",
            &p,
            None,
        )?;
        let doc = wire_doc(&doc);
        audit::removed(
            tx,
            ctx,
            audit::Removed {
                audit_type: "host",
                resource_type: "host",
                watch: "host",
                biz_id: pool,
                obj_id: "host",
                inst_id: id,
                name: &name,
                doc: &doc,
            },
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// base info

/// `get_host_base_info` (§5.8): one `{bk_property_id, bk_property_name, bk_property_value}` per
/// attribute of the host model in model order (list fields comma-joined, table fields null);
/// unknown host → 1110008.
pub fn base_info(tx: &mut dyn Tx, host_id: i64) -> Result<Vec<Value>, StoreError> {
    let Some(doc) = super::instances::get_doc(tx, "host", host_id)? else {
        return Err(DomainError::HostNotFound.into());
    };
    let schema = host_schema(tx)?;
    let mut out = Vec::with_capacity(schema.attrs.len());
    for a in &schema.attrs {
        let prop = a.attr.bk_property_id.as_str();
        let value = if is_list_field(prop) {
            wire_list(doc.get(prop))
        } else if matches!(
            a.ptype,
            Some(cmdb_domain::attribute::PropertyType::Table)
                | Some(cmdb_domain::attribute::PropertyType::Innertable)
        ) {
            Value::Null
        } else {
            doc.get(prop).cloned().unwrap_or(Value::Null)
        };
        out.push(
            json!({"bk_property_id": prop, "bk_property_name": a.attr.bk_property_name,
                        "bk_property_value": value}),
        );
    }
    Ok(out)
}

/// Does any module among `module_ids` / set among `set_ids` / business `biz_id` hold hosts?
/// (The deletion checks of the topology: 1101030 / 1101087.)
pub(crate) fn has_hosts(tx: &mut dyn Tx, column: HostScope, id: i64) -> Result<bool, StoreError> {
    let sql = match column {
        HostScope::Biz => "SELECT 1 FROM host_module WHERE biz_id = ? LIMIT 1",
        HostScope::Set => "SELECT 1 FROM host_module WHERE set_id = ? LIMIT 1",
        HostScope::Module => "SELECT 1 FROM host_module WHERE module_id = ? LIMIT 1",
    };
    Ok(!tx.query(sql, &[SqlValue::Int(id)])?.is_empty())
}

/// Which relation column [`has_hosts`] looks at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HostScope {
    /// Business.
    Biz,
    /// Set.
    Set,
    /// Module.
    Module,
}
