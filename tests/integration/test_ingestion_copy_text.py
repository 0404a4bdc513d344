"""The staging COPY text carries every text exactly, whatever characters COPY escapes."""

from __future__ import annotations

import uuid

from ledger_server.domain.ingestion.normalise import normalise
from ledger_server.domain.ingestion.records import ChargeCategory, NormalisedRecord, RecordInput
from ledger_server.storage.ingestion.bulk import copy_rows, stage_and_classify
from tests.support.database import connect

_TEXTS = ("provider", "billing_account_id", "sub_account_id", "service", "region", "sku")


def _record(index: int, text: str) -> NormalisedRecord:
    """A record with `text` in every free text and label of its key and values."""
    outcome = normalise(
        index,
        RecordInput(
            "2026-03-01",
            "",
            "p" + text,
            "a" + text,
            "s" + text,
            "v" + text,
            "r" + text,
            "k" + text,
            f"copy-text-{uuid.uuid4()}{text}",
            ChargeCategory.USAGE,
            "EUR",
            "1.5",
            "",
            "",
            "u" + text,
            {"note": "n" + text},
        ),
    )
    assert isinstance(outcome, NormalisedRecord), outcome
    return outcome


def _by_resource(row: tuple[object, ...]) -> str:
    return str(row[6])


def test_copy_rows_escapes_backslash_tab_and_line_breaks_in_every_text(database_url: str) -> None:
    texts = ["plain", "back\\slash", "tab\there", "line\nbreak", "carriage\rreturn", "\\N", "\\."]
    records = [_record(index, text) for index, text in enumerate(texts)]
    assert copy_rows(records).getvalue().count("\n") == len(records)
    with connect(database_url) as connection, connection.cursor() as cursor:
        inserted, revised = stage_and_classify(cursor, uuid.uuid4(), records)
        assert (inserted, revised) == (len(records), 0)
        cursor.execute(
            f"SELECT {', '.join(_TEXTS)}, resource_id, usage_unit, labels"
            " FROM ledger.cost_records WHERE key_id = ANY(%s::uuid[])",
            ([record.key_id for record in records],),
        )
        stored = sorted(cursor.fetchall(), key=_by_resource)
        connection.commit()
    expected = [
        (
            *(getattr(record.key, name) for name in _TEXTS),
            record.key.resource_id,
            record.usage_unit,
            dict(record.labels),
        )
        for record in records
    ]
    assert stored == sorted(expected, key=_by_resource)
