"""The ingestion rules to the letter: exact messages, boundaries, digests that must stay
stable across versions, and what each use case hands its repository."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger_server.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Violations,
)
from ledger_server.domain.idempotency import RequestKey
from ledger_server.domain.ingestion import use_cases
from ledger_server.domain.ingestion.normalise import (
    canonical,
    content_hash,
    key_digest,
    key_id,
    normalise,
    normalise_text_filter,
)
from ledger_server.domain.ingestion.records import (
    ChargeCategory,
    GroupBy,
    RecordFilters,
    RecordInput,
    RecordKey,
)
from ledger_server.domain.ingestion.use_cases import Ingestion, normalise_filters, parse_run_id
from tests.support.memory_ingestion import MemoryIngestionTransactions

JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)
JAN_2 = datetime(2026, 1, 2, tzinfo=UTC)
KEY = RecordKey(JAN_1, JAN_2, "aws", "acct", "sub", "EC2", "us-east-1", "a100", "i-1",
                ChargeCategory.USAGE)  # fmt: skip


def record(**fields: object) -> RecordInput:
    values: dict[str, object] = {
        "charge_period_start": "2026-01-01",
        "provider": "aws",
        "billing_currency": "USD",
        "billed_cost": "1",
    }
    values.update(fields)
    return RecordInput(**values)  # type: ignore[arg-type]


def problems(**fields: object) -> list[tuple[str, str]]:
    outcome = normalise(0, record(**fields))
    assert isinstance(outcome, list), outcome
    return [(r.field, r.reason) for r in outcome]


# --- digests: stored in the database, so they must never change ---------------------


def test_key_digest_is_stable() -> None:
    assert key_digest(KEY) == "e44ac2c7d90ab33abe33cc2a57e3c47f"


def test_content_hash_is_stable_and_ignores_label_order() -> None:
    digest = content_hash(
        "USD", Decimal("1.5"), Decimal("1.5"), None, "Hours", {"b": "2", "a": "é"}
    )
    assert digest == content_hash(
        "USD", Decimal("1.50"), Decimal("1.500"), None, "Hours", {"a": "é", "b": "2"}
    )
    assert digest.hex()[:16] == "e2d069a239bc98c5"
    plain = content_hash("USD", Decimal(1), Decimal(1), None, "", {})
    assert plain.hex()[:16] == "c050e87e3be57d79"
    assert content_hash("USD", Decimal(1), Decimal(1), None, "", {}) != content_hash(
        "USD", Decimal(1), Decimal(1), Decimal(0), "", {}
    )


def test_canonical_spells_each_value_once() -> None:
    assert [canonical(Decimal(t)) for t in ("0.00", "1E+3", "1245.670", "-0.5")] == [
        "0",
        "1000",
        "1245.67",
        "-0.5",
    ]


# --- normalise: exact messages and boundaries ----------------------------------------


def test_normalise_messages_are_exact() -> None:
    assert problems(provider="", billing_currency="", billed_cost="", charge_category=None) == [
        ("provider", "is required"),
        ("charge_category", "is required: usage, purchase, tax, credit or adjustment"),
        ("billing_currency", "is required"),
        ("billed_cost", "is required"),
    ]
    assert problems(sku="a\x00", billing_currency="ABCDEFGHIJKLMNOPQRS") == [
        ("sku", "must not contain NUL characters"),
        ("billing_currency", "must be an ISO 4217 currency code, got 'ABCDEFGHIJKLMNOP'"),
    ]
    assert problems(charge_period_end="2026-01-01") == [
        ("charge_period_end", "must be after charge_period_start (the end is exclusive)")
    ]
    assert problems(charge_period_end="never") == [
        (
            "charge_period_end",
            "must be an ISO 8601 time like 2024-09-18T22:00:00Z, '2024-09-18 22:00:00' "
            "or a date like 2024-09-18",
        )
    ]
    assert problems(charge_period_start="9999-12-31") == [
        ("charge_period_end", "one day after the start is out of range")
    ]


def test_normalise_limits_are_inclusive() -> None:
    accepted = normalise(
        0,
        record(
            sku="s" * 256,
            resource_id="r" * 1024,
            usage_unit="u" * 64,
            billed_cost="1000000000000",
            effective_cost="0.000000000000001",
            usage_quantity="0" * 63 + "1",
        ),
    )
    assert not isinstance(accepted, list), accepted
    assert problems(usage_unit="u" * 65) == [
        ("usage_unit", "must be at most 64 characters, got 65")
    ]
    assert problems(billed_cost="0" * 64 + "1") == [
        ("billed_cost", "must be a finite decimal number like 1245.67")
    ]
    assert problems(billed_cost="1000000000000.000000000000001") == [
        ("billed_cost", "must be at most 1000000000000 in absolute value")
    ]
    assert problems(effective_cost="1.0000000000000001") == [
        ("effective_cost", "must have at most 15 decimal places")
    ]


def test_normalise_keeps_values_and_text_as_sent() -> None:
    normal = normalise(
        3,
        record(
            usage_quantity="2.50",
            usage_unit=" Hours ",
            labels={"team": "ml"},
            billing_currency="eur",
            resource_id=" I-1 ",
        ),
    )
    assert not isinstance(normal, list)
    assert normal.record_index == 3
    assert (normal.usage_quantity, normal.usage_unit, normal.labels) == (
        Decimal("2.50"),
        "Hours",
        {"team": "ml"},
    )
    assert (normal.billing_currency, normal.key.resource_id) == ("EUR", "I-1")
    assert normal.key.charge_period_end == JAN_2


def test_normalise_text_filter_exact() -> None:
    violations = Violations()
    assert normalise_text_filter(" A ", "filter.sku", violations, lower=True) == "a"
    assert normalise_text_filter(" A ", "filter.service", violations, lower=False) == "A"
    assert normalise_text_filter("x" * 1024, "f", violations, lower=False) == "x" * 1024
    assert normalise_text_filter("x" * 1025, "f.long", violations, lower=False) == ""
    assert normalise_text_filter("\x00", "f.nul", violations, lower=False) == ""
    assert violations.items == [
        FieldViolation("f.long", "must be at most 1024 characters, got 1025"),
        FieldViolation("f.nul", "must not contain NUL characters"),
    ]


# --- use cases -----------------------------------------------------------------------


def test_normalise_filters_normalises_each_field_and_keeps_the_rest() -> None:
    filters = RecordFilters(
        JAN_1, JAN_2, " AWS ", " Acct ", " EC2 ", " US-East-1 ", " A100 ", ChargeCategory.TAX
    )
    assert normalise_filters(filters) == RecordFilters(
        JAN_1, JAN_2, "aws", "Acct", "EC2", "us-east-1", "a100", ChargeCategory.TAX
    )
    assert normalise_filters(RecordFilters(start_time=JAN_1)) == RecordFilters(start_time=JAN_1)
    assert normalise_filters(RecordFilters(end_time=JAN_1)) == RecordFilters(end_time=JAN_1)
    any_time = RecordFilters(JAN_1.replace(hour=5), JAN_2.replace(minute=1))
    assert normalise_filters(any_time) == any_time  # only summaries need whole days


def test_normalise_filters_messages() -> None:
    with pytest.raises(InvalidArgument) as error:
        normalise_filters(
            RecordFilters(JAN_2.replace(second=1), JAN_1.replace(hour=5), provider="\x00"),
            whole_days=True,
        )
    assert error.value.violations == [
        FieldViolation("filter.provider", "must not contain NUL characters"),
        FieldViolation("filter.end_time", "must be after start_time"),
        FieldViolation("filter.start_time", "must be at midnight UTC (summaries are daily)"),
        FieldViolation("filter.end_time", "must be at midnight UTC (summaries are daily)"),
    ]
    for moment in (JAN_1.replace(minute=1), JAN_1.replace(microsecond=1)):
        with pytest.raises(InvalidArgument):
            normalise_filters(RecordFilters(start_time=moment), whole_days=True)
    assert normalise_filters(RecordFilters(JAN_1, JAN_2), whole_days=True).end_time == JAN_2


def test_parse_run_id_messages() -> None:
    for text, message in (
        ("", "is required"),
        ("x", "must be a UUID"),
        ("z" * 36, "must be a UUID"),
    ):
        with pytest.raises(InvalidArgument) as error:
            parse_run_id(text)
        assert error.value.violations == [FieldViolation("run_id", message)]
    run_id = uuid.uuid4()
    assert parse_run_id(str(run_id)) == run_id


@pytest.fixture
def db() -> MemoryIngestionTransactions:
    return MemoryIngestionTransactions()


@pytest.fixture
def ingestion(db: MemoryIngestionTransactions) -> Ingestion:
    ticks = iter(range(1_000_000, 10**9, 1_500))  # from 1,000 s on, 1.5 s a read
    return Ingestion(db, clock=lambda: next(ticks) / 1000)


def test_ingest_hands_the_repository_the_run_and_its_first_batch(
    ingestion: Ingestion, db: MemoryIngestionTransactions
) -> None:
    report = ingestion.ingest(
        [record(), record(billed_cost="x")],
        source="src",
        all_or_nothing=False,
        request=RequestKey("r", b"f"),
        input_sha256=b"sha",
        caller="ci",
    )
    run_id = report.run.run_id
    assert db.state.runs[run_id][:3] == ("src", "ci", "IngestCostRecords")
    assert list(db.state.batches[run_id]) == [0]
    assert [p for p, _ in db.state.rejections[run_id]] == [0]
    assert db.state.claims[("IngestCostRecords", "r")].resource_id == str(run_id)
    assert db.locks == ["ledger.cost_records.ingestion"]
    assert report.run.duration_ms == 1500 and db.state.results[run_id][:2] == (b"sha", 1500)


def test_ingest_all_or_nothing_message_keeps_the_reason(ingestion: Ingestion) -> None:
    with pytest.raises(InvalidArgument) as error:
        ingestion.ingest(
            [record(billed_cost="x")],
            source="",
            all_or_nothing=True,
            request=None,
            input_sha256=b"",
            caller="",
        )
    assert error.value.violations == [
        FieldViolation("records[0].billed_cost", "must be a finite decimal number like 1245.67")
    ]
    with pytest.raises(InvalidArgument) as error:
        ingestion.ingest(
            [record()] * 10_001, source="", all_or_nothing=False, request=None,
            input_sha256=b"", caller="",
        )  # fmt: skip
    assert error.value.violations == [
        FieldViolation("records", "must hold at most 10000 records, got 10001")
    ]


def test_stream_hands_the_repository_source_caller_batches_and_positions(
    ingestion: Ingestion, db: MemoryIngestionTransactions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(use_cases, "MAX_REPORTED_REJECTIONS", 5)
    stream = ingestion.open_stream(source="big.csv", request_id="s", caller="ci")
    for batch in range(4):  # the fourth's rejections are past the cap: counted, not kept
        stream.add_batch([record(sku=f"{batch}"), record(billed_cost="x"), record(billed_cost="y")])
    report = stream.finish(RequestKey("s", b"f"), b"sha")

    run_id = stream.run_id
    assert db.state.runs[run_id][:3] == ("big.csv", "ci", "StreamCostRecords")
    assert sorted(db.state.batches[run_id]) == [0, 1, 2, 3]
    assert [(p, r.index) for p, r in db.state.rejections[run_id]] == [
        (0, 1),
        (1, 2),
        (2, 4),
        (3, 5),
        (4, 7),
    ]
    assert db.locks == ["ledger.cost_records.ingestion"] * 4
    counts = report.run.counts
    assert (counts.inserted, counts.rejected) == (4, 8)
    assert report.run.duration_ms == 1500  # the clock read when the stream opened and ended
    assert db.state.claims[("StreamCostRecords", "s")].resource_id == str(run_id)


def test_stream_without_batches_records_who_sent_it(
    ingestion: Ingestion, db: MemoryIngestionTransactions
) -> None:
    stream = ingestion.open_stream(source="empty.csv", request_id="", caller="ci")
    stream.finish(None, b"sha")
    assert db.state.runs[stream.run_id][:3] == ("empty.csv", "ci", "StreamCostRecords")


def test_stream_replay_refusal_names_the_request(ingestion: Ingestion) -> None:
    first = ingestion.open_stream(source="", request_id="s", caller="ci")
    first.finish(RequestKey("s", b"f"), b"sha")
    again = ingestion.open_stream(source="", request_id="s", caller="ci")
    with pytest.raises(AlreadyExists) as error:
        again.finish(RequestKey("s", b"other"), b"sha")
    assert (error.value.reason, error.value.metadata) == ("REQUEST_ID_REUSED", {"request_id": "s"})
    assert (
        str(error.value) == "request_id was already used for a different StreamCostRecords request"
    )
    with pytest.raises(InvalidArgument):
        ingestion.open_stream(source="", request_id="has space", caller="ci")


def test_stream_finish_after_a_concurrent_finish_answers_the_first_run(
    ingestion: Ingestion, db: MemoryIngestionTransactions
) -> None:
    late = ingestion.open_stream(source="", request_id="s", caller="ci")  # not yet claimed
    first = ingestion.open_stream(source="", request_id="s", caller="ci")
    first.add_batch([record()])
    report = first.finish(RequestKey("s", b"f"), b"sha")
    late.add_batch([record()])
    assert late.finish(RequestKey("s", b"f"), b"sha") == report


def test_lists_ask_for_one_more_than_a_page_and_use_their_defaults(
    ingestion: Ingestion, db: MemoryIngestionTransactions
) -> None:
    for n in range(120):
        ingestion.ingest(
            [record(sku=f"s{n}")], source="", all_or_nothing=False, request=None,
            input_sha256=b"", caller="",
        )  # fmt: skip
    assert len(ingestion.list_records(RecordFilters(), None, 0, "").items) == 100
    assert len(ingestion.list_runs(0, "").items) == 50
    records = ingestion.list_records(RecordFilters(), None, 120, "")
    runs = ingestion.list_runs(120, "")
    assert (len(records.items), records.next_page_token) == (120, "")
    assert (len(runs.items), runs.next_page_token) == (120, "")


def test_list_revisions_default_page_and_not_found_message(ingestion: Ingestion) -> None:
    for cost in range(101):
        ingestion.ingest(
            [record(billed_cost=str(cost))], source="", all_or_nothing=False, request=None,
            input_sha256=b"", caller="",
        )  # fmt: skip
    parts = {"provider": "aws", "billing_account_id": "", "sub_account_id": "", "service": "",
             "region": "", "sku": "", "resource_id": ""}  # fmt: skip
    start = JAN_1.astimezone(UTC)
    page = ingestion.list_revisions(start, JAN_2, parts, ChargeCategory.USAGE, 0, "")
    assert len(page.items) == 100 and page.next_page_token
    rest = ingestion.list_revisions(
        start, JAN_2, parts, ChargeCategory.USAGE, 0, page.next_page_token
    )
    assert [r.revision for r in rest.items] == [101]
    other = {**parts, "sku": "x"}
    with pytest.raises(NotFound) as error:
        ingestion.list_revisions(start, JAN_2, other, ChargeCategory.USAGE, 0, "")
    assert error.value.reason == "COST_RECORD_NOT_FOUND"
    missing_key = RecordKey(JAN_1, JAN_2, "aws", "", "", "", "", "x", "", ChargeCategory.USAGE)
    assert error.value.metadata == {"resource": "cost_record", "id": str(key_id(missing_key))}
    with pytest.raises(InvalidArgument) as foreign:  # a token of one record, for another
        ingestion.list_revisions(start, JAN_2, other, ChargeCategory.USAGE, 0, page.next_page_token)
    assert foreign.value.violations[0].field == "page_token"
    with pytest.raises(InvalidArgument) as nul:
        ingestion.list_revisions(
            start, JAN_2, {**parts, "sku": "\x00"}, ChargeCategory.USAGE, 0, ""
        )
    assert nul.value.violations == [FieldViolation("key.sku", "must not contain NUL characters")]
    with pytest.raises(InvalidArgument) as missing:
        ingestion.list_revisions(None, None, {**parts, "provider": ""}, None, 0, "")
    assert missing.value.violations == [
        FieldViolation("key.charge_period_start_time", "is required"),
        FieldViolation("key.charge_period_end_time", "is required"),
        FieldViolation("key.charge_category", "is required"),
        FieldViolation("key.provider", "is required"),
    ]


def test_summarise_messages_and_limit(
    ingestion: Ingestion, db: MemoryIngestionTransactions, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidArgument) as error:
        ingestion.summarise(RecordFilters(), None)
    assert error.value.violations == [
        FieldViolation(
            "group_by",
            "is required: day, month, provider, service, region, sku or charge_category",
        )
    ]
    monkeypatch.setattr(use_cases, "MAX_GROUPS", 2)
    for sku in ("a", "b"):
        ingestion.ingest(
            [record(sku=sku)], source="", all_or_nothing=False, request=None,
            input_sha256=b"", caller="",
        )  # fmt: skip
    assert len(ingestion.summarise(RecordFilters(), GroupBy.SKU)) == 2
    ingestion.ingest(
        [record(sku="c")], source="", all_or_nothing=False, request=None,
        input_sha256=b"", caller="",
    )  # fmt: skip
    with pytest.raises(FailedPrecondition) as too_many:
        ingestion.summarise(RecordFilters(), GroupBy.SKU)
    assert too_many.value.reason == "TOO_MANY_GROUPS"
    assert str(too_many.value) == "the summary has more than 2 groups; narrow the filter"


def test_get_run_not_found_names_the_run(ingestion: Ingestion) -> None:
    run_id = str(uuid.uuid4())
    with pytest.raises(NotFound) as error:
        ingestion.get_run(run_id)
    assert error.value.reason == "INGESTION_RUN_NOT_FOUND"
    assert error.value.metadata == {"resource": "ingestion_run", "id": run_id}


def test_record_filters_scope_tells_every_filter_apart() -> None:
    scopes = {
        tuple(RecordFilters().scope()),
        tuple(RecordFilters(start_time=JAN_1).scope()),
        tuple(RecordFilters(end_time=JAN_1).scope()),
        tuple(RecordFilters(charge_category=ChargeCategory.TAX).scope()),
        tuple(RecordFilters(provider="aws").scope()),
    }
    assert len(scopes) == 5
    assert RecordFilters().scope() == [""] * 8
