//! Metadata records: classifications, models (objects), attributes, attribute groups and unique
//! rules. They are stored as JSON documents and their serde shape *is* the bk-cmdb record shape,
//! because every one of their fields is part of the wire contract (10-models.md) and a second copy
//! of each struct would only drift.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Models whose instances have their own APIs (30-topology, 40-hosts); the generic instance
/// endpoints refuse them with 1199084.
pub const BUILTIN_INSTANCE_MODELS: &[&str] = &[
    "biz",
    "set",
    "module",
    "host",
    "process",
    "plat",
    "bk_biz_set_obj",
    "bk_project",
];

/// True when `obj_id` is one of the models the generic instance API must refuse.
pub fn is_builtin_instance_model(obj_id: &str) -> bool {
    BUILTIN_INSTANCE_MODELS.contains(&obj_id)
}

/// A model classification (a folder of models in the UI).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Classification {
    /// Database id, used in update/delete paths.
    pub id: i64,
    /// Stable string id (`bk_network`).
    pub bk_classification_id: String,
    /// Display name, unique.
    pub bk_classification_name: String,
    /// `inner` for built-ins, `""` for custom, `hidden` never listed.
    #[serde(default)]
    pub bk_classification_type: String,
    /// UI icon.
    #[serde(default)]
    pub bk_classification_icon: String,
    /// Tenant.
    #[serde(default = "default_supplier")]
    pub bk_supplier_account: String,
}

/// A model (bk-cmdb "object"). Every field is always serialised (upstream has no omitempty).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Object {
    /// Database id, used in update/delete paths.
    pub id: i64,
    /// Stable string id of the model.
    pub bk_obj_id: String,
    /// Display name, unique across models.
    pub bk_obj_name: String,
    /// Owning classification.
    pub bk_classification_id: String,
    /// UI icon.
    #[serde(default)]
    pub bk_obj_icon: String,
    /// Pre-set by the system.
    #[serde(default)]
    pub ispre: bool,
    /// Paused models take no new instances.
    #[serde(default)]
    pub bk_ispaused: bool,
    /// Hidden from the UI.
    #[serde(default)]
    pub bk_ishidden: bool,
    /// JSON text of the topology-graph position.
    #[serde(default)]
    pub position: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Who created it.
    #[serde(default)]
    pub creator: String,
    /// Who changed it last.
    #[serde(default)]
    pub modifier: String,
    /// Sort key in the UI, ≥ 0.
    #[serde(default)]
    pub obj_sort_number: i64,
    /// Tenant.
    #[serde(default = "default_supplier")]
    pub bk_supplier_account: String,
    /// Creation time, wire format.
    #[serde(default)]
    pub create_time: String,
    /// Last change, wire format.
    #[serde(default)]
    pub last_time: String,
}

/// An attribute (property) of a model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attribute {
    /// Database id; unique rules refer to attributes by it.
    pub id: i64,
    /// Owning model.
    pub bk_obj_id: String,
    /// Key of the value inside instances.
    pub bk_property_id: String,
    /// Display name (used in validation messages).
    pub bk_property_name: String,
    /// One of the property types of 10-models §4.1 (kept as text so unknown stored types
    /// surface as 1199085 at validation instead of failing to load).
    pub bk_property_type: String,
    /// Group id.
    #[serde(default = "default_group")]
    pub bk_property_group: String,
    /// Display position inside the group.
    #[serde(default)]
    pub bk_property_index: i64,
    /// Unit shown next to the value.
    #[serde(default)]
    pub unit: String,
    /// Input hint.
    #[serde(default)]
    pub placeholder: String,
    /// `false`: ignored by generic updates.
    #[serde(default = "default_true")]
    pub editable: bool,
    /// Key must be present on create.
    #[serde(default)]
    pub isrequired: bool,
    /// UI hint.
    #[serde(default)]
    pub isreadonly: bool,
    /// Historical "unique" flag.
    #[serde(default)]
    pub isonly: bool,
    /// Pre-set by the system.
    #[serde(default)]
    pub ispre: bool,
    /// Hidden system field.
    #[serde(default)]
    pub bk_issystem: bool,
    /// API-only field.
    #[serde(default)]
    pub bk_isapi: bool,
    /// Type-specific option (regex, range, enum list ...).
    #[serde(default)]
    pub option: Value,
    /// Default value used when the key is absent on create.
    #[serde(default)]
    pub default: Value,
    /// Multi-valued (enummulti, objuser, organization, enumquote).
    #[serde(default)]
    pub ismultiple: bool,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Who created it.
    #[serde(default)]
    pub creator: String,
    /// 0 = global attribute; > 0 = private to that business.
    #[serde(default)]
    pub bk_biz_id: i64,
    /// Field template it came from (0 = none).
    #[serde(default)]
    pub bk_template_id: i64,
    /// Tenant.
    #[serde(default = "default_supplier")]
    pub bk_supplier_account: String,
    /// Creation time, wire format.
    #[serde(default)]
    pub create_time: String,
    /// Last change, wire format.
    #[serde(default)]
    pub last_time: String,
}

