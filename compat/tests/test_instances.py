"""General model instances through the client (20-instances.md)."""
import time

import pytest

from conftest import new_id, parse_time

SYSTEM_KEYS = {"bk_inst_id", "bk_inst_name", "bk_obj_id", "bk_supplier_account", "create_time", "last_time",
               "bk_created_by", "bk_created_at", "bk_updated_at", "bk_updated_by"}


@pytest.fixture
def test3(api):
    """The spec's seed model: a custom model with one singlechar attribute `test4`."""
    model = api.new_model()
    api.new_attr(model["bk_obj_id"], "test4", "singlechar")
    return model["bk_obj_id"]


@pytest.fixture
def server_model(api):
    """A model with attributes of several types; returns its bk_obj_id."""
    oid = api.new_model()["bk_obj_id"]
    api.new_attr(oid, "ip", "singlechar")
    api.new_attr(oid, "cpu", "int", option={"min": "1", "max": "64"})
    api.new_attr(oid, "online", "bool")
    api.new_attr(oid, "note", "longchar")
    return oid


def _create_many(api, oid, rows):
    data = api.ok("batch_create_inst", {"bk_obj_id": oid, "details": rows})
    assert data["error_msg"] == {}, data
    assert sorted(data["success_created"]) == sorted(str(i) for i in range(len(rows)))
    return [data["success_created"][str(i)] for i in range(len(rows))]


# ---- create_inst -----------------------------------------------------------------------------

def test_create_inst_spec_exchange(api, test3):
    """20-instances.md §3.5: create_inst {bk_obj_id, bk_inst_name: example18, bk_biz_id: 0}."""
    data = api.ok("create_inst", {"bk_obj_id": test3, "bk_inst_name": "example18", "bk_biz_id": 0})
    assert set(data) == {"bk_biz_id", "bk_inst_id", "bk_inst_name", "bk_obj_id", "bk_supplier_account",
                         "create_time", "last_time", "test4", "bk_created_by", "bk_created_at", "bk_updated_at",
                         "bk_updated_by"}
    assert data["bk_biz_id"] == 0
    assert isinstance(data["bk_inst_id"], int) and not isinstance(data["bk_inst_id"], bool)
    assert data["bk_inst_id"] > 0
    assert data["bk_inst_name"] == "example18"
    assert data["bk_obj_id"] == test3
    assert data["bk_supplier_account"] == "0"
    assert data["test4"] == ""
    assert data["bk_created_by"] == api.username
    assert data["bk_updated_by"] is None
    # one clock reading for all four timestamps
    times = {data[k] for k in ("create_time", "last_time", "bk_created_at", "bk_updated_at")}
    assert len(times) == 1
    parse_time(data["create_time"])
    # the stored record is what the create returned
    assert api.get_inst(test3, data["bk_inst_id"]) == data


def test_create_inst_fill_trim_and_key_handling(api, server_model):
    data = api.ok("create_inst", {"bk_obj_id": server_model, "bk_inst_name": "  srv-01  ", "ip": "  10.0.0.1 ",
                                  "no_such_attribute": "dropped", "metadata": {"label": {"bk_biz_id": "64"}}})
    # absent attributes are filled: singlechar/longchar "", int null, bool false; unknown keys and metadata dropped;
    # the credential fields of the body never become instance data
    assert set(data) == SYSTEM_KEYS | {"ip", "cpu", "online", "note"}
    assert data["bk_inst_name"] == "srv-01"
    assert data["ip"] == "10.0.0.1"
    assert data["cpu"] is None
    assert data["online"] is False
    assert data["note"] == ""
    assert api.get_inst(server_model, data["bk_inst_id"]) == data


