//! Host transfers (40-hosts §7): between modules of a business, to its internal modules, back to
//! the resource pool, from the pool into a business, a set's or module's hosts to idle, and
//! across businesses. Each is one transaction: target business and modules read `FOR SHARE`,
//! hosts locked `FOR UPDATE` in id order, then their relations read and validated, then
//! rewritten ([`super::hosts::apply_moves`]). Whatever runs concurrently therefore either
//! finished before the relations were read or waits until this commits, so no interleaving can
//! leave a host in two businesses, in no module, or in an internal and a normal module at once.

use cmdb_domain::DomainError;

use super::hosts::{
    apply_moves, internal_module, join_ids, load_modules, lock_existing_hosts, relations_of,
    resource_pool, share_biz, target_biz, unique_ids, ModuleInfo, Move, Relation, DIRECTORY, IDLE,
    TRANSFER_LIMIT,
};
use super::util::first_ints;
use super::OpContext;
use crate::{SqlValue, StoreError, Tx};

fn check_limit(hosts: &[i64]) -> Result<(), StoreError> {
    if hosts.len() > TRANSFER_LIMIT {
        return Err(DomainError::ExceedLimit("bk_host_id".into(), TRANSFER_LIMIT as u64).into());
    }
    Ok(())
}

/// Locks the hosts (all must exist, 1199011) and returns each with its current relations.
fn locked_with_relations(
    tx: &mut dyn Tx,
    hosts: &[i64],
) -> Result<Vec<(i64, String, Vec<Relation>)>, StoreError> {
    let locked = lock_existing_hosts(tx, hosts)?;
    let ids: Vec<i64> = locked.keys().copied().collect();
    let mut relations = relations_of(tx, &ids)?;
    Ok(locked
        .into_iter()
        .map(|(id, name)| {
            let rels = relations.remove(&id).unwrap_or_default();
            (id, name, rels)
        })
        .collect())
}

/// Every host must belong to business `biz_id` (else 1113002 naming the others).
fn require_in_biz(hosts: &[(i64, String, Vec<Relation>)], biz_id: i64) -> Result<(), StoreError> {
    let foreign: Vec<i64> = hosts
        .iter()
        .filter(|(_, _, rels)| rels.is_empty() || rels.iter().any(|r| r.biz_id != biz_id))
        .map(|(id, _, _)| *id)
        .collect();
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(DomainError::HostNotInBiz(join_ids(&foreign), biz_id).into())
    }
}

/// Every host must sit only in modules of `biz_id` whose `default` satisfies `ok` (else 1110056
/// listing their addresses).
fn require_in_modules(
    hosts: &[(i64, String, Vec<Relation>)],
    biz_id: i64,
    ok: impl Fn(i64) -> bool,
) -> Result<(), StoreError> {
    let bad: Vec<&str> = hosts
        .iter()
        .filter(|(_, _, rels)| {
            rels.is_empty() || rels.iter().any(|r| r.biz_id != biz_id || !ok(r.dflt))
        })
        .map(|(_, name, _)| name.as_str())
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(DomainError::HostNotInTargetModule(bad.join(",")).into())
    }
}

fn moves_to(
    hosts: Vec<(i64, String, Vec<Relation>)>,
    targets: impl Fn(&[Relation]) -> Vec<Relation>,
) -> Vec<Move> {
    hosts
        .into_iter()
        .map(|(host_id, name, old)| {
            let new = targets(&old)
                .into_iter()
                .map(|r| Relation { host_id, ..r })
                .collect();
            Move {
                host_id,
                name,
                old,
                new,
            }
        })
        .collect()
}

