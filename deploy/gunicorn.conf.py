"""gunicorn settings shared by the three APIs; the bind address comes from the command line
or GUNICORN_BIND."""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# the app is imported once, in the master, and its workers forked from it: each would
# otherwise import it again (seconds of CPU at start, and its memory not shared). No
# database connection crosses the fork: shared/db.py drops one made in another process.
preload_app = True
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG") else None
errorlog = "-"
control_socket_disable = True  # three APIs on one host must not share one socket

# Prometheus: every gunicorn worker writes its metrics to a shared folder, so a scrape of
# any worker sums them all (prometheus_client multiprocess mode).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="socialwork-metrics-")


def pre_fork(server, worker):
    from shared.cli import settle_heap  # the app, preloaded, is what workers share
    settle_heap()


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