def test_create_inst_errors(api, test3):
    api.ok("create_inst", {"bk_obj_id": test3, "bk_inst_name": "dup"})
    msg = api.err("create_inst", {"bk_obj_id": test3, "bk_inst_name": "dup", "bk_biz_id": 0}, 1199014)
    assert msg.startswith("duplicated instances exist, fields [")
    assert "bk_inst_name" in msg
    api.err("create_inst", {"bk_obj_id": test3, "bk_inst_name": "  dup "}, 1199014)
    assert api.err("create_inst", {"bk_obj_id": test3, "test4": "no name"}, 1199010) == "'bk_inst_name' unassigned"
    api.err("create_inst", {"bk_obj_id": test3, "bk_inst_name": 42}, 1199011)
    assert api.err("create_inst", {"bk_obj_id": "host", "bk_inst_name": "x"}, 1199084) \
        == "forbidden operate inner model instance with common instance API"
    assert api.err("create_inst", {"bk_obj_id": new_id("nomodel"), "bk_inst_name": "x"}, 1199011) \
        == "'bk_obj_id' the parameter is invalid or does not exist"
    assert api.ok("count_object_instances", {"bk_obj_id": test3}) == {"count": 1}


def test_create_inst_required_attribute_and_value_checks(api):
    oid = api.new_model()["bk_obj_id"]
    api.new_attr(oid, "asset", "singlechar", isrequired=True)
    api.new_attr(oid, "cpu", "int", option={"min": "1", "max": "64"})
    # the spec's error example
    assert api.err("create_inst", {"bk_obj_id": oid, "bk_inst_name": "a"}, 1199010) == "'asset' unassigned"
    # wrapped value errors: inner message uses the attribute's name
    msg = api.err("create_inst", {"bk_obj_id": oid, "bk_inst_name": "a", "asset": "x", "cpu": 65}, 1199011)
    assert msg.endswith("' the parameter is invalid or does not exist")
    assert "name cpu" in msg
    api.err("create_inst", {"bk_obj_id": oid, "bk_inst_name": "a", "asset": "x", "cpu": "8"}, 1199011)
    api.err("create_inst", {"bk_obj_id": oid, "bk_inst_name": "a", "asset": ""}, 1199011)
    assert api.ok("count_object_instances", {"bk_obj_id": oid}) == {"count": 0}
    ok = api.ok("create_inst", {"bk_obj_id": oid, "bk_inst_name": "a", "asset": "x", "cpu": 64})
    assert (ok["asset"], ok["cpu"]) == ("x", 64)


def test_create_inst_on_paused_model(api):
    model = api.new_model()
    assert api.ok("update_object", {"id": model["id"], "bk_ispaused": True}) is None
    assert api.err("create_inst", {"bk_obj_id": model["bk_obj_id"], "bk_inst_name": "x"}, 1101084) \
        == "the model stopped to use"
    assert api.ok("update_object", {"id": model["id"], "bk_ispaused": False}) is None
    api.ok("create_inst", {"bk_obj_id": model["bk_obj_id"], "bk_inst_name": "x"})


def test_create_inst_server_owned_keys(api, test3):
    data = api.ok("create_inst", {"bk_obj_id": test3, "bk_inst_name": "owned", "bk_inst_id": 5,
                                  "create_time": "2000-01-01T00:00:00Z", "last_time": "2000-01-01T00:00:00Z",
                                  "bk_created_by": "mallory", "bk_supplier_account": "0"})
    assert data["bk_created_by"] == api.username
    assert data["create_time"] != "2000-01-01T00:00:00Z"
    assert parse_time(data["create_time"]).year > 2000
    assert data["last_time"] == data["create_time"]
    others = api.ok("search_object_instances", {"bk_obj_id": test3, "page": {"start": 0, "limit": 10}})["info"]
    assert others == [data]
    if data["bk_inst_id"] != 5:
        assert api.get_inst(test3, 5) is None


def test_create_inst_bk_biz_id_checks(api, test3):
    api.err("create_inst", {"bk_obj_id": test3, "bk_inst_name": "b1", "bk_biz_id": 987654321}, 1199011)
    assert api.err("create_inst", {"bk_obj_id": test3, "bk_inst_name": "b2", "bk_biz_id": "abc"}, 1199011) \
        == "'bk_biz_id' the parameter is invalid or does not exist"
    assert api.ok("count_object_instances", {"bk_obj_id": test3}) == {"count": 0}


