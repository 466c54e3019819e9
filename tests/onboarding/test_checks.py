"""doctor's checks against real peers: the emulator over loopback and a real redis-server."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from autoplay_cli import settings as config
from autoplay_cli.onboarding.checks import (
    FAIL,
    PASS,
    SKIP,
    Check,
    DoctorReport,
    display_url,
    run_checks,
)


def flags_for(h: Any, **overrides: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "connector_url": h.url,
        "product_id": h.product_id,
        "token": h.token,
        "unkey_root_key": h.unkey_root_key,
        "unkey_server_url": h.unkey_url,
    }
    return {**base, **overrides}


def statuses(report: DoctorReport) -> dict[str, str]:
    return {c.id: c.status for c in report.checks}


def text(report: DoctorReport) -> str:
    return "\n".join(f"{c.detail} {c.fix}" for c in report.checks)


def test_a_healthy_setup_passes_every_check(emulator: Any, redis_url: str) -> None:
    seen: list[Check] = []
    report = run_checks(
        flags_for(emulator, redis_url=redis_url), stream_timeout=20, on_check=seen.append
    )
    assert statuses(report) == {
        "config": PASS,
        "connector": PASS,
        "stream": PASS,
        "unkey": PASS,
        "redis": PASS,
    }, text(report)
    assert report.ok and seen == report.checks
    assert "flag --connector-url" in report.checks[0].detail
    assert f"externalId {emulator.product_id}" in report.checks[3].detail
    assert emulator.token not in text(report) and emulator.unkey_root_key not in text(report)


def test_a_heartbeat_is_enough(make_emulator: Any) -> None:
    h = make_emulator(max_events=0, heartbeat_s=0.2)
    report = run_checks(flags_for(h), stream_timeout=10)
    assert report.checks[2].status == PASS and "a heartbeat" in report.checks[2].detail


def test_a_wrong_key_fails_stream_and_unkey_with_fixes(emulator: Any) -> None:
    wrong = "uk_local_not-the-right-key-123456"
    report = run_checks(flags_for(emulator, token=wrong), stream_timeout=10)
    assert statuses(report) == {
        "config": PASS,
        "connector": PASS,
        "stream": FAIL,
        "unkey": FAIL,
        "redis": SKIP,
    }
    stream, unkey = report.checks[2], report.checks[3]
    assert "rejected the stream key" in stream.detail and stream.fix
    assert "NOT_FOUND" in unkey.detail and "autoplay onboard" in (unkey.fix or "")
    assert not report.ok and [c.id for c in report.failed] == ["stream", "unkey"]
    assert wrong not in text(report)


def test_a_key_of_another_product(make_emulator: Any) -> None:
    from autoplay_cli.onboarding import OnboardOptions, onboard, prepare

    h = make_emulator()
    other = onboard(
        prepare(
            OnboardOptions(
                connector_url=h.url, product_id="other-product", contact_email="ops@acme.io"
            )
        )
    )
    report = run_checks(flags_for(h, token=other.stream_key), stream_timeout=10)
    assert report.checks[2].status == FAIL and "HTTP 403" in report.checks[2].detail
    assert report.checks[3].status == FAIL
    assert "belongs to product 'other-product'" in report.checks[3].detail


def test_a_closed_port(closed_url: str) -> None:
    report = run_checks(
        {
            "connector_url": closed_url,
            "product_id": "acme",
            "token": "uk_live_whatever-0123456789",
            "unkey_root_key": "root-0123456789",
            "unkey_server_url": closed_url,
        },
        stream_timeout=5,
        http_timeout=2,
    )
    assert statuses(report) == {
        "config": PASS,
        "connector": FAIL,
        "stream": SKIP,
        "unkey": FAIL,
        "redis": SKIP,
    }
    assert "connection refused or failed" in report.checks[1].detail
    assert "`connector_url`" in (report.checks[1].fix or "")
    assert "cannot reach Unkey" in report.checks[3].detail


def test_a_silent_stream_fails_within_the_timeout(make_emulator: Any) -> None:
    h = make_emulator(max_events=0, heartbeat_s=600)
    report = run_checks(flags_for(h), stream_timeout=0.5)
    assert report.checks[2].status == FAIL
    assert "0.5 s" in report.checks[2].detail


def test_missing_settings_say_how_to_set_them() -> None:
    report = run_checks({"connector_url": "http://127.0.0.1:1"})
    config_check = report.checks[0]
    assert config_check.status == FAIL
    assert config_check.detail.startswith("missing product_id, token")
    assert "`product_id`" in (config_check.fix or "")
    assert statuses(report)["connector"] == SKIP and statuses(report)["stream"] == SKIP


def test_an_unreadable_config_file_is_a_failed_check() -> None:
    config.config_path().parent.mkdir(parents=True, exist_ok=True)
    config.config_path().write_text("[default\n")
    report = run_checks()
    assert report.checks[0].status == FAIL and "not valid TOML" in report.checks[0].detail
    assert [c.status for c in report.checks[1:]] == [SKIP] * 4


def test_a_bad_connector_url_fails_the_config_check() -> None:
    report = run_checks({"connector_url": "ftp://x", "product_id": "a", "token": "t" * 20})
    assert report.checks[0].status == FAIL and "http(s)" in report.checks[0].detail


def test_redis_unreachable_and_password_masked(closed_url: str) -> None:
    port = closed_url.rsplit(":", 1)[1]
    url = f"redis://:hunter2hunter2@127.0.0.1:{port}/0"
    report = run_checks({"redis_url": url}, http_timeout=2)
    redis_check = report.checks[-1]
    assert redis_check.status == FAIL and "hunter2" not in redis_check.detail
    assert "redis://:****@127.0.0.1" in redis_check.detail
    assert "AUTOPLAY_REDIS_URL" in (redis_check.fix or "")


def test_redis_reachable(redis_url: str) -> None:
    report = run_checks({"redis_url": redis_url})
    assert report.checks[-1].status == PASS and "PING" in report.checks[-1].detail


def test_elapsed_time_comes_from_the_injected_clock(emulator: Any) -> None:
    ticks = itertools.count(0, 0.25)
    report = run_checks(flags_for(emulator), clock=lambda: next(ticks))
    assert report.checks[1].detail.endswith("in 250 ms")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://user:pw@h:1/0", "redis://user:****@h:1/0"),
        ("rediss://:pw@h/0", "rediss://:****@h/0"),
        ("redis://h:1/0?password=pw&db=2", "redis://h:1/0?password=****&db=2"),
        ("redis://u:pw@h/0?PASSWORD=pw", "redis://u:****@h/0?PASSWORD=****"),
    ],
)
def test_display_url(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_report_dict() -> None:
    report = DoctorReport(
        "default", "/x", [Check("a", "A", PASS, "ok"), Check("b", "B", SKIP, "-")]
    )
    assert report.to_dict() == {
        "ok": True,
        "profile": "default",
        "config_file": "/x",
        "checks": [
            {"id": "a", "title": "A", "status": "pass", "detail": "ok", "fix": None},
            {"id": "b", "title": "B", "status": "skip", "detail": "-", "fix": None},
        ],
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [("token", "uk_live_leaky\nkey-0123456789"), ("unkey_root_key", "unkey_root_lé-0123456789")],
)
def test_a_key_that_cannot_go_in_a_header_fails_cleanly_unechoed(
    emulator: Any, key: str, value: str
) -> None:
    report = run_checks(flags_for(emulator, **{key: value}), stream_timeout=5, http_timeout=2)
    shown = text(report)
    for part in (value, repr(value)[1:-1], *value.split(), "lé-01"):
        assert part not in shown, (part, shown)
    failed = {c.id: c for c in report.failed}
    assert "unkey" in failed and "non-ASCII" in failed["unkey"].detail
    if key == "token":
        assert "config" in failed and statuses(report)["stream"] == SKIP
        assert "`token`" in (failed["config"].fix or "")
    else:
        assert "`unkey_root_key`" in (failed["unkey"].fix or "")


def test_a_trailing_slash_in_the_connector_url_is_normalised(emulator: Any) -> None:
    report = run_checks(flags_for(emulator, connector_url=emulator.url + "/"), stream_timeout=20)
    assert statuses(report)["stream"] == PASS, text(report)
    assert f"{emulator.url}/stream/" in report.checks[2].detail
    assert "//stream" not in text(report)


def test_an_unreachable_stream_names_doctors_own_options(make_emulator: Any) -> None:
    h = make_emulator(max_events=0, heartbeat_s=600)
    report = run_checks(flags_for(h), stream_timeout=0.5)
    stream = report.checks[2]
    assert stream.status == FAIL and "max_retries" not in (stream.fix or "")
    assert "`timeout`" in (stream.fix or "")
