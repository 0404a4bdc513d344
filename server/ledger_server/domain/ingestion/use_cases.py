"""Ingestion use cases: load batches and streams of cost records, read them back.

Every load is recorded as an ingestion run. A batch is one transaction that holds the
ingestion lock: classification reads the current revisions and appends the next ones,
so two loads of the same keys must not interleave (reads never wait for it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger_server.domain import cursors, idempotency
from ledger_server.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Violations,
)
from ledger_server.domain.idempotency import RequestKey
from ledger_server.domain.ingestion.normalise import (
    key_id,
    normalise_batch,
    normalise_text_filter,
)
from ledger_server.domain.ingestion.records import (
    ChargeCategory,
    CostRecord,
    GroupBy,
    IngestionReport,
    IngestionRun,
    NormalisedRecord,
    RecordFilters,
    RecordInput,
    RecordKey,
    Rejection,
    SummaryGroup,
)
from ledger_server.domain.paging import CursorSpec, Page, page_size
from ledger_server.domain.ports import Transactions, UnitOfWork
from ledger_server.domain.validation import check_text

INGEST = "IngestCostRecords"
STREAM = "StreamCostRecords"
MAX_BATCH = 10_000
MAX_REPORTED_REJECTIONS = 1_000
MAX_GROUPS = 10_000
MAX_SOURCE = 256
INGESTION_LOCK = "ledger.cost_records.ingestion"

LIST_RECORDS = CursorSpec("ListCostRecords", cursors.utc_time, cursors.uuid_id)
LIST_REVISIONS = CursorSpec("ListCostRecordRevisions", cursors.position)
LIST_RUNS = CursorSpec("ListIngestionRuns", cursors.utc_time, cursors.uuid_id)


def _midnight(moment: datetime | None) -> bool:
    return moment is None or (moment.hour, moment.minute, moment.second, moment.microsecond) == (
        0,
        0,
        0,
        0,
    )


def normalise_filters(filters: RecordFilters, *, whole_days: bool = False) -> RecordFilters:
    """`filters` normalised like records, or INVALID_ARGUMENT naming `filter.<field>`."""
    violations = Violations()

    def text(name: str, lower: bool) -> str:
        return normalise_text_filter(
            getattr(filters, name), f"filter.{name}", violations, lower=lower
        )

    normalised = RecordFilters(
        start_time=filters.start_time,
        end_time=filters.end_time,
        provider=text("provider", True),
        billing_account_id=text("billing_account_id", False),
        service=text("service", False),
        region=text("region", True),
        sku=text("sku", True),
        charge_category=filters.charge_category,
    )
    if filters.start_time and filters.end_time and filters.end_time <= filters.start_time:
        violations.add("filter.end_time", "must be after start_time")
    if whole_days:
        for name in ("start_time", "end_time"):
            if not _midnight(getattr(filters, name)):
                violations.add(f"filter.{name}", "must be at midnight UTC (summaries are daily)")
    violations.raise_if_any()
    return normalised


def _check_source(source: str) -> None:
    violations = Violations()
    check_text(source, "source", violations, max_length=MAX_SOURCE)
    violations.raise_if_any()


def _check_size(records: list[RecordInput], path: str) -> None:
    if len(records) > MAX_BATCH:
        raise InvalidArgument(
            [FieldViolation(path, f"must hold at most {MAX_BATCH} records, got {len(records)}")]
        )


def parse_run_id(value: str) -> uuid.UUID:
    if len(value) != 36:
        message = "is required" if not value else "must be a UUID"
        raise InvalidArgument([FieldViolation("run_id", message)])
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument([FieldViolation("run_id", "must be a UUID")]) from None


@dataclass(frozen=True)
class PreparedBatch:
    """A stream's batch, normalised and numbered, ready to store."""

    number: int
    records: list[NormalisedRecord]
    rejected: int
    rejections: list[Rejection]
    first_position: int  # of its first stored rejection among the run's


@dataclass
class _Tally:
    stored_rejections: int = 0
    batches: int = 0
    next_index: int = 0


