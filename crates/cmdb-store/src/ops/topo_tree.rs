//! `search_biz_inst_topo` (30-topology §5.17) written straight as JSON text.
//!
//! Why a second builder: a large business (2 custom levels, 10,000 sets, 100,000 modules) is a
//! 12.5 MB answer. Building it as [`TopoInst`] structs -- a `String` per cell, a struct per
//! node, hash maps to regroup children, a sort per level, then serde -- cost about five times
//! the SQL itself. Here each level is read once, in the order of the covering index
//! `instance_topo` (`parent_id, inst_id` inside one business), into a compact vector whose names
//! share one string arena; the children of a node are then one contiguous run of the level
//! below, found by binary search, and the tree is written depth-first into the answer's buffer.
//!
//! The bytes are exactly those of serialising [`biz_inst_topo`] (the structure-based builder,
//! kept as the reference): the same key order, the same omitted fields, the same sibling order
//! (`default`, then id; the idle-pool set after the business's other children; names with
//! `need_sort`), the same string escaping (serde_json's own) and number formatting (itoa, as
//! serde_json). Tests compare the two on generated trees, through HTTP, on both backends.
//!
//! [`TopoInst`]: super::topology::TopoInst
//! [`biz_inst_topo`]: super::topology::biz_inst_topo

use std::ops::Range;

use serde_json::Value;

use super::topology::{
    biz_row, cell_i64, model_labels, topo_levels, TopoOptions, IDLE_SET_DEFAULT, TOPO_INDEX,
};
use crate::sql::SqlBuilder;
use crate::{SqlValue, StoreError, Tx};

/// One node of a level below the business.
#[derive(Debug, Clone)]
struct Node {
    parent: i64,
    default: i64,
    id: i64,
    set_template_id: i64,
    service_template_id: i64,
    host_apply_enabled: bool,
    /// The name, in [`Level::names`].
    name: Range<usize>,
}

impl Node {
    /// Sibling order of upstream (and of the reference builder): `default`, then id.
    fn order_key(&self) -> (i64, i64, i64) {
        (self.parent, self.default, self.id)
    }
}

/// Every node of one level of the chain in one business.
struct Level {
    /// `,"bk_obj_id":…,"bk_obj_name":…,"default":`, the part every node of the level shares.
    obj_part: Vec<u8>,
    /// The nodes, grouped by parent (ascending), siblings in answer order.
    nodes: Vec<Node>,
    /// The built-in idle-pool sets (only on the `set` level, only with `with_default`): they
    /// hang below the business, whatever their `parent_id`.
    idle: Vec<Node>,
    /// The names of all nodes, end to end.
    names: String,
}

impl Level {
    /// The children of `parent`: one run of [`Level::nodes`].
    fn children(&self, parent: i64) -> &[Node] {
        let start = self.nodes.partition_point(|n| n.parent < parent);
        let len = self
            .nodes
            .get(start..)
            .map_or(0, |rest| rest.partition_point(|n| n.parent == parent));
        self.nodes.get(start..start + len).unwrap_or_default()
    }

    fn name(&self, node: &Node) -> &str {
        self.names.get(node.name.clone()).unwrap_or_default()
    }
}

/// `,"bk_obj_id":"<obj>","bk_obj_name":"<label>","default":`.
fn obj_part(obj: &str, label: &str) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(48 + obj.len() + label.len());
    out.extend_from_slice(b",\"bk_obj_id\":");
    json_str(&mut out, obj)?;
    out.extend_from_slice(b",\"bk_obj_name\":");
    json_str(&mut out, label)?;
    out.extend_from_slice(b",\"default\":");
    Ok(out)
}

/// A JSON string, escaped by serde_json itself.
fn json_str(out: &mut Vec<u8>, s: &str) -> Result<(), StoreError> {
    serde_json::to_writer(out, s).map_err(|e| StoreError::Backend(e.to_string()))
}

