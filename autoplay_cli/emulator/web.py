"""Pieces every emulator handler shares: the fake marker header, error bodies, credentials
compared in constant time, the bearer token, request bodies read under a cap, latency.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from autoplay_cli.emulator.app_state import Emulator

FAKE_HEADER = {"X-Autoplay-Emulator": "fake connector; not the real Autoplay or Unkey"}
# Any one request body (registration, ingest, fake Unkey); larger ones get 413, and
# are never read whole: a declared length is refused up front, a chunked body once
# this much has arrived.
MAX_BODY_BYTES = 1 << 20


def emulator_of(request: Request) -> Emulator:
    """The emulator serving *request* (set on the app by ``build_app``)."""
    found: Emulator = request.app.state.emulator
    return found


async def delay(emulator: Emulator) -> None:
    """The ``--latency-ms`` fault: wait before answering."""
    if emulator.options.latency_ms:
        await asyncio.sleep(emulator.options.latency_ms / 1000.0)


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """The connector's error body: ``{"error": code, "message": …, …}``."""
    return JSONResponse(
        {"error": code, "message": message, **extra}, status_code=status, headers=FAKE_HEADER
    )


def same(given: str | None, secret: str) -> bool:
    """Whether *given* is *secret*, compared in constant time (never on a missing value)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The request body, or None once it is known to be over *limit* bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():  # stop reading as soon as it is too large
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
