"""Which of a process's replicas does a job that must never run twice at once (a service's
relay publishing its outbox): the one that holds the job's lock; the others stand by.

On PostgreSQL the lock is a session advisory lock on a connection kept for it alone (not
pooled): the server drops it when the process dies or the connection breaks. On SQLite it is
an exclusive flock on a file beside the database: the kernel drops it when the process dies.
"""
import fcntl
import hashlib
import logging
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, engine: sa.Engine, job: str):
        self.url, self.job = engine.url, job
        digest = hashlib.sha256(job.encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)  # advisory locks take a bigint
        self._conn = None   # PostgreSQL: the connection that holds the lock
        self._file = None   # SQLite: the open lock file
        self._engine = None

    @property
    def holding(self) -> bool:
        return self._conn is not None or self._file is not None

    def acquire(self) -> bool:
        """Lead if no one else does: True while this process holds the lock. Costs nothing
        once held (`confirm` checks it is still held)."""
        if self.holding:
            return True
        try:
            taken = self._take_advisory() if self._postgres else self._take_file()
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            log.warning("could not ask for the %s lock: %s", self.job, exc)
            self.release()
            return False
        if taken:
            log.info("leading %s", self.job)
        return taken

    def confirm(self) -> bool:
        """Whether the lock is still held: on PostgreSQL, its connection still answers (a
        connection the server closed took the lock with it, and another replica may lead)."""
        if self._conn is None:
            return self._file is not None
        try:
            self._conn.execute(sa.text("SELECT 1"))
            self._conn.commit()
            return True
        except sa.exc.SQLAlchemyError as exc:
            log.warning("lost the %s lock: %s", self.job, exc)
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()  # not pooled: closing ends the session and its lock
            except sa.exc.SQLAlchemyError:
                pass
        if self._file is not None:
            self._file.close()  # closing the file drops its flock
        self._conn = self._file = None

    @property
    def _postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    def _take_advisory(self) -> bool:
        if self._engine is None:
            self._engine = sa.create_engine(self.url, poolclass=NullPool)
        conn = self._engine.connect()
        taken = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"),
                             {"key": self.key}).scalar()
        conn.commit()  # the lock is the session's: it outlives the transaction
        if taken:
            self._conn = conn
        else:
            conn.close()
        return bool(taken)

    def _take_file(self) -> bool:
        database = self.url.database
        if not database or database == ":memory:":  # one process is all there can be
            self._file = open("/dev/null", "rb")
            return True
        f = open(Path(f"{database}.{self.job}.lock"), "a+b")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        self._file = f
        return True
