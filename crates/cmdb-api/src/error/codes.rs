//! THE mapping from errors to bk-cmdb codes, HTTP statuses and messages (English and Chinese).
//! Exhaustive matches without wildcard arms: a new error variant does not compile until it has
//! its code here.

use axum::http::StatusCode;
use cmdb_domain::DomainError;
use cmdb_store::StoreError;

use super::{ApiError, AuthFailure};

/// Message language, from `Blueking-Language` / `Accept-Language` / `X-Bkcmdb-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English texts of `resources/errors/english`.
    En,
    /// Chinese texts.
    Zh,
}

impl Lang {
    /// Values starting with `en` are English; anything else (including absence) is Chinese,
    /// as upstream defaults.
    pub fn from_header(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.trim().to_ascii_lowercase().starts_with("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
}

/// Code and message of a domain error.
pub fn domain(e: &DomainError, lang: Lang) -> (i64, String) {
    use DomainError as D;
    let zh = lang == Lang::Zh;
    let t = |en: String, cn: String| if zh { cn } else { en };
    match e {
        D::JsonUnmarshal => (
            1199000,
            t(
                "Deserializing JSON data failed".into(),
                "JSON数据反序列化失败".into(),
            ),
        ),
        D::InputInvalid => (
            1199003,
            t("invalid input parameter".into(), "输入参数无效".into()),
        ),
        D::BodyEmpty => (1199005, t("The input is empty".into(), "输入为空".into())),
        D::ParamsInvalid(f) => (
            1199006,
            t(
                format!("'{f}' data parameter verification does not pass"),
                format!("'{f}' 数据参数校验不通过"),
            ),
        ),
        D::NeedString(f) => (
            1199007,
            t(
                format!("'{f}' must be a string type"),
                format!("'{f}' 必须为字符串类型"),
            ),
        ),
        D::LostField(f) => (
            1199008,
            t(
                format!("'{f}' cannot be omitted"),
                format!("'{f}' 不能省略"),
            ),
        ),
        D::NeedInt(f) => (
            1199009,
            t(
                format!("'{f}' parameters must be integral"),
                format!("'{f}' 参数必须为整数"),
            ),
        ),
        D::NeedSet(f) => (
            1199010,
            t(format!("'{f}' unassigned"), format!("'{f}' 未赋值")),
        ),
        D::IsInvalid(f) => (
            1199011,
            t(
                format!("'{f}' the parameter is invalid or does not exist"),
                format!("'{f}' 参数无效或不存在"),
            ),
        ),
        D::MultipleNotAllowed(f) => (
            1199012,
            t(
                format!("'{f}' can not be multiple"),
                format!("'{f}' 不支持多值"),
            ),
        ),
        D::Duplicate(f) => (
            1199014,
            t(
                format!("duplicated instances exist, fields [{f}] duplicated"),
                format!("存在重复的实例，字段 [{f}] 重复"),
            ),
        ),
        D::OverLimit => (1199015, t("Data out of bounds".into(), "数据越界".into())),
        D::RegexMismatch(f) => (
            1199016,
            t(
                format!("'{f}' does not match the regular expression"),
                format!("'{f}' 不匹配正则表达式"),
            ),
        ),
        D::NotFound => (
            1199019,
            t("No relevant data found".into(), "未找到相关数据".into()),
        ),
        D::TimezoneInvalid(f) => (
            1199024,
            t(
                format!("'{f}' is not a valid time zone"),
                format!("'{f}' 不是有效的时区"),
            ),
        ),
        D::NeedBool(f) => (
            1199025,
            t(
                format!("'{f}' must be a bool"),
                format!("'{f}' 必须为布尔值"),
            ),
        ),
        D::ExceedLimit(f, n) => (
            1199035,
            t(
                format!("{f} exceed the limit {n}"),
                format!("{f} 超过上限 {n}"),
            ),
        ),
        D::NeedDetails => (
            1199038,
            t(
                "need data details is null".into(),
                "需要的数据明细为空".into(),
            ),
        ),
        D::PageLimitExceeded => (
            1199059,
            t(
                "page limit is exceeded. suggestion 200".into(),
                "分页大小超过限制，建议 200".into(),
            ),
        ),
        D::TooLong(f, n) => (
            1199073,
            t(
                format!("{f} field exceeds maximum value {n}"),
                format!("{f} 字段超过最大长度 {n}"),
            ),
        ),
        D::MainlineModelForbidden => (
            1199075,
            t(
                "forbidden operate mainline model instance with common instance API".into(),
                "禁止使用通用实例接口操作主线模型实例".into(),
            ),
        ),
        D::InnerModelForbidden => (
            1199084,
            t(
                "forbidden operate inner model instance with common instance API".into(),
                "禁止使用通用实例接口操作内置模型实例".into(),
            ),
        ),
        D::UnexpectedType => (1199085, t("unexpected type".into(), "非预期的类型".into())),
        D::ConcurrentCreate => (
            1199087,
            t(
                "the same data is being created concurrently".into(),
                "相同数据正在并发创建".into(),
            ),
        ),
        D::ArrayLength(f, n) => (
            1199089,
            t(
                format!("the length of array {f} is wrong, the length must be in range 1~{n}"),
                format!("数组 {f} 长度错误，必须在 1~{n} 之间"),
            ),
        ),
        D::EnumDefaultCount(f) => (
            1199092,
            t(
                format!("'{f}' must have exactly one default option"),
                format!("'{f}' 必须且只能有一个默认选项"),
            ),
        ),
        D::ClassificationQueryFailed => (
            1101024,
            t(
                "Query model classification failed".into(),
                "查询模型分类失败".into(),
            ),
        ),
        D::ClassificationHasModels => (
            1101029,
            t(
                "There is a model under the category, not allowed to delete".into(),
                "分类下存在模型，不允许删除".into(),
            ),
        ),
        D::ModelHasInstances(o) => (
            1101037,
            t(
                format!("the object [{o}] has been instantiated and cannot be deleted"),
                format!("模型 [{o}] 已经被实例化，不能删除"),
            ),
        ),
        D::ModelAssociated => (
            1101053,
            t(
                "object has already been associated.".into(),
                "模型已经被关联".into(),
            ),
        ),
        D::UniqueLastRule => (
            1101069,
            t(
                "The model needs at least one set of required unique check items".into(),
                "模型至少需要一组必须的唯一校验".into(),
            ),
        ),
        D::AssociationExists(src, dst) => (
            1101038,
            t(
                format!("the associations {src}->{dst} already exist"),
                format!("关联关系 {src}->{dst} 已经存在"),
            ),
        ),
        D::ObjAsstHasInstances => (
            1101043,
            t(
                "the object association has been instantiated and cannot be deleted".into(),
                "模型关联已经实例化，不能删除".into(),
            ),
        ),
        D::ObjAsstMissingParam => (
            1101045,
            t(
                "the object association is missing a required parameter".into(),
                "模型关联缺少相关参数".into(),
            ),
        ),
        D::ObjAsstNotExist => (
            1101046,
            t(
                "object association does not exist.".into(),
                "模型关联不存在".into(),
            ),
        ),
        D::ObjAsstFieldForbidden => (
            1101047,
            t(
                "contains fields that are not allowed to be updated".into(),
                "包含不允许更新的字段".into(),
            ),
        ),
        D::AsstKindPreset => (
            1101051,
            t(
                "the preset association kind cannot be deleted or changed".into(),
                "预置关联类型不能删除或修改".into(),
            ),
        ),
        D::InstAsstOneToOne => (
            1101052,
            t(
                "can not create multiple instance association for a 1:1 association.".into(),
                "1:1 关联关系不能关联多个实例".into(),
            ),
        ),
        D::ObjAsstPresetUpdate => (
            1101054,
            t(
                "the preset association cannot be updated".into(),
                "禁止更新预定义的关联".into(),
            ),
        ),
        D::ObjAsstPresetDelete => (
            1101055,
            t(
                "the preset association cannot be deleted".into(),
                "禁止删除预定义的关联".into(),
            ),
        ),
        D::AsstKindInUse => (
            1101060,
            t(
                "the association kind is already in use".into(),
                "关联类型已经被使用".into(),
            ),
        ),
        D::InstAsstOneToMany => (
            1101061,
            t(
                "multiple source instances cannot be associated with one target in a 1:n association".into(),
                "1:n 关联关系的目标实例只能有一个源实例".into(),
            ),
        ),
        D::AsstKindNotExist => (
            1101072,
            t(
                "association kind does not exist".into(),
                "关联类型不存在".into(),
            ),
        ),
        D::InstAsstSrcNotExist => (
            1101073,
            t(
                "the association inst is not exist".into(),
                "关联的源实例不存在".into(),
            ),
        ),
        D::InstAsstDstNotExist => (
            1101074,
            t(
                "the association target inst is not exist".into(),
                "关联的目标实例不存在".into(),
            ),
        ),
        D::MainlineAsstForbidden => (
            1101082,
            t(
                "bk_mainline is a built-in association kind and cannot be used here".into(),
                "bk_mainline 是内置关联类型，不能在当前场景使用".into(),
            ),
        ),
        D::InstAsstConflict => (
            1113053,
            t(
                "the instance association conflicts with a concurrent one, please retry".into(),
                "实例关联与并发请求冲突，请重试".into(),
            ),
        ),
        D::InstHasAssociation => (
            1101075,
            t("the inst has association".into(), "实例存在关联关系".into()),
        ),
        D::ModelPaused => (
            1101084,
            t("the model stopped to use".into(), "模型已停用".into()),
        ),
        D::MainlineRequiredAttr => (
            1101092,
            t(
                "can not add required attribute field for a mainline model".into(),
                "主线模型不能添加必填字段".into(),
            ),
        ),
        D::RegexInvalid(p) => (
            1101109,
            t(
                format!("invalid regular expression: {p}"),
                format!("无效的正则表达式: {p}"),
            ),
        ),
        D::ClassificationNotFound => (
            1101113,
            t(
                "model classification not found".into(),
                "模型分类不存在".into(),
            ),
        ),
        D::BuiltinModelDelete => (
            1101135,
            t(
                "Prohibition of deleting the built-in model".into(),
                "禁止删除内置模型".into(),
            ),
        ),
        D::BuiltinItem(what) => (
            1101135,
            t(
                format!("built-in {what} cannot be deleted or changed"),
                format!("内置{what}不能删除或修改"),
            ),
        ),
        D::UniqueKeyKind => (
            1101166,
            t(
                "the unique key kind must be property".into(),
                "唯一校验的键类型必须为 property".into(),
            ),
        ),
        D::UniquePreset => (
            1101167,
            t(
                "pre-set unique rule cannot be changed".into(),
                "内置唯一校验不能修改".into(),
            ),
        ),
        D::GroupHasAttributes => (
            1113001,
            t(
                "there are some fields under the group".into(),
                "分组下存在字段".into(),
            ),
        ),
        D::AttributeInUniqueRule => (
            1113024,
            t(
                "fields in unique checksums are not allowed to be deleted".into(),
                "唯一校验中的字段不允许删除".into(),
            ),
        ),
        D::UniqueKeyType(f) => (
            1113035,
            t(
                format!("The unique index does not support the field type. Field name: {f}"),
                format!("唯一校验不支持该字段类型，字段名: {f}"),
            ),
        ),
        D::UniqueDataDuplicated(v) => (
            1113039,
            t(
                format!("Failed to create unique index, value [{v}] duplicated"),
                format!("创建唯一索引失败，值 [{v}] 重复"),
            ),
        ),
        D::UniqueSame => (
            1113050,
            t(
                "the same unique rule already exists".into(),
                "相同的唯一校验已存在".into(),
            ),
        ),
        D::UniqueSubset => (
            1113051,
            t(
                "an existing unique rule is a subset of this one".into(),
                "已存在的唯一校验是该校验的子集".into(),
            ),
        ),
        D::UniqueSuperset => (
            1113052,
            t(
                "an existing unique rule is a superset of this one".into(),
                "已存在的唯一校验是该校验的超集".into(),
            ),
        ),
        D::HasHosts => (
            1101030,
            t(
                "Having hosts under the target, deleting forbidden".into(),
                "目标下存在主机，禁止删除".into(),
            ),
        ),
        D::InstBeenAssociated => (
            1101036,
            t(
                "instance has been associated".into(),
                "实例已经被关联".into(),
            ),
        ),
        D::BuiltinBizForbidden => (
            1101111,
            t(
                "forbidden remove built in business".into(),
                "禁止删除内置业务".into(),
            ),
        ),
        D::BuiltinSetModuleForbidden => (
            1101098,
            t(
                "forbidden remove or update built in set or module".into(),
                "禁止删除或更新内置的集群或模块".into(),
            ),
        ),
        D::MainlineAssociationNotExist => (
            1101048,
            t(
                "mainline object association not exist".into(),
                "主线模型关联关系不存在".into(),
            ),
        ),
        D::TopoModuleNotFound(what) => (
            1199078,
            t(
                format!("module [{what}] in business topology does not exist"),
                format!("业务拓扑中的模块[{what}]不存在"),
            ),
        ),
        D::DuplicateSetName => (
            1101108,
            t("the same set name exist".into(), "存在同名的集群".into()),
        ),
        D::TopoLevelExceeded => (
            1101035,
            t(
                "Business topology level exceeds the limit".into(),
                "业务拓扑层级超过限制".into(),
            ),
        ),
        D::MainlineNameClash => (
            1101149,
            t(
                "There is an instance of a heavy name at this level, and the deletion failed."
                    .into(),
                "该层级下存在重名实例，删除失败".into(),
            ),
        ),
        D::WatchRequest(why) => (1199998, why.clone()),
        D::EventChainNodeNotExist => (
            1103007,
            t(
                "Event chain node not exist".into(),
                "事件链节点不存在".into(),
            ),
        ),
        D::ModifyFieldForbidden(field) => (
            1199083,
            t(
                format!("modify field {field} forbidden"),
                format!("禁止修改字段 {field}"),
            ),
        ),
        D::UnarchivedBizDelete => (
            1101112,
            t(
                "forbidden remove unarhived business".into(),
                "禁止删除未归档的业务".into(),
            ),
        ),
        D::ArchiveBizWithHosts => (
            1101087,
            t(
                "you are archiving a business that has hosts".into(),
                "归档的业务下存在主机".into(),
            ),
        ),
        D::TransferModuleNotFound => (
            1101080,
            t("topo module not found".into(), "拓扑模块不存在".into()),
        ),
        D::HostCreateFailed => (
            1110004,
            t("Failed to create host".into(), "创建主机失败".into()),
        ),
        D::HostDeleteFailed => (
            1110006,
            t("Failed to delete host".into(), "删除主机失败".into()),
        ),
        D::HostNotFound => (
            1110008,
            t("The host could not be found".into(), "主机不存在".into()),
        ),
        D::AddHostToModuleFailed(why) => (
            1110030,
            t(
                format!("Failed to add host to module, error:{why}"),
                format!("添加主机到模块失败，错误：{why}"),
            ),
        ),
        D::BizArchived => (
            1110031,
            t(
                "Failed to transfer host to biz, biz has been archived".into(),
                "转移主机到业务失败，业务已归档".into(),
            ),
        ),
        D::ResourcePoolNotFound => (
            1110051,
            t(
                "The resource pool was not found".into(),
                "资源池不存在".into(),
            ),
        ),
        D::AlreadyInResourcePool => (
            1110052,
            t(
                "The host is already in the resource pool".into(),
                "主机已在资源池中".into(),
            ),
        ),
        D::ResourcePoolInfoFailed(why) => (
            1110053,
            t(
                format!("Failed to get resource pool information, {why}"),
                format!("获取资源池信息失败，{why}"),
            ),
        ),
        D::NamedModuleNotFound(which) => (
            1110054,
            t(
                format!("{which} module not found"),
                format!("{which} 模块不存在"),
            ),
        ),
        D::HostNotInTargetModule(ips) => (
            1110056,
            t(
                format!(
                    "Operation failed, the following host does not belong to the target module: {ips}"
                ),
                format!("操作失败，以下主机不属于目标模块：{ips}"),
            ),
        ),
        D::CloudNameMissing => (
            1110063,
            t(
                "Failed to create bk-network area, required field bk_cloud_name is missing".into(),
                "创建管控区域失败，缺少必填字段 bk_cloud_name".into(),
            ),
        ),
        D::DefaultCloudDelete => (
            1110066,
            t(
                "can't delete default bk-network area".into(),
                "不能删除默认管控区域".into(),
            ),
        ),
        D::HostNotInBiz(hosts, biz) => (
            1113002,
            t(
                format!("hostID [{hosts}] does not belong of  businessID [{biz}]"),
                format!("主机 [{hosts}] 不属于业务 [{biz}]"),
            ),
        ),
        D::ModuleNotInBiz(modules, biz) => (
            1113004,
            t(
                format!("ModuleID [{modules}] has not belong to  businessID [{biz}]"),
                format!("模块 [{modules}] 不属于业务 [{biz}]"),
            ),
        ),
        D::MultiModuleWithInner => (
            1113005,
            t(
                "translate host to multiple module not contain inner module".into(),
                "转移主机到多个模块时不能包含内置模块".into(),
            ),
        ),
        D::BizNotExist(biz) => (
            1113006,
            t(
                format!("Business [{biz}] does not exist"),
                format!("业务 [{biz}] 不存在"),
            ),
        ),
        D::DefaultModuleWrongMethod => (
            1113013,
            t(
                "transfer host to default module use the wrong method".into(),
                "转移主机到内置模块使用了错误的方法".into(),
            ),
        ),
        D::MultipleObjects => (
            1199052,
            t("get multiple objects".into(), "获取到多个对象".into()),
        ),
        D::BuiltinCloudUpdate => (
            1199076,
            t(
                "forbidden update built in bk-network area".into(),
                "禁止更新内置管控区域".into(),
            ),
        ),
        D::BizNotFound(biz) => (
            1199079,
            t(
                format!("business [{biz}] not exist"),
                format!("业务 [{biz}] 不存在"),
            ),
        ),
        D::Wrapped(inner) => {
            let (_, msg) = domain(inner, lang);
            (
                1199011,
                t(
                    format!("'{msg}' the parameter is invalid or does not exist"),
                    format!("'{msg}' 参数无效或不存在"),
                ),
            )
        }
    }
}

/// Status, code and message of any API error.
pub fn describe(e: &ApiError, lang: Lang) -> (StatusCode, i64, String) {
    let zh = lang == Lang::Zh;
    match e {
        ApiError::Domain(d) | ApiError::WithData(d, _) => {
            let (code, msg) = domain(d, lang);
            (StatusCode::OK, code, msg)
        }
        ApiError::Store(s) => match s {
            StoreError::Domain(d) => {
                let (code, msg) = domain(d, lang);
                (StatusCode::OK, code, msg)
            }
            StoreError::UniqueViolation { .. } => {
                let (code, msg) = domain(&DomainError::Duplicate(String::new()), lang);
                (StatusCode::OK, code, msg)
            }
            StoreError::ForeignKeyViolation { .. } => {
                // Only a racing delete of the model (or classification) gets here: the ops map
                // the cases they can tell apart to their own codes first.
                let (code, msg) = domain(&DomainError::IsInvalid("bk_obj_id".into()), lang);
                (StatusCode::OK, code, msg)
            }
            StoreError::Unavailable(_) => (
                StatusCode::OK,
                1199017,
                if zh {
                    "查询数据失败：数据库不可用".into()
                } else {
                    "Failed to query data: database unavailable".into()
                },
            ),
            StoreError::Corrupt(_) | StoreError::Backend(_) => (
                StatusCode::OK,
                1199999,
                if zh {
                    "'数据库' 内部服务错误".into()
                } else {
                    "'database' Internal Server Error".into()
                },
            ),
        },
        ApiError::Auth(f) => {
            let msg = match f {
                AuthFailure::MissingApp => "'bk_app_code' authorization information query failed",
                AuthFailure::BadSecret => "app authentication failed",
                AuthFailure::NoUser => "'bk_username' authorization information query failed",
            };
            (StatusCode::UNAUTHORIZED, 1199027, msg.to_string())
        }
        ApiError::MissingIdentity(what) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            1199027,
            format!("'{what}' authorization information query failed"),
        ),
        ApiError::UnknownApi(name) => (
            StatusCode::NOT_FOUND,
            1199003,
            format!("api {name} not found"),
        ),
        ApiError::RouteNotFound(status) => {
            let st = StatusCode::from_u16(*status).unwrap_or(StatusCode::NOT_FOUND);
            (
                st,
                -1,
                format!(
                    "HTTP ERROR: {}, {}",
                    st.as_u16(),
                    st.canonical_reason().unwrap_or("")
                ),
            )
        }
        ApiError::BodyTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            1199003,
            if zh {
                "请求体超过 10 MiB 上限".into()
            } else {
                "invalid input parameter: request body exceeds 10 MiB".into()
            },
        ),
    }
}
