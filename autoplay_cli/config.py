"""Settings resolution shared by every command: flag > environment > profile file > default.

The profile file is TOML with one table per profile::

    [default]
    connector_url = "https://connector.example.com"
    product_id = "acme"

It lives in ``$AUTOPLAY_CONFIG_DIR`` when set, else ``$XDG_CONFIG_HOME/autoplay``
(``~/.config/autoplay`` by default), as ``config.toml``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from autoplay_cli.errors import ConfigError, UsageError, mask

CONFIG_FILENAME = "config.toml"
DEFAULT_PROFILE = "default"
PROFILE_ENV = "AUTOPLAY_PROFILE"
CONFIG_DIR_ENV = "AUTOPLAY_CONFIG_DIR"


class Setting:
    """One configurable value: its key, where it can come from, and whether it is secret."""

    # A plain class rather than a dataclass: this module is on the start-up path
    # of every command, and building dataclasses costs milliseconds.
    __slots__ = ("default", "description", "env", "flag", "key", "secret")

    def __init__(
        self,
        key: str,
        flag: str,
        env: tuple[str, ...],
        secret: bool = False,
        default: str | None = None,
        description: str = "",
    ) -> None:
        self.key = key
        self.flag = flag
        self.env = env
        self.secret = secret
        self.default = default
        self.description = description


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "connector_url",
        "--connector-url",
        ("AUTOPLAY_CONNECTOR_URL",),
        description="base URL of the Autoplay connector",
    ),
    Setting(
        "product_id",
        "--product-id",
        ("AUTOPLAY_PRODUCT_ID",),
        description="product whose stream to use",
    ),
    Setting(
        "token",
        "--token",
        ("AUTOPLAY_TOKEN", "AUTOPLAY_APP_UNKEY_TOKEN"),
        secret=True,
        description="stream key (Unkey) for the product",
    ),
    Setting(
        "admin_key",
        "--admin-key",
        ("AUTOPLAY_ADMIN_KEY",),
        secret=True,
        description="operator key sent as X-Admin-Key when registering products",
    ),
    Setting(
        "redis_url",
        "--redis-url",
        ("AUTOPLAY_REDIS_URL",),
        description="Redis URL for session state",
    ),
    Setting(
        "unkey_root_key",
        "--unkey-root-key",
        ("UNKEY_ROOT_KEY",),
        secret=True,
        description="Unkey root key, for creating or verifying stream keys",
    ),
    Setting(
        "unkey_api_id",
        "--unkey-api-id",
        ("UNKEY_API_ID",),
        description="Unkey API id that stream keys belong to",
    ),
    Setting(
        "unkey_server_url",
        "--unkey-server-url",
        ("UNKEY_SERVER_URL",),
        default="https://api.unkey.com",
        description="Unkey API base URL",
    ),
)
SETTINGS_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}

_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Resolved:
    """A resolved value and a human description of where it came from."""

    __slots__ = ("key", "secret", "source", "value")

    def __init__(self, key: str, value: str | None, source: str, secret: bool) -> None:
        self.key = key
        self.value = value
        self.source = source
        self.secret = secret

    def __repr__(self) -> str:
        return f"Resolved({self.key!r}, {self.display()!r}, {self.source!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resolved):
            return NotImplemented
        return (self.key, self.value, self.source, self.secret) == (
            other.key,
            other.value,
            other.source,
            other.secret,
        )

    __hash__ = None  # type: ignore[assignment]

    def display(self) -> str:
        if self.value is None:
            return "(not set)"
        return mask(self.value) if self.secret else self.value


class Settings:
    """The resolved configuration of one invocation."""

    def __init__(self, values: dict[str, Resolved], profile: str, path: Path) -> None:
        self._values = values
        self.profile = profile
        self.path = path

    def __getitem__(self, key: str) -> Resolved:
        return self._values[key]

    def get(self, key: str) -> str | None:
        return self._values[key].value

    def require(self, key: str) -> str:
        """The value of *key*, or a :class:`ConfigError` saying every way to set it."""
        value = self._values[key].value
        if value:
            return value
        setting = SETTINGS_BY_KEY[key]
        raise ConfigError(
            f"no {setting.description or key} is configured",
            hint=(
                f"pass {setting.flag}, set {setting.env[0]}, or run "
                f"`autoplay config set {key} VALUE --profile {self.profile}`"
            ),
        )

    def items(self) -> list[Resolved]:
        return [self._values[s.key] for s in SETTINGS]

    def secrets(self) -> list[str]:
        """Every secret value in play, for redaction of messages."""
        return [r.value for r in self._values.values() if r.secret and r.value]


def header_safe(value: str) -> bool:
    """Whether *value* can travel as an HTTP header value as-is: visible ASCII only."""
    return all("!" <= c <= "~" for c in value)


def header_credential(value: str, *, what: str, flag: str) -> str:
    """A key sent in an HTTP header, checked before any request and never echoed.

    A header that cannot be encoded fails inside the transport, whose error quotes
    the value; catching it here keeps the secret out of every message.
    """
    if not value or not header_safe(value):
        raise UsageError(
            f"the {what} contains spaces, line breaks or non-ASCII characters",
            hint=f"check {flag} (a stray newline or quote from copy and paste?)",
        )
    return value


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(CONFIG_DIR_ENV):
        return Path(env[CONFIG_DIR_ENV]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "autoplay"


def config_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / CONFIG_FILENAME


def load_profiles(path: Path) -> dict[str, dict[str, str]]:
    """Read the profile file; a missing file is empty, a malformed one a ConfigError."""
    import tomllib

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror}", hint="check its permissions"
        ) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text", hint="fix or remove the file"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML: {exc}", hint="fix that line or remove the file"
        ) from exc
    except RecursionError:
        raise ConfigError(
            f"config file {path} is nested too deeply to read", hint="fix or remove the file"
        ) from None
    profiles: dict[str, dict[str, str]] = {}
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"config file {path}: top-level key {name!r} must be a [profile] table",
                hint=f"put settings under a table such as [{DEFAULT_PROFILE}]",
            )
        values: dict[str, str] = {}
        for key, value in table.items():
            if key not in SETTINGS_BY_KEY:
                raise ConfigError(
                    f"config file {path}: unknown setting {key!r} in profile [{name}]",
                    hint="known settings: " + ", ".join(SETTINGS_BY_KEY),
                )
            if not isinstance(value, str):
                raise ConfigError(
                    f"config file {path}: setting {key!r} in profile [{name}] must be a string",
                    hint=f'write it as {key} = "..."',
                )
            values[key] = value
        profiles[name] = values
    return profiles


def resolve(
    flags: Mapping[str, str | None] | None = None,
    *,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: command-line flag > environment > profile > default."""
    env = os.environ if env is None else env
    flags = flags or {}
    unknown = set(flags) - set(SETTINGS_BY_KEY)
    if unknown:
        raise ValueError(f"unknown setting(s): {sorted(unknown)}")
    profile_from_flag = profile is not None
    profile = profile or env.get(PROFILE_ENV) or DEFAULT_PROFILE
    path = config_path(env)
    profiles = load_profiles(path)
    explicit = profile_from_flag or bool(env.get(PROFILE_ENV))
    if explicit and profile not in profiles and profile != DEFAULT_PROFILE:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(
            f"profile {profile!r} is not in {path} (profiles: {known})",
            hint=f"create it with `autoplay config set KEY VALUE --profile {profile}`",
        )
    table = profiles.get(profile, {})

    values: dict[str, Resolved] = {}
    for s in SETTINGS:
        flag_value = flags.get(s.key)
        if flag_value is not None and flag_value != "":
            values[s.key] = Resolved(s.key, flag_value, f"flag {s.flag}", s.secret)
            continue
        for var in s.env:
            if env.get(var):
                values[s.key] = Resolved(s.key, env[var], f"env {var}", s.secret)
                break
        else:
            if s.key in table and table[s.key] != "":
                values[s.key] = Resolved(
                    s.key, table[s.key], f"profile '{profile}' in {path}", s.secret
                )
            elif s.default is not None:
                values[s.key] = Resolved(s.key, s.default, "default", s.secret)
            else:
                values[s.key] = Resolved(s.key, None, "not set", s.secret)
    return Settings(values, profile, path)


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def dump_profiles(profiles: Mapping[str, Mapping[str, str]]) -> str:
    blocks = []
    for name in sorted(profiles):
        lines = [f"[{name}]"]
        lines += [f"{k} = {_toml_string(v)}" for k, v in sorted(profiles[name].items())]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def write_private_file(path: Path, text: str) -> None:
    """Write *text* to *path* atomically, readable by the owner only (mode 0600)."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_value(
    key: str, value: str, *, profile: str | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """Store one setting in a profile of the config file; returns the file's path."""
    env = os.environ if env is None else env
    if key not in SETTINGS_BY_KEY:
        raise UsageError(
            f"unknown setting {key!r}", hint="known settings: " + ", ".join(SETTINGS_BY_KEY)
        )
    profile = profile or env.get(PROFILE_ENV) or DEFAULT_PROFILE
    if not _PROFILE_NAME.match(profile):
        raise UsageError(
            f"invalid profile name {profile!r}",
            hint="use letters, digits, '-' and '_' (at most 64)",
        )
    path = config_path(env)
    profiles = load_profiles(path)
    profiles.setdefault(profile, {})[key] = value
    write_private_file(path, dump_profiles(profiles))
    return path


def unset_value(
    key: str, *, profile: str | None = None, env: Mapping[str, str] | None = None
) -> bool:
    """Remove one setting from a profile; returns whether it was there."""
    env = os.environ if env is None else env
    profile = profile or env.get(PROFILE_ENV) or DEFAULT_PROFILE
    path = config_path(env)
    profiles = load_profiles(path)
    if key not in profiles.get(profile, {}):
        return False
    del profiles[profile][key]
    if not profiles[profile]:
        del profiles[profile]
    write_private_file(path, dump_profiles(profiles))
    return True
