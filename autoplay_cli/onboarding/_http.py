"""HTTP calls bounded as a whole: connect, response head and body within one deadline.

httpx's timeouts apply to each network read, so a peer sending one byte a second
would hold a request open for ever; an asyncio deadline cancels the whole exchange.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")


def run_with_deadline(make: Callable[[], Awaitable[T]], timeout: float) -> T:
    """Run the coroutine that *make* returns, cancelled after *timeout* seconds.

    Raises :class:`TimeoutError` at the deadline. Works from synchronous code,
    also when the calling thread already runs an event loop (then in a worker thread).
    """

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(bounded())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, bounded()).result()


# No answer this toolkit reads (a registration, an error's explanation) comes near
# this; a peer sending more is not read further, so memory stays bounded.
MAX_BODY = 1 << 20


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk[: limit - size])
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)


def request(
    method: str,
    url: str,
    *,
    timeout: float,
    transport: Any = None,
    max_body: int = MAX_BODY,
    **kwargs: Any,
) -> httpx.Response:
    """One request, its body read (at most *max_body* bytes), within *timeout* seconds in total.

    At the deadline, raises ``httpx.ReadTimeout`` (``httpx.ConnectTimeout`` if the
    request was not sent yet), so callers handle it as any other timeout.
    """
    import httpx

    sent = False

    async def trace(event: str, info: Any) -> None:
        # httpx's documented "trace" extension: once the request head starts
        # going out, the peer may act on it even if no answer ever comes.
        nonlocal sent
        if "send_request_headers" in event:
            sent = True

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), transport=transport, follow_redirects=False
        ) as client:
            request = client.build_request(method, url, extensions={"trace": trace}, **kwargs)
            response = await client.send(request, stream=True)
            try:
                body = await _read_capped(response, max_body)
            finally:
                await response.aclose()
            # Headers that described the wire form (compression, length) no longer apply.
            headers = [
                (k, v)
                for k, v in response.headers.multi_items()
                if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
            ]
            return httpx.Response(
                response.status_code, headers=headers, content=body, request=request
            )

    try:
        return run_with_deadline(send, timeout)
    except TimeoutError as exc:
        kind = httpx.ReadTimeout if sent else httpx.ConnectTimeout
        raise kind(f"no complete answer within {timeout:g} s") from exc
