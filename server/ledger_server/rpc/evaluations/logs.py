"""EvaluationService's log RPCs, mixed into its servicer: append, list, stream.

`EvaluationLogRpcs` needs the servicer to hold `self.logs` (the use cases) and
`self.log_followers` (this process's followers, built by the composition root).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ledger.v1 import evaluation_service_pb2 as es
from ledger_server.api_keys import Role
from ledger_server.domain.changes import Changes
from ledger_server.domain.errors import FieldViolation, InvalidArgument, LedgerError
from ledger_server.domain.evaluations.log_follow import LogFollowers
from ledger_server.domain.evaluations.log_lines import AppendLogsCommand
from ledger_server.domain.evaluations.log_use_cases import EvaluationLogs
from ledger_server.rpc.evaluations import log_convert
from ledger_server.rpc.handler import Call, Runtime, client_stream, server_stream, unary

# Messages read ahead of the one being written: bounded, so a fast sender is held back
# by flow control rather than by the server's memory.
QUEUED_MESSAGES = 8
# Lines written together in one transaction at most.
GROUP_LINES = 20_000
_END = object()  # the sender closed its side


async def _read_into(requests: AsyncIterator[object], queue: asyncio.Queue[object]) -> None:
    try:
        async for request in requests:
            await queue.put(request)
    except LedgerError as error:  # a message that did not parse: INVALID_ARGUMENT
        await queue.put(error)
        return
    await queue.put(_END)


class _Appended:
    """What one AppendEvaluationLogs call has stored so far."""

    def __init__(self) -> None:
        self.evaluation_id = ""
        self.last_sequence: int | None = None
        self.stored = 0

    def command(self, request: es.AppendEvaluationLogsRequest) -> AppendLogsCommand:
        if not self.evaluation_id:
            if not request.evaluation_id:
                raise InvalidArgument([FieldViolation("evaluation_id", "is required")])
            self.evaluation_id = request.evaluation_id
        elif request.evaluation_id and request.evaluation_id != self.evaluation_id:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "evaluation_id",
                        "must name the evaluation of the call's first message, or be empty",
                    )
                ]
            )
        return log_convert.append_command(request, self.evaluation_id)


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
        # A reader task takes messages off the wire while the batches before them are
        # written; whatever arrived meanwhile is written next, together, in one
        # transaction. A runner sending now and then gets each batch stored at once; one
        # sending flat out gets few, large commits.
        queue: asyncio.Queue[object] = asyncio.Queue(QUEUED_MESSAGES)
        reader = asyncio.create_task(_read_into(requests, queue))
        appended = _Appended()
        try:
            ended = False
            while not ended:
                group = [await queue.get()]
                lines = 0
                while not queue.empty() and lines < GROUP_LINES and group[-1] is not _END:
                    group.append(queue.get_nowait())
                    lines += len(getattr(group[-1], "lines", ()))
                ended = group[-1] is _END or isinstance(group[-1], BaseException)
                await self.runtime.offload(self._append_group, group, appended)
        finally:
            reader.cancel()
        if not appended.evaluation_id:
            raise InvalidArgument(
                [FieldViolation("evaluation_id", "is required: the call sent no batch")]
            )
        return es.AppendEvaluationLogsResponse(
            evaluation_id=appended.evaluation_id,
            last_sequence=appended.last_sequence or 0,
            stored_line_count=appended.stored,
        )

    def _append_group(self, group: list[object], appended: _Appended) -> None:
        """Stores the batches of `group` in order (on a database thread); then raises what
        ended the call, if something did: a bad batch, or a message that did not parse."""
        commands: list[AppendLogsCommand] = []
        refused: BaseException | None = None
        for item in group:
            if item is _END:
                break
            if isinstance(item, BaseException):
                refused = item
                break
            try:
                commands.append(appended.command(item))  # type: ignore[arg-type]
            except InvalidArgument as error:
                refused = error
                break
        if commands:
            results = self.logs.append_many(commands)
            for command, result in zip(commands, results, strict=True):
                if command.lines or appended.last_sequence is None:
                    appended.last_sequence = result.last_sequence
                if result.stored:
                    appended.stored += len(command.lines)
        if refused is not None:
            raise refused

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
        async for ready in batches:
            for message in log_convert.joined_replies(ready):
                yield message
