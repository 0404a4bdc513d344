"""Settings from the environment: workers, database URLs, metrics, loopback addresses."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from ledger_server.config import Settings, is_loopback, normalize_database_url


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


@pytest.mark.parametrize(
    "listen",
    ["127.0.0.1:50051", "127.8.9.10:1", "[::1]:50051", "localhost:50051", "[::ffff:127.0.0.1]:1"],
)
def test_loopback_addresses_and_names_resolving_to_them_are_loopback(listen: str) -> None:
    assert is_loopback(listen)
    Settings(listen=listen).check()


@pytest.mark.parametrize(
    "listen",
    ["0.0.0.0:50051", "[::]:50051", ":50051", "10.1.2.3:50051", "[fe80::1%eth0]:1", "unix:/x"],
)
def test_other_addresses_are_not_loopback(listen: str) -> None:
    assert not is_loopback(listen)
    with pytest.raises(ValueError, match="no API keys"):
        Settings(listen=listen).check()


def resolving(addresses: dict[str, list[str]]) -> Any:
    def getaddrinfo(host: str, *args: object, **kwargs: object) -> list[Any]:
        if host not in addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in addresses[host]]

    return getaddrinfo


@pytest.mark.parametrize(
    ("host", "resolved", "loopback"),
    [
        ("127.example.com", ["203.0.113.7"], False),  # spelled with 127, resolves elsewhere
        ("api.internal", ["127.0.0.1", "10.0.0.5"], False),  # any outside address counts
        ("ledger.local", ["127.0.1.1"], True),  # a hosts-file name for this machine
        ("nowhere.invalid", None, False),  # does not resolve: refuse rather than guess
    ],
)
def test_a_name_is_loopback_only_if_every_address_it_resolves_to_is(
    monkeypatch: pytest.MonkeyPatch, host: str, resolved: list[str] | None, loopback: bool
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolving({host: resolved} if resolved else {}))
    assert is_loopback(f"{host}:50051") is loopback


def test_settings_read_the_migration_url_and_the_db_role() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql+psycopg2://ledger_server@db/ledger",
            "LEDGER_MIGRATE_DATABASE_URL": "postgresql+psycopg2://owner@db/ledger",
            "LEDGER_DB_ROLE": "none",
        }
    )
    assert settings.migrate_database_url == "postgresql+psycopg2://owner@db/ledger"
    assert (settings.db_role, settings.set_role) == ("none", "")
    assert Settings.from_env({}).set_role == "ledger_app"


def test_an_empty_db_role_is_refused_none_is_explicit() -> None:
    with pytest.raises(ValueError, match=r"LEDGER_DB_ROLE is empty: .* or set it to 'none'"):
        Settings.from_env({"LEDGER_DB_ROLE": ""}).check()
    Settings.from_env({"LEDGER_DB_ROLE": "none"}).check()
