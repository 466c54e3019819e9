"""``autoplay emulate``: serve a local fake Autoplay connector (and fake Unkey) until Ctrl-C."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Annotated

import typer

from autoplay_cli.cli import output

if TYPE_CHECKING:
    from autoplay_cli.emulator import EmulatorHandle


def _ready(handle: EmulatorHandle, *, json_: bool, env: bool) -> None:
    """Say where to connect: once, on stdout, before serving."""
    opts = handle.emulator.options
    if not handle.loopback:  # known only once bound: a name may resolve to loopback
        output.warn(
            f"bound to {handle.host}: the fake connector and its keys are reachable "
            "from other machines"
        )
    pace = f"{opts.rate:g} events/s" if opts.rate else "as fast as read"
    if json_:
        output.emit_json(handle.describe())
    elif env:
        output.emit_text("\n".join(f"export {k}={shlex.quote(v)}" for k, v in handle.env().items()))
    else:
        output.emit_text(
            f"Autoplay emulator (a local FAKE connector) on {handle.url}\n"
            f"  stream URL      {handle.stream_url}\n"
            f"  product id      {handle.product_id}\n"
            f"  stream key      {handle.token}\n"
            f"  ingest webhook  {handle.webhook_url}  (X-PostHog-Secret {handle.webhook_secret})\n"
            f"  fake Unkey      {handle.unkey_url}  (api id {handle.unkey_api_id}, "
            f"root key {handle.unkey_root_key})\n"
            f"  traffic         scenario {opts.scenario or 'mixed'}, seed {opts.seed}, "
            f"{pace}; ring buffer {opts.ring_size} events"
        )
    output.info("Serving; press Ctrl-C to stop.")


def emulate(
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Interface to bind (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="PORT", help="Port to listen on; 0 picks a free one.")
    ] = 0,
    product_id: Annotated[
        str, typer.Option("--product-id", metavar="ID", help="Product served from the start.")
    ] = "demo",
    token: Annotated[
        str | None,
        typer.Option(
            metavar="KEY",
            help="Stream key for that product (default: a fresh random uk_local_… key).",
        ),
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            "--webhook-secret",
            metavar="SECRET",
            help="X-PostHog-Secret of that product's ingest webhook (default: random).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of the synthetic traffic.")] = 0,
    rate: Annotated[
        float,
        typer.Option(
            metavar="EVENTS_PER_S",
            help="Events per second; 0 = as fast as the slowest subscriber reads.",
        ),
    ] = 5.0,
    sessions: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="Serve this many sessions, then heartbeats only (default: endless)."
        ),
    ] = None,
    max_events: Annotated[
        int | None,
        typer.Option("--max-events", metavar="N", help="Stop producing after this many events."),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            metavar="NAME|FILE",
            help="mixed (default), hesitant, stuck, confident, anonymous, or a .toml/.json file.",
        ),
    ] = None,
    drop_every: Annotated[
        int | None,
        typer.Option("--drop-every", metavar="N", help="Fault: end each response after N events."),
    ] = None,
    stall_after: Annotated[
        int | None,
        typer.Option(
            "--stall-after",
            metavar="N",
            help="Fault: after N events, send nothing more but keep the connection.",
        ),
    ] = None,
    malformed_every: Annotated[
        int | None,
        typer.Option(
            "--malformed-every", metavar="N", help="Fault: every N-th event's data is not JSON."
        ),
    ] = None,
    latency_ms: Annotated[
        float,
        typer.Option(
            "--latency-ms", metavar="MS", help="Fault: delay every response and every write."
        ),
    ] = 0.0,
    heartbeat: Annotated[
        float,
        typer.Option(metavar="SECONDS", help="Seconds between `event: heartbeat` frames."),
    ] = 15.0,
    ring_size: Annotated[
        int,
        typer.Option(
            "--ring-size", metavar="N", help="Events kept per product for Last-Event-ID resume."
        ),
    ] = 10_000,
    admin_key: Annotated[
        str | None,
        typer.Option(
            "--admin-key",
            metavar="KEY",
            help="Require this X-Admin-Key on POST /products (default: open).",
        ),
    ] = None,
    server_keys: Annotated[
        bool,
        typer.Option(
            "--server-keys/--no-server-keys",
            help="POST /products creates the stream key (newer connectors) or not (older).",
        ),
    ] = True,
    json_: Annotated[
        bool, typer.Option("--json", help="Print where to connect as one JSON object.")
    ] = False,
    env: Annotated[
        bool, typer.Option("--env", help="Print `export AUTOPLAY_*=…` (and UNKEY_*) lines instead.")
    ] = False,
) -> None:
    """Serve a local fake connector: SSE stream, POST /products, ingest webhook, fake Unkey.

    Not the real connector nor the real Unkey: keys live in memory, in plain text.
    Binds loopback by default; Ctrl-C stops it (exit 130).

    \b
    Examples:
      autoplay emulate --port 8787 --token uk_local_dev --rate 50
      autoplay emulate --env > emulator.env    # then: source emulator.env
      autoplay emulate --scenario stuck --drop-every 100
    """
    from autoplay_cli.emulator import EmulatorOptions, serve
    from autoplay_cli.errors import UsageError

    if json_ and env:
        raise UsageError("--json and --env cannot be combined", hint="pick one output form")
    options = EmulatorOptions(
        host=host,
        port=port,
        product_id=product_id,
        seed=seed,
        rate=rate,
        sessions=sessions,
        max_events=max_events,
        scenario=scenario,
        drop_every=drop_every,
        stall_after=stall_after,
        malformed_every=malformed_every,
        latency_ms=latency_ms,
        heartbeat_s=heartbeat,
        keepalive_s=min(5.0, heartbeat),
        ring_size=ring_size,
        admin_key=admin_key,
        create_keys=server_keys,
    )
    if token is not None:
        options = options.with_(token=token)
    if webhook_secret is not None:
        options = options.with_(webhook_secret=webhook_secret)
    serve(options.validated(), lambda handle: _ready(handle, json_=json_, env=env))
