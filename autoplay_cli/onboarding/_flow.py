"""The onboarding flow: validate, generate secrets, register, get a stream key, hand over.

Key policy (a re-run never mints a second key for a product unless asked):

* a 409 (already registered) stops the run before Unkey is ever called;
* on 201 the key the connector returned is used, and Unkey is not called;
* only when the connector returned none does the flow create one in Unkey, and
  after ``--force-reregister`` (the product existed, so a key may exist) only
  when ``--create-key`` was passed too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoplay_cli import settings as config
from autoplay_cli.errors import AutoplayError, ConfigError, UsageError, mask, redact
from autoplay_cli.onboarding import _envfile, _validate
from autoplay_cli.onboarding._connector import (
    INGEST_SECRET_HEADER,
    Registration,
    RegistrationRequest,
    products_url,
    register_product,
    request_headers,
    stream_url,
    webhook_url,
)
from autoplay_cli.onboarding._secrets import RedactedCause, generate_secret
from autoplay_cli.onboarding._unkey import DEFAULT_KEY_PREFIX, create_stream_key

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

KEY_SOURCE_CONNECTOR = "connector"
KEY_SOURCE_UNKEY = "unkey"
DEFAULT_TIMEOUT = 15.0


@dataclass(frozen=True)
class OnboardOptions:
    """Everything ``autoplay onboard`` was given; :func:`prepare` validates it."""

    connector_url: str
    product_id: str
    contact_email: str
    integration_type: str = _validate.DEFAULT_INTEGRATION_TYPE
    webhook_secret: str | None = None
    forward_url: str | None = None
    forward_secret: str | None = None
    admin_key: str | None = None
    force_reregister: bool = False
    create_key: bool = False
    key_name: str | None = None
    key_prefix: str = DEFAULT_KEY_PREFIX
    unkey_root_key: str | None = None
    unkey_api_id: str | None = None
    unkey_server_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    env_file: Path | None = None
    force: bool = False
    save_profile: str | None = None


# Read through the settings resolver (flag > env > profile). The product's own values
# (id, email, secrets) come from flags or prompts only: a sourced env file of another
# product must not lend them.
CONNECTION_SETTINGS = (
    "connector_url",
    "admin_key",
    "unkey_root_key",
    "unkey_api_id",
    "unkey_server_url",
)


@dataclass(frozen=True)
class RequiredInput:
    """A value onboarding cannot do without: asked for on a terminal, else a usage error."""

    field: str
    label: str
    check: Callable[[str], str]
    elsewhere: str = ""

    def missing(self) -> UsageError:
        return MissingInput(
            f"missing `{self.field}`",
            setting=self.field,
            hint=f"pass `{self.field}`{self.elsewhere} (prompted only on a terminal)",
        )


class MissingInput(UsageError):
    """A required value that was neither given nor could be asked for."""


REQUIRED_INPUTS = (
    RequiredInput(
        "connector_url",
        "Connector URL",
        lambda v: _validate.url(v, what="connector URL"),
        ", set AUTOPLAY_CONNECTOR_URL or a profile's connector_url",
    ),
    RequiredInput("product_id", "Product id", _validate.product_id),
    RequiredInput("contact_email", "Contact email", _validate.email),
)


def _never_ask(required: RequiredInput) -> str:
    raise required.missing()


def resolve_options(
    flags: Mapping[str, Any],
    *,
    profile: str | None = None,
    ask: Callable[[RequiredInput], str] = _never_ask,
) -> OnboardOptions:
    """The options from the command's flags (named as OnboardOptions' fields).

    Connection settings go through the resolver; *ask* supplies each missing
    required value (by default a missing one is a usage error).
    """
    settings = config.resolve({k: flags.get(k) for k in CONNECTION_SETTINGS}, profile=profile)
    values = {k: v for k, v in flags.items() if v is not None and k not in CONNECTION_SETTINGS}
    values.update({k: settings.get(k) for k in CONNECTION_SETTINGS})
    absent: list[RequiredInput] = []
    for required in REQUIRED_INPUTS:
        if not values.get(required.field):
            try:
                values[required.field] = ask(required)
            except MissingInput:
                absent.append(required)  # collected, to name every missing one at once
    if len(absent) == 1:
        raise absent[0].missing()
    if absent:
        raise UsageError(
            "missing " + ", ".join(f"`{r.field}`" for r in absent),
            hint="pass "
            + " and ".join(f"`{r.field}`{r.elsewhere}" for r in absent)
            + " (prompted only on a terminal)",
        )
    return OnboardOptions(**values)


@dataclass(frozen=True)
class OnboardPlan:
    """Validated options plus the exact request to send; no I/O has happened yet."""

    options: OnboardOptions
    request: RegistrationRequest
    key_name: str
    warnings: tuple[str, ...] = ()

    @property
    def may_create_key(self) -> bool:
        """Whether Unkey will be asked for a key if the connector returns none."""
        return not self.options.force_reregister or self.options.create_key

    def secrets(self) -> list[str]:
        o = self.options
        return [s for s in (*self.request.secrets(), o.admin_key, o.unkey_root_key) if s]

    def describe(self) -> dict[str, Any]:
        """What would happen, for ``--dry-run``: every secret masked."""
        o = self.options
        headers = request_headers(o.admin_key)
        if o.admin_key:
            headers["X-Admin-Key"] = mask(o.admin_key)
        return {
            "dry_run": True,
            "request": {
                "method": "POST",
                "url": products_url(o.connector_url),
                "headers": headers,
                "json": self.request.masked_body(),
                "timeout_s": o.timeout,
            },
            "stream_key": {
                "from_connector": "used when the connector returns one",
                "create_in_unkey_if_none": self.may_create_key,
                "unkey_server_url": o.unkey_server_url,
                "unkey_api_id": o.unkey_api_id,
                "unkey_root_key": mask(o.unkey_root_key) or None,
                "external_id": o.product_id,
                "name": self.key_name,
                "prefix": o.key_prefix,
            },
            "env_file": str(o.env_file) if o.env_file else None,
            "save_profile": o.save_profile,
            "warnings": list(self.warnings),
        }

    def describe_lines(self) -> list[str]:
        """The dry run as text: the HTTP request, then what would happen to the key."""
        d = self.describe()
        req, key = d["request"], d["stream_key"]
        lines = [f"{req['method']} {req['url']}"]
        lines += [f"{name}: {value}" for name, value in req["headers"].items()]
        lines += ["", json.dumps(req["json"], indent=2, ensure_ascii=False), ""]
        if key["create_in_unkey_if_none"]:
            how = (
                f"created in Unkey (API id {key['unkey_api_id'] or '(not set)'}, externalId "
                f"{key['external_id']}, prefix {key['prefix']})"
            )
            if not (self.options.unkey_root_key and self.options.unkey_api_id):
                how += " - but no Unkey root key and API id are configured, so that would fail"
        else:
            how = "none is created (pass `create_key` to mint one)"
        lines.append(f"Stream key: the connector's, if it returns one; otherwise {how}.")
        if d["env_file"]:
            lines.append(f"Would write the env file {d['env_file']}.")
        if d["save_profile"]:
            lines.append(f"Would save profile {d['save_profile']!r}.")
        return lines


@dataclass
class OnboardResult:
    """What the operator needs to hand over; secrets in clear, to be shown once."""

    product_id: str
    connector_url: str
    integration_type: str
    stream_url: str
    webhook_url: str
    webhook_header: str
    webhook_secret: str
    stream_key: str | None
    stream_key_id: str | None
    key_source: str | None
    dual_write: bool | None
    reregistered: bool
    forward_url: str | None = None
    forward_secret: str | None = None
    env_file: str | None = None
    profile: str | None = None
    notes: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    # A failure after the product was registered: shown after the result, so the
    # credentials already obtained are not lost.
    error: AutoplayError | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("error")
        data["error"] = self.error.one_line() if self.error else None
        return data

    def secrets(self) -> list[str]:
        return [s for s in (self.webhook_secret, self.stream_key, self.forward_secret) if s]

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a human display; secrets in clear, marked as shown once."""
        once = " (shown once)"
        key = (
            self.stream_key + once
            if self.stream_key
            else "(none: " + (self.error.message if self.error else "see the note below") + ")"
        )
        rows = [
            ("Stream URL", self.stream_url),
            ("Stream key", key),
            (
                "Key source",
                f"{self.key_source} (key id {self.stream_key_id or 'n/a'})"
                if self.key_source
                else "n/a",
            ),
            ("Ingest webhook", self.webhook_url),
            ("Webhook header", f"{self.webhook_header}: {self.webhook_secret}{once}"),
        ]
        if self.forward_url:
            rows += [
                ("Push to", self.forward_url),
                ("Forward secret", f"{self.forward_secret}{once}"),
            ]
        rows.append(
            ("Dual write", {True: "yes", False: "no", None: "not reported"}[self.dual_write])
        )
        rows += [("Env file", self.env_file)] if self.env_file else []
        rows += [("Profile", self.profile)] if self.profile else []
        return rows


