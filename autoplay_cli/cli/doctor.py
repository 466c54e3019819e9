"""``autoplay doctor``: check a configuration end to end, one line per check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from autoplay_cli import config
from autoplay_cli.cli import output
from autoplay_cli.errors import AutoplayError

if TYPE_CHECKING:
    from autoplay_cli.onboarding.checks import Check

_MARKS = {"pass": ("✓", "green"), "fail": ("✗", "red"), "skip": ("-", "dim")}


def _print_check(check: Check) -> None:
    from rich.text import Text

    mark, style = _MARKS[check.status]
    line = Text()
    line.append(mark, style=style)
    line.append(f" {check.title}: ")
    line.append(check.detail)
    if check.status == "skip":
        line.append(" (skipped)", style="dim")
    output.out().print(line)
    if check.fix and check.status != "pass":
        output.out().print(
            Text(f"    fix: {check.fix}", style="yellow" if check.status == "fail" else "dim")
        )


def doctor(
    connector_url: Annotated[
        str | None, typer.Option("--connector-url", help="Connector base URL.")
    ] = None,
    product_id: Annotated[str | None, typer.Option("--product-id", help="Product id.")] = None,
    token: Annotated[str | None, typer.Option("--token", help="Stream key to check.")] = None,
    redis_url: Annotated[
        str | None, typer.Option("--redis-url", help="Redis URL to check (optional).")
    ] = None,
    unkey_root_key: Annotated[
        str | None, typer.Option("--unkey-root-key", help="Unkey root key (enables verify).")
    ] = None,
    unkey_server_url: Annotated[
        str | None, typer.Option("--unkey-server-url", help="Unkey API base URL.")
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", envvar=config.PROFILE_ENV, help="Profile to check."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the first event or heartbeat.")
    ] = 20.0,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
) -> None:
    """Check the configuration, connector, stream key, Unkey and Redis; exit 0 only if all pass."""
    from autoplay_cli.onboarding import checks

    if not timeout > 0:
        raise typer.BadParameter("must be a positive number of seconds", param_hint="--timeout")
    flags = {
        "connector_url": connector_url,
        "product_id": product_id,
        "token": token,
        "redis_url": redis_url,
        "unkey_root_key": unkey_root_key,
        "unkey_server_url": unkey_server_url,
    }
    report = checks.run_checks(
        flags, profile=profile, stream_timeout=timeout, on_check=None if json_ else _print_check
    )
    if json_:
        output.emit_json(report.to_dict())
    if not report.ok:
        failed = report.failed
        raise AutoplayError(
            f"{len(failed)} of {len(report.checks)} checks failed "
            f"({', '.join(c.id for c in failed)})",
            hint="apply the fixes shown and run `autoplay doctor` again",
        )
    if not json_:
        output.info(f"All {len(report.checks)} checks passed or were skipped.")
