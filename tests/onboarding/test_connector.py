"""The registration client against HTTP edge cases a real connector can't produce on demand."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.errors import (
    EXIT_FAILURE,
    AuthError,
    AutoplayError,
    ConflictError,
    InputError,
    NotFoundError,
    ServiceUnavailableError,
)
from autoplay_cli.onboarding import RegistrationRequest, register_product
from autoplay_cli.onboarding._connector import connector_message, stream_url, webhook_url

BASE = "https://connector.test"
WEBHOOK_SECRET = "whsec-9f8e7d6c5b4a39281706"
ADMIN_KEY = "admin-key-5a4b3c2d1e0f"
REQ = RegistrationRequest(
    product_id="acme", contact_email="ops@acme.io", webhook_secret=WEBHOOK_SECRET
)


def register(**kw: Any) -> Any:
    return register_product(BASE, kw.pop("request", REQ), admin_key=ADMIN_KEY, timeout=2.0, **kw)


@respx.mock
def test_201_with_a_server_side_key() -> None:
    route = respx.post(f"{BASE}/products").respond(
        201,
        json={
            "unkey_key": "uk_live_abcdefghijklmnop",
            "unkey_key_id": "key_123",
            "webhook_secret": WEBHOOK_SECRET,
            "dual_write": True,
            "extra": "ignored",
        },
    )
    reg = register_product(BASE + "/", REQ, admin_key=ADMIN_KEY, timeout=2.0)
    assert (reg.status_code, reg.stream_key, reg.stream_key_id, reg.dual_write) == (
        201,
        "uk_live_abcdefghijklmnop",
        "key_123",
        True,
    )
    sent = route.calls.last.request
    assert sent.headers["X-Admin-Key"] == ADMIN_KEY
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.content) == {
        "product_id": "acme",
        "contact_email": "ops@acme.io",
        "webhook_secret": WEBHOOK_SECRET,
        "integration_type": "event_stream",
    }


@respx.mock
def test_force_reregister_and_push_fields_are_sent_only_when_set() -> None:
    route = respx.post(f"{BASE}/products").respond(201, json={})
    req = RegistrationRequest(
        product_id="acme",
        contact_email="ops@acme.io",
        webhook_secret=WEBHOOK_SECRET,
        integration_type="push",
        forward_url="https://hooks.acme.io/in",
        forward_secret="fwd-secret-0123456789",
        force_reregister=True,
    )
    register_product(BASE, req, timeout=2.0)
    body = json.loads(route.calls.last.request.content)
    assert body["force_reregister"] is True
    assert body["forward_url"] == "https://hooks.acme.io/in"
    assert body["forward_secret"] == "fwd-secret-0123456789"
    assert "X-Admin-Key" not in route.calls.last.request.headers
    masked = req.masked_body()
    assert WEBHOOK_SECRET not in json.dumps(masked) and "fwd-secret-0123456789" not in json.dumps(
        masked
    )


@respx.mock
@pytest.mark.parametrize("body", [b"", b"{}", b'{"unkey_key": null, "dual_write": null}'])
def test_201_without_a_key_leaves_it_to_the_caller(body: bytes) -> None:
    respx.post(f"{BASE}/products").respond(201, content=body)
    reg = register()
    assert reg.stream_key is None and reg.webhook_secret is None  # type: ignore[attr-defined]


@respx.mock
@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b'["uk_live_secretsecret"]', "not an object"),
        (b'{"unkey_key": 12345678901234567}', "'unkey_key'"),
        (b'{"unkey_key": {"v": "uk_live_secretsecret"}}', "'unkey_key'"),
        (b'{"dual_write": "yes"}', "'dual_write' (expected true or false or null, got a string)"),
        (b'{"unkey_key": 12345678901234567}', "(expected a string or null, got a whole number)"),
        (b"[" * 100_000, "not JSON"),  # nested deeper than the parser goes
    ],
)
def test_malformed_success_bodies_are_one_clear_error(body: bytes, needle: str) -> None:
    respx.post(f"{BASE}/products").respond(201, content=body)
    with pytest.raises(AutoplayError) as info:
        register()
    err = info.value
    assert err.exit_code == EXIT_FAILURE
    assert needle in err.message and "`force_reregister`" in (err.hint or "")
    assert "secretsecret" not in err.one_line() and "12345678901234567" not in err.one_line()


@respx.mock
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (409, ConflictError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (400, InputError),
        (422, InputError),
        (500, ServiceUnavailableError),
        (503, ServiceUnavailableError),
        (418, AutoplayError),
    ],
)
def test_error_statuses_map_to_the_error_tree_and_are_not_retried(
    status: int, cls: type[AutoplayError]
) -> None:
    route = respx.post(f"{BASE}/products").respond(
        status, json={"detail": f"nope, and your secret is {WEBHOOK_SECRET} / {ADMIN_KEY}"}
    )
    with pytest.raises(cls) as info:
        register()
    assert type(info.value) is cls
    line = info.value.one_line()
    assert f"HTTP {status}" in line and "nope" in line
    assert WEBHOOK_SECRET not in line and ADMIN_KEY not in line
    assert route.call_count == 1


@respx.mock
def test_409_points_at_force_reregister() -> None:
    respx.post(f"{BASE}/products").respond(409, json={"error": {"message": "exists"}})
    with pytest.raises(ConflictError) as info:
        register()
    assert "already registered" in info.value.message and "says: exists" in info.value.message
    assert "`force_reregister`" in (info.value.hint or "")


def test_connector_message_forms() -> None:
    def msg(**kw: object) -> str:
        return connector_message(httpx.Response(400, **kw), [WEBHOOK_SECRET])  # type: ignore[arg-type]

    assert msg(json={"detail": [{"loc": ["body", "x"], "msg": "bad email"}, "other"]}) == (
        "bad email; other"
    )
    assert msg(json={"message": "plain"}) == "plain"
    assert msg(text="  multi\n line\ttext ") == "multi line text"
    assert msg(text=f"echo {WEBHOOK_SECRET}") == "echo whs…1706"
    assert len(msg(text="x" * 5000)) <= 301
    assert msg(content=b"\xff\xfe") == msg(content=b"\xff\xfe")  # undecodable: no crash


@respx.mock
@pytest.mark.parametrize(
    ("exc", "needle"),
    [
        (httpx.ConnectTimeout("t"), "nothing was sent"),
        (httpx.ReadTimeout("t"), "may or may not be registered"),
        (httpx.ConnectError("refused"), "cannot reach"),
        (httpx.RemoteProtocolError("peer closed"), "cannot reach"),
    ],
)
def test_network_failures(exc: Exception, needle: str) -> None:
    respx.post(f"{BASE}/products").mock(side_effect=exc)
    with pytest.raises(ServiceUnavailableError) as info:
        register()
    assert needle in info.value.one_line()


def test_a_closed_port_is_unreachable(closed_url: str) -> None:
    with pytest.raises(ServiceUnavailableError, match="cannot reach the connector"):
        register_product(closed_url, REQ, timeout=2.0)


def test_derived_urls() -> None:
    assert stream_url("https://c.io/", "acme") == "https://c.io/stream/acme"
    assert webhook_url("https://c.io", "acme") == "https://c.io/webhook/acme"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.just(WEBHOOK_SECRET),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["unkey_key", "unkey_key_id", "webhook_secret", "dual_write", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(status=st.sampled_from([200, 201, 400, 409, 422, 500, 503]), body=_json)
def test_any_answer_is_a_registration_or_one_clean_error(status: int, body: object) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    try:
        reg = register_product(BASE, REQ, admin_key=ADMIN_KEY, transport=transport)
    except AutoplayError as exc:
        assert WEBHOOK_SECRET not in exc.one_line() and ADMIN_KEY not in exc.one_line()
        assert "\n" not in exc.one_line()
    else:
        assert status < 300 and (isinstance(body, dict) or body is None)  # None: empty body
        assert reg.stream_key is None or isinstance(reg.stream_key, str)
        assert reg.dual_write in (None, True, False)
