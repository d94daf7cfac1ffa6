"""amss-server's gRPC front, over the same composition root as REST: the same services, command bus,
token verifier, rate limits and idempotency store (amss/bootstrap/server.py builds them once)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from amss.api.grpc.audit import AuditServicer
from amss.api.grpc.commands import Commands
from amss.api.grpc.interceptor import AmssInterceptor, GrpcEdge
from amss.api.grpc.inventory import InventoryServicer
from amss.api.grpc.metrics import GrpcMetrics
from amss.api.grpc.programs import ProgramServicer
from amss.api.grpc.server import GrpcServer, Servicers
from amss.api.grpc.tasks import TaskServicer
from amss.app.ports import UnitOfWork
from amss.auth.tokens import TokenService
from amss.bootstrap.server import Server
from amss.infra.postgres.uow import PostgresUnitOfWork
from amss.observability.health import failed_dependencies_of


def build_grpc_server(server: Server, tokens: TokenService, metrics: CollectorRegistry) -> GrpcServer:
    settings, services = server.resources.settings, server.services
    edge = GrpcEdge(
        tokens, services.organizations, server.rate_limits, server.idempotency, GrpcMetrics.register(metrics)
    )
    interceptor = AmssInterceptor(edge)
    pool = server.resources.pool

    def unit_of_work() -> UnitOfWork:
        return PostgresUnitOfWork(pool)

    commands = Commands(server.bus, settings.amss_command_wait.total_seconds())
    servicers = Servicers(
        tasks=TaskServicer(services.tasks, commands, interceptor, settings.grpc_batch_in_flight),
        inventory=InventoryServicer(services.tasks, services.parts, commands),
        audit=AuditServicer(services.audit_logs),
        programs=ProgramServicer(unit_of_work, commands, server.resources.clock, settings.amss_grounding_lead_time),
    )

    async def probe() -> Sequence[str]:
        return await failed_dependencies_of(server.resources.pool, server.resources.redis)

    return GrpcServer(servicers, interceptor, probe)