def prepare(options: OnboardOptions) -> OnboardPlan:
    """Validate every input and generate missing secrets; raises UsageError/ConfigError."""
    o = options
    warnings: list[str] = []
    connector_url = _validate.url(o.connector_url, what="connector URL")
    if (w := _validate.cleartext_warning(connector_url, what="connector URL")) is not None:
        warnings.append(w)
    product_id = _validate.product_id(o.product_id)
    contact_email = _validate.email(o.contact_email)
    itype = _validate.integration_type(o.integration_type)
    forward_url = forward_secret = None
    if itype.needs_forward_url:
        if not o.forward_url:
            raise UsageError(
                f"integration type {itype.name!r} needs `forward_url`",
                setting="forward_url",
                hint="give the URL the connector should POST payloads to",
            )
        forward_url = _validate.url(o.forward_url, what="forward URL")
        forward_secret = (
            _validate.secret(o.forward_secret, what="forward secret")
            if o.forward_secret
            else generate_secret()
        )
    elif o.forward_url or o.forward_secret:
        raise UsageError(
            f"`forward_url`/`forward_secret` do not apply to {itype.name!r}",
            hint="use `integration_type` push, or drop them",
        )
    webhook_secret = (
        _validate.secret(o.webhook_secret, what="webhook secret")
        if o.webhook_secret
        else generate_secret()
    )
    key_name = _validate.key_name(o.key_name or f"autoplay stream key for {product_id}")
    _validate.key_prefix(o.key_prefix)
    _validate.timeout(o.timeout)
    for value, what, name, env in (
        (o.admin_key, "admin key", "admin_key", "AUTOPLAY_ADMIN_KEY"),
        (o.unkey_root_key, "Unkey root key", "unkey_root_key", "UNKEY_ROOT_KEY"),
        (o.unkey_api_id, "Unkey API id", "unkey_api_id", "UNKEY_API_ID"),
    ):
        if value:
            _validate.credential(value, what=what, name=name, where=f" / {env}")
    if o.unkey_api_id:
        # Checked before registering: a key created after it would otherwise fail late.
        _validate.unkey_api_id(o.unkey_api_id)
    unkey_server_url = None
    if o.unkey_server_url:
        unkey_server_url = _validate.url(o.unkey_server_url, what="Unkey server URL")
    if o.create_key and not (o.unkey_root_key and o.unkey_api_id):
        raise ConfigError(
            "`create_key` needs an Unkey root key and API id",
            setting="create_key",
            hint="set UNKEY_ROOT_KEY and UNKEY_API_ID, or pass `unkey_root_key` and `unkey_api_id`",
        )
    if o.create_key and not o.force_reregister:
        warnings.append(
            "`create_key` only matters with `force_reregister`: a first "
            "registration creates a key anyway when the connector returns none"
        )
    # A quoted "~/x.env" reaches us unexpanded; never create a directory named "~".
    env_file = o.env_file.expanduser() if o.env_file is not None else None
    if env_file is not None:
        _envfile.check_env_file_target(env_file, force=o.force)
        if (w := _envfile.unsafe_directory_warning(env_file)) is not None:
            warnings.append(w)
    if o.save_profile is not None:
        _validate.profile_name(o.save_profile)
        _envfile.check_profile_target(o.save_profile, force=o.force)
    normalised = OnboardOptions(
        **{
            **asdict(o),
            "connector_url": connector_url,
            "product_id": product_id,
            "contact_email": contact_email,
            "integration_type": itype.name,
            "forward_url": forward_url,
            "forward_secret": forward_secret,
            "webhook_secret": webhook_secret,
            "key_name": key_name,
            "unkey_server_url": unkey_server_url,
            "env_file": env_file,
        }
    )
    request = RegistrationRequest(
        product_id=product_id,
        contact_email=contact_email,
        webhook_secret=webhook_secret,
        integration_type=itype.name,
        forward_url=forward_url,
        forward_secret=forward_secret,
        force_reregister=o.force_reregister,
    )
    return OnboardPlan(normalised, request, key_name, tuple(warnings))


