"""The benchmark harness hands the caller's settings to the server it measures."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # the benchmark's modules import each other by name

import servers  # noqa: E402


def test_bench_server_gets_every_ledger_setting_but_keys_and_tls() -> None:
    caller = {
        "PATH": "/usr/bin",
        "DATABASE_URL": "postgresql+psycopg2://someone@elsewhere/db",
        "LEDGER_DB_POOL_SIZE": "24",
        "LEDGER_METRICS_LISTEN": "127.0.0.1:9464",
        "LEDGER_DB_ROLE": "ledger_app",
        "LEDGER_API_KEYS": "ops:admin:k",
        "LEDGER_TLS_CERT": "/etc/ledger/cert.pem",
    }
    env, dropped = servers.server_environment(caller, "postgresql+psycopg2://bench@/ledger_bench")
    assert env == {
        "PATH": "/usr/bin",
        "DATABASE_URL": "postgresql+psycopg2://bench@/ledger_bench",
        "LEDGER_DB_POOL_SIZE": "24",
        "LEDGER_METRICS_LISTEN": "127.0.0.1:9464",
        "LEDGER_DB_ROLE": "ledger_app",
    }
    assert dropped == ["LEDGER_API_KEYS", "LEDGER_TLS_CERT"]
