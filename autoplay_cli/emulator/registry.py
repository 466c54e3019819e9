"""In-memory state of the emulator: registered products and the keys of the fake Unkey.

Stream keys live in one key store shared by ``POST /products`` (the connector
minting keys server-side) and the fake Unkey's ``keys.createKey``, so a key
from either path streams its product. Pure: no web framework here.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from autoplay_cli.documents import problem, render_path
from autoplay_cli.emulator.options import EXTERNAL_ID

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
KEY_PREFIX = re.compile(r"^[A-Za-z0-9_]{1,16}$")
# Integration types the emulator accepts, and the fields each one requires.
INTEGRATION_TYPES: dict[str, tuple[str, ...]] = {
    "event_stream": (),
    "push": ("forward_url", "forward_secret"),
}


@dataclass(slots=True)
class Key:
    key_id: str
    key: str
    external_id: str | None
    name: str | None = None
    meta: dict[str, Any] | None = None
    enabled: bool = True


@dataclass(slots=True)
class Product:
    product_id: str
    contact_email: str
    integration_type: str
    webhook_secret: str
    body: dict[str, Any] = field(default_factory=dict)
    key_ids: list[str] = field(default_factory=list)


class Registry:
    """Products and keys; safe to read from the test thread while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.products: dict[str, Product] = {}
        self.keys: dict[str, Key] = {}  # plaintext key -> Key (a fake: real Unkey stores hashes)

    def create_key(
        self,
        *,
        external_id: str | None,
        prefix: str | None = None,
        name: str | None = None,
        meta: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Key:
        """Mint (or, with *key*, adopt) a key; ``prefix_`` is prepended like Unkey does."""
        plaintext = key or ((f"{prefix}_" if prefix else "") + secrets.token_urlsafe(24))
        record = Key(
            key_id="key_" + secrets.token_hex(8),
            key=plaintext,
            external_id=external_id,
            name=name,
            meta=meta,
        )
        with self._lock:
            self.keys[plaintext] = record
        return record

    def find_key(self, key: str) -> Key | None:
        with self._lock:
            return self.keys.get(key)

    def revoke(self, key_ids: list[str]) -> None:
        with self._lock:
            for record in self.keys.values():
                if record.key_id in key_ids:
                    record.enabled = False

    def add_product(self, product: Product) -> None:
        with self._lock:
            self.products[product.product_id] = product

    def product(self, product_id: str) -> Product | None:
        with self._lock:
            return self.products.get(product_id)


ProductId = Annotated[
    str,
    Meta(
        pattern=EXTERNAL_ID.pattern,
        description="1–255 characters of letters, digits, '_', '.', '-'",
    ),
]
NonEmpty = Annotated[str, Meta(pattern=r"\S", description="a non-empty string")]


class Registration(msgspec.Struct):
    """A ``POST /products`` body; other keys are kept with the product, unread."""

    product_id: ProductId
    contact_email: Annotated[str, Meta(pattern=EMAIL.pattern, description="an email address")]
    webhook_secret: Annotated[
        str, Meta(min_length=16, description="at least 16 characters", extra={"secret": True})
    ]
    integration_type: Literal["event_stream", "push"] = "event_stream"
    forward_url: (
        Annotated[str, Meta(pattern=r"^https?://", description="an http(s) URL")] | UnsetType
    ) = UNSET
    forward_secret: NonEmpty | UnsetType = UNSET
    integration_config: Annotated[dict[str, Any], Meta(description="a JSON object")] | None = None
    force_reregister: bool = False


def validate_registration(body: Any) -> list[dict[str, str]]:
    """Every problem of a ``POST /products`` body, as ``{"field", "message"}`` items.

    Each field is converted on its own, so that every problem is reported, not just the
    first one a whole-body conversion would stop at.
    """
    if not isinstance(body, dict):
        return [{"field": "(body)", "message": "must be a JSON object"}]
    problems: list[dict[str, str]] = []
    for field_ in msgspec.structs.fields(Registration):
        name = field_.encode_name
        if name not in body:
            if field_.required:
                problems.append({"field": name, "message": f"is required ({_described(field_)})"})
            continue
        why = problem(body[name], field_.type)
        if why is not None:
            path, message, _ = why
            problems.append({"field": render_path((name, *path)), "message": message})
    kind = body.get("integration_type", "event_stream")
    for name in INTEGRATION_TYPES.get(kind, ()) if isinstance(kind, str) else ():
        if name not in body:
            problems.append(
                {"field": name, "message": f"is required for integration_type {kind!r}"}
            )
    return problems


def _described(field_: msgspec.structs.FieldInfo) -> str:
    meta = getattr(field_.type, "__metadata__", ())
    return next((m.description for m in meta if getattr(m, "description", None)), "a value")
