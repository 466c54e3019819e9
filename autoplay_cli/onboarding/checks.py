"""``doctor``'s checks: configuration, connector, stream key, Unkey verification, Redis.

Each check yields one :class:`Check` with a status (pass, fail, skip), what was
seen, and for a failure the fix. A check that depends on a failed one is
skipped rather than failed again. No detail ever contains a secret.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from autoplay_cli import settings as config
from autoplay_cli.errors import (
    AutoplayError,
    ConfigError,
    ServiceUnavailableError,
    mask_url,
    redact,
)

log = logging.getLogger(__name__)

PASS, FAIL, SKIP = "pass", "fail", "skip"
DEFAULT_STREAM_TIMEOUT = 20.0
DEFAULT_HTTP_TIMEOUT = 5.0
REQUIRED = ("connector_url", "product_id", "token")


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    id: str
    title: str
    status: str
    detail: str
    fix: str | None = None


@dataclass
class DoctorReport:
    """Every check, in order, and where the configuration came from."""

    profile: str | None
    config_file: str | None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "profile": self.profile,
            "config_file": self.config_file,
            "checks": [asdict(c) for c in self.checks],
        }


def display_url(url: str) -> str:
    """*url* with any password replaced, for showing a Redis or connector URL."""
    return mask_url(url)


# Settings sent in HTTP headers: a value that cannot be encoded would fail inside the
# transport, whose error quotes it.
_HEADER_CREDENTIALS = {
    "token": ("stream key", " / AUTOPLAY_TOKEN"),
    "unkey_root_key": ("Unkey root key", " / UNKEY_ROOT_KEY"),
}


class _Doctor:
    def __init__(
        self,
        settings: config.Settings | None,
        *,
        stream_timeout: float,
        http_timeout: float,
        clock: Callable[[], float],
        on_check: Callable[[Check], None] | None,
    ) -> None:
        self.settings = settings
        self.stream_timeout = stream_timeout
        self.http_timeout = http_timeout
        self.clock = clock
        self.on_check = on_check
        self.secrets = settings.secrets() if settings is not None else []
        self.connector_url = ""  # validated and normalised by check_config
        self.report = DoctorReport(
            settings.profile if settings else None, str(settings.path) if settings else None
        )

    def add(self, id: str, title: str, status: str, detail: str, fix: str | None = None) -> bool:
        check = Check(
            id,
            title,
            status,
            redact(detail, self.secrets),
            redact(fix, self.secrets) if fix else None,
        )
        self.report.checks.append(check)
        log.debug("check %s: %s (%s)", id, status, check.detail)
        if self.on_check is not None:
            self.on_check(check)
        return status == PASS

    def bad_credential(self, key: str) -> AutoplayError | None:
        from autoplay_cli.onboarding import _validate

        value = self.settings.get(key) if self.settings is not None else None
        if not value:
            return None
        what, where = _HEADER_CREDENTIALS[key]
        try:
            _validate.credential(value, what=what, name=key, where=where)
        except AutoplayError as exc:
            return exc
        return None

    def elapsed_ms(self, start: float) -> str:
        return f"{(self.clock() - start) * 1000:.0f} ms"

    # -- the checks, in order ---------------------------------------------------------

    def check_config(self) -> bool:
        title = "configuration resolved"
        s = self.settings
        assert s is not None
        missing = [k for k in REQUIRED if not s.get(k)]
        shown = "; ".join(
            f"{r.key} = {r.display()} ({r.source})"
            for r in s.items()
            if r.key in REQUIRED and r.value
        )
        if missing:
            fix = None
            try:
                s.require_all(*missing)
            except ConfigError as exc:
                fix = exc.hint
            return self.add(
                "config",
                title,
                FAIL,
                f"missing {', '.join(missing)}" + (f"; found {shown}" if shown else ""),
                fix,
            )
        from autoplay_cli.onboarding import _validate

        try:
            self.connector_url = _validate.url(s.require("connector_url"), what="connector URL")
        except AutoplayError as exc:
            return self.add("config", title, FAIL, exc.message, exc.hint)
        if (bad := self.bad_credential("token")) is not None:
            return self.add("config", title, FAIL, bad.message, bad.hint)
        return self.add("config", title, PASS, f"profile '{s.profile}': {shown}")

    def check_connector(self) -> bool:
        import httpx

        from autoplay_cli.onboarding import _http

        title = "connector reachable"
        url = self.connector_url
        start = self.clock()
        # /products exists on every connector and takes only POST: a GET answering
        # 405 (or 401/403) shows a connector is there; 404 means it is not.
        probe = url + "/products"
        try:
            response = _http.request("GET", probe, timeout=self.http_timeout)
        except httpx.TransportError as exc:
            kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "refused or failed"
            return self.add(
                "connector",
                title,
                FAIL,
                f"{display_url(url)}: connection {kind} ({type(exc).__name__}: {exc})",
                "check connector_url (`connector_url` / AUTOPLAY_CONNECTOR_URL) and "
                "that the connector is running",
            )
        status = response.status_code
        if status >= 500:
            return self.add(
                "connector",
                title,
                FAIL,
                f"{display_url(url)} answered HTTP {status}",
                "the connector is up but failing: check its logs",
            )
        if status in (404, 410) or 300 <= status < 400:
            return self.add(
                "connector",
                title,
                FAIL,
                f"{display_url(url)} answers, but {display_url(probe)} answered HTTP {status}: "
                "no connector there",
                "connector_url must be the connector's base URL (without /products or "
                "/stream/…): check `connector_url` / AUTOPLAY_CONNECTOR_URL",
            )
        return self.add(
            "connector",
            title,
            PASS,
            f"{display_url(url)} answered HTTP {status} at /products in {self.elapsed_ms(start)}",
        )

    def check_stream(self) -> bool:
        from autoplay_cli.stream import StreamClient, StreamConfig
        from autoplay_cli.wire import HeartbeatEvent

        title = "stream key accepted"
        s = self.settings
        assert s is not None
        start = self.clock()
        try:
            client = StreamClient(
                StreamConfig(
                    self.connector_url,
                    s.require("product_id"),
                    s.require("token"),
                    idle_timeout=self.stream_timeout,
                    connect_timeout=self.http_timeout,
                    max_retries=0,
                )
            )
            event = client.first(self.stream_timeout)
        except ServiceUnavailableError as exc:
            # The stream client's hint names tail's --max-retries, which doctor has not.
            return self.add(
                "stream",
                title,
                FAIL,
                exc.message,
                "check the connector is running and streaming at connector_url "
                "(`connector_url` / AUTOPLAY_CONNECTOR_URL), or raise `timeout`",
            )
        except AutoplayError as exc:
            return self.add("stream", title, FAIL, exc.message, exc.hint)
        what = "a heartbeat" if isinstance(event, HeartbeatEvent) else "an event"
        return self.add(
            "stream", title, PASS, f"{what} from {client.config.url} after {self.elapsed_ms(start)}"
        )

    def check_unkey(self) -> bool:
        title = "stream key valid in Unkey"
        s = self.settings
        assert s is not None
        root_key, token = s.get("unkey_root_key"), s.get("token")
        if not root_key:
            return self.add(
                "unkey",
                title,
                SKIP,
                "no Unkey root key configured",
                "set UNKEY_ROOT_KEY (or `unkey_root_key`) to check the key in Unkey",
            )
        if not token:
            return self.add("unkey", title, SKIP, "no stream key configured")
        for key in ("unkey_root_key", "token"):
            if (bad := self.bad_credential(key)) is not None:
                return self.add("unkey", title, FAIL, bad.message, bad.hint)
        from autoplay_cli.onboarding._unkey import verify_key

        try:
            verdict = verify_key(
                root_key=root_key,
                key=token,
                server_url=s.get("unkey_server_url"),
                timeout=self.http_timeout,
            )
        except AutoplayError as exc:
            return self.add("unkey", title, FAIL, exc.message, exc.hint)
        product = s.get("product_id")
        if not verdict.valid:
            return self.add(
                "unkey",
                title,
                FAIL,
                f"Unkey says the key is {verdict.code}",
                "use the key `autoplay onboard` printed for this product, or create "
                "a new one with `autoplay onboard --force-reregister --create-key`",
            )
        if product and verdict.external_id and verdict.external_id != product:
            return self.add(
                "unkey",
                title,
                FAIL,
                f"the key is valid but belongs to product {verdict.external_id!r}, not {product!r}",
                "use this product's own stream key",
            )
        return self.add(
            "unkey",
            title,
            PASS,
            f"VALID (key id {verdict.key_id or 'n/a'}, externalId "
            f"{verdict.external_id or 'not set'})",
        )

    def check_redis(self) -> bool:
        title = "Redis reachable"
        s = self.settings
        url = s.get("redis_url") if s is not None else None
        if not url:
            return self.add("redis", title, SKIP, "no Redis URL configured (optional)")
        import redis

        start = self.clock()
        try:
            client = redis.Redis.from_url(
                url, socket_timeout=self.http_timeout, socket_connect_timeout=self.http_timeout
            )
            try:
                client.ping()
                info: Any = client.info("server")
                version = info.get("redis_version", "?")
            finally:
                client.close()
        except (redis.RedisError, ValueError, OSError) as exc:
            return self.add(
                "redis",
                title,
                FAIL,
                f"{display_url(url)}: {type(exc).__name__}: {exc}",
                "check redis_url (`redis_url` / AUTOPLAY_REDIS_URL) and that Redis is running",
            )
        return self.add(
            "redis",
            title,
            PASS,
            f"{display_url(url)} answered PING in {self.elapsed_ms(start)} (Redis {version})",
        )


def run_checks(
    flags: Mapping[str, str | None] | None = None,
    *,
    profile: str | None = None,
    stream_timeout: float = DEFAULT_STREAM_TIMEOUT,
    http_timeout: float = DEFAULT_HTTP_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    on_check: Callable[[Check], None] | None = None,
) -> DoctorReport:
    """Run every check in order; *on_check* sees each result as soon as it is known."""
    try:
        settings: config.Settings | None = config.resolve(flags, profile=profile)
        # Checking the configuration includes the file, even where flags cover it all.
        assert settings is not None
        settings.check_file()
    except ConfigError as exc:
        settings = None
        failure: ConfigError | None = exc
    else:
        failure = None
    doc = _Doctor(
        settings,
        stream_timeout=stream_timeout,
        http_timeout=http_timeout,
        clock=clock,
        on_check=on_check,
    )
    if settings is None:
        assert failure is not None
        doc.add("config", "configuration resolved", FAIL, failure.message, failure.hint)
        for id, title in (
            ("connector", "connector reachable"),
            ("stream", "stream key accepted"),
            ("unkey", "stream key valid in Unkey"),
            ("redis", "Redis reachable"),
        ):
            doc.add(id, title, SKIP, "the configuration could not be read")
        return doc.report
    config_ok = doc.check_config()
    if config_ok:
        connector_ok = doc.check_connector()
    else:
        connector_ok = doc.add(
            "connector", "connector reachable", SKIP, "needs a valid connector_url"
        )
    if connector_ok:
        doc.check_stream()
    else:
        doc.add(
            "stream",
            "stream key accepted",
            SKIP,
            "needs the configuration and a reachable connector",
        )
    doc.check_unkey()
    doc.check_redis()
    return doc.report
