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
from typing import Any

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


def validate_registration(body: Any) -> list[dict[str, str]]:
    """Every problem of a ``POST /products`` body, as ``{"field", "message"}`` items."""
    if not isinstance(body, dict):
        return [{"field": "(body)", "message": "must be a JSON object"}]
    problems: list[dict[str, str]] = []

    def need_str(name: str) -> str | None:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append({"field": name, "message": "is required (a non-empty string)"})
            return None
        return value

    product_id = need_str("product_id")
    if product_id is not None and not EXTERNAL_ID.match(product_id):
        problems.append(
            {
                "field": "product_id",
                "message": "must be 1–255 characters of letters, digits, '_', '.', '-'",
            }
        )
    email = need_str("contact_email")
    if email is not None and not EMAIL.match(email):
        problems.append({"field": "contact_email", "message": f"{email!r} is not an email address"})
    secret = need_str("webhook_secret")
    if secret is not None and len(secret) < 16:
        problems.append({"field": "webhook_secret", "message": "must be at least 16 characters"})
    kind = body.get("integration_type", "event_stream")
    if kind not in INTEGRATION_TYPES:
        problems.append(
            {
                "field": "integration_type",
                "message": f"{kind!r} is not one of {', '.join(INTEGRATION_TYPES)}",
            }
        )
    else:
        for name in INTEGRATION_TYPES[kind]:
            value = need_str(name)
            if (
                name == "forward_url"
                and value is not None
                and not value.startswith(("http://", "https://"))
            ):
                problems.append({"field": name, "message": "must be an http(s) URL"})
    config = body.get("integration_config")
    if config is not None and not isinstance(config, dict):
        problems.append({"field": "integration_config", "message": "must be a JSON object"})
    force = body.get("force_reregister", False)
    if not isinstance(force, bool):
        problems.append({"field": "force_reregister", "message": "must be true or false"})
    return problems
