"""Container healthcheck: GET /healthz of this process (the API on $PORT, or a worker's or
relay's probe on $SOCIALWORK_PROBE_PORT). Exit 0 when healthy."""
import os
import sys
import urllib.request

port = os.environ.get("SOCIALWORK_PROBE_PORT") or os.environ.get("PORT", "8000")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception:
    sys.exit(1)
