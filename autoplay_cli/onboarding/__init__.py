"""Onboarding a product: validation, registration with the connector, stream keys, hand-over.

Private modules behind this public surface: ``_validate`` (inputs), ``_secrets``
(generation), ``_connector`` (``POST /products``), ``_unkey`` (Unkey SDK),
``_envfile`` (env file and profile), ``_flow`` (the whole run), and ``checks``, what
``autoplay doctor`` verifies end to end (``run_checks``). The face is ``__all__``.
Every failure is an ``autoplay_cli.errors`` error::

    UsageError (2)               an input is invalid; nothing was sent
    ConfigError (3)              a needed credential is not configured
    AuthError (4)                the connector or Unkey rejected a key
    NotFoundError (5)            wrong connector URL or Unkey API id
    ServiceUnavailableError (6)  connector or Unkey unreachable, 5xx, timeout
    ConflictError (7)            the product is already registered (409)
    InputError (8)               the connector or Unkey rejected a value (400/422)
"""

from __future__ import annotations

from autoplay_cli.onboarding._connector import (
    INGEST_SECRET_HEADER,
    Registration,
    RegistrationRequest,
    register_product,
    stream_url,
    webhook_url,
)
from autoplay_cli.onboarding._flow import (
    KEY_SOURCE_CONNECTOR,
    KEY_SOURCE_UNKEY,
    OnboardOptions,
    OnboardPlan,
    OnboardResult,
    RequiredInput,
    onboard,
    prepare,
    resolve_options,
)
from autoplay_cli.onboarding._secrets import generate_secret
from autoplay_cli.onboarding._unkey import (
    DEFAULT_KEY_PREFIX,
    CreatedKey,
    KeyVerification,
    create_stream_key,
    verify_key,
)
from autoplay_cli.onboarding._validate import INTEGRATION_TYPES
from autoplay_cli.onboarding.checks import DEFAULT_HTTP_TIMEOUT as DOCTOR_HTTP_TIMEOUT
from autoplay_cli.onboarding.checks import DEFAULT_STREAM_TIMEOUT as DOCTOR_STREAM_TIMEOUT
from autoplay_cli.onboarding.checks import Check, DoctorReport, run_checks

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "DOCTOR_HTTP_TIMEOUT",
    "DOCTOR_STREAM_TIMEOUT",
    "INGEST_SECRET_HEADER",
    "INTEGRATION_TYPES",
    "KEY_SOURCE_CONNECTOR",
    "KEY_SOURCE_UNKEY",
    "Check",
    "CreatedKey",
    "DoctorReport",
    "KeyVerification",
    "OnboardOptions",
    "OnboardPlan",
    "OnboardResult",
    "Registration",
    "RegistrationRequest",
    "RequiredInput",
    "create_stream_key",
    "generate_secret",
    "onboard",
    "prepare",
    "register_product",
    "resolve_options",
    "run_checks",
    "stream_url",
    "verify_key",
    "webhook_url",
]
