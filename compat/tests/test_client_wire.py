"""How the official client talks to the server: operation table, URL forms, envelope, request ids."""
import json
import uuid
from urllib.parse import urlsplit

import pytest
from bkapi_client_core.esb import Operation
from bkapi_client_core.exceptions import HTTPResponseError
from bkapi_component.open.client import Client

from conftest import (APP_CODE, APP_SECRET, GET_OPERATIONS, OPERATIONS, REQUEST_ID_RE, SERVER_URL, Api, assert_envelope,
                      make_client)

BUILTIN_CLASSIFICATIONS = {"bk_host_manage", "bk_biz_topo", "bk_organization", "bk_network", "bk_uncategorized"}


def _record(client):
    seen = []
    client.session.hooks["response"].append(lambda r, *a, **k: seen.append(r))
    return seen


def test_client_declares_every_operation_as_post_on_the_cc_path():
    cc = Client(endpoint=SERVER_URL).cc
    for op in OPERATIONS:
        operation = getattr(cc, op, None)
        assert operation is not None, "bkapi-component-open lacks cc.%s" % op
        assert operation.method == ("GET" if op in GET_OPERATIONS else "POST"), op
        assert operation.path == "/api/c/compapi{bk_api_ver}/cc/%s/" % op, op


def test_v2_path_envelope_and_request_id_headers(api):
    cid = api.new_classification()["bk_classification_id"]
    data = api.ok("search_classifications", {"bk_classification_id": cid})
    assert [c["bk_classification_id"] for c in data] == [cid]
    resp = api.last_response
    assert urlsplit(resp.request.url).path == "/api/c/compapi/v2/cc/search_classifications/"
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert resp.headers["X-Request-Id"] == body["request_id"]
    assert resp.headers["X-Bkapi-Request-Id"] == body["request_id"]
    # a successful ESB answer carries no gateway error header (the client would raise otherwise)
    assert not resp.headers.get("X-Bkapi-Error-Code")


def test_request_ids_differ_per_call(api):
    ids = {api.call("search_classifications", {"bk_classification_id": "bk_network"})["request_id"]
           for _ in range(3)}
    assert len(ids) == 3


def test_inbound_request_id_is_echoed():
    client = make_client(bk_app_code=APP_CODE, bk_app_secret=APP_SECRET, bk_username="compat_rid")
    seen = _record(client)
    rid = uuid.uuid4().hex
    resp = client.cc.search_classifications({"bk_classification_id": "bk_network"},
                                            headers={"X-Bkapi-Request-Id": rid})
    assert_envelope(resp)
    assert resp["result"] is True
    assert resp["request_id"] == rid
    assert seen[-1].headers["X-Request-Id"] == rid


def test_client_without_api_version_uses_the_unversioned_path():
    # Client(endpoint=URL) with the default bk_api_ver="" renders /api/c/compapi/cc/<name>/ (00-protocol §1.1)
    client = Client(endpoint=SERVER_URL)
    client.update_bkapi_authorization(bk_app_code=APP_CODE, bk_app_secret=APP_SECRET, bk_username="compat_nover")
    seen = _record(client)
    resp = client.cc.search_classifications({"bk_classification_id": "bk_network"})
    assert urlsplit(seen[-1].request.url).path == "/api/c/compapi/cc/search_classifications/"
    assert_envelope(resp)
    assert resp["result"] is True, resp
    assert [c["bk_classification_id"] for c in resp["data"]] == ["bk_network"]


def test_empty_dict_is_sent_without_body_and_means_no_filter():
    # the client drops a falsy `data` entirely: POST with Content-Length 0, which must act as {}
    client = make_client(bk_app_code=APP_CODE, bk_app_secret=APP_SECRET, bk_username="compat_empty")
    seen = _record(client)
    resp = client.cc.search_classifications({})
    assert seen[-1].request.body is None
    assert_envelope(resp)
    assert resp["result"] is True, resp
    ids = {c["bk_classification_id"] for c in resp["data"]}
    assert BUILTIN_CLASSIFICATIONS <= ids


def test_english_messages_when_language_is_en():
    api = Api("header")
    cid = api.new_classification()["bk_classification_id"]
    msg = api.err("create_classification",
                  {"bk_classification_id": cid, "bk_classification_name": "other " + cid}, 1199014)
    assert msg.startswith("duplicated instances exist, fields [")
    assert msg.endswith("] duplicated")
    req = api.last_request
    assert req.headers["Blueking-Language"] == "en"
    assert req.headers["Accept-Language"] == "en"


def test_request_body_is_json(api):
    api.ok("search_classifications", {"bk_classification_id": "bk_network"})
    req = api.last_request
    assert req.headers["Content-Type"] == "application/json"
    assert json.loads(req.body)["bk_classification_id"] == "bk_network"
    assert REQUEST_ID_RE.match(api.last_response.json()["request_id"])


def test_unknown_api_name_is_404_with_envelope():
    client = make_client(bk_app_code=APP_CODE, bk_app_secret=APP_SECRET, bk_username="compat_404")
    client.cc.register("no_such_api", Operation(method="POST", path="/api/c/compapi{bk_api_ver}/cc/no_such_api/"))
    with pytest.raises(HTTPResponseError) as info:
        client.cc.no_such_api({"x": 1})
    err = info.value
    assert err.response_status_code == 404
    body = err.response_json()
    assert_envelope(body)
    assert body["result"] is False
    assert body["code"] == 1199003
    assert body["message"] == "api no_such_api not found"
    assert body["data"] is None
