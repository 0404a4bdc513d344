"""IngestionService from grpcurl, with no proto files: reflection carries the contract."""

from __future__ import annotations

import json
import uuid

from tests.conftest import READER_KEY, WRITER_KEY
from tests.e2e.test_grpcurl import grpcurl
from tests.support.server import ServerThread

SERVICE = "ledger.v1.IngestionService"


def test_grpcurl_ingest_cost_records_then_summary(server: ServerThread) -> None:
    account = f"acct-{uuid.uuid4().hex[:12]}"
    body = {
        "source": "grpcurl",
        "records": [
            {
                "charge_period_start": "2026-01-01",
                "provider": "AWS",
                "billing_account_id": account,
                "sku": "A100",
                "charge_category": "CHARGE_CATEGORY_USAGE",
                "billing_currency": "usd",
                "billed_cost": "1245.67",
            },
            {"charge_period_start": "2026-01-02", "provider": "aws", "billed_cost": "NaN"},
        ],
    }
    described = grpcurl(server, "describe", f"{SERVICE}.IngestCostRecords")
    loaded = grpcurl(server, f"{SERVICE}/IngestCostRecords", data=json.dumps(body), key=WRITER_KEY)
    summary = grpcurl(
        server,
        f"{SERVICE}/GetCostSummary",
        data=json.dumps(
            {"group_by": "COST_GROUP_BY_SKU", "filter": {"billing_account_id": account}}
        ),
        key=READER_KEY,
    )

    assert described.returncode == 0 and "IngestCostRecordsRequest" in described.stdout
    assert loaded.returncode == 0, loaded.stderr
    report = json.loads(loaded.stdout)
    assert report["run"]["inserted_count"] == "1" and report["run"]["rejected_count"] == "1"
    assert {r["field"] for r in report["rejections"]} >= {"billed_cost", "billing_currency"}
    (group,) = json.loads(summary.stdout)["groups"]
    assert group["group"] == "a100" and group["total_billed_cost_exact"] == "1245.67"
