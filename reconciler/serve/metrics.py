"""Prometheus metrics for serve, in a registry of its own (not the process-global one), so two
services in one process (tests) never share or clash over a series.

Names follow Prometheus conventions: counters end in `_total`, times are seconds since the epoch.
API call counts are read from the clients' CallCounter at scrape time, never copied.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from reconciler.apply import ApplyReport, Outcome
from reconciler.providers.http import CallCounter


class _CallCollector(Collector):
    def __init__(self, counter: CallCounter) -> None:
        self._counter = counter

    def collect(self) -> Iterator[Metric]:
        calls = CounterMetricFamily(
            "reconciler_api_calls", "HTTP requests sent, retries included", labels=["service"]
        )
        retries = CounterMetricFamily(
            "reconciler_api_retries", "HTTP requests that were retries", labels=["service"]
        )
        for service, n in sorted(self._counter.calls.items()):
            calls.add_metric([service], n)
        for service, n in sorted(self._counter.retries.items()):
            retries.add_metric([service], n)
        yield calls
        yield retries


class Metrics:
    def __init__(self, counter: CallCounter) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ticks = Counter(
            "reconciler_ticks",
            "Scheduled re-plans of the main branch, by result "
            "(clean, drift, healed, refused, failed, error)",
            ["result"],
            registry=r,
        )
        self.applies = Counter(
            "reconciler_applies",
            "Applies of the main branch (merge or push; heal when a tick wrote), by trigger and "
            "result (clean, applied, failed, refused, error)",
            ["trigger", "result"],
            registry=r,
        )
        self.changes_applied = Counter(
            "reconciler_changes_applied",
            "Changes applied successfully, by resource kind and action",
            ["kind", "action"],
            registry=r,
        )
        self.plans = Counter(
            "reconciler_pr_plans", "Pull-request plans posted, by status", ["state"], registry=r
        )
        self.webhooks = Counter(
            "reconciler_webhooks",
            "Webhook deliveries, by outcome (queued, coalesced, duplicate, ignored, "
            "unauthorized, bad_request)",
            ["outcome"],
            registry=r,
        )
        self.drift = Gauge(
            "reconciler_drift_changes",
            "Changes pending on the main branch at the last re-plan (0 = in sync)",
            registry=r,
        )
        self.last_success = Gauge(
            "reconciler_last_success_timestamp_seconds",
            "When a scheduled re-plan last succeeded (seconds since the epoch)",
            registry=r,
        )
        self.pending_jobs = Gauge(
            "reconciler_pending_jobs", "Jobs waiting for the worker", registry=r
        )
        r.register(_CallCollector(counter))

    def count_applied(self, report: ApplyReport) -> None:
        for result in report.results:
            if result.outcome is Outcome.APPLIED:
                kind = result.address.kind.value
                self.changes_applied.labels(kind=kind, action=result.action.value).inc()

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
