//! The benchmark data generators: `cmdb gen-topo` (a large mainline topology: businesses,
//! custom levels, sets, modules), `cmdb gen-assoc` (instance associations) and `cmdb gen-hosts`
//! (hosts over many businesses), for benchmarks and by-hand checks.
//!
//! They run the same store operations as the API (validation, unique keys, audit, events), in
//! transactions of a few hundred objects, so the data is exactly what clients would have
//! produced, only without HTTP in the way. Links and hosts, which come by the hundred
//! thousand, go through bulk paths that store the same rows and keys but no audit per item.

use std::collections::HashMap;
use std::time::Instant;

use clap::Args;
use cmdb_store::ops::{business, instances, mainline, sets_modules, OpContext};
use cmdb_store::{Store, StoreError};
use serde_json::{json, Map, Value};

/// Settings of `cmdb gen-topo`.
#[derive(Debug, Clone, Args)]
pub struct GenConfig {
    /// Data directory of the embedded store (as `serve --data`).
    #[arg(long, env = "CMDB_DATA", default_value = "./cmdb-data")]
    pub data: std::path::PathBuf,
    /// Database URL (as `serve --database`); wins over `--data`.
    #[arg(long, env = "CMDB_DATABASE_URL")]
    pub database: Option<String>,
    /// Businesses to create.
    #[arg(long, default_value_t = 1)]
    pub businesses: usize,
    /// Custom levels inserted between business and set (existing ones are reused).
    #[arg(long, default_value_t = 2)]
    pub levels: usize,
    /// Instances of each custom level below each instance of the level above.
    #[arg(long, default_value_t = 10)]
    pub fanout: usize,
    /// Sets per business, spread evenly over the lowest level's instances.
    #[arg(long, default_value_t = 10_000)]
    pub sets: usize,
    /// Modules per set.
    #[arg(long, default_value_t = 10)]
    pub modules_per_set: usize,
    /// Prefix of generated names (businesses are `<prefix>-biz-<n>`), so runs can be repeated.
    #[arg(long, default_value = "gen")]
    pub prefix: String,
}

/// Objects written per transaction: large enough to amortise commits, small enough to keep
/// the single SQLite writer responsive to a server running on the same file.
const CHUNK: usize = 200;

fn ctx() -> OpContext {
    OpContext {
        user: "admin".into(),
        supplier: "0".into(),
        app_code: "cmdb-gen-topo".into(),
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0),
    }
}

fn body(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn id_of(doc: &Value, key: &str) -> Result<i64, String> {
    doc.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("created object has no {key}"))
}

async fn write<T, F>(store: &Store, job: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn cmdb_store::Tx) -> Result<T, StoreError> + Send + 'static,
{
    cmdb_store::write(store.as_ref(), job)
        .await
        .map_err(|e| e.to_string())
}