/// An attribute group of a model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttributeGroup {
    /// Database id.
    pub id: i64,
    /// Owning model.
    pub bk_obj_id: String,
    /// Group id (ModelID rules).
    pub bk_group_id: String,
    /// Display name.
    pub bk_group_name: String,
    /// Display position.
    #[serde(default)]
    pub bk_group_index: i64,
    /// The model's default group.
    #[serde(default)]
    pub bk_isdefault: bool,
    /// Pre-set by the system.
    #[serde(default)]
    pub ispre: bool,
    /// Collapsed in the UI.
    #[serde(default)]
    pub is_collapse: bool,
    /// 0 = global; > 0 = business-private group.
    #[serde(default)]
    pub bk_biz_id: i64,
    /// Tenant.
    #[serde(default = "default_supplier")]
    pub bk_supplier_account: String,
}

/// One key of a unique rule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UniqueKey {
    /// Always `property`.
    pub key_kind: String,
    /// Numeric attribute id.
    pub key_id: i64,
}

/// A unique rule: no two instances of the model may share values for all of `keys`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UniqueRule {
    /// Database id.
    pub id: i64,
    /// Owning model.
    pub bk_obj_id: String,
    /// The attributes that together must be unique.
    pub keys: Vec<UniqueKey>,
    /// Pre-set by the system.
    #[serde(default)]
    pub ispre: bool,
    /// Field template it came from (0 = none).
    #[serde(default)]
    pub bk_template_id: i64,
    /// Tenant.
    #[serde(default = "default_supplier")]
    pub bk_supplier_account: String,
    /// Last change, wire format.
    #[serde(default)]
    pub last_time: String,
}

/// An association kind (`bk_asst_id`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AssociationKind {
    /// Database id.
    pub id: i64,
    /// String id (`belong`, `bk_mainline` ...).
    pub bk_asst_id: String,
    /// Display name.
    pub bk_asst_name: String,
    /// Label from the source side.
    #[serde(default)]
    pub src_des: String,
    /// Label from the target side.
    #[serde(default)]
    pub dest_des: String,
    /// `src_to_dest`, `dest_to_src` or `none`.
    #[serde(default)]
    pub direction: String,
    /// Pre-set by the system.
    #[serde(default)]
    pub ispre: bool,
    /// Tenant.
    #[serde(default = "default_supplier")]
    pub bk_supplier_account: String,
}

/// A model association (source model → target model of some kind).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ObjectAssociation {
    /// Database id.
    pub id: i64,
    /// Client-chosen unique id, conventionally `<src>_<kind>_<dst>`.
    pub bk_obj_asst_id: String,
    /// Display name.
    #[serde(default)]
    pub bk_obj_asst_name: String,
    /// Source model (the child for mainline).
    pub bk_obj_id: String,
    /// Target model (the parent for mainline).
    pub bk_asst_obj_id: String,
    /// Kind.
    pub bk_asst_id: String,
    /// `1:1`, `1:n` or `n:n`.
    #[serde(default)]
    pub mapping: String,
    /// `none`, `delete_src`, `delete_dest`.
    #[serde(default)]
    pub on_delete: String,
    /// Pre-set by the system.
    #[serde(default)]
    pub ispre: bool,
    /// Tenant.
    #[serde(default = "default_supplier")]
    pub bk_supplier_account: String,
}

fn default_supplier() -> String {
    "0".to_string()
}
fn default_group() -> String {
    "default".to_string()
}
fn default_true() -> bool {
    true
}
