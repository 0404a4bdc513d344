"""The immutable-record cache: bounded by entries and by bytes, whatever is put in it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from ledger_server.domain.cache import ImmutableCache
from ledger_server.domain.results_store.estimates import Job
from ledger_server.domain.results_store.use_cases import ResultsStore, _CachedJob, job_size


def text_cache(capacity: int, max_bytes: int) -> ImmutableCache[int, str]:
    return ImmutableCache(capacity, max_bytes=max_bytes, size_of=len)


def test_cache_never_holds_more_bytes_than_its_bound() -> None:
    cache = text_cache(1_000_000, max_bytes=10_000)
    for key in range(5_000):
        cache.put(key, "x" * (key % 1_200 + 1))
        assert cache.size_bytes <= 10_000
    assert sum(len(cache.get(key) or "") for key in range(5_000)) == cache.size_bytes


def test_cache_refuses_one_record_larger_than_an_eighth_of_it() -> None:
    cache = text_cache(100, max_bytes=8_000)
    cache.put(1, "small")
    cache.put(2, "x" * 1_001)
    assert (cache.get(1), cache.get(2)) == ("small", None)
    assert cache.size_bytes == len("small")


def test_cache_evicts_the_least_recently_read_first() -> None:
    cache = text_cache(100, max_bytes=2_400)
    for key in range(3):
        cache.put(key, "x" * 300)
    assert cache.get(0) is not None  # read: now the most recent
    for key in range(3, 9):
        cache.put(key, "x" * 300)  # 9 x 300 bytes: one must go
    assert cache.size_bytes == 2_400
    assert [key for key in range(9) if cache.get(key) is None] == [1]


def test_putting_a_key_again_counts_its_bytes_once() -> None:
    cache = text_cache(100, max_bytes=1_000)
    for _ in range(50):
        cache.put(7, "x" * 100)
    assert (len(cache), cache.size_bytes) == (1, 100)


def test_cache_with_no_capacity_holds_nothing() -> None:
    cache = text_cache(0, max_bytes=1_000)
    cache.put(1, "x")
    assert (cache.get(1), len(cache), cache.size_bytes) == (None, 0, 0)


def big_job(label_bytes: int) -> Job:
    return Job(
        job_id=uuid.uuid4(),
        user_id="u" * 256,
        terraform_plan_hash="h" * 256,
        profile="p" * 64,
        labels={f"k{n}": "v" * label_bytes for n in range(64)},
        currency_code="USD",
        total_monthly_cost=Decimal(1),
        total_hourly_cost=Decimal(0),
        confidence_score=1.0,
        resource_count=1,
        schema_version=1,
        status="COMPLETED",
        create_time=datetime.now(UTC),
    )


def test_job_size_counts_what_a_job_holds() -> None:
    small, large = big_job(1), big_job(1_000)
    assert job_size(large) - job_size(small) >= 64 * 999


def test_the_job_cache_is_bounded_by_bytes_not_only_by_jobs() -> None:
    store = ResultsStore(transactions=None, cache_size=1_000_000)  # type: ignore[arg-type]
    cache = store._jobs
    for _ in range(3_000):
        job = big_job(2_000)
        cache.put(job.job_id, _CachedJob(job))
    assert cache.size_bytes <= 64 * 1024 * 1024
    assert len(cache) < 3_000


def test_a_cached_job_is_rendered_once_and_kept_with_it() -> None:
    store = ResultsStore(transactions=None, cache_size=10)  # type: ignore[arg-type]
    job = big_job(1)
    store._jobs.put(job.job_id, _CachedJob(job))
    calls: list[str] = []

    def render(seen: Job) -> str:
        calls.append("render")
        return f"reply for {seen.job_id}"

    def other(seen: Job) -> str:
        return "other"

    key = str(job.job_id)
    assert store.peek_rendered(key, render) == f"reply for {job.job_id}"
    assert store.peek_rendered(key, render) == f"reply for {job.job_id}"
    assert calls == ["render"]  # the second read reused the first rendering
    assert store.peek_rendered(key, other) == "other"  # another renderer is not confused
    assert store.peek_rendered(key.upper(), render) == f"reply for {job.job_id}"
    assert store.peek_rendered("{" + key + "}", render) is None  # not a canonical id
    assert store.peek_rendered(str(uuid.uuid4()), render) is None  # not cached: no render
