"""EmulatorOptions: validation of every option, and what counts as loopback."""

from __future__ import annotations

import pytest

from autoplay_cli.emulator.options import EmulatorOptions
from autoplay_cli.errors import UsageError


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert EmulatorOptions(host=host).loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.invalid"])
def test_exposed_hosts(host: str) -> None:
    assert not EmulatorOptions(host=host).loopback


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate": float("nan")}, "`rate` must be a finite number"),
        ({"rate": float("inf")}, "`rate` must be a finite number"),
        ({"latency_ms": float("nan")}, "`latency_ms` must be a finite number"),
        ({"heartbeat_s": float("inf")}, "`heartbeat_s` must be a finite number"),
        ({"keepalive_s": 0.0}, "`keepalive_s` must be > 0 seconds"),
        ({"webhook_secret": "x" * 15}, "`webhook_secret` must be at least 16 characters"),
        ({"token": ""}, "`token` must not be empty"),
        ({"ring_size": 0}, "`ring_size` must be ≥ 1"),
    ],
)
def test_bad_values_are_usage_errors(changes: dict[str, object], message: str) -> None:
    # The library names the field it was given; `autoplay emulate` names its flag.
    with pytest.raises(UsageError, match=message) as caught:
        EmulatorOptions().with_(**changes)
    assert caught.value.setting == next(iter(changes))
    assert "--" not in caught.value.message


def test_defaults_are_valid_and_secrets_differ_per_instance() -> None:
    a, b = EmulatorOptions().validated(), EmulatorOptions().validated()
    assert a.token != b.token and a.webhook_secret != b.webhook_secret
    assert a.webhook_secret.startswith("whsec_local_")
