"""``autoplay tail``: follow a product's activity stream (or replay a recording)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from autoplay_cli import config
from autoplay_cli.cli import options
from autoplay_cli.errors import UsageError


class PayloadType(StrEnum):
    actions = "actions"
    summary = "summary"


def tail(
    session: Annotated[
        list[str] | None, typer.Option("--session", help="Only this session (repeatable).")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Only this user id.")] = None,
    email: Annotated[str | None, typer.Option(help="Only this email.")] = None,
    type_: Annotated[
        PayloadType | None, typer.Option("--type", help="Only actions or only summaries.")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Canonical URL substring, or glob when it has * ? [.")
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="One JSON envelope per line on stdout.")
    ] = False,
    text: Annotated[bool, typer.Option("--text", help="The to_text() form.")] = False,
    record: Annotated[
        Path | None, typer.Option(help="Append every received payload to this NDJSON file.")
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(help="Read a recording (or saved --json output) instead of the network."),
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0, help="Replay pace: 0 = as fast as possible, 1 = original.")
    ] = 0.0,
    forward_to: Annotated[
        str | None, typer.Option(help="POST each shown payload here, as the connector's push mode.")
    ] = None,
    forward_secret: Annotated[
        str | None,
        typer.Option(
            envvar="AUTOPLAY_FORWARD_SECRET",
            show_envvar=False,
            help="Sign forwarded bodies (X-Connector-Signature). Env: AUTOPLAY_FORWARD_SECRET.",
        ),
    ] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Exit 0 after N shown events.")] = None,
    until_idle: Annotated[
        float | None,
        typer.Option(
            min=0.001, metavar="SECONDS", help="Exit 0 after SECONDS without a shown event."
        ),
    ] = None,
    max_time: Annotated[
        float | None, typer.Option(min=0.001, metavar="SECONDS", help="Exit 0 after SECONDS.")
    ] = None,
    idle_timeout: Annotated[
        float,
        typer.Option(
            min=0, metavar="SECONDS", help="Reconnect after SECONDS without any byte (0 = never)."
        ),
    ] = 45.0,
    max_retries: Annotated[
        int | None,
        typer.Option(
            min=0, help="Give up (exit 6) after N failed reconnects in a row (default: never)."
        ),
    ] = None,
    last_event_id: Annotated[str | None, typer.Option(help="Resume after this event id.")] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show connects, malformed and unknown frames.")
    ] = False,
    connector_url: options.ConnectorUrl = None,
    product_id: options.ProductId = None,
    token: options.Token = None,
    profile: options.Profile = None,
) -> None:
    """Follow the live activity stream; filter, record, replay or forward it."""
    if json_ and text:
        raise UsageError("--json and --text cannot be combined", hint="pick one output form")
    from autoplay_cli.cli.output import configure_logging
    from autoplay_cli.cli.tail_render import make_sink
    from autoplay_cli.stream.client import StreamConfig
    from autoplay_cli.stream.tail import PayloadFilter, TailRequest, TailSummary
    from autoplay_cli.stream.tail import tail as run_tail

    configure_logging(verbose)
    stream = None
    if replay is None:
        settings = config.resolve(
            {"connector_url": connector_url, "product_id": product_id, "token": token},
            profile=profile,
        )
        base, product, key = settings.require_all("connector_url", "product_id", "token")
        stream = StreamConfig(
            base,
            product,
            key,
            idle_timeout=idle_timeout,
            max_retries=max_retries,
            last_event_id=last_event_id,
        )
    request = TailRequest(
        config=stream,
        replay=replay,
        speed=speed,
        filter=PayloadFilter(
            sessions=frozenset(session or ()),
            user=user,
            email=email,
            type=type_.value if type_ else None,
            url=url,
        ),
        count=count,
        until_idle=until_idle,
        max_time=max_time,
        record=record,
        forward_to=forward_to,
        forward_secret=forward_secret,
    )
    sink = make_sink("json" if json_ else "text" if text else "human", verbose)
    summary = TailSummary()
    try:
        run_tail(request, sink, summary)
    except KeyboardInterrupt:
        sink.summary(summary)
        raise
    sink.summary(summary)
