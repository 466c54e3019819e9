"""The onboarding flow: validation before I/O, the key policy, and the hand-over."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import respx

from autoplay_cli import settings as config
from autoplay_cli.errors import (
    AutoplayError,
    ConfigError,
    ConflictError,
    ServiceUnavailableError,
    UsageError,
)
from autoplay_cli.onboarding import OnboardOptions, onboard, prepare

BASE = "https://connector.test"
UNKEY = "https://unkey.test"
ROOT_KEY = "unkey_root_0123456789abcdef"
CONNECTOR_KEY = "uk_live_fromconnector0123456"
UNKEY_KEY = "uk_live_fromunkey0123456789"
UNKEY_OK = {"meta": {"requestId": "r"}, "data": {"keyId": "key_u1", "key": UNKEY_KEY}}


def options(**kw: Any) -> OnboardOptions:
    base: dict[str, Any] = {
        "connector_url": BASE,
        "product_id": "acme",
        "contact_email": "ops@acme.io",
        "unkey_root_key": ROOT_KEY,
        "unkey_api_id": "api_1",
        "unkey_server_url": UNKEY,
        "timeout": 2.0,
    }
    return OnboardOptions(**{**base, **kw})


@pytest.fixture
def mocked() -> Any:
    with respx.mock(assert_all_called=False) as router:
        yield router


def test_prepare_generates_a_fresh_webhook_secret_unless_given() -> None:
    a, b = prepare(options()), prepare(options())
    assert a.request.webhook_secret != b.request.webhook_secret
    given = "given-secret-0123456789"
    assert prepare(options(webhook_secret=given)).request.webhook_secret == given


@pytest.mark.parametrize(
    ("kw", "cls", "needle"),
    [
        ({"product_id": "bad id"}, UsageError, "product id"),
        ({"contact_email": "nope"}, UsageError, "email"),
        ({"connector_url": "ftp://x"}, UsageError, "connector URL"),
        ({"integration_type": "fax"}, UsageError, "integration type"),
        ({"integration_type": "push"}, UsageError, "`forward_url`"),
        ({"forward_url": "https://h.io/in"}, UsageError, "do not apply"),
        ({"webhook_secret": "weak"}, UsageError, "webhook secret"),
        ({"key_prefix": "bad-prefix"}, UsageError, "prefix"),
        ({"timeout": 0}, UsageError, "timeout"),
        ({"create_key": True, "unkey_root_key": None}, ConfigError, "`create_key`"),
        ({"save_profile": "bad name"}, UsageError, "profile"),
        ({"admin_key": "admin-key\n0123456789"}, UsageError, "admin key"),
        ({"admin_key": "admin-kéy-0123456789"}, UsageError, "admin key"),
        ({"unkey_root_key": "unkey root 0123456789"}, UsageError, "Unkey root key"),
        ({"unkey_api_id": "api 1"}, UsageError, "Unkey API id"),
    ],
)
def test_every_input_is_validated_before_any_request(
    mocked: Any, kw: dict[str, Any], cls: type[AutoplayError], needle: str
) -> None:
    route = mocked.post(f"{BASE}/products").respond(201, json={})
    with pytest.raises(cls) as info:
        onboard(prepare(options(**kw)))
    assert needle in info.value.one_line()
    assert route.call_count == 0


def test_an_existing_env_file_fails_before_registering(mocked: Any, tmp_path: Path) -> None:
    route = mocked.post(f"{BASE}/products").respond(201, json={})
    target = tmp_path / "acme.env"
    target.write_text("keep me\n")
    with pytest.raises(UsageError, match="refusing to overwrite"):
        onboard(prepare(options(env_file=target)))
    assert route.call_count == 0 and target.read_text() == "keep me\n"


def test_a_malformed_config_file_fails_before_registering(mocked: Any) -> None:
    route = mocked.post(f"{BASE}/products").respond(201, json={})
    config.config_path().parent.mkdir(parents=True, exist_ok=True)
    config.config_path().write_text("not [toml\n")
    with pytest.raises(ConfigError):
        onboard(prepare(options(save_profile="acme")))
    assert route.call_count == 0


def test_push_sends_the_forward_fields_and_generates_the_forward_secret(mocked: Any) -> None:
    route = mocked.post(f"{BASE}/products").respond(201, json={"unkey_key": CONNECTOR_KEY})
    result = onboard(prepare(options(integration_type="push", forward_url="https://h.io/in/")))
    body = json.loads(route.calls.last.request.content)
    assert body["integration_type"] == "push" and body["forward_url"] == "https://h.io/in"
    assert body["forward_secret"] == result.forward_secret and len(result.forward_secret or "") > 40


def test_a_key_from_the_connector_means_unkey_is_never_called(mocked: Any) -> None:
    mocked.post(f"{BASE}/products").respond(
        201, json={"unkey_key": CONNECTOR_KEY, "unkey_key_id": "key_c1", "dual_write": False}
    )
    unkey = mocked.post(f"{UNKEY}/v2/keys.createKey").respond(200, json=UNKEY_OK)
    result = onboard(prepare(options(create_key=True, force_reregister=True)))
    assert (result.stream_key, result.stream_key_id, result.key_source) == (
        CONNECTOR_KEY,
        "key_c1",
        "connector",
    )
    assert result.error is None and unkey.call_count == 0
    assert any("`create_key` was not needed" in n for n in result.notes)
    assert result.stream_url == f"{BASE}/stream/acme"
    assert result.webhook_url == f"{BASE}/webhook/acme"


def test_first_registration_without_a_connector_key_creates_exactly_one(mocked: Any) -> None:
    mocked.post(f"{BASE}/products").respond(201, json={})
    unkey = mocked.post(f"{UNKEY}/v2/keys.createKey").respond(200, json=UNKEY_OK)
    result = onboard(prepare(options(key_name="acme key", key_prefix="acme")))
    assert (result.stream_key, result.key_source) == (UNKEY_KEY, "unkey")
    assert unkey.call_count == 1
    sent = json.loads(unkey.calls.last.request.content)
    assert (sent["externalId"], sent["name"], sent["prefix"]) == ("acme", "acme key", "acme")


def test_reregistering_never_mints_a_key_unless_asked(mocked: Any) -> None:
    products = mocked.post(f"{BASE}/products").respond(201, json={})
    unkey = mocked.post(f"{UNKEY}/v2/keys.createKey").respond(200, json=UNKEY_OK)
    result = onboard(prepare(options(force_reregister=True)))
    assert json.loads(products.calls.last.request.content)["force_reregister"] is True
    assert result.stream_key is None and result.error is None and unkey.call_count == 0
    assert any("`create_key`" in n for n in result.notes)
    result = onboard(prepare(options(force_reregister=True, create_key=True)))
    assert result.stream_key == UNKEY_KEY and unkey.call_count == 1


def test_409_stops_before_unkey(mocked: Any) -> None:
    mocked.post(f"{BASE}/products").respond(409, json={"message": "already there"})
    unkey = mocked.post(f"{UNKEY}/v2/keys.createKey").respond(200, json=UNKEY_OK)
    with pytest.raises(ConflictError):
        onboard(prepare(options()))
    assert unkey.call_count == 0


def source(path: Path) -> dict[str, str]:
    """The variables a shell sees after `source path`."""
    out = subprocess.run(
        ["bash", "-c", f'set -e; source "{path}"; env -0'], env={}, capture_output=True, check=True
    ).stdout
    pairs = (item.split(b"=", 1) for item in out.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode() for k, v in pairs}


def test_env_file_is_private_and_sourceable(mocked: Any, tmp_path: Path) -> None:
    mocked.post(f"{BASE}/products").respond(201, json={"unkey_key": "uk_live_it's $HOME `x`"})
    target = tmp_path / "nested" / "acme.env"
    result = onboard(prepare(options(env_file=target)))
    assert result.env_file == str(target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    env = source(target)
    assert env["AUTOPLAY_CONNECTOR_URL"] == BASE
    assert env["AUTOPLAY_PRODUCT_ID"] == "acme"
    assert env["AUTOPLAY_TOKEN"] == "uk_live_it's $HOME `x`"
    assert env["AUTOPLAY_WEBHOOK_SECRET"] == result.webhook_secret


def test_env_file_overwrite_needs_force(mocked: Any, tmp_path: Path) -> None:
    mocked.post(f"{BASE}/products").respond(201, json={"unkey_key": CONNECTOR_KEY})
    target = tmp_path / "acme.env"
    target.write_text("old\n")
    onboard(prepare(options(env_file=target, force=True)))
    assert CONNECTOR_KEY in target.read_text()


def test_an_existing_profile_is_refused_before_registering_unless_forced(mocked: Any) -> None:
    route = mocked.post(f"{BASE}/products").respond(201, json={})
    config.set_value("token", "uk_live_previous_product", profile="acme")
    with pytest.raises(UsageError, match="refusing to overwrite"):
        onboard(prepare(options(save_profile="acme")))
    assert route.call_count == 0
    result = onboard(prepare(options(save_profile="acme", force=True, unkey_root_key=None)))
    assert result.profile == "acme" and result.stream_key is None
    assert result.error is not None and "`force`" in (result.error.hint or "")
    # the previous product's key is gone, not paired with the new product
    assert config.load_profiles(config.config_path())["acme"] == {
        "connector_url": BASE,
        "product_id": "acme",
    }


def test_save_profile_makes_the_settings_resolve(mocked: Any) -> None:
    mocked.post(f"{BASE}/products").respond(201, json={"unkey_key": CONNECTOR_KEY})
    result = onboard(prepare(options(save_profile="acme")))
    assert result.profile == "acme"
    settings = config.resolve(profile="acme")
    assert (settings.get("connector_url"), settings.get("product_id"), settings.get("token")) == (
        BASE,
        "acme",
        CONNECTOR_KEY,
    )
    assert stat.S_IMODE(os.stat(config.config_path()).st_mode) == 0o600


def test_no_unkey_credentials_after_201_keeps_what_was_obtained(
    mocked: Any, tmp_path: Path
) -> None:
    mocked.post(f"{BASE}/products").respond(201, json={})
    target = tmp_path / "acme.env"
    result = onboard(prepare(options(unkey_root_key=None, unkey_api_id=None, env_file=target)))
    assert isinstance(result.error, ConfigError)
    assert "is registered" in result.error.message
    assert "`force_reregister` `create_key` `force`" in (result.error.hint or "")
    text = target.read_text()
    assert result.webhook_secret in text and "# AUTOPLAY_TOKEN is not set" in text


def test_unkey_failure_after_201_is_reported_with_the_result(mocked: Any) -> None:
    mocked.post(f"{BASE}/products").respond(201, json={})
    mocked.post(f"{UNKEY}/v2/keys.createKey").respond(503, text="busy")
    result = onboard(prepare(options()))
    assert isinstance(result.error, ServiceUnavailableError)
    assert result.error.message.startswith("product 'acme' is registered, but Unkey could not")
    assert result.stream_key is None and result.webhook_secret
    assert result.to_dict()["error"] == result.error.one_line()


def test_the_connector_may_choose_the_webhook_secret(mocked: Any) -> None:
    theirs = "connector-chosen-secret-0123"
    mocked.post(f"{BASE}/products").respond(
        201, json={"unkey_key": CONNECTOR_KEY, "webhook_secret": theirs}
    )
    result = onboard(prepare(options()))
    assert result.webhook_secret == theirs
    assert any("chose its own webhook secret" in n for n in result.notes)


def test_describe_masks_every_secret() -> None:
    plan = prepare(
        options(
            admin_key="admin-0123456789abcdef",
            integration_type="push",
            forward_url="https://h.io/in",
            env_file=Path("/tmp/x.env"),
        )
    )
    text = json.dumps(plan.describe()) + "\n".join(plan.describe_lines())
    for secret in plan.secrets():
        assert secret not in text
    assert plan.describe()["request"]["url"] == f"{BASE}/products"
    assert "Would write the env file /tmp/x.env." in plan.describe_lines()


@pytest.mark.parametrize("connector_key", [True, False])
@pytest.mark.parametrize("force", [True, False])
@pytest.mark.parametrize("create", [True, False])
@pytest.mark.parametrize("creds", [True, False])
def test_the_key_policy_over_every_combination(
    mocked: Any, connector_key: bool, force: bool, create: bool, creds: bool
) -> None:
    """Unkey is asked at most once, and only when the connector gave no key and the run
    is a first registration or --create-key was passed."""
    mocked.post(f"{BASE}/products").respond(
        201, json={"unkey_key": CONNECTOR_KEY} if connector_key else {}
    )
    unkey = mocked.post(f"{UNKEY}/v2/keys.createKey").respond(200, json=UNKEY_OK)
    kw: dict[str, Any] = {"force_reregister": force, "create_key": create}
    if not creds:
        kw.update(unkey_root_key=None, unkey_api_id=None)
    if create and not creds:
        with pytest.raises(ConfigError):
            prepare(options(**kw))
        return
    result = onboard(prepare(options(**kw)))
    wants_unkey = not connector_key and (not force or create)
    assert unkey.call_count == (1 if wants_unkey and creds else 0)
    if connector_key:
        assert (result.key_source, result.stream_key, result.error) == (
            "connector",
            CONNECTOR_KEY,
            None,
        )
    elif wants_unkey and creds:
        assert (result.key_source, result.stream_key, result.error) == ("unkey", UNKEY_KEY, None)
    elif wants_unkey:
        assert isinstance(result.error, ConfigError) and result.stream_key is None
    else:
        assert result.stream_key is None and result.error is None


def test_resolve_options_reads_connection_settings_but_never_the_products_own_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autoplay_cli.onboarding import RequiredInput, resolve_options

    monkeypatch.setenv("AUTOPLAY_CONNECTOR_URL", BASE)
    monkeypatch.setenv("UNKEY_ROOT_KEY", ROOT_KEY)
    monkeypatch.setenv("AUTOPLAY_PRODUCT_ID", "from-a-sourced-env-file")
    asked: list[str] = []

    def ask(required: RequiredInput) -> str:
        asked.append(required.field)
        return {"product_id": "acme", "contact_email": "ops@acme.io"}[required.field]

    got = resolve_options({"admin_key": None, "timeout": 3.0}, ask=ask)
    assert asked == ["product_id", "contact_email"]
    assert (got.connector_url, got.unkey_root_key, got.product_id) == (BASE, ROOT_KEY, "acme")
    assert got.timeout == 3.0 and got.admin_key is None
    monkeypatch.delenv("AUTOPLAY_CONNECTOR_URL")
    with pytest.raises(UsageError, match="missing `connector_url`"):
        resolve_options({"product_id": "acme", "contact_email": "ops@acme.io"})


def test_a_quoted_tilde_in_the_env_file_path_means_home(
    mocked: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    mocked.post(f"{BASE}/products").respond(201, json={"unkey_key": CONNECTOR_KEY})
    result = onboard(prepare(options(env_file=Path("~/acme.env"))))
    assert result.env_file == str(tmp_path / "acme.env")
    assert CONNECTOR_KEY in (tmp_path / "acme.env").read_text()
    assert not (tmp_path / "~").exists()


def test_an_unexpected_failure_leaks_no_secret_and_keeps_the_credentials(
    mocked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import traceback

    from autoplay_cli.errors import AutoplayError
    from autoplay_cli.onboarding import _flow

    admin, webhook = "admin-key-0123456789abc", "webhook-secret-0123456789"
    mocked.post(f"{BASE}/products").respond(201, json={"unkey_key": CONNECTOR_KEY})

    def broken(plan: Any, result: Any) -> None:
        raise ValueError(f"bug near {admin} {webhook} {CONNECTOR_KEY}")

    monkeypatch.setattr(_flow, "_hand_over", broken)
    plan = prepare(options(admin_key=admin, webhook_secret=webhook))
    result = onboard(plan)
    assert result.stream_key == CONNECTOR_KEY  # still there to be shown once
    assert result.error is not None and "after registering" in result.error.message
    shown = "".join(traceback.format_exception(result.error))
    assert "ValueError" in shown and "broken" in shown  # the frames, for the bug report
    for secret in (admin, webhook, CONNECTOR_KEY):
        assert secret not in shown

    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"bug near {admin}")

    monkeypatch.setattr(_flow, "register_product", unreachable)
    with pytest.raises(AutoplayError, match=r"unexpected RuntimeError while onboarding$") as info:
        onboard(plan)
    assert admin not in "".join(traceback.format_exception(info.value))
