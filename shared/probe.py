"""Health and metrics of a worker or relay, for orchestrators and Prometheus: a small HTTP
server on SOCIALWORK_PROBE_PORT. /healthz answers 200 while the process's loop is turning
(it beats at least every few seconds), 503 when it is stuck or disconnected; /metrics needs
an ops_admin token, like every endpoint but health."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import auth
from .errors import ApiError
from .metrics import exposition


class Heartbeat:
    """A loop's sign of life: it beats every turn; healthy while it beat recently and the
    loop is connected to its broker."""

    def __init__(self, stale_after: float = 60):
        self.stale_after = stale_after  # seconds without a beat before the loop is stuck
        self.last = time.monotonic()    # when it last beat
        self.connected = False          # whether the loop was connected at that beat

    def beat(self, connected: bool = True) -> None:
        self.last, self.connected = time.monotonic(), connected

    def healthy(self) -> bool:
        return self.connected and time.monotonic() - self.last < self.stale_after


def serve(host: str, port: int, heartbeat: Heartbeat, service: str,
          name: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/healthz":
                ok = heartbeat.healthy()
                self._send(200 if ok else 503, json.dumps(
                    {"status": "ok" if ok else "unhealthy", "process": name,
                     "connected": heartbeat.connected}).encode(), "application/json")
            elif self.path == "/metrics":
                try:
                    token = self.headers.get("Authorization", "").partition(" ")[2]
                    if auth.decode(token, service).role != "ops_admin":
                        raise ApiError(403)
                except ApiError as exc:
                    self._send(exc.status, json.dumps(exc.body()).encode(), "application/json")
                    return
                body, content_type = exposition()
                self._send(200, body, content_type)
            else:
                self._send(404, b'{"error": {"status": 404, "code": "not_found"}}',
                           "application/json")

        def _send(self, status, body, content_type):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):  # probes every few seconds: keep the logs for events
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name=f"probe-{name}").start()
    return server
