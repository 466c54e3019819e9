"""The activity-stream client: connect, authenticate, reconnect, resume and detect stalls.

Every frame goes through :func:`autoplay_cli.wire.parse_event`. The client is an
async iterator of parsed events (with a blocking twin) plus live counters.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import re
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from autoplay_cli.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    ServiceUnavailableError,
    redact,
)
from autoplay_cli.redact import mask_urls as mask_url
from autoplay_cli.settings import header_credential
from autoplay_cli.stream.backoff import SERVER_DELAY_LIMIT, Backoff
from autoplay_cli.stream.sse import DEFAULT_MAX_SIZE, SSEDecoder
from autoplay_cli.wire import (
    HEARTBEAT_EVENT,
    GapEvent,
    HeartbeatEvent,
    MalformedEvent,
    ParsedEvent,
    PayloadEvent,
    UnknownEvent,
    parse_event,
)

log = logging.getLogger(__name__)

DEFAULT_IDLE_TIMEOUT = 45.0
DEFAULT_CONNECT_TIMEOUT = 10.0
TOKEN_SOURCES = "`token`, AUTOPLAY_TOKEN / AUTOPLAY_APP_UNKEY_TOKEN, or the profile's token"
#: Consecutive failed attempts before the client says which URL it tries and what came back.
HINT_AFTER_FAILURES = 3
#: Bytes of a response body read at most when it is not the stream (an error page, a
#: redirect): enough to quote its start, never the whole of a huge body.
ERROR_BODY_LIMIT = 64 * 1024
ERROR_SNIPPET_CHARS = 160
# What an HTTP header value can carry unchanged: printable ASCII, no edge spaces.
_HEADER_SAFE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?\Z")


def header_safe(value: str) -> bool:
    """Whether *value* can be sent as an HTTP header value exactly as it is."""
    return bool(_HEADER_SAFE.match(value))


@dataclass(frozen=True)
class StreamConfig:
    """Where the stream is and how patient to be with it.

    ``idle_timeout``: seconds without a single byte (heartbeats and comments
    count as bytes) before the connection is declared stalled and replaced;
    0 disables the watchdog. ``max_retries``: consecutive failed attempts
    allowed before giving up (``None`` = never give up). ``last_event_id``
    resumes from that id on the first connection too. ``max_frame_size``: a line
    or frame longer than this many characters is skipped and counted as malformed.
    """

    connector_url: str
    product_id: str
    token: str = field(repr=False)
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_retries: int | None = None
    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    jitter: float = 0.1
    last_event_id: str | None = None
    max_frame_size: int = DEFAULT_MAX_SIZE

    def __post_init__(self) -> None:
        if not self.connector_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"connector URL {self.connector_url!r} is not an http(s) URL",
                setting="connector_url",
                hint="check `connector_url` / AUTOPLAY_CONNECTOR_URL (e.g. http://127.0.0.1:8787)",
            )
        if not self.product_id:
            raise ConfigError(
                "the product id is empty", setting="product_id", hint="pass `product_id`"
            )
        header_credential(
            self.token,
            what="stream key",
            name="token",
            where=" / AUTOPLAY_TOKEN / the profile's token",
        )
        if self.idle_timeout < 0:
            raise ConfigError("`idle_timeout` must be ≥ 0 seconds", setting="idle_timeout")
        if self.connect_timeout <= 0:
            raise ConfigError("`connect_timeout` must be > 0 seconds", setting="connect_timeout")
        if self.max_retries is not None and self.max_retries < 0:
            raise ConfigError("`max_retries` must be ≥ 0", setting="max_retries")
        if self.last_event_id and not header_safe(self.last_event_id):
            raise ConfigError(
                f"the event id {self.last_event_id!r} cannot be sent in an HTTP header",
                setting="last_event_id",
                hint="event ids to resume from are printable ASCII (check `last_event_id`)",
            )

    @property
    def url(self) -> str:
        return f"{self.connector_url.rstrip('/')}/stream/{quote(self.product_id, safe='')}"

    @property
    def shown_url(self) -> str:
        """:attr:`url` as messages show it: a password in it masked."""
        return mask_url(self.url)


@dataclass
class StreamStats:
    """Counters of one client, updated as frames arrive (read them any time)."""

    connects: int = 0
    reconnects: int = 0
    stalls: int = 0
    bytes_received: int = 0
    events: int = 0
    payloads: Counter[str] = field(default_factory=Counter)
    heartbeats: int = 0
    gaps: int = 0
    missed: int = 0
    malformed: int = 0
    unknown: int = 0
    empty: int = 0
    last_event_id: str | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something worth telling a human about the connection (not an event)."""

    kind: str  # connected | disconnected | hint | gap | malformed | unknown
    message: str


