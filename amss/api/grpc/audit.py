"""amss.v1.AuditService.LogAction: an audit row for an action an external system performed.

Writer roles only (every role but auditor: the interceptor checks `writers_only` from the RBAC
table). The row's user, organization, request id, peer address and user agent come from the call's
credentials and metadata; the message names only the entity, the action and free-form details.
"""

from __future__ import annotations

from typing import Any, Final

import grpc
from google.protobuf import json_format

from amss.api.grpc.call import current_call
from amss.api.grpc.gen import amss_pb2 as pb
from amss.api.grpc.gen import amss_pb2_grpc
from amss.api.grpc.messages import audit_message, parse_enum, parse_id
from amss.app.audit_logs import AuditLogService
from amss.domain.enums import AuditAction
from amss.domain.errors import ValidationFailed

MAX_ENTITY_TYPE: Final = 100
MAX_DETAILS_BYTES: Final = 64 * 1024


class AuditServicer(amss_pb2_grpc.AuditServiceServicer):
    def __init__(self, audit_logs: AuditLogService) -> None:
        self._audit_logs = audit_logs

    async def LogAction(
        self, request: pb.LogActionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.AuditLogEntry:
        call = current_call()
        entity_type = request.entity_type.strip()
        if not entity_type or len(entity_type) > MAX_ENTITY_TYPE:
            raise ValidationFailed.on_field("entity_type", f"1 to {MAX_ENTITY_TYPE} characters")
        entity_id = parse_id(request.entity_id, "entity_id")
        action = parse_enum(AuditAction, request.action, "action")
        if request.details.ByteSize() > MAX_DETAILS_BYTES:
            raise ValidationFailed.on_field("details", f"at most {MAX_DETAILS_BYTES} bytes")
        details: dict[str, Any] = json_format.MessageToDict(request.details)
        record = await self._audit_logs.log_action(
            call.actor(), call.require_principal().org_id, entity_type, entity_id, action, details
        )
        return audit_message(record)
