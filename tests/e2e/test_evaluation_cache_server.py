"""A server with LEDGER_REDIS_URL: its reads go through Redis and its overview shows it."""

from __future__ import annotations

import pytest

from ledger.v1 import evaluation_service_pb2 as es
from ledger_client import Client
from tests.conftest import ADMIN_KEY, server_settings
from tests.support.redis_server import redis_url_or_skip
from tests.support.server import ServerThread

pytestmark = pytest.mark.redis


def test_get_storage_overview_reports_the_cache_when_configured(database_url: str) -> None:
    url = redis_url_or_skip()
    server = ServerThread(server_settings(redis_url=url), database_url).start()
    try:
        with Client(target=server.target, api_key=ADMIN_KEY) as ledger:
            created = ledger.evaluations.create("x")
            assert ledger.evaluations.get(created.evaluation_id).version == 1
            backends = {b.name: b for b in ledger.evaluations.get_storage_overview().backends}
    finally:
        server.stop()

    cache = backends["cache"]
    assert (cache.type, cache.health) == ("redis", es.BACKEND_HEALTH_HEALTHY)
    assert cache.rows >= 1 and cache.bytes > 0
