"""POST /products and the fake Unkey over real HTTP; the fake is driven by the real unkey.py SDK."""

from __future__ import annotations

import fnmatch
import socket
from typing import Any

import httpx
import pytest
from unkey.py import Unkey, errors

from autoplay_cli.wire import parse_event

FAST = {"rate": 0, "heartbeat_s": 0.2, "keepalive_s": 0.1, "max_events": 3}


def body(**changes: Any) -> dict[str, Any]:
    return {
        "product_id": "acme",
        "contact_email": "ops@acme.example",
        "webhook_secret": "whsec_" + "x" * 26,
        "integration_type": "event_stream",
        **changes,
    }


def test_register_then_stream_with_the_new_key(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST)
    r = httpx.post(f"{emu.url}/products", json=body())
    assert r.status_code == 201
    got = r.json()
    assert got["product_id"] == "acme" and got["dual_write"] is False
    assert got["webhook_secret"] == body()["webhook_secret"]
    assert got["unkey_key"].startswith("uk_local_") and got["unkey_key_id"].startswith("key_")
    assert got["stream_url"] == f"{emu.url}/stream/acme"
    assert got["webhook_url"] == f"{emu.url}/webhook/acme"
    read = sse(f"{emu.url}/stream/acme", got["unkey_key"], stop_after=3)
    assert read.status == 200 and len(read.data_frames()) == 3
    assert all('"product_id":"acme"' in f.text for f in read.data_frames())
    # The emulator's default key does not open another product's stream.
    assert sse(f"{emu.url}/stream/acme", emu.token).status == 403


def test_duplicate_is_409_unless_reregistration_is_requested(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**FAST)
    first = httpx.post(f"{emu.url}/products", json=body()).json()
    r = httpx.post(f"{emu.url}/products", json=body())
    assert r.status_code == 409
    assert r.json()["error"] == "conflict" and "force_reregister" in r.json()["hint"]
    again = httpx.post(f"{emu.url}/products", json=body(force_reregister=True))
    assert again.status_code == 201 and again.json()["reregistered"] is True
    assert again.json()["unkey_key"] != first["unkey_key"]
    assert sse(f"{emu.url}/stream/acme", first["unkey_key"]).status == 401  # old key revoked
    via_query = httpx.post(f"{emu.url}/products?force_reregister=true", json=body())
    assert via_query.status_code == 201


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"product_id": "has space"}, "product_id"),
        ({"product_id": ""}, "product_id"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"webhook_secret": "short"}, "webhook_secret"),
        ({"integration_type": "carrier_pigeon"}, "integration_type"),
        ({"integration_type": "push"}, "forward_url"),
        (
            {"integration_type": "push", "forward_url": "ftp://x", "forward_secret": "s"},
            "forward_url",
        ),
        ({"integration_config": [1]}, "integration_config"),
        ({"force_reregister": "yes"}, "force_reregister"),
    ],
)
def test_bad_fields_are_422_with_details(
    make_emulator: Any, changes: dict[str, Any], field: str
) -> None:
    emu = make_emulator(**FAST)
    r = httpx.post(f"{emu.url}/products", json=body(**changes))
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error"
    assert field in [d["field"] for d in r.json()["details"]]
    assert r.json()["message"].startswith(r.json()["details"][0]["field"])


def test_reregistering_the_default_product_revokes_its_default_key(
    make_emulator: Any, sse: Any
) -> None:
    emu = make_emulator(**FAST)
    r = httpx.post(
        f"{emu.url}/products", json=body(product_id=emu.product_id, force_reregister=True)
    )
    assert r.status_code == 201
    assert sse(emu.stream_url, emu.token).status == 401
    assert sse(emu.stream_url, r.json()["unkey_key"], stop_after=1).status == 200


