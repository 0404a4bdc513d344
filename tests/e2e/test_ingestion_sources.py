"""`ledger costs ...` against a real server: seed JSON, CSV and FOCUS exports, gzip,
bad rows, and a client killed in the middle of a stream."""

from __future__ import annotations

import csv
import gzip
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from ledger_client import Client
from tests.conftest import WRITER_KEY
from tests.support.database import connect
from tests.support.server import ServerThread

FOCUS_SAMPLE = (
    Path(__file__).parents[3] / "shared" / "fixtures" / "focus" / "focus_1.0_sample_1000rows.csv"
)
SEED_EXPORT = Path(__file__).parents[1] / "fixtures" / "costs" / "mock_cost_export.json"
HEADER = ["charge_period_start", "provider", "billing_account_id", "sku", "billed_cost"]


def ledger_costs(server: ServerThread, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_server", "costs", *args, "--target", server.target],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LEDGER_API_KEY": WRITER_KEY},
    )


def write_csv(path: Path, rows: list[list[str]], *, zipped: bool = False) -> Path:
    opener = gzip.open if zipped else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def account() -> str:
    return f"acct-{uuid.uuid4().hex[:12]}"


@pytest.mark.skipif(
    not FOCUS_SAMPLE.exists(),
    reason=f"the FOCUS sample export is not here ({FOCUS_SAMPLE}): it lives in the shared "
    "fixtures next to the repository, which a plain clone has not",
)
def test_costs_ingest_focus_export_totals_match_the_file_exactly(
    server: ServerThread, client: Client
) -> None:
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    with FOCUS_SAMPLE.open(newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["ProviderName"].lower(), row["BillingAccountId"])
            expected[key] += Decimal(row["BilledCost"])
            counts[key] += 1

    loaded = ledger_costs(server, "ingest", str(FOCUS_SAMPLE), "--batch-size", "300")
    again = ledger_costs(server, "ingest", str(FOCUS_SAMPLE), "--format", "focus")

    assert loaded.returncode == 0, loaded.stderr
    assert "rejected 0" in loaded.stderr and "records/s" in loaded.stderr
    assert "inserted=1000" in loaded.stdout or "unchanged=1000" in loaded.stdout
    assert again.returncode == 0 and "unchanged=1000" in again.stdout, again.stdout
    for (provider, billing_account), total in expected.items():
        groups = client.costs.get_cost_summary("provider", billing_account_id=billing_account)
        (group,) = [g for g in groups if g.group == provider]
        assert group.total_billed_cost == total, (provider, billing_account)
        assert group.record_count == counts[(provider, billing_account)]
    credits = client.costs.get_cost_summary("charge_category", provider="Microsoft")
    assert {g.group for g in credits} <= {"usage", "credit", "adjustment"}


def test_costs_ingest_csv_reports_bad_rows_and_stores_good_ones(
    server: ServerThread, client: Client, account: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "export.csv.gz",
        [
            ["2026-01-01", "aws", account, "a100", "10.25"],
            ["2026-01-01", "aws", account, "h100", "not-a-number"],
            ["2026-01-02 00:00:00", "aws", account, "a100", "11"],
            ["2026-13-01", "aws", account, "a100", "12"],
            ["2026-01-03", "", account, "a100", "13"],
        ],
        zipped=True,
    )

    result = ledger_costs(server, "ingest", str(path))

    assert result.returncode == 1, result.stderr
    assert "rejected record 1: billed_cost: must be a finite decimal number" in result.stderr
    assert "rejected record 3: charge_period_start:" in result.stderr
    assert "rejected record 4: provider: is required" in result.stderr
    assert "inserted=2" in result.stdout and "rejected=3" in result.stdout
    stored = list(client.costs.list_cost_records(billing_account_id=account))
    assert [(r.charge_period_start.day, r.billed_cost) for r in stored] == [
        (1, Decimal("10.25")),
        (2, Decimal("11")),
    ]


