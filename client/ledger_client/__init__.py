"""Typed Python SDK for Ledger's ledger.v1.ResultsStoreService."""

from ledger_client.async_client import AsyncClient
from ledger_client.client import Client
from ledger_client.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    LedgerError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from ledger_client.pagers import AsyncPager, Pager
from ledger_client.types import (
    CostBreakdown,
    CostDelta,
    CostTrendPoint,
    Estimate,
    Job,
    JobComparison,
    JobTotal,
    RegionCost,
    ResourceCost,
    ResourceDiff,
    ServiceCost,
)

__all__ = [
    "AlreadyExists",
    "AsyncClient",
    "AsyncPager",
    "Client",
    "CostBreakdown",
    "CostDelta",
    "CostTrendPoint",
    "DeadlineExceeded",
    "Estimate",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "Job",
    "JobComparison",
    "JobTotal",
    "LedgerError",
    "NotFound",
    "Pager",
    "PermissionDenied",
    "RegionCost",
    "ResourceCost",
    "ResourceDiff",
    "ServiceCost",
    "Unauthenticated",
    "Unavailable",
]
