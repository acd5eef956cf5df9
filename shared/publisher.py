"""Publishing batches with the broker's confirms: one wait for the whole batch."""
import time

from kombu import Connection


class PublishError(RuntimeError):
    """The broker did not confirm every message of a batch in time (or refused one)."""


def _read_once_per_batch(conn: Connection) -> None:
    """py-amqp reads the socket before every single publish, to catch a broker's
    connection.blocked notice as soon as it comes, a good part of a publish's cost
    (docs/BENCHMARKS.md). Nothing here
    acts on that notice (a blocked broker holds the publishes, and the batch's confirms
    time out), and waiting for the confirms reads whatever came, once per batch."""
    capabilities = conn.connection.client_properties.get("capabilities", {})
    capabilities["connection.blocked"] = False


class Publisher:
    """Publishes batches and waits once for the broker's confirms of the whole batch.

    On RabbitMQ the channel is put in confirm mode and acks are counted as they arrive;
    a transport without confirms (the filesystem broker) has written each message to disk
    before publish returns.
    """

    def __init__(self, conn: Connection, confirm_timeout: float):
        self.conn, self.timeout = conn, confirm_timeout
        self.channel = conn.channel()
        self.confirming = hasattr(self.channel, "confirm_select")
        self._sent = 0        # delivery tags handed out on this channel so far
        self._acked = 0       # the highest tag the broker has confirmed
        self._nacked = False  # the broker refused one: the batch failed
        if self.confirming:
            self.channel.events["basic_ack"].add(self._on_ack)
            self.channel.events["basic_nack"].add(self._on_nack)
            self.channel.confirm_select()
            _read_once_per_batch(conn)

    def _on_ack(self, tag, multiple):
        self._acked = max(self._acked, tag) if multiple else self._acked + 1

    def _on_nack(self, tag, multiple):
        self._nacked = True

    def publish_batch(self, messages) -> None:
        """messages: iterable of (exchange, routing_key, body, headers, properties)."""
        for exchange, routing_key, body, headers, props in messages:
            message = self.channel.prepare_message(
                body, priority=None, content_type=props.pop("content_type"),
                content_encoding=props.pop("content_encoding"), headers=headers,
                properties=props)
            self.channel.basic_publish(message, exchange=exchange, routing_key=routing_key)
            self._sent += 1
        self._wait_confirms()

    def _wait_confirms(self) -> None:
        if not self.confirming:
            return
        deadline = time.monotonic() + self.timeout
        while self._acked < self._sent and not self._nacked:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishError(f"{self._sent - self._acked} messages unconfirmed "
                                   f"after {self.timeout}s")
            try:
                self.conn.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
        if self._nacked:
            raise PublishError("the broker refused (nacked) a message of the batch")

    def close(self) -> None:
        try:
            self.channel.close()
        except Exception:  # the connection may already be gone; nothing to release then
            pass
