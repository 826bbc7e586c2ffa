//! The built-in data every cmdb-rs database starts with: classifications, the built-in models
//! with their attributes, association kinds, the mainline chain biz → set → module → host, the
//! resource-pool business with its idle set and idle/fault/recycle modules, and cloud areas 0 and
//! 90000001. Applied once, in one transaction, guarded by a `setting` row so concurrent first
//! starts of several processes on one database seed exactly once.

use cmdb_domain::model::{AssociationKind, Classification, Object, ObjectAssociation};
use serde_json::{json, Map, Value};

use super::instances::{insert_row, insert_unique_keys, InstanceRow};
use super::objects::{insert_association, insert_model, preset_attribute};
use super::schema_cache::ModelSchema;
use super::sets_modules::{insert_name_key, Level};
use super::util::encode;
use super::{classifications, OpContext};
use crate::{Dialect, SqlValue, StoreError, Tx};

/// Bumped when the seed grows; a database seeded by an older version gets the additions.
const SEED_VERSION: &str = "1";

/// Name of the idle-pool set every business has (platform-setting default).
pub const IDLE_SET_NAME: &str = "空闲机池";

/// The internal modules of the idle-pool set: name and `default` flag (idle, fault, recycle).
pub const IDLE_MODULES: [(&str, i64); 3] = [("空闲机", 1), ("故障机", 2), ("待回收", 3)];

/// Attribute spec: id, display name, type, required, option.
type AttrSpec = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    Option<Value>,
);

/// Built-in model spec: id, name, classification, icon, attributes, unique-rule properties, and
/// whether it is an ordinary ("common") model with `bk_inst_name`.
type ModelSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Vec<AttrSpec>,
    Vec<&'static str>,
    bool,
);

fn enum_opt(items: &[(&str, &str)], default: Option<&str>) -> Option<Value> {
    Some(Value::Array(
        items
            .iter()
            .map(|(id, name)| json!({"id": id, "name": name, "type": "text", "is_default": Some(*id) == default}))
            .collect(),
    ))
}

fn int_opt() -> Option<Value> {
    Some(json!({"min": "", "max": ""}))
}

