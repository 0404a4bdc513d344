"""EvaluationService's log RPCs, mixed into its servicer: append, list, stream.

`EvaluationLogRpcs` needs the servicer to hold `self.logs` (the use cases) and
`self.log_followers` (this process's followers, built by the composition root).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ledger.v1 import evaluation_service_pb2 as es
from ledger_server.api_keys import Role
from ledger_server.domain.changes import Changes
from ledger_server.domain.errors import FieldViolation, InvalidArgument
from ledger_server.domain.evaluations.log_follow import LogFollowers
from ledger_server.domain.evaluations.log_use_cases import EvaluationLogs
from ledger_server.rpc.evaluations import log_convert
from ledger_server.rpc.handler import Call, Runtime, client_stream, server_stream, unary


class EvaluationLogRpcs:
    runtime: Runtime
    logs: EvaluationLogs
    log_followers: LogFollowers

    def attach_logs(self, logs: EvaluationLogs, changes: Changes, *, poll_seconds: float) -> None:
        """Gives the servicer its log use cases and this process's followers."""
        self.logs = logs
        self.log_followers = LogFollowers(
            logs, changes, self.runtime.offload, poll_seconds=poll_seconds
        )

    @client_stream(Role.WRITER)
    async def AppendEvaluationLogs(  # noqa: N802 - gRPC method names
        self, requests: AsyncIterator[es.AppendEvaluationLogsRequest], call: Call
    ) -> es.AppendEvaluationLogsResponse:
        evaluation_id = ""
        last_sequence: int | None = None
        stored = 0
        async for request in requests:
            if not evaluation_id:
                evaluation_id = request.evaluation_id
                if not evaluation_id:
                    raise InvalidArgument([FieldViolation("evaluation_id", "is required")])
            elif request.evaluation_id and request.evaluation_id != evaluation_id:
                raise InvalidArgument(
                    [
                        FieldViolation(
                            "evaluation_id",
                            "must name the evaluation of the call's first message, or be empty",
                        )
                    ]
                )
            command = log_convert.append_command(request, evaluation_id)
            # Each batch commits on its own, as it arrives: followers see it at once.
            result = await self.runtime.offload(self.logs.append, command)
            if command.lines or last_sequence is None:
                last_sequence = result.last_sequence
            if result.stored:
                stored += len(command.lines)
        if not evaluation_id:
            raise InvalidArgument(
                [FieldViolation("evaluation_id", "is required: the call sent no batch")]
            )
        return es.AppendEvaluationLogsResponse(
            evaluation_id=evaluation_id,
            last_sequence=last_sequence or 0,
            stored_line_count=stored,
        )

    @unary(Role.READER)
    async def ListEvaluationLogs(  # noqa: N802
        self, request: es.ListEvaluationLogsRequest, call: Call
    ) -> es.ListEvaluationLogsResponse:
        page = await self.runtime.offload(
            self.logs.list_logs, request.evaluation_id, request.page_size, request.page_token
        )
        return es.ListEvaluationLogsResponse(
            lines=log_convert.lines_out(page.items), next_page_token=page.next_page_token
        )

    @server_stream(Role.READER)
    async def StreamEvaluationLogs(  # noqa: N802
        self, request: es.StreamEvaluationLogsRequest, call: Call
    ) -> AsyncIterator[bytes]:
        followers = self.log_followers
        batches = (
            followers.follow(request.evaluation_id, request.after_sequence)
            if request.follow
            else followers.read(request.evaluation_id, request.after_sequence)
        )
        async for batch in batches:
            for message in log_convert.rendered_batch(batch):
                yield message
