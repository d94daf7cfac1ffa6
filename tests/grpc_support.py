"""Calling the gRPC front from tests: typed stubs over one channel, metadata helpers, and error reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import google.rpc.error_details_pb2 as error_details_pb2
import google.rpc.status_pb2 as status_pb2
import grpc
from google.protobuf import timestamp_pb2

from amss.api.grpc.gen import amss_pb2_grpc


@dataclass(frozen=True)
class Stubs:
    channel: grpc.aio.Channel
    tasks: amss_pb2_grpc.TaskServiceAsyncStub
    inventory: amss_pb2_grpc.InventoryServiceAsyncStub
    audit: amss_pb2_grpc.AuditServiceAsyncStub
    programs: amss_pb2_grpc.ProgramServiceAsyncStub

    @classmethod
    def over(cls, channel: grpc.aio.Channel) -> Stubs:
        return cls(
            channel,
            amss_pb2_grpc.TaskServiceStub(channel),
            amss_pb2_grpc.InventoryServiceStub(channel),
            amss_pb2_grpc.AuditServiceStub(channel),
            amss_pb2_grpc.ProgramServiceStub(channel),
        )


def bearer(token: str, **extra: str) -> tuple[tuple[str, str], ...]:
    """Call metadata: the token, plus `idempotency_key="k"` -> ("idempotency-key", "k") and the like."""
    return (("authorization", f"Bearer {token}"), *((key.replace("_", "-"), value) for key, value in extra.items()))


def stamp(value: datetime) -> timestamp_pb2.Timestamp:
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(value.astimezone(UTC))
    return result


@dataclass(frozen=True)
class Failure:
    status: grpc.StatusCode
    code: str  # amss-error-code
    reason: str  # the ErrorInfo's reason
    message: str


def failure_of(error: grpc.aio.AioRpcError) -> Failure:
    """The status code, the `amss-error-code` trailer and the ErrorInfo reason of a failed call."""
    trailers = dict(error.trailing_metadata() or ())
    raw = trailers.get("grpc-status-details-bin")
    reason = ""
    if isinstance(raw, bytes):
        status = status_pb2.Status.FromString(raw)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                assert info.domain == "amss"
                reason = info.reason
    code = trailers.get("amss-error-code", "")
    return Failure(error.code(), str(code), reason, error.details() or "")
