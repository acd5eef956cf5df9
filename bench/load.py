"""The load generator, run as its own process so it never shares the measured server's
interpreter: `python -m bench.load '<json spec>'` prints one JSON result.

Spec: url, method, headers, body (JSON, `{i}` in strings replaced by the request number),
and either `rate` (requests/s, open loop: each request is due at a fixed time and its
latency counts from then, so a slow server cannot hide its queueing) for `seconds`, or
`count` requests by `concurrency` clients as fast as they go (closed loop)."""
import json
import queue
import sys
import threading
import time

import requests

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

    def _send(self, session: requests.Session, i: int, due: float | None) -> None:
        spec = self.spec
        due = time.perf_counter() if due is None else due  # closed loop: from sending
        try:
            response = session.request(spec["method"], spec["url"], headers=spec["headers"],
                                       json=_body(spec.get("body"), i), timeout=30)
            status, ok = response.status_code, response.ok
        except requests.RequestException as exc:
            status, ok = type(exc).__name__, False
        done = time.perf_counter()
        with self.lock:
            self.latencies.append((done - due) * 1000)
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
            self.errors += not ok
            self.last_done = time.time()

    def _client(self, work: queue.Queue) -> None:
        session = requests.Session()
        while (item := work.get()) is not None:
            self._send(session, *item)

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


def main() -> None:
    print(json.dumps(Load(json.loads(sys.argv[1])).run()))


if __name__ == "__main__":
    main()
