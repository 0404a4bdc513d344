"""Hypothesis strategies for IngestionService requests: hostile export text and filters.

Every text field of a record draws from plausible values and hostile ones: NUL
characters, 100k-character strings, NaN and infinities, numbers past the limits or with
too many decimal places, times outside years 1-9999 (and ones an offset pushes outside),
unknown charge categories (enum numbers the contract does not define), odd labels.
"""

from __future__ import annotations

from google.protobuf import timestamp_pb2
from hypothesis import strategies as st

from ledger.v1 import ingestion_service_pb2 as ing

HUGE = 100_000
HOSTILE_TEXT = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "x" * 257, "y" * HUGE, "\\.", "\t\n\r\\"]
)
TIMES = st.one_of(
    st.sampled_from(
        [
            "2026-01-01",
            "2024-09-18 22:00:00",
            "2024-09-18T22:00:00Z",
            "2024-09-18T22:00:00+02:00",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31",
            "9999-12-31T23:00:00-05:00",
            "0000-01-01",
            "2024-02-30",
            "2024-W38",
            "yesterday",
            "",
        ]
    ),
    HOSTILE_TEXT,
)
NUMBERS = st.one_of(
    st.sampled_from(
        [
            "1245.67",
            "-12.5",
            "0",
            "-0",
            "1E+3",
            "NaN",
            "nan",
            "Infinity",
            "-inf",
            "1e999",
            "1E-999",
            "1000000000000.000000000000001",
            "0.0000000000000001",
            "0.000000000000001",
            "1_000",
            "12,50",
            "+.5",
            "",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    HOSTILE_TEXT,
)
NAMES = st.one_of(st.sampled_from(["aws", "AWS ", "gcp", "a100", "us-east-1", ""]), HOSTILE_TEXT)
CURRENCIES = st.one_of(
    st.sampled_from(["USD", "usd", " EUR", "ABC", "XTS", "US", ""]), HOSTILE_TEXT
)
CATEGORIES = st.one_of(st.integers(0, 5), st.integers(-(2**31), 2**31 - 1))
LABELS = st.dictionaries(
    st.one_of(st.sampled_from(["team", "Team", "a" * 64, "", "k\x00"]), st.text(max_size=8)),
    st.one_of(st.sampled_from(["x", "\x00", "v" * 257]), st.text(max_size=8)),
    max_size=3,
)


FIELDS = {
    "charge_period_start": TIMES,
    "charge_period_end": st.one_of(st.just(""), TIMES),
    "provider": NAMES,
    "billing_account_id": NAMES,
    "sub_account_id": NAMES,
    "service": NAMES,
    "region": NAMES,
    "sku": NAMES,
    "resource_id": st.one_of(NAMES, st.just("r" * 1025)),
    "charge_category": CATEGORIES,
    "billing_currency": CURRENCIES,
    "billed_cost": NUMBERS,
    "effective_cost": NUMBERS,
    "usage_quantity": NUMBERS,
    "usage_unit": NAMES,
}


def valid_record(n: int) -> ing.CostRecordInput:
    return ing.CostRecordInput(
        charge_period_start="2026-06-01",
        provider="fuzz",
        billing_account_id="fuzz-account",
        sku=f"sku-{n}",
        charge_category=ing.CHARGE_CATEGORY_USAGE,
        billing_currency="USD",
        billed_cost=str(n),
    )


@st.composite
def records(draw: st.DrawFn) -> ing.CostRecordInput:
    """A valid record with one to three fields (or its labels) made hostile: a record
    with every field bad is rejected for its first problem and tests little else."""
    record = valid_record(draw(st.integers(0, 1000)))
    for name in draw(st.lists(st.sampled_from([*FIELDS, "labels"]), min_size=1, max_size=3)):
        if name == "labels":
            record.labels.update(draw(LABELS))
        else:
            setattr(record, name, draw(FIELDS[name]))
    return record


RECORD_LISTS = st.one_of(
    st.lists(records(), max_size=6),
    st.integers(0, 3).map(lambda n: [valid_record(i) for i in range(n)]),
)
SECONDS = st.one_of(
    st.integers(-62_135_596_800, 253_402_300_799),
    st.sampled_from([-62_135_596_801, 253_402_300_800, -(2**63), 2**63 - 1]),
)
NANOS = st.one_of(st.just(0), st.integers(-(2**31), 2**31 - 1))


@st.composite
def timestamps(draw: st.DrawFn) -> timestamp_pb2.Timestamp | None:
    if draw(st.booleans()):
        return None
    return timestamp_pb2.Timestamp(seconds=draw(SECONDS), nanos=draw(NANOS))


@st.composite
def filters(draw: st.DrawFn) -> ing.CostRecordFilter:
    message = ing.CostRecordFilter(
        provider=draw(NAMES),
        billing_account_id=draw(NAMES),
        service=draw(NAMES),
        region=draw(NAMES),
        sku=draw(NAMES),
        charge_category=draw(CATEGORIES),  # type: ignore[arg-type]
    )
    for field in ("start_time", "end_time"):
        stamp = draw(timestamps())
        if stamp is not None:
            getattr(message, field).CopyFrom(stamp)
    return message


PAGE_SIZES = st.one_of(st.integers(-5, 1200), st.sampled_from([-(2**31), 2**31 - 1]))
TOKENS = st.one_of(
    st.just(""),
    st.text(max_size=40),
    st.sampled_from(["eyJxIjoiMCIsImMiOltdfQ", "x" * 3000, "\x00"]),
)
GROUP_BYS = st.one_of(st.integers(0, 7), st.integers(-(2**31), 2**31 - 1))
