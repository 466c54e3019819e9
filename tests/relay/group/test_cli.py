"""`autoplay relay --group` and `autoplay relay status` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.errors import EXIT_NOT_FOUND, EXIT_USAGE

from ..conftest import EXAMPLES

runner = CliRunner()
REC = EXAMPLES / "simulate" / "recording.ndjson"
TRIGGERS = EXAMPLES / "simulate" / "triggers.toml"


def db(url: str, n: int) -> str:
    return url.rsplit("/", 1)[0] + f"/{n}"


def test_a_group_needs_a_shared_store() -> None:
    result = runner.invoke(app, ["relay", "--group", "--replay", str(REC)])
    assert result.exit_code == EXIT_USAGE
    assert "--group needs a shared store" in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_action_is_a_usage_error() -> None:
    result = runner.invoke(app, ["relay", "stats", "--replay", str(REC)])
    assert result.exit_code == EXIT_USAGE
    assert "unknown action 'stats'" in result.stderr


def test_status_of_a_product_without_a_group_says_so(redis_url: str) -> None:
    result = runner.invoke(
        app, ["relay", "status", "--store", db(redis_url, 12), "--product-id", "nobody"]
    )
    assert result.exit_code == EXIT_NOT_FOUND
    assert "no relay group for product 'nobody'" in result.stderr


def test_a_member_run_then_status_as_json(redis_url: str, tmp_path: Path) -> None:
    url = db(redis_url, 13)
    audit = tmp_path / "audit"
    run = runner.invoke(
        app,
        ["relay", "--group", "--replay", str(REC), "-c", str(TRIGGERS), "--store", url,
         "--to", "-", "--member", "solo", "--partitions", "4", "--lease-ttl", "0.5",
         "--audit", str(audit), "--max-time", "3"],
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    deliveries = [json.loads(x) for x in run.stdout.splitlines()]
    assert deliveries and all(d["product_id"] == "demo" for d in deliveries)
    assert "relay member solo: appended 8, applied 8" in run.stderr
    lines = [json.loads(x) for x in (audit / "solo.ndjson").read_text().splitlines()]
    assert sorted(int(x["event_id"]) for x in lines) == list(range(1, 9))
    assert all(x["member"] == "solo" and 0 <= x["partition"] < 4 for x in lines)
    status = runner.invoke(
        app, ["relay", "status", "--store", url, "--product-id", "demo", "--json"]
    )
    assert status.exit_code == 0, status.stderr
    st = json.loads(status.stdout)
    assert st["checkpoint"] == "8" and st["epoch"] is True
    assert st["holder"] is None  # a member that stopped released its leases
    assert len(st["partitions"]) == 4 and all(p["owner"] is None for p in st["partitions"])
    assert st["lag"] == st["pending"] == st["outbox"] == st["lost"] == 0
    assert [m["member"] for m in st["members"]] == ["solo"]
    assert st["members"][0]["stats"]["applied"] == 8
    table = runner.invoke(app, ["relay", "status", "--store", url, "--product-id", "demo"])
    assert table.exit_code == 0 and "checkpoint 8" in table.stdout and "(free)" in table.stdout
