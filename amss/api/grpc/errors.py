"""Every failure of a gRPC call as a status from the one error table (amss/app/error_codes.py).

The status code is the table's gRPC status of the REST error code; the status carries a
`google.rpc.ErrorInfo` detail (`reason` = the code, `domain` = "amss", `metadata` = the details'
scalar values) and the trailing metadata `amss-error-code`. Unexpected exceptions are INTERNAL and
reveal nothing; unreachable dependencies are UNAVAILABLE.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

import google.rpc.error_details_pb2 as error_details_pb2
import google.rpc.status_pb2 as status_pb2
import grpc
import orjson
from google.protobuf import any_pb2, struct_pb2

from amss.api.grpc.call import CallError
from amss.api.rest.errors import UNAVAILABLE_ERRORS
from amss.app.error_codes import grpc_status_name
from amss.domain.errors import DomainError

log = logging.getLogger(__name__)

DOMAIN: Final = "amss"
ERROR_CODE_KEY: Final = "amss-error-code"
STATUS_DETAILS_KEY: Final = "grpc-status-details-bin"


@dataclass(frozen=True)
class Rendered:
    code: str  # the REST error code
    status: grpc.StatusCode
    message: str
    details: dict[str, Any]


def render(exc: BaseException, request_id: str) -> Rendered:
    """The status of any exception a call raised."""
    if isinstance(exc, DomainError | CallError):
        return _rendered(exc.code, exc.message, exc.details)
    if isinstance(exc, UNAVAILABLE_ERRORS):
        log.warning("dependency unavailable", extra={"error": repr(exc), "request_id": request_id})
        return _rendered("UNAVAILABLE", "a dependency is unavailable; try again shortly", {})
    log.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
    return _rendered("INTERNAL", "internal error", {})


def _rendered(code: str, message: str, details: dict[str, Any] | None) -> Rendered:
    return Rendered(code, grpc.StatusCode[grpc_status_name(code)], message, details or {})


def error_info(rendered: Rendered) -> error_details_pb2.ErrorInfo:
    """reason = the code; metadata = the details, each value as compact JSON text (strings as they are)."""
    metadata = {
        key: value if isinstance(value, str) else orjson.dumps(value).decode()
        for key, value in rendered.details.items()
    }
    return error_details_pb2.ErrorInfo(reason=rendered.code, domain=DOMAIN, metadata=metadata)


def rpc_status(rendered: Rendered) -> status_pb2.Status:
    """The google.rpc.Status of an error: its code, message, the ErrorInfo and the details as a Struct."""
    info = any_pb2.Any()
    info.Pack(error_info(rendered))
    details = [info]
    if rendered.details:
        struct = struct_pb2.Struct()
        struct.update(orjson.loads(orjson.dumps(rendered.details)))
        packed = any_pb2.Any()
        packed.Pack(struct)
        details.append(packed)
    return status_pb2.Status(code=rendered.status.value[0], message=rendered.message, details=details)


def trailing_metadata(rendered: Rendered) -> tuple[tuple[str, str | bytes], ...]:
    return (
        (STATUS_DETAILS_KEY, rpc_status(rendered).SerializeToString()),
        (ERROR_CODE_KEY, rendered.code),
    )
