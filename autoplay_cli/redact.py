"""Keep secrets out of anything shown: masks, credentials in URLs, and echoed secrets.

A peer may echo a key back URL-encoded, JSON-escaped or both, so :func:`redact`
looks for each secret in every form those encodings give, not only verbatim.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

MASK = "****"
# Query parameters whose values are credentials (lower case).
SECRET_PARAMS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "api_key",
        "apikey",
        "access_token",
        "auth",
    }
)
# Shorter values are replaced only as whole tokens, and a short value made of
# letters alone is left alone: it cannot be told from an ordinary word of a message
# ("missing or wrong X-Admin-Key"), and is no real key anyway.
LONG_SECRET = 12
WORDLIKE_BELOW = 8
MIN_SECRET = 4

_SECRET_PARAM = re.compile(
    r"((?:^|[&;])(?:" + "|".join(sorted(SECRET_PARAMS)) + r")=)[^&;#]*", re.IGNORECASE
)
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
# A secret is a whole token when no letter or digit touches it, except one that is
# part of an escape (%41, \u0041, \n) next to it.
_BEFORE = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4})|(?<=\\[nrtbf]))"
_AFTER = r"(?:(?![A-Za-z0-9])|(?=%[0-9A-Fa-f]{2})|(?=\\))"


def mask(secret: str | None) -> str:
    """Show at most a short prefix and the last 4 characters of a secret.

    Short secrets are masked completely, so the mask never reveals more than
    a third of the value.
    """
    if not secret:
        return ""
    if len(secret) < LONG_SECRET:
        return MASK
    # 3 + 4 visible characters stay under a third of the value only from 21 on.
    head = secret[:3] if len(secret) >= 21 else ""
    return f"{head}…{secret[-4:]}"


def mask_url(url: str) -> str:
    """*url* with its password (``u:PW@``) and credential query values (``?password=``) masked.

    Text that is not a URL comes back unchanged; a URL too broken to split is
    masked from its ``://`` on, as it may still hold a password.
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # Without "@" or "=" there is no place a credential could sit: show it as typed.
        if "@" not in url and "=" not in url:
            return url
        return url.split("://", 1)[0] + "://" + MASK
    if password is not None or (parts.username is not None and "@" in parts.netloc):
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        # A lone user part may itself be a token (https://TOKEN@host): mask it too.
        userinfo = f"{user}:{MASK}" if password is not None else MASK
        parts = parts._replace(netloc=f"{userinfo}@{host}")
    if parts.query:
        # Only the credential values change; the rest of the query stays byte for byte.
        parts = parts._replace(query=_SECRET_PARAM.sub(rf"\g<1>{MASK}", parts.query))
    return urlunsplit(parts)


def _mask_found_url(match: re.Match[str]) -> str:
    found = match.group(0)
    url = found.rstrip(".,;:!?)]}")  # sentence punctuation after a URL is not part of it
    return mask_url(url) + found[len(url) :]


def mask_urls(text: str) -> str:
    """*text* with the credentials of every URL in it masked (see :func:`mask_url`)."""
    if "://" not in text:
        return text
    return _URL.sub(_mask_found_url, text)


def _json_escaped(value: str, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)[1:-1]


def _lower_percent(value: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), value)


_ENCODINGS: tuple[Callable[[str], str], ...] = (
    lambda s: quote(s, safe=""),
    lambda s: quote(s),
    quote_plus,
    lambda s: _lower_percent(quote(s, safe="")),
    lambda s: _json_escaped(s, True),
    lambda s: _json_escaped(s, False),
)


@functools.lru_cache(maxsize=64)
def encoded_forms(secret: str) -> frozenset[str]:
    """*secret* as it is, and as one or two rounds of URL or JSON escaping render it."""
    forms = {secret}
    for _ in range(2):
        forms |= {encode(form) for form in forms for encode in _ENCODINGS}
    return frozenset(forms)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """*text* with each secret masked in every encoded form, and URL credentials masked.

    Secrets of :data:`LONG_SECRET` characters or more are masked wherever they
    appear; shorter ones only as whole tokens.
    """
    text = mask_urls(text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) < MIN_SECRET or (len(secret) < WORDLIKE_BELOW and secret.isalpha()):
            continue
        for form in sorted(encoded_forms(secret), key=len, reverse=True):
            if form not in text:
                continue
            if len(secret) >= LONG_SECRET:
                text = text.replace(form, mask(secret))
            else:
                pattern = _BEFORE + re.escape(form) + _AFTER
                text = re.sub(pattern, mask(secret).replace("\\", "\\\\"), text)
    return text