def test_costs_ingest_all_or_nothing_stores_nothing_for_a_bad_row(
    server: ServerThread, client: Client, account: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        [["2026-01-01", "aws", account, "a100", "1"], ["2026-01-02", "aws", account, "a100", "x"]],
    )

    result = ledger_costs(server, "ingest", str(path), "--all-or-nothing")

    assert result.returncode == 1
    assert "records[1].billed_cost" in result.stderr
    assert list(client.costs.list_cost_records(billing_account_id=account)) == []


def test_costs_ingest_seed_json_then_list_summary_and_runs(
    server: ServerThread, tmp_path: Path
) -> None:
    source = f"seed-{uuid.uuid4().hex[:8]}"
    first = ledger_costs(server, "ingest", str(SEED_EXPORT), "--source", source)
    listed = ledger_costs(server, "list", "--provider", "AWS", "--sku", "A100", "--limit", "3")
    summary = ledger_costs(server, "summary", "--group-by", "sku", "--provider", "aws")
    runs = ledger_costs(server, "runs", "--limit", "200")
    run_id = first.stdout.split()[0]
    one_run = ledger_costs(server, "runs", run_id)

    assert first.returncode == 0, first.stderr
    assert "sent 28 records" in first.stderr
    assert len(listed.stdout.splitlines()) == 3 and " aws " in listed.stdout
    assert any(line.startswith("a100  USD") for line in summary.stdout.splitlines())
    assert source in runs.stdout
    assert one_run.stdout.startswith(run_id) and "complete" in one_run.stdout


def test_costs_ingest_killed_mid_stream_leaves_whole_batches_and_a_rerun_completes(
    server: ServerThread, client: Client, database_url: str, account: str, tmp_path: Path
) -> None:
    rows = [
        [f"2026-02-{1 + n % 28:02d}", "aws", account, f"sku-{n // 28}", f"{n}.5"]
        for n in range(120_000)
    ]
    path = write_csv(tmp_path / "big.csv", rows)
    source = f"killed-{account}"
    command = [sys.executable, "-m", "ledger_server", "costs", "ingest", str(path)]
    loader = subprocess.Popen(
        [*command, "--batch-size", "1000", "--source", source, "--target", server.target],
        env={**os.environ, "LEDGER_API_KEY": WRITER_KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        batches = _wait_for_batches(database_url, source, at_least=3)
    finally:
        loader.send_signal(signal.SIGKILL)
        loader.wait(timeout=30)
    time.sleep(0.5)  # let the server notice the broken stream and end its batch

    stored = _stored(database_url, account)
    (killed,) = [r for r in client.costs.list_ingestion_runs(page_size=1000) if r.source == source]
    assert batches >= 3 and not killed.complete
    assert stored % 1000 == 0 and stored == killed.inserted, (stored, killed)
    assert stored < len(rows)

    rerun = ledger_costs(server, "ingest", str(path), "--batch-size", "7000")

    assert rerun.returncode == 0, rerun.stderr
    assert f"inserted={len(rows) - stored} revised=0 unchanged={stored}" in rerun.stdout
    assert _stored(database_url, account) == len(rows)
    with connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT key_id), max(revision) FROM ledger.cost_records "
            "WHERE billing_account_id = %s",
            (account,),
        )
        assert cursor.fetchone() == (len(rows), 1)


def _wait_for_batches(database_url: str, source: str, *, at_least: int) -> int:
    deadline = time.monotonic() + 120
    with connect(database_url) as connection:
        connection.autocommit = True
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM ledger.ingestion_run_batches b "
                    "JOIN ledger.ingestion_runs r USING (run_id) WHERE r.source = %s",
                    (source,),
                )
                row = cursor.fetchone()
            if row and row[0] >= at_least:
                return int(row[0])
            time.sleep(0.01)
    raise AssertionError("the stream stored no batches in two minutes")


def _stored(database_url: str, account: str) -> int:
    with connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM ledger.cost_records WHERE billing_account_id = %s", (account,)
        )
        row = cursor.fetchone()
        return int(row[0]) if row else 0
