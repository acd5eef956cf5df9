"""The embedded broker: kombu's filesystem transport, made safe for several processes.

kombu writes a message file in place, so a consumer polling the folder can take it
half-written (an empty body: a JSON error and a lost message); and it lists and sorts the
whole folder for every message it takes, which makes a backlog of thousands quadratic.
It also binds a queue by reading and rewriting the exchange's file in place, and creates it
with a truncating open: processes declaring at once on a fresh folder lost each other's
bindings or read a half-written table."""
import fcntl
import os
import shutil
import time
import uuid
import itertools
from collections import deque

from contextlib import contextmanager

from kombu.transport import filesystem, virtual
from kombu.transport.virtual import Empty
from kombu.transport.filesystem import exchange_queue_t
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads


_PUT = itertools.count()


class _AtomicFilesystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Write under a name consumers ignore, then rename: a rename within one folder
        is atomic. Names sort in the order messages were put (the machine's monotonic
        clock, then this process's count), so a queue hands them out in that order."""
        name = f"{time.monotonic_ns():020d}_{next(_PUT):012d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        with open(final + ".part", "wb") as f:
            f.write(dumps(payload).encode())
        os.rename(final + ".part", final)

    def _get(self, queue):
        """The queue's oldest message: list the folder once, take the queue's files in
        order until they run out, then list again (newer files sort later)."""
        pending = self.__dict__.setdefault("_pending", {}).setdefault(queue, deque())
        if not pending:
            wanted = f"{queue}.msg"
            pending.extend(sorted(n for n in os.listdir(self.data_folder_in)
                                  if n.partition(".")[2] == wanted))
        while pending:
            name = pending.popleft()
            taken = os.path.join(self.processed_folder, name)
            try:  # another consumer may have taken it: then it is gone, skip it
                shutil.move(os.path.join(self.data_folder_in, name), taken)
            except OSError:
                continue
            with open(taken, "rb") as f:
                payload = f.read()
            if not self.store_processed:
                os.remove(taken)
            return loads(bytes_to_str(payload))
        raise Empty()


    @contextmanager
    def _exchange_table(self, exchange):
        """The exchange's bindings, read, changed by the caller and written back, under an
        exclusive lock on a lock file of its own (the table file itself is replaced, so a
        lock on it would be a lock on a file that is gone); written to a temporary name
        and renamed, so a reader (get_table) sees the old table or the new, never part."""
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        with open(f"{file}.lock", "a") as guard:
            fcntl.flock(guard.fileno(), fcntl.LOCK_EX)
            try:
                queues = [exchange_queue_t(*q) for q in loads(file.read_bytes())]
            except FileNotFoundError:
                queues = []
            before = list(queues)
            yield queues
            if queues != before:
                part = f"{file}.{os.getpid()}.part"
                with open(part, "wb") as f:
                    f.write(dumps(queues).encode())
                os.rename(part, file)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        binding = exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._exchange_table(exchange) as queues:
            if binding not in queues:
                queues.insert(0, binding)

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        binding = exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._exchange_table(exchange) as queues:
            if binding in queues:
                queues.remove(binding)


class AtomicFilesystemTransport(filesystem.Transport):
    """kombu keeps one broker state per process, and skips writing a binding it has seen:
    a second broker folder in the same process (a test's, a tool's) would get no bindings,
    and what is published there would be routed nowhere. One state per broker folder."""
    Channel = _AtomicFilesystemChannel
    _states: dict[str, virtual.BrokerState] = {}

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        folder = os.path.abspath(client.transport_options.get("control_folder", "control"))
        self.state = self._states.setdefault(folder, virtual.BrokerState())
