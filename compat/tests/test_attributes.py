"""Model attributes through the client (10-models.md §4)."""
from conftest import new_id, parse_time

ATTRIBUTE_KEYS = {"id", "bk_obj_id", "bk_property_id", "bk_property_name", "bk_property_type", "bk_property_group",
                  "bk_property_group_name", "bk_property_index", "unit", "placeholder", "editable", "isrequired",
                  "isreadonly", "isonly", "ispre", "bk_issystem", "bk_isapi", "option", "default", "ismultiple",
                  "description", "creator", "bk_biz_id", "bk_template_id", "bk_supplier_account", "create_time",
                  "last_time"}


def test_attribute_lifecycle(api):
    model = api.new_model()
    oid = model["bk_obj_id"]
    before = api.ok("search_object_attribute", {"bk_obj_id": oid})
    created = api.ok("create_object_attribute", {
        "bk_obj_id": oid, "bk_property_id": "serial", "bk_property_name": "Serial number",
        "bk_property_type": "singlechar", "bk_property_group": "default", "option": "^[A-Z0-9]*$",
        "unit": "pcs", "placeholder": "upper case", "editable": True, "isrequired": False,
        "description": "the serial"})
    assert set(created) == ATTRIBUTE_KEYS
    assert isinstance(created["id"], int) and created["id"] > 0
    expect = {
        "bk_obj_id": oid, "bk_property_id": "serial", "bk_property_name": "Serial number",
        "bk_property_type": "singlechar", "bk_property_group": "default", "bk_property_group_name": "Default",
        "unit": "pcs", "placeholder": "upper case", "editable": True, "isrequired": False, "ispre": False,
        "ismultiple": False, "option": "^[A-Z0-9]*$", "description": "the serial", "bk_biz_id": 0,
        "bk_template_id": 0, "bk_supplier_account": "0",
    }
    assert {k: created[k] for k in expect} == expect
    assert created["bk_property_index"] > max(a["bk_property_index"] for a in before)
    parse_time(created["create_time"])
    parse_time(created["last_time"])

    # searches
    assert api.ok("search_object_attribute", {"bk_obj_id": oid, "bk_property_id": "serial"}) == [created]
    assert api.ok("search_object_attribute", {"id": created["id"]}) == [created]
    listed = api.ok("search_object_attribute", {"bk_obj_id": oid})
    assert len(listed) == len(before) + 1
    assert created in listed
    assert all(set(a) == ATTRIBUTE_KEYS for a in listed)

    # update; id, type and obj stay
    assert api.ok("update_object_attribute", {
        "id": created["id"], "bk_property_name": "Serial", "unit": "units", "placeholder": "e.g. AB12",
        "isrequired": True}) is None
    [updated] = api.ok("search_object_attribute", {"id": created["id"]})
    assert updated["bk_property_name"] == "Serial"
    assert updated["unit"] == "units"
    assert updated["placeholder"] == "e.g. AB12"
    assert updated["isrequired"] is True
    for k in ("id", "bk_obj_id", "bk_property_id", "bk_property_type", "create_time", "bk_property_index"):
        assert updated[k] == created[k], k

    # the now-required attribute is enforced on create_inst
    assert api.err("create_inst", {"bk_obj_id": oid, "bk_inst_name": "x"}, 1199010) == "'serial' unassigned"

    # delete; gone; deleting again succeeds
    assert api.ok("delete_object_attribute", {"id": created["id"]}) is None
    assert api.ok("search_object_attribute", {"bk_obj_id": oid, "bk_property_id": "serial"}) == []
    assert api.ok("search_object_attribute", {"bk_obj_id": oid}) == before
    assert api.ok("delete_object_attribute", {"id": created["id"]}) is None


def test_int_and_enum_attributes(api):
    oid = api.new_model()["bk_obj_id"]
    num = api.new_attr(oid, "cpu", "int", option={"min": "1", "max": "64"}, default=None)
    assert num["bk_property_type"] == "int"
    assert num["option"] == {"min": "1", "max": "64"}
    assert num["ismultiple"] is False
    options = [{"id": "on", "name": "On", "type": "text", "is_default": True},
               {"id": "off", "name": "Off", "type": "text", "is_default": False}]
    enum = api.new_attr(oid, "state", "enum", option=options)
    assert enum["option"] == options
    assert enum["default"] is None
    assert api.ok("search_object_attribute", {"bk_obj_id": oid, "bk_property_type": "enum"}) == [enum]


def test_delete_attribute_removes_the_field_from_instances(api):
    oid = api.new_model()["bk_obj_id"]
    attr = api.new_attr(oid, "rack")
    inst = api.ok("create_inst", {"bk_obj_id": oid, "bk_inst_name": "i1", "rack": "R1"})
    assert inst["rack"] == "R1"
    assert api.ok("delete_object_attribute", {"id": attr["id"]}) is None
    stored = api.get_inst(oid, inst["bk_inst_id"])
    assert "rack" not in stored
    assert stored["bk_inst_name"] == "i1"


def test_create_attribute_errors(api):
    oid = api.new_model()["bk_obj_id"]
    api.new_attr(oid, "port", bk_property_name="Port")

    def body(**over):
        b = {"bk_obj_id": oid, "bk_property_id": new_id("p"), "bk_property_name": new_id("n"),
             "bk_property_type": "singlechar"}
        b.update(over)
        return {k: v for k, v in b.items() if v is not None}

    assert api.err("create_object_attribute", body(bk_property_id="port"), 1199014) \
        .startswith("duplicated instances exist")
    assert api.err("create_object_attribute", body(bk_property_name="Port"), 1199014) \
        .startswith("duplicated instances exist")
    api.err("create_object_attribute", body(bk_property_id="bk_port"), 1199011)
    api.err("create_object_attribute", body(bk_property_id="9port"), 1199011)
    api.err("create_object_attribute", body(bk_property_id="p" * 129), 1199073)
    api.err("create_object_attribute", body(bk_property_name=None), 1199010)
    assert api.err("create_object_attribute", body(bk_property_type=None), 1199010) == "'bk_property_type' unassigned"
    api.err("create_object_attribute", body(bk_property_type="no_such_type"), 1199011)
    assert api.err("create_object_attribute", body(bk_obj_id=new_id("nomodel")), 1199011) \
        == "'bk_obj_id' the parameter is invalid or does not exist"
    api.err("create_object_attribute", body(ismultiple=True), 1199012)
    api.err("create_object_attribute", body(bk_property_type="int"), 1199008)  # option required for int
    two_defaults = [{"id": "a", "name": "A", "type": "text", "is_default": True},
                    {"id": "b", "name": "B", "type": "text", "is_default": True}]
    api.err("create_object_attribute", body(bk_property_type="enum", option=two_defaults), 1199092)
    listed = api.ok("search_object_attribute", {"bk_obj_id": oid})
    assert sorted(a["bk_property_id"] for a in listed) == sorted(
        ["bk_inst_name", "bk_created_at", "bk_created_by", "bk_updated_at", "bk_updated_by", "port"])


def test_update_attribute_duplicate_name(api):
    oid = api.new_model()["bk_obj_id"]
    a = api.new_attr(oid, "aaa")
    b = api.new_attr(oid, "bbb")
    assert api.err("update_object_attribute", {"id": b["id"], "bk_property_name": a["bk_property_name"]},
                   1199014).startswith("duplicated instances exist")
    assert api.ok("search_object_attribute", {"id": b["id"]}) == [b]
