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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from autoplay_cli.errors import AutoplayError, ConfigError, UsageError, mask, mask_url

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
        return mask(self.value) if self.secret else mask_url(self.value)


class Settings:
    """The resolved configuration of one invocation.

    A malformed config file does not stop a command whose settings all come from
    flags or the environment: its error is raised only when a value is looked up
    that the file might have given.
    """

    def __init__(
        self,
        values: dict[str, Resolved],
        profile: str,
        path: Path,
        file_error: ConfigError | None = None,
    ) -> None:
        self._values = values
        self.profile = profile
        self.path = path
        self.file_error = file_error

    def __getitem__(self, key: str) -> Resolved:
        return self._values[key]

    def check_file(self) -> None:
        """Raise the config file's error, if it could not be read."""
        if self.file_error is not None:
            raise self.file_error

    def get(self, key: str) -> str | None:
        value = self._values[key].value
        if value is None:
            self.check_file()
        return value

    def require(self, key: str) -> str:
        """The value of *key*, or a :class:`ConfigError` saying every way to set it."""
        return self.require_all(key)[0]

    def require_all(self, *keys: str) -> tuple[str, ...]:
        """The values of *keys*; if any is missing, one ConfigError naming every missing one."""
        missing = [k for k in keys if not self._values[k].value]
        if not missing:
            return tuple(str(self._values[k].value) for k in keys)
        self.check_file()
        found = [SETTINGS_BY_KEY[k] for k in missing]
        if len(found) == 1:
            setting = found[0]
            raise ConfigError(
                f"no {setting.description or setting.key} is configured",
                setting=setting.key,
                hint=(
                    f"pass `{setting.key}`, set {setting.env[0]}, or run "
                    f"`autoplay config set {setting.key} VALUE --profile {self.profile}`"
                ),
            )
        raise ConfigError(
            f"{len(found)} settings are not configured: " + ", ".join(s.key for s in found),
            hint=(
                "pass "
                + " ".join(f"`{s.key}` VALUE" for s in found)
                + ", set "
                + ", ".join(s.env[0] for s in found)
                + f", or run `autoplay config set KEY VALUE --profile {self.profile}` for each"
            ),
        )

    def items(self) -> list[Resolved]:
        return [self._values[s.key] for s in SETTINGS]

    def secrets(self) -> list[str]:
        """Every secret value in play, for redaction of messages."""
        return [r.value for r in self._values.values() if r.secret and r.value]


def credential_safe(value: str) -> bool:
    """Whether *value* can travel as a credential in an HTTP header: visible ASCII only, no spaces.

    Stricter than :func:`autoplay_cli.stream.header_safe`, which admits inner spaces (an
    event id may have them; a key or token never does).
    """
    return all("!" <= c <= "~" for c in value)


