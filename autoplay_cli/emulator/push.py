"""Push mode: the emulator POSTs each payload of a ``push`` product to its ``forward_url``.

Signed like the connector does it (docs/wire.md §2), through the same :class:`Forwarder`
as ``autoplay tail --forward-to``; the payloads are those of the product's stream,
in order, read like any subscriber reads them (without the fault modes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from autoplay_cli.emulator.stream import ProductStream
from autoplay_cli.stream.forward import Forwarder
from autoplay_cli.stream.sse import SSEDecoder
from autoplay_cli.wire import PayloadEvent, parse_event

log = logging.getLogger(__name__)


class Pusher:
    """Delivers one product's payloads to its forward URL until stopped.

    A delivery that still fails after the forwarder's retries is skipped and
    counted (``failed``), as the connector would; ``delivered`` counts the others.
    """

    def __init__(
        self,
        stream: ProductStream,
        url: str,
        secret: str,
        should_stop: Callable[[], bool],
    ) -> None:
        self.stream = stream
        self.url = url
        self._secret = secret
        self._should_stop = should_stop
        self.delivered = 0
        self.failed = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        forwarder = Forwarder(self.url, self._secret)
        decoder = SSEDecoder()
        try:
            async for chunk in self.stream.sse(None, faults=False):
                for name, data, sse_id in decoder.feed(chunk):
                    event = parse_event(name, data, sse_id or None)
                    if type(event) is not PayloadEvent:
                        continue  # heartbeats, --malformed-every frames: nothing to push
                    result = await forwarder.forward(event.json)
                    if result.ok:
                        self.delivered += 1
                    else:
                        self.failed += 1
                        log.warning(
                            "push to %s failed for event %s: %s",
                            self.url,
                            event.id,
                            result.error or f"HTTP {result.status}",
                        )
                if self._should_stop():
                    return
        finally:
            await forwarder.aclose()
