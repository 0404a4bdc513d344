"""Hypothesis strategies for SavingsService requests: hostile values at every limit.

NUL characters and 100k-character strings in every text field, unknown enum values,
timestamps outside years 0001-9999 and outside the accepted 2000..now+1h, event lists
past the 1,000 limit, dates that do not parse or lie out of range, forged page and
resume tokens, negative and huge page sizes and rates. Valid values are mixed in so
some calls succeed and later reads find real instances.
"""

from __future__ import annotations

from hypothesis import strategies as st

from ledger.v1 import savings_service_pb2 as pb
from tests.support.fuzz_strategies import (
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    PAGE_SIZES,
    TIMESTAMPS,
    hostile_text,
    set_time,
)

# A few instances the fuzz records first, so events and reads find real ones.
FUZZ_INSTANCES = ("fuzz-db-1", "fuzz-db-2")
ENUM_VALUES = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, -1, INT32_MAX, INT32_MIN])
IDS = st.one_of(st.sampled_from([*FUZZ_INSTANCES, "ghost"]), hostile_text())
DATES = st.one_of(
    st.sampled_from(
        ["", "2026-03-02", "2026-02-30", "1999-12-31", "2101-01-01", "2026-3-2", "0000-00-00"]
    ),
    st.dates().map(lambda d: d.isoformat()),
    hostile_text(),
)
TOKENS = st.one_of(st.just(""), hostile_text(), st.sampled_from(["eyJxIjoiIiwiYyI6W119", "e30"]))


@st.composite
def savings_range(draw: st.DrawFn) -> pb.SavingsRange:
    return pb.SavingsRange(
        preset=draw(ENUM_VALUES),  # type: ignore[arg-type]
        start_date=draw(DATES),
        end_date=draw(DATES),
    )


@st.composite
def record_instance(draw: st.DrawFn) -> pb.RecordInstanceRequest:
    request = pb.RecordInstanceRequest(
        instance_id=draw(IDS),
        name=draw(hostile_text()),
        provider=draw(st.one_of(st.sampled_from(["aws", "gcp", "AWS", ""]), hostile_text())),
        engine=draw(st.one_of(st.sampled_from(["postgres", ""]), hostile_text())),
        region=draw(hostile_text()),
        instance_type=draw(hostile_text()),
        hourly_cost_cents=draw(
            st.sampled_from([0, 1, 100, 100_000_000, 100_000_001, -1, INT64_MAX, INT64_MIN])
        ),
        currency_code=draw(st.sampled_from(["", "USD", "EUR", "usd", "\x00"])),
        schedule_id=draw(hostile_text()),
        labels=draw(st.dictionaries(hostile_text(), hostile_text(), max_size=3)),
        request_id=draw(st.one_of(st.just(""), hostile_text())),
    )
    set_time(request, "effective_time", draw(TIMESTAMPS))
    return request


@st.composite
def instance_event(draw: st.DrawFn) -> pb.InstanceEvent:
    event = pb.InstanceEvent(
        event_id=draw(st.one_of(st.uuids().map(str), hostile_text())),
        instance_id=draw(IDS),
        kind=draw(ENUM_VALUES),  # type: ignore[arg-type]
        source=draw(hostile_text()),
        schedule_id=draw(hostile_text()),
    )
    set_time(event, "occur_time", draw(TIMESTAMPS))
    return event


@st.composite
def record_events(draw: st.DrawFn) -> pb.RecordInstanceEventsRequest:
    events = draw(st.lists(instance_event(), max_size=4))
    extra = draw(st.sampled_from([0, 0, 0, 1001]))  # past the limit, rarely
    if extra:
        events += [events[0] if events else pb.InstanceEvent()] * extra
    return pb.RecordInstanceEventsRequest(
        events=events, request_id=draw(st.one_of(st.just(""), hostile_text()))
    )


@st.composite
def summary(draw: st.DrawFn) -> pb.GetSavingsSummaryRequest:
    return pb.GetSavingsSummaryRequest(
        range=draw(savings_range()),
        schedule_id=draw(hostile_text()),
        instance_id=draw(IDS),
        top_savers_count=draw(PAGE_SIZES),
    )


@st.composite
def daily(draw: st.DrawFn) -> pb.ListDailySavingsRequest:
    return pb.ListDailySavingsRequest(
        range=draw(savings_range()),
        schedule_id=draw(hostile_text()),
        instance_id=draw(IDS),
        page_size=draw(PAGE_SIZES),
        page_token=draw(TOKENS),
    )


@st.composite
def instances(draw: st.DrawFn) -> pb.ListInstanceSavingsRequest:
    return pb.ListInstanceSavingsRequest(
        range=draw(savings_range()),
        schedule_id=draw(hostile_text()),
        order_by=draw(
            st.one_of(
                st.sampled_from(["", "savings_cents desc", "instance_id asc", "name"]),
                hostile_text(),
            )
        ),
        page_size=draw(PAGE_SIZES),
        page_token=draw(TOKENS),
    )


@st.composite
def instance(draw: st.DrawFn) -> pb.GetInstanceSavingsRequest:
    return pb.GetInstanceSavingsRequest(instance_id=draw(IDS), range=draw(savings_range()))


@st.composite
def schedules(draw: st.DrawFn) -> pb.ListScheduleSavingsRequest:
    return pb.ListScheduleSavingsRequest(
        range=draw(savings_range()), page_size=draw(PAGE_SIZES), page_token=draw(TOKENS)
    )


@st.composite
def export(draw: st.DrawFn) -> pb.ExportSavingsRequest:
    return pb.ExportSavingsRequest(
        range=draw(savings_range()),
        granularity=draw(ENUM_VALUES),  # type: ignore[arg-type]
        resume_token=draw(TOKENS),
    )
