"""docs/relay.md: the receiver snippet works against the real relay, over real HTTP."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from autoplay_cli.cli.app import app

from .conftest import EXAMPLES, ROOT

DOC = (ROOT / "docs" / "relay.md").read_text(encoding="utf-8")
SECRET = "whsec_docs_snippet_0123456789"


def _snippet() -> str:
    match = re.search(r"<!-- receiver -->\n```python\n(.*?)```", DOC, re.S)
    assert match, "docs/relay.md lost its receiver snippet"
    return match.group(1)


def test_the_receiver_snippet_receives_verified_deliveries_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setenv("AUTOPLAY_RELAY_SECRET", SECRET)
    namespace: dict[str, Any] = {}
    exec(compile(_snippet(), "docs/relay.md", "exec"), namespace)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(namespace["app"], host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}/autoplay"
        combined = EXAMPLES / "simulate" / "combined.ndjson"
        args = ["relay", "--replay", str(combined), "--to", url, "--dead-letter", str(tmp_path / "d")]
        runner = CliRunner()
        first = runner.invoke(app, args)
        again = runner.invoke(app, args)  # the same deliveries again: same ids
        assert first.exit_code == 0 and again.exit_code == 0, first.stderr
        unsigned = httpx.post(url, content=b'{"id":"x"}')
        assert unsigned.status_code == 401
    finally:
        server.should_exit = True
        thread.join(10)
    expected = [
        json.loads(x)
        for x in CliRunner().invoke(app, ["relay", "--replay", str(combined)]).stdout.splitlines()
    ]
    assert namespace["received"] == expected and len(expected) >= 3


def test_the_docs_show_one_example_per_destination_and_the_sdk_section() -> None:
    assert "autoplay relay --to - " in DOC
    assert "autoplay relay --to https://" in DOC
    assert "--to intercom" in DOC
    assert "## From the SDK to the relay" in DOC
    assert "what a crash loses" in DOC.lower() or "a crash (kill -9" in DOC.lower()
