"""One SQLAlchemy extension per service, so each owns its tables and its database alone."""
import uuid
from datetime import timezone

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
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
    return {"pool_pre_ping": True}


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


# -- rows by key while autoflush is off ------------------------------------------------------
# A consumer applying many events in one transaction runs its handlers without autoflush
# (a flush per lookup is what bounded it). Rows added earlier in that transaction are then
# not in the database yet, nor in the identity map: the session keeps them here by key.
_ADDED = "added_by_key"


def find(session, model, *key):
    """The row of `model` with this primary key, if it exists: added earlier in this
    transaction (flushed or not) or in the database."""
    row = session.info.get(_ADDED, {}).get((model, key))
    if row is not None and inspect(row).pending:
        return row
    return session.get(model, key)


def get_or_add(session, model, **key):
    """The row of `model` with this primary key (columns in key order), added if new."""
    row = find(session, model, *key.values())
    if row is None:
        row = model(**key)
        session.add(row)
        session.info.setdefault(_ADDED, {})[(model, tuple(key.values()))] = row
    return row


@event.listens_for(Session, "after_flush_postexec")
@event.listens_for(Session, "after_rollback")
def _forget_added(session, *_):
    # flushed rows are in the identity map; rolled-back ones are gone
    session.info.pop(_ADDED, None)


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
