"""Cost trends: each job's change from the one before, and which changes are anomalies.

A point's percentage change follows CompareJobs (`comparison.percentage_change`): to two
decimal places, 0 from zero to zero, none from zero to more. A caller may give a percent
threshold, an amount threshold or both; a point is an anomaly when its change exceeds
every threshold given, in either direction. Growth from zero exceeds any percent
threshold (it has no percentage because it is unbounded). The first point of a series
has nothing to change from: no percentage, never an anomaly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ledger_server.domain.errors import Violations
from ledger_server.domain.money import (
    ZERO,
    WireMoney,
    decimal_from_wire,
    is_currency_code,
    percentage_change,
)
from ledger_server.domain.results_store.estimates import Job

# A percent as callers write it: plain digits, at most two decimal places like the
# percentages returned (so a threshold and a change are compared on the same grid).
_PERCENT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,2})?")


@dataclass(frozen=True)
class AnomalyThresholds:
    """What makes a change an anomaly; None means that threshold was not given."""

    percent: Decimal | None = None
    amount: Decimal | None = None
    # The amount's currency; empty means it applies to each job in the job's currency.
    amount_currency: str = ""

    def exceeded_by(self, job: Job, change: Decimal, percent: Decimal | None) -> bool:
        """Whether `job`'s change from the point before, `change` and `percent` (None
        for growth from zero), exceeds every threshold given."""
        if self.percent is None and self.amount is None:
            return False
        if self.percent is not None and percent is not None and abs(percent) <= self.percent:
            return False
        if self.amount is not None:
            if self.amount_currency and self.amount_currency != job.currency_code:
                return False  # an amount in one currency says nothing of another's changes
            if abs(change) <= self.amount:
                return False
        return True


@dataclass(frozen=True)
class TrendPoint:
    job: Job
    change_from_previous: Decimal
    # None for the first point of a series and for growth from zero.
    percentage_change: Decimal | None
    anomaly: bool


def parse_thresholds(percent: str, amount: WireMoney | None) -> AnomalyThresholds:
    """The thresholds a GetCostTrend request gives, checked; INVALID_ARGUMENT if unusable."""
    violations = Violations()
    percent_value = None
    if percent:
        if _PERCENT.fullmatch(percent):
            percent_value = Decimal(percent)
        else:
            # Not echoed: the text may be anything, of any length.
            violations.add(
                "anomaly_percent",
                "must be a non-negative percent in plain digits with at most 2 decimal "
                'places, like "25" or "12.5"',
            )
    amount_value = None
    currency = ""
    if amount is not None:
        currency = amount.currency_code
        if currency and not is_currency_code(currency):
            violations.add(
                "anomaly_amount.currency_code",
                'must be empty or an ISO 4217 code of three upper-case letters, like "USD"',
            )
        else:
            amount_value = decimal_from_wire(
                amount, "anomaly_amount", currency, violations, allow_negative=False
            )
    violations.raise_if_any()
    return AnomalyThresholds(percent_value, amount_value, currency)


def trend_points(
    jobs: Iterable[Job], previous: Decimal | None, thresholds: AnomalyThresholds
) -> list[TrendPoint]:
    """Points for `jobs`, oldest first; `previous` is the total before the first of them
    (from the page before), None when they start the series."""
    points = []
    for job in jobs:
        total = job.total_monthly_cost
        if previous is None:
            points.append(TrendPoint(job, ZERO, None, anomaly=False))
        else:
            change = total - previous
            percent = percentage_change(previous, total)
            anomaly = thresholds.exceeded_by(job, change, percent)
            points.append(TrendPoint(job, change, percent, anomaly))
        previous = total
    return points
