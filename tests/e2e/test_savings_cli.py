"""`ledger savings summary` and `ledger savings export --csv FILE` against a real server."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger_client import Client
from ledger_client.savings_types import EventKind, InstanceEvent
from tests.conftest import READER_KEY
from tests.support.server import ServerThread

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def savings_cli(server: ServerThread, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_server", "savings", *args, "--target", server.target],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LEDGER_API_KEY": READER_KEY},
    )


def stopped_two_hours(client: Client) -> tuple[str, str]:
    schedule = f"cli-{uuid.uuid4().hex[:8]}"
    instance = f"db-{uuid.uuid4().hex[:8]}"
    client.savings.record_instance(
        instance, provider="aws", hourly_cost_cents=150, schedule_id=schedule,
        effective_time=T0 - timedelta(days=1),
    )  # fmt: skip
    client.savings.record_events(
        [
            InstanceEvent(f"{instance}-a", instance, EventKind.STOPPED, T0),
            InstanceEvent(f"{instance}-b", instance, EventKind.STARTED, T0 + timedelta(hours=2)),
        ]
    )
    return schedule, instance


def test_savings_summary_prints_the_totals_and_the_disclaimer(
    server: ServerThread, client: Client
) -> None:
    schedule, instance = stopped_two_hours(client)
    shown = savings_cli(
        server, "summary", "--schedule", schedule, "--start", "2026-03-02", "--end", "2026-03-02"
    )
    assert shown.returncode == 0, shown.stderr
    assert "saved (finalized)   3.00" in shown.stdout
    assert instance in shown.stdout
    assert "not billing data" in shown.stdout


def test_savings_export_writes_a_csv_file(
    server: ServerThread, client: Client, tmp_path: Path
) -> None:
    _, instance = stopped_two_hours(client)
    target = tmp_path / "savings.csv"
    done = savings_cli(
        server, "export", "--csv", str(target), "--granularity", "instance",
        "--start", "2026-03-02", "--end", "2026-03-02",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(target.open(newline="")))
    assert rows[0][0] == "instance_id"
    assert next(r for r in rows if r[0] == instance)[3:] == ["300", "120", "USD"]


def test_savings_summary_refused_range_exits_1(server: ServerThread) -> None:
    shown = savings_cli(server, "summary", "--start", "2026-03-02")
    assert shown.returncode == 1
    assert "--start and --end go together" in shown.stderr
