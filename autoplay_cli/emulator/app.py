"""The emulator's HTTP surface as a Starlette app: stream, products, and a FAKE Unkey.

Routes: ``GET /stream/{product_id}`` (SSE), ``POST /products``, ``POST /webhook/{product_id}``
(ingest), ``POST /v2/keys.createKey`` and ``POST /v2/keys.verifyKey`` (a minimal fake of
Unkey's API, for offline tests only), ``GET /healthz``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from autoplay_cli.emulator import scenario
from autoplay_cli.emulator.ingest import Ingest, IngestError
from autoplay_cli.emulator.options import EXTERNAL_ID, EmulatorOptions
from autoplay_cli.emulator.push import Pusher
from autoplay_cli.emulator.registry import (
    KEY_PREFIX,
    Product,
    Registry,
    validate_registration,
)
from autoplay_cli.emulator.stream import ProductStream

FAKE_HEADER = {"X-Autoplay-Emulator": "fake connector; not the real Autoplay or Unkey"}
# Any one request body (registration, ingest, fake Unkey); larger ones get 413, and
# are never read whole: a declared length is refused up front, a chunked body once
# this much has arrived.
MAX_BODY_BYTES = 1 << 20


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


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"error": code, "message": message, **extra}, status_code=status, headers=FAKE_HEADER
    )


def _same(given: str | None, secret: str) -> bool:
    """Whether *given* is *secret*, compared in constant time (never on a missing value)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
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


