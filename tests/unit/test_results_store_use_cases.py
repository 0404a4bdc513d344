"""ResultsStore use cases over in-memory repositories: ids, storing, the cache, retries,
CompareJobs."""

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
from ledger_server.domain.results_store.comparison import Change
from ledger_server.domain.results_store.estimates import Job, StoreEstimateCommand
from ledger_server.domain.results_store.ports import JobFilters
from ledger_server.domain.results_store.use_cases import (
    JOB_CACHE_BYTES,
    ResultsStore,
    check_filters,
    job_size,
    parse_id,
)
from tests.support.memory_store import EPOCH, MemoryTransactions
from tests.support.results_store_commands import JOB_ID, command, three_services, violations

D = Decimal


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


def test_claim_without_a_request_id_claims_nothing(db: MemoryTransactions) -> None:
    with db.begin() as uow:
        assert idempotency.claim(uow.request_ids, "StoreEstimate", None, JOB_ID) is None
    assert db.tables.claims == {}


def test_invalid_argument_lists_every_violation() -> None:
    error = InvalidArgument([FieldViolation("a", "x"), FieldViolation("b", "y")])
    assert error.message == "invalid request: a: x; b: y"


def test_lists_and_comparisons_of_a_cached_job_do_not_read_it_again(
    store: ResultsStore, db: MemoryTransactions
) -> None:
    job = str(three_services(store).job_id)
    store.list_job_resources(job, "", "", 0, "")
    store.list_job_services(job, 0, "")
    store.list_job_regions(job, 0, "")
    store.compare_jobs(job, job)
    assert db.reads.jobs == 0
    reader = ResultsStore(db)  # a process that has not seen the job reads it once
    reader.list_job_services(job, 0, "")
    reader.list_job_regions(job, 0, "")
    assert db.reads.jobs == 1