/// `transfer_host_module` (§7.1): hosts of business `biz_id` into normal modules of it.
/// Overwrite: the final modules are exactly `modules`; `increment`: the host's normal modules
/// stay and internal ones go. Empty lists → 1199010; > 500 hosts → 1199035; business missing
/// 1113006 / archived 1110031; a module that is not a normal module of the business → 1101080;
/// unknown host → 1199011; host of another business → 1113002.
pub fn transfer_host_module(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    hosts: &[i64],
    modules: &[i64],
    increment: bool,
) -> Result<(), StoreError> {
    if modules.is_empty() {
        return Err(DomainError::NeedSet("bk_module_id".into()).into());
    }
    if hosts.is_empty() {
        return Err(DomainError::NeedSet("bk_host_id".into()).into());
    }
    check_limit(hosts)?;
    target_biz(tx, biz_id)?;
    let module_ids = unique_ids(modules);
    let found = load_modules(tx, &module_ids, true)?;
    let mut targets: Vec<ModuleInfo> = Vec::with_capacity(module_ids.len());
    for id in &module_ids {
        match found.get(id) {
            Some(m) if m.biz_id == biz_id && m.dflt == 0 => targets.push(m.clone()),
            _ => return Err(DomainError::TransferModuleNotFound.into()),
        }
    }
    let hosts = locked_with_relations(tx, hosts)?;
    require_in_biz(&hosts, biz_id)?;
    let moves = moves_to(hosts, |old| {
        let mut new: Vec<Relation> = if increment {
            old.iter().filter(|r| r.dflt == 0).copied().collect()
        } else {
            Vec::new()
        };
        for m in &targets {
            if !new.iter().any(|r| r.module_id == m.id) {
                new.push(m.relation(0));
            }
        }
        new
    });
    apply_moves(tx, ctx, &moves, "transfer_host_module")
}

/// `transfer_host_to_idlemodule` / `_faultmodule` / `_recyclemodule` (§7.2): every host of
/// business `biz_id` listed ends in exactly the business's module with `default = dflt`.
/// No hosts → no-op; business missing 1113006 / archived 1110031; module missing 1110030;
/// unknown host 1199011; host of another business 1113002.
pub fn transfer_to_internal(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    hosts: &[i64],
    dflt: i64,
) -> Result<(), StoreError> {
    if hosts.is_empty() {
        return Ok(());
    }
    check_limit(hosts)?;
    target_biz(tx, biz_id)?;
    let Some(target) = internal_module(tx, biz_id, dflt, true)? else {
        let which = match dflt {
            1 => "idle",
            2 => "fault",
            _ => "recycle",
        };
        return Err(DomainError::AddHostToModuleFailed(format!("{which} module not found")).into());
    };
    let hosts = locked_with_relations(tx, hosts)?;
    require_in_biz(&hosts, biz_id)?;
    let moves = moves_to(hosts, |_| vec![target.relation(0)]);
    apply_moves(tx, ctx, &moves, "transfer_host_module")
}

/// A resource-pool module hosts may enter: `module` (0 = the pool's idle module) must be a
/// module of the pool with `default` 1 or 4 (else 1199011 `bk_module_id`).
fn pool_module(tx: &mut dyn Tx, pool: i64, module: i64) -> Result<ModuleInfo, StoreError> {
    if module == 0 {
        return internal_module(tx, pool, IDLE, true)?
            .ok_or_else(|| DomainError::NamedModuleNotFound("idle".into()).into());
    }
    load_modules(tx, &[module], true)?
        .remove(&module)
        .filter(|m| m.biz_id == pool && (m.dflt == IDLE || m.dflt == DIRECTORY))
        .ok_or_else(|| DomainError::IsInvalid("bk_module_id".into()).into())
}

/// `transfer_host_to_resourcemodule` (§7.3): hosts leave business `biz_id` for the resource pool
/// (`module`: a pool module or directory, 0 = the pool's idle module). `biz_id` 0 → 1110051;
/// the pool itself → 1110052; no hosts → no-op; business missing → 1113006; a host not only in
/// internal modules of the business → 1110056.
pub fn transfer_to_resource_pool(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    hosts: &[i64],
    module: i64,
) -> Result<(), StoreError> {
    if biz_id == 0 {
        return Err(DomainError::ResourcePoolNotFound.into());
    }
    let pool = resource_pool(tx)?;
    if biz_id == pool {
        return Err(DomainError::AlreadyInResourcePool.into());
    }
    if hosts.is_empty() {
        return Ok(());
    }
    check_limit(hosts)?;
    if share_biz(tx, biz_id)?.is_none() {
        return Err(DomainError::BizNotExist(biz_id.to_string()).into());
    }
    target_biz(tx, pool)?;
    let target = pool_module(tx, pool, module)?;
    let hosts = locked_with_relations(tx, hosts)?;
    require_in_modules(&hosts, biz_id, |d| d != 0)?;
    let moves = moves_to(hosts, |_| vec![target.relation(0)]);
    apply_moves(tx, ctx, &moves, "unassign_host")
}

