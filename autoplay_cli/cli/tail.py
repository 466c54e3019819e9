"""``autoplay tail``: follow a product's activity stream (or replay a recording)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from autoplay_cli import settings as config
from autoplay_cli.cli import common_options as options
from autoplay_cli.cli import flags
from autoplay_cli.errors import UsageError

#: Exit code of a run ended by SIGTERM (after the summary), as shells report it.
EXIT_TERMINATED = 128 + signal.SIGTERM


class PayloadType(StrEnum):
    actions = "actions"
    summary = "summary"


def tail(
    ctx: typer.Context,
    session: Annotated[
        list[str] | None,
        typer.Option("--session", metavar="SESSION_ID", help="Only this session (repeatable)."),
    ] = None,
    user: Annotated[str | None, typer.Option(metavar="USER_ID", help="Only this user id.")] = None,
    email: Annotated[str | None, typer.Option(metavar="EMAIL", help="Only this email.")] = None,
    type_: Annotated[
        PayloadType | None,
        typer.Option("--type", metavar="[actions|summary]", help="Only actions or only summaries."),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(metavar="PATTERN", help="Canonical URL substring, or glob when it has * ? [."),
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="One JSON envelope per line on stdout.")
    ] = False,
    text: Annotated[bool, typer.Option("--text", help="Each payload's plain text form.")] = False,
    record: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="Append every received payload to this recording (NDJSON)."
        ),
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Read a recording (or saved --json output) instead of the network.",
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0,
            metavar="FACTOR",
            help="Replay pace: 0 = as fast as possible, 1 = original, 2 = twice as fast.",
        ),
    ] = 0.0,
    forward_to: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="POST each shown payload here, as the connector's push mode."
        ),
    ] = None,
    forward_secret: Annotated[
        str | None,
        typer.Option(
            envvar="AUTOPLAY_FORWARD_SECRET",
            show_envvar=False,
            metavar="SECRET",
            help="Sign forwarded bodies (X-Connector-Signature). Env: AUTOPLAY_FORWARD_SECRET.",
        ),
    ] = None,
    count: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Exit 0 after N shown events.")
    ] = None,
    until_idle: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            metavar="SECONDS",
            help="Exit 0 once SECONDS pass without a new event to show.",
        ),
    ] = None,
    max_time: Annotated[
        float | None, typer.Option(min=0.001, metavar="SECONDS", help="Exit 0 after SECONDS.")
    ] = None,
    idle_timeout: options.IdleTimeout = 45.0,
    max_retries: options.MaxRetries = None,
    last_event_id: Annotated[
        str | None, typer.Option(metavar="EVENT_ID", help="Resume after this event id.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show connects, malformed and unknown frames.")
    ] = False,
    connector_url: options.ConnectorUrl = None,
    product_id: options.ProductId = None,
    token: options.Token = None,
    profile: options.Profile = None,
) -> None:
    """Follow the live activity stream; filter, record, replay or forward it.

    \b
    Examples:
      autoplay tail --session sess_d2fb1bc5302c       # one user's session, live
      autoplay tail --record run.ndjson --max-time 30 # watch 30 s, keep a recording
      autoplay tail --replay run.ndjson --json | jq .payload.type
    """
    if json_ and text:
        raise UsageError("--json and --text cannot be combined", hint="pick one output form")
    from autoplay_cli.cli.output import configure_logging
    from autoplay_cli.cli.tail_render import make_sink
    from autoplay_cli.errors import AutoplayError
    from autoplay_cli.stream import (
        PayloadFilter,
        StreamConfig,
        TailRequest,
        TailSummary,
        check_forward_url,
        header_safe,
        run_tail,
    )

    if last_event_id and not header_safe(last_event_id):
        raise UsageError(
            f"--last-event-id {last_event_id!r} cannot be sent in an HTTP header",
            hint="event ids to resume from are printable ASCII without edge spaces",
        )
    if forward_to is not None:
        check_forward_url(forward_to)
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
    sink.spell = flags.of(ctx)  # notices name settings; say them as this command's flags
    summary = TailSummary()
    terminated: list[int] = []
    try:
        with _sigterm_as_interrupt(terminated), _tuned_for_throughput():
            run_tail(request, sink, summary)
    except KeyboardInterrupt:
        if terminated:
            summary.stop_reason = "SIGTERM"
            sink.summary(summary)
            raise typer.Exit(EXIT_TERMINATED) from None
        sink.summary(summary)
        raise
    except AutoplayError:
        # Every fatal exit says how far the run got (and the id to resume from); the
        # error line follows.
        summary.stop_reason = "by the error below"
        sink.summary(summary)
        raise
    sink.summary(summary)


@contextlib.contextmanager
def _sigterm_as_interrupt(terminated: list[int]) -> Iterator[None]:
    """SIGTERM stops the run like Ctrl-C (at an await, so nothing half-handled), then exits 143.

    asyncio turns SIGINT into a cancellation of the run; SIGTERM is passed on as one.
    The previous handler is restored afterwards.
    """

    def on_sigterm(signum: int, frame: Any) -> None:
        terminated.append(signum)
        signal.raise_signal(signal.SIGINT)

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _tuned_for_throughput() -> Iterator[None]:
    """Process-wide tunings worth having for a whole tail, restored when it ends.

    They live here, in the command, and not in the library (which changes no
    process-wide state). The collector: objects alive at the start (modules, models,
    the payload validator) are frozen out of its generations, since rescanning them
    every few thousand events is pure cost; and the young generation is collected
    every 20 000 allocations rather than 700, so an event's short-lived objects are
    mostly freed by reference counting first. Network reads: 256 KiB instead of
    httpcore's 64 KiB, since asyncio already receives 256 KiB at a time and anyio
    copies what is left of it for each smaller read (BENCHMARKS.md has the gain).
    """
    import httpcore

    from autoplay_cli.cli.tuning import HOT_LOOP_YOUNG, quiet_collector

    connection = httpcore.AsyncHTTP11Connection
    before: Any = getattr(connection, "READ_NUM_BYTES", None)
    larger = isinstance(before, int) and before < 256 * 1024
    if larger:  # an httpcore that reads differently is left alone
        connection.READ_NUM_BYTES = 256 * 1024  # type: ignore[attr-defined]
    try:
        with quiet_collector(HOT_LOOP_YOUNG):
            yield
    finally:
        if larger:
            connection.READ_NUM_BYTES = before  # type: ignore[attr-defined]