def header_credential(value: str, *, what: str, name: str, where: str = "") -> str:
    """A key sent in an HTTP header, checked before any request and never echoed.

    *name* is the setting that holds it (as the error names it); *where* adds
    the other places it may have come from (" / AUTOPLAY_TOKEN", say).
    A header that cannot be encoded fails inside the transport, whose error quotes
    the value; catching it here keeps the secret out of every message.
    """
    if not value or not credential_safe(value):
        raise UsageError(
            f"the {what} contains spaces, line breaks or non-ASCII characters",
            setting=name,
            hint=f"check `{name}`{where} (a stray newline or quote from copy and paste?)",
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
    file_error: ConfigError | None = None
    try:
        profiles = load_profiles(path)
    except ConfigError as exc:
        profiles, file_error = {}, exc
    explicit = profile_from_flag or bool(env.get(PROFILE_ENV))
    if file_error is None and explicit and profile not in profiles and profile != DEFAULT_PROFILE:
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
    return Settings(values, profile, path, file_error)


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


def ensure_directory(directory: Path, *, only_leaf: bool) -> bool:
    """Create *directory* (mode 0700) if it is missing; returns whether it was created.

    Never creates a directory in the filesystem root, and with *only_leaf* only the
    last component: a mistyped path must fail, not grow a tree in an odd place.
    """
    if directory.is_dir():
        return False
    missing = [directory, *(p for p in directory.parents if not p.exists())]
    missing = [p for p in missing if not p.exists()]
    top = missing[-1]
    if top.parent == top or top.parent == Path(top.anchor) or (only_leaf and len(missing) > 1):
        raise ConfigError(
            f"directory {top.parent if only_leaf else top} does not exist; refusing to create "
            f"{directory}",
            hint="create it first, or choose a path under an existing directory",
        )
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(
            f"cannot create directory {directory}: {exc.strerror or exc}",
            hint="check the path and its permissions",
        ) from exc
    return True


def write_private_file(path: Path, text: str) -> None:
    """Write *text* to *path* atomically, readable by the owner only (mode 0600).

    A symbolic link is written through (its target is replaced), not replaced by
    a regular file. The directory must exist.
    """
    import tempfile

    target = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``.config.toml.lock`` (next to the file) while inside.

    Every read-modify-write of the config file takes it, so parallel ``config set``
    or ``onboard --save-profile`` runs add their profiles one after the other.
    """
    import fcntl

    target = Path(os.path.realpath(path))
    lock = target.with_name(f".{target.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


_ANY_TABLE = re.compile(r"^\s*\[")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+)\s*\]\s*(?:#.*)?$")
_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def _edit_text(text: str, profile: str, values: Mapping[str, str | None]) -> str:
    """*text* with *values* set (or, for None, removed) in table [*profile*], all else kept.

    Comments, order and spacing of everything not edited stay as they were.
    """
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next(
        (i for i, ln in enumerate(lines) if (m := _TABLE.match(ln)) and m.group(1) == profile),
        None,
    )
    if start is None:
        root = next((i for i, ln in enumerate(lines) if _ANY_TABLE.match(ln)), len(lines))
        edited = _edit_root_profile(lines, root, profile, values)
        if edited is not None:
            return edited
        new = [f"{k} = {_toml_string(v)}\n" for k, v in values.items() if v is not None]
        if not new:
            return "".join(lines)
        gap = ["\n"] if lines and lines[-1].strip() else []
        return "".join([*lines, *gap, f"[{profile}]\n", *new])
    end = next((i for i in range(start + 1, len(lines)) if _ANY_TABLE.match(lines[i])), len(lines))
    body = lines[start + 1 : end]
    for key, value in values.items():
        at = next(
            (i for i, ln in enumerate(body) if (m := _KEY_LINE.match(ln)) and m.group(1) == key),
            None,
        )
        if value is None:
            if at is not None:
                del body[at]
        elif at is not None:
            body[at] = f"{key} = {_toml_string(value)}\n"
        else:
            last = max((i for i, ln in enumerate(body) if ln.strip()), default=-1)
            body.insert(last + 1, f"{key} = {_toml_string(value)}\n")
    if not any(ln.strip() for ln in body) and all(v is None for v in values.values()):
        return "".join(lines[:start] + lines[end:])  # the table is empty now: drop it
    return "".join(lines[: start + 1] + body + lines[end:])


def _edit_root_profile(
    lines: list[str], root: int, profile: str, values: Mapping[str, str | None]
) -> str | None:
    """The edit of *profile* written before any table: ``name = { … }`` or ``name.key = …``.

    Only that profile's lines change; None when the profile is not written that way.
    """
    name = re.escape(profile)
    inline = re.compile(rf"^(\s*{name}\s*=\s*)\{{(.*)\}}(\s*(?:#.*)?)$")
    dotted = re.compile(rf"^\s*{name}\s*\.\s*([A-Za-z0-9_-]+)\s*=")
    for i in range(root):
        m = inline.match(lines[i].rstrip("\n"))
        if m is None:
            continue
        import tomllib

        try:
            table = tomllib.loads(f"t = {{{m.group(2)}}}")["t"]
        except tomllib.TOMLDecodeError:
            return None
        for key, value in values.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
        if not all(isinstance(v, str) for v in table.values()):
            return None  # a value this editor does not write: the caller rewrites the file
        if not table:
            return "".join(lines[:i] + lines[i + 1 :])
        pairs = ", ".join(f"{k} = {_toml_string(v)}" for k, v in table.items())
        return "".join([*lines[:i], f"{m.group(1)}{{ {pairs} }}{m.group(3)}\n", *lines[i + 1 :]])
    at = {m.group(1): i for i in range(root) if (m := dotted.match(lines[i]))}
    if not at:
        return None
    out = list(lines)
    drop: set[int] = set()
    extra: list[str] = []
    for key, value in values.items():
        if key in at:
            if value is None:
                drop.add(at[key])
            else:
                out[at[key]] = f"{profile}.{key} = {_toml_string(value)}\n"
        elif value is not None:
            extra.append(f"{profile}.{key} = {_toml_string(value)}\n")
    last = max(at.values())
    out[last + 1 : last + 1] = extra
    return "".join(ln for i, ln in enumerate(out) if i not in drop)


def update_profile(
    profile: str, values: Mapping[str, str | None], *, env: Mapping[str, str] | None = None
) -> Path:
    """Set (or, for None, remove) *values* in *profile* of the config file, under its lock.

    The file keeps its comments and layout; it is written atomically (mode 0600),
    through a symbolic link. Returns the file's path.
    """
    import tomllib

    env = os.environ if env is None else env
    path = config_path(env)
    ensure_directory(path.parent, only_leaf=bool(env.get(CONFIG_DIR_ENV)))
    with _locked(path):
        profiles = load_profiles(path)
        table = profiles.setdefault(profile, {})
        for key, value in values.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
        if not table:
            del profiles[profile]
        try:
            old = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            old = ""
        text = _edit_text(old, profile, values)
        try:
            edited_ok = {k: dict(v) for k, v in tomllib.loads(text).items()} == profiles
        except (tomllib.TOMLDecodeError, AttributeError, TypeError):
            edited_ok = False
        if not edited_ok:
            # A layout the line editor does not know (say, a profile spread over a
            # dotted table header): rewrite the file whole, always right, but without
            # its comments.
            text = dump_profiles(profiles)
        try:
            write_private_file(path, text)
        except OSError as exc:
            raise AutoplayError(
                f"cannot write config file {path}: {exc.strerror or exc}; it was left unchanged",
                hint="free some disk space or check the directory's permissions",
            ) from exc
    return path


def check_value(key: str, value: str) -> str:
    """*value* checked (and normalised) as setting *key*, or a UsageError naming the fix."""
    from autoplay_cli.onboarding import _validate

    setting = SETTINGS_BY_KEY[key]
    if key in ("connector_url", "unkey_server_url"):
        return _validate.url(value, what=setting.description)
    if key == "product_id":
        return _validate.product_id(value)
    if key == "unkey_api_id":
        return _validate.unkey_api_id(value)
    if key == "redis_url":
        return _validate.redis_url(value)
    if setting.secret:
        return header_credential(value, what=setting.description, name=key)
    return value


def _profile_for_writing(profile: str | None, env: Mapping[str, str]) -> str:
    profile = profile or env.get(PROFILE_ENV) or DEFAULT_PROFILE
    if not _PROFILE_NAME.match(profile):
        raise UsageError(
            f"invalid profile name {profile!r}",
            hint="use letters, digits, '-' and '_' (at most 64)",
        )
    return profile


def set_value(
    key: str, value: str, *, profile: str | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """Store one setting, checked, in a profile of the config file; returns the file's path."""
    env = os.environ if env is None else env
    if key not in SETTINGS_BY_KEY:
        raise UsageError(
            f"unknown setting {key!r}", hint="known settings: " + ", ".join(SETTINGS_BY_KEY)
        )
    value = check_value(key, value)
    return update_profile(_profile_for_writing(profile, env), {key: value}, env=env)


def unset_value(
    key: str, *, profile: str | None = None, env: Mapping[str, str] | None = None
) -> bool:
    """Remove one setting from a profile; returns whether it was there."""
    env = os.environ if env is None else env
    profile = _profile_for_writing(profile, env)
    if key not in load_profiles(config_path(env)).get(profile, {}):
        return False
    update_profile(profile, {key: None}, env=env)
    return True
