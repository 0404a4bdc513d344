"""Settings as an operator gives them to `ledger`: database URL forms, listen addresses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from alembic.script import ScriptDirectory
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ledger_server.cli import build_parser, settings_from_args
from ledger_server.storage.migrate import alembic_config
from tests.support.database import connect, fresh_database
from tests.support.process import ServeProcess, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def ledger(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_server", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_migrate_takes_the_postgres_url_that_tools_print() -> None:
    with fresh_database(migrated=False) as url:
        printed = url.replace("postgresql+psycopg2://", "postgres://", 1)
        migrated = ledger("migrate", env={"DATABASE_URL": printed})
        assert migrated.returncode == 0, migrated.stderr
        assert "database migrated to head" in migrated.stdout
        with connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT version_num FROM alembic_version")
            head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
            assert cursor.fetchone() == (head,)


def test_serve_and_migrate_refuse_another_driver_in_one_line() -> None:
    for refused in (
        ledger("migrate", "--database-url", "mysql://app:secret@db/ledger"),
        ledger("serve", env={"DATABASE_URL": "postgresql+asyncpg://app:secret@db/ledger"}),
    ):
        assert refused.returncode == 2
        lines = refused.stderr.splitlines()
        assert len(lines) == 1, refused.stderr
        assert lines[0].startswith("ledger: unsupported database URL scheme")
        assert "secret" not in refused.stderr


def make_run(*args: str, database_url: str, env: dict[str, str]) -> ServeProcess:
    """`make run` as a developer types it, with this test's interpreter as the virtualenv."""
    command = ("make", "--no-print-directory", "-o", ".venv/.installed", "run")
    return ServeProcess(
        f"BIN={Path(sys.executable).parent}",
        *args,
        database_url=database_url,
        env=env,
        command=command,
        cwd=str(REPO_ROOT),
    )


def serving_on(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(), timeout=10)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def test_make_run_serves_on_ledger_listen(database_url: str) -> None:
    port = free_port()
    served = make_run(database_url=database_url, env={"LEDGER_LISTEN": f"127.0.0.1:{port}"})
    try:
        assert served.wait_for("serving", 1)[0]["listen"] == f"127.0.0.1:{port}"
        assert serving_on(port)
    finally:
        served.stop()


def test_make_run_listen_wins_over_ledger_listen(database_url: str) -> None:
    from_env, from_make = free_port(), free_port()
    served = make_run(
        f"LISTEN=127.0.0.1:{from_make}",
        database_url=database_url,
        env={"LEDGER_LISTEN": f"127.0.0.1:{from_env}"},
    )
    try:
        assert served.wait_for("serving", 1)[0]["listen"] == f"127.0.0.1:{from_make}"
        assert serving_on(from_make)
    finally:
        served.stop()


@pytest.mark.parametrize(
    ("flags", "env", "listen"),
    [
        ([], {}, "127.0.0.1:50051"),
        ([], {"LEDGER_LISTEN": "127.0.0.1:6001"}, "127.0.0.1:6001"),
        (["--listen", "127.0.0.1:6002"], {"LEDGER_LISTEN": "127.0.0.1:6001"}, "127.0.0.1:6002"),
    ],
)
def test_serve_settings_take_the_flag_then_the_environment_then_the_default(
    flags: list[str], env: dict[str, str], listen: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_LISTEN", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args(["serve", *flags])
    assert settings_from_args(args).listen == listen


def test_serve_says_in_one_line_when_the_metrics_port_is_taken(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = ledger(
            "serve", "--listen", "127.0.0.1:0", "--metrics-listen", f"127.0.0.1:{port}",
            env={"DATABASE_URL": database_url},
        )  # fmt: skip
    assert refused.returncode == 1
    assert f"ledger: could not serve metrics on 127.0.0.1:{port}: Address already in use" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
