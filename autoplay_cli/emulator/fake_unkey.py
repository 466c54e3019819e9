"""A FAKE of Unkey's key API, for offline tests only: ``keys.createKey`` and ``keys.verifyKey``.

Only what onboarding and doctor use, shaped as unkey.py 3.x expects. Keys live in the
emulator's registry, shared with ``POST /products``, so a key from either path streams
its product.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from autoplay_cli.documents import decode_body
from autoplay_cli.emulator.options import EXTERNAL_ID
from autoplay_cli.emulator.registry import KEY_PREFIX
from autoplay_cli.emulator.web import (
    FAKE_HEADER,
    MAX_BODY_BYTES,
    bearer,
    delay,
    emulator_of,
    read_capped,
    same,
)
from autoplay_cli.errors import InputError


def _meta() -> dict[str, str]:
    return {"requestId": "req_fake_" + secrets.token_hex(8)}


def unkey_error(
    status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> JSONResponse:
    """Unkey's error body: ``{"meta": …, "error": {title, detail, status, type[, errors]}}``."""
    error: dict[str, Any] = {
        "title": title,
        "detail": detail,
        "status": status,
        "type": f"https://unkey.com/docs/errors/fake/{title.lower()}",
    }
    if errors is not None:
        error["errors"] = errors
    return JSONResponse({"meta": _meta(), "error": error}, status_code=status, headers=FAKE_HEADER)


async def _body(request: Request) -> dict[str, Any] | Response:
    """The JSON object of an authorised request, or the error response to send instead."""
    emulator = emulator_of(request)
    await delay(emulator)
    if not same(bearer(request), emulator.options.unkey_root_key):
        return unkey_error(401, "Unauthorized", "the root key is missing or invalid")
    raw = await read_capped(request)
    if raw is None:
        return unkey_error(413, "Payload Too Large", f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        body = decode_body(raw)
    except InputError:
        body = None
    if not isinstance(body, dict):
        return unkey_error(
            400,
            "Bad Request",
            "the body must be a JSON object",
            [{"location": "body", "message": "not a JSON object"}],
        )
    return body


async def create_key(request: Request) -> Response:
    """``POST /v2/keys.createKey``: a new key, attached to its product when one has that id."""
    body = await _body(request)
    if isinstance(body, Response):
        return body
    emulator = emulator_of(request)
    registry = emulator.registry
    if body.get("apiId") != emulator.options.unkey_api_id:
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
        {"meta": _meta(), "data": {"keyId": key.key_id, "key": key.key}}, headers=FAKE_HEADER
    )


async def verify_key(request: Request) -> Response:
    """``POST /v2/keys.verifyKey``: whether a key exists and is enabled, and whose it is."""
    body = await _body(request)
    if isinstance(body, Response):
        return body
    key = emulator_of(request).registry.find_key(str(body.get("key", "")))
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
    return JSONResponse({"meta": _meta(), "data": data}, headers=FAKE_HEADER)


ROUTES = [
    Route("/v2/keys.createKey", create_key, methods=["POST"]),
    Route("/v2/keys.verifyKey", verify_key, methods=["POST"]),
]
