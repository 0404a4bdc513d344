"""Page sizes and page tokens (AIP-158)."""

from __future__ import annotations

import pytest

from ledger_server.domain.errors import InvalidArgument
from ledger_server.domain.paging import decode_token, encode_token, page_size


def test_page_size_defaults_caps_and_rejects_negative() -> None:
    assert page_size(0, default=50) == 50
    assert page_size(5000, default=50) == 1000
    with pytest.raises(InvalidArgument):
        page_size(-1, default=50)


def test_page_token_round_trips_for_its_query_only() -> None:
    token = encode_token(("ListJobs", "alice"), ["2026-01-01T00:00:00+00:00", "id"])
    assert decode_token(token, ("ListJobs", "alice"), fields=2) == [
        "2026-01-01T00:00:00+00:00",
        "id",
    ]
    with pytest.raises(InvalidArgument):
        decode_token(token, ("ListJobs", "bob"), fields=2)


@pytest.mark.parametrize("garbage", ["%%%", "bm90IGpzb24", "x" * 5000, "e30", "\x00"])
def test_page_token_garbage_is_invalid_argument(garbage: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        decode_token(garbage, ("q",), fields=2)
    assert error.value.violations[0].field == "page_token"
