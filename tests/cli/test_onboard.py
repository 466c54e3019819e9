"""``autoplay onboard`` end to end against the emulator (connector + fake Unkey), and its edges."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.errors import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_CONFLICT,
    EXIT_NOT_FOUND,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)

runner = CliRunner()
EMAIL = "ops@acme.io"


def cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
    return runner.invoke(app, list(args), env=env, input=input)


def autoplay(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoplay_cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def unkey_env(h: Any) -> dict[str, str]:
    """Point onboard at the emulator (connector and fake Unkey), without a product or token."""
    return {k: v for k, v in h.env().items() if k not in ("AUTOPLAY_PRODUCT_ID", "AUTOPLAY_TOKEN")}


def keys_of(h: Any, product_id: str) -> list[Any]:
    return [k for k in h.emulator.registry.keys.values() if k.external_id == product_id]


def test_onboard_env_file_then_tail_and_doctor_with_it(emulator: Any, tmp_path: Path) -> None:
    env_file = tmp_path / "acme.env"
    proc = autoplay(
        "onboard",
        "--product-id",
        "acme-e2e",
        "--email",
        EMAIL,
        "--env-file",
        str(env_file),
        env=unkey_env(emulator),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Product acme-e2e registered" in proc.stdout
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    (key,) = keys_of(emulator, "acme-e2e")
    assert key.key in proc.stdout and key.key in env_file.read_text()
    assert "Error" not in proc.stderr
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOPLAY_", "UNKEY_"))}
    script = (
        f'source "{env_file}" && "{sys.executable}" -m autoplay_cli tail --json '
        "--count 3 --max-time 30"
    )
    tail = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=clean, timeout=60
    )
    assert tail.returncode == 0, tail.stderr
    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert len(lines) == 3
    assert all(e["payload"]["product_id"] == "acme-e2e" for e in lines)
    script = f'source "{env_file}" && "{sys.executable}" -m autoplay_cli doctor --json'
    doctor = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=clean, timeout=60
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert json.loads(doctor.stdout)["ok"] is True


def test_key_created_in_unkey_when_the_connector_returns_none(make_emulator: Any) -> None:
    h = make_emulator(create_keys=False)
    result = cli(
        "onboard",
        "--product-id",
        "acme-u",
        "--email",
        EMAIL,
        "--json",
        "--key-name",
        "acme stream",
        env=unkey_env(h),
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["key_source"] == "unkey" and data["stream_key"].startswith("uk_live_")
    (key,) = keys_of(h, "acme-u")
    assert (key.key, key.key_id, key.name) == (
        data["stream_key"],
        data["stream_key_id"],
        "acme stream",
    )
    # The Unkey-made key opens the product's stream, and Unkey vouches for it.
    doctor = cli(
        "doctor",
        "--json",
        "--product-id",
        "acme-u",
        "--token",
        data["stream_key"],
        env=unkey_env(h),
    )
    assert doctor.exit_code == 0, doctor.stdout + doctor.stderr
    checks = {c["id"]: c["status"] for c in json.loads(doctor.stdout)["checks"]}
    assert checks["stream"] == "pass" and checks["unkey"] == "pass"


def test_a_rerun_never_mints_a_second_key(make_emulator: Any) -> None:
    h = make_emulator(create_keys=False)
    env = unkey_env(h)
    args = ("onboard", "--product-id", "acme-r", "--email", EMAIL)
    assert cli(*args, env=env).exit_code == 0
    again = cli(*args, env=env)
    assert again.exit_code == EXIT_CONFLICT
    assert again.stderr.startswith("Error: ") and "--force-reregister" in again.stderr
    assert len(keys_of(h, "acme-r")) == 1
    # Re-registering is explicit, and still mints nothing without --create-key.
    forced = cli(*args, "--force-reregister", "--json", env=env)
    assert forced.exit_code == 0, forced.stderr
    data = json.loads(forced.stdout)
    assert data["stream_key"] is None and data["reregistered"] is True
    assert any("--create-key" in n for n in data["notes"])
    assert len(keys_of(h, "acme-r")) == 1
    minted = cli(*args, "--force-reregister", "--create-key", "--json", env=env)
    assert minted.exit_code == 0, minted.stderr
    assert len(keys_of(h, "acme-r")) == 2
    assert json.loads(minted.stdout)["key_source"] == "unkey"


def test_json_is_one_object_with_everything_to_hand_over(emulator: Any) -> None:
    result = cli(
        "onboard", "--product-id", "acme-j", "--email", EMAIL, "--json", env=unkey_env(emulator)
    )
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    data = json.loads(line)
    product = emulator.emulator.registry.product("acme-j")
    assert data["webhook_secret"] == product.webhook_secret
    assert data["webhook_url"] == f"{emulator.url}/webhook/acme-j"
    assert data["stream_url"] == f"{emulator.url}/stream/acme-j"
    assert data["webhook_header"] == "X-PostHog-Secret"
    assert data["key_source"] == "connector" and data["error"] is None
    assert len(data["next_steps"]) >= 3


def test_dry_run_sends_nothing_and_masks_secrets(emulator: Any) -> None:
    secret = "given-webhook-secret-0123456789"
    for extra in ((), ("--json",)):
        result = cli(
            "onboard",
            "--product-id",
            "acme-d",
            "--email",
            EMAIL,
            "--dry-run",
            "--webhook-secret",
            secret,
            "--admin-key",
            "admin-key-0123456789",
            *extra,
            env=unkey_env(emulator),
        )
        assert result.exit_code == 0, result.stderr
        assert secret not in result.stdout + result.stderr
        assert "admin-key-0123456789" not in result.stdout + result.stderr
        assert emulator.unkey_root_key not in result.stdout + result.stderr
        assert f"{emulator.url}/products" in result.stdout
    assert json.loads(result.stdout)["request"]["json"]["webhook_secret"] == "giv…6789"
    assert emulator.emulator.registry.product("acme-d") is None


def test_a_dry_run_names_the_commands_own_flags(emulator: Any) -> None:
    # The plan's text names the library's `create_key`; the command says --create-key.
    result = cli(
        "onboard",
        "--product-id",
        "acme-d",
        "--email",
        EMAIL,
        "--dry-run",
        "--force-reregister",
        env=unkey_env(emulator),
    )
    assert result.exit_code == 0, result.stderr
    assert "none is created (pass --create-key to mint one)" in result.stdout
    assert "`" not in result.stdout


def test_missing_values_without_a_terminal_are_usage_errors(emulator: Any) -> None:
    result = cli("onboard", "--product-id", "acme", env=unkey_env(emulator))
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.strip() == (
        "Error: missing --email — pass --email (prompted only on a terminal)"
    )
    result = cli("onboard", "--product-id", "acme", "--email", EMAIL)
    assert result.exit_code == EXIT_USAGE and "--connector-url" in result.stderr


def test_prompts_on_a_terminal_validate_as_typed(
    monkeypatch: pytest.MonkeyPatch, emulator: Any
) -> None:
    monkeypatch.setattr("autoplay_cli.cli.onboard.stdin_is_tty", lambda: True)
    result = cli(
        "onboard",
        "--dry-run",
        "--json",
        env=unkey_env(emulator),
        input="bad id!\nacme-tty\nnot-an-email\nops@acme.io\n",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("Product id:") == 2 and result.stderr.count("Contact email:") == 2
    assert "invalid product id" in result.stderr and "invalid contact email" in result.stderr
    # CliRunner echoes the typed input on stdout, as a terminal would; the data is the last line.
    body = json.loads(result.stdout.splitlines()[-1])["request"]["json"]
    assert (body["product_id"], body["contact_email"]) == ("acme-tty", EMAIL)


def test_a_real_terminal_prompts_validates_and_ctrl_c_exits_130(emulator: Any) -> None:
    import pty
    import select
    import subprocess
    import time

    # The child gets the terminal as its controlling one (so Ctrl-C there is SIGINT to
    # it), without forking this threaded process: a new session, then TIOCSCTTY.
    env = {**os.environ, **unkey_env(emulator), "NO_COLOR": "1"}
    take_terminal = (
        "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
        "os.execv(sys.executable, [sys.executable, '-m', 'autoplay_cli', 'onboard'])"
    )
    fd, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", take_terminal],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        start_new_session=True,
    )
    os.close(secondary)
    seen = b""

    def until(needle: bytes, within: float = 30) -> bool:
        nonlocal seen
        deadline = time.monotonic() + within
        while needle not in seen and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    seen += os.read(fd, 4096)
                except OSError:  # the child closed the terminal
                    break
        return needle in seen

    assert until(b"Product id: "), seen
    os.write(fd, b"bad id!\r")
    assert until(b"invalid product id"), seen
    os.write(fd, b"acme-pty\r")
    assert until(b"Contact email: "), seen
    # Ctrl-C, delivered by the terminal as SIGINT. One that lands between the prompt
    # and the blocking read is only noticed at the next one, so press again, as a
    # person would.
    for _ in range(10):
        os.write(fd, b"\x03")
        if until(b"Interrupted.", within=3):
            break
    assert b"Interrupted." in seen, seen
    # On a line of its own, not glued to the prompt and the terminal's "^C".
    assert b"^CInterrupted." not in seen and b"\nInterrupted." in seen, seen
    code = proc.wait(timeout=30)
    os.close(fd)
    assert code == 130
    assert not keys_of(emulator, "acme-pty")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--product-id", "a b"), "invalid product id"),
        (("--email", "nope"), "invalid contact email"),
        (("--integration-type", "fax"), "unknown integration type"),
        (("--integration-type", "push"), "needs --forward-url"),
        (("--forward-url", "https://x.io/in"), "do not apply"),
        (("--connector-url", "ftp://x"), "invalid connector URL"),
        (("--key-prefix", "bad-prefix"), "invalid key prefix"),
        (("--timeout", "0"), "invalid timeout"),
    ],
)
def test_invalid_values_exit_2_before_anything_is_sent(
    emulator: Any, args: tuple[str, ...], needle: str
) -> None:
    base = {"--product-id": "acme-v", "--email": EMAIL}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv]
    result = cli("onboard", *flat, env=unkey_env(emulator))
    assert result.exit_code == EXIT_USAGE, result.stderr
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert emulator.emulator.registry.product("acme-v") is None


def test_existing_env_file_is_refused_before_registering(emulator: Any, tmp_path: Path) -> None:
    env_file = tmp_path / "taken.env"
    env_file.write_text("precious\n")
    result = cli(
        "onboard",
        "--product-id",
        "acme-f",
        "--email",
        EMAIL,
        "--env-file",
        str(env_file),
        env=unkey_env(emulator),
    )
    assert result.exit_code == EXIT_USAGE and "--force" in result.stderr
    assert env_file.read_text() == "precious\n"
    assert emulator.emulator.registry.product("acme-f") is None
    result = cli(
        "onboard",
        "--product-id",
        "acme-f",
        "--email",
        EMAIL,
        "--env-file",
        str(env_file),
        "--force",
        env=unkey_env(emulator),
    )
    assert result.exit_code == 0, result.stderr
    assert "AUTOPLAY_TOKEN=" in env_file.read_text()


def test_save_profile_then_doctor_uses_it(emulator: Any) -> None:
    result = cli(
        "onboard",
        "--product-id",
        "acme-p",
        "--email",
        EMAIL,
        "--save-profile",
        "acme",
        env=unkey_env(emulator),
    )
    assert result.exit_code == 0, result.stderr
    result = cli("doctor", "--profile", "acme", "--json", "--timeout", "20")
    assert result.exit_code == 0, result.stdout + result.stderr
    checks = {c["id"]: c["status"] for c in json.loads(result.stdout)["checks"]}
    assert checks["stream"] == "pass" and checks["unkey"] == "skip"


def test_an_operators_profile_receives_the_product_once_then_needs_force(
    make_emulator: Any,
) -> None:
    h = make_emulator(admin_key="operator-key-0123456789")
    for key, value in (("connector_url", h.url), ("admin_key", "operator-key-0123456789")):
        assert cli("config", "set", key, value, "--profile", "ops").exit_code == 0
    args = ("onboard", "--profile", "ops", "--save-profile", "ops", "--email", EMAIL, "--json")
    first = cli(*args, "--product-id", "acme-o1")
    assert first.exit_code == 0, first.stderr
    token = json.loads(first.stdout)["stream_key"]
    again = cli(*args, "--product-id", "acme-o2")
    assert again.exit_code == EXIT_USAGE and "refusing to overwrite" in again.stderr
    assert token not in again.stdout + again.stderr
    assert not keys_of(h, "acme-o2")  # refused before anything was sent
    forced = cli(*args, "--product-id", "acme-o2", "--force")
    assert forced.exit_code == 0, forced.stderr
    from autoplay_cli import settings as config

    saved = config.resolve(profile="ops")
    assert (saved.get("product_id"), saved.get("admin_key")) == (
        "acme-o2",
        "operator-key-0123456789",
    )
    assert saved.get("token") == json.loads(forced.stdout)["stream_key"] != token


def test_admin_key_is_required_when_the_connector_demands_it(make_emulator: Any) -> None:
    h = make_emulator(admin_key="operator-key-0123456789")
    args = ("onboard", "--product-id", "acme-a", "--email", EMAIL)
    denied = cli(*args, env=unkey_env(h))
    assert denied.exit_code == EXIT_AUTH and "--admin-key" in denied.stderr
    allowed = cli(*args, env={**unkey_env(h), "AUTOPLAY_ADMIN_KEY": "operator-key-0123456789"})
    assert allowed.exit_code == 0, allowed.stderr


def test_unkey_failures_after_registration_still_show_the_credentials(make_emulator: Any) -> None:
    h = make_emulator(create_keys=False)
    env = {**unkey_env(h), "UNKEY_API_ID": "api_nope"}
    result = cli("onboard", "--product-id", "acme-k", "--email", EMAIL, "--json", env=env)
    assert result.exit_code == EXIT_NOT_FOUND
    data = json.loads(result.stdout)
    assert data["stream_key"] is None
    assert data["webhook_secret"] == h.emulator.registry.product("acme-k").webhook_secret
    assert result.stderr.startswith("Error: product 'acme-k' is registered, but Unkey")
    env = {k: v for k, v in unkey_env(h).items() if not k.startswith("UNKEY_")}
    result = cli("onboard", "--product-id", "acme-k2", "--email", EMAIL, env=env)
    assert result.exit_code == EXIT_CONFIG
    assert "--force-reregister --create-key" in result.stderr
    assert "Product acme-k2 registered" in result.stdout


def test_a_closed_port_is_exit_6(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    proc = autoplay("onboard", "--product-id", "acme", "--email", EMAIL, "--connector-url", url)
    assert proc.returncode == EXIT_UNAVAILABLE and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "cannot reach the connector" in proc.stderr


# --- the secret-leak scan -------------------------------------------------------------------
# Every failure path is run plain, with --verbose and with --debug (tracebacks and debug logs),
# in process and as a real process; no secret may appear on stdout, stderr or in a log record.
# After a successful registration the webhook secret is *meant* to be shown once, on stdout.

ADMIN = "leak-admin-key-0a1b2c3d4e5f"
ROOT = "leak-unkey-root-9z8y7x6w5v"
WEBHOOK = "leak-webhook-secret-1q2w3e4r5t"
FORWARD = "leak-forward-secret-6y7u8i9o0p"
BASE = "https://connector.leak.test"
UNKEY = "https://unkey.leak.test"
ALL = (ADMIN, ROOT, WEBHOOK, FORWARD)
ECHO = {
    "message": f"echo {ADMIN} {ROOT} {WEBHOOK} {FORWARD}",
    "detail": [ADMIN, ROOT, WEBHOOK, FORWARD],
}
UNKEY_ECHO = {
    "meta": {"requestId": "r"},
    "error": {"title": "t", "detail": f"echo {ROOT}", "status": 0, "type": "x"},
}


@pytest.fixture
def log_lines() -> Any:
    """Every record the package logs, formatted with any traceback."""
    import logging

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(logging.Formatter("%(name)s %(message)s").format(record))

    handler = Collect(level=logging.DEBUG)
    logger = logging.getLogger("autoplay_cli")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def _respx_paths() -> dict[str, tuple[Any, bool]]:
    """name -> (function setting up respx routes, registered: webhook secret may be on stdout)."""
    import httpx

    def connector(status: int, **kw: Any) -> Any:
        return lambda r: r.post(f"{BASE}/products").respond(status, **kw)

    def then_unkey(status: int, **kw: Any) -> Any:
        def setup(r: Any) -> None:
            r.post(f"{BASE}/products").respond(201, json={})
            r.post(f"{UNKEY}/v2/keys.createKey").respond(status, **kw)

        return setup

    return {
        "400": (connector(400, json=ECHO), False),
        "409": (connector(409, json=ECHO), False),
        "401": (connector(401, json=ECHO), False),
        "500": (connector(500, text=json.dumps(ECHO)), False),
        "201-not-json": (connector(201, text=f"<{WEBHOOK}>"), False),
        "201-array": (connector(201, json=[WEBHOOK, ADMIN]), False),
        "201-bad-key-type": (connector(201, json={"unkey_key": {"k": WEBHOOK}}), False),
        "timeout": (
            lambda r: r.post(f"{BASE}/products").mock(
                side_effect=httpx.ReadTimeout(f"timeout {ADMIN}")
            ),
            False,
        ),
        "unkey-500": (then_unkey(500, json=UNKEY_ECHO), True),
        "unkey-401": (then_unkey(401, json=UNKEY_ECHO), True),
        "unkey-400": (then_unkey(400, json=UNKEY_ECHO), True),
        "unkey-malformed": (then_unkey(200, json={"meta": {}, "data": {"key": ROOT}}), True),
        "unkey-refused": (
            lambda r: (
                r.post(f"{BASE}/products").respond(201, json={}),
                r.post(f"{UNKEY}/v2/keys.createKey").mock(
                    side_effect=httpx.ConnectError(f"no {ROOT}")
                ),
            ),
            True,
        ),
    }


LEAK_ARGS = (
    "onboard",
    "--product-id",
    "acme",
    "--email",
    EMAIL,
    "--connector-url",
    BASE,
    "--integration-type",
    "push",
    "--forward-url",
    "https://hooks.acme.io/in",
    "--forward-secret",
    FORWARD,
    "--webhook-secret",
    WEBHOOK,
    "--unkey-api-id",
    "api_1",
    "--unkey-server-url",
    UNKEY,
)
LEAK_ENV = {"AUTOPLAY_ADMIN_KEY": ADMIN, "UNKEY_ROOT_KEY": ROOT}


def assert_no_leak(out: str, err: str, logs: list[str], *, registered: bool) -> None:
    for secret in ALL:
        assert secret not in err, (secret, err)
        assert all(secret not in line for line in logs), (secret, logs)
        if not (registered and secret in (WEBHOOK, FORWARD)):
            assert secret not in out, (secret, out)


@pytest.mark.parametrize("path", sorted(_respx_paths()))
@pytest.mark.parametrize("mode", [(), ("--debug",), ("--verbose",)])
def test_no_failure_path_leaks_a_secret_in_process(
    path: str, mode: tuple[str, ...], log_lines: list[str]
) -> None:
    import respx

    setup, registered = _respx_paths()[path]
    args = (*LEAK_ARGS, "--verbose") if mode == ("--verbose",) else LEAK_ARGS
    if mode == ("--debug",):
        args = ("--debug", *args)
    with respx.mock(assert_all_called=False) as router:
        setup(router)
        result = runner.invoke(app, list(args), env=LEAK_ENV)
    assert result.exit_code not in (0, None), result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")
    if mode == ("--debug",):
        assert "Traceback" in result.stderr
    assert_no_leak(result.stdout, result.stderr, log_lines, registered=registered)


@pytest.mark.parametrize(
    "args",
    [
        ("--email", "not-an-email"),
        ("--webhook-secret", "leak webhook secret with spaces"),
        ("--integration-type", "event_stream"),
    ],
)
def test_validation_failures_never_echo_secrets(
    args: tuple[str, ...], tmp_path: Path, log_lines: list[str]
) -> None:
    full = [*LEAK_ARGS]
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in full:
            full[full.index(flag) + 1] = value
        else:
            full += [flag, value]
    result = runner.invoke(app, ["--debug", *full], env=LEAK_ENV)
    assert result.exit_code == EXIT_USAGE
    assert "leak webhook secret with spaces" not in result.stdout + result.stderr
    assert_no_leak(result.stdout, result.stderr, log_lines, registered=False)


@pytest.mark.parametrize(
    ("env", "flag"),
    [
        ({"AUTOPLAY_ADMIN_KEY": "leak-admin\nkey-0a1b2c3d"}, "--admin-key"),
        ({"AUTOPLAY_ADMIN_KEY": "leak-admin-kéy-0a1b2c3d"}, "--admin-key"),
        ({"UNKEY_ROOT_KEY": "leak-root\tkey-9z8y7x6w"}, "--unkey-root-key"),
    ],
)
def test_a_key_that_cannot_go_in_a_header_is_refused_unechoed_before_any_request(
    env: dict[str, str], flag: str, log_lines: list[str]
) -> None:
    import respx

    with respx.mock(assert_all_called=False) as router:
        route = router.post(f"{BASE}/products").respond(201, json={})
        result = runner.invoke(app, ["--debug", *LEAK_ARGS], env={**LEAK_ENV, **env})
    assert result.exit_code == EXIT_USAGE, result.stderr
    assert route.call_count == 0
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert flag in result.stderr
    secret = next(iter(env.values()))
    for part in (secret, *secret.split(), repr(secret)[1:-1], "kéy-0a1b"):
        assert part not in result.stdout + result.stderr + "\n".join(log_lines), part


def test_no_failure_path_leaks_a_secret_as_a_real_process(
    make_emulator: Any, tmp_path: Path
) -> None:
    guarded = make_emulator(admin_key=ADMIN, create_keys=False, unkey_root_key=ROOT)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    base = {
        "AUTOPLAY_CONNECTOR_URL": guarded.url,
        "UNKEY_SERVER_URL": guarded.unkey_url,
        "UNKEY_API_ID": guarded.unkey_api_id,
    }
    taken = tmp_path / "taken.env"
    taken.write_text("x\n")
    common = (
        "onboard",
        "--email",
        EMAIL,
        "--integration-type",
        "push",
        "--forward-url",
        "https://hooks.acme.io/in",
        "--forward-secret",
        FORWARD,
        "--webhook-secret",
        WEBHOOK,
    )
    cases = [
        # wrong admin key: 401 from the connector
        ({**base, "AUTOPLAY_ADMIN_KEY": ADMIN[::-1], "UNKEY_ROOT_KEY": ROOT}, "p1", (), False),
        # registered, then the fake Unkey rejects the root key
        ({**base, "AUTOPLAY_ADMIN_KEY": ADMIN, "UNKEY_ROOT_KEY": ROOT[::-1]}, "p2", (), True),
        # already registered: 409 (p2 exists now)
        ({**base, "AUTOPLAY_ADMIN_KEY": ADMIN, "UNKEY_ROOT_KEY": ROOT}, "p2", (), False),
        # nothing listening
        (
            {
                **base,
                "AUTOPLAY_CONNECTOR_URL": closed,
                "AUTOPLAY_ADMIN_KEY": ADMIN,
                "UNKEY_ROOT_KEY": ROOT,
            },
            "p3",
            (),
            False,
        ),
        # an env file that exists
        (
            {**base, "AUTOPLAY_ADMIN_KEY": ADMIN, "UNKEY_ROOT_KEY": ROOT},
            "p4",
            ("--env-file", str(taken)),
            False,
        ),
    ]
    for env, product, extra, registered in cases:
        # --debug --verbose prints a superset of the plain run (which the in-process test covers).
        for debug in (("--debug",),):
            proc = autoplay(*debug, *common, "--product-id", product, "--verbose", *extra, env=env)
            assert "Traceback" in proc.stderr
            assert proc.returncode not in (0,), proc.stdout
            assert proc.stderr.strip().splitlines()[-1].startswith("Error: "), proc.stderr
            secrets = (ADMIN, ADMIN[::-1], ROOT, ROOT[::-1], WEBHOOK, FORWARD)
            for secret in secrets:
                assert secret not in proc.stderr, (product, debug, secret, proc.stderr)
                if not (registered and secret in (WEBHOOK, FORWARD)):
                    assert secret not in proc.stdout, (product, debug, secret)


def test_spinner_only_on_a_terminal_and_never_on_stdout(
    monkeypatch: pytest.MonkeyPatch, emulator: Any
) -> None:
    monkeypatch.setattr("autoplay_cli.cli.output.stderr_is_tty", lambda: True)
    result = cli("onboard", "--product-id", "acme-s", "--email", EMAIL, env=unkey_env(emulator))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("╭─ Product acme-s registered")
    assert "Registering acme-s" not in result.stdout


def test_a_sourced_env_file_never_lends_its_webhook_secret(emulator: Any) -> None:
    other = "other-products-secret-0123456789"
    env = {**unkey_env(emulator), "AUTOPLAY_WEBHOOK_SECRET": other}
    result = cli("onboard", "--product-id", "acme-n", "--email", EMAIL, "--json", env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["webhook_secret"] != other


# --- deadlines, odd peers, unsafe places, full disks ----------------------------------------


def test_timeout_bounds_the_whole_request_against_a_trickling_connector(
    raw_http_server: Any,
) -> None:
    url = raw_http_server("trickle")
    proc = autoplay(
        "onboard",
        "--connector-url",
        url,
        "--product-id",
        "acme-slow",
        "--email",
        EMAIL,
        "--timeout",
        "1",
        timeout=60,  # before the fix: never returned
    )
    assert proc.returncode == EXIT_UNAVAILABLE, proc.stderr
    assert "did not answer within 1 s" in proc.stderr


def test_a_url_answering_405_is_exit_5_as_documented(raw_http_server: Any) -> None:
    url = raw_http_server(405)
    proc = autoplay("onboard", "--connector-url", url, "--product-id", "acme", "--email", EMAIL)
    assert proc.returncode == EXIT_NOT_FOUND, proc.stderr
    assert "HTTP 405" in proc.stderr and "--connector-url" in proc.stderr
    table = (Path(__file__).resolve().parents[2] / "docs" / "exit-codes.md").read_text("utf-8")
    assert re.search(r"^\| 5 \| [^\n]*405", table, re.M)


def test_a_bad_unkey_api_id_fails_before_registering(emulator: Any) -> None:
    env = {**unkey_env(emulator), "UNKEY_API_ID": "not-an-api-id"}
    result = cli("onboard", "--product-id", "acme-api", "--email", EMAIL, env=env)
    assert result.exit_code == EXIT_USAGE, result.stderr
    assert "invalid Unkey API id" in result.stderr
    assert emulator.emulator.registry.product("acme-api") is None


def test_every_missing_value_is_named_at_once() -> None:
    result = cli("onboard")
    assert result.exit_code == EXIT_USAGE
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert line.startswith("Error: missing --connector-url, --product-id, --email")


def test_a_dangling_env_file_link_is_refused_before_registering(
    emulator: Any, tmp_path: Path
) -> None:
    link = tmp_path / "acme.env"
    link.symlink_to(tmp_path / "gone" / "acme.env")
    for extra in ([], ["--force"]):
        result = cli(
            "onboard",
            "--product-id",
            "acme-dl",
            "--email",
            EMAIL,
            "--env-file",
            str(link),
            *extra,
            env=unkey_env(emulator),
        )
        assert result.exit_code == EXIT_USAGE, result.stderr
        assert "dangling symbolic link" in result.stderr
    assert emulator.emulator.registry.product("acme-dl") is None


@pytest.mark.parametrize(("mode", "warned"), [(0o777, True), (0o1777, False), (0o755, False)])
def test_an_env_file_in_a_world_writable_directory_is_warned_about(
    emulator: Any, tmp_path: Path, mode: int, warned: bool
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    result = cli(
        "onboard",
        "--product-id",
        "acme-ww",
        "--email",
        EMAIL,
        "--dry-run",
        "--env-file",
        str(shared / "acme.env"),
        env=unkey_env(emulator),
    )
    assert result.exit_code == 0, result.stderr
    assert ("world-writable directory without the sticky bit" in result.stderr) is warned


def test_env_file_directories_are_not_grown_from_nothing(emulator: Any, tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "acme.env"
    result = cli(
        "onboard",
        "--product-id",
        "acme-deep",
        "--email",
        EMAIL,
        "--env-file",
        str(deep),
        env=unkey_env(emulator),
    )
    assert result.exit_code == EXIT_USAGE and "does not exist" in result.stderr
    assert not (tmp_path / "a").exists()
    assert emulator.emulator.registry.product("acme-deep") is None
    one_level = tmp_path / "new" / "acme.env"
    result = cli(
        "onboard",
        "--product-id",
        "acme-new",
        "--email",
        EMAIL,
        "--env-file",
        str(one_level),
        env=unkey_env(emulator),
    )
    assert result.exit_code == 0, result.stderr
    assert one_level.exists() and f"Created the directory {one_level.parent}" in result.stdout


def test_a_full_disk_on_save_profile_is_an_error_not_silence(
    emulator: Any, isolated_env: Path
) -> None:
    import resource
    import signal

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "autoplay_cli",
            "onboard",
            "--product-id",
            "acme-full",
            "--email",
            EMAIL,
            "--save-profile",
            "full",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **unkey_env(emulator), "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=60,
        preexec_fn=small_files,
    )
    assert proc.returncode == 1, proc.stderr
    assert "cannot write config file" in proc.stderr
    (key,) = keys_of(emulator, "acme-full")
    assert key.key in proc.stdout  # the key is still shown once
    assert not (isolated_env / "config.toml").exists()


def test_a_malformed_config_does_not_block_onboard_when_flags_give_everything(
    emulator: Any, isolated_env: Path
) -> None:
    (isolated_env / "config.toml").write_text("[default\n", encoding="utf-8")
    flags = [
        "--connector-url",
        emulator.url,
        "--admin-key",
        "adm_1234567890123",
        "--unkey-root-key",
        emulator.unkey_root_key,
        "--unkey-api-id",
        emulator.unkey_api_id,
        "--unkey-server-url",
        emulator.unkey_url,
    ]
    result = cli("onboard", "--product-id", "acme-mf", "--email", EMAIL, "--dry-run", *flags)
    assert result.exit_code == 0, result.stderr
    result = cli("onboard", "--product-id", "acme-mf", "--email", EMAIL, "--dry-run")
    assert result.exit_code == EXIT_CONFIG and "config.toml" in result.stderr


def test_a_huge_error_body_is_read_only_in_part(raw_http_server: Any) -> None:
    url = raw_http_server("huge")
    result = cli("onboard", "--connector-url", url, "--product-id", "acme", "--email", EMAIL)
    assert result.exit_code == 8, result.stderr  # HTTP 400: the connector rejected a value
    assert "HTTP 400" in result.stderr and len(result.stderr) < 1000
    # The client stopped reading after its cap; what went out is that plus socket buffers.
    assert raw_http_server.sent[url] < 20 * 1024 * 1024