fn json_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Reads every node of level `obj` in business `biz_id`, grouped by parent, siblings in answer
/// order. One statement, answered from the covering index alone.
fn read_level(
    tx: &mut dyn Tx,
    obj: &str,
    label: &str,
    biz_id: i64,
    opts: TopoOptions,
) -> Result<Level, StoreError> {
    let is_set = obj == "set";
    let is_module = obj == "module";
    let mut b = SqlBuilder::new();
    b.push(
        "SELECT parent_id, dflt, inst_id, inst_name, set_tpl, svc_tpl, host_apply \
         FROM instance WHERE obj_id = ",
    )
    .bind(obj)
    .push(TOPO_INDEX)
    .push(" AND biz_id = ")
    .bind(SqlValue::Int(biz_id))
    .push(" ORDER BY parent_id, inst_id");
    let mut level = Level {
        obj_part: obj_part(obj, label)?,
        nodes: Vec::new(),
        idle: Vec::new(),
        names: String::new(),
    };
    tx.query_each(&b.sql, &b.params, &mut |row| {
        let int = |i: usize| row.get(i).map_or(0, cell_i64);
        let name = match row.get(3) {
            Some(SqlValue::Text(t)) | Some(SqlValue::Json(Value::String(t))) => t.as_str(),
            _ => "",
        };
        let start = level.names.len();
        level.names.push_str(name);
        let node = Node {
            parent: int(0),
            default: int(1),
            id: int(2),
            set_template_id: if is_set || is_module { int(4) } else { 0 },
            service_template_id: if is_module { int(5) } else { 0 },
            host_apply_enabled: is_module && int(6) != 0,
            name: start..level.names.len(),
        };
        if is_set && node.default == IDLE_SET_DEFAULT {
            if opts.with_default {
                level.idle.push(node);
            }
        } else {
            level.nodes.push(node);
        }
        Ok(())
    })?;
    // The index order is (parent, id); siblings go out by (default, id). They agree unless a
    // parent has children of several `default`s out of id order (the idle set's modules, say),
    // so only such runs are sorted -- and everything, should a backend not keep the order.
    if !level.nodes.is_sorted_by_key(|n| n.parent) {
        level.nodes.sort_unstable_by_key(Node::order_key);
    }
    for run in level.nodes.chunk_by_mut(|a, b| a.parent == b.parent) {
        if !run.is_sorted_by_key(Node::order_key) {
            run.sort_unstable_by_key(Node::order_key);
        }
    }
    level.idle.sort_unstable_by_key(|n| (n.default, n.id));
    if opts.need_sort {
        // Stable: equal names keep the (default, id) order, as the reference builder's.
        let names = &level.names;
        let name = |n: &Node| names.get(n.name.clone()).unwrap_or_default();
        level
            .nodes
            .sort_by(|a, b| a.parent.cmp(&b.parent).then_with(|| name(a).cmp(name(b))));
    }
    Ok(level)
}

/// Writes one node up to and including `"child":[`, in the key order of `TopoInst`.
fn write_head(out: &mut Vec<u8>, level: &Level, node: &Node) -> Result<(), StoreError> {
    out.extend_from_slice(b"{\"bk_inst_id\":");
    json_int(out, node.id);
    out.extend_from_slice(b",\"bk_inst_name\":");
    json_str(out, level.name(node))?;
    out.extend_from_slice(&level.obj_part);
    json_int(out, node.default);
    if node.service_template_id != 0 {
        out.extend_from_slice(b",\"service_template_id\":");
        json_int(out, node.service_template_id);
    }
    if node.set_template_id != 0 {
        out.extend_from_slice(b",\"set_template_id\":");
        json_int(out, node.set_template_id);
    }
    if node.host_apply_enabled {
        out.extend_from_slice(b",\"host_apply_enabled\":true");
    }
    out.extend_from_slice(b",\"child\":[");
    Ok(())
}

