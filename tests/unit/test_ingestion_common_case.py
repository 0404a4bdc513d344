"""The common case of normalising (common_case.py) against the checked path: for every
input, `normalise` gives exactly what `normalise_checked` gives, record or rejections."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger_server.domain.ingestion.common_case import normalise_common
from ledger_server.domain.ingestion.normalise import normalise, normalise_checked
from ledger_server.domain.ingestion.records import ChargeCategory, NormalisedRecord, RecordInput

_SPACE = st.sampled_from(["", " ", "\t", "\n", "\u00a0"])


def _padded(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda before, text, after: before + text + after, _SPACE, texts, _SPACE)


_DIGITS = st.text("0123456789", min_size=1, max_size=20)
# Written plainly and not: signs, leading and trailing zeros, exponents, a bare point,
# other scripts' digits, too many places, too large, too long, not numbers at all.
_NUMBERS = _padded(
    st.one_of(
        st.builds(
            lambda sign, whole, fraction: sign + whole + fraction,
            st.sampled_from(["", "-", "+"]),
            _DIGITS,
            st.one_of(st.just(""), st.just("."), st.builds(lambda d: "." + d, _DIGITS)),
        ),
        st.sampled_from(
            [
                "",
                "0",
                "-0",
                "-0.000",
                "+0.0",
                "00012.5000",
                ".5",
                "5.",
                "1e3",
                "1.5E-2",
                "NaN",
                "Infinity",
                "1_000",
                "\u0663.5",
                "1000000000000",
                "1000000000000.000000000000001",
                "-1000000000000.0",
                "1000000000000000",
                "0.000000000000001",
                "0.0000000000000001",
                "0.1000000000000000000000",
                "1." + "0" * 50 + "1",
                "9" * 41,
                "12,5",
            ]
        ),
        st.text(max_size=8),
    )
)
_KEY_TEXTS = _padded(
    st.one_of(
        st.sampled_from(["aws", "AWS", "Gcp", "region-1", "SKU-İ", "a\x00b", "ß", ""]),
        st.text(max_size=12),
        st.builds(lambda n: "x" * n, st.sampled_from([63, 64, 65, 256, 257, 1024, 1025])),
    )
)
_TIMES = _padded(
    st.sampled_from(
        [
            "",
            "2026-01-01",
            "2026-01-02",
            "2026-01-01T00:00:00Z",
            "2026-01-01 22:00:00",
            "2026-01-01T23:00:00-05:00",
            "9999-12-31",
            "0001-01-01T00:00:00+01:00",
            "2026-13-01",
            "yesterday",
        ]
    )
)
_LABELS: st.SearchStrategy[dict[str, str]] = st.one_of(
    st.just({}),
    st.dictionaries(
        st.sampled_from(["team", "env", "Bad Key", "", "a/b"]),
        st.sampled_from(["x", "", "y" * 257, "a\x00"]),
        max_size=3,
    ),
)

_VALID_NUMBERS = _padded(
    st.builds(
        lambda sign, whole, fraction: sign + whole + fraction,
        st.sampled_from(["", "-", "+"]),
        st.text("0123456789", min_size=1, max_size=12),
        st.one_of(st.just(""), st.builds(lambda d: "." + d, st.text("0123456789", max_size=15))),
    )
)
_VALID_TEXTS = _padded(st.sampled_from(["aws", "AWS", "Gcp", "region-1", "SKU-İ", "ß", "x"]))
# Mostly valid records, so the common case takes many of them, with any one or two
# fields drawn from everything above, so it must also know when to give up.
_VALID = {
    "charge_period_start": _padded(st.sampled_from(["2026-01-01", "2026-01-01T05:00:00Z"])),
    "charge_period_end": st.sampled_from(["", "2026-01-03", " 2026-01-02T00:00:00+00:00"]),
    "provider": _VALID_TEXTS,
    "billing_account_id": _VALID_TEXTS,
    "sub_account_id": st.one_of(st.just(""), _VALID_TEXTS),
    "service": _VALID_TEXTS,
    "region": _VALID_TEXTS,
    "sku": _VALID_TEXTS,
    "resource_id": st.one_of(st.just(""), _VALID_TEXTS),
    "charge_category": st.sampled_from(ChargeCategory),
    "billing_currency": _padded(st.sampled_from(["USD", "usd", "eur"])),
    "billed_cost": _VALID_NUMBERS,
    "effective_cost": st.one_of(st.just(""), _VALID_NUMBERS),
    "usage_quantity": st.one_of(st.just(""), _VALID_NUMBERS),
    "usage_unit": st.one_of(st.just(""), _VALID_TEXTS),
    "labels": st.sampled_from([{}, {"team": "data", "env": "prod"}]),
}
_ANY = {
    "charge_period_start": _TIMES,
    "charge_period_end": _TIMES,
    "provider": _KEY_TEXTS,
    "billing_account_id": _KEY_TEXTS,
    "sub_account_id": _KEY_TEXTS,
    "service": _KEY_TEXTS,
    "region": _KEY_TEXTS,
    "sku": _KEY_TEXTS,
    "resource_id": _KEY_TEXTS,
    "charge_category": st.one_of(st.none(), st.sampled_from(ChargeCategory)),
    "billing_currency": _padded(st.sampled_from(["USD", "usd", "eur", "XTS", "US", ""])),
    "billed_cost": _NUMBERS,
    "effective_cost": _NUMBERS,
    "usage_quantity": _NUMBERS,
    "usage_unit": _KEY_TEXTS,
    "labels": _LABELS,
}


@st.composite
def records(draw: st.DrawFn) -> RecordInput:
    wild = draw(st.sets(st.sampled_from(sorted(_ANY)), max_size=2))
    fields: dict[str, Any] = {
        name: draw(_ANY[name] if name in wild else _VALID[name]) for name in _VALID
    }
    return RecordInput(**fields)


_PLAIN = RecordInput(
    "2026-01-01", "", "aws", "a", "p", "EC2", "us-east-1", "sku-1", "i-1",
    ChargeCategory.USAGE, "USD", "1245.67", "", "", "Hours",
)  # fmt: skip


@settings(max_examples=1000, derandomize=True, database=None, deadline=None)
@given(record=records())
@example(record=_PLAIN)
@example(record=_PLAIN._replace(billed_cost="-0.00", effective_cost="0", usage_quantity="007"))
@example(record=_PLAIN._replace(billed_cost="1000000000000", usage_quantity="1e3"))
@example(record=_PLAIN._replace(labels={"team": "data", "env": "prod"}))
@example(record=_PLAIN._replace(billed_cost="\u0663.5"))
@example(record=_PLAIN._replace(billed_cost="1." + "0" * 59 + "1"))
@example(record=_PLAIN._replace(charge_period_end="2026-01-01"))
@example(record=_PLAIN._replace(charge_period_start="9999-12-31"))
def test_normalise_common_case_gives_what_the_checked_path_gives(record: RecordInput) -> None:
    assert normalise(7, record) == normalise_checked(7, record)


def test_normalise_takes_plain_records_the_short_way_and_keeps_their_digests() -> None:
    common = normalise_common(3, _PLAIN._replace(billed_cost=" 0012.50 ", usage_quantity="2"))
    checked = normalise_checked(3, _PLAIN._replace(billed_cost="12.5", usage_quantity="2.000"))
    assert isinstance(common, NormalisedRecord)
    assert common == checked
