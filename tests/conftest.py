"""Shared fixtures: one migrated database and one real server per test session."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_server.api_keys import parse_keys
from ledger_server.config import Settings
from tests.support.database import fresh_database
from tests.support.fuzz_seed import FUZZ_SEED
from tests.support.server import ServerThread

READER_KEY = "reader-secret-key"
WRITER_KEY = "writer-secret-key"
ADMIN_KEY = "admin-secret-key"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def server_settings(**overrides: object) -> Settings:
    settings = Settings(
        api_keys=parse_keys(
            f"dash:reader:{READER_KEY},ci:writer:{WRITER_KEY},ops:admin:{ADMIN_KEY}"
        ),
        health_interval=0.2,
        pool_size=8,
        # Evaluation blobs of a test run: never the developer's own store.
        blob_dir=Path(tempfile.mkdtemp(prefix="ledger-test-blobs-")),
    )
    for name, value in overrides.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[ServerThread]:
    thread = ServerThread(server_settings(), database_url).start()
    yield thread
    thread.stop()


def pytest_report_header() -> str:
    if FUZZ_SEED is None:
        return "fuzz: fixed examples (derandomized); LEDGER_FUZZ_SEED=random draws a seed"
    return f"fuzz: seed {FUZZ_SEED} (replay with LEDGER_FUZZ_SEED={FUZZ_SEED})"
