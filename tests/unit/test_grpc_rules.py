"""The gRPC front's pure rules: the status of every error code, ErrorInfo, message conversions, service tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2

from amss.api.grpc.call import CallError, CallState, peer_ip
from amss.api.grpc.errors import error_info, render, rpc_status
from amss.api.grpc.gen import amss_pb2 as pb
from amss.api.grpc.messages import parse_enum, parse_id, parse_time, refuse_nul, task_message
from amss.app.error_codes import ERROR_CODES, grpc_status_name
from amss.auth.keys import generate_key_pair
from amss.auth.rbac import is_writer
from amss.auth.tokens import TokenService, service_principal_id
from amss.domain.enums import Role, TaskState, TaskType
from amss.domain.errors import ScheduleOverlap, ValidationFailed
from amss.domain.principal import Principal

# docs/api.md "gRPC", transcribed independently of the error table
DOCUMENTED = {
    "VALIDATION_ERROR": "INVALID_ARGUMENT",
    "UNAUTHORIZED": "UNAUTHENTICATED",
    "FORBIDDEN": "PERMISSION_DENIED",
    "NOT_FOUND": "NOT_FOUND",
    "CONFLICT": "FAILED_PRECONDITION",
    "SCHEDULE_OVERLAP": "FAILED_PRECONDITION",
    "IDEMPOTENCY_KEY_REUSED": "ABORTED",
    "IDEMPOTENCY_IN_PROGRESS": "ABORTED",
    "PRECONDITION_FAILED": "ABORTED",
    "RATE_LIMITED": "RESOURCE_EXHAUSTED",
    "UNAVAILABLE": "UNAVAILABLE",
    "INTERNAL": "INTERNAL",
}


def test_every_code_has_a_grpc_status_and_the_documented_ones_match() -> None:
    for code, row in ERROR_CODES.items():
        assert grpc.StatusCode[row.grpc_status] is not None, code
    for code, status in DOCUMENTED.items():
        assert grpc_status_name(code) == status, code


def test_a_domain_error_renders_with_its_code_and_details() -> None:
    rendered = render(ScheduleOverlap("overlaps", {"task_id": "t", "window": {"a": 1}}), "rid")
    assert (rendered.status, rendered.code) == (grpc.StatusCode.FAILED_PRECONDITION, "SCHEDULE_OVERLAP")
    info = error_info(rendered)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "SCHEDULE_OVERLAP",
        "amss",
        {"task_id": "t", "window": '{"a":1}'},
    )
    status = rpc_status(rendered)
    assert status.code == grpc.StatusCode.FAILED_PRECONDITION.value[0] and len(status.details) == 2


def test_an_unexpected_error_reveals_nothing() -> None:
    rendered = render(RuntimeError("secret path /etc/x"), "rid")
    assert (rendered.status, rendered.code, rendered.message) == (
        grpc.StatusCode.INTERNAL,
        "INTERNAL",
        "internal error",
    )
    assert render(CallError("RATE_LIMITED", "slow down"), "rid").status == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_enums_ids_and_times_are_checked() -> None:
    assert parse_enum(TaskType, pb.TASK_TYPE_OVERHAUL, "type") is TaskType.OVERHAUL
    assert parse_enum(TaskState, pb.TASK_STATE_IN_PROGRESS, "state") is TaskState.IN_PROGRESS
    for number in (0, 99, -1):
        with pytest.raises(ValidationFailed, match="TASK_TYPE_INSPECTION"):
            parse_enum(TaskType, number, "type")
    with pytest.raises(ValidationFailed):
        parse_id("123", "task_id")
    with pytest.raises(ValidationFailed, match="required"):
        parse_id("", "task_id")
    request = pb.CreateTaskRequest()
    with pytest.raises(ValidationFailed, match="start_time: required"):
        parse_time(request, "start_time")
    request.start_time.CopyFrom(timestamp_pb2.Timestamp(seconds=253402300799))  # 9999-12-31T23:59:59Z
    with pytest.raises(ValidationFailed, match="start_time: must be from"):
        parse_time(request, "start_time")
    request.start_time.CopyFrom(timestamp_pb2.Timestamp(seconds=4102444800))  # 2100-01-01T00:00:00Z
    assert parse_time(request, "start_time") == datetime(2100, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationFailed, match="NUL"):
        refuse_nul(pb.LogActionRequest(entity_type="a\x00b"))


def test_a_task_view_becomes_a_message() -> None:
    view: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "org_id": str(uuid.uuid4()),
        "aircraft_id": str(uuid.uuid4()),
        "program_id": None,
        "type": "repair",
        "state": "in_progress",
        "start_time": "2031-03-01T08:00:00Z",
        "end_time": "2031-03-01T12:00:00.5Z",
        "assigned_mechanic_id": None,
        "notes": None,
        "version": 3,
        "created_at": "2031-01-01T00:00:00Z",
        "updated_at": "2031-01-02T00:00:00Z",
        "reservations": [],
        "compliance_items": [],
    }
    message = task_message(view)
    assert message.type == pb.TASK_TYPE_REPAIR and message.state == pb.TASK_STATE_IN_PROGRESS
    assert not message.HasField("program_id") and not message.HasField("notes")
    assert message.end_time.ToDatetime(tzinfo=UTC) == datetime(2031, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)


def test_peer_addresses() -> None:
    assert peer_ip("ipv4:10.1.2.3:5555") == "10.1.2.3"
    assert peer_ip("ipv6:[::1]:5555") == "::1"
    assert peer_ip(None) is None


def test_service_credentials_are_scoped_and_act_as_the_job() -> None:
    tokens = TokenService(generate_key_pair(), "amss", timedelta(minutes=15))
    org_id = uuid.uuid4()
    claims = tokens.verify_access(tokens.issue_service("program-generator", org_id, datetime.now(UTC)))
    assert claims.user_id == service_principal_id("program-generator")
    assert (claims.org_id, claims.role, claims.scopes) == (org_id, Role.SCHEDULER, ("job:program-generator",))
    assert (claims.expires_at - datetime.now(UTC)).total_seconds() <= 61
    call = CallState("m", str(uuid.uuid4()), "10.0.0.1", "ua", {})
    call.principal = Principal(claims.user_id, claims.org_id, claims.role, claims.scopes)
    actor = call.actor()
    assert (actor.principal, actor.job, actor.ip_address) == (None, "program-generator", "10.0.0.1")


def test_writer_roles() -> None:
    assert {role for role in Role if is_writer(role)} == set(Role) - {Role.AUDITOR}
