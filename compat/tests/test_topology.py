"""Mainline topology through the official client (30-topology.md): business → custom level →
level instance → set → module → search_biz_inst_topo, plus the business/set/module reads."""
from conftest import new_id


def _topo(api, biz_id):
    data = api.ok("search_biz_inst_topo", {"bk_biz_id": biz_id})
    assert isinstance(data, list) and len(data) == 1, data
    return data[0]


def _child(node, obj_id, name):
    found = [c for c in node["child"] if c["bk_obj_id"] == obj_id and c["bk_inst_name"] == name]
    assert len(found) == 1, (obj_id, name, node)
    return found[0]


def test_business_level_set_module_flow(api):
    biz = api.ok("create_business", {"bk_biz_name": new_id("biz"), "bk_biz_maintainer": "admin"})
    biz_id = biz["bk_biz_id"]
    found = api.ok("search_business", {"condition": {"bk_biz_id": biz_id}})
    assert found["count"] == 1 and found["info"][0]["bk_biz_name"] == biz["bk_biz_name"]

    # A custom level between business and set (v3 only: the client has no operation for it).
    level = new_id("lvl")
    env = api.v3("POST", "/api/v3/create/topomodelmainline",
                 {"bk_obj_id": level, "bk_obj_name": "Region " + level, "bk_asst_obj_id": "biz",
                  "bk_classification_id": "bk_biz_topo"})
    assert env["result"] is True, env
    assert env["data"]["bk_obj_id"] == level
    try:
        _flow_below_level(api, biz_id, level)
    finally:
        # The server is shared by the whole suite: put the default chain (biz → set) back.
        env = api.v3("DELETE", "/api/v3/delete/topomodelmainline/object/%s" % level, {})
        assert env["result"] is True, env
    # Back below the business: the set is a child of the business again.
    root = _topo(api, biz_id)
    assert [c["bk_inst_name"] for c in root["child"]] == ["web"]


def _flow_below_level(api, biz_id, level):
    region = api.ok("create_inst", {"bk_obj_id": level, "bk_inst_name": "east",
                                    "bk_biz_id": biz_id, "bk_parent_id": biz_id})
    assert region["bk_parent_id"] == biz_id and region["bk_biz_id"] == biz_id
    # A level instance must hang below its own business.
    api.err("create_inst", {"bk_obj_id": level, "bk_inst_name": "west", "bk_biz_id": biz_id,
                            "bk_parent_id": 999999}, 1199011)

    s = api.ok("create_set", {"bk_biz_id": biz_id, "data": {"bk_parent_id": region["bk_inst_id"],
                                                            "bk_set_name": "web"}})
    assert s["bk_parent_id"] == region["bk_inst_id"]
    m = api.ok("create_module", {"bk_biz_id": biz_id, "bk_set_id": s["bk_set_id"],
                                 "data": {"bk_parent_id": s["bk_set_id"], "bk_module_name": "nginx"}})
    assert m["bk_set_id"] == s["bk_set_id"]
    sets = api.ok("search_set", {"bk_biz_id": biz_id, "condition": {"bk_set_name": "web"}})
    assert sets["count"] == 1 and sets["info"][0]["bk_set_id"] == s["bk_set_id"]
    modules = api.ok("search_module", {"bk_biz_id": biz_id, "bk_set_id": s["bk_set_id"]})
    assert [x["bk_module_name"] for x in modules["info"]] == ["nginx"]

    # The tree: business → the level's instances (the one made at insert + east) → set → module.
    root = _topo(api, biz_id)
    assert (root["bk_obj_id"], root["bk_inst_id"], root["default"]) == ("biz", biz_id, 0)
    # the instance made at insert is named after the model, whitespace stripped
    assert sorted(c["bk_inst_name"] for c in root["child"]) == sorted(["Region" + level, "east"])
    east = _child(root, level, "east")
    assert east["bk_inst_id"] == region["bk_inst_id"]
    web = _child(east, "set", "web")
    assert web["bk_inst_id"] == s["bk_set_id"]
    nginx = _child(web, "module", "nginx")
    assert nginx["bk_inst_id"] == m["bk_module_id"] and nginx["child"] == []

    # The idle pool is omitted from the tree but has its internal modules.
    internal = api.ok("get_biz_internal_module", {"bk_biz_id": biz_id})
    assert sorted(x["default"] for x in internal["module"]) == [1, 2, 3]
    assert all(c["bk_obj_id"] != "set" for c in root["child"])


