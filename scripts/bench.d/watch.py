"""resource_watch benchmark and exactly-once check (issue 7), driven by scripts/bench-watch.

WRITERS threads create and update instances of model `bw` for SECONDS, spread round-robin over
the server URLs given (several processes on one database); one consumer follows cursors on the
first server. Afterwards the consumer must have seen exactly the acknowledged writes (plus any
whose answer was lost), each once, every instance's create before its update; and the events
must equal what the database holds (checked through list_operation_audit counts and
count_object_instances). Latency: from the moment a writer got its acknowledgement to the moment
the consumer's long poll returned the event (negative when the consumer was faster than the
writer's answer), and from the write's send to the event.

The writers run in their own processes (PROCS of them, threads inside) and the consumer alone in
this one: with all of them in one interpreter, the consumer's thread waited for the GIL behind 32
writer threads, and that wait (5 ms switch interval, many times over) was measured as latency.
RATE (writes per second over all writers, 0 = as fast as they can) paces the writers: latency
measured on a saturated 2-core machine is mostly time spent waiting for a CPU.

usage: watch.py AUTH SECONDS WRITERS RATE URL [URL...]"""
import http.client
import json
import multiprocessing
import sys
import threading
import time
import urllib.parse

AUTH, SECONDS, WRITERS, RATE, URLS = (sys.argv[1], float(sys.argv[2]), int(sys.argv[3]),
                                      float(sys.argv[4]), sys.argv[5:])
PROCS = min(WRITERS, 8)


class Client:
    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def esb(self, name, body):
        headers = {"Content-Type": "application/json", "X-Bkapi-Authorization": AUTH}
        self.conn.request("POST", f"/api/c/compapi/v2/cc/{name}/", body=json.dumps(body), headers=headers)
        return json.loads(self.conn.getresponse().read())


setup = Client(URLS[0])
env = setup.esb("create_object", {"bk_obj_id": "bw", "bk_obj_name": "bw", "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "icon-cc-default"})
if not env["result"] and env["code"] != 1101007:  # already there from an earlier run is fine
    raise SystemExit(f"create_object: {env}")

setup.esb("create_inst", {"bk_obj_id": "bw", "bk_inst_name": f"start-{time.time()}"})
start = setup.esb("resource_watch", {"bk_resource": "object_instance", "bk_filter": {"bk_sub_resource": "bw"}})
cursor = start["data"]["bk_events"][0]["bk_cursor"]

stop_at = time.time() + SECONDS


def writer(n, out, failures):
    """One client: create, then update, until stop_at; pairs spaced 2 * WRITERS / RATE apart."""
    c = Client(URLS[n % len(URLS)])
    pace = 2 * WRITERS / RATE if RATE > 0 else 0
    next_at = time.time() + (n * pace / WRITERS if pace else 0)
    i = 0
    while time.time() < stop_at:
        if pace:
            delay = next_at - time.time()
            if delay > 0:
                time.sleep(delay)
            next_at += pace
        i += 1
        sent = time.time()
        env = c.esb("create_inst", {"bk_obj_id": "bw", "bk_inst_name": f"w{n}-{i}-{sent}"})
        if not env.get("result"):
            failures.append(env)
            continue
        iid = env["data"]["bk_inst_id"]
        out.append((iid, "create", sent, time.time()))
        sent = time.time()
        env = c.esb("update_inst", {"bk_obj_id": "bw", "bk_inst_id": iid, "bk_inst_name": f"w{n}-{i}-u"})
        if not env.get("result"):
            failures.append(env)
            continue
        out.append((iid, "update", sent, time.time()))


def writer_process(first, results):
    """Writers first, first + PROCS, ... as threads of one process; sends back what they saw."""
    out, failures = [], []
    threads = [threading.Thread(target=writer, args=(n, out, failures))
               for n in range(first, WRITERS, PROCS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((out, failures))


seen = []  # (inst_id, kind, received)
probe_id = [None]


def consumer():
    global cursor
    c = Client(URLS[0])
    while True:
        env = c.esb("resource_watch", {"bk_resource": "object_instance", "bk_cursor": cursor,
                                       "bk_fields": ["bk_inst_id"], "bk_filter": {"bk_sub_resource": "bw"}})
        now = time.time()
        if not env.get("result"):
            raise SystemExit(f"watch failed: {env}")
        events = env["data"]["bk_events"]
        cursor = events[-1]["bk_cursor"]
        if env["data"]["bk_watched"]:
            for e in events:
                seen.append((e["bk_detail"]["bk_inst_id"], e["bk_event_type"], now))
        if probe_id[0] is not None and any(i == probe_id[0] for i, _, _ in seen):
            return


# Writer processes first: forking while the consumer thread runs could copy a held lock.
ctx = multiprocessing.get_context("fork")
results = ctx.Queue()
procs = [ctx.Process(target=writer_process, args=(p, results)) for p in range(PROCS)]
for p in procs:
    p.start()
ct = threading.Thread(target=consumer)
ct.start()
acked = {}  # (inst_id, kind) -> (sent, acked)
failures = []
for _ in procs:
    out, failed = results.get()
    acked.update({(iid, kind): (sent, ack) for iid, kind, sent, ack in out})
    failures.extend(failed)
for p in procs:
    p.join()
# A last write through the last server: once the consumer sees it, it has seen everything before.
probe = Client(URLS[-1]).esb("create_inst", {"bk_obj_id": "bw", "bk_inst_name": f"probe-{time.time()}"})
probe_id[0] = probe["data"]["bk_inst_id"]
acked[(probe_id[0], "create")] = (time.time(), time.time())
ct.join(timeout=60)

keys = [(i, k) for i, k, _ in seen]
dupes = len(keys) - len(set(keys))
got = set(keys)
missing = [k for k in acked if k not in got]
unacked = [k for k in got if k not in acked]  # committed, but the writer saw no answer
order_bad = 0
pos = {k: n for n, k in enumerate(keys)}
for (iid, kind) in keys:
    if kind == "update" and pos.get((iid, "create"), 1 << 60) > pos[(iid, "update")]:
        order_bad += 1
stored = setup.esb("count_object_instances", {"bk_obj_id": "bw"})["data"]["count"]
lat_ack = sorted((r - acked[(i, k)][1]) * 1000 for i, k, r in seen if (i, k) in acked)
lat_sent = sorted((r - acked[(i, k)][0]) * 1000 for i, k, r in seen if (i, k) in acked)
pick = lambda s, q: s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")
print(f"  writes acknowledged: {len(acked)} ({sum(1 for k in acked if k[1]=='create')} creates) "
      f"in {SECONDS:.0f}s over {len(URLS)} server(s), {WRITERS} writers "
      f"({'paced at %.0f/s' % RATE if RATE > 0 else 'unpaced'}); failed answers: {len(failures)}")
print(f"  events seen: {len(seen)}  duplicates: {dupes}  acknowledged but missing: {len(missing)}  "
      f"update before its create: {order_bad}")
print(f"  instances stored: {stored} = 1 start marker + creates seen: {sum(1 for k in got if k[1]=='create')} "
      f"(seen without an acknowledgement: {len(unacked)})")
print(f"  latency ack->event  p50={pick(lat_ack,0.5):.1f}ms p99={pick(lat_ack,0.99):.1f}ms")
print(f"  latency send->event p50={pick(lat_sent,0.5):.1f}ms p99={pick(lat_sent,0.99):.1f}ms")
ok = dupes == 0 and not missing and order_bad == 0 and stored == sum(1 for k in got if k[1] == "create") + 1
print("OK: every committed write seen exactly once, in order" if ok else "FAIL")
sys.exit(0 if ok else 1)
