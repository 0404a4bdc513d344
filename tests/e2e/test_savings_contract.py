"""SavingsService promises of the proto comments that the main flows do not reach."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest

from ledger.v1 import savings_service_pb2 as pb
from ledger.v1.savings_service_pb2_grpc import SavingsServiceStub
from ledger_client import AlreadyExists, Client, InvalidArgument
from ledger_client.savings_types import EventKind, InstanceEvent
from tests.conftest import ADMIN_KEY
from tests.support.server import ServerThread

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)
METADATA = (("authorization", f"Bearer {ADMIN_KEY}"),)


def instance(client: Client, rate: int = 100, schedule_id: str = "") -> str:
    instance_id = f"db-{uuid.uuid4().hex[:10]}"
    client.savings.record_instance(
        instance_id, provider="aws", hourly_cost_cents=rate, schedule_id=schedule_id,
        effective_time=T0 - timedelta(days=30),
    )  # fmt: skip
    return instance_id


def night(instance_id: str, hours: int, at: datetime = T0) -> list[InstanceEvent]:
    return [
        InstanceEvent(f"{instance_id}-{at:%j}-s", instance_id, EventKind.STOPPED, at),
        InstanceEvent(
            f"{instance_id}-{at:%j}-r", instance_id, EventKind.STARTED, at + timedelta(hours=hours)
        ),
    ]


def test_record_instance_same_request_id_with_another_body_is_already_exists(
    client: Client,
) -> None:
    request_id = f"req-{uuid.uuid4()}"
    instance_id = instance(client)
    client.savings.record_instance(
        instance_id, provider="aws", hourly_cost_cents=5, request_id=request_id
    )
    with pytest.raises(AlreadyExists) as refused:
        client.savings.record_instance(
            instance_id, provider="aws", hourly_cost_cents=6, request_id=request_id
        )
    assert refused.value.reason == "REQUEST_ID_REUSED"


def test_record_instance_events_retry_returns_the_first_answer(client: Client) -> None:
    instance_id = instance(client)
    request_id = f"req-{uuid.uuid4()}"
    first = client.savings.record_events(night(instance_id, 2), request_id=request_id)
    again = client.savings.record_events(night(instance_id, 2), request_id=request_id)
    assert (again.recorded_count, again.duplicate_count) == (first.recorded_count, 0) == (2, 0)


def test_stream_instance_events_keeps_the_batches_before_a_bad_one(
    server: ServerThread, client: Client
) -> None:
    instance_id = instance(client)
    good = pb.StreamInstanceEventsRequest(
        events=[
            pb.InstanceEvent(
                event_id=f"{instance_id}-a", instance_id=instance_id,
                kind=pb.INSTANCE_EVENT_KIND_STOPPED,
            )
        ]
    )  # fmt: skip
    good.events[0].occur_time.FromDatetime(T0)
    bad = pb.StreamInstanceEventsRequest(events=[pb.InstanceEvent(event_id="no instance")])
    with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as refused:
        SavingsServiceStub(channel).StreamInstanceEvents(iter([good, bad]), metadata=METADATA)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    again = client.savings.record_events(
        [InstanceEvent(f"{instance_id}-a", instance_id, EventKind.STOPPED, T0)]
    )
    assert again.duplicate_count == 1  # the first batch stayed written


def test_export_savings_resumes_after_the_last_chunk_received(server: ServerThread) -> None:
    request = pb.ExportSavingsRequest(
        range=pb.SavingsRange(start_date="2024-06-01", end_date="2026-03-02")
    )
    with grpc.insecure_channel(server.target) as channel:
        stub = SavingsServiceStub(channel)
        whole = list(stub.ExportSavings(request, metadata=METADATA))
        assert len(whole) == 2  # 640 days: two chunks of up to 500 rows with the header
        request.resume_token = whole[0].resume_token
        rest = list(stub.ExportSavings(request, metadata=METADATA))
    assert [m.csv_chunk for m in rest] == [m.csv_chunk for m in whole[1:]]
    assert not rest[0].csv_chunk.startswith(b"date,")
    other = pb.ExportSavingsRequest(
        range=pb.SavingsRange(start_date="2024-06-02", end_date="2026-03-02"),
        resume_token=whole[0].resume_token,
    )
    with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as refused:
        list(SavingsServiceStub(channel).ExportSavings(other, metadata=METADATA))
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_list_instance_savings_orders_and_pages(client: Client) -> None:
    schedule = f"order-{uuid.uuid4().hex[:8]}"
    ids = [instance(client, rate, schedule) for rate in (300, 100, 200)]
    for instance_id in ids:
        client.savings.record_events(night(instance_id, 1))
    listed = {
        order: [
            r.instance_id
            for r in client.savings.list_instances(
                schedule_id=schedule, start_date=DAY, end_date=DAY, order_by=order, page_size=1
            )
        ]
        for order in ("", "savings_cents asc", "instance_id asc")
    }
    assert listed[""] == [ids[0], ids[2], ids[1]]
    assert listed["savings_cents asc"] == [ids[1], ids[2], ids[0]]
    assert listed["instance_id asc"] == sorted(ids)
    with pytest.raises(InvalidArgument) as refused:
        list(client.savings.list_instances(order_by="name"))
    assert refused.value.field_violations[0].field == "order_by"


def test_get_savings_summary_top_savers_count(client: Client) -> None:
    schedule = f"top-{uuid.uuid4().hex[:8]}"
    for rate in range(1, 8):
        client.savings.record_events(night(instance(client, rate, schedule), 1))
    summary = client.savings.get_summary(schedule_id=schedule, start_date=DAY, end_date=DAY)
    assert [s.savings_cents for s in summary.top_savers] == [7, 6, 5, 4, 3]
    three = client.savings.get_summary(
        schedule_id=schedule, start_date=DAY, end_date=DAY, top_savers_count=3
    )
    assert len(three.top_savers) == 3
    with pytest.raises(InvalidArgument):
        client.savings.get_summary(top_savers_count=-1)


def test_get_instance_savings_corrections_name_their_cause(client: Client) -> None:
    instance_id = instance(client)
    client.savings.record_events(night(instance_id, 4))
    late = InstanceEvent(
        f"{instance_id}-late", instance_id, EventKind.OBSERVED_RUNNING, T0 + timedelta(hours=1)
    )
    client.savings.record_events([late])
    report = client.savings.get_instance(instance_id, start_date=DAY, end_date=DAY)
    assert {c.cause for c in report.corrections} == {f"event:{late.event_id}"}
    reversal, replacement = report.corrections
    assert reversal.savings_cents == -400 and replacement.savings_cents == 100
    assert reversal.stopped_micros == -4 * 3_600_000_000


def test_record_instance_retry_of_the_longest_unicode_id_answers(client: Client) -> None:
    instance_id = "é" * 128  # the longest id, 768 characters as JSON with ASCII escapes
    request_id = f"r-{uuid.uuid4()}"
    first = client.savings.record_instance(
        instance_id, provider="aws", hourly_cost_cents=1, request_id=request_id
    )
    again = client.savings.record_instance(
        instance_id, provider="aws", hourly_cost_cents=1, request_id=request_id
    )
    assert again == first