# ---- batch_create_inst -----------------------------------------------------------------------

def test_batch_create_inst(api, server_model):
    data = api.ok("batch_create_inst", {"bk_obj_id": server_model, "details": [
        {"bk_inst_name": "b1", "cpu": 4},
        {"bk_inst_name": "b2", "ip": "10.0.0.2"},
        {"bk_inst_name": "b1"},
        {"bk_inst_name": "b3", "cpu": 500},
    ]})
    assert set(data) == {"success_created", "error_msg"}
    assert sorted(data["success_created"]) == ["0", "1"]
    assert sorted(data["error_msg"]) == ["2", "3"]
    assert data["error_msg"]["2"].startswith("duplicated instances exist")
    assert isinstance(data["error_msg"]["3"], str) and data["error_msg"]["3"]
    id1, id2 = data["success_created"]["0"], data["success_created"]["1"]
    assert isinstance(id1, int) and isinstance(id2, int) and id2 > id1

    rows = api.ok("search_object_instances", {"bk_obj_id": server_model, "page": {"start": 0, "limit": 10,
                                                                                   "sort": "bk_inst_id"}})["info"]
    assert [(r["bk_inst_id"], r["bk_inst_name"]) for r in rows] == [(id1, "b1"), (id2, "b2")]
    assert rows[0]["cpu"] == 4 and rows[0]["ip"] == ""
    assert rows[1]["cpu"] is None and rows[1]["ip"] == "10.0.0.2"
    assert all(set(r) == SYSTEM_KEYS | {"ip", "cpu", "online", "note"} for r in rows)
    assert all(r["bk_created_by"] == api.username for r in rows)


def test_batch_create_inst_limits(api, test3):
    assert api.err("batch_create_inst", {"bk_obj_id": test3, "details": []}, 1199038) == "need data details is null"
    api.err("batch_create_inst", {"bk_obj_id": test3,
                                  "details": [{"bk_inst_name": "n%d" % i} for i in range(201)]}, 1199035)
    api.err("batch_create_inst", {"bk_obj_id": "host", "details": [{"bk_inst_name": "x"}]}, 1199084)
    assert api.ok("count_object_instances", {"bk_obj_id": test3}) == {"count": 0}
    data = api.ok("batch_create_inst", {"bk_obj_id": test3, "details": [{"bk_inst_name": "ok"}]})
    assert data["error_msg"] == {}
    assert list(data["success_created"]) == ["0"]


# ---- searches --------------------------------------------------------------------------------

def test_search_inst(api, server_model):
    ids = _create_many(api, server_model, [{"bk_inst_name": "s%d" % i, "cpu": i + 1} for i in range(5)])
    target = server_model
    data = api.ok("search_inst", {"bk_obj_id": target, "page": {"start": 0, "limit": 10},
                                  "condition": {target: [{"field": "bk_inst_name", "operator": "$eq",
                                                          "value": "s2"}]}})
    assert data["count"] == 1
    [row] = data["info"]
    assert row["bk_inst_id"] == ids[2] and row["cpu"] == 3
    assert set(row) == SYSTEM_KEYS | {"ip", "cpu", "online", "note"}

    data = api.ok("search_inst", {"bk_obj_id": target, "page": {"start": 1, "limit": 2, "sort": "-bk_inst_id"},
                                  "fields": {target: ["bk_inst_id", "bk_inst_name"]}})
    assert data["count"] == 5
    assert data["info"] == [{"bk_inst_id": ids[3], "bk_inst_name": "s3"},
                            {"bk_inst_id": ids[2], "bk_inst_name": "s2"}]

    data = api.ok("search_inst", {"bk_obj_id": target, "page": {"start": 0, "limit": 10, "sort": "bk_inst_id"},
                                  "condition": {target: [{"field": "cpu", "operator": "$gte", "value": 4}]}})
    assert data["count"] == 2
    assert [r["bk_inst_id"] for r in data["info"]] == ids[3:]

    data = api.ok("search_inst", {"bk_obj_id": target, "page": {"start": 0, "limit": 10},
                                  "condition": {target: [{"field": "bk_inst_name", "operator": "$in",
                                                          "value": ["s0", "s4", "zz"]}]}})
    assert sorted(r["bk_inst_id"] for r in data["info"]) == [ids[0], ids[4]]


