"""IngestionService through the SDK against a real server and PostgreSQL.

The tables are INSERT-only and shared by the whole session, so every test loads records
under a billing account of its own and reads back only that account.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path

import grpc
import pytest

from ledger.v1 import ingestion_service_pb2 as pb
from ledger.v1.ingestion_service_pb2_grpc import IngestionServiceStub
from ledger_client import (
    AlreadyExists,
    AsyncClient,
    Client,
    CostRecordInput,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from tests.conftest import ADMIN_KEY, READER_KEY, WRITER_KEY
from tests.support.server import ServerThread

D = Decimal
Counts = Callable[[], dict[str, int]]
SEED_EXPORT = Path(__file__).parents[1] / "fixtures" / "costs" / "mock_cost_export.json"


@pytest.fixture
def account() -> str:
    return f"acct-{uuid.uuid4().hex[:12]}"


def seed_records(account: str, changed: dict[int, str] | None = None) -> list[CostRecordInput]:
    """The seed's 28-record export, under `account`; `changed` replaces some costs."""
    rows = json.loads(SEED_EXPORT.read_text(), parse_float=Decimal)["cost_data"]
    return [
        CostRecordInput(
            charge_period_start=row["date"],
            provider=row["provider"],
            sku=row["gpu_type"],
            billed_cost=(changed or {}).get(index, row["cost_usd"]),
            billing_account_id=account,
        )
        for index, row in enumerate(rows)
    ]


def test_ingest_cost_records_seed_scenario_inserts_then_finds_unchanged_then_revised(
    client: Client, account: str
) -> None:
    first = client.costs.ingest_cost_records(seed_records(account), source="mock_cost_export.json")
    again = client.costs.ingest_cost_records(seed_records(account))
    changed = client.costs.ingest_cost_records(
        seed_records(account, {0: "1000.01", 5: "2000.02", 27: "2500.03"})
    )

    assert (first.run.inserted, first.run.revised, first.run.unchanged) == (28, 0, 0)
    assert (again.run.inserted, again.run.revised, again.run.unchanged) == (0, 0, 28)
    assert (changed.run.inserted, changed.run.revised, changed.run.unchanged) == (0, 3, 25)
    assert first.run.source == "mock_cost_export.json" and first.run.complete
    assert first.run.caller == "ops"
    records = list(client.costs.list_cost_records(billing_account_id=account))
    assert len(records) == 28
    assert {r.provider for r in records} == {"aws"} and {r.sku for r in records} == {"a100", "h100"}
    assert sorted(r.revision for r in records).count(2) == 3
    first_day = {r.sku: r.billed_cost for r in records if r.charge_period_start.day == 1}
    assert first_day["a100"] == D("1000.01")


def test_ingest_cost_records_seed_summary_matches_the_export(client: Client, account: str) -> None:
    client.costs.ingest_cost_records(seed_records(account))
    rows = json.loads(SEED_EXPORT.read_text(), parse_float=Decimal)["cost_data"]
    costs = [row["cost_usd"] for row in rows]

    (total,) = client.costs.get_cost_summary("provider", billing_account_id=account)

    assert total.group == "aws" and total.currency == "USD"
    assert total.record_count == 28
    assert total.total_billed_cost == sum(costs)
    assert total.min_billed_cost == min(costs) == D("987.54")
    assert total.max_billed_cost == max(costs) == D("2789.12")
    assert total.average_billed_cost == (sum(costs) / 28).quantize(D("0.000000001"))


def test_get_cost_summary_applies_revisions_as_deltas(client: Client, account: str) -> None:
    client.costs.ingest_cost_records(seed_records(account))
    client.costs.ingest_cost_records(seed_records(account, {0: "1.00"}))
    rows = json.loads(SEED_EXPORT.read_text(), parse_float=Decimal)["cost_data"]

    days = client.costs.get_cost_summary("day", billing_account_id=account)

    assert len(days) == 14 and days[0].group == "2026-01-01"
    assert days[0].record_count == 2
    assert days[0].total_billed_cost == D("1.00") + rows[1]["cost_usd"]
    assert days[0].min_billed_cost == D("1.00")
    by_sku = client.costs.get_cost_summary("sku", billing_account_id=account)
    assert [(g.group, g.record_count) for g in by_sku] == [("a100", 14), ("h100", 14)]


