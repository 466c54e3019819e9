"""The emulator's state shared by every request: options, registry, one stream per product.

Pure asyncio and the emulator's own modules: the handlers (``app``, ``fake_unkey``)
find it as ``request.app.state.emulator``.
"""

from __future__ import annotations

import asyncio

from autoplay_cli.emulator import scenario
from autoplay_cli.emulator.ingest import Ingest
from autoplay_cli.emulator.options import EmulatorOptions
from autoplay_cli.emulator.push import Pusher
from autoplay_cli.emulator.registry import Product, Registry
from autoplay_cli.emulator.stream import ProductStream


class Emulator:
    """State shared by every request: options, registry, one stream per product."""

    def __init__(self, options: EmulatorOptions) -> None:
        self.options = options.validated()
        self.registry = Registry()
        self.ingest = Ingest()
        self.streams: dict[str, ProductStream] = {}
        self.pushers: dict[str, Pusher] = {}
        self.stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None
        # Build the default source now: a bad --scenario fails before the server starts.
        self._default_source = self._source_for(self.options.product_id)
        default_key = self.registry.create_key(
            external_id=self.options.product_id, key=self.options.token, name="emulator default key"
        )
        self.registry.add_product(
            Product(
                self.options.product_id,
                "dev@localhost.example",
                "event_stream",
                self.options.webhook_secret,
                # Listed like any product's key, so re-registering the product revokes it too.
                key_ids=[default_key.key_id],
            )
        )

    def _source_for(self, product_id: str) -> scenario.Source:
        o = self.options
        return scenario.source(o.scenario, product_id=product_id, seed=o.seed, sessions=o.sessions)

    def should_stop(self) -> bool:
        return self.stopping

    def stream(self, product_id: str) -> ProductStream:
        found = self.streams.get(product_id)
        if found is None:
            src = (
                self._default_source
                if product_id == self.options.product_id
                else self._source_for(product_id)
            )
            found = ProductStream(product_id, self.options, src, self.should_stop)
            self.streams[product_id] = found
        return found

    def push(self, product: Product) -> None:
        """Deliver a ``push`` product's payloads to its forward URL (replacing an old pusher)."""
        old = self.pushers.pop(product.product_id, None)
        if old is not None:
            old.stop()
        if product.integration_type == "push":
            body = product.body
            pusher = Pusher(
                self.stream(product.product_id),
                body["forward_url"],
                body["forward_secret"],
                self.should_stop,
            )
            self.pushers[product.product_id] = pusher
            pusher.start()

    def stop(self) -> None:
        self.stopping = True
        for pusher in self.pushers.values():
            pusher.stop()
        for s in self.streams.values():
            s.stop()
