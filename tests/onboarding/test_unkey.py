"""Stream keys through the real Unkey SDK: one request per creation, errors translated."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from autoplay_cli.errors import (
    AuthError,
    AutoplayError,
    InputError,
    NotFoundError,
    ServiceUnavailableError,
)
from autoplay_cli.onboarding import create_stream_key, verify_key

UNKEY = "https://unkey.test"
ROOT_KEY = "unkey_root_0123456789abcdef"
META = {"meta": {"requestId": "req_1"}}


def create(**kw: object) -> object:
    args: dict[str, object] = {
        "root_key": ROOT_KEY,
        "api_id": "api_123",
        "product_id": "acme",
        "name": "acme stream key",
        "server_url": UNKEY,
        "timeout": 2.0,
    }
    return create_stream_key(**{**args, **kw})  # type: ignore[arg-type]


@respx.mock
def test_create_sends_one_request_with_the_product_as_external_id() -> None:
    route = respx.post(f"{UNKEY}/v2/keys.createKey").respond(
        200, json={**META, "data": {"keyId": "key_9", "key": "uk_live_newkey0123456789"}}
    )
    created = create()
    assert (created.key, created.key_id) == ("uk_live_newkey0123456789", "key_9")  # type: ignore[attr-defined]
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == f"Bearer {ROOT_KEY}"
    body = json.loads(sent.content)
    assert body["apiId"] == "api_123" and body["externalId"] == "acme"
    assert body["prefix"] == "uk_live" and body["name"] == "acme stream key"


@respx.mock
@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_creation_is_never_retried(status: int) -> None:
    route = respx.post(f"{UNKEY}/v2/keys.createKey").respond(status, text="down")
    with pytest.raises(ServiceUnavailableError) as info:
        create()
    assert route.call_count == 1
    assert "may have been created" in info.value.message and "externalId 'acme'" in (
        info.value.message
    )


@respx.mock
def test_connection_errors_are_not_retried_and_say_nothing_was_created() -> None:
    route = respx.post(f"{UNKEY}/v2/keys.createKey").mock(side_effect=httpx.ConnectError("no"))
    with pytest.raises(ServiceUnavailableError) as info:
        create()
    assert route.call_count == 1
    assert "cannot reach Unkey" in info.value.message
    assert "may have been created" not in info.value.message


@respx.mock
def test_a_timeout_may_have_created_the_key() -> None:
    respx.post(f"{UNKEY}/v2/keys.createKey").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ServiceUnavailableError, match="may have been created"):
        create()


@respx.mock
@pytest.mark.parametrize(
    ("status", "cls"), [(401, AuthError), (403, AuthError), (404, NotFoundError), (400, InputError)]
)
def test_client_errors(status: int, cls: type[AutoplayError]) -> None:
    respx.post(f"{UNKEY}/v2/keys.createKey").respond(
        status,
        json={
            **META,
            "error": {
                "title": "x",
                "detail": f"bad root key {ROOT_KEY}",
                "status": status,
                "type": "t",
            },
        },
    )
    with pytest.raises(cls) as info:
        create()
    assert type(info.value) is cls
    assert ROOT_KEY not in info.value.one_line()
    assert ROOT_KEY not in str(info.value.__cause__)
    assert "UnauthorizedErrorResponse" in str(info.value.__cause__) or status != 401


@respx.mock
def test_a_malformed_success_body_is_one_error() -> None:
    respx.post(f"{UNKEY}/v2/keys.createKey").respond(200, json={**META, "data": {"keyId": "k"}})
    with pytest.raises(AutoplayError, match="unexpected body"):
        create()


@respx.mock
def test_verify_reports_validity_and_code() -> None:
    route = respx.post(f"{UNKEY}/v2/keys.verifyKey").respond(
        200, json={**META, "data": {"valid": False, "code": "NOT_FOUND"}}
    )
    verdict = verify_key(root_key=ROOT_KEY, key="uk_live_somekey0123", server_url=UNKEY)
    assert (verdict.valid, verdict.code) == (False, "NOT_FOUND")
    assert json.loads(route.calls.last.request.content)["key"] == "uk_live_somekey0123"
    respx.post(f"{UNKEY}/v2/keys.verifyKey").respond(
        200,
        json={
            **META,
            "data": {
                "valid": True,
                "code": "VALID",
                "keyId": "key_1",
                "identity": {"id": "i", "externalId": "acme"},
            },
        },
    )
    verdict = verify_key(root_key=ROOT_KEY, key="uk_live_somekey0123", server_url=UNKEY)
    assert (verdict.valid, verdict.code, verdict.key_id, verdict.external_id) == (
        True,
        "VALID",
        "key_1",
        "acme",
    )


@respx.mock
def test_verify_failures_never_echo_the_key() -> None:
    key = "uk_live_checkedkey0123"
    respx.post(f"{UNKEY}/v2/keys.verifyKey").respond(503, text=f"cannot check {key}")
    with pytest.raises(ServiceUnavailableError) as info:
        verify_key(root_key=ROOT_KEY, key=key, server_url=UNKEY)
    assert key not in info.value.one_line() and key not in str(info.value.__cause__)
