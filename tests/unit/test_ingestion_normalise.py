"""Normalising and validating cost records: the rules before anything is keyed or stored."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger_server.domain.ingestion.currencies import ISO_4217_CODES, is_iso_4217
from ledger_server.domain.ingestion.normalise import normalise, normalise_batch
from ledger_server.domain.ingestion.records import (
    ChargeCategory,
    NormalisedRecord,
    RecordInput,
    Rejection,
)


def record(**fields: object) -> RecordInput:
    values: dict[str, object] = {
        "charge_period_start": "2026-01-01",
        "provider": "aws",
        "billing_currency": "USD",
        "billed_cost": "1245.67",
    }
    values.update(fields)
    return RecordInput(**values)  # type: ignore[arg-type]


def valid(**fields: object) -> NormalisedRecord:
    outcome = normalise(0, record(**fields))
    assert isinstance(outcome, NormalisedRecord), outcome
    return outcome


def reasons(**fields: object) -> dict[str, str]:
    outcome = normalise(4, record(**fields))
    assert isinstance(outcome, list), f"accepted: {outcome}"
    assert all(r.index == 4 for r in outcome)
    return {r.field: r.reason for r in outcome}


def test_normalise_trims_and_lower_cases_provider_region_and_sku() -> None:
    normal = valid(provider=" AWS ", region=" US-East-1", sku="A100 ", service=" EC2 ")
    assert (normal.key.provider, normal.key.region, normal.key.sku) == ("aws", "us-east-1", "a100")
    assert normal.key.service == "EC2"  # names other than provider, region, sku keep their case


def test_normalise_gives_one_key_for_every_spelling_of_the_same_record() -> None:
    spellings = [
        valid(provider="AWS", sku="A100", billed_cost="1245.670", billing_currency="usd"),
        valid(
            provider="aws ", sku="a100", billed_cost="1.24567E+3", charge_period_end="2026-01-02"
        ),
        valid(charge_period_start="2026-01-01T00:00:00Z", provider="aws", sku="a100"),
        valid(charge_period_start="2026-01-01 01:00:00+01:00", provider="Aws", sku=" A100"),
    ]
    assert len({s.key_id for s in spellings}) == 1
    assert len({s.content_hash for s in spellings}) == 1


def test_normalise_keys_differ_by_every_key_part_but_not_by_values() -> None:
    base = valid()
    for field, value in [
        ("charge_period_end", "2026-01-03"),
        ("billing_account_id", "a"),
        ("sub_account_id", "a"),
        ("service", "a"),
        ("region", "a"),
        ("sku", "a"),
        ("resource_id", "a"),
        ("charge_category", ChargeCategory.CREDIT),
    ]:
        assert valid(**{field: value}).key_id != base.key_id, field
    for field, value in [
        ("billed_cost", "2"),
        ("effective_cost", "2"),
        ("usage_quantity", "3"),
        ("usage_unit", "h"),
        ("labels", {"team": "x"}),
        ("billing_currency", "EUR"),
    ]:
        changed = valid(**{field: value})
        assert changed.key_id == base.key_id, field
        assert changed.content_hash != base.content_hash, field


def test_normalise_reads_times_as_utc_in_every_accepted_form() -> None:
    assert valid(charge_period_start="2024-09-18 22:00:00").key.charge_period_start == datetime(
        2024, 9, 18, 22, tzinfo=UTC
    )
    moved = valid(charge_period_start="2024-09-18T22:00:00+02:00", charge_period_end="")
    assert moved.key.charge_period_start == datetime(2024, 9, 18, 20, tzinfo=UTC)
    assert moved.key.charge_period_end == datetime(2024, 9, 19, 20, tzinfo=UTC)  # one day


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"charge_period_start": ""}, "charge_period_start", "is required"),
        ({"charge_period_start": "yesterday"}, "charge_period_start", "must be an ISO 8601"),
        ({"charge_period_start": "9999-12-31"}, "charge_period_end", "out of range"),
        (
            {"charge_period_start": "9999-12-31T23:00:00-05:00"},
            "charge_period_start",
            "out of range",
        ),
        ({"charge_period_end": "2026-01-01"}, "charge_period_end", "must be after"),
        ({"charge_period_end": "2025-12-31"}, "charge_period_end", "must be after"),
        ({"provider": " "}, "provider", "is required"),
        ({"provider": "a\x00"}, "provider", "NUL"),
        ({"sku": "x" * 257}, "sku", "at most 256"),
        ({"resource_id": "x" * 1025}, "resource_id", "at most 1024"),
        ({"charge_category": None}, "charge_category", "is required"),
        ({"billing_currency": ""}, "billing_currency", "is required"),
        ({"billing_currency": "ABC"}, "billing_currency", "ISO 4217"),
        ({"billing_currency": "XTS"}, "billing_currency", "ISO 4217"),
        ({"billed_cost": ""}, "billed_cost", "is required"),
        ({"billed_cost": "NaN"}, "billed_cost", "finite decimal"),
        ({"billed_cost": "-Infinity"}, "billed_cost", "finite decimal"),
        ({"billed_cost": "1_000"}, "billed_cost", "finite decimal"),
        ({"billed_cost": "12,50"}, "billed_cost", "finite decimal"),
        ({"billed_cost": "1e999"}, "billed_cost", "at most 1000000000000"),
        ({"billed_cost": "0.0000000000000001"}, "billed_cost", "at most 15 decimal places"),
        ({"effective_cost": "x"}, "effective_cost", "finite decimal"),
        ({"usage_quantity": "1e16"}, "usage_quantity", "at most"),
        ({"labels": {"Team": "x"}}, "labels['Team']", "key must be"),
    ],
)
def test_normalise_rejects_with_field_and_reason(
    fields: dict[str, object], field: str, reason: str
) -> None:
    found = reasons(**fields)
    assert field in found, found
    assert reason in found[field]


def test_normalise_accepts_negative_costs_and_costs_below_a_nano() -> None:
    credit = valid(billed_cost="-0.00000000603", charge_category=ChargeCategory.CREDIT)
    assert credit.billed_cost == Decimal("-0.00000000603")
    assert credit.effective_cost == credit.billed_cost  # empty effective cost: the billed
    assert valid(billed_cost="-0").billed_cost.is_signed() is False
    assert valid(billed_cost="-999999999999.999999999999999").billed_cost.is_signed()


def test_normalise_reports_every_problem_of_a_record() -> None:
    assert set(reasons(provider="", billed_cost="NaN", billing_currency="usx")) == {
        "provider",
        "billed_cost",
        "billing_currency",
    }


def test_normalise_batch_rejects_a_repeated_key_and_counts_records_once() -> None:
    records = [
        record(),
        record(billed_cost="x", provider=""),
        record(provider=" AWS"),
        record(sku="h100"),
    ]
    valid_records, rejections, rejected = normalise_batch(records, first_index=10)
    assert [r.record_index for r in valid_records] == [10, 13]
    assert rejected == 2
    assert rejections[-1] == Rejection(12, "", "repeats the key of record 10 in the same batch")
    assert {r.index for r in rejections} == {11, 12}


def test_currency_list_is_iso_4217_not_a_pattern() -> None:
    assert {"USD", "EUR", "JPY", "GBP", "CHF", "CNY", "INR", "BRL"} <= ISO_4217_CODES
    assert len(ISO_4217_CODES) == 181  # the codes in use, as of 2025, less XTS and XXX
    assert all(len(code) == 3 and code.isalpha() and code.isupper() for code in ISO_4217_CODES)
    assert not is_iso_4217("ABC") and not is_iso_4217("usd") and not is_iso_4217("XXX")
