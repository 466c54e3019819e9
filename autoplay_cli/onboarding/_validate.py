"""Input validation for onboarding: every value is checked before any request is sent.

Each validator returns the normalised value or raises :class:`UsageError` naming the
value's problem and the fix, so a prompt can show the same message and ask again.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from autoplay_cli.errors import UsageError
from autoplay_cli.settings import credential_safe, header_credential

# Unkey's externalId alphabet and length (docs/wire.md §4); the product id is also a URL
# path segment, which this alphabet keeps safe without escaping.
PRODUCT_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
# Unkey's key prefix alphabet and length (docs/wire.md §4).
KEY_PREFIX_RE = re.compile(r"^[A-Za-z0-9_]{1,16}$")
# Pragmatic: one "@", no spaces, a dotted domain. Deliverability is the connector's call.
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@(?=.{1,253}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MIN_SECRET_LENGTH = 16
MAX_KEY_NAME_LENGTH = 200


@dataclass(frozen=True)
class IntegrationType:
    """One way the connector delivers a product's activity, and what it needs."""

    name: str
    description: str
    needs_forward_url: bool = False


# Data, not code: add a row when the connector learns a new delivery mode.
INTEGRATION_TYPES: dict[str, IntegrationType] = {
    t.name: t
    for t in (
        IntegrationType("event_stream", "the SSE stream at /stream/{product_id} (default)"),
        IntegrationType(
            "push",
            "POST each payload to `forward_url`, signed with `forward_secret`",
            needs_forward_url=True,
        ),
    )
}
DEFAULT_INTEGRATION_TYPE = "event_stream"


_UNKEY_API_ID_RE = re.compile(r"^api_[A-Za-z0-9]{1,64}$")


def unkey_api_id(value: str) -> str:
    """An Unkey API id as Unkey issues them (``api_`` and letters or digits)."""
    value = value.strip()
    if not _UNKEY_API_ID_RE.match(value):
        raise UsageError(
            f"invalid Unkey API id {value!r}: Unkey API ids look like 'api_' followed by "
            "letters and digits",
            setting="unkey_api_id",
            hint="copy the API id from the Unkey dashboard (`unkey_api_id` / UNKEY_API_ID)",
        )
    return value


def redis_url(value: str) -> str:
    """A redis://, rediss:// or unix:// URL (its password never echoed)."""
    from autoplay_cli.errors import mask_url

    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for an out-of-range port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("redis", "rediss", "unix")
        or not (parts.hostname or parts.path)
    ):
        raise UsageError(
            f"invalid Redis URL {mask_url(value)!r}",
            hint="give it as redis://[:password@]host[:port][/db], rediss://… or unix:///path",
        )
    return value


def product_id(value: str) -> str:
    value = value.strip()
    if not PRODUCT_ID_RE.match(value):
        raise UsageError(
            f"invalid product id {value!r}: it must be 1-255 characters of letters, digits, "
            "'_', '.' and '-' (it becomes the stream key's Unkey externalId)",
            hint="choose an id such as 'acme-app' or 'acme_prod'",
        )
    return value


def email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL_RE.match(value):
        raise UsageError(
            f"invalid contact email {value!r}", hint="give an address such as ops@example.com"
        )
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url(value: str, *, what: str) -> str:
    """An absolute http(s) URL without query or fragment; trailing slashes removed."""
    from autoplay_cli.errors import mask_url

    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"invalid {what} {mask_url(value)!r}: it must be an absolute http(s):// URL",
            hint=f"give the {what} as https://host[:port][/path]",
        )
    if parts.username or parts.password:
        # Credentials in a URL end up in logs and shell history; refuse them.
        raise UsageError(
            f"the {what} must not contain a user name or password",
            hint="pass credentials with their own setting (e.g. `admin_key`)",
        )
    if parts.query or parts.fragment:
        raise UsageError(
            f"invalid {what} {mask_url(value)!r}: it must not have a query or fragment",
            hint=f"give only the {what}'s base, e.g. https://host/path",
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for an out-of-range port
    except ValueError as exc:
        raise UsageError(
            f"invalid {what} {mask_url(value)!r}: bad port", hint="use a port between 1 and 65535"
        ) from exc
    return value.rstrip("/")


def cleartext_warning(value: str, *, what: str) -> str | None:
    """A warning when secrets would travel over plain http to a non-loopback host."""
    parts = urlsplit(value)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        return (
            f"the {what} uses plain http to {parts.hostname}: secrets will cross the network "
            "unencrypted; use https"
        )
    return None


def integration_type(value: str) -> IntegrationType:
    found = INTEGRATION_TYPES.get(value.strip())
    if found is None:
        raise UsageError(
            f"unknown integration type {value!r}",
            hint="choose one of: " + ", ".join(INTEGRATION_TYPES),
        )
    return found


# A key sent in an HTTP header (stream key, admin key, root key).
credential = header_credential


def secret(value: str, *, what: str) -> str:
    # Visible ASCII: the activity provider sends the webhook secret as a header value.
    if len(value) < MIN_SECRET_LENGTH or not credential_safe(value):
        # Never echo the value: it is a secret.
        raise UsageError(
            f"the {what} is too weak or malformed: it needs at least {MIN_SECRET_LENGTH} "
            "visible ASCII characters (no spaces)",
            hint=f"omit it to have a strong one generated, or give a longer {what}",
        )
    return value


def key_prefix(value: str) -> str:
    if not KEY_PREFIX_RE.match(value):
        raise UsageError(
            f"invalid key prefix {value!r}: 1-16 letters, digits or '_'",
            hint="for example 'uk_live'",
        )
    return value


def key_name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_KEY_NAME_LENGTH or not value.isprintable():
        raise UsageError(
            f"invalid key name: 1-{MAX_KEY_NAME_LENGTH} printable characters",
            hint="for example 'acme stream key'",
        )
    return value


def timeout(value: float) -> float:
    if not value > 0:
        raise UsageError(
            f"invalid timeout {value!r}: it must be a positive number of seconds",
            setting="timeout",
            hint="for example `timeout` 15",
        )
    return float(value)


_PROFILE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def profile_name(value: str) -> str:
    """A config profile name, as ``autoplay config set --profile`` accepts it."""
    if not _PROFILE_RE.match(value):
        raise UsageError(
            f"invalid profile name {value!r}", hint="use letters, digits, '-' and '_' (at most 64)"
        )
    return value
