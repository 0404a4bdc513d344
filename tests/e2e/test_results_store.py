"""ResultsStoreService through the SDK against a real server and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger_client import (
    AlreadyExists,
    AsyncClient,
    Client,
    CostBreakdown,
    Estimate,
    InvalidArgument,
    NotFound,
    RegionCost,
    ResourceCost,
    ServiceCost,
)
from tests.conftest import ADMIN_KEY
from tests.support.server import ServerThread

D = Decimal
Counts = Callable[[], dict[str, int]]


def estimate(*resources: ResourceCost, **fields: object) -> Estimate:
    return Estimate(resources=list(resources), **fields)  # type: ignore[arg-type]


def ec2(address: str, cost: str, region: str = "us-east-1") -> ResourceCost:
    return ResourceCost(address, D(cost), service="AmazonEC2", region=region)


def s3(address: str, cost: str, region: str = "us-east-1") -> ResourceCost:
    return ResourceCost(address, D(cost), service="AmazonS3", region=region)


def test_store_estimate_returns_the_job_with_exact_money(client: Client, user: str) -> None:
    job = client.results.store_estimate(
        estimate(
            ResourceCost(
                "aws_instance.web",
                D("1121.280000001"),
                name="web",
                resource_type="aws_instance",
                service="AmazonEC2",
                region="us-east-1",
                hourly_cost=D("1.536"),
                breakdown=CostBreakdown(compute=D("1121.280000001")),
                cost_drivers={"instance_type": "m5.8xlarge", "count": 1},
                assumptions={"hours_per_month": 730},
            ),
            ResourceCost("aws_s3_bucket.a", D("0.1")),
            ResourceCost("aws_s3_bucket.b", D("0.2")),
            confidence_score=0.85,
        ),
        user_id=user,
        terraform_plan_hash="plan-1",
        profile="prod",
        labels={"team": "web"},
    )
    assert job.total_monthly_cost == D("1121.580000001")
    assert job.total_hourly_cost == D("1.536")
    assert (job.user_id, job.profile, job.terraform_plan_hash) == (user, "prod", "plan-1")
    assert job.labels == {"team": "web"}
    assert (job.resource_count, job.status, job.schema_version) == (3, "COMPLETED", 1)
    assert job.confidence_score == 0.85
    assert job.currency_code == "USD"
    assert abs(job.create_time - datetime.now(UTC)) < timedelta(minutes=1)
    assert client.results.get_job(job.job_id) == job

    web = next(iter(client.results.list_job_resources(job.job_id)))
    assert web.address == "aws_instance.web"
    assert web.breakdown == CostBreakdown(compute=D("1121.280000001"))
    assert web.cost_drivers == {"instance_type": "m5.8xlarge", "count": 1}
    assert web.hourly_cost == D("1.536")


def test_store_estimate_derives_service_and_region_aggregates(client: Client, user: str) -> None:
    job = client.results.store_estimate(
        estimate(
            ec2("a", "100"), s3("b", "5"), ec2("c", "50", "eu-west-1"), ResourceCost("d", D(1))
        ),
        user_id=user,
    )
    services = list(client.results.list_job_services(job.job_id))
    assert [(s.service, s.monthly_cost, s.resource_count) for s in services] == [
        ("AmazonEC2", 150, 2),
        ("AmazonS3", 5, 1),
        ("unknown", 1, 1),
    ]
    regions = list(client.results.list_job_regions(job.job_id))
    assert [(r.region, r.monthly_cost, r.resource_count) for r in regions] == [
        ("us-east-1", 105, 2),
        ("eu-west-1", 50, 1),
        ("unknown", 1, 1),
    ]
    assert regions[0].services == (
        ServiceCost("AmazonEC2", D(100), 1),
        ServiceCost("AmazonS3", D(5), 1),
    )


def test_store_estimate_accepts_reconciling_aggregates(client: Client, user: str) -> None:
    job = client.results.store_estimate(
        estimate(
            ec2("a", "10"),
            s3("b", "5"),
            total_monthly_cost=D(15),
            by_service=[ServiceCost("AmazonEC2", D(10), 1), ServiceCost("AmazonS3", D(5), 1)],
            by_region=[RegionCost("us-east-1", D(15), 2)],
        ),
        user_id=user,
    )
    assert job.total_monthly_cost == 15


def test_store_estimate_mismatched_aggregates_writes_nothing(
    client: Client, user: str, row_counts: Counts
) -> None:
    before = row_counts()
    with pytest.raises(InvalidArgument) as refused:
        client.results.store_estimate(
            estimate(
                ec2("a", "10"),
                s3("b", "5"),
                total_monthly_cost=D(16),
                by_service=[ServiceCost("AmazonEC2", D(11), 1), ServiceCost("AmazonS3", D(5), 1)],
            ),
            user_id=user,
        )
    fields = {v.field: v.description for v in refused.value.field_violations}
    assert fields["estimate.total_monthly_cost"] == "is 16 but the resources add up to 15"
    assert "add up to 10" in fields["estimate.by_service[0].monthly_cost"]
    assert row_counts() == before
    assert list(client.results.list_jobs(user_id=user)) == []


@pytest.mark.parametrize(
    ("resources", "field"),
    [
        ([], None),
        ([ResourceCost("", D(1))], "estimate.by_resource[0].address"),
        ([ResourceCost("a", D(-1))], "estimate.by_resource[0].monthly_cost"),
        ([ResourceCost("a", D(1)), ResourceCost("a", D(2))], "estimate.by_resource[1].address"),
        ([ResourceCost("x" * 1025, D(1))], "estimate.by_resource[0].address"),
        ([ResourceCost("a", D(10**12 + 1))], "estimate.by_resource[0].monthly_cost"),
        ([ResourceCost("a\x00", D(1))], "estimate.by_resource[0].address"),
        (
            [ResourceCost("a", D(3), breakdown=CostBreakdown(compute=D(1)))],
            "estimate.by_resource[0].breakdown",
        ),
    ],
)
def test_store_estimate_bad_resources_are_invalid_and_write_nothing(
    client: Client,
    user: str,
    row_counts: Counts,
    resources: list[ResourceCost],
    field: str | None,
) -> None:
    before = row_counts()
    if field is None:  # an empty estimate is legal: a plan with nothing to price
        assert client.results.store_estimate(estimate(), user_id=user).total_monthly_cost == 0
        return
    with pytest.raises(InvalidArgument) as refused:
        client.results.store_estimate(estimate(*resources), user_id=user)
    assert field in {v.field for v in refused.value.field_violations}
    assert refused.value.reason == "INVALID_ARGUMENT"
    assert row_counts() == before


def test_store_estimate_bad_confidence_and_metadata(client: Client, row_counts: Counts) -> None:
    before = row_counts()
    with pytest.raises(InvalidArgument) as refused:
        client.results.store_estimate(
            estimate(ec2("a", "1"), confidence_score=float("nan")),
            user_id="u" * 300,
            labels={"Not Valid": "x"},
        )
    fields = {v.field for v in refused.value.field_violations}
    assert {"estimate.confidence_score", "user_id"} <= fields
    assert any(f.startswith("labels[") for f in fields)
    assert row_counts() == before


def test_store_estimate_retry_returns_the_first_job(
    client: Client, user: str, row_counts: Counts
) -> None:
    body = estimate(ec2("a", "10"))
    first = client.results.store_estimate(body, user_id=user, request_id=f"req-{user}")
    before = row_counts()
    again = client.results.store_estimate(body, user_id=user, request_id=f"req-{user}")
    assert again == first
    assert row_counts() == before

    with pytest.raises(AlreadyExists) as reused:
        client.results.store_estimate(
            estimate(ec2("a", "11")), user_id=user, request_id=f"req-{user}"
        )
    assert reused.value.reason == "REQUEST_ID_REUSED"
    assert row_counts() == before


def test_store_estimate_concurrent_retries_store_one_job(server: ServerThread, user: str) -> None:
    results: list[str] = []

    def send() -> None:
        with Client(target=server.target, api_key=ADMIN_KEY) as own:
            job = own.results.store_estimate(estimate(ec2("a", "7")), user_id=user, request_id=user)
            results.append(job.job_id)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1
    with Client(target=server.target, api_key=ADMIN_KEY) as reader:
        assert len(list(reader.results.list_jobs(user_id=user))) == 1


def test_get_job_unknown_and_malformed_ids(client: Client) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(NotFound) as not_found:
        client.results.get_job(missing)
    assert not_found.value.reason == "JOB_NOT_FOUND"
    assert missing in not_found.value.message
    for bad in ("", "not-a-uuid", "x" * 10_000):
        with pytest.raises(InvalidArgument) as invalid:
            client.results.get_job(bad)
        assert invalid.value.field_violations[0].field == "job_id"
    with pytest.raises(NotFound):
        list(client.results.list_job_resources(missing))
    with pytest.raises(NotFound):
        client.results.compare_jobs(missing, missing)


def test_list_jobs_newest_first_paged_and_filtered(client: Client, user: str) -> None:
    stored = [
        client.results.store_estimate(
            estimate(ec2("a", str(i))),
            user_id=user,
            profile="prod" if i % 2 else "dev",
            terraform_plan_hash=f"plan-{i % 3}",
        )
        for i in range(7)
    ]
    newest_first = [j.job_id for j in reversed(stored)]
    assert [j.job_id for j in client.results.list_jobs(user_id=user, page_size=2)] == newest_first
    pages = list(client.results.list_jobs(user_id=user, page_size=3).pages())
    assert [len(page) for page in pages] == [3, 3, 1]
    prod = [j.job_id for j in client.results.list_jobs(user_id=user, profile="prod")]
    assert prod == [j.job_id for j in reversed(stored) if j.profile == "prod"]
    plan = list(client.results.list_jobs(user_id=user, terraform_plan_hash="plan-0"))
    assert {j.total_monthly_cost for j in plan} == {D(0), D(3), D(6)}
    window = list(
        client.results.list_jobs(
            user_id=user, start_time=stored[2].create_time, end_time=stored[5].create_time
        )
    )
    assert [j.job_id for j in window] == [stored[4].job_id, stored[3].job_id, stored[2].job_id]


def test_list_jobs_rejects_bad_paging(client: Client, user: str) -> None:
    with pytest.raises(InvalidArgument) as negative:
        list(client.results.list_jobs(user_id=user, page_size=-1))
    assert negative.value.field_violations[0].field == "page_size"
    now = datetime.now(UTC)
    with pytest.raises(InvalidArgument) as backwards:
        list(client.results.list_jobs(user_id=user, start_time=now, end_time=now - timedelta(1)))
    assert backwards.value.field_violations[0].field == "end_time"


def test_list_job_resources_most_expensive_first_with_filters(client: Client, user: str) -> None:
    job = client.results.store_estimate(
        estimate(
            ec2("small", "1"),
            ec2("big", "100", "eu-west-1"),
            s3("mid", "50"),
            ec2("tie-a", "10"),
            ec2("tie-b", "10"),
        ),
        user_id=user,
    )
    everything = [r.address for r in client.results.list_job_resources(job.job_id, page_size=2)]
    assert everything == ["big", "mid", "tie-a", "tie-b", "small"]
    ec2_only = [
        r.address for r in client.results.list_job_resources(job.job_id, service="AmazonEC2")
    ]
    assert ec2_only == ["big", "tie-a", "tie-b", "small"]
    east_ec2 = client.results.list_job_resources(
        job.job_id, service="AmazonEC2", region="us-east-1"
    )
    assert [r.address for r in east_ec2] == ["tie-a", "tie-b", "small"]


def test_compare_jobs_like_infracost_diff(client: Client, user: str) -> None:
    base = client.results.store_estimate(
        estimate(ec2("web", "1121.28"), s3("logs", "924.64", "eu-west-1")), user_id=user
    )
    target = client.results.store_estimate(
        estimate(ec2("web", "1303.28"), ec2("worker", "0")), user_id=user
    )
    diff = client.results.compare_jobs(base.job_id, target.job_id)
    assert (diff.base.total_monthly_cost, diff.target.total_monthly_cost) == (
        D("2045.92"),
        D("1303.28"),
    )
    assert diff.delta == D("-742.64")
    assert diff.percentage_change == -36.3
    assert [(d.address, d.change, d.delta) for d in diff.resource_diffs] == [
        ("logs", "REMOVED", D("-924.64")),
        ("web", "CHANGED", D(182)),
        ("worker", "ADDED", D(0)),
    ]
    assert {(d.key, d.delta) for d in diff.service_deltas} == {
        ("AmazonS3", D("-924.64")),
        ("AmazonEC2", D(182)),
    }
    assert {(d.key, d.delta) for d in diff.region_deltas} == {
        ("eu-west-1", D("-924.64")),
        ("us-east-1", D(182)),
    }
    assert diff.resource_diff_count == 3
    top = client.results.compare_jobs(base.job_id, target.job_id, max_resource_diffs=1)
    assert [d.address for d in top.resource_diffs] == ["logs"]
    assert top.resource_diff_count == 3
    assert top.delta == diff.delta  # totals never depend on the cut
    with pytest.raises(InvalidArgument) as negative:
        client.results.compare_jobs(base.job_id, target.job_id, max_resource_diffs=-1)
    assert negative.value.field_violations[0].field == "max_resource_diffs"


def test_compare_jobs_from_zero(client: Client, user: str) -> None:
    empty = client.results.store_estimate(estimate(), user_id=user)
    some = client.results.store_estimate(estimate(ec2("a", "5")), user_id=user)
    assert client.results.compare_jobs(empty.job_id, some.job_id).percentage_change is None
    assert client.results.compare_jobs(empty.job_id, empty.job_id).percentage_change == 0


def test_get_cost_trend_follows_a_plan_across_pages(client: Client, user: str) -> None:
    plan = f"plan-{user}"
    for cost in ("100", "120", "90", "90", "150"):
        client.results.store_estimate(
            estimate(ec2("a", cost)), user_id=user, terraform_plan_hash=plan
        )
    points = list(client.results.get_cost_trend(terraform_plan_hash=plan, page_size=2))
    assert [p.total_monthly_cost for p in points] == [100, 120, 90, 90, 150]
    assert [p.change_from_previous for p in points] == [0, 20, -30, 0, 60]
    assert [p.create_time for p in points] == sorted(p.create_time for p in points)
    with pytest.raises(InvalidArgument):
        list(client.results.get_cost_trend())
    with pytest.raises(InvalidArgument):
        list(client.results.get_cost_trend(user_id=user, terraform_plan_hash=plan))


def test_async_client_stores_and_lists(server: ServerThread, user: str) -> None:
    async def scenario() -> list[str]:
        async with AsyncClient(target=server.target, api_key=ADMIN_KEY) as ledger:
            jobs = await asyncio.gather(
                *(
                    ledger.results.store_estimate(estimate(ec2("a", str(i))), user_id=user)
                    for i in range(5)
                )
            )
            assert (await ledger.results.get_job(jobs[0].job_id)) == jobs[0]
            return [job.job_id async for job in ledger.results.list_jobs(user_id=user, page_size=2)]

    assert len(set(asyncio.run(scenario()))) == 5
