"""Benchmark fixtures for scripts/bench: the model, its unique attribute, and a population of
instances created through the public API (batch_create_inst), then verified by count."""
import json
import sys
import urllib.request

BASE, AUTH, ACTION = sys.argv[1], sys.argv[2], sys.argv[3]


def call(name, body):
    req = urllib.request.Request(
        f"{BASE}/api/c/compapi/v2/cc/{name}/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Bkapi-Authorization": AUTH},
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        env = json.load(resp)
    if not env["result"]:
        raise SystemExit(f"{name} failed: {env}")
    return env["data"]


def v3(method, path, body):
    creds = json.loads(AUTH)
    req = urllib.request.Request(
        f"{BASE}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Bkapi-Authorization": AUTH,
                 "X-Bkcmdb-User": creds.get("bk_username", "admin"), "X-Bkcmdb-Supplier-Account": "0"},
        method=method,
    )
    with urllib.request.urlopen(req) as resp:
        env = json.load(resp)
    if not env["result"]:
        raise SystemExit(f"{path} failed: {env}")
    return env["data"]


if ACTION == "model":
    call("create_object", {"bk_obj_id": "bench", "bk_obj_name": "bench", "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "icon-cc-default"})
    attr = call("create_object_attribute", {"bk_obj_id": "bench", "bk_property_id": "serial", "bk_property_name": "serial", "bk_property_type": "singlechar"})
    v3("POST", "/api/v3/create/objectunique/object/bench", {"keys": [{"key_kind": "property", "key_id": attr["id"]}]})
elif ACTION == "populate":
    total = int(sys.argv[4])
    for start in range(0, total, 200):
        details = [{"bk_inst_name": f"p-{n}", "serial": f"p-{n}"} for n in range(start, min(start + 200, total))]
        data = call("batch_create_inst", {"bk_obj_id": "bench", "details": details})
        if data["error_msg"]:
            raise SystemExit(f"populate failed: {data['error_msg']}")
elif ACTION == "count":
    print(call("count_object_instances", {"bk_obj_id": "bench"})["count"])