def test_search_inst_by_object(api, server_model):
    ids = _create_many(api, server_model, [{"bk_inst_name": "o%d" % i, "ip": "10.1.0.%d" % i} for i in range(3)])
    data = api.ok("search_inst_by_object", {"bk_obj_id": server_model, "condition": {"ip": "10.1.0.1"},
                                            "fields": ["bk_inst_id", "bk_inst_name", "ip"],
                                            "page": {"start": 0, "limit": 10}})
    assert data == {"count": 1, "info": [{"bk_inst_id": ids[1], "bk_inst_name": "o1", "ip": "10.1.0.1"}]}

    data = api.ok("search_inst_by_object", {"bk_obj_id": server_model,
                                            "page": {"start": 0, "limit": 2, "sort": "bk_inst_id"}})
    assert data["count"] == 3
    assert [r["bk_inst_id"] for r in data["info"]] == ids[:2]
    assert all(set(r) == SYSTEM_KEYS | {"ip", "cpu", "online", "note"} for r in data["info"])

    data = api.ok("search_inst_by_object", {"bk_obj_id": server_model, "page": {"start": 0, "limit": 10},
                                            "condition": {"bk_inst_name": {"$in": ["o0", "o2"]}}})
    assert sorted(r["bk_inst_id"] for r in data["info"]) == [ids[0], ids[2]]
    assert data["count"] == 2

    api.err("search_inst_by_object", {"bk_obj_id": "host", "page": {"start": 0, "limit": 10}}, 1199084)


def test_search_object_instances(api, server_model):
    ids = _create_many(api, server_model, [{"bk_inst_name": "q%d" % i, "cpu": 2 * i + 2, "online": i % 2 == 1}
                                           for i in range(4)])
    data = api.ok("search_object_instances", {
        "bk_obj_id": server_model, "page": {"start": 0, "limit": 10, "sort": "-bk_inst_id"},
        "fields": ["bk_inst_id", "cpu"],
        "conditions": {"condition": "AND", "rules": [{"field": "cpu", "operator": "greater", "value": 2},
                                                      {"field": "online", "operator": "equal", "value": True}]}})
    assert data == {"info": [{"bk_inst_id": ids[3], "cpu": 8}, {"bk_inst_id": ids[1], "cpu": 4}]}

    data = api.ok("search_object_instances", {
        "bk_obj_id": server_model, "page": {"start": 0, "limit": 10, "sort": "bk_inst_id"},
        "conditions": {"condition": "OR", "rules": [
            {"field": "bk_inst_name", "operator": "in", "value": ["q0", "q2"]},
            {"condition": "AND", "rules": [{"field": "cpu", "operator": "less_or_equal", "value": 8},
                                           {"field": "bk_inst_name", "operator": "ends_with", "value": "3"}]}]}})
    assert set(data) == {"info"}
    assert [r["bk_inst_id"] for r in data["info"]] == [ids[0], ids[2], ids[3]]
    assert all(set(r) == SYSTEM_KEYS | {"ip", "cpu", "online", "note"} for r in data["info"])

    data = api.ok("search_object_instances", {"bk_obj_id": server_model,
                                              "page": {"start": 1, "limit": 2, "sort": "bk_inst_id"}})
    assert [r["bk_inst_id"] for r in data["info"]] == ids[1:3]

    # page is required and limit must be 1..500; field names must exist
    assert api.err("search_object_instances", {"bk_obj_id": server_model}, 1199006) \
        == "'page.limit' data parameter verification does not pass"
    api.err("search_object_instances", {"bk_obj_id": server_model, "page": {"start": 0, "limit": 501}}, 1199006)
    api.err("search_object_instances", {"bk_obj_id": server_model, "page": {"start": 0, "limit": 10},
                                        "conditions": {"condition": "AND", "rules": [
                                            {"field": "no_such_field", "operator": "equal", "value": 1}]}}, 1199006)
    api.err("search_object_instances", {"bk_obj_id": server_model, "page": {"start": 0, "limit": 10},
                                        "conditions": {"condition": "AND", "rules": [
                                            {"field": "cpu", "operator": "between", "value": [1, 2]}]}}, 1199006)
    api.err("search_object_instances", {"bk_obj_id": "host", "page": {"start": 0, "limit": 10}}, 1199084)


