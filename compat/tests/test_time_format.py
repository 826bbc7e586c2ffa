"""Timestamp serialization (00-protocol.md §8): RFC 3339 with milliseconds and the server's offset,
trailing zeros of the fraction dropped, as Go's time.Time JSON does ("…:27.069+08:00", ".67+08:00",
no fraction at all when the milliseconds are 000)."""
import re

import pytest

# fraction, when present, must not end in 0
GO_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,8}[1-9])?(Z|[+-]\d{2}:\d{2})$")
MAX_TRIES = 300


def test_timestamps_drop_trailing_fraction_zeros(api):
    oid = api.new_model()["bk_obj_id"]
    short_seen = 0
    for i in range(MAX_TRIES):
        data = api.ok("create_inst", {"bk_obj_id": oid, "bk_inst_name": "t%d" % i})
        for key in ("create_time", "last_time", "bk_created_at", "bk_updated_at"):
            assert GO_TIME_RE.match(data[key]), "%s=%r" % (key, data[key])
        frac = re.search(r"\.(\d+)", data["create_time"])
        if frac is None or len(frac.group(1)) < 3:
            short_seen += 1
            if short_seen >= 2:
                break
    else:
        pytest.skip("no timestamp whose milliseconds end in 0 was produced in %d creates" % MAX_TRIES)
    # the same value is re-emitted by searches
    rows = api.ok("search_object_instances", {"bk_obj_id": oid, "page": {"start": 0, "limit": 500}})["info"]
    for row in rows:
        assert GO_TIME_RE.match(row["create_time"]), row["create_time"]