def test_ingest_cost_records_repeated_request_id_replays_and_writes_nothing(
    client: Client, account: str, row_counts: Counts
) -> None:
    first = client.costs.ingest_cost_records(seed_records(account), request_id=f"r-{account}")
    before = row_counts()
    replay = client.costs.ingest_cost_records(seed_records(account), request_id=f"r-{account}")

    assert replay == first
    assert row_counts() == before
    with pytest.raises(AlreadyExists) as error:
        client.costs.ingest_cost_records(seed_records(account)[:3], request_id=f"r-{account}")
    assert error.value.reason == "REQUEST_ID_REUSED"


def test_ingest_cost_records_rejects_bad_records_and_stores_the_good_ones(
    client: Client, account: str
) -> None:
    good = CostRecordInput("2026-02-01", "gcp", "10.5", billing_account_id=account)
    report = client.costs.ingest_cost_records(
        [
            good,
            CostRecordInput("2026-02-01", "gcp", "NaN", sku="x", billing_account_id=account),
            CostRecordInput(
                "yesterday", "gcp", "1", billing_currency="ABC", billing_account_id=account
            ),
            CostRecordInput("2026-02-02", "", "1", billing_account_id=account),
        ]
    )

    assert (report.run.inserted, report.run.rejected) == (1, 3)
    problems = {(r.index, r.field) for r in report.rejections}
    assert problems == {
        (1, "billed_cost"),
        (2, "charge_period_start"),
        (2, "billing_currency"),
        (3, "provider"),
    }
    stored = list(client.costs.list_cost_records(billing_account_id=account))
    assert [(r.provider, r.billed_cost) for r in stored] == [("gcp", D("10.5"))]


def test_ingest_cost_records_all_or_nothing_stores_nothing_for_one_bad_record(
    client: Client, account: str, row_counts: Counts
) -> None:
    records = seed_records(account)
    records[7] = CostRecordInput("2026-01-04", "aws", "12,50", billing_account_id=account)
    before = row_counts()

    with pytest.raises(InvalidArgument) as error:
        client.costs.ingest_cost_records(records, all_or_nothing=True)

    assert [v.field for v in error.value.field_violations] == ["records[7].billed_cost"]
    assert row_counts() == before
    assert list(client.costs.list_cost_records(billing_account_id=account)) == []


def test_ingest_cost_records_normalises_before_keying(client: Client, account: str) -> None:
    client.costs.ingest_cost_records(
        [
            CostRecordInput(
                " 2026-03-01 22:00:00",
                " AWS ",
                "5",
                sku=" A100",
                region="US-EAST-1",
                billing_currency="usd",
                charge_period_end="2026-03-02T00:00:00+01:00",
                billing_account_id=account,
            )
        ]
    )
    again = client.costs.ingest_cost_records(
        [
            CostRecordInput(
                "2026-03-01T22:00:00Z",
                "aws",
                "5.000",
                sku="a100",
                region="us-east-1",
                billing_currency="USD",
                charge_period_end="2026-03-01T23:00:00Z",
                billing_account_id=account,
            )
        ]
    )

    assert (again.run.inserted, again.run.unchanged) == (0, 1)
    (record,) = client.costs.list_cost_records(billing_account_id=account)
    assert record.charge_period_start == datetime(2026, 3, 1, 22, tzinfo=UTC)
    assert record.charge_period_end == datetime(2026, 3, 1, 23, tzinfo=UTC)
    assert (record.provider, record.sku, record.region) == ("aws", "a100", "us-east-1")


