"""Changes to the event tables every service keeps (shared/eventstore.py), written once and
called from each service's own migration with its source name."""
import hashlib

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime
from shared.events import GENESIS_HASH, Event


NEW_PARKED = ("digest", "event_id", "source", "seq", "type", "problem", "reason", "copied",
              "recorded_at", "parked_at")


def _create_parked(keyed_by_digest: bool) -> None:
    """The parked table keyed by each message's digest, or as it was, by event id."""
    if keyed_by_digest:
        columns = [sa.Column("digest", sa.String(64), nullable=False),
                   sa.Column("event_id", sa.String(64)), sa.Column("source", sa.String(64)),
                   sa.Column("seq", sa.BigInteger()), sa.Column("type", sa.String(120)),
                   sa.Column("problem", sa.String(16), nullable=False)]
    else:
        columns = [sa.Column("event_id", sa.String(64), nullable=False),
                   sa.Column("source", sa.String(64), nullable=False),
                   sa.Column("seq", sa.BigInteger(), nullable=False)]
    columns += [sa.Column("reason", sa.Text(), nullable=False)]
    columns += [sa.Column("copied", sa.Boolean(), nullable=False),
                sa.Column("recorded_at", UtcDateTime())] if keyed_by_digest else []
    columns += [sa.Column("parked_at", UtcDateTime(), nullable=False),
                sa.PrimaryKeyConstraint("digest" if keyed_by_digest else "event_id",
                                        name=op.f("pk_event_parked"))]
    op.create_table("event_parked", *columns)


def signatures_and_chain_heads(own_source: str) -> None:
    """The inbox keeps each event's fate and is unique by source and sequence; parked
    messages are keyed by the digest of their bytes; the head of each consumed source's
    chain is where the events held run unbroken from its first."""
    conn = op.get_bind()
    with op.batch_alter_table("event_inbox") as batch:
        batch.add_column(sa.Column("status", sa.String(8), server_default="applied",
                                   nullable=False))
        batch.drop_index("ix_event_inbox_source_seq")
        batch.create_index("ix_event_inbox_source_seq", ["source", "seq"], unique=True)
        batch.create_index("ix_event_inbox_status", ["status"], unique=False)
    old = conn.execute(sa.text("SELECT event_id, source, seq, reason, parked_at "
                               "FROM event_parked")).all()
    op.drop_table("event_parked")
    _create_parked(keyed_by_digest=True)
    parked = sa.table("event_parked", *map(sa.column, NEW_PARKED))
    for event_id, source, seq, reason, parked_at in old:
        conn.execute(parked.insert().values(
            digest=hashlib.sha256(f"{source}/{event_id}".encode()).hexdigest(),
            event_id=event_id, source=source, seq=seq, type=None, problem="poison",
            reason=reason, copied=True, recorded_at=None, parked_at=parked_at))
    _chain_heads(conn, own_source)


def _chain_heads(conn, own_source: str) -> None:
    sources = conn.execute(sa.text("SELECT DISTINCT source FROM event_inbox")).scalars().all()
    for source in sources:
        if source == own_source:
            continue
        last_seq, last_hash = 0, GENESIS_HASH
        rows = conn.execute(sa.text("SELECT seq, body FROM event_inbox WHERE source = :s "
                                    "ORDER BY seq"), {"s": source})
        for seq, body in rows:
            if seq != last_seq + 1:
                break
            last_seq, last_hash = seq, Event.from_json(body).hash()
        conn.execute(sa.text("INSERT INTO event_source_head (source, last_seq, last_hash) "
                             "VALUES (:s, :q, :h)"), {"s": source, "q": last_seq,
                                                      "h": last_hash})


def back_to_unsigned(own_source: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT event_id, source, seq, reason, parked_at "
                                "FROM event_parked WHERE event_id IS NOT NULL AND "
                                "source IS NOT NULL AND seq IS NOT NULL")).all()
    op.drop_table("event_parked")
    _create_parked(keyed_by_digest=False)
    for row in {r[0]: r for r in rows}.values():
        conn.execute(sa.text("INSERT INTO event_parked (event_id, source, seq, reason, "
                             "parked_at) VALUES (:i, :s, :q, :r, :p)"),
                     dict(zip("isqrp", row)))
    conn.execute(sa.text("DELETE FROM event_source_head WHERE source != :own"),
                 {"own": own_source})
    with op.batch_alter_table("event_inbox") as batch:
        batch.drop_index("ix_event_inbox_status")
        batch.drop_index("ix_event_inbox_source_seq")
        batch.create_index("ix_event_inbox_source_seq", ["source", "seq"], unique=False)
        batch.drop_column("status")
