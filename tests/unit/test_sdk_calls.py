"""What each SDK call sends and how its failures surface, against grpc_testing: no server.

The test plays the server: it takes each RPC the client makes from the grpc_testing
channel and answers it. grpc_testing keeps no deadline, so `DeadlineRecorder` notes
the timeout each call was given on its way to that channel.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from decimal import Decimal
from typing import Any, TypeVar, cast

import grpc
import grpc_testing
import pytest
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ledger.v1 import estimate_pb2
from ledger.v1 import results_store_service_pb2 as pb
from ledger_client import (
    NO_DEADLINE,
    Aborted,
    Client,
    DataLoss,
    Estimate,
    FieldViolation,
    InvalidArgument,
    LedgerError,
    NotFound,
    OutOfRange,
    ResourceCost,
    ResourceExhausted,
    Unavailable,
)

SERVICE = pb.DESCRIPTOR.services_by_name["ResultsStoreService"]
JOB_ID = "3f1c2a9e-6a55-4c8e-9a8b-0d1e2f3a4b5c"
T = TypeVar("T")


class DeadlineRecorder:
    """A channel that hands every call to `inner`, noting each call's timeout."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.timeouts: list[float | None] = []

    def _recording(self, kind: str) -> Callable[..., Any]:
        def multicallable(method: str, *args: Any, **kwargs: Any) -> Any:
            inner = getattr(self._inner, kind)(method, *args, **kwargs)

            def call(request: Any, timeout: float | None = None, **options: Any) -> Any:
                self.timeouts.append(timeout)
                return inner(request, timeout=timeout, metadata=options.get("metadata"))

            return call

        return multicallable

    def __getattr__(self, name: str) -> Any:
        if name in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
            return self._recording(name)
        return getattr(self._inner, name)


class Fixture:
    """A client on a grpc_testing channel; its blocking calls run on their own threads."""

    def __init__(self, **client_options: Any) -> None:
        self.channel = grpc_testing.channel([SERVICE], grpc_testing.strict_real_time())
        self.recorder = DeadlineRecorder(self.channel)
        self.client = Client(channel=cast(grpc.Channel, self.recorder), **client_options)

    def start(self, call: Callable[[], T]) -> Future[T]:
        # A daemon thread: a test that fails before answering must not hang the run.
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(call())
            except BaseException as err:
                future.set_exception(err)

        threading.Thread(target=run, daemon=True).start()
        return future

    def take(self, method: str) -> tuple[dict[str, str], Any, Any]:
        """The next call of `method`: its metadata, its request, and the RPC to answer."""
        metadata, request, rpc = self.channel.take_unary_unary(SERVICE.methods_by_name[method])
        return dict(metadata), request, rpc


def packed(message: Message) -> any_pb2.Any:
    result = any_pb2.Any()
    result.Pack(message)
    return result


def fail(rpc: Any, code: int, message: str, *details: Message) -> None:
    """Ends `rpc` the way Ledger's server does: a google.rpc.Status with details."""
    status = status_pb2.Status(code=code, message=message, details=[packed(d) for d in details])
    grpc_status = rpc_status.to_status(status)
    rpc.terminate(None, grpc_status.trailing_metadata, grpc_status.code, grpc_status.details)


def job_reply(job_id: str = JOB_ID) -> pb.GetJobResponse:
    return pb.GetJobResponse(job=estimate_pb2.Job(job_id=job_id))


def test_get_job_sends_the_api_key_and_the_callers_metadata() -> None:
    ledger = Fixture(api_key="reader-key")
    future = ledger.start(
        lambda: ledger.client.results.get_job(JOB_ID, metadata=[("x-request-source", "cron")])
    )
    metadata, request, rpc = ledger.take("GetJob")
    rpc.terminate(job_reply(), (), grpc.StatusCode.OK, "")

    assert future.result(5).job_id == JOB_ID
    assert request == pb.GetJobRequest(job_id=JOB_ID)
    assert metadata["authorization"] == "Bearer reader-key"
    assert metadata["x-request-source"] == "cron"


def test_get_job_without_api_key_sends_no_authorization() -> None:
    ledger = Fixture()
    future = ledger.start(lambda: ledger.client.results.get_job(JOB_ID))
    metadata, _, rpc = ledger.take("GetJob")
    rpc.terminate(job_reply(), (), grpc.StatusCode.OK, "")

    future.result(5)
    assert "authorization" not in metadata


def test_calls_have_the_clients_deadline_unless_they_give_their_own() -> None:
    ledger = Fixture(timeout=7)
    for call in (
        lambda: ledger.client.results.get_job(JOB_ID),
        lambda: ledger.client.results.get_job(JOB_ID, timeout=2.5),
    ):
        future = ledger.start(call)
        _, _, rpc = ledger.take("GetJob")
        rpc.terminate(job_reply(), (), grpc.StatusCode.OK, "")
        future.result(5)

    assert ledger.recorder.timeouts == [7, 2.5]