def test_push_integration_with_its_fields_is_accepted(make_emulator: Any) -> None:
    emu = make_emulator(**FAST)
    r = httpx.post(
        f"{emu.url}/products",
        json=body(
            integration_type="push", forward_url="http://127.0.0.1:9/hook", forward_secret="s3"
        ),
    )
    assert r.status_code == 201 and r.json()["integration_type"] == "push"


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"[" * 100_000])
def test_non_object_body_is_400(make_emulator: Any, content: bytes) -> None:
    emu = make_emulator(**FAST)
    r = httpx.post(
        f"{emu.url}/products", content=content, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"] in ("invalid_json", "validation_error")


def test_admin_key_when_configured(make_emulator: Any) -> None:
    emu = make_emulator(**FAST, admin_key="adm_" + "k" * 20)
    assert httpx.post(f"{emu.url}/products", json=body()).status_code == 401
    r = httpx.post(f"{emu.url}/products", json=body(), headers={"X-Admin-Key": "adm_" + "k" * 20})
    assert r.status_code == 201


def test_options_dual_write_and_no_server_side_key(make_emulator: Any) -> None:
    emu = make_emulator(**FAST, create_keys=False, dual_write=True)
    got = httpx.post(f"{emu.url}/products", json=body()).json()
    assert "unkey_key" not in got and got["dual_write"] is True


# --- the FAKE Unkey, driven by the real unkey.py SDK -------------------------------------


def sdk(emu: Any, root_key: str | None = None) -> Unkey:
    return Unkey(root_key=root_key or emu.unkey_root_key, server_url=emu.unkey_url)


def test_sdk_creates_a_key_that_streams_the_registered_product(
    make_emulator: Any, sse: Any
) -> None:
    emu = make_emulator(**FAST, create_keys=False)
    assert httpx.post(f"{emu.url}/products", json=body()).status_code == 201
    with sdk(emu) as client:
        res = client.keys.create_key(
            api_id=emu.unkey_api_id,
            external_id="acme",
            name="acme stream",
            prefix="uk_live",
            retries=None,
        )
        key, key_id = res.data.key, res.data.key_id
        assert key.startswith("uk_live_") and key_id.startswith("key_")
        assert res.meta.request_id.startswith("req_fake_")
        verified = client.keys.verify_key(key=key)
        assert verified.data.valid is True and verified.data.code == "VALID"
        assert verified.data.key_id == key_id
        assert verified.data.identity is not None
        assert verified.data.identity.external_id == "acme"
        missing = client.keys.verify_key(key="uk_live_nope")
        assert missing.data.valid is False and missing.data.code == "NOT_FOUND"
    read = sse(f"{emu.url}/stream/acme", key, stop_after=3)
    assert read.status == 200 and len(read.data_frames()) == 3


def test_sdk_sees_the_emulators_default_key_as_valid(make_emulator: Any) -> None:
    emu = make_emulator(**FAST)
    with sdk(emu) as client:
        data = client.keys.verify_key(key=emu.token).data
    assert data.valid and data.identity is not None and data.identity.external_id == "demo"


def test_sdk_errors_for_wrong_root_key_bad_input_and_unknown_api(make_emulator: Any) -> None:
    emu = make_emulator(**FAST)
    with (
        sdk(emu, root_key="unkey_wrong") as client,
        pytest.raises(errors.UnauthorizedErrorResponse),
    ):
        client.keys.create_key(api_id=emu.unkey_api_id, external_id="acme")
    with sdk(emu) as client:
        with pytest.raises(errors.BadRequestErrorResponse) as bad:
            client.keys.create_key(
                api_id=emu.unkey_api_id, external_id="acme", prefix="has-dash-and-too-long"
            )
        assert bad.value.data.error.errors[0].location == "body.prefix"
        with pytest.raises(errors.BadRequestErrorResponse):
            client.keys.create_key(api_id=emu.unkey_api_id, external_id="no spaces")
        with pytest.raises(errors.NotFoundErrorResponse):
            client.keys.create_key(api_id="api_other", external_id="acme")


# --- the ingest webhook ------------------------------------------------------------------


def pageview(session: str, url: str = "https://app.example/projects/12") -> dict[str, Any]:
    return {
        "event": "$pageview",
        "distinct_id": "usr_1",
        "timestamp": "2027-01-15T08:00:00Z",
        "properties": {"$session_id": session, "$current_url": url},
    }


def test_webhook_events_reach_the_stream_as_actions_batches(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**{**FAST, "max_events": 0})  # no synthetic traffic: only what we post
    hook = {"X-PostHog-Secret": emu.webhook_secret}
    first = httpx.post(emu.webhook_url, json={"event": pageview("s1"), "person": {}}, headers=hook)
    assert first.status_code == 202
    assert first.json() == {"accepted": 1, "batches": 1, "event_ids": ["1"]}
    second = httpx.post(
        emu.webhook_url,
        json=[pageview("s1", "https://app.example/billing"), pageview("s2")],
        headers=hook,
    )
    assert second.json() == {"accepted": 2, "batches": 2, "event_ids": ["2", "3"]}
    read = sse(emu.stream_url, emu.token, last_event_id="0", stop_after=3)
    events = [parse_event(f.event, f.text, f.id) for f in read.data_frames()]
    assert [e.id for e in events] == ["1", "2", "3"]
    batches = [e.payload for e in events]
    assert [(b.session_id, [a.index for a in b.actions]) for b in batches] == [
        ("s1", [0]),
        ("s1", [1]),
        ("s2", [0]),
    ]
    # One form whatever the source, so `tail --url '/projects*'` matches posted events too.
    assert batches[1].actions[0].canonical_url == "/billing"
    assert batches[0].actions[0].canonical_url == "/projects/:id"
    assert fnmatch.fnmatchcase(batches[0].actions[0].canonical_url, "/projects*")


def test_webhook_of_a_registered_product_uses_its_secret(make_emulator: Any, sse: Any) -> None:
    emu = make_emulator(**{**FAST, "max_events": 0})
    got = httpx.post(f"{emu.url}/products", json=body()).json()
    url = got["webhook_url"]
    wrong = httpx.post(url, json=pageview("s9"), headers={"X-PostHog-Secret": emu.webhook_secret})
    assert wrong.status_code == 401  # the default product's secret is not acme's
    ok = httpx.post(url, json=pageview("s9"), headers={"X-PostHog-Secret": got["webhook_secret"]})
    assert ok.status_code == 202
    read = sse(got["stream_url"], got["unkey_key"], last_event_id="0", stop_after=1)
    assert '"session_id":"s9"' in read.data_frames()[0].text


@pytest.mark.parametrize(
    ("product", "secret", "content", "status", "error"),
    [
        ("nope", "RIGHT", b"{}", 404, "not_found"),
        (None, None, b"{}", 401, "unauthorized"),
        (None, "whsec_wrong_wrong_wrong", b"{}", 401, "unauthorized"),
        (None, "RIGHT", b"{not json", 400, "invalid_body"),
        (None, "RIGHT", b"[" * 100_000, 400, "invalid_body"),
        (None, "RIGHT", b'{"distinct_id": "u"}', 400, "invalid_body"),
        (None, "RIGHT", b"[" + b" " * (1 << 20) + b"]", 413, "too_large"),
    ],
)
def test_webhook_rejections(
    make_emulator: Any,
    sse: Any,
    product: str | None,
    secret: str | None,
    content: bytes,
    status: int,
    error: str,
) -> None:
    emu = make_emulator(**{**FAST, "max_events": 0})
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-PostHog-Secret"] = emu.webhook_secret if secret == "RIGHT" else secret
    r = httpx.post(
        f"{emu.url}/webhook/{product or emu.product_id}", content=content, headers=headers
    )
    assert r.status_code == status
    assert r.json()["error"] == error
    assert emu.webhook_secret not in r.text
    # Nothing reached the stream: the first event posted next gets id 1.
    ok = httpx.post(
        emu.webhook_url, json=pageview("s1"), headers={"X-PostHog-Secret": emu.webhook_secret}
    )
    assert ok.json()["event_ids"] == ["1"]


def test_webhook_refuses_an_oversize_chunked_body(make_emulator: Any) -> None:
    emu = make_emulator(**{**FAST, "max_events": 0})

    def chunks() -> Any:  # no Content-Length: the size is only known once read
        yield b"["
        for _ in range(1100):
            yield b" " * 1024
        yield b"]"

    r = httpx.post(
        emu.webhook_url, content=chunks(), headers={"X-PostHog-Secret": emu.webhook_secret}
    )
    assert r.status_code == 413 and r.json()["error"] == "too_large"


def _declared_oversize(url: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send only the headers of a 300 MB request; the answer must come without the body."""
    parsed = httpx.URL(url)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {parsed.host}:{parsed.port}",
        "Content-Type: application/json",
        "Content-Length: 300000000",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection((parsed.host, parsed.port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)  # a server waiting for the body times out here
            if not chunk:
                break
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


@pytest.mark.parametrize("path", ["/products", "/webhook/demo", "/v2/keys.createKey"])
def test_a_declared_oversize_body_is_413_before_it_is_read(make_emulator: Any, path: str) -> None:
    emu = make_emulator(**{**FAST, "max_events": 0})
    headers = {
        "X-PostHog-Secret": emu.webhook_secret,
        "Authorization": f"Bearer {emu.unkey_root_key}",
    }
    status, payload = _declared_oversize(emu.url, path, headers)
    assert status == 413
    assert b"over 1048576 bytes" in payload


@pytest.mark.parametrize("path", ["/products", "/v2/keys.verifyKey"])
def test_a_chunked_oversize_body_is_413(make_emulator: Any, path: str) -> None:
    emu = make_emulator(**{**FAST, "max_events": 0})

    def chunks() -> Any:  # no Content-Length: the size is only known once read
        yield b'{"product_id": "p", "x": "'
        for _ in range(1100):
            yield b"a" * 1024
        yield b'"}'

    r = httpx.post(
        emu.url + path, content=chunks(), headers={"Authorization": f"Bearer {emu.unkey_root_key}"}
    )
    assert r.status_code == 413
    assert "over 1048576 bytes" in r.text
    # The emulator still answers normally afterwards.
    assert httpx.post(emu.url + "/products", json=body()).status_code == 201
