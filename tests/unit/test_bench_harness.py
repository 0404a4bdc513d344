"""The benchmark harness: one entry point for all, the caller's settings for the server."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # the benchmark's modules import each other by name

import run_all  # noqa: E402
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


def fake_benchmark(name: str, status: int, calls: list[tuple[str, list[str]]]) -> ModuleType:
    module = ModuleType(name)

    def main(argv: list[str]) -> int:
        calls.append((name, argv))
        print(f"{name} ratio 0.5")
        return status

    module.main = main  # type: ignore[attr-defined]
    return module


def test_run_all_runs_every_benchmark_with_the_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setitem(sys.modules, "bench_a", fake_benchmark("bench_a", 0, calls))
    monkeypatch.setitem(sys.modules, "bench_b", fake_benchmark("bench_b", 1, calls))
    options = ["--quick", "--workers", "1"]
    status = run_all.main(options, benchmarks=["bench_a", "bench_b"])
    assert calls == [("bench_a", options), ("bench_b", options)]
    assert status == 1  # the worst of them
    printed = capsys.readouterr().out
    assert "bench_a ratio 0.5" in printed and "bench_b ratio 0.5" in printed
    assert "failed: bench_b" in printed

    calls.clear()
    assert run_all.main(["--only", "bench_a"], benchmarks=["bench_a", "bench_b"]) == 0
    assert calls == [("bench_a", [])]


def test_run_all_lists_every_benchmark_in_bench() -> None:
    """A module in bench/ with a main() is a benchmark; `make bench` must not skip it."""
    with_main = {
        path.stem
        for path in BENCH.glob("*.py")
        if path.stem != "run_all" and "\ndef main(" in path.read_text()
    }
    assert with_main == set(run_all.BENCHMARKS)
