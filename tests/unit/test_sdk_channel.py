"""What every SDK channel does: retry UNAVAILABLE on each ledger.v1 service, carry the
server's message limit both ways, and keep the flat calls of old working."""

from __future__ import annotations

import asyncio
import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from ledger.v1 import estimate_pb2
from ledger.v1 import results_store_service_pb2 as pb
from ledger_client import AsyncClient, Client, ResourceExhausted, Unavailable, channel_options
from ledger_client.service_config import retry_service_config, services_in
from ledger_wire.limits import MAX_MESSAGE_BYTES
from tests.unit.grpc_servers import serving, serving_aio

PROTOS = Path(__file__).resolve().parents[2] / "protos" / "ledger" / "v1"
RESULTS = "ledger.v1.ResultsStoreService"
JOB_ID = "3f1c2a9e-6a55-4c8e-9a8b-0d1e2f3a4b5c"


def retried_services(options: tuple[tuple[str, object], ...]) -> list[str]:
    config = json.loads(str(dict(options)["grpc.service_config"]))
    (method_config,) = config["methodConfig"]
    assert method_config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    return [name["service"] for name in method_config["name"]]


def test_retry_policy_names_exactly_the_services_the_protos_declare() -> None:
    declared = []
    for proto in PROTOS.glob("*.proto"):
        text = proto.read_text()
        package = re.search(r"^package ([\w.]+);", text, flags=re.M)
        assert package is not None, proto
        services = re.findall(r"^service (\w+) \{", text, flags=re.M)
        declared += [f"{package.group(1)}.{service}" for service in services]

    assert RESULTS in declared
    assert sorted(retried_services(channel_options())) == sorted(declared)


def probe_module(file_name: str, services: list[str]) -> str:
    """A module shaped like a generated *_pb2.py: a DESCRIPTOR with these services."""
    return textwrap.dedent(
        f"""
        from google.protobuf import descriptor_pb2, descriptor_pool

        _file = descriptor_pb2.FileDescriptorProto(
            name={file_name!r},
            package="probe.v1",
            service=[descriptor_pb2.ServiceDescriptorProto(name=n) for n in {services!r}],
        )
        _pool = descriptor_pool.DescriptorPool()
        DESCRIPTOR = _pool.AddSerializedFile(_file.SerializeToString())
        """
    )


def test_a_service_added_to_the_package_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "probe_v1"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "money_pb2.py").write_text(probe_module("probe/money.proto", []))
    (package / "results_service_pb2.py").write_text(
        probe_module("probe/results.proto", ["ResultsService"])
    )
    (package / "results_service_pb2_grpc.py").write_text("raise AssertionError('stubs only')")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert services_in("probe_v1") == ("probe.v1.ResultsService",)

    # A new service arrives the way `make gen` delivers it: one more *_pb2.py.
    (package / "savings_service_pb2.py").write_text(
        probe_module("probe/savings.proto", ["SavingsService", "SavingsAdminService"])
    )
    services = services_in("probe_v1")

    assert services == (
        "probe.v1.ResultsService",
        "probe.v1.SavingsAdminService",
        "probe.v1.SavingsService",
    )
    config = retry_service_config(services)
    assert retried_services((("grpc.service_config", config),)) == list(services)


def test_channel_options_carry_the_servers_message_limit() -> None:
    options = dict(channel_options())
    assert options["grpc.max_receive_message_length"] == MAX_MESSAGE_BYTES
    assert options["grpc.max_send_message_length"] == MAX_MESSAGE_BYTES
    # A caller's option replaces Ledger's of the same name rather than adding a second.
    mine = channel_options([("grpc.max_receive_message_length", 1024)])
    assert [value for name, value in mine if name == "grpc.max_receive_message_length"] == [1024]