def test_time_condition(api, test3):
    made = api.ok("create_inst", {"bk_obj_id": test3, "bk_inst_name": "tc"})
    around = {"oper": "and", "rules": [{"field": "create_time", "start": "2000-01-01 00:00:00",
                                        "end": "2999-01-01 00:00:00"}]}
    future = {"oper": "and", "rules": [{"field": "create_time", "start": "2999-01-01 00:00:00",
                                        "end": "2999-01-02 00:00:00"}]}
    page = {"start": 0, "limit": 10}
    assert api.ok("search_inst", {"bk_obj_id": test3, "page": page, "time_condition": around}) \
        == {"count": 1, "info": [made]}
    assert api.ok("search_inst", {"bk_obj_id": test3, "page": page, "time_condition": future}) \
        == {"count": 0, "info": []}
    assert api.ok("search_object_instances", {"bk_obj_id": test3, "page": page, "time_condition": around}) \
        == {"info": [made]}
    assert api.ok("search_object_instances", {"bk_obj_id": test3, "page": page, "time_condition": future}) \
        == {"info": []}
    assert api.ok("count_object_instances", {"bk_obj_id": test3, "time_condition": future}) == {"count": 0}
    bad = dict(around, oper="or")
    api.err("search_inst", {"bk_obj_id": test3, "page": page, "time_condition": bad}, 1199006)


def test_count_object_instances(api, server_model):
    assert api.ok("count_object_instances", {"bk_obj_id": server_model}) == {"count": 0}
    _create_many(api, server_model, [{"bk_inst_name": "c%d" % i, "cpu": i + 1} for i in range(6)])
    assert api.ok("count_object_instances", {"bk_obj_id": server_model}) == {"count": 6}
    assert api.ok("count_object_instances", {
        "bk_obj_id": server_model,
        "conditions": {"condition": "AND", "rules": [{"field": "cpu", "operator": "greater_or_equal", "value": 3},
                                                      {"field": "cpu", "operator": "not_equal", "value": 5}]}}) \
        == {"count": 3}
    assert api.ok("count_object_instances", {
        "bk_obj_id": server_model,
        "conditions": {"condition": "AND", "rules": [{"field": "bk_inst_name", "operator": "begins_with",
                                                      "value": "zz"}]}}) == {"count": 0}
    api.err("count_object_instances", {"bk_obj_id": server_model, "conditions": {
        "condition": "AND", "rules": [{"field": "nope", "operator": "equal", "value": 1}]}}, 1199006)
    api.err("count_object_instances", {"bk_obj_id": "host"}, 1199084)


# ---- updates ---------------------------------------------------------------------------------

