"""Evaluation use cases: create, change by appending versions, read, list, timeline.

Each use case owns its unit of work. A change of one evaluation takes that evaluation's
advisory lock first (`uow.lock`), then reads the latest version and appends the next:
concurrent changes queue behind each other in any number of server processes, so none
is lost and no version is written twice (the (evaluation_id, version) key would refuse
it anyway). The statistics rows and the timeline entry of a version are written in the
same transaction as the version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger_server.domain import cursors, idempotency
from ledger_server.domain.errors import (
    Aborted,
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Violations,
)
from ledger_server.domain.evaluations import rules, statistics, status, timeline
from ledger_server.domain.evaluations.commands import (
    AddEvent,
    CreateEvaluation,
    EvaluationFilters,
    TaskUpdate,
    UpdateEvaluation,
)
from ledger_server.domain.evaluations.outputs import PreparedContent
from ledger_server.domain.evaluations.ports import (
    EvaluationRepository,
    NewEvent,
    StorageFigures,
)
from ledger_server.domain.evaluations.records import (
    Change,
    Channel,
    Content,
    Evaluation,
    Event,
    Status,
    TaskInfo,
)
from ledger_server.domain.evaluations.statistics import Statistics
from ledger_server.domain.evaluations.version_cache import LocalVersions, VersionCache
from ledger_server.domain.idempotency import RequestKey
from ledger_server.domain.paging import CursorSpec, Page, page_size
from ledger_server.domain.ports import Transactions, UnitOfWork

CREATE = "CreateEvaluation"
UPDATE = "UpdateEvaluation"
DELETE = "DeleteEvaluation"
APPLY_TASK_UPDATE = "ApplyTaskUpdate"
ADD_EVENT = "AddEvaluationEvent"
WRITE_OUTPUT = "WriteEvaluationOutput"
# A task report's identity is its tuple: every delivery of one report has the same body
# as far as idempotency goes, so a redelivery is answered, never refused.
_TASK_FINGERPRINT = hashlib.sha256(b"ApplyTaskUpdate").digest()

LIST_EVALUATIONS = CursorSpec("ListEvaluations", cursors.utc_time, cursors.name)
LIST_VERSIONS = CursorSpec("ListEvaluationVersions", cursors.whole_number)
LIST_RUNNING = CursorSpec("ListRunningEvaluations", cursors.name)
LIST_EVENTS = CursorSpec("ListEvaluationEvents", cursors.utc_time, cursors.whole_number)


@dataclass(frozen=True)
class FinishedUpload:
    """The version a finished upload appended, and which output it wrote."""

    evaluation: Evaluation
    channel: Channel

    @property
    def size(self) -> int:
        content = self.evaluation.content(self.channel)
        return content.size if content else 0


# The start of the last hour a datetime can hold.
_LAST_HOUR = datetime.max.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)


class EvaluationNotFound(NotFound):
    def __init__(self, evaluation_id: str) -> None:
        super().__init__("evaluation", evaluation_id)


def lock_key(evaluation_id: str) -> str:
    """The advisory lock every change of one evaluation takes (log appends too)."""
    return f"evaluation:{evaluation_id}"


def live_evaluation(
    repo: EvaluationRepository, evaluation_id: str, *, show_deleted: bool = False
) -> Evaluation:
    """The latest version; NOT_FOUND when there is none or it is deleted (unless shown)."""
    current = repo.latest(evaluation_id)
    if current is None or (current.deleted and not show_deleted):
        raise EvaluationNotFound(evaluation_id)
    return current


class Evaluations:
    def __init__(
        self,
        transactions: Transactions,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache: VersionCache | None = None,
    ) -> None:
        self._transactions = transactions
        self._now = clock
        self._cache: VersionCache = cache if cache is not None else LocalVersions()

    # --- writes --------------------------------------------------------------------------

    def create(self, command: CreateEvaluation, request: RequestKey | None) -> Evaluation:
        if request is not None:
            idempotency.check_request_id(request.request_id)
        rules.check_id(command.evaluation_id, required=False)
        violations = Violations()
        rules.check_code(command.code, violations)
        rules.check_language(command.language, violations)
        rules.check_metadata(command.metadata, "metadata", violations)
        violations.raise_if_any()
        now = self._now()
        evaluation_id = command.evaluation_id or rules.new_evaluation_id(now)
        initial = command.status or Status.QUEUED
        evaluation = Evaluation(
            evaluation_id=evaluation_id,
            version=1,
            status=initial,
            language=command.language or rules.DEFAULT_LANGUAGE,
            create_time=now,
            update_time=now,
            change=Change.CREATED,
            code=command.code,
            metadata=dict(command.metadata),
            start_time=now if initial is Status.RUNNING else None,
            complete_time=now if initial.terminal else None,
        )

        def write(uow: UnitOfWork) -> Evaluation:
            repo = uow.evaluations
            earlier = idempotency.claim(uow.request_ids, CREATE, request, evaluation_id)
            if earlier is not None:
                return _require_version(repo, earlier, 1)
            uow.lock(lock_key(evaluation_id))
            if repo.latest(evaluation_id) is not None:
                raise AlreadyExists(
                    f"evaluation {evaluation_id!r} already exists",
                    reason="EVALUATION_EXISTS",
                    metadata={"evaluation_id": evaluation_id},
                )
            repo.add_evaluation(evaluation)
            _record(repo, None, evaluation)
            return evaluation

        created = dataclasses.replace(self._transactions.run(write), code="")
        self._cache.put(created)
        return created

    @staticmethod
    def check_update(command: UpdateEvaluation, request: RequestKey | None) -> None:
        """Refuses a bad update before its outputs are prepared (which may write blobs)."""
        if request is not None:
            idempotency.check_request_id(request.request_id)
        rules.check_id(command.evaluation_id)
        rules.check_expected_version(command.expected_version)
        violations = Violations()
        rules.check_runtime(command.runtime_ms, violations)
        rules.check_time(command.start_time, "start_time", violations)
        rules.check_time(command.complete_time, "complete_time", violations)
        if command.metadata_changes:
            rules.check_metadata(command.metadata_changes, "metadata_changes", violations)
        rules.check_running(command.running, violations)
        violations.raise_if_any()

    def update(self, command: UpdateEvaluation, request: RequestKey | None) -> Evaluation:
        self.check_update(command, request)

        def change(current: Evaluation, now: datetime) -> Evaluation:
            status.check_change(current.evaluation_id, current.status, command.status)
            return _applied(current, command, now, Change.UPDATED, current.task)

        return self._append(
            command.evaluation_id,
            UPDATE,
            request,
            command.expected_version,
            change,
            contents=(command.output, command.error),
        )

    def delete(
        self, evaluation_id: str, expected_version: int, request: RequestKey | None
    ) -> Evaluation:
        if request is not None:
            idempotency.check_request_id(request.request_id)
        rules.check_id(evaluation_id)
        rules.check_expected_version(expected_version)

        def change(current: Evaluation, now: datetime) -> Evaluation:
            return dataclasses.replace(
                current,
                version=current.version + 1,
                update_time=now,
                change=Change.DELETED,
                deleted=True,
            )

        return self._append(evaluation_id, DELETE, request, expected_version, change)

    @staticmethod
    def check_task_update(command: TaskUpdate) -> None:
        rules.check_id(command.evaluation_id)
        violations = Violations()
        if command.task_state is None:
            violations.add("task_state", "is required")
        rules.check_task(command.task_id, command.retries, violations)
        violations.raise_if_any()

    def apply_task_update(self, command: TaskUpdate) -> Evaluation:
        self.check_task_update(command)
        assert command.task_state is not None
        state = command.task_state
        new_status = status.TASK_STATUS[state]
        identity = "\x1f".join(
            (command.evaluation_id, command.task_id, state.value, str(command.retries))
        )
        key = RequestKey(hashlib.sha256(identity.encode()).hexdigest(), _TASK_FINGERPRINT)
        as_update = UpdateEvaluation(
            command.evaluation_id, status=new_status, output=command.output, error=command.error
        )
        task = TaskInfo(command.task_id, state, command.retries)

        def change(current: Evaluation, now: datetime) -> Evaluation:
            status.check_change(current.evaluation_id, current.status, new_status)
            return _applied(current, as_update, now, Change.TASK_UPDATE, task)

        return self._append(
            command.evaluation_id,
            APPLY_TASK_UPDATE,
            key,
            0,
            change,
            contents=(command.output, command.error),
        )

    def check_writable(self, evaluation_id: str) -> None:
        """NOT_FOUND or FAILED_PRECONDITION unless an upload may go to this evaluation:
        asked before the first byte is staged."""
        rules.check_id(evaluation_id)
        with self._transactions.begin() as uow:
            current = live_evaluation(uow.evaluations, evaluation_id)
        status.check_change(evaluation_id, current.status, None)

    def finished_upload(self, upload_id: str) -> FinishedUpload | None:
        """What a finished upload appended; None while it is unfinished."""
        with self._transactions.begin() as uow:
            claimed = uow.request_ids.find(WRITE_OUTPUT, upload_id)
            if claimed is None:
                return None
            evaluation_id, _, rest = claimed.resource_id.rpartition("@")
            version, _, channel = rest.partition("/")
            evaluation = _require_version(uow.evaluations, evaluation_id, int(version))
        return FinishedUpload(evaluation, Channel(channel))

    def record_output(
        self,
        evaluation_id: str,
        channel: Channel,
        prepared: PreparedContent,
        upload_id: str,
    ) -> Evaluation:
        """Appends a version whose output (or error) is a content uploaded by stream.

        The upload id is the request id; the body it vouches for is where the content
        went and what it is, so a finished upload replayed with other bytes is refused.
        """
        body = "\x1f".join((evaluation_id, channel.value, prepared.content.sha256_hex))
        request = RequestKey(upload_id, hashlib.sha256(body.encode()).digest())
        output = prepared if channel is Channel.OUTPUT else None
        error = prepared if channel is Channel.ERROR else None

        def change(current: Evaluation, now: datetime) -> Evaluation:
            status.check_change(current.evaluation_id, current.status, None)
            command = UpdateEvaluation(evaluation_id, output=output, error=error)
            return _applied(current, command, now, Change.OUTPUT_WRITTEN, current.task)

        return self._append(
            evaluation_id,
            WRITE_OUTPUT,
            request,
            0,
            change,
            contents=(output, error),
            claim_suffix=f"/{channel.value}",
        )

    def _append(
        self,
        evaluation_id: str,
        method: str,
        request: RequestKey | None,
        expected_version: int,
        change: Callable[[Evaluation, datetime], Evaluation],
        *,
        contents: tuple[PreparedContent | None, PreparedContent | None] = (None, None),
        claim_suffix: str = "",
    ) -> Evaluation:
        """The common shape of every change: lock, replay or check, append, record."""

        def write(uow: UnitOfWork) -> Evaluation:
            repo = uow.evaluations
            uow.lock(lock_key(evaluation_id))
            # A retry of the change that deleted it must still get its first reply, so the
            # request id is looked at before a deleted evaluation is NOT_FOUND.
            current = live_evaluation(repo, evaluation_id, show_deleted=True)
            next_version = current.version + 1
            earlier = idempotency.claim(
                uow.request_ids, method, request, f"{evaluation_id}@{next_version}{claim_suffix}"
            )
            if earlier is not None:
                replied_id, _, version = earlier.rpartition("@")
                return _require_version(repo, replied_id, int(version.partition("/")[0]))
            if current.deleted:
                raise EvaluationNotFound(evaluation_id)
            if expected_version and expected_version != current.version:
                raise Aborted(
                    f"evaluation {evaluation_id!r} is at version {current.version}, not "
                    f"{expected_version}; read it again and retry",
                    reason="VERSION_MISMATCH",
                    metadata={
                        "evaluation_id": evaluation_id,
                        "current_version": str(current.version),
                        "expected_version": str(expected_version),
                    },
                )
            new = change(current, self._now())
            output, error = (
                repo.add_content(prepared) if prepared is not None else None
                for prepared in contents
            )
            if output is not None or error is not None:
                new = dataclasses.replace(
                    new, output=output or new.output, error=error or new.error
                )
            repo.add_version(new)
            _record(repo, current, new)
            return new

        appended = self._transactions.run(write)
        self._cache.put(appended)
        return appended

    def add_event(self, command: AddEvent, request: RequestKey | None) -> Event:
        if request is not None:
            idempotency.check_request_id(request.request_id)
        rules.check_id(command.evaluation_id)
        violations = Violations()
        rules.check_event(command.type, command.message, violations)
        rules.check_metadata(command.metadata, "metadata", violations)
        rules.check_time(command.event_time, "event_time", violations)
        violations.raise_if_any()
        new = NewEvent(
            command.evaluation_id,
            command.type,
            command.message,
            dict(command.metadata),
            command.event_time or self._now(),
            event_key=uuid.uuid4(),
        )

        def write(uow: UnitOfWork) -> Event:
            repo = uow.evaluations
            live_evaluation(repo, command.evaluation_id)
            earlier = idempotency.claim(uow.request_ids, ADD_EVENT, request, str(new.event_key))
            if earlier is not None:
                found = repo.get_event(uuid.UUID(earlier))
                if found is None:
                    raise NotFound("evaluation_event", earlier)
                return found
            (event,) = repo.add_events([new])
            return event

        return self._transactions.run(write)

    # --- reads ---------------------------------------------------------------------------

    def get(
        self,
        evaluation_id: str,
        *,
        version: int = 0,
        with_code: bool = False,
        show_deleted: bool = False,
    ) -> Evaluation:
        rules.check_id(evaluation_id)
        if version < 0:
            raise InvalidArgument([FieldViolation("version", "must not be negative")])
        # Outside a transaction: the latest number, then that version, which never
        # changes once written (and usually comes from the cache): one round trip.
        with self._transactions.read() as uow:
            repo = uow.evaluations
            number = repo.latest_version_number(evaluation_id)
            latest = None if number is None else self._version(repo, evaluation_id, number)
            if latest is None or (latest.deleted and not show_deleted):
                raise EvaluationNotFound(evaluation_id)
            version = version or latest.version
            if with_code:
                found = repo.get_version(evaluation_id, version, with_code=True)
            else:
                found = self._version(repo, evaluation_id, version)
        if found is None:
            raise NotFound("evaluation_version", f"{evaluation_id}@{version}")
        return found

    def _version(
        self, repo: EvaluationRepository, evaluation_id: str, version: int
    ) -> Evaluation | None:
        """One version, from the cache when it holds it (a version never changes)."""
        found = self._cache.get(evaluation_id, version)
        if found is None:
            found = repo.get_version(evaluation_id, version)
            if found is not None:
                self._cache.put(found)
        return found

    def statistics(self, start_time: datetime | None, end_time: datetime | None) -> Statistics:
        """Totals of evaluations created in [start_time, end_time), widened to whole hours."""
        if start_time and end_time and end_time <= start_time:
            raise InvalidArgument([FieldViolation("end_time", "must be after start_time")])
        start = statistics.hour_of(start_time) if start_time else None
        end = None
        if end_time:
            end = statistics.hour_of(end_time)
            if end != end_time:
                # The hour after the last one a timestamp can name is no bound at all.
                end = end + timedelta(hours=1) if end < _LAST_HOUR else None
        with self._transactions.begin() as uow:
            rows = uow.evaluations.statistics(start, end)
        return statistics.summarise(
            rows.counts, rows.histogram, rows.runtime_total_ms, rows.output_bytes
        )

    def storage_figures(self) -> StorageFigures:
        with self._transactions.begin() as uow:
            return uow.evaluations.storage_figures()

    def content_bytes(self, content: Content) -> bytes | None:
        """What the database keeps of `content` (None when it is in the blob store)."""
        with self._transactions.begin() as uow:
            return uow.evaluations.content_bytes(content.sha256)

    def list(self, filters: EvaluationFilters, requested_size: int, token: str) -> Page[Evaluation]:
        violations = Violations()
        rules.check_language(filters.language, violations)
        if filters.start_time and filters.end_time and filters.end_time <= filters.start_time:
            violations.add("end_time", "must be after start_time")
        violations.raise_if_any()
        limit = page_size(requested_size, default=50)
        scope = (
            filters.status.value if filters.status else "",
            filters.language,
            filters.start_time.isoformat() if filters.start_time else "",
            filters.end_time.isoformat() if filters.end_time else "",
            str(filters.show_deleted),
        )
        cursor = LIST_EVALUATIONS.decode(token, scope)
        after = (cursor[0], cursor[1]) if cursor else None
        with self._transactions.begin() as uow:
            rows = uow.evaluations.list_evaluations(filters, after, limit + 1)
        return LIST_EVALUATIONS.page(rows, limit, scope, lambda e: (e.create_time, e.evaluation_id))

    def list_versions(
        self, evaluation_id: str, requested_size: int, token: str, *, show_deleted: bool = False
    ) -> Page[Evaluation]:
        rules.check_id(evaluation_id)
        limit = page_size(requested_size, default=50)
        scope = (evaluation_id, str(show_deleted))
        cursor = LIST_VERSIONS.decode(token, scope)
        with self._transactions.begin() as uow:
            live_evaluation(uow.evaluations, evaluation_id, show_deleted=show_deleted)
            rows = uow.evaluations.list_versions(
                evaluation_id, cursor[0] if cursor else 0, limit + 1
            )
        return LIST_VERSIONS.page(rows, limit, scope, lambda e: (e.version,))

    def list_running(self, requested_size: int, token: str) -> Page[Evaluation]:
        limit = page_size(requested_size, default=50)
        cursor = LIST_RUNNING.decode(token, ())
        with self._transactions.begin() as uow:
            rows = uow.evaluations.list_running(cursor[0] if cursor else "", limit + 1)
        return LIST_RUNNING.page(rows, limit, (), lambda e: (e.evaluation_id,))

    def list_events(
        self, evaluation_id: str, requested_size: int, token: str, *, show_deleted: bool = False
    ) -> Page[Event]:
        rules.check_id(evaluation_id)
        limit = page_size(requested_size, default=100)
        scope = (evaluation_id, str(show_deleted))
        cursor = LIST_EVENTS.decode(token, scope)
        after = (cursor[0], cursor[1]) if cursor else None
        with self._transactions.begin() as uow:
            live_evaluation(uow.evaluations, evaluation_id, show_deleted=show_deleted)
            rows = uow.evaluations.list_events(evaluation_id, after, limit + 1)
        return LIST_EVENTS.page(rows, limit, scope, lambda e: (e.event_time, e.event_id))


def _applied(
    current: Evaluation,
    command: UpdateEvaluation,
    now: datetime,
    change: Change,
    task: TaskInfo | None,
) -> Evaluation:
    """The next version: `current` with the command's fields, and the times a move implies."""
    new_status = command.status or current.status
    start_time = command.start_time or current.start_time
    if start_time is None and new_status is Status.RUNNING:
        start_time = now
    complete_time = command.complete_time or current.complete_time
    if complete_time is None and new_status.terminal:
        complete_time = now
    if start_time and complete_time and complete_time < start_time:
        raise InvalidArgument([FieldViolation("complete_time", "must not be before start_time")])
    runtime_ms = command.runtime_ms if command.runtime_ms is not None else current.runtime_ms
    if runtime_ms is None and new_status.terminal and start_time and complete_time:
        runtime_ms = (complete_time - start_time) // _MILLISECOND
    metadata = current.metadata
    if command.metadata_changes:
        metadata = rules.merged_metadata(current.metadata, command.metadata_changes)
        violations = Violations()
        rules.check_metadata(metadata, "metadata_changes", violations)
        violations.raise_if_any()
    return dataclasses.replace(
        current,
        version=current.version + 1,
        status=new_status,
        update_time=now,
        change=change,
        code="",
        metadata=metadata,
        runtime_ms=runtime_ms,
        start_time=start_time,
        complete_time=complete_time,
        running=command.running or current.running,
        task=task,
    )


_MILLISECOND = timedelta(milliseconds=1)


def _record(repo: EvaluationRepository, before: Evaluation | None, after: Evaluation) -> None:
    """What every version brings along: its timeline entry and its statistics rows."""
    repo.add_events([timeline.version_event(before, after)])
    rows = statistics.deltas(before, after)
    if rows:
        repo.add_statistics(rows)


def _require_version(repo: EvaluationRepository, evaluation_id: str, version: int) -> Evaluation:
    found = repo.get_version(evaluation_id, version)
    if found is None:
        raise EvaluationNotFound(evaluation_id)
    return found
