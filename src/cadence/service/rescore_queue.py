"""Rescoring after writes, bounded: one worker thread, a debounce window, a capped queue.

A write names the series it may have given truth to; they wait in a queue of distinct
names (a series already waiting is not added twice) for ``debounce`` seconds after the
first of them arrived, so a burst of writes costs one rescoring per series, not one per
write. One worker rescores them ``batch`` series at a time, so memory and CPU stay those
of one series' rescoring whatever the write rate. The queue holds at most
``max_pending`` names; a name arriving at a full queue is dropped with a warning (the
next write to that series, or ``cadence accuracy --rescore``, scores it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger("cadence.accuracy")

__all__ = ["RescoreQueue"]


class RescoreQueue:
    def __init__(
        self,
        work: Callable[[list[str]], object],
        *,
        debounce: float,
        max_pending: int,
        batch: int = 8,
    ) -> None:
        self._work = work
        self.debounce = debounce
        self.max_pending = max_pending
        self.batch = batch
        self._pending: dict[str, None] = {}  # insertion-ordered set
        self._due = 0.0
        self._busy = False
        self._stopped = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, names: Iterable[str]) -> int:
        """Queue ``names`` for rescoring; returns how many were dropped (queue full)."""
        dropped = 0
        with self._cond:
            if self._stopped:
                return 0
            if not self._pending:
                self._due = time.monotonic() + self.debounce
            for name in names:
                if name in self._pending:
                    continue
                if len(self._pending) >= self.max_pending:
                    dropped += 1
                    continue
                self._pending[name] = None
            if self._pending and self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cadence-rescore", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
        if dropped:
            log.warning("rescore queue full (%d series): %d dropped", self.max_pending, dropped)
        return dropped

    def pending(self) -> list[str]:
        with self._cond:
            return list(self._pending)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being rescored; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker (after the batch it is rescoring); queued names are dropped."""
        with self._cond:
            self._stopped = True
            self._pending.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _next_batch(self) -> list[str] | None:
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                if self._pending and now >= self._due:
                    names = list(self._pending)[: self.batch]
                    for name in names:
                        del self._pending[name]
                    self._busy = True
                    return names
                self._cond.wait(self._due - now if self._pending else None)
            return None

    def _run(self) -> None:
        while (names := self._next_batch()) is not None:
            try:
                self._work(names)
            except Exception:  # the writes are committed; a later rescoring repairs this
                log.exception("rescoring %s after a write failed", ", ".join(names))
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
