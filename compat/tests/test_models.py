"""Models (objects) through the client (10-models.md §3)."""
from conftest import new_id, parse_time

MODEL_KEYS = {"id", "bk_obj_id", "bk_obj_name", "bk_classification_id", "bk_obj_icon", "ispre", "bk_ispaused",
              "bk_ishidden", "position", "description", "creator", "modifier", "obj_sort_number", "create_time",
              "last_time", "bk_supplier_account"}

PRESET_ATTRIBUTES = {
    "bk_inst_name": "singlechar",
    "bk_created_at": "time",
    "bk_created_by": "objuser",
    "bk_updated_at": "time",
    "bk_updated_by": "objuser",
}


def test_model_lifecycle(api):
    cls = api.new_classification()
    oid = new_id("obj")
    created = api.ok("create_object", {
        "bk_obj_id": oid, "bk_obj_name": "M " + oid, "bk_classification_id": cls["bk_classification_id"],
        "bk_obj_icon": "icon-cc-switch2", "description": "first", "obj_sort_number": 3})
    assert set(created) == MODEL_KEYS
    assert isinstance(created["id"], int) and created["id"] > 0
    assert created["bk_obj_id"] == oid
    assert created["bk_obj_name"] == "M " + oid
    assert created["bk_classification_id"] == cls["bk_classification_id"]
    assert created["bk_obj_icon"] == "icon-cc-switch2"
    assert created["description"] == "first"
    assert created["obj_sort_number"] == 3
    assert created["ispre"] is False
    assert created["bk_ispaused"] is False
    assert created["bk_ishidden"] is False
    assert created["bk_supplier_account"] == "0"
    assert isinstance(created["position"], str)
    assert isinstance(created["creator"], str)
    assert isinstance(created["modifier"], str)
    parse_time(created["create_time"])
    parse_time(created["last_time"])

    # the search returns the same record
    assert api.ok("search_objects", {"bk_obj_id": oid}) == [created]
    assert api.ok("search_objects", {"bk_classification_id": cls["bk_classification_id"]}) == [created]
    everything = api.ok("search_objects", {})
    assert [o["bk_obj_id"] for o in everything].count(oid) == 1
    assert {"biz", "set", "module", "host"} <= {o["bk_obj_id"] for o in everything}

    # pre-set attributes of a new model
    attrs = api.ok("search_object_attribute", {"bk_obj_id": oid})
    assert {a["bk_property_id"]: a["bk_property_type"] for a in attrs} == PRESET_ATTRIBUTES
    by_id = {a["bk_property_id"]: a for a in attrs}
    name_attr = by_id["bk_inst_name"]
    assert name_attr["isrequired"] is True and name_attr["isonly"] is True
    assert name_attr["ispre"] is True and name_attr["editable"] is True
    assert name_attr["bk_property_group"] == "default"
    for pid in ("bk_created_at", "bk_created_by", "bk_updated_at", "bk_updated_by"):
        assert by_id[pid]["ispre"] is True, pid
        assert by_id[pid]["editable"] is False, pid
    assert all(a["bk_obj_id"] == oid for a in attrs)

    # update: changed fields show up, bk_obj_id and id are ignored
    other_cls = api.new_classification()
    assert api.ok("update_object", {
        "id": created["id"], "bk_obj_name": "R " + oid, "bk_obj_icon": "icon-cc-router", "description": "second",
        "obj_sort_number": 7, "bk_classification_id": other_cls["bk_classification_id"],
        "bk_obj_id": new_id("obj")}) is None
    [updated] = api.ok("search_objects", {"bk_obj_id": oid})
    assert updated["id"] == created["id"]
    assert updated["bk_obj_name"] == "R " + oid
    assert updated["bk_obj_icon"] == "icon-cc-router"
    assert updated["description"] == "second"
    assert updated["obj_sort_number"] == 7
    assert updated["bk_classification_id"] == other_cls["bk_classification_id"]
    assert updated["create_time"] == created["create_time"]
    assert parse_time(updated["last_time"]) >= parse_time(created["last_time"])
    assert {k: v for k, v in updated.items() if k not in (
        "bk_obj_name", "bk_obj_icon", "description", "obj_sort_number", "bk_classification_id", "last_time",
        "modifier")} == {k: v for k, v in created.items() if k not in (
        "bk_obj_name", "bk_obj_icon", "description", "obj_sort_number", "bk_classification_id", "last_time",
        "modifier")}

    # pause / resume
    assert api.ok("update_object", {"id": created["id"], "bk_ispaused": True}) is None
    assert api.ok("search_objects", {"bk_obj_id": oid})[0]["bk_ispaused"] is True
    assert api.ok("update_object", {"id": created["id"], "bk_ispaused": False}) is None
    assert api.ok("search_objects", {"bk_obj_id": oid})[0]["bk_ispaused"] is False

    # delete: model and its attributes are gone; deleting again succeeds
    assert api.ok("delete_object", {"id": created["id"]}) is None
    assert api.ok("search_objects", {"bk_obj_id": oid}) == []
    assert api.ok("search_object_attribute", {"bk_obj_id": oid}) == []
    assert api.ok("delete_object", {"id": created["id"]}) is None


