"""The emulator's HTTP surface as a Starlette app: the connector's routes, plus a FAKE Unkey.

Routes: ``GET /stream/{product_id}`` (SSE), ``POST /products``, ``POST /webhook/{product_id}``
(ingest), ``GET /healthz``; the fake Unkey's ``POST /v2/keys.createKey`` and
``POST /v2/keys.verifyKey`` live in :mod:`.fake_unkey`. Every handler is a module-level
function that finds the :class:`Emulator` as ``request.app.state.emulator``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from autoplay_cli.documents import decode_body
from autoplay_cli.emulator import fake_unkey
from autoplay_cli.emulator.app_state import Emulator
from autoplay_cli.emulator.ingest import IngestError
from autoplay_cli.emulator.registry import Product, validate_registration
from autoplay_cli.emulator.web import (
    FAKE_HEADER,
    MAX_BODY_BYTES,
    bearer,
    delay,
    emulator_of,
    error,
    read_capped,
    same,
)
from autoplay_cli.errors import InputError

__all__ = ["MAX_BODY_BYTES", "Emulator", "build_app"]


async def stream(request: Request) -> Response:
    """``GET /stream/{product_id}``: the product's SSE stream, for its own stream key."""
    emulator = emulator_of(request)
    await delay(emulator)
    opts, registry = emulator.options, emulator.registry
    product_id = request.path_params["product_id"]
    token = bearer(request)
    if token is None:
        return error(
            401,
            "unauthorized",
            "missing bearer token",
            hint="send 'Authorization: Bearer <stream key>'",
        )
    if registry.product(product_id) is None:
        return error(
            404,
            "not_found",
            f"unknown product {product_id!r}",
            hint="register it with POST /products",
        )
    key = registry.find_key(token)
    if key is None or not key.enabled:
        return error(401, "unauthorized", "invalid stream key")
    if key.external_id != product_id:
        return error(403, "forbidden", "this stream key belongs to another product")
    source = emulator.stream(product_id)
    body = source.sse(request.headers.get("last-event-id"))
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            # --drop-every closes the TCP connection too, not just the response.
            **({"Connection": "close"} if opts.drop_every else {}),
            **FAKE_HEADER,
        },
    )


async def products(request: Request) -> Response:
    """``POST /products``: register (or, when asked, re-register) a product."""
    emulator = emulator_of(request)
    await delay(emulator)
    opts, registry = emulator.options, emulator.registry
    if opts.admin_key is not None and not same(request.headers.get("x-admin-key"), opts.admin_key):
        return error(401, "unauthorized", "missing or wrong X-Admin-Key")
    raw = await read_capped(request)
    if raw is None:
        return error(413, "too_large", f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        body = decode_body(raw)
    except InputError as exc:
        return error(400, "invalid_json", exc.message)
    problems = validate_registration(body)
    if problems:
        first = problems[0]
        return error(
            422 if isinstance(body, dict) else 400,
            "validation_error",
            f"{first['field']}: {first['message']}",
            details=problems,
        )
    product_id = body["product_id"]
    force = body.get("force_reregister") is True or request.query_params.get(
        "force_reregister", ""
    ).lower() in ("1", "true")
    existing = registry.product(product_id)
    if existing is not None and not force:
        return error(
            409,
            "conflict",
            f"product {product_id!r} is already registered",
            hint="re-register with force_reregister=true",
        )
    if existing is not None:
        registry.revoke(existing.key_ids)  # re-registration replaces the old stream key
    kind = body.get("integration_type", "event_stream")
    product = Product(product_id, body["contact_email"], kind, body["webhook_secret"], body=body)
    result: dict[str, Any] = {
        "product_id": product_id,
        "integration_type": kind,
        "webhook_secret": body["webhook_secret"],
        "stream_url": f"{request.base_url}stream/{product_id}",
        "webhook_url": f"{request.base_url}webhook/{product_id}",
        "dual_write": opts.dual_write,
        "reregistered": existing is not None,
    }
    if opts.create_keys:
        key = registry.create_key(
            external_id=product_id, prefix="uk_local", name=f"{product_id} stream key"
        )
        product.key_ids.append(key.key_id)
        result.update(unkey_key=key.key, unkey_key_id=key.key_id)
    registry.add_product(product)
    emulator.push(product)
    return JSONResponse(result, status_code=201, headers=FAKE_HEADER)


async def webhook(request: Request) -> Response:
    """``POST /webhook/{product_id}``: PostHog-style events in, ``actions`` batches out."""
    emulator = emulator_of(request)
    await delay(emulator)
    opts, registry = emulator.options, emulator.registry
    product_id = request.path_params["product_id"]
    product = registry.product(product_id)
    if product is None:
        return error(
            404,
            "not_found",
            f"unknown product {product_id!r}",
            hint="register it with POST /products",
        )
    if not same(request.headers.get("x-posthog-secret"), product.webhook_secret):
        return error(
            401,
            "unauthorized",
            "missing or wrong X-PostHog-Secret",
            hint="send the product's webhook secret in the X-PostHog-Secret header",
        )
    raw = await read_capped(request)
    if raw is None:
        return error(
            413,
            "too_large",
            f"the body is over {MAX_BODY_BYTES} bytes; send fewer events per request",
        )
    try:
        batches = emulator.ingest.batches(
            product_id, decode_body(raw, error_class=IngestError), opts.clock()
        )
    except IngestError as exc:  # bad JSON, or a body of no accepted shape: says why
        return error(400, "invalid_body", exc.message)
    ids = emulator.stream(product_id).inject(batches)
    return JSONResponse(
        {
            "accepted": sum(b["count"] for b in batches),
            "batches": len(batches),
            "event_ids": [str(i) for i in ids],
        },
        status_code=202,
        headers=FAKE_HEADER,
    )


async def healthz(request: Request) -> Response:
    """``GET /healthz``: alive, how many products, and each push delivery's counts."""
    emulator = emulator_of(request)
    registry = emulator.registry
    pushed = {
        pid: {"forward_url": p.url, "delivered": p.delivered, "failed": p.failed}
        for pid, p in emulator.pushers.items()
    }
    return JSONResponse(
        {"status": "ok", "fake": True, "products": len(registry.products), "push": pushed},
        headers=FAKE_HEADER,
    )


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    emulator: Emulator = app.state.emulator
    emulator.loop = asyncio.get_running_loop()
    try:
        yield
    finally:
        emulator.stop()


ROUTES = [
    Route("/stream/{product_id}", stream, methods=["GET"]),
    Route("/products", products, methods=["POST"]),
    Route("/webhook/{product_id}", webhook, methods=["POST"]),
    *fake_unkey.ROUTES,
    Route("/healthz", healthz, methods=["GET"]),
]


def build_app(emulator: Emulator) -> Starlette:
    """The ASGI app serving *emulator*."""
    app = Starlette(routes=ROUTES, lifespan=_lifespan)
    app.state.emulator = emulator
    return app
