"""Operations: a worker's /healthz tells the truth, the launcher's processes die with it,
`make run` refuses a taken port, the embedded broker's first start survives a crowd."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import requests

from tests.conftest import free_port
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent


def _health(port: int) -> int:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
    except requests.RequestException:
        return 0


def test_worker_health_stays_true_across_sync_checks_and_fails_when_stuck(embedded, tmp_path):
    """The worker checks its sources every 0.3 s: /healthz is 200 across many checks; when a
    source accepts the connection and never answers, the loop is stuck in that check and
    /healthz says 503 until the check gives up."""
    embedded.app("casework")
    source = socket.socket()  # bound, not listening: connections are refused at once
    source.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{source.getsockname()[1]}"
    probe, log = free_port(), tmp_path / "worker.log"
    env = {**os.environ, **embedded.env, "SOCIALWORK_SYNC_INTERVAL": "0.3",
           "SOCIALWORK_STALE_AFTER": "2", "SOCIALWORK_PROBE_PORT": str(probe),
           "INTAKE_URL": url, "EVALUATION_URL": url}
    with open(log, "wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "services.casework",
                                   "worker"], env=env, cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _health(probe) == 200, 30, "the worker's first healthy answer")

        def checks() -> int:
            return log.read_text().count("sync with /intake failed")
        first = checks()
        while checks() < first + 6:  # six more checks, each answered 200 on the way
            assert _health(probe) == 200, log.read_text()[-2000:]
            assert worker.poll() is None
        source.listen()  # now the source takes the call and never answers
        wait_until(lambda: _health(probe) == 503, 15, "503 while stuck in a sync check")
        source.close()  # the check fails at once, the loop turns again
        wait_until(lambda: _health(probe) == 200, 15, "200 once the loop turns again")
    finally:
        source.close()
        worker.terminate()
        worker.wait(timeout=30)