/// `transfer_resourcehost_to_idlemodule` (§7.4): resource-pool hosts (in the pool's idle module
/// or a directory) into the idle module of business `biz_id`. `biz_id` 0 → 1110053; unknown
/// business → 1199019; the pool itself → no-op; archived → 1110031; no hosts → no-op; a host
/// elsewhere → 1110056.
pub fn assign_from_pool(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    hosts: &[i64],
) -> Result<(), StoreError> {
    if biz_id == 0 {
        return Err(DomainError::ResourcePoolInfoFailed("bk_biz_id".into()).into());
    }
    if share_biz(tx, biz_id)?.is_none() {
        return Err(DomainError::NotFound.into());
    }
    let pool = resource_pool(tx)?;
    if biz_id == pool || hosts.is_empty() {
        return Ok(());
    }
    check_limit(hosts)?;
    target_biz(tx, biz_id)?;
    let Some(idle) = internal_module(tx, biz_id, IDLE, true)? else {
        return Err(DomainError::NamedModuleNotFound("idle".into()).into());
    };
    let hosts = locked_with_relations(tx, hosts)?;
    require_in_modules(&hosts, pool, |d| d == IDLE || d == DIRECTORY)?;
    let moves = moves_to(hosts, |_| vec![idle.relation(0)]);
    apply_moves(tx, ctx, &moves, "assign_host")
}

/// `transfer_sethost_to_idle_module` (§7.5): the hosts of module `module_id` (when ≠ 0) or else
/// of set `set_id` in business `biz_id` lose those relations; a host keeping other modules
/// stays in exactly them, a host left without any goes to the business's idle module. `biz_id`
/// 0 or both ids 0 → 1199010; business missing → 1113006; no idle module → 1110054.
pub fn set_hosts_to_idle(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    set_id: i64,
    module_id: i64,
) -> Result<(), StoreError> {
    if biz_id == 0 {
        return Err(DomainError::NeedSet("bk_biz_id".into()).into());
    }
    if set_id == 0 && module_id == 0 {
        return Err(DomainError::NeedSet("bk_set_id".into()).into());
    }
    target_biz(tx, biz_id)?;
    let Some(idle) = internal_module(tx, biz_id, IDLE, true)? else {
        return Err(DomainError::NamedModuleNotFound("idle".into()).into());
    };
    let (column, id) = if module_id != 0 {
        ("module_id", module_id)
    } else {
        ("set_id", set_id)
    };
    let rows = tx.query(
        &format!(
            "SELECT DISTINCT host_id FROM host_module WHERE biz_id = ? AND {column} = ? \
             ORDER BY host_id"
        ),
        &[SqlValue::Int(biz_id), SqlValue::Int(id)],
    )?;
    let host_ids = first_ints(&rows);
    if host_ids.is_empty() {
        return Ok(());
    }
    let hosts = locked_with_relations(tx, &host_ids)?;
    let in_scope = |r: &Relation| {
        if module_id != 0 {
            r.module_id == module_id
        } else {
            r.set_id == set_id
        }
    };
    let moves = moves_to(hosts, |old| {
        let rest: Vec<Relation> = old
            .iter()
            .filter(|r| r.biz_id == biz_id && !in_scope(r))
            .copied()
            .collect();
        if rest.is_empty() {
            vec![idle.relation(0)]
        } else {
            rest
        }
    });
    apply_moves(tx, ctx, &moves, "transfer_host_module")
}

/// `transfer_host_across_biz` (§7.6): hosts sitting only in internal modules of `src` move to
/// internal module `module` of `dst`. Empty list → 1199010, > 500 → 1199035; a business missing
/// → 1113006, `dst` archived → 1110031; `module` not an internal module of `dst` → 1199006
/// `bk_module_id`; a host elsewhere → 1110056.
pub fn across_biz(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    src: i64,
    dst: i64,
    hosts: &[i64],
    module: i64,
) -> Result<(), StoreError> {
    if hosts.is_empty() {
        return Err(DomainError::NeedSet("bk_host_id".into()).into());
    }
    check_limit(hosts)?;
    if share_biz(tx, src)?.is_none() {
        return Err(DomainError::BizNotExist(src.to_string()).into());
    }
    target_biz(tx, dst)?;
    let target = load_modules(tx, &[module], true)?
        .remove(&module)
        .filter(|m| m.biz_id == dst && m.dflt != 0)
        .ok_or_else(|| DomainError::ParamsInvalid("bk_module_id".into()))?;
    let hosts = locked_with_relations(tx, hosts)?;
    require_in_modules(&hosts, src, |d| d != 0)?;
    let moves = moves_to(hosts, |_| vec![target.relation(0)]);
    let action = if src == dst {
        "transfer_host_module"
    } else {
        "assign_host"
    };
    apply_moves(tx, ctx, &moves, action)
}
