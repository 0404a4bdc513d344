"""Domain values: money on the wire, page-token cursors, tokens across versions, the cache."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ledger_server.domain import cursors
from ledger_server.domain.cache import ImmutableCache
from ledger_server.domain.errors import InvalidArgument, Violations
from ledger_server.domain.money import (
    MAX_AMOUNT,
    WireMoney,
    decimal_from_wire,
    display,
    is_currency_code,
    plain_amount,
    wire_from_decimal,
)
from ledger_server.domain.paging import BAD_TOKEN, CursorSpec, encode_token, page_size

D = Decimal

# --- money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "value"),
    [
        (WireMoney("", 0, 0), D(0)),
        (WireMoney("USD", 0, 1), D("0.000000001")),
        (WireMoney("", 1, 999_999_999), D("1.999999999")),
        (WireMoney("", 10**12 - 1, 999_999_999), D("999999999999.999999999")),
    ],
)
def test_plain_amount_takes_every_ordinary_amount(money: WireMoney, value: Decimal) -> None:
    """The short path answers for every ordinary amount (None would mean "look closer")."""
    assert plain_amount(money, "USD") == value


@pytest.mark.parametrize(
    "money",
    [
        WireMoney("EUR", 1, 0),
        WireMoney("", -1, 0),
        WireMoney("", 0, -1),
        WireMoney("", 10**12, 0),
        WireMoney("", 10**12, 1),
        WireMoney("", 1, 1_000_000_000),
    ],
)
def test_plain_amount_leaves_the_rest_to_decimal_from_wire(money: WireMoney) -> None:
    assert plain_amount(money, "USD") is None


def _from_wire(money: WireMoney, *, allow_negative: bool = False) -> tuple[object, list[object]]:
    found = Violations()
    value = decimal_from_wire(money, "p", "USD", found, allow_negative=allow_negative)
    return value, [(v.field, v.description) for v in found.items]


@pytest.mark.parametrize(
    ("money", "allow_negative", "value"),
    [
        (WireMoney("", 0, 0), False, D(0)),
        (WireMoney("USD", 5, 5), False, D("5.000000005")),
        (WireMoney("", 0, 999_999_999), False, D("0.999999999")),
        (WireMoney("", 10**12, 0), False, MAX_AMOUNT),
        (WireMoney("", -(10**12), 0), True, -MAX_AMOUNT),
        (WireMoney("", -1, -5), True, D("-1.000000005")),
        (WireMoney("", 0, -999_999_999), True, D("-0.999999999")),
        (WireMoney("", 0, 1), True, D("0.000000001")),
    ],
)
def test_decimal_from_wire_values(money: WireMoney, allow_negative: bool, value: Decimal) -> None:
    assert _from_wire(money, allow_negative=allow_negative) == (value, [])


FOREIGN = "must be empty or 'USD', the estimate's currency; got 'EUR'"
NANOS_RANGE = "must be between -999999999 and 999999999"
TOO_BIG = "must be at most 1000000000000 in absolute value"


@pytest.mark.parametrize(
    ("money", "allow_negative", "violation"),
    [
        (WireMoney("EUR", 1, 0), False, ("p.currency_code", FOREIGN)),
        (WireMoney("", 0, 1_000_000_000), False, ("p.nanos", NANOS_RANGE)),
        (WireMoney("", 0, -1_000_000_000), True, ("p.nanos", NANOS_RANGE)),
        (WireMoney("", 1, -1), True, ("p.nanos", "must have the same sign as units")),
        (WireMoney("", -1, 1), True, ("p.nanos", "must have the same sign as units")),
        (WireMoney("", 0, -1), False, ("p", "must not be negative")),
        (WireMoney("", -1, 0), False, ("p", "must not be negative")),
        (WireMoney("", 10**12, 1), False, ("p", TOO_BIG)),
        (WireMoney("", -(10**12), -1), True, ("p", TOO_BIG)),
    ],
)  # fmt: skip
def test_decimal_from_wire_refusals(
    money: WireMoney, allow_negative: bool, violation: tuple[str, str]
) -> None:
    assert _from_wire(money, allow_negative=allow_negative) == (None, [violation])


def test_money_helpers() -> None:
    assert wire_from_decimal(D("-1.5"), "EUR") == WireMoney("EUR", -1, -500_000_000)
    assert wire_from_decimal(D("12.000000001"), "USD") == WireMoney("USD", 12, 1)
    assert [display(D(x)) for x in ("16.000", "0.30", "1E+3", "-2.5")] == [
        "16",
        "0.3",
        "1000",
        "-2.5",
    ]
    assert is_currency_code("USD") and not is_currency_code("usd")
    assert not is_currency_code("USDX") and not is_currency_code("US")


# --- cursors ----------------------------------------------------------------------------


def _refused(parse: object, text: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse(text)  # type: ignore[operator]
    assert [(v.field, v.description) for v in refused.value.violations] == [
        ("page_token", BAD_TOKEN)
    ]


def test_cursor_amounts_written_by_the_server_read_back() -> None:
    for text in ("0", "15.5", "0.000000001", "-3", "1" * 16, "0." + "0" * 62):
        assert cursors.amount(text) == D(text)
    top = MAX_AMOUNT * 10_000
    assert cursors.amount(str(top)) == top
    assert cursors.amount(str(-top)) == -top


@pytest.mark.parametrize(
    "text",
    [
        "0." + "0" * 63,  # longer than any amount the server writes
        str(MAX_AMOUNT * 10_000 + D("0.000000001")),  # past any total
        str(-MAX_AMOUNT * 10_000 - D("0.000000001")),
        "NaN",
        "Infinity",
        "1E+1000000",
        "0.0000000001",
        "abc",
        "",
    ],
)
def test_cursor_amounts_the_server_could_not_write_are_refused(text: str) -> None:
    _refused(cursors.amount, text)


def test_cursor_positions_names_and_times() -> None:
    assert cursors.position("0") == 0
    assert cursors.position("999999") == 999_999
    for text in ("1234567", "-1", "1.0", " 1", "", "½"):
        _refused(cursors.position, text)
    assert cursors.name("") == ""
    assert cursors.name("n" * 256) == "n" * 256
    for text in ("n" * 257, "a\x00b", "\x00"):
        _refused(cursors.name, text)
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert cursors.utc_time(moment.isoformat()) == moment
    for text in ("2026-01-01T00:00:00+02:00", "2026-01-01T00:00:00", "yesterday"):
        _refused(cursors.utc_time, text)
    east = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    _refused(cursors.utc_time, east.isoformat())
    job = uuid.uuid4()
    assert cursors.uuid_id(str(job)) == job
    for text in (str(job).replace("-", ""), "{" + str(job)[1:-1] + "}", "x" * 36, ""):
        _refused(cursors.uuid_id, text)


def test_cursor_whole_numbers_are_what_fits_a_bigint() -> None:
    """Versions and IDENTITY ids: 0 up to 2**63 - 1, plain digits; a forged cursor with
    anything else is INVALID_ARGUMENT, never a number the database would refuse."""
    assert cursors.whole_number("0") == 0
    assert cursors.whole_number("42") == 42
    assert cursors.whole_number(str(2**63 - 1)) == 2**63 - 1  # 19 digits


@pytest.mark.parametrize(
    "text",
    [
        str(2**63),  # one past the largest bigint
        str(2**63 + 1),
        str(2**64 - 1),
        "0" * 20,  # 20 digits, even of a small number
        "0" * 20 + "1",
        "9" * 5_000,  # more digits than int() takes
        "-1",
        "+1",
        " 1",
        "1.0",
        "",
        "½",
    ],
)
def test_cursor_whole_numbers_the_server_could_not_write_are_refused(text: str) -> None:
    _refused(cursors.whole_number, text)


# --- page sizes and tokens ------------------------------------------------------------------


def test_page_size_rules() -> None:
    assert page_size(0, default=50) == 50
    assert page_size(7, default=50) == 7
    assert page_size(1000, default=50) == 1000
    assert page_size(1001, default=50) == 1000
    assert page_size(6000, default=1000, maximum=5000) == 5000
    with pytest.raises(InvalidArgument) as refused:
        page_size(-1, default=50, field="max_resource_diffs")
    assert [(v.field, v.description) for v in refused.value.violations] == [
        ("max_resource_diffs", "must not be negative")
    ]


# Tokens a server of this version wrote. Replicas of two versions serve one client's pages
# during a rolling deploy, so a token must read back the same in the next version: a
# change here is a change of the token format and needs a transition, not a new constant.
SERVICES_TOKEN = "eyJxIjoiOTA1ZWRmNTA1YWY4NTUwZCIsImMiOlsiMTUuNSIsIkFtYXpvbkVDMiJdfQ"
JOBS_TOKEN = "eyJxIjoiOGY5MzVhZTRhNWUyYzk3NSIsImMiOlsiMSIsIngiXX0"
SERVICES_SCOPE = ("3f1c2a9e-6a55-4c8e-9a8b-0d1e2f3a4b5c", "é")


def test_page_tokens_keep_their_format_across_versions() -> None:
    services = CursorSpec("ListJobServices", cursors.amount, cursors.name)
    assert services.encode(SERVICES_SCOPE, (D("15.5"), "AmazonEC2")) == SERVICES_TOKEN
    assert services.decode(SERVICES_TOKEN, SERVICES_SCOPE) == (D("15.5"), "AmazonEC2")
    assert encode_token("ListJobs", ("alice",), ["1", "x"]) == JOBS_TOKEN


def test_cursor_spec_encodes_times_by_isoformat_and_the_rest_by_str() -> None:
    spec = CursorSpec("ListJobs", cursors.utc_time, cursors.uuid_id)
    moment, job = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC), uuid.uuid4()
    token = spec.encode(("alice",), (moment, job))
    assert token == encode_token("ListJobs", ("alice",), [moment.isoformat(), str(job)])
    assert spec.decode("", ("alice",)) is None
    with pytest.raises(AssertionError, match=r"^one value per cursor part$"):
        spec.encode(("alice",), (moment,))


def test_cursor_spec_refuses_tokens_longer_than_2048() -> None:
    spec = CursorSpec("ListJobServices", cursors.amount, cursors.name)
    long_token = encode_token("ListJobServices", ("job",), ["1", "n" * 1600])
    assert len(long_token) > 2048
    with pytest.raises(InvalidArgument):
        spec.decode(long_token, ("job",))


@pytest.mark.parametrize(
    "cursor",
    [["1"], ["1", "x", "y"], ["1", 2], "1,x", None],
    ids=["short", "long", "not-text", "not-a-list", "none"],
)
def test_cursor_spec_refuses_a_cursor_of_another_shape(cursor: object) -> None:
    import base64
    import json

    from ledger_server.domain.paging import _scope

    spec = CursorSpec("ListJobServices", cursors.amount, cursors.name)
    payload = json.dumps({"q": _scope("ListJobServices", ("job",)), "c": cursor})
    token = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    with pytest.raises(InvalidArgument):
        spec.decode(token, ("job",))


def test_cursor_spec_page_cuts_at_the_limit() -> None:
    spec = CursorSpec("ListJobServices", cursors.amount, cursors.name)
    rows = [(D(3), "c"), (D(2), "b"), (D(1), "a")]
    exact = spec.page(rows, 3, ("job",), lambda row: row)
    assert (exact.items, exact.next_page_token) == (rows, "")
    cut = spec.page(rows, 1, ("job",), lambda row: row)
    assert cut.items == rows[:1]
    assert spec.decode(cut.next_page_token, ("job",)) == (D(3), "c")


# --- the cache ------------------------------------------------------------------------------


def _cache(capacity: int = 3, max_bytes: int = 800) -> ImmutableCache[str, str]:
    return ImmutableCache(capacity, max_bytes=max_bytes, size_of=len)


def test_cache_keeps_the_most_recently_used_entries() -> None:
    cache = _cache()
    for key in "abc":
        cache.put(key, key * 10)
    assert (len(cache), cache.size_bytes) == (3, 30)
    assert cache.get("a") == "a" * 10  # now the most recent
    cache.put("d", "d" * 10)
    assert cache.get("b") is None  # the least recent went
    assert [cache.get(k) for k in "acd"] == ["a" * 10, "c" * 10, "d" * 10]
    assert (len(cache), cache.size_bytes) == (3, 30)


def test_cache_replacing_an_entry_counts_its_bytes_once() -> None:
    cache = _cache()
    cache.put("a", "x" * 10)
    cache.put("a", "y" * 20)
    assert (len(cache), cache.size_bytes, cache.get("a")) == (1, 20, "y" * 20)


def test_cache_is_bounded_by_bytes_too() -> None:
    cache = _cache(capacity=100, max_bytes=800)
    for key in "abcdefghi":
        cache.put(key, key * 100)  # each exactly an eighth of the budget
    assert (len(cache), cache.size_bytes) == (8, 800)
    assert cache.get("a") is None and cache.get("i") == "i" * 100


def test_cache_refuses_an_entry_over_an_eighth_of_its_bytes() -> None:
    cache = _cache(capacity=100, max_bytes=800)
    cache.put("big", "x" * 101)
    assert (cache.get("big"), len(cache), cache.size_bytes) == (None, 0, 0)


def test_cache_of_capacity_zero_holds_nothing() -> None:
    cache = _cache(capacity=0)
    cache.put("a", "a")
    assert (cache.get("a"), len(cache)) == (None, 0)
    one = _cache(capacity=1)
    one.put("a", "a")
    assert one.get("a") == "a"
