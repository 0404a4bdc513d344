"""The Redis the cache tests use: LEDGER_TEST_REDIS_URL or 127.0.0.1:6379, or a skip
that says why (the `redis` marker)."""

from __future__ import annotations

import os

import pytest

DEFAULT_URL = "redis://127.0.0.1:6379/15"  # database 15: apart from anything else on it


def redis_url_or_skip() -> str:
    url = os.environ.get("LEDGER_TEST_REDIS_URL", DEFAULT_URL)
    try:
        import redis
    except ImportError:
        pytest.skip("redis cache tests skipped: the `redis` package is not installed")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError) as error:
        pytest.skip(f"redis cache tests skipped: no Redis answers at {url} ({error})")
    return url
