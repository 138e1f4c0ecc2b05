"""``serve``'s one writer: requests' spans queue here and a thread stores them, many per commit.

A receiver that answers only after its commit makes every sender wait for it: the official
exporters send one batch at a time, so the sender's next batch is not even encoded while the
last one is being stored, and the two processes take turns instead of working side by side
(measured: 0.62 of a null receiver's rate, whatever the protocol). Like the Collector's
sending queue, ``serve`` therefore answers by default once a request is decoded and queued
(``wait=False``); the thread writes whatever has queued up meanwhile in one transaction, each
request in a savepoint of its own, so one commit serves many requests. ``--ack committed``
makes each request wait for its own commit instead (``wait=True``), through the same thread.

What a queued request can still meet, and what then happens:

- the database refuses the whole transaction (locked past the busy timeout, a full disk):
  the queued requests are kept and tried again every RETRY_S; meanwhile ``submit`` refuses
  new requests with the reason (the receiver answers 503 / UNAVAILABLE, and senders retry),
  and a request that waits for its commit is answered with the error, not retried here;
- its own savepoint fails while the rest commit (nothing known does this): it is lost and
  logged, and ``finished`` sees its error;
- ``close`` (Ctrl-C, SIGTERM): what is queued is written before it returns; if the database
  still refuses it after CLOSE_RETRIES tries, it is lost and logged likewise;
- the process is killed (SIGKILL, a crash): the requests acknowledged but not yet committed
  are lost: at most what the pending budget lets queue, in practice the last moments'.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from otel_sqlite.errors import DatabaseError
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage.store import Store

logger = logging.getLogger(__name__)

# A transaction takes what has queued up to this many spans (the exporter's largest batch,
# whose single commit costs least per span) and then commits.
GROUP_SPANS = 16_384
# How long the writer waits before trying a refused transaction again.
RETRY_S = 1.0
# Tries left for what is queued once ``close`` is called, with the database refusing it
# (each waits out the store's busy timeout).
CLOSE_RETRIES = 2


class Refused(Exception):
    """The writer cannot take a request now: the database refused its last transaction."""


@dataclass(eq=False)
class Ticket:
    """One request's spans on their way to the database."""

    records: Sequence[SpanRecord]
    wait: bool  # the sender waits for this commit: answer a failure, do not retry it
    size: int = 0  # the caller's measure of the request, for its own accounting
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None  # why it was not stored, once ``done``


class WriteQueue:
    """The queue and its thread. ``finished`` is called (on the thread) with each request's
    ticket once it is stored or given up, and its share of its transaction's seconds."""

    def __init__(self, store: Store, finished: Callable[[Ticket, float], None]) -> None:
        self._store = store
        self._finished = finished
        self._queue: queue.SimpleQueue[Ticket | None] = queue.SimpleQueue()
        self._refusing: str | None = None
        self._thread = threading.Thread(target=self._run, name="otel-sqlite writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, records: Sequence[SpanRecord], wait: bool, size: int = 0) -> Ticket:
        """Queue ``records``; with ``wait`` the caller then waits on ``ticket.done``. Raises
        Refused while the database refuses writes."""
        if self._refusing is not None:
            raise Refused(f"the database refused the last write: {self._refusing}")
        ticket = Ticket(records, wait, size)
        self._queue.put(ticket)
        return ticket

    def close(self) -> None:
        """Store what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        closing = False
        held: list[Ticket] = []  # acknowledged, refused by the database: tried again
        tries_left = CLOSE_RETRIES
        while not (closing and not held):
            group, closing = self._take(held, closing)
            held = self._write(group)
            if held:
                if closing:
                    tries_left -= 1
                    if not tries_left:
                        self._give_up(held)
                        held = []
                        continue
                time.sleep(RETRY_S)

    def _take(self, held: list[Ticket], closing: bool) -> tuple[list[Ticket], bool]:
        """The tickets of the next transaction: those held back, then what has queued (at
        least one, waiting for it, when nothing is held)."""
        group = list(held)
        spans = sum(len(ticket.records) for ticket in group)
        while not closing and spans < GROUP_SPANS:
            try:
                ticket = self._queue.get(block=not group)
            except queue.Empty:
                break
            if ticket is None:
                closing = True
            else:
                group.append(ticket)
                spans += len(ticket.records)
        return group, closing

    def _write(self, group: list[Ticket]) -> list[Ticket]:
        """Store ``group`` in one transaction; the acknowledged tickets to try again when the
        database refused the whole transaction (the waiting ones are answered with why)."""
        if not group:
            return []
        started = time.perf_counter()
        try:
            transaction = self._store.begin()
        except DatabaseError as exc:
            return self._refused(group, str(exc))
        failed: dict[int, str] = {}
        for ticket in group:
            try:
                transaction.write([ticket.records])
            except DatabaseError as exc:
                failed[id(ticket)] = str(exc)
                if not transaction.alive:
                    transaction.rollback()
                    return self._refused(group, str(exc))
            except Exception as exc:  # rolled back to its savepoint; the writer carries on
                failed[id(ticket)] = f"{type(exc).__name__}: {exc}"
        try:
            transaction.commit()
        except DatabaseError as exc:
            return self._refused(group, str(exc))
        self._refusing = None
        # Each request's share of the transaction's time, for the spans/s of the summary.
        per_span = (time.perf_counter() - started) / max(sum(len(t.records) for t in group), 1)
        for ticket in group:
            error = failed.get(id(ticket))
            if error is not None and not ticket.wait:
                self._lose(ticket, error)
            self._finish(ticket, error, per_span * len(ticket.records))
        return []

    def _refused(self, group: list[Ticket], error: str) -> list[Ticket]:
        """Answer the waiting tickets with ``error``; hold the acknowledged ones, refusing
        new requests until they are stored (a waiting request tries the database itself)."""
        for ticket in group:
            if ticket.wait:
                self._finish(ticket, error, 0.0)
        held = [ticket for ticket in group if not ticket.wait]
        if held and self._refusing is None:
            logger.warning("otel-sqlite serve: the database refused a write (%s); retrying "
                           "every %g s, refusing new requests meanwhile", error, RETRY_S)
        self._refusing = error if held else None
        return held

    def _give_up(self, held: list[Ticket]) -> None:
        for ticket in held:
            self._lose(ticket, self._refusing or "")
            self._finish(ticket, self._refusing, 0.0)

    @staticmethod
    def _lose(ticket: Ticket, error: str) -> None:
        logger.warning("otel-sqlite serve: %d acknowledged span(s) could not be stored: %s",
                       len(ticket.records), error)

    def _finish(self, ticket: Ticket, error: str | None, seconds: float) -> None:
        ticket.error = error
        self._finished(ticket, seconds)
        ticket.done.set()
