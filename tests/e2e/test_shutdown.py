"""A write the server answers while stopping is answered with what became of it.

grpc waits out the grace period for running calls, then cancels them. A write still
inside PostgreSQL at that moment used to be answered UNAVAILABLE and commit anyway a
moment later; a caller without a request id would then store it twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from tests.conftest import WRITER_KEY, server_settings
from tests.support.database import connect
from tests.support.locks import table_locked, waiting_backends
from tests.support.server import ServerThread

GRACE = 1.0


def stored_jobs(database_url: str, user: str) -> int:
    with connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger.jobs WHERE user_id = %s", (user,))
        row = cursor.fetchone()
        return int(row[0]) if row else 0


def store(target: str, user: str) -> grpc.StatusCode:
    request = rs.StoreEstimateRequest(
        user_id=user,
        estimate=estimate_pb2.Estimate(
            by_resource=[
                estimate_pb2.ResourceCost(
                    address="aws_instance.web", monthly_cost=money_pb2.Money(units=5)
                )
            ]
        ),
    )
    with grpc.insecure_channel(target) as channel:
        try:
            rs_grpc.ResultsStoreServiceStub(channel).StoreEstimate(
                request, metadata=(("authorization", f"Bearer {WRITER_KEY}"),), timeout=60
            )
        except grpc.RpcError as error:
            code: grpc.StatusCode = error.code()
            return code
    return grpc.StatusCode.OK


@pytest.mark.parametrize(
    ("unlock_after", "expected"),
    [
        (GRACE / 4, grpc.StatusCode.OK),  # the write ends within the grace period
        (GRACE + 1.0, grpc.StatusCode.UNAVAILABLE),  # it is still waiting when grace ends
    ],
    ids=["within the grace period", "after the grace period"],
)
def test_store_estimate_answered_while_stopping_says_whether_it_was_stored(
    database_url: str, unlock_after: float, expected: grpc.StatusCode
) -> None:
    thread = ServerThread(server_settings(), database_url).start()
    user = f"shutdown-{uuid.uuid4()}"
    with ThreadPoolExecutor(1) as caller, table_locked(database_url, "ledger.jobs") as locker:
        answer = caller.submit(store, thread.target, user)
        waiting_backends(database_url, locker)  # the INSERT waits for the test's lock
        started = time.monotonic()
        unlock = threading.Timer(unlock_after, locker.rollback)
        unlock.start()
        thread.stop(grace=GRACE)
        stopped_after = time.monotonic() - started
        code = answer.result(30)
        unlock.join()
    time.sleep(0.5)  # a write the server left running would have committed by now
    stored = stored_jobs(database_url, user)
    assert (code, stored) in ((grpc.StatusCode.OK, 1), (expected, 0))
    assert code == expected
    assert stopped_after < GRACE + 5
