"""Input validation: every value is checked, and the message names the problem and the fix."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoplay_cli.errors import UsageError
from autoplay_cli.onboarding import _validate


@pytest.mark.parametrize("value", ["acme", "a", "acme-app_prod.v2", "x" * 255])
def test_product_ids_usable_as_unkey_external_ids_pass(value: str) -> None:
    assert _validate.product_id(value) == value


@pytest.mark.parametrize("value", ["", "ac me", "acme/x", "x" * 256, "é", "a?b"])
def test_bad_product_ids_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError, match="externalId"):
        _validate.product_id(value)


@given(st.text(min_size=1, max_size=300))
def test_product_id_validation_matches_the_unkey_alphabet(value: str) -> None:
    ok = re.fullmatch(r"[A-Za-z0-9_.-]{1,255}", value.strip()) is not None
    try:
        _validate.product_id(value)
    except UsageError:
        assert not ok
    else:
        assert ok


@pytest.mark.parametrize("value", ["ops@example.com", "a.b+c@sub.example.co.uk"])
def test_good_emails(value: str) -> None:
    assert _validate.email(value) == value


@pytest.mark.parametrize(
    "value", ["", "ops", "ops@", "@example.com", "ops@example", "o ps@x.io", "a@b@c.io"]
)
def test_bad_emails(value: str) -> None:
    with pytest.raises(UsageError, match="email"):
        _validate.email(value)


def test_urls_are_normalised_and_checked() -> None:
    assert _validate.url("https://c.example.com/base/", what="connector URL") == (
        "https://c.example.com/base"
    )
    for bad in (
        "ftp://x",
        "c.example.com",
        "http://",
        "https://u:p@host",
        "https://h/?q=1",
        "https://h:99999",
    ):
        with pytest.raises(UsageError):
            _validate.url(bad, what="connector URL")


def test_credentials_in_a_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(UsageError) as info:
        _validate.url("https://user:hunter2hunter2@host", what="connector URL")
    assert "hunter2" not in info.value.one_line()


def test_plain_http_warns_only_off_loopback() -> None:
    assert _validate.cleartext_warning("http://127.0.0.1:8787", what="x") is None
    assert _validate.cleartext_warning("http://localhost:8787", what="x") is None
    assert _validate.cleartext_warning("https://c.example.com", what="x") is None
    assert "unencrypted" in (_validate.cleartext_warning("http://c.example.com", what="x") or "")


def test_integration_types_come_from_the_table() -> None:
    assert _validate.integration_type("event_stream").needs_forward_url is False
    assert _validate.integration_type("push").needs_forward_url is True
    with pytest.raises(UsageError) as info:
        _validate.integration_type("carrier_pigeon")
    assert "event_stream, push" in info.value.one_line()


def test_weak_secrets_are_refused_without_echoing_them() -> None:
    for weak in ("short", "has a space in it!!", "tab\tinside-the-secret", "non-ascii-sécret-0123"):
        with pytest.raises(UsageError) as info:
            _validate.secret(weak, what="webhook secret")
        assert weak not in info.value.one_line()
    assert _validate.secret("s" * 16, what="webhook secret") == "s" * 16


def test_key_prefix_name_timeout_profile() -> None:
    assert _validate.key_prefix("uk_live") == "uk_live"
    for bad in ("", "uk-live", "x" * 17):
        with pytest.raises(UsageError):
            _validate.key_prefix(bad)
    assert _validate.key_name(" acme key ") == "acme key"
    with pytest.raises(UsageError):
        _validate.key_name("x" * 201)
    assert _validate.timeout(2) == 2.0
    for bad_timeout in (0, -1, float("nan")):
        with pytest.raises(UsageError):
            _validate.timeout(bad_timeout)
    assert _validate.profile_name("staging-2") == "staging-2"
    with pytest.raises(UsageError):
        _validate.profile_name("bad name")
