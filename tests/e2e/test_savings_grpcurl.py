"""SavingsService with grpcurl and no proto files: reflection serves its contract."""

from __future__ import annotations

import json
import uuid

from tests.conftest import READER_KEY, WRITER_KEY
from tests.e2e.test_grpcurl import grpcurl
from tests.support.server import ServerThread

SERVICE = "ledger.v1.SavingsService"


def test_reflection_describes_the_savings_service(server: ServerThread) -> None:
    described = grpcurl(server, "describe", SERVICE)
    assert described.returncode == 0, described.stderr
    assert "rpc StreamInstanceEvents ( stream .ledger.v1.StreamInstanceEventsRequest )" in (
        described.stdout
    )
    assert "returns ( stream .ledger.v1.ExportSavingsResponse )" in described.stdout


def test_record_instance_events_and_get_instance_savings_with_json(server: ServerThread) -> None:
    instance = f"grpcurl-{uuid.uuid4().hex[:8]}"
    recorded = grpcurl(
        server,
        f"{SERVICE}/RecordInstance",
        data=json.dumps(
            {
                "instance_id": instance,
                "provider": "aws",
                "hourly_cost_cents": "250",
                "effective_time": "2026-03-01T00:00:00Z",
            }
        ),
        key=WRITER_KEY,
    )
    assert recorded.returncode == 0, recorded.stderr
    assert json.loads(recorded.stdout)["instance"]["revision"] == "1"
    events = {
        "events": [
            {"event_id": f"{instance}-1", "instance_id": instance,
             "kind": "INSTANCE_EVENT_KIND_STOPPED", "occur_time": "2026-03-02T01:00:00Z"},
            {"event_id": f"{instance}-2", "instance_id": instance,
             "kind": "INSTANCE_EVENT_KIND_STARTED", "occur_time": "2026-03-02T03:30:00Z"},
        ]
    }  # fmt: skip
    sent = grpcurl(
        server, f"{SERVICE}/RecordInstanceEvents", data=json.dumps(events), key=WRITER_KEY
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["recorded_count"] == 2

    read = grpcurl(
        server,
        f"{SERVICE}/GetInstanceSavings",
        data=json.dumps(
            {
                "instance_id": instance,
                "range": {"start_date": "2026-03-02", "end_date": "2026-03-02"},
            }
        ),
        key=READER_KEY,
    )
    assert read.returncode == 0, read.stderr
    reply = json.loads(read.stdout)
    assert (reply["savings_cents"], reply["stopped_minutes"]) == ("625", "150")
    assert reply["currency_code"] == "USD" and "not billing data" in reply["disclaimer"]


def test_bad_range_shows_field_violations_in_grpcurl(server: ServerThread) -> None:
    failed = grpcurl(
        server,
        f"{SERVICE}/ListDailySavings",
        data='{"range": {"start_date": "2026-02-30", "end_date": "2026-03-02"}}',
        key=READER_KEY,
    )
    assert failed.returncode != 0
    assert '"field":"range.start_date"' in (failed.stdout + failed.stderr).replace(" ", "")
