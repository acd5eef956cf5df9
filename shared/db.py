"""One SQLAlchemy extension per service, so each owns its tables and its database alone."""
import functools
import json
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
    """SQLite is written by several processes (API, worker, relay): wait for locks.
    PostgreSQL plans every statement for its values: psycopg prepares a statement run five
    times, and the generic plan PostgreSQL would then keep guesses a date range small, so a
    measure's `community IN (...) AND day BETWEEN ...` walked the date index over every
    community (40 ms in place of 1 at 50k acts, growing with the table). A consumer plans
    generically (`plan_generically`)."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"connect_args": {"options": _PLAN_CACHE_MODE % "force_custom_plan"}}


_PLAN_CACHE_MODE = "-c plan_cache_mode=%s"


def plan_generically(engine) -> None:
    """For a consumer (a worker, a rebuild): the same key lookups and writes over and over,
    which a plan made once serves as well as one made each time (a rebuild planning each
    statement for its values measured 10% slower). Once per engine: its pool's connections
    were made planning for values, so they are made again."""
    if engine.dialect.name != "postgresql" or event.contains(engine, "do_connect", _generic):
        return
    event.listen(engine, "do_connect", _generic)
    engine.dispose()


def _generic(_dialect, _record, _cargs, cparams) -> None:
    cparams["options"] = _PLAN_CACHE_MODE % "auto"


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


# -- rows by key, written in bulk -----------------------------------------------------------
# A consumer applying many events in one transaction (a batch of the worker, a chunk of a
# replay) looks rows up by key and adds many more. Through the ORM's unit of work each row
# cost more in bookkeeping (instance state, attribute events, the flush's sorting) than its
# write; so these rows are plain values (`Row`), kept by the session by key with the keys a
# batch found absent (None), and written with one statement per table and shape
# (executemany: on PostgreSQL one multi-row INSERT per thousand rows) when the session
# commits, when `flush` is called, or before any query made with autoflush on: so a query
# sees them, as it sees the ORM's pending rows.
_ROWS, _PENDING, _READINGS = "rows_by_key", "rows_pending", "readings"


class _Plan:
    """How the rows of one model are read and written: its table, attributes, key, the
    defaults a new row takes, and the statements, built once."""

    def __init__(self, model):
        mapper = sa.inspect(model)
        self.table = mapper.local_table
        self.columns = dict(_columns_of(model))  # attribute -> column
        self.attribute_of = {c: a for a, c in self.columns.items()}
        self.key = tuple(self.attribute_of[c.key] for c in mapper.primary_key)
        auto = self.table.autoincrement_column
        self.generated = self.attribute_of[auto.key] if auto is not None else None
        self.defaults = {a: self.table.c[c].default for a, c in self.columns.items()
                         if self.table.c[c].default is not None}
        self._updates: dict = {}

    def new_values(self, values: dict) -> dict:
        """Every column of a new row, by column name: what was set, else the default (so
        all rows of a table are one shape and keep their order in one statement)."""
        out = {}
        for attribute, column in self.columns.items():
            if attribute in values:
                out[column] = values[attribute]
            elif attribute in self.defaults:
                default = self.defaults[attribute]
                out[column] = default.arg(None) if default.is_callable else default.arg
            elif attribute != self.generated:
                out[column] = None
        return out

    def update(self, changed: frozenset):
        if changed not in self._updates:
            table = self.table
            self._updates[changed] = table.update().where(*(
                table.c[self.columns[a]] == sa.bindparam(f"key_{a}") for a in self.key)
            ).values({self.columns[a]: sa.bindparam(f"new_{a}") for a in changed})
        return self._updates[changed]


@functools.cache
def _plan(model) -> _Plan:
    return _Plan(model)


class Row:
    """A row of `model` as plain values, read and set as the model's attributes (an
    attribute never set reads None, as on a new ORM object). Its changes are written by
    `write_rows`: a new row's as an INSERT, a loaded row's as an UPDATE of what changed."""

    __slots__ = ("_model", "_values", "_changed", "_new", "_pending")
    # one session's lookups cost a scoped session's registry each: functions below take
    # its `info` once

    def __init__(self, model, values: dict, new: bool, pending: dict):
        for slot, value in (("_model", model), ("_values", values), ("_changed", set()),
                            ("_new", new), ("_pending", pending)):
            object.__setattr__(self, slot, value)
        if new:
            pending[id(self)] = self

    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        if name in _plan(object.__getattribute__(self, "_model")).columns:
            return None
        raise AttributeError(name)

    def __setattr__(self, name, value) -> None:
        if name not in _plan(self._model).columns:
            raise AttributeError(f"{self._model.__name__} has no column {name}")
        self._values[name] = value
        if not self._new:
            if not self._changed:
                self._pending[id(self)] = self
            self._changed.add(name)

    def __repr__(self) -> str:
        return f"Row({self._model.__name__}, {self._values})"


def _pending(info) -> dict:
    return info.setdefault(_PENDING, {})


def _loaded(info, model, mapping) -> Row:
    plan = _plan(model)
    values = {plan.attribute_of[c]: v for c, v in mapping.items()}
    return Row(model, values, False, _pending(info))


def find(session, model, *key):
    """The row of `model` with this primary key, if it exists: added or loaded earlier in
    this transaction, or in the database."""
    return _find(session, session.info, model, key)


def _find(session, info, model, key: tuple):
    rows = info.setdefault(_ROWS, {})
    if (model, key) in rows:
        return rows[(model, key)]
    plan = _plan(model)
    mapping = session.execute(plan.table.select().where(*(
        plan.table.c[plan.columns[a]] == k for a, k in zip(plan.key, key)))).mappings().first()
    rows[(model, key)] = row = _loaded(info, model, mapping) if mapping else None
    return row


def get_or_add(session, model, **key):
    """The row of `model` with this primary key (columns in key order), added if new."""
    ident, info = tuple(key.values()), session.info
    row = _find(session, info, model, ident)
    if row is None:
        row = Row(model, dict(key), True, _pending(info))
        info[_ROWS][(model, ident)] = row
    return row


def add_row(session, model, **values) -> Row:
    """A new row of `model` no one looks up by key in the transaction (an append: an act,
    an index entry), written with the others."""
    return Row(model, values, True, _pending(session.info))


def prefetch(session, model, keys) -> None:
    """Load the rows of `model` with these primary keys in one query, so that `find` and
    `get_or_add` need none for them, whether they exist or not."""
    info = session.info
    rows = info.setdefault(_ROWS, {})
    keys = {tuple(k) for k in keys} - {k for m, k in rows if m is model}
    if not keys:
        return
    plan = _plan(model)
    # by the key's first column, which its index leads with: PostgreSQL plans a row-value
    # IN over a composite key as a scan of the table (quadratic over a replay); the rows
    # of other keys that come with it are rows all the same
    first = plan.table.c[plan.columns[plan.key[0]]]
    rows.update(((model, key), None) for key in keys)
    with session.no_autoflush:
        for mapping in session.execute(plan.table.select().where(
                first.in_({k[0] for k in keys}))).mappings():
            row = _loaded(info, model, mapping)
            key = tuple(getattr(row, a) for a in plan.key)
            if rows.get((model, key)) is None:  # never over a row this transaction holds
                rows[(model, key)] = row


def write_rows(session) -> None:
    """Write what the rows of this transaction changed: per table, the new rows in the order
    they were made in one INSERT (executemany), the changed ones in one UPDATE per set of
    columns changed."""
    pending = session.info.get(_PENDING)
    if not pending:
        return
    inserts, updates = {}, {}
    for row in pending.values():
        plan = _plan(row._model)
        if row._new:
            inserts.setdefault(plan, []).append(plan.new_values(row._values))
        else:
            changed = frozenset(row._changed)
            updates.setdefault((plan, changed), []).append(
                {**{f"key_{a}": row._values[a] for a in plan.key},
                 **{f"new_{a}": row._values[a] for a in changed}})
        object.__setattr__(row, "_new", False)
        row._changed.clear()
    pending.clear()
    conn = session.connection()
    for plan, values in inserts.items():
        insert_rows(conn, plan.table, values)
    for (plan, changed), values in updates.items():
        conn.execute(plan.update(changed), values)


def insert_rows(conn, table, rows: list[dict]) -> None:
    """Rows of one shape (the same columns) appended to `table` in bulk: on PostgreSQL by
    COPY, on SQLite by the driver's executemany, each value converted as SQLAlchemy would
    bind it. The statement layer's work per row (parameters, then one protocol message each
    in psycopg's pipeline) cost several times what the rows cost the database."""
    if not rows:
        return
    dialect, columns = conn.dialect, list(rows[0])
    convert = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    values = ([v if f is None else f(v) for f, v in zip(convert, map(row.get, columns))]
              for row in rows)
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    target = dialect.identifier_preparer.format_table(table)
    raw = conn.connection.dbapi_connection
    if dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
    elif dialect.name == "sqlite":
        raw.executemany(f"INSERT INTO {target} ({names}) VALUES "
                        f"({', '.join('?' * len(columns))})", values)
    else:
        conn.execute(table.insert(), rows)


