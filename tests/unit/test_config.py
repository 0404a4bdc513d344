"""Settings from the environment: the worker count, the database URL, metrics."""

from __future__ import annotations

import pytest

from ledger_server.config import Settings, normalize_database_url


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


@pytest.mark.parametrize(
    ("given", "used"),
    [
        # What psql, pg_ctl and cloud consoles print: the bundled driver serves them.
        ("postgresql://app:pw@db:5432/ledger", "postgresql+psycopg2://app:pw@db:5432/ledger"),
        (
            "postgres://app:pw@db/ledger?sslmode=require",
            "postgresql+psycopg2://app:pw@db/ledger?sslmode=require",
        ),
        ("POSTGRES://app@db/ledger", "postgresql+psycopg2://app@db/ledger"),
        (
            "postgresql://app@/ledger?host=/run/postgresql",
            "postgresql+psycopg2://app@/ledger?host=/run/postgresql",
        ),
        ("postgresql+psycopg2://app@db/ledger", "postgresql+psycopg2://app@db/ledger"),
        ("", ""),  # no URL: the embedded database
    ],
)
def test_database_url_forms_use_the_bundled_driver(given: str, used: str) -> None:
    assert normalize_database_url(given) == used
    assert Settings.from_env({"DATABASE_URL": given}).database_url == used


@pytest.mark.parametrize(
    ("given", "scheme"),
    [
        ("postgresql+psycopg://app:secret@db/ledger", "postgresql+psycopg"),
        ("postgresql+asyncpg://app:secret@db/ledger", "postgresql+asyncpg"),
        ("mysql://app:secret@db/ledger", "mysql"),
        ("sqlite:///ledger.db", "sqlite"),
    ],
)
def test_database_url_with_another_driver_is_refused_in_one_line(given: str, scheme: str) -> None:
    with pytest.raises(ValueError) as refused:
        normalize_database_url(given)
    message = str(refused.value)
    assert f"unsupported database URL scheme {scheme!r}" in message
    assert "postgresql://" in message and "\n" not in message
    assert "secret" not in message  # a URL's password never reaches a log or a terminal


def test_database_url_without_a_scheme_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="must look like postgresql://") as refused:
        normalize_database_url("app:secret@db:5432/ledger")
    assert "secret" not in str(refused.value)


def test_metrics_are_off_unless_an_address_is_given() -> None:
    assert Settings.from_env({}).metrics_listen == ""
    given = Settings.from_env({"LEDGER_METRICS_LISTEN": "0.0.0.0:9464"})
    assert given.metrics_listen == "0.0.0.0:9464"
    given.check()  # an unauthenticated scrape port may face the network: it holds no data


@pytest.mark.parametrize(
    ("metrics_listen", "message"),
    [
        ("9464", "the metrics address must be host:port, got '9464'"),
        (":9464", "the metrics address must be host:port, got ':9464'"),
        ("127.0.0.1:http", "the metrics address must be host:port"),
        ("127.0.0.1:50051", "the metrics need a port of their own, not gRPC's 50051"),
    ],
)
def test_settings_refuse_a_metrics_address_that_cannot_work(
    metrics_listen: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(listen="127.0.0.1:50051", metrics_listen=metrics_listen).check()