def test_update_inst(api, server_model):
    created = api.ok("create_inst", {"bk_obj_id": server_model, "bk_inst_name": "u1", "cpu": 2})
    other = api.ok("create_inst", {"bk_obj_id": server_model, "bk_inst_name": "u2"})
    assert api.ok("update_inst", {"bk_obj_id": server_model, "bk_inst_id": created["bk_inst_id"],
                                  "bk_inst_name": " u1-renamed ", "cpu": 16, "ip": " 10.9.9.9 ", "online": True,
                                  "no_such_attribute": 1}) is None
    stored = api.get_inst(server_model, created["bk_inst_id"])
    assert set(stored) == set(created)
    assert stored["bk_inst_name"] == "u1-renamed"
    assert stored["cpu"] == 16
    assert stored["ip"] == "10.9.9.9"
    assert stored["online"] is True
    assert stored["create_time"] == created["create_time"]
    assert stored["bk_created_at"] == created["bk_created_at"]
    assert stored["bk_created_by"] == created["bk_created_by"]
    assert stored["bk_inst_id"] == created["bk_inst_id"]
    assert parse_time(stored["last_time"]) >= parse_time(created["last_time"])
    # the other instance is untouched
    assert api.get_inst(server_model, other["bk_inst_id"]) == other

    # errors
    assert api.err("update_inst", {"bk_obj_id": server_model, "bk_inst_id": other["bk_inst_id"] + 100000,
                                   "cpu": 3}, 1199019) == "No relevant data found"
    msg = api.err("update_inst", {"bk_obj_id": server_model, "bk_inst_id": created["bk_inst_id"], "cpu": 65},
                  1199011)
    assert msg.endswith("' the parameter is invalid or does not exist")
    api.err("update_inst", {"bk_obj_id": server_model, "bk_inst_id": created["bk_inst_id"], "cpu": "9"}, 1199011)
    assert api.err("update_inst", {"bk_obj_id": server_model, "bk_inst_id": created["bk_inst_id"],
                                   "bk_inst_name": "u2"}, 1199014).startswith("duplicated instances exist")
    api.err("update_inst", {"bk_obj_id": server_model, "bk_inst_id": created["bk_inst_id"], "bk_inst_name": ""},
            1199011)
    api.err("update_inst", {"bk_obj_id": "biz", "bk_inst_id": 1, "bk_biz_name": "x"}, 1199084)
    # none of the failed updates changed anything
    assert api.get_inst(server_model, created["bk_inst_id"]) == stored


def test_update_inst_sets_last_time_and_updater(api, test3):
    created = api.ok("create_inst", {"bk_obj_id": test3, "bk_inst_name": "t"})
    time.sleep(0.02)  # timestamps have millisecond resolution
    assert api.ok("update_inst", {"bk_obj_id": test3, "bk_inst_id": created["bk_inst_id"], "test4": "v"}) is None
    stored = api.get_inst(test3, created["bk_inst_id"])
    assert stored["test4"] == "v"
    assert parse_time(stored["last_time"]) > parse_time(created["last_time"])
    assert stored["create_time"] == created["create_time"]


def test_update_inst_ignores_protected_keys(api, test3):
    created = api.ok("create_inst", {"bk_obj_id": test3, "bk_inst_name": "p", "bk_biz_id": 0})
    assert api.ok("update_inst", {"bk_obj_id": test3, "bk_inst_id": created["bk_inst_id"], "test4": "t",
                                  "bk_created_by": "mallory", "bk_biz_id": 7,
                                  "create_time": "2000-01-01T00:00:00Z"}) is None
    stored = api.get_inst(test3, created["bk_inst_id"])
    assert stored["test4"] == "t"
    assert stored["bk_created_by"] == api.username
    assert stored["bk_biz_id"] == 0
    assert stored["create_time"] == created["create_time"]
    assert api.err("update_inst", {"bk_obj_id": test3, "bk_inst_id": "abc", "test4": "x"}, 1199009) \
        == "'inst_id' parameters must be integral"
    api.err("delete_inst", {"bk_obj_id": test3, "bk_inst_id": "abc"}, 1199009)
    assert api.get_inst(test3, created["bk_inst_id"]) == stored


