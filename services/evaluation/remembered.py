"""Results computed by this process, kept by what they were computed from: a figure that
takes seconds with many events in the projections is not computed again for the next reader,
and the key holds the state of the projections (scorecard.projections_state), so anything
applied or recorded since makes a new result: never a stale one."""
import threading
from collections import OrderedDict
from copy import deepcopy


class Remembered:
    def __init__(self, size: int):
        self.size = size            # how many results are kept, the least recently used go
        self._kept = OrderedDict()  # key -> result
        self._lock = threading.Lock()  # gunicorn threads share it

    def get(self, key, compute):
        """The result for `key`, computed once; a copy, so no caller changes another's."""
        with self._lock:
            result = self._kept.get(key)
            if result is not None:
                self._kept.move_to_end(key)
        if result is None:
            result = compute()
            with self._lock:
                self._kept[key] = result
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return deepcopy(result)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
