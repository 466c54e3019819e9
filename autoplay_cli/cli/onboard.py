"""``autoplay onboard``: register a product and hand over its credentials once."""

from __future__ import annotations

import contextlib
import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autoplay_cli.cli import common_options as options
from autoplay_cli.cli import flags as flag_names
from autoplay_cli.cli import output
from autoplay_cli.errors import UsageError

if TYPE_CHECKING:
    from autoplay_cli.onboarding import RequiredInput


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _ask(required: RequiredInput, spell: flag_names.Speller) -> str:
    """A validated prompt on a terminal; without one, a missing value is a usage error."""
    if not stdin_is_tty():
        raise required.missing()

    def proc(text: str) -> str:
        try:
            return required.check(text)
        except UsageError as exc:
            raise typer.BadParameter(exc.one_line(spell)) from None

    try:
        # Prompts go to stderr: stdout carries only the result.
        return str(typer.prompt(required.label, value_proc=proc, err=True))
    except typer.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            # The cursor is still on the prompt line: end it, so the report that
            # follows starts a line of its own (not "^CInterrupted.").
            sys.stderr.write("\n")
            raise KeyboardInterrupt from None  # Ctrl-C exits 130, as everywhere else
        raise


def onboard(
    ctx: typer.Context,
    product_id: Annotated[
        str | None, typer.Option("--product-id", help="Product id (the key's Unkey externalId).")
    ] = None,
    contact_email: Annotated[
        str | None, typer.Option("--email", help="Contact email of the product's owner.")
    ] = None,
    integration_type: Annotated[
        str,
        typer.Option(
            "--integration-type",
            metavar="[event_stream|push]",
            help="event_stream: the SSE stream (default); push: the connector POSTs payloads.",
        ),
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
        bool, typer.Option("--force", help="Replace an existing --env-file or --save-profile.")
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
    """Register a product with the connector and show its stream key and webhook secret once.

    \b
    Examples:
      autoplay onboard --product-id acme-app --email ops@acme.io --dry-run
      autoplay onboard --product-id acme-app --email ops@acme.io --env-file acme.env
      autoplay onboard --product-id acme-app --email ops@acme.io --save-profile acme --json
    """
    flags = dict(locals())  # every option, named as OnboardOptions' fields
    for name in ("ctx", "profile", "json_", "dry_run", "verbose"):
        del flags[name]
    from autoplay_cli import onboarding
    from autoplay_cli.cli.onboard_render import render_dry_run, render_result

    out = output.of(ctx)
    out.set_verbose(verbose)
    spell = flag_names.of(ctx)
    ask = functools.partial(_ask, spell=spell)
    plan = onboarding.prepare(onboarding.resolve_options(flags, profile=profile, ask=ask))
    for warning in plan.warnings:
        out.warn(flag_names.spelled(warning, spell))
    if dry_run:
        render_dry_run(plan, json_, spell)
        return
    spin = output.stderr_is_tty() and not json_
    with (
        out.err().status(f"Registering {plan.options.product_id}…")
        if spin
        else contextlib.nullcontext()
    ):
        result = onboarding.onboard(plan)
    render_result(result, json_, out, spell)
    if result.error is not None:
        raise result.error
