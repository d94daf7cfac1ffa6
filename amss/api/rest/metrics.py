"""HTTP metrics on the app's own registry: requests, durations, rate-limit rejections."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True)
class HttpMetrics:
    requests_total: Counter
    request_duration_seconds: Histogram
    rate_limit_rejections_total: Counter
    rate_limit_failures_total: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> HttpMetrics:
        return cls(
            requests_total=Counter(
                "requests_total",
                "HTTP requests by route template, method and status",
                ["route", "method", "status"],
                registry=registry,
            ),
            request_duration_seconds=Histogram(
                "request_duration_seconds",
                "HTTP request duration by route template",
                ["route"],
                registry=registry,
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            ),
            rate_limit_rejections_total=Counter(
                "rate_limit_rejections_total",
                "Requests rejected by a rate limit, by category",
                ["category"],
                registry=registry,
            ),
            rate_limit_failures_total=Counter(
                "rate_limit_failures_total",
                "Rate-limit checks that could not reach Redis, by category and outcome (open or closed)",
                ["category", "outcome"],
                registry=registry,
            ),
        )


HTTP_METRICS = web.AppKey("http_metrics", HttpMetrics)
