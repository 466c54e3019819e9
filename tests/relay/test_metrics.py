"""The relay's /metrics: the latency histogram, counted locally, reads as a Histogram would."""

from __future__ import annotations

import math
import random
from typing import Any

from autoplay_cli.relay.metrics import LATENCY_BUCKETS, LatencyHistogram, RelayMetrics


def _samples(text: str, family: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for f in text_string_to_metric_families(text):
        if f.name in (family, family + "_created"):  # the parser splits created off
            for s in f.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _source() -> dict[str, Any]:
    return {
        "events": {"actions": 3},
        "deliveries": {("note", "ok"): 2},
        "blocked": {},
        "offers": 1,
        "retries": 0,
        "dead": 0,
        "reconnects": 0,
        "gaps": 0,
        "malformed": 0,
        "sessions": 1,
        "waiting": 0,
        "lag": 0.0,
        "outbox": 0,
    }


def test_latency_histogram_equals_prometheus_histogram() -> None:
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    registry = CollectorRegistry()
    reference = Histogram(
        LatencyHistogram.NAME, LatencyHistogram.DOC, buckets=LATENCY_BUCKETS, registry=registry
    )
    metrics = RelayMetrics(_source)
    rng = random.Random(3)
    # Every bound exactly (a value on a bound counts in that bucket), around the bounds,
    # beyond the last one, zero, a clock step back (negative) and NaN.
    values = [float(b) for b in LATENCY_BUCKETS] + [b * 1.0001 for b in LATENCY_BUCKETS]
    values += [rng.expovariate(2.0) for _ in range(500)] + [0.0, -3.0, 1e9, math.nan]
    for v in values:
        reference.observe(max(v, 0.0))
        metrics.observe_delivery(None, v)
    name = LatencyHistogram.NAME
    ours = _samples(metrics.render().decode(), name)
    theirs = _samples(generate_latest(registry).decode(), name)
    created = (name + "_created", ())
    assert abs(ours.pop(created) - theirs.pop(created)) < 60
    assert ours.keys() == theirs.keys() and len(ours) == len(LATENCY_BUCKETS) + 3
    for key, value in theirs.items():
        assert (math.isnan(value) and math.isnan(ours[key])) or ours[key] == value, key
    assert ours[(name + "_count", ())] == len(values) - 1  # NaN counts nowhere


def test_latency_histogram_sum_is_finite_without_nan() -> None:
    metrics = RelayMetrics(_source)
    for v in (0.001, 0.02, 7.0):
        metrics.observe_delivery(None, v)
    samples = _samples(metrics.render().decode(), LatencyHistogram.NAME)
    name = LatencyHistogram.NAME
    assert samples[(name + "_sum", ())] == 0.001 + 0.02 + 7.0
    assert samples[(name + "_bucket", (("le", "0.005"),))] == 1
    assert samples[(name + "_bucket", (("le", "10.0"),))] == 3
    assert samples[(name + "_count", ())] == 3