class Ingestion:
    def __init__(
        self, transactions: Transactions, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._transactions = transactions
        self._clock = clock

    # --- loading ------------------------------------------------------------------------

    def ingest(
        self,
        records: list[RecordInput],
        *,
        source: str,
        all_or_nothing: bool,
        request: RequestKey | None,
        input_sha256: bytes,
        caller: str,
    ) -> IngestionReport:
        """One batch, one transaction; see IngestCostRecords in the contract."""
        started = self._clock()
        if request is not None:
            idempotency.check_request_id(request.request_id)
        _check_source(source)
        _check_size(records, "records")
        valid, rejections, rejected = normalise_batch(records)
        if all_or_nothing and rejections:
            raise InvalidArgument(
                [
                    FieldViolation(
                        f"records[{r.index}]" + (f".{r.field}" if r.field else ""), r.reason
                    )
                    for r in rejections
                ]
            )
        run_id = uuid.uuid4()

        def write(uow: UnitOfWork) -> IngestionReport:
            earlier = idempotency.claim(uow.request_ids, INGEST, request, str(run_id))
            if earlier is not None:
                return self._report(uow, uuid.UUID(earlier))
            uow.lock(INGESTION_LOCK)
            uow.ingestion.add_run(run_id, source, caller, INGEST)
            uow.ingestion.add_batch(run_id, 0, valid, rejected)
            uow.ingestion.add_rejections(run_id, 0, rejections[:MAX_REPORTED_REJECTIONS])
            elapsed = round((self._clock() - started) * 1000)
            uow.ingestion.finish_run(run_id, input_sha256, elapsed)
            return self._report(uow, run_id)

        return self._transactions.run(write)

    def open_stream(self, *, source: str, request_id: str, caller: str) -> StreamIngestion:
        """A stream's loader, after checking its first message's `source` and `request_id`."""
        idempotency.check_request_id(request_id)
        _check_source(source)
        return StreamIngestion(self, source=source, request_id=request_id, caller=caller)

    def _report(self, uow: UnitOfWork, run_id: uuid.UUID) -> IngestionReport:
        run = uow.ingestion.get_run(run_id)
        assert run is not None, "a claimed run id names a run of the same transaction"
        return IngestionReport(run, uow.ingestion.list_rejections(run_id, MAX_REPORTED_REJECTIONS))

    # --- reading ------------------------------------------------------------------------

    def list_records(
        self, filters: RecordFilters, as_of: datetime | None, requested_size: int, token: str
    ) -> Page[CostRecord]:
        filters = normalise_filters(filters)
        limit = page_size(requested_size, default=100)
        # as_of is part of the scope: a page of one point in time never continues another.
        scope = [*filters.scope(), as_of.isoformat() if as_of else "now"]
        cursor = LIST_RECORDS.decode(token, scope)
        after = (cursor[0], cursor[1]) if cursor else None
        with self._transactions.begin() as uow:
            rows = uow.ingestion.list_records(filters, as_of, after, limit + 1)
        return LIST_RECORDS.page(
            rows, limit, scope, lambda r: (r.key.charge_period_start, r.key_id)
        )

    def list_revisions(
        self,
        start: datetime | None,
        end: datetime | None,
        parts: dict[str, str],
        category: ChargeCategory | None,
        requested_size: int,
        token: str,
    ) -> Page[CostRecord]:
        violations = Violations()
        if start is None:
            violations.add("key.charge_period_start_time", "is required")
        if end is None:
            violations.add("key.charge_period_end_time", "is required")
        if category is None:
            violations.add("key.charge_category", "is required")
        texts = {
            name: normalise_text_filter(
                value, f"key.{name}", violations, lower=name in ("provider", "region", "sku")
            )
            for name, value in parts.items()
        }
        if not texts.get("provider"):
            violations.add("key.provider", "is required")
        violations.raise_if_any()
        assert start is not None and end is not None and category is not None
        key = RecordKey(
            start.astimezone(UTC),
            end.astimezone(UTC),
            texts["provider"],
            texts["billing_account_id"],
            texts["sub_account_id"],
            texts["service"],
            texts["region"],
            texts["sku"],
            texts["resource_id"],
            category,
        )
        record_key = key_id(key)
        limit = page_size(requested_size, default=100)
        scope = [str(record_key)]
        cursor = LIST_REVISIONS.decode(token, scope)
        with self._transactions.begin() as uow:
            rows = uow.ingestion.list_revisions(record_key, cursor[0] if cursor else 0, limit + 1)
        if not rows and cursor is None:
            raise NotFound("cost_record", str(record_key))
        return LIST_REVISIONS.page(rows, limit, scope, lambda r: (r.revision,))

    def summarise(self, filters: RecordFilters, group_by: GroupBy | None) -> list[SummaryGroup]:
        if group_by is None:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "group_by",
                        "is required: day, month, provider, service, "
                        "region, sku or charge_category",
                    )
                ]
            )
        filters = normalise_filters(filters, whole_days=True)
        with self._transactions.begin() as uow:
            groups = uow.ingestion.summarise(filters, group_by, MAX_GROUPS + 1)
        if len(groups) > MAX_GROUPS:
            raise FailedPrecondition(
                f"the summary has more than {MAX_GROUPS} groups; narrow the filter",
                reason="TOO_MANY_GROUPS",
            )
        return groups

    def list_runs(self, requested_size: int, token: str) -> Page[IngestionRun]:
        limit = page_size(requested_size, default=50)
        cursor = LIST_RUNS.decode(token, [])
        after = (cursor[0], cursor[1]) if cursor else None
        with self._transactions.begin() as uow:
            runs = uow.ingestion.list_runs(after, limit + 1)
        return LIST_RUNS.page(runs, limit, [], lambda r: (r.create_time, r.run_id))

    def get_run(self, run_id: str) -> IngestionRun:
        key = parse_run_id(run_id)
        with self._transactions.begin() as uow:
            run = uow.ingestion.get_run(key)
        if run is None:
            raise NotFound("ingestion_run", run_id)
        return run


