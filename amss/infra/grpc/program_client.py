"""The program generator's remote: ProgramService.GenerateTasks on SERVER_GRPC_ADDR, one call per organization,
each with a fresh short-lived service credential (amss.auth.tokens.TokenService.issue_service)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc

from amss.api.grpc.gen import amss_pb2, amss_pb2_grpc
from amss.app.program_runs import GenerationSummary, RemoteUnavailable


class GrpcProgramGenerator:
    """Implements amss.app.program_runs.ProgramGenerationRemote."""

    def __init__(self, address: str, credential: Callable[[uuid.UUID], str], timeout: float = 60.0) -> None:
        self._address = address
        self._credential = credential
        self._timeout = timeout
        self._channel: grpc.aio.Channel | None = None

    async def generate(self, org_id: uuid.UUID) -> GenerationSummary:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self._address)
        stub = amss_pb2_grpc.ProgramServiceStub(self._channel)
        metadata = (("authorization", f"Bearer {self._credential(org_id)}"), ("x-request-id", str(uuid.uuid4())))
        try:
            answer = await stub.GenerateTasks(amss_pb2.GenerateTasksRequest(), metadata=metadata, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise RemoteUnavailable(f"GenerateTasks for {org_id}: {exc.code().name} {exc.details()}") from exc
        return GenerationSummary(created=len(answer.tasks), skipped=answer.skipped)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
