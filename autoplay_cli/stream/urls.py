"""Credentials masked in URLs before ``tail`` shows them: ``user:pw@`` and ``?password=…``."""

from __future__ import annotations

import re

# Query parameters whose value is a credential (matched case-insensitively).
SECRET_PARAMS = (
    "password",
    "passwd",
    "pwd",
    "pass",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "client_secret",
    "auth",
)
MASK = "****"

# `scheme://user:password@`: the password ends at the last `@` before the path.
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#@\s:]*:)[^/?#\s]*@")
_PARAM = re.compile(
    r"(?P<head>[?&;](?:" + "|".join(SECRET_PARAMS) + r")=)[^&#;\s'\"]*", re.IGNORECASE
)


def mask_url(text: str) -> str:
    """*text* (a URL, or a message quoting URLs) with passwords and secret parameters masked.

    Works on text that is not a valid URL too (no parsing that could raise), and
    leaves a user name and everything else as it is.
    """
    if "@" in text:
        text = _USERINFO.sub(lambda m: f"{m['head']}{MASK}@", text)
    if "=" in text:
        text = _PARAM.sub(lambda m: f"{m['head']}{MASK}", text)
    return text