def build_app(emulator: Emulator) -> Starlette:
    """The ASGI app serving *emulator*."""
    opts = emulator.options
    registry = emulator.registry

    async def delay() -> None:
        if opts.latency_ms:
            await asyncio.sleep(opts.latency_ms / 1000.0)

    async def stream(request: Request) -> Response:
        await delay()
        product_id = request.path_params["product_id"]
        token = _bearer(request)
        if token is None:
            return _error(
                401,
                "unauthorized",
                "missing bearer token",
                hint="send 'Authorization: Bearer <stream key>'",
            )
        if registry.product(product_id) is None:
            return _error(
                404,
                "not_found",
                f"unknown product {product_id!r}",
                hint="register it with POST /products",
            )
        key = registry.find_key(token)
        if key is None or not key.enabled:
            return _error(401, "unauthorized", "invalid stream key")
        if key.external_id != product_id:
            return _error(403, "forbidden", "this stream key belongs to another product")
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
        await delay()
        if opts.admin_key is not None and not _same(
            request.headers.get("x-admin-key"), opts.admin_key
        ):
            return _error(401, "unauthorized", "missing or wrong X-Admin-Key")
        raw = await _read_capped(request)
        if raw is None:
            return _error(413, "too_large", f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return _error(400, "invalid_json", "the request body is not valid JSON")
        problems = validate_registration(body)
        if problems:
            first = problems[0]
            return _error(
                422 if isinstance(body, dict) else 400,
                "validation_error",
                f"{first['field']} {first['message']}",
                details=problems,
            )
        product_id = body["product_id"]
        force = body.get("force_reregister") is True or request.query_params.get(
            "force_reregister", ""
        ).lower() in ("1", "true")
        existing = registry.product(product_id)
        if existing is not None and not force:
            return _error(
                409,
                "conflict",
                f"product {product_id!r} is already registered",
                hint="re-register with force_reregister=true",
            )
        if existing is not None:
            registry.revoke(existing.key_ids)  # re-registration replaces the old stream key
        kind = body.get("integration_type", "event_stream")
        product = Product(
            product_id, body["contact_email"], kind, body["webhook_secret"], body=body
        )
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
        await delay()
        product_id = request.path_params["product_id"]
        product = registry.product(product_id)
        if product is None:
            return _error(
                404,
                "not_found",
                f"unknown product {product_id!r}",
                hint="register it with POST /products",
            )
        if not _same(request.headers.get("x-posthog-secret"), product.webhook_secret):
            return _error(
                401,
                "unauthorized",
                "missing or wrong X-PostHog-Secret",
                hint="send the product's webhook secret in the X-PostHog-Secret header",
            )
        raw = await _read_capped(request)
        if raw is None:
            return _error(
                413,
                "too_large",
                f"the body is over {MAX_BODY_BYTES} bytes; send fewer events per request",
            )
        try:
            batches = emulator.ingest.batches(product_id, json.loads(raw), opts.clock())
        except (ValueError, RecursionError) as exc:  # bad JSON, or an IngestError saying why
            message = str(exc) if isinstance(exc, IngestError) else "the body is not valid JSON"
            return _error(400, "invalid_body", message)
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

    # -- FAKE Unkey: only what onboarding and doctor use, shaped for unkey.py 3.x ---------

    def unkey_meta() -> dict[str, str]:
        return {"requestId": "req_fake_" + secrets.token_hex(8)}

    def unkey_error(
        status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
    ) -> JSONResponse:
        error: dict[str, Any] = {
            "title": title,
            "detail": detail,
            "status": status,
            "type": f"https://unkey.com/docs/errors/fake/{title.lower()}",
        }
        if errors is not None:
            error["errors"] = errors
        return JSONResponse(
            {"meta": unkey_meta(), "error": error}, status_code=status, headers=FAKE_HEADER
        )

    async def unkey_body(request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        await delay()
        if not _same(_bearer(request), opts.unkey_root_key):
            return None, unkey_error(401, "Unauthorized", "the root key is missing or invalid")
        raw = await _read_capped(request)
        if raw is None:
            return None, unkey_error(
                413, "Payload Too Large", f"the body is over {MAX_BODY_BYTES} bytes"
            )
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            return None, unkey_error(
                400,
                "Bad Request",
                "the body must be a JSON object",
                [{"location": "body", "message": "not a JSON object"}],
            )
        return body, None

    async def create_key(request: Request) -> Response:
        body, failure = await unkey_body(request)
        if failure is not None or body is None:
            return failure or unkey_error(400, "Bad Request", "no body")
        if body.get("apiId") != opts.unkey_api_id:
            return unkey_error(404, "Not Found", f"api {body.get('apiId')!r} does not exist")
        errors = []
        external_id = body.get("externalId")
        if external_id is not None and not (
            isinstance(external_id, str) and EXTERNAL_ID.match(external_id)
        ):
            errors.append(
                {
                    "location": "body.externalId",
                    "message": "must be 1–255 characters of [A-Za-z0-9_.-]",
                }
            )
        prefix = body.get("prefix")
        if prefix is not None and not (isinstance(prefix, str) and KEY_PREFIX.match(prefix)):
            errors.append(
                {"location": "body.prefix", "message": "must be 1–16 characters of [A-Za-z0-9_]"}
            )
        if errors:
            return unkey_error(400, "Bad Request", errors[0]["message"], errors)
        key = registry.create_key(
            external_id=external_id, prefix=prefix, name=body.get("name"), meta=body.get("meta")
        )
        if external_id is not None and (product := registry.product(external_id)) is not None:
            product.key_ids.append(key.key_id)
        return JSONResponse(
            {"meta": unkey_meta(), "data": {"keyId": key.key_id, "key": key.key}},
            headers=FAKE_HEADER,
        )

    async def verify_key(request: Request) -> Response:
        body, failure = await unkey_body(request)
        if failure is not None or body is None:
            return failure or unkey_error(400, "Bad Request", "no body")
        key = registry.find_key(str(body.get("key", "")))
        if key is None:
            data: dict[str, Any] = {"valid": False, "code": "NOT_FOUND"}
        else:
            data = {
                "valid": key.enabled,
                "code": "VALID" if key.enabled else "DISABLED",
                "keyId": key.key_id,
                "enabled": key.enabled,
            }
            if key.name:
                data["name"] = key.name
            if key.meta:
                data["meta"] = key.meta
            if key.external_id:
                data["identity"] = {"id": "id_" + key.key_id[4:], "externalId": key.external_id}
        return JSONResponse({"meta": unkey_meta(), "data": data}, headers=FAKE_HEADER)

    async def healthz(request: Request) -> Response:
        pushed = {
            pid: {"forward_url": p.url, "delivered": p.delivered, "failed": p.failed}
            for pid, p in emulator.pushers.items()
        }
        return JSONResponse(
            {"status": "ok", "fake": True, "products": len(registry.products), "push": pushed},
            headers=FAKE_HEADER,
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        emulator.loop = asyncio.get_running_loop()
        try:
            yield
        finally:
            emulator.stop()

    routes = [
        Route("/stream/{product_id}", stream, methods=["GET"]),
        Route("/products", products, methods=["POST"]),
        Route("/webhook/{product_id}", webhook, methods=["POST"]),
        Route("/v2/keys.createKey", create_key, methods=["POST"]),
        Route("/v2/keys.verifyKey", verify_key, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
