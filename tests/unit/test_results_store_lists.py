"""ResultsStore lists over in-memory repositories: pages, tokens, trends, what they read."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from ledger_server.domain.errors import (
    InvalidArgument,
    NotFound,
)
from ledger_server.domain.paging import BAD_TOKEN, encode_token
from ledger_server.domain.results_store.ports import JobFilters
from ledger_server.domain.results_store.use_cases import (
    ResultsStore,
)
from tests.support.memory_store import EPOCH, MemoryTransactions
from tests.support.results_store_commands import JOB_ID, command, three_services, violations

D = Decimal


# --- lists ------------------------------------------------------------------------------


def test_list_jobs_pages_newest_first_with_tokens_for_these_filters(store: ResultsStore) -> None:
    jobs = [store.store_estimate(command(("a", i, "", "")), None) for i in range(5)]
    newest_first = [j.job_id for j in reversed(jobs)]
    first = store.list_jobs(JobFilters(user_id="alice"), 2, "")
    assert [j.job_id for j in first.items] == newest_first[:2]
    second = store.list_jobs(JobFilters(user_id="alice"), 2, first.next_page_token)
    assert [j.job_id for j in second.items] == newest_first[2:4]
    last = store.list_jobs(JobFilters(user_id="alice"), 2, second.next_page_token)
    assert ([j.job_id for j in last.items], last.next_page_token) == (newest_first[4:], "")
    everything = store.list_jobs(JobFilters(user_id="alice"), 0, "")
    assert ([j.job_id for j in everything.items], everything.next_page_token) == (newest_first, "")
    for other in (
        JobFilters(user_id="bob"),
        JobFilters(user_id="alice", profile="prod"),
        JobFilters(user_id="alice", terraform_plan_hash="p"),
        JobFilters(user_id="alice", start_time=EPOCH),
        JobFilters(user_id="alice", end_time=EPOCH + timedelta(days=1)),
    ):
        with pytest.raises(InvalidArgument) as refused:
            store.list_jobs(other, 2, first.next_page_token)
        assert violations(refused) == [("page_token", BAD_TOKEN)]


def test_list_jobs_default_and_largest_page(store: ResultsStore, db: MemoryTransactions) -> None:
    for i in range(1002):
        db.tables.clock += 1
        store.store_estimate(command(("a", 1, "", ""), user_id=f"u{i % 2}"), None)
    assert len(store.list_jobs(JobFilters(), 0, "").items) == 50
    assert len(store.list_jobs(JobFilters(), 5000, "").items) == 1000
    assert len(store.list_jobs(JobFilters(), 1000, "").items) == 1000
    with pytest.raises(InvalidArgument) as refused:
        store.list_jobs(JobFilters(), -1, "")
    assert violations(refused) == [("page_size", "must not be negative")]
    with pytest.raises(InvalidArgument):
        store.list_jobs(JobFilters(user_id="x" * 257), 0, "")


def test_list_job_resources_filters_orders_and_pages(store: ResultsStore) -> None:
    job = three_services(store)
    key = str(job.job_id)
    listed, page = store.list_job_resources(key, "", "", 2, "")
    assert listed == job
    addresses = [r.address for r in page.items]
    while page.next_page_token:
        _, page = store.list_job_resources(key, "", "", 2, page.next_page_token)
        addresses += [r.address for r in page.items]
    assert addresses == ["big", "mid", "tie-a", "tie-b", "small"]
    _, ec2 = store.list_job_resources(key, "EC2", "", 0, "")
    assert [r.address for r in ec2.items] == ["big", "tie-a", "small"]
    _, east = store.list_job_resources(key, "EC2", "r1", 0, "")
    assert [r.address for r in east.items] == ["tie-a", "small"]
    _, first = store.list_job_resources(key, "", "", 1, "")
    for service, region in (("EC2", ""), ("", "r1")):
        with pytest.raises(InvalidArgument) as refused:
            store.list_job_resources(key, service, region, 1, first.next_page_token)
        assert violations(refused) == [("page_token", BAD_TOKEN)]
    with pytest.raises(InvalidArgument) as too_long:
        store.list_job_resources(key, "s" * 257, "r" * 257, 0, "")
    assert violations(too_long) == [
        ("service", "must be at most 256 characters, got 257"),
        ("region", "must be at most 256 characters, got 257"),
    ]
    store.list_job_resources(key, "s" * 256, "r" * 256, 0, "")
    with pytest.raises(NotFound):
        store.list_job_resources(JOB_ID, "", "", 0, "")


def test_list_job_resources_default_page_is_100(store: ResultsStore) -> None:
    job = store.store_estimate(command(*((f"r{i}", 1, "", "") for i in range(101))), None)
    _, page = store.list_job_resources(str(job.job_id), "", "", 0, "")
    assert len(page.items) == 100 and page.next_page_token
    with pytest.raises(InvalidArgument) as refused:
        store.list_job_resources(str(job.job_id), "", "", -1, "")
    assert violations(refused) == [("page_size", "must not be negative")]


def test_list_job_services_and_regions_page_most_expensive_first(store: ResultsStore) -> None:
    job = three_services(store)
    key = str(job.job_id)
    listed, services = store.list_job_services(key, 2, "")
    assert listed == job
    assert [(s.service, s.monthly_cost) for s in services.items] == [("EC2", 111), ("S3", 50)]
    _, rest = store.list_job_services(key, 2, services.next_page_token)
    assert ([s.service for s in rest.items], rest.next_page_token) == (["RDS"], "")
    listed, regions = store.list_job_regions(key, 1, "")
    assert listed == job
    assert [(r.region, r.monthly_cost) for r in regions.items] == [("r2", 100)]
    _, rest_regions = store.list_job_regions(key, 0, regions.next_page_token)
    assert [r.region for r in rest_regions.items] == ["r1"]
    assert [(s.service, s.monthly_cost) for s in rest_regions.items[0].services] == [
        ("S3", 50),
        ("EC2", 11),
        ("RDS", 10),
    ]
    with pytest.raises(InvalidArgument):  # a services token is no regions token
        store.list_job_regions(key, 1, services.next_page_token)
    other = three_services(store)
    with pytest.raises(InvalidArgument):  # nor one of another job
        store.list_job_services(str(other.job_id), 2, services.next_page_token)
    for listing in (store.list_job_services, store.list_job_regions):
        with pytest.raises(NotFound):
            listing(JOB_ID, 0, "")
        with pytest.raises(InvalidArgument) as refused:
            listing(key, -1, "")
        assert violations(refused) == [("page_size", "must not be negative")]


def test_list_job_services_default_page_is_100(store: ResultsStore) -> None:
    job = store.store_estimate(
        command(*((f"r{i}", 1, f"s{i:03}", f"g{i:03}") for i in range(101))), None
    )
    _, services = store.list_job_services(str(job.job_id), 0, "")
    _, regions = store.list_job_regions(str(job.job_id), 0, "")
    assert (len(services.items), len(regions.items)) == (100, 100)


# --- GetCostTrend -------------------------------------------------------------------------


def test_get_cost_trend_pages_oldest_first_carrying_the_last_total(store: ResultsStore) -> None:
    for cost in (100, 120, 90, 90, 150):
        store.store_estimate(command(("a", cost, "", ""), plan="p"), None)
    store.store_estimate(command(("a", 7, "", ""), plan="other"), None)
    points, token = [], ""
    while True:
        page = store.get_cost_trend(JobFilters(terraform_plan_hash="p"), 2, token)
        points += page.items
        token = page.next_page_token
        if not token:
            break
    assert [p.job.total_monthly_cost for p in points] == [100, 120, 90, 90, 150]
    assert [p.change_from_previous for p in points] == [0, 20, -30, 0, 60]
    by_user = store.get_cost_trend(JobFilters(user_id="alice"), 0, "")
    assert [p.job.total_monthly_cost for p in by_user.items] == [100, 120, 90, 90, 150, 7]
    first = store.get_cost_trend(JobFilters(terraform_plan_hash="p"), 2, "")
    with pytest.raises(InvalidArgument) as replayed:
        store.get_cost_trend(JobFilters(terraform_plan_hash="other"), 2, first.next_page_token)
    assert violations(replayed) == [("page_token", BAD_TOKEN)]


def test_get_cost_trend_default_page_is_100(store: ResultsStore) -> None:
    for _ in range(101):
        store.store_estimate(command(("a", 1, "", ""), plan="p"), None)
    page = store.get_cost_trend(JobFilters(terraform_plan_hash="p"), 0, "")
    assert len(page.items) == 100 and page.next_page_token
    with pytest.raises(InvalidArgument) as refused:
        store.get_cost_trend(JobFilters(terraform_plan_hash="p"), -1, "")
    assert violations(refused) == [("page_size", "must not be negative")]


@pytest.mark.parametrize(
    "filters",
    [JobFilters(), JobFilters(user_id="alice", terraform_plan_hash="p")],
    ids=["neither", "both"],
)
def test_get_cost_trend_needs_exactly_one_series(store: ResultsStore, filters: JobFilters) -> None:
    with pytest.raises(InvalidArgument) as refused:
        store.get_cost_trend(filters, 0, "")
    assert violations(refused) == [
        ("user_id", "exactly one of user_id and terraform_plan_hash is required")
    ]


def test_get_cost_trend_checks_its_filters(store: ResultsStore) -> None:
    with pytest.raises(InvalidArgument) as refused:
        store.get_cost_trend(JobFilters(user_id="u" * 257), 0, "")
    assert violations(refused) == [("user_id", "must be at most 256 characters, got 257")]


# --- what the use cases ask of storage ---------------------------------------------------


def test_a_page_reads_one_row_more_than_it_returns(
    store: ResultsStore, db: MemoryTransactions
) -> None:
    """Keyset pages: one extra row tells whether there is a next page; never the whole set."""
    job = str(three_services(store).job_id)
    store.store_estimate(command(("a", 1, "", ""), plan="p"), None)
    db.reads.limits.clear()
    store.list_jobs(JobFilters(user_id="alice"), 2, "")
    store.list_job_resources(job, "", "", 3, "")
    store.list_job_services(job, 4, "")
    store.list_job_regions(job, 5, "")
    store.get_cost_trend(JobFilters(terraform_plan_hash="p"), 6, "")
    assert db.reads.limits == [
        ("jobs", 3),
        ("resources", 4),
        ("services", 5),
        ("regions", 6),
        ("jobs", 7),
    ]


@pytest.mark.parametrize("listing", ["list_job_resources", "list_job_services", "list_job_regions"])
def test_every_job_list_names_job_id_for_a_bad_id(store: ResultsStore, listing: str) -> None:
    method = getattr(store, listing)
    args = ("", "", 0, "") if listing == "list_job_resources" else (0, "")
    with pytest.raises(InvalidArgument) as refused:
        method("nope", *args)
    assert violations(refused) == [("job_id", "must be a UUID like 3f1c2a9e-6a55-4c8e-...")]


def test_job_resource_tokens_belong_to_their_job(store: ResultsStore) -> None:
    first, second = (str(three_services(store).job_id) for _ in range(2))
    _, page = store.list_job_resources(first, "", "", 1, "")
    with pytest.raises(InvalidArgument) as refused:
        store.list_job_resources(second, "", "", 1, page.next_page_token)
    assert violations(refused) == [("page_token", BAD_TOKEN)]


def test_page_tokens_of_each_list_keep_their_format_across_versions(store: ResultsStore) -> None:
    """Tokens built the way this version scopes them read back: replicas of two versions
    serve one client's pages during a rolling deploy."""
    job = three_services(store)
    key = str(job.job_id)
    after_big = ["100.000000000", "1"]
    _, resources = store.list_job_resources(
        key, "", "", 0, encode_token("ListJobResources", (key, "", ""), after_big)
    )
    assert [r.address for r in resources.items] == ["mid", "tie-a", "tie-b", "small"]
    _, services = store.list_job_services(
        key, 0, encode_token("ListJobServices", (key,), ["111.000000000", "EC2"])
    )
    assert [s.service for s in services.items] == ["S3", "RDS"]
    _, regions = store.list_job_regions(
        key, 0, encode_token("ListJobRegions", (key,), ["100.000000000", "r2"])
    )
    assert [r.region for r in regions.items] == ["r1"]
    cursor = [job.create_time.isoformat(), key]
    older = store.list_jobs(
        JobFilters(user_id="alice"), 0, encode_token("ListJobs", ("alice", "", "", "", ""), cursor)
    )
    assert older.items == []
    trend = store.get_cost_trend(
        JobFilters(user_id="alice"),
        0,
        encode_token("GetCostTrend", ("alice", "", "", "", ""), [*cursor, "171"]),
    )
    assert trend.items == []


def test_get_cost_trend_ends_without_a_token_when_the_page_is_exactly_full(
    store: ResultsStore,
) -> None:
    for cost in (1, 2, 4, 8, 16, 32):
        store.store_estimate(command(("a", cost, "", ""), plan="p"), None)
    first = store.get_cost_trend(JobFilters(terraform_plan_hash="p"), 3, "")
    second = store.get_cost_trend(JobFilters(terraform_plan_hash="p"), 3, first.next_page_token)
    assert [p.job.total_monthly_cost for p in first.items] == [1, 2, 4]
    assert [p.change_from_previous for p in second.items] == [4, 8, 16]
    assert second.next_page_token == ""
    whole = store.get_cost_trend(JobFilters(terraform_plan_hash="p"), 6, "")
    assert (len(whole.items), whole.next_page_token) == (6, "")
