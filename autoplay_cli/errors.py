"""The one error tree of the toolkit and the exit codes it maps to.

Every expected failure is an :class:`AutoplayError` whose message names the
cause and whose ``hint`` names the fix. The CLI prints it as a single
``Error: ...`` line and exits with the class's ``exit_code``::

    AutoplayError                  1  generic failure
    ├── UsageError                 2  bad flag or argument combination
    ├── ConfigError                3  missing or malformed configuration
    ├── AuthError                  4  credentials rejected (HTTP 401/403)
    ├── NotFoundError              5  wrong product id or URL (HTTP 404)
    ├── ServiceUnavailableError    6  peer unreachable, retries exhausted
    │   └── StoreUnavailableError  6  Redis (or another store) unreachable
    ├── ConflictError              7  already exists (HTTP 409)
    ├── InputError                 8  a bad input file or value
    │   ├── SnapshotError          8  a persisted snapshot cannot be read
    │   └── IngestError            8  a webhook body the emulator refuses (HTTP 400)
    └── PartialFailureError        9  some items failed, the rest went through

130 is used for an interrupt (Ctrl-C).

Messages speak the library's terms: a setting is named as the parameter or
field that holds it, in backticks (`idle_timeout`), and ``setting`` says which
one the error is about. Only the command line knows flags: it renders those
names as its own (``cli/flags.py``), so nothing outside ``cli/`` spells one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_AUTH = 4
EXIT_NOT_FOUND = 5
EXIT_UNAVAILABLE = 6
EXIT_CONFLICT = 7
EXIT_INPUT = 8
EXIT_PARTIAL = 9
EXIT_INTERRUPTED = 130


#: A setting named in a message: a Python identifier in backticks.
SETTING_NAME = re.compile(r"`([a-z][a-z0-9_]*)`")


def respell(text: str, spell: Callable[[str], str | None]) -> str:
    """*text* with each `name` that *spell* knows replaced by its spelling (a flag, say)."""
    return SETTING_NAME.sub(lambda m: spell(m.group(1)) or m.group(0), text)


class AutoplayError(Exception):
    """Base of every expected failure; ``str(err)`` is the cause, ``hint`` the fix.

    ``setting`` is the name of the parameter or field the error is about (as the
    message names it, in backticks), or None when it is about no one setting.
    """

    exit_code: int = EXIT_FAILURE

    def __init__(
        self, message: str, *, hint: str | None = None, setting: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.setting = setting

    def one_line(self, spell: Callable[[str], str | None] | None = None) -> str:
        """The cause and the fix, on one line.

        *spell* renders the settings the text names (see :func:`respell`); the
        CLI passes one that spells them as the running command's flags.
        """
        text = self.message.strip().replace("\n", " ")
        if self.hint:
            text = f"{text} — {self.hint.strip()}"
        return text if spell is None else respell(text, spell)


class UsageError(AutoplayError):
    exit_code = EXIT_USAGE


class ConfigError(AutoplayError):
    exit_code = EXIT_CONFIG


class AuthError(AutoplayError):
    exit_code = EXIT_AUTH


class NotFoundError(AutoplayError):
    exit_code = EXIT_NOT_FOUND


class ServiceUnavailableError(AutoplayError):
    exit_code = EXIT_UNAVAILABLE


class StoreUnavailableError(ServiceUnavailableError):
    pass


class ConflictError(AutoplayError):
    exit_code = EXIT_CONFLICT


class InputError(AutoplayError, ValueError):
    exit_code = EXIT_INPUT


class SnapshotError(InputError):
    pass


class IngestError(InputError):
    """A body posted to the emulator's ingest webhook that it does not accept."""


class PartialFailureError(AutoplayError):
    exit_code = EXIT_PARTIAL


EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_FAILURE: "failure, or a check found something (e.g. `migrate-imports --check`)",
    EXIT_USAGE: "usage error: unknown flag, bad value, missing argument",
    EXIT_CONFIG: (
        "configuration error: a required setting is missing or the config file is malformed"
    ),
    EXIT_AUTH: "authentication failed: the key was rejected (HTTP 401/403)",
    EXIT_NOT_FOUND: "not found: wrong product id or connector URL (HTTP 404)",
    EXIT_UNAVAILABLE: "service unreachable: connector, Redis or Unkey down, or retries exhausted",
    EXIT_CONFLICT: "conflict: the product is already registered (HTTP 409)",
    EXIT_INPUT: "bad input: a file or value could not be read or parsed",
    EXIT_PARTIAL: "partial failure: some files or items failed while the rest were processed",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """*text* with every secret masked, in any encoding, and URL credentials masked.

    See :func:`autoplay_cli.redact.redact`, loaded on first use to keep this
    module, which every command imports, free of its imports.
    """
    from autoplay_cli import redact as _redact

    return _redact.redact(text, secrets)


def mask(secret: str | None) -> str:
    """Show at most a short prefix and the last 4 characters of a secret (see ``redact.mask``)."""
    from autoplay_cli import redact as _redact

    return _redact.mask(secret)


def mask_url(url: str) -> str:
    """*url* with its password and credential query values masked (see ``redact.mask_url``)."""
    from autoplay_cli import redact as _redact

    return _redact.mask_url(url)