class StreamStalled(Exception):
    """No byte arrived for the idle timeout; the connection is presumed dead."""


class _Transient(Exception):
    """An answer worth retrying (5xx, 429, a non-SSE body); *retry_after* in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _CappedStream(httpx.AsyncByteStream):
    """The first *limit* bytes of a body that is not the stream, then an end.

    httpx reads a redirect's body whole, and error messages quote a body's start:
    neither may take the memory of a huge body.
    """

    def __init__(self, inner: httpx.AsyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        left = self._limit
        chunks = self._inner.__aiter__()
        try:
            while left > 0:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                yield chunk[:left]
                left -= len(chunk)
        finally:
            await _aclose(chunks)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _aclose(iterator: object) -> None:
    """Close an async iterator that may be a generator (3.13 warns about one left open)."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class _WatchedStream(httpx.AsyncByteStream):
    """Wraps a response body: counts raw bytes and raises StreamStalled when none arrive.

    It sits under the SSE decoder, so comment lines and heartbeats, which the
    decoder swallows or we skip, still prove the connection is alive.
    """

    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        idle: float,
        stats: StreamStats,
        before_read: Callable[[], None] | None,
    ) -> None:
        self._inner = inner
        self._idle = idle or None
        self._stats = stats
        self._before_read = before_read

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        try:
            while True:
                if self._before_read is not None:
                    # Everything decoded so far has been handed out: a good moment to flush.
                    self._before_read()
                try:
                    async with asyncio.timeout(self._idle):
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                except TimeoutError as exc:
                    raise StreamStalled(f"no bytes for {self._idle:g} s") from exc
                self._stats.bytes_received += len(chunk)
                yield chunk
        finally:
            await _aclose(chunks)

    async def aclose(self) -> None:
        await self._inner.aclose()


