"""Classifications through the client (10-models.md §1-§2)."""
import pytest

from conftest import new_id

CLASSIFICATION_KEYS = {"id", "bk_classification_id", "bk_classification_name", "bk_classification_type",
                       "bk_classification_icon", "bk_supplier_account"}
BUILTIN_CLASSIFICATIONS = {"bk_host_manage", "bk_biz_topo", "bk_organization", "bk_network", "bk_uncategorized"}


def test_classification_lifecycle(api):
    cid = new_id("cls")
    created = api.ok("create_classification", {"bk_classification_id": cid, "bk_classification_name": "N " + cid,
                                                "bk_classification_icon": "icon-cc-business"})
    assert set(created) == CLASSIFICATION_KEYS
    assert isinstance(created["id"], int) and created["id"] > 0
    assert created["bk_classification_id"] == cid
    assert created["bk_classification_name"] == "N " + cid
    assert created["bk_classification_icon"] == "icon-cc-business"
    assert created["bk_classification_type"] == ""
    assert created["bk_supplier_account"] == "0"

    # search by id: exactly the created record
    assert api.ok("search_classifications", {"bk_classification_id": cid}) == [created]
    # search all: built-ins and the new one; hidden ones are never listed
    everything = api.ok("search_classifications", {})
    ids = [c["bk_classification_id"] for c in everything]
    assert BUILTIN_CLASSIFICATIONS <= set(ids)
    assert ids.count(cid) == 1
    assert all(set(c) == CLASSIFICATION_KEYS for c in everything)
    assert all(c["bk_classification_type"] != "hidden" for c in everything)
    assert {c["bk_classification_id"]: c["bk_classification_type"] for c in everything}["bk_network"] == "inner"

    # update: name and icon change; bk_classification_id and id are ignored
    assert api.ok("update_classification", {"id": created["id"], "bk_classification_name": "R " + cid,
                                            "bk_classification_icon": "icon-cc-other",
                                            "bk_classification_id": new_id("cls")}) is None
    expected = dict(created, bk_classification_name="R " + cid, bk_classification_icon="icon-cc-other")
    assert api.ok("search_classifications", {"bk_classification_id": cid}) == [expected]
    assert api.ok("search_classifications", {"id": created["id"]}) == [expected]

    # delete, then it is gone; deleting again still succeeds
    assert api.ok("delete_classification", {"id": created["id"]}) is None
    assert api.ok("search_classifications", {"bk_classification_id": cid}) == []
    assert api.ok("delete_classification", {"id": created["id"]}) is None


def test_create_classification_duplicates(api):
    first = api.new_classification()
    cid, name = first["bk_classification_id"], first["bk_classification_name"]
    msg = api.err("create_classification", {"bk_classification_id": cid, "bk_classification_name": "x" + name},
                  1199014)
    assert msg.startswith("duplicated instances exist")
    msg = api.err("create_classification", {"bk_classification_id": new_id("cls"), "bk_classification_name": name},
                  1199014)
    assert msg.startswith("duplicated instances exist")
    # nothing extra was stored
    assert api.ok("search_classifications", {"bk_classification_name": name}) == [first]


def test_create_classification_invalid_ids(api):
    name = new_id("n")
    api.err("create_classification", {"bk_classification_name": name}, 1199010)
    api.err("create_classification", {"bk_classification_id": "", "bk_classification_name": name}, 1199010)
    api.err("create_classification", {"bk_classification_id": "bk" + new_id("x"), "bk_classification_name": name},
            1199011)
    api.err("create_classification", {"bk_classification_id": "BK" + new_id("x"), "bk_classification_name": name},
            1199011)
    api.err("create_classification", {"bk_classification_id": "1" + new_id("x"), "bk_classification_name": name},
            1199011)
    api.err("create_classification", {"bk_classification_id": "a-" + new_id("x"), "bk_classification_name": name},
            1199011)
    api.err("create_classification", {"bk_classification_id": 12345, "bk_classification_name": name}, 1199007)
    api.err("create_classification", {"bk_classification_id": "a" * 129, "bk_classification_name": name}, 1199073)
    assert api.ok("search_classifications", {"bk_classification_name": name}) == []


def test_update_classification_duplicate_name(api):
    a = api.new_classification()
    b = api.new_classification()
    msg = api.err("update_classification", {"id": b["id"], "bk_classification_name": a["bk_classification_name"]},
                  1199014)
    assert msg.startswith("duplicated instances exist")
    assert api.ok("search_classifications", {"bk_classification_id": b["bk_classification_id"]}) == [b]


def test_delete_classification_with_model_is_refused(api):
    cls = api.new_classification()
    model = api.new_model(cls["bk_classification_id"])
    msg = api.err("delete_classification", {"id": cls["id"]}, 1101029)
    assert msg == "There is a model under the category, not allowed to delete"
    assert api.ok("search_classifications", {"bk_classification_id": cls["bk_classification_id"]}) == [cls]
    # once the model is gone the classification can be deleted
    assert api.ok("delete_object", {"id": model["id"]}) is None
    assert api.ok("delete_classification", {"id": cls["id"]}) is None
    assert api.ok("search_classifications", {"bk_classification_id": cls["bk_classification_id"]}) == []


def test_uncategorized_is_silently_not_updated(api):
    [unc] = api.ok("search_classifications", {"bk_classification_id": "bk_uncategorized"})
    assert api.ok("update_classification", {"id": unc["id"], "bk_classification_name": new_id("n")}) is None
    assert api.ok("search_classifications", {"bk_classification_id": "bk_uncategorized"}) == [unc]


def test_create_classification_name_is_optional(api):
    cid = new_id("cls")
    created = api.ok("create_classification", {"bk_classification_id": cid})
    assert created["bk_classification_id"] == cid
    assert api.ok("search_classifications", {"bk_classification_id": cid}) == [created]
