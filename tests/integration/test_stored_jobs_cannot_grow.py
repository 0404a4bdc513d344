"""A stored job cannot grow: its rows can only be added with the job, in one transaction.

The server's role may INSERT, so without migration 0004 it could add a resource to a job
stored long ago and the job's totals would no longer add up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg2
import psycopg2.errors
import pytest

from ledger_server.domain.money import WireMoney
from ledger_server.domain.results_store.estimates import (
    EstimateInput,
    ResourceInput,
    StoreEstimateCommand,
)
from ledger_server.domain.results_store.use_cases import ResultsStore
from ledger_server.storage.database import SqlTransactions, make_engine
from tests.support.database import connect

JOB = (
    "INSERT INTO ledger.jobs (job_id, user_id, terraform_plan_hash, profile, labels,"
    " currency_code, total_monthly_cost, total_hourly_cost, confidence_score, resource_count,"
    " schema_version, status) VALUES (%(job)s, 'grow', '', '', '{}', 'USD', 1, 0, 1, 1, 1,"
    " 'COMPLETED')"
)
CHILD_ROWS = {
    "job_resources": (
        "INSERT INTO ledger.job_resources (job_id, position, address, name, resource_type,"
        " service, region, monthly_cost, cost_drivers, assumptions) VALUES (%(job)s, 99,"
        " 'aws_instance.added_later', '', '', 'EC2', 'added-region', 1000, '{}', '{}')"
    ),
    "job_services": (
        "INSERT INTO ledger.job_services (job_id, service, monthly_cost, resource_count)"
        " VALUES (%(job)s, 'AddedLater', 1000, 1)"
    ),
    "job_regions": (
        "INSERT INTO ledger.job_regions (job_id, region, monthly_cost, resource_count)"
        " VALUES (%(job)s, 'added-region', 1000, 1)"
    ),
    "job_region_services": (
        "INSERT INTO ledger.job_region_services (job_id, region, service, monthly_cost,"
        " resource_count) VALUES (%(job)s, %(region)s, 'AddedLater', 1000, 1)"
    ),
}


@pytest.fixture
def stored_job(database_url: str) -> tuple[str, str]:
    """A job stored through the real use case, committed: its id and its region."""
    engine = make_engine(database_url)
    job = ResultsStore(SqlTransactions(engine)).store_estimate(
        StoreEstimateCommand(
            estimate=EstimateInput(
                currency_code="USD",
                total_monthly_cost=None,
                confidence_score=1.0,
                resources=(
                    ResourceInput(
                        "aws_instance.web", WireMoney("", 7, 0), service="EC2", region="eu-west-1"
                    ),
                ),
            )
        ),
        None,
    )
    engine.dispose()
    return str(job.job_id), "eu-west-1"


@pytest.fixture
def session(database_url: str) -> Iterator[psycopg2.extensions.connection]:
    connection = connect(database_url)
    yield connection
    connection.rollback()
    connection.close()


@pytest.mark.parametrize("table", CHILD_ROWS)
@pytest.mark.parametrize("role", ["ledger_app", "owner"])
def test_no_role_can_add_rows_to_a_stored_job(
    session: psycopg2.extensions.connection, stored_job: tuple[str, str], table: str, role: str
) -> None:
    job_id, region = stored_job
    with session.cursor() as cursor:
        if role == "ledger_app":
            cursor.execute("SET ROLE ledger_app")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="already stored"):
            cursor.execute(CHILD_ROWS[table], {"job": job_id, "region": region})


def test_the_transaction_storing_a_job_adds_its_rows_even_from_a_savepoint(
    session: psycopg2.extensions.connection,
) -> None:
    job_id = str(uuid.uuid4())
    values = {"job": job_id, "region": "added-region"}
    with session.cursor() as cursor:
        cursor.execute("SET ROLE ledger_app")
        cursor.execute("SAVEPOINT storing_the_job")
        cursor.execute(JOB, values)
        cursor.execute("RELEASE SAVEPOINT storing_the_job")
        for table in ("job_resources", "job_services", "job_regions"):
            cursor.execute(CHILD_ROWS[table], values)
        cursor.execute("SAVEPOINT later")
        cursor.execute(CHILD_ROWS["job_region_services"], values)
        cursor.execute("RELEASE SAVEPOINT later")
        cursor.execute("SELECT count(*) FROM ledger.job_services WHERE job_id = %s", (job_id,))
        assert cursor.fetchone() == (1,)
    session.commit()
    with session.cursor() as cursor, pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cursor.execute(CHILD_ROWS["job_services"].replace("AddedLater", "Later"), values)


def test_a_job_older_than_the_commit_log_remembers_counts_as_stored(
    session: psycopg2.extensions.connection,
) -> None:
    """Transaction 3 is long forgotten (pg_xact_status is NULL): stored, not ours."""
    with session.cursor() as cursor:
        cursor.execute("SET ROLE ledger_app")
        cursor.execute("SELECT pg_xact_status('3'::xid8), ledger.inserted_by_this_transaction('3')")
        assert cursor.fetchone() == (None, False)