def test_batch_update_inst(api, server_model):
    a, b, c = _create_many(api, server_model, [{"bk_inst_name": "ba"}, {"bk_inst_name": "bb"},
                                               {"bk_inst_name": "bc", "cpu": 1}])
    before_c = api.get_inst(server_model, c)
    assert api.ok("batch_update_inst", {"bk_obj_id": server_model, "update": [
        {"inst_id": a, "datas": {"cpu": 10, "ip": "10.0.0.10"}},
        {"inst_id": b, "datas": {"bk_inst_name": "bb-renamed", "online": True}},
    ]}) is None
    ra, rb = api.get_inst(server_model, a), api.get_inst(server_model, b)
    assert (ra["cpu"], ra["ip"], ra["bk_inst_name"]) == (10, "10.0.0.10", "ba")
    assert (rb["bk_inst_name"], rb["online"], rb["cpu"]) == ("bb-renamed", True, None)
    assert api.get_inst(server_model, c) == before_c

    # one transaction: an invalid item makes the whole call fail and nothing is applied
    resp = api.call("batch_update_inst", {"bk_obj_id": server_model, "update": [
        {"inst_id": a, "datas": {"cpu": 20}},
        {"inst_id": b, "datas": {"cpu": 999}},
    ]})
    assert resp["result"] is False and resp["code"] == 1199011, resp
    assert api.get_inst(server_model, a) == ra
    assert api.get_inst(server_model, b) == rb

    assert api.err("batch_update_inst", {"bk_obj_id": server_model, "update": [
        {"inst_id": 0, "datas": {"cpu": 3}}]}, 1199006) == "'inst_id' data parameter verification does not pass"
    assert api.get_inst(server_model, a) == ra


# ---- deletes ---------------------------------------------------------------------------------

def test_delete_inst(api, test3):
    keep = api.ok("create_inst", {"bk_obj_id": test3, "bk_inst_name": "keep"})
    gone = api.ok("create_inst", {"bk_obj_id": test3, "bk_inst_name": "gone"})
    assert api.ok("delete_inst", {"bk_obj_id": test3, "bk_inst_id": gone["bk_inst_id"]}) is None
    assert api.get_inst(test3, gone["bk_inst_id"]) is None
    assert api.get_inst(test3, keep["bk_inst_id"]) == keep
    assert api.ok("count_object_instances", {"bk_obj_id": test3}) == {"count": 1}
    # deleting a missing instance succeeds; the name is free again
    assert api.ok("delete_inst", {"bk_obj_id": test3, "bk_inst_id": gone["bk_inst_id"]}) is None
    again = api.ok("create_inst", {"bk_obj_id": test3, "bk_inst_name": "gone"})
    assert again["bk_inst_id"] > gone["bk_inst_id"]  # ids are never reused
    api.err("delete_inst", {"bk_obj_id": "host", "bk_inst_id": 1}, 1199084)


def test_batch_delete_inst(api, test3):
    ids = _create_many(api, test3, [{"bk_inst_name": "d%d" % i} for i in range(4)])
    assert api.ok("batch_delete_inst", {"bk_obj_id": test3, "delete": {"inst_ids": [ids[0], ids[2], 999999999]}}) \
        is None
    rows = api.ok("search_object_instances", {"bk_obj_id": test3, "page": {"start": 0, "limit": 10,
                                                                            "sort": "bk_inst_id"}})["info"]
    assert [r["bk_inst_id"] for r in rows] == [ids[1], ids[3]]
    assert api.ok("batch_delete_inst", {"bk_obj_id": test3, "delete": {"inst_ids": []}}) is None
    assert api.ok("count_object_instances", {"bk_obj_id": test3}) == {"count": 2}
    api.err("batch_delete_inst", {"bk_obj_id": "host", "delete": {"inst_ids": [1]}}, 1199084)
    assert api.ok("batch_delete_inst", {"bk_obj_id": test3, "delete": {"inst_ids": [ids[1], ids[3]]}}) is None
    assert api.ok("count_object_instances", {"bk_obj_id": test3}) == {"count": 0}
