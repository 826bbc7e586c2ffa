"""Hosts through the official client (40-hosts.md): add to the resource pool → assign to a
business → transfer between modules → list by topology → back to idle → return to the pool →
delete, plus the base-info GET and a cloud area."""
import random

from conftest import new_id


def _ips(n):
    """Fresh inner addresses (the server is shared by the whole suite)."""
    a, b = random.randint(1, 250), random.randint(1, 250)
    return ["10.%d.%d.%d" % (a, b, i + 1) for i in range(n)]


def _modules_of(api, host_ids):
    rows = api.ok("find_host_biz_relations", {"bk_host_id": host_ids})
    return {(r["bk_host_id"], r["bk_biz_id"], r["bk_module_id"]) for r in rows}


def test_host_lifecycle(api):
    ips = _ips(2)
    added = api.ok("add_host_to_resource_pool", {"host_info": [
        {"bk_host_innerip": ips[0], "bk_cloud_id": 0, "bk_host_name": "web-1"},
        {"bk_host_innerip": ips[1], "bk_cloud_id": 0, "operator": "alice,bob"}]})
    assert [s["index"] for s in added["success"]] == [0, 1], added
    host_ids = [s["bk_host_id"] for s in added["success"]]

    # Duplicate static address in the same cloud: 1110004 with the per-row report in data.
    resp = api.call("add_host_to_resource_pool", {"host_info": [{"bk_host_innerip": ips[0], "bk_cloud_id": 0}]})
    assert resp["result"] is False and resp["code"] == 1110004, resp
    assert resp["data"]["error"][0]["index"] == 0, resp

    # Base info: the client sends GET with the id in the query string.
    info = api.ok("get_host_base_info", {"bk_host_id": host_ids[0]})
    values = {i["bk_property_id"]: i["bk_property_value"] for i in info}
    assert values["bk_host_innerip"] == ips[0] and values["bk_host_name"] == "web-1"

    biz = api.ok("create_business", {"bk_biz_name": new_id("biz"), "bk_biz_maintainer": "admin"})["bk_biz_id"]
    s = api.ok("create_set", {"bk_biz_id": biz, "bk_parent_id": biz, "bk_set_name": "web"})["bk_set_id"]
    m1 = api.ok("create_module", {"bk_biz_id": biz, "bk_set_id": s, "bk_parent_id": s,
                                  "bk_module_name": "nginx"})["bk_module_id"]
    m2 = api.ok("create_module", {"bk_biz_id": biz, "bk_set_id": s, "bk_parent_id": s,
                                  "bk_module_name": "php"})["bk_module_id"]
    idle = api.ok("get_biz_internal_module", {"bk_biz_id": biz})["module"][0]["bk_module_id"]

    api.ok("transfer_resourcehost_to_idlemodule", {"bk_biz_id": biz, "bk_host_id": host_ids})
    assert _modules_of(api, host_ids) == {(h, biz, idle) for h in host_ids}
    # Hosts of a business cannot be deleted.
    api.err("delete_host", {"bk_host_id": ",".join(map(str, host_ids))}, 1113002)

    api.ok("transfer_host_module", {"bk_biz_id": biz, "bk_host_id": host_ids, "bk_module_id": [m1]})
    api.ok("transfer_host_module", {"bk_biz_id": biz, "bk_host_id": [host_ids[0]], "bk_module_id": [m2],
                                    "is_increment": True})
    assert _modules_of(api, host_ids) == {(host_ids[0], biz, m1), (host_ids[0], biz, m2), (host_ids[1], biz, m1)}
    api.err("transfer_host_module", {"bk_biz_id": biz, "bk_host_id": host_ids, "bk_module_id": [idle]}, 1101080)

    page = {"start": 0, "limit": 10}
    in_m2 = api.ok("list_biz_hosts", {"bk_biz_id": biz, "page": page, "bk_module_ids": [m2],
                                      "fields": ["bk_host_id", "bk_host_innerip", "operator"]})
    assert in_m2 == {"count": 1, "info": [{"bk_host_id": host_ids[0], "bk_host_innerip": ips[0], "operator": ""}]}
    by_ip = api.ok("list_biz_hosts", {"bk_biz_id": biz, "page": page, "fields": ["bk_host_id", "operator"],
                                      "host_property_filter": {"condition": "AND", "rules": [
                                          {"field": "bk_host_innerip", "operator": "equal", "value": ips[1]}]}})
    assert by_ip["info"] == [{"bk_host_id": host_ids[1], "operator": "alice,bob"}]
    topo = api.ok("list_biz_hosts_topo", {"bk_biz_id": biz, "page": page, "fields": ["bk_host_id"]})
    assert topo["count"] == 2
    assert topo["info"][0]["topo"] == [{"bk_set_id": s, "bk_set_name": "web", "module": [
        {"bk_module_id": m1, "bk_module_name": "nginx"}, {"bk_module_id": m2, "bk_module_name": "php"}]}]
    rel = api.ok("find_host_topo_relation", {"bk_biz_id": biz, "bk_module_ids": [m1], "page": page})
    assert rel["count"] == 2 and {r["bk_host_id"] for r in rel["data"]} == set(host_ids)

    # Hosts leave a business only from its internal modules.
    api.err("transfer_host_to_resourcemodule", {"bk_biz_id": biz, "bk_host_id": host_ids}, 1110056)
    api.ok("transfer_host_to_idlemodule", {"bk_biz_id": biz, "bk_host_id": host_ids})
    api.err("update_business_enable_status", {"bk_biz_id": biz, "flag": "disabled"}, 1101087)
    api.ok("transfer_host_to_resourcemodule", {"bk_biz_id": biz, "bk_host_id": host_ids})
    pool = api.ok("list_resource_pool_hosts", {"page": {"start": 0, "limit": 500}, "fields": ["bk_host_id"],
                                               "host_property_filter": {"condition": "AND", "rules": [
                                                   {"field": "bk_host_id", "operator": "in", "value": host_ids}]}})
    assert sorted(h["bk_host_id"] for h in pool["info"]) == sorted(host_ids)

    api.ok("delete_host", {"bk_host_id": ",".join(map(str, host_ids))})
    api.err("get_host_base_info", {"bk_host_id": host_ids[0]}, 1110008)


