"""The load generator, run as its own process so it never shares the measured server's
interpreter: `python -m bench.load '<json spec>'` prints one JSON result.

Spec: url, method, headers, body (JSON, `{i}` in strings replaced by the request number),
and either `rate` (requests/s, open loop: each request is due at a fixed time and its
latency counts from then, so a slow server cannot hide its queueing) for `seconds`, or
`count` requests by `concurrency` clients as fast as they go (closed loop)."""
import http.client
import json
import queue
import sys
import threading
import time
from urllib.parse import urlsplit

from bench.stats import percentile


def _body(template, i: int):
    if isinstance(template, str):
        return template.replace("{i}", str(i))
    if isinstance(template, dict):
        return {k: _body(v, i) for k, v in template.items()}
    return template


class Load:
    def __init__(self, spec: dict):
        self.spec = spec
        self.latencies, self.errors, self.statuses = [], 0, {}
        self.lock = threading.Lock()
        self.first_sent = self.last_done = None

    def _send(self, client: "Client", i: int, due: float | None) -> None:
        due = time.perf_counter() if due is None else due  # closed loop: from sending
        try:
            status = client.request(_body(self.spec.get("body"), i))
            ok = 200 <= status < 400
        except (OSError, http.client.HTTPException) as exc:
            status, ok = type(exc).__name__, False
        done = time.perf_counter()
        with self.lock:
            self.latencies.append((done - due) * 1000)
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
            self.errors += not ok
            self.last_done = time.time()

    def _client(self, work: queue.Queue) -> None:
        client = Client(self.spec)
        while (item := work.get()) is not None:
            self._send(client, *item)

    def run(self) -> dict:
        spec = self.spec
        work: queue.Queue = queue.Queue()
        clients = [threading.Thread(target=self._client, args=(work,), daemon=True)
                   for _ in range(spec.get("concurrency", 16))]
        for client in clients:
            client.start()
        self.first_sent = time.time()
        started = time.perf_counter()
        if spec.get("rate"):
            total = int(spec["rate"] * spec["seconds"])
            for i in range(total):
                due = started + i / spec["rate"]
                time.sleep(max(0.0, due - time.perf_counter()))
                work.put((i, due))
        else:
            total = spec["count"]
            for i in range(total):
                work.put((i, None))
        for _ in clients:
            work.put(None)
        for client in clients:
            client.join()
        elapsed = time.perf_counter() - started
        return {"requests": total, "errors": self.errors, "statuses": self.statuses,
                "seconds": round(elapsed, 3), "achieved_rate": round(total / elapsed, 1),
                "p50_ms": round(percentile(self.latencies, 50), 2),
                "p99_ms": round(percentile(self.latencies, 99), 2),
                "first_sent": self.first_sent, "last_done": self.last_done}


class Client:
    """One kept-alive connection, as a browser or an app keeps one; the standard library's
    client costs the load process a fraction of what `requests` does, so the load leaves
    the measured server more of the machine's two cores."""

    def __init__(self, spec: dict):
        url = urlsplit(spec["url"])
        self.host, self.port = url.hostname, url.port or 80
        self.path = url.path + (f"?{url.query}" if url.query else "")
        self.method = spec["method"]
        self.headers = {**spec["headers"], "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, body) -> int:
        payload = None if body is None else json.dumps(body).encode()
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            self.conn.request(self.method, self.path, payload, self.headers)
            response = self.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request opens a new connection
            self.conn = None
            raise
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status


def main() -> None:
    print(json.dumps(Load(json.loads(sys.argv[1])).run()))


if __name__ == "__main__":
    main()
