"""Push-mode forwarding: POST each payload to a URL, signed like the connector does.

Body: the payload's JSON. Header ``X-Connector-Signature: sha256=<hex HMAC-SHA256>``
of the raw body with the forward secret (docs/wire.md §2).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from autoplay_cli.errors import UsageError, redact
from autoplay_cli.redact import mask_urls as mask_url
from autoplay_cli.wire import Payload

SIGNATURE_HEADER = "X-Connector-Signature"
RETRY_DELAYS = (0.2, 0.5)  # waits before the 2nd and 3rd attempt of one payload


def sign(secret: str, body: bytes) -> str:
    """The signature header value for *body*."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ForwardResult:
    """How one POST went: the final HTTP status (None when unreachable) and attempts made."""

    status: int | None
    attempts: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def check_forward_url(url: str) -> httpx.URL:
    """*url* parsed, or a :class:`UsageError` saying why it cannot be posted to."""
    hint = "e.g. `forward_to` http://127.0.0.1:9000/webhook"
    shown = mask_url(url)
    if not url.startswith(("http://", "https://")):
        raise UsageError(
            f"`forward_to` {shown!r} is not an http(s) URL", hint=hint, setting="forward_to"
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UsageError(
            f"`forward_to` {shown!r} is not a valid URL ({exc})", hint=hint, setting="forward_to"
        ) from None
    if not parsed.host:
        raise UsageError(f"`forward_to` {shown!r} has no host", hint=hint, setting="forward_to")
    return parsed


class Forwarder:
    """POSTs payloads one by one; never raises for a failed delivery.

    Retry policy: a connection error, a timeout, a 429 or a 5xx is retried
    (up to 3 attempts, waiting 0.2 s then 0.5 s); any other status is final.
    A payload that still fails is skipped and counted. While the endpoint is
    unreachable, each payload gets a single attempt, so a dead endpoint does
    not slow the tail down; full retries resume after the next success.
    """

    def __init__(
        self,
        url: str,
        secret: str | None,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.url = url
        self._target = check_forward_url(url)
        self._secret = secret
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._sleep = sleep
        self._unreachable = False
        self.ok = 0
        self.failed = 0

    async def forward(self, payload: Payload | str) -> ForwardResult:
        """POST one payload: a model, or its JSON text (sent as it is, like the connector)."""
        body = (payload if isinstance(payload, str) else payload.model_dump_json()).encode()
        headers = {"Content-Type": "application/json"}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        attempts = 1 if self._unreachable else 1 + len(RETRY_DELAYS)
        result = ForwardResult(None, 0)
        for attempt in range(attempts):
            if attempt:
                await self._sleep(RETRY_DELAYS[attempt - 1])
            try:
                response = await self._client.post(self._target, content=body, headers=headers)
            except httpx.TransportError as exc:
                error = redact(
                    mask_url(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__),
                    [self._secret],
                )
                result = ForwardResult(None, attempt + 1, error)
                self._unreachable = True
                continue
            self._unreachable = False
            result = ForwardResult(response.status_code, attempt + 1)
            if response.status_code != 429 and response.status_code < 500:
                break
        if result.ok:
            self.ok += 1
        else:
            self.failed += 1
        return result

    async def aclose(self) -> None:
        await self._client.aclose()
