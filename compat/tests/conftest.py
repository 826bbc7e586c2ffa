"""Shared fixtures for the bkapi-component-open compatibility suite.

Every call goes through the real official client (`bkapi_component.open.client.Client`,
package bkapi-component-open 2.1.0 on top of bkapi-client-core).  The server URL comes from
CMDB_COMPAT_URL (set by compat/run.sh).

Each flow runs twice through the `api` fixture:
  * "header": credentials configured on the client with `update_bkapi_authorization(...)`, which the
    client sends as the `X-Bkapi-Authorization` JSON header;
  * "body":   a client with no authorization configured; `bk_app_code` / `bk_app_secret` /
    `bk_username` are put into the JSON body (the older ESB calling style).
"""
import json
import os
import re
import uuid
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from bkapi_component.open.client import Client

SERVER_URL = os.environ.get("CMDB_COMPAT_URL", "")
APP_CODE = os.environ.get("CMDB_COMPAT_APP_CODE", "compat-app")
APP_SECRET = os.environ.get("CMDB_COMPAT_APP_SECRET", "compat-secret")

# operator names per credential mode, so tests can see which identity the server recorded
USERNAMES = {"header": "compat_hdr_user", "body": "compat_body_user"}

ENVELOPE_KEYS = {"result", "code", "message", "permission", "request_id", "data"}
REQUEST_ID_RE = re.compile(r"^[0-9a-f]{32}$")
# RFC 3339 with optional fraction and a Z / +hh:mm offset (00-protocol.md §8)
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")

# the ESB cc operations this suite drives
OPERATIONS = [
    "create_classification", "search_classifications", "update_classification", "delete_classification",
    "create_object", "search_objects", "update_object", "delete_object",
    "create_object_attribute", "search_object_attribute", "update_object_attribute", "delete_object_attribute",
    "create_inst", "batch_create_inst", "search_inst", "search_inst_by_object", "search_object_instances",
    "count_object_instances", "update_inst", "batch_update_inst", "delete_inst", "batch_delete_inst",
    "create_business", "search_business", "create_set", "search_set", "create_module", "search_module",
    "search_biz_inst_topo", "get_biz_internal_module",
    "add_host_to_resource_pool", "get_host_base_info", "find_host_biz_relations", "transfer_resourcehost_to_idlemodule",
    "transfer_host_module", "list_biz_hosts", "list_biz_hosts_topo", "find_host_topo_relation",
    "transfer_host_to_idlemodule", "transfer_host_to_resourcemodule", "list_resource_pool_hosts", "delete_host",
    "update_host", "batch_update_host", "list_hosts_without_biz", "create_cloud_area", "search_cloud_area",
    "delete_cloud_area", "update_business_enable_status",
]

# operations the official client sends as GET (their fields travel in the query string)
GET_OPERATIONS = {"search_biz_inst_topo", "get_biz_internal_module", "get_host_base_info"}


def new_id(prefix="c"):
    """A fresh identifier valid as a ModelID (letter first, \\w*, not starting with bk)."""
    return "%s%s" % (prefix, uuid.uuid4().hex[:12])


def parse_time(value):
    assert isinstance(value, str) and TIME_RE.match(value), "bad time value %r" % (value,)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_envelope(resp):
    assert isinstance(resp, dict), resp
    assert set(resp) == ENVELOPE_KEYS, resp
    assert isinstance(resp["result"], bool)
    assert isinstance(resp["code"], int)
    assert resp["result"] == (resp["code"] == 0), resp
    assert isinstance(resp["message"], str)
    assert REQUEST_ID_RE.match(resp["request_id"]), resp


def make_client(bk_api_ver="v2", language="en", **auth):
    client = Client(endpoint=SERVER_URL, bk_api_ver=bk_api_ver, language=language)
    if auth:
        client.update_bkapi_authorization(**auth)
    return client