def test_list_cost_records_as_of_returns_the_value_known_then(client: Client, account: str) -> None:
    client.costs.ingest_cost_records(seed_records(account))
    (before_revision,) = [
        r
        for r in client.costs.list_cost_records(billing_account_id=account, sku="A100")
        if r.charge_period_start.day == 1
    ]
    client.costs.ingest_cost_records(seed_records(account, {0: "1111.11"}))

    as_of = before_revision.record_time
    then = list(client.costs.list_cost_records(billing_account_id=account, as_of_time=as_of))
    now = list(client.costs.list_cost_records(billing_account_id=account))

    assert [r.billed_cost for r in then if r.sku == "a100" and r.charge_period_start.day == 1] == [
        D("987.54")
    ]
    assert [r.billed_cost for r in now if r.sku == "a100" and r.charge_period_start.day == 1] == [
        D("1111.11")
    ]
    (revised,) = [r for r in now if r.revision == 2]
    revisions = list(client.costs.list_cost_record_revisions(revised))
    assert [(r.revision, r.billed_cost) for r in revisions] == [(1, D("987.54")), (2, D("1111.11"))]


def test_list_cost_records_page_token_is_bound_to_as_of_time(
    client: Client, server: ServerThread, account: str
) -> None:
    client.costs.ingest_cost_records(seed_records(account))
    pages = client.costs.list_cost_records(billing_account_id=account, page_size=5).pages()
    assert sum(len(page) for page in pages) == 28

    with grpc.insecure_channel(server.target) as channel:
        stub = IngestionServiceStub(channel)
        metadata = (("authorization", f"Bearer {READER_KEY}"),)
        account_filter = pb.CostRecordFilter(billing_account_id=account)
        first = stub.ListCostRecords(
            pb.ListCostRecordsRequest(page_size=5, filter=account_filter), metadata=metadata
        )
        later = pb.ListCostRecordsRequest(
            page_size=5, page_token=first.next_page_token, filter=account_filter
        )
        later.as_of_time.GetCurrentTime()
        with pytest.raises(grpc.RpcError) as error:
            stub.ListCostRecords(later, metadata=metadata)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_cost_record_revisions_of_an_unknown_key_is_not_found(
    client: Client, account: str
) -> None:
    client.costs.ingest_cost_records(seed_records(account)[:1])
    (record,) = client.costs.list_cost_records(billing_account_id=account)
    from dataclasses import replace

    with pytest.raises(NotFound):
        list(client.costs.list_cost_record_revisions(replace(record, sku="b200")))


def test_ingest_cost_records_needs_a_writer_key(server: ServerThread, account: str) -> None:
    records = seed_records(account)[:1]
    with Client(target=server.target) as anonymous, pytest.raises(Unauthenticated):
        anonymous.costs.ingest_cost_records(records)
    with Client(target=server.target, api_key="wrong-key") as wrong, pytest.raises(Unauthenticated):
        wrong.costs.stream_cost_records(records)
    with (
        Client(target=server.target, api_key=READER_KEY) as reader,
        pytest.raises(PermissionDenied),
    ):
        reader.costs.ingest_cost_records(records)
    with Client(target=server.target, api_key=WRITER_KEY) as writer:
        assert writer.costs.ingest_cost_records(records).run.caller == "ci"


def test_get_ingestion_run_and_list_ingestion_runs_show_the_run(
    client: Client, account: str
) -> None:
    report = client.costs.ingest_cost_records(seed_records(account), source=account)

    run = client.costs.get_ingestion_run(report.run.run_id)
    newest = next(iter(client.costs.list_ingestion_runs(page_size=50)))

    assert run == report.run
    assert len(run.input_sha256) == 64 and run.method == "IngestCostRecords"
    assert newest.run_id == run.run_id or any(
        r.run_id == run.run_id for r in client.costs.list_ingestion_runs()
    )
    with pytest.raises(NotFound):
        client.costs.get_ingestion_run(str(uuid.uuid4()))
    with pytest.raises(InvalidArgument):
        client.costs.get_ingestion_run("not-a-run")


