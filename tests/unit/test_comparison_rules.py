"""CompareJobs rules as a whole: every figure of a comparison, and how it rounds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from ledger_server.domain.money import percentage_change
from ledger_server.domain.results_store.comparison import (
    Change,
    CostDelta,
    ResourceDiff,
    amounts,
    compare,
)
from ledger_server.domain.results_store.estimates import Job

D = Decimal


def job(total: str) -> Job:
    return Job(
        uuid.uuid4(), "u", "", "", {}, "USD", D(total), D(0), 0.5, 1, 1, "COMPLETED",
        datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip


def test_compare_reports_every_figure() -> None:
    base, target = job("120"), job("150")
    result = compare(
        base,
        target,
        services=({"EC2": D(100), "S3": D(20)}, {"EC2": D(150)}),
        regions=({"r1": D(120)}, {"r1": D(150)}),
        resources=({"a": D(100), "b": D(20)}, {"a": D(150)}),
        max_resource_diffs=1,
    )
    assert (result.base, result.target) == (base, target)
    assert (result.delta, result.percentage_change) == (D(30), D("25.00"))
    assert result.service_deltas == [CostDelta("EC2", D(100), D(150)), CostDelta("S3", D(20), D(0))]
    assert result.region_deltas == [CostDelta("r1", D(120), D(150))]
    assert result.resource_diffs == [ResourceDiff("a", Change.CHANGED, D(100), D(150))]
    assert result.resource_diff_count == 2
    assert [d.delta for d in result.service_deltas] == [D(50), D(-20)]
    assert result.resource_diffs[0].delta == D(50)


def test_percentage_change_rounds_half_to_even() -> None:
    assert percentage_change(D(8), D("8.0002")) == D("0.00")  # 0.0025 -> 0.00
    assert percentage_change(D(8), D("8.0006")) == D("0.01")  # 0.0075 -> 0.01 (even)
    assert percentage_change(D(3), D(4)) == D("33.33")
    assert percentage_change(D(3), D(2)) == D("-33.33")


def test_amounts_of_pairs() -> None:
    assert amounts([("a", D(1)), ("b", D(2))]) == {"a": D(1), "b": D(2)}