/// Writes `node` of `levels[at]` and everything below it. Recursion depth is the chain's
/// length (at most the platform's level limit).
fn write_subtree(
    out: &mut Vec<u8>,
    levels: &[Level],
    at: usize,
    node: &Node,
) -> Result<(), StoreError> {
    let Some(level) = levels.get(at) else {
        return Ok(());
    };
    write_head(out, level, node)?;
    if let Some(below) = levels.get(at + 1) {
        for (i, child) in below.children(node.id).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_subtree(out, levels, at + 1, child)?;
        }
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

/// `search_biz_inst_topo` (§5.17): appends the JSON array of [`biz_inst_topo`] to `out`,
/// byte for byte what serialising that builder's answer gives, in one statement per level
/// and without building the tree. An unknown business gives `[]`.
///
/// [`biz_inst_topo`]: super::topology::biz_inst_topo
pub fn write_biz_inst_topo(
    tx: &mut dyn Tx,
    biz_id: i64,
    opts: TopoOptions,
    out: &mut Vec<u8>,
) -> Result<(), StoreError> {
    let chain = topo_levels(tx)?;
    let Some(biz) = biz_row(tx, biz_id)? else {
        out.extend_from_slice(b"[]");
        return Ok(());
    };
    let labels = model_labels(tx, &chain)?;
    let label = |obj: &str| labels.get(obj).map_or("", |l| l.0.as_str());
    let mut levels = Vec::with_capacity(chain.len());
    for obj in chain.iter().skip(1) {
        levels.push(read_level(tx, obj, label(obj), biz_id, opts)?);
    }

    // The business as a level of its own, so it is written as every other node.
    let root = Level {
        obj_part: obj_part("biz", label("biz"))?,
        nodes: Vec::new(),
        idle: Vec::new(),
        names: biz.name,
    };
    let root_node = Node {
        parent: 0,
        default: biz.default,
        id: biz.id,
        set_template_id: 0,
        service_template_id: 0,
        host_apply_enabled: false,
        name: 0..root.names.len(),
    };

    // Children of the business: the first level's nodes below it, then the idle-pool sets.
    // Entries are (index into `levels`, node).
    let mut children: Vec<(usize, &Node)> = levels
        .first()
        .map(|l| l.children(biz.id).iter().map(|n| (0, n)).collect())
        .unwrap_or_default();
    for (at, level) in levels.iter().enumerate() {
        children.extend(level.idle.iter().map(|n| (at, n)));
    }
    if opts.need_sort {
        let name = |&(at, n): &(usize, &Node)| levels.get(at).map_or("", |l| l.name(n));
        children.sort_by(|a, b| name(a).cmp(name(b)));
    }

    // Sized once (a little over: names may need escapes, ids vary in length), so the 10+ MB
    // answer is never copied by a regrowth.
    let size: usize = levels
        .iter()
        .map(|l| (l.nodes.len() + l.idle.len()) * (l.obj_part.len() + 96) + l.names.len())
        .sum();
    out.reserve(size + root.names.len() + 256);
    out.push(b'[');
    write_head(out, &root, &root_node)?;
    for (i, (at, node)) in children.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_subtree(out, &levels, *at, node)?;
    }
    out.extend_from_slice(b"]}]");
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ops::topology::TopoInst;

    /// Every optional field and awkward strings: a leaf written by hand is byte for byte the
    /// serde serialisation of the reference builder's node (the integration tests cannot make
    /// templates or host-apply switches yet).
    #[test]
    fn a_leaf_is_written_as_serde_writes_it() {
        let names = ["plain", "q\"b\\s/\n\t\u{1}\u{7f}\u{2028}", "模块 😀", ""];
        for (i, name) in names.iter().enumerate() {
            for svc in [0, 7, -3] {
                for set_tpl in [0, 9_007_199_254_740_993] {
                    for host_apply in [false, true] {
                        let level = Level {
                            obj_part: obj_part("mo\"dule", names[(i + 1) % names.len()]).unwrap(),
                            nodes: Vec::new(),
                            idle: Vec::new(),
                            names: (*name).to_string(),
                        };
                        let node = Node {
                            parent: 1,
                            default: i64::from(host_apply) * 4 - 1,
                            id: i64::MAX - svc,
                            set_template_id: set_tpl,
                            service_template_id: svc,
                            host_apply_enabled: host_apply,
                            name: 0..name.len(),
                        };
                        let mut out = Vec::new();
                        write_head(&mut out, &level, &node).unwrap();
                        out.extend_from_slice(b"]}");
                        let want = TopoInst {
                            bk_inst_id: node.id,
                            bk_inst_name: (*name).to_string(),
                            bk_obj_id: "mo\"dule".into(),
                            bk_obj_name: names[(i + 1) % names.len()].into(),
                            default: node.default,
                            service_template_id: svc,
                            set_template_id: set_tpl,
                            host_apply_enabled: host_apply.then_some(true),
                            child: Vec::new(),
                        };
                        assert_eq!(
                            String::from_utf8(out).unwrap(),
                            serde_json::to_string(&want).unwrap()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn children_are_one_run() {
        let node = |parent, id| Node {
            parent,
            default: 0,
            id,
            set_template_id: 0,
            service_template_id: 0,
            host_apply_enabled: false,
            name: 0..0,
        };
        let level = Level {
            obj_part: Vec::new(),
            nodes: vec![node(1, 5), node(3, 1), node(3, 2), node(7, 0)],
            idle: Vec::new(),
            names: String::new(),
        };
        let ids = |p| level.children(p).iter().map(|n| n.id).collect::<Vec<_>>();
        assert_eq!(ids(3), [1, 2]);
        assert_eq!(ids(1), [5]);
        assert_eq!(ids(7), [0]);
        assert!(ids(0).is_empty() && ids(2).is_empty() && ids(8).is_empty());
    }
}
