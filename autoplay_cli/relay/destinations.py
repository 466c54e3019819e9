"""Where deliveries go: stdout (NDJSON) or a webhook (signed POST).

A destination sends one delivery and says how it went (:class:`Outcome`); the
sender decides about retries and dead letters. The Intercom destination lives
in :mod:`autoplay_cli.relay.intercom`.
"""

from __future__ import annotations

import codecs
import email.utils
import os
import sys
import time
from dataclasses import dataclass
from typing import IO, Any, Protocol

from autoplay_cli.errors import UsageError, redact
from autoplay_cli.relay.delivery import Delivery
from autoplay_cli.relay.signing import DELIVERY_HEADER, SIGNATURE_HEADER, sign

MAX_RETRY_AFTER_S = 300.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt: delivered, or failed (retryable or not), with what the peer said."""

    ok: bool
    retry: bool = False
    status: int | None = None
    retry_after: float | None = None
    error: str = ""


WRITTEN = Outcome(True)  # one immutable answer for every line written to stdout


class Destination(Protocol):
    """What the sender needs from a destination."""

    name: str

    async def send(self, delivery: Delivery) -> Outcome: ...

    def flush(self) -> None: ...

    async def aclose(self) -> None: ...


class StdoutDestination:
    """One delivery per line on stdout (``--to -``); flushed after each drained batch.

    Lines are kept as UTF-8 bytes and, when the stream is a UTF-8 text stream over a
    binary buffer (stdout, normally), written to that buffer: the same bytes the text
    layer would write, without decoding each line and encoding it again.
    """

    name = "-"

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lines: list[bytes] = []

    async def send(self, delivery: Delivery) -> Outcome:
        self._lines.append(delivery.to_json_bytes())
        return WRITTEN

    def flush(self) -> None:
        if self._lines:
            stream = self._stream or sys.stdout
            data = b"\n".join(self._lines) + b"\n"
            buffer = _utf8_buffer(stream)
            if buffer is not None:
                stream.flush()  # whatever was written as text goes first
                buffer.write(data)
                buffer.flush()
            else:
                stream.write(data.decode())
                stream.flush()
            self._lines.clear()

    async def aclose(self) -> None:
        self.flush()


def _utf8_buffer(stream: Any) -> Any:
    """The binary buffer under *stream* when writing UTF-8 bytes to it is what writing
    the text would do: a UTF-8 text stream, and "\\n" left as it is (POSIX)."""
    buffer = getattr(stream, "buffer", None)
    encoding = getattr(stream, "encoding", None)
    if buffer is None or not isinstance(encoding, str) or os.linesep != "\n":
        return None
    try:
        if codecs.lookup(encoding).name != "utf-8":
            return None
    except LookupError:
        return None
    return buffer


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; ``None`` when unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    delay = when.timestamp() - (time.time() if now is None else now)
    return min(max(delay, 0.0), MAX_RETRY_AFTER_S)


class WebhookDestination:
    """POSTs each delivery as JSON, signed with the shared secret.

    2xx is delivered; a connection error, a timeout, 408, 429 and 5xx are worth
    retrying (429/503 with their ``Retry-After``); any other status is final.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout_s: float = 10.0,
        transport: Any = None,
    ) -> None:
        import httpx

        if not url.startswith(("http://", "https://")):
            raise UsageError(
                f"`to` {url!r} is not '-', 'intercom' or an http(s) URL",
                setting="to",
                hint="e.g. `to` https://bot.example.com/autoplay",
            )
        if not secret:
            raise UsageError(
                "`to` URL needs a signing secret",
                setting="to_secret",
                hint="pass `to_secret` or set AUTOPLAY_RELAY_SECRET",
            )
        self.name = url
        self.url = url
        self._secret = secret
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def send(self, delivery: Delivery) -> Outcome:
        import httpx

        body = delivery.to_json_bytes()
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: delivery.id,
            SIGNATURE_HEADER: sign(self._secret, body),
        }
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return Outcome(False, retry=True, error=redact(text, [self._secret]))
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(True, status=status)
        retry = status in (408, 429) or status >= 500
        return Outcome(
            False,
            retry=retry,
            status=status,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
            error=f"HTTP {status}",
        )

    def flush(self) -> None:
        """Nothing buffered."""

    async def aclose(self) -> None:
        await self._client.aclose()
