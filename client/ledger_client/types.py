"""What SDK users build and receive. Money is always `decimal.Decimal`, never a float."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

ZERO = Decimal(0)

ResourceChange = Literal["ADDED", "REMOVED", "CHANGED"]


@dataclass(frozen=True)
class CostBreakdown:
    """A monthly cost split by kind; the four parts add up to the resource's monthly cost."""

    compute: Decimal = ZERO
    storage: Decimal = ZERO
    network: Decimal = ZERO
    other: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.compute + self.storage + self.network + self.other


@dataclass(frozen=True)
class ResourceCost:
    """The cost of one resource; `address` is unique within an estimate."""

    address: str
    monthly_cost: Decimal
    name: str = ""
    resource_type: str = ""
    service: str = ""
    region: str = ""
    hourly_cost: Decimal | None = None
    breakdown: CostBreakdown | None = None
    cost_drivers: Mapping[str, Any] = field(default_factory=dict)
    assumptions: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceCost:
    service: str
    monthly_cost: Decimal
    resource_count: int


@dataclass(frozen=True)
class RegionCost:
    region: str
    monthly_cost: Decimal
    resource_count: int
    services: tuple[ServiceCost, ...] = ()


@dataclass(frozen=True)
class Estimate:
    """A priced Terraform plan. Totals and aggregates left empty are derived by the server."""

    resources: Sequence[ResourceCost]
    currency_code: str = "USD"
    total_monthly_cost: Decimal | None = None
    confidence_score: float = 0.0
    by_service: Sequence[ServiceCost] = ()
    by_region: Sequence[RegionCost] = ()


@dataclass(frozen=True)
class Job:
    """One stored estimate. `status` is the enum name without its prefix, e.g. "COMPLETED"."""

    job_id: str
    user_id: str
    terraform_plan_hash: str
    profile: str
    labels: Mapping[str, str]
    currency_code: str
    total_monthly_cost: Decimal
    total_hourly_cost: Decimal
    confidence_score: float
    resource_count: int
    schema_version: int
    status: str
    create_time: datetime


@dataclass(frozen=True)
class JobTotal:
    job_id: str
    total_monthly_cost: Decimal
    create_time: datetime


@dataclass(frozen=True)
class CostDelta:
    """How one service's or region's (`key`) monthly cost moved between two jobs."""

    key: str
    base_monthly_cost: Decimal
    target_monthly_cost: Decimal
    delta: Decimal


@dataclass(frozen=True)
class ResourceDiff:
    address: str
    change: ResourceChange
    base_monthly_cost: Decimal
    target_monthly_cost: Decimal
    delta: Decimal


@dataclass(frozen=True)
class JobComparison:
    """Two jobs compared like `infracost diff`.

    `percentage_change` is None when the base costs nothing and the target does
    (growth from zero has no percentage). `currency_code` is the currency the server
    named on the amounts, "" if it named none.
    """

    base: JobTotal
    target: JobTotal
    delta: Decimal
    percentage_change: float | None
    service_deltas: tuple[CostDelta, ...]
    region_deltas: tuple[CostDelta, ...]
    resource_diffs: tuple[ResourceDiff, ...]
    # How many resources differ in all; more than len(resource_diffs) when the list was cut.
    resource_diff_count: int = 0
    currency_code: str = ""


@dataclass(frozen=True)
class CostTrendPoint:
    job_id: str
    create_time: datetime
    total_monthly_cost: Decimal
    change_from_previous: Decimal
    # Percent change from the previous point to 2 places; None for the first point and
    # for growth from zero.
    percentage_change: Decimal | None = None
    # True when the change exceeds every anomaly threshold the request gave.
    anomaly: bool = False
