"""Settings from the environment: the worker count, and which addresses are loopback."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from ledger_server.config import Settings, is_loopback


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
