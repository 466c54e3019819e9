"""``autoplay relay``: run the proactive pipeline live, from the stream to a chatbot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autoplay_cli import settings as settings_config
from autoplay_cli.cli import common_options as options
from autoplay_cli.cli import flags
from autoplay_cli.errors import EXIT_INTERRUPTED, EXIT_PARTIAL


def relay(
    ctx: typer.Context,
    action: Annotated[
        str | None,
        typer.Argument(
            metavar="[status]",
            help="'status': show a relay group's state (with --store and --product-id).",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="DEST",
            help="Where deliveries go: '-' (NDJSON on stdout), an https:// webhook, or "
            "'intercom' (token from INTERCOM_ACCESS_TOKEN).",
        ),
    ] = "-",
    to_secret: Annotated[
        str | None,
        typer.Option(
            "--to-secret",
            envvar="AUTOPLAY_RELAY_SECRET",
            show_envvar=False,
            help="Secret signing webhook deliveries (X-Autoplay-Signature). "
            "Env: AUTOPLAY_RELAY_SECRET.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            metavar="FILE",
            help="Trigger config (TOML or JSON), as for `simulate`; built-in defaults otherwise.",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        str,
        typer.Option(
            "--store",
            metavar="URL",
            help="'memory', or redis://… to keep state, outbox and checkpoint across restarts.",
        ),
    ] = "memory",
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            metavar="FILE",
            help="Read a recording (or a simulate scenario) instead of the stream.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int | None, typer.Option(min=1, help="Stop after N stream events.", show_default=False)
    ] = None,
    max_time: Annotated[
        float | None,
        typer.Option(min=0.001, metavar="SECONDS", help="Stop after SECONDS.", show_default=False),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Decide, but deliver to stdout only (and keep no state)."),
    ] = False,
    dead_letter: Annotated[
        Path | None,
        typer.Option(
            "--dead-letter",
            metavar="FILE",
            help="NDJSON file for deliveries that exhausted their retries "
            "(default: in the user data dir).",
            show_default=False,
        ),
    ] = None,
    resend_dead_letters: Annotated[
        Path | None,
        typer.Option(
            "--resend-dead-letters",
            metavar="FILE",
            help="Send the deliveries of a dead-letter file to --to again, then exit.",
            show_default=False,
        ),
    ] = None,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Attempts per delivery before it is dead-lettered.")
    ] = 6,
    drain_timeout: Annotated[
        float,
        typer.Option(
            min=0, metavar="SECONDS", help="On SIGINT/SIGTERM, keep delivering for up to SECONDS."
        ),
    ] = 10.0,
    intercom_admin_id: Annotated[
        str | None,
        typer.Option(
            "--intercom-admin-id",
            metavar="ID",
            help="With --to intercom: the admin who writes the notes and messages.",
            show_default=False,
        ),
    ] = None,
    intercom_client_secret: Annotated[
        str | None,
        typer.Option(
            "--intercom-client-secret",
            envvar="INTERCOM_CLIENT_SECRET",
            show_envvar=False,
            help="Verify Intercom's webhook notifications (X-Hub-Signature) on the chatbot "
            "webhook. Env: INTERCOM_CLIENT_SECRET.",
            show_default=False,
        ),
    ] = None,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            metavar="HOST:PORT",
            help="Serve the chatbot webhook, live activity, MCP, /healthz and /metrics here "
            "(live runs default to 127.0.0.1:8788; 'off' disables).",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="AUTOPLAY_RELAY_API_KEY",
            show_envvar=False,
            help="Bearer key for the live-activity, gate and MCP endpoints. "
            "Env: AUTOPLAY_RELAY_API_KEY.",
            show_default=False,
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Logs on stderr as NDJSON.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every state transition too.")
    ] = False,
    idle_timeout: options.IdleTimeout = 45.0,
    max_retries: options.MaxRetries = None,
    last_event_id: Annotated[
        str | None,
        typer.Option(help="Resume after this event id (a Redis store's checkpoint wins)."),
    ] = None,
    group: Annotated[
        bool,
        typer.Option(
            "--group", help="Run as one member of the product's relay group (needs redis://)."
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Start N local group members as child processes.", show_default=False
        ),
    ] = None,
    partitions: Annotated[
        int, typer.Option(min=1, max=1024, help="Group partitions (fixed when a group starts).")
    ] = 16,
    lease_ttl: Annotated[
        float,
        typer.Option(min=0.5, metavar="SECONDS", help="Lease time of the stream and partitions."),
    ] = 10.0,
    member: Annotated[
        str | None,
        typer.Option(help="This member's name (default: host-pid).", show_default=False),
    ] = None,
    audit: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Group members append one NDJSON line per applied event to DIR/<member>.ndjson.",
            show_default=False,
        ),
    ] = None,
    connector_url: options.ConnectorUrl = None,
    product_id: options.ProductId = None,
    token: options.Token = None,
    profile: options.Profile = None,
) -> None:
    """Run the proactive pipeline live: stream -> triggers -> offers and notes -> chatbot.

    \b
    Examples:
      autoplay relay --to - -c triggers.toml
      autoplay relay --to https://bot.example.com/autoplay --store redis://127.0.0.1:6379/0
      autoplay relay --replay recording.ndjson --to -   # the offers `simulate` shows
    """
    from autoplay_cli.cli import relay_render as render
    from autoplay_cli.relay import RelayOptions, validate

    render.configure(json_=json_, verbose=verbose, spell=flags.of(ctx))
    # -- relay groups (docs/scaling.md) --------------------------------------------------
    from autoplay_cli.cli import relay_group

    if action == "status":
        relay_group.status(store, _status_product(product_id, profile), json_)
        return
    if action is not None:
        raise typer.BadParameter(f"unknown action {action!r} (expected 'status')")
    if workers is not None:
        import sys

        from autoplay_cli.relay.group import default_member_name

        argv = sys.argv[sys.argv.index("relay") + 1 :] if "relay" in sys.argv else []
        base = member or default_member_name()
        raise typer.Exit(relay_group.supervise(argv, workers, base))
    # -- end of relay groups -------------------------------------------------------------
    if resend_dead_letters is not None:
        _, failed = render.resend(
            resend_dead_letters, to, to_secret, max_attempts, intercom_admin_id
        )
        raise typer.Exit(EXIT_PARTIAL if failed else 0)
    run_options = RelayOptions(
        to=to,
        to_secret=to_secret,
        config=config,
        store=store,
        replay=replay,
        product_id=product_id,
        count=count,
        max_time=max_time,
        dry_run=dry_run,
        dead_letter=dead_letter,
        max_attempts=max_attempts,
        drain_timeout=drain_timeout,
        listen=_listen_address(listen, live=replay is None),
        intercom_admin_id=intercom_admin_id,
        api_key=api_key,
    )
    if replay is None:
        from autoplay_cli.stream import StreamConfig

        settings = settings_config.resolve(
            {"connector_url": connector_url, "product_id": product_id, "token": token},
            profile=profile,
        )
        # Everything checkable offline is checked before the connection is made.
        run_options.stream = StreamConfig(
            settings.require("connector_url"),
            settings.require("product_id"),
            settings.require("token"),
            idle_timeout=idle_timeout,
            max_retries=max_retries,
            last_event_id=last_event_id,
        )
    validate(run_options)
    if group or audit is not None:
        from autoplay_cli.relay.group import GroupOptions, default_member_name

        group_options = GroupOptions(
            member=member or default_member_name(),
            partitions=partitions,
            lease_ttl=lease_ttl,
            audit_dir=audit,
        )
        done = relay_group.run_member(run_options, group_options)
        if done.signal == "SIGINT":
            raise typer.Exit(EXIT_INTERRUPTED)
        return
    summary = render.run(run_options, json_=json_)
    if summary.signal == "SIGINT":
        raise typer.Exit(EXIT_INTERRUPTED)


def _listen_address(listen: str | None, *, live: bool) -> str | None:
    """``--listen``: 'off' disables it; unset, a live run listens on the default address."""
    from autoplay_cli.relay import DEFAULT_LISTEN

    if listen is not None and listen.lower() == "off":
        return None
    if listen is None:
        return DEFAULT_LISTEN if live else None
    return listen


def _status_product(product_id: str | None, profile: str | None) -> str:
    settings = settings_config.resolve({"product_id": product_id}, profile=profile)
    return str(settings.require("product_id"))