def test_stream_cost_records_loads_many_batches_and_replays_by_request_id(
    client: Client, account: str, row_counts: Counts
) -> None:
    records = [
        CostRecordInput(
            f"2026-04-{day:02d}", "azure", f"{day}.{n}", sku=f"sku-{n}", billing_account_id=account
        )
        for day in range(1, 29)
        for n in range(10)
    ]
    report = client.costs.stream_cost_records(records, batch_size=37, request_id=f"s-{account}")
    before = row_counts()
    replay = client.costs.stream_cost_records(records, batch_size=37, request_id=f"s-{account}")

    assert (report.run.inserted, report.run.method, report.run.complete) == (
        280,
        "StreamCostRecords",
        True,
    )
    assert replay == report
    assert row_counts() == before
    assert len(list(client.costs.list_cost_records(billing_account_id=account))) == 280


def test_stream_cost_records_reports_rejections_by_index_in_the_stream(
    client: Client, account: str
) -> None:
    records = [
        CostRecordInput("2026-05-01", "aws", str(n), sku=f"s{n}", billing_account_id=account)
        for n in range(10)
    ]
    records[8] = CostRecordInput("2026-05-01", "aws", "1e999", billing_account_id=account)

    report = client.costs.stream_cost_records(records, batch_size=3)

    assert (report.run.inserted, report.run.rejected) == (9, 1)
    assert [(r.index, r.field) for r in report.rejections] == [(8, "billed_cost")]


def test_readme_costs_example_runs(server: ServerThread) -> None:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    (code,) = [
        block
        for block in re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
        if "ledger.costs" in block
    ]
    code = code.replace('"127.0.0.1:50051"', repr(server.target))
    code = code.replace("api_key=None", f"api_key={ADMIN_KEY!r}")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(readme), "exec"), {})  # noqa: S102 - our own README
    lines = printed.getvalue().splitlines()
    assert lines[0] == "1 []"
    assert any(line.startswith("a100 USD ") for line in lines[1:])


def test_get_cost_summary_groups_by_month_and_filters_whole_days(
    client: Client, account: str
) -> None:
    client.costs.ingest_cost_records(seed_records(account))
    day = datetime(2026, 1, 3, tzinfo=UTC)

    (month,) = client.costs.get_cost_summary("month", billing_account_id=account)
    window = client.costs.get_cost_summary(
        "day", billing_account_id=account, start_time=day, end_time=day.replace(day=5)
    )

    assert (month.group, month.record_count) == ("2026-01", 28)
    assert [g.group for g in window] == ["2026-01-03", "2026-01-04"]
    with pytest.raises(InvalidArgument) as error:
        client.costs.get_cost_summary("day", start_time=day.replace(hour=1))
    assert error.value.field_violations[0].field == "filter.start_time"
    with pytest.raises(InvalidArgument):
        client.costs.get_cost_summary("weekday")


def test_get_cost_summary_refuses_more_than_ten_thousand_groups(
    client: Client, account: str
) -> None:
    first = datetime(1990, 1, 1, tzinfo=UTC)
    days = [
        CostRecordInput(first + timedelta(days=n), "aws", "1", billing_account_id=account)
        for n in range(10_001)
    ]
    client.costs.stream_cost_records(days)

    with pytest.raises(FailedPrecondition) as error:
        client.costs.get_cost_summary("day", billing_account_id=account)

    assert error.value.reason == "TOO_MANY_GROUPS"
    (total,) = client.costs.get_cost_summary("provider", billing_account_id=account)
    assert total.record_count == 10_001


def test_ingest_cost_records_lists_the_first_thousand_rejections_and_counts_all(
    client: Client, account: str
) -> None:
    bad = [CostRecordInput("2026-01-01", "aws", "x", billing_account_id=account)] * 1500

    report = client.costs.ingest_cost_records(bad)

    assert report.run.rejected == 1500
    assert [r.index for r in report.rejections] == list(range(1000))
    with pytest.raises(InvalidArgument) as error:
        client.costs.ingest_cost_records(bad * 7)
    assert error.value.field_violations[0].field == "records"


