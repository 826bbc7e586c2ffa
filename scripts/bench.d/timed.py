"""Timed API calls for the benchmark drivers of this folder (assoc.py, hosts.py, topo.py): one
keep-alive connection per Client, every answer's envelope checked (a failed call stops the run,
so a benchmark never times errors), and the percentiles they print."""
import http.client
import json
import time
import urllib.parse


class Client:
    def __init__(self, base, auth):
        u = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        self.auth = auth
        self.user = json.loads(auth).get("bk_username", "admin")

    def call(self, method, path, body):
        """(data, seconds from send to the whole answer read, answer bytes)"""
        headers = {"Content-Type": "application/json", "X-Bkapi-Authorization": self.auth,
                   "X-Bkcmdb-User": self.user, "X-Bkcmdb-Supplier-Account": "0"}
        t0 = time.perf_counter()
        self.conn.request(method, path, body=json.dumps(body), headers=headers)
        raw = self.conn.getresponse().read()
        elapsed = time.perf_counter() - t0
        env = json.loads(raw)
        if not env.get("result"):
            raise SystemExit(f"{path} failed: {raw[:500]!r}")
        return env["data"], elapsed, len(raw)

    def esb(self, name, body):
        """(data, seconds) of an ESB call."""
        data, elapsed, _ = self.call("POST", f"/api/c/compapi/v2/cc/{name}/", body)
        return data, elapsed


def pick(samples, q):
    """The q-quantile of samples (seconds), in milliseconds."""
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


def stats(samples, digits=2):
    return (f"p50={pick(samples, 0.5):.{digits}f}ms p99={pick(samples, 0.99):.{digits}f}ms "
            f"max={max(samples) * 1000:.{digits}f}ms n={len(samples)}")
