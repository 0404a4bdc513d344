"""Comparing two jobs, like `infracost diff`: pure arithmetic over what was stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from enum import Enum

from ledger_server.domain.money import ZERO
from ledger_server.domain.results_store.estimates import Job

# Totals reach 10^16 with nine decimal places; a percentage of two of them has at most
# 30 digits before rounding to two places, well inside this many.
_PERCENT_DIGITS = 60


class Change(Enum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"
    CHANGED = "CHANGED"


@dataclass(frozen=True)
class CostDelta:
    key: str
    base: Decimal
    target: Decimal

    @property
    def delta(self) -> Decimal:
        return self.target - self.base


@dataclass(frozen=True)
class ResourceDiff:
    address: str
    change: Change
    base: Decimal
    target: Decimal

    @property
    def delta(self) -> Decimal:
        return self.target - self.base


@dataclass(frozen=True)
class Comparison:
    base: Job
    target: Job
    delta: Decimal
    percentage_change: Decimal | None
    service_deltas: list[CostDelta]
    region_deltas: list[CostDelta]
    resource_diffs: list[ResourceDiff]
    resource_diff_count: int


def percentage_change(base: Decimal, target: Decimal) -> Decimal | None:
    """100 * (target - base) / base to 2 places; 0 from zero to zero, None from zero up."""
    if base == ZERO:
        return ZERO if target == ZERO else None
    # From one nano to a job's largest total is a change of 10^27 %: with its two decimal
    # places more digits than the default context's 28, which would make quantize fail.
    with localcontext() as context:
        context.prec = _PERCENT_DIGITS
        change = 100 * (target - base) / base
        return change.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def cost_deltas(base: Mapping[str, Decimal], target: Mapping[str, Decimal]) -> list[CostDelta]:
    """Keys whose amount differs, biggest absolute change first."""
    deltas = [
        CostDelta(key, base.get(key, ZERO), target.get(key, ZERO))
        for key in base.keys() | target.keys()
        if base.get(key) != target.get(key)
    ]
    return sorted(deltas, key=lambda d: (-abs(d.delta), d.key))


def resource_diffs(
    base: Mapping[str, Decimal], target: Mapping[str, Decimal]
) -> list[ResourceDiff]:
    diffs = []
    for address in base.keys() | target.keys():
        if address not in target:
            diffs.append(ResourceDiff(address, Change.REMOVED, base[address], ZERO))
        elif address not in base:
            diffs.append(ResourceDiff(address, Change.ADDED, ZERO, target[address]))
        elif base[address] != target[address]:
            diffs.append(ResourceDiff(address, Change.CHANGED, base[address], target[address]))
    return sorted(diffs, key=lambda d: (-abs(d.delta), d.address))


def compare(
    base: Job,
    target: Job,
    services: tuple[Mapping[str, Decimal], Mapping[str, Decimal]],
    regions: tuple[Mapping[str, Decimal], Mapping[str, Decimal]],
    resources: tuple[Mapping[str, Decimal], Mapping[str, Decimal]],
    max_resource_diffs: int,
) -> Comparison:
    diffs = resource_diffs(*resources)
    return Comparison(
        base=base,
        target=target,
        delta=target.total_monthly_cost - base.total_monthly_cost,
        percentage_change=percentage_change(base.total_monthly_cost, target.total_monthly_cost),
        service_deltas=cost_deltas(*services),
        region_deltas=cost_deltas(*regions),
        resource_diffs=diffs[:max_resource_diffs],
        resource_diff_count=len(diffs),
    )


def amounts(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    return dict(pairs)
