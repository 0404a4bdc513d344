"""StoreEstimate commands for the fast tests of the ResultsStore use cases."""

from __future__ import annotations

import pytest

from ledger_server.domain.errors import InvalidArgument
from ledger_server.domain.money import WireMoney
from ledger_server.domain.results_store.estimates import (
    EstimateInput,
    Job,
    ResourceInput,
    StoreEstimateCommand,
)
from ledger_server.domain.results_store.use_cases import ResultsStore

JOB_ID = "3f1c2a9e-6a55-4c8e-9a8b-0d1e2f3a4b5c"


def usd(units: int, nanos: int = 0) -> WireMoney:
    return WireMoney("", units, nanos)


def command(
    *costs: tuple[str, int, str, str],
    currency: str = "USD",
    user_id: str = "alice",
    plan: str = "",
    profile: str = "",
) -> StoreEstimateCommand:
    """Resources as (address, units, service, region)."""
    return StoreEstimateCommand(
        estimate=EstimateInput(
            currency_code=currency,
            total_monthly_cost=None,
            confidence_score=0.5,
            resources=tuple(
                ResourceInput(address, usd(units), service=service, region=region)
                for address, units, service, region in costs
            ),
        ),
        user_id=user_id,
        terraform_plan_hash=plan,
        profile=profile,
        labels={"team": "web"},
    )


def violations(error: pytest.ExceptionInfo[InvalidArgument]) -> list[tuple[str, str]]:
    return [(v.field, v.description) for v in error.value.violations]


def three_services(store: ResultsStore) -> Job:
    return store.store_estimate(
        command(
            ("small", 1, "EC2", "r1"),
            ("big", 100, "EC2", "r2"),
            ("mid", 50, "S3", "r1"),
            ("tie-a", 10, "EC2", "r1"),
            ("tie-b", 10, "RDS", "r1"),
        ),
        None,
    )
