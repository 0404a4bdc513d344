"""Settings from the environment: the worker count."""

from __future__ import annotations

import pytest

from ledger_server.config import Settings


def test_settings_read_the_worker_count_from_the_environment() -> None:
    assert Settings.from_env({}).workers == 1
    assert Settings.from_env({"LEDGER_WORKERS": "4"}).workers == 4


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("two", "LEDGER_WORKERS must be a whole number, got 'two'"),
        ("0", "LEDGER_WORKERS must be at least 1, got 0"),
    ],
)
def test_settings_refuse_a_worker_count_that_cannot_work(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({"LEDGER_WORKERS": value})
