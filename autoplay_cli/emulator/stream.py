"""One product's event stream: a producer, a bounded ring buffer, and per-subscriber SSE bytes.

Frames are rendered once, when produced, and every subscriber reads the same
bytes from the buffer; a subscriber with a backlog gets many frames per write.
Pure asyncio: no web framework here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from autoplay_cli.emulator.options import EmulatorOptions

log = logging.getLogger(__name__)

PREAMBLE_COMMENT = b": autoplay emulator - a local fake of the Autoplay connector\n"
KEEPALIVE = b": keep-alive\n\n"
HEARTBEAT = b"event: heartbeat\ndata:\n\n"
_CHUNK = 512  # events produced per scheduling slice when unthrottled
_POLL_S = 0.25  # how often an idle subscriber checks for shutdown
# One reusable compact encoder: ~35 % faster than json.dumps per call; ASCII-only output.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def render_frame(event_id: int, event: str, data: str) -> bytes:
    """One SSE frame with an ``id:``; *data* must not contain a newline."""
    return f"id: {event_id}\nevent: {event}\ndata: {data}\n\n".encode()


def gap_frame(requested_id: int, oldest_id: int) -> bytes:
    """The ``event: gap`` notice: events after *requested_id* up to *oldest_id* are lost."""
    body = json.dumps(
        {
            "type": "gap",
            "requested_id": str(requested_id),
            "oldest_id": str(oldest_id),
            "missed": oldest_id - requested_id - 1,
        },
        separators=(",", ":"),
    )
    return f"event: gap\ndata: {body}\n\n".encode()


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where a subscriber starts: the next id to send, and a gap notice to send first."""

    next_id: int
    gap: bytes | None = None


