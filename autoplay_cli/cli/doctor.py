"""``autoplay doctor``: check a configuration end to end, one line per check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from autoplay_cli.cli import common_options as options
from autoplay_cli.cli import flags, output
from autoplay_cli.errors import AutoplayError

if TYPE_CHECKING:
    from autoplay_cli.onboarding import Check

_MARKS = {"pass": ("✓", "green"), "fail": ("✗", "red"), "skip": ("-", "dim")}


def _print_check(out: output.Output, spell: flags.Speller, check: Check) -> None:
    from rich.text import Text

    mark, style = _MARKS[check.status]
    line = Text()
    line.append(mark, style=style)
    line.append(f" {check.title}: ")
    line.append(flags.spelled(check.detail, spell))
    if check.status == "skip":
        line.append(" (skipped)", style="dim")
    out.out().print(line)
    if check.fix and check.status != "pass":
        fix = flags.spelled(check.fix, spell)
        out.out().print(
            Text(f"    fix: {fix}", style="yellow" if check.status == "fail" else "dim")
        )


def doctor(
    ctx: typer.Context,
    connector_url: options.ConnectorUrl = None,
    product_id: options.ProductId = None,
    token: options.Token = None,
    redis_url: options.RedisUrl = None,
    unkey_root_key: options.UnkeyRootKey = None,
    unkey_server_url: options.UnkeyServerUrl = None,
    profile: options.Profile = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Seconds to wait for the first event or heartbeat; every other check "
            "ends within 5 s, or SECONDS if lower.",
        ),
    ] = 20.0,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
) -> None:
    """Check the configuration, connector, stream key, Unkey and Redis; exit 0 only if all pass.

    \b
    Examples:
      autoplay doctor
      autoplay doctor --profile staging --timeout 5
      autoplay doctor --json | jq '.checks[] | select(.status == "fail")'
    """
    import functools

    from autoplay_cli import onboarding

    out = output.of(ctx)
    if not timeout > 0:
        raise typer.BadParameter("must be a positive number of seconds", param_hint="--timeout")
    values = {
        "connector_url": connector_url,
        "product_id": product_id,
        "token": token,
        "redis_url": redis_url,
        "unkey_root_key": unkey_root_key,
        "unkey_server_url": unkey_server_url,
    }
    spell = flags.of(ctx)
    report = onboarding.run_checks(
        values,
        profile=profile,
        stream_timeout=timeout,
        http_timeout=min(timeout, onboarding.DOCTOR_HTTP_TIMEOUT),
        on_check=None if json_ else functools.partial(_print_check, out, spell),
    )
    if json_:
        data = report.to_dict()
        for check in data["checks"]:
            for key in ("detail", "fix"):
                if check[key]:
                    check[key] = flags.spelled(check[key], spell)
        output.emit_json(data)
    if not report.ok:
        failed = report.failed
        raise AutoplayError(
            f"{len(failed)} of {len(report.checks)} checks failed "
            f"({', '.join(c.id for c in failed)})",
            hint="apply the fixes shown and run `autoplay doctor` again",
        )
    if not json_:
        out.err().print(f"All {len(report.checks)} checks passed or were skipped.")
