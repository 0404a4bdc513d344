"""The read-through cache of evaluation versions in a real Redis, keyed by version."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ledger_server.domain.evaluations.commands import CreateEvaluation, UpdateEvaluation
from ledger_server.domain.evaluations.records import RunningInfo, Status
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.domain.evaluations.version_cache import LocalVersions, TwoLevels
from ledger_server.storage.database import SqlTransactions, make_engine
from ledger_server.storage.evaluations.redis_cache import RedisVersions, key_of
from tests.support.redis_server import redis_url_or_skip

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url() -> str:
    return redis_url_or_skip()


@pytest.fixture
def transactions(database_url: str) -> Iterator[SqlTransactions]:
    engine = make_engine(database_url)
    yield SqlTransactions(engine)
    engine.dispose()


def server_process(transactions: SqlTransactions, redis_url: str) -> Evaluations:
    """The use cases as one server process has them: its own local cache, shared Redis."""
    return Evaluations(transactions, cache=TwoLevels(LocalVersions(), RedisVersions(redis_url)))


def test_get_evaluation_reads_versions_through_redis_and_never_a_stale_one(
    transactions: SqlTransactions, redis_url: str
) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    writer = server_process(transactions, redis_url)
    created = writer.create(CreateEvaluation(code="x"), None)
    running = RunningInfo(container_id="c-7", host="h")
    writer.update(
        UpdateEvaluation(created.evaluation_id, status=Status.RUNNING, running=running), None
    )

    # Another process: its local cache is empty, so version 2 comes from Redis. Marking
    # the Redis copy shows which one answered.
    key = key_of(created.evaluation_id, 2)
    document = json.loads(client.get(key) or b"null")
    assert document["running"]["container_id"] == "c-7"
    document["metadata"] = {"answered_by": "redis"}
    client.set(key, json.dumps(document))
    reader = server_process(transactions, redis_url)
    assert reader.get(created.evaluation_id).metadata == {"answered_by": "redis"}

    # A new version has a new key: the cached one is never returned as the latest.
    writer.update(UpdateEvaluation(created.evaluation_id, metadata_changes={"n": 3}), None)
    latest = reader.get(created.evaluation_id)
    assert (latest.version, latest.metadata) == (3, {"n": 3})


def test_get_evaluation_works_when_redis_is_away(transactions: SqlTransactions) -> None:
    away = RedisVersions("redis://127.0.0.1:1/0")
    evaluations = Evaluations(transactions, cache=TwoLevels(LocalVersions(), away))
    created = evaluations.create(CreateEvaluation(code="x"), None)

    assert evaluations.get(created.evaluation_id).version == 1
    assert away.health()[0] is False


def test_redis_versions_report_their_health(redis_url: str) -> None:
    healthy, keys, used, detail = RedisVersions(redis_url).health()
    assert healthy and keys >= 0 and used > 0 and detail == ""