def onboard(plan: OnboardPlan, *, transport: httpx.BaseTransport | None = None) -> OnboardResult:
    """Register the product, obtain its stream key, and hand the credentials over.

    Raises before registration succeeds; after it, failures are returned in
    ``result.error`` so the caller can still show what was obtained.
    """
    known = plan.secrets()
    result: OnboardResult | None = None
    try:
        o = plan.options
        registration = register_product(
            o.connector_url,
            plan.request,
            admin_key=o.admin_key,
            timeout=o.timeout,
            transport=transport,
        )
        result = _result(plan, registration)
        known += result.secrets()
        _obtain_key(plan, registration, result)
        if result.stream_key:
            known.append(result.stream_key)
        _hand_over(plan, result)
        result.next_steps = _next_steps(result)
    except AutoplayError as exc:
        _scrub(exc, known)
        raise
    except Exception as exc:
        # A bug must not leak a secret either (its text reaches the error line and
        # --debug tracebacks), nor, once registered, cost the one showing of the key.
        when = "onboarding" if result is None else "onboarding, after registering"
        error = AutoplayError(
            f"unexpected {type(exc).__name__} while {when}",
            hint="rerun with `debug` for the traceback (secrets masked) and report it",
        )
        error.__cause__ = RedactedCause(exc, known)
        if result is None:
            raise error from error.__cause__
        result.error = error
    if result.error is not None:
        _scrub(result.error, known)
    return result


