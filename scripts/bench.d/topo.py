"""Topology benchmark driver for scripts/bench-topo: times search_biz_inst_topo and
find_topo_node_paths against a generated topology over keep-alive HTTP, inserts one more custom
level into it, and checks the tree afterwards through the API (counts, parents, paths).

usage: topo.py BASE AUTH BIZ_ID EXPECTED_SETS EXPECTED_MODULES ROUNDS"""
import sys

import timed

BASE, AUTH, BIZ = sys.argv[1], sys.argv[2], int(sys.argv[3])
SETS, MODULES, ROUNDS = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
call = timed.Client(BASE, AUTH).call


def esb(name, body):
    """(data, seconds, answer bytes) of an ESB call."""
    return call("POST", f"/api/c/compapi/v2/cc/{name}/", body)


def stats(samples):
    return timed.stats(samples, 1)


def walk(node, path, out):
    out.append((node["bk_obj_id"], node["bk_inst_id"], path))
    for child in node.get("child") or []:
        walk(child, path + [(node["bk_obj_id"], node["bk_inst_id"])], out)


def tree():
    data, elapsed, size = esb("search_biz_inst_topo", {"bk_biz_id": BIZ})
    nodes = []
    for root in data:
        walk(root, [], nodes)
    return nodes, elapsed, size


# 1. search_biz_inst_topo: whole tree of the business.
nodes, _, size = tree()
counts = {}
for obj, _, _ in nodes:
    counts[obj] = counts.get(obj, 0) + 1
assert counts.get("set") == SETS and counts.get("module") == MODULES, counts
times = [tree()[1] for _ in range(ROUNDS)]
print(f"  search_biz_inst_topo ({len(nodes)} nodes, {size/1e6:.1f} MB): {stats(times)}")

# 2. find_topo_node_paths for 500 modules spread over the tree.
modules = [n for n in nodes if n[0] == "module"]
step = max(1, len(modules) // 500)
picked = modules[::step][:500]
body = {"bk_biz_id": BIZ, "bk_nodes": [{"bk_obj_id": "module", "bk_inst_id": i} for _, i, _ in picked]}
path = f"/api/v3/cache/find/cache/topo/node_path/biz/{BIZ}"
data, _, _ = call("POST", path, body)
assert len(data) == len(picked), (len(data), len(picked))
want = {i: p for _, i, p in picked}
for entry in data:
    got = [(e["bk_obj_id"], e["bk_inst_id"]) for e in entry["bk_paths"][0]]
    assert got == want[entry["bk_inst_id"]], (got, want[entry["bk_inst_id"]])
times = [call("POST", path, body)[1] for _ in range(ROUNDS * 5)]
print(f"  find_topo_node_paths (500 modules, paths verified): {stats(times)}")

# 3. Insert one more custom level directly above sets, then check the whole tree.
chain, _, _ = call("POST", "/api/v3/find/topomodelmainline", {})
above_set = [c["bk_obj_id"] for c in chain if c.get("bk_next_obj") == "set"][0]
_, elapsed, _ = call("POST", "/api/v3/create/topomodelmainline",
                     {"bk_obj_id": "bench_rack", "bk_obj_name": "Rack", "bk_asst_obj_id": above_set,
                      "bk_classification_id": "bk_biz_topo"})
print(f"  insert a custom level above {SETS} sets: {elapsed*1000:.0f} ms")
nodes, _, _ = tree()
counts = {}
for obj, _, p in nodes:
    counts[obj] = counts.get(obj, 0) + 1
    if obj == "set":
        assert p[-1][0] == "bench_rack", f"set below {p[-1]}"
assert counts.get("set") == SETS and counts.get("module") == MODULES, counts
print(f"  after the insert: {counts.get('bench_rack')} rack instances, every one of {SETS} sets below a rack, "
      f"{MODULES} modules intact")
