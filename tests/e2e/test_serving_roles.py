"""`ledger serve` as an operator sets it up: which database roles it serves as, or refuses."""

from __future__ import annotations

import grpc
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_server.cli import main
from ledger_server.storage.migrate import alembic_config
from tests.support.database import connect, fresh_database
from tests.support.process import ServeProcess
from tests.support.roles import login_role


def refusal(serve: ServeProcess) -> str:
    """The one line `ledger serve` exited 2 with."""
    assert serve.process.wait(30) == 2
    serve.stop()
    lines = [line for line in serve.lines if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("role", ["", "  "])
def test_serve_refuses_an_empty_db_role(database_url: str, role: str) -> None:
    serve = ServeProcess(
        "--listen", "127.0.0.1:0", database_url=database_url, env={"LEDGER_DB_ROLE": role}
    )
    assert "LEDGER_DB_ROLE is empty" in refusal(serve)


def test_serve_refuses_to_serve_as_the_owner_without_set_role(database_url: str) -> None:
    serve = ServeProcess(
        "--listen", "127.0.0.1:0", database_url=database_url, env={"LEDGER_DB_ROLE": "none"}
    )
    assert "refusing to serve as database role" in refusal(serve)


def test_serve_migrates_as_the_owner_and_serves_as_a_restricted_login() -> None:
    with fresh_database(migrated=False) as owner_url:
        # ledger_app is cluster-wide: earlier sessions made it, so the login can join it
        # before this database is migrated, as the README's setup does.
        with login_role(owner_url) as server_url:
            serve = ServeProcess(
                "--listen",
                "127.0.0.1:0",
                "--migrate",
                database_url=server_url,
                env={"LEDGER_MIGRATE_DATABASE_URL": owner_url, "LEDGER_DB_ROLE": "none"},
            )
            try:
                with grpc.insecure_channel(f"127.0.0.1:{serve.port}") as channel:
                    stored = rs_grpc.ResultsStoreServiceStub(channel).StoreEstimate(
                        rs.StoreEstimateRequest(
                            user_id="restricted-login",
                            estimate=estimate_pb2.Estimate(
                                by_resource=[
                                    estimate_pb2.ResourceCost(
                                        address="aws_instance.web",
                                        monthly_cost=money_pb2.Money(units=9),
                                    )
                                ]
                            ),
                        ),
                        timeout=30,
                    )
                assert stored.job.total_monthly_cost.units == 9
            finally:
                serve.stop()
        with connect(owner_url) as owner, owner.cursor() as cursor:
            cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'jobs'")
            # Created by the migration, as the owner.
            assert cursor.fetchone() == (make_url(owner_url).username,)
            cursor.execute("SELECT count(*) FROM ledger.jobs")
            assert cursor.fetchone() == (1,)


def test_migrate_uses_the_owner_url_not_the_serving_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with fresh_database(migrated=False) as owner_url:
        monkeypatch.setenv("LEDGER_MIGRATE_DATABASE_URL", owner_url)
        monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/nowhere")
        assert main(["migrate"]) == 0
        with connect(owner_url) as owner, owner.cursor() as cursor:
            cursor.execute("SELECT version_num FROM alembic_version")
            head = ScriptDirectory.from_config(alembic_config(owner_url)).get_current_head()
            assert cursor.fetchone() == (head,)
