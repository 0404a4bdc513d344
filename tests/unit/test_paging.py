"""Page sizes and page tokens (AIP-158): one cursor spec per List."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger_server.domain import cursors
from ledger_server.domain.errors import InvalidArgument
from ledger_server.domain.paging import BAD_TOKEN, CursorSpec, encode_token, page_size

JOBS = CursorSpec("ListJobs", cursors.utc_time, cursors.uuid_id)
TOTALS = CursorSpec("ListJobServices", cursors.amount, cursors.name)


def test_page_size_defaults_caps_and_rejects_negative() -> None:
    assert page_size(0, default=50) == 50
    assert page_size(5000, default=50) == 1000
    with pytest.raises(InvalidArgument):
        page_size(-1, default=50)


def test_page_token_round_trips_typed_values_for_its_query_only() -> None:
    moment, job_id = datetime(2026, 1, 1, tzinfo=UTC), uuid.uuid4()
    token = JOBS.encode(("alice",), (moment, job_id))
    assert JOBS.decode(token, ("alice",)) == (moment, job_id)
    with pytest.raises(InvalidArgument):
        JOBS.decode(token, ("bob",))


def test_a_token_of_one_list_is_refused_by_another_with_the_same_filters() -> None:
    token = TOTALS.encode(("job",), (Decimal("1.5"), "AmazonEC2"))
    other = CursorSpec("ListJobRegions", cursors.amount, cursors.name)
    with pytest.raises(InvalidArgument):
        other.decode(token, ("job",))


def test_filters_that_differ_only_in_where_a_separator_falls_do_not_share_tokens() -> None:
    token = TOTALS.encode(("a\x1fb", "c"), (Decimal(1), "x"))
    with pytest.raises(InvalidArgument):
        TOTALS.decode(token, ("a", "b\x1fc"))


def test_page_returns_a_token_only_when_more_rows_exist() -> None:
    rows = [(Decimal(3), "c"), (Decimal(2), "b"), (Decimal(1), "a")]
    last_page = TOTALS.page(rows[:2], 2, ("job",), lambda row: row)
    assert last_page.items == rows[:2] and last_page.next_page_token == ""
    page = TOTALS.page(rows, 2, ("job",), lambda row: row)
    assert page.items == rows[:2]
    assert TOTALS.decode(page.next_page_token, ("job",)) == (Decimal(2), "b")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "garbage",
    [
        "%%%",
        "bm90IGpzb24",
        "x" * 5000,
        "e30",
        "\x00",
        _b64("[" * 1536),  # nested past the JSON parser's recursion limit
        encode_token("ListJobs", ("alice",), ["2026-01-01T00:00:00+02:00", str(uuid.uuid4())]),
        encode_token("ListJobs", ("alice",), ["yesterday", str(uuid.uuid4())]),
        encode_token("ListJobs", ("alice",), ["2026-01-01T00:00:00+00:00", "{" + "0" * 32 + "}"]),
        encode_token("ListJobs", ("alice",), ["2026-01-01T00:00:00+00:00"]),
    ],
)
def test_unusable_tokens_are_one_invalid_argument(garbage: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        JOBS.decode(garbage, ("alice",))
    assert [(v.field, v.description) for v in error.value.violations] == [("page_token", BAD_TOKEN)]
