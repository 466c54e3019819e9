"""Handing credentials over: a shell env file (mode 0600) and a config profile.

The env file holds ``export NAME='value'`` lines, so ``source FILE`` (or
``set -a; . FILE``) makes ``autoplay tail`` work straight away.
"""

from __future__ import annotations

import os
import secrets
import shlex
from collections.abc import Mapping
from pathlib import Path

from autoplay_cli import settings as config
from autoplay_cli.errors import AutoplayError, UsageError

ENV_CONNECTOR_URL = "AUTOPLAY_CONNECTOR_URL"
ENV_PRODUCT_ID = "AUTOPLAY_PRODUCT_ID"
ENV_TOKEN = "AUTOPLAY_TOKEN"
ENV_WEBHOOK_SECRET = "AUTOPLAY_WEBHOOK_SECRET"
ENV_FORWARD_SECRET = "AUTOPLAY_FORWARD_SECRET"


def check_env_file_target(path: Path, *, force: bool) -> None:
    """Fail before anything is registered if *path* cannot be written as asked.

    Checked up front because the stream key is shown only once: discovering after
    registration that the file exists would leave the operator without it.
    """
    if path.is_dir():
        raise UsageError(
            f"`env_file` {path} is a directory", setting="env_file", hint="give a file path"
        )
    if path.is_symlink() and not path.exists():
        raise UsageError(
            f"`env_file` {path} is a dangling symbolic link (to {os.readlink(path)})",
            setting="env_file",
            hint="remove the link or point it at an existing directory, or choose another path",
        )
    if path.exists() and not force:
        raise UsageError(
            f"`env_file` {path} already exists; refusing to overwrite it",
            setting="env_file",
            hint="pass `force` to replace it, or choose another path",
        )
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise UsageError(
            f"`env_file` {path}: {parent} is not a directory",
            setting="env_file",
            hint="choose a path in an existing directory",
        )
    if not parent.exists() and (not parent.parent.is_dir() or parent.parent == Path(parent.anchor)):
        # One missing directory under an existing one is created (and said so);
        # never a whole tree from a typo, nor anything in the filesystem root.
        raise UsageError(
            f"`env_file` {path}: directory {parent} does not exist",
            setting="env_file",
            hint=f"create it first (mkdir -p {shlex.quote(str(parent))}) or choose another path",
        )


def unsafe_directory_warning(path: Path) -> str | None:
    """A warning when *path*'s directory lets anyone replace files in it (no sticky bit)."""
    import stat

    try:
        mode = path.parent.stat().st_mode
    except OSError:
        return None
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        return (
            f"`env_file` {path} is in a world-writable directory without the sticky bit: "
            "any local user can replace or remove the credentials file there"
        )
    return None


def render_env_file(values: Mapping[str, str | None], *, header: str) -> str:
    """``export NAME='value'`` lines; a missing value becomes a comment saying so."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name, value in values.items():
        if value is None:
            lines.append(f"# {name} is not set: see the onboarding output")
        else:
            lines.append(f"export {name}={shlex.quote(value)}")
    return "\n".join(lines) + "\n"


def write_env_file(path: Path, text: str, *, force: bool) -> bool:
    """Write the env file atomically with mode 0600, refusing to overwrite without *force*.

    Returns whether its directory had to be created (mode 0700).
    """
    check_env_file_target(path, force=force)
    created = config.ensure_directory(path.parent, only_leaf=True)
    try:
        if force:
            config.write_private_file(path, text)
        else:
            _write_new_private_file(path, text)
    except FileExistsError:
        # Created by someone else since the check: theirs stays untouched.
        raise UsageError(
            f"`env_file` {path} appeared while onboarding; refusing to overwrite it",
            setting="env_file",
            hint="the credentials are shown above: save them, or re-run with another path",
        ) from None
    except OSError as exc:
        raise AutoplayError(
            f"cannot write `env_file` {path}: {exc.strerror or exc}",
            setting="env_file",
            hint="check the directory exists and is writable",
        ) from exc
    return created


def _write_new_private_file(path: Path, text: str) -> None:
    """Like :func:`config.write_private_file`, but never replaces an existing file.

    The complete file is staged beside the target, then hard-linked into place: it
    appears whole or not at all, and ``link`` fails with FileExistsError where a
    rename would silently clobber.
    """
    staged = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    config.write_private_file(staged, text)
    try:
        os.link(staged, path)
    finally:
        staged.unlink()


# A profile already holding either belongs to a product; its connector_url alone (a
# profile set up for onboarding) may be written over.
PRODUCT_KEYS = ("product_id", "token")


def check_profile_target(profile: str, *, force: bool) -> None:
    """Fail before registering if *profile* already holds another product's settings.

    Reads the config file now, so a malformed one fails before anything is sent.
    """
    held = config.load_profiles(config.config_path()).get(profile, {})
    if not force and any(key in held for key in PRODUCT_KEYS):
        raise UsageError(
            f"`save_profile` {profile}: that profile already holds "
            + " and ".join(k for k in PRODUCT_KEYS if k in held)
            + "; refusing to overwrite it",
            setting="save_profile",
            hint="pass `force` to replace them, or choose another profile name",
        )


def save_profile(values: Mapping[str, str | None], *, profile: str) -> Path:
    """Store *values* in *profile* of the config file in one locked write (mode 0600).

    A missing value is removed from the profile, so a replaced profile never pairs
    the new product with the previous product's stream key.
    """
    return config.update_profile(profile, values)
