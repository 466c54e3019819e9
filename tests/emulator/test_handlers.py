"""Each emulator handler alone: mounted by itself on a bare Starlette app with the state it reads.

The full app is covered over real HTTP elsewhere; these pin that a handler needs nothing
but ``request.app.state.emulator`` (no closure over ``build_app``), through the ASGI
interface in process.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from autoplay_cli.emulator import app as connector
from autoplay_cli.emulator import fake_unkey
from autoplay_cli.emulator.app_state import Emulator
from autoplay_cli.emulator.options import EmulatorOptions

OPTIONS = EmulatorOptions(max_events=0, unkey_root_key="unkey_fake_root_key_for_tests")


def alone(path: str, handler: Any, method: str, **kw: Any) -> tuple[Emulator, httpx.Response]:
    emulator = Emulator(OPTIONS)
    bare = Starlette(routes=[Route(path, handler, methods=[method])])
    bare.state.emulator = emulator

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=bare)
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as client:
            return await client.request(method, path.replace("{product_id}", "demo"), **kw)

    return emulator, asyncio.run(go())


def test_products_alone_registers_into_the_state_it_reads() -> None:
    body = {"product_id": "acme", "contact_email": "a@b.example", "webhook_secret": "w" * 20}
    emulator, r = alone("/products", connector.products, "POST", json=body)
    assert r.status_code == 201 and r.json()["stream_url"] == "http://emu/stream/acme"
    assert emulator.registry.product("acme") is not None


def test_webhook_alone_checks_the_secret_of_the_state_it_reads() -> None:
    _, r = alone(
        "/webhook/{product_id}",
        connector.webhook,
        "POST",
        json={},
        headers={"X-PostHog-Secret": "x"},
    )
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_healthz_alone() -> None:
    _, r = alone("/healthz", connector.healthz, "GET")
    assert r.json() == {"status": "ok", "fake": True, "products": 1, "push": {}}


def test_fake_unkey_alone_creates_a_key_in_the_shared_registry() -> None:
    emulator, r = alone(
        "/v2/keys.createKey",
        fake_unkey.create_key,
        "POST",
        json={"apiId": OPTIONS.unkey_api_id, "externalId": "demo"},
        headers={"Authorization": f"Bearer {OPTIONS.unkey_root_key}"},
    )
    assert r.status_code == 200
    key = emulator.registry.find_key(r.json()["data"]["key"])
    assert key is not None and key.external_id == "demo"
    assert key.key_id in emulator.registry.products["demo"].key_ids


def test_fake_unkey_alone_refuses_a_wrong_root_key() -> None:
    _, r = alone(
        "/v2/keys.verifyKey",
        fake_unkey.verify_key,
        "POST",
        json={"key": OPTIONS.token},
        headers={"Authorization": "Bearer wrong"},
    )
    assert r.status_code == 401 and r.json()["error"]["title"] == "Unauthorized"