def test_a_call_may_ask_for_no_deadline_the_client_may_not() -> None:
    ledger = Fixture(timeout=7)
    future = ledger.start(lambda: ledger.client.results.get_job(JOB_ID, timeout=NO_DEADLINE))
    _, _, rpc = ledger.take("GetJob")
    rpc.terminate(job_reply(), (), grpc.StatusCode.OK, "")
    future.result(5)

    assert ledger.recorder.timeouts == [None]
    with pytest.raises(ValueError, match="timeout"):
        Client(timeout=NO_DEADLINE)
    for nonsense in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="timeout"):
            ledger.client.results.get_job(JOB_ID, timeout=nonsense)
    assert ledger.recorder.timeouts == [None]  # refused before reaching the channel


def test_store_estimate_fills_a_request_id_unless_given_one() -> None:
    ledger = Fixture()
    body = Estimate(resources=[ResourceCost("aws_instance.web", Decimal("1.5"))])
    request_ids = []
    for given in (None, "plan-42-run-1"):
        future = ledger.start(
            functools.partial(ledger.client.results.store_estimate, body, request_id=given)
        )
        _, request, rpc = ledger.take("StoreEstimate")
        rpc.terminate(pb.StoreEstimateResponse(), (), grpc.StatusCode.OK, "")
        future.result(5)
        request_ids.append(request.request_id)
        assert request.estimate.by_resource[0].monthly_cost.nanos == 500_000_000

    generated, given_id = request_ids
    assert len(generated) == 36 and generated.count("-") == 4  # a UUID
    assert given_id == "plan-42-run-1"


def test_list_jobs_pages_with_metadata_and_deadline_on_every_page() -> None:
    ledger = Fixture(api_key="k", timeout=3)
    future = ledger.start(
        lambda: [j.job_id for j in ledger.client.results.list_jobs(user_id="alice", page_size=1)]
    )
    pages = {"": ("job-1", "token-2"), "token-2": ("job-2", "")}
    seen = []
    for _ in pages:
        metadata, request, rpc = ledger.take("ListJobs")
        job_id, next_token = pages.get(request.page_token, ("unexpected", ""))
        reply = pb.ListJobsResponse(
            jobs=[estimate_pb2.Job(job_id=job_id)], next_page_token=next_token
        )
        rpc.terminate(reply, (), grpc.StatusCode.OK, "")
        seen.append((request.user_id, request.page_size, metadata.get("authorization")))

    assert future.result(5) == ["job-1", "job-2"]
    assert seen == [("alice", 1, "Bearer k")] * 2
    assert ledger.recorder.timeouts == [3, 3]


def test_invalid_argument_carries_reason_and_every_field_violation() -> None:
    ledger = Fixture()
    future = ledger.start(lambda: ledger.client.results.get_job("not-a-uuid"))
    _, _, rpc = ledger.take("GetJob")
    fail(
        rpc,
        code_pb2.INVALID_ARGUMENT,
        "invalid request: job_id: must be a UUID",
        error_details_pb2.ErrorInfo(reason="INVALID_ARGUMENT", domain="ledger.v1"),
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="job_id", description="must be a UUID"
                ),
                error_details_pb2.BadRequest.FieldViolation(
                    field="page_size", description="must not be negative"
                ),
            ]
        ),
    )

    with pytest.raises(InvalidArgument) as raised:
        future.result(5)
    assert raised.value.reason == "INVALID_ARGUMENT"
    assert raised.value.message == "invalid request: job_id: must be a UUID"
    assert raised.value.field_violations == [
        FieldViolation("job_id", "must be a UUID"),
        FieldViolation("page_size", "must not be negative"),
    ]


@pytest.mark.parametrize(
    ("code", "reason", "error_class"),
    [
        (code_pb2.NOT_FOUND, "JOB_NOT_FOUND", NotFound),
        (code_pb2.ABORTED, "CONCURRENT_WRITE", Aborted),
        (code_pb2.RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED", ResourceExhausted),
        (code_pb2.OUT_OF_RANGE, "CURSOR_PAST_END", OutOfRange),
        (code_pb2.DATA_LOSS, "BLOB_MISSING", DataLoss),
        (code_pb2.UNAVAILABLE, "SERVER_SHUTTING_DOWN", Unavailable),
    ],
)
def test_status_codes_become_typed_errors_with_the_servers_reason(
    code: int, reason: str, error_class: type[LedgerError]
) -> None:
    ledger = Fixture()
    future = ledger.start(lambda: ledger.client.results.get_job(JOB_ID))
    _, _, rpc = ledger.take("GetJob")
    fail(
        rpc,
        code,
        "it failed",
        error_details_pb2.ErrorInfo(reason=reason, domain="ledger.v1", metadata={"id": JOB_ID}),
    )

    with pytest.raises(error_class) as raised:
        future.result(5)
    assert type(raised.value) is error_class
    assert (raised.value.reason, raised.value.metadata) == (reason, {"id": JOB_ID})
