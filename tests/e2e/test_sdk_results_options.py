"""ListJobs order and trend anomalies as an SDK and CLI user asks for them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest

from ledger_client import AsyncClient, Client, Estimate, InvalidArgument, ResourceCost
from tests.conftest import READER_KEY
from tests.support.server import ServerThread


def _store(client: Client, user: str, plan: str, *totals: str) -> list[str]:
    ids = []
    for total in totals:
        job = client.results.store_estimate(
            Estimate(resources=[ResourceCost("aws_instance.web", Decimal(total))]),
            user_id=user,
            terraform_plan_hash=plan,
        )
        ids.append(job.job_id)
    return ids


def test_list_jobs_by_cost_pages_in_cost_order(client: Client, user: str) -> None:
    _store(client, user, "p", "30", "10", "20", "40")
    by_cost = client.results.list_jobs(
        user_id=user, order_by="total_monthly_cost desc", page_size=1
    )
    assert [j.total_monthly_cost for j in by_cost] == [40, 30, 20, 10]
    cheapest = client.results.list_jobs(user_id=user, order_by="total_monthly_cost asc")
    assert [j.total_monthly_cost for j in cheapest] == [10, 20, 30, 40]
    with pytest.raises(InvalidArgument) as refused:
        list(client.results.list_jobs(user_id=user, order_by="cost"))
    assert refused.value.field_violations[0].field == "order_by"


def test_cost_trend_marks_anomalies_sync_and_async(
    client: Client, server: ServerThread, user: str
) -> None:
    plan = f"plan-{uuid.uuid4().hex[:8]}"
    _store(client, user, plan, "100", "110", "200", "150")
    points = list(
        client.results.get_cost_trend(
            terraform_plan_hash=plan, anomaly_percent=Decimal("25"), page_size=1
        )
    )
    assert [p.percentage_change for p in points] == [
        None,
        Decimal("10"),
        Decimal("81.82"),
        Decimal("-25"),
    ]
    assert [p.anomaly for p in points] == [False, False, True, False]  # -25 is not over 25

    async def both_thresholds() -> list[bool]:
        async with AsyncClient(target=server.target, api_key=READER_KEY) as ledger:
            return [
                p.anomaly
                async for p in ledger.results.get_cost_trend(
                    terraform_plan_hash=plan,
                    anomaly_percent=Decimal("20"),
                    anomaly_amount=Decimal("60"),
                )
            ]

    # Over 20 % and over 60: only 110 -> 200 (+90, +81.82 %); 200 -> 150 is -50.
    assert asyncio.run(both_thresholds()) == [False, False, True, False]


def test_cli_lists_jobs_by_cost(client: Client, server: ServerThread, user: str) -> None:
    _store(client, user, "p", "5", "7", "6")
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger_server",
            "results",
            "list",
            "--user",
            user,
            "--order-by",
            "total_monthly_cost desc",
            "--target",
            server.target,
            "--api-key",
            READER_KEY,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    # Each line: job id, time, "7.00 USD", resources, user, profile.
    costs = [line.split("USD")[0].split()[-1] for line in listed.stdout.splitlines()]
    assert len(costs) == 3 and costs == ["7.00", "6.00", "5.00"], listed
