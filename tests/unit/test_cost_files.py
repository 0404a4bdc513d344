"""Reading billing exports for `ledger costs ingest`: formats, FOCUS columns, gzip, memory."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import pytest

from ledger.v1 import ingestion_service_pb2 as pb
from ledger_client.cost_files import read_records

FOCUS_HEADER = (
    "BilledCost,BillingAccountId,BillingCurrency,ChargeCategory,ChargePeriodEnd,"
    "ChargePeriodStart,ConsumedQuantity,ConsumedUnit,EffectiveCost,Id,{provider},RegionId,"
    "ResourceId,ServiceName,SkuId,SubAccountId,Tags\n"
)
FOCUS_ROW = (
    '-0.00000000603,"123","USD","Credit","2024-09-18 23:00:00","2024-09-18 22:00:00",NULL,'
    'NULL,0.5,11472,"AWS",NULL,"arn:x","Amazon SQS","G95",NULL,"{""a"": 1}"\n'
)


def test_read_records_maps_focus_columns_and_null(tmp_path: Path) -> None:
    path = tmp_path / "focus.csv"
    path.write_text(FOCUS_HEADER.format(provider="ProviderName") + FOCUS_ROW)

    (record,) = read_records(path)

    assert record == pb.CostRecordInput(
        charge_period_start="2024-09-18 22:00:00",
        charge_period_end="2024-09-18 23:00:00",
        provider="AWS",
        billing_account_id="123",
        service="Amazon SQS",
        sku="G95",
        resource_id="arn:x",
        charge_category=pb.CHARGE_CATEGORY_CREDIT,
        billing_currency="USD",
        billed_cost="-0.00000000603",
        effective_cost="0.5",
    )


def test_read_records_accepts_focus_1_3_service_provider_name_gzipped(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"  # gzip is found by its bytes, not its name
    with gzip.open(path, "wt") as handle:
        handle.write(FOCUS_HEADER.format(provider="ServiceProviderName") + FOCUS_ROW)

    (record,) = read_records(path)

    assert record.provider == "AWS" and record.billed_cost == "-0.00000000603"


def test_read_records_reads_the_seed_json_export_exactly(tmp_path: Path) -> None:
    path = tmp_path / "mock.json"
    path.write_text(
        json.dumps(
            {"cost_data": [{"date": "2026-01-01", "provider": "AWS", "gpu_type": "A100"}]}
        ).replace("}]", ', "cost_usd": 1245.10000000000000001}]')
    )

    (record,) = read_records(path)

    assert (record.charge_period_start, record.sku) == ("2026-01-01", "A100")
    assert record.billed_cost == "1245.10000000000000001"  # never through a float
    assert (record.billing_currency, record.charge_category) == ("USD", pb.CHARGE_CATEGORY_USAGE)


def test_read_records_csv_with_ledger_columns_and_unknown_category(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text(
        "charge_period_start,provider,billed_cost,charge_category,extra\n"
        "2026-01-01,gcp,1.5,Refund,ignored\n"
    )

    (record,) = read_records(path)

    assert record.provider == "gcp" and record.billing_currency == "USD"
    assert record.charge_category == pb.CHARGE_CATEGORY_UNSPECIFIED  # the server says why


def test_read_records_refuses_a_header_without_provider_or_cost(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="no provider or cost column"):
        list(read_records(path))


def test_read_records_streams_a_large_file_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("charge_period_start,provider,sku,billed_cost\n")
        for n in range(200_000):
            handle.write(f"2026-01-01,aws,sku-{n},{n}.25\n")

    tracemalloc.start()
    try:
        count = sum(1 for _ in read_records(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 200_000
    assert peak < 2 * 1024 * 1024, f"reading held {peak} bytes at once"