/// Builds the topology and returns a summary (ids and counts) as JSON.
pub async fn generate(store: Store, cfg: GenConfig) -> Result<Value, String> {
    let started = Instant::now();
    let c = ctx();
    let mut bizs = Vec::new();
    for n in 0..cfg.businesses {
        let name = format!("{}-biz-{n}", cfg.prefix);
        let ctx = c.clone();
        let doc = write(&store, move |tx| {
            business::create(
                tx,
                &ctx,
                &body(json!({"bk_biz_name": name, "bk_biz_maintainer": "admin"})),
            )
        })
        .await?;
        bizs.push(id_of(&doc, "bk_biz_id")?);
    }

    // The custom levels: reuse the chain's, add the missing ones below the lowest.
    let chain = cmdb_store::read(store.as_ref(), mainline::chain)
        .await
        .map_err(|e| e.to_string())?;
    let mut levels: Vec<String> = chain
        .iter()
        .filter(|o| mainline::is_custom_level(&chain, o))
        .cloned()
        .collect();
    while levels.len() < cfg.levels {
        let parent = levels.last().cloned().unwrap_or_else(|| "biz".into());
        let obj_id = format!("{}_level{}", cfg.prefix, levels.len() + 1);
        let ctx = c.clone();
        let req = body(json!({"bk_obj_id": obj_id, "bk_obj_name": obj_id,
            "bk_asst_obj_id": parent, "bk_classification_id": "bk_biz_topo"}));
        write(&store, move |tx| mainline::create_level(tx, &ctx, &req)).await?;
        levels.push(obj_id);
    }

    let mut counts = Map::new();
    let mut modules_total = 0usize;
    let mut sets_total = 0usize;
    for &biz in &bizs {
        // Level instances, top-down: `fanout` below each parent.
        let mut parents = vec![biz];
        for (depth, level) in levels.iter().take(cfg.levels).enumerate() {
            let mut next = Vec::new();
            let items: Vec<(i64, usize)> = parents
                .iter()
                .flat_map(|p| (0..cfg.fanout).map(move |k| (*p, k)))
                .collect();
            for chunk in items.chunks(CHUNK) {
                let chunk = chunk.to_vec();
                let level = level.clone();
                let ctx = c.clone();
                let ids = write(&store, move |tx| {
                    let mut ids = Vec::new();
                    for (parent, k) in chunk {
                        let doc = instances::create(
                            tx,
                            &ctx,
                            &level,
                            &body(json!({"bk_inst_name": format!("{level}-{parent}-{k}"),
                                "bk_biz_id": biz, "bk_parent_id": parent})),
                        )?;
                        ids.push(doc.get("bk_inst_id").and_then(Value::as_i64).unwrap_or(0));
                    }
                    Ok(ids)
                })
                .await?;
                next.extend(ids);
            }
            counts.insert(format!("level{}", depth + 1), json!(next.len()));
            parents = next;
        }
        // Sets spread over the lowest parents, each with its modules.
        let per_parent = cfg.sets.div_ceil(parents.len().max(1));
        let items: Vec<(i64, usize)> = parents
            .iter()
            .flat_map(|p| (0..per_parent).map(move |k| (*p, k)))
            .take(cfg.sets)
            .collect();
        let per_tx = (CHUNK / (cfg.modules_per_set + 1)).max(1);
        for chunk in items.chunks(per_tx) {
            let chunk = chunk.to_vec();
            let ctx = c.clone();
            let modules = cfg.modules_per_set;
            write(&store, move |tx| {
                for (parent, k) in chunk {
                    let set = sets_modules::create_set(
                        tx,
                        &ctx,
                        biz,
                        &body(json!({"bk_set_name": format!("set-{parent}-{k}"), "bk_parent_id": parent})),
                    )?;
                    let set_id = set.get("bk_set_id").and_then(Value::as_i64).unwrap_or(0);
                    for m in 0..modules {
                        sets_modules::create_module(
                            tx,
                            &ctx,
                            biz,
                            set_id,
                            &body(json!({"bk_module_name": format!("module-{m}"), "bk_parent_id": set_id})),
                        )?;
                    }
                }
                Ok(())
            })
            .await?;
        }
        sets_total += items.len();
        modules_total += items.len() * cfg.modules_per_set;
    }
    Ok(json!({
        "bk_biz_ids": bizs,
        "levels": levels,
        "level_instances_per_biz": counts,
        "sets": sets_total,
        "modules": modules_total,
        "seconds": started.elapsed().as_secs_f64(),
    }))
}

/// Settings of `cmdb gen-assoc`.
#[derive(Debug, Clone, Args)]
pub struct GenAssocConfig {
    /// Data directory of the embedded store (as `serve --data`).
    #[arg(long, env = "CMDB_DATA", default_value = "./cmdb-data")]
    pub data: std::path::PathBuf,
    /// Database URL (as `serve --database`); wins over `--data`.
    #[arg(long, env = "CMDB_DATABASE_URL")]
    pub database: Option<String>,
    /// Instances of the source model.
    #[arg(long, default_value_t = 20_000)]
    pub sources: usize,
    /// Instances of the target model.
    #[arg(long, default_value_t = 20_000)]
    pub targets: usize,
    /// Links per source instance (an `n:n` association), at most `--targets`.
    #[arg(long, default_value_t = 50)]
    pub per_source: usize,
    /// Prefix of the generated model ids (`<prefix>_src`, `<prefix>_dst`).
    #[arg(long, default_value = "ga")]
    pub prefix: String,
}