class Api(object):
    """Drives `client.cc.<operation>(body)` in one credential mode and checks the wire format."""

    def __init__(self, mode, username=None):
        assert mode in ("header", "body")
        self.mode = mode
        self.username = username or USERNAMES[mode]
        self.creds = {"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": self.username}
        if mode == "header":
            self.client = make_client(**self.creds)
        else:
            self.client = make_client()
        self.last_request = None
        self.last_response = None
        self.client.session.hooks["response"].append(self._record)

    def _record(self, response, *args, **kwargs):
        self.last_request = response.request
        self.last_response = response

    def call(self, op, body=None, **kwargs):
        body = dict(body or {})
        if self.mode == "body":
            body.update(self.creds)
        operation = getattr(self.client.cc, op)  # AttributeError if the client lacks the operation
        result = operation(body, **kwargs)
        self._check_wire(op)
        return result

    def _check_wire(self, op):
        req = self.last_request
        assert req is not None
        split = urlsplit(req.url)
        assert split.path == "/api/c/compapi/v2/cc/%s/" % op
        get = op in GET_OPERATIONS  # sent as GET, the body's fields in the query string
        assert req.method == ("GET" if get else "POST")
        if self.mode == "header":
            assert json.loads(req.headers["X-Bkapi-Authorization"]) == self.creds
        else:
            assert "X-Bkapi-Authorization" not in req.headers
            sent = {k: v[0] for k, v in parse_qs(split.query).items()} if get else json.loads(req.body)
            for k, v in self.creds.items():
                assert sent[k] == v

    def ok(self, op, body=None):
        resp = self.call(op, body)
        assert_envelope(resp)
        assert resp["result"] is True, resp
        assert resp["code"] == 0, resp
        assert resp["message"] == "success", resp
        assert resp["permission"] is None, resp
        assert self.last_response.status_code == 200
        return resp["data"]

    def err(self, op, body, code):
        resp = self.call(op, body)
        assert_envelope(resp)
        assert resp["result"] is False, resp
        assert resp["code"] == code, resp
        assert resp["data"] is None, resp
        assert resp["permission"] is None, resp
        assert self.last_response.status_code == 200, resp
        return resp["message"]

    # ---- builders -------------------------------------------------------------------------
    def new_classification(self, **extra):
        cid = new_id("cls")
        body = {"bk_classification_id": cid, "bk_classification_name": "name " + cid}
        body.update(extra)
        return self.ok("create_classification", body)

    def new_model(self, classification_id=None, **extra):
        if classification_id is None:
            classification_id = self.new_classification()["bk_classification_id"]
        oid = new_id("obj")
        body = {"bk_obj_id": oid, "bk_obj_name": "model " + oid, "bk_classification_id": classification_id,
                "bk_obj_icon": "icon-cc-default"}
        body.update(extra)
        return self.ok("create_object", body)

    def new_attr(self, obj_id, prop_id, prop_type="singlechar", **extra):
        body = {"bk_obj_id": obj_id, "bk_property_id": prop_id, "bk_property_name": "name " + prop_id,
                "bk_property_type": prop_type}
        body.update(extra)
        return self.ok("create_object_attribute", body)

    def v3(self, method, path, body):
        """A native v3 call (routes with no ESB name, e.g. adding a mainline level): the client
        has no operation for them, so they go over plain HTTP with the same app credentials."""
        headers = {"X-Bkapi-Authorization": json.dumps({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET}),
                   "X-Bkcmdb-User": self.username, "X-Bkcmdb-Supplier-Account": "0",
                   "Content-Type": "application/json"}
        resp = requests.request(method, SERVER_URL.rstrip("/") + path, data=json.dumps(body), headers=headers)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def get_inst(self, obj_id, inst_id):
        data = self.ok("search_object_instances", {
            "bk_obj_id": obj_id, "page": {"start": 0, "limit": 10},
            "conditions": {"condition": "AND", "rules": [
                {"field": "bk_inst_id", "operator": "equal", "value": inst_id}]}})
        assert len(data["info"]) <= 1
        return data["info"][0] if data["info"] else None


@pytest.fixture(scope="session", autouse=True)
def _server_url():
    if not SERVER_URL:
        pytest.exit("CMDB_COMPAT_URL is not set: run the suite with compat/run.sh BINARY", returncode=2)
    return SERVER_URL


@pytest.fixture(params=["header", "body"])
def api(request):
    return Api(request.param)
