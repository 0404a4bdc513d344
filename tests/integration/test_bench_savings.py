"""The savings benchmark's history is what the service would have written.

The benchmark loads history with COPY (millions of events would take too long through
the RPC); its figures mean something only while the loaded ledger and totals are the
ones the server computes. This loads a tiny history in two parts, as the benchmark does,
then replays it through the running server and compares.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc

from ledger.v1 import savings_service_pb2 as pb
from ledger.v1.savings_service_pb2_grpc import SavingsServiceStub
from tests.conftest import ADMIN_KEY, READER_KEY
from tests.support.database import connect, fresh_database
from tests.support.server import ServerThread

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # the benchmark's modules import each other by name

import savings  # noqa: E402
import savings_history  # noqa: E402
import savings_reads  # noqa: E402


def test_bench_savings_loaded_history_matches_the_servers_computation(
    server: ServerThread, database_url: str
) -> None:
    fleet = savings_history.Fleet(3, datetime.now(UTC).date())
    assert savings_history.load(database_url, fleet, 0, 4, new=True) == 3 * 4 * 2
    assert savings_history.load(database_url, fleet, 4, 9, new=False) == 3 * 5 * 2
    # Raises when any replayed instance's savings differ from the loaded ones.
    savings.check_sample(server.target, fleet, 9, 3, (("authorization", f"Bearer {ADMIN_KEY}"),))


def test_bench_savings_summary_reads_the_loaded_totals(server: ServerThread) -> None:
    with grpc.insecure_channel(server.target) as channel:
        stub = SavingsServiceStub(channel)
        reply = stub.GetSavingsSummary(
            pb.GetSavingsSummaryRequest(),
            metadata=(("authorization", f"Bearer {READER_KEY}"),),
        )
    assert reply.disclaimer


def test_bench_savings_reports_what_the_top_savers_read() -> None:
    """The buffers and entries the benchmark prints come from the repository's own query:
    every entry of the last 30 days of a loaded history, read from the covering index."""
    with fresh_database() as url:
        fleet = savings_history.Fleet(40, datetime.now(UTC).date())
        savings_history.load(url, fleet, 0, 40, new=True)
        reads = savings_reads.top_savers_reads(url)
        with connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM ledger.savings_entries WHERE day >= %s",
                (fleet.today - timedelta(days=29),),
            )
            in_range = cursor.fetchone()
    assert in_range is not None and in_range[0] > 0
    assert reads.entries == in_range[0]
    assert reads.scans == ("Index Only Scan ix_savings_entries_day_sums",)
    assert reads.buffers > 0