def _scrub(exc: AutoplayError, secrets: list[str]) -> None:
    # Last line of defence: whatever a peer echoed back, no known secret leaves here.
    exc.message = redact(exc.message, secrets)
    exc.args = (exc.message,)
    if exc.hint:
        exc.hint = redact(exc.hint, secrets)


def _result(plan: OnboardPlan, registration: Registration) -> OnboardResult:
    o = plan.options
    result = OnboardResult(
        product_id=o.product_id,
        connector_url=o.connector_url,
        integration_type=o.integration_type,
        stream_url=stream_url(o.connector_url, o.product_id),
        webhook_url=webhook_url(o.connector_url, o.product_id),
        webhook_header=INGEST_SECRET_HEADER,
        webhook_secret=registration.webhook_secret or plan.request.webhook_secret,
        stream_key=None,
        stream_key_id=None,
        key_source=None,
        dual_write=registration.dual_write,
        reregistered=o.force_reregister,
        forward_url=o.forward_url,
        forward_secret=o.forward_secret,
    )
    if registration.webhook_secret and registration.webhook_secret != plan.request.webhook_secret:
        result.notes.append("The connector chose its own webhook secret; use the one shown here.")
    return result


def _obtain_key(plan: OnboardPlan, registration: Registration, result: OnboardResult) -> None:
    o = plan.options
    if registration.stream_key:
        result.stream_key = registration.stream_key
        result.stream_key_id = registration.stream_key_id
        result.key_source = KEY_SOURCE_CONNECTOR
        if o.create_key:
            result.notes.append("`create_key` was not needed: the connector created the key.")
        return
    if not plan.may_create_key:
        result.notes.append(
            "The connector returned no stream key and none was created. Keep using the "
            "product's current key; if the re-registration revoked it, run again with "
            "`force_reregister` `create_key` to mint a new one."
        )
        return
    if not (o.unkey_root_key and o.unkey_api_id):
        result.error = ConfigError(
            f"product {o.product_id!r} is registered, but the connector returned no stream key "
            "and no Unkey root key and API id are configured to create one",
            hint="set UNKEY_ROOT_KEY and UNKEY_API_ID, then run the same command with "
            "`force_reregister` `create_key`"
            + (" `force`" if o.env_file or o.save_profile else ""),
        )
        return
    try:
        created = create_stream_key(
            root_key=o.unkey_root_key,
            api_id=o.unkey_api_id,
            product_id=o.product_id,
            name=plan.key_name,
            prefix=o.key_prefix,
            server_url=o.unkey_server_url,
            timeout=o.timeout,
        )
    except AutoplayError as exc:
        exc.message = f"product {o.product_id!r} is registered, but {exc.message}"
        result.error = exc
        return
    result.stream_key, result.stream_key_id = created.key, created.key_id
    result.key_source = KEY_SOURCE_UNKEY


