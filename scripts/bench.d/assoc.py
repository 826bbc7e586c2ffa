"""Association benchmark driver for scripts/bench-assoc: times search_related_inst_asso (source
and target side) and find_instassociation_with_inst (both directions, with the other side's
instance details) for random single instances over keep-alive HTTP. Every answer is checked
against the links `cmdb gen-assoc` made (its summary states the rule): exactly the expected
links, each once, and the expected instances in the details; a wrong answer stops the run.

usage: assoc.py BASE AUTH SUMMARY_JSON ROUNDS"""
import json
import math
import os
import random
import sys

from timed import Client, stats

BASE, AUTH, SUMMARY = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
ROUNDS = int(sys.argv[4])
esb = Client(BASE, AUTH).esb
random.seed(6)

src, dst, key = SUMMARY["src_obj"], SUMMARY["dst_obj"], SUMMARY["bk_obj_asst_id"]
S, T, PER = SUMMARY["sources"], SUMMARY["targets"], SUMMARY["per_source"]
s_lo, s_hi = SUMMARY["src_ids"]
d_lo, d_hi = SUMMARY["dst_ids"]
if not (SUMMARY["src_consecutive"] and SUMMARY["dst_consecutive"]
        and s_hi - s_lo + 1 == S and d_hi - d_lo + 1 == T):
    raise SystemExit("generated ids are not consecutive; expected answers cannot be derived")
if SUMMARY["links"] != S * PER:
    raise SystemExit(f"generator wrote {SUMMARY['links']} links, want {S * PER}")


def targets_of(i):
    """Target indexes of source #i (the generator's rule)."""
    return {(7 * i + k) % T for k in range(PER)}


def sources_of(j):
    """Source indexes linked to target #j: the i < S with 7*i + k = j (mod T) for some k < PER."""
    out = set()
    g = math.gcd(7, T)
    m = T // g
    inv = pow(7 // g, -1, m) if m > 1 else 0
    for k in range(PER):
        r = (j - k) % T
        if r % g:
            continue
        i = (r // g) * inv % m if m > 1 else 0
        while i < S:
            out.add(i)
            i += m
    return out


def expected_links(obj, inst):
    """(bk_obj_id, bk_inst_id, bk_asst_obj_id, bk_asst_inst_id) of every link of one instance."""
    if obj == src:
        return sorted((src, inst, dst, d_lo + j) for j in targets_of(inst - s_lo))
    return sorted((src, s_lo + i, dst, inst) for i in sources_of(inst - d_lo))


def check_links(label, inst, got, want):
    keys = sorted((a["bk_obj_id"], a["bk_inst_id"], a["bk_asst_obj_id"], a["bk_asst_inst_id"]) for a in got)
    if keys != want or any(a["bk_obj_asst_id"] != key for a in got) or len({a["id"] for a in got}) != len(got):
        raise SystemExit(f"{label}: wrong answer for instance {inst}: {len(got)} links, want {len(want)}: "
                         f"{got[:2]}")


fields = ["id", "bk_obj_asst_id", "bk_asst_id", "bk_obj_id", "bk_inst_id", "bk_asst_obj_id", "bk_asst_inst_id"]
results = {}
checked = 0
for label, obj, lo, hi in [("search_related_inst_asso (source side)", src, s_lo, s_hi),
                           ("search_related_inst_asso (target side)", dst, d_lo, d_hi)]:
    samples = []
    for _ in range(ROUNDS):
        inst = random.randint(lo, hi)
        want = expected_links(obj, inst)
        if len(want) > 500:
            raise SystemExit(f"{label}: {len(want)} links for one instance, more than one page")
        data, t = esb("search_related_inst_asso", {"condition": {"bk_obj_id": obj, "bk_inst_id": inst},
                                                   "fields": fields, "page": {"start": 0, "limit": 500}})
        check_links(label, inst, data, want)
        checked += len(data)
        samples.append(t)
    results[label] = samples

for label, obj, lo, hi, field, side, other in [
        ("find_instassociation_with_inst (source, + targets)", src, s_lo, s_hi, "bk_inst_id", "dst",
         "bk_asst_inst_id"),
        ("find_instassociation_with_inst (target, + sources)", dst, d_lo, d_hi, "bk_asst_inst_id", "src",
         "bk_inst_id")]:
    samples = []
    for _ in range(ROUNDS):
        inst = random.randint(lo, hi)
        want = expected_links(obj, inst)
        if len(want) > 200:
            raise SystemExit(f"{label}: {len(want)} links for one instance, more than one page")
        data, t = esb("find_instassociation_with_inst", {
            "bk_obj_id": obj,
            "condition": {"asst_filter": {"condition": "AND", "rules": [
                {"field": field, "operator": "equal", "value": inst}]}},
            f"{side}_detail": True, f"{side}_fields": ["bk_inst_id", "bk_inst_name"],
            "page": {"start": 0, "limit": 200}})
        check_links(label, inst, data["association"], want)
        ends = sorted(a[other] for a in data["association"])
        if sorted(d["bk_inst_id"] for d in data[side]) != ends:
            raise SystemExit(f"{label}: details of instance {inst} do not match its links")
        checked += len(data["association"])
        samples.append(t)
    results[label] = samples

for label, s in results.items():
    print(f"  {label:52s} {stats(s)}")
print(f"  every answer checked: {checked} links, each the expected one")
load = " ".join(f"{x:.2f}" for x in os.getloadavg())
worst = max(sorted(s)[min(len(s) - 1, int(0.99 * len(s)))] for s in results.values()) * 1000
print(f"  worst p99: {worst:.2f}ms ({'under' if worst < 10 else 'OVER'} the 10 ms target); "
      f"load average at the end: {load}")