class GetJob:
    """GetJob that fails `failures` times with UNAVAILABLE, then returns a job whose
    `labels` carry `payload_bytes` bytes."""

    def __init__(self, failures: int = 0, payload_bytes: int = 0) -> None:
        self.failures = failures
        self.payload_bytes = payload_bytes
        self.attempts = 0

    def reply(self, request: pb.GetJobRequest) -> pb.GetJobResponse | None:
        self.attempts += 1
        if self.attempts <= self.failures:
            return None
        labels = {"payload": "x" * self.payload_bytes} if self.payload_bytes else {}
        return pb.GetJobResponse(job=estimate_pb2.Job(job_id=request.job_id, labels=labels))

    def sync(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.GetJobResponse:
        response = self.reply(request)
        if response is None:
            context.abort(grpc.StatusCode.UNAVAILABLE, "draining")
        return response

    async def aio(
        self, request: pb.GetJobRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> pb.GetJobResponse:
        response = self.reply(request)
        if response is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "draining")
        return response

    def handlers(
        self, handler: Callable[..., Any]
    ) -> dict[str, dict[str, grpc.RpcMethodHandler[Any, Any]]]:
        method = grpc.unary_unary_rpc_method_handler(
            handler,
            request_deserializer=pb.GetJobRequest.FromString,
            response_serializer=pb.GetJobResponse.SerializeToString,
        )
        return {RESULTS: {"GetJob": method}}


def test_client_retries_unavailable_until_the_server_answers() -> None:
    get_job = GetJob(failures=2)
    with serving(get_job.handlers(get_job.sync)) as target, Client(target=target) as ledger:
        job = ledger.results.get_job(JOB_ID)
    assert job.job_id == JOB_ID
    assert get_job.attempts == 3


def test_client_gives_up_with_unavailable_after_bounded_retries() -> None:
    get_job = GetJob(failures=100)
    with (
        serving(get_job.handlers(get_job.sync)) as target,
        Client(target=target) as ledger,
        pytest.raises(Unavailable) as failed,
    ):
        ledger.results.get_job(JOB_ID)
    assert failed.value.message == "draining"
    assert get_job.attempts == 4  # the policy's maxAttempts


def test_async_client_retries_unavailable_until_the_server_answers() -> None:
    get_job = GetJob(failures=2)

    async def call() -> str:
        async with (
            serving_aio(get_job.handlers(get_job.aio)) as target,
            AsyncClient(target=target) as ledger,
        ):
            return (await ledger.results.get_job(JOB_ID)).job_id

    assert asyncio.run(call()) == JOB_ID
    assert get_job.attempts == 3


def test_client_accepts_replies_up_to_the_server_limit() -> None:
    # Above gRPC's default 4 MiB receive limit, within Ledger's.
    get_job = GetJob(payload_bytes=6 * 1024 * 1024)
    with serving(get_job.handlers(get_job.sync)) as target, Client(target=target) as ledger:
        job = ledger.results.get_job(JOB_ID)
    assert len(job.labels["payload"]) == 6 * 1024 * 1024


def test_client_refuses_to_send_what_the_server_would_refuse() -> None:
    get_job = GetJob()
    # This server would read it: only the SDK's own limit can stop the request.
    lenient = [("grpc.max_receive_message_length", 2 * MAX_MESSAGE_BYTES)]
    with (
        serving(get_job.handlers(get_job.sync), options=lenient) as target,
        Client(target=target) as ledger,
        pytest.raises(ResourceExhausted),
    ):
        ledger.results.get_job("x" * (MAX_MESSAGE_BYTES + 1))
    assert get_job.attempts == 0


def test_async_client_accepts_replies_up_to_the_server_limit() -> None:
    get_job = GetJob(payload_bytes=6 * 1024 * 1024)

    async def call() -> int:
        async with (
            serving_aio(get_job.handlers(get_job.aio)) as target,
            AsyncClient(target=target) as ledger,
        ):
            return len((await ledger.results.get_job(JOB_ID)).labels["payload"])

    assert asyncio.run(call()) == 6 * 1024 * 1024


def test_flat_calls_of_old_still_work_and_point_to_results() -> None:
    get_job = GetJob()
    with serving(get_job.handlers(get_job.sync)) as target, Client(target=target) as ledger:
        with pytest.warns(DeprecationWarning, match=r"call Client\.results\.get_job"):
            job = ledger.get_job(JOB_ID)
        assert job == ledger.results.get_job(JOB_ID)

    async def call() -> str:
        async with (
            serving_aio(get_job.handlers(get_job.aio)) as target,
            AsyncClient(target=target) as ledger,
        ):
            with pytest.warns(DeprecationWarning, match=r"call AsyncClient\.results\.get_job"):
                return (await ledger.get_job(JOB_ID)).job_id

    assert asyncio.run(call()) == JOB_ID


def test_client_runs_over_a_channel_of_the_callers_and_leaves_it_open() -> None:
    get_job = GetJob()
    with serving(get_job.handlers(get_job.sync)) as target:
        channel = grpc.insecure_channel(target, options=channel_options())
        with Client(channel=channel, api_key="k") as ledger:
            assert ledger.results.get_job(JOB_ID).job_id == JOB_ID
        with Client(channel=channel) as again:  # the first client did not close it
            assert again.results.get_job(JOB_ID).job_id == JOB_ID
        channel.close()
        with pytest.raises(ValueError, match="channel="):
            Client(channel=channel, secure=True)
        with pytest.raises(ValueError, match="channel="):
            Client(channel=channel, target="elsewhere:50051")
