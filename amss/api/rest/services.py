"""The services, the command bus and the ports a REST handler may call, built once in the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from amss.app.aircraft.service import AircraftService
from amss.app.audit_logs import AuditLogService
from amss.app.commands.bus import CommandSender
from amss.app.commands.log import CommandLog
from amss.app.identity import IdentityService
from amss.app.imports.service import ImportService
from amss.app.organizations import OrganizationService
from amss.app.parts.service import PartsService
from amss.app.ports import ErrorTranslator
from amss.app.programs.service import ProgramService
from amss.app.tasks.compliance import ComplianceService
from amss.app.tasks.service import TaskService
from amss.app.users import UserService
from amss.app.webhooks.service import WebhookService


@dataclass(frozen=True)
class Services:
    aircraft: AircraftService
    audit_logs: AuditLogService
    identity: IdentityService
    organizations: OrganizationService
    parts: PartsService
    users: UserService
    tasks: TaskService
    compliance: ComplianceService
    programs: ProgramService
    webhooks: WebhookService
    imports: ImportService


SERVICES = web.AppKey("services", Services)
COMMAND_BUS = web.AppKey("command_bus", CommandSender)
# GET /commands/{id} reads the command log
COMMAND_LOG = web.AppKey("command_log", CommandLog)
# the error middleware's translation of a database error raised outside a unit of work
ERROR_TRANSLATOR = web.AppKey("error_translator", ErrorTranslator)