def test_create_object_duplicates(api):
    first = api.new_model()
    cls_id = first["bk_classification_id"]
    msg = api.err("create_object", {"bk_obj_id": first["bk_obj_id"], "bk_obj_name": new_id("n"),
                                    "bk_classification_id": cls_id, "bk_obj_icon": "icon-cc-default"}, 1199014)
    assert msg.startswith("duplicated instances exist")
    other = new_id("obj")
    msg = api.err("create_object", {"bk_obj_id": other, "bk_obj_name": first["bk_obj_name"],
                                    "bk_classification_id": cls_id, "bk_obj_icon": "icon-cc-default"}, 1199014)
    assert msg.startswith("duplicated instances exist")
    assert api.ok("search_objects", {"bk_obj_id": other}) == []
    assert api.ok("search_objects", {"bk_obj_id": first["bk_obj_id"]}) == [first]


def test_create_object_validation(api):
    cls_id = api.new_classification()["bk_classification_id"]

    def body(**over):
        b = {"bk_obj_id": new_id("obj"), "bk_obj_name": new_id("n"), "bk_classification_id": cls_id,
             "bk_obj_icon": "icon-cc-default"}
        b.update(over)
        return {k: v for k, v in b.items() if v is not None}

    api.err("create_object", body(bk_classification_id=None), 1199010)
    api.err("create_object", body(bk_classification_id=new_id("nocls")), 1101024)
    api.err("create_object", body(bk_obj_icon=""), 1199010)
    api.err("create_object", body(bk_obj_id="bk" + new_id("x")), 1199011)
    api.err("create_object", body(bk_obj_id="host"), 1199011)
    api.err("create_object", body(bk_obj_id="9" + new_id("x")), 1199011)
    api.err("create_object", body(obj_sort_number=-1), 1199006)
    api.err("create_object", body(bk_obj_name=None), 1199011)
    api.err("create_object", body(bk_obj_name="n" * 129), 1199011)
    api.err("create_object", body(bk_obj_id="o" * 129), 1199073)
    assert api.ok("search_objects", {"bk_classification_id": cls_id}) == []


def test_update_object_errors(api):
    a = api.new_model()
    b = api.new_model(a["bk_classification_id"])
    assert api.err("update_object", {"id": b["id"], "bk_classification_id": new_id("nocls")}, 1101113) \
        == "model classification not found"
    msg = api.err("update_object", {"id": b["id"], "bk_obj_name": a["bk_obj_name"]}, 1199014)
    assert msg.startswith("duplicated instances exist")
    assert api.ok("search_objects", {"bk_obj_id": b["bk_obj_id"]}) == [b]


def test_delete_object_refusals(api):
    model = api.new_model()
    inst = api.ok("create_inst", {"bk_obj_id": model["bk_obj_id"], "bk_inst_name": "keeps-model-alive"})
    msg = api.err("delete_object", {"id": model["id"]}, 1101037)
    assert msg == "the object [%s] has been instantiated and cannot be deleted" % model["bk_obj_id"]
    assert api.ok("search_objects", {"bk_obj_id": model["bk_obj_id"]}) == [model]
    assert api.ok("delete_inst", {"bk_obj_id": model["bk_obj_id"], "bk_inst_id": inst["bk_inst_id"]}) is None
    assert api.ok("delete_object", {"id": model["id"]}) is None

    [host] = api.ok("search_objects", {"bk_obj_id": "host"})
    assert host["ispre"] is True
    api.err("delete_object", {"id": host["id"]}, 1101135)
    assert api.ok("search_objects", {"bk_obj_id": "host"}) == [host]
