"""Property-based fuzzing of every ResultsStoreService RPC through a real gRPC channel.

Hypothesis throws hostile input at the session server: NUL characters in every string
field, 100k-character strings, lists far past the documented limits (up to 20k
resources, and requests over the 16 MiB message limit), NaN and infinities, money with
nanos out of range or with the wrong sign or at the int64 extremes, timestamps outside
years 0001-9999, negative and huge page sizes, garbage and forged page tokens, random
UUIDs, aggregates that do not reconcile, duplicate addresses, unknown and malformed
`order_by` values, negative, NaN-like and out-of-range anomaly thresholds. Valid requests
are mixed in, so some calls succeed and later reads find real jobs. (No request message has an
enum field today, so there are no unknown enum values to send.)

Whatever the input, every call must keep DESIGN.md principle 6:

1. the status is OK or one a caller can act on (INVALID_ARGUMENT, NOT_FOUND,
   ALREADY_EXISTS, FAILED_PRECONDITION), never INTERNAL, UNKNOWN, DATA_LOSS or
   UNIMPLEMENTED; RESOURCE_EXHAUSTED only for a request over the message limit;
2. INVALID_ARGUMENT carries a google.rpc.BadRequest naming at least one field, and
   every error an ErrorInfo of domain "ledger.v1";
3. no message or detail shows SQL, a stack trace or an internal name;
4. a call that fails writes nothing (every table of schema `ledger` keeps its row
   count), and a successful StoreEstimate writes exactly one job.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_wire.limits import MAX_MESSAGE_BYTES
from tests.support import fuzz_read_models as model
from tests.support.database import connect
from tests.support.fuzz_checks import (
    METADATA,
    RowCounter,
    assert_page,
    call,
    describe,
    fuzz_settings,
    violation_fields,
)
from tests.support.fuzz_read_strategies import (
    AMOUNT_PARTS,
    ANOMALY_AMOUNTS,
    ANOMALY_PERCENTS,
    BASE,
    EPOCH_2000,
    HUGE_AMOUNT,
    JOB_REFS,
    NAME_PARTS,
    NO_TIME,
    ORDER_BYS,
    ORDER_SPELLINGS,
    POSITION_PARTS,
    TIME_PARTS,
    TINY_AMOUNT,
    UUID_PARTS,
    ZERO_UUID,
    JobRef,
    Seeded,
    TokenRef,
    by_cost,
    filter_texts,
    order_scope,
    resolve_job,
    resolve_token,
    seed_request,
    token_refs,
)

# Three helpers keep the names the tests used before they moved out: Hypothesis seeds
# each test from its source, so unchanged tests keep drawing the same examples.
from tests.support.fuzz_read_strategies import scope_time as _iso
from tests.support.fuzz_store_strategies import REFUSALS, STORE_CASES, StoreCase, refused_example
from tests.support.fuzz_store_strategies import big_request as _big_request
from tests.support.fuzz_store_strategies import small_request as _small_request
from tests.support.fuzz_strategies import (
    HUGE,
    LABEL_KEY,
    PAGE_SIZES,
    PLANS,
    PROFILES,
    REGIONS,
    SEED_PLAN,
    SEED_USER,
    SERVICES,
    TIMESTAMPS,
    USERS,
    set_time,
)
from tests.support.server import ServerThread

# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[rs_grpc.ResultsStoreServiceStub]:
    # Generous client limits: a limit the server hits must show as the server's answer.
    options = [
        ("grpc.max_receive_message_length", 4 * MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", 4 * MAX_MESSAGE_BYTES),
    ]
    with grpc.insecure_channel(server.target, options=options) as channel:
        yield rs_grpc.ResultsStoreServiceStub(channel)


@pytest.fixture(scope="module")
def rows(database_url: str) -> Iterator[RowCounter]:
    connection = connect(database_url)
    connection.autocommit = True  # every count sees what the server has committed
    yield RowCounter(connection)
    connection.close()


@pytest.fixture(scope="module")
def seeded(stub: rs_grpc.ResultsStoreServiceStub) -> Seeded:
    requests = {
        "base": seed_request("USD", {f"aws_instance.a[{i}]": 10 * i for i in range(7)}),
        "target": seed_request(
            "USD", {f"aws_instance.a[{i}]": 10 * i + i % 2 for i in range(3, 11)}
        ),
        "euro": seed_request("EUR", {"aws_instance.eu": 5, "aws_s3_bucket.eu": 7}),
        "empty": seed_request("USD", {}),
    }
    stored = {name: stub.StoreEstimate(r, metadata=METADATA).job for name, r in requests.items()}
    jobs = {name: job.job_id for name, job in stored.items()}
    base = jobs["base"]
    pages: list[Any] = [
        stub.ListJobs(rs.ListJobsRequest(page_size=1), metadata=METADATA),
        stub.ListJobs(rs.ListJobsRequest(page_size=1, user_id=SEED_USER), metadata=METADATA),
        stub.ListJobResources(
            rs.ListJobResourcesRequest(job_id=base, page_size=1), metadata=METADATA
        ),
        stub.ListJobServices(
            rs.ListJobServicesRequest(job_id=base, page_size=1), metadata=METADATA
        ),
        stub.ListJobRegions(rs.ListJobRegionsRequest(job_id=base, page_size=1), metadata=METADATA),
        stub.GetCostTrend(
            rs.GetCostTrendRequest(user_id=SEED_USER, page_size=1), metadata=METADATA
        ),
        stub.GetCostTrend(
            rs.GetCostTrendRequest(terraform_plan_hash=SEED_PLAN, page_size=2), metadata=METADATA
        ),
        stub.ListJobs(
            rs.ListJobsRequest(page_size=1, order_by="total_monthly_cost desc"), metadata=METADATA
        ),
    ]
    tokens = [page.next_page_token for page in pages]
    assert all(tokens), "every seeded list should have a second page"
    return Seeded(jobs, tokens, requests, stored)


# --- StoreEstimate ---------------------------------------------------------------------


@fuzz_settings(max_examples=150, shrink=False)
@given(case=STORE_CASES)
@example(case=StoreCase(rs.StoreEstimateRequest(), valid=False, refused_field="estimate"))
@example(case=_small_request(labels={"team\n": "x"}))
@example(case=_small_request(duplicates=200))
@example(case=_small_request(by_service_name="x" * HUGE))
@example(case=_big_request(20_000, lambda i: f"r{i}"))
@example(case=_big_request(20_000, lambda i: "same"))
@example(
    case=StoreCase(rs.StoreEstimateRequest(user_id="x" * (MAX_MESSAGE_BYTES + 1)), valid=False)
)
def test_store_estimate_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub, rows: RowCounter, case: StoreCase
) -> None:
    request = case.request
    if case.fresh_request_id and not request.request_id:
        request.request_id = f"fuzz-{uuid.uuid4()}"
    outcome, written = call(rows, "StoreEstimate", stub.StoreEstimate, request, writes=True)
    if case.refused_field is not None:
        named = violation_fields(outcome)
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, (
            f"a request breaking {case.refused_field} was answered {outcome.code.name}: "
            f"{describe(request)}"
        )
        assert any(field.startswith(case.refused_field) for field in named), (
            f"the refusal names {named}, not {case.refused_field}: {describe(request)}"
        )
        return
    if case.valid:
        assert outcome.code is grpc.StatusCode.OK, (
            f"a valid estimate was refused with {outcome.code.name}: {outcome.message!r}; "
            f"{describe(request)}"
        )
    if outcome.code is not grpc.StatusCode.OK:
        return

    resources = len(request.estimate.by_resource)
    assert written.get("jobs") == 1, f"a stored estimate wrote {written}"
    assert written.get("job_resources", 0) == resources, f"{resources} resources: {written}"
    assert written.get("request_ids", 0) == (1 if request.request_id else 0), written
    job = outcome.response.job
    assert job.resource_count == resources
    bad_keys = [key for key in job.labels if not LABEL_KEY.fullmatch(key)]
    assert not bad_keys, f"labels keys outside the documented pattern were stored: {bad_keys!r}"
    if not request.request_id:
        return

    # A true retry answers the first job and writes nothing; another body is refused.
    retry, written = call(rows, "StoreEstimate", stub.StoreEstimate, request, writes=True)
    assert retry.code is grpc.StatusCode.OK, retry.message
    assert retry.response.job.job_id == job.job_id
    assert written == {}, f"a retry wrote {written}"
    changed = rs.StoreEstimateRequest()
    changed.CopyFrom(request)
    changed.profile = "fuzz-retry" if request.profile != "fuzz-retry" else "fuzz-retry-2"
    reused, _ = call(rows, "StoreEstimate", stub.StoreEstimate, changed, writes=True)
    assert reused.code is grpc.StatusCode.ALREADY_EXISTS, reused.code.name


# Every rule a refused case can break, once each, in the fixed run too.
for _refusal in REFUSALS:
    test_store_estimate_never_fails_internally = example(case=refused_example(_refusal))(
        test_store_estimate_never_fails_internally
    )


# --- reads ---------------------------------------------------------------------------


@fuzz_settings(max_examples=200)
@given(job=JOB_REFS)
def test_get_job_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub, rows: RowCounter, seeded: Seeded, job: JobRef
) -> None:
    request = rs.GetJobRequest(job_id=resolve_job(job, seeded))
    outcome, _ = call(rows, "GetJob", stub.GetJob, request)
    expected, name = model.job_status(job)
    assert outcome.code is expected, f"{job}: {outcome.code.name} {outcome.message!r}"
    if name is not None:
        assert outcome.response.job == seeded.stored[name]


@fuzz_settings(max_examples=200)
@given(
    page_size=PAGE_SIZES,
    user_id=filter_texts(SEED_USER, *USERS),
    profile=filter_texts(*PROFILES),
    plan=filter_texts(SEED_PLAN, *PLANS),
    start_time=TIMESTAMPS,
    end_time=TIMESTAMPS,
    token=token_refs([TIME_PARTS, UUID_PARTS]),
    order_by=ORDER_BYS,
    cost_token=token_refs([AMOUNT_PARTS, TIME_PARTS, UUID_PARTS]),
)
@example(
    0,
    "",
    "",
    "",
    NO_TIME,
    NO_TIME,
    ("forged", ("0001-01-01T00:00:00+23:59:59.999999", ZERO_UUID)),
    "",
    ("text", ""),
)
@example(
    0,
    "",
    "",
    "",
    NO_TIME,
    NO_TIME,
    ("forged", ("2020-01-01T00:00:00+00:00:01", ZERO_UUID)),
    "",
    ("text", ""),
)
# Cost orders: after a real token, after a forged but plausible cursor, after a forged
# amount no job could have, and with a time range (refused).
@example(0, "", "", "", NO_TIME, NO_TIME, ("text", ""), "total_monthly_cost desc", ("real", 7))
@example(
    2,
    SEED_USER,
    "",
    "",
    NO_TIME,
    NO_TIME,
    ("text", ""),
    "total_monthly_cost",
    ("forged", ("15", EPOCH_2000, ZERO_UUID)),
)
@example(
    0,
    "",
    "",
    "",
    NO_TIME,
    NO_TIME,
    ("text", ""),
    "total_monthly_cost desc",
    ("forged", (HUGE_AMOUNT, EPOCH_2000, ZERO_UUID)),
)
@example(
    0,
    "",
    "",
    "",
    timestamp_pb2.Timestamp(seconds=946_684_800),
    NO_TIME,
    ("text", ""),
    "total_monthly_cost asc",
    ("text", ""),
)
@example(
    0,
    "",
    "",
    "",
    NO_TIME,
    NO_TIME,
    ("forged", (EPOCH_2000, ZERO_UUID)),
    "create_time",
    ("text", ""),
)
def test_list_jobs_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    page_size: int,
    user_id: str,
    profile: str,
    plan: str,
    start_time: timestamp_pb2.Timestamp | None,
    end_time: timestamp_pb2.Timestamp | None,
    token: TokenRef,
    order_by: str,
    cost_token: TokenRef,
) -> None:
    request = rs.ListJobsRequest(
        page_size=page_size,
        user_id=user_id,
        profile=profile,
        terraform_plan_hash=plan,
        order_by=order_by,
    )
    set_time(request, "start_time", start_time)
    set_time(request, "end_time", end_time)
    scope = (
        "ListJobs",
        user_id,
        profile,
        plan,
        _iso(request, "start_time"),
        _iso(request, "end_time"),
        *order_scope(order_by),
    )
    request.page_token = resolve_token(cost_token if by_cost(order_by) else token, scope, seeded)
    outcome, _ = call(rows, "ListJobs", stub.ListJobs, request)
    if page_size < 0:
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, outcome.code.name
    if outcome.code is not grpc.StatusCode.OK:
        return
    jobs = outcome.response.jobs
    assert_page(jobs, page_size, 50)
    for found in jobs:
        assert not user_id or found.user_id == user_id
        assert not profile or found.profile == profile
        assert not plan or found.terraform_plan_hash == plan
        moment = (found.create_time.seconds, found.create_time.nanos)
        assert start_time is None or moment >= (start_time.seconds, start_time.nanos)
        assert end_time is None or moment < (end_time.seconds, end_time.nanos)
    order = ORDER_SPELLINGS[order_by]  # only accepted spellings get this far
    descending = not order.endswith("asc")
    if by_cost(order_by):
        costs = [(j.total_monthly_cost.units, j.total_monthly_cost.nanos) for j in jobs]
        assert costs == sorted(costs, reverse=descending), f"{order_by!r}: {costs}"
        return
    keys = [(j.create_time.seconds, j.create_time.nanos, j.job_id) for j in jobs]
    assert keys == sorted(keys, reverse=descending), f"{order_by!r}: by create_time"
    assert len(set(keys)) == len(keys)
    whole_seed = (
        user_id == SEED_USER and not profile and plan in ("", SEED_PLAN) and not request.page_token
    )
    if (
        descending
        and whole_seed
        and start_time is None
        and end_time is None
        and page_size in (0, 4, 1000)
    ):
        newest_first = ["empty", "euro", "target", "base"]
        assert list(jobs) == [seeded.stored[name] for name in newest_first]


@fuzz_settings(max_examples=200)
@given(
    job=JOB_REFS,
    page_size=PAGE_SIZES,
    service=filter_texts(*SERVICES),
    region=filter_texts(*REGIONS),
    token=token_refs([AMOUNT_PARTS, POSITION_PARTS]),
)
@example(BASE, 0, "", "", ("forged", (HUGE_AMOUNT, "0")))
@example(BASE, 0, "", "", ("forged", (TINY_AMOUNT, "0")))
@example(BASE, 0, "", "", ("forged", ("0", "9" * 5000)))
def test_list_job_resources_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    job: JobRef,
    page_size: int,
    service: str,
    region: str,
    token: TokenRef,
) -> None:
    request = rs.ListJobResourcesRequest(
        job_id=resolve_job(job, seeded), page_size=page_size, service=service, region=region
    )
    scope = ("ListJobResources", request.job_id, service, region)
    request.page_token = resolve_token(token, scope, seeded)
    outcome, _ = call(rows, "ListJobResources", stub.ListJobResources, request)
    expected, name = model.job_status(job)
    if expected is grpc.StatusCode.INVALID_ARGUMENT or page_size < 0:
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, outcome.code.name
    if outcome.code is not grpc.StatusCode.OK:
        return
    found = model.resource_rows(outcome.response.resources)
    assert_page(found, page_size, 100)
    assert all(not service or row[2] == service for row in found)
    assert all(not region or row[3] == region for row in found)
    assert [row[1] for row in found] == sorted((row[1] for row in found), reverse=True)
    if name is not None and not request.page_token:
        want = model.resources(seeded.requests[name], service, region)
        assert found == want[: model.page_limit(page_size, 100)]


@fuzz_settings(max_examples=150)
@given(job=JOB_REFS, page_size=PAGE_SIZES, token=token_refs([AMOUNT_PARTS, NAME_PARTS]))
@example(BASE, 0, ("forged", (HUGE_AMOUNT, "")))
@example(BASE, 0, ("forged", ("0", "a\x00b")))
def test_list_job_services_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    job: JobRef,
    page_size: int,
    token: TokenRef,
) -> None:
    request = rs.ListJobServicesRequest(job_id=resolve_job(job, seeded), page_size=page_size)
    request.page_token = resolve_token(token, ("ListJobServices", request.job_id), seeded)
    outcome, _ = call(rows, "ListJobServices", stub.ListJobServices, request)
    expected, name = model.job_status(job)
    if expected is grpc.StatusCode.INVALID_ARGUMENT or page_size < 0:
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, outcome.code.name
    if outcome.code is not grpc.StatusCode.OK:
        return
    found = model.service_rows(outcome.response.services)
    assert_page(found, page_size, 100)
    assert [row[1] for row in found] == sorted((row[1] for row in found), reverse=True)
    if name is not None and not request.page_token:
        want = model.services(seeded.requests[name])
        assert found == want[: model.page_limit(page_size, 100)]


@fuzz_settings(max_examples=150)
@given(job=JOB_REFS, page_size=PAGE_SIZES, token=token_refs([AMOUNT_PARTS, NAME_PARTS]))
@example(BASE, 0, ("forged", (HUGE_AMOUNT, "")))
@example(BASE, 0, ("forged", ("0", "a\x00b")))
def test_list_job_regions_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    job: JobRef,
    page_size: int,
    token: TokenRef,
) -> None:
    request = rs.ListJobRegionsRequest(job_id=resolve_job(job, seeded), page_size=page_size)
    request.page_token = resolve_token(token, ("ListJobRegions", request.job_id), seeded)
    outcome, _ = call(rows, "ListJobRegions", stub.ListJobRegions, request)
    expected, name = model.job_status(job)
    if expected is grpc.StatusCode.INVALID_ARGUMENT or page_size < 0:
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, outcome.code.name
    if outcome.code is not grpc.StatusCode.OK:
        return
    found = model.region_rows(outcome.response.regions)
    assert_page(found, page_size, 100)
    assert [row[1] for row in found] == sorted((row[1] for row in found), reverse=True)
    if name is not None and not request.page_token:
        want = model.regions(seeded.requests[name])
        assert found == want[: model.page_limit(page_size, 100)]


@fuzz_settings(max_examples=150)
@given(base=JOB_REFS, target=JOB_REFS)
@example(BASE, ("seed", "euro"))
def test_compare_jobs_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    base: JobRef,
    target: JobRef,
) -> None:
    request = rs.CompareJobsRequest(
        base_job_id=resolve_job(base, seeded), target_job_id=resolve_job(target, seeded)
    )
    outcome, _ = call(rows, "CompareJobs", stub.CompareJobs, request)
    currencies = {name: job.currency_code for name, job in seeded.stored.items()}
    expected, names = model.compare_status(base, target, currencies)
    assert outcome.code is expected, f"{base} vs {target}: {outcome.code.name} {outcome.message!r}"
    if names is None:
        return
    base_job, target_job = (seeded.stored[name] for name in names)
    response = outcome.response
    assert (response.base.job_id, response.target.job_id) == (base_job.job_id, target_job.job_id)
    base_total, target_total = (
        model.amount(job.total_monthly_cost) for job in (base_job, target_job)
    )
    assert model.amount(response.delta) == target_total - base_total
    base_resources, target_resources = (
        {row[0]: row[1] for row in model.resources(seeded.requests[n], "", "")} for n in names
    )
    changed = {
        address
        for address in base_resources.keys() | target_resources.keys()
        if base_resources.get(address) != target_resources.get(address)
    }
    assert {d.address for d in response.resource_diffs} == changed


PERCENTAGE = re.compile(r"-?[0-9]+\.[0-9]{2}")


@fuzz_settings(max_examples=200)
@given(
    series=st.sampled_from(["user", "plan", "both", "neither"]),
    user_id=filter_texts(SEED_USER),
    plan=filter_texts(SEED_PLAN),
    page_size=PAGE_SIZES,
    start_time=TIMESTAMPS,
    end_time=TIMESTAMPS,
    token=token_refs([TIME_PARTS, UUID_PARTS, AMOUNT_PARTS]),
    anomaly_percent=ANOMALY_PERCENTS,
    anomaly_amount=ANOMALY_AMOUNTS,
)
@example(
    "user",
    SEED_USER,
    "",
    0,
    NO_TIME,
    NO_TIME,
    ("forged", (EPOCH_2000, ZERO_UUID, HUGE_AMOUNT)),
    "",
    None,
)
@example(
    "user",
    SEED_USER,
    "",
    0,
    NO_TIME,
    NO_TIME,
    ("forged", (EPOCH_2000, ZERO_UUID, "1E+30")),
    "",
    None,
)
@example(
    "plan",
    "",
    SEED_PLAN,
    0,
    NO_TIME,
    NO_TIME,
    ("forged", (EPOCH_2000, ZERO_UUID, "1e-10")),
    "",
    None,
)
# Thresholds on real pages, and a previous total of one nano: the largest percentages.
@example("plan", "", SEED_PLAN, 1, NO_TIME, NO_TIME, ("real", 6), "0", money_pb2.Money(units=0))
@example(
    "plan",
    "",
    SEED_PLAN,
    1,
    NO_TIME,
    NO_TIME,
    ("forged", (EPOCH_2000, ZERO_UUID, "0.000000001")),
    "0",
    money_pb2.Money(units=0),
)
@example("plan", "", SEED_PLAN, 0, NO_TIME, NO_TIME, ("text", ""), "NaN", None)
@example(
    "plan",
    "",
    SEED_PLAN,
    0,
    NO_TIME,
    NO_TIME,
    ("text", ""),
    "-1",
    money_pb2.Money(units=-(2**63), nanos=-(2**31)),
)
def test_get_cost_trend_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    series: str,
    user_id: str,
    plan: str,
    page_size: int,
    start_time: timestamp_pb2.Timestamp | None,
    end_time: timestamp_pb2.Timestamp | None,
    token: TokenRef,
    anomaly_percent: str,
    anomaly_amount: money_pb2.Money | None,
) -> None:
    request = rs.GetCostTrendRequest(
        user_id=user_id if series in ("user", "both") else "",
        terraform_plan_hash=plan if series in ("plan", "both") else "",
        page_size=page_size,
        anomaly_percent=anomaly_percent,
    )
    if anomaly_amount is not None:
        request.anomaly_amount.CopyFrom(anomaly_amount)
    set_time(request, "start_time", start_time)
    set_time(request, "end_time", end_time)
    scope = (
        "GetCostTrend",
        request.user_id,
        "",
        request.terraform_plan_hash,
        _iso(request, "start_time"),
        _iso(request, "end_time"),
    )
    request.page_token = resolve_token(token, scope, seeded)
    outcome, _ = call(rows, "GetCostTrend", stub.GetCostTrend, request)
    if bool(request.user_id) == bool(request.terraform_plan_hash) or page_size < 0:
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, outcome.code.name
    if outcome.code is not grpc.StatusCode.OK:
        return
    points = outcome.response.points
    assert_page(points, page_size, 100)
    for point in points:
        assert point.percentage_change == "" or PERCENTAGE.fullmatch(point.percentage_change)
    if not anomaly_percent and anomaly_amount is None:
        assert not any(point.anomaly for point in points)
    keys = [(p.create_time.seconds, p.create_time.nanos, p.job_id) for p in points]
    assert keys == sorted(keys), "oldest first"
    totals = [model.amount(p.total_monthly_cost) for p in points]
    changes = [model.amount(p.change_from_previous) for p in points]
    assert changes[1:] == [after - before for before, after in itertools.pairwise(totals)]
    if points and not request.page_token:
        assert changes[0] == 0


# --- edges that random generation reaches too rarely ---------------------------------


def test_every_rpc_answers_an_empty_request_cleanly(
    stub: rs_grpc.ResultsStoreServiceStub, rows: RowCounter
) -> None:
    empty: list[tuple[str, Any, Message]] = [
        ("StoreEstimate", stub.StoreEstimate, rs.StoreEstimateRequest()),
        ("GetJob", stub.GetJob, rs.GetJobRequest()),
        ("ListJobs", stub.ListJobs, rs.ListJobsRequest()),
        ("ListJobResources", stub.ListJobResources, rs.ListJobResourcesRequest()),
        ("ListJobServices", stub.ListJobServices, rs.ListJobServicesRequest()),
        ("ListJobRegions", stub.ListJobRegions, rs.ListJobRegionsRequest()),
        ("CompareJobs", stub.CompareJobs, rs.CompareJobsRequest()),
        ("GetCostTrend", stub.GetCostTrend, rs.GetCostTrendRequest()),
    ]
    for rpc, method, request in empty:
        outcome, _ = call(rows, rpc, method, request)
        expected = grpc.StatusCode.OK if rpc == "ListJobs" else grpc.StatusCode.INVALID_ARGUMENT
        assert outcome.code is expected, f"{rpc}: {outcome.code.name} {outcome.message!r}"


def test_compare_jobs_of_two_largest_estimates_answers(
    stub: rs_grpc.ResultsStoreServiceStub, rows: RowCounter
) -> None:
    """Two estimates at the documented maximum (10,000 resources, 1,024-character
    addresses), with no resource in common: each fits a request, so comparing them must
    answer, not overflow the message limit with a 20,000-entry diff."""
    ids = []
    for side in "ab":
        request = rs.StoreEstimateRequest(user_id="fuzz-largest")
        request.estimate.by_resource.extend(
            estimate_pb2.ResourceCost(
                address=f"{side * 1000}[{i}]".ljust(1024, "."),
                monthly_cost=money_pb2.Money(units=1),
            )
            for i in range(10_000)
        )
        outcome, _ = call(rows, "StoreEstimate", stub.StoreEstimate, request, writes=True)
        assert outcome.code is grpc.StatusCode.OK, outcome.message
        ids.append(outcome.response.job.job_id)
    compare = rs.CompareJobsRequest(base_job_id=ids[0], target_job_id=ids[1])
    outcome, _ = call(rows, "CompareJobs", stub.CompareJobs, compare)
    assert outcome.code is grpc.StatusCode.OK, f"{outcome.code.name}: {outcome.message!r}"