/// Applies the seed if this database has not been seeded yet. Returns true when it seeded.
pub fn apply(tx: &mut dyn Tx) -> Result<bool, StoreError> {
    if tx.dialect() == Dialect::Postgres {
        // Several processes starting at once on an empty database: the first seeds, the others
        // wait here for its commit and then find its `seed_version` row (the PostgreSQL backend
        // writes in READ COMMITTED, so the next statement sees what committed meanwhile).
        // Keys: namespace "CMDB" (0x434d4442), 2 = seed (1 = migrations, in the backend).
        tx.query("SELECT 1 FROM pg_advisory_xact_lock(1129137218, 2)", &[])?;
    }
    let rows = tx.query("SELECT value FROM setting WHERE key = 'seed_version'", &[])?;
    if !rows.is_empty() {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO setting (key, value) VALUES ('seed_version', ?)",
        &[SEED_VERSION.into()],
    )?;
    let now_ms = cmdb_domain::time::now_millis();
    let now = cmdb_domain::time::format_millis(now_ms);
    let ctx = OpContext {
        user: "cc_system".into(),
        supplier: "0".into(),
        app_code: String::new(),
        now: now_ms,
    };

    for (id, name) in [
        ("bk_host_manage", "主机管理"),
        ("bk_biz_topo", "业务拓扑"),
        ("bk_organization", "组织架构"),
        ("bk_network", "网络"),
        ("bk_middleware", "中间件"),
        ("bk_uncategorized", "未分类"),
    ] {
        classifications::insert(
            tx,
            Classification {
                id: 0,
                bk_classification_id: id.into(),
                bk_classification_name: name.into(),
                bk_classification_type: "inner".into(),
                bk_classification_icon: "icon-cc-default".into(),
                bk_supplier_account: "0".into(),
            },
        )?;
    }

    for (id, name, src, dst) in [
        ("belong", "属于", "属于", "包含"),
        ("group", "组成", "组成", "组成于"),
        ("bk_mainline", "拓扑组成", "组成", "组成于"),
        ("run", "运行", "运行于", "运行"),
        ("connect", "上联", "上联", "下联"),
        ("default", "默认关联", "关联", "被关联"),
    ] {
        let mut kind = AssociationKind {
            id: tx.next_id("association_kind")?,
            bk_asst_id: id.into(),
            bk_asst_name: name.into(),
            src_des: src.into(),
            dest_des: dst.into(),
            direction: "src_to_dest".into(),
            ispre: true,
            bk_supplier_account: "0".into(),
        };
        kind.ispre = true;
        tx.execute(
            "INSERT INTO association_kind (id, asst_id, doc) VALUES (?, ?, ?)",
            &[SqlValue::Int(kind.id), id.into(), encode(&kind)?],
        )?;
    }

    let users = |id: &'static str, name: &'static str, req: bool| -> AttrSpec {
        (id, name, "objuser", req, None)
    };
    let text = |id: &'static str, name: &'static str| -> AttrSpec {
        (id, name, "singlechar", false, None)
    };
    let int =
        |id: &'static str, name: &'static str| -> AttrSpec { (id, name, "int", false, int_opt()) };
    let models: Vec<ModelSpec> = vec![
        (
            "biz",
            "业务",
            "bk_biz_topo",
            "icon-cc-business",
            vec![
                ("bk_biz_name", "业务名", "singlechar", true, None),
                users("bk_biz_maintainer", "运维人员", true),
                users("bk_biz_productor", "产品人员", false),
                users("bk_biz_developer", "开发人员", false),
                users("bk_biz_tester", "测试人员", false),
                users("operator", "操作人员", false),
                ("time_zone", "时区", "timezone", false, None),
                (
                    "language",
                    "语言",
                    "enum",
                    false,
                    enum_opt(&[("1", "中文"), ("2", "English")], Some("1")),
                ),
                (
                    "life_cycle",
                    "生命周期",
                    "enum",
                    false,
                    enum_opt(
                        &[("1", "测试中"), ("2", "已上线"), ("3", "停运")],
                        Some("2"),
                    ),
                ),
            ],
            vec!["bk_biz_name"],
            false,
        ),
        (
            "set",
            "集群",
            "bk_biz_topo",
            "icon-cc-set",
            vec![
                ("bk_set_name", "集群名", "singlechar", true, None),
                (
                    "bk_set_env",
                    "环境类型",
                    "enum",
                    false,
                    enum_opt(&[("1", "测试"), ("2", "体验"), ("3", "正式")], Some("3")),
                ),
                (
                    "bk_service_status",
                    "服务状态",
                    "enum",
                    false,
                    enum_opt(&[("1", "开放"), ("2", "关闭")], Some("1")),
                ),
                int("bk_capacity", "设计容量"),
                text("bk_set_desc", "集群描述"),
                text("description", "备注"),
                int("set_template_id", "集群模板ID"),
                int("bk_parent_id", "父节点ID"),
            ],
            vec![],
            false,
        ),
        (
            "module",
            "模块",
            "bk_biz_topo",
            "icon-cc-module",
            vec![
                ("bk_module_name", "模块名", "singlechar", true, None),
                (
                    "bk_module_type",
                    "模块类型",
                    "enum",
                    false,
                    enum_opt(&[("1", "普通"), ("2", "数据库")], Some("1")),
                ),
                users("operator", "主要维护人", false),
                users("bk_bak_operator", "备份维护人", false),
                int("service_template_id", "服务模板ID"),
                int("service_category_id", "服务分类ID"),
                int("set_template_id", "集群模板ID"),
                int("bk_parent_id", "父节点ID"),
                int("bk_set_id", "集群ID"),
            ],
            vec![],
            false,
        ),
        (
            "host",
            "主机",
            "bk_host_manage",
            "icon-cc-host",
            vec![
                text("bk_host_innerip", "内网IP"),
                text("bk_host_outerip", "外网IP"),
                text("bk_host_innerip_v6", "内网IPv6"),
                text("bk_host_outerip_v6", "外网IPv6"),
                int("bk_cloud_id", "管控区域"),
                (
                    "bk_addressing",
                    "寻址方式",
                    "enum",
                    false,
                    enum_opt(&[("static", "静态"), ("dynamic", "动态")], Some("static")),
                ),
                text("bk_agent_id", "GSE Agent ID"),
                text("bk_host_name", "主机名称"),
                (
                    "bk_os_type",
                    "操作系统类型",
                    "enum",
                    false,
                    enum_opt(
                        &[
                            ("1", "Linux"),
                            ("2", "Windows"),
                            ("3", "AIX"),
                            ("4", "Unix"),
                            ("5", "Solaris"),
                        ],
                        None,
                    ),
                ),
                text("bk_os_name", "操作系统名称"),
                text("bk_os_version", "操作系统版本"),
                text("bk_os_bit", "操作系统位数"),
                int("bk_cpu", "CPU逻辑核心数"),
                text("bk_cpu_module", "CPU型号"),
                (
                    "bk_cpu_architecture",
                    "CPU架构",
                    "enum",
                    false,
                    enum_opt(&[("x86", "X86"), ("arm", "ARM")], Some("x86")),
                ),
                int("bk_mem", "内存容量"),
                int("bk_disk", "磁盘容量"),
                text("bk_mac", "内网MAC地址"),
                text("bk_outer_mac", "外网MAC"),
                users("operator", "主要维护人", false),
                users("bk_bak_operator", "备份维护人", false),
                text("bk_sn", "设备SN"),
                text("bk_asset_id", "固资编号"),
                ("bk_comment", "备注", "longchar", false, None),
                text("bk_state", "当前状态"),
                text("bk_sla", "SLA级别"),
                text("bk_isp_name", "所属运营商"),
                text("bk_province_name", "所在省份"),
                text("bk_state_name", "所在国家"),
                int("bk_service_term", "质保年限"),
                text("bk_cloud_inst_id", "云主机实例ID"),
                text("bk_cloud_vendor", "云厂商"),
                text("bk_cloud_host_status", "云主机状态"),
                (
                    "import_from",
                    "录入方式",
                    "enum",
                    false,
                    enum_opt(&[("1", "excel"), ("2", "agent"), ("3", "api")], None),
                ),
            ],
            vec![],
            false,
        ),
        (
            "plat",
            "管控区域",
            "bk_host_manage",
            "icon-cc-subnet",
            vec![
                ("bk_cloud_name", "管控区域名称", "singlechar", true, None),
                text("bk_cloud_vendor", "云厂商"),
                text("bk_vpc_id", "VPC ID"),
                text("bk_vpc_name", "VPC名称"),
                text("bk_region", "地域"),
                int("bk_account_id", "云账户ID"),
                text("bk_status", "状态"),
                text("bk_status_detail", "状态详情"),
                users("bk_last_editor", "最后修改人", false),
                users("bk_creator", "创建者", false),
            ],
            vec!["bk_cloud_name"],
            false,
        ),
        (
            "process",
            "进程",
            "bk_host_manage",
            "icon-cc-process",
            vec![
                ("bk_process_name", "进程名称", "singlechar", true, None),
                text("bk_func_name", "进程名"),
                text("work_path", "工作路径"),
                text("user", "启动用户"),
                ("description", "备注", "longchar", false, None),
            ],
            vec![],
            false,
        ),
        (
            "bk_biz_set_obj",
            "业务集",
            "bk_biz_topo",
            "icon-cc-business-set",
            vec![
                ("bk_biz_set_name", "业务集名称", "singlechar", true, None),
                users("bk_biz_maintainer", "运维人员", false),
                ("bk_biz_set_desc", "业务集描述", "longchar", false, None),
            ],
            vec!["bk_biz_set_name"],
            false,
        ),
        (
            "bk_project",
            "项目",
            "bk_biz_topo",
            "icon-cc-project",
            vec![
                ("bk_project_name", "项目名称", "singlechar", true, None),
                text("bk_project_code", "项目英文名"),
                ("bk_project_desc", "项目描述", "longchar", false, None),
                users("bk_project_owner", "项目负责人", false),
            ],
            vec!["bk_project_name"],
            false,
        ),
        (
            "bk_switch",
            "交换机",
            "bk_network",
            "icon-cc-switch2",
            vec![
                text("bk_asset_id", "固资编号"),
                text("bk_sn", "设备SN"),
                text("bk_admin_ip", "管理IP"),
                text("bk_vendor", "厂商"),
            ],
            vec!["bk_inst_name"],
            true,
        ),
        (
            "bk_router",
            "路由器",
            "bk_network",
            "icon-cc-router",
            vec![
                text("bk_asset_id", "固资编号"),
                text("bk_sn", "设备SN"),
                text("bk_admin_ip", "管理IP"),
                text("bk_vendor", "厂商"),
            ],
            vec!["bk_inst_name"],
            true,
        ),
        (
            "bk_load_balance",
            "负载均衡",
            "bk_network",
            "icon-cc-balance",
            vec![
                text("bk_asset_id", "固资编号"),
                text("bk_sn", "设备SN"),
                text("bk_admin_ip", "管理IP"),
                text("bk_vendor", "厂商"),
            ],
            vec!["bk_inst_name"],
            true,
        ),
        (
            "bk_firewall",
            "防火墙",
            "bk_network",
            "icon-cc-firewall",
            vec![
                text("bk_asset_id", "固资编号"),
                text("bk_sn", "设备SN"),
                text("bk_admin_ip", "管理IP"),
                text("bk_vendor", "厂商"),
            ],
            vec!["bk_inst_name"],
            true,
        ),
        (
            "bk_weblogic",
            "Weblogic",
            "bk_middleware",
            "icon-cc-weblogic",
            vec![text("bk_ip", "IP"), int("bk_port", "端口")],
            vec!["bk_inst_name"],
            true,
        ),
        (
            "bk_apache",
            "Apache",
            "bk_middleware",
            "icon-cc-apache",
            vec![text("bk_ip", "IP"), int("bk_port", "端口")],
            vec!["bk_inst_name"],
            true,
        ),
        (
            "bk_tomcat",
            "Tomcat",
            "bk_middleware",
            "icon-cc-tomcat",
            vec![text("bk_ip", "IP"), int("bk_port", "端口")],
            vec!["bk_inst_name"],
            true,
        ),
    ];

    for (obj_id, name, cls, icon, attrs, unique, common) in models {
        let object = Object {
            id: 0,
            bk_obj_id: obj_id.into(),
            bk_obj_name: name.into(),
            bk_classification_id: cls.into(),
            bk_obj_icon: icon.into(),
            ispre: true,
            bk_ispaused: false,
            bk_ishidden: false,
            position: String::new(),
            description: String::new(),
            creator: "cc_system".into(),
            modifier: String::new(),
            obj_sort_number: 0,
            bk_supplier_account: "0".into(),
            create_time: now.clone(),
            last_time: now.clone(),
        };
        let extra = attrs
            .into_iter()
            .map(|(id, label, ptype, req, option)| {
                let mut a = preset_attribute(obj_id, id, label, ptype, "0", &now);
                a.isrequired = req;
                a.option = option.unwrap_or(Value::Null);
                if ptype == "enum" {
                    a.ismultiple = false;
                }
                a
            })
            .collect();
        insert_model(tx, object, extra, &unique, common)?;
    }

    for (child, parent) in [("set", "biz"), ("module", "set"), ("host", "module")] {
        insert_association(
            tx,
            ObjectAssociation {
                id: 0,
                bk_obj_asst_id: format!("{child}_bk_mainline_{parent}"),
                bk_obj_asst_name: String::new(),
                bk_obj_id: child.into(),
                bk_asst_obj_id: parent.into(),
                bk_asst_id: "bk_mainline".into(),
                mapping: "1:n".into(),
                on_delete: "none".into(),
                ispre: true,
                bk_supplier_account: "0".into(),
            },
        )?;
    }

    seed_instances(tx, &ctx)?;
    Ok(true)
}