def test_async_client_costs_ingests_and_lists(server: ServerThread, account: str) -> None:
    async def load() -> tuple[int, int]:
        async with AsyncClient(target=server.target, api_key=WRITER_KEY) as ledger:
            report = await ledger.costs.stream_cost_records(seed_records(account), batch_size=10)
            listed = [r async for r in ledger.costs.list_cost_records(billing_account_id=account)]
            return report.run.inserted, len(listed)

    assert asyncio.run(load()) == (28, 28)


def test_ingest_cost_records_logs_the_counts_of_the_run(
    client: Client, account: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="ledger.ingestion"):
        report = client.costs.ingest_cost_records(seed_records(account), source="logged")

    (line,) = [r for r in caplog.records if getattr(r, "run_id", None) == report.run.run_id]
    assert (line.inserted, line.revised, line.unchanged, line.rejected) == (28, 0, 0, 0)  # type: ignore[attr-defined]
    assert line.source == "logged"  # type: ignore[attr-defined]


def test_stream_cost_records_request_id_with_other_records_is_already_exists(
    client: Client, account: str, row_counts: Counts
) -> None:
    records = seed_records(account)
    client.costs.stream_cost_records(records, request_id=f"s-{account}")
    before = row_counts()

    with pytest.raises(AlreadyExists) as error:
        client.costs.stream_cost_records(records[:-1], request_id=f"s-{account}")

    assert error.value.reason == "REQUEST_ID_REUSED"
    assert row_counts() == before


def test_ingestion_run_input_sha256_is_the_same_for_the_same_input(
    client: Client, account: str
) -> None:
    # The SDK gives each call a request id of its own: the digest leaves them out.
    first = client.costs.ingest_cost_records(seed_records(account), source="a")
    second = client.costs.ingest_cost_records(seed_records(account), source="a")
    other = client.costs.ingest_cost_records(seed_records(account)[1:], source="a")

    assert first.run.input_sha256 == second.run.input_sha256 != other.run.input_sha256
    runs = [r.run_id for r in islice(client.costs.list_ingestion_runs(page_size=3), 3)]
    assert runs.index(other.run.run_id) < runs.index(second.run.run_id)  # newest first


def test_list_cost_records_page_size_rules(client: Client, account: str) -> None:
    client.costs.ingest_cost_records(seed_records(account))

    with pytest.raises(InvalidArgument) as error:
        list(client.costs.list_cost_records(billing_account_id=account, page_size=-1))
    pages = list(client.costs.list_cost_records(billing_account_id=account, page_size=5000).pages())

    assert error.value.field_violations[0].field == "page_size"
    assert [len(page) for page in pages] == [28]


def test_cost_record_money_is_rounded_half_even_and_exact_text_is_kept(
    server: ServerThread, account: str
) -> None:
    metadata = (("authorization", f"Bearer {WRITER_KEY}"),)
    records = [
        pb.CostRecordInput(
            charge_period_start="2026-01-01",
            provider="aws",
            billing_account_id=account,
            sku=f"s{n}",
            charge_category=pb.CHARGE_CATEGORY_CREDIT,
            billing_currency="EUR",
            billed_cost=cost,
        )
        for n, cost in enumerate(["-0.0000000015", "0.0000000025", "1.00000000049"])
    ]
    with grpc.insecure_channel(server.target) as channel:
        stub = IngestionServiceStub(channel)
        stub.IngestCostRecords(pb.IngestCostRecordsRequest(records=records), metadata=metadata)
        listed = stub.ListCostRecords(
            pb.ListCostRecordsRequest(filter=pb.CostRecordFilter(billing_account_id=account)),
            metadata=metadata,
        ).records

    by_sku = {r.key.sku: r for r in listed}
    assert [
        (by_sku[s].billed_cost.units, by_sku[s].billed_cost.nanos) for s in ("s0", "s1", "s2")
    ] == [
        (0, -2),
        (0, 2),
        (1, 0),
    ]
    assert [by_sku[s].billed_cost_exact for s in ("s0", "s1", "s2")] == [
        "-0.0000000015",
        "0.0000000025",
        "1.00000000049",
    ]
    assert {r.billed_cost.currency_code for r in listed} == {"EUR"}
