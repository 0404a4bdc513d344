"""ResultsStore use cases over in-memory repositories: caching, retries, paging, rules."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from ledger_server.domain import idempotency
from ledger_server.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from ledger_server.domain.idempotency import RequestKey
from ledger_server.domain.money import WireMoney
from ledger_server.domain.paging import BAD_TOKEN, encode_token
from ledger_server.domain.results_store.comparison import Change
from ledger_server.domain.results_store.estimates import (
    EstimateInput,
    Job,
    ResourceInput,
    StoreEstimateCommand,
)
from ledger_server.domain.results_store.ports import JobFilters
from ledger_server.domain.results_store.use_cases import (
    JOB_CACHE_BYTES,
    ResultsStore,
    check_filters,
    job_size,
    parse_id,
)
from tests.support.memory_store import EPOCH, MemoryTransactions

D = Decimal
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


@pytest.fixture
def db() -> MemoryTransactions:
    return MemoryTransactions()


@pytest.fixture
def store(db: MemoryTransactions) -> ResultsStore:
    return ResultsStore(db)


# --- ids, filters, sizes --------------------------------------------------------------


@pytest.mark.parametrize("spelling", [JOB_ID, JOB_ID.upper()])
def test_parse_id_takes_the_canonical_spelling_in_either_case(spelling: str) -> None:
    assert parse_id(spelling, "job_id") == uuid.UUID(JOB_ID)


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("", "is required"),
        ("{" + JOB_ID + "}", "must be a UUID like 3f1c2a9e-6a55-4c8e-..."),
        (JOB_ID.replace("-", ""), "must be a UUID like 3f1c2a9e-6a55-4c8e-..."),
        ("urn:uuid:" + JOB_ID, "must be a UUID like 3f1c2a9e-6a55-4c8e-..."),
        (JOB_ID + " ", "must be a UUID like 3f1c2a9e-6a55-4c8e-..."),
        (" " + JOB_ID, "must be a UUID like 3f1c2a9e-6a55-4c8e-..."),
    ],
)
def test_parse_id_refuses_other_spellings_naming_the_field(text: str, description: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_id(text, "base_job_id")
    assert violations(refused) == [("base_job_id", description)]


def test_check_filters_limits_each_text_and_orders_the_times() -> None:
    check_filters(JobFilters(user_id="u" * 256, profile="p" * 64, terraform_plan_hash="h" * 256))
    check_filters(JobFilters(start_time=EPOCH, end_time=EPOCH + timedelta(microseconds=1)))
    check_filters(JobFilters(start_time=EPOCH))
    check_filters(JobFilters(end_time=EPOCH))
    with pytest.raises(InvalidArgument) as refused:
        check_filters(
            JobFilters(
                user_id="u" * 257,
                profile="p" * 65,
                terraform_plan_hash="h" * 257,
                start_time=EPOCH,
                end_time=EPOCH,
            )
        )
    assert violations(refused) == [
        ("user_id", "must be at most 256 characters, got 257"),
        ("profile", "must be at most 64 characters, got 65"),
        ("terraform_plan_hash", "must be at most 256 characters, got 257"),
        ("end_time", "must be after start_time"),
    ]


def test_job_size_counts_text_labels_and_overhead() -> None:
    job = Job(
        uuid.UUID(JOB_ID), "abc", "plan", "prod", {"k": "vv", "key": "v"}, "USD",
        D(1), D(0), 0.5, 1, 1, "COMPLETED", EPOCH,
    )  # fmt: skip
    assert job_size(job) == 1200 + (3 + 4 + 4) + (1 + 2 + 120) + (3 + 1 + 120)
    assert JOB_CACHE_BYTES == 64 * 1024 * 1024


# --- StoreEstimate, GetJob and the cache -------------------------------------------------


def test_store_estimate_stores_the_job_and_caches_it(
    store: ResultsStore, db: MemoryTransactions
) -> None:
    job = store.store_estimate(command(("a", 10, "EC2", "r1"), plan="plan-1", profile="prod"), None)
    assert (job.user_id, job.terraform_plan_hash, job.profile) == ("alice", "plan-1", "prod")
    assert (job.labels, job.total_monthly_cost, job.resource_count) == ({"team": "web"}, 10, 1)
    assert db.tables.jobs == {job.job_id: job}
    assert db.begun == 1
    assert store.peek_job(str(job.job_id)) == job
    assert store.get_job(str(job.job_id)) == job
    assert store.get_job(str(job.job_id).upper()) == job
    assert db.begun == 1  # answered from the cache


def test_peek_job_answers_only_from_the_cache(store: ResultsStore) -> None:
    assert store.peek_job("not-a-uuid") is None
    assert store.peek_job(JOB_ID) is None
    job = store.store_estimate(command(("a", 1, "", "")), None)
    assert store.peek_job(str(job.job_id)) == job
    assert store.peek_job("{" + str(job.job_id) + "}") is None


def test_get_job_reads_the_database_once_then_the_cache(db: MemoryTransactions) -> None:
    job = ResultsStore(db).store_estimate(command(("a", 1, "", "")), None)
    reader = ResultsStore(db)  # another process: its cache is empty
    assert reader.peek_job(str(job.job_id)) is None
    assert reader.get_job(str(job.job_id)) == job
    assert reader.get_job(str(job.job_id)) == job
    assert db.begun == 2
    assert reader.peek_job(str(job.job_id)) == job


def test_get_job_without_a_cache_reads_the_database_every_time(db: MemoryTransactions) -> None:
    store = ResultsStore(db, cache_size=0)
    job = store.store_estimate(command(("a", 1, "", "")), None)
    assert store.get_job(str(job.job_id)) == job
    assert store.get_job(str(job.job_id)) == job
    assert db.begun == 3
    assert store.peek_job(str(job.job_id)) is None


def test_get_job_unknown_is_not_found_and_not_cached(
    store: ResultsStore, db: MemoryTransactions
) -> None:
    for _ in range(2):
        with pytest.raises(NotFound) as missing:
            store.get_job(JOB_ID)
        assert missing.value.reason == "JOB_NOT_FOUND"
        assert missing.value.metadata == {"resource": "job", "id": JOB_ID}
        assert missing.value.message == f"job {JOB_ID!r} not found"
    assert db.begun == 2
    with pytest.raises(InvalidArgument) as malformed:
        store.get_job("nope")
    assert violations(malformed) == [("job_id", "must be a UUID like 3f1c2a9e-6a55-4c8e-...")]


def test_store_estimate_retry_answers_the_first_job_and_stores_nothing(
    db: MemoryTransactions,
) -> None:
    key = RequestKey("req-1", b"digest")
    first = ResultsStore(db).store_estimate(command(("a", 1, "", "")), key)
    # Another process with an empty cache answers the retry from the database.
    again = ResultsStore(db).store_estimate(command(("a", 1, "", "")), key)
    assert again == first
    assert list(db.tables.jobs) == [first.job_id]
    assert db.tables.claims[("StoreEstimate", "req-1")].resource_id == str(first.job_id)


def test_store_estimate_same_request_id_other_body_is_already_exists(
    store: ResultsStore, db: MemoryTransactions
) -> None:
    store.store_estimate(command(("a", 1, "", "")), RequestKey("req-1", b"one"))
    with pytest.raises(AlreadyExists) as reused:
        store.store_estimate(command(("a", 2, "", "")), RequestKey("req-1", b"two"))
    assert reused.value.reason == "REQUEST_ID_REUSED"
    assert reused.value.metadata == {"request_id": "req-1"}
    assert reused.value.message == (
        "request_id was already used for a different StoreEstimate request"
    )
    assert len(db.tables.jobs) == 1


def test_store_estimate_checks_the_request_id_before_anything_else(
    store: ResultsStore, db: MemoryTransactions
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        store.store_estimate(StoreEstimateCommand(estimate=None), RequestKey("a b", b""))
    assert [v.field for v in refused.value.violations] == ["request_id"]
    assert db.begun == 0


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


def _three_services(store: ResultsStore) -> Job:
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


def test_list_job_resources_filters_orders_and_pages(store: ResultsStore) -> None:
    job = _three_services(store)
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
    job = _three_services(store)
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
    other = _three_services(store)
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


# --- CompareJobs ------------------------------------------------------------------------


def test_compare_jobs_diffs_services_regions_and_resources(store: ResultsStore) -> None:
    base = store.store_estimate(command(("web", 100, "EC2", "r1"), ("logs", 20, "S3", "r2")), None)
    target = store.store_estimate(command(("web", 150, "EC2", "r1"), ("new", 5, "EC2", "r1")), None)
    result = store.compare_jobs(str(base.job_id), str(target.job_id))
    assert (result.base, result.target) == (base, target)
    assert (result.delta, result.percentage_change) == (D(35), D("29.17"))
    assert [(d.key, d.base, d.target) for d in result.service_deltas] == [
        ("EC2", 100, 155),
        ("S3", 20, 0),
    ]
    assert [(d.key, d.base, d.target) for d in result.region_deltas] == [
        ("r1", 100, 155),
        ("r2", 20, 0),
    ]
    assert [(d.address, d.change) for d in result.resource_diffs] == [
        ("web", Change.CHANGED),
        ("logs", Change.REMOVED),
        ("new", Change.ADDED),
    ]
    assert result.resource_diff_count == 3
    top = store.compare_jobs(str(base.job_id), str(target.job_id), 1)
    assert ([d.address for d in top.resource_diffs], top.resource_diff_count) == (["web"], 3)


def test_compare_jobs_caps_and_checks_the_diff_count(store: ResultsStore) -> None:
    base = store.store_estimate(command(*((f"r{i}", i, "", "") for i in range(5001))), None)
    target = store.store_estimate(command(), None)
    ids = (str(base.job_id), str(target.job_id))
    assert len(store.compare_jobs(*ids).resource_diffs) == 1000
    assert len(store.compare_jobs(*ids, 5000).resource_diffs) == 5000
    assert len(store.compare_jobs(*ids, 9999).resource_diffs) == 5000
    with pytest.raises(InvalidArgument) as refused:
        store.compare_jobs(*ids, -1)
    assert violations(refused) == [("max_resource_diffs", "must not be negative")]


def test_compare_jobs_of_two_currencies_is_failed_precondition(store: ResultsStore) -> None:
    usd_job = store.store_estimate(command(("a", 1, "", "")), None)
    eur_job = store.store_estimate(command(("a", 1, "", ""), currency="EUR"), None)
    with pytest.raises(FailedPrecondition) as refused:
        store.compare_jobs(str(usd_job.job_id), str(eur_job.job_id))
    assert refused.value.reason == "CURRENCY_MISMATCH"
    assert refused.value.message == (
        "jobs use different currencies (USD and EUR); compare jobs of one currency"
    )


def test_compare_jobs_names_the_bad_or_missing_side(store: ResultsStore) -> None:
    job = str(store.store_estimate(command(("a", 1, "", "")), None).job_id)
    with pytest.raises(InvalidArgument) as bad_base:
        store.compare_jobs("x", job)
    assert [v.field for v in bad_base.value.violations] == ["base_job_id"]
    with pytest.raises(InvalidArgument) as bad_target:
        store.compare_jobs(job, "x")
    assert [v.field for v in bad_target.value.violations] == ["target_job_id"]
    for base, target in ((JOB_ID, job), (job, JOB_ID)):
        with pytest.raises(NotFound) as missing:
            store.compare_jobs(base, target)
        assert missing.value.metadata["id"] == JOB_ID


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


def test_claim_without_a_request_id_claims_nothing(db: MemoryTransactions) -> None:
    with db.begin() as uow:
        assert idempotency.claim(uow.request_ids, "StoreEstimate", None, JOB_ID) is None
    assert db.tables.claims == {}


def test_invalid_argument_lists_every_violation() -> None:
    error = InvalidArgument([FieldViolation("a", "x"), FieldViolation("b", "y")])
    assert error.message == "invalid request: a: x; b: y"


# --- what the use cases ask of storage ---------------------------------------------------


def test_a_page_reads_one_row_more_than_it_returns(
    store: ResultsStore, db: MemoryTransactions
) -> None:
    """Keyset pages: one extra row tells whether there is a next page; never the whole set."""
    job = str(_three_services(store).job_id)
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


def test_lists_and_comparisons_of_a_cached_job_do_not_read_it_again(
    store: ResultsStore, db: MemoryTransactions
) -> None:
    job = str(_three_services(store).job_id)
    store.list_job_resources(job, "", "", 0, "")
    store.list_job_services(job, 0, "")
    store.list_job_regions(job, 0, "")
    store.compare_jobs(job, job)
    assert db.reads.jobs == 0
    reader = ResultsStore(db)  # a process that has not seen the job reads it once
    reader.list_job_services(job, 0, "")
    reader.list_job_regions(job, 0, "")
    assert db.reads.jobs == 1


@pytest.mark.parametrize("listing", ["list_job_resources", "list_job_services", "list_job_regions"])
def test_every_job_list_names_job_id_for_a_bad_id(store: ResultsStore, listing: str) -> None:
    method = getattr(store, listing)
    args = ("", "", 0, "") if listing == "list_job_resources" else (0, "")
    with pytest.raises(InvalidArgument) as refused:
        method("nope", *args)
    assert violations(refused) == [("job_id", "must be a UUID like 3f1c2a9e-6a55-4c8e-...")]


def test_job_resource_tokens_belong_to_their_job(store: ResultsStore) -> None:
    first, second = (str(_three_services(store).job_id) for _ in range(2))
    _, page = store.list_job_resources(first, "", "", 1, "")
    with pytest.raises(InvalidArgument) as refused:
        store.list_job_resources(second, "", "", 1, page.next_page_token)
    assert violations(refused) == [("page_token", BAD_TOKEN)]


def test_page_tokens_of_each_list_keep_their_format_across_versions(store: ResultsStore) -> None:
    """Tokens built the way this version scopes them read back: replicas of two versions
    serve one client's pages during a rolling deploy."""
    job = _three_services(store)
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
