"""The grpc.aio server of amss-server: the amss.v1 servicers behind the interceptor, health and reflection.

Health (`grpc.health.v1.Health`) answers for "" and every amss.v1 service: SERVING while Postgres
and Redis answer the readiness probes (checked every `probe_interval` seconds), NOT_SERVING when one
does not, and NOT_SERVING for good once shutdown begins. `stop` lets calls in flight finish within
the grace period (SHUTDOWN_GRACE), then cancels what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from amss.api.grpc.gen import amss_pb2, amss_pb2_grpc
from amss.api.grpc.interceptor import AmssInterceptor
from amss.api.grpc.methods import SERVICE_NAMES

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[Sequence[str]]]  # the names of the dependencies that did not answer


@dataclass(frozen=True)
class Servicers:
    tasks: amss_pb2_grpc.TaskServiceServicer
    inventory: amss_pb2_grpc.InventoryServiceServicer | None = None
    audit: amss_pb2_grpc.AuditServiceServicer | None = None
    programs: amss_pb2_grpc.ProgramServiceServicer | None = None


class GrpcServer:
    def __init__(
        self, servicers: Servicers, interceptor: AmssInterceptor, probe: Probe, *, probe_interval: float = 5.0
    ) -> None:
        self._server = grpc.aio.server(
            interceptors=[interceptor],
            options=[("grpc.max_receive_message_length", 4 * 1024 * 1024), ("grpc.so_reuseport", 0)],
        )
        self._health = HealthServicer()
        self._probe = probe
        self._probe_interval = probe_interval
        self._prober: asyncio.Task[None] | None = None
        self._stopping = False
        amss_pb2_grpc.add_TaskServiceServicer_to_server(servicers.tasks, self._server)
        if servicers.inventory is not None:
            amss_pb2_grpc.add_InventoryServiceServicer_to_server(servicers.inventory, self._server)
        if servicers.audit is not None:
            amss_pb2_grpc.add_AuditServiceServicer_to_server(servicers.audit, self._server)
        if servicers.programs is not None:
            amss_pb2_grpc.add_ProgramServiceServicer_to_server(servicers.programs, self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        names = [service.full_name for service in amss_pb2.DESCRIPTOR.services_by_name.values()]
        reflection.enable_server_reflection(
            [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            self._server,
        )

    def bind(self, address: str) -> int:
        """Listen on `address` ("host:port"); the port bound (useful with port 0)."""
        port: int = self._server.add_insecure_port(address)
        if port == 0:
            raise OSError(f"cannot listen for gRPC on {address}")
        return port

    async def start(self) -> None:
        await self._server.start()
        await self._set_all(health_pb2.HealthCheckResponse.SERVING if not await self._probe() else _NOT_SERVING)
        self._prober = asyncio.create_task(self._watch())

    async def stop(self, grace: float) -> None:
        """Health NOT_SERVING at once, new calls refused, calls in flight given `grace` seconds."""
        self._stopping = True
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
        await self._health.enter_graceful_shutdown()
        await self._server.stop(grace)

    async def _set_all(self, status: Any) -> None:
        for name in ("", *SERVICE_NAMES):
            await self._health.set(name, status)

    async def _watch(self) -> None:
        serving: bool | None = None
        while not self._stopping:
            await asyncio.sleep(self._probe_interval)
            try:
                failed = await self._probe()
            except Exception:
                failed = ["probe"]
            now_serving = not failed
            if now_serving != serving and not self._stopping:
                if not now_serving:
                    log.warning("gRPC health: not serving", extra={"failed": list(failed)})
                await self._set_all(health_pb2.HealthCheckResponse.SERVING if now_serving else _NOT_SERVING)
                serving = now_serving


_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
