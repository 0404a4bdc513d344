"""Cost estimates as Ledger keeps them: jobs, their resources and their aggregates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ledger_server.domain.money import WireMoney

SCHEMA_VERSION = 1
STATUS_COMPLETED = "COMPLETED"
UNKNOWN = "unknown"  # the group of resources that named no service or region


# --- what a caller sends -------------------------------------------------------------


@dataclass(frozen=True)
class BreakdownInput:
    compute: WireMoney | None = None
    storage: WireMoney | None = None
    network: WireMoney | None = None
    other: WireMoney | None = None


@dataclass(frozen=True)
class ResourceInput:
    address: str
    monthly_cost: WireMoney | None
    name: str = ""
    resource_type: str = ""
    service: str = ""
    region: str = ""
    hourly_cost: WireMoney | None = None
    breakdown: BreakdownInput | None = None
    cost_drivers: dict[str, Any] = field(default_factory=dict)
    assumptions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceCostInput:
    service: str
    monthly_cost: WireMoney | None
    resource_count: int


@dataclass(frozen=True)
class RegionCostInput:
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
    request_id: str = ""
    # A digest of the whole request but its request_id: a retry must match it exactly.
    fingerprint: bytes = b""


# --- what Ledger stores and returns -------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    compute: Decimal
    storage: Decimal
    network: Decimal
    other: Decimal

    def total(self) -> Decimal:
        return self.compute + self.storage + self.network + self.other


@dataclass(frozen=True)
class Resource:
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


@dataclass(frozen=True)
class ServiceTotal:
    service: str
    monthly_cost: Decimal
    resource_count: int


@dataclass(frozen=True)
class RegionTotal:
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
    request_id: str
    fingerprint: bytes
