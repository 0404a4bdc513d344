"""CompareJobs arithmetic: deltas, percentages and the per-resource diff."""

from __future__ import annotations

from decimal import Decimal

from ledger_server.domain.money import percentage_change
from ledger_server.domain.results_store.comparison import Change, cost_deltas, resource_diffs


def test_compare_jobs_percentage_change() -> None:
    assert percentage_change(Decimal(1000), Decimal(1200)) == Decimal("20.00")
    assert percentage_change(Decimal("2045.92"), Decimal("1303.28")) == Decimal("-36.30")
    assert percentage_change(Decimal(0), Decimal(0)) == 0
    assert percentage_change(Decimal(0), Decimal(5)) is None


def test_compare_jobs_percentage_change_from_one_nano_to_the_largest_total() -> None:
    # 30 digits with its two decimals: past the default decimal context, within ours.
    assert percentage_change(Decimal("0.000000001"), Decimal(10**16)) == Decimal(
        "999999999999999999999999900.00"
    )


def test_compare_jobs_resource_diff_like_infracost() -> None:
    diffs = resource_diffs(
        {"kept": Decimal(1), "grew": Decimal(2), "gone": Decimal(3)},
        {"kept": Decimal(1), "grew": Decimal(10), "new": Decimal("0.5")},
    )
    assert [(d.address, d.change, d.delta) for d in diffs] == [
        ("grew", Change.CHANGED, Decimal(8)),
        ("gone", Change.REMOVED, Decimal(-3)),
        ("new", Change.ADDED, Decimal("0.5")),
    ]


def test_compare_jobs_cost_deltas_skip_unchanged_keys() -> None:
    deltas = cost_deltas(
        {"EC2": Decimal(5), "S3": Decimal(1)}, {"EC2": Decimal(5), "RDS": Decimal(2)}
    )
    assert [(d.key, d.base, d.target) for d in deltas] == [
        ("RDS", 0, 2),
        ("S3", 1, 0),
    ]
