"""The ingestion use cases' own rules, over an in-memory repository: runs, idempotency,
all-or-nothing, streams, paging, filters and limits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from ledger_server.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from ledger_server.domain.idempotency import RequestKey
from ledger_server.domain.ingestion import use_cases
from ledger_server.domain.ingestion.records import (
    ChargeCategory,
    GroupBy,
    RecordFilters,
    RecordInput,
    Rejection,
)
from ledger_server.domain.ingestion.use_cases import Ingestion
from ledger_server.domain.paging import BAD_TOKEN
from tests.support.memory_ingestion import MemoryIngestionTransactions

JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def db() -> MemoryIngestionTransactions:
    return MemoryIngestionTransactions()


@pytest.fixture
def ingestion(db: MemoryIngestionTransactions) -> Ingestion:
    ticks = iter(range(0, 10**6, 7))  # each read of the clock 7 ms after the last
    return Ingestion(db, clock=lambda: next(ticks) / 1000)


def cost(sku: str, billed: str = "10", day: int = 1, **fields: object) -> RecordInput:
    values: dict[str, object] = {
        "charge_period_start": f"2026-01-{day:02d}",
        "provider": "aws",
        "sku": sku,
        "billing_currency": "USD",
        "billed_cost": billed,
    }
    values.update(fields)
    return RecordInput(**values)  # type: ignore[arg-type]


def ingest(ingestion: Ingestion, records: list[RecordInput], **options: object) -> object:
    settings: dict[str, object] = {
        "source": "test",
        "all_or_nothing": False,
        "request": None,
        "input_sha256": b"digest",
        "caller": "ci",
    }
    settings.update(options)
    return ingestion.ingest(records, **settings)  # type: ignore[arg-type]


def test_ingest_records_a_finished_run_with_its_counts(
    ingestion: Ingestion, db: MemoryIngestionTransactions
) -> None:
    first = ingestion.ingest(
        [cost("a"), cost("b"), cost("c", billed="x")],
        source="export.csv",
        all_or_nothing=False,
        request=None,
        input_sha256=b"\x01" * 32,
        caller="ci",
    )
    again = ingestion.ingest(
        [cost("a"), cost("b", billed="11")],
        source="export.csv",
        all_or_nothing=False,
        request=None,
        input_sha256=b"\x02" * 32,
        caller="ci",
    )

    run = first.run
    assert (run.counts.inserted, run.counts.revised, run.counts.unchanged) == (2, 0, 0)
    assert run.counts.rejected == 1 and first.rejections == [
        Rejection(2, "billed_cost", "must be a finite decimal number like 1245.67")
    ]
    assert (run.source, run.caller, run.method, run.input_sha256) == (
        "export.csv",
        "ci",
        "IngestCostRecords",
        b"\x01" * 32,
    )
    assert run.complete and run.duration_ms == 7
    assert (again.run.counts.revised, again.run.counts.unchanged) == (1, 1)
    assert db.locks == [use_cases.INGESTION_LOCK] * 2


def test_ingest_replays_a_repeated_request_id_and_refuses_another_body(
    ingestion: Ingestion, db: MemoryIngestionTransactions
) -> None:
    key = RequestKey("r-1", b"body")
    first = ingest(ingestion, [cost("a")], request=key)
    runs = dict(db.state.runs)

    replay = ingest(ingestion, [cost("a"), cost("b")], request=key)

    assert replay == first and db.state.runs == runs
    with pytest.raises(AlreadyExists):
        ingest(ingestion, [cost("a")], request=RequestKey("r-1", b"other body"))


def test_ingest_all_or_nothing_names_every_violation_and_stores_nothing(
    ingestion: Ingestion, db: MemoryIngestionTransactions
) -> None:
    with pytest.raises(InvalidArgument) as error:
        ingest(
            ingestion,
            [cost("a"), cost("b", billed="NaN"), cost("a")],
            all_or_nothing=True,
        )

    assert [v.field for v in error.value.violations] == ["records[1].billed_cost", "records[2]"]
    assert db.state.runs == {} and db.state.revisions == {}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"source": "s" * 257}, "source"),
        ({"source": "a\x00"}, "source"),
        ({"request": RequestKey("has space", b"x")}, "request_id"),
    ],
)
def test_ingest_refuses_bad_source_and_request_id(
    ingestion: Ingestion, options: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        ingest(ingestion, [cost("a")], **options)
    assert error.value.violations[0].field == field


def test_ingest_refuses_more_than_ten_thousand_records(ingestion: Ingestion) -> None:
    ingest(ingestion, [cost("a", billed="x")] * use_cases.MAX_BATCH)
    with pytest.raises(InvalidArgument) as error:
        ingest(ingestion, [cost("a")] * (use_cases.MAX_BATCH + 1))
    assert error.value.violations[0].field == "records"


def test_ingest_keeps_the_first_thousand_rejections_and_counts_all(ingestion: Ingestion) -> None:
    report = ingest(ingestion, [cost("a", billed="x")] * 1001)
    assert report.run.counts.rejected == 1001  # type: ignore[attr-defined]
    assert len(report.rejections) == 1000  # type: ignore[attr-defined]


def test_stream_numbers_batches_counts_indexes_from_the_stream_start_and_ends_the_run(
    ingestion: Ingestion, db: MemoryIngestionTransactions
) -> None:
    stream = ingestion.open_stream(source="big.csv", request_id="s-1", caller="ci")
    stream.add_batch([cost("a"), cost("b", billed="x")])
    stream.add_batch([cost("c"), cost("d", billed="y"), cost("a", billed="5")])
    assert db.state.results == {}  # the run is INCOMPLETE until its end

    report = stream.finish(RequestKey("s-1", b"stream"), b"sha")

    assert sorted(db.state.batches[stream.run_id]) == [0, 1]
    assert [(r.index, r.field) for r in report.rejections] == [
        (1, "billed_cost"),
        (3, "billed_cost"),
    ]
    counts = report.run.counts
    assert (counts.inserted, counts.revised, counts.rejected) == (2, 1, 2)
    assert report.run.complete and report.run.method == "StreamCostRecords"
    assert report.run.duration_ms > 0 and report.run.input_sha256 == b"sha"


def test_stream_with_a_completed_request_id_writes_nothing_and_replays(
    ingestion: Ingestion, db: MemoryIngestionTransactions
) -> None:
    first = ingestion.open_stream(source="", request_id="s-1", caller="ci")
    first.add_batch([cost("a")])
    report = first.finish(RequestKey("s-1", b"stream"), b"sha")
    state = db.state

    again = ingestion.open_stream(source="", request_id="s-1", caller="ci")
    again.add_batch([cost("a", billed="99")])
    assert again.finish(RequestKey("s-1", b"stream"), b"sha") == report
    assert db.state.revisions == state.revisions and db.state.runs == state.runs

    other = ingestion.open_stream(source="", request_id="s-1", caller="ci")
    other.add_batch([cost("b")])
    with pytest.raises(AlreadyExists):
        other.finish(RequestKey("s-1", b"another stream"), b"sha")


def test_stream_without_batches_is_an_empty_finished_run(ingestion: Ingestion) -> None:
    report = ingestion.open_stream(source="", request_id="", caller="ci").finish(None, b"sha")
    assert report.run.complete and report.run.counts.inserted == 0


def test_stream_refuses_a_batch_over_the_limit_naming_its_message(ingestion: Ingestion) -> None:
    stream = ingestion.open_stream(source="", request_id="", caller="ci")
    stream.add_batch([cost("a")])
    with pytest.raises(InvalidArgument) as error:
        stream.add_batch([cost("b")] * (use_cases.MAX_BATCH + 1))
    assert error.value.violations[0].field == "records (message 1)"


def test_list_records_normalises_filters_and_pages_within_one_as_of_scope(
    ingestion: Ingestion,
) -> None:
    ingest(ingestion, [cost(f"s{n}", day=1 + n % 3) for n in range(5)])

    first = ingestion.list_records(RecordFilters(provider=" AWS "), None, 2, "")
    rest = ingestion.list_records(RecordFilters(provider="aws"), None, 10, first.next_page_token)

    assert len(first.items) == 2 and len(rest.items) == 3 and rest.next_page_token == ""
    days = [r.key.charge_period_start.day for r in first.items + rest.items]
    assert days == sorted(days)
    with pytest.raises(InvalidArgument) as error:
        ingestion.list_records(RecordFilters(provider="aws"), JAN_1, 2, first.next_page_token)
    assert error.value.violations[0].description == BAD_TOKEN


def test_list_records_as_of_shows_the_revision_known_then(
    ingestion: Ingestion, db: MemoryIngestionTransactions
) -> None:
    ingest(ingestion, [cost("a", billed="1")])
    (before,) = ingestion.list_records(RecordFilters(), None, 10, "").items
    ingest(ingestion, [cost("a", billed="2")])

    (then,) = ingestion.list_records(RecordFilters(), before.record_time, 10, "").items
    (now,) = ingestion.list_records(RecordFilters(), None, 10, "").items

    assert (then.revision, then.billed_cost, now.revision, now.billed_cost) == (1, 1, 2, 2)


def test_list_revisions_finds_the_key_however_it_is_spelled(ingestion: Ingestion) -> None:
    ingest(ingestion, [cost("a100", region="us-east-1", billed="1")])
    ingest(ingestion, [cost("a100", region="us-east-1", billed="2")])
    parts = {
        "provider": " AWS",
        "billing_account_id": "",
        "sub_account_id": "",
        "service": "",
        "region": "US-EAST-1",
        "sku": "A100 ",
        "resource_id": "",
    }
    end = datetime(2026, 1, 2, tzinfo=UTC)

    page = ingestion.list_revisions(JAN_1, end, parts, ChargeCategory.USAGE, 1, "")
    rest = ingestion.list_revisions(
        JAN_1, end, parts, ChargeCategory.USAGE, 1, page.next_page_token
    )

    assert [r.revision for r in page.items + rest.items] == [1, 2]
    with pytest.raises(NotFound):
        ingestion.list_revisions(JAN_1, end, {**parts, "sku": "h100"}, ChargeCategory.USAGE, 0, "")


def test_list_revisions_requires_the_key_parts(ingestion: Ingestion) -> None:
    parts = dict.fromkeys(
        ("provider", "billing_account_id", "sub_account_id", "service", "region", "sku",
         "resource_id"),
        "",
    )  # fmt: skip
    with pytest.raises(InvalidArgument) as error:
        ingestion.list_revisions(None, None, parts, None, 0, "")
    assert {v.field for v in error.value.violations} == {
        "key.charge_period_start_time",
        "key.charge_period_end_time",
        "key.charge_category",
        "key.provider",
    }


def test_summarise_requires_group_by_and_midnight_bounds(ingestion: Ingestion) -> None:
    with pytest.raises(InvalidArgument) as error:
        ingestion.summarise(RecordFilters(), None)
    assert error.value.violations[0].field == "group_by"
    with pytest.raises(InvalidArgument) as error:
        ingestion.summarise(
            RecordFilters(start_time=JAN_1.replace(minute=1), end_time=JAN_1.replace(second=1)),
            GroupBy.DAY,
        )
    assert {v.field for v in error.value.violations} == {"filter.start_time", "filter.end_time"}
    with pytest.raises(InvalidArgument) as error:
        ingestion.summarise(RecordFilters(start_time=JAN_1, end_time=JAN_1), GroupBy.DAY)
    assert error.value.violations[0].field == "filter.end_time"


def test_summarise_refuses_more_groups_than_the_limit(
    ingestion: Ingestion, db: MemoryIngestionTransactions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(use_cases, "MAX_GROUPS", 2)
    ingest(ingestion, [cost(f"s{n}") for n in range(3)])
    assert len(ingestion.summarise(RecordFilters(sku="s1"), GroupBy.SKU)) == 1
    with pytest.raises(FailedPrecondition):
        ingestion.summarise(RecordFilters(), GroupBy.SKU)
    assert db.state.requested_limits == [3, 3]


def test_get_run_and_list_runs(ingestion: Ingestion) -> None:
    runs = [ingest(ingestion, [cost(f"s{n}")]).run for n in range(3)]  # type: ignore[attr-defined]

    first = ingestion.list_runs(2, "")
    rest = ingestion.list_runs(2, first.next_page_token)

    assert [r.run_id for r in first.items + rest.items] == [r.run_id for r in reversed(runs)]
    assert ingestion.get_run(str(runs[0].run_id)) == runs[0]
    with pytest.raises(NotFound):
        ingestion.get_run(str(uuid.uuid4()))
    for bad in ("", "not-a-uuid", "x" * 36):
        with pytest.raises(InvalidArgument):
            ingestion.get_run(bad)
