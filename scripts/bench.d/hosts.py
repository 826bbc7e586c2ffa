"""Host benchmark driver for scripts/bench-hosts: on a database made by `cmdb gen-hosts`, times
(1) counting the hosts of every business, (2) list_biz_hosts of one module, a page of 500, and
(3) transfer_host_module of 500 hosts, over keep-alive HTTP, and checks every answer against
what the generator wrote.

Counting is done the way a client of the real API does it: bk-cmdb has no "hosts per business"
call, so a client asks list_biz_hosts of each business for a page of one host and reads
`count` (upstream needed 324 s for this at 570k hosts). CLIENTS threads, each with its own
connection, share the 2,000 businesses; the figure is the wall time from the first request to
the last answer, for all of them.

usage: hosts.py BASE AUTH SUMMARY_FILE CLIENTS ROUNDS"""
import json
import random
import sys
import threading
import time

from timed import Client, pick, stats

BASE, AUTH = sys.argv[1], sys.argv[2]
with open(sys.argv[3]) as f:
    SUMMARY = json.load(f)
CLIENTS, ROUNDS = int(sys.argv[4]), int(sys.argv[5])
random.seed(5)
FIELDS = ["bk_host_id", "bk_host_innerip", "bk_cloud_id", "bk_host_name", "bk_os_type", "operator"]


def connect():
    return Client(BASE, AUTH)


def esb(conn, name, body):
    return conn.esb(name, body)


conn = connect()
expected = {b["bk_biz_id"]: b["hosts"] for b in SUMMARY["businesses"]}
total = SUMMARY["hosts"]


def module_count(biz, module):
    data, _ = esb(conn, "list_biz_hosts", {"bk_biz_id": biz, "bk_module_ids": [module],
                                           "page": {"start": 0, "limit": 1}, "fields": ["bk_host_id"]})
    return data["count"]


# 1. Hosts of every business, CLIENTS concurrent clients.
def count_all():
    bizs = list(expected)
    counts, lock, errors = {}, threading.Lock(), []
    start = threading.Barrier(CLIENTS + 1)

    def client(mine):
        c = connect()
        c.conn.connect()  # connected before the clock starts
        start.wait()
        try:
            for biz in mine:
                data, _ = esb(c, "list_biz_hosts", {"bk_biz_id": biz, "page": {"start": 0, "limit": 1},
                                                     "fields": ["bk_host_id"]})
                with lock:
                    counts[biz] = data["count"]
        except BaseException as e:  # reported below, the other clients finish
            errors.append(e)

    threads = [threading.Thread(target=client, args=(bizs[i::CLIENTS],)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"counting failed: {errors[0]}")
    wrong = [(b, counts.get(b), n) for b, n in expected.items() if counts.get(b) != n]
    if wrong or sum(counts.values()) != total:
        raise SystemExit(f"counts differ from the generated data: {wrong[:5]}, sum {sum(counts.values())}")
    return wall


walls = [count_all() for _ in range(ROUNDS)]
print(f"  count hosts of all {len(expected)} businesses (list_biz_hosts page.limit=1, {CLIENTS} clients): "
      f"wall {', '.join(f'{w * 1000:.0f}' for w in walls)} ms over {ROUNDS} rounds; "
      f"counts match the generator, sum {total}")

# 2. list_biz_hosts of one module, a page of 500 at a random place in a module of >= 500 hosts.
big = SUMMARY["big_modules"]
if not big:
    raise SystemExit("no module holds 500 hosts: generate more hosts per module")
results = {}
for label, fields in [(f"{len(FIELDS)} fields", FIELDS), ("all fields", [])]:
    samples = []
    for _ in range(ROUNDS * 100):
        m = random.choice(big)
        start = random.randint(0, m["hosts"] - 500)
        data, t = esb(conn, "list_biz_hosts", {"bk_biz_id": m["bk_biz_id"], "bk_module_ids": [m["bk_module_id"]],
                                               "page": {"start": start, "limit": 500}, "fields": fields})
        ids = [h["bk_host_id"] for h in data["info"]]
        if data["count"] != m["hosts"] or len(ids) != 500 or ids != sorted(set(ids)):
            raise SystemExit(f"list_biz_hosts of module {m['bk_module_id']}: count {data['count']} "
                             f"(want {m['hosts']}), {len(ids)} hosts")
        if fields and set(data["info"][0]) != set(fields):
            raise SystemExit(f"list_biz_hosts fields: {sorted(data['info'][0])}")
        samples.append(t)
    results[label] = samples
    print(f"  list_biz_hosts of one module, page of 500 ({label}): {stats(samples)}")

# 3. transfer_host_module of 500 hosts between two big modules of one business, back and forth.
by_biz = {}
for m in big:
    if not m["idle"]:
        by_biz.setdefault(m["bk_biz_id"], []).append(m["bk_module_id"])
biz, mods = max(by_biz.items(), key=lambda kv: len(kv[1]))
if len(mods) < 2:
    raise SystemExit("no business has two modules of 500 hosts")
src, dst = mods[0], mods[1]
samples = []
for r in range(ROUNDS * 8):
    page, _ = esb(conn, "list_biz_hosts", {"bk_biz_id": biz, "bk_module_ids": [src],
                                           "page": {"start": 0, "limit": 500}, "fields": ["bk_host_id"]})
    ids = [h["bk_host_id"] for h in page["info"]]
    if len(ids) != 500:
        raise SystemExit(f"module {src} has only {len(ids)} hosts left")
    before, _ = esb(conn, "find_host_biz_relations", {"bk_host_id": ids})
    already = {row["bk_host_id"] for row in before if row["bk_module_id"] == dst}
    n_src, n_dst = module_count(biz, src), module_count(biz, dst)
    _, t = esb(conn, "transfer_host_module", {"bk_biz_id": biz, "bk_host_id": ids, "bk_module_id": [dst],
                                              "is_increment": False})
    samples.append(t)
    after, _ = esb(conn, "find_host_biz_relations", {"bk_host_id": ids})
    if sorted((row["bk_host_id"], row["bk_module_id"], row["bk_biz_id"]) for row in after) != \
            sorted((h, dst, biz) for h in ids):
        raise SystemExit(f"transfer round {r}: the hosts are not exactly in module {dst}")
    if module_count(biz, src) != n_src - 500 or module_count(biz, dst) != n_dst + 500 - len(already):
        raise SystemExit(f"transfer round {r}: module counts did not move by 500")
    src, dst = dst, src
data, _ = esb(conn, "list_biz_hosts", {"bk_biz_id": biz, "page": {"start": 0, "limit": 1}, "fields": ["bk_host_id"]})
if data["count"] != expected[biz]:
    raise SystemExit(f"business {biz} has {data['count']} hosts after the transfers, want {expected[biz]}")
print(f"  transfer_host_module of 500 hosts (overwrite, between two modules of business {biz}): {stats(samples)}; "
      f"every round checked (relations, module counts), business total unchanged")

page_p99 = pick(results[f"{len(FIELDS)} fields"], 0.99)
print(f"  targets: count all {max(walls) * 1000:.0f} ms (worst round) {'<' if max(walls) < 1 else 'OVER'} 1 s; "
      f"page p99 {page_p99:.1f} ms {'<' if page_p99 < 20 else 'OVER'} 20 ms; "
      f"transfer p99 {pick(samples, 0.99):.0f} ms {'<' if pick(samples, 0.99) < 200 else 'OVER'} 200 ms")