/// Index of the `k`-th target of source `i` among `targets`: spread (7 is a stride, so
/// neighbouring sources share few targets) and, when 7 does not divide `targets`, every target
/// gets exactly as many sources as each source has targets. `scripts/bench.d/assoc.py` derives
/// the expected answers from the same rule.
fn link_target(i: usize, k: usize, targets: usize) -> usize {
    (i * 7 + k) % targets
}

fn consecutive(ids: &[i64]) -> bool {
    ids.windows(2).all(|w| w[1] == w[0] + 1)
}

/// Links written per transaction by `gen-assoc`.
const LINK_CHUNK: usize = 20_000;

/// `cmdb gen-assoc`: two models, an `n:n` association between them, their instances (through
/// the instance operations) and `sources × per_source` links (through the bulk link path, which
/// keeps the same UNIQUE guards but writes no audit per link). Returns a JSON summary.
pub async fn generate_assoc(store: Store, cfg: GenAssocConfig) -> Result<Value, String> {
    use cmdb_store::ops::{associations, objects};
    let started = Instant::now();
    let c = ctx();
    let src_obj = format!("{}_src", cfg.prefix);
    let dst_obj = format!("{}_dst", cfg.prefix);
    let key = format!("{src_obj}_connect_{dst_obj}");
    {
        let (ctx, src_obj, dst_obj, key) =
            (c.clone(), src_obj.clone(), dst_obj.clone(), key.clone());
        write(&store, move |tx| {
            for o in [&src_obj, &dst_obj] {
                objects::create(
                    tx,
                    &ctx,
                    &body(json!({"bk_obj_id": o, "bk_obj_name": o,
                        "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "icon-cc-default"})),
                )?;
            }
            associations::create_object_association(
                tx,
                &ctx,
                &body(json!({"bk_obj_asst_id": key, "bk_obj_id": src_obj, "bk_asst_obj_id": dst_obj,
                    "bk_asst_id": "connect", "mapping": "n:n"})),
            )
        })
        .await?;
    }
    let mut ids: Vec<Vec<i64>> = Vec::new();
    for (obj, n) in [(&src_obj, cfg.sources), (&dst_obj, cfg.targets)] {
        let mut out = Vec::with_capacity(n);
        let all: Vec<usize> = (0..n).collect();
        for chunk in all.chunks(CHUNK * 5) {
            let (chunk, obj, ctx) = (chunk.to_vec(), obj.clone(), c.clone());
            let created = write(&store, move |tx| {
                let mut ids = Vec::new();
                for k in chunk {
                    let doc = instances::create(
                        tx,
                        &ctx,
                        &obj,
                        &body(json!({"bk_inst_name": format!("{obj}-{k}")})),
                    )?;
                    ids.push(doc.get("bk_inst_id").and_then(Value::as_i64).unwrap_or(0));
                }
                Ok(ids)
            })
            .await?;
            out.extend(created);
        }
        ids.push(out);
    }
    let (srcs, dsts) = (&ids[0], &ids[1]);
    let per = cfg.per_source.min(dsts.len());
    let links: Vec<(i64, i64)> = srcs
        .iter()
        .enumerate()
        .flat_map(|(i, s)| (0..per).map(move |k| (*s, link_target(i, k, dsts.len()))))
        .map(|(s, d)| (s, dsts[d]))
        .collect();
    let links_started = Instant::now();
    let mut linked = 0u64;
    for chunk in links.chunks(LINK_CHUNK) {
        let (chunk, ctx, key) = (chunk.to_vec(), c.clone(), key.clone());
        linked += write(&store, move |tx| {
            associations::bulk_link(tx, &ctx, &key, &chunk)
        })
        .await?;
    }
    Ok(json!({
        "src_obj": src_obj,
        "dst_obj": dst_obj,
        "bk_obj_asst_id": key,
        "src_ids": [srcs.first(), srcs.last()],
        "dst_ids": [dsts.first(), dsts.last()],
        // Ids of one model are consecutive when nothing else created instances meanwhile;
        // readers that derive expected answers from the rule check it.
        "src_consecutive": consecutive(srcs),
        "dst_consecutive": consecutive(dsts),
        "sources": srcs.len(),
        "targets": dsts.len(),
        "per_source": per,
        "link_rule": "source #i links to targets #((7*i + k) mod targets), k < per_source",
        "links": linked,
        "link_seconds": links_started.elapsed().as_secs_f64(),
        "seconds": started.elapsed().as_secs_f64(),
    }))
}

/// Settings of `cmdb gen-hosts`.
#[derive(Debug, Clone, Args)]
pub struct GenHostsConfig {
    /// Data directory of the embedded store (as `serve --data`).
    #[arg(long, env = "CMDB_DATA", default_value = "./cmdb-data")]
    pub data: std::path::PathBuf,
    /// Database URL (as `serve --database`); wins over `--data`.
    #[arg(long, env = "CMDB_DATABASE_URL")]
    pub database: Option<String>,
    /// Hosts to create, spread over the businesses.
    #[arg(long, default_value_t = 500_000)]
    pub hosts: usize,
    /// Businesses to create.
    #[arg(long, default_value_t = 2_000)]
    pub businesses: usize,
    /// Skew of business sizes: the k-th business gets hosts in proportion to 1/k^skew (Zipf;
    /// 0 = all the same size). Real sites have a few very large businesses and many small ones.
    #[arg(long, default_value_t = 1.0)]
    pub skew: f64,
    /// Hosts per normal module aimed at: a business gets as many sets as it needs for that.
    #[arg(long, default_value_t = 600)]
    pub hosts_per_module: usize,
    /// Normal modules per set.
    #[arg(long, default_value_t = 4)]
    pub modules_per_set: usize,
    /// Percent of each business's hosts left in its idle module.
    #[arg(long, default_value_t = 5)]
    pub idle_percent: usize,
    /// Percent of normal hosts that also sit in a second module of their set.
    #[arg(long, default_value_t = 5)]
    pub multi_percent: usize,
    /// Prefix of generated names (businesses are `<prefix>-biz-<n>`), so runs can be repeated.
    #[arg(long, default_value = "gh")]
    pub prefix: String,
}

/// Hosts written per transaction by `gen-hosts`: the generator is alone on the database, so
/// large transactions only save commits.
const HOST_CHUNK: usize = 10_000;

/// Host counts of `businesses` businesses adding up to `hosts`: Zipf-shaped by `skew`, at
/// least one host each (when there are enough), largest first.
fn business_sizes(hosts: usize, businesses: usize, skew: f64) -> Vec<usize> {
    if businesses == 0 {
        return Vec::new();
    }
    let weights: Vec<f64> = (1..=businesses)
        .map(|k| 1.0 / (k as f64).powf(skew))
        .collect();
    let total: f64 = weights.iter().sum();
    let floor = usize::from(hosts >= businesses);
    let spare = hosts - floor * businesses;
    let mut sizes: Vec<usize> = weights
        .iter()
        .map(|w| floor + (spare as f64 * w / total) as usize)
        .collect();
    // Each business lost less than one host to rounding down: hand the rest out one each.
    let left = hosts - sizes.iter().sum::<usize>();
    for size in sizes.iter_mut().take(left) {
        *size += 1;
    }
    sizes
}

/// The unique inner IPv4 address of the `k`-th generated host (10.0.0.1 onwards).
fn host_ip(k: usize) -> String {
    let n = k + 1;
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

/// One generated business: its id, hosts, idle module and normal modules (grouped by set).
struct PlannedBiz {
    id: i64,
    hosts: usize,
    idle_module: i64,
    modules: Vec<i64>,
}

/// `cmdb gen-hosts`: businesses (through the business operation, each with its idle pool),
/// sets and modules (through the set and module operations) and hosts (through the bulk host
/// path, which validates and stores them like the add operations but writes no audit per
/// host). In each business a few hosts stay in the idle module, the others are dealt round
/// the normal modules, some into two modules of their set. Returns a JSON summary with the
/// expected hosts per business and of every module holding 500 or more (`big_modules`, idle
/// ones marked), for the benchmark to pick its modules and check its answers.
pub async fn generate_hosts(store: Store, cfg: GenHostsConfig) -> Result<Value, String> {
    use cmdb_store::ops::hosts;
    if cfg.hosts > 16_000_000 {
        return Err("--hosts: at most 16,000,000 (inner addresses come from 10.0.0.0/8)".into());
    }
    let started = Instant::now();
    let c = ctx();
    let sizes = business_sizes(cfg.hosts, cfg.businesses, cfg.skew);
    let mps = cfg.modules_per_set.max(1);
    let per_set = cfg.hosts_per_module.max(1) * mps;

    // Businesses, then their idle modules.
    let mut plans: Vec<PlannedBiz> = Vec::with_capacity(sizes.len());
    let numbered: Vec<(usize, usize)> = sizes.iter().copied().enumerate().collect();
    for chunk in numbered.chunks(CHUNK) {
        let (chunk, ctx, prefix) = (chunk.to_vec(), c.clone(), cfg.prefix.clone());
        let created = write(&store, move |tx| {
            let mut out = Vec::new();
            for (n, hosts) in chunk {
                let doc = business::create(
                    tx,
                    &ctx,
                    &body(json!({"bk_biz_name": format!("{prefix}-biz-{n}"),
                                 "bk_biz_maintainer": "admin"})),
                )?;
                let id = doc.get("bk_biz_id").and_then(Value::as_i64).unwrap_or(0);
                let internal = business::internal_modules(tx, id)?;
                let idle = internal["module"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|m| m["default"] == json!(hosts::IDLE))
                    .and_then(|m| m["bk_module_id"].as_i64())
                    .unwrap_or(0);
                out.push((id, hosts, idle));
            }
            Ok(out)
        })
        .await?;
        for (id, hosts, idle_module) in created {
            if id == 0 || idle_module == 0 {
                return Err("a created business has no id or no idle module".into());
            }
            plans.push(PlannedBiz {
                id,
                hosts,
                idle_module,
                modules: Vec::new(),
            });
        }
    }

    // Sets and modules: enough sets for `hosts_per_module` normal hosts per module.
    let mut sets_total = 0usize;
    for plan in &mut plans {
        let normal = plan.hosts - plan.hosts * cfg.idle_percent / 100;
        let sets = normal.div_ceil(per_set).max(1);
        let per_tx = (CHUNK / (mps + 1)).max(1);
        let numbers: Vec<usize> = (0..sets).collect();
        for chunk in numbers.chunks(per_tx) {
            let (chunk, ctx, biz) = (chunk.to_vec(), c.clone(), plan.id);
            let ids = write(&store, move |tx| {
                let mut ids = Vec::new();
                for k in chunk {
                    let set = sets_modules::create_set(
                        tx,
                        &ctx,
                        biz,
                        &body(json!({"bk_set_name": format!("set-{k}"), "bk_parent_id": biz})),
                    )?;
                    let set_id = set.get("bk_set_id").and_then(Value::as_i64).unwrap_or(0);
                    for m in 0..mps {
                        let module = sets_modules::create_module(
                            tx,
                            &ctx,
                            biz,
                            set_id,
                            &body(json!({"bk_module_name": format!("module-{m}"),
                                         "bk_parent_id": set_id})),
                        )?;
                        ids.push(
                            module
                                .get("bk_module_id")
                                .and_then(Value::as_i64)
                                .unwrap_or(0),
                        );
                    }
                }
                Ok(ids)
            })
            .await?;
            plan.modules.extend(ids);
        }
        sets_total += sets;
    }
    let topo_seconds = started.elapsed().as_secs_f64();

    // Hosts: idle ones first, then normal ones dealt round the modules; every
    // `100 / multi_percent`-th also into the next module of its set.
    let hosts_started = Instant::now();
    let mut module_hosts: HashMap<i64, (i64, usize)> = HashMap::new();
    let mut batch: Vec<(Map<String, Value>, Vec<i64>)> = Vec::with_capacity(HOST_CHUNK);
    let mut k = 0usize;
    let mut relations = 0usize;
    let mut created = 0usize;
    for plan in &plans {
        let idle = plan.hosts * cfg.idle_percent / 100;
        for j in 0..plan.hosts {
            let targets = if j < idle || plan.modules.is_empty() {
                vec![plan.idle_module]
            } else {
                let n = j - idle;
                let i = n % plan.modules.len();
                let mut t = vec![plan.modules[i]];
                if mps > 1 && n % 100 < cfg.multi_percent {
                    let set_start = i - i % mps;
                    t.push(plan.modules[set_start + (i % mps + 1) % mps]);
                }
                t
            };
            for m in &targets {
                module_hosts.entry(*m).or_insert((plan.id, 0)).1 += 1;
            }
            relations += targets.len();
            batch.push((
                body(json!({
                    "bk_host_innerip": host_ip(k), "bk_cloud_id": 0, "bk_addressing": "static",
                    "bk_host_name": format!("{}-host-{k}", cfg.prefix), "bk_os_type": "1",
                    "bk_os_name": "linux centos", "bk_os_version": "7.9", "bk_os_bit": "64-bit",
                    "bk_cpu": 8, "bk_mem": 16384, "bk_disk": 500, "bk_cpu_architecture": "x86",
                    "bk_mac": format!("52:54:00:{:02x}:{:02x}:{:02x}", (k >> 16) & 255, (k >> 8) & 255, k & 255),
                    "operator": "admin", "bk_bak_operator": "ops", "bk_sn": format!("SN{k:08}"),
                    "bk_state": "running", "import_from": "3",
                })),
                targets,
            ));
            k += 1;
            if batch.len() == HOST_CHUNK {
                created += write_hosts(&store, &c, std::mem::take(&mut batch)).await?;
            }
        }
    }
    if !batch.is_empty() {
        created += write_hosts(&store, &c, batch).await?;
    }
    let idle_modules: Vec<i64> = plans.iter().map(|p| p.idle_module).collect();
    let mut big_modules: Vec<Value> = module_hosts
        .iter()
        .filter(|(_, (_, n))| *n >= 500)
        .map(|(m, (b, n))| {
            json!({"bk_biz_id": b, "bk_module_id": m, "hosts": n,
                   "idle": idle_modules.contains(m)})
        })
        .collect();
    big_modules.sort_by_key(|v| v["bk_module_id"].as_i64());
    Ok(json!({
        "hosts": created,
        "relations": relations,
        "sets": sets_total,
        "modules": plans.iter().map(|p| p.modules.len()).sum::<usize>(),
        "businesses": plans.iter().map(|p| json!({"bk_biz_id": p.id, "hosts": p.hosts})).collect::<Vec<_>>(),
        "big_modules": big_modules,
        "topology_seconds": topo_seconds,
        "host_seconds": hosts_started.elapsed().as_secs_f64(),
        "seconds": started.elapsed().as_secs_f64(),
    }))
}

/// One transaction of the bulk host path; returns how many hosts it created.
async fn write_hosts(
    store: &Store,
    ctx: &OpContext,
    batch: Vec<(Map<String, Value>, Vec<i64>)>,
) -> Result<usize, String> {
    let ctx = ctx.clone();
    let ids = write(store, move |tx| {
        cmdb_store::ops::hosts::bulk_create(tx, &ctx, &batch)
    })
    .await?;
    Ok(ids.len())
}
