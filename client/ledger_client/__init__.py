"""Typed Python SDK for Ledger (ledger.v1): one client, one sub-client per service.

    with Client(target="ledger:50051", api_key="...") as ledger:
        job = ledger.results.get_job(job_id)

Sub-clients send their calls through `calls.Calls` / `async_calls.AsyncCalls`, which
hold what every service shares: deadlines, metadata, typed errors, pagers, resumable
streams and batched uploads.
"""

from ledger_client.async_client import AsyncClient
from ledger_client.async_streams import AsyncResumableStream
from ledger_client.client import Client
from ledger_client.connection import NO_DEADLINE, channel_options
from ledger_client.costs import AsyncCostsClient, CostsClient
from ledger_client.costs_types import (
    CostRecord,
    CostRecordInput,
    CostSummaryGroup,
    IngestionReport,
    IngestionRun,
    RecordRejection,
)
from ledger_client.errors import (
    Aborted,
    AlreadyExists,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    LedgerError,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from ledger_client.evaluations import AsyncEvaluationsClient, EvaluationsClient
from ledger_client.pagers import AsyncPager, Pager
from ledger_client.reconnect import ReconnectPolicy
from ledger_client.results_store import AsyncResultsStoreClient, ResultsStoreClient
from ledger_client.streams import ResumableStream
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
    "NO_DEADLINE",
    "Aborted",
    "AlreadyExists",
    "AsyncClient",
    "AsyncCostsClient",
    "AsyncEvaluationsClient",
    "AsyncPager",
    "AsyncResultsStoreClient",
    "AsyncResumableStream",
    "Client",
    "CostBreakdown",
    "CostDelta",
    "CostRecord",
    "CostRecordInput",
    "CostSummaryGroup",
    "CostTrendPoint",
    "CostsClient",
    "DataLoss",
    "DeadlineExceeded",
    "Estimate",
    "EvaluationsClient",
    "FailedPrecondition",
    "FieldViolation",
    "IngestionReport",
    "IngestionRun",
    "Internal",
    "InvalidArgument",
    "Job",
    "JobComparison",
    "JobTotal",
    "LedgerError",
    "NotFound",
    "OutOfRange",
    "Pager",
    "PermissionDenied",
    "ReconnectPolicy",
    "RecordRejection",
    "RegionCost",
    "ResourceCost",
    "ResourceDiff",
    "ResourceExhausted",
    "ResultsStoreClient",
    "ResumableStream",
    "ServiceCost",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "channel_options",
]
