"""The REST API's application services, over the process's pool, clock and part item locks."""

from __future__ import annotations

from amss.api.rest.services import Services
from amss.app.aircraft.service import AircraftService
from amss.app.audit_logs import AuditLogService
from amss.app.identity import IdentityService
from amss.app.imports.service import ImportService
from amss.app.organizations import OrganizationService
from amss.app.parts.service import PartsService
from amss.app.ports import PartItemLocks, UnitOfWork
from amss.app.programs.service import ProgramService
from amss.app.tasks.compliance import ComplianceService
from amss.app.tasks.service import TaskService
from amss.app.users import UserService
from amss.app.webhooks.service import WebhookService
from amss.auth.adapters import BcryptPasswords, JwtAccessTokens, OpaqueRefreshTokens
from amss.auth.rbac import grants_everything_of
from amss.auth.tokens import TokenService
from amss.bootstrap.resources import Resources
from amss.infra.http.public_resolver import refuse_non_public
from amss.infra.postgres.uow import PostgresUnitOfWork
from amss.infra.redis.import_jobs import RedisImportQueue


def build_services(resources: Resources, tokens: TokenService, locks: PartItemLocks) -> Services:
    settings, pool, clock = resources.settings, resources.pool, resources.clock
    passwords = BcryptPasswords(settings.bcrypt_rounds)

    def unit_of_work() -> UnitOfWork:
        return PostgresUnitOfWork(pool)

    aircraft_service = AircraftService(unit_of_work, clock, settings.amss_grounding_lead_time)
    return Services(
        aircraft=aircraft_service,
        audit_logs=AuditLogService(unit_of_work),
        identity=IdentityService(
            unit_of_work,
            JwtAccessTokens(tokens),
            OpaqueRefreshTokens(),
            passwords,
            settings.refresh_token_ttl,
            clock,
            refresh_reuse_grace=settings.refresh_reuse_grace,
        ),
        organizations=OrganizationService(unit_of_work),
        parts=PartsService(unit_of_work, clock, locks),
        users=UserService(unit_of_work, passwords, clock, lambda old, new: not grants_everything_of(new, old)),
        tasks=TaskService(unit_of_work, clock, aircraft_service),
        compliance=ComplianceService(unit_of_work, clock),
        programs=ProgramService(unit_of_work, clock),
        webhooks=WebhookService(
            unit_of_work,
            clock,
            allow_http=settings.allows_http_webhooks,
            # the SSRF guard at creation: private receivers are allowed outside production (tests, dev)
            destination_check=_refuse_non_public if settings.is_production else None,
        ),
        imports=ImportService(unit_of_work, RedisImportQueue(resources.redis, resources.keys)),
    )


async def _refuse_non_public(host: str, port: int) -> None:
    await refuse_non_public(host, port)
