"""The relay's Prometheus metrics, read from its counters when scraped.

Counters the pipeline already keeps are exported by a collector at scrape time, so
the hot path pays nothing for them; the delivery latency histogram is counted here
(one bisection per delivery) and exported at scrape time too. Each relay has its own
registry (no global state).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class RelayMetrics:
    """A registry with the relay's metrics; :meth:`render` gives the text format."""

    def __init__(self, source: Callable[[], dict[str, Any]]) -> None:
        from prometheus_client import CollectorRegistry

        self.registry = CollectorRegistry(auto_describe=False)
        self._source = source
        self.latency = LatencyHistogram()
        self.registry.register(_Collector(source, self.latency))

    def observe_delivery(self, _delivery: Any, seconds: float) -> None:
        self.latency.observe(seconds)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class LatencyHistogram:
    """The delivery latency histogram, counted locally and exported when scraped.

    A ``prometheus_client`` Histogram takes a lock and walks its buckets per
    observation; here one bisection counts it, and :meth:`family` gives the same
    samples a Histogram would (cumulative buckets, count, sum, created).
    """

    NAME = "autoplay_relay_delivery_latency_seconds"
    DOC = "Seconds from a delivery's creation to its successful send."

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = (*(float(b) for b in buckets), math.inf)
        self.counts = [0] * len(self.bounds)  # per bucket, not cumulative
        self.sum = 0.0
        self.created = time.time()

    def observe(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)  # a clock step back is not a negative latency
        self.sum += seconds
        if seconds <= math.inf:  # NaN goes in no bucket (nor does it in a Histogram)
            self.counts[bisect_left(self.bounds, seconds)] += 1

    def family(self) -> Any:
        from prometheus_client.core import HistogramMetricFamily
        from prometheus_client.utils import floatToGoString

        cumulative, buckets = 0, []
        for bound, n in zip(self.bounds, self.counts, strict=True):
            cumulative += n
            buckets.append((floatToGoString(bound), float(cumulative)))
        family = HistogramMetricFamily(self.NAME, self.DOC)
        family.add_metric([], buckets, self.sum)
        family.add_sample(self.NAME + "_created", {}, self.created)
        return family


class _Collector:
    def __init__(self, source: Callable[[], dict[str, Any]], latency: LatencyHistogram) -> None:
        self._source = source
        self._latency = latency

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        s = self._source()
        yield self._latency.family()

        def counter(name: str, doc: str, labels: list[str], values: dict[Any, float]) -> Any:
            family = CounterMetricFamily(name, doc, labels=labels)
            for key, value in sorted(values.items()):
                family.add_metric(list(key) if isinstance(key, tuple) else [key], value)
            return family

        def plain(name: str, doc: str, value: float) -> Any:
            family = CounterMetricFamily(name, doc)
            family.add_metric([], value)
            return family

        yield counter(
            "autoplay_relay_events", "Stream payload events applied, by type.", ["type"],
            dict(s["events"]),
        )  # fmt: skip
        yield counter(
            "autoplay_relay_deliveries",
            "Deliveries by type and outcome (ok, dead_letter).",
            ["type", "outcome"],
            dict(s["deliveries"]),
        )
        yield counter(
            "autoplay_relay_offers_blocked", "Offers the gate blocked, by reason.", ["reason"],
            dict(s["blocked"]),
        )  # fmt: skip
        yield plain("autoplay_relay_offers", "Proactive offers made.", s["offers"])
        yield plain("autoplay_relay_delivery_retries", "Delivery attempts retried.", s["retries"])
        yield plain("autoplay_relay_dead_letters", "Deliveries dead-lettered.", s["dead"])
        yield plain("autoplay_relay_stream_reconnects", "Stream reconnections.", s["reconnects"])
        yield plain("autoplay_relay_stream_gaps", "Gaps the stream reported.", s["gaps"])
        yield plain("autoplay_relay_malformed_frames", "Malformed frames skipped.", s["malformed"])
        for name, doc, key in (
            ("autoplay_relay_active_sessions", "Sessions held in memory.", "sessions"),
            ("autoplay_relay_waiting_sessions", "Sessions waiting to time out.", "waiting"),
            ("autoplay_relay_stream_lag_seconds", "Now minus the last forwarded_at.", "lag"),
            ("autoplay_relay_outbox_depth", "Deliveries queued (memory outbox).", "outbox"),
        ):
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], float(s[key]))
            yield gauge


def snapshot(relay: Any, sender: Any, stream: Any, health: Any) -> dict[str, Any]:
    """The numbers the collector exports, read from the running relay's parts."""
    c = relay.counters
    st = sender.stats
    return {
        "events": c.events,
        "deliveries": st.by_type,
        "blocked": c.blocked,
        "offers": c.offers,
        "retries": st.retries,
        "dead": st.dead,
        "reconnects": getattr(stream, "reconnects", 0),
        "gaps": getattr(stream, "gaps", 0),
        "malformed": getattr(stream, "malformed", 0),
        "sessions": len(relay.store.sessions),
        "waiting": relay.engine.waiting,
        "lag": health.lag_s(time.time()) or 0.0,
        "outbox": health.outbox_depth,
    }
