"""Cost estimates as Ledger keeps them: jobs, their resources and their aggregates.

The values an estimate holds once per resource (amounts, breakdowns, resources, totals)
are immutable NamedTuples rather than frozen dataclasses: a StoreEstimate builds
hundreds of them, and a NamedTuple costs half as much to make. One-per-request values
stay frozen dataclasses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from ledger_server.domain.money import WireMoney

SCHEMA_VERSION = 1
STATUS_COMPLETED = "COMPLETED"
UNKNOWN = "unknown"  # the group of resources that named no service or region


# --- what a caller sends -------------------------------------------------------------


class BreakdownInput(NamedTuple):
    compute: WireMoney | None = None
    storage: WireMoney | None = None
    network: WireMoney | None = None
    other: WireMoney | None = None


class ResourceInput(NamedTuple):
    address: str
    monthly_cost: WireMoney | None
    name: str = ""
    resource_type: str = ""
    service: str = ""
    region: str = ""
    hourly_cost: WireMoney | None = None
    breakdown: BreakdownInput | None = None
    # Never mutated: a shared empty default is safe in a NamedTuple.
    cost_drivers: dict[str, Any] = {}  # noqa: RUF012
    assumptions: dict[str, Any] = {}  # noqa: RUF012


class ServiceCostInput(NamedTuple):
    service: str
    monthly_cost: WireMoney | None
    resource_count: int


class RegionCostInput(NamedTuple):
    region: str
    monthly_cost: WireMoney | None
    resource_count: int
    services: tuple[ServiceCostInput, ...] = ()


@dataclass(frozen=True)
class EstimateInput:
    currency_code: str
    total_monthly_cost: WireMoney | None
    confidence_score: float
    resources: tuple[ResourceInput, ...]
    by_service: tuple[ServiceCostInput, ...] = ()
    by_region: tuple[RegionCostInput, ...] = ()


@dataclass(frozen=True)
class StoreEstimateCommand:
    estimate: EstimateInput | None
    user_id: str = ""
    terraform_plan_hash: str = ""
    profile: str = ""
    labels: dict[str, str] = field(default_factory=dict)


# --- what Ledger stores and returns -------------------------------------------------


class Breakdown(NamedTuple):
    compute: Decimal
    storage: Decimal
    network: Decimal
    other: Decimal

    def total(self) -> Decimal:
        return self.compute + self.storage + self.network + self.other


class Resource(NamedTuple):
    position: int
    address: str
    name: str
    resource_type: str
    service: str
    region: str
    monthly_cost: Decimal
    hourly_cost: Decimal | None
    breakdown: Breakdown | None
    cost_drivers: dict[str, Any]
    assumptions: dict[str, Any]


class ServiceTotal(NamedTuple):
    service: str
    monthly_cost: Decimal
    resource_count: int


class RegionTotal(NamedTuple):
    region: str
    monthly_cost: Decimal
    resource_count: int
    services: tuple[ServiceTotal, ...]


@dataclass(frozen=True)
class Job:
    job_id: uuid.UUID
    user_id: str
    terraform_plan_hash: str
    profile: str
    labels: dict[str, str]
    currency_code: str
    total_monthly_cost: Decimal
    total_hourly_cost: Decimal
    confidence_score: float
    resource_count: int
    schema_version: int
    status: str
    create_time: datetime


@dataclass(frozen=True)
class NewJob:
    """A validated estimate with its aggregates computed, ready to be written."""

    job_id: uuid.UUID
    user_id: str
    terraform_plan_hash: str
    profile: str
    labels: dict[str, str]
    currency_code: str
    total_monthly_cost: Decimal
    total_hourly_cost: Decimal
    confidence_score: float
    resources: tuple[Resource, ...]
    services: tuple[ServiceTotal, ...]
    regions: tuple[RegionTotal, ...]
