"""One SQLAlchemy extension per service, so each owns its tables and its database alone."""
import functools
import os
import time
import uuid
from datetime import timezone

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """Record ids: random UUIDs, so ids never reveal counts or order."""
    return str(uuid.uuid4())


def make_db() -> SQLAlchemy:
    return SQLAlchemy(metadata=MetaData(naming_convention=NAMING))


def engine_options(url: str) -> dict:
    """SQLite is written by several processes (API, worker, relay): wait for locks."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {}


# A pooled connection may have been cut while it sat idle (a database restart, a firewall's
# timeout). pool_pre_ping would ping it on every checkout: a round trip per request on a
# busy API. A connection back in use within seconds is pinged by its own last use; one idle
# longer is pinged, and replaced if it is dead (the pool retries on DisconnectionError).
PING_AFTER_IDLE = 5.0  # seconds


@event.listens_for(Pool, "checkin")
def _idle_from(_dbapi_connection, record) -> None:
    record.info["idle_from"] = time.monotonic()


@event.listens_for(Pool, "connect")
def _made_in(_dbapi_connection, record) -> None:
    record.info["pid"] = os.getpid()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, record, proxy) -> None:
    if record.info.get("pid") != os.getpid():
        # made before a fork (gunicorn's preload_app): the parent owns the socket; drop it
        # unclosed and connect anew (SQLAlchemy's recipe for pools across processes)
        record.dbapi_connection = proxy.dbapi_connection = None
        raise sa.exc.DisconnectionError("a connection made in another process")
    idle_from = record.info.get("idle_from")
    if idle_from is None or time.monotonic() - idle_from < PING_AFTER_IDLE:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()  # the ping's own transaction, if the driver began one
    except Exception as exc:
        raise sa.exc.DisconnectionError(f"an idle connection was cut: {exc}") from exc


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # Let SQLAlchemy, not the driver, open transactions, so BEGIN IMMEDIATE below takes the
    # write lock up front and two writers never deadlock upgrading a read lock.
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def commit_keeping_loaded(session) -> None:
    """Commit without expiring what the session holds, so a response made of the rows just
    written needs no second read of them (their values are the ones committed)."""
    real = session()  # the request's own session behind Flask-SQLAlchemy's scoped one
    expire, real.expire_on_commit = real.expire_on_commit, False
    try:
        real.commit()
    finally:
        real.expire_on_commit = expire


def as_built(rows) -> tuple[tuple, dict]:
    """New rows built whole (every column they answer with set), to be written with one plain
    INSERT each, not through the unit of work, whose flush costs more than the writes: for a
    hot path that answers with its rows as built (they stay outside the session). Returns
    the INSERTs, built once per shape of rows, and the values they bind, named apart
    (`r<i>_<column>`) so that all of them can go in one statement."""
    shape, values = [], {}
    for i, row in enumerate(rows):
        present = {column: value for attribute, column in _columns_of(type(row))
                   if (value := getattr(row, attribute)) is not None}
        shape.append((type(row), tuple(present)))
        values.update({f"r{i}_{column}": value for column, value in present.items()})
    return _inserts_of(tuple(shape)), values


@functools.cache
def _columns_of(model) -> tuple:
    """A model's (attribute, column) names."""
    return tuple((attribute.key, column.key) for attribute in sa.inspect(model).column_attrs
                 for column in attribute.columns)


@functools.cache
def _inserts_of(shape: tuple) -> tuple:
    return tuple(sa.inspect(model).local_table.insert().values(
        {column: sa.bindparam(f"r{i}_{column}") for column in columns})
        for i, (model, columns) in enumerate(shape))


class Recently:
    """A yes remembered for a few seconds: a check made on every request (is this caller
    still on the roster?) costs a query only now and then. A no is never remembered, so a
    caller put right is let in at once; one refused since is let in for those seconds."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._yes: dict = {}  # key -> monotonic time the yes stops holding

    def check(self, key, compute) -> bool:
        now = time.monotonic()
        if self._yes.get(key, 0.0) > now:
            return True
        if not compute():
            self._yes.pop(key, None)
            return False
        if len(self._yes) > 10_000:
            self._yes.clear()
        self._yes[key] = now + self.seconds
        return True


# -- rows by key while autoflush is off ------------------------------------------------------
# A consumer applying many events in one transaction runs its handlers without autoflush
# (a flush per lookup is what bounded it). Rows added earlier in that transaction are then
# neither in the database yet nor in the identity map: the session keeps them here by key,
# with the rows a batch loaded at once (`prefetch`) and the keys it found absent (None),
# until the transaction ends.
_ROWS = "rows_by_key"


def find(session, model, *key):
    """The row of `model` with this primary key, if it exists: added or loaded earlier in
    this transaction, or in the database."""
    rows = session.info.get(_ROWS, {})
    if (model, key) in rows:
        return rows[(model, key)]
    return session.get(model, key)


def get_or_add(session, model, **key):
    """The row of `model` with this primary key (columns in key order), added if new."""
    ident = tuple(key.values())
    row = find(session, model, *ident)
    if row is None:
        row = model(**key)
        session.add(row)
        session.info.setdefault(_ROWS, {})[(model, ident)] = row
    return row


def prefetch(session, model, keys) -> None:
    """Load the rows of `model` with these primary keys in one query, so that `find` and
    `get_or_add` need none for them, whether they exist or not (for the rest of the
    transaction: every row of `model` it adds must then come through `get_or_add`)."""
    rows = session.info.setdefault(_ROWS, {})
    keys = {tuple(k) for k in keys} - {k for m, k in rows if m is model}
    if not keys:
        return
    pk = sa.inspect(model).primary_key
    wanted = pk[0].in_([k[0] for k in keys]) if len(pk) == 1 else sa.tuple_(*pk).in_(keys)
    rows.update(((model, key), None) for key in keys)
    with session.no_autoflush:
        for row in session.scalars(sa.select(model).where(wanted)):
            rows[(model, sa.inspect(row).identity)] = row


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def forget_rows(session) -> None:
    """Drop what the session keeps by key: at the end of every transaction, and within a
    long one (a replay of the whole log) once a chunk of it is flushed, to bound memory."""
    session.info.pop(_ROWS, None)


class UtcDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (UTC)")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value
