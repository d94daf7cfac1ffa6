"""gRPC metrics on the server's registry: calls handled by service, method and status code, and their latency."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True)
class GrpcMetrics:
    handled_total: Counter
    handling_seconds: Histogram
    rate_limit_rejections_total: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> GrpcMetrics:
        return cls(
            handled_total=Counter(
                "grpc_server_handled_total",
                "gRPC calls completed, by service, method and status code",
                ["service", "method", "code"],
                registry=registry,
            ),
            handling_seconds=Histogram(
                "grpc_server_handling_seconds",
                "gRPC call duration (a stream: until its last message), by service and method",
                ["service", "method"],
                registry=registry,
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
            ),
            rate_limit_rejections_total=Counter(
                "grpc_rate_limit_rejections_total",
                "gRPC calls (or batch messages) rejected by a rate limit, by category",
                ["category"],
                registry=registry,
            ),
        )
