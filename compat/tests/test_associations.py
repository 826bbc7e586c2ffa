"""Associations through the official client (50-associations.md): two models and a 1:n
association between them, links, queries in both directions, an illegal second link, deletion."""
from conftest import new_id


def test_one_to_many_flow(api):
    cls = api.new_classification()["bk_classification_id"]
    src = api.new_model(cls)["bk_obj_id"]
    dst = api.new_model(cls)["bk_obj_id"]
    key = "%s_belong_%s" % (src, dst)

    # The model association (v3 only: the client has no create operation).
    env = api.v3("POST", "/api/v3/create/objectassociation", {
        "bk_obj_asst_id": key, "bk_obj_asst_name": "rack of", "bk_obj_id": src, "bk_asst_obj_id": dst,
        "bk_asst_id": "belong", "mapping": "1:n", "on_delete": "none"})
    assert env["result"] is True, env
    asst = env["data"]
    assert {k: asst[k] for k in ("bk_obj_asst_id", "bk_obj_id", "bk_asst_obj_id", "bk_asst_id", "mapping",
                                 "on_delete", "ispre")} == {
        "bk_obj_asst_id": key, "bk_obj_id": src, "bk_asst_obj_id": dst, "bk_asst_id": "belong",
        "mapping": "1:n", "on_delete": "none", "ispre": False}
    assert api.ok("find_object_association", {"condition": {"bk_obj_id": src}}) == [asst]
    assert api.ok("find_object_association", {"condition": {"bk_asst_obj_id": dst}}) == [asst]

    def inst(obj, name):
        return api.ok("create_inst", {"bk_obj_id": obj, "bk_inst_name": name})["bk_inst_id"]

    s1, s2 = inst(src, new_id("s")), inst(src, new_id("s"))
    d1, d2 = inst(dst, new_id("d")), inst(dst, new_id("d"))

    # Link instances: one source, two targets (1:n allows it).
    l1 = api.ok("add_instance_association", {"bk_obj_asst_id": key, "bk_inst_id": s1, "bk_asst_inst_id": d1})["id"]
    l2 = api.ok("add_instance_association", {"bk_obj_asst_id": key, "bk_inst_id": s1, "bk_asst_inst_id": d2})["id"]
    assert isinstance(l1, int) and l2 > l1

    # Query both directions.
    fields = ["id", "bk_obj_id", "bk_inst_id", "bk_asst_obj_id", "bk_asst_inst_id", "bk_obj_asst_id", "bk_asst_id"]
    from_src = api.ok("search_related_inst_asso", {
        "condition": {"bk_obj_id": src, "bk_inst_id": s1}, "fields": fields, "page": {"start": 0, "limit": 10}})
    assert [(a["id"], a["bk_asst_inst_id"]) for a in from_src] == [(l1, d1), (l2, d2)]
    assert all(a["bk_obj_id"] == src and a["bk_asst_obj_id"] == dst and a["bk_asst_id"] == "belong"
               for a in from_src)
    from_dst = api.ok("search_related_inst_asso", {
        "condition": {"bk_obj_id": dst, "bk_inst_id": d2}, "fields": ["id", "bk_inst_id"], "page": {"limit": 10}})
    assert from_dst == [{"id": l2, "bk_inst_id": s1}]
    found = api.ok("find_instance_association", {"bk_obj_id": dst, "condition": {"bk_obj_asst_id": key}})
    assert sorted(a["id"] for a in found) == [l1, l2]
    detail = api.ok("find_instassociation_with_inst", {
        "bk_obj_id": src,
        "condition": {"asst_filter": {"condition": "AND", "rules": [
            {"field": "bk_inst_id", "operator": "equal", "value": s1}]}},
        "asst_fields": ["id"], "dst_fields": ["bk_inst_id"], "dst_detail": True, "page": {"limit": 10}})
    assert detail == {"association": [{"id": l1}, {"id": l2}], "dst": [{"bk_inst_id": d1}, {"bk_inst_id": d2}]}
    base = api.ok("search_inst_asst_object_inst_base_info", {
        "condition": {"bk_obj_id": dst, "bk_inst_id": d1, "association_obj_id": src, "is_target_object": True}})
    assert base["count"] == 1 and base["info"][0]["bk_inst_id"] == s1
    topo = api.ok("search_inst_association_topo", {"bk_obj_id": src, "bk_inst_id": s1})
    assert [(g["bk_obj_id"], g["count"]) for g in topo] == [(dst, 2)]
    assert sorted(c["bk_inst_id"] for c in topo[0]["children"]) == [d1, d2]
    counted = api.ok("count_instance_associations", {"bk_obj_id": src, "conditions": {
        "condition": "AND", "rules": [{"field": "bk_obj_asst_id", "operator": "equal", "value": key}]}})
    assert counted == {"count": 2}

    # An illegal second link: d1 already has its one source.
    msg = api.err("add_instance_association", {"bk_obj_asst_id": key, "bk_inst_id": s2, "bk_asst_inst_id": d1},
                  1101061)
    assert msg
    # A linked instance cannot be deleted.
    api.err("delete_inst", {"bk_obj_id": dst, "bk_inst_id": d1}, 1101075)

    # Batch create, then delete the links and the instances.
    batch = api.ok("batch_create_instance_association", {
        "bk_obj_id": src, "bk_asst_obj_id": dst, "bk_obj_asst_id": key,
        "details": [{"bk_inst_id": s2, "bk_asst_inst_id": d2}, {"bk_inst_id": s2, "bk_asst_inst_id": d1}]})
    assert batch["success_created"] == {} and set(batch["error_msg"]) == {"0", "1"}
    assert api.ok("delete_instance_association", {"bk_obj_id": src, "id": l1}) is None
    assert api.ok("delete_related_inst_asso", {"bk_obj_id": dst, "id": [l2]}) == 1
    assert api.ok("search_related_inst_asso", {
        "condition": {"bk_obj_id": src, "bk_inst_id": s1}, "fields": ["id"], "page": {"limit": 10}}) == []
    api.ok("batch_delete_inst", {"bk_obj_id": src, "delete": {"inst_ids": [s1, s2]}})
    api.ok("batch_delete_inst", {"bk_obj_id": dst, "delete": {"inst_ids": [d1, d2]}})
    env = api.v3("DELETE", "/api/v3/delete/objectassociation/%d" % asst["id"], {})
    assert env["result"] is True, env
    assert api.ok("find_object_association", {"condition": {"bk_obj_id": src}}) == []
