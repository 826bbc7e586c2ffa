"""ESB credential handling as the official client surfaces it (00-protocol.md §2.1, §4.3).

An authentication failure is HTTP 401 with the ESB envelope (result false, code 1199027) and the
header X-Bkapi-Error-Code; bkapi-client-core sees that header and raises APIGatewayResponseError.
"""
import pytest
from bkapi_client_core.exceptions import APIGatewayResponseError

from conftest import APP_CODE, APP_SECRET, REQUEST_ID_RE, Api, assert_envelope, make_client, new_id


def _expect_401(call, message):
    with pytest.raises(APIGatewayResponseError) as info:
        call()
    err = info.value
    assert err.response_status_code == 401
    assert err.error_code == "1640001"  # X-Bkapi-Error-Code (00-protocol §2.1)
    assert err.error_message == message  # X-Bkapi-Error-Message
    body = err.response_json()
    assert_envelope(body)
    assert body["result"] is False
    assert body["code"] == 1199027
    assert body["message"] == message
    assert body["data"] is None
    assert body["permission"] is None
    assert REQUEST_ID_RE.match(err.request_id)
    assert err.request_id == body["request_id"]
    return err


def test_wrong_secret_in_header_raises_401():
    client = make_client(bk_app_code=APP_CODE, bk_app_secret="not-the-secret", bk_username="compat_user")
    _expect_401(lambda: client.cc.search_objects({"bk_obj_id": "host"}), "app authentication failed")


def test_wrong_secret_in_body_raises_401():
    client = make_client()
    body = {"bk_obj_id": "host", "bk_app_code": APP_CODE, "bk_app_secret": "not-the-secret",
            "bk_username": "compat_user"}
    _expect_401(lambda: client.cc.search_objects(body), "app authentication failed")


def test_unknown_app_raises_401():
    client = make_client(bk_app_code="no-such-app", bk_app_secret=APP_SECRET, bk_username="compat_user")
    _expect_401(lambda: client.cc.search_objects({"bk_obj_id": "host"}), "app authentication failed")


def test_missing_credentials_raise_401():
    client = make_client()
    _expect_401(lambda: client.cc.search_objects({"bk_obj_id": "host"}),
                "'bk_app_code' authorization information query failed")


def test_missing_secret_raises_401():
    client = make_client(bk_app_code=APP_CODE, bk_username="compat_user")
    _expect_401(lambda: client.cc.search_objects({"bk_obj_id": "host"}),
                "'bk_app_code' authorization information query failed")


def test_missing_username_raises_401():
    client = make_client(bk_app_code=APP_CODE, bk_app_secret=APP_SECRET)
    _expect_401(lambda: client.cc.search_objects({"bk_obj_id": "host"}),
                "'bk_username' authorization information query failed")


def test_rejected_write_changes_nothing():
    cid = new_id("cls")
    body = {"bk_classification_id": cid, "bk_classification_name": "name " + cid}
    bad = make_client(bk_app_code=APP_CODE, bk_app_secret="not-the-secret", bk_username="compat_user")
    _expect_401(lambda: bad.cc.create_classification(body), "app authentication failed")
    assert Api("header").ok("search_classifications", {"bk_classification_id": cid}) == []


def test_header_credentials_win_over_body():
    # §2.1: the header is the first source; a wrong secret in the body does not matter then
    client = make_client(bk_app_code=APP_CODE, bk_app_secret=APP_SECRET, bk_username="compat_user")
    resp = client.cc.search_objects({"bk_obj_id": "host", "bk_app_secret": "not-the-secret"})
    assert_envelope(resp)
    assert resp["result"] is True, resp
    assert [o["bk_obj_id"] for o in resp["data"]] == ["host"]

    client = make_client(bk_app_code=APP_CODE, bk_app_secret="not-the-secret", bk_username="compat_user")
    _expect_401(lambda: client.cc.search_objects({"bk_obj_id": "host", "bk_app_secret": APP_SECRET}),
                "app authentication failed")


@pytest.mark.parametrize("mode", ["header", "body"])
def test_username_becomes_the_operator(mode):
    api = Api(mode, username="op_" + new_id("u"))
    model = api.new_model()
    inst = api.ok("create_inst", {"bk_obj_id": model["bk_obj_id"], "bk_inst_name": "who"})
    assert inst["bk_created_by"] == api.username