def test_update_and_cloud_area(api):
    ips = _ips(1)
    area = api.ok("create_cloud_area", {"bk_cloud_name": new_id("zone")})["created"]["id"]
    host_id = api.ok("add_host_to_resource_pool", {"host_info": [
        {"bk_host_innerip": ips[0], "bk_cloud_id": area}]})["success"][0]["bk_host_id"]
    api.ok("update_host", {"bk_host_id": str(host_id), "bk_host_name": "db-1", "bk_cloud_id": 0})
    api.ok("batch_update_host", {"update": [{"bk_host_id": host_id, "properties": {"bk_comment": "x"}}]})
    found = api.ok("list_hosts_without_biz", {"page": {"start": 0, "limit": 10},
                                              "fields": ["bk_host_name", "bk_cloud_id", "bk_comment"],
                                              "host_property_filter": {"condition": "AND", "rules": [
                                                  {"field": "bk_host_id", "operator": "equal", "value": host_id}]}})
    assert found["info"] == [{"bk_host_name": "db-1", "bk_cloud_id": area, "bk_comment": "x"}]
    areas = api.ok("search_cloud_area", {"condition": {"bk_cloud_id": area}})
    assert areas["count"] == 1
    api.err("delete_cloud_area", {"bk_cloud_id": area}, 1101030)
    api.ok("delete_host", {"bk_host_id": str(host_id)})
    api.ok("delete_cloud_area", {"bk_cloud_id": area})