def flush(session) -> None:
    """Everything this transaction changed into the database (its rows and the ORM's), for
    a query made with autoflush off to see it."""
    write_rows(session)
    session.flush()


@event.listens_for(Session, "do_orm_execute")
def _write_before_query(state) -> None:
    if state.session.autoflush:
        write_rows(state.session)


@event.listens_for(Session, "before_commit")
def _write_before_commit(session) -> None:
    write_rows(session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def forget_rows(session) -> None:
    """Drop what the session keeps by key (and, at a rollback, what it had not written) and
    what read_once kept: at the end of every transaction, and within a long one (a replay of
    the whole log) once a chunk of it is written, to bound memory."""
    session.info.pop(_ROWS, None)
    session.info.pop(_PENDING, None)
    session.info.pop(_READINGS, None)


def read_once(session, key: tuple, read):
    """What `read()` returns, read once per transaction for this key: the measures of one
    card ask for the same reading several times, and nothing they read changes within it."""
    readings = session.info.setdefault(_READINGS, {})
    if key not in readings:
        readings[key] = read()
    return readings[key]


def read_once_each(session, name: str, keys, read, default=()) -> dict:
    """read_once for many keys in one reading: `read(keys)` gives {key: value} for the keys
    not read yet in this transaction (a key it leaves out has `default`). A page of cards
    reads for all its contracts what each card would read for its own."""
    readings = session.info.setdefault(_READINGS, {})
    missing = [key for key in dict.fromkeys(keys) if (name, key) not in readings]
    if missing:
        found = read(missing)
        for key in missing:
            readings[(name, key)] = found.get(key, default)
    return {key: readings[(name, key)] for key in keys}


_PG_TYPES = {sa.Integer: "integer", sa.String: "text", sa.Date: "date"}


def json_rows(session, name: str, columns: dict, rows: list[dict]):
    """`rows` as a table to join (a CTE called `name`, with `columns`: {name: Integer, String
    or Date}), passed as one JSON parameter: the statement's text is the same however many
    rows there are, where a parameter per value made every statement new to each cache and
    a page's statements cost more to build than to run."""
    if session.get_bind().dialect.name == "postgresql":
        spec = ", ".join(f"{c} {_PG_TYPES[t]}" for c, t in columns.items())
        text = f"SELECT * FROM json_to_recordset(CAST(:{name} AS json)) AS r({spec})"
    else:  # SQLite keeps dates as ISO text: compared as such
        text = "SELECT " + ", ".join(f"json_extract(value, '$.{c}') AS {c}" for c in columns) \
            + f" FROM json_each(:{name})"
    return sa.text(text).bindparams(sa.bindparam(name, json.dumps(rows, default=str))).columns(
        *(sa.column(c, t) for c, t in columns.items())).cte(name)


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