class StreamIngestion:
    """One StreamCostRecords call: each batch its own transaction, the run ended last.

    A stream whose request id already completed is only read to its end (the caller
    computes its fingerprint) and answered with the first report.
    """

    def __init__(self, ingestion: Ingestion, *, source: str, request_id: str, caller: str) -> None:
        self._ingestion = ingestion
        self._transactions = ingestion._transactions
        self._clock = ingestion._clock
        self._started = self._clock()
        self._source = source
        self._caller = caller
        self._request_id = request_id
        self._run_id = uuid.uuid4()
        self._tally = _Tally()
        self._replay_of: tuple[bytes, uuid.UUID] | None = None
        if request_id:
            with self._transactions.begin() as uow:
                earlier = uow.request_ids.find(STREAM, request_id)
            if earlier is not None:
                self._replay_of = (earlier.fingerprint, uuid.UUID(earlier.resource_id))

    @property
    def run_id(self) -> uuid.UUID:
        return self._run_id

    def add_batch(self, records: list[RecordInput]) -> None:
        """Normalises and stores one batch (`prepare`, then `write`)."""
        prepared = self.prepare(records)
        if prepared is not None:
            self.write(prepared)

    def prepare(self, records: list[RecordInput]) -> PreparedBatch | None:
        """The next batch normalised and numbered, not yet stored; None when replaying.

        Batches are prepared in stream order, and each is written before the next one
        is, but a batch may be prepared while the one before it is being written: the
        CPU work of one overlaps the database work of the other.
        """
        tally = self._tally
        _check_size(records, f"records (message {tally.batches})")
        batch_number = tally.batches
        tally.batches += 1
        if self._replay_of is not None:
            return None
        valid, rejections, rejected = normalise_batch(records, tally.next_index)
        room = max(0, MAX_REPORTED_REJECTIONS - tally.stored_rejections)
        kept = rejections[:room]
        prepared = PreparedBatch(batch_number, valid, rejected, kept, tally.stored_rejections)
        tally.next_index += len(records)
        tally.stored_rejections += len(kept)
        return prepared

    def write(self, batch: PreparedBatch) -> None:
        """Stores a prepared batch in its own transaction."""
        run_id = self._run_id

        def work(uow: UnitOfWork) -> None:
            uow.lock(INGESTION_LOCK)
            if batch.number == 0:
                uow.ingestion.add_run(run_id, self._source, self._caller, STREAM)
            uow.ingestion.add_batch(run_id, batch.number, batch.records, batch.rejected)
            uow.ingestion.add_rejections(run_id, batch.first_position, batch.rejections)

        # The counts are the batches' rows: the run's report adds them up when it ends.
        self._transactions.run(work)

    def finish(self, request: RequestKey | None, input_sha256: bytes) -> IngestionReport:
        """Ends the run (and claims its request id) after the last batch."""
        if self._replay_of is not None:
            fingerprint, run_id = self._replay_of
            if request is None or request.fingerprint != fingerprint:
                raise AlreadyExists(
                    f"request_id was already used for a different {STREAM} request",
                    reason="REQUEST_ID_REUSED",
                    metadata={"request_id": self._request_id},
                )
            with self._transactions.begin() as uow:
                return self._ingestion._report(uow, run_id)
        started_run = self._tally.batches > 0

        def write(uow: UnitOfWork) -> IngestionReport:
            earlier = idempotency.claim(uow.request_ids, STREAM, request, str(self._run_id))
            if earlier is not None:  # a concurrent stream with the same id ended first
                return self._ingestion._report(uow, uuid.UUID(earlier))
            if not started_run:
                uow.ingestion.add_run(self._run_id, self._source, self._caller, STREAM)
            elapsed = round((self._clock() - self._started) * 1000)
            uow.ingestion.finish_run(self._run_id, input_sha256, elapsed)
            return self._ingestion._report(uow, self._run_id)

        return self._transactions.run(write)


__all__ = ["Ingestion", "Rejection", "StreamIngestion"]