def _hand_over(plan: OnboardPlan, result: OnboardResult) -> None:
    o = plan.options
    try:
        if o.env_file is not None:
            values = {
                _envfile.ENV_CONNECTOR_URL: result.connector_url,
                _envfile.ENV_PRODUCT_ID: result.product_id,
                _envfile.ENV_TOKEN: result.stream_key,
                _envfile.ENV_WEBHOOK_SECRET: result.webhook_secret,
            }
            if result.forward_secret:
                values[_envfile.ENV_FORWARD_SECRET] = result.forward_secret
            header = (
                f"Autoplay credentials for product {result.product_id}, written by "
                "`autoplay onboard`.\nSecrets: keep this file private (mode 0600). "
                "Load it with: source FILE"
            )
            if _envfile.write_env_file(
                o.env_file, _envfile.render_env_file(values, header=header), force=o.force
            ):
                result.notes.append(f"Created the directory {o.env_file.parent} (mode 0700).")
            result.env_file = str(o.env_file)
            log.info("wrote the credentials to %s (mode 0600)", o.env_file)
        if o.save_profile is not None:
            _envfile.save_profile(
                {
                    "connector_url": result.connector_url,
                    "product_id": result.product_id,
                    "token": result.stream_key,
                },
                profile=o.save_profile,
            )
            result.profile = o.save_profile
            log.info("saved connector_url, product_id and token in profile %r", o.save_profile)
    except AutoplayError as exc:
        if result.error is None:
            result.error = exc


def _next_steps(result: OnboardResult) -> list[str]:
    steps = [
        "Store the stream key and the webhook secret in your secret manager now: "
        "they are not shown again."
    ]
    steps.append(
        f"Point your activity provider (e.g. a PostHog destination) at "
        f"{result.webhook_url} with the header {result.webhook_header}: "
        "<the webhook secret>."
    )
    if result.forward_url:
        steps.append(
            f"Check signatures at {result.forward_url}: X-Connector-Signature is "
            "sha256=HMAC-SHA256(forward secret, raw body)."
        )
    if result.env_file:
        steps.append(f"Load the credentials: source {result.env_file}")
    elif result.profile:
        steps.append(f"Use the saved profile: export AUTOPLAY_PROFILE={result.profile}")
    else:
        steps.append(
            "Export AUTOPLAY_CONNECTOR_URL, AUTOPLAY_PRODUCT_ID and AUTOPLAY_TOKEN "
            "(or re-run with `env_file` / `save_profile` next time)."
        )
    steps.append(
        "Watch events arrive with `autoplay tail`; check the setup with `autoplay doctor`."
    )
    return steps
