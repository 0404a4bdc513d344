"""The role the server serves as can only read and append; anything more is refused.

Three ways to log in: the owner with SET ROLE ledger_app (works, but RESET ROLE is an
escape hatch, logged), a login role that is a member of ledger_app (the recommended
one: nothing to escape to), and the owner without SET ROLE (refused).
"""

from __future__ import annotations

import logging
import uuid

import psycopg2.errors
import pytest
from sqlalchemy import Engine, exc, text

from ledger_server.domain.money import WireMoney
from ledger_server.domain.results_store.estimates import (
    EstimateInput,
    ResourceInput,
    StoreEstimateCommand,
)
from ledger_server.domain.results_store.use_cases import ResultsStore
from ledger_server.storage.database import SqlTransactions, make_engine
from ledger_server.storage.roles import UnsafeRole
from tests.support.roles import login_role


def store_one(engine: Engine) -> uuid.UUID:
    command = StoreEstimateCommand(
        estimate=EstimateInput(
            currency_code="USD",
            total_monthly_cost=None,
            confidence_score=1.0,
            resources=(ResourceInput("aws_instance.web", WireMoney("", 2, 0)),),
        )
    )
    return ResultsStore(SqlTransactions(engine)).store_estimate(command, None).job_id


def may(engine: Engine, privilege: str, *, reset_role: bool = False) -> bool:
    """Whether a session of `engine` holds `privilege` on ledger.jobs (after RESET ROLE)."""
    with engine.connect() as connection:
        if reset_role:
            connection.execute(text("RESET ROLE"))
        allowed = connection.execute(
            text("SELECT has_table_privilege('ledger.jobs', :privilege)"),
            {"privilege": privilege},
        ).scalar_one()
        connection.rollback()
    return bool(allowed)


def test_a_login_role_in_ledger_app_serves_with_nothing_to_escape_to(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with login_role(database_url) as url:
        engine = make_engine(url, role="")  # LEDGER_DB_ROLE=none
        assert store_one(engine)
        assert (may(engine, "INSERT"), may(engine, "UPDATE")) == (True, False)
        assert not may(engine, "UPDATE", reset_role=True)  # RESET ROLE: itself again
        with engine.begin() as connection, pytest.raises(exc.ProgrammingError) as refused:
            connection.execute(text("DELETE FROM ledger.jobs"))
        assert isinstance(refused.value.orig, psycopg2.errors.InsufficientPrivilege)
        engine.dispose()
        # The same login with SET ROLE ledger_app (the default) serves too, unlogged.
        with caplog.at_level(logging.WARNING, logger="ledger.storage"):
            engine = make_engine(url)
            assert store_one(engine)
            engine.dispose()
        assert not [r for r in caplog.records if "RESET ROLE" in r.getMessage()]


def test_the_owner_without_set_role_is_refused(database_url: str) -> None:
    engine = make_engine(database_url, role="")
    with pytest.raises(UnsafeRole, match=r"refusing to serve as database role .*superuser"):
        store_one(engine)
    engine.dispose()


def test_a_member_of_ledger_app_granted_more_is_refused(database_url: str) -> None:
    with login_role(database_url, "GRANT UPDATE ON ledger.jobs TO {role}") as url:
        engine = make_engine(url, role="")
        with pytest.raises(UnsafeRole, match=r"may UPDATE, DELETE or TRUNCATE ledger\.jobs"):
            store_one(engine)
        engine.dispose()


def test_the_owner_with_set_role_serves_but_reset_role_escapes_and_is_logged(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The limit of SET ROLE: RESET ROLE returns to the owner. Logged, and documented."""
    with caplog.at_level(logging.WARNING, logger="ledger.storage"):
        engine = make_engine(database_url)
        assert store_one(engine)
    assert not may(engine, "UPDATE")
    assert may(engine, "UPDATE", reset_role=True)  # the escape the README warns of
    engine.dispose()
    warnings = [r for r in caplog.records if "RESET ROLE" in r.getMessage()]
    assert len(warnings) == 1  # once per engine, not per connection


def test_the_triggers_still_refuse_an_owner_that_escaped(database_url: str) -> None:
    engine = make_engine(database_url)
    job_id = store_one(engine)
    with engine.begin() as connection:
        connection.execute(text("RESET ROLE"))
        with pytest.raises(exc.ProgrammingError, match="INSERT-only") as refused:
            connection.execute(
                text("UPDATE ledger.jobs SET user_id = 'rewritten' WHERE job_id = :job"),
                {"job": job_id},
            )
        assert isinstance(refused.value.orig, psycopg2.errors.InsufficientPrivilege)
    engine.dispose()