class ProductStream:
    """The events of one product, shared by all its subscribers."""

    def __init__(
        self,
        product_id: str,
        options: EmulatorOptions,
        source: Callable[[float], Iterator[dict[str, Any]]],
        should_stop: Callable[[], bool],
    ) -> None:
        self.product_id = product_id
        self.options = options
        self._source = source
        self._should_stop = should_stop
        self._frames: list[bytes] = []
        self._base = 1  # id of self._frames[0]
        self.next_id = 1  # id the next produced event gets
        self._changed = asyncio.Event()
        self._producer: asyncio.Task[None] | None = None
        self.subscribers = 0
        # Unthrottled (rate 0), production follows the slowest subscriber: each one's
        # next id lives here, and reading wakes the producer.
        self._cursors: dict[int, int] = {}
        self._consumed = asyncio.Event()
        self._tokens = itertools.count()
        self.finished = False

    # -- buffer -------------------------------------------------------------------

    @property
    def oldest_id(self) -> int:
        """The oldest id still in the ring buffer (== next_id when it is empty)."""
        return max(self._base, self.next_id - self.options.ring_size)

    def _publish(self, frame: bytes) -> None:
        self._frames.append(frame)
        self.next_id += 1
        ring = self.options.ring_size
        # Trim in bulk once the list holds two rings' worth, so appends stay O(1).
        if len(self._frames) >= 2 * ring + _CHUNK:
            drop = len(self._frames) - ring
            del self._frames[:drop]
            self._base += drop

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def resume_point(self, last_event_id: str | None) -> ResumePoint:
        """Translate a ``Last-Event-ID`` header into a start position.

        No header (or one that is not an integer, or is ahead of this stream,
        e.g. from an earlier run) means live: only new events. An id older than
        the buffer yields a gap notice, then the oldest buffered event.
        """
        value = (last_event_id or "").strip()
        # isascii: str.isdigit() also accepts digits such as "²" that int() rejects.
        if not (value.isascii() and value.isdigit()):
            return ResumePoint(self.next_id)
        requested = int(value)
        if requested >= self.next_id:
            return ResumePoint(self.next_id)
        oldest = self.oldest_id
        if requested + 1 < oldest:
            return ResumePoint(oldest, gap_frame(requested, oldest))
        return ResumePoint(requested + 1)

    def read(
        self, next_id: int, max_frames: int, max_bytes: int
    ) -> tuple[list[bytes], int, bytes | None]:
        """Frames from *next_id* on: (frames, new next_id, gap notice if it fell behind).

        At most *max_frames* frames and about *max_bytes* bytes (one frame at least).
        """
        gap = None
        oldest = self.oldest_id
        if next_id < oldest:
            gap = gap_frame(next_id - 1, oldest)
            next_id = oldest
        start = next_id - self._base
        frames = self._frames[start : start + max_frames]
        size = 0
        for n, frame in enumerate(frames):
            size += len(frame)
            if size >= max_bytes:
                del frames[n + 1 :]
                break
        return frames, next_id + len(frames), gap

    # -- production ---------------------------------------------------------------

    def subscribe(self, token: int, next_id: int) -> None:
        self.subscribers += 1
        self._cursors[token] = next_id
        self._consumed.set()
        if self._producer is None and self.subscribers >= self.options.wait_for_subscribers:
            self.start()

    def unsubscribe(self, token: int) -> None:
        self.subscribers -= 1
        self._cursors.pop(token, None)
        self._consumed.set()

    def _advance(self, token: int, next_id: int) -> None:
        self._cursors[token] = next_id
        self._consumed.set()

    def _lead(self) -> int | None:
        """How far production is ahead of the slowest subscriber (None: nobody listens)."""
        if not self._cursors:
            return None
        return self.next_id - min(self._cursors.values())

    async def _await_readers(self) -> int:
        """Rate 0: wait until the slowest subscriber is close enough; return the budget."""
        window = min(_CHUNK, self.options.ring_size)
        while not self._should_stop():
            self._consumed.clear()  # before looking, so a read in between is not missed
            lead = self._lead()
            if lead is not None and lead < window:
                return window - lead
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._consumed.wait(), timeout=_POLL_S)
        return 0

    def start(self) -> None:
        """Start producing (idempotent)."""
        if self._producer is None:
            self._producer = asyncio.get_running_loop().create_task(self._produce())

    async def _produce(self) -> None:
        opts = self.options
        start = opts.start if opts.start is not None else opts.clock()
        payloads = self._source(start)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        produced = 0
        good = 0
        limit = opts.max_events
        try:
            while not self._should_stop():
                if limit is not None and produced >= limit:
                    break
                if opts.rate > 0:
                    due = int((loop.time() - t0) * opts.rate) + 1 - produced
                    if due <= 0:
                        await asyncio.sleep(max(produced / opts.rate - (loop.time() - t0), 0.001))
                        continue
                    budget = min(due, _CHUNK)
                else:
                    budget = await self._await_readers()
                if limit is not None:
                    budget = min(budget, limit - produced)
                exhausted = False
                for _ in range(budget):
                    event_id = self.next_id
                    if opts.malformed_every and event_id % opts.malformed_every == 0:
                        self._publish(
                            render_frame(
                                event_id,
                                "actions",
                                '{"type": "actions", "product_id": "'
                                + self.product_id
                                + '", "actions": [ <truncated by --malformed-every',
                            )
                        )
                    else:
                        payload = next(payloads, None)
                        if payload is None:
                            exhausted = True
                            break
                        good += 1
                        self._publish(
                            render_frame(
                                event_id,
                                payload["type"],
                                _ENCODER.encode(payload),
                            )
                        )
                    produced += 1
                self._notify()
                if exhausted:
                    break
                await asyncio.sleep(0)
        finally:
            self.finished = True
            self._notify()
            log.debug(
                "product %s: produced %d events (%d payloads)", self.product_id, produced, good
            )

    def inject(self, payloads: list[dict[str, Any]]) -> list[int]:
        """Publish *payloads* (from the ingest webhook) now, beside the generated traffic.

        Returns their ids. Never malformed, never paced; production is not started.
        """
        ids = []
        for payload in payloads:
            ids.append(self.next_id)
            self._publish(render_frame(self.next_id, payload["type"], _ENCODER.encode(payload)))
        self._notify()
        return ids

    def stop(self) -> None:
        if self._producer is not None:
            self._producer.cancel()

    # -- subscription -------------------------------------------------------------

    async def sse(self, last_event_id: str | None, *, faults: bool = True) -> AsyncIterator[bytes]:
        """The SSE byte stream of one subscriber, fault modes applied unless *faults* is false.

        The fault modes are the per-connection ones: ``--latency-ms``, ``--drop-every``
        and ``--stall-after`` (``--malformed-every`` frames are in the stream itself).
        """
        opts = self.options
        if not faults:
            opts = opts.with_(drop_every=None, stall_after=None, latency_ms=0.0)
        loop = asyncio.get_running_loop()
        latency = opts.latency_ms / 1000.0
        point = self.resume_point(last_event_id)
        token = next(self._tokens)
        self.subscribe(token, point.next_id)
        try:
            head = PREAMBLE_COMMENT + f"retry: {opts.retry_ms}\n\n".encode()
            if point.gap:
                head += point.gap
            yield head
            next_id = point.next_id
            sent = 0
            last_write = last_heartbeat = loop.time()
            while not self._should_stop():
                cap = _CHUNK * 8
                for limit in (opts.drop_every, opts.stall_after):
                    if limit is not None:
                        cap = min(cap, limit - sent)
                frames, next_id, gap = self.read(next_id, cap, opts.max_write_bytes)
                self._advance(token, next_id)
                if frames or gap:
                    chunk = b"".join([gap, *frames] if gap else frames)
                    if latency:
                        await asyncio.sleep(latency)
                    yield chunk
                    sent += len(frames)
                    last_write = loop.time()
                    if opts.drop_every is not None and sent >= opts.drop_every:
                        return  # ends the response: the client must reconnect
                    if opts.stall_after is not None and sent >= opts.stall_after:
                        # A stalled connection no longer holds back unthrottled production.
                        self._cursors.pop(token, None)
                        self._consumed.set()
                        while not self._should_stop():  # hold the connection, send nothing
                            await asyncio.sleep(_POLL_S)
                        return
                    continue
                now = loop.time()
                if now - last_heartbeat >= opts.heartbeat_s:
                    last_heartbeat = last_write = now
                    yield HEARTBEAT
                    continue
                if now - last_write >= opts.keepalive_s:
                    last_write = now
                    yield KEEPALIVE
                    continue
                wait = min(
                    _POLL_S,
                    last_heartbeat + opts.heartbeat_s - now,
                    last_write + opts.keepalive_s - now,
                )
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=max(wait, 0.001))
        finally:
            self.unsubscribe(token)