/// Inserts one built-in instance document under an explicit id, with the unique-rule rows its
/// model's rules give it (so the resource pool's name is taken like any business name).
pub(crate) fn insert_builtin_instance(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    row: InstanceRow<'_>,
    doc: &Map<String, Value>,
) -> Result<(), StoreError> {
    let (obj_id, inst_id) = (row.obj_id, row.inst_id);
    insert_row(tx, ctx, row, doc)?;
    if let Some(schema) = ModelSchema::load(tx, obj_id, 0)? {
        insert_unique_keys(tx, &schema, inst_id, doc)?;
    }
    Ok(())
}

/// A built-in document with the server-owned fields every stored instance carries, stamped
/// with the caller's tenant, clock reading and user.
fn stamp_doc(mut v: Value, ctx: &OpContext) -> Map<String, Value> {
    let now = cmdb_domain::time::format_millis(ctx.now);
    if let Some(m) = v.as_object_mut() {
        m.insert("bk_supplier_account".into(), json!(ctx.supplier));
        m.insert("create_time".into(), json!(now));
        m.insert("last_time".into(), json!(now));
        m.insert("bk_created_at".into(), json!(now));
        m.insert("bk_updated_at".into(), json!(now));
        m.insert("bk_created_by".into(), json!(ctx.user));
        m.insert("bk_updated_by".into(), Value::Null);
        return m.clone();
    }
    Map::new()
}

