"""The ceiling the stack allows an API on these cores: a minimal endpoint on the same stack
as intake's (gunicorn with the platform's settings, Flask, SQLAlchemy and psycopg on the
same PostgreSQL), which reads the same JSON body, INSERTs one row and COMMITs. End to end
through intake's API is set against it, measured in the same run by the same clients.

`create_app` is what gunicorn serves; `Minimal` starts and stops it."""
import os
import signal
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from launcher.supervisor import GUNICORN_CONF, ROOT
from tests.conftest import free_port
from tests.helpers import wait_until

URL_SETTING = "BENCH_MINIMAL_DATABASE_URL"
TABLE = sa.Table("bench_minimal", sa.MetaData(),
                 sa.Column("id", sa.String(36), primary_key=True),
                 sa.Column("community_id", sa.String(64), nullable=False),
                 sa.Column("body", sa.Text, nullable=False),
                 sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))


def create_app():
    """One route: the body's community checked present, one row INSERTed and COMMITted."""
    from flask import Flask, jsonify, request

    from shared.db import engine_options
    url = os.environ[URL_SETTING]
    engine = sa.create_engine(url, **engine_options(url))
    app = Flask("bench-minimal")
    insert = TABLE.insert()

    @app.post("/needs")
    def record():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("community_id"), str):
            return jsonify({"errors": {"community_id": ["required"]}}), 422
        row = {"id": str(uuid.uuid4()), "community_id": body["community_id"],
               "body": request.get_data(as_text=True),
               "created_at": datetime.now(timezone.utc)}
        with engine.begin() as conn:
            conn.execute(insert, row)
        return jsonify({"id": row["id"]}), 201

    @app.get("/health")
    def health():
        return {"status": "ok"}
    return app


class Minimal:
    """The minimal endpoint under gunicorn, on `database_url`, for the length of a `with`."""

    def __init__(self, database_url: str, env: dict):
        self.database_url, self.env = database_url, env
        self.port = free_port()
        self.popen = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        engine = sa.create_engine(self.database_url)
        TABLE.create(engine, checkfirst=True)
        engine.dispose()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "-b",
             f"127.0.0.1:{self.port}", "--name", "bench-minimal", "bench.minimal:create_app()"],
            env={**self.env, URL_SETTING: self.database_url}, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(self._up, 60, "the minimal endpoint")
        return self

    def _up(self) -> bool:
        import http.client
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/health")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def __exit__(self, *_):
        os.killpg(self.popen.pid, signal.SIGTERM)
        self.popen.wait(30)
        engine = sa.create_engine(self.database_url)
        TABLE.drop(engine, checkfirst=True)
        engine.dispose()