class StreamClient:
    """An endless async iterator over one product's stream (see :meth:`events`).

    Final answers (401/403 -> :class:`AuthError`, 404 -> :class:`NotFoundError`)
    end the iteration at once; anything else is retried with backoff until
    ``max_retries`` consecutive failures (-> :class:`ServiceUnavailableError`).
    Messages never contain the token.
    """

    def __init__(
        self,
        config: StreamConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
        on_notice: Callable[[Notice], None] | None = None,
        before_read: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._clock = clock
        self.stats = StreamStats(last_event_id=config.last_event_id)
        self.backoff = Backoff(
            config.initial_backoff, config.max_backoff, config.jitter, rng or random.Random()
        )
        self._transport = transport
        self._sleep = sleep
        self._on_notice = on_notice
        self._before_read = before_read

    # -- public iteration -----------------------------------------------------------

    async def events(self) -> AsyncGenerator[ParsedEvent, None]:
        """Every dispatched frame, parsed: payloads, heartbeats, gaps, unknown, malformed."""
        batches = self.batches()
        try:
            async for batch in batches:
                for event in batch:
                    yield event
        finally:
            await batches.aclose()

    async def batches(self) -> AsyncGenerator[list[ParsedEvent], None]:
        """Like :meth:`events`, one non-empty list per network read.

        Counters, the last event id and notices are updated for the whole list
        before it is handed out; the next read waits until it has been consumed.
        """
        cfg = self.config

        async def watch(response: httpx.Response) -> None:
            # Runs before the body is read: put the stream under the idle watchdog, and
            # any other body (an error page, a redirect) under a size cap.
            assert isinstance(response.stream, httpx.AsyncByteStream)
            if response.status_code == 200 and _is_event_stream(response):
                response.stream = _WatchedStream(
                    response.stream, cfg.idle_timeout, self.stats, self._before_read
                )
            else:
                response.stream = _CappedStream(response.stream, ERROR_BODY_LIMIT)

        # No read timeout: a quiet stream is legitimate; the watchdog judges silence.
        timeout = httpx.Timeout(
            connect=cfg.connect_timeout,
            read=None,
            write=cfg.connect_timeout,
            pool=cfg.connect_timeout,
        )
        failures = 0
        hinted = False
        async with httpx.AsyncClient(
            transport=self._transport,
            timeout=timeout,
            follow_redirects=True,
            event_hooks={"response": [watch]},
        ) as client:
            while True:
                seen = self.stats.events
                retry_after = None
                try:
                    async for batch in self._one_connection(client):
                        yield batch
                    cause = "the server closed the stream"
                except StreamStalled as exc:
                    self.stats.stalls += 1
                    cause = f"stalled connection ({exc})"
                except _Transient as exc:
                    cause = str(exc)
                    retry_after = exc.retry_after
                except httpx.RequestError as exc:
                    # Transport failures, and also a redirect loop or a body that cannot be
                    # decoded: retried like the rest, never a crash.
                    cause = _describe(exc)
                cause = redact(mask_url(cause), [cfg.token])
                self.stats.last_error = cause
                if self.stats.events > seen:
                    # A successful read: the next drop starts the backoff afresh.
                    self.backoff.reset()
                    failures = 0
                    hinted = False
                failures += 1
                if cfg.max_retries is not None and failures > cfg.max_retries:
                    raise self._exhausted(cause)
                if failures >= HINT_AFTER_FAILURES and not hinted:
                    hinted = True
                    self._notice(
                        "hint",
                        f"no event stream from {cfg.shown_url} after "
                        f"{failures} attempts in a row; the last answer: {cause}. "
                        "Check `connector_url` (AUTOPLAY_CONNECTOR_URL) and that the "
                        "connector is running",
                    )
                delay = self.backoff.next_delay()
                if retry_after is not None:
                    # The server said when to come back (Retry-After), within reason.
                    delay = max(delay, min(retry_after, SERVER_DELAY_LIMIT))
                self._notice(
                    "disconnected",
                    f"{cause}; reconnecting in {delay:.1f} s"
                    + (
                        f" (attempt {failures}/{cfg.max_retries})"
                        if cfg.max_retries is not None
                        else ""
                    ),
                )
                await self._sleep(delay)
                self.stats.reconnects += 1

    def iter_events(self) -> Iterator[ParsedEvent]:
        """Blocking twin of :meth:`events`, for code without an event loop."""
        loop = asyncio.new_event_loop()
        agen = self.events()
        try:
            while True:
                try:
                    yield loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            try:
                loop.run_until_complete(agen.aclose())
                # Generators of the libraries below (httpx's byte iterators) are closed
                # here, in this loop, rather than by the collector after it has gone.
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def afirst(self, timeout: float, *, heartbeats: bool = True) -> ParsedEvent:
        """The first event (a heartbeat counts when *heartbeats*) within *timeout* seconds.

        Raises :class:`ServiceUnavailableError` naming the last connection error
        when nothing arrives in time; auth/URL errors are raised as usual.
        """
        agen = self.events()
        try:
            async with asyncio.timeout(timeout):
                async for event in agen:
                    if heartbeats or not isinstance(event, HeartbeatEvent):
                        return event
        except TimeoutError as exc:
            last = f" (last error: {self.stats.last_error})" if self.stats.last_error else ""
            raise ServiceUnavailableError(
                f"no event or heartbeat from {self.config.shown_url} within {timeout:g} s{last}",
                hint="check the connector is running and streaming for this product",
            ) from exc
        finally:
            await agen.aclose()
        raise self._exhausted("the stream ended")  # pragma: no cover - events() never ends

    def first(self, timeout: float, *, heartbeats: bool = True) -> ParsedEvent:
        """Blocking twin of :meth:`afirst`."""
        return asyncio.run(self.afirst(timeout, heartbeats=heartbeats))

    # -- one connection -------------------------------------------------------------

    async def _one_connection(
        self, client: httpx.AsyncClient
    ) -> AsyncGenerator[list[ParsedEvent], None]:
        cfg = self.config
        stats = self.stats
        headers = {
            "Accept": "text/event-stream",
            "Cache-Control": "no-store",
            "Authorization": f"Bearer {cfg.token}",
        }
        if stats.last_event_id:
            if header_safe(stats.last_event_id):
                headers["Last-Event-ID"] = stats.last_event_id
            else:
                # An id no header can carry (the server sent `café`): start afresh, and
                # say that events after it may be missing.
                self.stats.gaps += 1
                self._notice(
                    "gap",
                    f"cannot resume after id {stats.last_event_id!r}: an HTTP header "
                    "cannot carry it; reconnected without Last-Event-ID, so events "
                    "sent meanwhile may be lost",
                )
                stats.last_event_id = None
        request = client.build_request("GET", cfg.url, headers=headers)
        try:
            # The response head must come within the idle timeout as well.
            async with asyncio.timeout(cfg.idle_timeout or None):
                response = await client.send(request, stream=True)
        except TimeoutError as exc:
            raise StreamStalled(f"no response within {cfg.idle_timeout:g} s") from exc
        chunks: AsyncIterator[bytes] | None = None
        try:
            await self._check_response(response)
            stats.connects += 1
            self._notice(
                "connected",
                f"connected to {cfg.shown_url}"
                + (f", resuming after id {stats.last_event_id}" if stats.last_event_id else ""),
            )
            decoder = SSEDecoder(stats.last_event_id or "", max_size=cfg.max_frame_size)
            retry = None
            oversize = 0
            # All events completed by one network read are handled in one tight loop
            # and handed out as one list: no async hop per event.
            clock, parse, payloads = self._clock, parse_event, stats.payloads
            chunks = response.aiter_bytes()
            async for chunk in chunks:
                frames = decoder.feed(chunk)
                if decoder.oversize != oversize:
                    # Skipped whole by the decoder (memory stays bounded): malformed frames.
                    skipped, oversize = decoder.oversize - oversize, decoder.oversize
                    stats.malformed += skipped
                    self._notice(
                        "malformed",
                        f"{skipped} frame{'s' * (skipped != 1)} over "
                        f"{cfg.max_frame_size} characters skipped",
                    )
                now = clock()
                batch: list[ParsedEvent] = []
                if decoder.retry != retry:
                    retry = decoder.retry
                    assert retry is not None
                    self.backoff.set_server_retry(retry)
                append = batch.append
                for name, data, sse_id in frames:
                    if not data and name != HEARTBEAT_EVENT:
                        stats.empty += 1  # nothing to parse: counted, not passed on
                        continue
                    event = parse(name, data, sse_id or None, now)
                    append(event)
                    if type(event) is PayloadEvent:
                        payloads[event.view.type] += 1
                    elif type(event) is HeartbeatEvent:
                        stats.heartbeats += 1
                    elif isinstance(event, GapEvent):
                        self._count_gap(event)
                    elif isinstance(event, MalformedEvent):
                        stats.malformed += 1
                        self._notice(
                            "malformed", f"malformed frame (id {event.id}): {event.reason}"
                        )
                    elif isinstance(event, UnknownEvent):
                        stats.unknown += 1
                        self._notice(
                            "unknown", f"unknown event type {event.type!r} (id {event.id})"
                        )
                stats.events += len(batch)
                # An id on a frame that dispatched nothing is a resume point too, and an
                # empty `id:` clears it (WHATWG: then no Last-Event-ID is sent).
                stats.last_event_id = decoder.last_event_id or None
                if batch:
                    yield batch
        finally:
            if chunks is not None:
                await _aclose(chunks)
            await response.aclose()

    async def _check_response(self, response: httpx.Response) -> None:
        cfg = self.config
        status = response.status_code
        url = mask_url(str(response.url))
        if status in (401, 403):
            raise AuthError(
                f"the connector rejected the stream key for product {cfg.product_id!r} "
                f"(HTTP {status} from {url})",
                hint=f"check the stream key ({TOKEN_SOURCES}) belongs to this product",
            )
        if status == 404:
            raise NotFoundError(
                f"no stream at {url} (HTTP 404)",
                hint="check `product_id` and `connector_url` (AUTOPLAY_PRODUCT_ID, "
                "AUTOPLAY_CONNECTOR_URL)",
            )
        if status != 200:
            retry_after = _retry_after(response) if status in (429, 503) else None
            raise _Transient(
                f"HTTP {status} from {url}{await _snippet(response, cfg.connect_timeout)}",
                retry_after,
            )
        if not _is_event_stream(response):
            content_type = response.headers.get("content-type", "").partition(";")[0].strip()
            said = await _snippet(response, cfg.connect_timeout)
            raise _Transient(
                f"{url} answered with {content_type or 'no content type'}, not an event "
                f"stream{said} (is `connector_url` the connector?)"
            )

    def _count_gap(self, gap: GapEvent) -> None:
        self.stats.gaps += 1
        if gap.missed:
            self.stats.missed += gap.missed
        lost = f"{gap.missed} events" if gap.missed is not None else "some events"
        self._notice(
            "gap",
            f"the server could not resume after id {gap.requested_id}: "
            f"{lost} lost (resuming at id {gap.oldest_id})",
        )

    def _notice(self, kind: str, message: str) -> None:
        log.debug("%s", message)
        if self._on_notice is not None:
            self._on_notice(Notice(kind, message))

    def _exhausted(self, cause: str) -> ServiceUnavailableError:
        cfg = self.config
        retries = cfg.max_retries or 0
        tried = (
            f"after {retries} retr{'y' if retries == 1 else 'ies'}"
            if retries
            else "with retries disabled"
        )
        return ServiceUnavailableError(
            f"gave up on the stream at {cfg.shown_url} {tried}: {cause}",
            hint="check the connector is running at `connector_url` (AUTOPLAY_CONNECTOR_URL), "
            "or raise `max_retries`",
        )


def _is_event_stream(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "").partition(";")[0].strip()
    return content_type.lower() == "text/event-stream"


async def _snippet(response: httpx.Response, timeout: float) -> str:
    """The start of a (capped) body as `` saying '…'``, or nothing when it is empty."""
    try:
        # The body is capped in size; a peer trickling it must not hold us either.
        async with asyncio.timeout(timeout):
            body = await response.aread()
    except (httpx.HTTPError, TimeoutError):
        return ""
    text = " ".join(body.decode("utf-8", "replace").split())
    if not text:
        return ""
    if len(text) > ERROR_SNIPPET_CHARS:
        text = text[:ERROR_SNIPPET_CHARS] + "…"
    return f" saying {text!r}"


def _retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (delay or HTTP date), ``None`` when absent or bad."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(min(int(value), 10**9))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    seconds = when.timestamp() - time.time()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _describe(exc: httpx.RequestError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({text})"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects ({text})"
    if not isinstance(exc, httpx.TransportError):
        return f"bad response ({text})"
    return f"connection lost ({text})"