/// One instance written by [`insert_idle_pool`]: model, id and stored document.
pub(crate) type CreatedInstance = (&'static str, i64, Map<String, Value>);

/// Creates the idle-pool set of business `biz` and its idle / fault / recycle modules
/// (30-topology §2.2), exactly as every business has them: the set with `default` 1 directly
/// below the business, the modules with `default` 1 / 2 / 3 below the set. Ids come from the
/// `set` and `module` sequences. Used by the seed (resource pool) and by `create_business`, in
/// the caller's transaction; returns what it wrote so the caller can audit it.
pub(crate) fn insert_idle_pool(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz: i64,
) -> Result<Vec<CreatedInstance>, StoreError> {
    let mut created = Vec::with_capacity(4);
    let set = tx.next_id("set")?;
    let set_doc = stamp_doc(
        json!({"bk_set_id": set, "bk_set_name": IDLE_SET_NAME, "default": 1, "bk_biz_id": biz,
               "bk_parent_id": biz, "bk_set_env": "3", "bk_service_status": "1", "bk_capacity": null,
               "bk_set_desc": "", "description": "", "set_template_id": 0, "set_template_version": null}),
        ctx,
    );
    insert_builtin_instance(
        tx,
        ctx,
        InstanceRow {
            obj_id: "set",
            inst_id: set,
            name: IDLE_SET_NAME,
            biz_id: biz,
            parent_id: biz,
        },
        &set_doc,
    )?;
    insert_name_key(tx, Level::Set, set, &set_doc)?;
    created.push(("set", set, set_doc));
    for (name, default) in IDLE_MODULES {
        let module = tx.next_id("module")?;
        let doc = stamp_doc(
            json!({"bk_module_id": module, "bk_module_name": name, "default": default, "bk_biz_id": biz,
                   "bk_set_id": set, "bk_parent_id": set, "bk_module_type": "1", "operator": "",
                   "bk_bak_operator": "", "service_template_id": 0, "service_category_id": 2,
                   "set_template_id": 0, "host_apply_enabled": false}),
            ctx,
        );
        insert_builtin_instance(
            tx,
            ctx,
            InstanceRow {
                obj_id: "module",
                inst_id: module,
                name,
                biz_id: biz,
                parent_id: set,
            },
            &doc,
        )?;
        insert_name_key(tx, Level::Module, module, &doc)?;
        created.push(("module", module, doc));
    }
    Ok(created)
}

fn seed_instances(tx: &mut dyn Tx, ctx: &OpContext) -> Result<(), StoreError> {
    let biz = tx.next_id("biz")?;
    insert_builtin_instance(
        tx,
        ctx,
        InstanceRow {
            obj_id: "biz",
            inst_id: biz,
            name: "资源池",
            biz_id: biz,
            parent_id: 0,
        },
        &stamp_doc(
            json!({"bk_biz_id": biz, "bk_biz_name": "资源池", "default": 1, "bk_biz_maintainer": "admin",
                   "bk_biz_productor": "", "bk_biz_developer": "", "bk_biz_tester": "", "operator": "",
                   "time_zone": "Asia/Shanghai", "language": "1", "life_cycle": "2"}),
            ctx,
        ),
    )?;
    insert_idle_pool(tx, ctx, biz)?;
    for (id, name) in [(0, "Default Area"), (90_000_001, "UnAssigned")] {
        insert_builtin_instance(
            tx,
            ctx,
            InstanceRow {
                obj_id: "plat",
                inst_id: id,
                name,
                biz_id: 0,
                parent_id: 0,
            },
            &stamp_doc(
                json!({"bk_cloud_id": id, "bk_cloud_name": name, "bk_status": "1", "bk_cloud_vendor": ""}),
                ctx,
            ),
        )?;
    }
    // Later cloud areas must not collide with the reserved ids.
    tx.execute(
        "INSERT INTO id_sequence (name, value) VALUES ('plat', 0) ON CONFLICT (name) DO NOTHING",
        &[],
    )?;
    Ok(())
}
