"""``autoplay onboard``: register a product and hand over its credentials once."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autoplay_cli import config
from autoplay_cli.cli import options, output
from autoplay_cli.errors import UsageError

if TYPE_CHECKING:
    from autoplay_cli.onboarding import OnboardResult


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _ask(
    value: str | None, label: str, flag: str, check: Callable[[str], str], also: str = ""
) -> str:
    """The given value, else a validated prompt on a TTY, else a usage error."""
    if value:
        return value
    if not stdin_is_tty():
        raise UsageError(f"missing {flag}", hint=f"pass {flag}{also} (prompted only on a terminal)")

    def proc(text: str) -> str:
        try:
            return check(text)
        except UsageError as exc:
            raise typer.BadParameter(exc.one_line()) from None

    # Prompts go to stderr: stdout carries only the result.
    return str(typer.prompt(label, value_proc=proc, err=True))


def onboard(
    product_id: Annotated[
        str | None, typer.Option("--product-id", help="Product id (the key's Unkey externalId).")
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Contact email of the product's owner.")
    ] = None,
    integration_type: Annotated[
        str, typer.Option("--integration-type", help="event_stream (default) or push.")
    ] = "event_stream",
    forward_url: Annotated[
        str | None, typer.Option("--forward-url", help="push: URL the connector POSTs payloads to.")
    ] = None,
    forward_secret: Annotated[
        str | None,
        typer.Option(
            "--forward-secret",
            help="push: signing secret (generated if omitted).",
        ),
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            "--webhook-secret",
            help="Ingest webhook secret (generated if omitted).",
        ),
    ] = None,
    connector_url: options.ConnectorUrl = None,
    admin_key: options.AdminKey = None,
    unkey_root_key: options.UnkeyRootKey = None,
    unkey_api_id: options.UnkeyApiId = None,
    unkey_server_url: options.UnkeyServerUrl = None,
    profile: options.Profile = None,
    force_reregister: Annotated[
        bool,
        typer.Option(
            "--force-reregister", help="Register again a product the connector already knows."
        ),
    ] = False,
    create_key: Annotated[
        bool,
        typer.Option(
            "--create-key",
            help="With --force-reregister: mint a new Unkey key if the connector returns none.",
        ),
    ] = False,
    key_name: Annotated[
        str | None, typer.Option("--key-name", help="Name of a key created in Unkey.")
    ] = None,
    key_prefix: Annotated[
        str, typer.Option("--key-prefix", help="Prefix of a key created in Unkey.")
    ] = "uk_live",
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="Write the credentials to this file (mode 0600)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing --env-file.")
    ] = False,
    save_profile: Annotated[
        str | None,
        typer.Option(
            "--save-profile", help="Also store connector URL, product id and key in this profile."
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the connector and Unkey.")
    ] = 15.0,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the request (secrets masked); send nothing.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log each step on stderr.")
    ] = False,
) -> None:
    """Register a product with the connector and show its stream key and webhook secret once."""
    from autoplay_cli import onboarding
    from autoplay_cli.onboarding import _validate

    output.configure_logging(verbose=verbose)
    settings = config.resolve(
        {
            "connector_url": connector_url,
            "admin_key": admin_key,
            "unkey_root_key": unkey_root_key,
            "unkey_api_id": unkey_api_id,
            "unkey_server_url": unkey_server_url,
        },
        profile=profile,
    )
    options = onboarding.OnboardOptions(
        connector_url=_ask(
            settings.get("connector_url"),
            "Connector URL",
            "--connector-url",
            lambda v: _validate.url(v, what="connector URL"),
            also=", set AUTOPLAY_CONNECTOR_URL or a profile's connector_url",
        ),
        product_id=_ask(product_id, "Product id", "--product-id", _validate.product_id),
        contact_email=_ask(email, "Contact email", "--email", _validate.email),
        integration_type=integration_type,
        webhook_secret=webhook_secret,
        forward_url=forward_url,
        forward_secret=forward_secret,
        admin_key=settings.get("admin_key"),
        force_reregister=force_reregister,
        create_key=create_key,
        key_name=key_name,
        key_prefix=key_prefix,
        unkey_root_key=settings.get("unkey_root_key"),
        unkey_api_id=settings.get("unkey_api_id"),
        unkey_server_url=settings.get("unkey_server_url"),
        timeout=timeout,
        env_file=env_file,
        force=force,
        save_profile=save_profile,
    )
    plan = onboarding.prepare(options)
    for warning in plan.warnings:
        output.warn(warning)
    if dry_run:
        if json_:
            output.emit_json(plan.describe())
        else:
            output.info("Dry run: nothing was sent.")
            output.emit_text("\n".join(plan.describe_lines()))
        return
    spin = output.stderr_is_tty() and not json_
    with (
        output.err().status(f"Registering {plan.options.product_id}…")
        if spin
        else contextlib.nullcontext()
    ):
        result = onboarding.onboard(plan)
    _render_result(result, json_)
    if result.error is not None:
        raise result.error


def _render_result(result: OnboardResult, json_: bool) -> None:
    if json_:
        output.emit_json(result.to_dict())
        return
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    rows = result.rows()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(no_wrap=True, overflow="ignore")
    for label, value in rows:
        grid.add_row(Text(label), Text(value))
    body = Table.grid()
    body.add_row(grid)
    for note in result.notes:
        body.add_row(Text("\n" + note))
    steps = [f"  {n}. {step}" for n, step in enumerate(result.next_steps, 1)]
    body.add_row(Text("\nNext steps:\n" + "\n".join(steps)))
    verb = "re-registered" if result.reregistered else "registered"
    panel = Panel(body, title=Text(f"Product {result.product_id} {verb}"), title_align="left")
    console = output.out()
    # Never fold a secret across lines: widen to the longest row rather than wrap it.
    widest = max(len(label) for label, _ in rows) + max(len(value) for _, value in rows) + 8
    width = console.width
    console.width = max(width, widest)
    try:
        console.print(panel)
    finally:
        console.width = width
