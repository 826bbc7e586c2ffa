//! Every way a request can be wrong in domain terms. Each variant corresponds to exactly one
//! bk-cmdb error code; the numeric code and the message texts live in `cmdb-api` (the only crate
//! that knows the wire), so a new variant does not compile until it has a code there.

use thiserror::Error;

/// A domain rule was broken. The `String` payloads are the field names or values that bk-cmdb puts
/// into its message templates (`'%s' unassigned` and so on).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// 1199000: the body (or a typed part of it) is not the JSON that was expected.
    #[error("json unmarshal failed")]
    JsonUnmarshal,
    /// 1199003: a URL/query parameter is unusable.
    #[error("invalid input parameter")]
    InputInvalid,
    /// 1199005: a required body is empty.
    #[error("input is empty")]
    BodyEmpty,
    /// 1199006: the value is present but does not pass verification.
    #[error("'{0}' data parameter verification does not pass")]
    ParamsInvalid(String),
    /// 1199007: the value must be a string.
    #[error("'{0}' must be a string type")]
    NeedString(String),
    /// 1199008: the field cannot be omitted.
    #[error("'{0}' cannot be omitted")]
    LostField(String),
    /// 1199009: the value must be an integer.
    #[error("'{0}' parameters must be integral")]
    NeedInt(String),
    /// 1199010: a required field is missing or empty.
    #[error("'{0}' unassigned")]
    NeedSet(String),
    /// 1199011: the value is invalid or refers to something that does not exist.
    #[error("'{0}' the parameter is invalid or does not exist")]
    IsInvalid(String),
    /// 1199012: `ismultiple` is not allowed for this type.
    #[error("'{0}' does not support multiple values")]
    MultipleNotAllowed(String),
    /// 1199014: a unique rule would be violated; payload lists the fields.
    #[error("duplicated instances exist, fields [{0}] duplicated")]
    Duplicate(String),
    /// 1199015: a value is longer or larger than allowed.
    #[error("data out of bounds")]
    OverLimit,
    /// 1199016: a string does not match the attribute's regular expression.
    #[error("'{0}' does not match the regular expression")]
    RegexMismatch(String),
    /// 1199019: the addressed object does not exist.
    #[error("no relevant data found")]
    NotFound,
    /// 1199024: not a valid time zone.
    #[error("'{0}' is not a valid time zone")]
    TimezoneInvalid(String),
    /// 1199025: not a bool.
    #[error("'{0}' must be a bool")]
    NeedBool(String),
    /// 1199035: a batch is larger than allowed.
    #[error("{0} exceed the limit {1}")]
    ExceedLimit(String, u64),
    /// 1199038: a batch call came without its details.
    #[error("need data details is null")]
    NeedDetails,
    /// 1199059: page limit too large.
    #[error("page limit is exceeded")]
    PageLimitExceeded,
    /// 1199073: a name or id is longer than allowed.
    #[error("{0} field exceeds maximum value {1}")]
    TooLong(String, u64),
    /// 1199075: mainline model instances need the topology API.
    #[error("forbidden operate mainline model instance with common instance API")]
    MainlineModelForbidden,
    /// 1199084: built-in model instances need their own API.
    #[error("forbidden operate inner model instance with common instance API")]
    InnerModelForbidden,
    /// 1199085: an attribute type nobody knows.
    #[error("unexpected type")]
    UnexpectedType,
    /// 1199087: another request is creating the same thing right now.
    #[error("concurrent create of the same object")]
    ConcurrentCreate,
    /// 1199089: array length outside 1..=max.
    #[error("the length of array {0} is wrong, the length must be in range 1~{1}")]
    ArrayLength(String, u64),
    /// 1199092: enum options declare the wrong number of defaults.
    #[error("'{0}' enum default value count is wrong")]
    EnumDefaultCount(String),
    /// 1101024: classification of a new model does not exist.
    #[error("query model classification failed")]
    ClassificationQueryFailed,
    /// 1101029: a classification that still holds models cannot go.
    #[error("there is a model under the category")]
    ClassificationHasModels,
    /// 1101037: a model with instances cannot be deleted.
    #[error("the object [{0}] has been instantiated and cannot be deleted")]
    ModelHasInstances(String),
    /// 1101053: a model that takes part in associations cannot be deleted.
    #[error("object has already been associated")]
    ModelAssociated,
    /// 1101069: a model keeps at least one unique rule.
    #[error("the model needs at least one set of required unique check items")]
    UniqueLastRule,
    /// 1101075: an instance with live associations cannot be deleted.
    #[error("the inst has association")]
    InstHasAssociation,
    /// 1101084: the model is paused.
    #[error("the model stopped to use")]
    ModelPaused,
    /// 1101092: mainline models take no required attributes.
    #[error("can not add required attribute field for a mainline model")]
    MainlineRequiredAttr,
    /// 1101109: an attribute's regex option does not compile.
    #[error("invalid regular expression '{0}'")]
    RegexInvalid(String),
    /// 1101113: update names a classification that does not exist.
    #[error("model classification not found")]
    ClassificationNotFound,
    /// 1101135: built-in models are permanent.
    #[error("prohibition of deleting the built-in model")]
    BuiltinModelDelete,
    /// 1101135-like refusal for other built-in items (classifications, groups, kinds) that
    /// upstream protects without a dedicated code (project decision).
    #[error("built-in {0} cannot be deleted or changed")]
    BuiltinItem(String),
    /// 1101166: only `property` keys exist in unique rules.
    #[error("unique key kind must be property")]
    UniqueKeyKind,
    /// 1101167: pre-set unique rules are permanent.
    #[error("pre-set unique rule cannot be changed")]
    UniquePreset,
    /// 1113001: a group holding attributes cannot be deleted.
    #[error("there are some fields under the group")]
    GroupHasAttributes,
    /// 1113024: attributes used by unique rules cannot be deleted.
    #[error("fields in unique checksums are not allowed to be deleted")]
    AttributeInUniqueRule,
    /// 1113035: this attribute type cannot be a unique key.
    #[error("the unique index does not support the field type, field name: {0}")]
    UniqueKeyType(String),
    /// 1113039: existing data already violates a new unique rule.
    #[error("failed to create unique index, value [{0}] duplicated")]
    UniqueDataDuplicated(String),
    /// 1113050: the same key set already exists.
    #[error("the unique rule already exists")]
    UniqueSame,
    /// 1113051: an existing rule is a subset of the new one.
    #[error("an existing unique rule is a subset of the new one")]
    UniqueSubset,
    /// 1113052: an existing rule is a superset of the new one.
    #[error("an existing unique rule is a superset of the new one")]
    UniqueSuperset,
    /// 1101030: hosts below the target forbid deletion.
    #[error("having hosts under the target, deleting forbidden")]
    HasHosts,
    /// 1101036: the instance is an end of an instance association to a live instance.
    #[error("instance has been associated")]
    InstBeenAssociated,
    /// 1101111: the built-in (resource-pool) business cannot be removed or archived.
    #[error("forbidden remove built in business")]
    BuiltinBizForbidden,
    /// 1101112: only archived businesses can be deleted.
    #[error("forbidden remove unarchived business")]
    UnarchivedBizDelete,
    /// 1101098: built-in sets and modules (idle pool) cannot be updated or deleted.
    #[error("forbidden remove or update built in set or module")]
    BuiltinSetModuleForbidden,
    /// 1101108: another set under the same parent already has this name.
    #[error("the same set name exist")]
    DuplicateSetName,
    /// 1101035: the mainline chain would get more levels than the platform allows.
    #[error("business topology level exceeds the limit")]
    TopoLevelExceeded,
    /// 1101149: removing a level would give one parent two children of the same name.
    #[error("there is an instance of a heavy name at this level, and the deletion failed")]
    MainlineNameClash,
    /// 1101048: a model named as a topology level is not a (non-host) level of the mainline
    /// chain.
    #[error("mainline object association not exist")]
    MainlineAssociationNotExist,
    /// 1199078: the business topology has no such node; also what upstream-compatible callers
    /// get when two levels that must be adjacent are not (30-topology §5.22). The payload is the
    /// offending object.
    #[error("module [{0}] in business topology does not exist")]
    TopoModuleNotFound(String),
    /// 1199083: the field is managed by the server (templates) and cannot be changed.
    #[error("modify field {0} forbidden")]
    ModifyFieldForbidden(String),
    /// 1199998: a resource_watch request upstream refuses with an uncoded error (unknown
    /// resource, bad field list, cursor and start time together, unreadable cursor ...); the
    /// message is the reason, as upstream's envelope carries it.
    #[error("{0}")]
    WatchRequest(String),
    /// 1103007: the cursor is not (or no longer) in the retained event chain; the client must
    /// start again from a time or from now.
    #[error("Event chain node not exist")]
    EventChainNodeNotExist,
    /// 1101087: a business that still has hosts cannot be archived.
    #[error("you are archiving a business that has hosts")]
    ArchiveBizWithHosts,
    /// 1101080: a transfer names a module that is not a normal module of the business.
    #[error("topo module not found")]
    TransferModuleNotFound,
    /// 1110004: host creation failed (some rows of an add call failed).
    #[error("failed to create host")]
    HostCreateFailed,
    /// 1110006: moving or deleting hosts failed (transfer_sethost_to_idle_module).
    #[error("failed to delete host")]
    HostDeleteFailed,
    /// 1110008: the host does not exist.
    #[error("the host could not be found")]
    HostNotFound,
    /// 1110030: a needed internal module is missing; payload says which.
    #[error("failed to add host to module, error: {0}")]
    AddHostToModuleFailed(String),
    /// 1110031: hosts cannot be moved into an archived business.
    #[error("failed to transfer host to biz, biz has been archived")]
    BizArchived,
    /// 1110051: return-to-pool without a business.
    #[error("the resource pool was not found")]
    ResourcePoolNotFound,
    /// 1110052: return-to-pool from the pool itself.
    #[error("the host is already in the resource pool")]
    AlreadyInResourcePool,
    /// 1110053: assign-from-pool without a business.
    #[error("failed to get resource pool information, {0}")]
    ResourcePoolInfoFailed(String),
    /// 1110054: the business has no such internal module; payload names it (`idle`).
    #[error("{0} module not found")]
    NamedModuleNotFound(String),
    /// 1110056: hosts are not where the operation requires them; payload lists their IPs.
    #[error("operation failed, the following host does not belong to the target module: {0}")]
    HostNotInTargetModule(String),
    /// 1110063: create_cloud_area without a name.
    #[error("failed to create bk-network area, required field bk_cloud_name is missing")]
    CloudNameMissing,
    /// 1110066: cloud area 0 is permanent.
    #[error("can't delete default bk-network area")]
    DefaultCloudDelete,
    /// 1113002: hosts that do not belong to the business; payload: host ids, business id.
    #[error("hostID [{0}] does not belong of businessID [{1}]")]
    HostNotInBiz(String, i64),
    /// 1113004: modules that do not belong to the business; payload: module ids, business id.
    #[error("moduleID [{0}] has not belong to businessID [{1}]")]
    ModuleNotInBiz(String, i64),
    /// 1113005: a multi-module or incremental transfer names an internal module.
    #[error("translate host to multiple module not contain inner module")]
    MultiModuleWithInner,
    /// 1113006: the business does not exist.
    #[error("business [{0}] does not exist")]
    BizNotExist(String),
    /// 1113013: a normal transfer names an internal module.
    #[error("transfer host to default module use the wrong method")]
    DefaultModuleWrongMethod,
    /// 1199052: several objects where one was expected (two resource pools).
    #[error("get multiple objects")]
    MultipleObjects,
    /// 1199076: the built-in cloud areas cannot be changed.
    #[error("forbidden update built in bk-network area")]
    BuiltinCloudUpdate,
    /// 1199079: the business does not exist (resource pool lookups).
    #[error("business [{0}] not exist")]
    BizNotFound(String),
    /// 1101038: a model association with the same source, target and kind exists (also the
    /// text batch_create_instance_association reports for an already existing instance pair).
    #[error("the associations {0}->{1} already exist")]
    AssociationExists(String, String),
    /// 1101043: a model association still has instance associations.
    #[error("the object association has been instantiated and cannot be deleted")]
    ObjAsstHasInstances,
    /// 1101045: `bk_asst_id`, `bk_obj_id` or `bk_asst_obj_id` of a model association is empty.
    #[error("the object association is missing a required parameter")]
    ObjAsstMissingParam,
    /// 1101046: the addressed model association does not exist.
    #[error("object association does not exist.")]
    ObjAsstNotExist,
    /// 1101047: an update names fields of a model association that never change.
    #[error("contains fields that are not allowed to be updated")]
    ObjAsstFieldForbidden,
    /// 1101051: pre-set association kinds are permanent.
    #[error("the preset association kind cannot be deleted or changed")]
    AsstKindPreset,
    /// 1101052: a 1:1 association's source or target already has its one link.
    #[error("can not create multiple instance association for a 1:1 association.")]
    InstAsstOneToOne,
    /// 1101054: pre-set model associations cannot be updated.
    #[error("the preset association cannot be updated")]
    ObjAsstPresetUpdate,
    /// 1101055: pre-set model associations cannot be deleted.
    #[error("the preset association cannot be deleted")]
    ObjAsstPresetDelete,
    /// 1101060: an association kind used by a model association cannot be deleted.
    #[error("the association kind is already in use")]
    AsstKindInUse,
    /// 1101061: the target of a 1:n association already has its one source.
    #[error("multiple source instances cannot be associated with one target in a 1:n association")]
    InstAsstOneToMany,
    /// 1101072: the named association kind does not exist.
    #[error("association kind does not exist")]
    AsstKindNotExist,
    /// 1101073: the source instance of an instance association does not exist.
    #[error("the association inst is not exist")]
    InstAsstSrcNotExist,
    /// 1101074: the target instance of an instance association does not exist.
    #[error("the association target inst is not exist")]
    InstAsstDstNotExist,
    /// 1101082: `bk_mainline` associations belong to the topology API.
    #[error("bk_mainline is a built-in association kind and cannot be used here")]
    MainlineAsstForbidden,
    /// 1113053: a concurrent create claimed the same association slot first (the database
    /// refused the second); retrying sees the winner.
    #[error("the instance association conflicts with a concurrent one, please retry")]
    InstAsstConflict,
    /// 1199011 wrapping another error: bk-cmdb's create/update validation reports the inner
    /// message inside `'%s' the parameter is invalid or does not exist`.
    #[error("'{0}' the parameter is invalid or does not exist")]
    Wrapped(Box<DomainError>),
}

impl DomainError {
    /// Wraps validation errors the way coreservice does on instance create/update (§3.1 step 9);
    /// already-wrapped errors are not wrapped twice.
    pub fn wrap(self) -> Self {
        match self {
            DomainError::Wrapped(_) => self,
            other => DomainError::Wrapped(Box::new(other)),
        }
    }
}
