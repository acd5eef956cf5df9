"""Ops on a service's dead-letter queue: list parked messages, replay them.

Listing takes every message without acking and closes the channel, so the broker keeps them.
Replay sends a message back to the service's own queue (under its own replay key: other services
must not see it twice) and acks it from the dead-letter queue only once that is confirmed.
"""
import json
from dataclasses import dataclass

from . import bus
from .bus import ServiceQueues
from .publisher import Publisher


@dataclass
class Parked:
    message_id: str
    event_type: str
    reason: str
    attempts: int
    parked_at: str
    body: bytes


def _describe(message) -> Parked:
    headers = message.headers or {}
    props = message.properties or {}
    deaths = headers.get("x-death") or [{}]
    reason = headers.get("x-parked-reason") or (
        f"broker: {headers.get('x-first-death-reason') or deaths[0].get('reason', 'unknown')}")
    body = message.body if isinstance(message.body, bytes) else message.body.encode()
    return Parked(message_id=props.get("message_id") or "", event_type=props.get("type") or "",
                  reason=reason, attempts=int(headers.get("x-attempts") or
                                              deaths[0].get("count") or 0),
                  parked_at=str(headers.get("x-parked-at") or ""), body=body)


def _take_all(conn, queues: ServiceQueues):
    channel = conn.channel()
    dead = queues.dead(channel)
    _, count, _ = dead.queue_declare(passive=True)
    taken = []
    for _ in range(count):
        message = dead.get(no_ack=False)
        if message is None:
            break
        taken.append(message)
    return channel, taken


def list_parked(cfg, queues: ServiceQueues) -> list[Parked]:
    with bus.connect(cfg) as conn:
        bus.declare(conn, *queues.all())
        channel, taken = _take_all(conn, queues)
        parked = [_describe(m) for m in taken]
        channel.close()  # unacked: every message stays parked
    return parked


def replay(cfg, queues: ServiceQueues, message_ids: set[str] | None = None) -> int:
    """Send parked messages (all, or those ids) back to the service's queue."""
    with bus.connect(cfg) as conn:
        bus.declare(conn, *queues.all())
        publisher = Publisher(conn, cfg.confirm_timeout)
        channel, taken = _take_all(conn, queues)
        chosen = [m for m in taken if message_ids is None or
                  _describe(m).message_id in message_ids]
        for message in chosen:
            info = _describe(message)
            headers = {"x-replayed": True, "x-previous-reason": info.reason[:1000]}
            publisher.publish_batch([(bus.EXCHANGE.name, queues.replay_key, info.body, headers,
                                      bus.properties(info.message_id, info.event_type))])
            message.ack()
        channel.close()
        publisher.close()
    return len(chosen)


def as_rows(parked: list[Parked]) -> list[dict]:
    return [{"message_id": p.message_id, "type": p.event_type, "reason": p.reason,
             "attempts": p.attempts, "parked_at": p.parked_at,
             "body": p.body[:200].decode("utf-8", "replace")} for p in parked]


def dumps(parked: list[Parked]) -> str:
    return json.dumps(as_rows(parked), ensure_ascii=False, indent=2)
